//! A fixed workload for instruction-level profiling (`valgrind --tool=callgrind`): 2000 NTLM
//! handshakes through `Engine::check_connection`, the AUTHENTICATE check of each measured
//! (the NEGOTIATE round and the client's work are not). The client is the conformance
//! tests' independent NTLMv2 client, with a MIC.
use std::cell::RefCell;
use std::sync::Mutex;

use authgate::{
    Config, Connection, Context, Engine, HandshakeStore, HandshakeTable, ReplayTable, Request, Scheme, StaticUsers,
    Verdict,
};
use authgate_tests::ntlm::NtlmClient;
use base64::Engine as _;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn main() {
    let config = Config::new("home").unwrap().schemes(&[Scheme::Ntlm]).unwrap();
    let users = StaticUsers::new(&[("Mufasa", "Circle Of Life")]);
    let engine = Engine::new(config, &[0x42; 32], users, Mutex::new(ReplayTable::<4>::new())).unwrap();
    let table = RefCell::new(HandshakeTable::<64>::new());
    let client = NtlmClient::new("Mufasa", "Circle Of Life");
    let negotiate = format!("NTLM {}", B64.encode(client.negotiate()));
    let mut scratch = vec![0u8; Connection::NTLM_SCRATCH];
    for id in 1..=2000u64 {
        let ctx = Context { now: 1_700_000_000, salt: id.to_le_bytes() };
        let mut conn = Connection::new(id, &mut scratch).handshakes(&table);
        engine.check_connection(&Request::new("GET", "/", Some(negotiate.as_bytes())), ctx, &mut conn);
        let challenge = conn.token().expect("a CHALLENGE").bytes.to_vec();
        let (auth, _) = client.authenticate(&client.negotiate(), &challenge);
        let header = format!("NTLM {}", B64.encode(auth));
        let mut conn = Connection::new(id, &mut scratch).handshakes(&table);
        assert!(matches!(one_check(&engine, header.as_bytes(), ctx, &mut conn), Verdict::Authenticated(_)));
        table.forget(id);
    }
}

/// The measured unit (`ratio.sh` collects inside this function only).
#[inline(never)]
fn one_check<S: authgate::CredentialStore, R: authgate::ReplayStore>(
    engine: &Engine<S, R>,
    header: &[u8],
    ctx: Context,
    conn: &mut Connection<'_>,
) -> Verdict {
    engine.check_connection(&Request::new("GET", "/", Some(header)), ctx, conn)
}
