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

/// The compact form's streaming hashers, as [`Hasher`] runs them: MD5 and SHA-256 in a
/// [`WordStream`]; SHA-512/256 (never on a device so far) as RustCrypto streams it.
#[derive(Clone)]
pub(crate) enum Stream {
    /// MD5 and SHA-256.
    Words(WordStream),
    #[cfg(feature = "sha512-256")]
    Sha512_256(sha2::Sha512_256),
}

impl Stream {
    /// A fresh hasher of an enabled family (SHA-256 for a disabled one).
    #[inline(never)]
    pub(crate) fn start(algorithm: HashAlgorithm) -> Self {
        match algorithm {
            #[cfg(feature = "sha512-256")]
            HashAlgorithm::Sha512_256 => Stream::Sha512_256(<sha2::Sha512_256 as sha2::Digest>::new()),
            a => Stream::Words(WordStream::start(cfg!(feature = "md5") && a == HashAlgorithm::Md5)),
        }
    }

    /// Feeds bytes.
    #[inline(always)]
    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            Stream::Words(h) => h.update(data),
            #[cfg(feature = "sha512-256")]
            Stream::Sha512_256(h) => sha2::Digest::update(h, data),
        }
    }

    /// Finishes the hash and resets it, in place.
    #[inline(always)]
    pub(crate) fn finish(&mut self) -> HashOutput {
        let mut out = HashOutput::zeroed(0);
        out.len = match self {
            Stream::Words(h) => h.finish(&mut out.bytes),
            #[cfg(feature = "sha512-256")]
            Stream::Sha512_256(h) => {
                sha2::digest::FixedOutputReset::finalize_into_reset(h, (&mut out.bytes).into());
                32
            }
        };
        out
    }
}

/// MD5 (RFC 1321) and SHA-256 (FIPS 180-4) streamed over RustCrypto's block functions
/// (`md5::block_api::compress`, `sha2::block_api::compress256`): the buffering and the
/// padding are written out here because RustCrypto's streaming types finish through a copy
/// of the last block and, for SHA-256, a second output (~150 bytes more on the deepest frame
/// of every check on a Cortex-M0+, where a check has 2 KiB), and link a second `memclr`. The
/// padding is the one both standards share (0x80, zeros, the length in bits in the last 8
/// bytes: little-endian for MD5, big-endian for SHA-256); the tests compare every length and
/// split with RustCrypto's own hashers.
#[derive(Clone)]
pub(crate) struct WordStream {
    /// The chaining state (MD5 uses the first four words).
    state: [u32; 8],
    /// The block being filled.
    block: [u8; 64],
    /// Blocks compressed since the start.
    blocks: u32,
    /// Bytes in `block`.
    pos: u8,
    md5: bool,
}

/// MD5's initial state (RFC 1321 §3.3).
const MD5_INIT: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];
/// SHA-256's initial state (FIPS 180-4 §5.3.3).
const SHA256_INIT: [u32; 8] =
    [0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19];

impl WordStream {
    /// A fresh MD5 (`md5`) or SHA-256 hash (built where it is returned).
    fn start(md5: bool) -> Self {
        WordStream { state: Self::initial(md5), block: [0; 64], blocks: 0, pos: 0, md5 }
    }

    /// The initial state (one table: a copy from flash, not words spelt out in code).
    fn initial(md5: bool) -> [u32; 8] {
        static INITIAL: [[u32; 8]; 2] = [SHA256_INIT, [MD5_INIT[0], MD5_INIT[1], MD5_INIT[2], MD5_INIT[3], 0, 0, 0, 0]];
        INITIAL[usize::from(md5)]
    }

    /// Back to the initial state.
    fn reset(&mut self) {
        self.state = Self::initial(self.md5);
        self.blocks = 0;
        self.pos = 0;
    }

    /// Compresses the full block.
    fn compress(&mut self) {
        let block = core::slice::from_ref(&self.block);
        #[cfg(feature = "md5")]
        if self.md5 {
            if let Some(s) = self.state.first_chunk_mut::<4>() {
                md5::block_api::compress(s, block);
            }
            return;
        }
        sha2::block_api::compress256(&mut self.state, block);
    }

    /// Feeds bytes: copied into the block, compressed each time it is full.
    #[inline(never)]
    fn update(&mut self, mut data: &[u8]) {
        loop {
            let pos = usize::from(self.pos) % 64;
            let Some((now, rest)) = data.split_at_checked((64 - pos).min(data.len())) else { return };
            if let Some(dst) = self.block.get_mut(pos..pos + now.len()) {
                dst.copy_from_slice(now);
            }
            data = rest;
            if pos + now.len() < 64 {
                self.pos = (pos + now.len()) as u8;
                return;
            }
            self.compress();
            self.blocks = self.blocks.wrapping_add(1);
            self.pos = 0;
        }
    }

    /// Pads, compresses the last block(s), writes the digest to the start of `out` (16 or 32
    /// bytes, which it returns) and starts afresh.
    #[inline(never)]
    fn finish(&mut self, out: &mut [u8; 32]) -> u8 {
        let pos = usize::from(self.pos) % 64;
        let bits = (u64::from(self.blocks) * 64 + pos as u64) * 8;
        let (used, free) = self.block.split_at_mut(pos);
        if let Some((first, rest)) = free.split_first_mut() {
            *first = 0x80;
            rest.fill(0);
        }
        let _ = used;
        // No room for the length after the 0x80: it goes in a block of its own.
        if pos >= 56 {
            self.compress();
            self.block = [0; 64];
        }
        if let Some(len) = self.block.last_chunk_mut::<8>() {
            *len = if self.md5 { bits.to_le_bytes() } else { bits.to_be_bytes() };
        }
        self.compress();
        let words = if self.md5 { 4 } else { 8 };
        for (o, w) in out.chunks_exact_mut(4).zip(&self.state[..words]) {
            o.copy_from_slice(&if self.md5 { w.to_le_bytes() } else { w.to_be_bytes() });
        }
        self.reset();
        4 * words as u8
    }
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

    /// The nonce tag (`crate::nonce`): HMAC-SHA256 (RFC 2104) of its head, realm and opaque,
    /// truncated, all in this one frame above the hashing's own: one SHA-256 state, fed the
    /// key's block a half at a time ([`key_block`](Self::key_block)), and one 32-byte buffer
    /// that takes the inner hash, then the outer one. Written out here rather than taken
    /// from the `hmac` crate because its `SimpleHmac` holds two hasher states and builds a
    /// third to finish (~900 bytes of stack on Cortex-M0+, the deepest frame of a check).
    /// The tests compare it with `hmac::Hmac<Sha256>`.
    #[inline(never)]
    pub(crate) fn tag(&self, issued: u64, unique: &[u8; 8], realm: &[u8], opaque: &[u8]) -> [u8; TAG_LEN] {
        const IPAD: u8 = 0x36;
        const OPAD: u8 = 0x5c;
        let mut h = WordStream::start(false);
        self.key_block(&mut h, IPAD);
        h.update(&tag_head(issued, unique, realm.len()));
        h.update(realm);
        h.update(opaque);
        let mut digest = [0u8; 32];
        h.finish(&mut digest);
        self.key_block(&mut h, OPAD);
        h.update(&digest);
        h.finish(&mut digest);
        truncated(&digest)
    }

    /// Feeds HMAC's key block: the key (shorter than the block, so zero-padded) XORed with
    /// `pad`, a half at a time through one 32-byte buffer. The second half is the first
    /// XORed with the key again (a fill with `pad` would be a `memset` call, linked for it).
    #[inline(never)]
    fn key_block(&self, h: &mut WordStream, pad: u8) {
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
    use super::WordStream;

    /// `WordStream` is MD5 and SHA-256: every length up to four blocks, fed in one piece and
    /// in three at every block edge, against RustCrypto's hashers; and `finish` starts the
    /// next value afresh.
    #[test]
    fn word_stream_is_md5_and_sha256() {
        use sha2::Digest;
        let data: [u8; 260] = core::array::from_fn(|i| (i as u8).wrapping_mul(151).wrapping_add(29));
        for md5 in [false, true] {
            if md5 && !cfg!(feature = "md5") {
                continue;
            }
            let want = |bytes: &[u8]| -> [u8; 32] {
                let mut out = [0u8; 32];
                #[cfg(feature = "md5")]
                if md5 {
                    out[..16].copy_from_slice(&md5::Md5::digest(bytes));
                    return out;
                }
                out.copy_from_slice(&sha2::Sha256::digest(bytes));
                out
            };
            let mut h = WordStream::start(md5);
            // Under Miri (slow), the lengths around the padding's edges only.
            let lens: &[usize] = if cfg!(miri) { &[0, 55, 56, 63, 64, 119, 120, 128] } else { &[] };
            for len in (0..=data.len()).filter(|l| !cfg!(miri) || lens.contains(l)) {
                let mut out = [0u8; 32];
                h.update(&data[..len]);
                assert_eq!(usize::from(h.finish(&mut out)), if md5 { 16 } else { 32 });
                assert_eq!(out, want(&data[..len]), "md5 {md5}, {len} in one piece");
                for cut in [1, 55, 56, 63, 64, 65, 127, 128, 129].into_iter().filter(|&c| c < len) {
                    let mid = cut + (len - cut) / 2;
                    h.update(&data[..cut]);
                    h.update(&data[cut..mid]);
                    h.update(&data[mid..len]);
                    let mut out = [0u8; 32];
                    h.finish(&mut out);
                    assert_eq!(out, want(&data[..len]), "md5 {md5}, {len} cut at {cut} and {mid}");
                }
            }
        }
    }

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
