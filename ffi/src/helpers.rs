//! Stateless helpers: provisioning stored credentials, and the client side of Digest
//! (for tests, benchmarks and C clients). All of them call the core's functions.

use std::ffi::c_char;

use authgate_core::digest::{self, Known, Qop, ResponseInput, Username};
use authgate_core::hash::Hasher;
use authgate_core::limits::{MAX_REALM_LEN, MAX_USERNAME_LEN};
use authgate_core::{parse, DigestCredentials, HashAlgorithm};

use crate::{authgate_hash, authgate_result, bytes, opt_bytes, run, text, OutBuf};

/// Computes the Digest `response` a client sends (RFC 7616 §3.4.1), from a complete
/// Digest `Authorization` value whose `response` parameter may be anything hex (e.g.
/// `response=""`): the algorithm, realm, nonce, uri, qop, nc and cnonce are read from it.
///
/// - `username`: the name hashed into A1, or NULL to use the header's `username` (or
///   decoded `username*`); required with `userhash=true`, where the header carries a hash.
/// - `password`: the password bytes.
/// - `body`: the entity body for `qop=auth-int`, or NULL.
/// - Writes the lower-case hex response, NUL-terminated, with the buffer contract of
///   `authgate_engine_write_challenge` (129 bytes always suffice).
///
/// Results: OK, NULL_PARAMETER, INVALID_UTF8 (method), a MALFORMED_* code for a value the
/// engine would answer 400, UNSUPPORTED (unknown algorithm or qop, or `auth-int` without
/// a body), INVALID_ARGUMENT (`userhash=true` without `username`, a name over 128
/// bytes), BUFFER_TOO_SMALL, PANIC. Thread-safe.
///
/// # Safety
/// Every non-NULL pointer must be valid for its length; `buf` writable for `buf_len`
/// bytes (NULL if 0); `out_len` writable.
#[no_mangle]
pub unsafe extern "C" fn authgate_digest_response(
    authorization: *const u8,
    authorization_len: usize,
    method: *const c_char,
    method_len: usize,
    username: *const u8,
    username_len: usize,
    password: *const u8,
    password_len: usize,
    body: *const u8,
    body_len: usize,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> authgate_result {
    run(|| {
        // SAFETY: promised by the caller.
        let (header, method, username, password, body, out) = unsafe {
            (
                bytes(authorization, authorization_len)?,
                text(method, method_len)?,
                opt_bytes(username, username_len)?,
                bytes(password, password_len)?,
                opt_bytes(body, body_len)?,
                OutBuf::new(buf, buf_len, out_len)?,
            )
        };
        let auth = parse(header)?;
        let c = DigestCredentials::from_authorization(&auth)?;
        let Known::Known(alg) = c.algorithm else {
            return Err(authgate_result::Unsupported);
        };
        let hash = alg.hash();
        let mut realm_buf = [0u8; MAX_REALM_LEN];
        let realm = c.realm.unescape_into(&mut realm_buf).ok_or(authgate_result::InvalidArgument)?;
        let mut name_buf = [0u8; MAX_USERNAME_LEN];
        let user: &[u8] = match (username, c.username) {
            (Some(u), _) => u,
            (None, _) if c.userhash => return Err(authgate_result::InvalidArgument),
            (None, Username::Plain(v)) => v.unescape_into(&mut name_buf).ok_or(authgate_result::InvalidArgument)?,
            (None, Username::Extended(x)) => {
                x.decode_into(&mut name_buf).ok_or(authgate_result::InvalidArgument)?.as_bytes()
            }
        };
        let ha1 = digest::ha1(hash, user, realm, password).ok_or(authgate_result::Unsupported)?;
        let body_hash = match (c.qop, body) {
            (Some(Known::Known(Qop::AuthInt)), Some(b)) => {
                let mut h = Hasher::new(hash).ok_or(authgate_result::Unsupported)?;
                h.update(b);
                Some(h.finalize())
            }
            _ => None,
        };
        let input = ResponseInput { method: method.as_bytes(), body_hash: body_hash.as_ref() };
        let r = digest::response(alg, &ha1, &c, &input).ok_or(authgate_result::Unsupported)?;
        out.copy(r.to_hex().as_bytes())
    })
}

/// Writes the hex HA1 `H(username ":" realm ":" password)` in hash family `hash` (an
/// `authgate_hash`), as an htdigest file stores it; 65 bytes always suffice. Same buffer
/// contract as `authgate_engine_write_challenge`.
///
/// Results: OK, NULL_PARAMETER, INVALID_ARGUMENT (unknown hash), UNSUPPORTED (compiled
/// out), BUFFER_TOO_SMALL, PANIC. Thread-safe.
///
/// # Safety
/// Every pointer valid for its length; `buf` writable for `buf_len` (NULL if 0).
#[no_mangle]
pub unsafe extern "C" fn authgate_digest_ha1_hex(
    hash: u32,
    username: *const u8,
    username_len: usize,
    realm: *const u8,
    realm_len: usize,
    password: *const u8,
    password_len: usize,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> authgate_result {
    run(|| {
        // SAFETY: promised by the caller.
        let (user, realm, password, out) = unsafe {
            (
                bytes(username, username_len)?,
                bytes(realm, realm_len)?,
                bytes(password, password_len)?,
                OutBuf::new(buf, buf_len, out_len)?,
            )
        };
        let hash: HashAlgorithm = authgate_hash::to_core(hash).ok_or(authgate_result::InvalidArgument)?;
        let ha1 = digest::ha1(hash, user, realm, password).ok_or(authgate_result::Unsupported)?;
        out.copy(ha1.to_hex().as_bytes())
    })
}

/// Writes the SHA-256 of a Bearer token into `digest_out` (32 bytes): the value an
/// `authgate_bearer_callback` receives, so a server stores digests, not tokens.
///
/// Results: OK, NULL_PARAMETER, PANIC. Thread-safe.
///
/// # Safety
/// `token` readable for `token_len` bytes; `digest_out` writable for 32 bytes.
#[no_mangle]
pub unsafe extern "C" fn authgate_token_digest(
    token: *const u8,
    token_len: usize,
    digest_out: *mut u8,
) -> authgate_result {
    run(|| {
        // SAFETY: promised by the caller.
        let token = unsafe { bytes(token, token_len) }?;
        if digest_out.is_null() {
            return Err(authgate_result::NullParameter);
        }
        let mut h = Hasher::new(HashAlgorithm::Sha256).ok_or(authgate_result::Unsupported)?;
        h.update(token);
        let d = h.finalize();
        // SAFETY: non-NULL, writable for 32 bytes as promised; SHA-256 is 32 bytes.
        unsafe { std::ptr::copy_nonoverlapping(d.as_bytes().as_ptr(), digest_out, 32) };
        Ok(())
    })
}

/// Derives a PBKDF2-HMAC-SHA256 key (32 bytes into `hash_out`), for provisioning the
/// values `authgate_credential_set_pbkdf2_sha256` takes.
///
/// Results: OK, NULL_PARAMETER, INVALID_ARGUMENT (`iterations` 0 or salt over 64 bytes),
/// PANIC. Thread-safe.
///
/// # Safety
/// `password`, `salt` readable for their lengths; `hash_out` writable for 32 bytes.
#[no_mangle]
pub unsafe extern "C" fn authgate_pbkdf2_sha256(
    password: *const u8,
    password_len: usize,
    salt: *const u8,
    salt_len: usize,
    iterations: u32,
    hash_out: *mut u8,
) -> authgate_result {
    run(|| {
        // SAFETY: promised by the caller.
        let (password, salt) = unsafe { (bytes(password, password_len)?, bytes(salt, salt_len)?) };
        if hash_out.is_null() {
            return Err(authgate_result::NullParameter);
        }
        if iterations == 0 || salt.len() > authgate_core::limits::MAX_SALT_LEN {
            return Err(authgate_result::InvalidArgument);
        }
        let d = authgate_core::credential::pbkdf2_sha256(password, salt, iterations);
        // SAFETY: non-NULL, writable for 32 bytes as promised.
        unsafe { std::ptr::copy_nonoverlapping(d.as_ptr(), hash_out, 32) };
        Ok(())
    })
}
