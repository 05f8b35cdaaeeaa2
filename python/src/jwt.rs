//! `authgate.JwtVerifier` and `authgate.JwtError`: JWT bearer tokens verified by the core's
//! `jwt` module (every rule lives there; this file turns Python keys and options into a
//! `JwtConfig` and the verdict into a dict or an exception).

use authgate::jwt::{jwks, public_key_pem, Claim, JwsAlgorithm, JwtBuffer, JwtConfig, JwtKey};
use authgate::Reason;
use pyo3::create_exception;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};

use crate::convert::{now_secs, secret_bytes as key_bytes};
use crate::errors::{config_err, AuthgateError};

create_exception!(
    _authgate,
    JwtError,
    AuthgateError,
    "A JWT is refused: args = (message, reason), reason the core's stable name (e.g. 'TokenExpired')."
);

/// Registers the JWT classes on the extension module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("JwtError", m.py().get_type::<JwtError>())?;
    m.add_class::<JwtVerifier>()?;
    m.add("JWT_ALGORITHMS", JwsAlgorithm::ALL.iter().filter(|a| a.is_enabled()).map(|a| a.name()).collect::<Vec<_>>())?;
    Ok(())
}

/// Verifies JWTs (compact JWS) with the keys and rules given once.
///
/// `keys`: an HMAC secret (`bytes`, or `str` as UTF-8); a PEM public key (`str`/`bytes`
/// starting with `-----BEGIN`); a JWKS or JWK document (`str` starting with `{`, or a
/// `dict` with `keys` or `kty`); or a `dict` of `kid` to any of those. `algorithms` is the
/// allow-list (`alg` only selects among these). `issuer` and `audience` (a string or a list
/// of up to 4) are required in every token when given; without an audience a token carrying
/// `aud` is refused (as PyJWT), unless `accept_any_audience`.
#[pyclass(frozen, module = "authgate._authgate")]
pub(crate) struct JwtVerifier {
    config: JwtConfig,
}

/// The keys one Python value holds, named `kid` when given.
fn keys_of(obj: &Bound<'_, PyAny>, kid: Option<&str>, out: &mut Vec<JwtKey>) -> PyResult<()> {
    let py = obj.py();
    if let Ok(d) = obj.cast::<PyDict>() {
        if d.contains("keys")? || d.contains("kty")? {
            let text: String = py.import("json")?.call_method1("dumps", (d,))?.extract()?;
            return jwks_keys(&text, kid, out);
        }
        for (k, v) in d.iter() {
            let k: String = k.extract().map_err(|_| config_err("the keys of a key dict are kid strings"))?;
            keys_of(&v, Some(&k), out)?;
        }
        return Ok(());
    }
    let raw = key_bytes(obj)?;
    let trimmed = raw.trim_ascii_start();
    let key = if trimmed.starts_with(b"-----BEGIN") {
        let pem = std::str::from_utf8(trimmed).map_err(|_| config_err("a PEM key is ASCII"))?;
        public_key_pem(pem).map_err(config_err)?
    } else if trimmed.starts_with(b"{") && obj.is_instance_of::<PyString>() {
        return jwks_keys(std::str::from_utf8(&raw).unwrap_or(""), kid, out);
    } else {
        JwtKey::hmac(&raw).map_err(config_err)?
    };
    out.push(match kid {
        Some(k) => key.with_kid(k).map_err(config_err)?,
        None => key,
    });
    Ok(())
}

fn jwks_keys(text: &str, kid: Option<&str>, out: &mut Vec<JwtKey>) -> PyResult<()> {
    let set = jwks(text).map_err(config_err)?;
    if set.keys.is_empty() {
        return Err(config_err("the JWKS holds no signature key this build verifies"));
    }
    for key in set.keys {
        out.push(match kid {
            // A JWK given under a kid takes that kid unless it names its own.
            Some(k) if key.kid().is_empty() => key.with_kid(k).map_err(config_err)?,
            _ => key,
        });
    }
    Ok(())
}

/// Whole seconds from an int, a float or a `datetime.timedelta`.
fn seconds(obj: &Bound<'_, PyAny>) -> PyResult<u64> {
    let s: f64 = match obj.call_method0("total_seconds") {
        Ok(v) => v.extract()?,
        Err(_) => obj.extract()?,
    };
    if !(0.0..1e12).contains(&s) {
        return Err(config_err("leeway must be 0 or more seconds"));
    }
    Ok(s as u64)
}

#[pymethods]
impl JwtVerifier {
    #[new]
    #[pyo3(signature = (keys, algorithms, issuer = None, audience = None, leeway = None, *, require = Vec::new(), identity_claim = "sub", accept_any_audience = false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        keys: &Bound<'_, PyAny>,
        algorithms: Vec<String>,
        issuer: Option<&str>,
        audience: Option<&Bound<'_, PyAny>>,
        leeway: Option<&Bound<'_, PyAny>>,
        require: Vec<String>,
        identity_claim: &str,
        accept_any_audience: bool,
    ) -> PyResult<Self> {
        let mut list = Vec::new();
        keys_of(keys, None, &mut list)?;
        let mut config = JwtConfig::new();
        for k in list {
            config = config.key(k).map_err(config_err)?;
        }
        let algs = algorithms
            .iter()
            .map(|a| {
                JwsAlgorithm::from_name(a.as_bytes())
                    .ok_or_else(|| config_err(format!("unsupported JWT algorithm {a:?}")))
            })
            .collect::<PyResult<Vec<_>>>()?;
        config = config.algorithms(&algs).map_err(config_err)?;
        if let Some(i) = issuer {
            config = config.issuer(i).map_err(config_err)?;
        }
        if let Some(a) = audience {
            let audiences: Vec<String> = match a.extract::<String>() {
                Ok(one) => vec![one],
                Err(_) => a.extract()?,
            };
            for a in audiences {
                config = config.audience(&a).map_err(config_err)?;
            }
        }
        if let Some(l) = leeway {
            config = config.leeway(seconds(l)?);
        }
        let required = require
            .iter()
            .map(|c| Claim::from_name(c).ok_or_else(|| config_err(format!("cannot require claim {c:?}"))))
            .collect::<PyResult<Vec<_>>>()?;
        config = config.require(&required).identity_claim(identity_claim).map_err(config_err)?;
        config = config.accept_any_audience(accept_any_audience);
        config.validate().map_err(config_err)?;
        Ok(JwtVerifier { config })
    }

    /// The claims of a valid `token` as a dict, or raises `JwtError`. `now`: seconds since
    /// the epoch (default: the clock).
    #[pyo3(signature = (token, now = None))]
    fn verify<'py>(&self, py: Python<'py>, token: &Bound<'py, PyAny>, now: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
        Ok(self.decode(py, token, now)?.1)
    }

    /// `(header, claims)` of a valid `token`, both dicts, or raises `JwtError`.
    #[pyo3(signature = (token, now = None))]
    fn verify_complete<'py>(
        &self,
        py: Python<'py>,
        token: &Bound<'py, PyAny>,
        now: Option<f64>,
    ) -> PyResult<Bound<'py, PyTuple>> {
        let (h, c) = self.decode(py, token, now)?;
        PyTuple::new(py, [h, c])
    }

    /// For `HTTPTokenAuth.verify_token`: the claims of a valid token (a dict that is always
    /// true), or `None` (the reason goes to the `authgate.jwt` logger, never the token).
    fn __call__<'py>(&self, py: Python<'py>, token: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let raw = token_bytes(token)?;
        match self.claims(py, &raw)? {
            Ok(claims) => Ok(Some(claims)),
            Err(reason) => {
                let log = py.import("logging")?.call_method1("getLogger", ("authgate.jwt",))?;
                log.call_method1("info", ("JWT refused: %s", reason.name()))?;
                Ok(None)
            }
        }
    }

    /// The identity claim's name (default "sub").
    #[getter]
    fn identity_claim(&self) -> &str {
        self.config.identity_claim_name()
    }

    /// The allowed algorithms.
    #[getter]
    fn algorithms(&self) -> Vec<&'static str> {
        self.config.allowed_algorithms().map(JwsAlgorithm::name).collect()
    }

    fn __repr__(&self) -> String {
        format!("JwtVerifier(keys={}, algorithms={:?})", self.config.keys().len(), self.algorithms())
    }
}

impl JwtVerifier {
    fn decode<'py>(
        &self,
        py: Python<'py>,
        token: &Bound<'py, PyAny>,
        now: Option<f64>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let raw = token_bytes(token)?;
        let now = now.map_or_else(now_secs, |n| if n > 0.0 { n as u64 } else { 0 });
        self.verified(py, &raw, now)?.map_err(|reason| JwtError::new_err((reason.to_string(), reason.name())))
    }

    /// `(header, claims)` of a valid token, or the core's reason for refusing it.
    fn verified<'py>(&self, py: Python<'py>, raw: &[u8], now: u64) -> PyResult<Result<HeaderAndClaims<'py>, Reason>> {
        let mut buf = Box::new(JwtBuffer::new());
        // Decoded and checked without the GIL: the signature is the costly part.
        let outcome =
            py.detach(|| self.config.verify(raw, now, &mut buf).map(|v| (v.header.to_owned(), v.claims.to_owned())));
        let (header, claims) = match outcome {
            Ok(parts) => parts,
            Err(reason) => return Ok(Err(reason)),
        };
        let json = py.import("json")?;
        Ok(Ok((json.call_method1("loads", (header,))?, json.call_method1("loads", (claims,))?)))
    }

    /// For a verify-token callback (`HTTPTokenAuth.verify_token`, `BearerAuth(verifier=)`):
    /// the claims of a valid token as a `Claims` dict (always true), or the core's reason,
    /// which the engine then gives the refusal (RFC 6750 `error_description`).
    pub(crate) fn claims<'py>(&self, py: Python<'py>, raw: &[u8]) -> PyResult<Result<Bound<'py, PyAny>, Reason>> {
        Ok(match self.verified(py, raw, now_secs())? {
            Ok((_, claims)) => Ok(py.import("authgate._jwt_claims")?.getattr("Claims")?.call1((claims,))?),
            Err(reason) => Err(reason),
        })
    }
}

/// A verified token's header and claims, as Python dicts.
type HeaderAndClaims<'py> = (Bound<'py, PyAny>, Bound<'py, PyAny>);

fn token_bytes(token: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    key_bytes(token).map_err(|_| pyo3::exceptions::PyTypeError::new_err("a token is str or bytes"))
}
