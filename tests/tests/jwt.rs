//! The JWT vectors (tokens minted by PyJWT and jwcrypto, and the attack corpus derived from
//! them), through the verifier and through the engine, read as the C and Python tests read
//! them.

use authgate::jwt::{jwks, JwsAlgorithm, JwtBuffer, JwtConfig};
use authgate::limits::MAX_BEARER_LEN;
use authgate::{Config, Context, Engine, ParseError, Reason, Request, Scheme, StaticUsers, Verdict};
use authgate_tests::*;

/// The verifier a vector describes.
pub fn jwt_config(case: &Case) -> JwtConfig {
    let name = case.name();
    let mut c = JwtConfig::new();
    for key in jwks(case.get("jwks")).unwrap_or_else(|e| panic!("{name}: {e}")).keys {
        c = c.key(key).unwrap();
    }
    let algs: Vec<JwsAlgorithm> =
        case.get("algorithms").split(',').map(|a| JwsAlgorithm::from_name(a.as_bytes()).unwrap()).collect();
    c = c.algorithms(&algs).unwrap();
    if let Some(i) = case.opt("issuer") {
        c = c.issuer(i).unwrap();
    }
    if let Some(a) = case.opt("audience") {
        c = c.audience(a).unwrap();
    }
    if let Some(l) = case.opt("leeway") {
        c = c.leeway(l.parse().unwrap());
    }
    c
}

#[test]
fn every_jwt_vector_through_the_verifier() {
    let cases = cases("jwt");
    assert!(cases.len() >= 90, "{} jwt vectors", cases.len());
    let (mut ok, mut refused) = (0, 0);
    for case in &cases {
        let name = case.name();
        let c = jwt_config(case);
        let mut buf = JwtBuffer::new();
        let now: u64 = case.get("now").parse().unwrap();
        let got = c.verify(case.get("token").as_bytes(), now, &mut buf).and_then(|v| c.user(&v));
        match case.get("expect") {
            "ok" => {
                assert_eq!(got.as_ref().map(|u| u.as_str()), Ok(case.get("sub")), "{name}");
                ok += 1;
            }
            want => {
                let reason = got.expect_err(name);
                assert_eq!(reason.name(), want, "{name}: {reason}");
                refused += 1;
            }
        }
    }
    // Every algorithm minted by PyJWT, with and without kid, and by jwcrypto.
    assert!(ok >= 27 && refused >= 60, "{ok} accepted, {refused} refused");
    for alg in JwsAlgorithm::ALL {
        let n = format!("jwt-pyjwt-{}", alg.name().to_lowercase());
        assert!(cases.iter().any(|c| c.name() == n), "no {n}");
    }
}

#[test]
fn every_jwt_vector_through_the_engine() {
    for case in cases("jwt") {
        let name = case.name();
        let config = Config::new("hub")
            .unwrap()
            .schemes(&[Scheme::Bearer, Scheme::Basic])
            .unwrap()
            .jwt(jwt_config(&case))
            .unwrap();
        let replay = std::sync::Mutex::new(authgate::ReplayTable::<4>::new());
        let engine = Engine::new(config, &KEY, StaticUsers::new(USERS), &replay).unwrap();
        let header = format!("Bearer {}", case.get("token"));
        let now: u64 = case.get("now").parse().unwrap();
        let v = engine.check(&Request::new("GET", "/", Some(header.as_bytes())), Context { now, salt: [1; 8] });
        let token = case.get("token");
        match (&v, case.get("expect")) {
            (Verdict::Authenticated(a), "ok") => assert_eq!(a.user.as_str(), case.get("sub"), "{name}"),
            // Over the Bearer limit: the request is malformed before any JWT work.
            (Verdict::Malformed(e), _) if token.len() > MAX_BEARER_LEN => {
                assert_eq!(*e, ParseError::ValueTooLong("bearer"), "{name}")
            }
            // Not a token68 (a '=' inside, an empty part around a dot is fine): malformed.
            (Verdict::Malformed(e), _) => assert_eq!(*e, ParseError::InvalidToken68, "{name}: {token}"),
            // Not two dots: not taken for a JWS, so an unknown opaque token.
            (Verdict::Challenge(ch), _) if token.matches('.').count() != 2 => {
                assert_eq!(ch.reason, Reason::InvalidToken, "{name}")
            }
            (Verdict::Challenge(ch), want) if want != "ok" => {
                assert_eq!(ch.reason.name(), want, "{name}");
                // RFC 6750: invalid_token with the reason's message, on the Bearer challenge.
                let mut buf = [0u8; 512];
                let n = engine.write_challenge(ch, 0, &mut buf).unwrap();
                let text = std::str::from_utf8(&buf[..n]).unwrap();
                assert!(
                    text.starts_with("Bearer realm=\"hub\", error=\"invalid_token\", error_description=\""),
                    "{text}"
                );
            }
            (v, want) => panic!("{name}: expected {want}, got {v:?}"),
        }
    }
}

#[test]
fn reasons_are_stable_table_rows() {
    // The JWT refusals: codes 20-35, in the core's Reason table the bindings read.
    for (code, name) in
        [(20, "MalformedToken"), (25, "AlgorithmNotAllowed"), (28, "BadSignature"), (29, "TokenExpired")]
    {
        assert!(Reason::TABLE.iter().any(|(c, n, _)| *c == code && *n == name), "{name}");
    }
    assert_eq!(Reason::MissingClaim("aud").to_string(), "Token is missing the \"aud\" claim");
}
