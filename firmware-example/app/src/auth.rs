//! The authgate glue: the one module of the example that talks to the authgate core.
//!
//! It owns nothing but plumbing — the engine's configuration, the nonce key (drawn from the
//! board's entropy by the binary), the clock (embassy-time's uptime), per-request salt, the
//! replay table (a static) and the current [`Login`]. Every decision — parsing `Authorization`, checking Basic
//! passwords and Digest responses, nonces, replay, rendering `WWW-Authenticate` and
//! `Authentication-Info` — is made by [`authgate::Engine::check`]; where a request comes
//! from and which name it was sent to (CSRF, DNS rebinding) by
//! [`authgate::Engine::check_origin`], under the names [`Guard::serve_names`] gives it.
//!
//! With the `jwt` feature, a Bearer JWT signed with the hub's secret is accepted too, once
//! the clock is set ([`crate::clock`]): the engine is then rebuilt with the JWT settings,
//! offers `Bearer` after Digest and Basic, and checks `exp`/`nbf`/`iat` against Unix time.

use core::cell::RefCell;

use authgate::{
    AuthInfo, Challenge, Config, Context, Engine, OriginHeaders, OriginPolicy, OriginRefusal, ParseError,
    ReplayOutcome, ReplayStore, ReplayTable, Request, UserName, Verdict,
};
use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;

use crate::login::Login;
use crate::settings::Settings;

/// Longest `WWW-Authenticate` value (one challenge): the realm is at most 128 bytes (256
/// escaped), the nonce 64, the rest under 100.
pub const CHALLENGE_LEN: usize = 448;
/// Longest `Authentication-Info`: rspauth (64 hex), a cnonce of up to 256 bytes escaped,
/// nc, qop and a nextnonce.
pub const INFO_LEN: usize = 768;
/// Nonces whose counts are remembered (40 bytes each). When full, the oldest nonce is
/// dropped and a client still using it is sent `stale=true` (authgate never lets it be fresh).
pub const REPLAY_CAPACITY: usize = 32;

/// What the web layer should do with a request.
///
/// Header values are not rendered here but when the response is written (they implement
/// `Display` and render through authgate into a stack buffer), so a pending response holds
/// only authgate's small verdict, not kilobytes of text, in every connection's future.
pub enum Decision {
    /// Authenticated: go on. `info` is the `Authentication-Info` value (Digest only).
    Allow { user: UserName, info: Option<AuthenticationInfo> },
    /// 401 with these challenges.
    Challenge(Challenges),
    /// 400: the `Authorization` header could not be understood.
    BadRequest { reason: &'static str },
}

/// The challenges of a 401: one `WWW-Authenticate` field per [`Challenges::value`], most
/// preferred first (Digest SHA-256, Digest MD5, Basic).
pub struct Challenges {
    guard: &'static Guard,
    challenge: Challenge,
}

impl Challenges {
    /// The `index`-th `WWW-Authenticate` value, if there is one.
    pub fn value(&self, index: usize) -> Option<ChallengeValue<'_>> {
        (index < self.guard.with_engine(|e| e.challenge_count())).then_some(ChallengeValue { of: self, index })
    }
}

/// One `WWW-Authenticate` value, rendered by authgate when displayed.
pub struct ChallengeValue<'a> {
    of: &'a Challenges,
    index: usize,
}

impl core::fmt::Display for ChallengeValue<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let Challenges { guard, challenge } = self.of;
        emit::<CHALLENGE_LEN>(f, |b| guard.with_engine(|e| e.write_challenge(challenge, self.index, b)))
    }
}

/// The `Authentication-Info` value of a Digest success, rendered by authgate when displayed.
pub struct AuthenticationInfo {
    guard: &'static Guard,
    info: AuthInfo,
}

impl core::fmt::Display for AuthenticationInfo {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        emit::<INFO_LEN>(f, |b| self.guard.with_engine(|e| e.write_authentication_info(&self.info, b)))
    }
}

/// The replay table, shared by every connection. A critical-section mutex makes the static
/// `Sync`; the core's `RefCell` store does the rest.
pub struct SharedReplay(Mutex<CriticalSectionRawMutex, RefCell<ReplayTable<REPLAY_CAPACITY>>>);

impl SharedReplay {
    pub const fn new() -> Self {
        Self(Mutex::new(RefCell::new(ReplayTable::new())))
    }
}

impl Default for SharedReplay {
    fn default() -> Self {
        Self::new()
    }
}

impl ReplayStore for SharedReplay {
    fn check_and_record(&self, id: &authgate::nonce::NonceId, issued: u64, nc: u32) -> ReplayOutcome {
        self.0.lock(|table| table.check_and_record(id, issued, nc))
    }
}

/// The replay table lives here, in a static: no heap, and its size shows up in `.bss`.
static REPLAY: SharedReplay = SharedReplay::new();

/// Fills the 8 bytes of salt each issued nonce carries (the board's entropy source).
pub type SaltSource = fn(&mut [u8; 8]);

type DeviceEngine = Engine<Login, &'static SharedReplay>;

pub struct Guard {
    settings: Settings,
    /// Kept to rebuild the engine when the login changes (the same key: nonces stay valid).
    key: [u8; 32],
    /// Replaced whole by [`Guard::set_login`]; every use is a short synchronous borrow.
    engine: Mutex<CriticalSectionRawMutex, RefCell<DeviceEngine>>,
    salt: SaltSource,
    /// The current login, to rebuild the engine when the clock is set.
    #[cfg(feature = "jwt")]
    login: Mutex<CriticalSectionRawMutex, RefCell<Login>>,
}

impl Guard {
    /// `key` must be 32 bytes of fresh entropy (RoscRng / the TRNG on the boards,
    /// /dev/urandom on Linux); `salt` draws from the same source for every nonce issued.
    /// `login` is the stored one if there is one, else the build's ([`Login::from_build`]).
    pub fn new(settings: Settings, key: [u8; 32], salt: SaltSource, login: Login) -> Self {
        #[cfg(feature = "jwt")]
        let kept = Mutex::new(RefCell::new(login.clone()));
        let engine = Mutex::new(RefCell::new(engine_for(&settings, &key, login)));
        Guard {
            settings,
            key,
            engine,
            salt,
            #[cfg(feature = "jwt")]
            login: kept,
        }
    }

    /// Check against `login` from now on (the store calls this once it is in flash). The
    /// Digest algorithms offered follow the HA1s the login has.
    pub fn set_login(&self, login: Login) {
        #[cfg(feature = "jwt")]
        self.login.lock(|l| *l.borrow_mut() = login.clone());
        self.replace_engine(engine_for(&self.settings, &self.key, login));
    }

    /// Accept JWTs from now on: the clock is set (the engine is rebuilt with the same key,
    /// login and origin policy, so issued nonces stay valid).
    #[cfg(feature = "jwt")]
    pub fn enable_jwt(&self) {
        let login = self.login.lock(|l| l.borrow().clone());
        self.replace_engine(engine_for(&self.settings, &self.key, login));
    }

    /// Swaps in `engine`, keeping the origin policy [`Guard::serve_names`] set.
    fn replace_engine(&self, mut engine: DeviceEngine) {
        self.engine.lock(|e| {
            engine.set_origin_policy(e.borrow().config().origin().clone());
            *e.borrow_mut() = engine;
        });
    }

    /// The names requests must be sent to (DNS rebinding): the DHCP and mDNS hostname,
    /// `hostname.local` and `AUTHGATE_HOSTS` (`*`: any name), or any IP address (a rebinding
    /// attack needs a name, so the address the device has from DHCP, or through NAT, needs
    /// no listing). Unsafe requests from other origins are refused whatever the names;
    /// `AUTHGATE_ORIGINS` are allowed. Called once at boot.
    pub fn serve_names(&self, hostname: &str) {
        let mut names: heapless::String<160> = heapless::String::new();
        let hosts = self.settings.allowed_hosts;
        if hosts != "*" {
            for part in [hostname, " ", hostname, ".local ", hosts] {
                let _ = names.push_str(part);
            }
        }
        let policy = OriginPolicy::new()
            .allow_any_address(true)
            .allow_hosts(&names)
            .and_then(|p| p.allow_origins(self.settings.allowed_origins));
        match policy {
            Ok(p) => self.engine.lock(|e| e.borrow_mut().set_origin_policy(p)),
            // build.rs checked the settings, with room for the longest hostname.
            Err(e) => warn!("origin policy: {}", e.message()),
        }
    }

    /// Where a request comes from and which name it was sent to, before anything else (every
    /// route, open ones too): a refusal is answered with its status (403, 421 or 400).
    pub fn check_origin(&self, method: &str, path: &str, headers: &OriginHeaders<'_>) -> Result<(), OriginRefusal> {
        let verdict = self.with_engine(|e| e.check_origin(method, headers));
        if let Err(r) = verdict {
            warn!("{} for {} {}: {}", r.status(), method, path, r.message());
        }
        verdict
    }

    fn with_engine<R>(&self, f: impl FnOnce(&DeviceEngine) -> R) -> R {
        self.engine.lock(|e| f(&e.borrow()))
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Decide on one request. `target` is the request-target as sent (path and query).
    ///
    /// Not inlined: LTO folds authgate's `Engine::check_into` into this function, and keeping it
    /// a symbol of its own lets `size.sh` attribute that code.
    #[inline(never)]
    pub fn check(&'static self, method: &str, target: &str, authorization: Option<&[u8]>) -> Decision {
        let now = embassy_time::Instant::now().as_secs();
        // Unix time once known (JWT's clock), uptime before (enough for Digest nonces).
        #[cfg(feature = "jwt")]
        let now = crate::clock::unix_now().unwrap_or(now);
        let mut salt = [0u8; 8];
        (self.salt)(&mut salt);
        let ctx = Context { now, salt };
        // Nonces older than their lifetime are refused as expired before the table is
        // consulted; forgetting them keeps room for live ones.
        let lifetime = u64::from(self.settings.nonce_lifetime_s);
        REPLAY.0.lock(|t| t.borrow_mut().purge_before(now.saturating_sub(lifetime)));

        // The verdict is filled where it is kept (`check_into`): no copy of its half
        // kilobyte on the way out of the engine's lock (authgate's embedded path: one check
        // in 2 KiB of stack, docs/performance.md).
        let mut verdict = Verdict::Malformed(ParseError::Empty);
        self.with_engine(|e| e.check_into(&Request::new(method, target, authorization), ctx, &mut verdict));
        match verdict {
            Verdict::Authenticated(a) => {
                Decision::Allow { user: a.user, info: a.auth_info.map(|info| AuthenticationInfo { guard: self, info }) }
            }
            Verdict::Challenge(challenge) => {
                warn!("401 for {} {}: {}", method, target, challenge.reason.message());
                Decision::Challenge(Challenges { guard: self, challenge })
            }
            Verdict::Malformed(e) => {
                warn!("400 for {} {}: {}", method, target, e.message());
                Decision::BadRequest { reason: e.message() }
            }
        }
    }
}

fn engine_for(settings: &Settings, key: &[u8; 32], login: Login) -> DeviceEngine {
    let config = Config::new(settings.realm)
        .and_then(|c| c.algorithms(&login.algorithms()))
        .and_then(|c| c.nonce_lifetime(settings.nonce_lifetime_s.into()))
        .expect("authgate configuration");
    #[cfg(feature = "jwt")]
    let config = match crate::clock::unix_now() {
        Some(_) => config
            .schemes(&[authgate::Scheme::Digest, authgate::Scheme::Basic, authgate::Scheme::Bearer])
            .and_then(|c| c.jwt(jwt_config()))
            .expect("authgate JWT configuration"),
        None => config,
    };
    Engine::new(config, key, login, &REPLAY).expect("authgate engine")
}

/// The hub's keys and the claims rules, from the build (checked there by the same calls).
#[cfg(feature = "jwt")]
fn jwt_config() -> authgate::jwt::JwtConfig {
    use crate::settings::build;
    use authgate::jwt::{JwsAlgorithm, JwtConfig, JwtKey};
    let mut config = JwtConfig::new().algorithms(&[JwsAlgorithm::Hs256]).expect("HS256");
    for secret in build::JWT_HS256_KEYS {
        config = config.key(JwtKey::hmac(secret).expect("checked by build.rs")).expect("at most 4 keys");
    }
    if let Some(iss) = build::JWT_ISSUER {
        config = config.issuer(iss).expect("checked by build.rs");
    }
    if let Some(aud) = build::JWT_AUDIENCE {
        config = config.audience(aud).expect("checked by build.rs");
    }
    config.leeway(build::JWT_LEEWAY_S).identity_claim(build::JWT_USER_CLAIM).expect("checked by build.rs")
}

/// The realm must fit authgate's limit (128 bytes), which also bounds [`CHALLENGE_LEN`].
const _: () = assert!(Settings::from_build_env().realm.len() <= authgate::limits::MAX_REALM_LEN);

/// Let authgate render into a stack buffer and pass the text on. The buffers are sized for
/// every value this configuration can produce; were one too small, the value would be empty.
fn emit<const N: usize>(
    f: &mut core::fmt::Formatter<'_>,
    write: impl FnOnce(&mut [u8]) -> Result<usize, authgate::BufferTooSmall>,
) -> core::fmt::Result {
    let mut buf = [0u8; N];
    match write(&mut buf) {
        Ok(n) => f.write_str(core::str::from_utf8(&buf[..n]).unwrap_or("")),
        Err(_) => Ok(()),
    }
}
