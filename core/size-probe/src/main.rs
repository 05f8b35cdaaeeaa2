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

#[cortex_m_rt::entry]
fn main() -> ! {
    #[cfg(feature = "authgate")]
    {
        use authgate::{Config, Context, Engine, ReplayTable, Request, StaticUsers, Verdict};
        let replay = core::cell::RefCell::new(ReplayTable::<16>::new());
        let users = StaticUsers::new(&[("admin", "secret")]);
        let config = Config::new("device").unwrap_or_else(|_| loop {});
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
