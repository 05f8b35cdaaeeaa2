//! The origin check (cross-site requests, DNS rebinding) for Python front-ends: the request's
//! `Host`, `Origin`, `Sec-Fetch-Site` and `Referer`, read from arguments, a WSGI environ or an
//! ASGI scope, go to the core's [`OriginPolicy`] (the engine's configuration); a refusal is a
//! [`Refusal`] with the core's status (403, 421, 400), name and message. Nothing is decided
//! here.

use authgate::{OriginHeaders, OriginPolicy};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::convert::{header_bytes, text};
use crate::engine::Engine;
use crate::errors::{config_err, Refusal};

/// The engine's origin policy from the constructor's options.
pub(crate) fn policy(
    refuse_cross_origin: bool,
    allow_origins: Option<Vec<String>>,
    allow_hosts: Option<Vec<String>>,
    allow_any_address: bool,
) -> PyResult<OriginPolicy> {
    let mut p = OriginPolicy::new().refuse_cross_origin(refuse_cross_origin).allow_any_address(allow_any_address);
    for o in allow_origins.unwrap_or_default() {
        p = p.allow_origin(&o).map_err(|e| config_err(format!("allow_origins: {o:?}: {e}")))?;
    }
    for h in allow_hosts.unwrap_or_default() {
        p = p.allow_host(&h).map_err(|e| config_err(format!("allow_hosts: {h:?}: {e}")))?;
    }
    Ok(p)
}

impl Engine {
    /// `None` to serve the request, else the origin check's refusal (with the `Host` and
    /// `Origin` it carried and the client's address, for the log). `fields`: `Host`,
    /// `Origin`, `Sec-Fetch-Site`, `Referer`; `remote` is asked for only on a refusal.
    pub(crate) fn origin_refusal(
        &self,
        py: Python<'_>,
        method: &str,
        secure: bool,
        fields: [Option<&[u8]>; 4],
        remote: impl FnOnce() -> PyResult<Option<String>>,
    ) -> PyResult<Option<Refusal>> {
        let [host, origin, sec_fetch_site, referer] = fields;
        let headers = OriginHeaders { secure, host, origin, sec_fetch_site, referer };
        let Err(refusal) = self.core().check_origin(method, &headers) else { return Ok(None) };
        let owned = |v: Option<&[u8]>| v.map(|b| text(b).into_owned());
        Ok(Some(Refusal::origin(py, refusal, owned(host), owned(origin)).with_remote(remote()?)))
    }

    /// The origin check of a WSGI request (`REQUEST_METHOD`, `wsgi.url_scheme`, `HTTP_HOST`,
    /// `HTTP_ORIGIN`, `HTTP_SEC_FETCH_SITE`, `HTTP_REFERER`; a server joins a repeated field's
    /// values with commas, which the core reads as malformed). `method`: when the caller has
    /// it already.
    pub(crate) fn origin_refusal_environ<'py>(
        &self,
        environ: &Bound<'py, PyDict>,
        method: Option<&str>,
    ) -> PyResult<Option<Refusal>> {
        let py = environ.py();
        let get = |k: &Bound<'py, PyString>| -> PyResult<Option<Bound<'py, PyAny>>> {
            Ok(environ.get_item(k)?.filter(|v| !v.is_none()))
        };
        let host = get(intern!(py, "HTTP_HOST"))?;
        let origin = get(intern!(py, "HTTP_ORIGIN"))?;
        let site = get(intern!(py, "HTTP_SEC_FETCH_SITE"))?;
        let referer = get(intern!(py, "HTTP_REFERER"))?;
        let host = host.as_ref().map(header_bytes).transpose()?;
        let origin = origin.as_ref().map(header_bytes).transpose()?;
        let site = site.as_ref().map(header_bytes).transpose()?;
        let referer = referer.as_ref().map(header_bytes).transpose()?;
        let secure = match get(intern!(py, "wsgi.url_scheme"))? {
            Some(s) => s.eq(intern!(py, "https"))?,
            None => false,
        };
        let owned_method;
        let method = match method {
            Some(m) => m,
            None => {
                owned_method = get(intern!(py, "REQUEST_METHOD"))?.map(|m| m.extract::<String>()).transpose()?;
                owned_method.as_deref().unwrap_or("GET")
            }
        };
        let fields = [host.as_deref(), origin.as_deref(), site.as_deref(), referer.as_deref()];
        self.origin_refusal(py, method, secure, fields, || {
            Ok(get(intern!(py, "REMOTE_ADDR"))?.and_then(|r| r.extract::<String>().ok()))
        })
    }

    /// The origin check of an ASGI HTTP or WebSocket scope (`method`, `scheme`, `headers` as
    /// `(name, value)` byte pairs, `client`); a repeated field's values are joined with commas,
    /// as a WSGI server joins them.
    pub(crate) fn origin_refusal_scope<'py>(&self, scope: &Bound<'py, PyAny>) -> PyResult<Option<Refusal>> {
        let py = scope.py();
        let item = |k: &Bound<'py, PyString>| -> PyResult<Option<Bound<'py, PyAny>>> {
            match scope.get_item(k) {
                Ok(v) if !v.is_none() => Ok(Some(v)),
                Ok(_) => Ok(None),
                Err(e) if e.is_instance_of::<pyo3::exceptions::PyKeyError>(py) => Ok(None),
                Err(e) => Err(e),
            }
        };
        const NAMES: [&[u8]; 4] = [b"host", b"origin", b"sec-fetch-site", b"referer"];
        let mut values: [Option<Vec<u8>>; 4] = Default::default();
        if let Some(headers) = item(intern!(py, "headers"))? {
            for pair in headers.try_iter()? {
                let (name, value): (Bound<'py, PyAny>, Bound<'py, PyAny>) = pair?.extract()?;
                let name = header_bytes(&name)?;
                let Some(i) = NAMES.iter().position(|n| n.eq_ignore_ascii_case(&name)) else { continue };
                let value = header_bytes(&value)?;
                match &mut values[i] {
                    Some(v) => {
                        v.push(b',');
                        v.extend_from_slice(&value);
                    }
                    slot @ None => *slot = Some(value.to_vec()),
                }
            }
        }
        // A WebSocket handshake is a GET.
        let method = item(intern!(py, "method"))?.map(|m| m.extract::<String>()).transpose()?;
        let secure = match item(intern!(py, "scheme"))? {
            Some(s) => s.eq(intern!(py, "https"))? || s.eq(intern!(py, "wss"))?,
            None => false,
        };
        let fields = values.each_ref().map(|v| v.as_deref());
        self.origin_refusal(py, method.as_deref().unwrap_or("GET"), secure, fields, || {
            Ok(item(intern!(py, "client"))?.and_then(|c| c.get_item(0).ok()?.extract::<String>().ok()))
        })
    }
}
