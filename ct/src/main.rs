//! dudect-style constant-time tests of authgate's secret comparisons (`make ct`).
//!
//! Each benchmark draws its inputs at random from two classes (dudect's Left and Right) that
//! differ only in where or whether a secret differs, interleaves them, times one public-API
//! call per input and lets `dudect-bencher` run Welch's t-test on the two timing
//! distributions. `|t| < 5` is the goal for everything that depends on a secret; the
//! classes and the reasoning per benchmark are in `ct/README.md`.
//!
//! Every benchmark first checks that both classes take the path it means to measure (a
//! wrong password is refused as a wrong password, not as malformed, ...), so a benchmark
//! cannot silently time something else.
//!
//! `AUTHGATE_CT_SCALE` (default 1) multiplies every sample count.

use std::cell::Cell;
use std::hint::black_box;
use std::sync::Mutex;
use std::time::Instant;

use authgate::credential::{pbkdf2_sha256, token_matches};
use authgate::{
    Charset, Config, Context, CredentialStore, Engine, HashAlgorithm, HashOutput, NonceStatus, Purpose, Reason,
    ReplayStore, ReplayTable, Request, Scheme, StaticUsers, StoredCredential, UserName, Verdict,
};
use authgate_tests::{mufasa, REALM};
use base64::Engine as _;
use dudect_bencher::rand::RngExt;
use dudect_bencher::{ctbench_main, BenchRng, Class, CtRunner};
use sha2::Digest as _;
use subtle::ConstantTimeEq;

const NOW: u64 = 1_700_000_000;
const KEY: [u8; 32] = [0x42; 32];
const USER: &str = "alice";
/// Same length as `USER`, not in any store.
const UNKNOWN_USER: &str = "bobby";
/// A 32-byte secret (password or token) of the stores below.
const SECRET: &str = "k7Qp2XvR9mLs4TnB8wYc6HdJ3fGa5ZeU";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &[u8] = b"0123456789abcdef";
/// PBKDF2 iterations of the store that has them: enough to dwarf one SHA-256.
const PBKDF2_ITERATIONS: u32 = 1000;

type Replay = Mutex<ReplayTable<64>>;

fn samples(base: usize) -> usize {
    let scale: f64 = std::env::var("AUTHGATE_CT_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    ((base as f64 * scale) as usize).max(1000)
}

fn ctx() -> Context {
    Context { now: NOW, salt: [9; 8] }
}

fn class(rng: &mut BenchRng) -> Class {
    if rng.random::<bool>() {
        Class::Left
    } else {
        Class::Right
    }
}

/// `SECRET` with the byte at the class's position (Left: first, Right: last) replaced by a
/// random different character of `alphabet`.
fn differing(secret: &str, c: Class, alphabet: &[u8], rng: &mut BenchRng) -> String {
    let mut s = secret.as_bytes().to_vec();
    let pos = match c {
        Class::Left => 0,
        Class::Right => s.len() - 1,
    };
    loop {
        let b = alphabet[rng.random_range(0..alphabet.len())];
        if b != s[pos] {
            s[pos] = b;
            break;
        }
    }
    String::from_utf8(s).unwrap()
}

fn random_string(len: usize, rng: &mut BenchRng) -> String {
    (0..len).map(|_| ALNUM[rng.random_range(0..ALNUM.len())] as char).collect()
}

fn basic_header(user: &str, password: &str) -> Vec<u8> {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))).into_bytes()
}

fn sha256(data: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(data).into()
}

/// Draws `n` inputs of random classes, checks the first of each class with `expect`, then
/// times `f` on every input in the order drawn.
fn measure<I, T>(
    name: &str,
    runner: &mut CtRunner,
    rng: &mut BenchRng,
    n: usize,
    mut make: impl FnMut(Class, usize, &mut BenchRng) -> I,
    expect: impl Fn(Class, &I),
    f: impl Fn(&I) -> T,
) {
    let inputs: Vec<(Class, I)> = (0..n)
        .map(|i| {
            let c = class(rng);
            (c, make(c, i, rng))
        })
        .collect();
    for want in [Class::Left, Class::Right] {
        let (c, input) = inputs
            .iter()
            .find(|(c, _)| matches!((c, want), (Class::Left, Class::Left) | (Class::Right, Class::Right)))
            .expect("both classes drawn");
        expect(*c, input);
    }
    // Each call is also timed from outside (run_one's own bookkeeping included, the same for
    // both classes) to print the medians, so the README can give a size, not just a t.
    let mut times: [Vec<u64>; 2] = [Vec::with_capacity(n), Vec::with_capacity(n)];
    for (c, input) in &inputs {
        let start = Instant::now();
        runner.run_one(*c, || f(input));
        times[usize::from(matches!(c, Class::Right))].push(start.elapsed().as_nanos() as u64);
    }
    let [left, right] = times.map(|mut t| {
        t.sort_unstable();
        t[t.len() / 2]
    });
    // dudect has printed "bench NAME ... " and prints the t-test after this function returns:
    // the medians go on their own line and the name is repeated, so each result line is whole.
    println!("\n  medians: left {left} ns, right {right} ns, right - left {:+} ns", right as i64 - left as i64);
    print!("bench {name} ... ");
}

/// The challenge reason of a verdict, panicking on anything else.
fn refused(v: &Verdict) -> Reason {
    match v {
        Verdict::Challenge(ch) => ch.reason,
        other => panic!("expected a challenge, got {other:?}"),
    }
}

fn assert_reason(what: &str, c: Class, v: &Verdict, want: Reason) {
    let label = match c {
        Class::Left => "left",
        Class::Right => "right",
    };
    assert_eq!(refused(v), want, "{what}: {label} class");
}

fn engine<S: CredentialStore>(schemes: &[Scheme], store: S) -> Engine<S, Replay> {
    let config = Config::new(REALM).unwrap().schemes(schemes).unwrap();
    Engine::new(config, &KEY, store, Mutex::new(ReplayTable::new())).unwrap()
}

fn check<S: CredentialStore, R: ReplayStore>(engine: &Engine<S, R>, header: &[u8]) -> Verdict {
    engine.check(&Request::new("GET", "/dir/index.html", Some(header)), ctx())
}

/// One user with one of two credentials, and one of two Bearer tokens (by their SHA-256):
/// `sel` chooses, so that two classes can differ in the stored secret alone.
struct Store {
    credentials: [StoredCredential; 2],
    tokens: [[u8; 32]; 2],
    sel: Cell<usize>,
}

impl Store {
    fn new(credential: StoredCredential) -> Self {
        Store {
            credentials: [credential.clone(), credential],
            tokens: [sha256(SECRET.as_bytes()); 2],
            sel: Cell::new(0),
        }
    }
}

impl CredentialStore for Store {
    fn lookup(&self, username: &str, _realm: &str, _purpose: Purpose) -> Option<StoredCredential> {
        (username == USER).then(|| self.credentials[self.sel.get()].clone())
    }
    /// As the trait asks of a store of hashes: a decoy shaped like its credentials.
    fn decoy(&self, _realm: &str) -> StoredCredential {
        self.credentials[self.sel.get()].decoy_for()
    }
    fn lookup_bearer(&self, token_sha256: &[u8; 32]) -> Option<UserName> {
        let hit: bool = token_sha256.ct_eq(&self.tokens[self.sel.get()]).into();
        hit.then(|| UserName::try_from(USER).unwrap())
    }
}

/// A store that does not implement `decoy` (the trait's default: a plaintext decoy).
struct NoDecoy(Store);

impl CredentialStore for NoDecoy {
    fn lookup(&self, username: &str, realm: &str, purpose: Purpose) -> Option<StoredCredential> {
        self.0.lookup(username, realm, purpose)
    }
}

fn ha1_sha256(password: &str) -> StoredCredential {
    let hex = HashOutput::from_slice(&sha256(format!("{USER}:{REALM}:{password}").as_bytes())).unwrap().to_hex();
    StoredCredential::ha1_hex(HashAlgorithm::Sha256, hex.as_bytes()).unwrap()
}

// ---------------------------------------------------------------------------------------
// Basic

/// Basic, plaintext store: a wrong password of the right length, differing from the stored
/// one at its first (Left) or last (Right) byte.
fn basic_plaintext_early_vs_late(runner: &mut CtRunner, rng: &mut BenchRng) {
    let e = engine(&[Scheme::Basic], StaticUsers::new(&[(USER, SECRET)]));
    measure(
        "basic_plaintext_early_vs_late",
        runner,
        rng,
        samples(100_000),
        |c, _, rng| basic_header(USER, &differing(SECRET, c, ALNUM, rng)),
        |c, h| assert_reason("basic plaintext", c, &check(&e, h), Reason::BadCredentials),
        |h| check(&e, h),
    );
}

/// Basic, HA1 (SHA-256) store: wrong passwords differing early vs late.
fn basic_ha1_early_vs_late(runner: &mut CtRunner, rng: &mut BenchRng) {
    let e = engine(&[Scheme::Basic], Store::new(ha1_sha256(SECRET)));
    measure(
        "basic_ha1_early_vs_late",
        runner,
        rng,
        samples(100_000),
        |c, _, rng| basic_header(USER, &differing(SECRET, c, ALNUM, rng)),
        |c, h| assert_reason("basic ha1", c, &check(&e, h), Reason::BadCredentials),
        |h| check(&e, h),
    );
}

/// `StoredCredential::check_password` with an HA1 whose stored digest differs from the
/// presented password's at its first (Left) or last (Right) byte: the digest comparison
/// itself, which a password difference cannot steer.
fn basic_ha1_digest_compare_early_vs_late(runner: &mut CtRunner, rng: &mut BenchRng) {
    let right = sha256(format!("{USER}:{REALM}:{SECRET}").as_bytes());
    measure(
        "basic_ha1_digest_compare_early_vs_late",
        runner,
        rng,
        samples(100_000),
        |c, _, rng| {
            let mut d = right;
            let pos = if matches!(c, Class::Left) { 0 } else { 31 };
            d[pos] ^= rng.random_range(1..=255u8);
            StoredCredential::Ha1 { algorithm: HashAlgorithm::Sha256, digest: HashOutput::from_slice(&d).unwrap() }
        },
        |_, cred| assert!(!cred.check_password(USER.as_bytes(), REALM.as_bytes(), SECRET.as_bytes(), Charset::Utf8)),
        |cred| cred.check_password(USER.as_bytes(), REALM.as_bytes(), SECRET.as_bytes(), Charset::Utf8),
    );
}

/// Basic, plaintext store: the same random wrong passwords against a stored password of
/// `short` (Left) or `long` (Right) bytes. Does the stored password's length show?
fn plaintext_secret_lengths(name: &str, short: usize, long: usize, runner: &mut CtRunner, rng: &mut BenchRng) {
    let mut store = Store::new(StoredCredential::plaintext(b"x").unwrap());
    store.credentials = [short, long].map(|n| StoredCredential::plaintext(random_string(n, rng).as_bytes()).unwrap());
    let e = engine(&[Scheme::Basic], store);
    measure(
        name,
        runner,
        rng,
        samples(100_000),
        |c, _, rng| (usize::from(matches!(c, Class::Right)), basic_header(USER, &random_string(16, rng))),
        |c, (sel, h)| {
            e.store().sel.set(*sel);
            assert_reason(name, c, &check(&e, h), Reason::BadCredentials)
        },
        |(sel, h)| {
            e.store().sel.set(*sel);
            check(&e, h)
        },
    );
}

/// Stored passwords of 8 and 55 bytes: both hash in one SHA-256 block.
fn basic_plaintext_secret_8_vs_55_bytes(runner: &mut CtRunner, rng: &mut BenchRng) {
    plaintext_secret_lengths("basic_plaintext_secret_8_vs_55_bytes", 8, 55, runner, rng);
}

/// Stored passwords of 8 and 120 bytes (1 vs 3 SHA-256 blocks). Known to leak: ct/README.md.
fn basic_plaintext_secret_8_vs_120_bytes(runner: &mut CtRunner, rng: &mut BenchRng) {
    plaintext_secret_lengths("basic_plaintext_secret_8_vs_120_bytes", 8, 120, runner, rng);
}

fn pbkdf2_store() -> Store {
    let salt = b"0123456789abcdef";
    let hash = pbkdf2_sha256(SECRET.as_bytes(), salt, PBKDF2_ITERATIONS);
    Store::new(StoredCredential::pbkdf2_sha256(PBKDF2_ITERATIONS, salt, hash).unwrap())
}

/// Basic, PBKDF2 store (with its decoy): a known user (Left) vs an unknown one (Right), both
/// with wrong passwords.
fn basic_pbkdf2_known_vs_unknown_user(runner: &mut CtRunner, rng: &mut BenchRng) {
    pbkdf2_known_vs_unknown("basic_pbkdf2_known_vs_unknown_user", pbkdf2_store(), runner, rng);
}

/// The same with a store that leaves `decoy` to the trait's default (plaintext): the pitfall
/// the `CredentialStore::decoy` doc warns about. A reference, not a property of the core.
fn basic_pbkdf2_known_vs_unknown_user_no_decoy(runner: &mut CtRunner, rng: &mut BenchRng) {
    pbkdf2_known_vs_unknown("basic_pbkdf2_known_vs_unknown_user_no_decoy", NoDecoy(pbkdf2_store()), runner, rng);
}

fn pbkdf2_known_vs_unknown<S: CredentialStore>(name: &str, store: S, runner: &mut CtRunner, rng: &mut BenchRng) {
    let e = engine(&[Scheme::Basic], store);
    assert!(matches!(check(&e, &basic_header(USER, SECRET)), Verdict::Authenticated(_)));
    measure(
        name,
        runner,
        rng,
        samples(10_000),
        |c, _, rng| {
            let user = if matches!(c, Class::Left) { USER } else { UNKNOWN_USER };
            basic_header(user, &random_string(SECRET.len(), rng))
        },
        |c, h| {
            let want = if matches!(c, Class::Left) { Reason::BadCredentials } else { Reason::UnknownUser };
            assert_reason("basic pbkdf2", c, &check(&e, h), want)
        },
        |h| check(&e, h),
    );
}

/// `check_password` alone: stored plaintext passwords of 8 (Left) vs 120 (Right) bytes, the
/// same random wrong passwords. The core's part of `basic_plaintext_secret_8_vs_120_bytes`
/// without the store's copy of the credential.
fn check_password_plaintext_secret_8_vs_120_bytes(runner: &mut CtRunner, rng: &mut BenchRng) {
    let stored = [8, 120].map(|n| StoredCredential::plaintext(random_string(n, rng).as_bytes()).unwrap());
    let check = |(sel, pw): &(usize, String)| {
        stored[*sel].check_password(USER.as_bytes(), REALM.as_bytes(), pw.as_bytes(), Charset::Utf8)
    };
    measure(
        "check_password_plaintext_secret_8_vs_120_bytes",
        runner,
        rng,
        samples(100_000),
        |c, _, rng| (usize::from(matches!(c, Class::Right)), random_string(16, rng)),
        |_, input| assert!(!check(input)),
        check,
    );
}

/// Basic, plaintext store: known (Left) vs unknown (Right) user, wrong passwords.
fn basic_plaintext_known_vs_unknown_user(runner: &mut CtRunner, rng: &mut BenchRng) {
    let e = engine(&[Scheme::Basic], Store::new(StoredCredential::plaintext(SECRET.as_bytes()).unwrap()));
    measure(
        "basic_plaintext_known_vs_unknown_user",
        runner,
        rng,
        samples(100_000),
        |c, _, rng| {
            let user = if matches!(c, Class::Left) { USER } else { UNKNOWN_USER };
            basic_header(user, &random_string(SECRET.len(), rng))
        },
        |c, h| {
            let want = if matches!(c, Class::Left) { Reason::BadCredentials } else { Reason::UnknownUser };
            assert_reason("basic plaintext user", c, &check(&e, h), want)
        },
        |h| check(&e, h),
    );
}

/// Basic, HA1 store: known (Left) vs unknown (Right) user, wrong passwords.
fn basic_ha1_known_vs_unknown_user(runner: &mut CtRunner, rng: &mut BenchRng) {
    let e = engine(&[Scheme::Basic], Store::new(ha1_sha256(SECRET)));
    measure(
        "basic_ha1_known_vs_unknown_user",
        runner,
        rng,
        samples(100_000),
        |c, _, rng| {
            let user = if matches!(c, Class::Left) { USER } else { UNKNOWN_USER };
            basic_header(user, &random_string(SECRET.len(), rng))
        },
        |c, h| {
            let want = if matches!(c, Class::Left) { Reason::BadCredentials } else { Reason::UnknownUser };
            assert_reason("basic ha1 user", c, &check(&e, h), want)
        },
        |h| check(&e, h),
    );
}

// ---------------------------------------------------------------------------------------
// Digest

fn digest_engine() -> (Engine<StaticUsers<'static>, Replay>, &'static str) {
    let e = engine(&[Scheme::Digest], StaticUsers::new(authgate_tests::USERS));
    let nonce: &'static str = Box::leak(e.issue_nonce(ctx()).as_str().to_string().into_boxed_str());
    (e, nonce)
}

/// A Digest header for nonce count `nc` whose response is wrong at its first (Left) or last
/// (Right) hex digit, or right (`None`).
fn digest_header(nonce: &'static str, nc: u32, wrong_at: Option<Class>, rng: &mut BenchRng) -> Vec<u8> {
    let client = authgate_tests::DigestClient { nc, ..mufasa("SHA-256", nonce) };
    let header = client.header();
    let Some(c) = wrong_at else { return header.into_bytes() };
    let response = client.response();
    let wrong = differing(&response, c, HEX, rng);
    header.replace(&response, &wrong).into_bytes()
}

/// Digest SHA-256 through `Engine::check`: a response wrong at its first vs last hex digit.
/// Every input has its own nc (none is recorded: a wrong response never is).
fn digest_response_wrong_early_vs_late(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (e, nonce) = digest_engine();
    measure(
        "digest_response_wrong_early_vs_late",
        runner,
        rng,
        samples(100_000),
        |c, i, rng| digest_header(nonce, i as u32 + 1, Some(c), rng),
        |c, h| assert_reason("digest wrong", c, &check(&e, h), Reason::BadCredentials),
        |h| check(&e, h),
    );
}

/// Digest: the right response (Left) vs one wrong at its last digit (Right), each with its
/// own increasing nc. Not a secret-dependent difference: the outcome (200 vs 401) is what
/// differs, and the accepted path does more work (records the nc, computes rspauth). Kept as
/// a reference for the size of a difference the harness sees.
fn digest_response_right_vs_wrong(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (e, nonce) = digest_engine();
    // The sanity checks run on a twin engine (same key): the measured one's replay table
    // must see every nc first during the timing loop.
    let (twin, _) = digest_engine();
    measure(
        "digest_response_right_vs_wrong",
        runner,
        rng,
        samples(100_000),
        |c, i, rng| digest_header(nonce, i as u32 + 1, matches!(c, Class::Right).then_some(Class::Right), rng),
        |c, h| match c {
            Class::Left => assert!(matches!(check(&twin, h), Verdict::Authenticated(_))),
            Class::Right => assert_reason("digest right/wrong", c, &check(&twin, h), Reason::BadCredentials),
        },
        |h| check(&e, h),
    );
}

/// Digest: a known (Left) vs unknown (Right) user name of the same length, wrong responses.
fn digest_known_vs_unknown_user(runner: &mut CtRunner, rng: &mut BenchRng) {
    let (e, nonce) = digest_engine();
    measure(
        "digest_known_vs_unknown_user",
        runner,
        rng,
        samples(100_000),
        |c, i, rng| {
            let username = if matches!(c, Class::Left) { "Mufasa" } else { "Mufaso" };
            let password = random_string(14, rng);
            let client = authgate_tests::DigestClient {
                username,
                password: &password,
                nc: i as u32 + 1,
                ..mufasa("SHA-256", nonce)
            };
            client.header().into_bytes()
        },
        |c, h| {
            let want = if matches!(c, Class::Left) { Reason::BadCredentials } else { Reason::UnknownUser };
            assert_reason("digest user", c, &check(&e, h), want)
        },
        |h| check(&e, h),
    );
}

// ---------------------------------------------------------------------------------------
// Nonces

/// `Engine::verify_nonce` on a nonce whose tag is forged at its first (Left) or last
/// (Right) byte; issue time and salt random per input.
fn nonce_forged_early_vs_late(runner: &mut CtRunner, rng: &mut BenchRng) {
    let e = engine(&[Scheme::Digest], StaticUsers::new(authgate_tests::USERS));
    measure(
        "nonce_forged_early_vs_late",
        runner,
        rng,
        samples(100_000),
        |c, _, rng| {
            let salt: [u8; 8] = rng.random();
            let now = NOW - rng.random_range(0..100);
            // The nonce is lowercase hex: flipping bits of one tag byte rewrites its two digits.
            let mut text = e.issue_nonce(Context { now, salt }).as_str().as_bytes().to_vec();
            let pos = if matches!(c, Class::Left) { 16 } else { 31 };
            let byte = u8::from_str_radix(std::str::from_utf8(&text[2 * pos..2 * pos + 2]).unwrap(), 16).unwrap()
                ^ rng.random_range(1..=255u8);
            text[2 * pos..2 * pos + 2].copy_from_slice(format!("{byte:02x}").as_bytes());
            text
        },
        |_, n| assert_eq!(e.verify_nonce(n, NOW), NonceStatus::Invalid),
        |n| e.verify_nonce(n, NOW),
    );
}

// ---------------------------------------------------------------------------------------
// Bearer

fn bearer_header(token: &str) -> Vec<u8> {
    format!("Bearer {token}").into_bytes()
}

/// Bearer through the engine: a token of the right length differing at its first vs last
/// character.
fn bearer_token_early_vs_late(runner: &mut CtRunner, rng: &mut BenchRng) {
    let e = engine(&[Scheme::Bearer], Store::new(ha1_sha256(SECRET)));
    assert!(matches!(check(&e, &bearer_header(SECRET)), Verdict::Authenticated(_)));
    measure(
        "bearer_token_early_vs_late",
        runner,
        rng,
        samples(100_000),
        |c, _, rng| bearer_header(&differing(SECRET, c, ALNUM, rng)),
        |c, h| assert_reason("bearer", c, &check(&e, h), Reason::InvalidToken),
        |h| check(&e, h),
    );
}

/// Bearer through the engine: the same random 32-character tokens against a stored token of
/// 16 (Left) or 512 (Right) characters: does the secret's length show?
fn bearer_secret_short_vs_long(runner: &mut CtRunner, rng: &mut BenchRng) {
    let mut store = Store::new(ha1_sha256(SECRET));
    store.tokens = [sha256(random_string(16, rng).as_bytes()), sha256(random_string(512, rng).as_bytes())];
    let e = engine(&[Scheme::Bearer], store);
    measure(
        "bearer_secret_short_vs_long",
        runner,
        rng,
        samples(100_000),
        |c, _, rng| (usize::from(matches!(c, Class::Right)), bearer_header(&random_string(32, rng))),
        |c, (sel, h)| {
            e.store().sel.set(*sel);
            assert_reason("bearer length", c, &check(&e, h), Reason::InvalidToken)
        },
        |(sel, h)| {
            e.store().sel.set(*sel);
            check(&e, h)
        },
    );
}

/// `token_matches`: a token differing from the expected one at its first vs last byte.
fn token_matches_early_vs_late(runner: &mut CtRunner, rng: &mut BenchRng) {
    let expected = sha256(SECRET.as_bytes());
    assert!(token_matches(SECRET.as_bytes(), &expected));
    measure(
        "token_matches_early_vs_late",
        runner,
        rng,
        samples(100_000),
        |c, _, rng| differing(SECRET, c, ALNUM, rng).into_bytes(),
        |_, t| assert!(!token_matches(t, &expected)),
        |t| token_matches(t, &expected),
    );
}

/// `token_matches`: random 32-byte tokens against the digest of a 16-byte (Left) or
/// 512-byte (Right) secret token.
fn token_matches_secret_short_vs_long(runner: &mut CtRunner, rng: &mut BenchRng) {
    let short = sha256(random_string(16, rng).as_bytes());
    let long = sha256(random_string(512, rng).as_bytes());
    measure(
        "token_matches_secret_short_vs_long",
        runner,
        rng,
        samples(100_000),
        |c, _, rng| (if matches!(c, Class::Left) { short } else { long }, random_string(32, rng).into_bytes()),
        |_, (d, t)| assert!(!token_matches(t, d)),
        |(d, t)| token_matches(t, d),
    );
}

// ---------------------------------------------------------------------------------------
// JWT

/// JWT HS256 through `JwtConfig::verify`: a token whose 32-byte tag differs from the right
/// one at its first (Left) or last (Right) byte; claims and header are the same, so the two
/// classes differ in where the HMAC comparison would stop, were it early-exit.
fn jwt_hmac_signature_early_vs_late(runner: &mut CtRunner, rng: &mut BenchRng) {
    use authgate::jwt::{JwsAlgorithm, JwtBuffer, JwtConfig, JwtKey};
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    let config = JwtConfig::new()
        .key(JwtKey::hmac(SECRET.as_bytes()).unwrap())
        .unwrap()
        .algorithms(&[JwsAlgorithm::Hs256])
        .unwrap();
    let input = format!("{}.{}", B64.encode(br#"{"alg":"HS256"}"#), B64.encode(br#"{"sub":"alice","exp":1900000000}"#));
    let tag = {
        use hmac::{KeyInit, Mac};
        let mut m = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(SECRET.as_bytes()).unwrap();
        m.update(input.as_bytes());
        m.finalize().into_bytes()
    };
    let good = format!("{input}.{}", B64.encode(tag));
    assert!(config.verify(good.as_bytes(), NOW, &mut JwtBuffer::new()).is_ok());
    let verify = |t: &Vec<u8>| config.verify(t, NOW, &mut JwtBuffer::new()).map(|_| ());
    measure(
        "jwt_hmac_signature_early_vs_late",
        runner,
        rng,
        samples(100_000),
        |c, _, rng| {
            let mut t = tag;
            let pos = if matches!(c, Class::Left) { 0 } else { t.len() - 1 };
            t[pos] ^= 1 + rng.random_range(0..255u8);
            format!("{input}.{}", B64.encode(t)).into_bytes()
        },
        |_, t| assert_eq!(verify(t), Err(Reason::BadSignature)),
        verify,
    );
}

// ---------------------------------------------------------------------------------------
// Positive control

/// An early-exit comparison, the kind of code these tests exist to catch.
fn naive_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    for i in 0..a.len() {
        if black_box(a[i]) != black_box(b[i]) {
            return false;
        }
    }
    true
}

/// NTLM: `Response::verify` on an AUTHENTICATE (NTLMv2, no MIC: the NTProofStr comparison
/// alone) whose NTProofStr is wrong at its first vs last byte. The right NT hash is used,
/// so all the HMAC work is done for both classes.
fn ntlm_proof_wrong_early_vs_late(runner: &mut CtRunner, rng: &mut BenchRng) {
    use authgate::ntlm::{nt_hash, Pending, Response};
    use authgate_tests::ntlm::NtlmClient;
    let mut client = NtlmClient::new(USER, SECRET);
    client.mic = false;
    client.timestamp = Some(authgate::ntlm::message::filetime(NOW));
    let negotiate = client.negotiate();
    let pending = Pending::start(&negotiate, [0x5a; 8], NOW).unwrap();
    let mut challenge = [0u8; 256];
    let n = pending.write_challenge("HOME", &mut challenge).unwrap();
    let challenge = challenge[..n].to_vec();
    let (good, _) = client.authenticate(&negotiate, &challenge);
    // NTProofStr: the first 16 bytes of the NtChallengeResponse field (offset at byte 24).
    let proof_at = u32::from_le_bytes(good[24..28].try_into().unwrap()) as usize;
    let nt = nt_hash(SECRET.as_bytes()).unwrap();
    let verify = |m: &Vec<u8>| {
        let r = Response::parse(m, &pending, NOW, 300).expect("a well-formed NTLMv2 AUTHENTICATE");
        r.verify(&nt, &pending.server_challenge, &negotiate, &challenge, m)
    };
    assert!(verify(&good), "the unaltered AUTHENTICATE verifies");
    measure(
        "ntlm_proof_wrong_early_vs_late",
        runner,
        rng,
        samples(100_000),
        |c, _, rng| {
            let mut m = good.clone();
            let at = proof_at + if matches!(c, Class::Left) { 0 } else { 15 };
            m[at] ^= rng.random_range(1..=255u8);
            m
        },
        |_, m| assert!(!verify(m), "a wrong NTProofStr is refused"),
        verify,
    );
}

/// Positive control: a SHA-256 (the work around a real comparison) followed by an
/// early-exit comparison of 64 hex digits differing at the first vs last digit. It must show
/// a leak, or the harness is too noisy to prove anything.
fn control_naive_compare_early_vs_late(runner: &mut CtRunner, rng: &mut BenchRng) {
    let expected = HashOutput::from_slice(&sha256(SECRET.as_bytes())).unwrap().to_hex();
    let expected = expected.as_bytes().to_vec();
    measure(
        "control_naive_compare_early_vs_late",
        runner,
        rng,
        samples(100_000),
        |c, _, rng| differing(std::str::from_utf8(&expected).unwrap(), c, HEX, rng).into_bytes(),
        |_, sent| assert!(!naive_eq(sent, &expected)),
        |sent| {
            let _ = black_box(sha256(sent));
            naive_eq(sent, &expected)
        },
    );
}

ctbench_main!(
    basic_plaintext_early_vs_late,
    basic_ha1_early_vs_late,
    basic_ha1_digest_compare_early_vs_late,
    basic_plaintext_secret_8_vs_55_bytes,
    basic_plaintext_secret_8_vs_120_bytes,
    basic_plaintext_known_vs_unknown_user,
    basic_ha1_known_vs_unknown_user,
    basic_pbkdf2_known_vs_unknown_user,
    basic_pbkdf2_known_vs_unknown_user_no_decoy,
    check_password_plaintext_secret_8_vs_120_bytes,
    digest_response_wrong_early_vs_late,
    digest_response_right_vs_wrong,
    digest_known_vs_unknown_user,
    nonce_forged_early_vs_late,
    bearer_token_early_vs_late,
    bearer_secret_short_vs_long,
    token_matches_early_vs_late,
    token_matches_secret_short_vs_long,
    jwt_hmac_signature_early_vs_late,
    ntlm_proof_wrong_early_vs_late,
    control_naive_compare_early_vs_late
);
