//! Properties: no input panics the parser or the engine; rendered challenges parse back;
//! the replay table never accepts a (nonce, nc) pair twice and never grows past capacity.

use std::collections::HashSet;

use authgate::*;
use authgate_tests::*;
use proptest::prelude::*;

fn header_like() -> impl Strategy<Value = Vec<u8>> {
    // Arbitrary bytes, and text built from the grammar's own pieces to reach deeper states.
    let piece = prop_oneof![
        Just(b"Digest ".to_vec()),
        Just(b"Basic ".to_vec()),
        Just(b"Bearer ".to_vec()),
        Just(b"username=".to_vec()),
        Just(b"nc=".to_vec()),
        Just(b"qop=auth".to_vec()),
        Just(b"algorithm=SHA-256".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"\\".to_vec()),
        Just(b", ".to_vec()),
        Just(b"=".to_vec()),
        Just(b"username*=UTF-8''%C3".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..12),
        "[a-zA-Z0-9+/=]{0,16}".prop_map(String::into_bytes),
    ];
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..600),
        proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat()),
    ]
}

/// Digest-like param lists: known directives in any case, unknown names (some with equal
/// fingerprints: `ab`/`ba`, `aXb`/`bXa`), repeats, quoted and escaped values, stray commas.
fn param_list() -> impl Strategy<Value = Vec<u8>> {
    let name = prop_oneof![
        proptest::sample::select(vec![
            "username",
            "USERNAME",
            "username*",
            "Realm",
            "nonce",
            "uri",
            "response",
            "algorithm",
            "qop",
            "nc",
            "NC",
            "cnonce",
            "opaque",
            "userhash",
            "ab",
            "ba",
            "AB",
            "axb",
            "bxa",
            "x",
            "nonce*",
        ])
        .prop_map(String::from),
        "[a-zA-Z!#*~]{1,10}",
    ];
    let value = prop_oneof![
        proptest::sample::select(vec![
            r#""Mufasa""#,
            "auth",
            "00000001",
            "MD5",
            "true",
            r#""a\"b""#,
            r#""6629fae49393a05397450978507c4ef1""#,
            r#""66\29""#,
            r#""/dir/index.html""#,
            r#""""#,
        ])
        .prop_map(String::from),
        "[a-z0-9]{1,8}",
    ];
    let sep = prop_oneof![Just(", "), Just(","), Just(" , "), Just(",,"), Just(", ,\t")];
    proptest::collection::vec((name, value, sep), 1..30).prop_map(|params| {
        let mut out = b"Digest ".to_vec();
        for (n, v, s) in params {
            out.extend_from_slice(format!("{n}={v}{s}").as_bytes());
        }
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn parser_and_engine_never_panic(header in header_like()) {
        if let Ok(a) = parse(&header) {
            let _ = DigestCredentials::from_authorization(&a);
            let mut buf = [0; authgate::limits::MAX_BASIC_DECODED];
            let _ = BasicCredentials::from_authorization(&a, &mut buf);
            if let Some(p) = a.params() {
                prop_assert!(p.len() <= authgate::limits::MAX_PARAMS);
                prop_assert_eq!(p.iter().count(), p.len());
            }
        }
        let engine = vector_engine();
        let v = check(&engine, "GET", "/dir/index.html", Some(&header), 1_700_000_000);
        prop_assert_ne!(v.status(), 200);
    }

    #[test]
    fn engine_scan_agrees_with_parse(header in header_like()) {
        let engine = vector_engine();
        prop_assert_eq!(engine_agrees_with_parse(&engine, &header), Ok(()));
        // The same list under the Digest scheme, whatever scheme the bytes started with.
        let mut digest = b"Digest ".to_vec();
        digest.extend_from_slice(&header);
        prop_assert_eq!(engine_agrees_with_parse(&engine, &digest), Ok(()));
    }

    #[test]
    fn engine_scan_agrees_with_parse_on_param_lists(header in param_list()) {
        prop_assert_eq!(engine_agrees_with_parse(&vector_engine(), &header), Ok(()));
    }

    #[test]
    fn rendered_challenges_parse_back(realm in "[ -~\u{a0}-\u{10ffff}]{1,30}", opaque in "[A-Za-z0-9_.~+/-]{1,60}", stale in any::<bool>()) {
        let config = Config::new(&realm).unwrap().opaque(&opaque).unwrap()
            .schemes(&[Scheme::Digest, Scheme::Basic, Scheme::Bearer]).unwrap().userhash(true);
        let engine = Engine::new(config, &KEY, StaticUsers::new(USERS), std::sync::Mutex::new(ReplayTable::<4>::new())).unwrap();
        let ch = engine.challenge(if stale { Reason::StaleNonce } else { Reason::NoCredentials }, stale, ctx(1));
        for i in 0..engine.challenge_count() {
            let mut buf = [0u8; 600];
            let n = engine.write_challenge(&ch, i, &mut buf).unwrap();
            let a = parse(&buf[..n]).unwrap();
            let p = a.params().unwrap();
            prop_assert!(p.get("realm").unwrap().eq_bytes(realm.as_bytes()));
            if a.is_scheme("Digest") {
                prop_assert!(p.get("opaque").unwrap().eq_bytes(opaque.as_bytes()));
                prop_assert!(p.get("nonce").unwrap().eq_bytes(ch.nonce.unwrap().as_str().as_bytes()));
                prop_assert_eq!(p.get("stale").is_some(), stale);
            }
        }
    }

    #[test]
    fn replay_table_never_accepts_a_pair_twice(ops in proptest::collection::vec((0u8..12, 1u32..200), 1..400)) {
        let mut table = ReplayTable::<5>::new();
        let mut accepted = HashSet::new();
        for (nonce, nc) in ops {
            // Issue time grows with the nonce number, as real nonces do.
            let outcome = table.check_and_record(&[nonce; 16], nonce as u64, nc);
            if outcome == ReplayOutcome::Fresh {
                prop_assert!(accepted.insert((nonce, nc)), "pair ({nonce}, {nc}) accepted twice");
            }
            prop_assert!(table.len() <= table.capacity());
        }
    }
}
