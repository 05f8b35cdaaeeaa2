//! `authgate_engine`: one check per request, and the response headers.

use std::ffi::{c_char, c_void};
use std::sync::{Mutex, PoisonError};

use authgate_core::{Body, Context, Engine, ReplayTable, Request, Verdict};

use crate::config::authgate_config;
use crate::credential::{authgate_entropy_callback, CallbackStore};
use crate::verdict::authgate_verdict;
use crate::{authgate_result, bytes, guard, opt_bytes, run, store, text, OutBuf};

/// Nonces whose nonce-count history an engine keeps (the core's `ReplayTable<N>`).
/// When more nonces are in use, the oldest is forgotten and answered `stale=true`.
pub const AUTHGATE_REPLAY_CAPACITY: usize = 1024;

/// Salt bytes `authgate_engine_check` takes.
pub const AUTHGATE_SALT_LEN: usize = 8;

/// Bytes of a nonce key.
pub const AUTHGATE_KEY_LEN: usize = 32;

type CoreEngine = Engine<CallbackStore, Mutex<ReplayTable<AUTHGATE_REPLAY_CAPACITY>>>;

/// A ready engine: configuration, nonce key(s), the credential callbacks and a replay
/// table. Create with `authgate_engine_new`, release with `authgate_engine_free`.
///
/// Thread-safety: every function taking a `const authgate_engine *` may be called from any
/// number of threads at once on the same engine. The only mutable state, the replay table
/// (`AUTHGATE_REPLAY_CAPACITY` nonces), is guarded by a `std::sync::Mutex` held only while
/// one (nonce, nc) pair is checked and recorded, after the response was verified. The
/// callbacks are then called concurrently and must be thread-safe. `authgate_engine_free`
/// needs exclusive access.
pub struct authgate_engine {
    pub(crate) engine: CoreEngine,
    entropy: authgate_entropy_callback,
    entropy_userdata: *mut c_void,
    /// NTLM handshakes, authenticated connections and the Negotiate acceptor.
    pub(crate) connections: crate::connection::Connections,
}

// SAFETY: the core engine is Sync with these stores (the replay table is behind a Mutex);
// the entropy userdata is only passed back to the caller's thread-safe callback, as the
// header documents.
unsafe impl Send for authgate_engine {}
// SAFETY: as above.
unsafe impl Sync for authgate_engine {}

/// Builds an engine from `config` (copied: the config can be freed or changed afterwards
/// without affecting the engine) and a 32-byte nonce key from a good entropy source
/// (copied). Engines sharing a key and realm accept each other's nonces (not their replay
/// history).
///
/// On success `*engine_out` receives a new engine owned by the caller, to be released with
/// `authgate_engine_free`; on failure it is left untouched.
///
/// Results: OK, NULL_PARAMETER, INVALID_ARGUMENT (`key_len` not 32), CONFIG_NO_QOP,
/// CONFIG_NO_SCHEME, PANIC. Thread-safe (the config must not be modified meanwhile).
///
/// # Safety
/// `config` must be a live config; `key` must point to `key_len` readable bytes;
/// `engine_out` must be writable.
#[no_mangle]
pub unsafe extern "C" fn authgate_engine_new(
    config: *const authgate_config,
    key: *const u8,
    key_len: usize,
    engine_out: *mut *mut authgate_engine,
) -> authgate_result {
    run(|| {
        // SAFETY: promised by the caller.
        let (c, key) = unsafe { (config.as_ref().ok_or(authgate_result::NullParameter)?, bytes(key, key_len)?) };
        if engine_out.is_null() {
            return Err(authgate_result::NullParameter);
        }
        let key: &[u8; 32] = key.try_into().map_err(|_| authgate_result::InvalidArgument)?;
        let store = CallbackStore {
            lookup: c.lookup,
            lookup_userdata: c.lookup_userdata,
            bearer: c.bearer,
            bearer_userdata: c.bearer_userdata,
            decoy: Mutex::new(None),
            decoy_rank: std::sync::atomic::AtomicU64::new(0),
            file: c.htfile.clone(),
        };
        let mut engine = Engine::new(c.config.clone(), key, store, Mutex::new(ReplayTable::new()))?;
        if let Some(prev) = &c.previous_key {
            engine = engine.with_previous_key(prev);
        }
        let boxed = Box::new(authgate_engine {
            engine,
            entropy: c.entropy,
            entropy_userdata: c.entropy_userdata,
            connections: crate::connection::Connections::new(&c.negotiate),
        });
        // SAFETY: checked non-NULL above.
        unsafe { store_ptr(engine_out, Box::into_raw(boxed)) }
    })
}

/// # Safety
/// `out` must be non-NULL and writable.
unsafe fn store_ptr<T>(out: *mut *mut T, value: *mut T) -> Result<(), authgate_result> {
    // SAFETY: forwarded.
    unsafe { store(out, value) }
}

/// Releases an engine and its replay table. NULL is ignored. Needs exclusive access: join
/// the threads using the engine first; no other call on it may run or follow. Verdicts
/// it produced stay valid (they do not point into the engine).
///
/// # Safety
/// `engine` must be NULL or a pointer from `authgate_engine_new` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn authgate_engine_free(engine: *mut authgate_engine) {
    guard((), || {
        if !engine.is_null() {
            // SAFETY: ownership handed back by the caller.
            drop(unsafe { Box::from_raw(engine) });
        }
    })
}

/// Authenticates one request and stores the answer in `verdict_out`.
///
/// - `method`: the request method (`GET`, ...), UTF-8.
/// - `target`: the request-target exactly as on the request line (path and query, before
///   any percent-decoding), UTF-8. A Digest `uri` must equal it byte for byte.
/// - `authorization`: the `Authorization` field value (without the field name), or NULL
///   when the request has none. For a request with several `Authorization` fields pass a
///   non-NULL pointer with length 0: it is answered as malformed (400).
/// - `now`: the time in seconds (e.g. `time(NULL)`), the same clock for every engine that
///   shares the nonce key.
/// - `salt`: 8 unpredictable bytes used only if a nonce is issued, or NULL to take them
///   from the config's entropy callback.
/// - `verdict_out`: a verdict from `authgate_verdict_new`, overwritten.
///
/// A result of OK means a verdict was produced: AUTHENTICATED (200), CHALLENGE (401) or
/// MALFORMED (400, a malformed value is not an error of this call). Any other result
/// leaves the verdict with kind NONE.
///
/// Results: OK, NULL_PARAMETER, INVALID_UTF8 (method or target), ENTROPY_FAILED,
/// INVALID_ARGUMENT, PANIC.
///
/// Thread-safe for the engine (see `authgate_engine`); the verdict needs exclusive use.
/// May call the credential and entropy callbacks, on the calling thread.
///
/// # Safety
/// All non-NULL pointers must be valid for their lengths (`salt` for 8 bytes).
#[no_mangle]
pub unsafe extern "C" fn authgate_engine_check(
    engine: *const authgate_engine,
    method: *const c_char,
    method_len: usize,
    target: *const c_char,
    target_len: usize,
    authorization: *const u8,
    authorization_len: usize,
    now: u64,
    salt: *const u8,
    verdict_out: *mut authgate_verdict,
) -> authgate_result {
    // SAFETY: forwarded.
    unsafe {
        check(
            engine,
            (method, method_len),
            (target, target_len),
            (authorization, authorization_len),
            None,
            now,
            salt,
            verdict_out,
            None,
        )
    }
}

/// `authgate_engine_check` with the request body, for Digest `qop=auth-int` (which must be
/// offered with `authgate_config_set_qop`). `body` may be NULL with `body_len` 0 for an
/// empty body. Same results, ownership and thread-safety.
///
/// # Safety
/// As `authgate_engine_check`; `body` readable for `body_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn authgate_engine_check_body(
    engine: *const authgate_engine,
    method: *const c_char,
    method_len: usize,
    target: *const c_char,
    target_len: usize,
    authorization: *const u8,
    authorization_len: usize,
    body: *const u8,
    body_len: usize,
    now: u64,
    salt: *const u8,
    verdict_out: *mut authgate_verdict,
) -> authgate_result {
    let body: (*const u8, usize) = if body.is_null() && body_len == 0 { (b"".as_ptr(), 0) } else { (body, body_len) };
    // SAFETY: forwarded.
    unsafe {
        check(
            engine,
            (method, method_len),
            (target, target_len),
            (authorization, authorization_len),
            Some(body),
            now,
            salt,
            verdict_out,
            None,
        )
    }
}

/// The check of every `authgate_engine_check*`; `connection` for
/// `authgate_engine_check_connection`.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn check(
    engine: *const authgate_engine,
    method: (*const c_char, usize),
    target: (*const c_char, usize),
    authorization: (*const u8, usize),
    body: Option<(*const u8, usize)>,
    now: u64,
    salt: *const u8,
    verdict_out: *mut authgate_verdict,
    connection: Option<u64>,
) -> authgate_result {
    run(|| {
        // SAFETY: every pointer is NULL or valid, as promised by the caller.
        let verdict = unsafe { verdict_out.as_mut() }.ok_or(authgate_result::NullParameter)?;
        verdict.clear();
        let e = unsafe { engine.as_ref() }.ok_or(authgate_result::NullParameter)?;
        let method = unsafe { text(method.0, method.1) }?;
        let target = unsafe { text(target.0, target.1) }?;
        let authorization = unsafe { opt_bytes(authorization.0, authorization.1) }?;
        let body = match body {
            Some((p, n)) => Body::Bytes(unsafe { bytes(p, n) }?),
            None => Body::Unavailable,
        };
        let salt: [u8; 8] = if salt.is_null() {
            e.entropy()?
        } else {
            unsafe { bytes(salt, 8) }?.try_into().map_err(|_| authgate_result::InvalidArgument)?
        };
        let req = Request { method, target, authorization, body };
        match connection {
            None => verdict.set(e.engine.check(&req, Context { now, salt })),
            Some(id) => crate::connection::check_on(e, &req, Context { now, salt }, id, verdict)?,
        }
        Ok(())
    })
}

impl authgate_engine {
    pub(crate) fn entropy(&self) -> Result<[u8; 8], authgate_result> {
        let callback = self.entropy.ok_or(authgate_result::EntropyFailed)?;
        let mut salt = [0u8; 8];
        // SAFETY: `salt` is a live local of the length passed; the callback's contract is
        // the caller's.
        match unsafe { callback(self.entropy_userdata, salt.as_mut_ptr(), salt.len()) } {
            0 => Ok(salt),
            _ => Err(authgate_result::EntropyFailed),
        }
    }
}

/// How many `WWW-Authenticate` values a challenge has: one per offered Digest algorithm,
/// one for Basic, one for Bearer, in order of preference. 0 for NULL. Thread-safe.
///
/// # Safety
/// `engine` must be NULL or a live engine.
#[no_mangle]
pub unsafe extern "C" fn authgate_engine_challenge_count(engine: *const authgate_engine) -> usize {
    guard(0, || unsafe { engine.as_ref() }.map_or(0, |e| e.engine.challenge_count()))
}

/// Writes the `index`-th `WWW-Authenticate` value of a CHALLENGE verdict into `buf`
/// (`buf_len` bytes), NUL-terminated; `*out_len` receives its length (without the NUL),
/// also when the buffer is too small. Send each value as its own `WWW-Authenticate`
/// field, `index` from 0 to `authgate_engine_challenge_count(engine) - 1`: clients parse
/// separate fields more reliably than one joined list. 1024 bytes always suffice (a
/// 128-byte realm and opaque, every option on).
///
/// Results: OK, NULL_PARAMETER, BUFFER_TOO_SMALL, WRONG_VERDICT (not a challenge),
/// INVALID_ARGUMENT (`index` out of range), PANIC.
///
/// Thread-safe for the engine; pass the verdict produced by this engine.
///
/// # Safety
/// `engine`, `verdict` live; `buf` writable for `buf_len` bytes (NULL if 0); `out_len`
/// writable.
#[no_mangle]
pub unsafe extern "C" fn authgate_engine_write_challenge(
    engine: *const authgate_engine,
    verdict: *const authgate_verdict,
    index: usize,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> authgate_result {
    run(|| {
        // SAFETY: promised by the caller.
        let (e, ch, out) = unsafe { render_args(engine, verdict, buf, buf_len, out_len) }?;
        let Some(Verdict::Challenge(ch)) = ch else {
            return Err(authgate_result::WrongVerdict);
        };
        if index >= e.engine.challenge_count() {
            return Err(authgate_result::InvalidArgument);
        }
        out.write(|b| e.engine.write_challenge(ch, index, b).map_err(|t| t.needed))
    })
}

/// Writes all challenges of a CHALLENGE verdict as one comma-separated `WWW-Authenticate`
/// value (RFC 9110 §11.6.1), into the caller's buffer (nothing to free). Same buffer
/// contract, thread-safety and results as `authgate_engine_write_challenge` except
/// INVALID_ARGUMENT: OK, NULL_PARAMETER, BUFFER_TOO_SMALL, WRONG_VERDICT, PANIC.
///
/// # Safety
/// As `authgate_engine_write_challenge`.
#[no_mangle]
pub unsafe extern "C" fn authgate_engine_write_challenges(
    engine: *const authgate_engine,
    verdict: *const authgate_verdict,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> authgate_result {
    run(|| {
        // SAFETY: promised by the caller.
        let (e, ch, out) = unsafe { render_args(engine, verdict, buf, buf_len, out_len) }?;
        let Some(Verdict::Challenge(ch)) = ch else {
            return Err(authgate_result::WrongVerdict);
        };
        out.write(|b| e.engine.write_challenges(ch, b).map_err(|t| t.needed))
    })
}

/// Writes the `Authentication-Info` value of an AUTHENTICATED verdict (Digest with qop:
/// `rspauth`, `qop`, `nc`, `cnonce`, and `nextnonce` once the nonce is past half its
/// lifetime). An empty value (`*out_len` 0, result OK) means: send no such field (Basic,
/// Bearer, RFC 2069). Same buffer contract as `authgate_engine_write_challenge`; 1024
/// bytes always suffice.
///
/// Results: OK, NULL_PARAMETER, BUFFER_TOO_SMALL, WRONG_VERDICT (not authenticated),
/// PANIC. Thread-safe for the engine.
///
/// # Safety
/// As `authgate_engine_write_challenge`.
#[no_mangle]
pub unsafe extern "C" fn authgate_engine_write_authentication_info(
    engine: *const authgate_engine,
    verdict: *const authgate_verdict,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> authgate_result {
    run(|| {
        // SAFETY: promised by the caller.
        let (e, v, out) = unsafe { render_args(engine, verdict, buf, buf_len, out_len) }?;
        let Some(Verdict::Authenticated(a)) = v else {
            return Err(authgate_result::WrongVerdict);
        };
        match &a.auth_info {
            Some(info) => out.write(|b| e.engine.write_authentication_info(info, b).map_err(|t| t.needed)),
            None => out.copy(b""),
        }
    })
}

/// # Safety
/// As `authgate_engine_write_challenge`.
unsafe fn render_args<'a>(
    engine: *const authgate_engine,
    verdict: *const authgate_verdict,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> Result<(&'a authgate_engine, Option<&'a Verdict>, OutBuf<'a>), authgate_result> {
    // SAFETY: promised by the caller.
    unsafe {
        let e = engine.as_ref().ok_or(authgate_result::NullParameter)?;
        let v = verdict.as_ref().ok_or(authgate_result::NullParameter)?;
        let out = OutBuf::new(buf, buf_len, out_len)?;
        Ok((e, v.verdict.as_ref(), out))
    }
}

/// Forgets the replay history of nonces that have expired at `now` (they are answered
/// `stale=true` whatever the table says), making room in the table. Optional: a full table
/// evicts its oldest nonce anyway. Thread-safe (takes the replay table's lock).
///
/// Results: OK, NULL_PARAMETER, PANIC.
///
/// # Safety
/// `engine` must be NULL or a live engine.
#[no_mangle]
pub unsafe extern "C" fn authgate_engine_purge_expired(engine: *const authgate_engine, now: u64) -> authgate_result {
    run(|| {
        // SAFETY: promised by the caller.
        let e = unsafe { engine.as_ref() }.ok_or(authgate_result::NullParameter)?;
        let cutoff = now.saturating_sub(e.engine.config().lifetime().max_age);
        let mut table = e.engine.replay().lock().unwrap_or_else(PoisonError::into_inner);
        table.purge_before(cutoff);
        Ok(())
    })
}
