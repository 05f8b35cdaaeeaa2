//! The high-level entry point: one call per request, returning a [`Verdict`].

use crate::basic::{for_each_utf8_chunk, BasicBuffer, BasicCredentials};
use crate::credential::{CredentialStore, Purpose, StoredCredential, UserName};
use crate::digest::{Algorithm, DigestCredentials, DigestParams, Known, Qop};
use crate::digest_check::{
    self, DigestContext, DigestFailure as Failure, DigestRules, NonceCheck, UserLookup, UserQuery,
};
use crate::error::{BufferTooSmall, ConfigError, ParseError, Reason};
use crate::hash::{HashAlgorithm, HashOutput, Hasher};
use crate::limits::*;
use crate::nonce::{self, Lifetime, Nonce, NonceId, NonceKey, NonceSequence, NonceStatus};
use crate::parse;
use crate::parse::{Rest, Value};
use crate::render::{self, AuthInfo, DigestChallenge, QopSet};
use crate::replay::{ReplayOutcome, ReplayStore};

/// Whether `s` holds a control character (`char::is_control`: U+0000-U+001F, U+007F-U+009F),
/// read from the UTF-8 bytes without decoding characters: C0 and DEL are single bytes, C1 is
/// 0xC2 followed by 0x80-0x9F.
fn has_control(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().any(|&c| c < 0x20 || c == 0x7f) || b.windows(2).any(|w| w[0] == 0xc2 && w[1] < 0xa0)
}

/// An authentication scheme the engine can offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// RFC 7617.
    Basic,
    /// RFC 7616.
    Digest,
    /// RFC 6750.
    Bearer,
    /// NTLM (MS-NTHT): connection-bound, through [`Engine::check_connection`].
    Ntlm,
    /// Negotiate (RFC 4559): Kerberos through a [`NegotiateAcceptor`](crate::NegotiateAcceptor),
    /// NTLM inside it through the core; connection-bound, through [`Engine::check_connection`].
    Negotiate,
}

impl Scheme {
    /// Whether this build has the scheme (its Cargo feature).
    const fn is_compiled_in(self) -> bool {
        match self {
            Scheme::Digest => true,
            Scheme::Basic => cfg!(feature = "basic"),
            Scheme::Bearer => cfg!(feature = "bearer"),
            Scheme::Ntlm => cfg!(feature = "ntlm"),
            Scheme::Negotiate => cfg!(feature = "negotiate"),
        }
    }

    /// The scheme's name.
    pub const fn name(self) -> &'static str {
        match self {
            Scheme::Basic => "Basic",
            Scheme::Digest => "Digest",
            Scheme::Bearer => "Bearer",
            Scheme::Ntlm => "NTLM",
            Scheme::Negotiate => "Negotiate",
        }
    }
}

/// Schemes a [`Config`] offers at most: Basic, Digest, Bearer, and NTLM and Negotiate when
/// compiled in (a larger list than needed makes Cortex-M0+ images link a `memmove`).
const MAX_SCHEMES: usize = 3 + cfg!(feature = "ntlm") as usize + cfg!(feature = "negotiate") as usize;

/// What the engine offers and accepts.
#[derive(Clone, Debug)]
pub struct Config {
    realm: heapless::String<MAX_REALM_LEN>,
    schemes: heapless::Vec<Scheme, MAX_SCHEMES>,
    algorithms: heapless::Vec<Algorithm, 6>,
    qop: QopSet,
    lifetime: Lifetime,
    rfc2069: bool,
    userhash: bool,
    opaque: heapless::String<MAX_OPAQUE_LEN>,
    #[cfg(feature = "jwt")]
    jwt: crate::jwt::JwtConfig,
    origin: crate::origin::OriginPolicy,
    /// What a web-framework layer sets ([`crate::app`]).
    #[cfg(feature = "app-hooks")]
    pub(crate) app: crate::app::AppOptions,
}

impl Config {
    /// Digest (SHA-256, then MD5, as far as compiled in) and Basic for `realm`, qop `auth`,
    /// nonces valid for 300 s.
    pub fn new(realm: &str) -> Result<Config, ConfigError> {
        if realm.is_empty() || has_control(realm) {
            return Err(ConfigError::InvalidRealm);
        }
        let realm = heapless::String::try_from(realm).map_err(|_| ConfigError::InvalidRealm)?;
        let mut algorithms = heapless::Vec::new();
        for a in [Algorithm::Sha256, Algorithm::Md5] {
            if a.hash().is_enabled() {
                let _ = algorithms.push(a);
            }
        }
        let mut schemes = heapless::Vec::new();
        if !algorithms.is_empty() {
            let _ = schemes.push(Scheme::Digest);
        }
        if cfg!(feature = "basic") {
            let _ = schemes.push(Scheme::Basic);
        }
        Ok(Config {
            realm,
            schemes,
            algorithms,
            qop: QopSet::AUTH,
            lifetime: Lifetime { max_age: 300, max_skew: 5 },
            rfc2069: false,
            userhash: false,
            opaque: heapless::String::new(),
            #[cfg(feature = "jwt")]
            jwt: crate::jwt::JwtConfig::new(),
            origin: crate::origin::OriginPolicy::new(),
            #[cfg(feature = "app-hooks")]
            app: crate::app::AppOptions::new(),
        })
    }

    /// What [`Engine::check_origin`] refuses (default [`OriginPolicy::new`](crate::OriginPolicy::new):
    /// unsafe requests from other origins, any `Host`).
    pub fn origin_policy(mut self, policy: crate::origin::OriginPolicy) -> Config {
        self.origin = policy;
        self
    }

    /// The origin policy.
    pub fn origin(&self) -> &crate::origin::OriginPolicy {
        &self.origin
    }

    /// Verify Bearer tokens that look like a JWS (two dots) as JWTs with `jwt`'s keys; the
    /// user is the identity claim. Other Bearer tokens still go to the credential store.
    #[cfg(feature = "jwt")]
    pub fn jwt(mut self, jwt: crate::jwt::JwtConfig) -> Result<Config, ConfigError> {
        jwt.validate()?;
        self.jwt = jwt;
        Ok(self)
    }

    /// The JWT configuration (no keys: JWT off).
    #[cfg(feature = "jwt")]
    pub fn jwt_config(&self) -> &crate::jwt::JwtConfig {
        &self.jwt
    }

    /// The schemes to offer, in order of preference (the order of the challenges).
    pub fn schemes(mut self, schemes: &[Scheme]) -> Result<Config, ConfigError> {
        self.schemes.clear();
        for s in schemes {
            if !self.schemes.contains(s) {
                self.schemes.push(*s).map_err(|_| ConfigError::TooMany)?;
            }
        }
        if self.schemes.is_empty() {
            return Err(ConfigError::NoScheme);
        }
        Ok(self)
    }

    /// The Digest algorithms to offer, in order of preference. Algorithms compiled out are
    /// refused.
    pub fn algorithms(mut self, algorithms: &[Algorithm]) -> Result<Config, ConfigError> {
        self.algorithms.clear();
        for a in algorithms {
            if !a.hash().is_enabled() {
                return Err(ConfigError::NoAlgorithm);
            }
            if !self.algorithms.contains(a) {
                self.algorithms.push(*a).map_err(|_| ConfigError::TooMany)?;
            }
        }
        if self.algorithms.is_empty() {
            return Err(ConfigError::NoAlgorithm);
        }
        Ok(self)
    }

    /// The qop values to offer. Empty requires [`allow_rfc2069`](Self::allow_rfc2069);
    /// `auth-int` needs the `auth-int` feature ([`Engine::new`] refuses it otherwise).
    pub fn qop(mut self, qop: QopSet) -> Config {
        self.qop = qop;
        self
    }

    /// How long a nonce stays valid, in seconds (default 300).
    pub fn nonce_lifetime(mut self, seconds: u64) -> Result<Config, ConfigError> {
        if seconds == 0 {
            return Err(ConfigError::InvalidLifetime);
        }
        self.lifetime.max_age = seconds;
        Ok(self)
    }

    /// How far in the future a nonce's issue time may be (clock skew between processes
    /// sharing the key; default 5 s).
    pub fn max_clock_skew(mut self, seconds: u64) -> Config {
        self.lifetime.max_skew = seconds;
        self
    }

    /// Accept RFC 2069 Digest (no qop, no nc). Off by default: without nc, a nonce can only
    /// be used once, and the response covers less. Each nonce is then single-use.
    /// Needs the `rfc2069` feature ([`Engine::new`] refuses it otherwise).
    pub fn allow_rfc2069(mut self, allow: bool) -> Config {
        self.rfc2069 = allow;
        self
    }

    /// Offer `userhash=true` (RFC 7616 §3.4.4); the store must implement
    /// [`CredentialStore::lookup_userhash`]. Needs the `userhash` feature ([`Engine::new`]
    /// refuses it otherwise).
    pub fn userhash(mut self, userhash: bool) -> Config {
        self.userhash = userhash;
        self
    }

    /// An `opaque` value sent with Digest challenges and required back (nonces are bound to it).
    pub fn opaque(mut self, opaque: &str) -> Result<Config, ConfigError> {
        if opaque.is_empty() || !crate::parse::is_token68(opaque.as_bytes()) {
            return Err(ConfigError::InvalidOpaque);
        }
        self.opaque = heapless::String::try_from(opaque).map_err(|_| ConfigError::InvalidOpaque)?;
        Ok(self)
    }

    /// Checks the combination.
    fn validate(&self) -> Result<(), ConfigError> {
        let digest = self.schemes.contains(&Scheme::Digest);
        if digest && self.algorithms.is_empty() {
            return Err(ConfigError::NoAlgorithm);
        }
        if digest && self.qop.is_empty() && !self.rfc2069 {
            return Err(ConfigError::NoQop);
        }
        if self.schemes.iter().any(|s| !s.is_compiled_in()) {
            return Err(ConfigError::SchemeDisabled);
        }
        if (self.qop.auth_int && !cfg!(feature = "auth-int"))
            || (self.rfc2069 && !cfg!(feature = "rfc2069"))
            || (self.userhash && !cfg!(feature = "userhash"))
        {
            return Err(ConfigError::FeatureDisabled);
        }
        if self.schemes.is_empty() {
            return Err(ConfigError::NoScheme);
        }
        #[cfg(feature = "jwt")]
        self.jwt.validate()?;
        Ok(())
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.realm
    }
    /// The offered schemes, in order.
    pub fn offered_schemes(&self) -> &[Scheme] {
        &self.schemes
    }
    /// The offered Digest algorithms, in order.
    pub fn offered_algorithms(&self) -> &[Algorithm] {
        &self.algorithms
    }
    /// The offered qop values.
    pub fn offered_qop(&self) -> QopSet {
        self.qop
    }
    /// Nonce lifetime and skew.
    pub fn lifetime(&self) -> Lifetime {
        self.lifetime
    }
    /// How long a replay store must remember a nonce's counts, in seconds after its issue
    /// time: its lifetime and the clock skew allowed. After that it is refused as expired
    /// before its count is looked at.
    pub fn replay_retention(&self) -> u64 {
        self.lifetime.max_age.saturating_add(self.lifetime.max_skew)
    }
    // Inlined for speed: a length test, called twice per check.
    #[cfg_attr(not(authgate_backend = "compact"), inline(always))]
    fn opaque_value(&self) -> Option<&str> {
        (!self.opaque.is_empty()).then_some(self.opaque.as_str())
    }
}

/// The request body, for Digest `qop=auth-int`.
#[derive(Clone, Copy, Debug, Default)]
pub enum Body<'a> {
    /// Not available: `auth-int` requests are challenged.
    #[default]
    Unavailable,
    /// The whole body; the engine hashes it with the request's algorithm.
    Bytes(&'a [u8]),
    /// The body's hash, streamed by the caller with the family given by
    /// [`body_hash_algorithm`].
    Hashed(HashAlgorithm, HashOutput),
}

/// For a streaming caller: the hash family to feed the body into, when the request uses
/// Digest `qop=auth-int`; `None` when no body hash is needed.
pub fn body_hash_algorithm(authorization: &[u8]) -> Option<HashAlgorithm> {
    let auth = parse(authorization).ok()?;
    let c = DigestCredentials::from_authorization(&auth).ok()?;
    match (c.qop, c.algorithm) {
        (Some(Known::Known(Qop::AuthInt)), Known::Known(a)) if cfg!(feature = "auth-int") => Some(a.hash()),
        _ => None,
    }
}

/// One request, as the engine sees it.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The method (`GET`, ...).
    pub method: &'a str,
    /// The request-target exactly as on the request line (origin-form: path and query).
    pub target: &'a str,
    /// The `Authorization` value, or `None` when absent. A request with several
    /// `Authorization` fields is malformed: pass [`Request::DUPLICATE_AUTHORIZATION`] or
    /// answer 400 yourself.
    pub authorization: Option<&'a [u8]>,
    /// The body, for `auth-int`.
    pub body: Body<'a>,
}

impl<'a> Request<'a> {
    /// A request without body hashing.
    pub fn new(method: &'a str, target: &'a str, authorization: Option<&'a [u8]>) -> Self {
        Request { method, target, authorization, body: Body::Unavailable }
    }
    /// Marker value meaning "more than one Authorization field": yields a 400.
    pub const DUPLICATE_AUTHORIZATION: &'static [u8] = b"";
}

/// Answer 401 with these challenges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// Why (for logs; do not tell the client more than the challenges do).
    pub reason: Reason,
    /// `stale=true` on the Digest challenges.
    pub stale: bool,
    /// The fresh nonce for the Digest challenges (`None` when Digest is not offered).
    pub nonce: Option<Nonce>,
}

/// The request is authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authenticated {
    /// Who.
    pub user: UserName,
    /// How.
    pub scheme: Scheme,
    /// For Digest: the algorithm of the accepted response.
    #[cfg(feature = "app-hooks")]
    pub algorithm: Option<Algorithm>,
    /// For Digest: the qop of the accepted response (`None` for RFC 2069).
    #[cfg(feature = "app-hooks")]
    pub qop: Option<Qop>,
    /// For Digest: the `Authentication-Info` to send back.
    pub auth_info: Option<AuthInfo>,
}

impl Authenticated {
    /// `user` authenticated by `scheme`, without Digest's extras.
    pub(crate) fn plain(user: UserName, scheme: Scheme) -> Self {
        Authenticated {
            user,
            scheme,
            #[cfg(feature = "app-hooks")]
            algorithm: None,
            #[cfg(feature = "app-hooks")]
            qop: None,
            auth_info: None,
        }
    }
}

/// The engine's answer for one request.
// No heap to box into: the verdict is returned by value, ~0.5 KiB on the stack.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Serve the request (200).
    Authenticated(Authenticated),
    /// Answer 401 with `WWW-Authenticate` ([`Engine::write_challenge`]).
    Challenge(Challenge),
    /// Answer 400: the `Authorization` value is malformed.
    Malformed(ParseError),
}

impl Verdict {
    /// The HTTP status to answer with when authentication is required: 200, 401 or 400.
    pub fn status(&self) -> u16 {
        match self {
            Verdict::Authenticated(_) => 200,
            Verdict::Challenge(_) => 401,
            Verdict::Malformed(_) => 400,
        }
    }
}

/// The engine: configuration, nonce keys, a credential store and a replay store.
///
/// `check` takes `&self`; the engine is `Sync` when its stores are, so one engine can
/// serve many threads (the replay store does its own locking).
pub struct Engine<S, R> {
    config: Config,
    key: NonceKey,
    previous_key: Option<NonceKey>,
    store: S,
    replay: R,
    /// Orders this engine's nonces within a second, for the replay table's eviction.
    sequence: NonceSequence,
}

impl<S, R> core::fmt::Debug for Engine<S, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Engine").field("config", &self.config).finish_non_exhaustive()
    }
}

/// Inputs a check may need besides the request: the caller's clock and entropy.
#[derive(Clone, Copy, Debug)]
pub struct Context {
    /// Now, in seconds (any epoch, the same for every process sharing the key).
    pub now: u64,
    /// 8 random bytes, used only if a nonce is issued.
    pub salt: [u8; 8],
}

impl<S: CredentialStore, R: ReplayStore> Engine<S, R> {
    /// An engine with a 32-byte nonce key from a good entropy source.
    pub fn new(config: Config, key: &[u8; 32], store: S, replay: R) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Engine {
            config,
            key: NonceKey::new(key),
            previous_key: None,
            store,
            replay,
            sequence: NonceSequence::new(),
        })
    }

    /// Also accept nonces issued under `key` (the key before a rotation).
    pub fn with_previous_key(mut self, key: &[u8; 32]) -> Self {
        self.previous_key = Some(NonceKey::new(key));
        self
    }

    /// Rotates keys: `key` becomes current, the current one previous.
    pub fn rotate_key(&mut self, key: &[u8; 32]) {
        let old = core::mem::replace(&mut self.key, NonceKey::new(key));
        self.previous_key = Some(old);
    }

    /// Replaces the origin policy (a device knows its names only once it has booted).
    pub fn set_origin_policy(&mut self, policy: crate::origin::OriginPolicy) {
        self.config.origin = policy;
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }
    /// The credential store.
    pub fn store(&self) -> &S {
        &self.store
    }
    /// The replay store.
    pub fn replay(&self) -> &R {
        &self.replay
    }

    /// Issues a nonce for this realm and opaque.
    pub fn issue_nonce(&self, ctx: Context) -> Nonce {
        let opaque = self.config.opaque_value().unwrap_or("");
        let (realm, sequence) = (self.config.realm.as_bytes(), self.sequence.next());
        Nonce::issue_in_sequence(&self.key, realm, opaque.as_bytes(), ctx.now, sequence, ctx.salt)
    }

    /// Checks a nonce of ours (authenticity and age; not replay).
    // Inlined into the check for speed (as `EngineDigest::nonce`): it forwards.
    #[cfg_attr(not(authgate_backend = "compact"), inline(always))]
    pub fn verify_nonce(&self, nonce: &[u8], now: u64) -> NonceStatus {
        let opaque = self.config.opaque_value().unwrap_or("");
        nonce::verify(
            nonce,
            &self.key,
            self.previous_key.as_ref(),
            self.config.realm.as_bytes(),
            opaque.as_bytes(),
            now,
            self.config.lifetime,
        )
    }

    /// Whether to serve a request, given where it comes from and where it was sent, before
    /// authenticating it (the configuration's [`OriginPolicy`](crate::OriginPolicy)): call it
    /// first, and answer a refusal with its [`status`](crate::OriginRefusal::status).
    pub fn check_origin(
        &self,
        method: &str,
        headers: &crate::origin::OriginHeaders<'_>,
    ) -> Result<(), crate::OriginRefusal> {
        self.config.origin.check(method, headers)
    }

    /// A challenge with a fresh nonce.
    pub fn challenge(&self, reason: Reason, stale: bool, ctx: Context) -> Challenge {
        let nonce = self.config.schemes.contains(&Scheme::Digest).then(|| self.issue_nonce(ctx));
        Challenge { reason, stale, nonce }
    }

    /// Authenticates one request.
    // Inlined: a call of `check_into` with the verdict where the caller keeps it.
    #[inline(always)]
    pub fn check(&self, req: &Request<'_>, ctx: Context) -> Verdict {
        let mut verdict = Verdict::Malformed(ParseError::Empty);
        self.check_into(req, ctx, &mut verdict);
        verdict
    }

    /// [`check`](Self::check), the verdict written to `out`: filled in place by functions
    /// that each write their part of it, never built in a frame of the engine's and copied
    /// out. The verdict is half a kilobyte, a quarter of the stack one check may use on a
    /// Cortex-M0+: a caller that keeps one `Verdict` and checks into it uses the least
    /// stack (`check` adds a copy of it, where the compiler does not elide the move).
    pub fn check_into(&self, req: &Request<'_>, ctx: Context, out: &mut Verdict) {
        let Some(header) = req.authorization else {
            return self.conclude(Err(Failure::Challenge(Reason::NoCredentials, false)), ctx, out);
        };
        #[cfg(all(feature = "app-hooks", feature = "bearer"))]
        if self.config.app.token_syntax == crate::app::TokenSyntax::WholeValue {
            let outcome = crate::app::whole_value_token(header).and_then(|t| self.bearer_user(t, ctx.now, out));
            return self.conclude(outcome.map(|()| NextNonce::NotYet), ctx, out);
        }
        // One pass over the header: the head, then each param straight into the Digest
        // directives (whatever the scheme: the same syntax errors and duplicates as `parse`,
        // and no span table or second pass).
        let (scheme, rest) = match parse::parse_head(header) {
            Ok(h) => h,
            Err(e) => return *out = Verdict::Malformed(e),
        };
        let (params, token68) = match rest {
            Rest::Params(body) => (Some(body), None),
            Rest::Token68(t) => (None, Some(t)),
            Rest::Empty => (None, None),
        };
        let offered = |s: Scheme| {
            (crate::accel::scheme_is(scheme, s.name().as_bytes()) || self.config.is_named(scheme, s))
                && self.config.schemes.contains(&s)
        };
        // The verdict's last part (a refusal and its nonce, or a next nonce) is written here,
        // after the scheme's frame is gone; one outcome for every scheme.
        let outcome = if offered(Scheme::Digest) {
            self.check_digest(params, req, ctx.now, out)
        } else if cfg!(feature = "basic") && offered(Scheme::Basic) {
            params_valid(params).and_then(|()| self.check_basic(token68, out)).map(|()| NextNonce::NotYet)
        } else if cfg!(feature = "bearer") && offered(Scheme::Bearer) {
            match () {
                #[cfg(feature = "app-hooks")]
                () if self.config.app.token_syntax == crate::app::TokenSyntax::FreeForm => {
                    crate::app::free_form_token(rest).and_then(|t| self.bearer_user(t, ctx.now, out))
                }
                () => params_valid(params).and_then(|()| self.check_bearer(token68, ctx.now, out)),
            }
            .map(|()| NextNonce::NotYet)
        } else {
            // A scheme this engine does not check: its syntax is not ours to judge.
            Err(unsupported_scheme(rest))
        };
        self.conclude(outcome, ctx, out);
    }

    /// Writes the verdict's last part: for a refused request, 400 or 401 with a fresh nonce;
    /// for an authenticated Digest request past half its nonce's life, the `nextnonce` of
    /// its `Authentication-Info`. Nonces are issued into the verdict where it is, after the
    /// scheme's frame is gone. Also for a refusal decided after the check
    /// ([`Engine::settle_replay`]).
    // One copy in the compact form (flash).
    #[cfg_attr(authgate_backend = "compact", inline(never))]
    pub(crate) fn conclude(&self, outcome: Result<NextNonce, Failure>, ctx: Context, out: &mut Verdict) {
        let slot = match outcome {
            Ok(NextNonce::NotYet) => return,
            Ok(NextNonce::Due) => match out {
                Verdict::Authenticated(Authenticated { auth_info: Some(info), .. }) => &mut info.nextnonce,
                _ => return,
            },
            Err(Failure::Malformed(e)) => return *out = Verdict::Malformed(e),
            Err(Failure::Challenge(reason, stale)) => {
                *out = Verdict::Challenge(Challenge { reason, stale, nonce: None });
                match out {
                    Verdict::Challenge(ch) if self.config.schemes.contains(&Scheme::Digest) => &mut ch.nonce,
                    _ => return,
                }
            }
        };
        *slot = Some(self.issue_nonce(ctx));
    }

    /// Basic: the user written to `out`, or why not. The password is checked by
    /// [`credential::check_basic`](crate::credential::check_basic), the one Basic rule.
    // Out of line in the compact form (flash).
    #[cfg_attr(authgate_backend = "compact", inline(never))]
    fn check_basic(&self, token68: Option<&str>, out: &mut Verdict) -> Result<(), Failure> {
        let mut buf: BasicBuffer = [0; MAX_BASIC_DECODED];
        // What `BasicCredentials::from_authorization` does after the scheme word.
        let token = token68.ok_or(ParseError::ExpectedToken68)?;
        let creds = BasicCredentials::decode(token.as_bytes(), &mut buf)?;
        // The user name as UTF-8 straight into the verdict (no buffer of its own), then
        // looked up from there.
        *out = Verdict::Authenticated(Authenticated::plain(UserName::new(), Scheme::Basic));
        let Verdict::Authenticated(a) = out else { return Ok(()) };
        let mut fits = true;
        for_each_utf8_chunk(creds.user_bytes(), creds.charset(), &mut |chunk| {
            fits &= core::str::from_utf8(chunk).is_ok_and(|c| a.user.push_str(c).is_ok());
        });
        if !fits {
            return Err(ParseError::ValueTooLong("username").into());
        }
        let realm = self.config.realm.as_str();
        // The application checks the password itself (a callback, a slow hash): only now,
        // with every limit applied.
        #[cfg(feature = "app-hooks")]
        if let Some(ok) = self.store.verify_basic(&a.user, &creds, realm) {
            return if ok { Ok(()) } else { Err(Failure::Challenge(Reason::BadCredentials, false)) };
        }
        crate::credential::check_basic(&self.store, &a.user, realm, creds.password_bytes(), creds.charset())
            .map_err(|reason| Failure::Challenge(reason, false))
    }

    /// Bearer (a JWT, or a token for the store): the user written to `out`, or why not.
    // Out of line in the compact form: the JWT buffers stay off the other schemes' stack.
    #[cfg_attr(authgate_backend = "compact", inline(never))]
    fn check_bearer(&self, token68: Option<&str>, now: u64, out: &mut Verdict) -> Result<(), Failure> {
        let token = token68.ok_or(ParseError::ExpectedToken68)?;
        if token.len() > MAX_BEARER_LEN {
            return Err(ParseError::ValueTooLong("bearer").into());
        }
        self.bearer_user(token, now, out)
    }

    /// The user a well-formed Bearer token authenticates: the application's verdict, else a
    /// JWT's (when keys are configured), else the store's token.
    fn bearer_user(&self, token: &str, _now: u64, out: &mut Verdict) -> Result<(), Failure> {
        #[cfg(feature = "app-hooks")]
        if let Some(ok) = self.store.verify_token(token) {
            // The application keeps its user: the name is empty.
            return if ok {
                authenticated("", Scheme::Bearer, out)
            } else {
                Err(Failure::Challenge(Reason::InvalidToken, false))
            };
        }
        #[cfg(feature = "jwt")]
        if let Some(jwt) = self.config.jwt.authenticate(token.as_bytes(), _now) {
            let user = jwt.map_err(|reason| Failure::Challenge(reason, false))?;
            return authenticated(&user, Scheme::Bearer, out);
        }
        let digest = crate::hash::sha256(&[token.as_bytes()]);
        match self.store.lookup_bearer(&digest) {
            Some(user) => authenticated(&user, Scheme::Bearer, out),
            None => Err(Failure::Challenge(Reason::InvalidToken, false)),
        }
    }

    // Out of line in the compact form (flash).
    #[cfg_attr(authgate_backend = "compact", inline(never))]
    fn check_digest(
        &self,
        params: Option<&[u8]>,
        req: &Request<'_>,
        now: u64,
        out: &mut Verdict,
    ) -> Result<NextNonce, Failure> {
        // What `DigestCredentials::from_authorization` does after the scheme word.
        let params = params.ok_or(ParseError::ExpectedParams)?;
        // Read where `read` wrote them, not moved out of the `Result`.
        let credentials = DigestCredentials::read(params);
        let c = match &credentials {
            Ok(c) => c,
            Err(e) => return Err((*e).into()),
        };
        let rules = DigestRules {
            realm: &self.config.realm,
            algorithms: &self.config.algorithms,
            qop: self.config.qop,
            rfc2069: self.config.rfc2069,
            userhash: self.config.userhash,
            check_uri: self.config.checks_uri(),
            rspauth: self.config.sends_authentication_info(),
        };
        let here = EngineDigest { engine: self, body: &req.body, now };
        // The user name and the cnonce are written where the caller keeps the verdict.
        *out = Verdict::Authenticated(Authenticated::plain(UserName::new(), Scheme::Digest));
        let Verdict::Authenticated(a) = out else { return Ok(NextNonce::NotYet) };
        let method = req.method.as_bytes();
        let ok = digest_check::verify(&rules, c, method, req.target.as_bytes(), &here, &mut a.user)?;
        #[cfg(feature = "app-hooks")]
        {
            a.algorithm = Some(ok.algorithm);
            a.qop = ok.qop;
        }
        let Some(q) = ok.qop.filter(|_| rules.rspauth) else { return Ok(NextNonce::NotYet) };
        let info = a.auth_info.insert(AuthInfo {
            rspauth: ok.rspauth(c),
            qop: Some(q),
            nc: c.nc,
            cnonce: heapless::Vec::new(),
            nextnonce: None,
        });
        digest_check::copy_cnonce(c, &mut info.cnonce);
        // Past half its life, the nonce's successor goes with the answer.
        let half_life = self.config.lifetime.max_age / 2;
        Ok(match ok.issued {
            Some(i) if now.saturating_sub(i) >= half_life => NextNonce::Due,
            _ => NextNonce::NotYet,
        })
    }

    /// How many `WWW-Authenticate` values [`write_challenge`](Self::write_challenge) renders
    /// (one per Digest algorithm, one for Basic, one for Bearer).
    pub fn challenge_count(&self) -> usize {
        self.config.schemes.iter().map(|s| if *s == Scheme::Digest { self.config.algorithms.len() } else { 1 }).sum()
    }

    /// Renders the `index`-th challenge (in order of preference) into `buf`. Send each as
    /// its own `WWW-Authenticate` field: clients parse those more reliably than one joined list.
    pub fn write_challenge(&self, ch: &Challenge, index: usize, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
        let nonce = ch.nonce.as_ref().map_or("", Nonce::as_str);
        self.render_challenge(ch, index, nonce, self.config.opaque_value(), buf)
    }

    /// [`write_challenge`](Self::write_challenge) with the application's Digest `nonce` and
    /// `opaque` (from its own generators) instead of the challenge's and the configuration's.
    #[cfg(feature = "app-hooks")]
    pub fn write_challenge_with(
        &self,
        ch: &Challenge,
        index: usize,
        nonce: Option<&str>,
        opaque: Option<&str>,
        buf: &mut [u8],
    ) -> Result<usize, BufferTooSmall> {
        let nonce = nonce.unwrap_or_else(|| ch.nonce.as_ref().map_or("", Nonce::as_str));
        self.render_challenge(ch, index, nonce, opaque.or(self.config.opaque_value()), buf)
    }

    fn render_challenge(
        &self,
        ch: &Challenge,
        index: usize,
        nonce: &str,
        opaque: Option<&str>,
        buf: &mut [u8],
    ) -> Result<usize, BufferTooSmall> {
        let mut i = index;
        for s in &self.config.schemes {
            match s {
                Scheme::Digest => {
                    if let Some(alg) = self.config.algorithms.get(i) {
                        let c = DigestChallenge {
                            realm: &self.config.realm,
                            qop: self.config.qop,
                            algorithm: *alg,
                            nonce,
                            opaque,
                            stale: ch.stale,
                            userhash: self.config.userhash,
                        };
                        return self.config.render_digest(&c, buf);
                    }
                    i -= self.config.algorithms.len();
                }
                // A scheme compiled out is never in an engine's config (Engine::new refuses it):
                // its renderer need not be linked.
                Scheme::Basic if cfg!(feature = "basic") && i == 0 => return self.config.render_basic(buf),
                Scheme::Bearer if cfg!(feature = "bearer") && i == 0 => {
                    let (error, description) = bearer_error(ch.reason);
                    return self.config.render_bearer(error, description, buf);
                }
                // The offer alone; a handshake's next token comes from `Connection::token`.
                Scheme::Ntlm | Scheme::Negotiate if cfg!(any(feature = "ntlm", feature = "negotiate")) && i == 0 => {
                    let mut w = render::Writer::new(buf);
                    w.str(s.name());
                    return w.finish();
                }
                _ => i -= 1,
            }
        }
        Ok(0)
    }

    /// All challenges in one value, comma-separated (RFC 9110 §11.6.1).
    pub fn write_challenges(&self, ch: &Challenge, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
        let mut len = 0;
        let mut fits = true;
        for i in 0..self.challenge_count() {
            if i > 0 {
                match buf.get_mut(len..len + 2) {
                    Some(d) => d.copy_from_slice(b", "),
                    None => fits = false,
                }
                len += 2;
            }
            let rest = buf.get_mut(len..).unwrap_or(&mut []);
            match self.write_challenge(ch, i, rest) {
                Ok(n) => len += n,
                Err(e) => {
                    fits = false;
                    len += e.needed;
                }
            }
        }
        if fits {
            Ok(len)
        } else {
            Err(BufferTooSmall { needed: len })
        }
    }

    /// Renders an `Authentication-Info` value.
    pub fn write_authentication_info(&self, info: &AuthInfo, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
        render::authentication_info(info, buf)
    }
}

/// Whether an authenticated Digest request's answer carries a `nextnonce`.
pub(crate) enum NextNonce {
    Due,
    NotYet,
}

/// The engine as a [`DigestContext`]: keyed nonces, its stores, the request's body.
struct EngineDigest<'e, 'b, S, R> {
    engine: &'e Engine<S, R>,
    body: &'b Body<'b>,
    now: u64,
}

impl<S: CredentialStore, R: ReplayStore> DigestContext for EngineDigest<'_, '_, S, R> {
    fn opaque_ok(&self, opaque: Option<&Value<'_>>) -> bool {
        #[cfg(feature = "app-hooks")]
        if let Some(ok) = self.engine.store.verify_opaque(opaque) {
            return ok;
        }
        match self.engine.config.opaque_value() {
            Some(expected) => opaque.is_some_and(|o| o.eq_bytes(expected.as_bytes())),
            None => true,
        }
    }
    // Inlined into the check for speed: a forwarding call to `nonce::verify`; a call of its
    // own in the compact form, whatever the opt-level (the decoded nonce is not on the stack
    // of the rest of the check).
    #[cfg_attr(not(authgate_backend = "compact"), inline(always))]
    #[cfg_attr(authgate_backend = "compact", inline(never))]
    fn nonce(&self, nonce: &Value<'_>, _opaque: Option<&Value<'_>>) -> NonceCheck {
        // The application's own nonces: replay-tracked like ours, from their first use.
        #[cfg(feature = "app-hooks")]
        if let Some(ok) = self.engine.store.verify_nonce(nonce) {
            return if ok {
                NonceCheck::Valid { issued: self.now, id: crate::app::nonce_id(nonce) }
            } else {
                NonceCheck::Invalid
            };
        }
        // Our nonces are lowercase hex: never escaped.
        self.engine.verify_nonce(nonce.as_unescaped().unwrap_or(b""), self.now).into()
    }
    fn user(&self, username: &str, userhash: bool, hash: HashAlgorithm) -> UserLookup {
        let realm = self.engine.config.realm.as_str();
        if userhash {
            return match self.engine.store.lookup_userhash(username, realm, hash) {
                Some((name, cred)) => UserLookup::Found(name, cred),
                None => UserLookup::Unknown,
            };
        }
        // The store first (always asked), then the name copied straight into the answer.
        match self.engine.store.lookup(username, realm, Purpose::Digest(hash)) {
            Some(cred) => match UserName::try_from(username) {
                Ok(name) => UserLookup::Found(name, cred),
                Err(_) => UserLookup::Unknown,
            },
            None => UserLookup::Unknown,
        }
    }
    /// The store's answer read where it is (no `UserLookup` of a name and a credential), the
    /// name looked up where the verdict holds it.
    fn user_ha1(&self, q: &UserQuery<'_>, user: &mut UserName) -> (Option<HashOutput>, bool) {
        if q.userhash {
            return digest_check::ha1_by_lookup(self, q, user);
        }
        let (name, realm) = (user.as_bytes(), q.realm.as_bytes());
        // One credential in the frame at a time: the user's, gone before the decoy's.
        {
            let found = self.engine.store.lookup(user, q.realm, Purpose::Digest(q.hash));
            if let Some(cred) = &found {
                return (cred.digest_ha1(q.hash, name, realm), true);
            }
        }
        let decoy = self.decoy();
        (decoy.digest_ha1(q.hash, name, realm), false)
    }
    // A call of its own in the compact form (the table's search is not on the stack of the
    // rest of the check).
    #[cfg_attr(authgate_backend = "compact", inline(never))]
    fn record(&self, id: &NonceId, issued: u64, nc: u32) -> ReplayOutcome {
        self.engine.replay.check_and_record(id, issued, nc)
    }
    fn decoy(&self) -> StoredCredential {
        self.engine.store.decoy(&self.engine.config.realm)
    }
    fn body_hash(&self, hash: HashAlgorithm) -> Option<HashOutput> {
        match *self.body {
            Body::Bytes(b) => {
                let mut h = Hasher::new(hash)?;
                h.update(b);
                Some(h.finish())
            }
            Body::Hashed(a, d) if a == hash => Some(d),
            _ => None,
        }
    }
}

/// A scheme the engine does not check: 401, whatever follows it, unless it holds a control
/// character (not allowed in any field value).
fn unsupported_scheme(rest: Rest<'_>) -> Failure {
    match rest {
        Rest::Params(body) if body.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) => {
            ParseError::ControlCharacter.into()
        }
        _ => Failure::Challenge(Reason::UnsupportedScheme, false),
    }
}

/// The RFC 6750 error and description of a Bearer challenge for `reason`.
#[cfg(feature = "jwt")]
use crate::jwt::bearer_error;

#[cfg(not(feature = "jwt"))]
fn bearer_error(reason: Reason) -> (Option<render::BearerError>, Option<&'static str>) {
    ((reason == Reason::InvalidToken).then_some(render::BearerError::InvalidToken), None)
}

/// Writes "authenticated as `user`" to `out` (the name copied in place).
fn authenticated(user: &str, scheme: Scheme, out: &mut Verdict) -> Result<(), Failure> {
    *out = Verdict::Authenticated(Authenticated::plain(UserName::new(), scheme));
    if let Verdict::Authenticated(a) = out {
        a.user.push_str(user).map_err(|_| ParseError::ValueTooLong("username"))?;
    }
    Ok(())
}

/// A Basic or Bearer value's param list, if it has one: refused as `parse` would refuse it.
fn params_valid(params: Option<&[u8]>) -> Result<(), Failure> {
    match params.map(validate_params) {
        Some(Err(e)) => Err(e.into()),
        _ => Ok(()),
    }
}

/// The param list of a scheme other than Digest, checked as `parse` checks it (syntax,
/// duplicates) and read no further. Its directives live in this call's frame alone.
#[cfg_attr(authgate_backend = "compact", inline(never))]
fn validate_params(body: &[u8]) -> Result<(), ParseError> {
    DigestParams::new().read(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ReplayTable, StaticUsers};
    use core::cell::RefCell;

    const CTX: Context = Context { now: 1_000, salt: [3; 8] };

    /// Every character alone and between neighbours (C1's lead byte 0xC2 begins U+00A0 too).
    #[test]
    #[cfg_attr(miri, ignore)] // 4.4 million strings: hours interpreted.
    fn has_control_is_char_is_control() {
        let mut buf = [0u8; 12];
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            for (prefix, suffix) in [("", ""), ("a", "~"), ("é", "ÿ"), ("\u{a0}", "\u{a0}")] {
                let mut w = render::Writer::new(&mut buf);
                w.str(prefix).str(c.encode_utf8(&mut [0; 4])).str(suffix);
                let n = w.finish().unwrap();
                let s = core::str::from_utf8(&buf[..n]).unwrap();
                assert_eq!(has_control(s), s.chars().any(char::is_control), "{c:?} in {s:?}");
            }
        }
    }

    /// The verdict for a Digest header with `extra` params, on a fresh nonce.
    #[allow(dead_code)]
    fn verdict_with(config: Config, params: &[&str]) -> Verdict {
        let replay = RefCell::new(ReplayTable::<4>::new());
        let users = StaticUsers::new(&[("Mufasa", "Circle Of Life")]);
        let engine = Engine::new(config, &[7; 32], users, &replay).unwrap();
        let nonce = engine.issue_nonce(CTX);
        let mut buf = [0u8; 512];
        let mut w = render::Writer::new(&mut buf);
        w.str("Digest realm=\"r\", uri=\"/\", algorithm=MD5, response=\"00112233445566778899aabbccddeeff\", nonce=\"")
            .str(nonce.as_str())
            .str("\", ");
        for p in params {
            w.str(p);
        }
        let n = w.finish().unwrap();
        engine.check(&Request::new("GET", "/", Some(&buf[..n])), CTX)
    }

    #[allow(dead_code)]
    fn reason(v: &Verdict) -> Reason {
        match v {
            Verdict::Challenge(ch) => ch.reason,
            other => panic!("expected a challenge, got {other:?}"),
        }
    }

    #[cfg(all(feature = "md5", not(feature = "userhash")))]
    #[test]
    fn userhash_compiled_out() {
        let v = verdict_with(
            Config::new("r").unwrap(),
            &["username=\"Mufasa\", qop=auth, nc=00000001, cnonce=\"c\", userhash=true"],
        );
        assert_eq!(reason(&v), Reason::UnknownUser);
        assert_eq!(
            Engine::new(
                Config::new("r").unwrap().userhash(true),
                &[7; 32],
                StaticUsers::new(&[]),
                &RefCell::new(ReplayTable::<1>::new())
            )
            .err(),
            Some(ConfigError::FeatureDisabled)
        );
    }

    #[cfg(all(feature = "md5", not(feature = "username-star")))]
    #[test]
    fn username_star_compiled_out() {
        for name in ["UTF-8''Mufasa", "UTF-8''%", "nonsense"] {
            let params = ["username*=", name, ", qop=auth, nc=00000001, cnonce=\"c\""];
            assert_eq!(reason(&verdict_with(Config::new("r").unwrap(), &params)), Reason::UnknownUser);
        }
    }

    #[cfg(all(feature = "md5", not(feature = "auth-int")))]
    #[test]
    fn auth_int_compiled_out() {
        let v =
            verdict_with(Config::new("r").unwrap(), &["username=\"Mufasa\", qop=auth-int, nc=00000001, cnonce=\"c\""]);
        assert_eq!(reason(&v), Reason::UnsupportedQop);
        let both = QopSet { auth: true, auth_int: true };
        assert_eq!(
            Engine::new(
                Config::new("r").unwrap().qop(both),
                &[7; 32],
                StaticUsers::new(&[]),
                &RefCell::new(ReplayTable::<1>::new())
            )
            .err(),
            Some(ConfigError::FeatureDisabled)
        );
        assert_eq!(body_hash_algorithm(b"Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"/\", response=\"00\", qop=auth-int, nc=00000001, cnonce=\"c\""), None);
    }

    #[cfg(all(feature = "md5", not(feature = "rfc2069")))]
    #[test]
    fn rfc2069_compiled_out() {
        let v = verdict_with(Config::new("r").unwrap(), &["username=\"Mufasa\""]);
        assert_eq!(reason(&v), Reason::UnsupportedQop);
        assert_eq!(
            Engine::new(
                Config::new("r").unwrap().allow_rfc2069(true),
                &[7; 32],
                StaticUsers::new(&[]),
                &RefCell::new(ReplayTable::<1>::new())
            )
            .err(),
            Some(ConfigError::FeatureDisabled)
        );
    }
}
