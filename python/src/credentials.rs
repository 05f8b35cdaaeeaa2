//! The application's users, as the core's [`CredentialStore`]: stored credentials (plaintext,
//! HA1, PBKDF2: [`Credential`]), a lookup callback, or verify callbacks that check passwords
//! and tokens themselves (werkzeug.security, bcrypt, Flask-HTTPAuth's `verify_password`),
//! and an application's own Digest nonces and opaques.
//!
//! The core calls a store through `&self` from inside one check; what a callback returned
//! (the application's user object) and a Python exception raised in one are kept in a
//! per-thread [`Call`] for the caller of that check.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use authgate::credential::pbkdf2_sha256;
use authgate::hash::HashAlgorithm;
use authgate::{BasicCredentials, CredentialStore, Purpose, StoredCredential, UserName, Value};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyString};

use crate::convert::{algorithm, value_text};
use crate::htfile::HtStore;
use crate::jwt::JwtVerifier;

/// What the callbacks of one check left behind.
#[derive(Default)]
pub(crate) struct Call {
    /// The first exception a callback raised (re-raised after the check).
    pub(crate) error: Option<PyErr>,
    /// What `verify_password` / `verify_token` returned.
    pub(crate) result: Option<Py<PyAny>>,
    /// A Python replay store is asked by the caller after the check (an async layer awaits it):
    /// the engine's store answers fresh and keeps what it was asked in `pending`.
    pub(crate) defer_replay: bool,
    /// The (nonce id, issue time, nc) a deferred replay store is to be asked about.
    pub(crate) pending: Option<(authgate::nonce::NonceId, u64, u32)>,
    /// Why a `JwtVerifier` given as the verify-token callback refused the token (the
    /// refusal's reason then, instead of a bare `InvalidToken`).
    pub(crate) token_refusal: Option<authgate::Reason>,
}

thread_local! {
    static CALL: RefCell<Call> = RefCell::new(Call::default());
}

impl Call {
    /// Starts a check: a fresh [`Call`] for this thread (a check inside a callback gets its
    /// own); give what this returns to [`end`](Self::end).
    pub(crate) fn begin() -> Call {
        CALL.with(|c| c.take())
    }

    /// Ends a check: what its callbacks left; the outer check's state is back.
    pub(crate) fn end(outer: Call) -> Call {
        CALL.with(|c| c.replace(outer))
    }

    /// Keeps the first exception of this check.
    pub(crate) fn keep_error(e: PyErr) {
        CALL.with(|c| {
            let mut c = c.borrow_mut();
            if c.error.is_none() {
                c.error = Some(e);
            }
        });
    }

    /// Whether this check leaves the replay store to its caller; if so, keeps what the store
    /// is to be asked.
    pub(crate) fn defer_replay(id: &authgate::nonce::NonceId, issued: u64, nc: u32) -> bool {
        CALL.with(|c| {
            let mut c = c.borrow_mut();
            if c.defer_replay {
                c.pending = Some((*id, issued, nc));
            }
            c.defer_replay
        })
    }

    /// Starts a check whose Python replay store the caller asks afterwards.
    pub(crate) fn begin_deferring() -> Call {
        CALL.with(|c| c.replace(Call { defer_replay: true, ..Call::default() }))
    }

    fn keep_result(r: Py<PyAny>) {
        CALL.with(|c| c.borrow_mut().result = Some(r));
    }
}

/// A stored credential for the low-level [`Engine`](crate::engine::Engine) and
/// `authgate.flask.AuthGate`: build it with one of the static methods.
#[pyclass(frozen, module = "authgate._authgate")]
#[derive(Clone)]
pub(crate) struct Credential {
    pub(crate) stored: StoredCredential,
}

#[pymethods]
impl Credential {
    /// A plaintext password (at most 128 bytes of UTF-8). Serves Basic and every Digest algorithm.
    #[staticmethod]
    fn plaintext(password: &str) -> PyResult<Self> {
        let stored = StoredCredential::plaintext(password.as_bytes())
            .ok_or_else(|| PyValueError::new_err("a stored password is at most 128 bytes"))?;
        Ok(Credential { stored })
    }

    /// `H(user ":" realm ":" password)` in hex (an htdigest line's last field), for Digest
    /// with `algorithm`'s hash family (and its `-sess` form) and for Basic.
    #[staticmethod]
    #[pyo3(signature = (hex, algorithm = "MD5"))]
    fn ha1(hex: &str, algorithm: &str) -> PyResult<Self> {
        let hash = self::algorithm(algorithm)?.hash();
        let stored = StoredCredential::ha1_hex(hash, hex.trim().as_bytes())
            .ok_or_else(|| PyValueError::new_err(format!("not the hex of a {algorithm} digest")))?;
        Ok(Credential { stored })
    }

    /// PBKDF2-HMAC-SHA256 (`hash`: 32 bytes; `salt`: at most 64 bytes). Serves Basic only.
    #[staticmethod]
    fn pbkdf2_sha256(iterations: u32, salt: &[u8], hash: &[u8]) -> PyResult<Self> {
        let hash: [u8; 32] = hash.try_into().map_err(|_| PyValueError::new_err("the hash is 32 bytes"))?;
        let stored = StoredCredential::pbkdf2_sha256(iterations, salt, hash)
            .ok_or_else(|| PyValueError::new_err("salt over 64 bytes, or zero iterations"))?;
        Ok(Credential { stored })
    }

    /// A hash from `werkzeug.security.generate_password_hash(pw, method="pbkdf2:sha256")`
    /// (`pbkdf2:sha256:<iterations>$<salt>$<hex>`), checked by the engine. Other methods
    /// (scrypt, bcrypt) need `verify_password=` with the library's own check.
    #[staticmethod]
    fn werkzeug(hash: &str) -> PyResult<Self> {
        let bad = || PyValueError::new_err("not a werkzeug pbkdf2:sha256 hash (use verify_password= for others)");
        let (method, rest) = hash.split_once('$').ok_or_else(bad)?;
        let (salt, hex) = rest.split_once('$').ok_or_else(bad)?;
        let iterations = match method.split(':').collect::<Vec<_>>()[..] {
            ["pbkdf2", "sha256", n] => n.parse().map_err(|_| bad())?,
            ["pbkdf2", "sha256"] => 600_000,
            _ => return Err(bad()),
        };
        let digest = authgate::HashOutput::from_hex(hex.as_bytes()).ok_or_else(bad)?;
        Credential::pbkdf2_sha256(iterations, salt.as_bytes(), digest.as_bytes())
    }

    fn __repr__(&self) -> String {
        // Never the secret.
        format!("Credential({:?})", self.stored)
    }
}

/// PBKDF2-HMAC-SHA256 of `password`, for building [`Credential::pbkdf2_sha256`] values.
#[pyfunction]
#[pyo3(name = "pbkdf2_sha256")]
fn pbkdf2<'py>(py: Python<'py>, password: &str, salt: &[u8], iterations: u32) -> Bound<'py, PyBytes> {
    PyBytes::new(py, &py.detach(|| pbkdf2_sha256(password.as_bytes(), salt, iterations)))
}

/// One user's credentials: one form, or one per Digest hash family (an HA1 dict).
enum Found {
    One(StoredCredential),
    Many(Vec<StoredCredential>),
}

impl Found {
    /// The credential serving `purpose` (else the first, which the core finds unusable).
    fn pick(&self, purpose: Purpose) -> Option<StoredCredential> {
        match self {
            Found::One(c) => Some(c.clone()),
            Found::Many(all) => {
                let serves = |c: &&StoredCredential| match (c, purpose) {
                    (StoredCredential::Ha1 { algorithm, .. }, Purpose::Digest(h)) => *algorithm == h,
                    _ => true,
                };
                all.iter().find(serves).or(all.first()).cloned()
            }
        }
    }

    fn costliest(&self) -> Option<&StoredCredential> {
        match self {
            Found::One(c) => Some(c),
            Found::Many(all) => all.iter().max_by_key(|c| c.cost()),
        }
    }
}

/// Reads what an application stores for a user: `None` or `""` (no such user), a password
/// (`str`, or with `ha1_strings` the HA1 hex for the hash family asked for), a [`Credential`],
/// or a dict of Digest algorithm name to HA1 hex.
fn found(obj: &Bound<'_, PyAny>, ha1_strings: bool, purpose: Purpose) -> PyResult<Option<Found>> {
    if obj.is_none() {
        return Ok(None);
    }
    if let Ok(c) = obj.cast::<Credential>() {
        return Ok(Some(Found::One(c.get().stored.clone())));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut all = Vec::with_capacity(d.len());
        for (k, v) in d.iter() {
            let hash = algorithm(&k.extract::<String>()?)?.hash();
            let hex: String = v.extract()?;
            all.push(
                StoredCredential::ha1_hex(hash, hex.trim().as_bytes())
                    .ok_or_else(|| PyValueError::new_err(format!("not the hex of a {k} digest")))?,
            );
        }
        return Ok((!all.is_empty()).then_some(Found::Many(all)));
    }
    let utf8;
    let bytes: &[u8] = if let Ok(s) = obj.cast::<PyString>() {
        utf8 = s.encode_utf8()?;
        utf8.as_bytes()
    } else if let Ok(b) = obj.cast::<PyBytes>() {
        b.as_bytes()
    } else {
        return Err(PyTypeError::new_err("a stored password is str, bytes, a Credential or a dict of HA1s"));
    };
    if bytes.is_empty() {
        return Ok(None);
    }
    let stored = if ha1_strings {
        let hash = match purpose {
            Purpose::Digest(h) => h,
            // An HA1 serves Basic too (never NTLM: the core refuses it there).
            Purpose::Basic | Purpose::Ntlm if bytes.len() == 32 => HashAlgorithm::Md5,
            Purpose::Basic | Purpose::Ntlm => HashAlgorithm::Sha256,
        };
        StoredCredential::ha1_hex(hash, bytes)
    } else {
        StoredCredential::plaintext(bytes)
    };
    // A value the core cannot hold (a password over 128 bytes, bad hex): the user exists, no
    // request can match (the decoy stands in, so the answer is a plain refusal).
    Ok(Some(Found::One(stored.unwrap_or_else(StoredCredential::plaintext_decoy))))
}

/// Whether a callback's result lets the request in, as Flask-HTTPAuth decides it:
/// `user not in (False, None)`.
pub(crate) fn accepts(user: &Bound<'_, PyAny>) -> PyResult<bool> {
    // A str is never equal to False or None (the common case: no comparison).
    if user.is_exact_instance_of::<PyString>() {
        return Ok(true);
    }
    Ok(!(user.is_none() || user.eq(PyBool::new(user.py(), false))?))
}

/// The users and callbacks of one engine.
#[derive(Default)]
pub(crate) struct PyStore {
    users: HashMap<String, Found>,
    /// An `HtpasswdFile` or `HtdigestFile` given as the users.
    file: Option<HtStore>,
    pub(crate) lookup: Option<Py<PyAny>>,
    /// `str` results of `lookup` are HA1 hex (Flask-HTTPAuth's `use_ha1_pw`).
    pub(crate) ha1_strings: bool,
    pub(crate) verify_password: Option<Py<PyAny>>,
    pub(crate) verify_token: Option<Py<PyAny>>,
    pub(crate) verify_nonce: Option<Py<PyAny>>,
    pub(crate) verify_opaque: Option<Py<PyAny>>,
    /// SHA-256 of a bearer token -> its user.
    pub(crate) tokens: HashMap<[u8; 32], String>,
    /// Stored NT hashes, for NTLM (looked up before users / lookup).
    pub(crate) nt_hashes: HashMap<String, [u8; 16]>,
    /// The decoy for unknown users: the costliest credential seen, and its cost + 1.
    decoy: Mutex<Option<StoredCredential>>,
    decoy_cost: AtomicU64,
}

/// What `authgate.Engine(users=...)` accepts, as a store.
impl PyStore {
    pub(crate) fn with_users(users: Option<&Bound<'_, PyAny>>) -> PyResult<PyStore> {
        let store = PyStore::default();
        if let Some(file) = users.and_then(HtStore::of) {
            return Ok(PyStore { file: Some(file), ..store });
        }
        let users = users
            .map(|u| u.cast::<PyDict>())
            .transpose()
            .map_err(|_| PyTypeError::new_err("users is a dict, an HtpasswdFile or an HtdigestFile"))?;
        let mut map = HashMap::new();
        for (name, value) in users.into_iter().flat_map(|d| d.iter()) {
            let name: String = name.extract()?;
            if let Some(f) = found(&value, false, Purpose::Basic)? {
                store.seen(&f);
                map.insert(name, f);
            }
        }
        Ok(PyStore { users: map, ..store })
    }

    /// Remembers the costliest form seen, so unknown users cost what known ones do.
    fn seen(&self, f: &Found) {
        let Some(c) = f.costliest() else { return };
        let cost = c.cost() + 1;
        if cost > self.decoy_cost.load(Ordering::Relaxed) {
            let mut d = self.decoy.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if cost > self.decoy_cost.load(Ordering::Relaxed) {
                *d = Some(c.decoy_for());
                self.decoy_cost.store(cost, Ordering::Relaxed);
            }
        }
    }

    /// Calls a verify callback: whether it accepted; its result is kept for the caller.
    fn verify(call: impl for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyAny>>) -> bool {
        Python::attach(|py| match call(py).and_then(|r| accepts(&r).map(|ok| (r, ok))) {
            Ok((r, ok)) => {
                Call::keep_result(r.unbind());
                ok
            }
            Err(e) => {
                Call::keep_error(e);
                false
            }
        })
    }
}

impl CredentialStore for PyStore {
    fn lookup(&self, username: &str, realm: &str, purpose: Purpose) -> Option<StoredCredential> {
        // A user with a stored NT hash has only that (it serves NTLM and Basic).
        if let Some(h) = self.nt_hashes.get(username) {
            return Some(StoredCredential::NtHash(*h));
        }
        if let Some(file) = &self.file {
            return file.lookup(username, realm, purpose);
        }
        if let Some(f) = self.users.get(username) {
            return f.pick(purpose);
        }
        let cb = self.lookup.as_ref()?;
        Python::attach(|py| {
            let r = cb.bind(py).call1((username,)).and_then(|v| found(&v, self.ha1_strings, purpose));
            match r {
                Ok(f) => {
                    let f = f?;
                    self.seen(&f);
                    f.pick(purpose)
                }
                Err(e) => {
                    Call::keep_error(e);
                    None
                }
            }
        })
    }

    fn decoy(&self, realm: &str) -> StoredCredential {
        if let Some(file) = &self.file {
            return file.decoy(realm);
        }
        if self.decoy_cost.load(Ordering::Relaxed) == 0 {
            return StoredCredential::plaintext_decoy();
        }
        let d = self.decoy.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        d.clone().unwrap_or_else(StoredCredential::plaintext_decoy)
    }

    fn lookup_bearer(&self, token_sha256: &[u8; 32]) -> Option<UserName> {
        UserName::try_from(self.tokens.get(token_sha256)?.as_str()).ok()
    }

    fn verify_basic(&self, username: &str, credentials: &BasicCredentials<'_>, _realm: &str) -> Option<bool> {
        let cb = self.verify_password.as_ref()?;
        let mut buf = [0u8; 2 * authgate::limits::MAX_BASIC_DECODED];
        let password = credentials.password(&mut buf).unwrap_or("");
        Some(PyStore::verify(|py| cb.bind(py).call1((username, password))))
    }

    fn verify_token(&self, token: &str) -> Option<bool> {
        let cb = self.verify_token.as_ref()?;
        Some(Python::attach(|py| match cb.bind(py).cast::<JwtVerifier>() {
            // Verified here, so that a refusal keeps the core's reason (expired, bad signature).
            Ok(jwt) => match jwt.get().claims(py, token.as_bytes()) {
                Ok(Ok(claims)) => {
                    Call::keep_result(claims.unbind());
                    true
                }
                Ok(Err(reason)) => {
                    CALL.with(|c| c.borrow_mut().token_refusal = Some(reason));
                    false
                }
                Err(e) => {
                    Call::keep_error(e);
                    false
                }
            },
            Err(_) => PyStore::verify(|py| cb.bind(py).call1((token,))),
        }))
    }

    fn verify_nonce(&self, nonce: &Value<'_>) -> Option<bool> {
        let cb = self.verify_nonce.as_ref()?;
        Some(truthy(|py| cb.bind(py).call1((value_text(nonce),))))
    }

    fn verify_opaque(&self, opaque: Option<&Value<'_>>) -> Option<bool> {
        let cb = self.verify_opaque.as_ref()?;
        Some(truthy(|py| cb.bind(py).call1((opaque.map(value_text),))))
    }
}

/// A callback's result as a truth value (`False` when it raised; the exception is kept).
fn truthy(call: impl for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyAny>>) -> bool {
    Python::attach(|py| call(py).and_then(|r| r.is_truthy())).unwrap_or_else(|e| {
        Call::keep_error(e);
        false
    })
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Credential>()?;
    m.add_function(wrap_pyfunction!(pbkdf2, m)?)
}
