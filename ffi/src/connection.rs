//! NTLM and Negotiate through the C ABI: the connection id of each request, the
//! connection table in the engine, and the Negotiate acceptor as a C callback.

use std::ffi::{c_char, c_void};
use std::sync::Mutex;

use authgate_core::limits::{MAX_CONNECTION_HEADER_LEN, MAX_SERVER_TOKEN_LEN, MAX_USERNAME_LEN};
use authgate_core::{
    AcceptorStep, Connection, Context, HandshakeStore, HandshakeTable, NegotiateAcceptor, Request, StoredCredential,
    UserName,
};

use crate::config::authgate_config;
use crate::credential::authgate_credential;
use crate::engine::authgate_engine;
use crate::verdict::authgate_verdict;
use crate::{authgate_result, bytes, run, OutBuf};

/// Connections an engine tracks at once: NTLM handshakes in progress and connections
/// authenticated by NTLM (or Negotiate, with `authgate_config_bind_negotiate`). A full
/// table refuses new handshakes rather than evict one in progress (reason
/// HANDSHAKE_TABLE_FULL), and forgets the least recently used authenticated connection
/// first (it authenticates again on its next request).
pub const AUTHGATE_CONNECTION_CAPACITY: usize = 1024;

/// What a Negotiate acceptor made of one client token.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum authgate_negotiate_step {
    /// Refused (bad, expired or replayed ticket, wrong key, unusable mechanism): the
    /// engine answers 401 with fresh challenges.
    Refused = 0,
    /// Another round: `*output_len` bytes of `output` go to the client with a 401.
    Continue = 1,
    /// Authenticated as the principal written to `principal`; `*output_len` bytes of
    /// `output` (0: none) go to the client with the 200 (mutual authentication).
    Complete = 2,
}

/// Steps the Negotiate acceptor (for Kerberos: `gss_accept_sec_context`) of connection
/// `connection` with the client's decoded token. Called by
/// `authgate_engine_check_connection` for every Negotiate token that is not NTLM, on the
/// calling thread; with a shared engine possibly from several threads at once (for
/// different connections): it must be thread-safe.
///
/// - `token`, `token_len`: the client's token (base64 already decoded and bounded by the
///   engine), valid during the call.
/// - `output`, `output_cap`: where to write a token for the client (at most `output_cap`,
///   1024 bytes); its length goes to `*output_len`.
/// - `principal`, `principal_cap`: where to write the authenticated principal (UTF-8, at
///   most 128 bytes, no NUL needed); its length goes to `*principal_len`.
///
/// Keep the acceptor's context per connection while the answer is CONTINUE; drop it on
/// COMPLETE or REFUSED, and in the closed callback. Must return normally (no longjmp).
pub type authgate_negotiate_callback = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        connection: u64,
        token: *const u8,
        token_len: usize,
        output: *mut u8,
        output_cap: usize,
        output_len: *mut usize,
        principal: *mut c_char,
        principal_cap: usize,
        principal_len: *mut usize,
    ) -> authgate_negotiate_step,
>;

/// The connection `connection` closed (`authgate_engine_connection_closed`): drop the
/// acceptor's context for it, if any.
pub type authgate_connection_closed_callback = Option<unsafe extern "C" fn(userdata: *mut c_void, connection: u64)>;

/// The Negotiate settings of a config.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NegotiateSettings {
    step: authgate_negotiate_callback,
    closed: authgate_connection_closed_callback,
    userdata: *mut c_void,
    bind: bool,
}

impl Default for NegotiateSettings {
    fn default() -> Self {
        NegotiateSettings { step: None, closed: None, userdata: std::ptr::null_mut(), bind: false }
    }
}

/// The C callbacks as the core's acceptor.
struct CallbackAcceptor(NegotiateSettings);

impl NegotiateAcceptor for CallbackAcceptor {
    fn step(&self, connection: u64, token: &[u8], output: &mut [u8]) -> AcceptorStep {
        let Some(step) = self.0.step else { return AcceptorStep::Refused };
        let (mut output_len, mut principal_len) = (0usize, 0usize);
        let mut principal = [0u8; MAX_USERNAME_LEN];
        // SAFETY: every buffer is a live local or the engine's, valid for the lengths
        // passed; the callback's own safety is the caller's contract.
        let answer = unsafe {
            step(
                self.0.userdata,
                connection,
                token.as_ptr(),
                token.len(),
                output.as_mut_ptr(),
                output.len(),
                &mut output_len,
                principal.as_mut_ptr().cast(),
                principal.len(),
                &mut principal_len,
            )
        };
        // Lengths past the buffers are refusals, never trusted.
        if output_len > output.len() || principal_len > principal.len() {
            return AcceptorStep::Refused;
        }
        match answer {
            authgate_negotiate_step::Continue => AcceptorStep::Continue { output_len },
            authgate_negotiate_step::Complete => {
                let name =
                    std::str::from_utf8(&principal[..principal_len]).ok().and_then(|p| UserName::try_from(p).ok());
                match name {
                    Some(principal) if !principal.is_empty() => AcceptorStep::Complete { principal, output_len },
                    _ => AcceptorStep::Refused,
                }
            }
            authgate_negotiate_step::Refused => AcceptorStep::Refused,
        }
    }

    fn forget(&self, connection: u64) {
        if let Some(closed) = self.0.closed {
            // SAFETY: the caller's contract.
            unsafe { closed(self.0.userdata, connection) }
        }
    }
}

/// An engine's connection state.
pub(crate) struct Connections {
    table: Box<Mutex<HandshakeTable<AUTHGATE_CONNECTION_CAPACITY>>>,
    acceptor: CallbackAcceptor,
}

impl Connections {
    pub(crate) fn new(settings: &NegotiateSettings) -> Self {
        Connections { table: Box::new(Mutex::new(HandshakeTable::new())), acceptor: CallbackAcceptor(*settings) }
    }
}

/// Sets the Negotiate acceptor: `step` for each Negotiate token that is not NTLM (see
/// `authgate_negotiate_callback`), `closed` (may be NULL) when a connection closes.
/// Without an acceptor, Negotiate carries only NTLM (when NTLM is offered too) and other
/// tokens are answered 401 (reason UNSUPPORTED_MECHANISM). Offering Negotiate also needs
/// `authgate_config_set_schemes`. `userdata` is passed back to both, from any thread.
///
/// Results: OK, NULL_PARAMETER (config), PANIC. Not synchronized.
///
/// # Safety
/// `config` must be NULL or a live config.
#[no_mangle]
pub unsafe extern "C" fn authgate_config_set_negotiate_acceptor(
    config: *mut authgate_config,
    step: authgate_negotiate_callback,
    closed: authgate_connection_closed_callback,
    userdata: *mut c_void,
) -> authgate_result {
    run(|| {
        // SAFETY: the caller passes NULL or a live config it has exclusive use of.
        let c = unsafe { config.as_mut() }.ok_or(authgate_result::NullParameter)?;
        c.negotiate = NegotiateSettings { step, closed, userdata, bind: c.negotiate.bind };
        Ok(())
    })
}

/// Whether a Negotiate (Kerberos) success also authenticates the later requests of the
/// connection that carry no credentials, as IIS does (default: no). Leave it off behind a
/// proxy that reuses its upstream connections for several clients. NTLM's success always
/// holds for the connection: its clients send credentials once per connection, so NTLM
/// needs direct connections (or a proxy pinning each client to its own).
///
/// Results: OK, NULL_PARAMETER, PANIC. Not synchronized.
///
/// # Safety
/// `config` must be NULL or a live config.
#[no_mangle]
pub unsafe extern "C" fn authgate_config_bind_negotiate(config: *mut authgate_config, bind: bool) -> authgate_result {
    run(|| {
        // SAFETY: as above.
        let c = unsafe { config.as_mut() }.ok_or(authgate_result::NullParameter)?;
        c.negotiate.bind = bind;
        Ok(())
    })
}

/// `authgate_engine_check` for a request on connection `connection`: NTLM and Negotiate
/// need it (their handshakes span requests of one connection, RFC 4559 / MS-NTHT), the
/// other schemes are checked as by `authgate_engine_check`. A request without credentials
/// on a connection NTLM authenticated is AUTHENTICATED as that user.
///
/// `connection` must identify the TCP connection and never be reused for another one (a
/// counter incremented per accepted connection, not the socket): a reused id would give
/// a new connection the old one's authentication. Call
/// `authgate_engine_connection_closed` when the connection closes.
///
/// When `authgate_verdict_write_token` gives a non-empty value, send it as the only
/// `WWW-Authenticate` field of the 401 (the handshake continues), or as a
/// `WWW-Authenticate` field of the 200 (Negotiate's mutual authentication). Keep the
/// connection open after such a 401.
///
/// Same arguments otherwise, results, thread-safety and callbacks as
/// `authgate_engine_check`, plus the Negotiate acceptor. `authorization` may be up to
/// 16 KiB for these schemes (Kerberos tickets).
///
/// # Safety
/// As `authgate_engine_check`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn authgate_engine_check_connection(
    engine: *const authgate_engine,
    method: *const c_char,
    method_len: usize,
    target: *const c_char,
    target_len: usize,
    authorization: *const u8,
    authorization_len: usize,
    connection: u64,
    now: u64,
    salt: *const u8,
    verdict_out: *mut authgate_verdict,
) -> authgate_result {
    // SAFETY: forwarded.
    unsafe {
        crate::engine::check(
            engine,
            (method, method_len),
            (target, target_len),
            (authorization, authorization_len),
            None,
            now,
            salt,
            verdict_out,
            Some(connection),
        )
    }
}

/// `Engine::check_connection` with the engine's table and acceptor; the token for the client
/// rendered into the verdict.
pub(crate) fn check_on(
    e: &authgate_engine,
    req: &Request<'_>,
    ctx: Context,
    connection: u64,
    verdict: &mut authgate_verdict,
) -> Result<(), authgate_result> {
    let c = &e.connections;
    let mut scratch = vec![0u8; MAX_CONNECTION_HEADER_LEN + MAX_SERVER_TOKEN_LEN];
    let mut conn = Connection::new(connection, &mut scratch).handshakes(&*c.table).bind_negotiate(c.acceptor.0.bind);
    if c.acceptor.0.step.is_some() {
        conn = conn.acceptor(&c.acceptor);
    }
    let v = e.engine.check_connection(req, ctx, &mut conn);
    if let Some(t) = conn.token() {
        let mut buf = vec![0u8; 16 + 4 * MAX_SERVER_TOKEN_LEN.div_ceil(3)];
        let n = t.write(&mut buf).map_err(|_| authgate_result::Panic)?;
        buf.truncate(n);
        verdict.token = buf;
    }
    verdict.set(v);
    Ok(())
}

/// The connection `connection` closed: the engine forgets its handshake or
/// authentication and calls the acceptor's closed callback. Thread-safe.
///
/// Results: OK, NULL_PARAMETER, PANIC.
///
/// # Safety
/// `engine` must be NULL or a live engine.
#[no_mangle]
pub unsafe extern "C" fn authgate_engine_connection_closed(
    engine: *const authgate_engine,
    connection: u64,
) -> authgate_result {
    run(|| {
        // SAFETY: promised by the caller.
        let e = unsafe { engine.as_ref() }.ok_or(authgate_result::NullParameter)?;
        e.connections.table.forget(connection);
        e.connections.acceptor.forget(connection);
        Ok(())
    })
}

/// Writes the `WWW-Authenticate` value carrying the NTLM or Negotiate token the last
/// `authgate_engine_check_connection` left for the client (`NTLM <base64>` or
/// `Negotiate <base64>`), NUL-terminated; an empty value (`*out_len` 0, OK) when there is
/// none. 1500 bytes always suffice. Buffer contract as `authgate_engine_write_challenge`.
///
/// Results: OK, NULL_PARAMETER, BUFFER_TOO_SMALL, PANIC. Reads the verdict: not
/// synchronized with a check into it on another thread.
///
/// # Safety
/// `verdict` live; `buf` writable for `buf_len` bytes (NULL if 0); `out_len` writable.
#[no_mangle]
pub unsafe extern "C" fn authgate_verdict_write_token(
    verdict: *const authgate_verdict,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> authgate_result {
    run(|| {
        // SAFETY: promised by the caller.
        let v = unsafe { verdict.as_ref() }.ok_or(authgate_result::NullParameter)?;
        let out = unsafe { OutBuf::new(buf, buf_len, out_len) }?;
        out.copy(&v.token)
    })
}

/// Sets an NT hash (16 bytes: MD4 of the UTF-16LE password, as Samba's `pdbedit -w` and
/// Windows keep it). Serves NTLM and Basic (not Digest: CREDENTIAL_UNUSABLE).
///
/// Results: OK, NULL_PARAMETER, INVALID_CREDENTIAL (not 16 bytes), PANIC. Same rules as
/// `authgate_credential_set_plaintext`.
///
/// # Safety
/// `credential` must be the pointer passed to the running callback; `hash` must point to
/// `hash_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn authgate_credential_set_nt_hash(
    credential: *mut authgate_credential,
    hash: *const u8,
    hash_len: usize,
) -> authgate_result {
    run(|| {
        // SAFETY: promised by the caller.
        let (out, hash) = unsafe { (credential.as_mut(), bytes(hash, hash_len)?) };
        let out = out.ok_or(authgate_result::NullParameter)?;
        let hash: [u8; 16] = hash.try_into().map_err(|_| authgate_result::InvalidCredential)?;
        out.set(StoredCredential::NtHash(hash));
        Ok(())
    })
}
