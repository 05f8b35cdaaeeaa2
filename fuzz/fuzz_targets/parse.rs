//! `authgate::parse` on arbitrary bytes, then every accessor of the result, the Digest and
//! Basic readers on top of it, and a round trip through a canonical re-serialisation.
#![no_main]

use authgate::digest::Username;
use authgate::limits::*;
use authgate::{
    body_hash_algorithm, parse, Authorization, BasicCredentials, Credentials, DigestCredentials, ParseError,
};
use authgate_fuzz::{b64_decode, has_ctl, quote};
use libfuzzer_sys::fuzz_target;

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token68(s: &[u8]) -> bool {
    let body = s.iter().position(|&b| !(b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))).unwrap_or(s.len());
    body > 0 && s[body..].iter().all(|&b| b == b'=')
}

/// `inner` lies inside `outer` (zero-copy parsing borrows from the input).
fn within(inner: &[u8], outer: &[u8]) -> bool {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    inner.is_empty() || (i >= o && i + inner.len() <= o + outer.len())
}

/// What a parse yields, owned, for comparing two parses.
#[derive(Debug, PartialEq, Eq)]
enum Shape {
    Empty(String),
    Token68(String, String),
    Params(String, Vec<(String, Vec<u8>, bool)>),
}

fn shape(a: &Authorization<'_>) -> Shape {
    match a.credentials() {
        Credentials::Empty => Shape::Empty(a.scheme().to_string()),
        Credentials::Token68(t) => Shape::Token68(a.scheme().to_string(), t.to_string()),
        Credentials::Params(p) => Shape::Params(
            a.scheme().to_string(),
            p.iter()
                .map(|p| (p.name.to_string(), p.value.segments().flatten().copied().collect(), p.value.is_quoted()))
                .collect(),
        ),
    }
}

/// The canonical text of a parse: `scheme SP token68` or `scheme SP name=value, ...`.
fn canonical(a: &Authorization<'_>) -> Vec<u8> {
    let mut out = a.scheme().as_bytes().to_vec();
    match a.credentials() {
        Credentials::Empty => {}
        Credentials::Token68(t) => {
            out.push(b' ');
            out.extend_from_slice(t.as_bytes());
        }
        Credentials::Params(p) => {
            out.push(b' ');
            for (i, p) in p.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                out.extend_from_slice(p.name.as_bytes());
                out.push(b'=');
                let v: Vec<u8> = p.value.segments().flatten().copied().collect();
                if p.value.is_quoted() {
                    out.extend_from_slice(&quote(&v, false));
                } else {
                    out.extend_from_slice(&v);
                }
            }
        }
    }
    out
}

fn walk(data: &[u8], a: &Authorization<'_>) {
    let scheme = a.scheme();
    assert!(!scheme.is_empty() && scheme.len() <= MAX_SCHEME_LEN, "scheme {scheme:?}");
    assert!(scheme.bytes().all(is_tchar), "scheme {scheme:?}");
    assert!(within(scheme.as_bytes(), data));
    assert!(a.is_scheme(scheme));
    assert!(a.is_scheme(&scheme.to_ascii_uppercase()) && a.is_scheme(&scheme.to_ascii_lowercase()));
    assert!(!a.is_scheme(&format!("{scheme}x")));
    match a.credentials() {
        Credentials::Empty => assert!(a.token68().is_none() && a.params().is_none()),
        Credentials::Token68(t) => {
            assert_eq!(a.token68(), Some(t));
            assert!(a.params().is_none());
            assert!(is_token68(t.as_bytes()), "token68 {t:?}");
            assert!(within(t.as_bytes(), data));
        }
        Credentials::Params(p) => {
            assert!(a.token68().is_none());
            assert!(!p.is_empty() && p.len() <= MAX_PARAMS, "{} params", p.len());
            assert_eq!(p.iter().count(), p.len());
            assert_eq!((&p).into_iter().count(), p.len());
            let names: Vec<&str> = p.iter().map(|p| p.name).collect();
            for (i, param) in p.iter().enumerate() {
                let name = param.name;
                assert!(!name.is_empty() && name.bytes().all(is_tchar), "name {name:?}");
                assert!(within(name.as_bytes(), data));
                assert!(!names[..i].iter().any(|n| n.eq_ignore_ascii_case(name)), "duplicate {name:?} accepted");
                let v = param.value;
                let raw = v.raw();
                assert!(within(raw, data));
                let unescaped: Vec<u8> = v.segments().flatten().copied().collect();
                assert_eq!(v.len(), unescaped.len());
                assert_eq!(v.is_empty(), unescaped.is_empty());
                assert!(v.eq_bytes(&unescaped) && v.eq_ignore_ascii_case(&unescaped.to_ascii_uppercase()));
                let mut longer = unescaped.clone();
                longer.push(b'x');
                assert!(!v.eq_bytes(&longer) && !v.eq_ignore_ascii_case(&longer));
                if let Some(u) = v.as_unescaped() {
                    assert_eq!(u, &unescaped[..]);
                }
                let mut buf = vec![0u8; unescaped.len()];
                assert_eq!(v.unescape_into(&mut buf), Some(&unescaped[..]));
                if !unescaped.is_empty() {
                    let mut small = vec![0u8; unescaped.len() - 1];
                    assert_eq!(v.unescape_into(&mut small), None);
                }
                // No CTL survives parsing, quoted or not (HTAB only inside quotes).
                assert!(!unescaped.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f), "CTL in {name}");
                if v.is_quoted() {
                    assert!(raw.len() >= unescaped.len());
                } else {
                    assert!(
                        !raw.is_empty() && raw.iter().all(|&b| is_tchar(b)),
                        "token value {:?}",
                        raw.escape_ascii().to_string()
                    );
                    assert_eq!(v.as_unescaped(), Some(raw));
                }
                let got = p.get(name).expect("get by own name");
                assert_eq!(got, v);
                assert_eq!(p.get(&name.to_ascii_uppercase()), Some(v));
            }
        }
    }

    // The canonical form parses to the same thing.
    let canon = canonical(a);
    if canon.len() <= MAX_HEADER_LEN {
        let again = parse(&canon)
            .unwrap_or_else(|e| panic!("canonical {:?} does not parse: {e}", canon.escape_ascii().to_string()));
        assert_eq!(shape(a), shape(&again), "canonical {:?}", canon.escape_ascii().to_string());
    }

    // The readers built on the parse.
    if let Ok(c) = DigestCredentials::from_authorization(a) {
        assert!(a.is_scheme("Digest"));
        assert!(c.realm.len() <= MAX_REALM_LEN && c.nonce.len() <= MAX_NONCE_LEN);
        assert!(c.uri.len() <= MAX_URI_LEN && c.response.len() <= MAX_RESPONSE_LEN);
        assert!(c.response.segments().flatten().all(u8::is_ascii_hexdigit));
        assert_eq!(c.qop.is_some(), c.nc.is_some());
        assert_eq!(c.qop.is_some(), c.cnonce.is_some());
        assert_ne!(c.nc, Some(0));
        assert!(c.cnonce.is_none_or(|v| v.len() <= MAX_CNONCE_LEN));
        assert!(c.opaque.is_none_or(|v| v.len() <= MAX_OPAQUE_LEN));
        match c.username {
            Username::Plain(u) => assert!(u.len() <= MAX_USERNAME_LEN),
            Username::Extended(e) => {
                assert!(!c.userhash);
                let mut buf = [0u8; MAX_USERNAME_LEN];
                let s = e.decode_into(&mut buf).expect("a parsed username* decodes");
                assert!(!s.chars().any(char::is_control));
            }
        }
        let _ = body_hash_algorithm(data);
    } else if a.is_scheme("Digest") {
        assert!(body_hash_algorithm(data).is_none());
    }
    let mut buf = [0u8; MAX_BASIC_DECODED];
    match BasicCredentials::from_authorization(a, &mut buf) {
        Ok(c) => {
            let token = a.token68().expect("Basic credentials come from a token68");
            let decoded = b64_decode(token.as_bytes()).expect("accepted base64 is canonical");
            let (u, p) = (c.user_bytes(), c.password_bytes());
            assert_eq!([u, b":", p].concat(), decoded);
            assert!(!u.contains(&b':'));
            assert!(!has_ctl(&decoded));
            let mut ub = [0u8; 2 * MAX_BASIC_DECODED];
            let mut pb = [0u8; 2 * MAX_BASIC_DECODED];
            let (us, ps) = (c.user(&mut ub).expect("user as UTF-8"), c.password(&mut pb).expect("password"));
            match std::str::from_utf8(&decoded) {
                Ok(_) => assert_eq!((us.as_bytes(), ps.as_bytes()), (u, p)),
                Err(_) => {
                    assert_eq!(c.charset(), authgate::Charset::Latin1);
                    assert_eq!(us, authgate_fuzz::latin1_to_utf8(u));
                    assert_eq!(ps, authgate_fuzz::latin1_to_utf8(p));
                }
            }
        }
        Err(e) => {
            if a.is_scheme("Basic") {
                if let Some(t) = a.token68() {
                    // Refused although canonical, short, colon-separated and CTL-free: a bug.
                    if let Some(d) = b64_decode(t.as_bytes()) {
                        let fine = t.len() <= MAX_BASIC_TOKEN_LEN && !has_ctl(&d) && d.contains(&b':');
                        assert!(!fine, "valid Basic token refused: {e}");
                    }
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    match parse(data) {
        Ok(a) => {
            assert!(data.len() <= MAX_HEADER_LEN);
            // Header injection: no CR, LF, NUL or other CTL (HTAB is whitespace) is ever accepted.
            assert!(!data.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f), "CTL accepted");
            walk(data, &a);
            // Surrounding whitespace is ignored.
            if data.len() + 4 <= MAX_HEADER_LEN {
                let padded = [b" \t", data, b"\t "].concat();
                let b = parse(&padded).expect("padding changes nothing");
                assert_eq!(shape(&a), shape(&b));
            }
        }
        Err(e) => {
            assert!(!e.message().is_empty());
            if data.len() > MAX_HEADER_LEN {
                assert_eq!(e, ParseError::TooLong);
            }
            if data.iter().all(|&b| b == b' ' || b == b'\t') && data.len() <= MAX_HEADER_LEN {
                assert_eq!(e, ParseError::Empty);
            }
        }
    }
});
