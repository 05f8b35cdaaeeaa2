//! The high-level entry point: one call per request, returning a [`Verdict`].

use crate::basic::{BasicBuffer, BasicCredentials};
use crate::credential::{CredentialStore, Purpose, StoredCredential, UserName};
use crate::digest::{Algorithm, DigestCredentials, DigestSlots, Known, Qop};
use crate::digest_check::{self, DigestContext, DigestFailure as Failure, DigestRules, NonceCheck, UserLookup};
use crate::error::{BufferTooSmall, ConfigError, ParseError, Reason};
use crate::hash::{HashAlgorithm, HashOutput, Hasher};
use crate::limits::*;
use crate::nonce::{self, Lifetime, Nonce, NonceId, NonceKey, NonceStatus};
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
}

/// Whether the scheme word is `name` (a scheme name: letters only, 4 to 8 of them),
/// ignoring ASCII case: on 64-bit hosts its first and last four bytes (overlapping), as
/// two words, `| 0x20` on both sides (a tchar folds to a letter only from that letter).
#[cfg(target_pointer_width = "64")]
#[inline(never)]
fn scheme_is(scheme: &[u8], name: &[u8]) -> bool {
    let n = name.len();
    let word = |b: &[u8]| {
        let head = b.first_chunk::<4>().copied().unwrap_or_default();
        let tail = b.last_chunk::<4>().copied().unwrap_or_default();
        (u32::from_le_bytes(head) as u64 | (u32::from_le_bytes(tail) as u64) << 32) | 0x2020_2020_2020_2020
    };
    scheme.len() == n && (4..=8).contains(&n) && word(scheme) == word(name)
}

#[cfg(not(target_pointer_width = "64"))]
fn scheme_is(scheme: &[u8], name: &[u8]) -> bool {
    parse::eq_ignore_case(scheme, name)
}

impl Scheme {
    /// The scheme's name.
    pub const fn name(self) -> &'static str {
        match self {
            Scheme::Basic => "Basic",
            Scheme::Digest => "Digest",
            Scheme::Bearer => "Bearer",
        }
    }
}

/// What the engine offers and accepts.
#[derive(Clone, Debug)]
pub struct Config {
    realm: heapless::String<MAX_REALM_LEN>,
    schemes: heapless::Vec<Scheme, 3>,
    algorithms: heapless::Vec<Algorithm, 6>,
    qop: QopSet,
    lifetime: Lifetime,
    rfc2069: bool,
    userhash: bool,
    opaque: heapless::String<MAX_OPAQUE_LEN>,
    #[cfg(feature = "jwt")]
    jwt: crate::jwt::JwtConfig,
    origin: crate::origin::OriginPolicy,
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
        let compiled_out = |s: Scheme, on: bool| self.schemes.contains(&s) && !on;
        if compiled_out(Scheme::Basic, cfg!(feature = "basic"))
            || compiled_out(Scheme::Bearer, cfg!(feature = "bearer"))
        {
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
    // Inlined on 64-bit hosts: a length test, called twice per check.
    #[cfg_attr(target_pointer_width = "64", inline(always))]
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
    /// For Digest: the `Authentication-Info` to send back.
    pub auth_info: Option<AuthInfo>,
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
        Ok(Engine { config, key: NonceKey::new(key), previous_key: None, store, replay })
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

    /// Replaces the origin policy: a device's names change with its address (DHCP).
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
        Nonce::issue(&self.key, self.config.realm.as_bytes(), opaque.as_bytes(), ctx.now, ctx.salt)
    }

    /// Checks a nonce of ours (authenticity and age; not replay).
    // Inlined into the check on 64-bit hosts (as `EngineDigest::nonce`): it forwards.
    #[cfg_attr(target_pointer_width = "64", inline(always))]
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
    pub fn check(&self, req: &Request<'_>, ctx: Context) -> Verdict {
        let Some(header) = req.authorization else {
            return Verdict::Challenge(self.challenge(Reason::NoCredentials, false, ctx));
        };
        // One pass over the header: the head, then each param straight into the Digest
        // directive slots (whatever the scheme: the same syntax errors and duplicates as
        // `parse`, and no span table or second pass).
        let (scheme, rest) = match parse::parse_head(header) {
            Ok(h) => h,
            Err(e) => return Verdict::Malformed(e),
        };
        let mut slots = DigestSlots::new();
        if let Rest::Params(body) = rest {
            if let Err(e) = parse::scan_params(body, &mut slots) {
                return Verdict::Malformed(e);
            }
        }
        let token68 = match rest {
            Rest::Token68(t) => Some(t),
            _ => None,
        };
        // The usual spelling first, as a constant on 64-bit hosts (speed).
        let offered = |s: Scheme| {
            (cfg!(target_pointer_width = "64") && scheme == s.name().as_bytes()
                || scheme_is(scheme, s.name().as_bytes()))
                && self.config.schemes.contains(&s)
        };
        // Digest and Basic verdicts are returned as is: built where the caller keeps them,
        // not moved out of a `Result`.
        let outcome = if offered(Scheme::Digest) {
            return self.check_digest(matches!(rest, Rest::Params(_)), &slots, req, ctx);
        } else if cfg!(feature = "basic") && offered(Scheme::Basic) {
            return self.check_basic(token68, ctx);
        } else if cfg!(feature = "bearer") && offered(Scheme::Bearer) {
            self.check_bearer(token68, ctx.now)
        } else {
            Err(Failure::Challenge(Reason::UnsupportedScheme, false))
        };
        match outcome {
            Ok(a) => Verdict::Authenticated(a),
            Err(f) => self.refused(f, ctx),
        }
    }

    /// The verdict for a refused request.
    // One copy on microcontrollers (flash).
    #[cfg_attr(not(target_pointer_width = "64"), inline(never))]
    fn refused(&self, failure: Failure, ctx: Context) -> Verdict {
        match failure {
            Failure::Malformed(e) => Verdict::Malformed(e),
            Failure::Challenge(reason, stale) => Verdict::Challenge(self.challenge(reason, stale, ctx)),
        }
    }

    // Out of line on microcontrollers (flash).
    #[cfg_attr(not(target_pointer_width = "64"), inline(never))]
    fn check_basic(&self, token68: Option<&str>, ctx: Context) -> Verdict {
        let mut buf: BasicBuffer = [0; MAX_BASIC_DECODED];
        let mut name_buf = [0u8; MAX_USERNAME_LEN];
        match self.basic_user(token68, &mut buf, &mut name_buf) {
            Ok(user) => Verdict::Authenticated(Authenticated { user, scheme: Scheme::Basic, auth_info: None }),
            Err(f) => self.refused(f, ctx),
        }
    }

    /// The user a Basic token authenticates.
    fn basic_user(
        &self,
        token68: Option<&str>,
        buf: &mut BasicBuffer,
        name_buf: &mut [u8; MAX_USERNAME_LEN],
    ) -> Result<UserName, Failure> {
        // What `BasicCredentials::from_authorization` does after the scheme word.
        let token = token68.ok_or(ParseError::ExpectedToken68)?;
        let creds = BasicCredentials::decode(token.as_bytes(), buf)?;
        let user = creds.user(name_buf).ok_or(ParseError::ValueTooLong("username"))?;
        let realm = self.config.realm.as_str();
        let stored = self.store.lookup(user, realm, Purpose::Basic);
        // Unknown users are checked against the store's decoy, so timing does not reveal them.
        let decoy;
        let checked = match &stored {
            Some(c) => c,
            None => {
                decoy = self.store.decoy(realm);
                &decoy
            }
        };
        let ok = checked.check_password(user.as_bytes(), realm.as_bytes(), creds.password_bytes(), creds.charset());
        match (stored, ok) {
            (Some(_), true) => to_username(user),
            (Some(_), false) => Err(Failure::Challenge(Reason::BadCredentials, false)),
            (None, _) => Err(Failure::Challenge(Reason::UnknownUser, false)),
        }
    }

    // Out of line on microcontrollers: the JWT buffers stay off the other schemes' stack.
    #[cfg_attr(not(target_pointer_width = "64"), inline(never))]
    fn check_bearer(&self, token68: Option<&str>, _now: u64) -> Result<Authenticated, Failure> {
        let token = token68.ok_or(ParseError::ExpectedToken68)?;
        if token.len() > MAX_BEARER_LEN {
            return Err(ParseError::ValueTooLong("bearer").into());
        }
        #[cfg(feature = "jwt")]
        if let Some(jwt) = self.config.jwt.authenticate(token.as_bytes(), _now) {
            return jwt
                .map(|user| Authenticated { user, scheme: Scheme::Bearer, auth_info: None })
                .map_err(|reason| Failure::Challenge(reason, false));
        }
        let digest = crate::hash::sha256(&[token.as_bytes()]);
        match self.store.lookup_bearer(&digest) {
            Some(user) => Ok(Authenticated { user, scheme: Scheme::Bearer, auth_info: None }),
            None => Err(Failure::Challenge(Reason::InvalidToken, false)),
        }
    }

    // Out of line on microcontrollers (flash).
    #[cfg_attr(not(target_pointer_width = "64"), inline(never))]
    fn check_digest(&self, params: bool, slots: &DigestSlots<'_>, req: &Request<'_>, ctx: Context) -> Verdict {
        // `check` only comes here for the Digest scheme word, with the params (if any) in
        // `slots`: what `DigestCredentials::from_authorization` does after the scheme word.
        if !params {
            return Verdict::Malformed(ParseError::ExpectedParams);
        }
        // On 64-bit hosts read where `from_slots` wrote them, not moved out of the `Result`
        // (a few hundred bytes); on microcontrollers the move is the smaller code.
        #[cfg(target_pointer_width = "64")]
        let credentials = DigestCredentials::from_slots(slots);
        #[cfg(target_pointer_width = "64")]
        let c = match &credentials {
            Ok(c) => c,
            Err(e) => return Verdict::Malformed(*e),
        };
        #[cfg(not(target_pointer_width = "64"))]
        let owned = match DigestCredentials::from_slots(slots) {
            Ok(c) => c,
            Err(e) => return Verdict::Malformed(e),
        };
        #[cfg(not(target_pointer_width = "64"))]
        let c = &owned;
        let rules = DigestRules {
            realm: &self.config.realm,
            algorithms: &self.config.algorithms,
            qop: self.config.qop,
            rfc2069: self.config.rfc2069,
            userhash: self.config.userhash,
            check_uri: true,
        };
        let here = EngineDigest { engine: self, body: &req.body, now: ctx.now };
        let ok = match digest_check::verify(&rules, c, req.method.as_bytes(), req.target.as_bytes(), &here) {
            Ok(ok) => ok,
            Err(f) => return self.refused(f, ctx),
        };
        let half_life = self.config.lifetime.max_age / 2;
        let nextnonce = ok.issued.filter(|i| ctx.now.saturating_sub(*i) >= half_life).map(|_| self.issue_nonce(ctx));
        // The cnonce first, then the verdict built as the returned value (no local verdict
        // altered after the fact and then copied out whole).
        let mut cnonce = heapless::Vec::new();
        if ok.qop.is_some() {
            digest_check::copy_cnonce(c, &mut cnonce);
        }
        Verdict::Authenticated(Authenticated {
            user: ok.user,
            scheme: Scheme::Digest,
            auth_info: match ok.qop {
                Some(q) => Some(AuthInfo { rspauth: ok.rspauth, qop: Some(q), nc: c.nc, cnonce, nextnonce }),
                None => None,
            },
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
        let mut i = index;
        for s in &self.config.schemes {
            match s {
                Scheme::Digest => {
                    if let Some(alg) = self.config.algorithms.get(i) {
                        let nonce = ch.nonce.as_ref().map_or("", Nonce::as_str);
                        return render::digest_challenge(
                            &DigestChallenge {
                                realm: &self.config.realm,
                                qop: self.config.qop,
                                algorithm: *alg,
                                nonce,
                                opaque: self.config.opaque_value(),
                                stale: ch.stale,
                                userhash: self.config.userhash,
                            },
                            buf,
                        );
                    }
                    i -= self.config.algorithms.len();
                }
                // A scheme compiled out is never in an engine's config (Engine::new refuses it):
                // its renderer need not be linked.
                Scheme::Basic if cfg!(feature = "basic") && i == 0 => {
                    return render::basic_challenge(&self.config.realm, buf)
                }
                Scheme::Bearer if cfg!(feature = "bearer") && i == 0 => {
                    let (error, description) = bearer_error(ch.reason);
                    return render::bearer_challenge(&self.config.realm, error, description, buf);
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

/// The engine as a [`DigestContext`]: keyed nonces, its stores, the request's body.
struct EngineDigest<'e, 'b, S, R> {
    engine: &'e Engine<S, R>,
    body: &'b Body<'b>,
    now: u64,
}

impl<S: CredentialStore, R: ReplayStore> DigestContext for EngineDigest<'_, '_, S, R> {
    fn opaque_ok(&self, opaque: Option<&Value<'_>>) -> bool {
        match self.engine.config.opaque_value() {
            Some(expected) => opaque.is_some_and(|o| o.eq_bytes(expected.as_bytes())),
            None => true,
        }
    }
    // Inlined into the check on 64-bit hosts: a forwarding call to `nonce::verify`.
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    fn nonce(&self, nonce: &Value<'_>, _opaque: Option<&Value<'_>>) -> NonceCheck {
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
                Some(h.finalize())
            }
            Body::Hashed(a, d) if a == hash => Some(d),
            _ => None,
        }
    }
}

/// The RFC 6750 error and description of a Bearer challenge for `reason`.
#[cfg(feature = "jwt")]
use crate::jwt::bearer_error;

#[cfg(not(feature = "jwt"))]
fn bearer_error(reason: Reason) -> (Option<render::BearerError>, Option<&'static str>) {
    ((reason == Reason::InvalidToken).then_some(render::BearerError::InvalidToken), None)
}

fn to_username(s: &str) -> Result<UserName, Failure> {
    UserName::try_from(s).map_err(|_| ParseError::ValueTooLong("username").into())
}

#[cfg(test)]
mod tests {
    /// The 64-bit hosts' word comparison of scheme words agrees with `eq_ignore_case` for
    /// every case of each name, other tchars in each position, and other lengths.
    #[test]
    fn scheme_is_matches_eq_ignore_case() {
        for s in [Scheme::Basic, Scheme::Digest, Scheme::Bearer] {
            let name = s.name().as_bytes();
            for mask in 0..(1u32 << name.len()) {
                let mut w = name.to_vec();
                for (k, b) in w.iter_mut().enumerate() {
                    if mask & (1 << k) != 0 {
                        *b ^= 0x20;
                    }
                }
                assert!(super::scheme_is(&w, name));
                for k in 0..w.len() {
                    for t in b"!#$%&'*+-.^_`|~0123456789AZaz@[{" {
                        let mut v = w.clone();
                        v[k] = *t;
                        assert_eq!(super::scheme_is(&v, name), parse::eq_ignore_case(&v, name));
                    }
                }
                for extra in [&w[..w.len() - 1], &[w.as_slice(), b"x"].concat()[..], b"", b"Basi", b"Digests"] {
                    assert_eq!(super::scheme_is(extra, name), parse::eq_ignore_case(extra, name));
                }
            }
        }
    }

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
