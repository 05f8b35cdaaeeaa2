//! NTLM and Negotiate through `Engine::check_connection`: the message parsers, the SPNEGO
//! router and the handshake table, against an independent NTLMv2 client
//! (`authgate_tests::ntlm`, written from MS-NLMP).
//!
//! Input: one mode byte, then
//! - 0: raw bytes as an NTLM message, sent after a NEGOTIATE (so an AUTHENTICATE is
//!   parsed against a pending handshake), and as a NEGOTIATE: never a panic, never a 200;
//! - 1: a genuine handshake of the independent client (with a MIC), its AUTHENTICATE
//!   changed at one byte (position, xor mask): the exact message must authenticate, any
//!   change must not (the MIC covers every byte);
//! - 2: raw bytes as a Negotiate token: what the router hands the acceptor is exactly the
//!   decoded token, and only DER tokens reach it;
//! - 3: a sequence of requests on four connections (NEGOTIATE, AUTHENTICATE, nothing,
//!   close) through a two-entry table: never a panic, never another connection's user.
#![no_main]

use std::sync::Mutex;

use authgate::{
    AcceptorStep, Config, Connection, Context, Engine, HandshakeStore, HandshakeTable, NegotiateAcceptor, Reason,
    ReplayTable, Request, Scheme, StaticUsers, UserName, Verdict,
};
use authgate_fuzz::{b64_decode, b64_encode, Reader, KEY, NOW};
use authgate_tests::ntlm::NtlmClient;
use libfuzzer_sys::fuzz_target;

const USERS: &[(&str, &str)] = &[("alice", "Secret-1"), ("jürgen", "pässword")];

type FuzzEngine = Engine<StaticUsers<'static>, Mutex<ReplayTable<4>>>;

fn engine() -> FuzzEngine {
    let config = Config::new("home").unwrap().schemes(&[Scheme::Negotiate, Scheme::Ntlm]).unwrap();
    Engine::new(config, &KEY, StaticUsers::new(USERS), Mutex::new(ReplayTable::new())).unwrap()
}

/// Records the tokens it is handed; completes for a token ending in "ok".
struct Recorder(Mutex<Vec<Vec<u8>>>);

impl NegotiateAcceptor for Recorder {
    fn step(&self, _connection: u64, token: &[u8], output: &mut [u8]) -> AcceptorStep {
        self.0.lock().unwrap().push(token.to_vec());
        if token.ends_with(b"ok") {
            output[0] = 1;
            return AcceptorStep::Complete { principal: UserName::try_from("k@R").unwrap(), output_len: 1 };
        }
        AcceptorStep::Refused
    }
}

struct Server {
    engine: FuzzEngine,
    table: Mutex<HandshakeTable<2>>,
    acceptor: Recorder,
}

impl Server {
    fn new() -> Self {
        Server { engine: engine(), table: Mutex::new(HandshakeTable::new()), acceptor: Recorder(Mutex::new(Vec::new())) }
    }

    /// One request on `conn`: the verdict and the token for the client.
    fn request(&self, conn: u64, header: Option<&[u8]>) -> (Verdict, Option<Vec<u8>>) {
        let mut scratch = vec![0u8; Connection::NTLM_SCRATCH * 8];
        let mut c = Connection::new(conn, &mut scratch).handshakes(&self.table).acceptor(&self.acceptor);
        let v = self.engine.check_connection(&Request::new("GET", "/", header), Context { now: NOW, salt: [3; 8] }, &mut c);
        let token = c.token().map(|t| {
            assert!(t.bytes.len() <= authgate::limits::MAX_SERVER_TOKEN_LEN);
            t.bytes.to_vec()
        });
        match &v {
            Verdict::Challenge(ch) => assert_eq!(token.is_some(), ch.reason == Reason::HandshakeContinues, "{v:?}"),
            Verdict::Malformed(_) => assert!(token.is_none()),
            Verdict::Authenticated(_) => {}
        }
        (v, token)
    }

    fn ntlm(&self, conn: u64, message: &[u8]) -> (Verdict, Option<Vec<u8>>) {
        self.request(conn, Some(format!("NTLM {}", b64_encode(message)).as_bytes()))
    }
}

fn refused(v: &Verdict) -> bool {
    !matches!(v, Verdict::Authenticated(_))
}

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    let s = Server::new();
    let client = NtlmClient::new("alice", "Secret-1");
    match r.u8() % 4 {
        0 => {
            let message = r.rest();
            s.ntlm(1, &client.negotiate());
            assert!(refused(&s.ntlm(1, message).0), "random bytes authenticated");
            assert!(refused(&s.ntlm(2, message).0));
            let _ = authgate::ntlm::message::Negotiate::parse(message);
            let _ = authgate::ntlm::message::Authenticate::parse(message);
            let _ = authgate::ntlm::message::Blob::parse(message);
        }
        1 => {
            let mut c = client.clone();
            if r.u8() & 1 == 1 {
                c.user = "jürgen".into();
                c.password = "pässword".into();
            }
            let at = r.u16() as usize;
            let mask = r.u8();
            let neg = c.negotiate();
            let (_, challenge) = s.ntlm(1, &neg);
            let (mut auth, _) = c.authenticate(&neg, &challenge.expect("a CHALLENGE"));
            let changed = mask != 0 && at < auth.len();
            if changed {
                auth[at] ^= mask;
            }
            let (v, _) = s.ntlm(1, &auth);
            match (&v, changed) {
                (Verdict::Authenticated(a), false) => assert_eq!(a.user.as_str(), c.user),
                (Verdict::Authenticated(a), true) => panic!("byte {at} ^ {mask:#x} changed, still {:?}", a.user),
                (other, false) => panic!("the genuine AUTHENTICATE refused: {other:?}"),
                (_, true) => {}
            }
        }
        2 => {
            let token = r.rest();
            let header = format!("Negotiate {}", b64_encode(token));
            let (v, _) = s.request(1, Some(header.as_bytes()));
            let seen = s.acceptor.0.lock().unwrap().clone();
            if let Some(last) = seen.last() {
                assert_eq!(last.as_slice(), token, "the acceptor got other bytes than the client's");
                assert!(matches!(token.first(), Some(0x60) | Some(0xa1)), "a non-DER token reached the acceptor");
            }
            if let Verdict::Authenticated(a) = &v {
                assert!(a.user.as_str() == "k@R" && token.ends_with(b"ok"), "{v:?}");
            }
            assert_eq!(b64_decode(header.as_bytes()[10..].as_ref()).as_deref(), Some(token));
        }
        _ => {
            // Connections 1-4 through a two-entry table; only the client's own AUTHENTICATE
            // (on the connection that got its CHALLENGE) authenticates, and only that
            // connection afterwards.
            let mut pending: [Option<Vec<u8>>; 4] = Default::default();
            let mut authenticated = [false; 4];
            for _ in 0..16 {
                let op = r.u8();
                let conn = (op & 3) as usize;
                let id = conn as u64 + 1;
                match op >> 2 & 3 {
                    0 => {
                        let neg = client.negotiate();
                        let (v, ch) = s.ntlm(id, &neg);
                        authenticated[conn] = false;
                        pending[conn] = ch.map(|c| client.authenticate(&neg, &c).0);
                        if pending[conn].is_none() {
                            assert!(matches!(v, Verdict::Challenge(ref c) if c.reason == Reason::HandshakeTableFull));
                        }
                    }
                    1 => {
                        // The AUTHENTICATE meant for connection `from`, sent on `conn`.
                        let from = (op >> 4 & 3) as usize;
                        if let Some(auth) = pending[from].clone() {
                            let (v, _) = s.ntlm(id, &auth);
                            if from == conn {
                                pending[conn] = None;
                                authenticated[conn] = !refused(&v);
                            } else {
                                // conn's own handshake, if any, is used up; an
                                // authentication it had stays.
                                assert!(refused(&v), "connection {conn} used {from}'s AUTHENTICATE");
                                pending[conn] = None;
                            }
                        }
                    }
                    2 => {
                        let (v, _) = s.request(id, None);
                        if !authenticated[conn] {
                            assert!(refused(&v), "connection {conn} never authenticated: {v:?}");
                        }
                    }
                    _ => {
                        HandshakeStore::forget(&s.table, id);
                        pending[conn] = None;
                        authenticated[conn] = false;
                    }
                }
            }
        }
    }
});
