//! Basic (and Bearer) through `Engine::check` with a fixed store of plaintext, HA1 and
//! PBKDF2 users, plus `BasicCredentials::decode` on raw tokens. An independent decoder
//! decides who must be authenticated: the engine must agree both ways.
//!
//! Input: one mode byte, then
//! - 0: a raw `Authorization` value;
//! - 1: structured Basic: user, password, charset and header-shape choices;
//! - 2: a raw token for `BasicCredentials::decode`;
//! - 3: a Bearer token (raw, or the known token with a change).
#![no_main]

use core::cell::RefCell;

use authgate::limits::{MAX_BASIC_DECODED, MAX_BASIC_TOKEN_LEN};
use authgate::{BasicCredentials, Context, Engine, ParseError, Reason, ReplayTable, Request, Scheme, Verdict};
use authgate_fuzz::*;
use libfuzzer_sys::fuzz_target;

type FuzzEngine = Engine<FuzzStore, RefCell<ReplayTable<4>>>;

fn engine() -> FuzzEngine {
    Engine::new(wide_config(), &KEY, FuzzStore::default(), RefCell::new(ReplayTable::new())).unwrap()
}

/// Checks `header` and compares with the independent reading; returns the verdict.
fn check(e: &FuzzEngine, header: &[u8]) -> Verdict {
    let v = e.check(&Request::new("GET", URI, Some(header)), Context { now: NOW, salt: [7; 8] });
    check_verdict_shape(&v);
    let oracle = Accepts {
        method: b"GET",
        target: URI.as_bytes(),
        issued: &[],
        algorithms: &ALL_ALGORITHMS,
        body: None,
        realm: REALM,
    };
    let expected = oracle.user(header);
    match (&v, &expected) {
        (Verdict::Authenticated(a), Some((scheme, name))) => {
            assert_eq!((a.scheme, a.user.as_str()), (*scheme, name.as_str()));
            assert!(a.auth_info.is_none());
        }
        (Verdict::Authenticated(a), None) => {
            panic!(
                "authenticated {:?} as {:?} without valid credentials: {:?}",
                a.scheme,
                a.user,
                header.escape_ascii().to_string()
            )
        }
        (other, Some(who)) => {
            panic!("valid credentials {who:?} refused: {other:?} for {:?}", header.escape_ascii().to_string())
        }
        (_, None) => {}
    }
    if let Verdict::Challenge(c) = &v {
        assert!(!c.stale, "stale outside Digest");
        assert!(c.nonce.is_some(), "Digest is offered: the challenge carries a nonce");
    }
    v
}

fn structured(e: &FuzzEngine, r: &mut Reader<'_>) {
    let who = r.u8();
    let pw_choice = r.u8();
    let shape = r.u8();
    let fuzz_name = r.bytes();
    let fuzz_pw = r.bytes();
    let known = USERS.get(who as usize % (USERS.len() + 1));
    let name: Vec<u8> = match known {
        Some(u) => u.name.as_bytes().to_vec(),
        None => fuzz_name.to_vec(),
    };
    let right = known.map(|u| u.password.as_bytes().to_vec());
    let password: Vec<u8> = match (pw_choice % 4, &right) {
        (0, Some(p)) => p.clone(),
        (1, Some(p)) => {
            // The right password with one byte changed, or one byte longer.
            let mut p = p.clone();
            let at = pw_choice as usize / 4 % p.len().max(1);
            match p.get_mut(at) {
                Some(b) => *b ^= 1 + (pw_choice >> 6),
                None => p.push(b'x'),
            }
            p
        }
        (2, Some(p)) => [&p[..], fuzz_pw].concat(),
        _ => fuzz_pw.to_vec(),
    };
    // Latin-1 when asked and representable.
    let (name, password) = if shape & 1 != 0 {
        match (
            std::str::from_utf8(&name).ok().and_then(utf8_to_latin1),
            std::str::from_utf8(&password).ok().and_then(utf8_to_latin1),
        ) {
            (Some(n), Some(p)) => (n, p),
            _ => (name, password),
        }
    } else {
        (name, password)
    };
    let token = b64_encode(&[&name[..], b":", &password[..]].concat());
    let scheme = ["Basic", "basic", "BASIC", "bAsIc"][(shape >> 1) as usize % 4];
    let spaces = " ".repeat(1 + (shape >> 3) as usize % 3);
    let trail = ["", " ", "\t", " \t "][(shape >> 5) as usize % 4];
    let header = format!("{scheme}{spaces}{token}{trail}");
    let v = check(e, header.as_bytes());
    // The reason, when the token itself is fine.
    let decoded_ok =
        token.len() <= MAX_BASIC_TOKEN_LEN && !has_ctl(&name) && !has_ctl(&password) && !name.contains(&b':');
    if decoded_ok && !matches!(v, Verdict::Authenticated(_)) {
        let user_known = std::str::from_utf8(&[&name[..], b":", &password[..]].concat())
            .map(|_| String::from_utf8(name.clone()).unwrap())
            .unwrap_or_else(|_| latin1_to_utf8(&name));
        let expected = if user(&user_known).is_some() { Reason::BadCredentials } else { Reason::UnknownUser };
        match &v {
            Verdict::Challenge(c) => assert_eq!(c.reason, expected, "{header:?}"),
            // A name over the user-name limit is malformed.
            Verdict::Malformed(ParseError::ValueTooLong("username")) => assert!(user_known.len() > 128),
            other => panic!("{other:?} for {header:?}"),
        }
    }
}

fn decode(token: &[u8]) {
    let mut buf = [0u8; MAX_BASIC_DECODED];
    let got = BasicCredentials::decode(token, &mut buf);
    let expected = if token.len() > MAX_BASIC_TOKEN_LEN {
        Err(ParseError::ValueTooLong("basic"))
    } else {
        match b64_decode(token) {
            None => Err(ParseError::InvalidBase64),
            Some(d) if has_ctl(&d) => Err(ParseError::ControlCharacter),
            Some(d) => match d.iter().position(|&b| b == b':') {
                None => Err(ParseError::MissingColon),
                Some(i) => Ok((d[..i].to_vec(), d[i + 1..].to_vec())),
            },
        }
    };
    match (got, expected) {
        (Ok(c), Ok((u, p))) => {
            assert_eq!((c.user_bytes(), c.password_bytes()), (&u[..], &p[..]));
            let utf8 = std::str::from_utf8(&[&u[..], b":", &p[..]].concat()).is_ok();
            assert_eq!(c.charset() == authgate::Charset::Utf8, utf8);
            let mut ub = [0u8; 2 * MAX_BASIC_DECODED];
            let mut pb = [0u8; 2 * MAX_BASIC_DECODED];
            let (us, ps) = (c.user(&mut ub).unwrap().to_string(), c.password(&mut pb).unwrap().to_string());
            if utf8 {
                assert_eq!((us.as_bytes(), ps.as_bytes()), (&u[..], &p[..]));
            } else {
                assert_eq!((us, ps), (latin1_to_utf8(&u), latin1_to_utf8(&p)));
            }
            // Too small an output buffer gives None, never a truncated name.
            let mut tiny = [0u8; 1];
            if c.user_bytes().len() > 1 {
                assert_eq!(c.user(&mut tiny), None);
            }
        }
        (Err(g), Err(x)) => assert_eq!(g, x, "{:?}", token.escape_ascii().to_string()),
        (g, x) => panic!("decode {:?}: got {g:?}, expected {x:?}", token.escape_ascii().to_string()),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    let e = engine();
    match r.u8() % 4 {
        0 => {
            check(&e, r.rest());
        }
        1 => structured(&e, &mut r),
        2 => decode(r.rest()),
        _ => {
            let choice = r.u8();
            let token: Vec<u8> = match choice % 3 {
                0 => r.rest().to_vec(),
                1 => BEARER_TOKEN.as_bytes().to_vec(),
                _ => {
                    let mut t = BEARER_TOKEN.as_bytes().to_vec();
                    let at = r.u8() as usize % (t.len() + 1);
                    t.splice(at..at, r.rest().iter().copied());
                    t
                }
            };
            let header = [b"Bearer ", &token[..]].concat();
            let v = check(&e, &header);
            if token == BEARER_TOKEN.as_bytes() {
                assert!(matches!(&v, Verdict::Authenticated(a) if a.scheme == Scheme::Bearer));
            }
        }
    }
});
