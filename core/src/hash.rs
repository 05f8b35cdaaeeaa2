//! The hash functions Digest uses, behind one streaming type.
//!
//! Every family can be compiled out with a Cargo feature; asking for a disabled family
//! yields `None`, which the engine treats like an unknown algorithm.

use sha2::Digest as _;

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
    bytes: [u8; MAX_HASH_LEN],
    len: u8,
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
    // Inlined on 64-bit hosts: each caller's case (a 64-digit lower-case nonce, a response
    // of either case) is decoded by its own code, without a call or the other lengths' tests.
    #[cfg_attr(target_pointer_width = "64", inline(always))]
    pub(crate) fn decode_hex(hex: &[u8], upper: bool) -> Option<Self> {
        if hex.is_empty() || !hex.len().is_multiple_of(2) || hex.len() > 2 * MAX_HASH_LEN {
            return None;
        }
        // The usual lengths (MD5 and SHA-256 values, nonces) as constants on 64-bit hosts:
        // loops of known length.
        #[cfg(target_pointer_width = "64")]
        {
            if let Ok(h) = <&[u8; 32]>::try_from(hex) {
                return Self::decode_known(h, upper);
            }
            if let Ok(h) = <&[u8; 64]>::try_from(hex) {
                return Self::decode_known(h, upper);
            }
        }
        Self::decode_known(hex, upper)
    }

    /// [`decode_hex`](Self::decode_hex) of a value of valid length.
    #[inline(always)]
    fn decode_known(hex: &[u8], upper: bool) -> Option<Self> {
        let mut out = HashOutput { bytes: [0; MAX_HASH_LEN], len: (hex.len() / 2) as u8 };
        // No branch per digit: invalid ones are collected and refused at the end. Each digit
        // on its own first, then the pairs: two simple loops the compiler vectorizes.
        let fold = if upper { 0x20 } else { 0 };
        let mut nibbles = [0u8; 2 * MAX_HASH_LEN];
        let mut invalid = 0u8;
        for (n, &c) in nibbles.iter_mut().zip(hex) {
            let digit = c.wrapping_sub(b'0');
            let letter = (c | fold).wrapping_sub(b'a');
            let v = if digit < 10 { digit } else { letter.wrapping_add(10) };
            invalid |= u8::from(digit >= 10 && letter >= 6);
            *n = v;
        }
        // Past the value the nibbles are zero, and so are the bytes, as `ct_eq` expects.
        for (o, pair) in out.bytes.iter_mut().zip(nibbles.chunks_exact(2)) {
            *o = (pair[0] << 4) | (pair[1] & 15);
        }
        (invalid == 0).then_some(out)
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
    // One copy on 32-bit targets (LTO also inlined one into the Authentication-Info renderer).
    #[cfg_attr(not(target_pointer_width = "64"), inline(never))]
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

/// Lower-case hex of `bytes` into the start of `out` (which holds at least twice as many).
// One copy on microcontrollers (flash); inlined on 64-bit hosts, where the callers' known
// lengths pick the vector form without a call.
#[cfg_attr(not(target_pointer_width = "64"), inline(never))]
#[cfg_attr(target_pointer_width = "64", inline(always))]
pub(crate) fn encode_hex(bytes: &[u8], out: &mut [u8]) {
    // On 64-bit hosts the lengths of hash values (16 and 32 bytes) in vector arithmetic;
    // otherwise a digit at a time from the 16-byte table (the smaller code and data).
    #[cfg(target_pointer_width = "64")]
    {
        if let (Ok(b), Some(o)) = (<&[u8; 16]>::try_from(bytes), out.first_chunk_mut::<32>()) {
            return encode_hex16(b, o);
        }
        if let (Ok(b), Some(o)) = (<&[u8; 32]>::try_from(bytes), out.first_chunk_mut::<64>()) {
            let (b0, b1) = b.split_at(16);
            let (o0, o1) = o.split_at_mut(32);
            if let (Ok(b0), Ok(b1), Ok(o0), Ok(o1)) = (b0.try_into(), b1.try_into(), o0.try_into(), o1.try_into()) {
                encode_hex16(b0, o0);
                encode_hex16(b1, o1);
            }
            return;
        }
    }
    for (pair, &b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX_DIGITS[(b >> 4) as usize];
        pair[1] = HEX_DIGITS[(b & 15) as usize];
    }
}

/// [`encode_hex`] of 16 bytes (an MD5 value, half a SHA-256 one) on 64-bit hosts: each digit
/// computed from its nibble without a table or a branch (`n + '0'`, plus 39 past 9), then
/// the two digits of a byte joined; simple loops of constant length, which the compiler
/// turns into vector code (8 bytes to 16 digits at a time) instead of a table load and a
/// store per byte.
#[cfg(target_pointer_width = "64")]
#[inline(always)]
fn encode_hex16(bytes: &[u8; 16], out: &mut [u8; 32]) {
    // 0..=9 to '0'..='9', 10..=15 to 'a'..='f'.
    let digit = |n: u8| n + b'0' + (if n > 9 { 0xff } else { 0 } & (b'a' - b'0' - 10));
    let (mut hi, mut lo) = ([0u8; 16], [0u8; 16]);
    for ((h, l), &b) in hi.iter_mut().zip(lo.iter_mut()).zip(bytes) {
        *h = digit(b >> 4);
        *l = digit(b & 15);
    }
    for ((dst, h), l) in out.chunks_exact_mut(2).zip(hi).zip(lo) {
        dst.copy_from_slice(&(u16::from(h) | (u16::from(l) << 8)).to_le_bytes());
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
    buf: [u8; 2 * MAX_HASH_LEN],
    len: u8,
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

#[cfg(feature = "md5")]
use md5::Md5;

/// A streaming hash of one of the Digest families.
#[derive(Clone)]
pub enum Hasher {
    #[cfg(feature = "md5")]
    #[doc(hidden)]
    Md5(Md5),
    // Always present: SHA-256 is linked anyway (nonce HMAC, secret comparisons), and an
    // enum that could be empty would need special cases; `new` still honours the feature.
    #[doc(hidden)]
    Sha256(sha2::Sha256),
    #[cfg(feature = "sha512-256")]
    #[doc(hidden)]
    Sha512_256(sha2::Sha512_256),
}

impl Hasher {
    /// A fresh hasher, or `None` when the family is compiled out.
    #[inline]
    pub fn new(algorithm: HashAlgorithm) -> Option<Self> {
        algorithm.is_enabled().then(|| Self::start(algorithm))
    }

    /// A fresh hasher of an enabled family (SHA-256 for a disabled one: callers check
    /// [`HashAlgorithm::is_enabled`] first). Returned straight into the caller's slot, not
    /// moved out of an `Option`.
    // Out of line: each family's initial state would otherwise be spelt out in every caller.
    #[inline(never)]
    #[allow(unreachable_patterns)]
    pub(crate) fn start(algorithm: HashAlgorithm) -> Self {
        match algorithm {
            #[cfg(feature = "md5")]
            HashAlgorithm::Md5 => Hasher::Md5(Md5::new()),
            #[cfg(feature = "sha512-256")]
            HashAlgorithm::Sha512_256 => Hasher::Sha512_256(sha2::Sha512_256::new()),
            _ => Hasher::Sha256(sha2::Sha256::new()),
        }
    }

    /// SHA-256 whatever the features: for comparing secrets through digests.
    pub(crate) fn sha256() -> Self {
        Hasher::Sha256(sha2::Sha256::new())
    }

    /// Feeds bytes.
    // Out of line: every family's buffering code would otherwise be copied into each caller.
    #[inline(never)]
    pub fn update(&mut self, data: &[u8]) {
        match self {
            #[cfg(feature = "md5")]
            Hasher::Md5(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
            #[cfg(feature = "sha512-256")]
            Hasher::Sha512_256(h) => h.update(data),
        }
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
    /// the hasher fresh, ready for the next value of the same family: a fresh one from the
    /// out-of-line `start` is swapped in and the old one finished, so no family's reset code
    /// is spelt out here. Unused output bytes stay zero, as `ct_eq` expects.
    #[inline(never)]
    pub(crate) fn finish(&mut self) -> HashOutput {
        let mut out = HashOutput::zeroed(0);
        #[allow(unreachable_patterns)]
        let fresh = Hasher::start(match self {
            #[cfg(feature = "md5")]
            Hasher::Md5(_) => HashAlgorithm::Md5,
            #[cfg(feature = "sha512-256")]
            Hasher::Sha512_256(_) => HashAlgorithm::Sha512_256,
            _ => HashAlgorithm::Sha256,
        });
        out.len = match core::mem::replace(self, fresh) {
            #[cfg(feature = "md5")]
            Hasher::Md5(h) => {
                if let Some(dst) = out.bytes.first_chunk_mut::<16>() {
                    h.finalize_into(dst.into());
                }
                16
            }
            Hasher::Sha256(h) => {
                h.finalize_into((&mut out.bytes).into());
                32
            }
            #[cfg(feature = "sha512-256")]
            Hasher::Sha512_256(h) => {
                h.finalize_into((&mut out.bytes).into());
                32
            }
        };
        out
    }
}

/// Room of a [`Gather`]: four MD5/SHA-256 blocks (two SHA-512 ones), a whole SHA-256
/// response line.
#[cfg(target_pointer_width = "64")]
const GATHER: usize = 256;

/// A hash input gathered from small pieces (names, `:`, hex digits) into one buffer and fed
/// to the hasher in few large updates: each update costs a call and the hasher's own
/// buffering, more than the copy into this buffer. Full buffers are whole blocks, which the
/// hasher compresses in place.
///
/// On 64-bit hosts the buffer feeds the hash's block function itself (RustCrypto's block
/// API): whole blocks are compressed straight from the buffer, and only the last partial
/// block goes through the crate's padding; no second buffer, no copy into it, no reset of a
/// state that is started afresh. On microcontrollers [`DirectGather`] feeds the streaming
/// [`Hasher`] (shared with the other callers) instead: no buffer, the smaller code.
///
/// On 64-bit hosts a `Gather` is of one family's block function `C` (chosen once per value
/// by `with_gather!`): its pieces and its finish are that family's code alone, with no
/// test of the family on the way.
#[cfg(target_pointer_width = "64")]
pub(crate) struct Gather<C> {
    h: C,
    buf: [u8; GATHER],
    len: usize,
}

/// The block function of a Digest hash family (RustCrypto's block API: an eager block core
/// with its own padding), as a [`Gather`] runs it.
#[cfg(target_pointer_width = "64")]
pub(crate) trait BlockFn:
    sha2::digest::block_api::FixedOutputCore<BufferKind = sha2::digest::block_api::Eager> + Default
{
}

#[cfg(target_pointer_width = "64")]
impl<C: sha2::digest::block_api::FixedOutputCore<BufferKind = sha2::digest::block_api::Eager> + Default> BlockFn for C {}

#[cfg(target_pointer_width = "64")]
impl<C: BlockFn> Gather<C> {
    /// A fresh hasher of the family.
    #[inline(always)]
    pub(crate) fn new() -> Self {
        Gather { h: C::default(), buf: [0; GATHER], len: 0 }
    }

    /// Fills the buffer up with `bytes`, compresses it (whole blocks: [`GATHER`] is a
    /// multiple of every block size), and so on until what is left fits.
    #[inline(never)]
    fn spill(&mut self, mut bytes: &[u8]) {
        loop {
            let room = GATHER.saturating_sub(self.len).min(bytes.len());
            let (now, rest) = bytes.split_at(room);
            if let Some(dst) = self.buf.get_mut(self.len..self.len + room) {
                dst.copy_from_slice(now);
            }
            self.len += room;
            bytes = rest;
            if self.len < GATHER {
                return;
            }
            core_blocks(&mut self.h, &self.buf);
            self.len = 0;
        }
    }
}

/// `dst.copy_from_slice(src)` (equal lengths), without a `memcpy` call for up to 32 bytes
/// (names, realms, uris, cnonces): two fixed-size copies that overlap, of the first and the
/// last 16, 8, 4 or 1 bytes (and the middle one of up to 3).
#[cfg(target_pointer_width = "64")]
#[inline(always)]
fn copy_short(dst: &mut [u8], src: &[u8]) {
    #[inline(always)]
    fn ends<const N: usize>(dst: &mut [u8], src: &[u8]) {
        if let (Some(d), Some(s)) = (dst.first_chunk_mut::<N>(), src.first_chunk::<N>()) {
            *d = *s;
        }
        if let (Some(d), Some(s)) = (dst.last_chunk_mut::<N>(), src.last_chunk::<N>()) {
            *d = *s;
        }
    }
    let n = src.len();
    if n != dst.len() {
        return;
    }
    // The usual lengths (8 to 32 bytes) first, in two tests.
    if n >= 8 {
        if n < 16 {
            ends::<8>(dst, src);
        } else if n <= 32 {
            ends::<16>(dst, src);
        } else {
            dst.copy_from_slice(src);
        }
    } else if n >= 4 {
        ends::<4>(dst, src);
    } else if n > 0 {
        dst[0] = src[0];
        dst[n / 2] = src[n / 2];
        dst[n - 1] = src[n - 1];
    }
}

/// `a == b` without a `memcmp` call for up to 32 bytes (user names, realms, request-targets):
/// the lengths, then the first and the last 16, 8, 4 or 1 bytes (and the middle one of up to
/// 3) as overlapping fixed-size pieces. Not constant-time: for values that are not secret.
#[cfg(target_pointer_width = "64")]
#[inline(always)]
pub(crate) fn eq_short(a: &[u8], b: &[u8]) -> bool {
    #[inline(always)]
    fn ends<const N: usize>(a: &[u8], b: &[u8]) -> bool {
        a.first_chunk::<N>() == b.first_chunk::<N>() && a.last_chunk::<N>() == b.last_chunk::<N>()
    }
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n >= 8 {
        if n < 16 {
            ends::<8>(a, b)
        } else if n <= 32 {
            ends::<16>(a, b)
        } else {
            a == b
        }
    } else if n >= 4 {
        ends::<4>(a, b)
    } else {
        n == 0 || (a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1])
    }
}

/// A SHA-2 block core with a 32-byte output (SHA-256, SHA-512/256), as `sha2` builds its
/// hashers.
#[cfg(target_pointer_width = "64")]
pub(crate) type Sha2Core<C> = sha2::digest::block_api::CtOutWrapper<C, sha2::digest::consts::U32>;

/// Runs `$body` with `$g` a fresh [`Gather`] of `$alg`'s family, an enabled one (SHA-256 for
/// a disabled one, as [`Hasher::start`]): on 64-bit hosts one copy of `$body` per family,
/// each of that family's code alone.
#[cfg(target_pointer_width = "64")]
macro_rules! with_gather {
    ($alg:expr, $g:ident => $body:expr) => {{
        #[allow(unreachable_patterns)]
        match $alg {
            #[cfg(feature = "md5")]
            $crate::hash::HashAlgorithm::Md5 => {
                let mut $g = $crate::hash::Gather::<md5::block_api::Md5Core>::new();
                $body
            }
            #[cfg(feature = "sha512-256")]
            $crate::hash::HashAlgorithm::Sha512_256 => {
                let mut $g = $crate::hash::Gather::<$crate::hash::Sha2Core<sha2::block_api::Sha512VarCore>>::new();
                $body
            }
            _ => {
                let mut $g = $crate::hash::Gather::<$crate::hash::Sha2Core<sha2::block_api::Sha256VarCore>>::new();
                $body
            }
        }
    }};
}

/// Runs `$body` with `$g` a fresh gatherer of `$alg`'s family: on microcontrollers one
/// [`DirectGather`] for every family.
#[cfg(not(target_pointer_width = "64"))]
macro_rules! with_gather {
    ($alg:expr, $g:ident => $body:expr) => {{
        let mut $g = $crate::hash::DirectGather::start($alg);
        $body
    }};
}
pub(crate) use with_gather;

/// What the Digest computations ask of a gatherer ([`Gather`], [`DirectGather`]).
pub(crate) trait Gatherer {
    /// Appends `bytes`.
    fn put(&mut self, bytes: &[u8]);
    /// Appends `bytes` and `:`.
    fn put_colon(&mut self, bytes: &[u8]);
    /// Appends the lower-case hex of `value`.
    fn put_hex(&mut self, value: &HashOutput);
    /// Appends hex text and `:`.
    fn put_hex_text_colon(&mut self, hex: &Hex);
    /// Finishes the hash and starts the next value of the same family.
    fn finish(&mut self) -> HashOutput;
}

#[cfg(target_pointer_width = "64")]
impl<C: BlockFn> Gatherer for Gather<C> {
    /// Appends `bytes`.
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        match self.buf.get_mut(self.len..self.len + bytes.len()) {
            Some(dst) => {
                copy_short(dst, bytes);
                self.len += bytes.len();
            }
            None => self.spill(bytes),
        }
    }

    /// Appends `bytes` and `:`.
    #[inline]
    fn put_colon(&mut self, bytes: &[u8]) {
        self.put(bytes);
        self.put(b":");
    }

    /// Appends the lower-case hex of `value` (Digest hashes hex, not bytes).
    // Inlined (as the other pieces): a call per piece cost more than its work.
    #[inline(always)]
    fn put_hex(&mut self, value: &HashOutput) {
        let bytes = value.bytes.get(..value.len as usize).unwrap_or_default();
        // Encoded straight into the buffer when the longest hex fits.
        if let Some(dst) = self.buf.get_mut(self.len..self.len + 2 * MAX_HASH_LEN) {
            encode_hex(bytes, dst);
            self.len += 2 * bytes.len();
            return;
        }
        let mut hex = [0u8; 2 * MAX_HASH_LEN];
        encode_hex(bytes, &mut hex);
        self.put(hex.get(..2 * bytes.len()).unwrap_or_default());
    }

    /// Appends hex text and `:`. When the whole of its buffer fits, that is copied (a
    /// fixed-size copy, no call) and the bytes past the text are left to be overwritten:
    /// nothing past `len` is ever read.
    #[inline]
    fn put_hex_text_colon(&mut self, hex: &Hex) {
        if let Some(dst) = self.buf.get_mut(self.len..self.len + 2 * MAX_HASH_LEN + 1) {
            let n = usize::from(hex.len).min(2 * MAX_HASH_LEN);
            if let Some(text) = dst.get_mut(..2 * MAX_HASH_LEN) {
                text.copy_from_slice(&hex.buf);
            }
            if let Some(colon) = dst.get_mut(n) {
                *colon = b':';
            }
            self.len += n + 1;
            return;
        }
        self.put_colon(hex.as_bytes());
    }

    /// Finishes the hash and starts the next value of the same family.
    // Inlined: the caller runs the padding and calls the block function itself (no call of
    // its own, the value written straight into the caller's slot).
    #[inline(always)]
    fn finish(&mut self) -> HashOutput {
        use sha2::digest::typenum::Unsigned;
        let len = core::mem::take(&mut self.len);
        let n = <C as sha2::digest::OutputSizeUser>::OutputSize::USIZE;
        // Unused bytes zero, as `ct_eq` expects.
        let mut out = HashOutput::zeroed(n);
        if let Some(dst) = out.bytes.get_mut(..n).and_then(|d| <&mut sha2::digest::Output<C>>::try_from(d).ok()) {
            finish_core(&mut self.h, &self.buf, len, dst);
        }
        out
    }
}

#[cfg(any(test, not(target_pointer_width = "64")))]
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

    /// Appends hex text and `:`.
    fn put_hex_text_colon(&mut self, hex: &Hex) {
        self.put_colon(hex.as_bytes());
    }

    /// Finishes the hash and starts the next value of the same family.
    fn finish(&mut self) -> HashOutput {
        self.h.finish()
    }
}

/// Compresses `data` (whole blocks of `C`) with the block function `c`.
#[cfg(target_pointer_width = "64")]
#[inline(always)]
fn core_blocks<C: sha2::digest::block_api::UpdateCore>(c: &mut C, data: &[u8]) {
    c.update_blocks(sha2::digest::array::Array::slice_as_chunks(data).0);
}

/// The last of [`Gather::finish`] for one block function: the whole blocks of `buf[..len]`
/// compressed, the rest handed to the crate's padding, the state started afresh. The
/// partial block is passed as the whole block-sized piece of the buffer it begins (a
/// fixed-size copy; the padding overwrites what follows it), not copied by its length.
#[cfg(target_pointer_width = "64")]
#[inline(always)]
fn finish_core<C: BlockFn>(c: &mut C, buf: &[u8; GATHER], len: usize, out: &mut sha2::digest::Output<C>) {
    use sha2::digest::array::Array;
    use sha2::digest::block_buffer::BlockBuffer;
    use sha2::digest::typenum::Unsigned;
    let bs = C::BlockSize::USIZE;
    let pos = len % bs;
    let whole = (len - pos).min(GATHER);
    if let Some(blocks) = buf.get(..whole).filter(|b| !b.is_empty()) {
        core_blocks(c, blocks);
    }
    let mut buffer = BlockBuffer::<C::BlockSize, _>::default();
    // Past the buffer's end (a full buffer) nothing is left: the empty buffer.
    if let Some(block) = buf.get(whole..whole + bs).and_then(|b| Array::try_from(b).ok()) {
        buffer.set(block, pos);
    }
    c.finalize_fixed_core(&mut buffer, out);
    *c = C::default();
}

/// [`Gather`]'s interface with every piece fed straight to the hasher: the microcontrollers'
/// gatherer (no buffer to clear, fill and flush, which is the smaller code there), built on
/// hosts too for its tests.
#[cfg(any(test, not(target_pointer_width = "64")))]
pub(crate) struct DirectGather {
    h: Hasher,
}

#[cfg(any(test, not(target_pointer_width = "64")))]
impl DirectGather {
    /// A fresh hasher of an enabled family (see [`Hasher::start`]).
    pub(crate) fn start(algorithm: HashAlgorithm) -> Self {
        DirectGather { h: Hasher::start(algorithm) }
    }
}

/// SHA-256 of `data`, used to compare secrets of unequal length in constant time.
pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Hasher::sha256();
    for p in parts {
        h.update(p);
    }
    h.finalize().bytes
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
        g.put_hex_text_colon(&short_hex);
        g.put(&data[..second]);
        g.put_hex_text_colon(&hex);
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
    /// the last, padded block (on 64-bit hosts `Gather` runs the block functions itself: this
    /// compares it with the crates' streaming hashers); so do the pieces of the
    /// microcontrollers' `DirectGather`.
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
                    with_gather!(alg, g => gather_case("Gather", &mut g, alg, &data, &value, &short, first, second));
                    let mut g = DirectGather::start(alg);
                    gather_case("DirectGather", &mut g, alg, &data, &value, &short, first, second);
                }
            }
        }
    }

    /// `copy_short` copies exactly the bytes given, whatever the length (each of its
    /// overlapping-copy cases and the long one), and nothing past them.
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn copy_short_copies_every_length() {
        let src: [u8; 80] = core::array::from_fn(|i| (i as u8).wrapping_mul(29).wrapping_add(3));
        for n in 0..=src.len() {
            let mut dst = [0xEEu8; 96];
            copy_short(&mut dst[5..5 + n], &src[..n]);
            assert_eq!(&dst[5..5 + n], &src[..n], "{n}");
            assert!(dst[..5].iter().chain(&dst[5 + n..]).all(|&b| b == 0xEE), "{n}");
        }
    }

    /// `eq_short` is `==`: every length 0..=40 (each of its cases and the long one), equal
    /// slices, a different byte at every position, and different lengths.
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn eq_short_is_slice_equality() {
        let a: [u8; 40] = core::array::from_fn(|i| (i as u8).wrapping_mul(53).wrapping_add(7));
        for n in 0..=a.len() {
            let b = a;
            assert!(eq_short(&a[..n], &b[..n]), "{n}");
            for i in 0..n {
                let mut b = a;
                b[i] ^= 0x20;
                assert!(!eq_short(&a[..n], &b[..n]), "{n} at {i}");
            }
            if n > 0 {
                assert!(!eq_short(&a[..n], &a[..n - 1]), "{n} vs shorter");
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
        // The lengths decoded as constants on 64-bit hosts (64, 32), and one that is not.
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
