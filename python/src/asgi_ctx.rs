//! The request path of authgate's ASGI layers (`authgate.fastapi`, `authgate.starlette`): one
//! call per request reads the ASGI scope (method, request-target, the credentials' header,
//! the client's address), checks it with the route's [`Engine`] and gives an
//! [`Authenticated`], a [`Refusal`], or — when the engine's replay store is a Python object
//! (an `AsyncRedisNonceStore` to await, a `RedisNonceStore` to run off the event loop) — a
//! [`PendingReplay`] that the layer settles with the store's answer.

use authgate::app::cgi_request_target;
use authgate::{body_hash_algorithm, Body, Request, Scheme, Verdict as CoreVerdict};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyString};

use crate::convert::{now_secs, render};
use crate::credentials::{accepts, Call};
use crate::engine::Engine;
use crate::replay::outcome_of;

/// An accepted request.
#[pyclass(frozen, module = "authgate._authgate")]
pub(crate) struct Authenticated {
    /// What the application's verify callback returned, unless it was `True`; else the user
    /// name (`None` for a token a callback accepted with `True`).
    #[pyo3(get)]
    user: Py<PyAny>,
    /// The user name the credentials carried (`None` for a token without one).
    #[pyo3(get)]
    username: Option<String>,
    /// "Basic", "Digest" or "Bearer".
    #[pyo3(get)]
    scheme: &'static str,
    /// The Digest algorithm of the accepted response.
    #[pyo3(get)]
    algorithm: Option<&'static str>,
    /// The `Authentication-Info` value to send with the response (Digest with a qop).
    #[pyo3(get)]
    authentication_info: Option<String>,
}

#[pymethods]
impl Authenticated {
    fn __repr__(&self) -> String {
        format!("Authenticated(username={:?}, scheme={:?})", self.username.as_deref().unwrap_or(""), self.scheme)
    }
}

/// An accepted Digest request whose nonce count the replay store has still to record:
/// `await store.check_and_record(nonce_id, issued, nc)` (or run it in a thread), then
/// `settle(outcome)` gives the [`Authenticated`] or the [`Refusal`].
#[pyclass(frozen, module = "authgate._authgate")]
pub(crate) struct PendingReplay {
    engine: Py<Engine>,
    verdict: CoreVerdict,
    result: Option<Py<PyAny>>,
    header: Vec<u8>,
    remote: Option<String>,
    now: u64,
    /// The nonce's 16-byte id.
    #[pyo3(get)]
    nonce_id: Py<PyBytes>,
    /// When the nonce was issued (seconds since the epoch).
    #[pyo3(get)]
    issued: u64,
    /// The nonce count.
    #[pyo3(get)]
    nc: u32,
}

#[pymethods]
impl PendingReplay {
    /// The engine's replay store.
    #[getter]
    fn store(&self, py: Python<'_>) -> Py<PyAny> {
        self.engine.get().replay_object(py)
    }

    /// The outcome once the store answered `outcome` ("fresh", "replayed" or "stale"; any
    /// other answer counts as "stale"): an `Authenticated` when fresh, else a `Refusal`.
    fn settle<'py>(&self, py: Python<'py>, outcome: &str) -> PyResult<Bound<'py, PyAny>> {
        let engine = self.engine.get();
        let verdict = engine.settle(self.verdict.clone(), outcome_of(outcome), self.now);
        let result = self.result.as_ref().map(|r| r.clone_ref(py));
        decided(py, engine, &verdict, result, Some(&self.header), self.remote.clone(), self.now)
    }

    fn __repr__(&self) -> String {
        format!("PendingReplay(issued={}, nc={})", self.issued, self.nc)
    }
}

/// One protected route's check, for ASGI.
#[pyclass(frozen, module = "authgate._authgate")]
pub(crate) struct AsgiCheck {
    engine: Py<Engine>,
    /// The credentials' header name, lowercase (`authorization`, or a custom one).
    header: Vec<u8>,
    /// The replay store is a Python object: leave it to the caller ([`PendingReplay`]).
    defer: bool,
    /// The engine's origin check runs first (cross-site requests, foreign `Host`).
    check_origin: bool,
}

#[pymethods]
impl AsgiCheck {
    /// `header`: the header carrying the credentials (default `Authorization`);
    /// `check_origin`: the engine's origin check (`Engine.check_origin_scope`) first.
    #[new]
    #[pyo3(signature = (engine, *, header = None, check_origin = false))]
    fn new(engine: Py<Engine>, header: Option<&str>, check_origin: bool) -> Self {
        let defer = engine.get().replay_is_python();
        let header = header.unwrap_or("authorization").to_ascii_lowercase().into_bytes();
        AsgiCheck { engine, header, defer, check_origin }
    }

    /// Checks the request of an ASGI `scope` (`http` or `websocket`): an `Authenticated`, a
    /// `Refusal` (status 401 or 400; with `check_origin`, 403, 421 or 400 from the origin
    /// check, `origin_check` true) or a `PendingReplay`. `body`: the request body, for
    /// `qop=auth-int` (see `needs_body`).
    #[pyo3(signature = (scope, body = None))]
    fn enter<'py>(
        &self,
        py: Python<'py>,
        scope: &Bound<'py, PyDict>,
        body: Option<&[u8]>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let engine = self.engine.get();
        if self.check_origin {
            if let Some(refusal) = engine.origin_refusal_scope(scope.as_any())? {
                return Ok(Bound::new(py, refusal)?.into_any());
            }
        }
        let header = credentials(scope, &self.header)?;
        let header = header.as_ref().map(Credentials::as_bytes);
        let digest = engine.offers_digest();
        let (method, target) = match header {
            Some(_) if digest => (method_of(scope)?, target_of(scope)?),
            _ => (None, String::new()),
        };
        let method = method.as_ref().map_or("GET", |m| std::str::from_utf8(m.as_bytes()).unwrap_or(""));
        let body = body.map_or(Body::Unavailable, Body::Bytes);
        // The clock matters for Digest nonces only.
        let now = if digest { now_secs() } else { 0 };
        let call = if self.defer { Call::begin_deferring() } else { Call::begin() };
        let mut req = Request::new(method, &target, header);
        req.body = body;
        let d = engine.decide_with(call, &req, now, None)?;
        let remote = || -> PyResult<Option<String>> {
            let Some(client) = scope.get_item(intern!(py, "client"))?.filter(|c| !c.is_none()) else { return Ok(None) };
            Ok(client.get_item(0)?.extract::<String>().ok())
        };
        if let (Some((id, issued, nc)), CoreVerdict::Authenticated(_)) = (d.pending, &d.verdict) {
            let pending = PendingReplay {
                engine: self.engine.clone_ref(py),
                verdict: d.verdict,
                result: d.result,
                header: header.unwrap_or_default().to_vec(),
                remote: remote()?,
                now,
                nonce_id: PyBytes::new(py, &id).unbind(),
                issued,
                nc,
            };
            return Ok(Bound::new(py, pending)?.into_any());
        }
        let remote = if d.verdict.status() == 200 { None } else { remote()? };
        decided(py, engine, &d.verdict, d.result, header, remote, now)
    }

    /// Whether the request carries this check's header, and for `Authorization` a scheme
    /// this engine checks (the choice among several schemes on one route).
    fn selects(&self, scope: &Bound<'_, PyDict>) -> PyResult<bool> {
        let Some(h) = credentials(scope, &self.header)? else { return Ok(false) };
        Ok(self.header != b"authorization" || self.engine.get().checks_scheme_of(h.as_bytes()))
    }

    /// Whether the request's credentials cover its body (Digest `qop=auth-int`): then pass the
    /// body to `enter`.
    fn needs_body(&self, scope: &Bound<'_, PyDict>) -> PyResult<bool> {
        let Some(h) = credentials(scope, &self.header)? else { return Ok(false) };
        Ok(self.engine.get().offers_auth_int() && body_hash_algorithm(h.as_bytes()).is_some())
    }

    /// Fresh challenges (`stale=true` on the Digest ones when `stale`).
    #[pyo3(signature = (stale = false))]
    fn challenges(&self, stale: bool) -> Vec<String> {
        self.engine.get().challenge_values(stale, None, None, now_secs())
    }

    /// The engine.
    #[getter]
    fn engine(&self, py: Python<'_>) -> Py<Engine> {
        self.engine.clone_ref(py)
    }

    /// Whether the replay store is asked by the caller (`PendingReplay`).
    #[getter]
    fn defers_replay(&self) -> bool {
        self.defer
    }
}

/// The Python outcome of a verdict.
fn decided<'py>(
    py: Python<'py>,
    engine: &Engine,
    verdict: &CoreVerdict,
    result: Option<Py<PyAny>>,
    header: Option<&[u8]>,
    remote: Option<String>,
    now: u64,
) -> PyResult<Bound<'py, PyAny>> {
    if let CoreVerdict::Authenticated(a) = verdict {
        let username = (a.scheme != Scheme::Bearer || !a.user.as_str().is_empty()).then(|| a.user.as_str().to_owned());
        let result = result.map(|r| r.into_bound(py));
        let user = match result {
            Some(r) if !r.is(PyBool::new(py, true)) && accepts(&r)? => r,
            _ => match &username {
                Some(u) => PyString::new(py, u).into_any(),
                None => py.None().into_bound(py),
            },
        };
        let accepted = Authenticated {
            user: user.unbind(),
            username,
            scheme: a.scheme.name(),
            algorithm: a.algorithm.map(|a| a.name()),
            authentication_info: engine.authentication_info(a),
        };
        return Ok(Bound::new(py, accepted)?.into_any());
    }
    let challenges = match verdict {
        CoreVerdict::Challenge(ch) => engine.render_challenges(ch, None, None),
        _ => engine.challenge_values(false, None, None, now),
    };
    let refusal = engine.refusal(py, verdict, header).with_result(result.unwrap_or_else(|| py.None()));
    Ok(Bound::new(py, refusal.with_remote(remote).with_challenges(challenges))?.into_any())
}

/// The credentials' header value of a scope: the value, the marker for a request with the
/// header twice (a 400, as the core asks), or `None`.
enum Credentials<'py> {
    One(Bound<'py, PyBytes>),
    Duplicate,
}

impl Credentials<'_> {
    fn as_bytes(&self) -> &[u8] {
        match self {
            Credentials::One(b) => b.as_bytes(),
            Credentials::Duplicate => Request::DUPLICATE_AUTHORIZATION,
        }
    }
}

fn credentials<'py>(scope: &Bound<'py, PyDict>, name: &[u8]) -> PyResult<Option<Credentials<'py>>> {
    let py = scope.py();
    let Some(headers) = scope.get_item(intern!(py, "headers"))? else { return Ok(None) };
    let mut found = None;
    for pair in headers.try_iter()? {
        let pair = pair?;
        let key = pair.get_item(0)?;
        let key = key.cast::<PyBytes>()?;
        if key.as_bytes().len() == name.len() && key.as_bytes().eq_ignore_ascii_case(name) {
            if found.is_some() {
                return Ok(Some(Credentials::Duplicate));
            }
            found = Some(Credentials::One(pair.get_item(1)?.cast_into::<PyBytes>()?));
        }
    }
    Ok(found)
}

fn method_of<'py>(scope: &Bound<'py, PyDict>) -> PyResult<Option<Bound<'py, PyBytes>>> {
    // A websocket handshake is a GET and has no method in its scope.
    match scope.get_item(intern!(scope.py(), "method"))? {
        Some(m) => Ok(Some(m.cast_into::<PyString>()?.encode_utf8()?)),
        None => Ok(None),
    }
}

/// The request-target as the client sent it: `raw_path` and `query_string` (the core's rule,
/// `cgi_request_target`), or `path` percent-encoded again when the server gives no `raw_path`.
fn target_of(scope: &Bound<'_, PyDict>) -> PyResult<String> {
    let py = scope.py();
    let bytes_of = |key: &Bound<'_, PyString>| -> PyResult<Option<Vec<u8>>> {
        Ok(match scope.get_item(key)? {
            Some(v) if v.is_instance_of::<PyBytes>() => Some(v.cast::<PyBytes>()?.as_bytes().to_vec()),
            Some(v) if v.is_instance_of::<PyString>() => Some(v.cast::<PyString>()?.encode_utf8()?.as_bytes().to_vec()),
            _ => None,
        })
    };
    let raw = bytes_of(intern!(py, "raw_path"))?;
    let path = if raw.is_none() { bytes_of(intern!(py, "path"))? } else { None };
    let query = bytes_of(intern!(py, "query_string"))?;
    let target = render(|b| {
        cgi_request_target(raw.as_deref(), b"", path.as_deref().unwrap_or(b""), query.as_deref().unwrap_or(b""), b)
    });
    Ok(target)
}

/// The module's ASGI classes.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<AsgiCheck>()?;
    m.add_class::<Authenticated>()?;
    m.add_class::<PendingReplay>()
}
