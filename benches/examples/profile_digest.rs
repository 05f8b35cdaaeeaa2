//! A fixed workload for instruction-level profiling (`valgrind --tool=callgrind`):
//! 2000 full SHA-256 Digest checks with prepared headers.
use std::sync::Mutex;

use authgate::{Config, Context, Engine, ReplayTable, Request, StaticUsers, Verdict};
use authgate_tests::{mufasa, nonce_of, DigestClient, KEY, REALM, USERS};

fn main() {
    let alg = std::env::args().nth(1).unwrap_or_else(|| "SHA-256".into());
    let alg: &'static str = Box::leak(alg.into_boxed_str());
    let config =
        Config::new(REALM).unwrap().algorithms(&[authgate::Algorithm::from_name(alg.as_bytes()).unwrap()]).unwrap();
    let engine = Engine::new(config, &KEY, StaticUsers::new(USERS), Mutex::new(ReplayTable::<64>::new())).unwrap();
    let ctx = Context { now: 1_700_000_000, salt: [9; 8] };
    let nonce = nonce_of(&engine.check(&Request::new("GET", "/dir/index.html", None), ctx));
    let headers: Vec<String> = (1..=2000).map(|nc| DigestClient { nc, ..mufasa(alg, nonce) }.header()).collect();
    for h in &headers {
        assert!(matches!(one_check(&engine, h, ctx), Verdict::Authenticated(_)));
    }
}

/// The measured unit (`ratio.sh` collects inside this function only).
#[inline(never)]
fn one_check<S: authgate::CredentialStore, R: authgate::ReplayStore>(
    engine: &Engine<S, R>,
    header: &str,
    ctx: Context,
) -> Verdict {
    engine.check(&Request::new("GET", "/dir/index.html", Some(header.as_bytes())), ctx)
}
