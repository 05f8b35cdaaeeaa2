//! NTLM and Negotiate through `Engine::check_connection`, driven by the independent client
//! of `tests/src/ntlm.rs`: the handshake, what is refused, and that garbage never panics.

use std::sync::Mutex;

use authgate::{
    AcceptorStep, Config, Connection, Context, CredentialStore, Engine, HandshakeTable, NegotiateAcceptor, ParseError,
    Purpose, Reason, ReplayTable, Request, Scheme, StoredCredential, UserName, Verdict,
};
use authgate_tests::ntlm::*;
use base64::Engine as _;

const NOW: u64 = 1_700_000_000;
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Plaintext `alice`, and `bob` as a stored NT hash.
struct Users;

impl CredentialStore for Users {
    fn lookup(&self, username: &str, _realm: &str, purpose: Purpose) -> Option<StoredCredential> {
        match username {
            "alice" => StoredCredential::plaintext(b"Secret-1"),
            "bob" => {
                assert_eq!(purpose, Purpose::Ntlm);
                Some(StoredCredential::NtHash(NtlmClient::nt_hash("hunter2")))
            }
            "carol" => StoredCredential::ha1_hex(authgate::HashAlgorithm::Md5, b"939e7578ed9e3c518a452acee763bce9"),
            _ => None,
        }
    }
}

/// A Negotiate acceptor standing in for GSSAPI: `krb:<name>` completes with a mutual
/// token, `more` continues once, anything else is refused.
struct FakeKerberos(Mutex<Vec<u64>>);

impl NegotiateAcceptor for FakeKerberos {
    fn step(&self, connection: u64, token: &[u8], output: &mut [u8]) -> AcceptorStep {
        self.0.lock().unwrap().push(connection);
        // A GSS-API token: [APPLICATION 0] { krb5 OID, payload }.
        let payload = &token[2 + KRB5_OID.len()..];
        if let Some(name) = payload.strip_prefix(b"krb:") {
            output[..3].copy_from_slice(b"rep");
            let principal = UserName::try_from(std::str::from_utf8(name).unwrap()).unwrap();
            return AcceptorStep::Complete { principal, output_len: 3 };
        }
        if payload == b"more" {
            output[..4].copy_from_slice(b"cont");
            return AcceptorStep::Continue { output_len: 4 };
        }
        AcceptorStep::Refused
    }
}

fn krb_token(payload: &[u8]) -> Vec<u8> {
    der(0x60, &[KRB5_OID, payload].concat())
}

struct Server {
    engine: Engine<Users, Mutex<ReplayTable<8>>>,
    table: Mutex<HandshakeTable<4>>,
    acceptor: FakeKerberos,
}

/// What one request got: the verdict and the token header, if any.
struct Answer {
    verdict: Verdict,
    token: Option<String>,
}

impl Answer {
    fn status(&self) -> u16 {
        self.verdict.status()
    }
    fn reason(&self) -> Reason {
        match &self.verdict {
            Verdict::Challenge(c) => c.reason,
            other => panic!("expected a challenge, got {other:?}"),
        }
    }
    fn user(&self) -> (String, Scheme) {
        match &self.verdict {
            Verdict::Authenticated(a) => (a.user.to_string(), a.scheme),
            other => panic!("expected authenticated, got {other:?}"),
        }
    }
    /// The token's bytes, for a scheme word.
    fn token_bytes(&self, scheme: &str) -> Vec<u8> {
        let t = self.token.as_ref().expect("a token");
        B64.decode(t.strip_prefix(scheme).unwrap().trim()).unwrap()
    }
}

impl Server {
    fn new(schemes: &[Scheme]) -> Server {
        let config = Config::new("home").unwrap().schemes(schemes).unwrap();
        Server {
            engine: Engine::new(config, &[5; 32], Users, Mutex::new(ReplayTable::new())).unwrap(),
            table: Mutex::new(HandshakeTable::new()),
            acceptor: FakeKerberos(Mutex::new(Vec::new())),
        }
    }

    fn request(&self, conn: u64, header: Option<&str>, now: u64) -> Answer {
        self.request_bound(conn, header, now, false)
    }

    fn request_bound(&self, conn: u64, header: Option<&str>, now: u64, bind: bool) -> Answer {
        let mut scratch = vec![0u8; 20_000];
        let mut c =
            Connection::new(conn, &mut scratch).handshakes(&self.table).acceptor(&self.acceptor).bind_negotiate(bind);
        let req = Request::new("GET", "/", header.map(str::as_bytes));
        let verdict = self.engine.check_connection(&req, Context { now, salt: now.to_le_bytes() }, &mut c);
        let token = c.token().map(|t| {
            let mut buf = vec![0u8; 4096];
            let n = t.write(&mut buf).unwrap();
            String::from_utf8(buf[..n].to_vec()).unwrap()
        });
        Answer { verdict, token }
    }

    /// NEGOTIATE and AUTHENTICATE on `conn` with `client` under `scheme`.
    fn handshake(&self, conn: u64, client: &NtlmClient, scheme: &str) -> (Answer, Vec<u8>) {
        let neg = client.negotiate();
        let first = self.request(conn, Some(&format!("{scheme} {}", B64.encode(&neg))), NOW);
        assert_eq!((first.status(), first.reason()), (401, Reason::HandshakeContinues));
        let challenge = first.token_bytes(scheme);
        let (auth, _) = client.authenticate(&neg, &challenge);
        (self.request(conn, Some(&format!("{scheme} {}", B64.encode(&auth))), NOW + 1), auth)
    }
}

#[test]
fn ntlm_handshake_authenticates_the_connection() {
    let s = Server::new(&[Scheme::Ntlm, Scheme::Basic]);
    // No credentials: the offers.
    let none = s.request(1, None, NOW);
    assert_eq!((none.status(), none.token.as_deref()), (401, None));
    for (name, password) in [("alice", "Secret-1"), ("bob", "hunter2")] {
        let (done, _) = s.handshake(7, &NtlmClient::new(name, password), "NTLM");
        assert_eq!(done.user(), (name.to_string(), Scheme::Ntlm));
        assert!(done.token.is_none());
        // The connection stays authenticated; another one is not.
        assert_eq!(s.request(7, None, NOW + 2).user(), (name.to_string(), Scheme::Ntlm));
        assert_eq!(s.request(8, None, NOW + 2).reason(), Reason::NoCredentials);
    }
    // The closed connection is forgotten.
    authgate::HandshakeStore::forget(&s.table, 7);
    assert_eq!(s.request(7, None, NOW + 3).reason(), Reason::NoCredentials);
}

#[test]
fn clients_without_mic_and_oem_clients_as_curl() {
    let s = Server::new(&[Scheme::Ntlm]);
    let mut curl = NtlmClient::new("alice", "Secret-1");
    curl.mic = false;
    curl.unicode = false;
    curl.flags = 0x2 | 0x4 | 0x200 | 0x8_0000 | 0x8000;
    curl.timestamp = Some(authgate::ntlm::message::filetime(NOW - 30));
    let (done, _) = s.handshake(1, &curl, "NTLM");
    assert_eq!(done.user().0, "alice");
    // The CHALLENGE answered in OEM, as asked.
    let neg = curl.negotiate();
    let ch = s.request(2, Some(&format!("NTLM {}", B64.encode(&neg))), NOW).token_bytes("NTLM");
    assert_eq!(u32::from_le_bytes(ch[20..24].try_into().unwrap()) & 3, 2);
}

#[test]
fn the_challenge_grants_no_key_exchange() {
    let s = Server::new(&[Scheme::Ntlm]);
    let c = NtlmClient::new("alice", "Secret-1");
    let a = s.request(1, Some(&format!("NTLM {}", B64.encode(c.negotiate()))), NOW);
    let ch = a.token_bytes("NTLM");
    let flags = u32::from_le_bytes(ch[20..24].try_into().unwrap());
    assert_eq!(flags & 0x4000_0000, 0, "KEY_EXCH");
    assert_eq!(flags & 0x0080_0201, 0x0080_0201, "UNICODE NTLM TARGET_INFO");
    assert_eq!(&ch[24..32], &ch[24..32]);
    // A different challenge on every handshake.
    let b = s.request(2, Some(&format!("NTLM {}", B64.encode(c.negotiate()))), NOW);
    assert_ne!(&a.token_bytes("NTLM")[24..32], &b.token_bytes("NTLM")[24..32]);
}

#[test]
fn wrong_password_unknown_user_and_unusable_credential() {
    let s = Server::new(&[Scheme::Ntlm]);
    for (user, password, reason) in [
        ("alice", "wrong", Reason::BadCredentials),
        ("mallory", "x", Reason::UnknownUser),
        ("carol", "x", Reason::CredentialUnusable),
        ("ALICE", "Secret-1", Reason::UnknownUser),
    ] {
        let (a, _) = s.handshake(1, &NtlmClient::new(user, password), "NTLM");
        assert_eq!((a.status(), a.reason()), (401, reason), "{user}");
        assert!(a.token.is_none());
        assert_eq!(s.request(1, None, NOW + 2).reason(), Reason::NoCredentials);
    }
}

#[test]
fn ntlmv1_lm_and_anonymous_are_refused() {
    let s = Server::new(&[Scheme::Ntlm]);
    let mut v1 = NtlmClient::new("alice", "Secret-1");
    v1.v1 = true;
    assert_eq!(s.handshake(1, &v1, "NTLM").0.reason(), Reason::NtlmV1Refused);
    let mut lm = NtlmClient::new("alice", "Secret-1");
    lm.lm_only = true;
    assert_eq!(s.handshake(1, &lm, "NTLM").0.reason(), Reason::NtlmV1Refused);
    let mut anon = NtlmClient::new("", "");
    anon.lm_only = true;
    let neg = anon.negotiate();
    let ch = s.request(1, Some(&format!("NTLM {}", B64.encode(&neg))), NOW).token_bytes("NTLM");
    let (mut auth, _) = anon.authenticate(&neg, &ch);
    auth[12..14].copy_from_slice(&[0, 0]); // no LM response either
    assert_eq!(s.request(1, Some(&format!("NTLM {}", B64.encode(&auth))), NOW).reason(), Reason::AnonymousRefused);
}

#[test]
fn a_replayed_authenticate_is_refused() {
    let s = Server::new(&[Scheme::Ntlm]);
    let c = NtlmClient::new("alice", "Secret-1");
    let (done, auth) = s.handshake(1, &c, "NTLM");
    assert_eq!(done.status(), 200);
    let replay = format!("NTLM {}", B64.encode(&auth));
    // Same connection: nothing pending any more. Another connection: nothing pending.
    assert_eq!(s.request(1, Some(&replay), NOW + 2).reason(), Reason::NoHandshake);
    assert_eq!(s.request(2, Some(&replay), NOW + 2).reason(), Reason::NoHandshake);
    // Another connection after its own NEGOTIATE: another server challenge.
    let neg = c.negotiate();
    s.request(3, Some(&format!("NTLM {}", B64.encode(&neg))), NOW + 2);
    assert_eq!(s.request(3, Some(&replay), NOW + 3).reason(), Reason::BadCredentials);
}

#[test]
fn the_mic_binds_all_three_messages() {
    let s = Server::new(&[Scheme::Ntlm]);
    let c = NtlmClient::new("alice", "Secret-1");
    let neg = c.negotiate();
    let ch = s.request(1, Some(&format!("NTLM {}", B64.encode(&neg))), NOW).token_bytes("NTLM");
    // The MIC computed over another NEGOTIATE (flags stripped on the way): refused.
    let mut other_neg = neg.clone();
    other_neg[12] &= !1;
    let (auth, _) = c.authenticate(&other_neg, &ch);
    assert_eq!(s.request(1, Some(&format!("NTLM {}", B64.encode(&auth))), NOW).reason(), Reason::BadCredentials);
    // A flipped MIC bit: refused.
    s.request(1, Some(&format!("NTLM {}", B64.encode(&neg))), NOW);
    let ch = s.request(1, Some(&format!("NTLM {}", B64.encode(&neg))), NOW).token_bytes("NTLM");
    let (mut auth, _) = c.authenticate(&neg, &ch);
    auth[80] ^= 1;
    assert_eq!(s.request(1, Some(&format!("NTLM {}", B64.encode(&auth))), NOW).reason(), Reason::BadCredentials);
}

#[test]
fn expiry_and_clock_skew() {
    let s = Server::new(&[Scheme::Ntlm]);
    let c = NtlmClient::new("alice", "Secret-1");
    let neg = c.negotiate();
    let ch = s.request(1, Some(&format!("NTLM {}", B64.encode(&neg))), NOW).token_bytes("NTLM");
    let (auth, _) = c.authenticate(&neg, &ch);
    let a = s.request(1, Some(&format!("NTLM {}", B64.encode(&auth))), NOW + 301);
    assert_eq!(a.reason(), Reason::HandshakeExpired);
    let mut skewed = NtlmClient::new("alice", "Secret-1");
    skewed.timestamp = Some(authgate::ntlm::message::filetime(NOW - 400));
    assert_eq!(s.handshake(2, &skewed, "NTLM").0.reason(), Reason::ClockSkew);
    skewed.timestamp = Some(authgate::ntlm::message::filetime(NOW + 299));
    assert_eq!(s.handshake(2, &skewed, "NTLM").0.status(), 200);
}

#[test]
fn an_authenticate_without_negotiate_or_on_another_connection() {
    let s = Server::new(&[Scheme::Ntlm]);
    let c = NtlmClient::new("alice", "Secret-1");
    let neg = c.negotiate();
    let ch = s.request(1, Some(&format!("NTLM {}", B64.encode(&neg))), NOW).token_bytes("NTLM");
    let (auth, _) = c.authenticate(&neg, &ch);
    assert_eq!(s.request(2, Some(&format!("NTLM {}", B64.encode(&auth))), NOW).reason(), Reason::NoHandshake);
    // The handshake of connection 1 is still there.
    assert_eq!(s.request(1, Some(&format!("NTLM {}", B64.encode(&auth))), NOW).status(), 200);
}

#[test]
fn ntlm_inside_negotiate_raw_and_spnego() {
    let s = Server::new(&[Scheme::Negotiate, Scheme::Ntlm]);
    // Raw NTLMSSP under Negotiate, as Windows sends it when Kerberos cannot be used.
    let (done, _) = s.handshake(1, &NtlmClient::new("alice", "Secret-1"), "Negotiate");
    assert_eq!(done.user(), ("alice".into(), Scheme::Negotiate));
    // SPNEGO with NTLM alone, with the mechListMIC, as pyspnego and gss-ntlmssp send it.
    let c = NtlmClient::new("bob", "hunter2");
    let neg = c.negotiate();
    let types = mech_types(&[NTLM_OID]);
    let init = neg_token_init(&types, &neg);
    let first = s.request(2, Some(&format!("Negotiate {}", B64.encode(&init))), NOW);
    assert_eq!(first.reason(), Reason::HandshakeContinues);
    let (state, challenge, mic) = read_neg_token_resp(&first.token_bytes("Negotiate"));
    assert_eq!((state, mic), (Some(1), None));
    let (auth, key) = c.authenticate(&neg, &challenge.unwrap());
    let resp = neg_token_resp(&auth, Some(&signature(&key, true, &types)));
    let done = s.request(2, Some(&format!("Negotiate {}", B64.encode(&resp))), NOW + 1);
    assert_eq!(done.user(), ("bob".into(), Scheme::Negotiate));
    // The server's mechListMIC, for the client to check.
    let (state, token, mic) = read_neg_token_resp(&done.token_bytes("Negotiate"));
    assert_eq!((state, token), (Some(0), None));
    assert_eq!(mic.unwrap(), signature(&key, false, &types));
    // A wrong mechListMIC: refused.
    let first = s.request(3, Some(&format!("Negotiate {}", B64.encode(&init))), NOW);
    let (_, challenge, _) = read_neg_token_resp(&first.token_bytes("Negotiate"));
    let (auth, key) = c.authenticate(&neg, &challenge.unwrap());
    let resp = neg_token_resp(&auth, Some(&signature(&key, false, &types)));
    assert_eq!(s.request(3, Some(&format!("Negotiate {}", B64.encode(&resp))), NOW).reason(), Reason::BadCredentials);
    // Without SIGN, NTLM's "dummy" signature (version 1, all zeros): it protects nothing.
    let mut unsigned = NtlmClient::new("bob", "hunter2");
    unsigned.flags &= !0x10;
    let neg = unsigned.negotiate();
    let init = neg_token_init(&types, &neg);
    let first = s.request(4, Some(&format!("Negotiate {}", B64.encode(&init))), NOW);
    let (_, challenge, _) = read_neg_token_resp(&first.token_bytes("Negotiate"));
    let (auth, _) = unsigned.authenticate(&neg, &challenge.unwrap());
    let mut dummy = [0u8; 16];
    dummy[0] = 1;
    let resp = neg_token_resp(&auth, Some(&dummy));
    assert_eq!(s.request(4, Some(&format!("Negotiate {}", B64.encode(&resp))), NOW).reason(), Reason::BadCredentials);
}

#[test]
fn ntlm_inside_negotiate_needs_ntlm_offered() {
    let s = Server::new(&[Scheme::Negotiate]);
    let neg = NtlmClient::new("alice", "Secret-1").negotiate();
    let a = s.request(1, Some(&format!("Negotiate {}", B64.encode(&neg))), NOW);
    assert_eq!((a.reason(), a.token.as_deref()), (Reason::UnsupportedMechanism, None));
    let init = neg_token_init(&mech_types(&[NTLM_OID]), &neg);
    assert_eq!(
        s.request(1, Some(&format!("Negotiate {}", B64.encode(&init))), NOW).reason(),
        Reason::UnsupportedMechanism
    );
    // And an NTLM header when only Negotiate is offered: not offered.
    assert_eq!(s.request(1, Some(&format!("NTLM {}", B64.encode(&neg))), NOW).reason(), Reason::UnsupportedScheme);
}

#[test]
fn negotiate_through_the_acceptor() {
    let s = Server::new(&[Scheme::Negotiate]);
    let a = s.request(4, Some(&format!("Negotiate {}", B64.encode(krb_token(b"krb:alice@HOME.TEST")))), NOW);
    assert_eq!(a.user(), ("alice@HOME.TEST".into(), Scheme::Negotiate));
    assert_eq!(a.token_bytes("Negotiate"), b"rep");
    // Kerberos is per request unless the connection is bound.
    assert_eq!(s.request(4, None, NOW).reason(), Reason::NoCredentials);
    let b = s.request_bound(9, Some(&format!("Negotiate {}", B64.encode(krb_token(b"krb:bob@HOME.TEST")))), NOW, true);
    assert_eq!(b.user().0, "bob@HOME.TEST");
    assert_eq!(s.request(9, None, NOW).user(), ("bob@HOME.TEST".into(), Scheme::Negotiate));
    let more = s.request(5, Some(&format!("Negotiate {}", B64.encode(krb_token(b"more")))), NOW);
    assert_eq!((more.reason(), more.token_bytes("Negotiate")), (Reason::HandshakeContinues, b"cont".to_vec()));
    let no = s.request(5, Some(&format!("Negotiate {}", B64.encode(krb_token(b"forged")))), NOW);
    assert_eq!((no.reason(), no.token.as_deref()), (Reason::NegotiateRefused, None));
    // SPNEGO offering Kerberos goes to the acceptor too, with the connection id.
    let init = neg_token_init(&mech_types(&[KRB5_OID, NTLM_OID]), b"x");
    s.request(6, Some(&format!("Negotiate {}", B64.encode(init))), NOW);
    assert_eq!(*s.acceptor.0.lock().unwrap(), [4, 9, 5, 5, 6]);
}

#[test]
fn malformed_tokens_are_400_never_a_panic() {
    let s = Server::new(&[Scheme::Negotiate, Scheme::Ntlm, Scheme::Basic]);
    let huge = "A".repeat(17_000);
    let cases: &[(&str, ParseError)] = &[
        ("NTLM", ParseError::ExpectedToken68),
        ("NTLM !!!!", ParseError::InvalidToken68),
        ("NTLM TlRMTVNTUAAB", ParseError::NtlmMessage),
        ("NTLM TlRMTVNTUAABAAAA=", ParseError::InvalidTokenBase64),
        ("NTLM TlRMTVNT", ParseError::NtlmMessage),
        ("NTLM Zm9vYmFy", ParseError::NtlmMessage),
        ("Negotiate Zm9vYmFy", ParseError::NegotiateToken),
        ("Negotiate YIIBAA==", ParseError::NegotiateToken),
        ("Negotiate a b", ParseError::InvalidToken68),
    ];
    for (h, e) in cases {
        assert_eq!(s.request(1, Some(h), NOW).verdict, Verdict::Malformed(*e), "{h}");
    }
    let long = format!("NTLM {}", "A".repeat(4000));
    assert_eq!(s.request(1, Some(&long), NOW).verdict, Verdict::Malformed(ParseError::ValueTooLong("ntlm")));
    let long = format!("Negotiate {huge}");
    assert_eq!(s.request(1, Some(&long), NOW).verdict, Verdict::Malformed(ParseError::TooLong));
    // A CHALLENGE sent back, and truncations of real messages.
    let c = NtlmClient::new("alice", "Secret-1");
    let neg = c.negotiate();
    let ch = s.request(2, Some(&format!("NTLM {}", B64.encode(&neg))), NOW).token_bytes("NTLM");
    assert_eq!(
        s.request(2, Some(&format!("NTLM {}", B64.encode(&ch))), NOW).verdict,
        Verdict::Malformed(ParseError::NtlmMessage)
    );
    let (auth, _) = c.authenticate(&neg, &ch);
    for n in 0..auth.len() {
        s.request(2, Some(&format!("NTLM {}", B64.encode(&neg))), NOW);
        let v = s.request(2, Some(&format!("NTLM {}", B64.encode(&auth[..n]))), NOW).verdict;
        assert!(matches!(v, Verdict::Malformed(_) | Verdict::Challenge(_)), "{n}: {v:?}");
    }
}

#[test]
fn without_a_handshake_store_the_schemes_say_so() {
    let s = Server::new(&[Scheme::Ntlm]);
    let mut scratch = vec![0u8; 4096];
    let mut c = Connection::new(1, &mut scratch);
    let h = format!("NTLM {}", B64.encode(NtlmClient::new("a", "b").negotiate()));
    let v = s.engine.check_connection(
        &Request::new("GET", "/", Some(h.as_bytes())),
        Context { now: NOW, salt: [0; 8] },
        &mut c,
    );
    assert!(matches!(v, Verdict::Challenge(ref ch) if ch.reason == Reason::ConnectionRequired), "{v:?}");
    // The plain check does not know these schemes.
    let v = s.engine.check(&Request::new("GET", "/", Some(h.as_bytes())), Context { now: NOW, salt: [0; 8] });
    assert!(matches!(v, Verdict::Challenge(ref ch) if ch.reason == Reason::UnsupportedScheme), "{v:?}");
}

#[test]
fn a_full_table_refuses_new_handshakes_not_live_ones() {
    let s = Server::new(&[Scheme::Ntlm]);
    let c = NtlmClient::new("alice", "Secret-1");
    let neg = format!("NTLM {}", B64.encode(c.negotiate()));
    let challenges: Vec<Vec<u8>> = (1..=4).map(|id| s.request(id, Some(&neg), NOW).token_bytes("NTLM")).collect();
    assert_eq!(s.request(5, Some(&neg), NOW).reason(), Reason::HandshakeTableFull);
    // Every handshake in progress still completes.
    for (id, ch) in (1..=4).zip(challenges) {
        let (auth, _) = c.authenticate(&c.negotiate(), &ch);
        assert_eq!(s.request(id, Some(&format!("NTLM {}", B64.encode(&auth))), NOW + id).status(), 200);
    }
    // Now authenticated connections fill the table: a new handshake evicts the least
    // recently used (1, unless it is used again: then 2).
    assert_eq!(s.request(1, None, NOW + 10).status(), 200);
    assert_eq!(s.request(5, Some(&neg), NOW + 11).reason(), Reason::HandshakeContinues);
    assert_eq!(s.request(2, None, NOW + 12).reason(), Reason::NoCredentials);
    assert_eq!(s.request(1, None, NOW + 12).status(), 200);
}

#[test]
fn offers_render_as_bare_scheme_words() {
    let s = Server::new(&[Scheme::Negotiate, Scheme::Ntlm, Scheme::Basic]);
    let v = s.request(1, None, NOW).verdict;
    let all = authgate_tests::challenges(&s.engine, &v);
    assert_eq!(all, ["Negotiate", "NTLM", "Basic realm=\"home\", charset=\"UTF-8\""]);
}
