//! The JWT verifier (`authgate::jwt`) on hostile tokens, with the keys of the vector file
//! (tests/vectors/jwt_minted.json: HMAC, RSA, P-256, Ed25519) and every algorithm allowed.
//!
//! Mode 0, raw tokens: the verifier must not panic, and may accept only what was signed
//! with those keys (an HMAC token whose tag an independent HMAC confirms, or one of the
//! minted asymmetric tokens). Mode 1, structured: fuzz header and claims JSON, signed here
//! with HMAC: the verifier must never call the signature bad; what it accepts must be JSON
//! objects to serde_json too, with the same `sub` and an `exp` still in the future.
#![no_main]

use std::sync::OnceLock;

use authgate::jwt::{jwks, JwsAlgorithm, JwtBuffer, JwtConfig};
use authgate::Reason;
use authgate_fuzz::Reader;
use base64::Engine as _;
use hmac::{KeyInit, Mac};
use libfuzzer_sys::fuzz_target;

const NOW: u64 = 1_700_000_100;
const MINTED: &str = include_str!("../../tests/vectors/jwt_minted.json");

struct Fixture {
    config: JwtConfig,
    secret: Vec<u8>,
    minted: Vec<String>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let doc: serde_json::Value = serde_json::from_str(MINTED).unwrap();
        let keys: Vec<serde_json::Value> =
            ["hmac", "rsa", "ec", "ed"].iter().map(|k| doc["keys"][k]["jwk"].clone()).collect();
        let set = jwks(&serde_json::json!({ "keys": keys }).to_string()).unwrap();
        let mut config = JwtConfig::new().algorithms(&JwsAlgorithm::ALL).unwrap();
        for k in set.keys {
            config = config.key(k).unwrap();
        }
        let k = doc["keys"]["hmac"]["jwk"]["k"].as_str().unwrap();
        let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(k).unwrap();
        let minted =
            doc["tokens"].as_array().unwrap().iter().map(|t| t["token"].as_str().unwrap().to_owned()).collect();
        Fixture { config, secret, minted }
    })
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// An independent HMAC tag of `input` for an HS* `alg`.
fn tag(alg: &str, secret: &[u8], input: &[u8]) -> Option<Vec<u8>> {
    fn t<M: Mac + KeyInit>(k: &[u8], i: &[u8]) -> Vec<u8> {
        let mut m = <M as KeyInit>::new_from_slice(k).unwrap();
        m.update(i);
        m.finalize().into_bytes().to_vec()
    }
    Some(match alg {
        "HS256" => t::<hmac::Hmac<sha2::Sha256>>(secret, input),
        "HS384" => t::<hmac::Hmac<sha2::Sha384>>(secret, input),
        "HS512" => t::<hmac::Hmac<sha2::Sha512>>(secret, input),
        _ => return None,
    })
}

fn raw(token: &[u8]) {
    let f = fixture();
    let mut buf = JwtBuffer::new();
    let Ok(v) = f.config.verify(token, NOW, &mut buf) else { return };
    let token = std::str::from_utf8(token).expect("an accepted token is ASCII");
    let (input, sig) = token.rsplit_once('.').unwrap();
    match tag(v.alg.name(), &f.secret, input.as_bytes()) {
        Some(t) => assert_eq!(b64(&t), sig, "accepted an HMAC token with a wrong tag"),
        None => assert!(
            f.minted.iter().any(|m| m.rsplit_once('.').unwrap().1 == sig),
            "accepted a {} signature nobody made",
            v.alg.name()
        ),
    }
    assert!(v.exp.is_none_or(|e| e > NOW as i64));
}

fn structured(r: &mut Reader<'_>) {
    let f = fixture();
    let alg = ["HS256", "HS384", "HS512"][usize::from(r.u8() % 3)];
    let header = r.bytes16();
    let claims = r.bytes16();
    let input = format!("{}.{}", b64(header), b64(claims));
    let token = format!("{input}.{}", b64(&tag(alg, &f.secret, input.as_bytes()).unwrap()));
    let mut buf = JwtBuffer::new();
    match f.config.verify(token.as_bytes(), NOW, &mut buf) {
        Ok(v) => {
            let h: serde_json::Value = serde_json::from_slice(header).expect("accepted header is JSON");
            let c: serde_json::Value = serde_json::from_slice(claims).expect("accepted claims are JSON");
            assert!(h.is_object() && c.is_object());
            assert_eq!(h["alg"].as_str(), Some(v.alg.name()));
            assert_eq!(v.claims.as_bytes(), claims);
            let sub = v.sub.map(|s| {
                let mut out = vec![0u8; 2048];
                s.unescape_into(&mut out).unwrap().to_owned()
            });
            assert_eq!(sub.as_deref(), c.get("sub").and_then(|s| s.as_str()));
            if let Some(e) = c.get("exp").and_then(|e| e.as_f64()) {
                assert!(e.trunc() > NOW as f64 - 1.0, "accepted exp {e}");
            }
        }
        // Signed right with a key that serves every HS*: never a signature or key problem,
        // unless the header names another algorithm or a kid.
        Err(Reason::BadSignature | Reason::UnknownKey) => {
            let h: serde_json::Value = serde_json::from_slice(header).unwrap_or_default();
            assert!(h.get("alg").and_then(|a| a.as_str()) != Some(alg) || h.get("kid").is_some(), "{alg} {h}");
        }
        // An empty header part is no JWS.
        Err(Reason::MalformedToken) if header.is_empty() => {}
        Err(Reason::MalformedToken | Reason::InvalidBase64Url) => panic!("a well-formed token refused"),
        Err(_) => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    match r.u8() % 2 {
        0 => raw(r.rest()),
        _ => structured(&mut r),
    }
});
