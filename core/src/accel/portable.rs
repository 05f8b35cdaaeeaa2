//! The portable form: a byte at a time, out of line (microcontrollers, selected with
//! `--cfg authgate_backend="compact"`; built on hosts too, for the tests comparing the forms).

use crate::digest::Directive;
use crate::hash::{Gatherer, HashAlgorithm, HashOutput, Hasher};
use crate::nonce::{tag_head, truncated, TAG_LEN};
use crate::parse::{eq_ignore_case, skip_class, QDTEXT};

/// The index of the first byte at or after `i` in `body` that is not `qdtext`.
#[inline]
pub(crate) fn skip_qdtext(body: &[u8], i: usize) -> usize {
    skip_class(body, i, QDTEXT)
}

/// No shortcut: the case-insensitive rule decides.
#[inline(always)]
pub(crate) fn usual_algorithm(_name: &[u8]) -> Option<crate::Algorithm> {
    None
}

/// No shortcut: the scan decides.
#[inline(always)]
pub(crate) fn surely_not_token68(_s: &[u8]) -> bool {
    false
}

/// No shortcut: the separator loops decide.
#[inline(always)]
pub(crate) fn comma_space_before_name(_body: &[u8], _i: usize) -> bool {
    false
}

/// No shortcut: the scheme is found by the scan.
#[inline(always)]
pub(crate) fn starts_with_digest_word(_value: &[u8]) -> bool {
    false
}

/// Whether the scheme word is `name`, ignoring ASCII case.
#[inline(always)]
pub(crate) fn scheme_is(scheme: &[u8], name: &[u8]) -> bool {
    eq_ignore_case(scheme, name)
}

/// No shortcut: directive names are read by the byte rule, then [`directive_in`].
#[inline(always)]
pub(crate) fn directive_at(_body: &[u8], _start: usize) -> Option<(Directive, usize)> {
    None
}

/// The directive named at `start..end` in `body`.
#[inline(always)]
pub(crate) fn directive_in(body: &[u8], start: usize, end: usize) -> Option<Directive> {
    Directive::of(body.get(start..end)?)
}

/// `a == b`, for values that are not secret.
#[inline(always)]
pub(crate) fn eq_short(a: &[u8], b: &[u8]) -> bool {
    a == b
}

/// No shortcut for an unescaped value: the segment rule decides.
#[inline(always)]
pub(crate) fn eq_unescaped(_raw: &[u8], _other: &[u8]) -> Option<bool> {
    None
}

/// Lower-case hex of `bytes` into the start of `out`: a digit at a time from a 16-byte table,
/// one copy for every caller.
#[inline(never)]
pub(crate) fn encode_hex(bytes: &[u8], out: &mut [u8]) {
    crate::hash::encode_hex_digits(bytes, out)
}

/// [`HashOutput::decode_hex`] of a value of valid length: a digit pair at a time, straight
/// into the value (no buffer of digits, as the word form's vectorized loops need). Invalid
/// digits are collected and refused at the end.
pub(crate) fn decode_hex(hex: &[u8], upper: bool) -> Option<HashOutput> {
    let mut out = HashOutput::zeroed(hex.len() / 2);
    let fold = if upper { 0x20 } else { 0 };
    let mut invalid = 0u8;
    for (o, pair) in out.bytes.iter_mut().zip(hex.chunks_exact(2)) {
        for &c in pair {
            let digit = c.wrapping_sub(b'0');
            let letter = (c | fold).wrapping_sub(b'a');
            invalid |= u8::from(digit >= 10 && letter >= 6);
            *o = (*o << 4) | (if digit < 10 { digit } else { letter.wrapping_add(10) } & 15);
        }
    }
    (invalid == 0).then_some(out)
}

/// HMAC-SHA256 for JWT's HS256 (keys of any length): the `hmac` crate's `SimpleHmac` over
/// [`SharedSha256`], so the MAC links no hashing code of its own.
#[cfg(any(test, feature = "jwt"))]
pub(crate) type Hs256 = hmac::SimpleHmac<SharedSha256>;

/// `sha2::Sha256` through the engine's [`Hasher`]: the same hashing, called rather than
/// inlined.
#[cfg(any(test, feature = "jwt"))]
#[derive(Clone)]
pub(crate) struct SharedSha256(Hasher);

#[cfg(any(test, feature = "jwt"))]
mod shared_sha256 {
    use super::{Hasher, SharedSha256};
    use hmac::digest::common::BlockSizeUser;
    use hmac::digest::{FixedOutput, HashMarker, Output, OutputSizeUser, Update};

    impl Default for SharedSha256 {
        fn default() -> Self {
            // Out of line: the initial state is not spelt out at each use.
            SharedSha256(Hasher::start(crate::hash::HashAlgorithm::Sha256))
        }
    }
    impl HashMarker for SharedSha256 {}
    impl BlockSizeUser for SharedSha256 {
        type BlockSize = <sha2::Sha256 as BlockSizeUser>::BlockSize;
    }
    impl OutputSizeUser for SharedSha256 {
        type OutputSize = <sha2::Sha256 as OutputSizeUser>::OutputSize;
    }
    impl Update for SharedSha256 {
        fn update(&mut self, data: &[u8]) {
            self.0.update(data);
        }
    }
    impl FixedOutput for SharedSha256 {
        fn finalize_into(mut self, out: &mut Output<Self>) {
            let h = self.0.finish();
            out.copy_from_slice(h.as_bytes());
        }
    }
}

/// The nonce MAC's key, keyed per use (no state of ~200 bytes to keep or copy).
#[derive(Clone)]
// Word-aligned: copied as words (as bytes, the engine's moves of it became a `memmove`
// call, which links 1.3 KiB of builtins on Cortex-M0+).
#[repr(align(4))]
pub(crate) struct NonceMac([u8; 32]);

impl NonceMac {
    /// The key.
    pub(crate) fn new(key: &[u8; 32]) -> Self {
        NonceMac(*key)
    }

    /// The nonce tag (`crate::nonce`): the MAC of its head, realm and opaque, truncated, all
    /// in this one frame (the head, the hasher, the inner hash) above the hashing's own.
    #[inline(never)]
    pub(crate) fn tag(&self, issued: u64, unique: &[u8; 8], realm: &[u8], opaque: &[u8]) -> [u8; TAG_LEN] {
        let head = tag_head(issued, unique, realm.len());
        truncated(self.hmac([&head, realm, opaque]).as_bytes())
    }

    /// HMAC-SHA256 of the parts (see [`hmac`](Self::hmac)), for the tests comparing the forms.
    #[cfg(test)]
    pub(crate) fn mac(&self, parts: [&[u8]; 3]) -> [u8; 32] {
        self.hmac(parts).bytes
    }

    /// HMAC-SHA256 (RFC 2104) of the parts, in order, through the engine's one out-of-line
    /// SHA-256 hasher: the inner hash, once finished, leaves the hasher fresh for the outer
    /// one. Written out here rather than taken from the `hmac` crate because its
    /// `SimpleHmac` holds two hasher states and builds a third to finish (~900 bytes of
    /// stack on Cortex-M0+, the deepest frame of a check); this holds one, the inner hash and
    /// nothing of the key's block (fed a half at a time). The tests compare it with
    /// `hmac::Hmac<Sha256>`.
    #[inline(always)]
    fn hmac(&self, parts: [&[u8]; 3]) -> HashOutput {
        const IPAD: u8 = 0x36;
        const OPAD: u8 = 0x5c;
        let mut h = Hasher::sha256();
        self.key_block(&mut h, IPAD);
        for part in parts {
            if !part.is_empty() {
                h.update(part);
            }
        }
        let inner = h.finish();
        self.key_block(&mut h, OPAD);
        h.update(inner.as_bytes());
        h.finish()
    }

    /// Feeds HMAC's key block: the key (shorter than the block, so zero-padded) XORed with
    /// `pad`, a half at a time through one 32-byte buffer. The second half is the first
    /// XORed with the key again (a fill with `pad` would be a `memset` call, linked for it).
    #[inline(never)]
    fn key_block(&self, h: &mut Hasher, pad: u8) {
        let mut half = self.0;
        for b in &mut half {
            *b ^= pad;
        }
        h.update(&half);
        for (b, k) in half.iter_mut().zip(&self.0) {
            *b ^= k;
        }
        h.update(&half);
    }
}

/// Runs `$body` with `$g` a fresh gatherer of `$alg`'s family: on microcontrollers one
/// [`DirectGather`] for every family.
macro_rules! with_gather_portable {
    ($alg:expr, $g:ident => $body:expr) => {{
        let mut $g = $crate::accel::portable::DirectGather::start($alg);
        $body
    }};
}
pub(crate) use with_gather_portable as with_gather;

impl Gatherer for DirectGather {
    /// Appends `bytes`.
    fn put(&mut self, bytes: &[u8]) {
        self.h.update(bytes);
    }

    /// Appends `bytes` and `:`.
    fn put_colon(&mut self, bytes: &[u8]) {
        self.h.update(bytes);
        self.h.update(b":");
    }

    /// Appends the lower-case hex of `value` (Digest hashes hex, not bytes).
    fn put_hex(&mut self, value: &HashOutput) {
        self.h.update_hex(value);
    }

    /// Finishes the hash and starts the next value of the same family.
    fn finish(&mut self) -> HashOutput {
        self.h.finish()
    }
}

/// [`Gather`]'s interface with every piece fed straight to the hasher: the microcontrollers'
/// gatherer (no buffer to clear, fill and flush, which is the smaller code there), built on
/// hosts too for its tests.
pub(crate) struct DirectGather {
    h: Hasher,
}

impl DirectGather {
    /// A fresh hasher of an enabled family (see [`Hasher::start`]).
    pub(crate) fn start(algorithm: HashAlgorithm) -> Self {
        DirectGather { h: Hasher::start(algorithm) }
    }
}

#[cfg(test)]
mod tests {
    /// The compact HS256 (`SimpleHmac` over the engine's `Hasher`) is HMAC-SHA256: against
    /// the block-level `Hmac`, with keys and messages of lengths around the block size.
    #[test]
    fn hs256_is_hmac_sha256() {
        use hmac::{KeyInit, Mac};
        for key_len in [0, 1, 32, 63, 64, 65, 100] {
            let key: [u8; 100] = core::array::from_fn(|i| (i as u8).wrapping_mul(73) ^ key_len as u8);
            for msg_len in [0, 1, 55, 56, 64, 65, 200] {
                let msg: [u8; 200] = core::array::from_fn(|i| (i as u8).wrapping_mul(11).wrapping_add(msg_len as u8));
                let mut a = <super::Hs256 as KeyInit>::new_from_slice(&key[..key_len]).unwrap();
                let mut b = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key[..key_len]).unwrap();
                a.update(&msg[..msg_len]);
                b.update(&msg[..msg_len]);
                assert_eq!(
                    a.finalize().into_bytes()[..],
                    b.finalize().into_bytes()[..],
                    "key {key_len}, msg {msg_len}"
                );
            }
        }
    }
}
