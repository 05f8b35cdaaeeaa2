//! Criterion benchmarks: parsing, Basic, full Digest checks per algorithm, nonce issue, and
//! the raw hash blocks a Digest check cannot avoid (for the engine / raw-hashing ratio).

use std::cell::Cell;
use std::hint::black_box;
use std::sync::Mutex;

use authgate::{
    Algorithm, BasicCredentials, Config, Context, Engine, ReplayTable, Request, StaticUsers, StoredCredential, Verdict,
};
use authgate::{CredentialStore, HashAlgorithm, Purpose};
use authgate_benches::raw_digest_work;
use authgate_tests::{h, mufasa, nonce_of, DigestClient, KEY, REALM, USERS};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

const NOW: u64 = 1_700_000_000;
const BASIC: &[u8] = b"Basic TXVmYXNhOkNpcmNsZSBPZiBMaWZl";

/// An htdigest-style store: the MD5 HA1 is computed once, as a file would hold it.
struct Ha1Store(StoredCredential);
impl CredentialStore for Ha1Store {
    fn lookup(&self, username: &str, _realm: &str, _: Purpose) -> Option<StoredCredential> {
        (username == "Mufasa").then(|| self.0.clone())
    }
}

fn ctx() -> Context {
    Context { now: NOW, salt: [9; 8] }
}

fn parse_and_basic(c: &mut Criterion) {
    c.bench_function("parse/basic", |b| {
        b.iter(|| {
            let a = authgate::parse(black_box(BASIC)).unwrap();
            let mut buf = [0; authgate::limits::MAX_BASIC_DECODED];
            let creds = BasicCredentials::from_authorization(&a, &mut buf).unwrap();
            black_box(creds.password_bytes().len())
        })
    });
    let header = mufasa("SHA-256", "0123456789abcdef0123456789abcdef0123456789a").header();
    c.bench_function("parse/digest", |b| {
        b.iter(|| {
            let a = authgate::parse(black_box(header.as_bytes())).unwrap();
            black_box(authgate::DigestCredentials::from_authorization(&a).unwrap().nc)
        })
    });

    let config = || Config::new(REALM).unwrap();
    let plain = Engine::new(config(), &KEY, StaticUsers::new(USERS), Mutex::new(ReplayTable::<64>::new())).unwrap();
    let stored = StoredCredential::ha1_hex(
        HashAlgorithm::Md5,
        h("MD5", format!("Mufasa:{REALM}:Circle Of Life").as_bytes()).as_bytes(),
    )
    .unwrap();
    let ha1 = Engine::new(config(), &KEY, Ha1Store(stored), Mutex::new(ReplayTable::<64>::new())).unwrap();
    let req = Request::new("GET", "/", Some(BASIC));
    c.bench_function("check_basic/plaintext", |b| {
        b.iter(|| assert!(matches!(plain.check(black_box(&req), ctx()), Verdict::Authenticated(_))))
    });
    c.bench_function("check_basic/ha1-md5", |b| {
        b.iter(|| assert!(matches!(ha1.check(black_box(&req), ctx()), Verdict::Authenticated(_))))
    });
}

/// Full Digest check (parse + nonce MAC + user lookup + response + replay record + rspauth),
/// each iteration with a new nc so the replay table accepts it.
fn digest_check(c: &mut Criterion) {
    let mut group = c.benchmark_group("digest_check");
    for alg in [Algorithm::Md5, Algorithm::Sha256, Algorithm::Sha512_256, Algorithm::Sha256Sess] {
        let config = Config::new(REALM).unwrap().algorithms(&[alg]).unwrap();
        let engine = Engine::new(config, &KEY, StaticUsers::new(USERS), Mutex::new(ReplayTable::<64>::new())).unwrap();
        let nonce = nonce_of(&engine.check(&Request::new("GET", "/dir/index.html", None), ctx()));
        let nc = Cell::new(0u32);
        group.bench_function(alg.name(), |b| {
            b.iter_batched_ref(
                || {
                    nc.set(nc.get() + 1);
                    DigestClient { nc: nc.get(), ..mufasa(alg.name(), nonce) }.header()
                },
                |header: &mut String| {
                    let v = engine.check(&Request::new("GET", "/dir/index.html", Some(header.as_bytes())), ctx());
                    assert!(matches!(v, Verdict::Authenticated(_)), "{v:?}");
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

/// The hash work a Digest check cannot avoid, for the engine / raw-hashing ratio.
fn raw_hashing(c: &mut Criterion) {
    let nonce = b"AAAAAGVTwQAJCQkJCQkJCXq3pE7D8nXq0wYgE1p1tA4";
    let mut group = c.benchmark_group("raw_hashing");
    for alg in ["MD5", "SHA-256", "SHA-512-256"] {
        group.bench_function(alg, |b| b.iter(|| raw_digest_work(black_box(alg), black_box(nonce))));
    }
    group.finish();
}

fn nonce_issue(c: &mut Criterion) {
    let engine =
        Engine::new(Config::new(REALM).unwrap(), &KEY, StaticUsers::new(USERS), Mutex::new(ReplayTable::<64>::new()))
            .unwrap();
    c.bench_function("nonce/issue", |b| b.iter(|| black_box(engine.issue_nonce(black_box(ctx())))));
    let n = engine.issue_nonce(ctx());
    c.bench_function("nonce/verify", |b| {
        b.iter(|| black_box(engine.verify_nonce(black_box(n.as_str().as_bytes()), NOW)))
    });
}

/// JWT verification per algorithm (split, base64url, header, signature, claims, checks), on
/// the PyJWT-minted tokens of the vector file, alone and as a full Bearer check.
fn jwt_verify(c: &mut Criterion) {
    use authgate::jwt::{jwks, JwsAlgorithm, JwtBuffer, JwtConfig};
    use authgate::Scheme;
    let mut group = c.benchmark_group("jwt_verify");
    let mut engine_group = Vec::new();
    for alg in JwsAlgorithm::ALL {
        let name = format!("jwt-pyjwt-{}-kid", alg.name().to_lowercase());
        let case = authgate_tests::cases("jwt").into_iter().find(|c| c.name() == name).unwrap();
        let mut config = JwtConfig::new().algorithms(&[alg]).unwrap().audience(case.get("audience")).unwrap();
        for k in jwks(case.get("jwks")).unwrap().keys {
            config = config.key(k).unwrap();
        }
        let token = case.get("token").to_owned();
        let now: u64 = case.get("now").parse().unwrap();
        let mut buf = JwtBuffer::new();
        group.bench_function(alg.name(), |b| {
            b.iter(|| assert!(config.verify(black_box(token.as_bytes()), now, &mut buf).is_ok()))
        });
        engine_group.push((alg, config, token, now));
    }
    group.finish();
    let mut group = c.benchmark_group("jwt_check");
    for (alg, config, token, now) in engine_group.into_iter().filter(|(a, ..)| {
        matches!(a, JwsAlgorithm::Hs256 | JwsAlgorithm::Es256 | JwsAlgorithm::EdDsa | JwsAlgorithm::Rs256)
    }) {
        let config = Config::new(REALM).unwrap().schemes(&[Scheme::Bearer]).unwrap().jwt(config).unwrap();
        let engine = Engine::new(config, &KEY, StaticUsers::new(USERS), Mutex::new(ReplayTable::<64>::new())).unwrap();
        let header = format!("Bearer {token}");
        let req = Request::new("GET", "/", Some(header.as_bytes()));
        let ctx = Context { now, salt: [9; 8] };
        group.bench_function(alg.name(), |b| {
            b.iter(|| assert!(matches!(engine.check(black_box(&req), ctx), Verdict::Authenticated(_))))
        });
    }
    group.finish();
}

criterion_group!(benches, parse_and_basic, digest_check, raw_hashing, nonce_issue, jwt_verify);
criterion_main!(benches);
