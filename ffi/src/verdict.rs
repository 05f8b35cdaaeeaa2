//! `authgate_verdict`: the answer for one request, reusable across requests.

use std::ffi::c_char;

use authgate_core::limits::MAX_USERNAME_LEN;
use authgate_core::Verdict;

use crate::{authgate_reason, authgate_result, authgate_scheme, guard, run, store};

/// What the engine decided.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum authgate_verdict_kind {
    /// No verdict: the verdict is new, or the last check returned an error.
    None = 0,
    /// Serve the request (HTTP 200); read the user with `authgate_verdict_user`, send
    /// `authgate_engine_write_authentication_info` when it is not empty.
    Authenticated = 1,
    /// Answer 401 with the `WWW-Authenticate` values of `authgate_engine_write_challenge`.
    Challenge = 2,
    /// Answer 400: the `Authorization` value is malformed (`authgate_verdict_error`).
    Malformed = 3,
}

/// The engine's answer for one request. Create one with `authgate_verdict_new` and pass it
/// to `authgate_engine_check` as often as you like: each check overwrites it, so one
/// verdict per thread (or per request in flight) is enough and no allocation happens per
/// request. Everything read from it (the user name) stays valid until the next check
/// into it or `authgate_verdict_free`.
///
/// Not synchronized: use a verdict from one thread at a time. Distinct verdicts can be
/// used concurrently with the same engine.
pub struct authgate_verdict {
    pub(crate) verdict: Option<Verdict>,
    /// The authenticated user's name, NUL-terminated.
    user: [u8; MAX_USERNAME_LEN + 1],
    /// The `WWW-Authenticate` value of an NTLM or Negotiate token for the client.
    pub(crate) token: Vec<u8>,
}

impl authgate_verdict {
    pub(crate) fn clear(&mut self) {
        self.verdict = None;
        self.user[0] = 0;
        self.token.clear();
    }

    pub(crate) fn set(&mut self, v: Verdict) {
        if let Verdict::Authenticated(a) = &v {
            let name = a.user.as_bytes();
            // A UserName holds at most MAX_USERNAME_LEN bytes, never a NUL (the core
            // refuses control characters in names).
            let n = name.len().min(MAX_USERNAME_LEN);
            self.user[..n].copy_from_slice(&name[..n]);
            self.user[n] = 0;
        }
        self.verdict = Some(v);
    }
}

/// Allocates an empty verdict (kind NONE). Owned by the caller: release it with
/// `authgate_verdict_free`. Returns NULL only if a panic was caught. Thread-safe.
#[no_mangle]
pub extern "C" fn authgate_verdict_new() -> *mut authgate_verdict {
    guard(std::ptr::null_mut(), || {
        Box::into_raw(Box::new(authgate_verdict { verdict: None, user: [0; MAX_USERNAME_LEN + 1], token: Vec::new() }))
    })
}

/// Releases a verdict. NULL is ignored. Pointers read from it become invalid.
///
/// # Safety
/// `verdict` must be NULL or a pointer from `authgate_verdict_new` not yet freed, not in
/// use by another thread.
#[no_mangle]
pub unsafe extern "C" fn authgate_verdict_free(verdict: *mut authgate_verdict) {
    guard((), || {
        if !verdict.is_null() {
            // SAFETY: ownership handed back by the caller.
            drop(unsafe { Box::from_raw(verdict) });
        }
    })
}

/// # Safety
/// `v` must be NULL or a live verdict.
unsafe fn read<'a>(v: *const authgate_verdict) -> Option<&'a Verdict> {
    // SAFETY: promised by the caller; callers use the reference within one call.
    unsafe { v.as_ref() }.and_then(|v| v.verdict.as_ref())
}

/// The kind of the verdict; NONE for NULL. Reads the verdict: not synchronized with a
/// check into it on another thread (see `authgate_verdict`).
///
/// # Safety
/// `verdict` must be NULL or a live verdict.
#[no_mangle]
pub unsafe extern "C" fn authgate_verdict_get_kind(verdict: *const authgate_verdict) -> authgate_verdict_kind {
    guard(authgate_verdict_kind::None, || match unsafe { read(verdict) } {
        None => authgate_verdict_kind::None,
        Some(Verdict::Authenticated(_)) => authgate_verdict_kind::Authenticated,
        Some(Verdict::Challenge(_)) => authgate_verdict_kind::Challenge,
        Some(Verdict::Malformed(_)) => authgate_verdict_kind::Malformed,
    })
}

/// The HTTP status to answer with when authentication is required: 200, 401 or 400; 0 for
/// no verdict or NULL.
///
/// Reads the verdict: not synchronized with a check into it on another thread.
///
/// # Safety
/// `verdict` must be NULL or a live verdict.
#[no_mangle]
pub unsafe extern "C" fn authgate_verdict_status(verdict: *const authgate_verdict) -> u16 {
    guard(0, || unsafe { read(verdict) }.map_or(0, Verdict::status))
}

/// Why a challenge was issued; NONE when the verdict is not a challenge.
///
/// Reads the verdict: not synchronized with a check into it on another thread.
///
/// # Safety
/// `verdict` must be NULL or a live verdict.
#[no_mangle]
pub unsafe extern "C" fn authgate_verdict_reason(verdict: *const authgate_verdict) -> authgate_reason {
    guard(authgate_reason::None, || match unsafe { read(verdict) } {
        Some(Verdict::Challenge(c)) => authgate_reason::from_core(c.reason),
        _ => authgate_reason::None,
    })
}

/// Whether the challenge carries `stale=true` (the client knew the password but its nonce
/// expired); false when the verdict is not a challenge.
///
/// Reads the verdict: not synchronized with a check into it on another thread.
///
/// # Safety
/// `verdict` must be NULL or a live verdict.
#[no_mangle]
pub unsafe extern "C" fn authgate_verdict_stale(verdict: *const authgate_verdict) -> bool {
    guard(false, || matches!(unsafe { read(verdict) }, Some(Verdict::Challenge(c)) if c.stale))
}

/// Why the `Authorization` value is malformed: an `AUTHGATE_RESULT_MALFORMED_*` code;
/// OK when the verdict is not MALFORMED.
///
/// Reads the verdict: not synchronized with a check into it on another thread.
///
/// # Safety
/// `verdict` must be NULL or a live verdict.
#[no_mangle]
pub unsafe extern "C" fn authgate_verdict_error(verdict: *const authgate_verdict) -> authgate_result {
    guard(authgate_result::Panic, || match unsafe { read(verdict) } {
        Some(Verdict::Malformed(e)) => (*e).into(),
        _ => authgate_result::Ok,
    })
}

/// The scheme that authenticated the request; NONE when not AUTHENTICATED.
///
/// Reads the verdict: not synchronized with a check into it on another thread.
///
/// # Safety
/// `verdict` must be NULL or a live verdict.
#[no_mangle]
pub unsafe extern "C" fn authgate_verdict_scheme(verdict: *const authgate_verdict) -> authgate_scheme {
    guard(authgate_scheme::None, || match unsafe { read(verdict) } {
        Some(Verdict::Authenticated(a)) => authgate_scheme::from_core(a.scheme),
        _ => authgate_scheme::None,
    })
}

/// The authenticated user's name, without copying: `*name_out` points into the verdict
/// (UTF-8, NUL-terminated, at most 128 bytes; `*name_len_out` excludes the NUL). It stays
/// valid until the next check into this verdict or `authgate_verdict_free`; do not free it.
///
/// Results: OK, NULL_PARAMETER, WRONG_VERDICT (not AUTHENTICATED; the outputs are then
/// untouched), PANIC. Reads the verdict: not synchronized with a check into it on another
/// thread.
///
/// # Safety
/// `verdict` must be a live verdict; `name_out` and `name_len_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn authgate_verdict_user(
    verdict: *const authgate_verdict,
    name_out: *mut *const c_char,
    name_len_out: *mut usize,
) -> authgate_result {
    run(|| {
        // SAFETY: promised by the caller.
        let v = unsafe { verdict.as_ref() }.ok_or(authgate_result::NullParameter)?;
        if name_out.is_null() || name_len_out.is_null() {
            return Err(authgate_result::NullParameter);
        }
        let Some(Verdict::Authenticated(a)) = &v.verdict else {
            return Err(authgate_result::WrongVerdict);
        };
        // SAFETY: both checked non-NULL; writable as promised.
        unsafe {
            store(name_out, v.user.as_ptr().cast())?;
            store(name_len_out, a.user.len())
        }
    })
}
