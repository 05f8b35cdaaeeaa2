//! Exceptions, and why a request was refused ([`Refusal`]): codes, names and messages are
//! the core's (core/src/error.rs), printed one way.

use authgate::{OriginRefusal, ParseError, Reason};
use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(_authgate, AuthgateError, PyException, "Base class of authgate's exceptions.");
create_exception!(
    _authgate,
    MalformedHeader,
    AuthgateError,
    "The Authorization value is malformed: answer 400. args = (message, name)."
);
create_exception!(_authgate, ConfigError, AuthgateError, "An invalid configuration value.");

pub(crate) fn malformed(e: ParseError) -> PyErr {
    MalformedHeader::new_err((e.to_string(), e.name()))
}

pub(crate) fn config_err(e: impl std::fmt::Display) -> PyErr {
    ConfigError::new_err(e.to_string())
}

/// Why a request was refused: a 401 (a [`Reason`]), a 400 (a [`ParseError`]), or a refusal of
/// the origin check (an [`OriginRefusal`]: 403, 421 or 400), with what is known of the request.
/// `str()` of it is the line authgate logs.
#[pyclass(frozen, module = "authgate._authgate")]
pub(crate) struct Refusal {
    /// 401 (challenge) or 400 (malformed `Authorization`); for the origin check 403 (another
    /// origin), 421 (a foreign `Host`) or 400 (a malformed `Host`, `Origin`, ...).
    #[pyo3(get)]
    status: u16,
    /// The stable name, e.g. `"BadCredentials"` or `"InvalidBase64"`.
    #[pyo3(get)]
    name: &'static str,
    /// The stable number (the C ABI's): 1-99 for reasons, 200-299 for malformed values,
    /// 400-499 for the origin check's refusals.
    #[pyo3(get)]
    code: u16,
    /// What it means, in English.
    #[pyo3(get)]
    message: String,
    /// Whether the Digest challenges say `stale=true`.
    #[pyo3(get)]
    stale: bool,
    /// The scheme word the client sent, if any.
    #[pyo3(get)]
    scheme: Option<String>,
    /// The user name the credentials claim, when they could be read.
    #[pyo3(get)]
    user: Option<String>,
    /// The client's address, when known.
    #[pyo3(get)]
    remote: Option<String>,
    /// What the application's verify callback returned, when it refused (else `None`).
    #[pyo3(get)]
    result: Py<PyAny>,
    /// The `WWW-Authenticate` values to answer with, when the layer that refused rendered
    /// them (the ASGI layers; else empty).
    #[pyo3(get)]
    challenges: Vec<String>,
    /// Refused by the origin check (before authentication): no challenge goes with it.
    #[pyo3(get)]
    origin_check: bool,
    /// For the origin check's refusals: the `Host` and `Origin` the request carried.
    #[pyo3(get)]
    host: Option<String>,
    #[pyo3(get)]
    origin: Option<String>,
}

impl Refusal {
    pub(crate) fn challenge(py: Python<'_>, reason: Reason, stale: bool) -> Self {
        Refusal::new(py, 401, reason.name(), reason.code(), reason.message().to_owned(), stale)
    }

    pub(crate) fn malformed(py: Python<'_>, e: ParseError) -> Self {
        Refusal::new(py, 400, e.name(), e.code(), e.to_string(), false)
    }

    /// A refusal of the origin check; its status, name, code and message are the core's.
    pub(crate) fn origin(py: Python<'_>, r: OriginRefusal, host: Option<String>, origin: Option<String>) -> Self {
        let mut refusal = Refusal::new(py, r.status(), r.name(), r.code(), r.message().to_owned(), false);
        refusal.origin_check = true;
        refusal.host = host;
        refusal.origin = origin;
        refusal
    }

    fn new(py: Python<'_>, status: u16, name: &'static str, code: u16, message: String, stale: bool) -> Self {
        Refusal {
            status,
            name,
            code,
            message,
            stale,
            scheme: None,
            user: None,
            remote: None,
            result: py.None(),
            challenges: Vec::new(),
            origin_check: false,
            host: None,
            origin: None,
        }
    }

    /// With what is known of the request (all for logs).
    pub(crate) fn about(mut self, scheme: Option<String>, user: Option<String>, remote: Option<String>) -> Self {
        self.scheme = scheme;
        self.user = user;
        self.remote = remote;
        self
    }

    /// With the client's address.
    pub(crate) fn with_remote(mut self, remote: Option<String>) -> Self {
        self.remote = remote;
        self
    }

    /// A malformed value taken as no credentials (`strict=False`): a 401.
    pub(crate) fn taken_as_absent(mut self) -> Self {
        self.status = 401;
        self
    }

    /// With the challenges to answer with.
    pub(crate) fn with_challenges(mut self, challenges: Vec<String>) -> Self {
        self.challenges = challenges;
        self
    }

    /// With the application callback's refusing result.
    pub(crate) fn with_result(mut self, result: Py<PyAny>) -> Self {
        self.result = result;
        self
    }
}

#[pymethods]
impl Refusal {
    /// `BadCredentials (bad credentials) scheme=Basic user='alice' remote=127.0.0.1`, or
    /// `CrossOrigin (unsafe method from another origin) host="device.local"
    /// origin="http://evil.example" remote=...`: what authgate logs. Never a password,
    /// response or token (nor a `Referer`, whose path and query may hold one).
    fn __str__(&self) -> String {
        let mut s = format!("{} ({})", self.name, self.message);
        if self.stale {
            s.push_str(" stale");
        }
        if let Some(scheme) = &self.scheme {
            s.push_str(" scheme=");
            s.push_str(&printable(scheme));
        }
        if let Some(user) = &self.user {
            s.push_str(&format!(" user={:?}", printable(user)));
        }
        if let Some(host) = &self.host {
            s.push_str(&format!(" host={:?}", printable(host)));
        }
        if let Some(origin) = &self.origin {
            s.push_str(&format!(" origin={:?}", printable(origin)));
        }
        if let Some(remote) = &self.remote {
            s.push_str(" remote=");
            s.push_str(&printable(remote));
        }
        s
    }

    fn __repr__(&self) -> String {
        match &self.user {
            Some(u) => format!("Refusal({}, {:?}, user={:?})", self.status, self.name, printable(u)),
            None => format!("Refusal({}, {:?})", self.status, self.name),
        }
    }
}

/// Client text for a log line: control characters escaped, so a name cannot forge lines.
fn printable(s: &str) -> String {
    s.chars().flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] }).collect()
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("AuthgateError", py.get_type::<AuthgateError>())?;
    m.add("MalformedHeader", py.get_type::<MalformedHeader>())?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add_class::<Refusal>()
}
