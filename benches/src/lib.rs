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
