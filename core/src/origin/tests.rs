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

/// Every combination the rules distinguish: provenance, and what the default policy does
/// with a POST (a GET is always served without a Host list).
#[test]
fn header_combinations() {
    type Case<'a> = (&'a [(&'a str, &'a str)], Result<Provenance, OriginRefusal>, Result<(), OriginRefusal>);
    let cases: &[Case<'_>] = &[
        // No header: curl, scripts.
        (&[], Ok(Unknown), Ok(())),
        (&[("host", "device.local")], Ok(Unknown), Ok(())),
        // Fetch Metadata first.
        (&[("site", "same-origin")], Ok(SameOrigin), Ok(())),
        (&[("site", "none")], Ok(UserInitiated), Ok(())),
        // Values come without surrounding whitespace (RFC 9110 §5.5): any is malformed.
        (&[("site", " same-origin")], Err(MalformedFetchSite), Err(MalformedFetchSite)),
        (&[("origin", "http://a "), ("host", "a")], Err(MalformedOrigin), Err(MalformedOrigin)),
        (&[("site", "cross-site")], Ok(Other), Err(Refused)),
        (&[("site", "cross-site"), ("origin", "http://evil.example")], Ok(Other), Err(Refused)),
        // Another port of the same host is the same site, but not the same origin.
        (
            &[("site", "same-site"), ("origin", "http://127.0.0.1:9001"), ("host", "127.0.0.1:9000")],
            Ok(Other),
            Err(Refused),
        ),
        // Sec-Fetch-Site decides over Origin and Referer (pages cannot set either).
        (&[("site", "same-origin"), ("origin", "null")], Ok(SameOrigin), Ok(())),
        (&[("site", "same-origin"), ("origin", "http://evil.example")], Ok(SameOrigin), Ok(())),
        (
            &[("site", "cross-site"), ("origin", "http://device.local"), ("host", "device.local")],
            Ok(Other),
            Err(Refused),
        ),
        // Malformed or repeated Sec-Fetch-Site.
        (&[("site", "Same-Origin")], Err(MalformedFetchSite), Err(MalformedFetchSite)),
        (&[("site", "same-origin, same-origin")], Err(MalformedFetchSite), Err(MalformedFetchSite)),
        (&[("site", "same-origin,cross-site")], Err(MalformedFetchSite), Err(MalformedFetchSite)),
        (&[("site", "")], Err(MalformedFetchSite), Err(MalformedFetchSite)),
        (&[("site", "same-origin\0")], Err(MalformedFetchSite), Err(MalformedFetchSite)),
        // Origin against the request's own scheme, host and port.
        (&[("origin", "http://device.local"), ("host", "device.local")], Ok(SameOrigin), Ok(())),
        (&[("origin", "http://Device.LOCAL"), ("host", "device.local")], Ok(SameOrigin), Ok(())),
        (&[("origin", "HTTP://device.local"), ("host", "device.local:80")], Ok(SameOrigin), Ok(())),
        (&[("origin", "http://device.local:80"), ("host", "device.local")], Ok(SameOrigin), Ok(())),
        (&[("origin", "http://device.local:8080"), ("host", "device.local:8080")], Ok(SameOrigin), Ok(())),
        (&[("origin", "http://device.local"), ("host", "device.local:8080")], Ok(Other), Err(Refused)),
        (&[("origin", "http://device.local:8081"), ("host", "device.local:8080")], Ok(Other), Err(Refused)),
        (&[("origin", "https://device.local"), ("host", "device.local")], Ok(Other), Err(Refused)),
        (&[("origin", "https://device.local"), ("host", "device.local"), ("secure", "")], Ok(SameOrigin), Ok(())),
        (&[("origin", "https://device.local"), ("host", "device.local:443"), ("secure", "")], Ok(SameOrigin), Ok(())),
        (&[("origin", "http://device.local"), ("host", "device.local"), ("secure", "")], Ok(Other), Err(Refused)),
        (&[("origin", "http://device.local."), ("host", "device.local.")], Ok(SameOrigin), Ok(())),
        (&[("origin", "http://[::1]:8080"), ("host", "[::1]:8080")], Ok(SameOrigin), Ok(())),
        (&[("origin", "http://[::1]:8080"), ("host", "[::2]:8080")], Ok(Other), Err(Refused)),
        (&[("origin", "chrome-extension://abc"), ("host", "abc")], Ok(Other), Err(Refused)),
        (&[("origin", "http://evil.example"), ("host", "device.local")], Ok(Other), Err(Refused)),
        (&[("origin", "http://device.local.evil.example"), ("host", "device.local")], Ok(Other), Err(Refused)),
        // An opaque origin (sandboxed frame, data: URL, some redirects) is another origin,
        // whatever the Referer says.
        (&[("origin", "null"), ("host", "device.local")], Ok(Other), Err(Refused)),
        (&[("origin", "null"), ("referer", "http://device.local/"), ("host", "device.local")], Ok(Other), Err(Refused)),
        // Origin without Host (HTTP/1.0) cannot be ours.
        (&[("origin", "http://device.local")], Ok(Other), Err(Refused)),
        // Malformed or repeated Origin.
        (&[("origin", "http://device.local/"), ("host", "device.local")], Err(MalformedOrigin), Err(MalformedOrigin)),
        (&[("origin", "http://a, http://a"), ("host", "a")], Err(MalformedOrigin), Err(MalformedOrigin)),
        (&[("origin", "http://a,http://a"), ("host", "a")], Err(MalformedOrigin), Err(MalformedOrigin)),
        (&[("origin", "null, null"), ("host", "a")], Err(MalformedOrigin), Err(MalformedOrigin)),
        (&[("origin", ""), ("host", "a")], Err(MalformedOrigin), Err(MalformedOrigin)),
        (&[("origin", "device.local"), ("host", "device.local")], Err(MalformedOrigin), Err(MalformedOrigin)),
        (&[("origin", "http//device.local"), ("host", "a")], Err(MalformedOrigin), Err(MalformedOrigin)),
        (&[("origin", "://device.local"), ("host", "a")], Err(MalformedOrigin), Err(MalformedOrigin)),
        (&[("origin", "1http://device.local"), ("host", "a")], Err(MalformedOrigin), Err(MalformedOrigin)),
        (&[("origin", "http://"), ("host", "a")], Err(MalformedOrigin), Err(MalformedOrigin)),
        (&[("origin", "http://user@a"), ("host", "a")], Err(MalformedOrigin), Err(MalformedOrigin)),
        (&[("origin", "http://a:65536"), ("host", "a")], Err(MalformedOrigin), Err(MalformedOrigin)),
        (&[("origin", "http://a:123456"), ("host", "a")], Err(MalformedOrigin), Err(MalformedOrigin)),
        (&[("origin", "http://a:8x"), ("host", "a")], Err(MalformedOrigin), Err(MalformedOrigin)),
        (&[("origin", "http://[::1"), ("host", "a")], Err(MalformedOrigin), Err(MalformedOrigin)),
        (&[("origin", "http://[]"), ("host", "a")], Err(MalformedOrigin), Err(MalformedOrigin)),
        (&[("origin", "http://[::1]x"), ("host", "a")], Err(MalformedOrigin), Err(MalformedOrigin)),
        (&[("origin", "http://[abc]"), ("host", "abc")], Err(MalformedOrigin), Err(MalformedOrigin)),
        (&[("origin", "http://abc"), ("host", "[abc]")], Err(MalformedHost), Err(MalformedHost)),
        (&[("origin", "http://a%2eb"), ("host", "a.b")], Err(MalformedOrigin), Err(MalformedOrigin)),
        (&[("origin", "http://\u{e9}.example"), ("host", "a")], Err(MalformedOrigin), Err(MalformedOrigin)),
        // A malformed Host, when Origin must be compared with it.
        (&[("origin", "http://a"), ("host", "a b")], Err(MalformedHost), Err(MalformedHost)),
        (&[("origin", "http://a"), ("host", "a, a")], Err(MalformedHost), Err(MalformedHost)),
        (&[("origin", "http://a"), ("host", "")], Err(MalformedHost), Err(MalformedHost)),
        (&[("origin", "http://a"), ("host", ":80")], Err(MalformedHost), Err(MalformedHost)),
        // ... but not when Sec-Fetch-Site decides.
        (&[("site", "same-origin"), ("host", "a b")], Ok(SameOrigin), Ok(())),
        // Referer last.
        (&[("referer", "http://device.local/page?q=1"), ("host", "device.local")], Ok(SameOrigin), Ok(())),
        (&[("referer", "http://device.local"), ("host", "device.local")], Ok(SameOrigin), Ok(())),
        (&[("referer", "http://device.local?q"), ("host", "device.local")], Ok(SameOrigin), Ok(())),
        (&[("referer", "http://device.local#f"), ("host", "device.local")], Ok(SameOrigin), Ok(())),
        (&[("referer", "http://evil.example/x"), ("host", "device.local")], Ok(Other), Err(Refused)),
        (&[("referer", "http://device.local:81/"), ("host", "device.local")], Ok(Other), Err(Refused)),
        (
            &[("referer", "http://evil.example/x"), ("origin", "http://device.local"), ("host", "device.local")],
            Ok(SameOrigin),
            Ok(()),
        ),
        (&[("referer", "/relative"), ("host", "device.local")], Err(MalformedReferer), Err(MalformedReferer)),
        (&[("referer", "garbage"), ("host", "device.local")], Err(MalformedReferer), Err(MalformedReferer)),
        (&[("referer", "http://a b/"), ("host", "device.local")], Err(MalformedReferer), Err(MalformedReferer)),
        (&[("referer", "foo:bar://x/"), ("host", "x")], Err(MalformedReferer), Err(MalformedReferer)),
        (&[("referer", ""), ("host", "device.local")], Err(MalformedReferer), Err(MalformedReferer)),
        // Sec-Fetch-Site says another origin: the claimed origin is read for the allow list.
        (&[("site", "cross-site"), ("referer", "garbage")], Err(MalformedReferer), Err(MalformedReferer)),
    ];
    let policy = OriginPolicy::new();
    for (i, (fields, provenance, post)) in cases.iter().enumerate() {
        let h = headers(fields);
        assert_eq!(classify(&h), *provenance, "case {i}: {fields:?}");
        assert_eq!(policy.check("POST", &h), *post, "case {i}: {fields:?}");
        for safe in ["GET", "HEAD", "OPTIONS"] {
            assert_eq!(policy.check(safe, &h), Ok(()), "case {i}: {safe} {fields:?}");
        }
    }
}

#[test]
fn unsafe_methods_are_all_but_get_head_options() {
    let evil = headers(&[("origin", "http://evil.example"), ("host", "device.local")]);
    let policy = OriginPolicy::new();
    for m in ["POST", "PUT", "DELETE", "PATCH", "TRACE", "CONNECT", "PROPFIND", "get", "Get", "head", ""] {
        assert_eq!(policy.check(m, &evil), Err(Refused), "{m}");
    }
    for m in ["GET", "HEAD", "OPTIONS"] {
        assert_eq!(policy.check(m, &evil), Ok(()), "{m}");
    }
    let off = OriginPolicy::new().refuse_cross_origin(false);
    assert!(!off.refuses_cross_origin());
    assert_eq!(off.check("POST", &evil), Ok(()));
    assert_eq!(off.check("POST", &headers(&[("site", "bogus")])), Ok(()));
}

#[test]
fn allowed_origins() {
    let policy = OriginPolicy::new()
        .allow_origin("https://hub.example:8443")
        .unwrap()
        .allow_origin("http://other.example")
        .unwrap();
    assert_eq!(
        policy.allowed_origins().collect::<heapless::Vec<_, 4>>(),
        ["https://hub.example:8443", "http://other.example"]
    );
    let from = |o: &'static str| headers(&[("origin", o), ("host", "device.local")]);
    assert_eq!(policy.check("POST", &from("https://hub.example:8443")), Ok(()));
    assert_eq!(policy.check("POST", &from("https://HUB.example:8443")), Ok(()));
    assert_eq!(policy.check("POST", &from("http://other.example:80")), Ok(()));
    assert_eq!(policy.check("POST", &from("https://hub.example")), Err(Refused));
    assert_eq!(policy.check("POST", &from("http://hub.example:8443")), Err(Refused));
    assert_eq!(policy.check("POST", &from("null")), Err(Refused));
    // With Fetch Metadata, and from a Referer.
    let h = headers(&[("site", "cross-site"), ("origin", "https://hub.example:8443")]);
    assert_eq!(policy.check("POST", &h), Ok(()));
    assert_eq!(policy.check("POST", &headers(&[("site", "cross-site")])), Err(Refused));
    let h = headers(&[("referer", "http://other.example/form"), ("host", "device.local")]);
    assert_eq!(policy.check("POST", &h), Ok(()));

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
    let p = policy.clone().allow_origin("bad").err();
    assert_eq!(p, Some(ConfigError::InvalidOrigin));
    assert_eq!(policy.allowed_origins().count(), 2);
}

#[test]
fn host_allow_list() {
    let policy = OriginPolicy::new()
        .allow_host("Device.local")
        .unwrap()
        .allow_host("192.168.1.20")
        .unwrap()
        .allow_host("fe80::1")
        .unwrap()
        .allow_host("[::1]")
        .unwrap();
    assert_eq!(
        policy.allowed_hosts().collect::<heapless::Vec<_, 4>>(),
        ["Device.local", "192.168.1.20", "fe80::1", "::1"]
    );
    for ok in [
        "device.local",
        "DEVICE.LOCAL",
        "device.local.",
        "device.local:8080",
        "192.168.1.20",
        "192.168.1.20:80",
        "[fe80::1]:80",
        "[::1]",
    ] {
        let h = headers(&[("host", ok)]);
        assert_eq!(policy.check("GET", &h), Ok(()), "{ok}");
        assert_eq!(policy.check("POST", &h), Ok(()), "{ok}");
    }
    for foreign in ["evil.example", "device.local.evil.example", "device", "192.168.1.2", "[fe80::2]", "localhost"] {
        for m in ["GET", "POST", "OPTIONS"] {
            assert_eq!(policy.check(m, &headers(&[("host", foreign)])), Err(ForeignHost), "{m} {foreign}");
        }
    }
    for malformed in [
        "",
        " device.local",
        "device.local, device.local",
        "device.local,evil",
        "a b",
        "device.local:x",
        "[fe80::1",
        "user@device.local",
    ] {
        assert_eq!(policy.check("GET", &headers(&[("host", malformed)])), Err(MalformedHost), "{malformed:?}");
    }
    assert_eq!(policy.check("GET", &headers(&[])), Err(MalformedHost));
    // The Host list is checked first, and also with cross-origin checks off.
    let h = headers(&[("host", "evil.example"), ("origin", "http://evil.example")]);
    assert_eq!(policy.check("POST", &h), Err(ForeignHost));
    assert_eq!(policy.clone().refuse_cross_origin(false).check("GET", &h), Err(ForeignHost));
    let h = headers(&[("host", "device.local"), ("origin", "http://evil.example")]);
    assert_eq!(policy.check("POST", &h), Err(Refused));

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
