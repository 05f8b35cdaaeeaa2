//! The hash functions Digest uses, behind one streaming type.
//!
//! Every family can be compiled out with a Cargo feature; asking for a disabled family
//! yields `None`, which the engine treats like an unknown algorithm.

/// A hash family usable for Digest (RFC 7616 §3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// MD5 (RFC 1321). Still offered for old clients; never the first choice.
    Md5,
    /// SHA-256 (FIPS 180-4).
    Sha256,
    /// SHA-512/256 (FIPS 180-4 §5.3.6): *not* a truncated SHA-512 and not SHA-256.
    Sha512_256,
}

impl HashAlgorithm {
    /// Length of the binary output in bytes.
    pub const fn output_len(self) -> usize {
        match self {
            HashAlgorithm::Md5 => 16,
            HashAlgorithm::Sha256 | HashAlgorithm::Sha512_256 => 32,
        }
    }

    /// Whether this build includes the family.
    pub const fn is_enabled(self) -> bool {
        match self {
            HashAlgorithm::Md5 => cfg!(feature = "md5"),
            HashAlgorithm::Sha256 => cfg!(feature = "sha256"),
            HashAlgorithm::Sha512_256 => cfg!(feature = "sha512-256"),
        }
    }
}

/// Longest output of any supported hash.
pub const MAX_HASH_LEN: usize = 32;

/// A finished hash value (16 or 32 bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
// Word-aligned: moving one is word loads and stores instead of byte ones on Cortex-M0+.
#[repr(align(4))]
pub struct HashOutput {
    pub(crate) bytes: [u8; MAX_HASH_LEN],
    pub(crate) len: u8,
}

impl core::fmt::Debug for HashOutput {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.to_hex().as_str())
    }
}

impl HashOutput {
    /// `len` zero bytes (at most [`MAX_HASH_LEN`]): a stand-in where a value must exist.
    pub const fn zeroed(len: usize) -> Self {
        let len = if len > MAX_HASH_LEN { MAX_HASH_LEN } else { len };
        HashOutput { bytes: [0; MAX_HASH_LEN], len: len as u8 }
    }

    /// Wraps raw bytes; `None` when longer than [`MAX_HASH_LEN`].
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        if bytes.len() > MAX_HASH_LEN {
            return None;
        }
        let mut out = HashOutput { bytes: [0; MAX_HASH_LEN], len: bytes.len() as u8 };
        out.bytes[..bytes.len()].copy_from_slice(bytes);
        Some(out)
    }

    /// Parses lower- or upper-case hex; `None` unless it is 1..=32 bytes of valid hex.
    pub fn from_hex(hex: &[u8]) -> Option<Self> {
        Self::decode_hex(hex, true)
    }

    /// [`from_hex`](Self::from_hex), lower-case digits only when `upper` is false (one
    /// spelling per value: how nonces are read).
    #[cfg_attr(not(authgate_backend = "compact"), inline(always))]
    pub(crate) fn decode_hex(hex: &[u8], upper: bool) -> Option<Self> {
        if hex.is_empty() || !hex.len().is_multiple_of(2) || hex.len() > 2 * MAX_HASH_LEN {
            return None;
        }
        crate::accel::decode_hex(hex, upper)
    }

    /// Constant-time equality of two values of the same length (lengths are public): the
    /// whole buffers, unused bytes being zero in every value.
    pub(crate) fn ct_eq(&self, other: &HashOutput) -> bool {
        self.len == other.len && bool::from(ct_eq_words(&self.bytes, &other.bytes))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        // `len` never exceeds the buffer; `min` says so to the compiler, so no panic path is
        // inlined into every caller.
        &self.bytes[..usize::from(self.len).min(MAX_HASH_LEN)]
    }

    /// Lower-case hex, as Digest transmits hash values.
    // One copy in the compact form (LTO also inlined one into the Authentication-Info renderer).
    #[cfg_attr(authgate_backend = "compact", inline(never))]
    pub fn to_hex(&self) -> Hex {
        let mut hex = Hex { buf: [0; 2 * MAX_HASH_LEN], len: 2 * self.len };
        encode_hex(self.as_bytes(), &mut hex.buf);
        hex
    }
}

/// Constant-time equality of two byte arrays (`N` is a multiple of 8): the words' XORs are
/// OR-ed together without a branch, and one `subtle` comparison of the result with zero
/// answers (instead of one per word, or per byte).
pub(crate) fn ct_eq_words<const N: usize>(a: &[u8; N], b: &[u8; N]) -> subtle::Choice {
    use subtle::ConstantTimeEq;
    const W: usize = core::mem::size_of::<usize>();
    let word = |c: &[u8]| usize::from_le_bytes(c.try_into().unwrap_or([0; W]));
    let mut diff = 0usize;
    for (x, y) in a.chunks_exact(W).zip(b.chunks_exact(W)) {
        diff |= word(x) ^ word(y);
    }
    diff.ct_eq(&0)
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

pub(crate) use crate::accel::encode_hex;

/// Lower-case hex of `bytes` into the start of `out` (which holds at least twice as many), a
/// digit at a time from the 16-byte table.
pub(crate) fn encode_hex_digits(bytes: &[u8], out: &mut [u8]) {
    for (pair, &b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX_DIGITS[(b >> 4) as usize];
        pair[1] = HEX_DIGITS[(b & 15) as usize];
    }
}

pub(crate) fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Lower-case hex text of a [`HashOutput`], without allocation.
#[derive(Clone, Copy, PartialEq, Eq)]
// Word-aligned: moving one is word loads and stores instead of byte ones on Cortex-M0+.
#[repr(align(4))]
pub struct Hex {
    pub(crate) buf: [u8; 2 * MAX_HASH_LEN],
    pub(crate) len: u8,
}

impl Hex {
    /// The hex digits.
    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever written.
        core::str::from_utf8(self.as_bytes()).unwrap_or("")
    }
    /// The hex digits as bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..usize::from(self.len).min(2 * MAX_HASH_LEN)]
    }
}

impl core::fmt::Debug for Hex {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A streaming hash of one of the Digest families. The streaming itself is a form of the
/// `accel` module: RustCrypto's streaming hashers in the word form; in the compact form,
/// MD5 and SHA-256 buffered over RustCrypto's block functions with nothing on the stack but
/// the state (see `accel::portable::WordStream`).
#[derive(Clone)]
pub struct Hasher(crate::accel::Stream);

impl Hasher {
    /// A fresh hasher, or `None` when the family is compiled out.
    #[inline]
    pub fn new(algorithm: HashAlgorithm) -> Option<Self> {
        algorithm.is_enabled().then(|| Self::start(algorithm))
    }

    /// A fresh hasher of an enabled family (SHA-256 for a disabled one: callers check
    /// [`HashAlgorithm::is_enabled`] first). Returned straight into the caller's slot, not
    /// moved out of an `Option`.
    #[inline(always)]
    pub(crate) fn start(algorithm: HashAlgorithm) -> Self {
        Hasher(crate::accel::Stream::start(algorithm))
    }

    /// SHA-256 whatever the features: for comparing secrets through digests.
    pub(crate) fn sha256() -> Self {
        Self::start(HashAlgorithm::Sha256)
    }

    /// Feeds bytes.
    #[inline(always)]
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data)
    }

    /// Feeds the lower-case hex of a hash value (Digest hashes hex, not bytes).
    pub fn update_hex(&mut self, value: &HashOutput) {
        let mut buf = [0u8; 2 * MAX_HASH_LEN];
        let n = 2 * value.as_bytes().len();
        encode_hex(value.as_bytes(), &mut buf);
        self.update(&buf[..n]);
    }

    /// `bytes` followed by `:`, in one piece when short (method, nonce, nc).
    pub(crate) fn update_colon(&mut self, bytes: &[u8]) {
        let mut buf = [0u8; 64];
        match buf.get_mut(..bytes.len()) {
            Some(dst) if bytes.len() < 64 => {
                dst.copy_from_slice(bytes);
                buf[bytes.len()] = b':';
                self.update(&buf[..bytes.len() + 1]);
            }
            _ => {
                self.update(bytes);
                self.update(b":");
            }
        }
    }

    /// Finishes the hash.
    #[inline]
    pub fn finalize(mut self) -> HashOutput {
        self.finish()
    }

    /// Finishes the hash through `&mut self` (no copy of the state into a call) and leaves
    /// the hasher fresh, ready for the next value of the same family: finished and reset in
    /// place, with no second state on the stack. Unused output bytes stay zero, as `ct_eq`
    /// expects.
    #[inline(always)]
    pub(crate) fn finish(&mut self) -> HashOutput {
        self.0.finish()
    }
}

/// What the Digest computations ask of a gatherer (`accel`: a block buffer, or the hasher itself).
pub(crate) trait Gatherer {
    /// Appends `bytes`.
    fn put(&mut self, bytes: &[u8]);
    /// Appends `bytes` and `:`.
    fn put_colon(&mut self, bytes: &[u8]);
    /// Appends the lower-case hex of `value`.
    fn put_hex(&mut self, value: &HashOutput);
    /// Finishes the hash and starts the next value of the same family.
    fn finish(&mut self) -> HashOutput;
}

/// SHA-256 of `data`, used to compare secrets of unequal length in constant time.
pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Hasher::sha256();
    for p in parts {
        h.update(p);
    }
    h.finish().bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore)] // 65 lengths x 256 seeds of hex round trips: over 3 min interpreted (make miri).
    fn hex_round_trips_every_length_and_byte() {
        for len in 0..=MAX_HASH_LEN {
            for seed in 0..=255u8 {
                let bytes: [u8; MAX_HASH_LEN] =
                    core::array::from_fn(|i| seed.wrapping_mul(31).wrapping_add((i as u8).wrapping_mul(17)));
                let h = HashOutput::from_slice(&bytes[..len]).unwrap();
                let hex = h.to_hex();
                assert_eq!(hex.as_bytes().len(), 2 * len);
                for (pair, b) in hex.as_bytes().chunks(2).zip(&bytes[..len]) {
                    assert_eq!(pair, [HEX_DIGITS[(b >> 4) as usize], HEX_DIGITS[(b & 15) as usize]]);
                }
                if len > 0 {
                    assert_eq!(HashOutput::from_hex(hex.as_bytes()), Some(h));
                    let upper: [u8; 2 * MAX_HASH_LEN] = core::array::from_fn(|i| hex.buf[i].to_ascii_uppercase());
                    assert_eq!(HashOutput::from_hex(&upper[..2 * len]), Some(h));
                }
            }
        }
    }

    /// `finish` (old state finished, a fresh one swapped in) gives the crate's own digest of
    /// the bytes fed, and leaves a fresh hasher of the same family behind.
    #[test]
    fn finish_is_the_digest_and_starts_afresh() {
        use sha2::Digest as _;
        fn reference(alg: HashAlgorithm, bytes: &[u8]) -> HashOutput {
            match alg {
                #[cfg(feature = "md5")]
                HashAlgorithm::Md5 => HashOutput::from_slice(&md5::Md5::digest(bytes)).unwrap(),
                #[cfg(feature = "sha512-256")]
                HashAlgorithm::Sha512_256 => HashOutput::from_slice(&sha2::Sha512_256::digest(bytes)).unwrap(),
                _ => HashOutput::from_slice(&sha2::Sha256::digest(bytes)).unwrap(),
            }
        }
        let data: [u8; 300] = core::array::from_fn(|i| (i as u8).wrapping_mul(13).wrapping_add(5));
        for alg in [HashAlgorithm::Md5, HashAlgorithm::Sha256, HashAlgorithm::Sha512_256] {
            if !alg.is_enabled() {
                continue;
            }
            for len in [0, 1, 55, 56, 64, 111, 112, 128, 300] {
                let mut a = Hasher::start(alg);
                a.update(&data[..len]);
                let first = a.finish();
                assert_eq!(first.as_bytes().len(), alg.output_len());
                assert_eq!(first, reference(alg, &data[..len]), "{alg:?} {len}");
                a.update(&data[len..]);
                assert_eq!(a.finish(), reference(alg, &data[len..]), "{alg:?} {len} again");
            }
        }
    }

    /// One case of `gather_hashes_like_one_update` for a gatherer.
    #[allow(clippy::too_many_arguments)]
    fn gather_case<G: Gatherer>(
        name: &str,
        g: &mut G,
        alg: HashAlgorithm,
        data: &[u8],
        value: &HashOutput,
        short: &HashOutput,
        first: usize,
        second: usize,
    ) {
        let (hex, short_hex) = (value.to_hex(), short.to_hex());
        g.put(&data[..first]);
        g.put_hex(value);
        g.put_colon(&data[first..first + second]);
        g.put_hex(short);
        g.put(b":");
        g.put(&data[..second]);
        g.put_hex(value);
        g.put(b":");
        g.put_hex(short);
        let mut whole = Hasher::start(alg);
        whole.update(&data[..first]);
        whole.update(hex.as_bytes());
        whole.update(&data[first..first + second]);
        whole.update(b":");
        whole.update(short_hex.as_bytes());
        whole.update(b":");
        whole.update(&data[..second]);
        whole.update(hex.as_bytes());
        whole.update(b":");
        whole.update(short_hex.as_bytes());
        assert_eq!(g.finish(), whole.finish(), "{name} {alg:?} {first} {second}");
        // `finish` starts the next value.
        g.put(&data[..first]);
        whole.update(&data[..first]);
        assert_eq!(g.finish(), whole.finish(), "{name} {alg:?} {first} again");
    }

    /// Gathered pieces hash like the same bytes in one update, whatever the lengths around
    /// the buffer's edge (pieces longer than the buffer, several buffers in one piece, hex
    /// that crosses the edge or is written in place, empty pieces) and whatever is left for
    /// the last, padded block (the word form's `Gather` runs the block functions itself: this
    /// compares it with the crates' streaming hashers); so do the pieces of the
    /// portable form's `DirectGather`.
    #[test]
    fn gather_hashes_like_one_update() {
        let data: [u8; 1000] = core::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(11));
        let value = HashOutput::from_slice(&data[..32]).unwrap();
        // A 16-byte value's hex: fixed-size copies of the whole hex buffer must not count
        // the bytes past it.
        let short = HashOutput::from_slice(&data[100..116]).unwrap();
        // Under Miri (minutes per hundred cases interpreted) the buffer edges only.
        let (firsts, seconds): (&[usize], &[usize]) = if cfg!(miri) {
            (&[0, 64, 255, 257, 513], &[0, 32, 300])
        } else {
            (
                &[0, 1, 63, 64, 127, 128, 200, 224, 225, 255, 256, 257, 300, 511, 512, 513, 640],
                &[0, 1, 31, 32, 100, 256, 300],
            )
        };
        for alg in [HashAlgorithm::Md5, HashAlgorithm::Sha256, HashAlgorithm::Sha512_256] {
            if !alg.is_enabled() {
                continue;
            }
            for &first in firsts {
                for &second in seconds {
                    crate::accel::word::with_gather!(alg, g => gather_case("Gather", &mut g, alg, &data, &value, &short, first, second));
                    crate::accel::portable::with_gather!(alg, g => gather_case("DirectGather", &mut g, alg, &data, &value, &short, first, second));
                }
            }
        }
    }

    /// Equal arrays compare equal; a change of any bit of any byte is seen.
    #[test]
    fn ct_eq_words_sees_every_bit() {
        let a: [u8; 32] = core::array::from_fn(|i| (i as u8).wrapping_mul(73));
        assert!(bool::from(ct_eq_words(&a, &a)));
        for i in 0..32 {
            for bit in 0..8 {
                let mut b = a;
                b[i] ^= 1 << bit;
                assert!(!bool::from(ct_eq_words(&a, &b)), "byte {i} bit {bit}");
            }
        }
    }

    #[test]
    fn from_hex_refuses_exactly_the_non_hex_bytes() {
        for c in 0..=255u8 {
            for pos in 0..4 {
                let mut hex = *b"a0F9";
                hex[pos] = c;
                let expected = hex.iter().all(u8::is_ascii_hexdigit);
                assert_eq!(HashOutput::from_hex(&hex).is_some(), expected, "{c:#x} at {pos}");
            }
        }
    }

    /// Every byte at every position of a full-length value, in both modes; the value
    /// decoded when accepted.
    #[test]
    #[cfg_attr(miri, ignore)] // 32,768 decodes: minutes interpreted; Miri runs from_hex_refuses_exactly_the_non_hex_bytes.
    fn decode_hex_checks_every_byte_at_every_position() {
        let base: [u8; 2 * MAX_HASH_LEN] = core::array::from_fn(|i| HEX_DIGITS[(i * 7) % 16]);
        // The lengths the word form decodes as constants (64, 32), and one that is not.
        for len in [base.len(), 32, 30] {
            for pos in 0..len {
                for c in 0..=255u8 {
                    let mut hex = base;
                    hex[pos] = c;
                    let hex = &hex[..len];
                    for upper in [false, true] {
                        let ok =
                            c.is_ascii_digit() || (b'a'..=b'f').contains(&c) || (upper && (b'A'..=b'F').contains(&c));
                        let got = HashOutput::decode_hex(hex, upper);
                        assert_eq!(got, crate::accel::portable::decode_hex(hex, upper), "the forms agree");
                        assert_eq!(got, crate::accel::word::decode_hex(hex, upper), "the forms agree");
                        assert_eq!(got.is_some(), ok, "{c:#x} at {pos} of {len}, upper {upper}");
                        if let Some(got) = got {
                            let expected: [u8; MAX_HASH_LEN] = core::array::from_fn(|i| {
                                hex.get(2 * i..2 * i + 2)
                                    .map_or(0, |p| (hex_value(p[0]).unwrap() << 4) | hex_value(p[1]).unwrap())
                            });
                            assert_eq!(got.as_bytes(), &expected[..len / 2]);
                            assert_eq!(got.bytes, expected, "unused bytes zero");
                        }
                    }
                }
            }
        }
    }
}
