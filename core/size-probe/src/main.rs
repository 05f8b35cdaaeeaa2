//! One Digest/Basic check on a Cortex-M0+ with no heap: no `#[global_allocator]` exists
//! here, so this links only because authgate never allocates.
#![no_std]
#![no_main]

use core::hint::black_box;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}

static HEADER: [u8; 256] = [0; 256];

#[cfg(feature = "htpasswd-bcrypt")]
static HTFILE_LINE: &[u8] = b"admin:$2y$05$F09reEW7pFgC7wHd7J/YNuIMaJbcMVZT9IQxcRy9ErMDW4icZpq96";
#[cfg(feature = "htpasswd-apr1")]
static HTFILE_LINE: &[u8] = b"admin:$apr1$TIHWr3VY$2jP5YqtOr9dPSiTtMuzJ./";
#[cfg(feature = "htpasswd-sha-crypt")]
static HTFILE_LINE: &[u8] = b"admin:$5$Eo22L.GDgjmhNhuK$ahJYMc4eydgfOskbOBfEodtHGfOdfDF4301s1kfVHG0";
#[cfg(feature = "htpasswd-sha1")]
static HTFILE_LINE: &[u8] = b"admin:{SHA}I7dElEdfX4dJgLdnbVEeI9iG2mQ=";
#[cfg(feature = "htpasswd-crypt")]
static HTFILE_LINE: &[u8] = b"admin:YyYFE00gMVVrE";
#[cfg(feature = "htdigest")]
static HTFILE_LINE: &[u8] = b"admin:device:669bb5c539f096809dc379871fe1c6bc";
/// A hub's keys, as a device would hold them: an HMAC secret, and the public keys the
/// features add (from `black_box`ed bytes, so nothing is folded away).
#[cfg(feature = "jwt")]
fn jwt() -> authgate::jwt::JwtConfig {
    use authgate::jwt::{JwsAlgorithm, JwtConfig, JwtKey};
    let mut c = JwtConfig::new();
    if let Ok(k) = JwtKey::hmac(black_box(&[7u8; 32])) {
        c = c.key(k).unwrap_or_else(|_| loop {});
    }
    #[cfg(feature = "jwt-es256")]
    if let Ok(k) = JwtKey::p256_sec1(black_box(&[4u8; 65])) {
        c = c.key(k).unwrap_or_else(|_| loop {});
    }
    #[cfg(feature = "jwt-eddsa")]
    if let Ok(k) = JwtKey::ed25519(black_box(&[9u8; 32])) {
        c = c.key(k).unwrap_or_else(|_| loop {});
    }
    let mut algs = [JwsAlgorithm::Hs256; 5];
    let mut n = 0;
    for a in [JwsAlgorithm::Hs256, JwsAlgorithm::Hs384, JwsAlgorithm::Hs512, JwsAlgorithm::Es256, JwsAlgorithm::EdDsa] {
        if a.is_enabled() {
            algs[n] = a;
            n += 1;
        }
    }
    c.algorithms(&algs[..n]).unwrap_or_else(|_| loop {})
}

#[cortex_m_rt::entry]
fn main() -> ! {
    #[cfg(feature = "authgate")]
    {
        #[allow(unused_imports)] // StaticUsers: replaced by a file line in htfile-size.sh's builds.
        use authgate::{Config, Context, Engine, ReplayTable, Request, StaticUsers, Verdict};
        let replay = core::cell::RefCell::new(ReplayTable::<16>::new());
        #[cfg(not(any(
            feature = "htpasswd-bcrypt",
            feature = "htpasswd-apr1",
            feature = "htpasswd-sha-crypt",
            feature = "htpasswd-sha1",
            feature = "htpasswd-crypt",
            feature = "htdigest"
        )))]
        let users = StaticUsers::new(&[("admin", "secret")]);
        // One line given at build time, as a device would take it (htfile-size.sh).
        #[cfg(feature = "htdigest")]
        let users = authgate::Htdigest::parse(black_box(HTFILE_LINE)).unwrap_or_else(|_| loop {});
        #[cfg(all(not(feature = "htdigest"), any(
            feature = "htpasswd-bcrypt",
            feature = "htpasswd-apr1",
            feature = "htpasswd-sha-crypt",
            feature = "htpasswd-sha1",
            feature = "htpasswd-crypt"
        )))]
        let users = authgate::Htpasswd::parse(black_box(HTFILE_LINE), authgate::htfile::Policy::DEFAULT)
            .unwrap_or_else(|_| loop {});
        let config = Config::new("device").unwrap_or_else(|_| loop {});
        #[cfg(all(feature = "bearer", not(feature = "jwt")))]
        let config = config.schemes(&[authgate::Scheme::Digest, authgate::Scheme::Bearer]).unwrap_or_else(|_| loop {});
        #[cfg(feature = "jwt")]
        let config = config.schemes(&[authgate::Scheme::Digest, authgate::Scheme::Bearer]).and_then(|c| c.jwt(jwt())).unwrap_or_else(|_| loop {});
        // As a device would set it up: its mDNS name and its address.
        #[cfg(feature = "origin")]
        let config = config.origin_policy(
            authgate::OriginPolicy::new()
                .allow_host(black_box("device.local"))
                .and_then(|p| p.allow_host(black_box("192.168.1.20")))
                .unwrap_or_else(|_| loop {}),
        );
        #[cfg(feature = "ntlm")]
        let config = config.schemes(&[authgate::Scheme::Ntlm, authgate::Scheme::Digest, authgate::Scheme::Basic]).unwrap_or_else(|_| loop {});
        let engine = Engine::new(config, black_box(&[7; 32]), users, &replay).unwrap_or_else(|_| loop {});
        #[cfg(feature = "origin")]
        {
            let field = |i: usize| Some(black_box(&HEADER[i * 64..i * 64 + 64]));
            let headers = authgate::OriginHeaders {
                secure: black_box(false),
                host: field(0),
                origin: field(1),
                sec_fetch_site: field(2),
                referer: field(3),
            };
            if let Err(refusal) = engine.check_origin(black_box("POST"), &headers) {
                black_box(refusal.status());
                loop {}
            }
        }
        let header: &[u8] = black_box(&HEADER[..]);
        let ctx = Context { now: black_box(1), salt: black_box([1; 8]) };
        #[cfg(not(feature = "ntlm"))]
        let verdict = engine.check(&Request::new("GET", "/", Some(header)), ctx);
        let mut out = [0u8; 256];
        // NTLM: the check on a connection, and the token it leaves for the client.
        #[cfg(feature = "ntlm")]
        let handshakes = core::cell::RefCell::new(authgate::HandshakeTable::<4>::new());
        #[cfg(feature = "ntlm")]
        let mut scratch = [0u8; authgate::Connection::NTLM_SCRATCH];
        #[cfg(feature = "ntlm")]
        let verdict = {
            let mut conn = authgate::Connection::new(black_box(1), &mut scratch).handshakes(&handshakes);
            let v = engine.check_connection(&Request::new("GET", "/", Some(header)), ctx, &mut conn);
            if let Some(t) = conn.token() {
                let _ = black_box(t.write(&mut out));
            }
            v
        };
        match &verdict {
            Verdict::Challenge(ch) => {
                for i in 0..engine.challenge_count() {
                    let _ = black_box(engine.write_challenge(ch, i, &mut out));
                }
            }
            Verdict::Authenticated(a) => {
                if let Some(info) = &a.auth_info {
                    let _ = black_box(engine.write_authentication_info(info, &mut out));
                }
            }
            Verdict::Malformed(_) => {}
        }
        black_box(&verdict);
        black_box(&out);
    }
    black_box(&HEADER);
    loop {}
}
