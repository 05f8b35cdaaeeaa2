//! `authgate._authgate`: the Python extension over the authgate core.
//!
//! Everything that decides whether a request is authenticated lives here or in the core:
//! header parsing, Basic decoding, Digest verification, nonces, replay windows, constant-time
//! compares and the rendering of every header value. The Python package only moves values
//! between Flask and these functions, and calls the application's callbacks.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use authgate::digest::{self, Known};
use authgate::digest_check::{self, DigestContext, DigestFailure, DigestRules, NonceCheck, UserLookup};
use authgate::hash::{HashAlgorithm, HashOutput, Hasher};
use authgate::limits::{MAX_HEADER_LEN, MAX_USERNAME_LEN};
use authgate::nonce::{self, Lifetime, NonceId};
use authgate::render::{self, DigestChallenge};
use authgate::replay::NcWindow;
use authgate::{
    parse, Algorithm, AuthInfo, BasicCredentials, Body, Charset, Config, Context, CredentialStore, DigestCredentials,
    Engine as CoreEngine, NonceKey, NonceStatus, ParseError, Purpose, Qop, QopSet, ReplayOutcome, ReplayStore,
    ReplayTable, Request, Scheme, StoredCredential, UserName, Verdict as CoreVerdict,
};
use hmac::{Hmac, KeyInit, Mac};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyString, PyTuple};
use subtle::ConstantTimeEq;

mod connection;
mod jwt;
mod shared_store;
use shared_store::SharedMemoryReplayStore;

create_exception!(_authgate, AuthgateError, PyException, "Base class of authgate's exceptions.");
create_exception!(
    _authgate,
    MalformedHeader,
    AuthgateError,
    "The Authorization value is malformed: answer 400. args = (message, code)."
);
create_exception!(_authgate, ConfigError, AuthgateError, "An invalid configuration value.");

fn malformed(e: ParseError) -> PyErr {
    MalformedHeader::new_err((e.to_string(), e.name()))
}

fn config_err(e: impl std::fmt::Display) -> PyErr {
    ConfigError::new_err(e.to_string())
}

/// The bytes of a header value given as `bytes` or as a WSGI `str` (latin-1 decoded, as
/// PEP 3333 delivers them); a `str` with characters above U+00FF is taken as UTF-8.
/// Borrowed from the `bytes` object, or from the UTF-8 encoding of an ASCII `str` (the
/// common case): no copy.
fn value_bytes<'a, 'py>(obj: &'a Bound<'py, PyAny>) -> PyResult<Raw<'a, 'py>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Raw::Borrowed(b.as_bytes()));
    }
    let s = obj.cast::<PyString>().map_err(|_| PyTypeError::new_err("expected str or bytes"))?;
    let utf8 = s.encode_utf8()?;
    if utf8.as_bytes().is_ascii() {
        return Ok(Raw::Py(utf8));
    }
    // Valid UTF-8: it came from a Python str.
    let s = std::str::from_utf8(utf8.as_bytes()).map_err(|e| PyValueError::new_err(e.to_string()))?;
    if s.chars().all(|c| (c as u32) < 0x100) {
        return Ok(Raw::Owned(s.chars().map(|c| c as u8).collect()));
    }
    Ok(Raw::Py(utf8))
}

/// Bytes borrowed from a Python object, or owned.
enum Raw<'a, 'py> {
    Borrowed(&'a [u8]),
    Py(Bound<'py, PyBytes>),
    Owned(Vec<u8>),
}

impl std::ops::Deref for Raw<'_, '_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Raw::Borrowed(b) => b,
            Raw::Py(b) => b.as_bytes(),
            Raw::Owned(v) => v,
        }
    }
}

/// `text`, borrowed when `bytes` are UTF-8.
fn text_cow(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(text(bytes)),
    }
}

/// UTF-8 when valid, else ISO-8859-1 (what old clients send).
fn text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.iter().map(|&b| b as char).collect(),
    }
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn salt() -> [u8; 8] {
    let mut s = [0u8; 8];
    // Without OS entropy the nonces would still be unique by time, but say so loudly.
    getrandom::fill(&mut s).expect("OS entropy source unavailable");
    s
}

fn hex(bytes: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(D[(b >> 4) as usize] as char);
        s.push(D[(b & 15) as usize] as char);
    }
    s
}

fn key32(obj: &[u8]) -> PyResult<[u8; 32]> {
    obj.try_into().map_err(|_| config_err("a nonce key is exactly 32 bytes (see derive_key)"))
}

fn algorithm(name: &str) -> PyResult<Algorithm> {
    Algorithm::from_name(name.as_bytes())
        .filter(|a| a.hash().is_enabled())
        .ok_or_else(|| config_err(format!("unsupported Digest algorithm {name:?}")))
}

fn qop_set(names: &[String]) -> PyResult<QopSet> {
    let mut q = QopSet { auth: false, auth_int: false };
    for n in names {
        match Qop::from_name(n.trim().as_bytes()) {
            Some(Qop::Auth) => q.auth = true,
            Some(Qop::AuthInt) => q.auth_int = true,
            None => return Err(config_err(format!("unsupported qop {n:?}"))),
        }
    }
    Ok(q)
}

fn outcome_name(o: ReplayOutcome) -> &'static str {
    match o {
        ReplayOutcome::Fresh => "fresh",
        ReplayOutcome::Replayed => "replayed",
        ReplayOutcome::Stale => "stale",
    }
}

// ---------------------------------------------------------------------------------------
// Small primitives
// ---------------------------------------------------------------------------------------

/// Derives a 32-byte key from an application secret (e.g. Flask's SECRET_KEY):
/// HMAC-SHA256(secret, "authgate key v1:" || purpose).
#[pyfunction]
#[pyo3(signature = (secret, purpose = "nonce"))]
fn derive_key<'py>(py: Python<'py>, secret: &Bound<'py, PyAny>, purpose: &str) -> PyResult<Bound<'py, PyBytes>> {
    let secret = value_bytes_utf8(secret)?;
    if secret.is_empty() {
        return Err(config_err("the secret must not be empty"));
    }
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&secret).expect("any key length");
    mac.update(b"authgate key v1:");
    mac.update(purpose.as_bytes());
    Ok(PyBytes::new(py, &mac.finalize().into_bytes()))
}

/// `str` secrets are UTF-8 encoded (unlike header values).
fn value_bytes_utf8(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    let s = obj.cast::<PyString>().map_err(|_| PyTypeError::new_err("expected str or bytes"))?;
    Ok(s.to_cow()?.into_owned().into_bytes())
}

/// 32 random bytes from the OS: a fresh nonce key.
#[pyfunction]
fn random_key(py: Python<'_>) -> Bound<'_, PyBytes> {
    let mut k = [0u8; 32];
    getrandom::fill(&mut k).expect("OS entropy source unavailable");
    PyBytes::new(py, &k)
}

/// Constant-time equality of two secrets (`str` as UTF-8, or `bytes`). Both sides are
/// hashed first, so neither content nor length leaks through timing.
#[pyfunction]
fn ct_eq(a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<bool> {
    let a = value_bytes_utf8(a)?;
    let b = value_bytes_utf8(b)?;
    Ok(ct_eq_bytes(&a, &b))
}

fn sha256(data: &[u8]) -> HashOutput {
    let mut h = Hasher::new(HashAlgorithm::Sha256).expect("sha256 is always built");
    h.update(data);
    h.finalize()
}

fn ct_eq_bytes(a: &[u8], b: &[u8]) -> bool {
    sha256(a).as_bytes().ct_eq(sha256(b).as_bytes()).into()
}

/// Constant-time check of a Basic password against a stored plaintext password, through
/// the core's `StoredCredential::check_password`.
#[pyfunction]
fn check_password(stored: &str, presented: &str) -> bool {
    match StoredCredential::plaintext(stored.as_bytes()) {
        Some(s) => s.check_password(b"", b"", presented.as_bytes(), Charset::Utf8),
        // Longer than the core stores: compare the digests directly.
        None => ct_eq_bytes(stored.as_bytes(), presented.as_bytes()),
    }
}

/// `H(username ":" realm ":" password)` in hex, for htdigest-style stores.
#[pyfunction]
#[pyo3(signature = (username, realm, password, algorithm = "MD5"))]
fn ha1(username: &str, realm: &str, password: &str, algorithm: &str) -> PyResult<String> {
    let alg = self::algorithm(algorithm)?;
    let h = digest::ha1(alg.hash(), username.as_bytes(), realm.as_bytes(), password.as_bytes())
        .ok_or_else(|| config_err("hash family not built"))?;
    Ok(h.to_hex().as_str().to_owned())
}

/// A parsed `Authorization` value.
#[pyclass(frozen, module = "authgate._authgate")]
struct Authorization {
    #[pyo3(get)]
    scheme: String,
    #[pyo3(get)]
    token68: Option<String>,
    params_list: Option<Vec<(String, String)>>,
}

#[pymethods]
impl Authorization {
    /// The auth-params as `(name, value)` pairs in order (values unescaped), or `None` when
    /// the credentials are a token68 or empty.
    #[getter]
    fn params(&self) -> Option<Vec<(String, String)>> {
        self.params_list.clone()
    }
    /// The value of param `name` (case-insensitive), unescaped.
    fn get(&self, name: &str) -> Option<String> {
        self.params_list.as_ref()?.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
    }
    fn __repr__(&self) -> String {
        format!("Authorization(scheme={:?})", self.scheme)
    }
}

/// Parses an `Authorization` value with the core parser (RFC 9110 §11). Raises
/// `MalformedHeader` (HTTP 400) for anything the grammar refuses.
#[pyfunction]
fn parse_authorization(value: &Bound<'_, PyAny>) -> PyResult<Authorization> {
    let bytes = value_bytes(value)?;
    let auth = parse(&bytes).map_err(malformed)?;
    let params_list = auth.params().map(|p| {
        p.iter()
            .map(|param| {
                let v: Vec<u8> = param.value.segments().flatten().copied().collect();
                (param.name.to_owned(), text(&v))
            })
            .collect()
    });
    Ok(Authorization { scheme: auth.scheme().to_owned(), token68: auth.token68().map(str::to_owned), params_list })
}

/// Decodes Basic credentials (`Basic <token68>`, scheme checked) into `(user, password)`,
/// reading ISO-8859-1 when the bytes are not UTF-8.
#[pyfunction]
fn decode_basic(value: &Bound<'_, PyAny>) -> PyResult<(String, String)> {
    let bytes = value_bytes(value)?;
    let auth = parse(&bytes).map_err(malformed)?;
    let mut buf = [0u8; authgate::limits::MAX_BASIC_DECODED];
    let c = BasicCredentials::from_authorization(&auth, &mut buf).map_err(malformed)?;
    Ok(basic_pair(&c))
}

fn basic_pair(c: &BasicCredentials<'_>) -> (String, String) {
    let mut u = [0u8; 2 * authgate::limits::MAX_BASIC_DECODED];
    let mut p = [0u8; 2 * authgate::limits::MAX_BASIC_DECODED];
    (c.user(&mut u).unwrap_or("").to_owned(), c.password(&mut p).unwrap_or("").to_owned())
}

// ---------------------------------------------------------------------------------------
// The per-request fast paths of authgate.flask
// ---------------------------------------------------------------------------------------

/// Basic credentials for a route: `None` when `value` is `None` or carries another scheme,
/// else `(scheme as sent, user, password)`. `scheme` is the auth's own scheme word (a custom
/// one is accepted besides `Basic`). Raises `MalformedHeader` for a malformed value.
#[pyfunction]
fn basic_credentials(value: Option<&Bound<'_, PyAny>>, scheme: &str) -> PyResult<Option<(String, String, String)>> {
    let Some(value) = value else { return Ok(None) };
    let bytes = value_bytes(value)?;
    let auth = parse(&bytes).map_err(malformed)?;
    if !(auth.is_scheme("Basic") || auth.is_scheme(scheme)) {
        return Ok(None);
    }
    let token = auth.token68().ok_or_else(|| malformed(ParseError::ExpectedToken68))?;
    let mut buf = [0u8; authgate::limits::MAX_BASIC_DECODED];
    let c = BasicCredentials::decode(token.as_bytes(), &mut buf).map_err(malformed)?;
    let (u, p) = basic_pair(&c);
    Ok(Some((auth.scheme().to_owned(), u, p)))
}

/// Token credentials from an `Authorization` value: `None` when absent or another scheme,
/// else `(scheme as sent, token)` (token `""` when only the scheme was sent).
///
/// `Bearer` follows RFC 6750 (one b64token, at most 2048 bytes), checked by the core parser.
/// An application-defined scheme (`lenient=True`) takes everything after the scheme word as
/// the token, as Flask-HTTPAuth does, refusing only control characters and over-long values.
#[pyfunction]
fn token_credentials(
    value: Option<&Bound<'_, PyAny>>,
    scheme: &str,
    lenient: bool,
) -> PyResult<Option<(String, String)>> {
    let Some(value) = value else { return Ok(None) };
    Ok(token_parts(&value_bytes(value)?, scheme, lenient)?.map(|(s, t)| (s.into_owned(), t.into_owned())))
}

/// `(scheme as sent, token)`, borrowed from `bytes` when they are UTF-8.
fn token_parts<'a>(bytes: &'a [u8], scheme: &str, lenient: bool) -> PyResult<Option<(Cow<'a, str>, Cow<'a, str>)>> {
    if lenient {
        let trimmed = trim_ows(bytes);
        let word_end = trimmed.iter().position(|&b| b == b' ').unwrap_or(trimmed.len());
        if trimmed[..word_end].eq_ignore_ascii_case(scheme.as_bytes()) {
            if bytes.len() > MAX_HEADER_LEN {
                return Err(malformed(ParseError::TooLong));
            }
            if bytes.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
                return Err(malformed(ParseError::ControlCharacter));
            }
            let rest = trim_ows(&trimmed[word_end..]);
            return Ok(Some((text_cow(&trimmed[..word_end]), text_cow(rest))));
        }
    }
    let auth = parse(bytes).map_err(malformed)?;
    if !auth.is_scheme(scheme) {
        return Ok(None);
    }
    let token = auth.token68().ok_or_else(|| malformed(ParseError::ExpectedToken68))?;
    if auth.is_scheme("Bearer") && token.len() > authgate::limits::MAX_BEARER_LEN {
        return Err(malformed(ParseError::ValueTooLong("bearer")));
    }
    Ok(Some((Cow::Borrowed(auth.scheme()), Cow::Borrowed(token))))
}

/// The per-request path of `authgate.flask`'s `HTTPBasicAuth` (with `verify_password`) and
/// `HTTPTokenAuth` (with `verify_token`) on routes without roles: reads the credentials
/// from the WSGI environ, decodes them with the core and calls the application's callback,
/// in one call.
#[pyclass(frozen, module = "authgate._authgate")]
struct CallbackCheck {
    /// `None` for Basic, else whether the token scheme is application-defined (lenient).
    token_lenient: Option<bool>,
    env_key: Py<PyString>,
    scheme: String,
    verify: Py<PyAny>,
    /// Flask's context variables, for `enter`.
    flask: Option<FlaskContext>,
}

/// What `enter` needs of Flask: its request and app context variables
/// (`flask.globals._cv_request`, `_cv_app`, their `get` methods) and the class of `g` whose
/// `__setattr__` is a plain `__dict__` write (`flask.ctx._AppCtxGlobals`).
struct FlaskContext {
    request_get: Py<PyAny>,
    app_get: Py<PyAny>,
    g_class: Py<PyAny>,
    /// `(False, None)`: a callback's result that refuses the request (`user in (False, None)`).
    refused: Py<PyTuple>,
}

impl FlaskContext {
    fn new(flask: &Bound<'_, PyAny>) -> PyResult<Self> {
        let py = flask.py();
        let (cv_request, cv_app, g_class): (Bound<'_, PyAny>, Bound<'_, PyAny>, Bound<'_, PyAny>) = flask.extract()?;
        Ok(FlaskContext {
            request_get: cv_request.getattr("get")?.unbind(),
            app_get: cv_app.getattr("get")?.unbind(),
            g_class: g_class.unbind(),
            refused: PyTuple::new(py, [PyBool::new(py, false).to_owned().into_any(), py.None().into_bound(py)])?
                .unbind(),
        })
    }

    /// The request context's `request`, or `None` for OPTIONS (Flask normally answers
    /// OPTIONS itself; forwarded to the view it passes without authentication).
    fn request<'py>(&self, py: Python<'py>) -> PyResult<Option<(Bound<'py, PyAny>, Bound<'py, PyAny>)>> {
        let rctx = self.request_get.bind(py).call0()?;
        let req = rctx.getattr(pyo3::intern!(py, "request"))?;
        let method = req.getattr(pyo3::intern!(py, "method"))?;
        let options = match method.cast::<PyString>() {
            // SAFETY: a valid str and a NUL-terminated ASCII literal.
            Ok(m) => unsafe { pyo3::ffi::PyUnicode_CompareWithASCIIString(m.as_ptr(), c"OPTIONS".as_ptr()) == 0 },
            Err(_) => method.eq(pyo3::intern!(py, "OPTIONS"))?,
        };
        Ok(if options { None } else { Some((rctx, req)) })
    }

    /// `g.<name> = value` (`g` of the current app context), as Flask's `__setattr__` does.
    fn set_g(&self, py: Python<'_>, name: &Bound<'_, PyString>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let g = self.app_get.bind(py).call0()?.getattr(pyo3::intern!(py, "g"))?;
        if g.get_type().is(self.g_class.bind(py)) {
            // _AppCtxGlobals.__setattr__ is `self.__dict__[name] = value`: object's own.
            // SAFETY: three valid, owned references held for the duration of the call.
            let rc = unsafe { pyo3::ffi::PyObject_GenericSetAttr(g.as_ptr(), name.as_ptr(), value.as_ptr()) };
            if rc != 0 {
                return Err(PyErr::fetch(py));
            }
            Ok(())
        } else {
            g.setattr(name, value)
        }
    }

    /// `True` after `g.flask_httpauth_user = user` for an accepted `user` (`None` for
    /// `True`), else the refusing `user` itself (`False`, `None` or equal to one of them).
    fn accept<'py>(&self, py: Python<'py>, user: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        // A str is never equal to False or None: no comparisons for the common case.
        if !user.is_exact_instance_of::<PyString>() && self.refused.bind(py).contains(&user)? {
            return Ok(user);
        }
        let t = PyBool::new(py, true).to_owned().into_any();
        let user = if user.is(&t) { py.None().into_bound(py) } else { user };
        self.set_g(py, pyo3::intern!(py, "flask_httpauth_user"), &user)?;
        Ok(t)
    }
}

#[pymethods]
impl CallbackCheck {
    /// `kind` is `"basic"` or `"token"`; `env_key` the environ key of the header,
    /// `scheme` the auth's scheme word, `verify` its (synchronous) callback.
    #[new]
    /// `flask`: `(flask.globals._cv_request, flask.globals._cv_app, flask.ctx._AppCtxGlobals)`,
    /// for `enter`.
    #[pyo3(signature = (kind, env_key, scheme, verify, lenient = false, flask = None))]
    fn new(
        kind: &str,
        env_key: Bound<'_, PyString>,
        scheme: &str,
        verify: Bound<'_, PyAny>,
        lenient: bool,
        flask: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let token_lenient = match kind {
            "basic" => None,
            "token" => Some(lenient),
            _ => return Err(PyValueError::new_err("kind is 'basic' or 'token'")),
        };
        Ok(CallbackCheck {
            token_lenient,
            env_key: env_key.unbind(),
            scheme: scheme.to_owned(),
            verify: verify.unbind(),
            flask: flask.as_ref().map(FlaskContext::new).transpose()?,
        })
    }

    /// The whole per-request check of a Flask view without roles, in one call: reads the
    /// current request (OPTIONS passes), runs `check` on its environ and, when the callback
    /// accepts, sets `g.flask_httpauth_user` and returns `True`. Otherwise returns the
    /// callback's refusing result (`False` or `None`). Raises `MalformedHeader`.
    fn enter<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let flask = self.flask.as_ref().ok_or_else(|| PyValueError::new_err("built without flask="))?;
        let Some((_, req)) = flask.request(py)? else { return Ok(PyBool::new(py, true).to_owned().into_any()) };
        let environ = req.getattr(pyo3::intern!(py, "environ"))?.cast_into::<PyDict>()?;
        let user = self.check(py, &environ)?;
        flask.accept(py, user)
    }

    /// Basic: `verify(user, password)` (`verify("", "")` without Basic credentials), its
    /// result returned with `True` replaced by the user name. Token: `None` without a
    /// (non-empty) token, else `verify(token)`. Raises `MalformedHeader`.
    fn check<'py>(&self, py: Python<'py>, environ: &Bound<'py, PyDict>) -> PyResult<Bound<'py, PyAny>> {
        let value = environ.get_item(self.env_key.bind(py))?.filter(|v| !v.is_none());
        let verify = self.verify.bind(py);
        let Some(lenient) = self.token_lenient else {
            let Some(value) = value else { return verify.call1(("", "")) };
            let bytes = value_bytes(&value)?;
            let auth = parse(&bytes).map_err(malformed)?;
            if !(auth.is_scheme("Basic") || auth.is_scheme(&self.scheme)) {
                return verify.call1(("", ""));
            }
            let token = auth.token68().ok_or_else(|| malformed(ParseError::ExpectedToken68))?;
            let mut buf = [0u8; authgate::limits::MAX_BASIC_DECODED];
            let c = BasicCredentials::decode(token.as_bytes(), &mut buf).map_err(malformed)?;
            let mut u = [0u8; 2 * authgate::limits::MAX_BASIC_DECODED];
            let mut p = [0u8; 2 * authgate::limits::MAX_BASIC_DECODED];
            let user = PyString::new(py, c.user(&mut u).unwrap_or(""));
            let password = PyString::new(py, c.password(&mut p).unwrap_or(""));
            let r = verify.call1((&user, password))?;
            return Ok(if r.is(PyBool::new(py, true)) { user.into_any() } else { r });
        };
        let Some(value) = value else { return Ok(py.None().into_bound(py)) };
        match token_parts(&value_bytes(&value)?, &self.scheme, lenient)? {
            Some((_, token)) if !token.is_empty() => verify.call1((&*token,)),
            _ => Ok(py.None().into_bound(py)),
        }
    }
}

fn trim_ows(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|&c| c != b' ' && c != b'\t').unwrap_or(b.len());
    let end = b.iter().rposition(|&c| c != b' ' && c != b'\t').map_or(start, |e| e + 1);
    &b[start..end.max(start)]
}

/// The scheme word of an `Authorization` value (for MultiAuth's choice), or `None` when
/// there is no recognisable scheme word. Never raises: the chosen auth validates the value.
#[pyfunction]
fn scheme_of(value: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    let bytes = value_bytes(value)?;
    let t = trim_ows(&bytes);
    let end = t.iter().position(|&b| b == b' ' || b == b'\t').unwrap_or(t.len());
    Ok((end > 0).then(|| text(&t[..end])))
}

/// The username a Digest value claims (for `HTTPDigestAuth.username()`), or `None`.
#[pyfunction]
fn digest_username(value: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    let bytes = value_bytes(value)?;
    let Ok(auth) = parse(&bytes) else { return Ok(None) };
    let Some(params) = auth.params() else { return Ok(None) };
    if let Some(v) = params.get("username") {
        let v: Vec<u8> = v.segments().flatten().copied().collect();
        return Ok(Some(text(&v)));
    }
    if let Some(v) = params.get("username*") {
        if let Some(raw) = v.as_unescaped() {
            if let Ok(ext) = digest::ExtValue::parse(raw) {
                let mut buf = [0u8; MAX_USERNAME_LEN];
                return Ok(ext.decode_into(&mut buf).map(str::to_owned));
            }
        }
    }
    Ok(None)
}

// ---------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------

fn render_with(f: impl Fn(&mut [u8]) -> Result<usize, authgate::BufferTooSmall>) -> String {
    let mut buf = vec![0u8; 512];
    let n = match f(&mut buf) {
        Ok(n) => n,
        Err(e) => {
            buf.resize(e.needed, 0);
            f(&mut buf).unwrap_or(0)
        }
    };
    buf.truncate(n);
    String::from_utf8(buf).unwrap_or_default()
}

/// `Basic realm="...", charset="UTF-8"` (RFC 7617), by the core renderer.
#[pyfunction]
fn basic_challenge(realm: &str) -> String {
    render_with(|b| render::basic_challenge(realm, b))
}

/// `Bearer realm="..."[, error="...", error_description="..."]` (RFC 6750).
#[pyfunction]
#[pyo3(signature = (realm, error = None, description = None))]
fn bearer_challenge(realm: &str, error: Option<&str>, description: Option<&str>) -> PyResult<String> {
    let error = match error {
        None => None,
        Some("invalid_request") => Some(render::BearerError::InvalidRequest),
        Some("invalid_token") => Some(render::BearerError::InvalidToken),
        Some("insufficient_scope") => Some(render::BearerError::InsufficientScope),
        Some(e) => return Err(PyValueError::new_err(format!("unknown Bearer error {e:?}"))),
    };
    Ok(render_with(|b| render::bearer_challenge(realm, error, description, b)))
}

/// One RFC 7616 Digest challenge, by the core renderer.
#[pyfunction]
#[pyo3(signature = (realm, nonce, algorithm = "SHA-256", qop = vec!["auth".to_owned()], opaque = None, stale = false, userhash = false))]
fn digest_challenge(
    realm: &str,
    nonce: &str,
    algorithm: &str,
    qop: Vec<String>,
    opaque: Option<&str>,
    stale: bool,
    userhash: bool,
) -> PyResult<String> {
    let c = DigestChallenge {
        realm,
        qop: qop_set(&qop)?,
        algorithm: self::algorithm(algorithm)?,
        nonce,
        opaque,
        stale,
        userhash,
    };
    Ok(render_with(|b| render::digest_challenge(&c, b)))
}

/// A quoted-string (RFC 9110 §5.6.4), with `"` and `\` escaped.
fn push_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// Flask-HTTPAuth's challenge shape for Basic and token schemes: `<scheme> realm="<realm>"`.
#[pyfunction]
fn compat_challenge(scheme: &str, realm: &str) -> String {
    let mut s = String::with_capacity(scheme.len() + realm.len() + 10);
    s.push_str(scheme);
    s.push_str(" realm=");
    push_quoted(&mut s, realm);
    s
}

/// Flask-HTTPAuth's Digest challenge shape (no spaces, quoted algorithm and qop):
/// `Digest realm="..",nonce="..",opaque="..",algorithm="MD5",qop="auth"`, plus
/// `,stale=true` when the nonce expired. Without qop and with MD5 the algorithm is left
/// out, as Flask-HTTPAuth does.
fn compat_digest_challenge(
    scheme: &str,
    realm: &str,
    nonce: &str,
    opaque: &str,
    algorithm: &str,
    qop: &[String],
    stale: bool,
) -> String {
    let mut s = String::with_capacity(160 + realm.len());
    s.push_str(scheme);
    s.push_str(" realm=");
    push_quoted(&mut s, realm);
    s.push_str(",nonce=");
    push_quoted(&mut s, nonce);
    s.push_str(",opaque=");
    push_quoted(&mut s, opaque);
    if !qop.is_empty() || !algorithm.eq_ignore_ascii_case("MD5") {
        s.push_str(",algorithm=");
        push_quoted(&mut s, algorithm);
    }
    if !qop.is_empty() {
        s.push_str(",qop=");
        push_quoted(&mut s, &qop.join(","));
    }
    if stale {
        s.push_str(",stale=true");
    }
    s
}

// ---------------------------------------------------------------------------------------
// Nonces and replay stores
// ---------------------------------------------------------------------------------------

/// Issues a keyed, expiring nonce (core format: lowercase hex, 64 characters).
#[pyfunction]
#[pyo3(signature = (key, realm, opaque = "", now = None))]
fn issue_nonce(key: &[u8], realm: &str, opaque: &str, now: Option<u64>) -> PyResult<String> {
    let k = NonceKey::new(&key32(key)?);
    Ok(authgate::Nonce::issue(&k, realm.as_bytes(), opaque.as_bytes(), now.unwrap_or_else(now_secs), salt())
        .as_str()
        .to_owned())
}

/// Checks a nonce: `("valid" | "expired", issued, id)` or `("invalid", 0, b"")`.
#[pyfunction]
#[pyo3(signature = (nonce, key, realm, opaque = "", now = None, lifetime = 300, skew = 5, previous_key = None))]
#[allow(clippy::too_many_arguments)]
fn verify_nonce<'py>(
    py: Python<'py>,
    nonce: &str,
    key: &[u8],
    realm: &str,
    opaque: &str,
    now: Option<u64>,
    lifetime: u64,
    skew: u64,
    previous_key: Option<&[u8]>,
) -> PyResult<(&'static str, u64, Bound<'py, PyBytes>)> {
    let k = NonceKey::new(&key32(key)?);
    let prev = previous_key.map(key32).transpose()?.map(|p| NonceKey::new(&p));
    let st = nonce::verify(
        nonce.as_bytes(),
        &k,
        prev.as_ref(),
        realm.as_bytes(),
        opaque.as_bytes(),
        now.unwrap_or_else(now_secs),
        Lifetime { max_age: lifetime, max_skew: skew },
    );
    Ok(match st {
        NonceStatus::Valid { issued, id } => ("valid", issued, PyBytes::new(py, &id)),
        NonceStatus::Expired { issued, id } => ("expired", issued, PyBytes::new(py, &id)),
        NonceStatus::Invalid => ("invalid", 0, PyBytes::new(py, b"")),
    })
}

/// The core's per-nonce window, for stores that keep it elsewhere: given the stored state
/// (12 bytes, or `None` for a nonce never used) and an nc, returns `(outcome, new_state)`,
/// outcome `"fresh"` or `"replayed"`. The state only changes when the outcome is fresh.
/// With `since` (the second the store's memory began), a nonce never used that was
/// `issued` before it is `"stale"`: the core's table with that horizon decides.
#[pyfunction]
#[pyo3(signature = (state, nc, issued = 0, since = None))]
fn window_record<'py>(
    py: Python<'py>,
    state: Option<&[u8]>,
    nc: u32,
    issued: u64,
    since: Option<u64>,
) -> PyResult<(&'static str, Bound<'py, PyBytes>)> {
    let mut w = match state {
        None => NcWindow::new(),
        Some(s) => NcWindow::from_bytes(s).ok_or_else(|| PyValueError::new_err("window state is 12 bytes"))?,
    };
    if let (None, Some(since)) = (state, since) {
        if ReplayTable::<1>::since(since).check_and_record(&[0; 16], issued, nc) == ReplayOutcome::Stale {
            return Ok((outcome_name(ReplayOutcome::Stale), PyBytes::new(py, &w.to_bytes())));
        }
    }
    let o = w.record(nc);
    Ok((outcome_name(o), PyBytes::new(py, &w.to_bytes())))
}

enum Table {
    Small(Box<ReplayTable<256>>),
    Medium(Box<ReplayTable<1024>>),
    Large(Box<ReplayTable<4096>>),
}

struct TableState {
    table: Table,
    calls: u32,
}

/// The core's replay table in this process only (the default, `SharedMemoryReplayStore`,
/// is shared by the processes of a server; `RedisNonceStore` by several hosts). Its memory
/// begins when it is made: nonces issued before are answered stale.
#[pyclass(frozen, module = "authgate._authgate")]
struct MemoryReplayStore {
    inner: Mutex<TableState>,
    #[pyo3(get)]
    capacity: usize,
    /// Entries older than this many seconds are purged now and then (nonce lifetime + skew).
    #[pyo3(get)]
    max_age: u64,
}

impl MemoryReplayStore {
    fn record(&self, id: &NonceId, issued: u64, nc: u32) -> ReplayOutcome {
        let mut st = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        st.calls = st.calls.wrapping_add(1);
        if st.calls.is_multiple_of(256) {
            let cutoff = now_secs().saturating_sub(self.max_age);
            match &mut st.table {
                Table::Small(t) => t.purge_before(cutoff),
                Table::Medium(t) => t.purge_before(cutoff),
                Table::Large(t) => t.purge_before(cutoff),
            }
        }
        match &mut st.table {
            Table::Small(t) => t.check_and_record(id, issued, nc),
            Table::Medium(t) => t.check_and_record(id, issued, nc),
            Table::Large(t) => t.check_and_record(id, issued, nc),
        }
    }
}

#[pymethods]
impl MemoryReplayStore {
    /// `capacity` is rounded up to 256, 1024 or 4096 nonces (at most 4096).
    #[new]
    #[pyo3(signature = (capacity = 4096, max_age = 600))]
    fn new(capacity: usize, max_age: u64) -> Self {
        let (table, capacity) = match capacity {
            0..=256 => (Table::Small(Box::new(ReplayTable::since(now_secs()))), 256),
            257..=1024 => (Table::Medium(Box::new(ReplayTable::since(now_secs()))), 1024),
            _ => (Table::Large(Box::new(ReplayTable::since(now_secs()))), 4096),
        };
        MemoryReplayStore { inner: Mutex::new(TableState { table, calls: 0 }), capacity, max_age }
    }

    /// `"fresh"`, `"replayed"` or `"stale"` for this (nonce id, nc); records it when fresh.
    fn check_and_record(&self, py: Python<'_>, nonce_id: &[u8], issued: u64, nc: u32) -> PyResult<&'static str> {
        let id: NonceId = nonce_id.try_into().map_err(|_| PyValueError::new_err("nonce ids are 16 bytes"))?;
        Ok(outcome_name(py.detach(|| self.record(&id, issued, nc))))
    }

    fn __len__(&self) -> usize {
        let st = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match &st.table {
            Table::Small(t) => t.len(),
            Table::Medium(t) => t.len(),
            Table::Large(t) => t.len(),
        }
    }
}

/// A replay store: a built-in table, called directly, or any Python object with
/// `check_and_record(nonce_id: bytes, issued: int, nc: int) -> str` (e.g. RedisNonceStore).
enum Replay {
    Memory(Py<MemoryReplayStore>),
    Shared(Py<SharedMemoryReplayStore>),
    Python(Py<PyAny>, Mutex<Option<PyErr>>),
}

impl Replay {
    /// `obj`, or the default store: shared by the server's processes, named after the
    /// engine's `namespace` (its key and realm, `shared_store::namespace`).
    fn from_py(obj: Option<&Bound<'_, PyAny>>, max_age: u64, namespace: [u8; 16]) -> PyResult<Replay> {
        let default =
            |py: Python<'_>| Py::new(py, SharedMemoryReplayStore::for_engine(max_age, namespace)).map(Replay::Shared);
        match obj {
            None => Python::attach(default),
            Some(o) if o.is_none() => default(o.py()),
            Some(o) => match o.cast::<MemoryReplayStore>() {
                Ok(m) => Ok(Replay::Memory(m.clone().unbind())),
                Err(_) if o.is_instance_of::<SharedMemoryReplayStore>() => {
                    let s = o.cast::<SharedMemoryReplayStore>()?;
                    s.get().bind(namespace);
                    Ok(Replay::Shared(s.clone().unbind()))
                }
                Err(_) => {
                    if !o.hasattr("check_and_record")? {
                        return Err(PyTypeError::new_err(
                            "a replay store needs check_and_record(nonce_id, issued, nc)",
                        ));
                    }
                    let inspect = o.py().import("inspect")?;
                    if inspect.call_method1("iscoroutinefunction", (o.getattr("check_and_record")?,))?.is_truthy()? {
                        return Err(PyTypeError::new_err(
                            "this replay store is async (e.g. AsyncRedisNonceStore, for ASGI layers that await it): \
                             give a synchronous engine RedisNonceStore",
                        ));
                    }
                    Ok(Replay::Python(o.clone().unbind(), Mutex::new(None)))
                }
            },
        }
    }

    fn take_error(&self) -> Option<PyErr> {
        match self {
            Replay::Python(_, e) => e.lock().ok()?.take(),
            Replay::Memory(_) | Replay::Shared(_) => None,
        }
    }
}

impl ReplayStore for Replay {
    fn check_and_record(&self, id: &NonceId, issued: u64, nc: u32) -> ReplayOutcome {
        match self {
            Replay::Memory(m) => m.get().record(id, issued, nc),
            Replay::Shared(s) => s.get().record(id, issued, nc),
            Replay::Python(obj, err) => Python::attach(|py| {
                let r = obj
                    .bind(py)
                    .call_method1("check_and_record", (PyBytes::new(py, id), issued, nc))
                    .and_then(|v| v.extract::<String>());
                match r.as_deref() {
                    Ok("fresh") => ReplayOutcome::Fresh,
                    Ok("replayed") => ReplayOutcome::Replayed,
                    Ok(_) => ReplayOutcome::Stale,
                    Err(_) => {
                        // Never fresh on failure; the error is re-raised after the check.
                        if let (Err(e), Ok(mut slot)) = (r, err.lock()) {
                            *slot = Some(e);
                        }
                        ReplayOutcome::Stale
                    }
                }
            }),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Digest for authgate.flask: Flask-HTTPAuth's callbacks, the core's checks
// ---------------------------------------------------------------------------------------

/// The Digest side of `authgate.flask.HTTPDigestAuth`: the core's Digest checks with
/// Flask-HTTPAuth's callbacks (get_password, verify_nonce, verify_opaque) and wire shape
/// (hex nonces, its challenge format).
#[pyclass(frozen, module = "authgate._authgate")]
struct DigestAuthenticator {
    scheme: String,
    realm: String,
    /// (algorithm, the name shown in challenges)
    algorithms: Vec<(Algorithm, String)>,
    /// The algorithms alone, for the core's `DigestRules`.
    algorithm_list: Vec<Algorithm>,
    /// The names of `algorithms` as Python strings, handed out as they are.
    algorithm_names: Vec<Py<PyString>>,
    qop_names: Vec<String>,
    qop: QopSet,
    key: NonceKey,
    previous_key: Option<NonceKey>,
    lifetime: Lifetime,
    replay: Replay,
    use_ha1_pw: bool,
    check_uri: bool,
    auth_info: bool,
    nonce_cache: NonceCache,
    #[pyo3(get)]
    default_opaque: String,
}

/// Nonces whose HMAC tag was already verified (with the opaque they are bound to), so a
/// client's next requests on the same nonce skip the HMAC. Bounded; cleared when full.
/// Entries are only ever added after the core's `nonce::verify` accepted the nonce.
struct NonceCache {
    map: Mutex<HashMap<[u8; 32], VerifiedNonce, BuildTagHasher>>,
}

/// Hashes a nonce by the last 8 bytes of its HMAC tag: already uniformly distributed, and
/// only nonces whose tag verified are ever inserted, so no one can choose colliding keys.
#[derive(Default, Clone, Copy)]
struct BuildTagHasher;

#[derive(Default)]
struct TagHasher(u64);

impl std::hash::BuildHasher for BuildTagHasher {
    type Hasher = TagHasher;
    fn build_hasher(&self) -> TagHasher {
        TagHasher(0)
    }
}

impl std::hash::Hasher for TagHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut last = [0u8; 8];
        let n = bytes.len().min(8);
        last[..n].copy_from_slice(&bytes[bytes.len() - n..]);
        self.0 = self.0.rotate_left(17) ^ u64::from_le_bytes(last);
    }
    fn write_usize(&mut self, _len: usize) {}
}

/// (the opaque it is bound to, issue time, id)
type VerifiedNonce = (Vec<u8>, u64, NonceId);

impl NonceCache {
    const CAPACITY: usize = 4096;

    fn new() -> Self {
        NonceCache { map: Mutex::new(HashMap::with_hasher(BuildTagHasher)) }
    }

    fn get(&self, raw: &[u8; 32], opaque: &[u8]) -> Option<(u64, NonceId)> {
        let map = self.map.lock().ok()?;
        let (o, issued, id) = map.get(raw)?;
        (o.as_slice() == opaque).then_some((*issued, *id))
    }

    fn put(&self, raw: &[u8; 32], opaque: &[u8], issued: u64, id: NonceId) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= Self::CAPACITY {
                map.clear();
            }
            map.insert(*raw, (opaque.to_vec(), issued, id));
        }
    }
}

/// Result of a Digest check, as a tuple for speed:
/// `(200, user, algorithm, authentication_info)` or `(401, reason, stale, None)`.
type DigestResult = (u16, String, Py<PyAny>, Option<String>);

enum Lookup {
    Found(StoredCredential),
    Unusable,
    Unknown,
}

#[pymethods]
impl DigestAuthenticator {
    #[new]
    #[pyo3(signature = (realm, key, *, scheme = "Digest", algorithms = vec!["MD5".to_owned()], qop = vec!["auth".to_owned()], previous_key = None, lifetime = 300, skew = 5, replay_store = None, use_ha1_pw = false, check_uri = true, auth_info = true))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        realm: &str,
        key: &[u8],
        scheme: &str,
        algorithms: Vec<String>,
        qop: Vec<String>,
        previous_key: Option<&[u8]>,
        lifetime: u64,
        skew: u64,
        replay_store: Option<&Bound<'_, PyAny>>,
        use_ha1_pw: bool,
        check_uri: bool,
        auth_info: bool,
    ) -> PyResult<Self> {
        if realm.is_empty() || realm.chars().any(char::is_control) || realm.len() > authgate::limits::MAX_REALM_LEN {
            return Err(config_err(authgate::ConfigError::InvalidRealm));
        }
        if lifetime == 0 {
            return Err(config_err(authgate::ConfigError::InvalidLifetime));
        }
        let mut algs = Vec::new();
        for a in &algorithms {
            algs.push((self::algorithm(a)?, a.clone()));
        }
        if algs.is_empty() {
            return Err(config_err(authgate::ConfigError::NoAlgorithm));
        }
        let qop_names: Vec<String> = qop.iter().map(|q| q.trim().to_owned()).filter(|q| !q.is_empty()).collect();
        let qop = qop_set(&qop_names)?;
        let key = key32(key)?;
        let namespace = shared_store::namespace(&key, realm);
        // Not a secret (nonces are bound to it, not keyed by it): the same across key rotations.
        let default_opaque =
            hex(&sha256(&[b"authgate opaque v1:".as_slice(), realm.as_bytes()].concat()).as_bytes()[..16]);
        Ok(DigestAuthenticator {
            scheme: scheme.to_owned(),
            realm: realm.to_owned(),
            algorithm_list: algs.iter().map(|(a, _)| *a).collect(),
            algorithm_names: algs.iter().map(|(_, n)| PyString::new(py, n).unbind()).collect(),
            algorithms: algs,
            qop_names,
            qop,
            key: NonceKey::new(&key),
            previous_key: previous_key.map(key32).transpose()?.map(|k| NonceKey::new(&k)),
            lifetime: Lifetime { max_age: lifetime, max_skew: skew },
            replay: Replay::from_py(replay_store, lifetime + skew + 60, namespace)?,
            use_ha1_pw,
            check_uri,
            auth_info,
            nonce_cache: NonceCache::new(),
            default_opaque,
        })
    }

    /// A fresh keyed nonce bound to this realm and `opaque`, in hex (64 characters).
    #[pyo3(signature = (opaque, now = None))]
    fn new_nonce(&self, opaque: &str, now: Option<u64>) -> String {
        authgate::Nonce::issue(
            &self.key,
            self.realm.as_bytes(),
            opaque.as_bytes(),
            now.unwrap_or_else(now_secs),
            salt(),
        )
        .as_str()
        .to_owned()
    }

    /// The `WWW-Authenticate` values, one per algorithm, in Flask-HTTPAuth's shape.
    #[pyo3(signature = (nonce, opaque, stale = false))]
    fn challenges(&self, nonce: &str, opaque: &str, stale: bool) -> Vec<String> {
        self.algorithms
            .iter()
            .map(|(_, name)| {
                compat_digest_challenge(&self.scheme, &self.realm, nonce, opaque, name, &self.qop_names, stale)
            })
            .collect()
    }

    /// Checks a Digest `Authorization` value.
    ///
    /// `get_password(username)` returns the password (or the HA1 hex when `use_ha1_pw`, or a
    /// dict of algorithm name to HA1 hex) or `None`. `verify_nonce(nonce)` and
    /// `verify_opaque(opaque)` are the application's; `verify_nonce=None` means authgate's
    /// keyed nonces (expiry, `stale=true`, replay store). `body()` returns the request body
    /// for `qop=auth-int`. Raises `MalformedHeader` (400); returns a `DigestResult`, or
    /// `None` when the value carries another scheme.
    #[pyo3(signature = (value, method, target, get_password, verify_opaque = None, verify_nonce = None, body = None, now = None))]
    #[allow(clippy::too_many_arguments)]
    fn check(
        &self,
        py: Python<'_>,
        value: &Bound<'_, PyAny>,
        method: &str,
        target: &Bound<'_, PyAny>,
        get_password: &Bound<'_, PyAny>,
        verify_opaque: Option<&Bound<'_, PyAny>>,
        verify_nonce: Option<&Bound<'_, PyAny>>,
        body: Option<&Bound<'_, PyAny>>,
        now: Option<u64>,
    ) -> PyResult<Option<DigestResult>> {
        let raw = value_bytes(value)?;
        let target = value_bytes(target)?;
        let callbacks = Callbacks { get_password, verify_opaque, verify_nonce, body };
        Ok(match self.run(&raw, method.as_bytes(), &target, &callbacks, now)? {
            Outcome::Other => None,
            Outcome::Refused(reason, stale) => {
                Some((401, reason.to_owned(), stale.into_pyobject(py)?.to_owned().into_any().unbind(), None))
            }
            Outcome::Accepted { user, algorithm, info } => {
                Some((200, user.to_string(), self.algorithm_names[algorithm].clone_ref(py).into_any(), info))
            }
        })
    }

    /// The per-request path of `authgate.flask`: checks the request described by the WSGI
    /// `environ` (its `HTTP_AUTHORIZATION`, and the request-target from `RAW_URI` and
    /// `QUERY_STRING`, or `target(environ)` when those do not give it directly).
    ///
    /// Returns the user name (`str`) when accepted, after setting
    /// `environ["authgate.algorithm"]` (and `environ["authgate.authentication_info"]` when
    /// there is one); `1` when refused with `stale=true`, `0` when refused otherwise, `None`
    /// when there is no Digest `Authorization` value. Raises `MalformedHeader` (400).
    /// Callbacks as for `check`.
    #[pyo3(signature = (environ, method, target, get_password, verify_opaque = None, verify_nonce = None, body = None, now = None))]
    #[allow(clippy::too_many_arguments)]
    fn check_request<'py>(
        &self,
        py: Python<'py>,
        environ: &Bound<'py, PyDict>,
        method: &Bound<'py, PyString>,
        target: &Bound<'py, PyAny>,
        get_password: &Bound<'py, PyAny>,
        verify_opaque: Option<&Bound<'py, PyAny>>,
        verify_nonce: Option<&Bound<'py, PyAny>>,
        body: Option<&Bound<'py, PyAny>>,
        now: Option<u64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let callbacks = Callbacks { get_password, verify_opaque, verify_nonce, body };
        self.check_environ(py, environ, method, target, &callbacks, now)
    }
}

/// `DigestAuthenticator.check_request` with the callbacks bound once: what
/// `authgate.flask.HTTPDigestAuth` calls per request, with Flask's request object.
#[pyclass(frozen, module = "authgate._authgate")]
struct DigestRequestCheck {
    authn: Py<DigestAuthenticator>,
    target: Py<PyAny>,
    get_password: Py<PyAny>,
    verify_opaque: Option<Py<PyAny>>,
    verify_nonce: Option<Py<PyAny>>,
    auth_int: bool,
    /// Flask's context variables, for `enter`.
    flask: Option<FlaskContext>,
    /// The app's `SECRET_KEY` and `SECRET_KEY_FALLBACKS` the authenticator's keys were
    /// derived from (`None` with an explicit key), for `enter`.
    source: Option<(Py<PyAny>, Py<PyAny>)>,
    /// Called after an accepted check (`authgate.flask` registers its Authentication-Info hook).
    on_accept: Option<Py<PyAny>>,
}

#[pymethods]
impl DigestRequestCheck {
    /// Arguments as for `DigestAuthenticator.check_request`; `auth_int`: pass the request's
    /// `get_data` as `body`.
    #[new]
    ///
    /// For `enter`: `flask` as for `CallbackCheck`; `source`, `(SECRET_KEY,
    /// SECRET_KEY_FALLBACKS)` the keys were derived from; `on_accept`, called with no
    /// arguments after an accepted check.
    #[pyo3(signature = (authn, target, get_password, verify_opaque = None, verify_nonce = None, auth_int = false,
                        flask = None, source = None, on_accept = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        authn: Py<DigestAuthenticator>,
        target: Py<PyAny>,
        get_password: Py<PyAny>,
        verify_opaque: Option<Py<PyAny>>,
        verify_nonce: Option<Py<PyAny>>,
        auth_int: bool,
        flask: Option<Bound<'_, PyAny>>,
        source: Option<(Py<PyAny>, Py<PyAny>)>,
        on_accept: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        let flask = flask.as_ref().map(FlaskContext::new).transpose()?;
        Ok(DigestRequestCheck {
            authn,
            target,
            get_password,
            verify_opaque,
            verify_nonce,
            auth_int,
            flask,
            source,
            on_accept,
        })
    }

    /// The whole per-request check of a Flask view without roles, in one call: reads the
    /// current request (OPTIONS passes: `True`) and checks it. Accepted: calls `on_accept`,
    /// sets `g.flask_httpauth_user` to the user name and returns `True`. Refused: returns
    /// `False`, after setting `g._authgate_stale = True` when the nonce was stale. `None`
    /// (nothing checked) when the request's app no longer has the `SECRET_KEY` or
    /// `SECRET_KEY_FALLBACKS` of `source`. Raises `MalformedHeader`.
    #[pyo3(signature = (now = None))]
    fn enter<'py>(&self, py: Python<'py>, now: Option<u64>) -> PyResult<Bound<'py, PyAny>> {
        let flask = self.flask.as_ref().ok_or_else(|| PyValueError::new_err("built without flask="))?;
        let Some((rctx, req)) = flask.request(py)? else { return Ok(PyBool::new(py, true).to_owned().into_any()) };
        if let Some((secret, fallbacks)) = &self.source {
            let config = rctx.getattr(pyo3::intern!(py, "app"))?.getattr(pyo3::intern!(py, "config"))?;
            if !config_get(&config, pyo3::intern!(py, "SECRET_KEY"))?.is(secret)
                || !config_get(&config, pyo3::intern!(py, "SECRET_KEY_FALLBACKS"))?.is(fallbacks)
            {
                return Ok(py.None().into_bound(py));
            }
        }
        let user = self.check(py, &req, now)?;
        if user.is_exact_instance_of::<PyString>() {
            if let Some(f) = &self.on_accept {
                f.bind(py).call0()?;
            }
            flask.set_g(py, pyo3::intern!(py, "flask_httpauth_user"), &user)?;
            return Ok(PyBool::new(py, true).to_owned().into_any());
        }
        if user.eq(1)? {
            flask.set_g(py, pyo3::intern!(py, "_authgate_stale"), PyBool::new(py, true).as_any())?;
        }
        Ok(PyBool::new(py, false).to_owned().into_any())
    }

    /// `check_request` for a Flask/werkzeug request (its `environ`, `method`, `get_data`).
    #[pyo3(signature = (request, now = None))]
    fn check<'py>(
        &self,
        py: Python<'py>,
        request: &Bound<'py, PyAny>,
        now: Option<u64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let environ = request.getattr(pyo3::intern!(py, "environ"))?.cast_into::<PyDict>()?;
        let method = request.getattr(pyo3::intern!(py, "method"))?.cast_into::<PyString>()?;
        let body = if self.auth_int { Some(request.getattr(pyo3::intern!(py, "get_data"))?) } else { None };
        let verify_opaque = self.verify_opaque.as_ref().map(|v| v.bind(py));
        let verify_nonce = self.verify_nonce.as_ref().map(|v| v.bind(py));
        let callbacks =
            Callbacks { get_password: self.get_password.bind(py), verify_opaque, verify_nonce, body: body.as_ref() };
        self.authn.get().check_environ(py, &environ, &method, self.target.bind(py), &callbacks, now)
    }
}

/// `config.get(key)` of Flask's `app.config` (a `dict` subclass).
fn config_get<'py>(config: &Bound<'py, PyAny>, key: &Bound<'py, PyString>) -> PyResult<Bound<'py, PyAny>> {
    match config.cast::<PyDict>() {
        Ok(d) => Ok(d.get_item(key)?.unwrap_or_else(|| config.py().None().into_bound(config.py()))),
        Err(_) => config.call_method1(pyo3::intern!(config.py(), "get"), (key,)),
    }
}

impl DigestAuthenticator {
    fn check_environ<'py>(
        &self,
        py: Python<'py>,
        environ: &Bound<'py, PyDict>,
        method: &Bound<'py, PyString>,
        target: &Bound<'py, PyAny>,
        callbacks: &Callbacks<'_, 'py>,
        now: Option<u64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let Some(value) = environ.get_item(pyo3::intern!(py, "HTTP_AUTHORIZATION"))? else {
            return Ok(py.None().into_bound(py));
        };
        if value.is_none() {
            return Ok(value);
        }
        let raw = value_bytes(&value)?;
        // The request-target as sent: RAW_URI (gunicorn, werkzeug) when there is no query
        // string to add to it; anything else goes through the Python helper.
        let raw_uri = environ.get_item(pyo3::intern!(py, "RAW_URI"))?;
        let direct = match &raw_uri {
            Some(u) if u.is_truthy()? && u.is_instance_of::<PyString>() => {
                match environ.get_item(pyo3::intern!(py, "QUERY_STRING"))? {
                    None => true,
                    Some(q) => !q.is_truthy()? || value_bytes(u)?.contains(&b'?'),
                }
            }
            _ => false,
        };
        let target_obj = match (direct, raw_uri) {
            (true, Some(u)) => u,
            _ => target.call1((environ,))?,
        };
        let target = value_bytes(&target_obj)?;
        let method = method.encode_utf8()?;
        Ok(match self.run(&raw, method.as_bytes(), &target, callbacks, now)? {
            Outcome::Other => py.None().into_bound(py),
            Outcome::Refused(_, stale) => u8::from(stale).into_pyobject(py)?.into_any(),
            Outcome::Accepted { user, algorithm, info } => {
                environ.set_item(pyo3::intern!(py, "authgate.algorithm"), self.algorithm_names[algorithm].bind(py))?;
                if let Some(info) = info {
                    environ.set_item(pyo3::intern!(py, "authgate.authentication_info"), info)?;
                }
                PyString::new(py, user.as_str()).into_any()
            }
        })
    }
}

/// The application's callbacks for one Digest check.
struct Callbacks<'a, 'py> {
    get_password: &'a Bound<'py, PyAny>,
    verify_opaque: Option<&'a Bound<'py, PyAny>>,
    verify_nonce: Option<&'a Bound<'py, PyAny>>,
    body: Option<&'a Bound<'py, PyAny>>,
}

/// What a Digest check decided.
enum Outcome {
    /// Another scheme.
    Other,
    /// 401: the reason, and whether `stale=true`.
    Refused(&'static str, bool),
    /// 200: the user, the index of the algorithm in `algorithms`, the Authentication-Info.
    Accepted { user: UserName, algorithm: usize, info: Option<String> },
}

impl DigestAuthenticator {
    fn run(
        &self,
        raw: &[u8],
        method: &[u8],
        target: &[u8],
        cb: &Callbacks<'_, '_>,
        now: Option<u64>,
    ) -> PyResult<Outcome> {
        let first = parse(raw).map_err(malformed)?;
        // A custom scheme word stands for "Digest": the params are read the same way.
        let rewritten;
        let auth = if first.is_scheme("Digest") {
            first
        } else if first.is_scheme(&self.scheme) {
            let start = first.scheme().as_ptr() as usize - raw.as_ptr() as usize;
            let end = start + first.scheme().len();
            rewritten = [&raw[..start], b"Digest", &raw[end..]].concat();
            parse(&rewritten).map_err(malformed)?
        } else {
            return Ok(Outcome::Other);
        };
        let c = DigestCredentials::from_authorization(&auth).map_err(malformed)?;
        let now = now.unwrap_or_else(now_secs);
        let rules = DigestRules {
            realm: &self.realm,
            algorithms: &self.algorithm_list,
            qop: self.qop,
            rfc2069: self.qop.is_empty(),
            userhash: false,
            check_uri: self.check_uri,
        };
        let ctx = FlaskDigest {
            authn: self,
            get_password: cb.get_password,
            verify_opaque: cb.verify_opaque.filter(|v| !v.is_none()),
            verify_nonce: cb.verify_nonce.filter(|v| !v.is_none()),
            body: cb.body.filter(|b| !b.is_none()),
            now,
            error: RefCell::new(None),
        };
        // The order of checks and every rule are the core's; this layer only supplies
        // Flask-HTTPAuth's callbacks and wire shapes.
        let outcome = digest_check::check(&rules, &c, method, target, &ctx);
        if let Some(e) = ctx.error.into_inner().or_else(|| self.replay.take_error()) {
            return Err(e);
        }
        let ok = match outcome {
            Ok(ok) => ok,
            Err(DigestFailure::Malformed(e)) => return Err(malformed(e)),
            Err(DigestFailure::Challenge(reason, stale)) => return Ok(Outcome::Refused(reason.message(), stale)),
        };
        let info = match ok.qop.filter(|_| self.auth_info) {
            None => None,
            Some(q) => {
                let nextnonce =
                    ok.issued.filter(|issued| now.saturating_sub(*issued) >= self.lifetime.max_age / 2).map(|_| {
                        let opaque = c.opaque.map(|o| value_text(&o));
                        self.new_nonce(opaque.as_deref().unwrap_or(""), Some(now))
                    });
                let ai = AuthInfo {
                    rspauth: ok.rspauth,
                    qop: Some(q),
                    nc: ok.nc,
                    cnonce: ok.cnonce.clone(),
                    nextnonce: None,
                };
                let mut s = render_with(|b| render::authentication_info(&ai, b));
                // `nextnonce` is appended here: it is bound to this request's opaque, which
                // Flask-HTTPAuth apps may generate themselves.
                if let Some(n) = &nextnonce {
                    s.push_str(", nextnonce=\"");
                    s.push_str(n);
                    s.push('"');
                }
                Some(s)
            }
        };
        let algorithm = self.algorithms.iter().position(|(a, _)| *a == ok.algorithm).unwrap_or(0);
        Ok(Outcome::Accepted { user: ok.user, algorithm, info })
    }
}

/// Flask-HTTPAuth's side of a Digest check: its callbacks and hex nonces, as the core's
/// [`DigestContext`]. A Python exception in a callback is kept and re-raised after the
/// check; meanwhile the check sees a refusal, never an acceptance.
struct FlaskDigest<'a, 'py> {
    authn: &'a DigestAuthenticator,
    get_password: &'a Bound<'py, PyAny>,
    verify_opaque: Option<&'a Bound<'py, PyAny>>,
    verify_nonce: Option<&'a Bound<'py, PyAny>>,
    body: Option<&'a Bound<'py, PyAny>>,
    now: u64,
    error: RefCell<Option<PyErr>>,
}

impl FlaskDigest<'_, '_> {
    fn keep<T>(&self, r: PyResult<T>, refused: T) -> T {
        r.unwrap_or_else(|e| {
            self.error.borrow_mut().get_or_insert(e);
            refused
        })
    }
}

fn value_text(v: &authgate::Value<'_>) -> String {
    match v.as_unescaped() {
        Some(b) => text(b),
        None => text(&value_vec(v)),
    }
}

fn value_vec(v: &authgate::Value<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.raw().len());
    for seg in v.segments() {
        out.extend_from_slice(seg);
    }
    out
}

/// The bytes of `text(b)`: `b` itself when it is UTF-8, else its ISO-8859-1 reading in UTF-8.
fn utf8_or_latin1(b: &[u8]) -> Cow<'_, [u8]> {
    match std::str::from_utf8(b) {
        Ok(_) => Cow::Borrowed(b),
        Err(_) => Cow::Owned(text(b).into_bytes()),
    }
}

/// The unescaped bytes of a value: borrowed when it has no escapes (the usual case).
fn value_raw<'a>(v: &authgate::Value<'a>) -> Cow<'a, [u8]> {
    match v.as_unescaped() {
        Some(b) => Cow::Borrowed(b),
        None => Cow::Owned(value_vec(v)),
    }
}

impl DigestContext for FlaskDigest<'_, '_> {
    fn opaque_ok(&self, opaque: Option<&authgate::Value<'_>>) -> bool {
        match self.verify_opaque {
            Some(cb) => {
                let opaque = opaque.map(value_text);
                self.keep(cb.call1((opaque.as_deref(),)).and_then(|r| r.is_truthy()), false)
            }
            // authgate's own opaque is public (sent in every challenge); compared exactly.
            // (Bytes that are not UTF-8 never equal it: it is hex.)
            None => opaque.map(value_raw).is_some_and(|o| {
                o.len() == self.authn.default_opaque.len() && bool::from(o.ct_eq(self.authn.default_opaque.as_bytes()))
            }),
        }
    }

    fn nonce(&self, nonce: &authgate::Value<'_>, opaque: Option<&authgate::Value<'_>>) -> NonceCheck {
        if let Some(cb) = self.verify_nonce {
            let nonce_text = value_text(nonce);
            let ok = self.keep(cb.call1((nonce_text.as_str(),)).and_then(|r| r.is_truthy()), false);
            return if ok { NonceCheck::Trusted } else { NonceCheck::Invalid };
        }
        // Our keyed nonces, verified by the core; the raw bytes key the cache of verified tags.
        let text = value_raw(nonce);
        let Some(raw) = nonce::decode(&text) else {
            return NonceCheck::Invalid;
        };
        let opaque = opaque.map(value_raw).unwrap_or_default();
        let opaque = utf8_or_latin1(&opaque);
        let authn = self.authn;
        if let Some((issued, id)) = authn.nonce_cache.get(&raw, &opaque) {
            // Its tag was verified before: only the age is left to check.
            let l = authn.lifetime;
            let expired = self.now.saturating_sub(issued) > l.max_age || issued.saturating_sub(self.now) > l.max_skew;
            return if expired { NonceCheck::Expired { issued, id } } else { NonceCheck::Valid { issued, id } };
        }
        let status = nonce::verify(
            &text,
            &authn.key,
            authn.previous_key.as_ref(),
            authn.realm.as_bytes(),
            &opaque,
            self.now,
            authn.lifetime,
        );
        if let NonceStatus::Valid { issued, id } = status {
            authn.nonce_cache.put(&raw, &opaque, issued, id);
        }
        status.into()
    }

    fn user(&self, username: &str, _userhash: bool, hash: HashAlgorithm) -> UserLookup {
        let Ok(name) = UserName::try_from(username) else { return UserLookup::Unknown };
        let stored = self.get_password.call1((username,));
        match self.keep(stored.and_then(|s| self.authn.lookup(s, username, hash)), Lookup::Unknown) {
            Lookup::Found(cred) => UserLookup::Found(name, cred),
            Lookup::Unusable => UserLookup::Unusable(name),
            Lookup::Unknown => UserLookup::Unknown,
        }
    }

    fn record(&self, id: &NonceId, issued: u64, nc: u32) -> ReplayOutcome {
        self.authn.replay.check_and_record(id, issued, nc)
    }

    fn body_hash(&self, hash: HashAlgorithm) -> Option<HashOutput> {
        let body = self.keep(self.body?.call0().and_then(|b| value_bytes_utf8(&b)).map(Some), None)?;
        let mut h = Hasher::new(hash)?;
        h.update(&body);
        Some(h.finalize())
    }
}

impl DigestAuthenticator {
    fn lookup(&self, stored: Bound<'_, PyAny>, user: &str, hash: HashAlgorithm) -> PyResult<Lookup> {
        if stored.is_none() {
            return Ok(Lookup::Unknown);
        }
        if let Ok(d) = stored.cast::<PyDict>() {
            // {algorithm name: HA1 hex}: pick the entry of this hash family.
            for (k, v) in d.iter() {
                let k: String = k.extract()?;
                if let Some(a) = Algorithm::from_name(k.as_bytes()) {
                    if a.hash() == hash {
                        let v: String = v.extract()?;
                        return Ok(
                            StoredCredential::ha1_hex(hash, v.as_bytes()).map_or(Lookup::Unusable, Lookup::Found)
                        );
                    }
                }
            }
            return Ok(Lookup::Unusable);
        }
        let encoded;
        let owned;
        let s: &[u8] = match stored.cast::<PyString>() {
            Ok(ps) => {
                encoded = ps.encode_utf8()?;
                encoded.as_bytes()
            }
            Err(_) => {
                let b = value_bytes_utf8(&stored)?;
                owned = String::from_utf8(b).map_err(|_| PyValueError::new_err("get_password must return str"))?;
                owned.as_bytes()
            }
        };
        if s.is_empty() {
            return Ok(Lookup::Unknown);
        }
        let _ = user;
        if self.use_ha1_pw {
            Ok(StoredCredential::ha1_hex(hash, s).map_or(Lookup::Unusable, Lookup::Found))
        } else {
            Ok(StoredCredential::plaintext(s).map_or(Lookup::Unusable, Lookup::Found))
        }
    }
}

// ---------------------------------------------------------------------------------------
// The core Engine, for applications outside Flask
// ---------------------------------------------------------------------------------------

/// Users and tokens for the low-level Engine: a dict of plaintext passwords or a callable,
/// and a dict of bearer tokens.
struct PyStore {
    users: Option<HashMap<String, String>>,
    lookup: Option<Py<PyAny>>,
    /// Stored NT hashes, for NTLM (before users / lookup).
    nt_hashes: HashMap<String, [u8; 16]>,
    /// SHA-256(token) -> user
    tokens: HashMap<[u8; 32], String>,
    error: Mutex<Option<PyErr>>,
}

impl CredentialStore for PyStore {
    fn lookup(&self, username: &str, _realm: &str, _purpose: Purpose) -> Option<StoredCredential> {
        // A user with a stored NT hash has only that (it serves NTLM and Basic).
        if let Some(h) = self.nt_hashes.get(username) {
            return Some(StoredCredential::NtHash(*h));
        }
        if let Some(u) = &self.users {
            return StoredCredential::plaintext(u.get(username)?.as_bytes());
        }
        let cb = self.lookup.as_ref()?;
        Python::attach(|py| {
            let r = cb.bind(py).call1((username,)).and_then(|v| v.extract::<Option<String>>());
            match r {
                Ok(pw) => StoredCredential::plaintext(pw?.as_bytes()),
                Err(e) => {
                    if let Ok(mut slot) = self.error.lock() {
                        *slot = Some(e);
                    }
                    None
                }
            }
        })
    }

    fn lookup_bearer(&self, token_sha256: &[u8; 32]) -> Option<UserName> {
        UserName::try_from(self.tokens.get(token_sha256)?.as_str()).ok()
    }
}

/// The core engine: one call per request, a verdict back.
#[pyclass(frozen, module = "authgate._authgate")]
struct Engine {
    engine: CoreEngine<PyStore, Replay>,
    connections: connection::Connections,
}

/// The engine's answer for one request.
#[pyclass(frozen, module = "authgate._authgate")]
struct Verdict {
    /// 200, 401 or 400.
    #[pyo3(get)]
    status: u16,
    /// The authenticated user, when status is 200.
    #[pyo3(get)]
    user: Option<String>,
    /// "Basic", "Digest", "Bearer", "NTLM" or "Negotiate", when status is 200.
    #[pyo3(get)]
    scheme: Option<&'static str>,
    /// Why a 401 (for logs), e.g. "BadCredentials".
    #[pyo3(get)]
    reason: Option<String>,
    /// Whether the Digest challenges say stale=true.
    #[pyo3(get)]
    stale: bool,
    /// The WWW-Authenticate values to send with a 401, one field each; with a 200, the
    /// Negotiate token for mutual authentication, if any.
    #[pyo3(get)]
    www_authenticate: Vec<String>,
    /// The Digest algorithm of the accepted credentials, when the scheme is Digest.
    #[pyo3(get)]
    algorithm: Option<&'static str>,
    /// The Authentication-Info value to send with a Digest 200.
    #[pyo3(get)]
    authentication_info: Option<String>,
    /// Why a 400: (message, code).
    #[pyo3(get)]
    error: Option<(String, &'static str)>,
}

#[pymethods]
impl Verdict {
    fn __repr__(&self) -> String {
        match self.status {
            200 => format!(
                "Verdict(200, user={:?}, scheme={:?})",
                self.user.as_deref().unwrap_or(""),
                self.scheme.unwrap_or("")
            ),
            401 => format!("Verdict(401, reason={:?}, stale={})", self.reason.as_deref().unwrap_or(""), self.stale),
            s => format!("Verdict({s}, error={:?})", self.error.as_ref().map(|e| e.0.as_str()).unwrap_or("")),
        }
    }
}

fn scheme_named(name: &str) -> PyResult<Scheme> {
    match name.to_ascii_lowercase().as_str() {
        "basic" => Ok(Scheme::Basic),
        "digest" => Ok(Scheme::Digest),
        "bearer" => Ok(Scheme::Bearer),
        "ntlm" => Ok(Scheme::Ntlm),
        "negotiate" => Ok(Scheme::Negotiate),
        _ => Err(config_err(format!("unknown scheme {name:?}"))),
    }
}

#[pymethods]
impl Engine {
    #[new]
    #[pyo3(signature = (realm, key, *, users = None, lookup = None, tokens = None, schemes = vec!["Digest".to_owned(), "Basic".to_owned()], algorithms = vec!["SHA-256".to_owned(), "MD5".to_owned()], qop = vec!["auth".to_owned()], nonce_lifetime = 300, max_clock_skew = 5, opaque = None, replay_store = None, previous_key = None, allow_rfc2069 = false, acceptor = None, nt_hashes = None, bind_negotiate = false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        realm: &str,
        key: &[u8],
        users: Option<HashMap<String, String>>,
        lookup: Option<Py<PyAny>>,
        tokens: Option<HashMap<String, String>>,
        schemes: Vec<String>,
        algorithms: Vec<String>,
        qop: Vec<String>,
        nonce_lifetime: u64,
        max_clock_skew: u64,
        opaque: Option<&str>,
        replay_store: Option<&Bound<'_, PyAny>>,
        previous_key: Option<&[u8]>,
        allow_rfc2069: bool,
        acceptor: Option<&Bound<'_, PyAny>>,
        nt_hashes: Option<HashMap<String, Bound<'_, PyAny>>>,
        bind_negotiate: bool,
    ) -> PyResult<Self> {
        let schemes = schemes.iter().map(|s| scheme_named(s)).collect::<PyResult<Vec<_>>>()?;
        let algs = algorithms.iter().map(|a| self::algorithm(a)).collect::<PyResult<Vec<_>>>()?;
        let mut config = Config::new(realm)
            .and_then(|c| c.schemes(&schemes))
            .and_then(|c| c.algorithms(&algs))
            .and_then(|c| c.nonce_lifetime(nonce_lifetime))
            .map_err(config_err)?
            .qop(qop_set(&qop)?)
            .max_clock_skew(max_clock_skew)
            .allow_rfc2069(allow_rfc2069);
        if let Some(o) = opaque {
            config = config.opaque(o).map_err(config_err)?;
        }
        if users.is_some() && lookup.is_some() {
            return Err(config_err("give users or lookup, not both"));
        }
        let tokens = tokens
            .unwrap_or_default()
            .into_iter()
            .map(|(t, u)| {
                let mut d = [0u8; 32];
                d.copy_from_slice(sha256(t.as_bytes()).as_bytes());
                (d, u)
            })
            .collect();
        let nt_hashes = nt_hashes
            .unwrap_or_default()
            .into_iter()
            .map(|(u, h)| Ok((u, connection::nt_hash(&h)?)))
            .collect::<PyResult<_>>()?;
        let store = PyStore { users, lookup, nt_hashes, tokens, error: Mutex::new(None) };
        let replay = Replay::from_py(
            replay_store,
            nonce_lifetime + max_clock_skew + 60,
            shared_store::namespace(&key32(key)?, realm),
        )?;
        let mut engine = CoreEngine::new(config, &key32(key)?, store, replay).map_err(config_err)?;
        if let Some(p) = previous_key {
            engine = engine.with_previous_key(&key32(p)?);
        }
        Ok(Engine { engine, connections: connection::Connections::new(acceptor, bind_negotiate)? })
    }

    /// Authenticates one request. `authorization` is the header value (`None` when absent);
    /// `target` the request-target as sent (path and query); `body` the request body, for
    /// `qop=auth-int`; `now` seconds since the epoch (default: the clock).
    /// `connection` identifies the TCP connection (never reused for another; see
    /// authgate.connection_id): NTLM and Negotiate need it, and a connection they
    /// authenticated stays authenticated.
    #[pyo3(signature = (method, target, authorization = None, body = None, now = None, connection = None))]
    #[allow(clippy::too_many_arguments)]
    fn check(
        &self,
        py: Python<'_>,
        method: &str,
        target: &Bound<'_, PyAny>,
        authorization: Option<&Bound<'_, PyAny>>,
        body: Option<&[u8]>,
        now: Option<u64>,
        connection: Option<u64>,
    ) -> PyResult<Verdict> {
        let target = value_bytes(target)?;
        let target = std::str::from_utf8(&target).map_err(|_| PyValueError::new_err("target must be ASCII"))?;
        let header = authorization.map(value_bytes).transpose()?;
        let mut req = Request::new(method, target, header.as_deref());
        if let Some(b) = body {
            req.body = Body::Bytes(b);
        }
        let ctx = Context { now: now.unwrap_or_else(now_secs), salt: salt() };
        let (verdict, token) = match connection {
            Some(id) => {
                let (v, token, error) = self.connections.check(&self.engine, &req, ctx, id);
                if let Some(e) = error {
                    return Err(e);
                }
                (v, token)
            }
            None => (self.engine.check(&req, ctx), None),
        };
        if let Some(e) = self.engine.store().error.lock().ok().and_then(|mut s| s.take()) {
            return Err(e);
        }
        if let Some(e) = self.engine.replay().take_error() {
            return Err(e);
        }
        let _ = py;
        let mut v = self.verdict(verdict);
        if let Some(t) = token {
            // A handshake's next token (401, alone) or Negotiate's mutual token (200).
            v.www_authenticate = vec![t];
        }
        if v.scheme == Some("Digest") {
            // What the client used, and the engine accepted.
            v.algorithm = header
                .as_deref()
                .and_then(|h| parse(h).ok())
                .and_then(|a| DigestCredentials::from_authorization(&a).ok())
                .and_then(|c| match c.algorithm {
                    Known::Known(a) => Some(a.name()),
                    Known::Unknown => None,
                });
        }
        Ok(v)
    }

    /// Fresh challenges (a 401 for a request without credentials).
    #[pyo3(signature = (stale = false, now = None))]
    fn challenges(&self, stale: bool, now: Option<u64>) -> Vec<String> {
        let ch = self.engine.challenge(
            authgate::Reason::NoCredentials,
            stale,
            Context { now: now.unwrap_or_else(now_secs), salt: salt() },
        );
        self.render_challenges(&ch)
    }

    /// The realm.
    #[getter]
    fn realm(&self) -> String {
        self.engine.config().realm().to_owned()
    }

    /// The connection closed: forget its handshake and authentication.
    fn connection_closed(&self, connection: u64) {
        self.connections.closed(connection)
    }

    /// Connections with a handshake in progress or authenticated.
    #[getter]
    fn connections(&self) -> usize {
        self.connections.len()
    }
}

impl Engine {
    fn render_challenges(&self, ch: &authgate::Challenge) -> Vec<String> {
        (0..self.engine.challenge_count()).map(|i| render_with(|b| self.engine.write_challenge(ch, i, b))).collect()
    }

    fn verdict(&self, v: CoreVerdict) -> Verdict {
        let mut out = Verdict {
            status: v.status(),
            user: None,
            scheme: None,
            reason: None,
            stale: false,
            www_authenticate: Vec::new(),
            algorithm: None,
            authentication_info: None,
            error: None,
        };
        match v {
            CoreVerdict::Authenticated(a) => {
                out.user = Some(a.user.as_str().to_owned());
                out.scheme = Some(a.scheme.name());
                out.authentication_info =
                    a.auth_info.as_ref().map(|i| render_with(|b| self.engine.write_authentication_info(i, b)));
            }
            CoreVerdict::Challenge(ch) => {
                out.reason = Some(ch.reason.name().to_owned());
                out.stale = ch.stale;
                out.www_authenticate = self.render_challenges(&ch);
            }
            CoreVerdict::Malformed(e) => out.error = Some((e.to_string(), e.name())),
        }
        out
    }
}

mod htfile;

#[pymodule]
fn _authgate(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    htfile::register(m)?;
    m.add("AuthgateError", py.get_type::<AuthgateError>())?;
    m.add("MalformedHeader", py.get_type::<MalformedHeader>())?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add_class::<Authorization>()?;
    m.add_class::<MemoryReplayStore>()?;
    m.add_class::<SharedMemoryReplayStore>()?;
    m.add_class::<DigestAuthenticator>()?;
    m.add_class::<CallbackCheck>()?;
    m.add_class::<DigestRequestCheck>()?;
    m.add_class::<Engine>()?;
    m.add_class::<Verdict>()?;
    jwt::register(m)?;
    m.add_function(wrap_pyfunction!(derive_key, m)?)?;
    m.add_function(wrap_pyfunction!(random_key, m)?)?;
    m.add_function(wrap_pyfunction!(ct_eq, m)?)?;
    m.add_function(wrap_pyfunction!(check_password, m)?)?;
    m.add_function(wrap_pyfunction!(ha1, m)?)?;
    m.add_function(wrap_pyfunction!(parse_authorization, m)?)?;
    m.add_function(wrap_pyfunction!(decode_basic, m)?)?;
    m.add_function(wrap_pyfunction!(basic_credentials, m)?)?;
    m.add_function(wrap_pyfunction!(token_credentials, m)?)?;
    m.add_function(wrap_pyfunction!(scheme_of, m)?)?;
    m.add_function(wrap_pyfunction!(digest_username, m)?)?;
    m.add_function(wrap_pyfunction!(basic_challenge, m)?)?;
    m.add_function(wrap_pyfunction!(bearer_challenge, m)?)?;
    m.add_function(wrap_pyfunction!(digest_challenge, m)?)?;
    m.add_function(wrap_pyfunction!(compat_challenge, m)?)?;
    m.add_function(wrap_pyfunction!(issue_nonce, m)?)?;
    m.add_function(wrap_pyfunction!(verify_nonce, m)?)?;
    m.add_function(wrap_pyfunction!(window_record, m)?)?;
    m.add("WINDOW", authgate::replay::WINDOW)?;
    m.add("NONCE_LIFETIME", 300u64)?;
    Ok(())
}
