//! `authgate_jwt`: JWT bearer tokens (keys, allowed algorithms, issuer, audiences, leeway),
//! verified by the core's `jwt` module, on their own or through an engine's Bearer scheme.

use std::ffi::c_char;

use authgate_core::jwt::{self as core_jwt, JwsAlgorithm, JwtBuffer, JwtConfig, JwtKey};
use authgate_core::Reason;

use crate::config::{authgate_config, u32_slice};
use crate::{authgate_reason, authgate_result, bytes, guard, opt_bytes, run, store, text, OutBuf};

/// A JWS algorithm (the `alg` a token may use).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum authgate_jwt_algorithm {
    /// HMAC SHA-256
    Hs256 = 1,
    /// HMAC SHA-384
    Hs384 = 2,
    /// HMAC SHA-512
    Hs512 = 3,
    /// ECDSA P-256 SHA-256
    Es256 = 4,
    /// Ed25519
    EdDsa = 5,
    /// RSASSA-PKCS1-v1_5 SHA-256
    Rs256 = 6,
    /// RSASSA-PKCS1-v1_5 SHA-384
    Rs384 = 7,
    /// RSASSA-PKCS1-v1_5 SHA-512
    Rs512 = 8,
    /// RSASSA-PSS SHA-256
    Ps256 = 9,
    /// RSASSA-PSS SHA-384
    Ps384 = 10,
    /// RSASSA-PSS SHA-512
    Ps512 = 11,
}

fn algorithm(code: u32) -> Option<JwsAlgorithm> {
    // The ABI's values are the core's order, from 1.
    JwsAlgorithm::ALL.get(usize::try_from(code).ok()?.checked_sub(1)?).copied()
}

/// A JWT verifier under construction. Create with `authgate_jwt_new`, add keys and set the
/// allowed algorithms, then verify tokens with `authgate_jwt_verify` or give it to a config
/// with `authgate_config_set_jwt`. Release with `authgate_jwt_free`.
///
/// Setters are not synchronized; `authgate_jwt_verify` may run on many threads at once
/// while no setter runs.
pub struct authgate_jwt {
    config: JwtConfig,
}

fn update(jwt: *mut authgate_jwt, f: impl FnOnce(&mut authgate_jwt) -> Result<(), authgate_result>) -> authgate_result {
    run(|| {
        // SAFETY: the caller passes NULL or a live verifier it has exclusive use of.
        let j = unsafe { jwt.as_mut() }.ok_or(authgate_result::NullParameter)?;
        f(j)
    })
}

/// Creates an empty verifier: no keys, no algorithms, no issuer or audience, no leeway,
/// identity claim `sub`. `*jwt_out` receives it (owned by the caller) on success.
///
/// Results: OK, NULL_PARAMETER, PANIC. Thread-safe.
///
/// # Safety
/// `jwt_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn authgate_jwt_new(jwt_out: *mut *mut authgate_jwt) -> authgate_result {
    run(|| {
        if jwt_out.is_null() {
            return Err(authgate_result::NullParameter);
        }
        let boxed = Box::new(authgate_jwt { config: JwtConfig::new() });
        // SAFETY: checked non-NULL.
        unsafe { store(jwt_out, Box::into_raw(boxed)) }
    })
}

/// Releases a verifier. NULL is ignored. Configs it was given to keep their copy.
///
/// # Safety
/// `jwt` must be NULL or a pointer from `authgate_jwt_new` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn authgate_jwt_free(jwt: *mut authgate_jwt) {
    guard((), || {
        if !jwt.is_null() {
            // SAFETY: ownership handed back by the caller.
            drop(unsafe { Box::from_raw(jwt) });
        }
    })
}

/// # Safety
/// `kid` NULL or readable for `kid_len` bytes.
unsafe fn named(key: JwtKey, kid: *const c_char, kid_len: usize) -> Result<JwtKey, authgate_result> {
    // SAFETY: forwarded.
    match unsafe { opt_bytes(kid.cast(), kid_len) }? {
        None => Ok(key),
        Some(k) => {
            let k = std::str::from_utf8(k).map_err(|_| authgate_result::InvalidUtf8)?;
            Ok(key.with_kid(k)?)
        }
    }
}

/// Adds an HMAC secret (HS256/384/512), named `kid` (UTF-8, NULL for none). A secret that
/// is a PEM or OpenSSH public key is refused (algorithm confusion).
///
/// Results: OK, NULL_PARAMETER, INVALID_UTF8, CONFIG_INVALID_JWT_KEY (empty, a public key,
/// kid over 128 bytes), CONFIG_TOO_MANY (32 keys), PANIC.
///
/// # Safety
/// `jwt` live; `secret` readable for `secret_len`; `kid` NULL or readable for `kid_len`.
#[no_mangle]
pub unsafe extern "C" fn authgate_jwt_add_hmac_key(
    jwt: *mut authgate_jwt,
    kid: *const c_char,
    kid_len: usize,
    secret: *const u8,
    secret_len: usize,
) -> authgate_result {
    update(jwt, |j| {
        // SAFETY: promised by the caller.
        let secret = unsafe { bytes(secret, secret_len) }?;
        let key = unsafe { named(JwtKey::hmac(secret)?, kid, kid_len) }?;
        j.config = j.config.clone().key(key)?;
        Ok(())
    })
}

/// Adds a PEM public key (`BEGIN PUBLIC KEY`: RSA 2048-4096 bits, P-256 or Ed25519; or
/// `BEGIN RSA PUBLIC KEY`), named `kid` (NULL for none).
///
/// Results: OK, NULL_PARAMETER, INVALID_UTF8, CONFIG_INVALID_JWT_KEY, CONFIG_TOO_MANY, PANIC.
///
/// # Safety
/// As `authgate_jwt_add_hmac_key`.
#[no_mangle]
pub unsafe extern "C" fn authgate_jwt_add_pem_key(
    jwt: *mut authgate_jwt,
    kid: *const c_char,
    kid_len: usize,
    pem: *const c_char,
    pem_len: usize,
) -> authgate_result {
    update(jwt, |j| {
        // SAFETY: promised by the caller.
        let pem = unsafe { text(pem, pem_len) }?;
        let key = unsafe { named(core_jwt::public_key_pem(pem)?, kid, kid_len) }?;
        j.config = j.config.clone().key(key)?;
        Ok(())
    })
}

/// Adds the signature keys of a JWKS document (`{"keys": [...]}`) or of one JWK: `oct`,
/// `EC` P-256, `OKP` Ed25519 and `RSA` keys with their `kid` and `alg`. Keys for
/// encryption, or of a type or curve this library does not verify, are skipped;
/// `*added_out` (when not NULL) receives how many were added. authgate never fetches a
/// JWKS URL: pass the document.
///
/// Results: OK, NULL_PARAMETER, INVALID_UTF8, CONFIG_INVALID_JWT_KEY (not a JWKS, or a
/// malformed key: nothing is added), CONFIG_TOO_MANY, PANIC.
///
/// # Safety
/// `jwt` live; `json` readable for `json_len`; `added_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn authgate_jwt_add_jwks(
    jwt: *mut authgate_jwt,
    json: *const c_char,
    json_len: usize,
    added_out: *mut usize,
) -> authgate_result {
    update(jwt, |j| {
        // SAFETY: promised by the caller.
        let json = unsafe { text(json, json_len) }?;
        let set = core_jwt::jwks(json).map_err(|_| authgate_result::ConfigInvalidJwtKey)?;
        let added = set.keys.len();
        let mut config = j.config.clone();
        for k in set.keys {
            config = config.key(k)?;
        }
        j.config = config;
        if !added_out.is_null() {
            // SAFETY: non-NULL, writable as promised.
            unsafe { added_out.write(added) };
        }
        Ok(())
    })
}

/// Sets the algorithms a token may use: `count` `authgate_jwt_algorithm` values. A token's
/// `alg` only picks among these (`none` never is one).
///
/// Results: OK, NULL_PARAMETER, INVALID_ARGUMENT (unknown value), CONFIG_TOO_MANY, PANIC.
///
/// # Safety
/// `jwt` live; `algorithms` readable for `count` values.
#[no_mangle]
pub unsafe extern "C" fn authgate_jwt_set_algorithms(
    jwt: *mut authgate_jwt,
    algorithms: *const authgate_jwt_algorithm,
    count: usize,
) -> authgate_result {
    update(jwt, |j| {
        // SAFETY: promised by the caller (read as integers: C may pass any value).
        let raw = unsafe { u32_slice(algorithms.cast(), count) }?;
        let algs =
            raw.iter().map(|&c| algorithm(c).ok_or(authgate_result::InvalidArgument)).collect::<Result<Vec<_>, _>>()?;
        j.config = j.config.clone().algorithms(&algs)?;
        Ok(())
    })
}

/// The `authgate_jwt_algorithm` an `alg` name denotes (`"RS256"`, exact case), 0 for none.
/// Thread-safe.
///
/// # Safety
/// `name` readable for `name_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn authgate_jwt_algorithm_from_name(name: *const c_char, name_len: usize) -> u32 {
    guard(0, || {
        // SAFETY: promised by the caller.
        let Ok(name) = (unsafe { bytes(name.cast(), name_len) }) else { return 0 };
        JwsAlgorithm::from_name(name)
            .and_then(|a| JwsAlgorithm::ALL.iter().position(|b| *b == a))
            .map_or(0, |i| i as u32 + 1)
    })
}

/// Requires `iss` to be `issuer` (UTF-8, 1-128 bytes).
///
/// Results: OK, NULL_PARAMETER, INVALID_UTF8, CONFIG_INVALID_JWT_OPTION, PANIC.
///
/// # Safety
/// `jwt` live; `issuer` readable for `issuer_len`.
#[no_mangle]
pub unsafe extern "C" fn authgate_jwt_set_issuer(
    jwt: *mut authgate_jwt,
    issuer: *const c_char,
    issuer_len: usize,
) -> authgate_result {
    update(jwt, |j| {
        // SAFETY: promised by the caller.
        let issuer = unsafe { text(issuer, issuer_len) }?;
        j.config = j.config.clone().issuer(issuer)?;
        Ok(())
    })
}

/// Adds an expected audience (up to 4): a token's `aud` must name one. Without any, a token
/// carrying an `aud` is refused.
///
/// Results: OK, NULL_PARAMETER, INVALID_UTF8, CONFIG_INVALID_JWT_OPTION, CONFIG_TOO_MANY, PANIC.
///
/// # Safety
/// `jwt` live; `audience` readable for `audience_len`.
#[no_mangle]
pub unsafe extern "C" fn authgate_jwt_add_audience(
    jwt: *mut authgate_jwt,
    audience: *const c_char,
    audience_len: usize,
) -> authgate_result {
    update(jwt, |j| {
        // SAFETY: promised by the caller.
        let audience = unsafe { text(audience, audience_len) }?;
        j.config = j.config.clone().audience(audience)?;
        Ok(())
    })
}

/// Seconds of clock skew allowed on `exp`, `nbf` and `iat` (default 0).
///
/// Results: OK, NULL_PARAMETER, PANIC.
///
/// # Safety
/// `jwt` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn authgate_jwt_set_leeway(jwt: *mut authgate_jwt, seconds: u64) -> authgate_result {
    update(jwt, |j| {
        j.config = j.config.clone().leeway(seconds);
        Ok(())
    })
}

/// The claim naming the user when an engine authenticates a token (default `sub`).
///
/// Results: OK, NULL_PARAMETER, INVALID_UTF8, CONFIG_INVALID_JWT_OPTION, PANIC.
///
/// # Safety
/// `jwt` live; `name` readable for `name_len`.
#[no_mangle]
pub unsafe extern "C" fn authgate_jwt_set_identity_claim(
    jwt: *mut authgate_jwt,
    name: *const c_char,
    name_len: usize,
) -> authgate_result {
    update(jwt, |j| {
        // SAFETY: promised by the caller.
        let name = unsafe { text(name, name_len) }?;
        j.config = j.config.clone().identity_claim(name)?;
        Ok(())
    })
}

/// Verifies `token` at `now` (seconds since the Unix epoch). A result of OK means a decision
/// was made: `*reason_out` is `AUTHGATE_REASON_NONE` when the token is valid (its claims set,
/// a JSON object, is then copied into `claims_buf` with the buffer contract of
/// `authgate_engine_write_challenge`; `claims_buf` may be NULL with `claims_buf_len` 0 and
/// `claims_len_out` NULL to skip it), or the reason it is refused (`AUTHGATE_REASON_TOKEN_*`,
/// `..._BAD_SIGNATURE`, ...; `authgate_reason_name` names it).
///
/// Results: OK, NULL_PARAMETER, CONFIG_NO_JWT_ALGORITHM (keys but no allowed algorithm
/// they serve), BUFFER_TOO_SMALL (valid token, claims did not fit), PANIC. Thread-safe with
/// other verifications.
///
/// # Safety
/// `jwt` live; `token` readable for `token_len`; `reason_out` writable; `claims_buf`
/// writable for `claims_buf_len` (NULL if 0); `claims_len_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn authgate_jwt_verify(
    jwt: *const authgate_jwt,
    token: *const u8,
    token_len: usize,
    now: u64,
    reason_out: *mut authgate_reason,
    claims_buf: *mut c_char,
    claims_buf_len: usize,
    claims_len_out: *mut usize,
) -> authgate_result {
    run(|| {
        // SAFETY: promised by the caller.
        let (j, token) = unsafe { (jwt.as_ref().ok_or(authgate_result::NullParameter)?, bytes(token, token_len)?) };
        if reason_out.is_null() {
            return Err(authgate_result::NullParameter);
        }
        j.config.validate()?;
        let mut buf = Box::new(JwtBuffer::new());
        let outcome = j.config.verify(token, now, &mut buf);
        let reason = match &outcome {
            Ok(_) => authgate_reason::None,
            Err(r) => authgate_reason::from_core(*r),
        };
        // SAFETY: checked non-NULL; writable as promised.
        unsafe { reason_out.write(reason) };
        match (outcome, claims_len_out.is_null()) {
            (Ok(v), false) => {
                // SAFETY: promised by the caller.
                let out = unsafe { OutBuf::new(claims_buf, claims_buf_len, claims_len_out) }?;
                out.copy(v.claims.as_bytes())
            }
            _ => Ok(()),
        }
    })
}

/// The stable name of a reason (`"TokenExpired"`, `"BadSignature"`, ...: the core's), or
/// "unknown reason". Never NULL; static. Thread-safe.
#[no_mangle]
pub extern "C" fn authgate_reason_name(reason: u32) -> *const c_char {
    guard(c"unknown reason".as_ptr(), || crate::core_name(reason).map_or(c"unknown reason".as_ptr(), |n| n.as_ptr()))
}

/// Gives `jwt`'s keys and rules (copied) to `config`: the engines built from it verify
/// Bearer tokens that look like a JWS (two dots) as JWTs, and authenticate the identity
/// claim (`sub` unless set) as the user; other Bearer tokens still go to the bearer
/// callback. Offer the Bearer scheme (`authgate_config_set_schemes`) for it to be used.
///
/// Results: OK, NULL_PARAMETER, CONFIG_NO_JWT_ALGORITHM, PANIC. Not synchronized.
///
/// # Safety
/// `config` and `jwt` live.
#[no_mangle]
pub unsafe extern "C" fn authgate_config_set_jwt(
    config: *mut authgate_config,
    jwt: *const authgate_jwt,
) -> authgate_result {
    run(|| {
        // SAFETY: promised by the caller.
        let (c, j) = unsafe {
            (
                config.as_mut().ok_or(authgate_result::NullParameter)?,
                jwt.as_ref().ok_or(authgate_result::NullParameter)?,
            )
        };
        c.config = c.config.clone().jwt(j.config.clone())?;
        Ok(())
    })
}

impl From<Reason> for authgate_reason {
    fn from(r: Reason) -> Self {
        authgate_reason::from_core(r)
    }
}
