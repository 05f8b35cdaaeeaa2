//! The raw-hashing counterpart of `profile_digest`: the same 2000 × (HA1, HA2, response,
//! rspauth HA2 and digest, nonce HMAC) done directly with RustCrypto, for an instruction-count
//! ratio under callgrind (`benches/ratio.sh`).
use std::hint::black_box;

use authgate_benches::raw_digest_work;

fn main() {
    let alg = std::env::args().nth(1).unwrap_or_else(|| "SHA-256".into());
    let mut acc = 0usize;
    for _ in 0..2000 {
        acc += raw_digest_work(
            black_box(&alg),
            black_box(b"000000006553f1000909090909090909d6e2f1f0fb2c3ba0b7c2a4e1d3a8f9c4"),
        );
    }
    black_box(acc);
}
