extern crate std;

use super::*;
use std::borrow::ToOwned;
use std::format;
use std::vec::Vec;
use OriginRefusal::{CrossOrigin as Refused, *};
use Provenance::{CrossOrigin as Other, *};

/// Headers from `(field, value)` pairs: `host`, `origin`, `site`, `referer`, `secure`.
fn headers<'a>(fields: &[(&str, &'a str)]) -> OriginHeaders<'a> {
    let mut h = OriginHeaders::default();
    for (name, value) in fields {
        let v = Some(value.as_bytes());
        match *name {
            "host" => h.host = v,
            "origin" => h.origin = v,
            "site" => h.sec_fetch_site = v,
            "referer" => h.referer = v,
            "secure" => h.secure = true,
            _ => unreachable!("{name}"),
        }
    }
    h
}

/// A few of the rules; every combination is in the shared vectors (`kind=origin`), which
/// `tests/tests/vectors.rs`, the C tests and the Python tests run.
#[test]
fn rules() {
    let own = headers(&[("origin", "http://device.local"), ("host", "device.local")]);
    let evil = headers(&[("origin", "http://evil.example"), ("host", "device.local")]);
    let policy = OriginPolicy::new();
    assert_eq!(classify(&headers(&[])), Ok(Unknown));
    assert_eq!(classify(&headers(&[("site", "none")])), Ok(UserInitiated));
    assert_eq!(classify(&own), Ok(SameOrigin));
    assert_eq!(classify(&evil), Ok(Other));
    assert_eq!(policy.check("POST", &own), Ok(()));
    assert_eq!(policy.check("POST", &evil), Err(Refused));
    assert_eq!(policy.check("GET", &evil), Ok(()));
    assert_eq!(policy.clone().refuse_cross_origin(false).check("POST", &evil), Ok(()));
    assert!(policy.refuses_cross_origin());
}

#[test]
fn configured_lists() {
    let policy = OriginPolicy::new()
        .allow_origin("https://hub.example:8443")
        .unwrap()
        .allow_origin("http://other.example")
        .unwrap();
    assert_eq!(policy.allowed_origins().collect::<Vec<_>>(), ["https://hub.example:8443", "http://other.example"]);
    for bad in [
        "null",
        "",
        "hub.example",
        "https://hub.example/",
        "https://hub.example:8443/x",
        "https://a b",
        "https://a,https://b",
        " https://a",
    ] {
        assert_eq!(OriginPolicy::new().allow_origin(bad), Err(ConfigError::InvalidOrigin), "{bad:?}");
    }
    // A refused entry leaves the list as it was.
    assert_eq!(policy.clone().allow_origin("bad"), Err(ConfigError::InvalidOrigin));
    assert_eq!(policy.allowed_origins().count(), 2);

    let policy = OriginPolicy::new()
        .allow_host("Device.local")
        .unwrap()
        .allow_host("fe80::1")
        .unwrap()
        .allow_host("[::1]")
        .unwrap();
    assert_eq!(policy.allowed_hosts().collect::<Vec<_>>(), ["Device.local", "fe80::1", "::1"]);
    for bad in [
        "",
        "a b",
        "device.local:80",
        "http://device.local",
        "[zz]",
        "[]",
        "[abc]",
        "[a.b]",
        "a,b",
        "fe80::1%eth0",
        "[::1]:80",
        "é",
    ] {
        assert_eq!(OriginPolicy::new().allow_host(bad), Err(ConfigError::InvalidHost), "{bad:?}");
    }
}

#[test]
fn lists_are_bounded() {
    let name = "a".repeat(63);
    let mut policy = OriginPolicy::new();
    let mut added = 0;
    loop {
        match policy.clone().allow_host(&name) {
            Ok(p) => policy = p,
            Err(e) => {
                assert_eq!(e, ConfigError::TooMany);
                break;
            }
        }
        added += 1;
    }
    assert_eq!(added, (MAX_ALLOWED_HOSTS_LEN + 1) / 64);
    assert_eq!(policy.allowed_hosts().count(), added);
    let origin = "http://".to_owned() + &name;
    let mut policy = OriginPolicy::new();
    while let Ok(p) = policy.clone().allow_origin(&origin) {
        policy = p;
    }
    assert_eq!(policy.allow_origin(&origin), Err(ConfigError::TooMany));
}

/// Values at and past each bound: a long Referer is fine (only its origin is read), a long
/// origin in it is not.
#[test]
fn lengths_are_bounded() {
    let host = "h".repeat(MAX_HOST_LEN);
    assert!(host_port(host.as_bytes()).is_some());
    assert!(host_port(format!("{host}h").as_bytes()).is_none());
    // The longest host and port, and a scheme that fills the rest.
    let authority = format!("{}:65535", "o".repeat(MAX_HOST_LEN - 6));
    let origin = format!("{}://{authority}", "s".repeat(MAX_ORIGIN_LEN - 3 - MAX_HOST_LEN));
    assert!(parse_origin(origin.as_bytes()).is_some());
    assert!(parse_origin(format!("s{origin}").as_bytes()).is_none());
    let own = headers(&[("host", "device.local")]);
    let referer = format!("http://device.local/{}", "p".repeat(100_000));
    let h = OriginHeaders { referer: Some(referer.as_bytes()), ..own };
    assert_eq!(classify(&h), Ok(SameOrigin));
    let referer = format!("s{origin}/path");
    let h = OriginHeaders { referer: Some(referer.as_bytes()), ..own };
    assert_eq!(classify(&h), Err(MalformedReferer));
    let long = format!("s{origin}");
    let h = OriginHeaders { origin: Some(long.as_bytes()), ..own };
    assert_eq!(classify(&h), Err(MalformedOrigin));
}

#[test]
fn statuses() {
    assert_eq!(Refused.status(), 403);
    assert_eq!(ForeignHost.status(), 421);
    for r in [MalformedHost, MalformedOrigin, MalformedFetchSite, MalformedReferer] {
        assert_eq!(r.status(), 400, "{r:?}");
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;
    use std::vec;

    fn field() -> impl Strategy<Value = Option<Vec<u8>>> {
        let pieces = prop::sample::select(vec![
            &b"http://"[..],
            b"https://",
            b"device.local",
            b"evil.example",
            b":",
            b"8080",
            b"/",
            b"[",
            b"]",
            b"::1",
            b"null",
            b"same-origin",
            b"cross-site",
            b"same-site",
            b"none",
            b",",
            b" ",
            b"\t",
            b"?",
            b"#",
            b"@",
            b".",
            b"\xff",
            b"\0",
        ]);
        prop_oneof![
            Just(None),
            prop::collection::vec(pieces, 0..6).prop_map(|p| Some(p.concat())),
            prop::collection::vec(any::<u8>(), 0..40).prop_map(Some),
        ]
    }

    proptest! {
        /// Any bytes: an answer, never a panic; safe methods pass without a Host list; the
        /// check refuses exactly what the classification calls another origin (no allowed
        /// origins) or cannot classify.
        #[test]
        fn never_panics_and_agrees_with_classify(
            host in field(), origin in field(), site in field(), referer in field(), secure in any::<bool>()
        ) {
            let h = OriginHeaders {
                secure,
                host: host.as_deref(),
                origin: origin.as_deref(),
                sec_fetch_site: site.as_deref(),
                referer: referer.as_deref(),
            };
            let policy = OriginPolicy::new();
            prop_assert_eq!(policy.check("GET", &h), Ok(()));
            let expected = match classify(&h) {
                Ok(Other) => Err(OriginRefusal::CrossOrigin),
                Ok(_) => Ok(()),
                Err(e) => Err(e),
            };
            prop_assert_eq!(policy.check("POST", &h), expected);
            let listed = policy.allow_host("device.local").unwrap();
            let r = listed.check("GET", &h);
            prop_assert!(matches!(r, Ok(()) | Err(ForeignHost) | Err(MalformedHost)), "{:?}", r);
        }
    }
}
