//! End-to-end engine flows against an independent Digest client.

use std::sync::Mutex;

use authgate::credential::pbkdf2_sha256;
use authgate::*;
use authgate_tests::*;

const NOW: u64 = 1_700_000_000;

#[test]
fn no_credentials_get_every_challenge_in_order() {
    let engine = vector_engine();
    let v = check(&engine, "GET", "/dir/index.html", None, NOW);
    assert_eq!(v.status(), 401);
    let ch = challenges(&engine, &v);
    assert_eq!(ch.len(), 4);
    assert!(
        ch[0].starts_with("Digest realm=\"testrealm@host.com\", qop=\"auth\", algorithm=SHA-256, nonce=\""),
        "{}",
        ch[0]
    );
    assert!(ch[1].contains("algorithm=MD5,"));
    assert_eq!(ch[2], "Basic realm=\"testrealm@host.com\", charset=\"UTF-8\"");
    assert_eq!(ch[3], "Bearer realm=\"testrealm@host.com\"");
    // Every rendered challenge parses back with the same realm.
    for c in &ch {
        let a = parse(c.as_bytes()).unwrap();
        assert!(a.params().unwrap().get("realm").unwrap().eq_bytes(REALM.as_bytes()));
    }
    let Verdict::Challenge(c) = &v else { unreachable!() };
    let mut joined = [0u8; 1024];
    let n = engine.write_challenges(c, &mut joined).unwrap();
    assert_eq!(std::str::from_utf8(&joined[..n]).unwrap(), ch.join(", "));
    let mut small = [0u8; 20];
    assert_eq!(engine.write_challenges(c, &mut small), Err(BufferTooSmall { needed: n }));
}

#[test]
fn digest_every_algorithm_and_mutual_auth() {
    for alg in ["MD5", "MD5-sess", "SHA-256", "SHA-256-sess", "SHA-512-256", "SHA-512-256-sess"] {
        let config = Config::new(REALM).unwrap().algorithms(&[Algorithm::from_name(alg.as_bytes()).unwrap()]).unwrap();
        let engine = Engine::new(config, &KEY, StaticUsers::new(USERS), Mutex::new(ReplayTable::<8>::new())).unwrap();
        let nonce = nonce_of(&engine.check(&Request::new("GET", "/dir/index.html", None), ctx(NOW)));
        let client = mufasa(alg, nonce);
        let header = client.header();
        let v = engine.check(&Request::new("GET", "/dir/index.html", Some(header.as_bytes())), ctx(NOW + 1));
        let a = ok(&v);
        assert_eq!(a.user, "Mufasa");
        assert_eq!(a.scheme, Scheme::Digest);
        let info = a.auth_info.as_ref().unwrap();
        assert_eq!(info.rspauth.unwrap().to_hex().as_str(), client.rspauth(), "{alg}");
        let mut buf = [0u8; 256];
        let n = engine.write_authentication_info(info, &mut buf).unwrap();
        let text = std::str::from_utf8(&buf[..n]).unwrap();
        assert_eq!(text, format!("rspauth=\"{}\", qop=auth, nc=00000001, cnonce=\"0a4f113b\"", client.rspauth()));
    }
}

#[test]
fn curl7_sha512_256_computed_with_sha256_fails() {
    let config = Config::new(REALM).unwrap().algorithms(&[Algorithm::Sha512_256]).unwrap();
    let engine = Engine::new(config, &KEY, StaticUsers::new(USERS), Mutex::new(ReplayTable::<8>::new())).unwrap();
    let nonce = nonce_of(&engine.check(&Request::new("GET", "/dir/index.html", None), ctx(NOW)));
    let mut c = mufasa("SHA-256", nonce);
    let sha256_response = c.response();
    c.algorithm = "SHA-512-256";
    let header = c.header().replace(&c.response(), &sha256_response);
    let v = engine.check(&Request::new("GET", "/dir/index.html", Some(header.as_bytes())), ctx(NOW));
    assert_eq!(reason(&v), (Reason::BadCredentials, false));
}

#[test]
fn replay_is_refused_and_out_of_order_pipelining_passes() {
    let engine = vector_engine();
    let nonce = nonce_of(&check(&engine, "GET", "/dir/index.html", None, NOW));
    let mut c = mufasa("SHA-256", nonce);
    let mut headers = Vec::new();
    for nc in 1..=5 {
        c.nc = nc;
        headers.push(c.header());
    }
    // Arrive as 3, 1, 5, 2, 4: all fresh.
    for i in [2, 0, 4, 1, 3] {
        ok(&check(&engine, "GET", "/dir/index.html", Some(headers[i].as_bytes()), NOW));
    }
    // Any of them again: refused, not stale (the client did nothing wrong to deserve a retry hint).
    for h in &headers {
        assert_eq!(
            reason(&check(&engine, "GET", "/dir/index.html", Some(h.as_bytes()), NOW)),
            (Reason::Replayed, false)
        );
    }
}

/// A wrong response must not burn the nc: the honest request with the same nc still passes.
#[test]
fn response_is_checked_before_nc_is_recorded() {
    let engine = vector_engine();
    let nonce = nonce_of(&check(&engine, "GET", "/dir/index.html", None, NOW));
    let honest = mufasa("SHA-256", nonce);
    let attacker = DigestClient { password: "guess", ..honest.clone() };
    let v = check(&engine, "GET", "/dir/index.html", Some(attacker.header().as_bytes()), NOW);
    assert_eq!(reason(&v), (Reason::BadCredentials, false));
    ok(&check(&engine, "GET", "/dir/index.html", Some(honest.header().as_bytes()), NOW));
}

#[test]
fn expired_nonce_is_stale_only_with_a_right_response() {
    let engine = vector_engine();
    let nonce = nonce_of(&check(&engine, "GET", "/dir/index.html", None, NOW));
    let c = mufasa("SHA-256", nonce);
    let later = NOW + 301;
    let v = check(&engine, "GET", "/dir/index.html", Some(c.header().as_bytes()), later);
    assert_eq!(reason(&v), (Reason::StaleNonce, true));
    assert!(challenges(&engine, &v)[0].contains("stale=true"));
    let wrong = DigestClient { password: "x", ..c.clone() };
    let v = check(&engine, "GET", "/dir/index.html", Some(wrong.header().as_bytes()), later);
    assert_eq!(reason(&v), (Reason::BadCredentials, false));
    assert!(!challenges(&engine, &v)[0].contains("stale"));
    // The fresh nonce from the stale challenge works.
    let fresh =
        mufasa("SHA-256", nonce_of(&check(&engine, "GET", "/dir/index.html", Some(c.header().as_bytes()), later)));
    ok(&check(&engine, "GET", "/dir/index.html", Some(fresh.header().as_bytes()), later));
}

#[test]
fn clock_going_backwards() {
    let engine = vector_engine();
    let nonce = nonce_of(&check(&engine, "GET", "/dir/index.html", None, NOW));
    let c = mufasa("SHA-256", nonce);
    // Within the allowed skew: accepted; beyond it: stale, never an error or a panic.
    ok(&check(&engine, "GET", "/dir/index.html", Some(c.header().as_bytes()), NOW - 5));
    let c2 = DigestClient { nc: 2, ..c.clone() };
    assert_eq!(
        reason(&check(&engine, "GET", "/dir/index.html", Some(c2.header().as_bytes()), NOW - 6)),
        (Reason::StaleNonce, true)
    );
    assert_eq!(
        reason(&check(&engine, "GET", "/dir/index.html", Some(c2.header().as_bytes()), 0)),
        (Reason::StaleNonce, true)
    );
}

#[test]
fn key_rotation_mid_traffic() {
    let old_key = [1u8; 32];
    let new_key = [2u8; 32];
    let mk = || {
        Engine::new(Config::new(REALM).unwrap(), &old_key, StaticUsers::new(USERS), Mutex::new(ReplayTable::<8>::new()))
            .unwrap()
    };
    let mut engine = mk();
    let nonce = nonce_of(&engine.check(&Request::new("GET", "/dir/index.html", None), ctx(NOW)));
    let c = mufasa("SHA-256", nonce);
    engine.rotate_key(&new_key);
    ok(&engine.check(&Request::new("GET", "/dir/index.html", Some(c.header().as_bytes())), ctx(NOW)));
    // A second rotation retires the old key: its nonces are no longer ours.
    engine.rotate_key(&[3u8; 32]);
    let c2 = DigestClient { nc: 2, ..c.clone() };
    let v = engine.check(&Request::new("GET", "/dir/index.html", Some(c2.header().as_bytes())), ctx(NOW));
    assert_eq!(reason(&v), (Reason::InvalidNonce, false));
    // Processes sharing a key accept each other's nonces, without any shared state.
    let a = mk();
    let b = mk();
    let nonce = nonce_of(&a.check(&Request::new("GET", "/dir/index.html", None), ctx(NOW)));
    ok(&b.check(&Request::new("GET", "/dir/index.html", Some(mufasa("MD5", nonce).header().as_bytes())), ctx(NOW)));
}

#[test]
fn full_replay_table_evicts_to_stale_never_fresh() {
    let engine =
        Engine::new(Config::new(REALM).unwrap(), &KEY, StaticUsers::new(USERS), Mutex::new(ReplayTable::<2>::new()))
            .unwrap();
    let get = |h: Option<&[u8]>, now| engine.check(&Request::new("GET", "/dir/index.html", h), ctx(now));
    let n1 = nonce_of(&get(None, NOW));
    let n2 = nonce_of(&get(None, NOW + 1));
    let n3 = nonce_of(&get(None, NOW + 2));
    for n in [n1, n2, n3] {
        ok(&get(Some(mufasa("SHA-256", n).header().as_bytes()), NOW + 3));
    }
    assert_eq!(engine.replay().lock().unwrap().len(), 2);
    // n1 was evicted: replaying it must not be accepted as a fresh nonce.
    let v = get(Some(mufasa("SHA-256", n1).header().as_bytes()), NOW + 3);
    assert_eq!(reason(&v), (Reason::StaleNonce, true));
}

#[test]
fn realm_uri_opaque_algorithm_qop_checks() {
    let config = Config::new(REALM).unwrap().opaque("5ccc069c403ebaf9f0171e9517f40e41").unwrap();
    let engine = Engine::new(config, &KEY, StaticUsers::new(USERS), Mutex::new(ReplayTable::<8>::new())).unwrap();
    let get = |target: &str, h: &str| engine.check(&Request::new("GET", target, Some(h.as_bytes())), ctx(NOW));
    let v = engine.check(&Request::new("GET", "/dir/index.html", None), ctx(NOW));
    assert!(challenges(&engine, &v)[0].contains("opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""));
    let nonce = nonce_of(&v);
    let good = DigestClient { opaque: Some("5ccc069c403ebaf9f0171e9517f40e41"), ..mufasa("SHA-256", nonce) };

    assert_eq!(get("/other", &good.header()), Verdict::Malformed(ParseError::UriMismatch));
    let no_opaque = DigestClient { opaque: None, ..good.clone() };
    assert_eq!(reason(&get("/dir/index.html", &no_opaque.header())).0, Reason::OpaqueMismatch);
    let other_realm = DigestClient { realm: "other", ..good.clone() };
    assert_eq!(reason(&get("/dir/index.html", &other_realm.header())).0, Reason::RealmMismatch);
    let sha512 = DigestClient { algorithm: "SHA-512-256", ..good.clone() };
    assert_eq!(reason(&get("/dir/index.html", &sha512.header())).0, Reason::UnsupportedAlgorithm);
    let rfc2069 = DigestClient { qop: None, ..good.clone() };
    assert_eq!(reason(&get("/dir/index.html", &rfc2069.header())).0, Reason::UnsupportedQop);
    let auth_int = DigestClient { qop: Some("auth-int"), ..good.clone() };
    assert_eq!(reason(&get("/dir/index.html", &auth_int.header())).0, Reason::UnsupportedQop);
    let unknown = DigestClient { username: "Scar", ..good.clone() };
    assert_eq!(reason(&get("/dir/index.html", &unknown.header())).0, Reason::UnknownUser);
    ok(&get("/dir/index.html", &good.header()));
}

#[test]
fn auth_int_with_body_bytes_and_streamed_hash() {
    let config = Config::new(REALM).unwrap().qop(QopSet { auth: true, auth_int: true });
    let engine = Engine::new(config, &KEY, StaticUsers::new(USERS), Mutex::new(ReplayTable::<8>::new())).unwrap();
    let v = engine.check(&Request::new("POST", "/api/led", None), ctx(NOW));
    assert!(challenges(&engine, &v)[0].contains("qop=\"auth, auth-int\""));
    let nonce = nonce_of(&v);
    let body = br#"{"on":true}"#;
    let mut c =
        DigestClient { method: "POST", uri: "/api/led", qop: Some("auth-int"), body, ..mufasa("SHA-256", nonce) };
    let header = c.header();
    let with = |b: Body<'_>, h: &str| {
        engine.check(
            &Request { method: "POST", target: "/api/led", authorization: Some(h.as_bytes()), body: b },
            ctx(NOW),
        )
    };
    assert_eq!(body_hash_algorithm(header.as_bytes()), Some(HashAlgorithm::Sha256));
    assert_eq!(reason(&with(Body::Unavailable, &header)).0, Reason::BodyUnavailable);
    assert_eq!(reason(&with(Body::Bytes(b"{\"on\":false}"), &header)).0, Reason::BadCredentials);
    let a = ok(&with(Body::Bytes(body), &header)).clone();
    // auth-int: no rspauth (it would cover the response body), but the rest of Authentication-Info.
    assert_eq!(a.auth_info.unwrap().qop, Some(Qop::AuthInt));
    c.nc = 2;
    let streamed = HashOutput::from_hex(h("SHA-256", body).as_bytes()).unwrap();
    ok(&with(Body::Hashed(HashAlgorithm::Sha256, streamed), &c.header()));
}

#[test]
fn userhash_and_username_star() {
    let config = Config::new("api@example.org").unwrap().algorithms(&[Algorithm::Sha512_256]).unwrap().userhash(true);
    let users = StaticUsers::new(&[("Jäsøn Doe", "Secret, or not?")]);
    let engine = Engine::new(config, &KEY, users, Mutex::new(ReplayTable::<8>::new())).unwrap();
    let v = engine.check(&Request::new("GET", "/doe.json", None), ctx(NOW));
    assert!(challenges(&engine, &v)[0].ends_with("charset=UTF-8, userhash=true"));
    let nonce = nonce_of(&v);
    let c = DigestClient {
        algorithm: "SHA-512-256",
        username: "Jäsøn Doe",
        password: "Secret, or not?",
        realm: "api@example.org",
        uri: "/doe.json",
        userhash: true,
        ..mufasa("SHA-512-256", nonce)
    };
    assert_eq!(
        ok(&engine.check(&Request::new("GET", "/doe.json", Some(c.header().as_bytes())), ctx(NOW))).user,
        "Jäsøn Doe"
    );
    // The same user by username* (RFC 8187), nc 2.
    let plain = DigestClient { userhash: false, nc: 2, ..c.clone() };
    let star = plain.header().replace("username=\"Jäsøn Doe\"", "username*=UTF-8''J%C3%A4s%C3%B8n%20Doe");
    assert!(star.contains("username*="));
    assert_eq!(ok(&engine.check(&Request::new("GET", "/doe.json", Some(star.as_bytes())), ctx(NOW))).user, "Jäsøn Doe");
}

#[test]
fn rfc2069_only_when_enabled_and_single_use() {
    let config = Config::new(REALM).unwrap().allow_rfc2069(true);
    let engine = Engine::new(config, &KEY, StaticUsers::new(USERS), Mutex::new(ReplayTable::<8>::new())).unwrap();
    let nonce = nonce_of(&engine.check(&Request::new("GET", "/dir/index.html", None), ctx(NOW)));
    let c = DigestClient { qop: None, algorithm: "MD5", ..mufasa("MD5", nonce) };
    let get = || engine.check(&Request::new("GET", "/dir/index.html", Some(c.header().as_bytes())), ctx(NOW));
    let a = ok(&get()).clone();
    assert!(a.auth_info.is_none());
    // Without nc, a second use of the nonce asks the client for a new one.
    assert_eq!(reason(&get()), (Reason::Replayed, true));
}

struct Store;

impl CredentialStore for Store {
    fn lookup(&self, username: &str, realm: &str, purpose: Purpose) -> Option<StoredCredential> {
        match (username, purpose) {
            ("ha1md5", _) => StoredCredential::ha1_hex(
                HashAlgorithm::Md5,
                h("MD5", format!("ha1md5:{realm}:pw").as_bytes()).as_bytes(),
            ),
            ("pbkdf2", _) => {
                StoredCredential::pbkdf2_sha256(1000, b"salt", pbkdf2_sha256("pässword".as_bytes(), b"salt", 1000))
            }
            ("plain", _) => StoredCredential::plaintext(b"pw"),
            _ => None,
        }
    }
    fn lookup_bearer(&self, token_sha256: &[u8; 32]) -> Option<UserName> {
        let expected: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(b"mF_9.B5f-4.1JqM").into();
        bool::from(subtle::ConstantTimeEq::ct_eq(&token_sha256[..], &expected[..]))
            .then(|| UserName::try_from("api-client").unwrap())
    }
}

#[test]
fn basic_against_every_stored_form_and_bearer() {
    let config = Config::new(REALM).unwrap().schemes(&[Scheme::Digest, Scheme::Basic, Scheme::Bearer]).unwrap();
    let engine = Engine::new(config, &KEY, Store, Mutex::new(ReplayTable::<8>::new())).unwrap();
    let b64 = |s: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, s);
    let get = |h: String| engine.check(&Request::new("GET", "/", Some(h.as_bytes())), ctx(NOW));
    assert_eq!(ok(&get(format!("Basic {}", b64(b"plain:pw")))).user, "plain");
    assert_eq!(ok(&get(format!("Basic {}", b64(b"ha1md5:pw")))).user, "ha1md5");
    assert_eq!(ok(&get(format!("Basic {}", b64("pbkdf2:pässword".as_bytes())))).user, "pbkdf2");
    // The same password sent in ISO-8859-1 is transcoded before hashing.
    assert_eq!(ok(&get(format!("Basic {}", b64(b"pbkdf2:p\xe4ssword")))).user, "pbkdf2");
    assert_eq!(reason(&get(format!("Basic {}", b64(b"plain:pW")))).0, Reason::BadCredentials);
    assert_eq!(reason(&get(format!("Basic {}", b64(b"ha1md5:pW")))).0, Reason::BadCredentials);
    assert_eq!(reason(&get(format!("Basic {}", b64(b"pbkdf2:password")))).0, Reason::BadCredentials);
    assert_eq!(reason(&get(format!("Basic {}", b64(b"nobody:pw")))).0, Reason::UnknownUser);
    // The scheme word is checked: a Basic token under another scheme is not accepted.
    assert_eq!(reason(&get(format!("Basis {}", b64(b"plain:pw")))).0, Reason::UnsupportedScheme);

    // Digest from an MD5 HA1 store works for MD5 only; PBKDF2 cannot serve Digest.
    let nonce = nonce_of(&engine.check(&Request::new("GET", "/", None), ctx(NOW)));
    let c = DigestClient { username: "ha1md5", password: "pw", uri: "/", ..mufasa("MD5", nonce) };
    ok(&get(c.header()));
    let c256 = DigestClient { algorithm: "SHA-256", nc: 2, ..c.clone() };
    assert_eq!(reason(&get(c256.header())).0, Reason::CredentialUnusable);
    let p = DigestClient { username: "pbkdf2", password: "pässword", nc: 3, ..c.clone() };
    assert_eq!(reason(&get(p.header())).0, Reason::CredentialUnusable);

    assert_eq!(ok(&get("Bearer mF_9.B5f-4.1JqM".into())).user, "api-client");
    let v = get("Bearer mF_9.B5f-4.1JqN".into());
    assert_eq!(reason(&v).0, Reason::InvalidToken);
    assert_eq!(challenges(&engine, &v)[3], "Bearer realm=\"testrealm@host.com\", error=\"invalid_token\"");
    assert!(matches!(get("Bearer a b".into()), Verdict::Malformed(_)));
}

/// Unknown users are checked against the store's decoy, so with a PBKDF2 store a Basic miss
/// costs the same PBKDF2 as a hit, and a Digest miss computes an HA1 like a hit (the timing
/// itself is measured by `make ct`).
#[test]
fn unknown_users_are_checked_against_the_stores_decoy() {
    struct Pbkdf2Store {
        decoys: std::cell::Cell<u32>,
    }
    impl CredentialStore for Pbkdf2Store {
        fn lookup(&self, username: &str, realm: &str, purpose: Purpose) -> Option<StoredCredential> {
            (username == "pbkdf2").then(|| Store.lookup(username, realm, purpose)).flatten()
        }
        fn decoy(&self, realm: &str) -> StoredCredential {
            self.decoys.set(self.decoys.get() + 1);
            Store.lookup("pbkdf2", realm, Purpose::Basic).unwrap().decoy_for()
        }
    }
    let config = Config::new(REALM).unwrap().schemes(&[Scheme::Basic]).unwrap();
    let store = Pbkdf2Store { decoys: std::cell::Cell::new(0) };
    let engine = Engine::new(config, &KEY, store, Mutex::new(ReplayTable::<8>::new())).unwrap();
    let b64 = |s: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, s);
    let get = |h: String| engine.check(&Request::new("GET", "/", Some(h.as_bytes())), ctx(NOW));
    assert_eq!(reason(&get(format!("Basic {}", b64("nobody:pässword".as_bytes())))).0, Reason::UnknownUser);
    assert_eq!(engine.store().decoys.get(), 1);
    assert_eq!(reason(&get(format!("Basic {}", b64(b"pbkdf2:wrong")))).0, Reason::BadCredentials);
    assert_eq!(ok(&get(format!("Basic {}", b64("pbkdf2:pässword".as_bytes())))).user, "pbkdf2");
    assert_eq!(engine.store().decoys.get(), 1, "known users never touch the decoy");

    let digest_engine = Engine::new(
        Config::new(REALM).unwrap(),
        &KEY,
        Pbkdf2Store { decoys: std::cell::Cell::new(0) },
        Mutex::new(ReplayTable::<8>::new()),
    )
    .unwrap();
    let nonce = nonce_of(&digest_engine.check(&Request::new("GET", "/dir/index.html", None), ctx(NOW)));
    let scar = DigestClient { username: "Scar", ..mufasa("SHA-256", nonce) };
    let v = digest_engine.check(&Request::new("GET", "/dir/index.html", Some(scar.header().as_bytes())), ctx(NOW));
    assert_eq!(reason(&v).0, Reason::UnknownUser);
    assert_eq!(digest_engine.store().decoys.get(), 1, "an unknown Digest user is hashed from the decoy");

    // A decoy keeps the cost parameters of the credential it imitates and matches no password.
    let real = Store.lookup("pbkdf2", REALM, Purpose::Basic).unwrap();
    let decoy = real.decoy_for();
    match (&real, &decoy) {
        (
            StoredCredential::Pbkdf2Sha256 { iterations: i1, salt: s1, .. },
            StoredCredential::Pbkdf2Sha256 { iterations: i2, salt: s2, .. },
        ) => assert_eq!((i1, s1), (i2, s2)),
        other => panic!("decoy of a PBKDF2 credential is {other:?}"),
    }
    for candidate in
        [decoy, StoredCredential::plaintext_decoy(), StoredCredential::plaintext(b"pw").unwrap().decoy_for()]
    {
        for pw in ["pässword", "pw", ""] {
            assert!(!candidate.check_password(b"pbkdf2", REALM.as_bytes(), pw.as_bytes(), Charset::Utf8));
        }
    }
}

/// Plaintext passwords are compared whole, in a buffer of the largest stored size: lengths at
/// and around the limit, and Latin-1 transcoding, still compare exactly.
#[test]
fn plaintext_comparison_at_the_size_limit() {
    let full = "a".repeat(limits::MAX_SECRET_LEN);
    let stored = StoredCredential::plaintext(full.as_bytes()).unwrap();
    let check = |pw: &[u8], charset| stored.check_password(b"u", b"r", pw, charset);
    assert!(check(full.as_bytes(), Charset::Utf8));
    assert!(!check(&full.as_bytes()[1..], Charset::Utf8));
    assert!(!check(format!("{full}a").as_bytes(), Charset::Utf8), "longer than any stored secret");
    assert!(!check(format!("{full}{full}").as_bytes(), Charset::Utf8));
    assert!(!check(b"", Charset::Utf8));
    let umlaut = StoredCredential::plaintext("pässword".as_bytes()).unwrap();
    assert!(umlaut.check_password(b"u", b"r", b"p\xe4ssword", Charset::Latin1));
    assert!(!umlaut.check_password(b"u", b"r", b"p\xe4sswor", Charset::Latin1));
    // An empty stored password matches only the empty one; the decoy matches nothing.
    let empty = StoredCredential::plaintext(b"").unwrap();
    assert!(empty.check_password(b"u", b"r", b"", Charset::Utf8));
    assert!(!empty.check_password(b"u", b"r", b"\0", Charset::Utf8));
    assert!(!StoredCredential::plaintext_decoy().check_password(b"u", b"r", &[0xFF; 16], Charset::Latin1));
}

#[test]
fn hostile_realm_is_escaped_or_refused() {
    assert_eq!(Config::new("a\r\nSet-Cookie: x").unwrap_err(), ConfigError::InvalidRealm);
    assert_eq!(Config::new("").unwrap_err(), ConfigError::InvalidRealm);
    assert_eq!(Config::new(&"r".repeat(129)).unwrap_err(), ConfigError::InvalidRealm);
    assert_eq!(Config::new("r").unwrap().opaque("a\"b").unwrap_err(), ConfigError::InvalidOpaque);
    let engine = Engine::new(
        Config::new("a \"quoted\" \\ realm").unwrap(),
        &KEY,
        StaticUsers::new(USERS),
        Mutex::new(ReplayTable::<8>::new()),
    )
    .unwrap();
    let v = engine.check(&Request::new("GET", "/", None), ctx(NOW));
    for c in challenges(&engine, &v) {
        let a = parse(c.as_bytes()).unwrap();
        assert!(a.params().unwrap().get("realm").unwrap().eq_bytes(b"a \"quoted\" \\ realm"), "{c}");
    }
}

#[test]
fn oversized_and_many_params_are_malformed() {
    let engine = vector_engine();
    let long = format!("Digest username=\"{}\"", "a".repeat(5000));
    assert_eq!(check(&engine, "GET", "/", Some(long.as_bytes()), NOW), Verdict::Malformed(ParseError::TooLong));
    let many = format!("Digest {}", (0..1000).map(|i| format!("p{i}=1")).collect::<Vec<_>>().join(","));
    assert!(matches!(
        check(&engine, "GET", "/", Some(many.as_bytes()), NOW),
        Verdict::Malformed(ParseError::TooLong | ParseError::TooManyParams)
    ));
    let many = format!("Digest {}", (0..30).map(|i| format!("p{i}=1")).collect::<Vec<_>>().join(","));
    assert_eq!(check(&engine, "GET", "/", Some(many.as_bytes()), NOW), Verdict::Malformed(ParseError::TooManyParams));
    let dup = Request::new("GET", "/", Some(Request::DUPLICATE_AUTHORIZATION));
    assert_eq!(engine.check(&dup, ctx(NOW)).status(), 400);
}

#[test]
fn nextnonce_after_half_life() {
    let engine = vector_engine();
    let nonce = nonce_of(&check(&engine, "GET", "/dir/index.html", None, NOW));
    let c = mufasa("SHA-256", nonce);
    let a = ok(&check(&engine, "GET", "/dir/index.html", Some(c.header().as_bytes()), NOW + 200)).clone();
    let next = a.auth_info.unwrap().nextnonce.expect("nextnonce past half life");
    let c2 = mufasa("SHA-256", Box::leak(next.as_str().to_string().into_boxed_str()));
    ok(&check(&engine, "GET", "/dir/index.html", Some(c2.header().as_bytes()), NOW + 250));
}

#[test]
fn inconsistent_configurations_are_refused() {
    let users = || StaticUsers::new(USERS);
    let replay = || Mutex::new(ReplayTable::<8>::new());
    assert_eq!(Config::new(REALM).unwrap().algorithms(&[]).unwrap_err(), ConfigError::NoAlgorithm);
    assert_eq!(Config::new(REALM).unwrap().schemes(&[]).unwrap_err(), ConfigError::NoScheme);
    assert_eq!(Config::new(REALM).unwrap().nonce_lifetime(0).unwrap_err(), ConfigError::InvalidLifetime);
    // Digest without qop needs RFC 2069 mode, which is off by default.
    let no_qop = Config::new(REALM).unwrap().qop(QopSet { auth: false, auth_int: false });
    assert_eq!(Engine::new(no_qop.clone(), &KEY, users(), replay()).unwrap_err(), ConfigError::NoQop);
    assert!(Engine::new(no_qop.allow_rfc2069(true), &KEY, users(), replay()).is_ok());
    // Basic alone needs no Digest settings at all.
    let basic_only =
        Config::new(REALM).unwrap().schemes(&[Scheme::Basic]).unwrap().qop(QopSet { auth: false, auth_int: false });
    let engine = Engine::new(basic_only, &KEY, users(), replay()).unwrap();
    assert_eq!(engine.challenge_count(), 1);
    let v = engine.check(&Request::new("GET", "/", None), ctx(NOW));
    assert_eq!(challenges(&engine, &v), ["Basic realm=\"testrealm@host.com\", charset=\"UTF-8\""]);
}

/// A user name read where it is (unescaped) or copied out (escaped) names the same user: a
/// name with a quote and a backslash, a plain name sent with a needless escape, and a
/// name one byte over the limit (400 whichever way it is sent).
#[test]
fn escaped_and_unescaped_user_names() {
    let users: &'static [(&str, &str)] = &[("Mufasa", "Circle Of Life"), ("Mu\"fa\\sa", "Circle Of Life")];
    let engine = Engine::new(
        Config::new(REALM).unwrap().algorithms(&[Algorithm::Md5]).unwrap(),
        &KEY,
        StaticUsers::new(users),
        Mutex::new(ReplayTable::<8>::new()),
    )
    .unwrap();
    let nonce = nonce_of(&engine.check(&Request::new("GET", "/dir/index.html", None), ctx(NOW)));
    let get = |header: &str| engine.check(&Request::new("GET", "/dir/index.html", Some(header.as_bytes())), ctx(NOW));
    let c = DigestClient { username: "Mu\"fa\\sa", nc: 1, ..mufasa("MD5", nonce) };
    assert!(c.header().contains(r#"username="Mu\"fa\\sa""#));
    assert_eq!(ok(&get(&c.header())).user, "Mu\"fa\\sa");
    let c = DigestClient { nc: 2, ..mufasa("MD5", nonce) };
    let needless = c.header().replace(r#"username="Mufasa""#, r#"username="Mu\fasa""#);
    assert_ne!(needless, c.header());
    assert_eq!(ok(&get(&needless)).user, "Mufasa");
    let c = DigestClient { nc: 3, ..mufasa("MD5", nonce) };
    let unknown = c.header().replace(r#"username="Mufasa""#, r#"username="Mufasa\x""#);
    assert_eq!(reason(&get(&unknown)), (Reason::UnknownUser, false));
    let long = "u".repeat(authgate::limits::MAX_USERNAME_LEN);
    for name in [format!("{long}u"), format!("{long}\\u")] {
        let header = c.header().replace(r#"username="Mufasa""#, &format!("username=\"{name}\""));
        assert_eq!(get(&header), Verdict::Malformed(ParseError::ValueTooLong("username")));
    }
}
