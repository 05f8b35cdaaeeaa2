//! The Rust twin of `ffi/bench/bench.c`: the same full Digest check, the same scenario and
//! the same measurement (batches of 1000 prepared headers, median ns per check), on the
//! core's API directly. `ffi/bench/run.sh` alternates the two to get the ABI/core ratio
//! on a machine whose load changes.
//!
//!   cargo bench -p authgate-ffi --bench digest_check -- [--seconds S] [--warmup S] ALG...

use std::hint::black_box;
use std::sync::Mutex;
use std::time::Instant;

use authgate_core::digest::{self, ResponseInput};
use authgate_core::{
    parse, Algorithm, Config, Context, DigestCredentials, Engine, ReplayTable, Request, StaticUsers, Verdict,
};

const BATCH: usize = 1000;
const REALM: &str = "testrealm@host.com";
const TARGET: &str = "/dir/index.html";
const NOW: u64 = 1_700_000_000;
const USERS: &[(&str, &str)] = &[("Mufasa", "Circle Of Life")];

type CoreEngine = Engine<StaticUsers<'static>, Mutex<ReplayTable<1024>>>;

fn header(alg: Algorithm, nonce: &str, nc: u32, response: &str) -> String {
    format!(
        "Digest username=\"Mufasa\", realm=\"{REALM}\", nonce=\"{nonce}\", uri=\"{TARGET}\", algorithm={}, \
         response=\"{response}\", qop=auth, nc={nc:08x}, cnonce=\"0a4f113b\"",
        alg.name()
    )
}

/// The header bench.c builds, its response computed with the core.
fn make_header(alg: Algorithm, nonce: &str, nc: u32) -> String {
    let draft = header(alg, nonce, nc, "");
    let auth = parse(draft.as_bytes()).expect("header parses");
    let c = DigestCredentials::from_authorization(&auth).expect("digest header");
    let ha1 = digest::ha1(alg.hash(), b"Mufasa", REALM.as_bytes(), b"Circle Of Life").expect("hash enabled");
    let r = digest::response(alg, &ha1, &c, &ResponseInput { method: b"GET", body_hash: None }).expect("response");
    header(alg, nonce, nc, r.to_hex().as_str())
}

fn main() {
    // `cargo bench` passes --bench; under `cargo test --benches` there is no such flag, and
    // one batch per algorithm is measured, as a smoke test.
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let mut seconds = if bench_mode { 5.0f64 } else { 0.0 };
    let mut warmup = if bench_mode { 1.0f64 } else { 0.0 };
    let mut algs = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bench" => {}
            "--seconds" => seconds = args.next().and_then(|s| s.parse().ok()).expect("--seconds S"),
            "--warmup" => warmup = args.next().and_then(|s| s.parse().ok()).expect("--warmup S"),
            name => {
                algs.push(Algorithm::from_name(name.as_bytes()).unwrap_or_else(|| panic!("unknown algorithm {name}")))
            }
        }
    }
    if algs.is_empty() {
        algs = vec![Algorithm::Sha256, Algorithm::Md5];
    }
    for alg in algs {
        let config = Config::new(REALM).unwrap().algorithms(&[alg]).unwrap();
        let engine: CoreEngine =
            Engine::new(config, &[0x42; 32], StaticUsers::new(USERS), Mutex::new(ReplayTable::new())).unwrap();
        let ctx = Context { now: NOW, salt: [9; 8] };
        let Verdict::Challenge(ch) = engine.check(&Request::new("GET", TARGET, None), ctx) else {
            panic!("no challenge")
        };
        let nonce = ch.nonce.expect("digest offered");
        let mut nc = 0u32;
        let mut prepare = || {
            (0..BATCH)
                .map(|_| {
                    nc += 1;
                    make_header(alg, nonce.as_str(), nc)
                })
                .collect::<Vec<_>>()
        };
        // The measured operation, as bench.c's run().
        let run = |headers: &[String]| {
            headers
                .iter()
                .filter(|h| {
                    let v = engine.check(&Request::new("GET", black_box(TARGET), Some(black_box(h.as_bytes()))), ctx);
                    matches!(v, Verdict::Authenticated(_))
                })
                .count()
        };
        let start = Instant::now();
        while start.elapsed().as_secs_f64() < warmup {
            run(&prepare());
        }
        let mut samples = Vec::new();
        let (mut measured, mut total) = (0.0f64, 0usize);
        while samples.is_empty() || measured < seconds * 1e9 {
            let headers = prepare();
            let t0 = Instant::now();
            let ok = run(&headers);
            let dt = t0.elapsed().as_nanos() as f64;
            assert_eq!(ok, BATCH, "a check did not authenticate");
            samples.push(dt / BATCH as f64);
            measured += dt;
            total += BATCH;
        }
        samples.sort_by(f64::total_cmp);
        println!(
            "RESULT digest_check/{} median_ns={:.1} mean_ns={:.1} samples={} checks={}",
            alg.name(),
            samples[samples.len() / 2],
            measured / total as f64,
            samples.len(),
            total
        );
    }
}
