//! `authgate_config`: what an engine offers and accepts, and where it looks users up.

use std::ffi::{c_char, c_void};

use authgate_core::{Config, QopSet};

use crate::credential::{authgate_bearer_callback, authgate_credential_callback, authgate_entropy_callback};
use crate::{authgate_algorithm, authgate_result, authgate_scheme, bytes, run, store, text};

/// A configuration under construction. Create with `authgate_config_new`, adjust with the
/// `authgate_config_set_*` functions, build engines from it with `authgate_engine_new`
/// (which copies it), release with `authgate_config_free`.
///
/// Not synchronized: a setter must not run while another thread uses the same config.
pub struct authgate_config {
    pub(crate) config: Config,
    pub(crate) previous_key: Option<[u8; 32]>,
    pub(crate) lookup: authgate_credential_callback,
    pub(crate) lookup_userdata: *mut c_void,
    pub(crate) bearer: authgate_bearer_callback,
    pub(crate) bearer_userdata: *mut c_void,
    pub(crate) entropy: authgate_entropy_callback,
    pub(crate) entropy_userdata: *mut c_void,
    /// `authgate_config_set_htfile`: looked up instead of the credential callback.
    pub(crate) htfile: Option<std::sync::Arc<crate::htfile::HtFile>>,
    /// `authgate_config_set_negotiate_acceptor` and `authgate_config_bind_negotiate`.
    pub(crate) negotiate: crate::connection::NegotiateSettings,
}

/// Applies a fallible core builder step, keeping the old value on error.
fn update(
    config: *mut authgate_config,
    f: impl FnOnce(&mut authgate_config) -> Result<(), authgate_result>,
) -> authgate_result {
    run(|| {
        // SAFETY: the caller passes NULL or a live config it has exclusive use of.
        let c = unsafe { config.as_mut() }.ok_or(authgate_result::NullParameter)?;
        f(c)
    })
}

/// Creates a configuration for `realm` (UTF-8, 1-128 bytes, no control characters):
/// Digest with SHA-256 then MD5, then Basic; qop `auth`; nonces valid 300 s with 5 s of
/// allowed clock skew; no opaque; no callbacks (every user is unknown until
/// `authgate_config_set_credential_callback`).
///
/// On success `*config_out` receives a new config, owned by the caller, to be released
/// with `authgate_config_free`. On failure `*config_out` is left untouched.
///
/// Results: OK, NULL_PARAMETER, INVALID_UTF8, CONFIG_INVALID_REALM, PANIC. Thread-safe.
///
/// # Safety
/// `realm` must point to `realm_len` readable bytes; `config_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn authgate_config_new(
    realm: *const c_char,
    realm_len: usize,
    config_out: *mut *mut authgate_config,
) -> authgate_result {
    run(|| {
        if config_out.is_null() {
            return Err(authgate_result::NullParameter);
        }
        // SAFETY: promised by the caller.
        let realm = unsafe { text(realm, realm_len) }?;
        let config = Config::new(realm)?;
        let boxed = Box::new(authgate_config {
            config,
            previous_key: None,
            lookup: None,
            lookup_userdata: std::ptr::null_mut(),
            bearer: None,
            bearer_userdata: std::ptr::null_mut(),
            entropy: None,
            entropy_userdata: std::ptr::null_mut(),
            htfile: None,
            negotiate: Default::default(),
        });
        // SAFETY: checked non-NULL above.
        unsafe { store(config_out, Box::into_raw(boxed)) }
    })
}

/// Releases a configuration. NULL is ignored. Engines built from it are not affected.
/// Needs exclusive access: no other call on this config may run or follow.
///
/// # Safety
/// `config` must be NULL or a pointer from `authgate_config_new` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn authgate_config_free(config: *mut authgate_config) {
    crate::guard((), || {
        if !config.is_null() {
            // SAFETY: ownership handed back by the caller.
            drop(unsafe { Box::from_raw(config) });
        }
    })
}

/// Sets the schemes to offer, in order of preference (the order of the challenges):
/// `count` values of `authgate_scheme` (BASIC, DIGEST, BEARER, NTLM, NEGOTIATE; duplicates
/// are ignored). NTLM and NEGOTIATE are checked by `authgate_engine_check_connection`.
///
/// Results: OK, NULL_PARAMETER, INVALID_ARGUMENT (an unknown value), CONFIG_NO_SCHEME
/// (`count` 0), CONFIG_TOO_MANY, PANIC. On error the config is unchanged. Not
/// synchronized (see `authgate_config`).
///
/// # Safety
/// `config` must be a live config; `schemes` must point to `count` readable `uint32_t`.
#[no_mangle]
pub unsafe extern "C" fn authgate_config_set_schemes(
    config: *mut authgate_config,
    schemes: *const authgate_scheme,
    count: usize,
) -> authgate_result {
    update(config, |c| {
        // Read as integers: C may pass any value, and an invalid Rust enum would be UB.
        // SAFETY: promised by the caller (size_of::<authgate_scheme>() == 4).
        let raw = unsafe { u32_slice(schemes.cast(), count) }?;
        let mut list = [authgate_core::Scheme::Basic; 5];
        let mut n = 0;
        for &code in raw {
            let s = authgate_scheme::to_core(code).ok_or(authgate_result::InvalidArgument)?;
            if n == list.len() {
                return Err(authgate_result::ConfigTooMany);
            }
            if !list[..n].contains(&s) {
                list[n] = s;
                n += 1;
            }
        }
        c.config = c.config.clone().schemes(&list[..n])?;
        Ok(())
    })
}

/// Sets the Digest algorithms to offer, in order of preference: `count` values of
/// `authgate_algorithm`. Each offered algorithm is one Digest challenge.
///
/// Results: OK, NULL_PARAMETER, INVALID_ARGUMENT (unknown value), CONFIG_NO_ALGORITHM
/// (empty, or compiled out), CONFIG_TOO_MANY, PANIC. On error the config is unchanged.
/// Not synchronized.
///
/// # Safety
/// `config` must be a live config; `algorithms` must point to `count` readable values.
#[no_mangle]
pub unsafe extern "C" fn authgate_config_set_algorithms(
    config: *mut authgate_config,
    algorithms: *const authgate_algorithm,
    count: usize,
) -> authgate_result {
    update(config, |c| {
        // SAFETY: promised by the caller.
        let raw = unsafe { u32_slice(algorithms.cast(), count) }?;
        let mut list = [authgate_core::Algorithm::Md5; 6];
        let mut n = 0;
        for &code in raw {
            let a = authgate_algorithm::to_core(code).ok_or(authgate_result::InvalidArgument)?;
            if !list[..n].contains(&a) {
                if n == list.len() {
                    return Err(authgate_result::ConfigTooMany);
                }
                list[n] = a;
                n += 1;
            }
        }
        c.config = c.config.clone().algorithms(&list[..n])?;
        Ok(())
    })
}

/// Sets the qop values Digest offers (`auth`, `auth-int`). Offering neither requires
/// `authgate_config_allow_rfc2069`, checked by `authgate_engine_new`.
///
/// Results: OK, NULL_PARAMETER, PANIC. Not synchronized.
///
/// # Safety
/// `config` must be NULL or a live config.
#[no_mangle]
pub unsafe extern "C" fn authgate_config_set_qop(
    config: *mut authgate_config,
    auth: bool,
    auth_int: bool,
) -> authgate_result {
    update(config, |c| {
        c.config = c.config.clone().qop(QopSet { auth, auth_int });
        Ok(())
    })
}

/// Sets how long a nonce stays valid, in seconds (default 300). After that, a correct
/// response is answered with a challenge carrying `stale=true`.
///
/// Results: OK, NULL_PARAMETER, CONFIG_INVALID_LIFETIME (zero), PANIC. Not synchronized.
///
/// # Safety
/// `config` must be NULL or a live config.
#[no_mangle]
pub unsafe extern "C" fn authgate_config_set_nonce_lifetime(
    config: *mut authgate_config,
    seconds: u64,
) -> authgate_result {
    update(config, |c| {
        c.config = c.config.clone().nonce_lifetime(seconds)?;
        Ok(())
    })
}

/// Sets how far in the future a nonce's issue time may be (clock skew between processes
/// sharing the key; default 5 s).
///
/// Results: OK, NULL_PARAMETER, PANIC. Not synchronized.
///
/// # Safety
/// `config` must be NULL or a live config.
#[no_mangle]
pub unsafe extern "C" fn authgate_config_set_max_clock_skew(
    config: *mut authgate_config,
    seconds: u64,
) -> authgate_result {
    update(config, |c| {
        c.config = c.config.clone().max_clock_skew(seconds);
        Ok(())
    })
}

/// Accepts RFC 2069 Digest (no qop, no nc; each nonce single-use). Off by default.
///
/// Results: OK, NULL_PARAMETER, PANIC. Not synchronized.
///
/// # Safety
/// `config` must be NULL or a live config.
#[no_mangle]
pub unsafe extern "C" fn authgate_config_allow_rfc2069(config: *mut authgate_config, allow: bool) -> authgate_result {
    update(config, |c| {
        c.config = c.config.clone().allow_rfc2069(allow);
        Ok(())
    })
}

/// Sets the Digest `opaque` value sent with challenges and required back (nonces are bound
/// to it). 1-128 token68 characters.
///
/// Results: OK, NULL_PARAMETER, INVALID_UTF8, CONFIG_INVALID_OPAQUE, PANIC. On error the
/// config is unchanged. Not synchronized.
///
/// # Safety
/// `config` must be a live config; `opaque` must point to `opaque_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn authgate_config_set_opaque(
    config: *mut authgate_config,
    opaque: *const c_char,
    opaque_len: usize,
) -> authgate_result {
    update(config, |c| {
        // SAFETY: promised by the caller.
        let opaque = unsafe { text(opaque, opaque_len) }?;
        c.config = c.config.clone().opaque(opaque)?;
        Ok(())
    })
}

/// Also accept nonces issued under `key` (32 bytes, copied): the key before a rotation.
/// Rotating keys means building a new engine with the new key and this one as previous.
///
/// Results: OK, NULL_PARAMETER, INVALID_ARGUMENT (`key_len` not 32), PANIC.
/// Not synchronized.
///
/// # Safety
/// `config` must be a live config; `key` must point to `key_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn authgate_config_set_previous_key(
    config: *mut authgate_config,
    key: *const u8,
    key_len: usize,
) -> authgate_result {
    update(config, |c| {
        // SAFETY: promised by the caller.
        let key = unsafe { bytes(key, key_len) }?;
        c.previous_key = Some(key.try_into().map_err(|_| authgate_result::InvalidArgument)?);
        Ok(())
    })
}

/// Sets the credential lookup (see `authgate_credential_callback`). `callback` may be
/// NULL (no user is known). `userdata` is passed back as is and must outlive every engine
/// built from this config; authgate never frees it.
///
/// Results: OK, NULL_PARAMETER (config), PANIC. Not synchronized.
///
/// # Safety
/// `config` must be NULL or a live config.
#[no_mangle]
pub unsafe extern "C" fn authgate_config_set_credential_callback(
    config: *mut authgate_config,
    callback: authgate_credential_callback,
    userdata: *mut c_void,
) -> authgate_result {
    update(config, |c| {
        c.lookup = callback;
        c.lookup_userdata = userdata;
        Ok(())
    })
}

/// Sets the Bearer token lookup (see `authgate_bearer_callback`); NULL accepts no token.
/// Offering Bearer also needs `authgate_config_set_schemes`. `userdata` as for
/// `authgate_config_set_credential_callback`.
///
/// Results: OK, NULL_PARAMETER (config), PANIC. Not synchronized.
///
/// # Safety
/// `config` must be NULL or a live config.
#[no_mangle]
pub unsafe extern "C" fn authgate_config_set_bearer_callback(
    config: *mut authgate_config,
    callback: authgate_bearer_callback,
    userdata: *mut c_void,
) -> authgate_result {
    update(config, |c| {
        c.bearer = callback;
        c.bearer_userdata = userdata;
        Ok(())
    })
}

/// Sets where `authgate_engine_check` gets the 8 random bytes of a new nonce when its
/// `salt` argument is NULL (see `authgate_entropy_callback`).
///
/// Results: OK, NULL_PARAMETER (config), PANIC. Not synchronized.
///
/// # Safety
/// `config` must be NULL or a live config.
#[no_mangle]
pub unsafe extern "C" fn authgate_config_set_entropy_callback(
    config: *mut authgate_config,
    callback: authgate_entropy_callback,
    userdata: *mut c_void,
) -> authgate_result {
    update(config, |c| {
        c.entropy = callback;
        c.entropy_userdata = userdata;
        Ok(())
    })
}

/// `count` `uint32_t` values (an array of a C enum type).
///
/// # Safety
/// `ptr` must be NULL or valid for reads of `count` aligned `u32`.
pub(crate) unsafe fn u32_slice<'a>(ptr: *const u32, count: usize) -> Result<&'a [u32], authgate_result> {
    if ptr.is_null() {
        return Err(authgate_result::NullParameter);
    }
    if count > 64 {
        return Err(authgate_result::ConfigTooMany);
    }
    if !ptr.is_aligned() {
        return Err(authgate_result::InvalidArgument);
    }
    // SAFETY: non-NULL, aligned, small count, validity promised by the caller.
    Ok(unsafe { std::slice::from_raw_parts(ptr, count) })
}
