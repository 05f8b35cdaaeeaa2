//! The shared vector file, read the same way the C and Python tests read it.

use authgate::digest::{self, Known, ResponseInput, Username};
use authgate::{
    parse, Algorithm, BasicCredentials, Charset, DigestCredentials, Engine, HashOutput, Qop, ReplayTable, StaticUsers,
    Verdict,
};
use authgate_tests::*;

#[test]
fn file_has_the_promised_cases() {
    let all = load_vectors();
    let mut names = std::collections::HashSet::new();
    for c in &all {
        assert!(names.insert(c.name().to_string()), "duplicate name {}", c.name());
    }
    assert!(cases("malformed").len() >= 100, "at least 100 malformed cases");
    for name in [
        "rfc7616-md5",
        "rfc7616-sha256",
        "rfc7616-sha512-256-userhash",
        "rfc2617-md5",
        "rfc7617-aladdin",
        "rfc7617-utf8",
    ] {
        assert!(names.contains(name), "missing {name}");
    }
}

#[test]
fn digest_vectors_parse_and_compute() {
    let cases = cases("digest");
    assert!(cases.len() >= 10);
    for case in cases {
        let name = case.name();
        let auth = parse(case.bytes("header").unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let c = DigestCredentials::from_authorization(&auth).unwrap_or_else(|e| panic!("{name}: {e}"));
        let alg = Algorithm::from_name(case.get("algorithm").as_bytes()).unwrap();
        assert_eq!(c.algorithm, Known::Known(alg), "{name}");
        assert!(c.realm.eq_bytes(case.get("realm").as_bytes()), "{name}");
        assert!(c.nonce.eq_bytes(case.get("nonce").as_bytes()), "{name}");
        assert!(c.uri.eq_bytes(case.get("uri").as_bytes()), "{name}");
        assert!(c.response.eq_bytes(case.get("response").as_bytes()), "{name}");
        match case.opt("qop") {
            Some(q) => {
                assert_eq!(c.qop, Some(Known::Known(Qop::from_name(q.as_bytes()).unwrap())), "{name}");
                assert_eq!(c.nc, Some(u32::from_str_radix(case.get("nc"), 16).unwrap()), "{name}");
                assert!(c.cnonce.unwrap().eq_bytes(case.get("cnonce").as_bytes()), "{name}");
            }
            None => assert!(c.qop.is_none() && c.nc.is_none() && c.cnonce.is_none(), "{name}"),
        }
        if let Some(o) = case.opt("opaque") {
            assert!(c.opaque.unwrap().eq_bytes(o.as_bytes()), "{name}");
        }
        let username = case.get("username");
        match case.opt("userhash") {
            Some(uh) => {
                assert!(c.userhash, "{name}");
                let Username::Plain(v) = c.username else { panic!("{name}") };
                assert!(v.eq_bytes(uh.as_bytes()), "{name}");
                let computed = digest::userhash(alg.hash(), username.as_bytes(), case.get("realm").as_bytes()).unwrap();
                assert_eq!(computed.to_hex().as_str(), uh, "{name}: userhash");
            }
            None => {
                let Username::Plain(v) = c.username else { panic!("{name}") };
                assert!(v.eq_bytes(username.as_bytes()), "{name}");
            }
        }
        let ha1 =
            digest::ha1(alg.hash(), username.as_bytes(), case.get("realm").as_bytes(), case.get("password").as_bytes())
                .unwrap();
        let body_hash = case.bytes("body").map(|b| HashOutput::from_hex(h(alg.name(), b).as_bytes()).unwrap());
        let input = ResponseInput { method: case.get("method").as_bytes(), body_hash: body_hash.as_ref() };
        let r = digest::response(alg, &ha1, &c, &input).unwrap();
        assert_eq!(r.to_hex().as_str(), case.get("response"), "{name}: response");
    }
}

/// Erratum 4897: SHA-512-256 is FIPS SHA-512/256. A client that hashes with SHA-256 instead
/// (curl 7.x) produces a different response, which must not match.
#[test]
fn sha512_256_is_not_sha256() {
    let case = cases("digest").into_iter().find(|c| c.name() == "rfc7616-sha512-256-userhash").unwrap();
    let wrong = h("SHA-256", b"anything");
    assert_ne!(wrong, case.get("response"));
    let sha256_ha1 =
        h("SHA-256", format!("{}:{}:{}", case.get("username"), case.get("realm"), case.get("password")).as_bytes());
    let sha512_256_ha1 =
        h("SHA-512-256", format!("{}:{}:{}", case.get("username"), case.get("realm"), case.get("password")).as_bytes());
    assert_ne!(sha256_ha1, sha512_256_ha1);
}

#[test]
fn basic_vectors_decode() {
    let cases = cases("basic");
    assert!(cases.len() >= 3);
    for case in cases {
        let name = case.name();
        let auth = parse(case.bytes("header").unwrap()).unwrap();
        let mut buf = [0; authgate::limits::MAX_BASIC_DECODED];
        let creds = BasicCredentials::from_authorization(&auth, &mut buf).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut ubuf = [0; 256];
        let mut pbuf = [0; 256];
        assert_eq!(creds.user(&mut ubuf), Some(case.get("username")), "{name}");
        assert_eq!(creds.password(&mut pbuf), Some(case.get("password")), "{name}");
        let expected = if case.opt("charset") == Some("latin1") { Charset::Latin1 } else { Charset::Utf8 };
        assert_eq!(creds.charset(), expected, "{name}");
    }
}

/// Every malformed header gets exactly the status its case names, never 200.
#[test]
fn malformed_corpus_gets_its_status() {
    let engine = vector_engine();
    let mut wrong = Vec::new();
    let cases = cases("malformed");
    for case in &cases {
        let v = check(&engine, "GET", "/dir/index.html", case.bytes("header"), 1_700_000_000);
        let expect: u16 = case.get("expect").parse().unwrap();
        assert_ne!(v.status(), 200, "{} authenticated", case.name());
        if v.status() != expect {
            let why = match &v {
                Verdict::Malformed(e) => format!("400 {e}"),
                Verdict::Challenge(c) => format!("401 {:?}", c.reason),
                Verdict::Authenticated(_) => "200".into(),
            };
            wrong.push(format!("{} (line {}): expected {expect}, got {why}", case.name(), case.line));
        }
    }
    assert!(wrong.is_empty(), "{} of {} cases differ:\n{}", wrong.len(), cases.len(), wrong.join("\n"));
}

/// The engine's one-pass scan into the Digest slots and the public `parse` +
/// `DigestCredentials::from_authorization` agree on every header of the file.
#[test]
fn engine_scan_agrees_with_parse_on_every_vector() {
    let engine = vector_engine();
    let mut wrong = Vec::new();
    let all = load_vectors();
    for case in &all {
        if let Some(header) = case.bytes("header") {
            if let Err(why) = engine_agrees_with_parse(&engine, header) {
                wrong.push(format!("{} (line {}): {why}", case.name(), case.line));
            }
        }
    }
    assert!(all.len() > 100);
    assert!(wrong.is_empty(), "{} cases differ:\n{}", wrong.len(), wrong.join("\n"));
}

/// The policy of a `kind=origin` case.
fn origin_policy(case: &Case) -> authgate::OriginPolicy {
    let policy = authgate::OriginPolicy::new()
        .refuse_cross_origin(case.opt("refuse") != Some("0"))
        .allow_any_address(case.opt("addresses") == Some("1"));
    let policy = policy.allow_hosts(case.opt("hosts").unwrap_or("")).unwrap_or_else(|e| panic!("{}: {e}", case.name()));
    policy.allow_origins(case.opt("origins").unwrap_or("")).unwrap_or_else(|e| panic!("{}: {e}", case.name()))
}

/// Request-origin cases, through the engine's configuration as a server uses it; the
/// classification agrees with the refusals.
#[test]
fn origin_vectors() {
    let cases = cases("origin");
    assert!(cases.len() >= 200);
    for case in &cases {
        let name = case.name();
        let config = authgate::Config::new("r").unwrap().origin_policy(origin_policy(case));
        let engine =
            Engine::new(config, &[7; 32], StaticUsers::new(&[]), std::cell::RefCell::new(ReplayTable::<1>::new()))
                .unwrap();
        let headers = authgate::OriginHeaders {
            secure: case.opt("secure") == Some("1"),
            host: case.bytes("host"),
            origin: case.bytes("origin"),
            sec_fetch_site: case.bytes("site"),
            referer: case.bytes("referer"),
        };
        let got = engine.check_origin(case.get("method"), &headers);
        let want = case.get("expect");
        match got {
            Ok(()) => assert_eq!(want, "ok", "{name}"),
            Err(r) => {
                assert_eq!(r.name(), want, "{name}");
                assert!(matches!(r.status(), 400 | 403 | 421), "{name}");
            }
        }
        // Without a Host list, the check refuses what the classification says.
        if ["hosts", "refuse", "origins", "addresses"].iter().all(|f| case.opt(f).is_none()) {
            let unsafe_method = !["GET", "HEAD", "OPTIONS"].contains(&case.get("method"));
            match authgate::origin::classify(&headers) {
                Ok(authgate::Provenance::CrossOrigin) if unsafe_method => assert_eq!(want, "CrossOrigin", "{name}"),
                Err(e) if unsafe_method => assert_eq!(want, e.name(), "{name}"),
                _ => assert!(want == "ok" || !unsafe_method, "{name}"),
            }
        }
    }
}
