//! Shared pieces of the benchmarks (Criterion in `benches/`, callgrind workloads in
//! `examples/`): the raw hashing a Digest check cannot avoid.

use hmac::{KeyInit, Mac};

/// Hex into a fixed buffer, as the engine does: no allocation on either side.
fn to_hex<'a>(d: &[u8], out: &'a mut [u8; 64]) -> &'a [u8] {
    const H: &[u8; 16] = b"0123456789abcdef";
    for (pair, b) in out.chunks_exact_mut(2).zip(d) {
        pair[0] = H[(b >> 4) as usize];
        pair[1] = H[(b & 15) as usize];
    }
    &out[..2 * d.len()]
}

fn digest_blocks<D: sha2::Digest>(nonce: &[u8]) -> usize {
    let (mut b1, mut b2, mut b3) = ([0u8; 64], [0u8; 64], [0u8; 64]);
    let ha1 = D::new().chain_update(b"Mufasa:testrealm@host.com:Circle Of Life").finalize();
    let ha1 = to_hex(&ha1, &mut b1);
    let ha2 = D::new().chain_update(b"GET:/dir/index.html").finalize();
    let ha2 = to_hex(&ha2, &mut b2);
    let resp = D::new()
        .chain_update(ha1)
        .chain_update(b":")
        .chain_update(nonce)
        .chain_update(b":00000001:0a4f113b:auth:")
        .chain_update(ha2)
        .finalize();
    let ha2r = D::new().chain_update(b":/dir/index.html").finalize();
    let ha2r = to_hex(&ha2r, &mut b3);
    let rsp = D::new()
        .chain_update(ha1)
        .chain_update(b":")
        .chain_update(nonce)
        .chain_update(b":00000001:0a4f113b:auth:")
        .chain_update(ha2r)
        .finalize();
    resp[0] as usize + rsp[0] as usize
}

/// The hash work of one successful Digest check with a plaintext store, done directly with
/// the RustCrypto crates: HA1, HA2, the response, rspauth's HA2 and digest (mutual
/// authentication), and the nonce's HMAC-SHA256 from a precomputed keyed state (as the
/// engine keeps it). `alg` is `MD5`, `SHA-256` or `SHA-512-256`.
pub fn raw_digest_work(alg: &str, nonce: &[u8]) -> usize {
    thread_local! {
        static KEY: hmac::Hmac<sha2::Sha256> = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&[0x42; 32]).unwrap();
    }
    let mac = KEY.with(|k| {
        let mut m = k.clone();
        m.update(b"authgate nonce v1");
        m.update(&1_700_000_000u64.to_be_bytes());
        m.update(&[9; 8]);
        m.update(&18u32.to_be_bytes());
        m.update(b"testrealm@host.com");
        m.finalize().into_bytes()[0] as usize
    });
    mac + match alg {
        "MD5" => digest_blocks::<md5::Md5>(nonce),
        "SHA-256" => digest_blocks::<sha2::Sha256>(nonce),
        "SHA-512-256" => digest_blocks::<sha2::Sha512_256>(nonce),
        other => panic!("unknown algorithm {other}"),
    }
}

/// HMAC-MD5 over `parts` (outside `raw_ntlm_work`: callgrind's --toggle-collect would stop
/// collecting inside a closure whose name matches its pattern).
fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    let mut m = <hmac::Hmac<md5::Md5> as KeyInit>::new_from_slice(key).unwrap();
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

/// The hash work of one successful NTLMv2 check with a plaintext store and a MIC, done
/// directly with the RustCrypto crates: the NT hash (MD4 of the UTF-16LE password),
/// NTOWFv2, NTProofStr over the server challenge and the client's blob, the session base
/// key, and the MIC over the three messages (the AUTHENTICATE with its MIC zeroed).
/// `identity` is UTF-16LE(upper(user) ‖ domain).
#[inline(never)]
pub fn raw_ntlm_work(
    password_utf16: &[u8],
    identity: &[u8],
    server_challenge: &[u8; 8],
    blob: &[u8],
    proof: &[u8],
    messages: [&[u8]; 3],
) -> usize {
    use md4::Digest as _;
    let mac = hmac_md5;
    let nt = md4::Md4::digest(password_utf16);
    let ntowf = mac(&nt, &[identity]);
    let expected = mac(&ntowf, &[server_challenge, blob]);
    let session = mac(&ntowf, &[proof]);
    let mic = mac(&session, &messages);
    expected[0] as usize + mic[0] as usize
}
