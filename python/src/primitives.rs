//! The core's lower layers as functions: the parser, Basic decoding, keyed nonces, the
//! challenge renderers, keys and constant-time compares.

use authgate::credential::token_matches;
use authgate::hash::{HashAlgorithm, Hasher};
use authgate::nonce::{self, Lifetime};
use authgate::render::{self, BearerError, DigestChallenge};
use authgate::{parse, BasicCredentials, Charset, NonceKey, NonceStatus, StoredCredential};
use hmac::{Hmac, KeyInit, Mac};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::convert::{algorithm, header_bytes, key32, now_secs, qop_set, render, salt, secret_bytes, value_text};
use crate::errors::{config_err, malformed};

/// SHA-256 by the core's hasher.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let mut h = Hasher::new(HashAlgorithm::Sha256).expect("sha256 is always built");
    h.update(data);
    h.finalize().as_bytes().try_into().expect("32 bytes")
}

/// Derives a 32-byte key from an application secret (e.g. Flask's SECRET_KEY):
/// HMAC-SHA256(secret, "authgate key v1:" || purpose).
#[pyfunction]
#[pyo3(signature = (secret, purpose = "nonce"))]
fn derive_key<'py>(py: Python<'py>, secret: &Bound<'py, PyAny>, purpose: &str) -> PyResult<Bound<'py, PyBytes>> {
    let secret = secret_bytes(secret)?;
    if secret.is_empty() {
        return Err(config_err("the secret must not be empty"));
    }
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&secret).expect("any key length");
    mac.update(b"authgate key v1:");
    mac.update(purpose.as_bytes());
    Ok(PyBytes::new(py, &mac.finalize().into_bytes()))
}

/// 32 random bytes from the OS: a fresh nonce key.
#[pyfunction]
fn random_key(py: Python<'_>) -> Bound<'_, PyBytes> {
    let mut k = [0u8; 32];
    getrandom::fill(&mut k).expect("OS entropy source unavailable");
    PyBytes::new(py, &k)
}

/// Constant-time equality of two secrets (`str` as UTF-8, or `bytes`): compared as SHA-256
/// digests, so neither content nor length leaks through timing.
#[pyfunction]
fn ct_eq(a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<bool> {
    Ok(token_matches(&secret_bytes(a)?, &sha256(&secret_bytes(b)?)))
}

/// Constant-time check of a Basic password against a stored plaintext password.
#[pyfunction]
fn check_password(stored: &str, presented: &str) -> bool {
    match StoredCredential::plaintext(stored.as_bytes()) {
        Some(s) => s.check_password(b"", b"", presented.as_bytes(), Charset::Utf8),
        // Longer than the core stores: compared as digests.
        None => token_matches(presented.as_bytes(), &sha256(stored.as_bytes())),
    }
}

/// `H(username ":" realm ":" password)` in hex, for htdigest-style stores.
#[pyfunction]
#[pyo3(signature = (username, realm, password, algorithm = "MD5"))]
fn ha1(username: &str, realm: &str, password: &str, algorithm: &str) -> PyResult<String> {
    let hash = self::algorithm(algorithm)?.hash();
    let h = authgate::digest::ha1(hash, username.as_bytes(), realm.as_bytes(), password.as_bytes())
        .ok_or_else(|| config_err("hash family not built"))?;
    Ok(h.to_hex().as_str().to_owned())
}

/// A parsed `Authorization` value.
#[pyclass(frozen, module = "authgate._authgate")]
struct Authorization {
    /// The scheme word as sent.
    #[pyo3(get)]
    scheme: String,
    /// The token68, when the credentials are one.
    #[pyo3(get)]
    token68: Option<String>,
    pairs: Option<Vec<(String, String)>>,
}

#[pymethods]
impl Authorization {
    /// The auth-params as `(name, value)` pairs in order (values unescaped), or `None` when
    /// the credentials are a token68 or empty.
    #[getter]
    fn params(&self) -> Option<Vec<(String, String)>> {
        self.pairs.clone()
    }
    /// The value of param `name` (case-insensitive), unescaped.
    fn get(&self, name: &str) -> Option<String> {
        self.pairs.as_ref()?.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
    }
    fn __repr__(&self) -> String {
        format!("Authorization(scheme={:?})", self.scheme)
    }
}

/// Parses an `Authorization` value with the core parser (RFC 9110 §11). Raises
/// `MalformedHeader` (HTTP 400) for anything the grammar refuses.
#[pyfunction]
fn parse_authorization(value: &Bound<'_, PyAny>) -> PyResult<Authorization> {
    let bytes = header_bytes(value)?;
    let auth = parse(&bytes).map_err(malformed)?;
    let pairs =
        auth.params().map(|p| p.iter().map(|param| (param.name.to_owned(), value_text(&param.value))).collect());
    Ok(Authorization { scheme: auth.scheme().to_owned(), token68: auth.token68().map(str::to_owned), pairs })
}

/// Decodes Basic credentials (`Basic <token68>`, scheme checked) into `(user, password)`,
/// reading ISO-8859-1 when the bytes are not UTF-8.
#[pyfunction]
fn decode_basic(value: &Bound<'_, PyAny>) -> PyResult<(String, String)> {
    let bytes = header_bytes(value)?;
    let auth = parse(&bytes).map_err(malformed)?;
    let mut buf = [0u8; authgate::limits::MAX_BASIC_DECODED];
    let c = BasicCredentials::from_authorization(&auth, &mut buf).map_err(malformed)?;
    let mut out = [0u8; 2 * authgate::limits::MAX_BASIC_DECODED];
    let user = c.user(&mut out).unwrap_or_default().to_owned();
    let password = c.password(&mut out).unwrap_or_default().to_owned();
    Ok((user, password))
}

/// `Basic realm="...", charset="UTF-8"` (RFC 7617).
#[pyfunction]
fn basic_challenge(realm: &str) -> String {
    render(|b| render::basic_challenge(realm, b))
}

/// `Bearer realm="..."[, error="...", error_description="..."]` (RFC 6750).
#[pyfunction]
#[pyo3(signature = (realm, error = None, description = None))]
fn bearer_challenge(realm: &str, error: Option<&str>, description: Option<&str>) -> PyResult<String> {
    let error = match error {
        None => None,
        Some(e) => Some(
            [BearerError::InvalidRequest, BearerError::InvalidToken, BearerError::InsufficientScope]
                .into_iter()
                .find(|b| b.name() == e)
                .ok_or_else(|| PyValueError::new_err(format!("unknown Bearer error {e:?}")))?,
        ),
    };
    Ok(render(|b| render::bearer_challenge(realm, error, description, b)))
}

/// One RFC 7616 Digest challenge.
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
    Ok(render(|b| render::digest_challenge(&c, b)))
}

/// Issues a keyed, expiring nonce (lowercase hex, 64 characters).
#[pyfunction]
#[pyo3(signature = (key, realm, opaque = "", now = None))]
fn issue_nonce(key: &[u8], realm: &str, opaque: &str, now: Option<u64>) -> PyResult<String> {
    let k = NonceKey::new(&key32(key)?);
    let n = authgate::Nonce::issue(&k, realm.as_bytes(), opaque.as_bytes(), now.unwrap_or_else(now_secs), salt());
    Ok(n.as_str().to_owned())
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
    let life = Lifetime { max_age: lifetime, max_skew: skew };
    let now = now.unwrap_or_else(now_secs);
    Ok(match nonce::verify(nonce.as_bytes(), &k, prev.as_ref(), realm.as_bytes(), opaque.as_bytes(), now, life) {
        NonceStatus::Valid { issued, id } => ("valid", issued, PyBytes::new(py, &id)),
        NonceStatus::Expired { issued, id } => ("expired", issued, PyBytes::new(py, &id)),
        NonceStatus::Invalid => ("invalid", 0, PyBytes::new(py, b"")),
    })
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Authorization>()?;
    m.add_function(wrap_pyfunction!(derive_key, m)?)?;
    m.add_function(wrap_pyfunction!(random_key, m)?)?;
    m.add_function(wrap_pyfunction!(ct_eq, m)?)?;
    m.add_function(wrap_pyfunction!(check_password, m)?)?;
    m.add_function(wrap_pyfunction!(ha1, m)?)?;
    m.add_function(wrap_pyfunction!(parse_authorization, m)?)?;
    m.add_function(wrap_pyfunction!(decode_basic, m)?)?;
    m.add_function(wrap_pyfunction!(basic_challenge, m)?)?;
    m.add_function(wrap_pyfunction!(bearer_challenge, m)?)?;
    m.add_function(wrap_pyfunction!(digest_challenge, m)?)?;
    m.add_function(wrap_pyfunction!(issue_nonce, m)?)?;
    m.add_function(wrap_pyfunction!(verify_nonce, m)?)
}
