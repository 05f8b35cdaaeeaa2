//! The request-origin check (CSRF, DNS rebinding): `authgate_engine_check_origin`, the
//! policy setters, and `authgate_refusal`. The rules are the core's (`authgate::origin`).

use std::ffi::{c_char, CStr};

use authgate_core::{OriginHeaders, OriginRefusal};

use crate::config::authgate_config;
use crate::engine::authgate_engine;
use crate::{authgate_result, core_message, guard, opt_bytes, run, text};

/// The request's fields that say where it comes from and where it was sent, for
/// `authgate_engine_check_origin`. Each field is a pointer and a length, as the HTTP parser
/// gives the value (without surrounding whitespace); NULL when the request has no such field.
/// A field sent more than once: a non-NULL pointer with length 0 (it is malformed).
/// Zero-initialize it (`authgate_origin_headers h = {0};`) and set what the request has.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct authgate_origin_headers {
    /// The request came over TLS (https).
    pub secure: bool,
    /// `Host` (HTTP/2: `:authority`).
    pub host: *const u8,
    /// Length of `host`.
    pub host_len: usize,
    /// `Origin`.
    pub origin: *const u8,
    /// Length of `origin`.
    pub origin_len: usize,
    /// `Sec-Fetch-Site`.
    pub sec_fetch_site: *const u8,
    /// Length of `sec_fetch_site`.
    pub sec_fetch_site_len: usize,
    /// `Referer`.
    pub referer: *const u8,
    /// Length of `referer`.
    pub referer_len: usize,
}

/// Why `authgate_engine_check_origin` refuses a request (the core's `OriginRefusal` codes);
/// answer with `authgate_refusal_status()` and log `authgate_refusal_message()`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum authgate_refusal {
    /// Not refused: go on with `authgate_engine_check`.
    None = 0,
    /// 403: an unsafe method (not GET, HEAD, OPTIONS) from another origin (CSRF).
    CrossOrigin = 400,
    /// 421: `Host` is not one of the server's names (DNS rebinding).
    ForeignHost = 401,
    /// 400: `Host` missing or malformed where it is needed.
    MalformedHost = 402,
    /// 400: `Origin` malformed or repeated.
    MalformedOrigin = 403,
    /// 400: `Sec-Fetch-Site` malformed or repeated.
    MalformedFetchSite = 404,
    /// 400: `Referer` does not begin with scheme://host[:port].
    MalformedReferer = 405,
    /// 400: another refusal (a newer core than this ABI knows).
    Other = 499,
}

impl authgate_refusal {
    /// Every refusal, for conversions and tests.
    const ALL: [authgate_refusal; 8] = {
        use authgate_refusal::*;
        [None, CrossOrigin, ForeignHost, MalformedHost, MalformedOrigin, MalformedFetchSite, MalformedReferer, Other]
    };

    fn from_core(r: OriginRefusal) -> Self {
        let code = u32::from(r.code());
        Self::ALL.into_iter().find(|a| *a as u32 == code).unwrap_or(authgate_refusal::Other)
    }

    fn to_core(code: u32) -> Option<OriginRefusal> {
        // The core's table is the source of the codes; its rows are constructible by name.
        Some(match Self::ALL.into_iter().find(|a| *a as u32 == code)? {
            authgate_refusal::CrossOrigin => OriginRefusal::CrossOrigin,
            authgate_refusal::ForeignHost => OriginRefusal::ForeignHost,
            authgate_refusal::MalformedHost => OriginRefusal::MalformedHost,
            authgate_refusal::MalformedOrigin => OriginRefusal::MalformedOrigin,
            authgate_refusal::MalformedFetchSite => OriginRefusal::MalformedFetchSite,
            authgate_refusal::MalformedReferer => OriginRefusal::MalformedReferer,
            authgate_refusal::None | authgate_refusal::Other => return None,
        })
    }
}

/// Whether `authgate_engine_check_origin` refuses unsafe requests (all methods but GET, HEAD
/// and OPTIONS) from other origins. On by default.
///
/// Results: OK, NULL_PARAMETER, PANIC. Not synchronized (see `authgate_config`).
///
/// # Safety
/// `config` must be a live config.
#[no_mangle]
pub unsafe extern "C" fn authgate_config_set_refuse_cross_origin(
    config: *mut authgate_config,
    refuse: bool,
) -> authgate_result {
    update_policy(config, |p| Ok(p.refuse_cross_origin(refuse)))
}

/// Whether a `Host` that is an IP address (IPv4, or IPv6 in brackets) passes the `Host` list
/// whatever the address (off by default): DNS rebinding needs a name, so a server whose
/// addresses change (DHCP) or that is reached through NAT can list only its names.
///
/// Results: OK, NULL_PARAMETER, PANIC. Not synchronized (see `authgate_config`).
///
/// # Safety
/// `config` must be a live config.
#[no_mangle]
pub unsafe extern "C" fn authgate_config_set_allow_any_address(
    config: *mut authgate_config,
    allow: bool,
) -> authgate_result {
    update_policy(config, |p| Ok(p.allow_any_address(allow)))
}

/// Also serves unsafe requests from `origin`, a serialized origin such as
/// `https://hub.example:8443` (UTF-8; scheme, host, optional port, no path; not `null`).
///
/// Results: OK, NULL_PARAMETER, INVALID_UTF8, CONFIG_INVALID_ORIGIN, CONFIG_TOO_MANY (2048
/// bytes of origins), PANIC. On error the config is unchanged. Not synchronized.
///
/// # Safety
/// `config` must be a live config; `origin` must point to `origin_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn authgate_config_allow_origin(
    config: *mut authgate_config,
    origin: *const c_char,
    origin_len: usize,
) -> authgate_result {
    update_policy(config, |p| {
        // SAFETY: promised by the caller.
        let origin = unsafe { text(origin, origin_len) }?;
        Ok(p.allow_origin(origin)?)
    })
}

/// Adds one of the server's own names or addresses (`camera.local`, `192.168.1.20`,
/// `fe80::1`; no port) to the `Host` list. Once it has an entry, a request whose `Host` is
/// not in it is refused (AUTHGATE_REFUSAL_FOREIGN_HOST, 421) whatever its method.
///
/// Results: OK, NULL_PARAMETER, INVALID_UTF8, CONFIG_INVALID_HOST, CONFIG_TOO_MANY (2048
/// bytes of names), PANIC. On error the config is unchanged. Not synchronized.
///
/// # Safety
/// `config` must be a live config; `host` must point to `host_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn authgate_config_allow_host(
    config: *mut authgate_config,
    host: *const c_char,
    host_len: usize,
) -> authgate_result {
    update_policy(config, |p| {
        // SAFETY: promised by the caller.
        let host = unsafe { text(host, host_len) }?;
        Ok(p.allow_host(host)?)
    })
}

fn update_policy(
    config: *mut authgate_config,
    f: impl FnOnce(authgate_core::OriginPolicy) -> Result<authgate_core::OriginPolicy, authgate_result>,
) -> authgate_result {
    run(|| {
        // SAFETY: the caller passes NULL or a live config it has exclusive use of.
        let c = unsafe { config.as_mut() }.ok_or(authgate_result::NullParameter)?;
        let policy = f(c.config.origin().clone())?;
        c.config = c.config.clone().origin_policy(policy);
        Ok(())
    })
}

/// Whether to serve a request, given where it comes from and where it was sent: call it
/// before `authgate_engine_check` (and for routes without authentication too, so that the
/// `Host` list covers them). `*refusal_out` receives AUTHGATE_REFUSAL_NONE (go on) or why the
/// request is refused; answer it with `authgate_refusal_status()` (403, 421 or 400) and log
/// `authgate_refusal_message()`.
///
/// - `method`: the request method, case-sensitive (`POST`), UTF-8.
/// - `headers`: the request's `Host`, `Origin`, `Sec-Fetch-Site` and `Referer`.
///
/// Results: OK (a refusal is not an error), NULL_PARAMETER, INVALID_UTF8 (method),
/// INVALID_ARGUMENT (a length over PTRDIFF_MAX), PANIC; on error `*refusal_out` is NONE.
/// Thread-safe for the engine.
///
/// # Safety
/// `engine` must be a live engine, `method` readable for `method_len` bytes, `headers` a
/// readable struct whose non-NULL pointers are readable for their lengths, `refusal_out`
/// writable.
#[no_mangle]
pub unsafe extern "C" fn authgate_engine_check_origin(
    engine: *const authgate_engine,
    method: *const c_char,
    method_len: usize,
    headers: *const authgate_origin_headers,
    refusal_out: *mut authgate_refusal,
) -> authgate_result {
    run(|| {
        // SAFETY: promised by the caller.
        let out = unsafe { refusal_out.as_mut() }.ok_or(authgate_result::NullParameter)?;
        *out = authgate_refusal::None;
        let e = unsafe { engine.as_ref() }.ok_or(authgate_result::NullParameter)?;
        let h = unsafe { headers.as_ref() }.ok_or(authgate_result::NullParameter)?;
        let method = unsafe { text(method, method_len) }?;
        let headers = OriginHeaders {
            secure: h.secure,
            host: unsafe { opt_bytes(h.host, h.host_len) }?,
            origin: unsafe { opt_bytes(h.origin, h.origin_len) }?,
            sec_fetch_site: unsafe { opt_bytes(h.sec_fetch_site, h.sec_fetch_site_len) }?,
            referer: unsafe { opt_bytes(h.referer, h.referer_len) }?,
        };
        if let Err(r) = e.engine.check_origin(method, &headers) {
            *out = authgate_refusal::from_core(r);
        }
        Ok(())
    })
}

/// The HTTP status to answer a refusal with: 403 (another origin), 421 (foreign `Host`) or
/// 400 (a malformed field); 0 for NONE and unknown values. Thread-safe.
#[no_mangle]
pub extern "C" fn authgate_refusal_status(refusal: u32) -> u16 {
    guard(0, || match authgate_refusal::to_core(refusal) {
        Some(r) => r.status(),
        None if refusal == authgate_refusal::Other as u32 => 400,
        None => 0,
    })
}

/// A static, NUL-terminated English description of a refusal (the core's own text), for
/// logs. Returns: never NULL; static, must not be freed. Thread-safe.
#[no_mangle]
pub extern "C" fn authgate_refusal_message(refusal: u32) -> *const c_char {
    const NONE: &CStr = c"not refused";
    guard(c"unknown refusal".as_ptr(), || match refusal {
        0 => NONE.as_ptr(),
        400..=498 => core_message(refusal).unwrap_or(c"unknown refusal").as_ptr(),
        _ => c"unknown refusal".as_ptr(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every refusal the core declares has its ABI value, under the same name, with the
    /// core's status and message.
    #[test]
    fn every_core_refusal_has_its_abi_value() {
        for (code, name, message) in OriginRefusal::TABLE {
            let r = authgate_refusal::ALL.into_iter().find(|r| *r as u32 == u32::from(*code)).expect(name);
            assert_eq!(format!("{r:?}"), *name);
            let core = authgate_refusal::to_core(r as u32).unwrap();
            assert_eq!(core.code(), *code);
            assert_eq!(authgate_refusal::from_core(core), r);
            assert_eq!(authgate_refusal_status(r as u32), core.status());
            let m = unsafe { CStr::from_ptr(authgate_refusal_message(r as u32)) };
            assert_eq!(m.to_str().unwrap(), *message);
        }
        assert_eq!(authgate_refusal_status(0), 0);
        assert_eq!(authgate_refusal_status(12345), 0);
        assert_eq!(unsafe { CStr::from_ptr(authgate_refusal_message(12345)) }, c"unknown refusal");
    }
}
