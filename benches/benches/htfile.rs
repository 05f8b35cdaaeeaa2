//! Criterion benchmarks of htpasswd files: one password check per format (the lines
//! htpasswd 2.4.71 writes with its default costs, and bcrypt at the cap's neighbours),
//! the engine's Basic check against an htpasswd file, the lookup in a 1,000-user file,
//! and the lookup in an htdigest file. `make bench` runs them with the engine's.

use std::hint::black_box;

use authgate::htfile::{Htdigest, Htpasswd, Policy};
use authgate::{Config, Context, Engine, ReplayTable, Request, Scheme, Verdict};
use criterion::{criterion_group, criterion_main, Criterion};

/// `pässword` as htpasswd writes it: (bench name, line).
const LINES: &[(&str, &str)] = &[
    ("bcrypt-cost5 (-B)", "u:$2y$05$F09reEW7pFgC7wHd7J/YNuIMaJbcMVZT9IQxcRy9ErMDW4icZpq96"),
    ("bcrypt-cost10 (-B -C 10)", "u:$2y$10$.YSuA0qy38unUIwmpICLreex8UM6z6DYvkB/QlnmUp/7gbdMhWLjy"),
    ("apr1 (-m)", "u:$apr1$TIHWr3VY$2jP5YqtOr9dPSiTtMuzJ./"),
    ("sha256-crypt-5000 (-2)", "u:$5$Eo22L.GDgjmhNhuK$ahJYMc4eydgfOskbOBfEodtHGfOdfDF4301s1kfVHG0"),
    (
        "sha512-crypt-5000 (-5)",
        "u:$6$j2Lhfr.pG3ItPWYw$p35vD/JrVXvrLdc.v3oVozSkEZaXKdgqcTPOtM.Q/Zro16T6D4YXerf8eDRidabqEp85IPYEC9spwODoIMlqu1",
    ),
    ("sha1 (-s)", "u:{SHA}I7dElEdfX4dJgLdnbVEeI9iG2mQ="),
    ("des-crypt (-d)", "u:YyYFE00gMVVrE"),
];

fn formats(c: &mut Criterion) {
    let mut g = c.benchmark_group("htpasswd");
    g.sample_size(10);
    for (name, line) in LINES {
        let file = Htpasswd::parse(line.as_bytes(), Policy::DEFAULT).unwrap();
        assert!(file.verify("u", "pässword".as_bytes()), "{name}");
        g.bench_function(*name, |b| b.iter(|| black_box(file.verify("u", black_box("pässword".as_bytes())))));
    }
    g.finish();
}

fn files(c: &mut Criterion) {
    // 1,000 users; the one looked up is last (every lookup reads the whole file anyway).
    let mut text = String::new();
    for i in 0..1000 {
        text += &format!("user{i}:{{SHA}}I7dElEdfX4dJgLdnbVEeI9iG2mQ=\n");
    }
    let big = Htpasswd::parse(text.as_bytes(), Policy::DEFAULT).unwrap();
    c.bench_function("htpasswd/lookup-1000-users", |b| b.iter(|| black_box(big.get(black_box("user999")))));

    let digest = Htdigest::parse(&b"dave:my realm:669bb5c539f096809dc379871fe1c6bc\n"[..]).unwrap();
    c.bench_function("htdigest/lookup-1-user", |b| b.iter(|| black_box(digest.ha1(black_box("dave"), "my realm"))));

    let file = Htpasswd::parse(&b"Mufasa:{SHA}I7dElEdfX4dJgLdnbVEeI9iG2mQ=\n"[..], Policy::DEFAULT).unwrap();
    let config = Config::new("r").unwrap().schemes(&[Scheme::Basic]).unwrap();
    let replay = std::sync::Mutex::new(ReplayTable::<4>::new());
    let engine = Engine::new(config, &[1; 32], file, &replay).unwrap();
    // Mufasa:pässword
    let header = b"Basic TXVmYXNhOnDDpHNzd29yZA==";
    let ctx = Context { now: 1_700_000_000, salt: [2; 8] };
    assert!(matches!(engine.check(&Request::new("GET", "/", Some(header)), ctx), Verdict::Authenticated(_)));
    c.bench_function("htpasswd/engine-basic-sha1", |b| {
        b.iter(|| black_box(engine.check(&Request::new("GET", "/", Some(black_box(header))), ctx)))
    });
}

criterion_group!(benches, formats, files);
criterion_main!(benches);
