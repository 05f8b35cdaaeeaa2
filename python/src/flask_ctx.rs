//! The request path of `authgate.flask`: one call per protected request reads Flask's current
//! request, checks it with the route's [`Engine`], calls the application's callbacks through
//! the engine's store, and on success sets the user in `g`.
//!
//! Flask is reached through its public API (`flask.request`, `flask.g`, `flask.current_app`,
//! `flask.after_this_request`) or, when `flask.globals` still has them, through the context
//! variables behind those proxies (`_cv_request`, `_cv_app`): see [`Access`].

use std::sync::Mutex;

use authgate::{app::cgi_request_target, Authenticated, Body, Reason, Scheme, Verdict as CoreVerdict};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyString};

use crate::convert::{header_bytes, now_secs, render};
use crate::credentials::accepts;
use crate::engine::{environ_header, Decision, Engine};

/// How Flask's request, app and `g` are reached.
enum Access {
    /// `flask.globals._cv_request.get` and `_cv_app.get` (bound): the context variables
    /// behind Flask's proxies, and `g`'s class, whose `__setattr__` has the effect of
    /// `object.__setattr__`.
    Private { request_cv: Py<PyAny>, app_cv: Py<PyAny>, globals_class: Py<PyAny> },
    /// The public proxies' `_get_current_object()`.
    Public { request: Py<PyAny>, app: Py<PyAny>, g: Py<PyAny> },
}

/// The current request, and its request context when read without the proxies.
struct Current<'py> {
    request: Bound<'py, PyAny>,
    ctx: Option<Bound<'py, PyAny>>,
}

impl Access {
    /// The current request.
    fn request<'py>(&self, py: Python<'py>) -> PyResult<Current<'py>> {
        match self {
            Access::Private { request_cv, .. } => {
                let ctx = request_cv.bind(py).call0()?;
                Ok(Current { request: ctx.getattr(intern!(py, "request"))?, ctx: Some(ctx) })
            }
            Access::Public { request, .. } => {
                let request = request.bind(py).call_method0(intern!(py, "_get_current_object"))?;
                Ok(Current { request, ctx: None })
            }
        }
    }

    /// The current request's app.
    fn app<'py>(&self, py: Python<'py>, current: &Current<'py>) -> PyResult<Bound<'py, PyAny>> {
        match (self, &current.ctx) {
            (_, Some(ctx)) => ctx.getattr(intern!(py, "app")),
            (Access::Public { app, .. }, None) => app.bind(py).call_method0(intern!(py, "_get_current_object")),
            // Not reached: a read through the context variables keeps the request context.
            (Access::Private { .. }, None) => Err(pyo3::exceptions::PyRuntimeError::new_err("no request context")),
        }
    }

    /// `g.<name> = value`.
    fn set_g(&self, py: Python<'_>, name: &Bound<'_, PyString>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        match self {
            Access::Private { app_cv, globals_class, .. } => {
                let g = app_cv.bind(py).call0()?.getattr(intern!(py, "g"))?;
                if g.get_type().is(globals_class.bind(py)) {
                    // What its __setattr__ (`self.__dict__[name] = value`) does, without the
                    // Python call and without making the instance's __dict__ a dict object.
                    // SAFETY: three valid references, held for the call; a limited-API call.
                    if unsafe { pyo3::ffi::PyObject_GenericSetAttr(g.as_ptr(), name.as_ptr(), value.as_ptr()) } != 0 {
                        return Err(PyErr::fetch(py));
                    }
                    return Ok(());
                }
                g.setattr(name, value)
            }
            Access::Public { g, .. } => {
                g.bind(py).call_method0(intern!(py, "_get_current_object"))?.setattr(name, value)
            }
        }
    }
}

/// Which engine checks the request: one for the route, or one per app (its keys come from
/// the app's `SECRET_KEY`), found by `resolve(app) -> (engine, secret, fallbacks)` and kept
/// while the app's `SECRET_KEY` and `SECRET_KEY_FALLBACKS` stay the same objects.
enum Source {
    Fixed(Py<Engine>),
    PerApp { resolve: Py<PyAny>, last: Mutex<Option<Resolved>> },
}

struct Resolved {
    app: Py<PyAny>,
    engine: Py<Engine>,
    /// `None`: the engine does not depend on the app's keys.
    keys: Option<(Py<PyAny>, Py<PyAny>)>,
}

/// An accepted request on a route with roles: what the role check needs.
#[pyclass(frozen, module = "authgate._authgate")]
pub(crate) struct Accepted {
    /// What the verify callback returned (`True` included), the user name for a stored
    /// credential, `True` for Digest (as Flask-HTTPAuth's `authenticate`).
    #[pyo3(get)]
    user: Py<PyAny>,
    /// The user name the credentials carried (`None` for a token).
    #[pyo3(get)]
    username: Option<String>,
    /// "Basic", "Digest" or "Bearer".
    #[pyo3(get)]
    scheme: &'static str,
    /// The Digest algorithm.
    #[pyo3(get)]
    algorithm: Option<&'static str>,
}

/// Adds `Authentication-Info` to the response (given to `flask.after_this_request`).
#[pyclass(frozen, module = "authgate._authgate")]
struct AddAuthenticationInfo {
    value: String,
}

#[pymethods]
impl AddAuthenticationInfo {
    fn __call__<'py>(&self, response: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let py = response.py();
        let headers = response.getattr(intern!(py, "headers"))?;
        if !headers.contains(intern!(py, "Authentication-Info"))? {
            headers.set_item(intern!(py, "Authentication-Info"), &self.value)?;
        }
        Ok(response)
    }
}

/// One protected route's check.
#[pyclass(frozen, module = "authgate._authgate")]
pub(crate) struct FlaskCheck {
    source: Source,
    /// The environ key of the credentials' header (`HTTP_AUTHORIZATION`, or a custom one).
    env_key: Py<PyString>,
    /// Basic's `verify_password`, asked with `("", "")` when the request carries no Basic
    /// credentials (Flask-HTTPAuth lets an application admit anonymous users that way).
    absent: Option<Py<PyAny>>,
    /// A malformed value is a 400; otherwise it counts as no credentials (Flask-HTTPAuth).
    strict: bool,
    /// What a refusal leaves in `g` on an `optional` route without a callback result
    /// (Flask-HTTPAuth: `False` for Digest, `None` otherwise).
    refused: Py<PyAny>,
    /// The name `g` keeps the user under.
    user_attr: Py<PyString>,
    auth_int: bool,
    /// The engine's origin check runs first (cross-site requests, foreign `Host`).
    check_origin: bool,
    flask: Access,
    after_this_request: Py<PyAny>,
}

#[pymethods]
impl FlaskCheck {
    /// `engine`: an `Engine`, or `resolve(app) -> (engine, secret, fallbacks)` for one engine
    /// per app (`secret`, `fallbacks`: the `SECRET_KEY` and `SECRET_KEY_FALLBACKS` its keys
    /// came from, `None` when it does not depend on them). `private`: `(flask.globals._cv_request,
    /// flask.globals._cv_app, flask.ctx._AppCtxGlobals)` to read Flask without its proxies.
    /// `check_origin`: the engine's origin check (`Engine.check_origin_environ`) first; its
    /// refusal (403, 421, 400) is returned as any other.
    #[new]
    #[pyo3(signature = (engine, *, header = None, absent = None, strict = true, refused = None,
        user_attr = "flask_httpauth_user", auth_int = false, private = None, check_origin = false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        engine: &Bound<'_, PyAny>,
        header: Option<&str>,
        absent: Option<Py<PyAny>>,
        strict: bool,
        refused: Option<Py<PyAny>>,
        user_attr: &str,
        auth_int: bool,
        private: Option<(Py<PyAny>, Py<PyAny>, Py<PyAny>)>,
        check_origin: bool,
    ) -> PyResult<Self> {
        let source = match engine.cast::<Engine>() {
            Ok(e) => Source::Fixed(e.clone().unbind()),
            Err(_) => Source::PerApp { resolve: engine.clone().unbind(), last: Mutex::new(None) },
        };
        let header = header.unwrap_or("Authorization");
        let env_key = format!("HTTP_{}", header.to_ascii_uppercase().replace('-', "_"));
        let flask = py.import("flask")?;
        let flask_access = match private {
            Some((request_cv, app_cv, globals_class)) => Access::Private {
                request_cv: request_cv.bind(py).getattr("get")?.unbind(),
                app_cv: app_cv.bind(py).getattr("get")?.unbind(),
                globals_class,
            },
            None => Access::Public {
                request: flask.getattr("request")?.unbind(),
                app: flask.getattr("current_app")?.unbind(),
                g: flask.getattr("g")?.unbind(),
            },
        };
        Ok(FlaskCheck {
            source,
            env_key: PyString::intern(py, &env_key).unbind(),
            absent,
            strict,
            refused: refused.unwrap_or_else(|| py.None()),
            user_attr: PyString::intern(py, user_attr).unbind(),
            auth_int,
            check_origin,
            flask: flask_access,
            after_this_request: flask.getattr("after_this_request")?.unbind(),
        })
    }

    /// Checks the current request. `None`: let it through (accepted, the user set in `g`;
    /// or an OPTIONS request). Otherwise a `Refusal`.
    fn enter<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.check(py, false)
    }

    /// `enter` for a route with roles to check: an accepted request gives an `Accepted`.
    fn enter_details<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.check(py, true)
    }

    /// The challenges of the engine for the current app (see `Engine.challenges`).
    #[pyo3(signature = (stale = false, nonce = None, opaque = None))]
    fn challenges(
        &self,
        py: Python<'_>,
        stale: bool,
        nonce: Option<&str>,
        opaque: Option<&str>,
    ) -> PyResult<Vec<String>> {
        Ok(self.current_engine(py)?.get().challenge_values(stale, nonce, opaque, now_secs()))
    }

    /// The engine for the current app.
    fn current_engine<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, Engine>> {
        match &self.source {
            Source::Fixed(e) => Ok(e.bind(py).clone()),
            Source::PerApp { .. } => {
                let current = self.flask.request(py)?;
                self.engine(py, &current)
            }
        }
    }
}

impl FlaskCheck {
    /// The request path. Its common case (credentials accepted, no Digest extras) is kept in
    /// this one function; what is rare or Digest-only is in functions of its own, so that a
    /// Basic or Token request runs through few cache lines of code.
    fn check<'py>(&self, py: Python<'py>, details: bool) -> PyResult<Option<Bound<'py, PyAny>>> {
        let current = self.flask.request(py)?;
        let req = &current.request;
        let method = req.getattr(intern!(py, "method"))?.cast_into::<PyString>()?;
        if self.check_origin {
            if let Some(refusal) = self.origin_refused(py, &current, &method)? {
                return Ok(Some(refusal));
            }
        }
        // Flask answers OPTIONS itself unless told not to; when the view gets it, it passes
        // without credentials (CORS preflights carry none). (The length first: no compare
        // for GET, POST, ...)
        if method.len()? == 7 && method.as_any().eq(intern!(py, "OPTIONS"))? {
            return Ok(None);
        }
        let environ = req.getattr(intern!(py, "environ"))?.cast_into::<PyDict>()?;
        let engine = self.engine(py, &current)?;
        let engine = engine.get();
        let value = environ_header(&environ, self.env_key.bind(py))?;
        let header = value.as_ref().map(header_bytes).transpose()?;
        let d = if header.is_some() && engine.offers_digest() {
            self.decide_digest(engine, req, &method, &environ, header.as_deref())?
        } else {
            // Basic and tokens need no method, target, body or clock.
            engine.decide("", "", header.as_deref(), Body::Unavailable, 0, None)?
        };
        let CoreVerdict::Authenticated(a) = &d.verdict else {
            return self.refused(py, engine, &environ, d, header.as_deref(), details);
        };
        let true_ = PyBool::new(py, true);
        let raw = match d.result {
            Some(r) => r.into_bound(py),
            None if a.scheme == Scheme::Digest => true_.to_owned().into_any(),
            None => PyString::new(py, a.user.as_str()).into_any(),
        };
        let user = if !raw.is(&*true_) {
            raw.clone()
        } else if a.scheme == Scheme::Bearer {
            py.None().into_bound(py)
        } else {
            PyString::new(py, a.user.as_str()).into_any()
        };
        self.flask.set_g(py, self.user_attr.bind(py), &user)?;
        if a.algorithm.is_some() {
            self.digest_accepted(engine, a, &environ)?;
        }
        if !details {
            return Ok(None);
        }
        let username = (a.scheme != Scheme::Bearer).then(|| a.user.as_str().to_owned());
        let accepted = Accepted {
            user: raw.unbind(),
            username,
            scheme: a.scheme.name(),
            algorithm: a.algorithm.map(|a| a.name()),
        };
        Ok(Some(Bound::new(py, accepted)?.into_any()))
    }

    /// The origin check (before OPTIONS passes: a foreign `Host` is refused whatever the method).
    #[inline(never)]
    fn origin_refused<'py>(
        &self,
        py: Python<'py>,
        current: &Current<'py>,
        method: &Bound<'py, PyString>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let environ = current.request.getattr(intern!(py, "environ"))?.cast_into::<PyDict>()?;
        let engine = self.engine(py, current)?;
        let method = method.to_cow()?;
        match engine.get().origin_refusal_environ(&environ, Some(&method))? {
            Some(r) => Ok(Some(Bound::new(py, r)?.into_any())),
            None => Ok(None),
        }
    }

    /// A Digest check: the method, the request-target, the clock, and for `auth-int` the body.
    #[inline(never)]
    fn decide_digest<'py>(
        &self,
        engine: &Engine,
        req: &Bound<'py, PyAny>,
        method: &Bound<'py, PyString>,
        environ: &Bound<'py, PyDict>,
        header: Option<&[u8]>,
    ) -> PyResult<Decision> {
        let py = req.py();
        let method = method.encode_utf8()?;
        let method = std::str::from_utf8(method.as_bytes()).unwrap_or("");
        let target = target_of(environ)?;
        let body_bytes;
        let body = if self.auth_int {
            body_bytes = req.call_method1(intern!(py, "get_data"), (true,))?;
            Body::Bytes(body_bytes.cast::<PyBytes>()?.as_bytes())
        } else {
            Body::Unavailable
        };
        engine.decide(method, target.as_str(), header, body, now_secs(), None)
    }

    /// After an accepted Digest request: the algorithm for `accepted_algorithm()`, and the
    /// `Authentication-Info` header when the engine made one.
    #[inline(never)]
    fn digest_accepted(&self, engine: &Engine, a: &Authenticated, environ: &Bound<'_, PyDict>) -> PyResult<()> {
        let py = environ.py();
        if let Some(alg) = a.algorithm {
            environ.set_item(intern!(py, "authgate.algorithm"), alg.name())?;
        }
        if let Some(info) = engine.authentication_info(a) {
            self.after_this_request.bind(py).call1((AddAuthenticationInfo { value: info },))?;
        }
        Ok(())
    }

    /// A refused request: without credentials Basic's `verify_password("", "")` may still let
    /// it in (Flask-HTTPAuth's anonymous users); otherwise the `Refusal`.
    #[cold]
    #[inline(never)]
    fn refused<'py>(
        &self,
        py: Python<'py>,
        engine: &Engine,
        environ: &Bound<'py, PyDict>,
        d: Decision,
        header: Option<&[u8]>,
        details: bool,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let absent = match &d.verdict {
            CoreVerdict::Challenge(ch) => matches!(ch.reason, Reason::NoCredentials | Reason::UnsupportedScheme),
            _ => !self.strict,
        };
        let mut result = d.result.map(|r| r.into_bound(py));
        if absent {
            if let Some(verify) = &self.absent {
                let r = verify.bind(py).call1(("", ""))?;
                if accepts(&r)? {
                    let user = if r.is(PyBool::new(py, true)) { py.None().into_bound(py) } else { r.clone() };
                    self.flask.set_g(py, self.user_attr.bind(py), &user)?;
                    if !details {
                        return Ok(None);
                    }
                    let accepted = Accepted { user: r.unbind(), username: None, scheme: "Basic", algorithm: None };
                    return Ok(Some(Bound::new(py, accepted)?.into_any()));
                }
                result = Some(r);
            }
        }
        let remote = environ.get_item(intern!(py, "REMOTE_ADDR"))?.and_then(|r| r.extract::<String>().ok());
        let refusal = engine.refusal(py, &d.verdict, header);
        let refusal = refusal.with_result(result.map_or_else(|| self.refused.clone_ref(py), Bound::unbind));
        let refusal = if absent { refusal.taken_as_absent() } else { refusal };
        Ok(Some(Bound::new(py, refusal.with_remote(remote))?.into_any()))
    }

    fn engine<'py>(&self, py: Python<'py>, current: &Current<'py>) -> PyResult<Bound<'py, Engine>> {
        let (resolve, last) = match &self.source {
            Source::Fixed(e) => return Ok(e.bind(py).clone()),
            Source::PerApp { resolve, last } => (resolve, last),
        };
        let app = &self.flask.app(py, current)?;
        {
            let last = last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(r) = last.as_ref().filter(|r| r.app.bind(py).is(app)) {
                let current = match &r.keys {
                    None => true,
                    Some((secret, fallbacks)) => {
                        let config = app.getattr(intern!(py, "config"))?.cast_into::<PyDict>()?;
                        let same = |key: &Bound<'py, PyString>, held: &Py<PyAny>| -> PyResult<bool> {
                            Ok(match config.get_item(key)? {
                                Some(v) => v.is(held.bind(py)),
                                None => held.is_none(py),
                            })
                        };
                        same(intern!(py, "SECRET_KEY"), secret)?
                            && same(intern!(py, "SECRET_KEY_FALLBACKS"), fallbacks)?
                    }
                };
                if current {
                    return Ok(r.engine.bind(py).clone());
                }
            }
        }
        let (engine, secret, fallbacks): (Bound<'py, Engine>, Bound<'py, PyAny>, Bound<'py, PyAny>) =
            resolve.bind(py).call1((app,))?.extract()?;
        let keys = (!secret.is_none()).then(|| (secret.unbind(), fallbacks.unbind()));
        let mut last = last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *last = Some(Resolved { app: app.clone().unbind(), engine: engine.clone().unbind(), keys });
        Ok(engine)
    }
}

/// The request-target as the client sent it (path and query), from a WSGI environ: what a
/// Digest `uri` is compared with (the core's rule, `cgi_request_target`).
#[pyfunction]
fn request_target(environ: &Bound<'_, PyDict>) -> PyResult<String> {
    Ok(target_of(environ)?.as_str().to_owned())
}

/// A request-target: the server's own bytes (the usual case), or rebuilt.
pub(crate) enum Target<'py> {
    Raw(Bound<'py, PyBytes>),
    Rebuilt(String),
}

impl Target<'_> {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            // Not UTF-8 (a client sending raw non-ASCII): no Digest uri can equal it.
            Target::Raw(b) => std::str::from_utf8(b.as_bytes()).unwrap_or("\u{fffd}"),
            Target::Rebuilt(s) => s,
        }
    }
}

fn target_of<'py>(environ: &Bound<'py, PyDict>) -> PyResult<Target<'py>> {
    let py = environ.py();
    let get = |k: &Bound<'py, PyString>| -> PyResult<Option<Bound<'py, PyAny>>> {
        Ok(environ.get_item(k)?.filter(|v| v.is_truthy().unwrap_or(false)))
    };
    let raw = match get(intern!(py, "RAW_URI"))? {
        Some(r) => Some(r),
        None => get(intern!(py, "REQUEST_URI"))?,
    };
    let query = get(intern!(py, "QUERY_STRING"))?;
    // The usual case: the raw target, with its query or without one.
    if let Some(s) = raw.as_ref().and_then(|r| r.cast::<PyString>().ok()) {
        let b = s.encode_utf8()?;
        if b.as_bytes().is_ascii() && (query.is_none() || b.as_bytes().contains(&b'?')) {
            return Ok(Target::Raw(b));
        }
    }
    let raw = raw.as_ref().map(header_bytes).transpose()?;
    let script = get(intern!(py, "SCRIPT_NAME"))?;
    let path = get(intern!(py, "PATH_INFO"))?;
    let script = script.as_ref().map(header_bytes).transpose()?;
    let path = path.as_ref().map(header_bytes).transpose()?;
    let query = query.as_ref().map(header_bytes).transpose()?;
    Ok(Target::Rebuilt(render(|b| {
        cgi_request_target(
            raw.as_deref(),
            script.as_deref().unwrap_or(b""),
            path.as_deref().unwrap_or(b""),
            query.as_deref().unwrap_or(b""),
            b,
        )
    })))
}

/// Where an auth object keeps its current [`FlaskCheck`]: made by `make()` on first use, dropped
/// when a setting changes (the next request makes a new one).
#[pyclass(frozen, module = "authgate._authgate")]
pub(crate) struct CheckSlot {
    make: Py<PyAny>,
    check: Mutex<Option<Py<FlaskCheck>>>,
}

#[pymethods]
impl CheckSlot {
    #[new]
    fn new(make: Py<PyAny>) -> Self {
        CheckSlot { make, check: Mutex::new(None) }
    }

    /// The current check (made now when there is none).
    fn get<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, FlaskCheck>> {
        if let Some(c) = self.check.lock().unwrap_or_else(std::sync::PoisonError::into_inner).as_ref() {
            return Ok(c.bind(py).clone());
        }
        // Made without the lock held: making one calls back into Python.
        let made = self.make.bind(py).call0()?.cast_into::<FlaskCheck>()?;
        *self.check.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(made.clone().unbind());
        Ok(made)
    }

    /// `FlaskCheck.enter` of the current check.
    fn enter<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.get(py)?.get().check(py, false)
    }

    /// `FlaskCheck.enter_details` of the current check.
    fn enter_details<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.get(py)?.get().check(py, true)
    }

    /// Drops the current check.
    fn clear(&self) {
        *self.check.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }
}

/// The module's Flask classes.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<FlaskCheck>()?;
    m.add_class::<CheckSlot>()?;
    m.add_class::<Accepted>()?;
    m.add_class::<AddAuthenticationInfo>()?;
    m.add_function(wrap_pyfunction!(request_target, m)?)
}
