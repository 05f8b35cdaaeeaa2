//! Rendering with hostile configuration values: a realm and an opaque from the fuzz input
//! go through `Config` (which must refuse exactly the invalid ones), then every challenge,
//! the joined challenge list and a real Authentication-Info are rendered into buffers of
//! fuzz-chosen size. Output must be all or nothing (`BufferTooSmall` with the exact size),
//! free of CTLs (no header injection), and parse back to the configured values.
#![no_main]

use core::cell::RefCell;

use authgate::render::{self, BearerError};
use authgate::{
    parse, Algorithm, Config, ConfigError, Context, Engine, QopSet, Reason, ReplayTable, Request, Scheme, Verdict,
};
use authgate_fuzz::*;
use libfuzzer_sys::fuzz_target;

fn is_token68(s: &[u8]) -> bool {
    let body = s.iter().position(|&b| !(b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))).unwrap_or(s.len());
    body > 0 && s[body..].iter().all(|&b| b == b'=')
}

/// Renders with `f` into a buffer of `size` and into a large one; checks the all-or-nothing
/// contract and returns the full text. Challenges are UTF-8 (the realm is a `str`); an
/// Authentication-Info echoes the cnonce, which may hold obs-text bytes.
fn rendered(size: usize, utf8: bool, f: impl Fn(&mut [u8]) -> Result<usize, authgate::BufferTooSmall>) -> Vec<u8> {
    let mut big = vec![0u8; 4096];
    let n = f(&mut big).expect("4096 bytes suffice");
    big.truncate(n);
    let mut small = vec![0u8; size];
    match f(&mut small) {
        Ok(k) => assert_eq!(&small[..k], &big[..], "short render differs"),
        Err(t) => {
            assert!(t.needed == n && n > size, "BufferTooSmall {{ needed: {} }} for {n} bytes into {size}", t.needed)
        }
    }
    // Challenges hold no CTL at all; an Authentication-Info may echo a cnonce's HTAB.
    let bad = if utf8 { has_ctl(&big) } else { has_ctl_but_htab(&big) };
    assert!(!bad, "CTL in rendered value {:?}", big.escape_ascii().to_string());
    assert!(!utf8 || std::str::from_utf8(&big).is_ok(), "rendered value is not UTF-8");
    big
}

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    let realm = String::from_utf8_lossy(r.bytes()).into_owned();
    let opaque = String::from_utf8_lossy(r.bytes()).into_owned();
    let (order, mask, flags) = (r.u8(), r.u8(), r.u8());
    let cnonce = r.bytes();
    let description = String::from_utf8_lossy(r.bytes()).into_owned();
    let mut sizes = std::iter::from_fn(|| Some(r.u16() as usize % 1100));

    // Config must refuse exactly what FORMAT.md calls invalid.
    let realm_ok = !realm.is_empty() && realm.len() <= 128 && !realm.chars().any(char::is_control);
    let config = match Config::new(&realm) {
        Ok(c) => {
            assert!(realm_ok, "realm {realm:?} accepted");
            c
        }
        Err(e) => {
            assert!(!realm_ok && e == ConfigError::InvalidRealm, "realm {realm:?} refused: {e}");
            return;
        }
    };
    let opaque_ok = !opaque.is_empty() && opaque.len() <= 128 && is_token68(opaque.as_bytes());
    let use_opaque = flags & 1 != 0;
    let config = if use_opaque {
        match config.clone().opaque(&opaque) {
            Ok(c) => {
                assert!(opaque_ok, "opaque {opaque:?} accepted");
                c
            }
            Err(e) => {
                assert!(!opaque_ok && e == ConfigError::InvalidOpaque, "opaque {opaque:?} refused: {e}");
                config
            }
        }
    } else {
        config
    };
    let opaque_used = use_opaque && opaque_ok;
    let schemes: &[Scheme] = match order % 6 {
        0 => &[Scheme::Digest, Scheme::Basic, Scheme::Bearer],
        1 => &[Scheme::Bearer, Scheme::Digest],
        2 => &[Scheme::Basic],
        3 => &[Scheme::Basic, Scheme::Bearer, Scheme::Digest],
        4 => &[Scheme::Digest],
        _ => &[Scheme::Bearer, Scheme::Basic, Scheme::Digest, Scheme::Basic],
    };
    let algorithms: Vec<Algorithm> =
        ALL_ALGORITHMS.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, a)| *a).collect();
    let algorithms = if algorithms.is_empty() { vec![Algorithm::Sha256] } else { algorithms };
    let qop = QopSet { auth: flags & 2 != 0 || flags & 6 == 0, auth_int: flags & 4 != 0 };
    let config = config.schemes(schemes).unwrap().algorithms(&algorithms).unwrap().qop(qop).userhash(flags & 8 != 0);
    let engine = Engine::new(config, &KEY, FuzzStore::default(), RefCell::new(ReplayTable::<4>::new())).unwrap();
    let digest = schemes.contains(&Scheme::Digest);
    let mut offered: Vec<Scheme> = Vec::new();
    for s in schemes {
        if !offered.contains(s) {
            offered.push(*s);
        }
    }
    let expected_count: usize = offered.iter().map(|s| if *s == Scheme::Digest { algorithms.len() } else { 1 }).sum();
    assert_eq!(engine.challenge_count(), expected_count);

    let ctx = Context { now: NOW, salt: [flags; 8] };
    let reason = if flags & 16 != 0 { Reason::InvalidToken } else { Reason::StaleNonce };
    let ch = engine.challenge(reason, flags & 32 != 0, ctx);
    assert_eq!(ch.nonce.is_some(), digest);
    let mut texts: Vec<Vec<u8>> = Vec::new();
    let mut alg_iter = algorithms.iter();
    let mut i = 0;
    for s in &offered {
        let n = if *s == Scheme::Digest { algorithms.len() } else { 1 };
        for _ in 0..n {
            let text = rendered(sizes.next().unwrap(), true, |b| engine.write_challenge(&ch, i, b));
            assert!(text.len() <= 1024, "challenge of {} bytes (the C header promises 1024 suffice)", text.len());
            let a = parse(&text)
                .unwrap_or_else(|e| panic!("challenge does not parse ({e}): {:?}", text.escape_ascii().to_string()));
            assert!(a.is_scheme(s.name()), "challenge {i} is {:?}, expected {s:?}", a.scheme());
            assert_eq!(param(&a, "realm").unwrap(), realm.as_bytes(), "realm round trip");
            match s {
                Scheme::Digest => {
                    let alg = alg_iter.next().unwrap();
                    assert_eq!(param(&a, "algorithm").unwrap(), alg.name().as_bytes());
                    assert_eq!(param(&a, "nonce").unwrap(), ch.nonce.unwrap().as_str().as_bytes());
                    assert_eq!(param(&a, "opaque"), opaque_used.then(|| opaque.as_bytes().to_vec()));
                    assert_eq!(param(&a, "stale").is_some(), ch.stale);
                    assert_eq!(param(&a, "userhash").is_some(), flags & 8 != 0);
                    let q = match (qop.auth, qop.auth_int) {
                        (true, true) => "auth, auth-int",
                        (true, false) => "auth",
                        _ => "auth-int",
                    };
                    assert_eq!(param(&a, "qop").unwrap(), q.as_bytes());
                }
                Scheme::Basic => {
                    assert_eq!(param(&a, "charset").unwrap(), b"UTF-8");
                    let low = rendered(sizes.next().unwrap(), true, |b| render::basic_challenge(&realm, b));
                    assert_eq!(low, text);
                }
                Scheme::Bearer => {
                    let err = param(&a, "error");
                    assert_eq!(err.as_deref(), (reason == Reason::InvalidToken).then_some(&b"invalid_token"[..]));
                }
                // Not offered here (bare scheme words, no realm: the ntlm target renders them).
                Scheme::Ntlm | Scheme::Negotiate => unreachable!("{s:?} not offered"),
            }
            texts.push(text);
            i += 1;
        }
    }
    // Past the end: nothing, not an error.
    assert_eq!(engine.write_challenge(&ch, i + (flags as usize), &mut [0u8; 8]), Ok(0));
    let joined = rendered(sizes.next().unwrap(), true, |b| engine.write_challenges(&ch, b));
    assert_eq!(joined, texts.join(&b", "[..]));

    // Bearer's error_description keeps only its allowed characters.
    let bearer = rendered(sizes.next().unwrap(), true, |b| {
        render::bearer_challenge(&realm, Some(BearerError::InsufficientScope), Some(&description), b)
    });
    let a = parse(&bearer).expect("bearer challenge parses");
    let kept: Vec<u8> = description.bytes().filter(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5b | 0x5d..=0x7e)).collect();
    assert_eq!(param(&a, "error_description").unwrap(), kept);
    assert_eq!(param(&a, "error").unwrap(), b"insufficient_scope");

    // A real Digest success under the hostile realm, then its Authentication-Info.
    if !digest || !qop.auth {
        return;
    }
    let alg = algorithms[0];
    let nonce = ch.nonce.unwrap();
    let client = Client {
        alg,
        user: b"Mufasa",
        realm: realm.as_bytes(),
        password: b"Circle Of Life",
        method: b"GET",
        uri: URI.as_bytes(),
        nonce: nonce.as_str().as_bytes(),
        nc: b"00000001",
        cnonce,
        qop: Some(authgate::Qop::Auth),
        body: b"",
    };
    let mut header = format!("Digest username=\"Mufasa\", realm=").into_bytes();
    header.extend_from_slice(&quote(realm.as_bytes(), false));
    header.extend_from_slice(
        format!(
            ", nonce=\"{}\", uri=\"{URI}\", algorithm={}, response=\"{}\", qop=auth, nc=00000001, cnonce=",
            nonce.as_str(),
            alg.name(),
            client.response()
        )
        .as_bytes(),
    );
    header.extend_from_slice(&quote(cnonce, false));
    if opaque_used {
        header.extend_from_slice(format!(", opaque=\"{opaque}\"").as_bytes());
    }
    let v = engine.check(&Request::new("GET", URI, Some(&header)), ctx);
    check_verdict_shape(&v);
    let cnonce_ok = !cnonce.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f);
    match v {
        Verdict::Authenticated(a) => {
            assert!(cnonce_ok);
            let info = a.auth_info.expect("qop=auth: Authentication-Info");
            let client = Client { method: b"", ..client };
            let rspauth = info.rspauth.expect("qop=auth: rspauth").to_hex();
            assert_eq!(rspauth.as_str(), client.response());
            let text = rendered(sizes.next().unwrap(), false, |b| engine.write_authentication_info(&info, b));
            let as_params = [b"Digest ", &text[..]].concat();
            let p = parse(&as_params).unwrap_or_else(|e| {
                panic!("Authentication-Info does not parse ({e}): {:?}", text.escape_ascii().to_string())
            });
            assert_eq!(param(&p, "cnonce").unwrap(), cnonce);
            assert_eq!(param(&p, "nc").unwrap(), b"00000001");
            assert_eq!(param(&p, "qop").unwrap(), b"auth");
        }
        Verdict::Malformed(e) => assert!(!cnonce_ok, "honest header under realm {realm:?} malformed: {e}"),
        Verdict::Challenge(c) => {
            panic!(
                "honest header under realm {realm:?} challenged: {:?} {:?}",
                c.reason,
                header.escape_ascii().to_string()
            )
        }
    }
});
