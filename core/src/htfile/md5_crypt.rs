//! MD5-crypt: Apache's `$apr1$` and its glibc twin `$1$` (same algorithm, another magic).
//!
//! Hand-written: a short loop over the md-5 crate the core already links, as no crate
//! offers it without alloc (pwhash needs std and older RustCrypto releases).

use md5::{Digest, Md5};

/// The stored salt: at most 8 characters.
pub(crate) const MAX_SALT: usize = 8;

/// Where each byte of the final digest goes in the encoded string's byte stream (the
/// `to64` groups `(0,6,12) (1,7,13) (2,8,14) (3,9,15) (4,10,5) (11)`, low byte first).
pub(crate) const ORDER: [usize; 16] = [12, 6, 0, 13, 7, 1, 14, 8, 2, 15, 9, 3, 5, 10, 4, 11];

/// The raw 16-byte digest of `password` with `magic` (`$apr1$` or `$1$`) and `salt`.
pub(crate) fn md5_crypt(magic: &[u8], password: &[u8], salt: &[u8]) -> [u8; 16] {
    let mut alt = Md5::new();
    alt.update(password);
    alt.update(salt);
    alt.update(password);
    let alt = alt.finalize();

    let mut ctx = Md5::new();
    ctx.update(password);
    ctx.update(magic);
    ctx.update(salt);
    let mut left = password.len();
    while left > 0 {
        let n = left.min(16);
        ctx.update(&alt[..n]);
        left -= n;
    }
    let mut i = password.len();
    while i != 0 {
        // A NUL byte or the password's first byte, by the bits of its length.
        if i & 1 != 0 {
            ctx.update([0u8]);
        } else {
            ctx.update(&password[..1]);
        }
        i >>= 1;
    }
    let mut fin: [u8; 16] = ctx.finalize().into();

    for round in 0..1000u32 {
        let mut h = Md5::new();
        if round & 1 != 0 {
            h.update(password);
        } else {
            h.update(fin);
        }
        if round % 3 != 0 {
            h.update(salt);
        }
        if round % 7 != 0 {
            h.update(password);
        }
        if round & 1 != 0 {
            h.update(fin);
        } else {
            h.update(password);
        }
        fin = h.finalize().into();
    }
    fin
}
