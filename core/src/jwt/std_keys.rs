//! Keys from the formats applications hold them in (jwt-std): JWKS documents (RFC 7517) and
//! PEM public keys. authgate never fetches a JWKS URL: the application supplies the document.

use std::string::String;
use std::vec::Vec;

use base64ct::{Base64UrlUnpadded, Encoding as _};
use serde_json::{Map, Value};

use super::keys::{JwsAlgorithm, JwtKey, Material};
use crate::error::ConfigError;

/// The usable keys of a JWKS document, and how many were left out.
#[derive(Clone, Debug)]
pub struct Jwks {
    /// Signature keys this build can use, in document order.
    pub keys: Vec<JwtKey>,
    /// Keys left out: `use` other than `sig`, `key_ops` without `verify`, or a key type,
    /// curve or `alg` this build does not verify (P-384, secp256k1, RSA-OAEP, ...).
    pub skipped: usize,
}

/// Why a JWKS document or a key in it is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JwksError {
    /// Not JSON, or neither `{"keys": [...]}` nor a single JWK object.
    NotJwks,
    /// The key at this index of `keys` is malformed (missing or invalid member, bad point,
    /// RSA modulus outside 2048-4096 bits, an `alg` of another key type).
    InvalidKey(usize),
}

impl core::fmt::Display for JwksError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            JwksError::NotJwks => f.write_str("not a JWKS document or JWK"),
            JwksError::InvalidKey(i) => write!(f, "invalid JWK at keys[{i}]"),
        }
    }
}

impl std::error::Error for JwksError {}

/// Reads a JWKS document (`{"keys": [...]}`) or a single JWK: `oct` (HMAC), `EC` P-256,
/// `OKP` Ed25519 and `RSA` keys, with their `kid` and `alg`.
pub fn jwks(document: &str) -> Result<Jwks, JwksError> {
    let doc: Value = serde_json::from_str(document).map_err(|_| JwksError::NotJwks)?;
    let list: Vec<&Map<String, Value>> = match &doc {
        Value::Object(o) if o.contains_key("keys") => match &o["keys"] {
            Value::Array(a) => a.iter().map(|k| k.as_object().ok_or(JwksError::NotJwks)).collect::<Result<_, _>>()?,
            _ => return Err(JwksError::NotJwks),
        },
        Value::Object(o) if o.contains_key("kty") => std::vec![o],
        _ => return Err(JwksError::NotJwks),
    };
    let mut out = Jwks { keys: Vec::new(), skipped: 0 };
    for (i, jwk) in list.into_iter().enumerate() {
        match jwk_key(jwk) {
            Ok(Some(k)) => out.keys.push(k),
            Ok(None) => out.skipped += 1,
            Err(()) => return Err(JwksError::InvalidKey(i)),
        }
    }
    Ok(out)
}

/// One JWK: `Ok(None)` when it is not a signature key this build can use.
fn jwk_key(jwk: &Map<String, Value>) -> Result<Option<JwtKey>, ()> {
    let text = |name: &str| match jwk.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(()),
    };
    let bytes = |name: &str| -> Result<Vec<u8>, ()> {
        let s = text(name)?.ok_or(())?;
        Base64UrlUnpadded::decode_vec(s).map_err(|_| ())
    };
    if text("use")?.is_some_and(|u| u != "sig") {
        return Ok(None);
    }
    if let Some(ops) = jwk.get("key_ops") {
        let ops = ops.as_array().ok_or(())?;
        if !ops.iter().any(|o| o.as_str() == Some("verify")) {
            return Ok(None);
        }
    }
    let alg = match text("alg")? {
        None => None,
        Some(name) => match JwsAlgorithm::from_name(name.as_bytes()).filter(|a| a.is_enabled()) {
            Some(a) => Some(a),
            None => return Ok(None),
        },
    };
    let key = match (text("kty")?.ok_or(())?, text("crv")?) {
        ("oct", _) => JwtKey::hmac(&bytes("k")?),
        ("EC", Some("P-256")) => {
            let (x, y) = (bytes("x")?, bytes("y")?);
            JwtKey::p256_xy(x.as_slice().try_into().map_err(|_| ())?, y.as_slice().try_into().map_err(|_| ())?)
        }
        ("OKP", Some("Ed25519")) => JwtKey::ed25519(bytes("x")?.as_slice().try_into().map_err(|_| ())?),
        ("RSA", _) => JwtKey::rsa(&bytes("n")?, &bytes("e")?),
        _ => return Ok(None),
    };
    let mut key = key.map_err(|_| ())?;
    if let Some(kid) = text("kid")? {
        key = key.with_kid(kid).map_err(|_| ())?;
    }
    if let Some(a) = alg {
        key = key.with_algorithm(a).map_err(|_| ())?;
    }
    Ok(Some(key))
}

/// A PEM public key: `BEGIN PUBLIC KEY` (SPKI: RSA, P-256 or Ed25519) or `BEGIN RSA PUBLIC
/// KEY` (PKCS#1). Certificates and private keys are refused.
pub fn public_key_pem(pem: &str) -> Result<JwtKey, ConfigError> {
    use ::rsa::pkcs8::DecodePublicKey;
    let pem = pem.trim();
    if pem.starts_with("-----BEGIN RSA PUBLIC KEY-----") {
        use pkcs1::DecodeRsaPublicKey;
        let key = ::rsa::PublicKey::from_pkcs1_pem(pem).map_err(|_| ConfigError::InvalidJwtKey)?;
        return JwtKey::rsa_checked(key);
    }
    if !pem.starts_with("-----BEGIN PUBLIC KEY-----") {
        return Err(ConfigError::InvalidJwtKey);
    }
    if let Ok(key) = ::rsa::PublicKey::from_public_key_pem(pem) {
        return JwtKey::rsa_checked(key);
    }
    if let Ok(key) = p256::ecdsa::VerifyingKey::from_public_key_pem(pem) {
        return Ok(JwtKey::of(Material::P256(key)));
    }
    if let Ok(key) = ed25519_dalek::VerifyingKey::from_public_key_pem(pem) {
        return Ok(JwtKey::of(Material::Ed25519(key)));
    }
    Err(ConfigError::InvalidJwtKey)
}
