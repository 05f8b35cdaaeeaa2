//! The order of a Digest check, in one place.
//!
//! [`check`] applies every rule — uri, algorithm, qop, realm, opaque, nonce, user, response,
//! then (only after the response is right) staleness and the nonce count — and asks a
//! [`DigestContext`] for the parts that depend on where it runs: how the opaque and nonce
//! are verified, where users and nonce counts are kept, and the body for `auth-int`.
//! [`Engine`](crate::Engine) is one such context; the Python layer, whose Flask-HTTPAuth
//! applications verify their own nonces and opaques, is another.

use crate::credential::{StoredCredential, UserName};
use crate::digest::{self, Algorithm, DigestCredentials, Known, Qop, ResponseInput, Username};
use crate::hash::{HashAlgorithm, HashOutput};
use crate::limits::MAX_CNONCE_LEN;
use crate::nonce::{NonceId, NonceStatus};
use crate::parse::Value;
use crate::render::QopSet;
use crate::replay::ReplayOutcome;
use crate::{ParseError, Reason};

/// What the server offers; requests outside it are challenged.
#[derive(Clone, Copy, Debug)]
pub struct DigestRules<'a> {
    /// The realm, compared exactly.
    pub realm: &'a str,
    /// Accepted algorithms.
    pub algorithms: &'a [Algorithm],
    /// Accepted qop values (`auth-int` only with the `auth-int` feature).
    pub qop: QopSet,
    /// Accept requests without qop (RFC 2069; only with the `rfc2069` feature); each nonce
    /// is then single-use.
    pub rfc2069: bool,
    /// Accept `userhash=true` (only with the `userhash` feature).
    pub userhash: bool,
    /// Require the `uri` param to equal the request-target (RFC 7616 §3.4.6). Only an
    /// application behind a URL-rewriting proxy should turn this off.
    pub check_uri: bool,
    /// Compute `rspauth` for `Authentication-Info` (one more response hash).
    pub rspauth: bool,
}

/// How the context judged a nonce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NonceCheck {
    /// A keyed nonce of ours, within its lifetime: replay-tracked.
    Valid {
        /// Issue time.
        issued: u64,
        /// Identity in the replay store.
        id: NonceId,
    },
    /// A keyed nonce of ours, expired: `stale=true` if the response is right.
    Expired {
        /// Issue time.
        issued: u64,
        /// Identity.
        id: NonceId,
    },
    /// Accepted by the application's own verification (no issue time, no replay tracking).
    Trusted,
    /// Not acceptable.
    Invalid,
}

impl From<NonceStatus> for NonceCheck {
    fn from(s: NonceStatus) -> Self {
        match s {
            NonceStatus::Valid { issued, id } => NonceCheck::Valid { issued, id },
            NonceStatus::Expired { issued, id } => NonceCheck::Expired { issued, id },
            NonceStatus::Invalid => NonceCheck::Invalid,
        }
    }
}

/// Who a Digest username names.
#[derive(Clone, Debug)]
pub enum UserLookup {
    /// No such user.
    Unknown,
    /// The user, and a credential that may or may not serve the hash family.
    Found(UserName, StoredCredential),
    /// The user exists but nothing stored can serve this hash family.
    Unusable(UserName),
}

/// The parts of a Digest check that depend on where it runs.
pub trait DigestContext {
    /// Whether the request's `opaque` is acceptable.
    fn opaque_ok(&self, opaque: Option<&Value<'_>>) -> bool;
    /// Authenticity and age of the request's nonce.
    fn nonce(&self, nonce: &Value<'_>, opaque: Option<&Value<'_>>) -> NonceCheck;
    /// The user named by `username` (already decoded; with `userhash`, the hex of
    /// H(user:realm) in `hash`).
    fn user(&self, username: &str, userhash: bool, hash: HashAlgorithm) -> UserLookup;
    /// Checks and records a nonce count; called only after the response was verified.
    fn record(&self, id: &NonceId, issued: u64, nc: u32) -> ReplayOutcome;
    /// `H(entity-body)` in `hash`, for `qop=auth-int`; `None` when the body is not available.
    fn body_hash(&self, hash: HashAlgorithm) -> Option<HashOutput>;
    /// What an unknown user's HA1 is computed from, so that a miss costs what a hit costs
    /// (see [`CredentialStore::decoy`](crate::CredentialStore::decoy)). The default suits
    /// plaintext passwords: one HA1 hash, like a known user's.
    fn decoy(&self) -> StoredCredential {
        StoredCredential::plaintext_decoy()
    }
    /// The HA1 in `hash` of the user the request names, and whether the user is known. `user`
    /// holds the name as the request gives it (decoded, not empty; with `userhash`, the hex of
    /// H(user:realm)) and is left holding the user's name. An unknown user gets the
    /// [`decoy`](Self::decoy)'s HA1, so that a miss costs what a hit costs; a known user
    /// whose credential cannot serve `hash` gets `None`. The default asks
    /// [`user`](Self::user) ([`ha1_by_lookup`]); a context whose store answers in place may
    /// override it to keep less on the stack (the engine does).
    fn user_ha1(&self, q: &UserQuery<'_>, user: &mut UserName) -> (Option<HashOutput>, bool) {
        ha1_by_lookup(self, q, user)
    }
}

/// How [`DigestContext::user_ha1`] is asked for the user a request names (the name itself is
/// in the `user` it is given).
#[derive(Clone, Copy, Debug)]
pub struct UserQuery<'a> {
    /// Whether the name is a userhash (RFC 7616 §3.4.4).
    pub userhash: bool,
    /// The request's hash family.
    pub hash: HashAlgorithm,
    /// The realm.
    pub realm: &'a str,
}

/// [`DigestContext::user_ha1`] through [`DigestContext::user`]: the credential is read where
/// it is, the user name moved once, to `user`.
pub fn ha1_by_lookup<C: DigestContext + ?Sized>(
    ctx: &C,
    q: &UserQuery<'_>,
    user: &mut UserName,
) -> (Option<HashOutput>, bool) {
    let (hash, realm) = (q.hash, q.realm);
    match ctx.user(user, q.userhash, hash) {
        UserLookup::Found(name, cred) => {
            let ha1 = cred.digest_ha1(hash, name.as_bytes(), realm.as_bytes());
            *user = name;
            (ha1, true)
        }
        UserLookup::Unusable(name) => {
            *user = name;
            (None, true)
        }
        UserLookup::Unknown => (ctx.decoy().digest_ha1(hash, user.as_bytes(), realm.as_bytes()), false),
    }
}

/// A verified Digest request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestSuccess {
    /// Who.
    pub user: UserName,
    /// With which algorithm.
    pub algorithm: Algorithm,
    /// The request's qop (`None` for RFC 2069).
    pub qop: Option<Qop>,
    /// The request's nonce count.
    pub nc: Option<u32>,
    /// The request's cnonce, unescaped.
    pub cnonce: heapless::Vec<u8, MAX_CNONCE_LEN>,
    /// `rspauth` for `Authentication-Info` (qop `auth` only: `auth-int` would cover the
    /// response body).
    pub rspauth: Option<HashOutput>,
    /// Issue time of a keyed nonce (for `nextnonce`); `None` for a trusted one.
    pub issued: Option<u64>,
}

/// Why a Digest request is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DigestFailure {
    /// 400.
    Malformed(ParseError),
    /// 401, with `stale` for the new challenge.
    Challenge(Reason, bool),
}

impl From<ParseError> for DigestFailure {
    fn from(e: ParseError) -> Self {
        DigestFailure::Malformed(e)
    }
}

/// Checks parsed Digest credentials for `method` on `target`.
pub fn check<C: DigestContext + ?Sized>(
    rules: &DigestRules<'_>,
    c: &DigestCredentials<'_>,
    method: &[u8],
    target: &[u8],
    ctx: &C,
) -> Result<DigestSuccess, DigestFailure> {
    let mut user = UserName::new();
    let ok = verify(rules, c, method, target, ctx, &mut user)?;
    Ok(DigestSuccess {
        user,
        algorithm: ok.algorithm,
        qop: ok.qop,
        nc: c.nc,
        cnonce: cnonce(c),
        rspauth: if rules.rspauth { ok.rspauth(c) } else { None },
        issued: ok.issued,
    })
}

/// [`DigestSuccess`] without the user name, which [`verify`] writes where the caller keeps it,
/// without the cnonce copy, which the engine makes straight into its `Authentication-Info`
/// (and only when it sends one), and with the HA1 `rspauth` is computed from instead of
/// `rspauth` itself (computed where it is kept: [`rspauth`](Self::rspauth)).
pub(crate) struct Verified {
    pub(crate) algorithm: Algorithm,
    pub(crate) qop: Option<Qop>,
    /// The HA1 the response was computed from (for a `-sess` algorithm, the session's).
    ha1: HashOutput,
    pub(crate) issued: Option<u64>,
}

impl Verified {
    /// `rspauth` for `Authentication-Info` (qop `auth` only: `auth-int` would cover the
    /// response body).
    #[inline(always)]
    pub(crate) fn rspauth(&self, c: &DigestCredentials<'_>) -> Option<HashOutput> {
        match self.qop {
            Some(Qop::Auth) => digest::response_with(
                self.algorithm.hash(),
                &self.ha1,
                c,
                &ResponseInput { method: b"", body_hash: None },
            ),
            _ => None,
        }
    }
}

/// The request's cnonce, unescaped.
pub(crate) fn cnonce(c: &DigestCredentials<'_>) -> heapless::Vec<u8, MAX_CNONCE_LEN> {
    let mut cnonce = heapless::Vec::new();
    copy_cnonce(c, &mut cnonce);
    cnonce
}

/// Appends the request's cnonce, unescaped, to `out` (in place: no 256-byte value moved;
/// without escapes, the usual case, one piece).
#[cfg_attr(not(authgate_backend = "compact"), inline)]
pub(crate) fn copy_cnonce(c: &DigestCredentials<'_>, out: &mut heapless::Vec<u8, MAX_CNONCE_LEN>) {
    if let Some(cn) = c.cnonce {
        for seg in cn.segments() {
            let _ = out.extend_from_slice(seg);
        }
    }
}

/// What a replay store's answer for a verified response means: accept (`Ok`), or the
/// refusal. The engine's check asks it, and so does [`Engine::settle_replay`] for a store
/// the caller asked after the check (an async store).
///
/// [`Engine::settle_replay`]: crate::Engine::settle_replay
// Inlined into the check in the word form (speed); one out-of-line copy in the compact form (flash).
#[cfg_attr(not(authgate_backend = "compact"), inline(always))]
pub(crate) fn replay_answer(outcome: ReplayOutcome, qop: Option<Qop>) -> Result<(), DigestFailure> {
    match outcome {
        ReplayOutcome::Fresh => Ok(()),
        // Without nc (RFC 2069) a reused nonce is the normal case: ask for a new one.
        ReplayOutcome::Replayed => Err(DigestFailure::Challenge(Reason::Replayed, qop.is_none())),
        ReplayOutcome::Stale => Err(DigestFailure::Challenge(Reason::StaleNonce, true)),
    }
}

/// The rules of [`check`], in order.
// Always inlined into the engine's check for speed (pinned so that the small helpers it
// inlines cannot push it out of line).
#[cfg_attr(not(authgate_backend = "compact"), inline(always))]
pub(crate) fn verify<C: DigestContext + ?Sized>(
    rules: &DigestRules<'_>,
    c: &DigestCredentials<'_>,
    method: &[u8],
    target: &[u8],
    ctx: &C,
    user: &mut UserName,
) -> Result<Verified, DigestFailure> {
    use DigestFailure::Challenge as Refuse;
    if rules.check_uri && !c.uri.eq_bytes(target) {
        return Err(ParseError::UriMismatch.into());
    }
    let alg = match c.algorithm {
        Known::Known(a) if rules.algorithms.contains(&a) => a,
        _ => return Err(Refuse(Reason::UnsupportedAlgorithm, false)),
    };
    // Options compiled out (Cargo features) are refused like options not offered.
    let qop = match c.qop {
        Some(Known::Known(q)) if rules.qop.contains(q) && (q == Qop::Auth || cfg!(feature = "auth-int")) => Some(q),
        None if rules.rfc2069 && cfg!(feature = "rfc2069") && !alg.is_session() => None,
        _ => return Err(Refuse(Reason::UnsupportedQop, false)),
    };
    if !c.realm.eq_bytes(rules.realm.as_bytes()) {
        return Err(Refuse(Reason::RealmMismatch, false));
    }
    if !ctx.opaque_ok(c.opaque.as_ref()) {
        return Err(Refuse(Reason::OpaqueMismatch, false));
    }
    let nonce = ctx.nonce(&c.nonce, c.opaque.as_ref());
    if nonce == NonceCheck::Invalid {
        return Err(Refuse(Reason::InvalidNonce, false));
    }
    let userhash = cfg!(feature = "userhash") && c.userhash;
    if c.userhash && !(userhash && rules.userhash) {
        return Err(Refuse(Reason::UnknownUser, false));
    }

    let hash = alg.hash();
    let mut ha1 = HashOutput::zeroed(0);
    let (usable, known) = user_ha1(rules, c, hash, userhash, ctx, user, &mut ha1);
    // Unknown users (from the decoy's HA1) and unusable credentials (a stand-in HA1) still
    // cost one response computation.
    let matches = response_matches(alg, qop, &mut ha1, c, method, ctx)?;
    match (known, usable) {
        (false, _) => return Err(Refuse(Reason::UnknownUser, false)),
        (_, false) => return Err(Refuse(Reason::CredentialUnusable, false)),
        _ if !matches => return Err(Refuse(Reason::BadCredentials, false)),
        _ => {}
    }

    // The response is right: only now may the nonce count be recorded.
    let issued = match nonce {
        NonceCheck::Expired { .. } => return Err(Refuse(Reason::StaleNonce, true)),
        // The id is passed where it is, not copied out first.
        NonceCheck::Valid { issued, ref id } => {
            replay_answer(ctx.record(id, issued, c.nc.unwrap_or(1)), qop)?;
            Some(issued)
        }
        NonceCheck::Trusted | NonceCheck::Invalid => None,
    };
    Ok(Verified { algorithm: alg, qop, ha1, issued })
}

/// Whether the request's `response` is the one `ha1` gives, `ha1` turned into the session's
/// HA1 for a `-sess` algorithm (what `rspauth` is computed from).
#[inline(always)]
fn response_matches<C: DigestContext + ?Sized>(
    alg: Algorithm,
    qop: Option<Qop>,
    ha1: &mut HashOutput,
    c: &DigestCredentials<'_>,
    method: &[u8],
    ctx: &C,
) -> Result<bool, DigestFailure> {
    let hash = alg.hash();
    let body_hash = match qop {
        Some(Qop::AuthInt) if cfg!(feature = "auth-int") => match ctx.body_hash(hash) {
            Some(h) if h.as_bytes().len() == hash.output_len() => Some(h),
            _ => return Err(DigestFailure::Challenge(Reason::BodyUnavailable, false)),
        },
        _ => None,
    };
    if !digest::session_ha1(alg, ha1, c) {
        return Ok(false);
    }
    let input = ResponseInput { method, body_hash: body_hash.as_ref() };
    Ok(digest::response_is(c.response_bytes(), hash, ha1, c, &input))
}

/// The HA1 of the user the request names, written to `ha1` (zeros of the family's length when
/// the user's credential cannot serve it), and whether it is usable and the store knows the
/// user (an unknown one gets the decoy's HA1, so that a miss costs what a hit costs). The name is decoded
/// straight into `user` (the verdict's, in the engine) and looked up from there: no buffer
/// of its own on the stack while the store is asked and the HA1 hashed. A call of its own in
/// the compact form: the store's answer (~150 bytes) is gone before the response is computed.
#[cfg_attr(not(authgate_backend = "compact"), inline(always))]
#[cfg_attr(authgate_backend = "compact", inline(never))]
fn user_ha1<C: DigestContext + ?Sized>(
    rules: &DigestRules<'_>,
    c: &DigestCredentials<'_>,
    hash: HashAlgorithm,
    userhash: bool,
    ctx: &C,
    user: &mut UserName,
    ha1: &mut HashOutput,
) -> (bool, bool) {
    *ha1 = HashOutput::zeroed(hash.output_len());
    match user_ha1_of(rules, c, hash, userhash, ctx, user) {
        (Some(found), known) => {
            *ha1 = found;
            (true, known)
        }
        (None, known) => (false, known),
    }
}

/// [`user_ha1`]'s lookup.
#[inline(always)]
fn user_ha1_of<C: DigestContext + ?Sized>(
    rules: &DigestRules<'_>,
    c: &DigestCredentials<'_>,
    hash: HashAlgorithm,
    userhash: bool,
    ctx: &C,
    user: &mut UserName,
) -> (Option<HashOutput>, bool) {
    user.clear();
    let decoded = match c.username {
        Username::Plain(v) => match v.as_unescaped() {
            Some(raw) => core::str::from_utf8(raw).is_ok_and(|n| user.push_str(n).is_ok()),
            None => push_decoded(user, |buf| v.unescape_into(buf).and_then(|b| core::str::from_utf8(b).ok())),
        },
        Username::Extended(ext) if cfg!(feature = "username-star") => push_decoded(user, |buf| ext.decode_into(buf)),
        Username::Extended(_) => false,
    };
    if decoded && !user.is_empty() {
        return ctx.user_ha1(&UserQuery { userhash, hash, realm: rules.realm }, user);
    }
    user.clear();
    (ctx.decoy().digest_ha1(hash, b"", rules.realm.as_bytes()), false)
}

/// Appends the name `decode` writes into a buffer to `user`; whether it fits. The rare names
/// that need decoding (escapes, `username*`): a call of its own, so that its buffer is gone
/// before the store is asked.
#[inline(never)]
fn push_decoded(user: &mut UserName, decode: impl FnOnce(&mut [u8]) -> Option<&str>) -> bool {
    let mut buf = [0u8; crate::limits::MAX_USERNAME_LEN];
    decode(&mut buf).is_some_and(|n| user.push_str(n).is_ok())
}
