//! Limits and degradation: each documented limit at and just over its value, and what the
//! engine does when a resource runs out (replay table, output buffers) or the environment
//! misbehaves (clock going backwards, key rotation mid-traffic).
//!
//! The limits are those of `core/src/limits.rs` and `tests/vectors/FORMAT.md` (400 vs 401).
//! Cases that `tests/tests/engine.rs` already checks exactly are not repeated; the test that
//! covers them is named where they would be.

use std::sync::Mutex;

use authgate::limits::*;
use authgate::render::{self, DigestChallenge};
use authgate::*;
use authgate_tests::*;

const NOW: u64 = 1_700_000_000;
const TARGET: &str = "/dir/index.html";

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn engine_with<const N: usize>(config: Config) -> Engine<StaticUsers<'static>, Mutex<ReplayTable<N>>> {
    Engine::new(config, &KEY, StaticUsers::new(USERS), Mutex::new(ReplayTable::new())).unwrap()
}

fn get<S: CredentialStore, R: ReplayStore>(engine: &Engine<S, R>, header: &str, now: u64) -> Verdict {
    engine.check(&Request::new("GET", TARGET, Some(header.as_bytes())), ctx(now))
}

/// A fresh nonce from a 401, with a salt of its own (so two nonces of one second differ).
fn fresh_nonce<S: CredentialStore, R: ReplayStore>(engine: &Engine<S, R>, now: u64, salt: u8) -> &'static str {
    nonce_of(&engine.check(&Request::new("GET", TARGET, None), Context { now, salt: [salt; 8] }))
}

fn b64(s: &[u8]) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, s)
}

// ---------------------------------------------------------------------------------------
// Oversized headers. (5000 bytes → TooLong: engine.rs `oversized_and_many_params_are_malformed`.)

/// `MAX_HEADER_LEN` bytes exactly is a header like any other (here: a valid Digest request
/// padded with an unknown auth-param, which RFC 7616 says to ignore); one byte more is 400.
#[test]
fn header_of_max_len_passes_and_one_more_byte_is_too_long() {
    let engine = vector_engine();
    let client = mufasa("SHA-256", fresh_nonce(&engine, NOW, 1));
    let base = client.header();
    let pad = |extra: usize| format!("{base}, x=\"{}\"", "p".repeat(MAX_HEADER_LEN - base.len() - 6 + extra));
    let (at, over) = (pad(0), pad(1));
    assert_eq!((at.len(), over.len()), (MAX_HEADER_LEN, MAX_HEADER_LEN + 1));
    // Over first: a 400 records nothing, so the same nc still passes afterwards.
    assert_eq!(get(&engine, &over, NOW), Verdict::Malformed(ParseError::TooLong));
    assert_eq!(parse(over.as_bytes()).unwrap_err(), ParseError::TooLong);
    assert_eq!(ok(&get(&engine, &at, NOW)).user, "Mufasa");
}

/// Basic token68 up to `MAX_BASIC_TOKEN_LEN` base64 characters is decoded (here a wrong
/// password: 401); the next longer canonical token is 400. Bearer: `MAX_BEARER_LEN`.
#[test]
fn basic_and_bearer_tokens_at_and_over_their_limits() {
    let engine = vector_engine();
    // 384 decoded bytes encode to exactly 512 characters, no padding.
    let user_pass = |len: usize| format!("Mufasa:{}", "w".repeat(len - 7));
    let at = b64(user_pass(MAX_BASIC_DECODED).as_bytes());
    let over = b64(user_pass(MAX_BASIC_DECODED + 1).as_bytes());
    assert_eq!((at.len(), over.len()), (MAX_BASIC_TOKEN_LEN, MAX_BASIC_TOKEN_LEN + 4));
    assert_eq!(reason(&get(&engine, &format!("Basic {at}"), NOW)), (Reason::BadCredentials, false));
    assert_eq!(get(&engine, &format!("Basic {over}"), NOW), Verdict::Malformed(ParseError::ValueTooLong("basic")));

    let token = |len: usize| "t".repeat(len);
    let v = get(&engine, &format!("Bearer {}", token(MAX_BEARER_LEN)), NOW);
    assert_eq!(reason(&v), (Reason::InvalidToken, false));
    let v = get(&engine, &format!("Bearer {}", token(MAX_BEARER_LEN + 1)), NOW);
    assert_eq!(v, Verdict::Malformed(ParseError::ValueTooLong("bearer")));
}

/// User names: `MAX_USERNAME_LEN` bytes is looked up (unknown: 401), one more is 400, for
/// Basic and Digest alike.
#[test]
fn user_names_at_and_over_their_limit() {
    let engine = vector_engine();
    let name = |len: usize| "u".repeat(len);
    let basic = |len: usize| format!("Basic {}", b64(format!("{}:pw", name(len)).as_bytes()));
    assert_eq!(reason(&get(&engine, &basic(MAX_USERNAME_LEN), NOW)), (Reason::UnknownUser, false));
    assert_eq!(
        get(&engine, &basic(MAX_USERNAME_LEN + 1), NOW),
        Verdict::Malformed(ParseError::ValueTooLong("username"))
    );

    let nonce = fresh_nonce(&engine, NOW, 2);
    let at = leak(name(MAX_USERNAME_LEN));
    let over = leak(name(MAX_USERNAME_LEN + 1));
    let digest = |username| DigestClient { username, ..mufasa("SHA-256", nonce) }.header();
    assert_eq!(reason(&get(&engine, &digest(at), NOW)), (Reason::UnknownUser, false));
    assert_eq!(get(&engine, &digest(over), NOW), Verdict::Malformed(ParseError::ValueTooLong("username")));
}

// ---------------------------------------------------------------------------------------
// Many params. (30 params → TooManyParams, 1000 → TooLong or TooManyParams: engine.rs
// `oversized_and_many_params_are_malformed`; here the exact boundary and exact errors.)

/// `MAX_PARAMS` auth-params are accepted (a valid request plus unknown params), one more is
/// 400; a thousand short params that fit in `MAX_HEADER_LEN` are `TooManyParams`, thousands
/// that do not are `TooLong` before any parsing.
#[test]
fn max_params_exactly_then_thousands() {
    let engine = vector_engine();
    let client = mufasa("SHA-256", fresh_nonce(&engine, NOW, 3));
    let base = client.header();
    let own = parse(base.as_bytes()).unwrap().params().unwrap().len();
    let with_extra = |n: usize| (0..n).fold(base.clone(), |h, i| format!("{h}, x{i}=1"));
    let over = with_extra(MAX_PARAMS - own + 1);
    assert_eq!(parse(over.as_bytes()).unwrap_err(), ParseError::TooManyParams);
    assert_eq!(get(&engine, &over, NOW), Verdict::Malformed(ParseError::TooManyParams));
    let at = with_extra(MAX_PARAMS - own);
    assert_eq!(parse(at.as_bytes()).unwrap().params().unwrap().len(), MAX_PARAMS);
    assert_eq!(ok(&get(&engine, &at, NOW)).user, "Mufasa");

    // Distinct two-letter names ("aa=1,ab=1,..."): 5 bytes a param, so about 800 fit.
    let name = |i: usize| {
        let l = |k: usize| (if k < 26 { b'a' + k as u8 } else { b'A' + (k - 26) as u8 }) as char;
        format!("{}{}", l(i / 52), l(i % 52))
    };
    let many = |n: usize| format!("Digest {}", (0..n).map(|i| format!("{}=1", name(i))).collect::<Vec<_>>().join(","));
    let fits = many(800);
    assert!(fits.len() <= MAX_HEADER_LEN, "{}", fits.len());
    assert_eq!(get(&engine, &fits, NOW), Verdict::Malformed(ParseError::TooManyParams));
    let thousands = many(2700);
    assert!(thousands.len() > MAX_HEADER_LEN);
    assert_eq!(get(&engine, &thousands, NOW), Verdict::Malformed(ParseError::TooLong));
}

// ---------------------------------------------------------------------------------------
// Long realms. (A 129-byte ASCII realm is a config error: engine.rs
// `hostile_realm_is_escaped_or_refused`.)

/// A realm of exactly `MAX_REALM_LEN` bytes, with characters that need escaping: it renders,
/// a client that reads it back from the challenge authenticates with it (the request's
/// escaped `realm` is longer than 128 bytes; the limit counts the unescaped value), and a
/// request realm of one byte more is 400.
#[test]
fn realm_of_max_len_works_end_to_end() {
    let realm = leak(format!("{}\"q\\b", "r".repeat(MAX_REALM_LEN - 4)));
    assert_eq!(realm.len(), MAX_REALM_LEN);
    let config = Config::new(realm).unwrap().schemes(&[Scheme::Digest, Scheme::Basic, Scheme::Bearer]).unwrap();
    let engine = engine_with::<8>(config);
    let v = engine.check(&Request::new("GET", TARGET, None), ctx(NOW));
    let rendered = challenges(&engine, &v);
    for c in &rendered {
        let a = parse(c.as_bytes()).unwrap();
        assert!(a.params().unwrap().get("realm").unwrap().eq_bytes(realm.as_bytes()), "{c}");
    }
    let nonce = nonce_of(&v);
    let c = DigestClient { realm, ..mufasa("SHA-256", nonce) };
    let header = with_escaped_realm(&c);
    assert!(header.len() > c.header().len(), "the realm needed escaping");
    assert_eq!(ok(&get(&engine, &header, NOW)).user, "Mufasa");

    let long = leak(format!("{realm}x"));
    let c = DigestClient { realm: long, nc: 2, ..mufasa("SHA-256", nonce) };
    let v = get(&engine, &with_escaped_realm(&c), NOW);
    assert_eq!(v, Verdict::Malformed(ParseError::ValueTooLong("realm")));
}

/// `DigestClient` quotes the realm as it is: escape it the way a client does.
fn with_escaped_realm(c: &DigestClient<'_>) -> String {
    let escaped = c.realm.replace('\\', "\\\\").replace('"', "\\\"");
    c.header().replace(&format!("realm=\"{}\"", c.realm), &format!("realm=\"{escaped}\""))
}

/// The limit is in bytes, not characters: 42 three-byte characters and two ASCII bytes
/// (128 bytes) are a realm, 43 of them (129 bytes) are not.
#[test]
fn realm_limit_counts_utf8_bytes() {
    let at = format!("{}ab", "€".repeat(42));
    let over = "€".repeat(43);
    assert_eq!((at.len(), over.len()), (MAX_REALM_LEN, MAX_REALM_LEN + 1));
    assert_eq!(Config::new(&at).unwrap().realm(), at);
    assert_eq!(Config::new(&over).unwrap_err(), ConfigError::InvalidRealm);
}

// ---------------------------------------------------------------------------------------
// Full replay table. (One eviction → the evicted nonce is stale: engine.rs
// `full_replay_table_evicts_to_stale_never_fresh`; here a flood, and the same-second case.)

/// Three times the table's capacity in nonces, each used once, then every header replayed:
/// each first use is fresh, each replay is refused — `Replayed` while its nonce is in the
/// table, `Stale` once evicted — and nothing is ever accepted twice. A client that follows
/// the stale challenge gets in with the new nonce.
#[test]
fn replay_table_flood_never_turns_a_replay_fresh() {
    const CAP: usize = 4;
    let engine = engine_with::<CAP>(Config::new(REALM).unwrap());
    let headers: Vec<String> =
        (0..3 * CAP as u64).map(|i| mufasa("SHA-256", fresh_nonce(&engine, NOW + i, i as u8)).header()).collect();
    let later = NOW + 3 * CAP as u64;
    for h in &headers {
        ok(&get(&engine, h, later));
    }
    assert_eq!(engine.replay().lock().unwrap().len(), CAP);
    let mut last_stale = None;
    for (i, h) in headers.iter().enumerate() {
        let v = get(&engine, h, later);
        let expected = if i < 2 * CAP { (Reason::StaleNonce, true) } else { (Reason::Replayed, false) };
        assert_eq!(reason(&v), expected, "header {i}");
        if expected.1 {
            last_stale = Some(v);
        }
    }
    // The stale challenge's nonce works at once.
    let next = mufasa("SHA-256", nonce_of(&last_stale.unwrap()));
    ok(&get(&engine, &next.header(), later));
}

/// Eviction within one second: the table evicts the nonce issued first (the engine numbers
/// its nonces), and only nonces issued before an evicted one, and not in the table, are
/// stale. More than `N` sessions starting within one second all get in; an evicted session
/// is told to retry (`stale=true`), never let replay. (Before issue 15 every nonce of the
/// evicted one's second was stale, new ones included.)
#[test]
fn full_table_in_one_second_keeps_newer_nonces_fresh() {
    let engine = engine_with::<2>(Config::new(REALM).unwrap());
    // Issued in this order, all in one second.
    let n: Vec<&str> = (1..=5).map(|s| fresh_nonce(&engine, NOW, s)).collect();
    ok(&get(&engine, &mufasa("SHA-256", n[1]).header(), NOW));
    ok(&get(&engine, &mufasa("SHA-256", n[2]).header(), NOW));
    // Full: the third session of this second evicts the oldest (n[1]) and gets in.
    ok(&get(&engine, &mufasa("SHA-256", n[3]).header(), NOW));
    // So does a fourth, evicting n[2].
    ok(&get(&engine, &mufasa("SHA-256", n[4]).header(), NOW));
    // The evicted sessions' next requests are stale; the surviving ones carry on.
    let next = |nonce| get(&engine, &DigestClient { nc: 2, ..mufasa("SHA-256", nonce) }.header(), NOW);
    assert_eq!(reason(&next(n[1])), (Reason::StaleNonce, true));
    assert_eq!(reason(&next(n[2])), (Reason::StaleNonce, true));
    ok(&next(n[3]));
    ok(&next(n[4]));
    // A nonce issued before the evicted ones and never used is stale (a new nonce, not a
    // replay); its retry, a new nonce, gets in.
    let v = get(&engine, &mufasa("SHA-256", n[0]).header(), NOW);
    assert_eq!(reason(&v), (Reason::StaleNonce, true));
    ok(&get(&engine, &mufasa("SHA-256", nonce_of(&v)).header(), NOW));
}

/// A table of capacity 0 remembers nothing: every Digest request is stale, never fresh.
#[test]
fn zero_capacity_replay_table_is_always_stale() {
    let engine = engine_with::<0>(Config::new(REALM).unwrap());
    let c = mufasa("SHA-256", fresh_nonce(&engine, NOW, 1));
    for _ in 0..3 {
        assert_eq!(reason(&get(&engine, &c.header(), NOW)), (Reason::StaleNonce, true));
    }
}

// ---------------------------------------------------------------------------------------
// Exhausted buffers.

/// Every size from 0 to `needed - 1` gives `BufferTooSmall { needed }` with the same
/// `needed`, and what was written is the start of the real value (nothing else, nothing past
/// the buffer); exactly `needed` bytes succeed with the whole value; more leaves the rest
/// untouched.
fn exact_buffers(what: &str, write: impl Fn(&mut [u8]) -> Result<usize, BufferTooSmall>) -> usize {
    const SENTINEL: u8 = 0xAA; // never in a rendered (ASCII) value
    let mut big = vec![0u8; 16 * 1024];
    let needed = write(&mut big).unwrap_or_else(|e| panic!("{what}: {e}"));
    let full = big[..needed].to_vec();
    assert!(needed > 0 && full.is_ascii(), "{what}");
    for size in 0..needed {
        let mut buf = vec![SENTINEL; size];
        assert_eq!(write(&mut buf), Err(BufferTooSmall { needed }), "{what}: buffer of {size}");
        for (i, b) in buf.iter().enumerate() {
            assert!(
                *b == SENTINEL || *b == full[i],
                "{what}: buffer of {size}: byte {i} is neither untouched nor right"
            );
        }
    }
    let mut exact = vec![SENTINEL; needed];
    assert_eq!(write(&mut exact), Ok(needed), "{what}: exact buffer");
    assert_eq!(exact, full, "{what}");
    let mut bigger = vec![SENTINEL; needed + 16];
    assert_eq!(write(&mut bigger), Ok(needed), "{what}: bigger buffer");
    assert_eq!(&bigger[..needed], &full[..], "{what}");
    assert!(bigger[needed..].iter().all(|&b| b == SENTINEL), "{what}: wrote past its value");
    needed
}

/// Every writer of the crate, with its longest output: a 128-byte realm full of characters
/// to escape, opaque, both qops, stale, userhash, every algorithm, a 256-byte cnonce.
#[test]
fn every_writer_reports_the_exact_size_needed() {
    let realm = leak(format!("{}\"\\", "\"r\\".repeat(42)));
    assert_eq!(realm.len(), MAX_REALM_LEN);
    let opaque = leak("o".repeat(MAX_OPAQUE_LEN));
    let config = Config::new(realm)
        .unwrap()
        .schemes(&[Scheme::Digest, Scheme::Basic, Scheme::Bearer])
        .unwrap()
        .algorithms(&[
            Algorithm::Sha512_256Sess,
            Algorithm::Sha512_256,
            Algorithm::Sha256Sess,
            Algorithm::Sha256,
            Algorithm::Md5Sess,
            Algorithm::Md5,
        ])
        .unwrap()
        .qop(QopSet { auth: true, auth_int: true })
        .userhash(true)
        .opaque(opaque)
        .unwrap();
    let engine = engine_with::<8>(config);
    let nonce = engine.issue_nonce(ctx(NOW));
    let ch = Challenge { reason: Reason::InvalidToken, stale: true, nonce: Some(nonce) };

    let mut total = 0;
    for i in 0..engine.challenge_count() {
        total += exact_buffers(&format!("write_challenge {i}"), |b| engine.write_challenge(&ch, i, b));
    }
    let joined = exact_buffers("write_challenges", |b| engine.write_challenges(&ch, b));
    assert_eq!(joined, total + 2 * (engine.challenge_count() - 1));

    exact_buffers("render::basic_challenge", |b| render::basic_challenge(realm, b));
    exact_buffers("render::bearer_challenge", |b| {
        render::bearer_challenge(realm, Some(BearerError::InsufficientScope), Some("needs \"admin\" scope"), b)
    });
    let dc = DigestChallenge {
        realm,
        qop: QopSet { auth: true, auth_int: true },
        algorithm: Algorithm::Sha512_256Sess,
        nonce: nonce.as_str(),
        opaque: Some(opaque),
        stale: true,
        userhash: true,
    };
    exact_buffers("render::digest_challenge", |b| render::digest_challenge(&dc, b));

    // Authentication-Info from a real exchange: 256-byte cnonce, nc ffffffff, past half
    // the nonce's life so that nextnonce is sent too.
    let plain = engine_with::<8>(Config::new(REALM).unwrap());
    let cnonce = leak("c".repeat(MAX_CNONCE_LEN));
    let c = DigestClient { cnonce, nc: u32::MAX, ..mufasa("SHA-256", fresh_nonce(&plain, NOW, 1)) };
    let a = ok(&get(&plain, &c.header(), NOW + 200)).clone();
    let info = a.auth_info.expect("qop=auth gives Authentication-Info");
    assert!(info.rspauth.is_some() && info.nextnonce.is_some());
    let n = exact_buffers("write_authentication_info", |b| plain.write_authentication_info(&info, b));
    assert_eq!(exact_buffers("render::authentication_info", |b| render::authentication_info(&info, b)), n);
}

// ---------------------------------------------------------------------------------------
// Clock going backwards. (Within the skew accepted, beyond it and at 0 stale: engine.rs
// `clock_going_backwards`; here the replay history across a purge, and the extremes.)

/// A server purges the replay table of nonces past their lifetime (`purge_before`), then
/// its clock goes back to when they were valid: their old headers are stale, never fresh —
/// the purge moved the horizon, so no history is made up.
#[test]
fn clock_back_after_a_purge_keeps_old_nonces_refused() {
    let engine = engine_with::<8>(Config::new(REALM).unwrap());
    let c = mufasa("SHA-256", fresh_nonce(&engine, NOW, 1));
    ok(&get(&engine, &c.header(), NOW));
    // Lifetime over: the periodic purge forgets the nonce.
    let life = engine.config().lifetime().max_age;
    let now = NOW + life + 1;
    engine.replay().lock().unwrap().purge_before(now - life);
    assert_eq!(engine.replay().lock().unwrap().len(), 0);
    // The clock jumps back into the nonce's lifetime.
    let back = NOW + 10;
    assert_eq!(reason(&get(&engine, &c.header(), back)), (Reason::StaleNonce, true));
    let next = DigestClient { nc: 2, ..c.clone() };
    assert_eq!(reason(&get(&engine, &next.header(), back)), (Reason::StaleNonce, true));
    // A nonce issued now (after the horizon) is fine.
    ok(&get(&engine, &mufasa("SHA-256", fresh_nonce(&engine, back, 2)).header(), back));
}

/// A clock at the ends of u64: nonces issue and verify without overflow; a nonce from the far
/// future seen by a clock at 0 (or the reverse) is stale with a right response, never a panic,
/// and past half-life arithmetic (nextnonce) does not wrap.
#[test]
fn clock_extremes_do_not_overflow() {
    let engine = vector_engine();
    let max = fresh_nonce(&engine, u64::MAX, 1);
    assert!(matches!(engine.verify_nonce(max.as_bytes(), u64::MAX), NonceStatus::Valid { issued: u64::MAX, .. }));
    let c = mufasa("SHA-256", max);
    assert_eq!(reason(&get(&engine, &c.header(), 0)), (Reason::StaleNonce, true));
    let a = ok(&get(&engine, &c.header(), u64::MAX)).clone();
    assert!(a.auth_info.unwrap().nextnonce.is_none());

    let zero = fresh_nonce(&engine, 0, 2);
    let c = mufasa("SHA-256", zero);
    assert_eq!(reason(&get(&engine, &c.header(), u64::MAX)), (Reason::StaleNonce, true));
    let a = ok(&get(&engine, &c.header(), 0)).clone();
    assert!(a.auth_info.unwrap().nextnonce.is_none());
}

/// Past half its life a nonce gets a `nextnonce`; if the clock then goes back before the
/// issue time (within the skew) the request still passes and no `nextnonce` is sent.
#[test]
fn clock_back_within_skew_no_nextnonce_no_panic() {
    let engine = vector_engine();
    let c = mufasa("SHA-256", fresh_nonce(&engine, NOW, 1));
    let a = ok(&get(&engine, &c.header(), NOW + 200)).clone();
    assert!(a.auth_info.unwrap().nextnonce.is_some());
    let back = DigestClient { nc: 2, ..c.clone() };
    let a = ok(&get(&engine, &back.header(), NOW - 5)).clone();
    assert!(a.auth_info.unwrap().nextnonce.is_none());
}

// ---------------------------------------------------------------------------------------
// Key rotation mid-traffic. (Previous key accepted after one rotation, InvalidNonce after a
// second one: engine.rs `key_rotation_mid_traffic`; under load: stress.rs.)

/// Replay history survives a rotation: a header accepted before is refused after.
/// An authentic but expired nonce of the previous key is stale (with a right response), a
/// nonce of a key rotated out twice is not ours (401, not stale), and the challenge that
/// refuses it carries a nonce of the current key that works.
#[test]
fn rotation_keeps_replay_history_and_tells_expired_from_foreign() {
    let (k1, k2, k3) = ([1u8; 32], [2u8; 32], [3u8; 32]);
    let mk = || {
        Engine::new(Config::new(REALM).unwrap(), &k1, StaticUsers::new(USERS), Mutex::new(ReplayTable::<8>::new()))
            .unwrap()
    };
    let mut engine = mk();
    let used = mufasa("SHA-256", fresh_nonce(&engine, NOW, 1));
    ok(&get(&engine, &used.header(), NOW));
    let old_unused = mufasa("SHA-256", fresh_nonce(&engine, NOW, 2));
    engine.rotate_key(&k2);
    assert_eq!(reason(&get(&engine, &used.header(), NOW)), (Reason::Replayed, false));
    // Previous key, expired: stale, so the client simply retries.
    assert_eq!(reason(&get(&engine, &old_unused.header(), NOW + 301)), (Reason::StaleNonce, true));
    // Previous key, within its life: accepted.
    ok(&get(&engine, &old_unused.header(), NOW + 1));
    engine.rotate_key(&k3);
    let next = DigestClient { nc: 2, ..old_unused.clone() };
    let v = get(&engine, &next.header(), NOW + 2);
    assert_eq!(reason(&v), (Reason::InvalidNonce, false));
    ok(&get(&engine, &mufasa("SHA-256", nonce_of(&v)).header(), NOW + 2));
}

/// Rotation across processes: a process started with the new key and `with_previous_key`
/// accepts the nonces the not-yet-rotated one hands out; the not-yet-rotated one refuses the
/// new key's nonces as not ours (its clients recover with its own fresh nonce).
#[test]
fn rotation_across_processes_with_previous_key() {
    let (old, new) = ([1u8; 32], [2u8; 32]);
    let users = || StaticUsers::new(USERS);
    let lagging = Engine::new(Config::new(REALM).unwrap(), &old, users(), Mutex::new(ReplayTable::<8>::new())).unwrap();
    let rotated = Engine::new(Config::new(REALM).unwrap(), &new, users(), Mutex::new(ReplayTable::<8>::new()))
        .unwrap()
        .with_previous_key(&old);
    let from_lagging = mufasa("SHA-256", fresh_nonce(&lagging, NOW, 1));
    ok(&get(&rotated, &from_lagging.header(), NOW));
    let from_rotated = mufasa("SHA-256", fresh_nonce(&rotated, NOW, 2));
    let v = get(&lagging, &from_rotated.header(), NOW);
    assert_eq!(reason(&v), (Reason::InvalidNonce, false));
    ok(&get(&lagging, &mufasa("SHA-256", nonce_of(&v)).header(), NOW));
}
