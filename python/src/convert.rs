//! Conversions between Python values and what the core takes: header bytes, text, keys,
//! algorithm and qop names, rendered header values.

use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};

use authgate::{Algorithm, BufferTooSmall, Qop, QopSet, Scheme, Value};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::errors::config_err;

/// Bytes borrowed from a Python object, or owned.
pub(crate) enum Raw<'a, 'py> {
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

/// The bytes of a header value given as `bytes` or as a WSGI `str` (PEP 3333: the bytes
/// decoded as ISO-8859-1); a `str` with characters above U+00FF is taken as UTF-8. An
/// ASCII `str` (the usual case) is read through its UTF-8 form, without a copy of ours.
pub(crate) fn header_bytes<'a, 'py>(obj: &'a Bound<'py, PyAny>) -> PyResult<Raw<'a, 'py>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Raw::Borrowed(b.as_bytes()));
    }
    let s = obj.cast::<PyString>().map_err(|_| PyTypeError::new_err("expected str or bytes"))?;
    let utf8 = s.encode_utf8()?;
    if utf8.as_bytes().is_ascii() {
        return Ok(Raw::Py(utf8));
    }
    let text = std::str::from_utf8(utf8.as_bytes()).map_err(|e| PyValueError::new_err(e.to_string()))?;
    if text.chars().all(|c| (c as u32) < 0x100) {
        return Ok(Raw::Owned(text.chars().map(|c| c as u8).collect()));
    }
    Ok(Raw::Py(utf8))
}

/// The bytes of an application secret: `bytes` as they are, `str` as UTF-8.
pub(crate) fn secret_bytes(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    let s = obj.cast::<PyString>().map_err(|_| PyTypeError::new_err("expected str or bytes"))?;
    Ok(s.to_cow()?.into_owned().into_bytes())
}

/// Text from bytes a client sent: UTF-8 when valid, else ISO-8859-1 (what old clients send).
pub(crate) fn text(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(bytes.iter().map(|&b| b as char).collect()),
    }
}

/// The unescaped text of an auth-param value.
pub(crate) fn value_text(v: &Value<'_>) -> String {
    match v.as_unescaped() {
        Some(b) => text(b).into_owned(),
        None => {
            let bytes: Vec<u8> = v.segments().flatten().copied().collect();
            text(&bytes).into_owned()
        }
    }
}

/// Seconds since the epoch.
pub(crate) fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// 8 bytes of OS entropy for a nonce.
pub(crate) fn salt() -> [u8; 8] {
    let mut s = [0u8; 8];
    // Without OS entropy nonces would repeat: refuse to go on rather than weaken them.
    getrandom::fill(&mut s).expect("OS entropy source unavailable");
    s
}

pub(crate) fn key32(key: &[u8]) -> PyResult<[u8; 32]> {
    key.try_into().map_err(|_| config_err("a nonce key is exactly 32 bytes (see derive_key)"))
}

pub(crate) fn algorithm(name: &str) -> PyResult<Algorithm> {
    Algorithm::from_name(name.trim().as_bytes())
        .filter(|a| a.hash().is_enabled())
        .ok_or_else(|| config_err(format!("unsupported Digest algorithm {name:?}")))
}

pub(crate) fn qop_set(names: &[String]) -> PyResult<QopSet> {
    let mut q = QopSet { auth: false, auth_int: false };
    for n in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        match Qop::from_name(n.as_bytes()) {
            Some(Qop::Auth) => q.auth = true,
            Some(Qop::AuthInt) => q.auth_int = true,
            None => return Err(config_err(format!("unsupported qop {n:?}"))),
        }
    }
    Ok(q)
}

pub(crate) fn scheme(name: &str) -> PyResult<Scheme> {
    [Scheme::Basic, Scheme::Digest, Scheme::Bearer, Scheme::Ntlm, Scheme::Negotiate]
        .into_iter()
        .find(|s| s.name().eq_ignore_ascii_case(name))
        .ok_or_else(|| config_err(format!("unknown scheme {name:?}")))
}

/// A header value rendered by the core into a buffer sized from its own answer.
pub(crate) fn render(f: impl Fn(&mut [u8]) -> Result<usize, BufferTooSmall>) -> String {
    let mut buf = vec![0u8; 512];
    let n = match f(&mut buf) {
        Ok(n) => n,
        Err(e) => {
            buf.resize(e.needed, 0);
            f(&mut buf).unwrap_or(0)
        }
    };
    buf.truncate(n);
    // The core renders UTF-8 from UTF-8 inputs.
    String::from_utf8(buf).unwrap_or_default()
}
