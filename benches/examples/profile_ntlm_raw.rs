//! The raw-hashing counterpart of `profile_ntlm`: the same 2000 × (NT hash, NTOWFv2,
//! NTProofStr, session key, MIC) done directly with RustCrypto over messages of the same
//! lengths, for the instruction-count ratio under callgrind (`benches/ratio.sh`).
use std::hint::black_box;

use authgate_benches::raw_ntlm_work;
use authgate_tests::ntlm::NtlmClient;

fn main() {
    let client = NtlmClient::new("Mufasa", "Circle Of Life");
    let negotiate = client.negotiate();
    // A CHALLENGE as the engine writes it (same flags, target name, TargetInfo).
    let pending = authgate::ntlm::Pending::start(&negotiate, [7; 8], 1_700_000_000).unwrap();
    let mut challenge = [0u8; 256];
    let n = pending.write_challenge(&authgate::ntlm::target_name("home"), &mut challenge).unwrap();
    let challenge = &challenge[..n];
    let (auth, _) = client.authenticate(&negotiate, challenge);
    let at = u32::from_le_bytes(auth[24..28].try_into().unwrap()) as usize;
    let len = u16::from_le_bytes(auth[20..22].try_into().unwrap()) as usize;
    let (proof, blob) = auth[at..at + len].split_at(16);
    let password: Vec<u8> = "Circle Of Life".encode_utf16().flat_map(u16::to_le_bytes).collect();
    let identity: Vec<u8> = "MUFASAHOME".encode_utf16().flat_map(u16::to_le_bytes).collect();
    let mut acc = 0usize;
    for _ in 0..2000 {
        acc += raw_ntlm_work(
            black_box(&password),
            black_box(&identity),
            black_box(&[7; 8]),
            black_box(blob),
            black_box(proof),
            [black_box(&negotiate[..]), black_box(challenge), black_box(&auth[..])],
        );
    }
    black_box(acc);
}
