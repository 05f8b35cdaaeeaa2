//! Stack high-water of one authgate check, for the README's memory figures.
//!
//! The Pico W image's configuration (Digest SHA-256 + MD5 + Basic, a `ReplayTable<32>`), with
//! the two kinds of store a device has: plaintext passwords (`StaticUsers`) and HA1 values
//! (the image's own login, `app/src/login.rs`: a Basic password is then hashed too),
//! compiled for thumbv6m with the image's release profile, run on QEMU
//! (`cargo run --release` here). The stack below the caller is painted, one call runs, and
//! the deepest overwritten word gives the bytes used. Rendering goes into buffers of the
//! sizes the example's glue uses (448 B per challenge, 768 B for Authentication-Info).
#![no_std]
#![no_main]

use core::cell::RefCell;
use core::fmt::Write as _;
use core::ptr::{read_volatile, write_volatile};

use authgate::digest::{self, ResponseInput};
use authgate::{
    Algorithm, Config, Context, CredentialStore, DigestCredentials, Engine, HashAlgorithm, HashOutput, ParseError,
    Purpose, ReplayTable, Request, StaticUsers, StoredCredential, Verdict, parse,
};
use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};

const REALM: &str = "authgate-pico";
const USER: &str = "admin";
const PASSWORD: &str = "authgate-demo";
const PAINT: usize = 24 * 1024;
/// The most one `check_into` may use, the caller's verdict included (issue 15's goal); above
/// it the probe fails (`make test` runs it). docs/performance.md gives the figures.
const STACK_BUDGET: usize = 2_048;
const PATTERN: u32 = 0xA5C3_5A3C;

/// Paints the free stack below `sp` (leaving 256 bytes for this function's own frame).
#[inline(never)]
fn paint(sp: usize) {
    let mut a = sp - PAINT;
    while a < sp - 256 {
        // SAFETY: free stack below the caller's frame; RAM is 64 KiB and nothing else runs.
        unsafe { write_volatile(a as *mut u32, PATTERN) };
        a += 4;
    }
}

/// Bytes used below `sp` since [`paint`]: the deepest overwritten word.
#[inline(never)]
fn used_below(sp: usize) -> usize {
    let bottom = sp - PAINT;
    let mut a = bottom;
    // SAFETY: reading back the painted words.
    while a < sp - 256 && unsafe { read_volatile(a as *const u32) } == PATTERN {
        a += 4;
    }
    assert!(a > bottom, "the paint was exhausted: raise PAINT");
    sp - a
}

/// Runs `f(args)` through an opaque function pointer (so it cannot be inlined into the
/// caller's frame) and returns the stack it used below the caller's stack pointer.
macro_rules! measure {
    ($f:expr, $($arg:expr),*) => {{
        let sp = cortex_m::register::msp::read() as usize;
        paint(sp);
        let f = core::hint::black_box($f);
        let r = f($($arg),*);
        (used_below(sp), r)
    }};
}

type Eng<'a> = Engine<Store, &'a RefCell<ReplayTable<32>>>;

static USERS: [(&str, &str); 1] = [(USER, PASSWORD)];

/// The two kinds of store a device has, as one type (one engine type, as in an image):
/// plaintext passwords, or the login as HA1 values with SHA-256 serving Basic (the image's
/// own store, `app/src/login.rs`).
enum Store {
    Plaintext(StaticUsers<'static>),
    Ha1 { sha256: HashOutput, md5: HashOutput },
}

impl Store {
    fn ha1_login() -> Self {
        let ha1 = |h| digest::ha1(h, USER.as_bytes(), REALM.as_bytes(), PASSWORD.as_bytes()).unwrap();
        Store::Ha1 { sha256: ha1(HashAlgorithm::Sha256), md5: ha1(HashAlgorithm::Md5) }
    }
}

impl CredentialStore for Store {
    fn lookup(&self, username: &str, realm: &str, purpose: Purpose) -> Option<StoredCredential> {
        let (sha256, md5) = match self {
            Store::Plaintext(users) => return users.lookup(username, realm, purpose),
            Store::Ha1 { sha256, md5 } => (sha256, md5),
        };
        let family = match purpose {
            // As the image's login (app/src/login.rs): NTLM is not offered, a Basic HA1 is asked.
            Purpose::Basic | Purpose::Ntlm => HashAlgorithm::Sha256,
            Purpose::Digest(family) => family,
        };
        let digest = if family == HashAlgorithm::Md5 { *md5 } else { *sha256 };
        (username == USER).then_some(StoredCredential::Ha1 { algorithm: family, digest })
    }
    fn decoy(&self, realm: &str) -> StoredCredential {
        match self {
            Store::Plaintext(users) => users.decoy(realm),
            Store::Ha1 { sha256, .. } => {
                StoredCredential::Ha1 { algorithm: HashAlgorithm::Sha256, digest: *sha256 }.decoy_for()
            }
        }
    }
}

/// A client's Digest header for `nonce` (client side, outside the measured calls).
fn digest_header(alg: Algorithm, nonce: &str, method: &str, uri: &str) -> heapless::String<512> {
    let mut h = heapless::String::<512>::new();
    let head = |h: &mut heapless::String<512>, response: &str| {
        h.clear();
        let _ = write!(
            h,
            "Digest username=\"{USER}\", realm=\"{REALM}\", nonce=\"{nonce}\", uri=\"{uri}\", algorithm={}, \
             qop=auth, nc=00000001, cnonce=\"0a4f113b\", response=\"{response}\"",
            alg.name()
        );
    };
    head(&mut h, &"0".repeat_str::<128>(alg.hash().output_len() * 2));
    let response = {
        let auth = parse(h.as_bytes()).unwrap();
        let c = DigestCredentials::from_authorization(&auth).unwrap();
        let ha1 = digest::ha1(alg.hash(), USER.as_bytes(), REALM.as_bytes(), PASSWORD.as_bytes()).unwrap();
        digest::response(alg, &ha1, &c, &ResponseInput { method: method.as_bytes(), body_hash: None }).unwrap()
    };
    head(&mut h, response.to_hex().as_str());
    h
}

trait RepeatStr {
    fn repeat_str<const N: usize>(&self, n: usize) -> heapless::String<N>;
}
impl RepeatStr for str {
    fn repeat_str<const N: usize>(&self, n: usize) -> heapless::String<N> {
        let mut s = heapless::String::new();
        for _ in 0..n {
            let _ = s.push_str(self);
        }
        s
    }
}

/// The bare check, into the one verdict the caller keeps (`Engine::check_into`).
#[inline(never)]
fn check_only(engine: &Eng<'_>, req: &Request<'_>, ctx: Context) -> u16 {
    let mut verdict = Verdict::Malformed(ParseError::Empty);
    engine.check_into(req, ctx, &mut verdict);
    core::hint::black_box(&verdict).status()
}

/// The same with `Engine::check`, which returns the verdict (a copy more where the compiler
/// keeps one): reported beside.
#[inline(never)]
fn check_returned(engine: &Eng<'_>, req: &Request<'_>, ctx: Context) -> u16 {
    core::hint::black_box(engine.check(req, ctx)).status()
}

/// One full request as the example handles it: check, then render the headers it sends.
#[inline(never)]
fn handle(engine: &Eng<'_>, req: &Request<'_>, ctx: Context) -> u16 {
    let mut verdict = Verdict::Malformed(ParseError::Empty);
    engine.check_into(req, ctx, &mut verdict);
    match &verdict {
        Verdict::Authenticated(a) => {
            if let Some(info) = &a.auth_info {
                let mut buf = [0u8; 768];
                core::hint::black_box(engine.write_authentication_info(info, &mut buf).unwrap());
            }
        }
        Verdict::Challenge(ch) => {
            for i in 0..engine.challenge_count() {
                let mut buf = [0u8; 448];
                core::hint::black_box(engine.write_challenge(ch, i, &mut buf).unwrap());
            }
        }
        Verdict::Malformed(_) => {}
    }
    verdict.status()
}

#[entry]
fn main() -> ! {
    hprintln!("check_into / check (verdict returned) / check_into + rendering the response headers");
    let plain = run("plaintext store (StaticUsers)", Store::Plaintext(StaticUsers::new(&USERS)));
    let ha1 = run("HA1 store (the image's login)", Store::ha1_login());
    let worst = (plain.0.max(ha1.0), plain.1.max(ha1.1), plain.2.max(ha1.2));
    hprintln!(
        "stack high-water of one check: {} bytes (check: {} bytes); with rendering: {} bytes",
        worst.0,
        worst.1,
        worst.2
    );
    if worst.0 > STACK_BUDGET {
        hprintln!("over the budget of {} bytes", STACK_BUDGET);
        debug::exit(debug::EXIT_FAILURE);
    }
    debug::exit(debug::EXIT_SUCCESS);
    loop {}
}

/// Every case with `store`; the worst (check_into, check, with rendering).
fn run(store_name: &str, store: Store) -> (usize, usize, usize) {
    hprintln!("{}:", store_name);
    let replay = RefCell::new(ReplayTable::<32>::new());
    let engine: Eng<'_> = Engine::new(Config::new(REALM).unwrap(), &[0x42; 32], store, &replay).unwrap();
    let ctx = Context { now: 100, salt: [7; 8] };
    let nonce = engine.issue_nonce(ctx);
    let mut worst = (0, 0, 0);
    let mut case = |what: &str, req: &Request<'_>, want: u16| {
        // The same request twice would be a replay: measure the bare check first and restore
        // the replay table, then the full handling.
        let saved = replay.borrow().clone();
        let (bare, status) = measure!(check_only as fn(&Eng<'_>, &Request<'_>, Context) -> u16, &engine, req, ctx);
        assert_eq!(status, want, "{}", what);
        *replay.borrow_mut() = saved.clone();
        let (returned, status) =
            measure!(check_returned as fn(&Eng<'_>, &Request<'_>, Context) -> u16, &engine, req, ctx);
        assert_eq!(status, want, "{}", what);
        *replay.borrow_mut() = saved;
        let (full, status) = measure!(handle as fn(&Eng<'_>, &Request<'_>, Context) -> u16, &engine, req, ctx);
        assert_eq!(status, want, "{}", what);
        worst = (worst.0.max(bare), worst.1.max(returned), worst.2.max(full));
        hprintln!("{:>5} / {:>5} / {:>5} bytes  {} -> {}", bare, returned, full, what, status);
    };

    let h = digest_header(Algorithm::Sha256, nonce.as_str(), "POST", "/api/led/on");
    let req = Request::new("POST", "/api/led/on", Some(h.as_bytes()));
    case("Digest SHA-256 success (+ Authentication-Info)", &req, 200);
    case("Digest SHA-256 replayed, same nc (+ 3 challenges)", &req, 401);

    let nonce2 = engine.issue_nonce(Context { now: 100, salt: [8; 8] });
    let h = digest_header(Algorithm::Md5, nonce2.as_str(), "GET", "/api/status");
    let req = Request::new("GET", "/api/status", Some(h.as_bytes()));
    case("Digest MD5 success (+ Authentication-Info)", &req, 200);

    let req = Request::new("GET", "/api/status", Some(b"Basic YWRtaW46YXV0aGdhdGUtZGVtbw=="));
    case("Basic success", &req, 200);

    let req = Request::new("GET", "/api/status", Some(b"Basic bm9ib2R5OmF1dGhnYXRlLWRlbW8="));
    case("Basic, unknown user (the decoy checked)", &req, 401);

    let req = Request::new("GET", "/api/status", None);
    case("no credentials (+ 3 challenges)", &req, 401);

    let req = Request::new("GET", "/api/status", Some(b"Digest username=\"admin\", realm="));
    case("malformed header", &req, 400);
    worst
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    hprintln!("panic: {}", info);
    debug::exit(debug::EXIT_FAILURE);
    loop {}
}
