//! A login burst far larger than the replay table, through the engine: nonces issued after
//! it (and during it) are never answered stale.

use authgate::{Config, Context, Engine, ReplayTable, Request, StaticUsers, Verdict};
use authgate_tests::{mufasa, nonce_of, DigestClient, KEY, REALM, USERS};
use std::sync::Mutex;

const NOW: u64 = 1_700_000_000;

#[test]
fn a_burst_of_logins_leaves_fresh_nonces_fresh() {
    let engine =
        Engine::new(Config::new(REALM).unwrap(), &KEY, StaticUsers::new(USERS), Mutex::new(ReplayTable::<64>::new()))
            .unwrap();
    let ctx = |i: u32| Context { now: NOW, salt: [(i >> 8) as u8, i as u8, 1, 2, 3, 4, 5, 6] };
    let challenge = |i: u32| nonce_of(&engine.check(&Request::new("GET", "/dir/index.html", None), ctx(i)));
    let login = |nonce: &'static str| {
        let c = DigestClient { cnonce: "0a4f113b", ..mufasa("SHA-256", nonce) };
        let header = c.header();
        engine.check(&Request::new("GET", "/dir/index.html", Some(header.as_bytes())), ctx(0))
    };
    // Waiting clients: nonces issued before the burst, used after it.
    let before: Vec<_> = (0..8).map(challenge).collect();
    // 1,000 logins in the same second, each on a nonce of its own: the table (64) overflows.
    let mut stale = 0;
    for i in 0..1000 {
        match login(challenge(i)) {
            Verdict::Authenticated(_) => {}
            Verdict::Challenge(ch) if ch.stale => stale += 1,
            other => panic!("login {i}: {other:?}"),
        }
    }
    assert_eq!(stale, 0, "logins refused as stale during the burst");
    // Never-used nonces issued after the burst: all accepted, none stale.
    for i in 0..100 {
        let v = login(challenge(5000 + i));
        assert!(matches!(v, Verdict::Authenticated(_)), "fresh nonce {i} after the burst: {v:?}");
    }
    // The waiting clients' nonces are older than evicted ones: stale (a new nonce, not a replay).
    for n in before {
        assert!(matches!(login(n), Verdict::Challenge(ch) if ch.stale), "an evicted-era nonce is stale");
    }
}
