//! Connection-bound authentication: NTLM and Negotiate (RFC 4559, MS-NTHT).
//!
//! Both schemes authenticate a TCP connection, not a request: a handshake takes several
//! requests on one connection, and once it succeeds, clients (curl, browsers) send later
//! requests on that connection without credentials. So the server passes a
//! [`Connection`]: an id that is never reused for another connection, a scratch buffer, the
//! [`HandshakeStore`] where handshakes in progress and authenticated connections are
//! kept, and the [`NegotiateAcceptor`](crate::NegotiateAcceptor) for Kerberos.
//! [`Engine::check_connection`] then answers as [`Engine::check`] does, and when the 401 or
//! the 200 must carry a token for the client, [`Connection::token`] holds it.

use crate::basic::decode_base64;
use crate::credential::{CredentialStore, UserName};
use crate::engine::{Authenticated, Context, Engine, Request, Scheme, Verdict};
use crate::error::{BufferTooSmall, ParseError, Reason};
use crate::limits::{MAX_CONNECTION_HEADER_LEN, MAX_SERVER_TOKEN_LEN};
use crate::replay::ReplayStore;

#[cfg(feature = "ntlm")]
use crate::ntlm::Pending;

/// What a connection's entry holds.
#[derive(Clone, Debug)]
enum State {
    /// An NTLM CHALLENGE was sent; the AUTHENTICATE is awaited.
    #[cfg(feature = "ntlm")]
    Pending(Pending),
    /// The connection is authenticated.
    Authenticated(UserName, Scheme),
}

#[derive(Clone, Debug)]
struct Entry {
    id: u64,
    /// When the entry was last written or read (the caller's seconds).
    used: u64,
    state: State,
}

/// The state of connection-bound authentication: NTLM handshakes in progress and
/// authenticated connections, by connection id.
///
/// Shared by every request of the server (behind a lock, as [`ReplayStore`] is). The table
/// implements it behind a `RefCell` or a `std::sync::Mutex`.
pub trait HandshakeStore {
    /// Records `pending` for connection `id`, replacing what it had. `false` when there is
    /// no room: see [`HandshakeTable`] for what may be evicted.
    #[cfg(feature = "ntlm")]
    fn begin(&self, id: u64, pending: &Pending, now: u64, window: u64) -> bool;
    /// Removes and returns the handshake pending on `id` (each is answered once).
    #[cfg(feature = "ntlm")]
    fn take(&self, id: u64) -> Option<Pending>;
    /// Records that `id` is authenticated as `user` by `scheme`.
    fn authenticated(&self, id: u64, user: &UserName, scheme: Scheme, now: u64, window: u64);
    /// Who `id` is authenticated as.
    fn user(&self, id: u64, now: u64) -> Option<(UserName, Scheme)>;
    /// The connection closed: forget it.
    fn forget(&self, id: u64);
}

/// A fixed-capacity [`HandshakeStore`] of `N` connections.
///
/// Eviction never lets one client push out another's handshake in progress: when the table
/// is full, a new entry takes the place of an NTLM handshake older than the window (the
/// nonce lifetime; it could not complete anyway), else of the authenticated connection
/// least recently used (which simply authenticates again on its next 401); when every entry
/// is a live handshake, the new handshake is refused
/// ([`Reason::HandshakeTableFull`]). Size the table for the connections a server keeps
/// open at once.
#[derive(Clone, Debug)]
pub struct HandshakeTable<const N: usize> {
    entries: heapless::Vec<Entry, N>,
}

impl<const N: usize> Default for HandshakeTable<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> HandshakeTable<N> {
    /// An empty table.
    pub const fn new() -> Self {
        HandshakeTable { entries: heapless::Vec::new() }
    }

    /// Connections tracked.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no connection is tracked.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Handshakes in progress.
    pub fn pending(&self) -> usize {
        self.entries.iter().filter(|e| !matches!(e.state, State::Authenticated(..))).count()
    }

    fn position(&self, id: u64) -> Option<usize> {
        self.entries.iter().position(|e| e.id == id)
    }

    /// Removes entry `i` by moving the last one into its place: a move, never heapless'
    /// `swap_remove`, whose overlapping copy links a 1.3 KiB `memmove` into firmware.
    fn remove(&mut self, i: usize) -> Option<Entry> {
        let last = self.entries.pop()?;
        match self.entries.get_mut(i) {
            Some(slot) => Some(core::mem::replace(slot, last)),
            None => Some(last),
        }
    }

    /// Puts `e` in `e.id`'s entry, a free one, or an evictable one; `false` when none.
    #[cfg_attr(not(feature = "ntlm"), allow(unused_variables))]
    fn insert(&mut self, e: Entry, window: u64) -> bool {
        if let Some(i) = self.position(e.id) {
            self.entries[i] = e;
            return true;
        }
        let now = e.used;
        let e = match self.entries.push(e) {
            Ok(()) => return true,
            Err(e) => e,
        };
        let expired = self.entries.iter().position(|x| match x.state {
            State::Authenticated(..) => false,
            #[cfg(feature = "ntlm")]
            State::Pending(_) => now.saturating_sub(x.used) > window,
        });
        let idle = || {
            let authenticated =
                self.entries.iter().enumerate().filter(|(_, x)| matches!(x.state, State::Authenticated(..)));
            authenticated.min_by_key(|(_, x)| x.used).map(|(i, _)| i)
        };
        match expired.or_else(idle) {
            Some(i) => {
                self.entries[i] = e;
                true
            }
            None => false,
        }
    }

    /// See [`HandshakeStore::begin`].
    #[cfg(feature = "ntlm")]
    pub fn begin(&mut self, id: u64, pending: &Pending, now: u64, window: u64) -> bool {
        self.insert(Entry { id, used: now, state: State::Pending(pending.clone()) }, window)
    }

    /// See [`HandshakeStore::take`].
    #[cfg(feature = "ntlm")]
    pub fn take(&mut self, id: u64) -> Option<Pending> {
        let i = self.position(id)?;
        match &self.entries[i].state {
            State::Pending(_) => match self.remove(i)?.state {
                State::Pending(p) => Some(p),
                State::Authenticated(..) => None,
            },
            State::Authenticated(..) => None,
        }
    }

    /// See [`HandshakeStore::authenticated`]. Not recorded (the connection then
    /// authenticates again on its next request) when the table holds only live handshakes.
    pub fn authenticated(&mut self, id: u64, user: &UserName, scheme: Scheme, now: u64, window: u64) {
        self.insert(Entry { id, used: now, state: State::Authenticated(user.clone(), scheme) }, window);
    }

    /// See [`HandshakeStore::user`].
    pub fn user(&mut self, id: u64, now: u64) -> Option<(UserName, Scheme)> {
        let e = self.entries.iter_mut().find(|e| e.id == id)?;
        match &e.state {
            State::Authenticated(user, scheme) => {
                e.used = now;
                Some((user.clone(), *scheme))
            }
            #[cfg(feature = "ntlm")]
            State::Pending(_) => None,
        }
    }

    /// See [`HandshakeStore::forget`].
    pub fn forget(&mut self, id: u64) {
        if let Some(i) = self.position(id) {
            self.remove(i);
        }
    }
}

/// The table's methods through a lock; `$lock` gives `Option<guard>` (`None`: refuse).
macro_rules! handshake_store_via {
    ($ty:ty, $t:ident => $lock:expr) => {
        impl<const N: usize> HandshakeStore for $ty {
            #[cfg(feature = "ntlm")]
            fn begin(&self, id: u64, pending: &Pending, now: u64, window: u64) -> bool {
                let $t = self;
                $lock.is_some_and(|mut t| t.begin(id, pending, now, window))
            }
            #[cfg(feature = "ntlm")]
            fn take(&self, id: u64) -> Option<Pending> {
                let $t = self;
                $lock?.take(id)
            }
            fn authenticated(&self, id: u64, user: &UserName, scheme: Scheme, now: u64, window: u64) {
                let $t = self;
                if let Some(mut t) = $lock {
                    t.authenticated(id, user, scheme, now, window);
                }
            }
            fn user(&self, id: u64, now: u64) -> Option<(UserName, Scheme)> {
                let $t = self;
                $lock?.user(id, now)
            }
            fn forget(&self, id: u64) {
                let $t = self;
                if let Some(mut t) = $lock {
                    t.forget(id);
                }
            }
        }
    };
}

// Re-entrance is impossible; if it ever happened, refusing is the safe answer.
handshake_store_via!(core::cell::RefCell<HandshakeTable<N>>, t => t.try_borrow_mut().ok());
// A poisoned lock still holds a consistent table: every update is a single store.
#[cfg(feature = "std")]
handshake_store_via!(std::sync::Mutex<HandshakeTable<N>>, t => Some(t.lock().unwrap_or_else(std::sync::PoisonError::into_inner)));

impl<T: HandshakeStore + ?Sized> HandshakeStore for &T {
    #[cfg(feature = "ntlm")]
    fn begin(&self, id: u64, pending: &Pending, now: u64, window: u64) -> bool {
        (**self).begin(id, pending, now, window)
    }
    #[cfg(feature = "ntlm")]
    fn take(&self, id: u64) -> Option<Pending> {
        (**self).take(id)
    }
    fn authenticated(&self, id: u64, user: &UserName, scheme: Scheme, now: u64, window: u64) {
        (**self).authenticated(id, user, scheme, now, window)
    }
    fn user(&self, id: u64, now: u64) -> Option<(UserName, Scheme)> {
        (**self).user(id, now)
    }
    fn forget(&self, id: u64) {
        (**self).forget(id)
    }
}

/// One request's connection, for [`Engine::check_connection`].
pub struct Connection<'c> {
    id: u64,
    scratch: &'c mut [u8],
    handshakes: Option<&'c dyn HandshakeStore>,
    #[cfg(feature = "negotiate")]
    acceptor: Option<&'c dyn crate::NegotiateAcceptor>,
    /// Whether an acceptor's authentication holds for the rest of the connection.
    bind_negotiate: bool,
    /// The token for the client: its scheme, and where it lies in `scratch`.
    token: Option<(Scheme, usize, usize)>,
}

impl core::fmt::Debug for Connection<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection").field("id", &self.id).field("token", &self.token).finish_non_exhaustive()
    }
}

/// A token for the client, from [`Connection::token`]: send it as
/// `WWW-Authenticate: <scheme> <base64>` ([`write`](Self::write)) with the 401 (instead of
/// the challenges) or the 200.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerToken<'a> {
    /// `Ntlm` or `Negotiate`.
    pub scheme: Scheme,
    /// The token, before base64.
    pub bytes: &'a [u8],
}

impl ServerToken<'_> {
    /// Renders the `WWW-Authenticate` value into `buf`.
    pub fn write(&self, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
        let mut w = crate::render::Writer::new(buf);
        w.str(self.scheme.name()).raw(b" ");
        for chunk in self.bytes.chunks(3) {
            let mut block = [0u8; 3];
            block[..chunk.len()].copy_from_slice(chunk);
            let mut enc = [0u8; 4];
            let s = <base64ct::Base64 as base64ct::Encoding>::encode(&block, &mut enc).unwrap_or_default();
            let mut enc4 = [0u8; 4];
            enc4.copy_from_slice(&s.as_bytes()[..4]);
            // A short last block: its padding.
            for b in &mut enc4[chunk.len() + 1..] {
                *b = b'=';
            }
            w.raw(&enc4);
        }
        w.finish()
    }
}

impl<'c> Connection<'c> {
    /// Scratch bytes [`Engine::check_connection`] needs for NTLM: the largest message and
    /// the server's token.
    pub const NTLM_SCRATCH: usize = crate::limits::MAX_NTLM_MESSAGE_LEN + MAX_SERVER_TOKEN_LEN;

    /// The connection `id` (unique for the server's lifetime: a counter, never reused, or a
    /// closed connection's authentication passes to a new one), with `scratch` for decoding
    /// tokens and writing the server's. Negotiate tokens up to `scratch.len()` less
    /// [`MAX_SERVER_TOKEN_LEN`] bytes (decoded) are read; longer ones are refused (400).
    pub fn new(id: u64, scratch: &'c mut [u8]) -> Self {
        Connection {
            id,
            scratch,
            handshakes: None,
            #[cfg(feature = "negotiate")]
            acceptor: None,
            bind_negotiate: false,
            token: None,
        }
    }

    /// Where NTLM handshakes and authenticated connections are kept.
    pub fn handshakes(mut self, store: &'c dyn HandshakeStore) -> Self {
        self.handshakes = Some(store);
        self
    }

    /// The Negotiate acceptor (Kerberos through GSSAPI, say).
    #[cfg(feature = "negotiate")]
    pub fn acceptor(mut self, acceptor: &'c dyn crate::NegotiateAcceptor) -> Self {
        self.acceptor = Some(acceptor);
        self
    }

    /// Whether a Negotiate authentication by the acceptor (Kerberos) also authenticates the
    /// later requests of the connection that carry no credentials, as IIS does by default
    /// and mod_auth_gssapi with `GssapiConnectionBound`. Off by default: behind a proxy that
    /// reuses its upstream connections for several clients, those clients' requests would be
    /// taken for this one's. NTLM's authentication always holds for the connection (its
    /// clients send credentials only once per connection); NTLM therefore needs a direct
    /// connection, or a proxy that pins each client to its own upstream connection.
    pub fn bind_negotiate(mut self, bind: bool) -> Self {
        self.bind_negotiate = bind;
        self
    }

    /// The connection id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The token the last check left for the client, if any.
    pub fn token(&self) -> Option<ServerToken<'_>> {
        let (scheme, at, len) = self.token?;
        Some(ServerToken { scheme, bytes: self.scratch.get(at..at + len)? })
    }

    /// The output area (the front of the scratch buffer) and the input area (the rest).
    fn areas(&mut self) -> (&mut [u8], &mut [u8]) {
        let out = MAX_SERVER_TOKEN_LEN.min(self.scratch.len() / 2);
        self.scratch.split_at_mut(out)
    }
}

/// `NTLM` or `Negotiate`, and the token after it, when `header` is one of those.
fn connection_scheme(header: &[u8]) -> Option<(Scheme, &[u8])> {
    let value = header.trim_ascii();
    let end = value.iter().position(|&b| b == b' ').unwrap_or(value.len());
    let (word, rest) = value.split_at(end);
    let scheme = if word.eq_ignore_ascii_case(b"NTLM") {
        Scheme::Ntlm
    } else if word.eq_ignore_ascii_case(b"Negotiate") {
        Scheme::Negotiate
    } else {
        return None;
    };
    Some((scheme, rest.trim_ascii_start()))
}

impl<S: CredentialStore, R: ReplayStore> Engine<S, R> {
    /// Authenticates one request on `conn`: [`check`](Self::check) for the other schemes,
    /// NTLM and Negotiate rounds for those. A request without credentials on a connection
    /// authenticated by NTLM or Negotiate is authenticated as that user.
    ///
    /// When [`Connection::token`] is set afterwards, a 401 sends that token alone (the
    /// handshake continues) and a 200 sends it too (Negotiate's mutual authentication).
    pub fn check_connection(&self, req: &Request<'_>, ctx: Context, conn: &mut Connection<'_>) -> Verdict {
        conn.token = None;
        let offered = |s: Scheme| self.config().offered_schemes().contains(&s);
        let Some(header) = req.authorization else {
            let known = conn.handshakes.and_then(|h| h.user(conn.id, ctx.now));
            return match known {
                Some((user, scheme)) if offered(scheme) => Verdict::Authenticated(Authenticated::plain(user, scheme)),
                _ => self.check(req, ctx),
            };
        };
        let Some((scheme, token)) = connection_scheme(header).filter(|(s, _)| offered(*s)) else {
            return self.check(req, ctx);
        };
        if header.len() > MAX_CONNECTION_HEADER_LEN {
            return Verdict::Malformed(ParseError::TooLong);
        }
        if token.is_empty() {
            return Verdict::Malformed(ParseError::ExpectedToken68);
        }
        let Some(store) = conn.handshakes else {
            return Verdict::Challenge(self.challenge(Reason::ConnectionRequired, false, ctx));
        };
        let id = conn.id;
        let bind_negotiate = conn.bind_negotiate;
        #[cfg(feature = "negotiate")]
        let acceptor = conn.acceptor;
        // Decoded into the input area; the server's token goes to the output area.
        let (out, input) = conn.areas();
        let limit = match scheme {
            Scheme::Ntlm => crate::limits::MAX_NTLM_MESSAGE_LEN.min(input.len()),
            _ => input.len(),
        };
        // Decoded first: base64 refuses every byte token68 does, so the token68 scan only
        // names the error (a tenth of an AUTHENTICATE check's instructions on 64-bit hosts).
        let too_long = token.len() / 4 * 3 > limit;
        let decoded = if too_long { None } else { decode_base64(token, &mut input[..limit]) };
        let Some(decoded) = decoded else {
            return Verdict::Malformed(if !crate::parse::is_token68(token) {
                ParseError::InvalidToken68
            } else if too_long {
                ParseError::ValueTooLong(if scheme == Scheme::Ntlm { "ntlm" } else { "negotiate" })
            } else {
                ParseError::InvalidTokenBase64
            });
        };
        let mut round = Round { engine: self, store, id, ctx, out, token: None, bind_negotiate };
        let verdict = match scheme {
            Scheme::Ntlm => round.ntlm(decoded, Wrap::Ntlm),
            _ => {
                #[cfg(feature = "negotiate")]
                {
                    round.negotiate(decoded, acceptor)
                }
                #[cfg(not(feature = "negotiate"))]
                Verdict::Challenge(self.challenge(Reason::UnsupportedMechanism, false, ctx))
            }
        };
        conn.token = round.token;
        verdict
    }
}

/// How NTLM messages travel.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(not(all(feature = "ntlm", feature = "negotiate")), allow(dead_code))]
enum Wrap<'t> {
    /// `NTLM <message>`.
    Ntlm,
    /// `Negotiate <message>` (Windows, when Kerberos cannot be used).
    Negotiate,
    /// `Negotiate <SPNEGO token>` whose mechanism is NTLM: the MechTypeList as sent.
    Spnego(&'t [u8]),
}

/// One request's round of a connection-bound handshake.
struct Round<'r, S, R> {
    engine: &'r Engine<S, R>,
    store: &'r dyn HandshakeStore,
    id: u64,
    ctx: Context,
    /// Where the server's token is written.
    out: &'r mut [u8],
    /// The token written: scheme, offset, length.
    token: Option<(Scheme, usize, usize)>,
    /// [`Connection::bind_negotiate`].
    #[cfg_attr(not(feature = "negotiate"), allow(dead_code))]
    bind_negotiate: bool,
}

impl<S: CredentialStore, R: ReplayStore> Round<'_, S, R> {
    fn challenge(&self, reason: Reason) -> Verdict {
        Verdict::Challenge(self.engine.challenge(reason, false, self.ctx))
    }

    fn window(&self) -> u64 {
        self.engine.config().lifetime().max_age
    }

    /// The 401 that carries the token in `out[..len]`.
    fn continues(&mut self, scheme: Scheme, len: usize) -> Verdict {
        self.token = Some((scheme, 0, len));
        self.challenge(Reason::HandshakeContinues)
    }

    fn authenticated(&self, user: UserName, scheme: Scheme) -> Verdict {
        self.store.authenticated(self.id, &user, scheme, self.ctx.now, self.window());
        Verdict::Authenticated(Authenticated::plain(user, scheme))
    }

    #[cfg(feature = "negotiate")]
    fn negotiate(&mut self, token: &[u8], acceptor: Option<&dyn crate::NegotiateAcceptor>) -> Verdict {
        use crate::negotiate::Token;
        let ntlm_too = cfg!(feature = "ntlm") && self.engine.config().offered_schemes().contains(&Scheme::Ntlm);
        let to_acceptor = |round: &mut Self| match acceptor {
            Some(a) => round.accept(a, token),
            None => round.challenge(Reason::UnsupportedMechanism),
        };
        match Token::classify(token) {
            None => Verdict::Malformed(ParseError::NegotiateToken),
            Some(Token::Ntlm(m)) if ntlm_too => self.ntlm(m, Wrap::Negotiate),
            Some(Token::SpnegoNtlm { mech_types, mech_token: Some(m) }) if ntlm_too => {
                self.ntlm(m, Wrap::Spnego(mech_types))
            }
            Some(Token::Ntlm(_) | Token::SpnegoNtlm { .. }) => self.challenge(Reason::UnsupportedMechanism),
            Some(Token::SpnegoResp { response_token, mech_list_mic }) => {
                #[cfg(feature = "ntlm")]
                match self.store.take(self.id) {
                    Some(p) if p.spnego.is_some() => {
                        return match response_token {
                            Some(m) => self.ntlm_authenticate(m, p, Wrap::Spnego(&[]), mech_list_mic),
                            None => self.challenge(Reason::NoHandshake),
                        };
                    }
                    Some(_) => return self.challenge(Reason::NoHandshake),
                    None => {}
                }
                let _ = (response_token, mech_list_mic);
                to_acceptor(self)
            }
            Some(Token::Acceptor) => to_acceptor(self),
        }
    }

    #[cfg(feature = "negotiate")]
    fn accept(&mut self, acceptor: &dyn crate::NegotiateAcceptor, token: &[u8]) -> Verdict {
        use crate::negotiate::AcceptorStep;
        let cap = self.out.len();
        match acceptor.step(self.id, token, self.out) {
            AcceptorStep::Continue { output_len } if (1..=cap).contains(&output_len) => {
                self.continues(Scheme::Negotiate, output_len)
            }
            AcceptorStep::Complete { principal, output_len } if output_len <= cap => {
                if output_len > 0 {
                    self.token = Some((Scheme::Negotiate, 0, output_len));
                }
                if !self.bind_negotiate {
                    return Verdict::Authenticated(Authenticated::plain(principal, Scheme::Negotiate));
                }
                self.authenticated(principal, Scheme::Negotiate)
            }
            _ => self.challenge(Reason::NegotiateRefused),
        }
    }

    #[cfg(not(feature = "ntlm"))]
    fn ntlm(&mut self, _m: &[u8], _wrap: Wrap<'_>) -> Verdict {
        self.challenge(Reason::UnsupportedMechanism)
    }

    /// An NTLM message: NEGOTIATE starts a handshake, AUTHENTICATE ends the pending one.
    #[cfg(feature = "ntlm")]
    fn ntlm(&mut self, m: &[u8], wrap: Wrap<'_>) -> Verdict {
        match crate::ntlm::message::message_type(m) {
            Some(1) => self.ntlm_negotiate(m, wrap),
            Some(3) => match self.store.take(self.id) {
                Some(p) if p.spnego.is_none() && !matches!(wrap, Wrap::Spnego(_)) => {
                    self.ntlm_authenticate(m, p, wrap, None)
                }
                _ => self.challenge(Reason::NoHandshake),
            },
            _ => Verdict::Malformed(ParseError::NtlmMessage),
        }
    }

    /// The server challenge: the engine's nonce MAC (keyed, so unpredictable even if the
    /// caller's salt is weak) over the time and the salt mixed with the connection id.
    #[cfg(feature = "ntlm")]
    fn server_challenge(&self) -> [u8; 8] {
        let mut salt = self.ctx.salt;
        for (s, c) in salt.iter_mut().zip(self.id.to_le_bytes()) {
            *s ^= c;
        }
        let nonce = self.engine.issue_nonce(Context { now: self.ctx.now, salt });
        let raw = crate::nonce::decode(nonce.as_str().as_bytes()).unwrap_or([0; crate::nonce::RAW_LEN]);
        let mut challenge = [0u8; 8];
        challenge.copy_from_slice(&raw[16..24]);
        challenge
    }

    #[cfg(feature = "ntlm")]
    fn ntlm_negotiate(&mut self, m: &[u8], wrap: Wrap<'_>) -> Verdict {
        let mut pending = match Pending::start(m, self.server_challenge(), self.ctx.now) {
            Ok(p) => p,
            Err(e) => return Verdict::Malformed(e),
        };
        if let Wrap::Spnego(types) = wrap {
            match heapless::Vec::from_slice(types) {
                Ok(t) => pending.spnego = Some(t),
                Err(_) => return Verdict::Malformed(ParseError::ValueTooLong("negotiate")),
            }
        }
        if !self.store.begin(self.id, &pending, self.ctx.now, self.window()) {
            return self.challenge(Reason::HandshakeTableFull);
        }
        let target = crate::ntlm::target_name(self.engine.config().realm());
        let mut challenge = [0u8; CHALLENGE_MAX];
        let Some(n) = pending.write_challenge(&target, &mut challenge) else {
            return self.challenge(Reason::HandshakeTableFull);
        };
        match wrap {
            Wrap::Ntlm | Wrap::Negotiate => {
                let scheme = if matches!(wrap, Wrap::Ntlm) { Scheme::Ntlm } else { Scheme::Negotiate };
                self.out[..n].copy_from_slice(&challenge[..n]);
                self.continues(scheme, n)
            }
            #[cfg(not(feature = "negotiate"))]
            Wrap::Spnego(_) => self.challenge(Reason::UnsupportedMechanism),
            #[cfg(feature = "negotiate")]
            Wrap::Spnego(_) => {
                use crate::negotiate::{resp_token_offset, write_neg_token_resp, NegState};
                let at = resp_token_offset(NegState::AcceptIncomplete, true, n, false);
                if let Some(dst) = self.out.get_mut(at..at + n) {
                    dst.copy_from_slice(&challenge[..n]);
                }
                match write_neg_token_resp(NegState::AcceptIncomplete, true, Some(n), None, self.out) {
                    Some(len) => self.continues(Scheme::Negotiate, len),
                    None => self.challenge(Reason::HandshakeTableFull),
                }
            }
        }
    }

    #[cfg(feature = "ntlm")]
    #[cfg_attr(not(feature = "negotiate"), allow(unused_variables))]
    fn ntlm_authenticate(&mut self, m: &[u8], p: Pending, wrap: Wrap<'_>, mech_list_mic: Option<&[u8]>) -> Verdict {
        use crate::credential::Purpose;
        use crate::ntlm::{Refusal, Response};
        if crate::ntlm::message::message_type(m) != Some(3) {
            return Verdict::Malformed(ParseError::NtlmMessage);
        }
        let r = match Response::parse(m, &p, self.ctx.now, self.window()) {
            Ok(r) => r,
            Err(Refusal::Malformed(e)) => return Verdict::Malformed(e),
            Err(Refusal::Challenge(reason)) => return self.challenge(reason),
        };
        let realm = self.engine.config().realm();
        let stored = self.engine.store().lookup(&r.user, realm, Purpose::Ntlm);
        // Unknown users and unusable credentials are checked against a hash no password
        // has, so that the time taken does not tell them apart from a wrong password.
        let nt = stored.as_ref().and_then(|c| c.nt_hash());
        let target = crate::ntlm::target_name(realm);
        let mut challenge = [0u8; CHALLENGE_MAX];
        let n = p.write_challenge(&target, &mut challenge).unwrap_or(0);
        let ok = r.verify(&nt.unwrap_or([0; 16]), &p.server_challenge, &p.negotiate, &challenge[..n], m);
        let reason = match (&stored, nt) {
            (None, _) => Reason::UnknownUser,
            (Some(_), None) => Reason::CredentialUnusable,
            (Some(_), Some(_)) if !ok => Reason::BadCredentials,
            _ => Reason::NoCredentials,
        };
        let (true, Some(nt)) = (ok, nt) else {
            return self.challenge(reason);
        };
        let mut scheme = Scheme::Ntlm;
        #[cfg(feature = "negotiate")]
        if let (Wrap::Spnego(_), Some(types)) = (wrap, &p.spnego) {
            use crate::negotiate::{write_neg_token_resp, NegState};
            use crate::ntlm::message::flags;
            scheme = Scheme::Negotiate;
            // The mechListMIC: the client's checked, ours sent back. It needs the signing
            // keys of extended session security with SIGN negotiated: NTLM's all-zero
            // "dummy" signature would let the mechanism list be altered, so it is refused.
            let session_key = r.session_key(&nt);
            let ours = match mech_list_mic {
                Some(mic) => {
                    let needed = flags::EXTENDED_SESSIONSECURITY | flags::SIGN;
                    let signed = r.flags() & needed == needed;
                    let expected = crate::ntlm::signature(&session_key, true, types);
                    if !signed || !bool::from(subtle::ConstantTimeEq::ct_eq(&expected[..], mic)) {
                        return self.challenge(Reason::BadCredentials);
                    }
                    Some(crate::ntlm::signature(&session_key, false, types))
                }
                None => None,
            };
            match write_neg_token_resp(NegState::AcceptCompleted, false, None, ours.as_ref(), self.out) {
                Some(len) => self.token = Some((Scheme::Negotiate, 0, len)),
                None => return self.challenge(Reason::NegotiateRefused),
            }
        }
        if matches!(wrap, Wrap::Negotiate) {
            scheme = Scheme::Negotiate;
        }
        self.authenticated(r.user, scheme)
    }
}

/// Room for a CHALLENGE message: header, a 15-character target name and TargetInfo.
#[cfg(feature = "ntlm")]
const CHALLENGE_MAX: usize = 256;

#[cfg(test)]
mod tests {
    use super::*;

    fn user(s: &str) -> UserName {
        UserName::try_from(s).unwrap()
    }

    #[test]
    fn connection_scheme_words() {
        assert_eq!(connection_scheme(b"  ntlm TlRM  "), Some((Scheme::Ntlm, &b"TlRM"[..])));
        assert_eq!(connection_scheme(b"Negotiate   YII="), Some((Scheme::Negotiate, &b"YII="[..])));
        assert_eq!(connection_scheme(b"NEGOTIATE"), Some((Scheme::Negotiate, &b""[..])));
        assert_eq!(connection_scheme(b"NTLMx abc"), None);
        assert_eq!(connection_scheme(b"Basic abc"), None);
    }

    #[test]
    fn server_token_base64() {
        let mut buf = [0u8; 32];
        for (bytes, text) in [
            (&b""[..], "NTLM "),
            (b"f", "NTLM Zg=="),
            (b"fo", "NTLM Zm8="),
            (b"foo", "NTLM Zm9v"),
            (b"foob", "NTLM Zm9vYg=="),
        ] {
            let n = ServerToken { scheme: Scheme::Ntlm, bytes }.write(&mut buf).unwrap();
            assert_eq!(&buf[..n], text.as_bytes());
        }
        assert_eq!(
            ServerToken { scheme: Scheme::Negotiate, bytes: b"foo" }.write(&mut buf[..5]),
            Err(BufferTooSmall { needed: 14 })
        );
    }

    #[test]
    fn authenticated_connections_are_evicted_before_handshakes() {
        let mut t = HandshakeTable::<2>::new();
        t.authenticated(1, &user("a"), Scheme::Negotiate, 10, 300);
        t.authenticated(2, &user("b"), Scheme::Negotiate, 20, 300);
        assert_eq!(t.user(1, 30), Some((user("a"), Scheme::Negotiate)));
        // 2 is now the least recently used.
        t.authenticated(3, &user("c"), Scheme::Negotiate, 40, 300);
        assert_eq!(t.user(2, 50), None);
        assert_eq!(t.user(1, 50).map(|u| u.0), Some(user("a")));
        t.forget(1);
        assert_eq!(t.user(1, 50), None);
        assert_eq!(t.len(), 1);
    }

    #[cfg(feature = "ntlm")]
    #[test]
    fn live_handshakes_are_never_evicted() {
        let neg = b"NTLMSSP\0\x01\0\0\0\x07\x82\x08\xa2\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
        let p = |t| Pending::start(neg, [t as u8; 8], t).unwrap();
        let mut t = HandshakeTable::<2>::new();
        assert!(t.begin(1, &p(10), 10, 300));
        assert!(t.begin(2, &p(20), 20, 300));
        // Full of live handshakes: a third is refused, and no authentication is recorded.
        assert!(!t.begin(3, &p(30), 30, 300));
        t.authenticated(4, &user("d"), Scheme::Ntlm, 30, 300);
        assert_eq!(t.user(4, 30), None);
        assert_eq!(t.pending(), 2);
        // Once 1 is past the window, its slot can be taken.
        assert!(t.begin(3, &p(311), 311, 300));
        assert_eq!(t.take(1), None);
        assert_eq!(t.take(2).map(|p| p.issued), Some(20));
        assert_eq!(t.take(2), None);
        // Restarting a handshake replaces the connection's entry.
        assert!(t.begin(3, &p(312), 312, 300));
        assert_eq!(t.len(), 1);
        assert_eq!(t.take(3).map(|p| p.issued), Some(312));
    }
}
