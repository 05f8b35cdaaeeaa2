//! Unit tests of the verifier on HS256 tokens minted here (the attack corpus and the tokens
//! of other implementations are in tests/vectors/authgate.vectors, run by tests/tests/jwt.rs).

extern crate std;
use std::string::String;
use std::vec::Vec;

use base64ct::{Base64UrlUnpadded, Encoding as _};
use hmac::{KeyInit, Mac};

use super::*;

const SECRET: &[u8] = b"a 32-byte secret for HS256 tests";
const NOW: u64 = 1_700_000_000;

fn b64(data: &[u8]) -> String {
    let mut buf = std::vec![0u8; data.len() * 4 / 3 + 4];
    String::from(Base64UrlUnpadded::encode(data, &mut buf).unwrap())
}

fn hs256(header: &str, claims: &str, key: &[u8]) -> String {
    let input = std::format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).unwrap();
    mac.update(input.as_bytes());
    std::format!("{input}.{}", b64(&mac.finalize().into_bytes()))
}

fn token(claims: &str) -> String {
    hs256(r#"{"alg":"HS256","typ":"JWT"}"#, claims, SECRET)
}

fn config() -> JwtConfig {
    JwtConfig::new().key(JwtKey::hmac(SECRET).unwrap()).unwrap().algorithms(&[JwsAlgorithm::Hs256]).unwrap()
}

fn verify(c: &JwtConfig, t: &str) -> Result<String, Reason> {
    let mut buf = JwtBuffer::new();
    c.verify(t.as_bytes(), NOW, &mut buf).map(|v| String::from(v.claims))
}

#[test]
fn a_good_token_and_its_claims() {
    let t = token(r#"{"sub":"alice","exp":1700000100,"iat":1699999999.5,"jti":"j\u0031","iss":"hub"}"#);
    let c = config();
    let mut buf = JwtBuffer::new();
    let v = c.verify(t.as_bytes(), NOW, &mut buf).unwrap();
    assert_eq!(v.alg, JwsAlgorithm::Hs256);
    assert_eq!((v.exp, v.iat, v.nbf), (Some(1_700_000_100), Some(1_699_999_999), None));
    assert!(v.sub.unwrap().eq_bytes(b"alice") && v.jti.unwrap().eq_bytes(b"j1") && v.iss.unwrap().eq_bytes(b"hub"));
    assert_eq!(c.user(&v).unwrap().as_str(), "alice");
    assert_eq!(v.header, r#"{"alg":"HS256","typ":"JWT"}"#);
}

#[test]
fn structure_and_encoding() {
    let t = token(r#"{"sub":"a"}"#);
    let c = config();
    let (head, rest) = t.split_once('.').unwrap();
    let (claims, sig) = rest.split_once('.').unwrap();
    let cases: Vec<(String, Reason)> = std::vec![
        (std::format!("{head}.{claims}"), Reason::MalformedToken),
        (std::format!("{head}.{claims}."), Reason::BadSignature),
        (std::format!("{head}.{claims}.{sig}.x"), Reason::MalformedToken),
        (std::format!(".{claims}.{sig}"), Reason::MalformedToken),
        (std::format!("{head}.{claims}.{sig}="), Reason::InvalidBase64Url),
        (std::format!("{head}.{claims}+.{sig}"), Reason::InvalidBase64Url),
        (std::format!("{head}.{claims}.{}", sig.replace('-', "+").replace('_', "/")), Reason::InvalidBase64Url),
        (std::format!("{head}x.{claims}.{sig}"), Reason::InvalidBase64Url),
        (std::format!("{}.{claims}.{sig}", "A".repeat(1000)), Reason::TokenTooLarge),
        (std::format!("{head}.{}.{sig}", "A".repeat(2040)), Reason::TokenTooLarge),
    ];
    for (t, want) in cases {
        assert_eq!(verify(&c, &t), Err(want), "{t}");
    }
    // Non-canonical: the last character of a 43-character signature carries 2 unused bits.
    let last = sig.chars().last().unwrap();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let i = alphabet.find(last).unwrap();
    let twin = alphabet.as_bytes()[i ^ 1] as char;
    let bad = std::format!("{head}.{claims}.{}{twin}", &sig[..sig.len() - 1]);
    assert_eq!(verify(&c, &bad), Err(Reason::InvalidBase64Url));
}

#[test]
fn header_rules() {
    let c = config();
    let claims = r#"{"sub":"a"}"#;
    for (header, want) in [
        (r#"{"alg":"none"}"#, Reason::AlgorithmNotAllowed),
        (r#"{"alg":"None"}"#, Reason::AlgorithmNotAllowed),
        (r#"{"alg":"HS256 "}"#, Reason::AlgorithmNotAllowed),
        (r#"{"alg":"\u0048S256"}"#, Reason::AlgorithmNotAllowed),
        (r#"{"typ":"JWT"}"#, Reason::AlgorithmNotAllowed),
        (r#"{"alg":256}"#, Reason::AlgorithmNotAllowed),
        (r#"{"alg":"HS512"}"#, Reason::AlgorithmNotAllowed),
        (r#"{"alg":"HS256","crit":["exp"],"exp":1}"#, Reason::UnsupportedCritical),
        (r#"{"alg":"HS256","alg":"HS256"}"#, Reason::DuplicateName),
        (r#"{"alg":"HS256""#, Reason::InvalidJson),
        (r#"["alg","HS256"]"#, Reason::InvalidJson),
    ] {
        assert_eq!(verify(&c, &hs256(header, claims, SECRET)), Err(want), "{header}");
    }
    // Embedded keys are never used.
    let t = hs256(r#"{"alg":"HS256","jwk":{"kty":"oct","k":"YQ"}}"#, claims, b"a");
    assert_eq!(verify(&c, &t), Err(Reason::BadSignature));
}

#[test]
fn signatures_and_key_selection() {
    let c = config();
    let good = token(r#"{"sub":"a"}"#);
    assert!(verify(&c, &good).is_ok());
    let forged = hs256(r#"{"alg":"HS256"}"#, r#"{"sub":"a"}"#, b"another secret");
    assert_eq!(verify(&c, &forged), Err(Reason::BadSignature));
    // A tampered claims part keeps the old signature.
    let (head, rest) = good.split_once('.').unwrap();
    let sig = rest.split_once('.').unwrap().1;
    let tampered = std::format!("{head}.{}.{sig}", b64(br#"{"sub":"b"}"#));
    assert_eq!(verify(&c, &tampered), Err(Reason::BadSignature));
    // A truncated signature.
    let short = &good[..good.len() - 4];
    assert_eq!(verify(&c, short), Err(Reason::BadSignature));

    // kid: the named key only; an unknown kid falls back to keys without a kid.
    let named = JwtConfig::new()
        .key(JwtKey::hmac(b"key one, thirty-two bytes long!!").unwrap().with_kid("one").unwrap())
        .unwrap()
        .key(JwtKey::hmac(SECRET).unwrap().with_kid("two").unwrap())
        .unwrap()
        .algorithms(&[JwsAlgorithm::Hs256])
        .unwrap();
    let with_kid = |kid: &str, key: &[u8]| hs256(&std::format!(r#"{{"alg":"HS256","kid":"{kid}"}}"#), "{}", key);
    assert!(verify(&named, &with_kid("two", SECRET)).is_ok());
    assert!(verify(&named, &with_kid("t\\u0077o", SECRET)).is_ok());
    assert_eq!(verify(&named, &with_kid("one", SECRET)), Err(Reason::BadSignature));
    assert_eq!(verify(&named, &with_kid("three", SECRET)), Err(Reason::UnknownKey));
    assert!(verify(&named, &hs256(r#"{"alg":"HS256"}"#, "{}", SECRET)).is_ok());
    let mixed = named.clone().key(JwtKey::hmac(b"fallback").unwrap()).unwrap();
    assert!(verify(&mixed, &with_kid("three", b"fallback")).is_ok());

    // A key bound to HS512 does not serve HS256.
    #[cfg(feature = "jwt-hs512")]
    let bound = JwtConfig::new()
        .key(JwtKey::hmac(SECRET).unwrap().with_algorithm(JwsAlgorithm::Hs512).unwrap())
        .unwrap()
        .algorithms(&[JwsAlgorithm::Hs256, JwsAlgorithm::Hs512])
        .unwrap();
    #[cfg(feature = "jwt-hs512")]
    assert_eq!(verify(&bound, &good), Err(Reason::UnknownKey));
    #[cfg(not(feature = "jwt-hs512"))]
    assert_eq!(JwtConfig::new().algorithms(&[JwsAlgorithm::Hs512]).err(), Some(ConfigError::JwtAlgorithmDisabled));
}

#[test]
fn long_hmac_keys_are_hashed_as_hmac_does() {
    let long = [7u8; 300];
    let c = JwtConfig::new().key(JwtKey::hmac(&long).unwrap()).unwrap().algorithms(&[JwsAlgorithm::Hs256]).unwrap();
    assert!(verify(&c, &hs256(r#"{"alg":"HS256"}"#, "{}", &long)).is_ok());
    #[cfg(feature = "jwt-hs512")]
    let t512 = {
        let input = std::format!("{}.{}", b64(br#"{"alg":"HS512"}"#), b64(b"{}"));
        let mut mac = <hmac::Hmac<sha2::Sha512> as KeyInit>::new_from_slice(&long).unwrap();
        mac.update(input.as_bytes());
        std::format!("{input}.{}", b64(&mac.finalize().into_bytes()))
    };
    #[cfg(feature = "jwt-hs512")]
    assert!(verify(&c.algorithms(&[JwsAlgorithm::Hs512]).unwrap(), &t512).is_ok());
}

#[test]
fn claims_times_issuer_audience() {
    let c = config();
    let at = |claims: &str, c: &JwtConfig| verify(c, &token(claims)).err();
    assert_eq!(at(r#"{"exp":1700000000}"#, &c), Some(Reason::TokenExpired));
    assert_eq!(at(r#"{"exp":1700000000.9}"#, &c), Some(Reason::TokenExpired));
    assert_eq!(at(r#"{"exp":1700000001}"#, &c), None);
    assert_eq!(at(r#"{"nbf":1700000001}"#, &c), Some(Reason::TokenNotYetValid));
    assert_eq!(at(r#"{"nbf":1700000000}"#, &c), None);
    assert_eq!(at(r#"{"iat":1700000001}"#, &c), Some(Reason::TokenIssuedInFuture));
    assert_eq!(at(r#"{"exp":"1700000100"}"#, &c), Some(Reason::InvalidClaim("exp")));
    assert_eq!(at(r#"{"exp":true}"#, &c), Some(Reason::InvalidClaim("exp")));
    assert_eq!(at(r#"{"sub":7}"#, &c), Some(Reason::InvalidClaim("sub")));
    assert_eq!(at(r#"{"exp":1,"exp":1900000000}"#, &c), Some(Reason::DuplicateName));
    assert_eq!(at(r#"{"exp":1900000000,"e\u0078p":1}"#, &c), Some(Reason::DuplicateName));
    let lenient = config().leeway(10);
    assert_eq!(at(r#"{"exp":1699999991}"#, &lenient), None);
    assert_eq!(at(r#"{"exp":1699999990}"#, &lenient), Some(Reason::TokenExpired));
    assert_eq!(at(r#"{"nbf":1700000010}"#, &lenient), None);
    let required = config().require(&[Claim::Exp, Claim::Sub]);
    assert_eq!(at(r#"{"sub":"a"}"#, &required), Some(Reason::MissingClaim("exp")));

    let iss = config().issuer("https://hub.example").unwrap();
    assert_eq!(at(r#"{}"#, &iss), Some(Reason::MissingClaim("iss")));
    assert_eq!(at(r#"{"iss":"https://hub.example/"}"#, &iss), Some(Reason::WrongIssuer));
    assert_eq!(at(r#"{"iss":"https:\/\/hub.example"}"#, &iss), None);

    // No audience configured: a token with one is refused (PyJWT), unless any is accepted.
    assert_eq!(at(r#"{"aud":"api"}"#, &c), Some(Reason::WrongAudience));
    assert_eq!(at(r#"{"aud":[]}"#, &c), None);
    assert_eq!(at(r#"{"aud":""}"#, &c), None);
    assert_eq!(at(r#"{"aud":"api"}"#, &config().accept_any_audience(true)), None);
    let aud = config().audience("api").unwrap().audience("web").unwrap();
    assert_eq!(at(r#"{}"#, &aud), Some(Reason::MissingClaim("aud")));
    assert_eq!(at(r#"{"aud":[]}"#, &aud), Some(Reason::MissingClaim("aud")));
    assert_eq!(at(r#"{"aud":"other"}"#, &aud), Some(Reason::WrongAudience));
    assert_eq!(at(r#"{"aud":["x","web"]}"#, &aud), None);
    assert_eq!(at(r#"{"aud":"a\u0070i"}"#, &aud), None);
    assert_eq!(at(r#"{"aud":["api",1]}"#, &aud), Some(Reason::InvalidClaim("aud")));
    assert_eq!(at(r#"{"aud":{"api":1}}"#, &aud), Some(Reason::InvalidClaim("aud")));
}

#[test]
fn identity_claim_as_user() {
    let c = config().identity_claim("preferred_username").unwrap();
    let mut buf = JwtBuffer::new();
    let t = token(r#"{"sub":"1","preferred_username":"J\u00e4s\u00f8n"}"#);
    let v = c.verify(t.as_bytes(), NOW, &mut buf).unwrap();
    assert_eq!(c.user(&v).unwrap().as_str(), "Jäsøn");
    for (claims, want) in [
        (r#"{"sub":"1"}"#, Reason::MissingClaim("identity")),
        (r#"{"preferred_username":"a\u0000b"}"#, Reason::InvalidClaim("identity")),
        (r#"{"preferred_username":""}"#, Reason::InvalidClaim("identity")),
        (r#"{"preferred_username":7}"#, Reason::InvalidClaim("identity")),
    ] {
        let t = token(claims);
        let mut buf = JwtBuffer::new();
        let r = c.verify(t.as_bytes(), NOW, &mut buf).and_then(|v| c.user(&v));
        assert_eq!(r.err(), Some(want), "{claims}");
    }
    let long = std::format!(r#"{{"sub":"{}"}}"#, "a".repeat(MAX_USERNAME_LEN + 1));
    let t = token(&long);
    let c = config();
    let v = c.verify(t.as_bytes(), NOW, &mut buf).unwrap();
    assert_eq!(c.user(&v), Err(Reason::InvalidClaim("sub")));
}

#[test]
fn configuration_errors() {
    assert_eq!(JwtKey::hmac(b"").err(), Some(ConfigError::InvalidJwtKey));
    assert_eq!(JwtKey::hmac(b"-----BEGIN PUBLIC KEY-----\nMFkw").err(), Some(ConfigError::InvalidJwtKey));
    assert_eq!(JwtKey::hmac(b"ssh-rsa AAAA").err(), Some(ConfigError::InvalidJwtKey));
    assert_eq!(JwtKey::hmac(b"k").unwrap().with_kid("").err(), Some(ConfigError::InvalidJwtKey));
    assert_eq!(JwtKey::hmac(b"k").unwrap().with_kid(&"k".repeat(129)).err(), Some(ConfigError::InvalidJwtKey));
    if JwsAlgorithm::Es256.is_enabled() {
        assert_eq!(
            JwtKey::hmac(b"k").unwrap().with_algorithm(JwsAlgorithm::Es256).err(),
            Some(ConfigError::InvalidJwtKey)
        );
    } else {
        assert_eq!(JwtConfig::new().algorithms(&[JwsAlgorithm::Es256]).err(), Some(ConfigError::JwtAlgorithmDisabled));
    }
    let keyed = JwtConfig::new().key(JwtKey::hmac(b"k").unwrap()).unwrap();
    assert_eq!(keyed.validate(), Err(ConfigError::NoJwtAlgorithm));
    assert_eq!(
        keyed
            .clone()
            .algorithms(&[JwsAlgorithm::EdDsa])
            .map(|c| c.validate())
            .unwrap_or(Err(ConfigError::NoJwtAlgorithm)),
        Err(ConfigError::NoJwtAlgorithm)
    );
    assert_eq!(JwtConfig::new().issuer("a\nb").err(), Some(ConfigError::InvalidJwtOption));
    assert_eq!(JwtConfig::new().identity_claim(&"x".repeat(33)).err(), Some(ConfigError::InvalidJwtOption));
    let mut c = JwtConfig::new();
    for _ in 0..MAX_JWT_AUDIENCES {
        c = c.audience("a").unwrap();
    }
    assert_eq!(c.audience("a").err(), Some(ConfigError::TooMany));
    // Secrets never show in Debug.
    let shown = std::format!("{:?}", JwtKey::hmac(b"hunter2-secret").unwrap());
    assert!(!shown.contains("hunter2"), "{shown}");
}

#[test]
fn engine_verifies_jws_bearer_tokens() {
    use crate::{Context, Engine, ReplayTable, Request, Scheme, StaticUsers, Verdict};
    use core::cell::RefCell;
    let config = crate::Config::new("hub").unwrap().schemes(&[Scheme::Bearer]).unwrap().jwt(config()).unwrap();
    let replay = RefCell::new(ReplayTable::<4>::new());
    let engine = Engine::new(config, &[7; 32], StaticUsers::new(&[]), &replay).unwrap();
    let ctx = Context { now: NOW, salt: [1; 8] };
    let check = |t: &str| {
        let h = std::format!("Bearer {t}");
        engine.check(&Request::new("GET", "/", Some(h.as_bytes())), ctx)
    };
    match check(&token(r#"{"sub":"lamp","exp":1700000060}"#)) {
        Verdict::Authenticated(a) => assert_eq!((a.user.as_str(), a.scheme), ("lamp", Scheme::Bearer)),
        other => panic!("{other:?}"),
    }
    let Verdict::Challenge(ch) = check(&token(r#"{"sub":"lamp","exp":1}"#)) else { panic!() };
    assert_eq!(ch.reason, Reason::TokenExpired);
    let mut buf = [0u8; 256];
    let n = engine.write_challenge(&ch, 0, &mut buf).unwrap();
    assert_eq!(&buf[..n], br#"Bearer realm="hub", error="invalid_token", error_description="Signature has expired""#);
    // An opaque token still goes to the store; no error for a request without credentials.
    let Verdict::Challenge(ch) = check("opaque-token") else { panic!() };
    assert_eq!(ch.reason, Reason::InvalidToken);
    let n = engine.write_challenge(&ch, 0, &mut buf).unwrap();
    assert_eq!(&buf[..n], br#"Bearer realm="hub", error="invalid_token""#);
    let Verdict::Challenge(ch) = engine.check(&Request::new("GET", "/", None), ctx) else { panic!() };
    let n = engine.write_challenge(&ch, 0, &mut buf).unwrap();
    assert_eq!(&buf[..n], br#"Bearer realm="hub""#);
    let Verdict::Challenge(ch) = check(&token(r#"{"exp":1700000060}"#)) else { panic!() };
    assert_eq!(ch.reason, Reason::MissingClaim("sub"));
    let n = engine.write_challenge(&ch, 0, &mut buf).unwrap();
    assert_eq!(
        &buf[..n],
        br#"Bearer realm="hub", error="invalid_token", error_description="Token is missing a required claim""#
    );
    // A configuration with keys but no algorithm they serve is refused.
    let bad = JwtConfig::new().key(JwtKey::hmac(b"k").unwrap()).unwrap();
    assert_eq!(crate::Config::new("hub").unwrap().jwt(bad).err(), Some(ConfigError::NoJwtAlgorithm));
}
