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
        use authgate::{Config, Context, Engine, ReplayTable, Request, StaticUsers, Verdict};
        let replay = core::cell::RefCell::new(ReplayTable::<16>::new());
        let users = StaticUsers::new(&[("admin", "secret")]);
        let config = Config::new("device").unwrap_or_else(|_| loop {});
        #[cfg(all(feature = "bearer", not(feature = "jwt")))]
        let config = config.schemes(&[authgate::Scheme::Digest, authgate::Scheme::Bearer]).unwrap_or_else(|_| loop {});
        #[cfg(feature = "jwt")]
        let config = config.schemes(&[authgate::Scheme::Digest, authgate::Scheme::Bearer]).and_then(|c| c.jwt(jwt())).unwrap_or_else(|_| loop {});
        let engine = Engine::new(config, black_box(&[7; 32]), users, &replay).unwrap_or_else(|_| loop {});
        let header: &[u8] = black_box(&HEADER[..]);
        let ctx = Context { now: black_box(1), salt: black_box([1; 8]) };
        let verdict = engine.check(&Request::new("GET", "/", Some(header)), ctx);
        let mut out = [0u8; 256];
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
