//! The word form: a word at a time, unrolled and inlined (servers; the default).

use crate::digest::Directive;
#[cfg(doc)]
use crate::hash::Hasher;
use crate::hash::{Gatherer, HashAlgorithm, HashOutput, MAX_HASH_LEN};
use crate::nonce::{tag_head, truncated, TAG_LEN};
use crate::parse::{is_token68_char, CLASS, QDTEXT, SEP};

/// RFC 9110 §5.6.4 `qdtext`.
#[inline(always)]
fn is_qdtext(b: u8) -> bool {
    CLASS[b as usize] & QDTEXT != 0
}

/// Bytes in a machine word (the parser's word loops).
const WORD: usize = core::mem::size_of::<usize>();

/// The index of the first byte at or after `i` in `body` that is not `qdtext`: a word at a
/// time up to the first byte that may not be plain qdtext (the lowest flagged lane of
/// [`look_mask`], exact), which alone goes to the byte rule: qdtext among them (SP, HTAB,
/// `!`, obs-text) is stepped over and the words resume. The last few bytes a byte at a time.
#[inline(always)]
pub(crate) fn skip_qdtext(body: &[u8], mut i: usize) -> usize {
    loop {
        while let Some(w) = body.get(i..i + WORD).and_then(|c| <[u8; WORD]>::try_from(c).ok()) {
            let look = look_mask(usize::from_le_bytes(w));
            if look != 0 {
                i += (look.trailing_zeros() / 8) as usize;
                break;
            }
            i += WORD;
        }
        match body.get(i) {
            Some(&b) if is_qdtext(b) => i += 1,
            _ => return i,
        }
    }
}

/// One machine word at a time: the bytes that may not be plain `qdtext`, as the high bit of
/// their lane: every byte below 0x23 (CTLs, SP, `!`, `"`), `\\`, and every byte from 0x7F
/// (DEL, obs-text). Three tests instead of one per excluded byte; the qdtext among them
/// (HTAB, SP, `!`, obs-text) cost a step of the byte rules. Each test's lowest flagged lane
/// is exact (a borrow or carry only flags lanes above a flagged one), so the lowest flag of
/// the word is a byte of those sets, and a word with no flag holds plain `qdtext` only.
#[inline]
pub(crate) fn look_mask(w: usize) -> usize {
    const ONES: usize = usize::MAX / 255;
    const HIGH: usize = ONES * 0x80;
    // `hasless(w, 0x23)`; `w + 1` sets the high bit of a 0x7F lane (higher ones have it);
    // the classic `haszero` of `w ^ '\\'`.
    let below = w.wrapping_sub(ONES * 0x23) & !w;
    let high = w | w.wrapping_add(ONES);
    let v = w ^ (ONES * b'\\' as usize);
    let backslash = v.wrapping_sub(ONES) & !v;
    (below | high | backslash) & HIGH
}

/// The algorithm of the spellings clients send, compared as constants (`None`: any other,
/// for the case-insensitive rule).
#[inline(always)]
pub(crate) fn usual_algorithm(name: &[u8]) -> Option<crate::Algorithm> {
    match name {
        b"MD5" => Some(crate::Algorithm::Md5),
        b"SHA-256" => Some(crate::Algorithm::Sha256),
        b"SHA-512-256" => Some(crate::Algorithm::Sha512_256),
        _ => None,
    }
}

/// Whether `s` cannot be a token68, seen from its last byte: a param list usually ends in a
/// quote, which no token68 holds, so it is settled without a scan.
#[inline(always)]
pub(crate) fn surely_not_token68(s: &[u8]) -> bool {
    s.last().is_some_and(|&b| !is_token68_char(b) && b != b'=')
}

/// Whether `body` holds `, ` and then no other separator at `i` (between two params, the
/// usual case): one 3-byte test before any loop.
#[inline(always)]
pub(crate) fn comma_space_before_name(body: &[u8], i: usize) -> bool {
    body.get(i..i + 3).is_some_and(|s| s[..2] == *b", " && CLASS[s[2] as usize] & SEP == 0)
}

/// Whether a trimmed `Authorization` value starts with `Digest ` as usually spelt: one word
/// comparison (the space ends the tchar run there, as the scan would find).
#[inline(always)]
pub(crate) fn starts_with_digest_word(value: &[u8]) -> bool {
    value.first_chunk::<8>().is_some_and(|w| u64::from_le_bytes(*w) << 8 == u64::from_le_bytes(*b"\0Digest "))
}

/// Whether the scheme word is `name` (a scheme name: letters only, 4 to 8 of them),
/// ignoring ASCII case: its usual spelling as a constant, then its first and last four
/// bytes (overlapping), as two words, `| 0x20` on both sides (a tchar folds to a letter only
/// from that letter).
#[inline(always)]
pub(crate) fn scheme_is(scheme: &[u8], name: &[u8]) -> bool {
    scheme == name || scheme_is_folded(scheme, name)
}

#[inline(never)]
fn scheme_is_folded(scheme: &[u8], name: &[u8]) -> bool {
    let n = name.len();
    let word = |b: &[u8]| {
        let head = b.first_chunk::<4>().copied().unwrap_or_default();
        let tail = b.last_chunk::<4>().copied().unwrap_or_default();
        (u32::from_le_bytes(head) as u64 | (u32::from_le_bytes(tail) as u64) << 32) | 0x2020_2020_2020_2020
    };
    scheme.len() == n && (4..=8).contains(&n) && word(scheme) == word(name)
}

/// A directive spelt out in full up to `=` (the usual form) at `start` in `body`, found from
/// the word there alone: the first `=` gives the length, [`directive_of_word`] the
/// directive. Returns it and where its name ends; its bytes are then that directive's
/// letters, hence tchars. `None` leaves the name to the byte rule.
#[inline(always)]
pub(crate) fn directive_at(body: &[u8], start: usize) -> Option<(Directive, usize)> {
    let w = u64::from_le_bytes(*body.get(start..)?.first_chunk::<8>()?);
    let len = match first_equals(w) {
        Some(len) => len,
        None if body.get(start + 8) == Some(&b'=') => 8,
        None if body.get(start + 9) == Some(&b'=') => 9,
        None => return None,
    };
    let d = directive_of_word(w, len, body.get(start + 8).copied())?;
    Some((d, start + len))
}

/// The directive named at `start..end` in `body`: by [`directive_of_word`] when a word can
/// be read from the name's start (a name is followed by at least `=` and a value, so nearly
/// always), else by [`Directive::of`].
#[inline]
pub(crate) fn directive_in(body: &[u8], start: usize, end: usize) -> Option<Directive> {
    let name = body.get(start..end)?;
    match body.get(start..).and_then(<[u8]>::first_chunk::<8>) {
        Some(word) => directive_of_word(u64::from_le_bytes(*word), name.len(), name.get(8).copied()),
        None => Directive::of(name),
    }
}

/// The directive whose name is `len` bytes long, its first eight (or fewer) the word `w`
/// (little-endian; bytes past the name ignored) and its ninth `ninth`, ignoring ASCII case.
/// The folded, masked word and the length pick the one candidate by [`directive_hash`]; the
/// word, the length and the ninth byte confirm it. Directives are letters but for the ninth
/// byte of `username*`, and a byte folded by `| 0x20` equals a lower-case letter only when
/// it is that letter in either case, so the first eight need no other test; the ninth is
/// folded only when it is a letter (`\n | 0x20` is `*`).
#[inline]
pub(crate) fn directive_of_word(w: u64, len: usize, ninth: Option<u8>) -> Option<Directive> {
    if len == 0 || len > 9 {
        return None;
    }
    let word = (w | 0x2020_2020_2020_2020) & (u64::MAX >> (64 - 8 * len.min(8)));
    let (head, n, want, i) = DIRECTIVE_HASH[directive_hash(word, len)];
    let fold = |b: u8| if b.is_ascii_alphabetic() { b | 0x20 } else { b };
    let same = head == word && n as usize == len && (len < 9 || ninth.map(fold) == Some(want));
    if same {
        Directive::ALL.get(i as usize).copied()
    } else {
        None
    }
}

/// The lane of the first `=` in `w` (little-endian), if any: the classic zero-byte test,
/// whose lowest flagged lane is exact.
#[inline(always)]
fn first_equals(w: u64) -> Option<usize> {
    const ONES: u64 = u64::MAX / 255;
    let v = w ^ (ONES * b'=' as u64);
    let flags = v.wrapping_sub(ONES) & !v & (ONES * 0x80);
    (flags != 0).then(|| (flags.trailing_zeros() / 8) as usize)
}

/// The slot in [`DIRECTIVE_HASH`] of a name's folded, masked first word and length.
#[inline]
const fn directive_hash(word: u64, len: usize) -> usize {
    // A multiplier that sends the directives to different slots of sixteen (checked when
    // the table is built).
    ((word ^ len as u64).wrapping_mul(0x6940_776c_b540_cce5) >> 60) as usize
}

/// The directives by [`directive_hash`]: first eight bytes (zero past the name's end),
/// length, ninth byte (or zero), index in [`Directive::ALL`]; length 0 in the empty slots.
const DIRECTIVE_HASH: [(u64, u8, u8, u8); 16] = {
    let mut t = [(0u64, 0u8, 0u8, 0u8); 16];
    let mut i = 0;
    while i < Directive::ALL.len() {
        let b = Directive::ALL[i].name().as_bytes();
        let (mut head, mut ninth) = (0u64, 0u8);
        let mut j = 0;
        while j < b.len() && j < 8 {
            head |= (b[j] as u64) << (8 * j);
            j += 1;
        }
        if b.len() == 9 {
            ninth = b[8];
        }
        assert!(b.len() <= 9, "a directive name of more than nine bytes: widen directive_of_word");
        let h = directive_hash(head, b.len());
        assert!(t[h].1 == 0, "two directives in one slot: choose another multiplier");
        t[h] = (head, b.len() as u8, ninth, i as u8);
        i += 1;
    }
    t
};

/// An unescaped value's comparison with `other`, by [`eq_short`].
#[inline(always)]
pub(crate) fn eq_unescaped(raw: &[u8], other: &[u8]) -> Option<bool> {
    Some(eq_short(raw, other))
}

/// `a == b` without a `memcmp` call for up to 32 bytes (user names, realms, request-targets):
/// the lengths, then the first and the last 16, 8, 4 or 1 bytes (and the middle one of up to
/// 3) as overlapping fixed-size pieces. Not constant-time: for values that are not secret.
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

/// Lower-case hex of `bytes` into the start of `out` (which holds at least twice as many):
/// the lengths of hash values (16 and 32 bytes) in vector arithmetic, others a digit at a
/// time. Inlined: the callers' known lengths pick the vector form without a call.
#[inline(always)]
pub(crate) fn encode_hex(bytes: &[u8], out: &mut [u8]) {
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
    crate::hash::encode_hex_digits(bytes, out)
}

/// [`encode_hex`] of 16 bytes (an MD5 value, half a SHA-256 one): each digit computed from
/// its nibble without a table or a branch (`n + '0'`, plus 39 past 9), then the two digits
/// of a byte joined; simple loops of constant length, which the compiler turns into vector
/// code (8 bytes to 16 digits at a time) instead of a table load and a store per byte.
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

/// [`HashOutput::decode_hex`] with the usual lengths (MD5 and SHA-256 values, nonces) as
/// constants: loops of known length, each caller's case its own code.
#[inline(always)]
pub(crate) fn decode_hex(hex: &[u8], upper: bool) -> Option<HashOutput> {
    if let Ok(h) = <&[u8; 32]>::try_from(hex) {
        return decode_digits(h, upper);
    }
    if let Ok(h) = <&[u8; 64]>::try_from(hex) {
        return decode_digits(h, upper);
    }
    decode_digits(hex, upper)
}

/// [`HashOutput::decode_hex`] of a value of valid length.
#[inline(always)]
fn decode_digits(hex: &[u8], upper: bool) -> Option<HashOutput> {
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

/// HMAC-SHA256 for JWT's HS256: the `hmac` crate's block-level form over sha2.
#[cfg(feature = "jwt")]
pub(crate) type Hs256 = hmac::Hmac<sha2::Sha256>;

/// The nonce MAC's key: the keyed HMAC-SHA256 state, cloned per use (saves two SHA-256
/// blocks per nonce).
#[derive(Clone)]
pub(crate) struct NonceMac(hmac::Hmac<sha2::Sha256>);

impl NonceMac {
    /// The state keyed with `key`.
    pub(crate) fn new(key: &[u8; 32]) -> Self {
        use hmac::KeyInit;
        NonceMac(<hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length"))
    }

    /// The nonce tag (`crate::nonce`): the MAC of its head, realm and opaque, truncated.
    pub(crate) fn tag(&self, issued: u64, unique: &[u8; 8], realm: &[u8], opaque: &[u8]) -> [u8; TAG_LEN] {
        let head = tag_head(issued, unique, realm.len());
        truncated(&self.mac([&head, realm, opaque]))
    }

    /// HMAC-SHA256 of the parts, in order (empty parts add nothing and are not fed). A loop,
    /// not a call per part: one copy of the inlined update code.
    pub(crate) fn mac(&self, parts: [&[u8]; 3]) -> [u8; 32] {
        use hmac::Mac;
        let mut mac = self.0.clone();
        for part in parts {
            if !part.is_empty() {
                mac.update(part);
            }
        }
        mac.finalize().into_bytes().into()
    }
}

/// RustCrypto's streaming hashers, as [`Hasher`] runs them in the word form.
#[derive(Clone)]
pub(crate) enum Stream {
    #[cfg(feature = "md5")]
    Md5(md5::Md5),
    // Always present: SHA-256 is linked anyway (nonce HMAC, secret comparisons), and an
    // enum that could be empty would need special cases; `Hasher::new` still honours the
    // feature.
    Sha256(sha2::Sha256),
    #[cfg(feature = "sha512-256")]
    Sha512_256(sha2::Sha512_256),
}

impl Stream {
    /// A fresh hasher of an enabled family (SHA-256 for a disabled one).
    // Out of line: each family's initial state would otherwise be spelt out in every caller.
    #[inline(never)]
    #[allow(unreachable_patterns)]
    pub(crate) fn start(algorithm: HashAlgorithm) -> Self {
        use sha2::Digest as _;
        match algorithm {
            #[cfg(feature = "md5")]
            HashAlgorithm::Md5 => Stream::Md5(md5::Md5::new()),
            #[cfg(feature = "sha512-256")]
            HashAlgorithm::Sha512_256 => Stream::Sha512_256(sha2::Sha512_256::new()),
            _ => Stream::Sha256(sha2::Sha256::new()),
        }
    }

    /// Feeds bytes.
    // Out of line: every family's buffering code would otherwise be copied into each caller.
    #[inline(never)]
    pub(crate) fn update(&mut self, data: &[u8]) {
        use sha2::Digest as _;
        match self {
            #[cfg(feature = "md5")]
            Stream::Md5(h) => h.update(data),
            Stream::Sha256(h) => h.update(data),
            #[cfg(feature = "sha512-256")]
            Stream::Sha512_256(h) => h.update(data),
        }
    }

    /// Finishes the hash and resets it, in place (no second state on the stack).
    #[inline(never)]
    pub(crate) fn finish(&mut self) -> HashOutput {
        use sha2::digest::FixedOutputReset;
        let mut out = HashOutput::zeroed(0);
        out.len = match self {
            #[cfg(feature = "md5")]
            Stream::Md5(h) => {
                if let Some(dst) = out.bytes.first_chunk_mut::<16>() {
                    FixedOutputReset::finalize_into_reset(h, dst.into());
                }
                16
            }
            Stream::Sha256(h) => {
                FixedOutputReset::finalize_into_reset(h, (&mut out.bytes).into());
                32
            }
            #[cfg(feature = "sha512-256")]
            Stream::Sha512_256(h) => {
                FixedOutputReset::finalize_into_reset(h, (&mut out.bytes).into());
                32
            }
        };
        out
    }
}

/// Room of a [`Gather`]: four MD5/SHA-256 blocks (two SHA-512 ones), a whole SHA-256
/// response line.
const GATHER: usize = 256;

/// A hash input gathered from small pieces (names, `:`, hex digits) into one buffer and fed
/// to the hasher in few large updates: each update costs a call and the hasher's own
/// buffering, more than the copy into this buffer. Full buffers are whole blocks, which the
/// hasher compresses in place.
///
/// The buffer feeds the hash's block function itself (RustCrypto's block API): whole blocks
/// are compressed straight from the buffer, and only the last partial block goes through the
/// crate's padding; no second buffer, no copy into it, no reset of a state that is started
/// afresh. (The portable form's `DirectGather` feeds the streaming [`Hasher`] instead.)
///
/// A `Gather` is of one family's block function `C` (chosen once per value by
/// `with_gather!`): its pieces and its finish are that family's code alone, with no test of
/// the family on the way.
pub(crate) struct Gather<C> {
    h: C,
    buf: [u8; GATHER],
    len: usize,
}

/// The block function of a Digest hash family (RustCrypto's block API: an eager block core
/// with its own padding), as a [`Gather`] runs it.
pub(crate) trait BlockFn:
    sha2::digest::block_api::FixedOutputCore<BufferKind = sha2::digest::block_api::Eager> + Default
{
}

impl<C: sha2::digest::block_api::FixedOutputCore<BufferKind = sha2::digest::block_api::Eager> + Default> BlockFn for C {}

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

/// A SHA-2 block core with a 32-byte output (SHA-256, SHA-512/256), as `sha2` builds its
/// hashers.
pub(crate) type Sha2Core<C> = sha2::digest::block_api::CtOutWrapper<C, sha2::digest::consts::U32>;

/// Runs `$body` with `$g` a fresh [`Gather`] of `$alg`'s family, an enabled one (SHA-256 for
/// a disabled one, as [`Hasher::start`]): one copy of `$body` per family, each of that
/// family's code alone.
macro_rules! with_gather_word {
    ($alg:expr, $g:ident => $body:expr) => {{
        #[allow(unreachable_patterns)]
        match $alg {
            #[cfg(feature = "md5")]
            $crate::hash::HashAlgorithm::Md5 => {
                let mut $g = $crate::accel::word::Gather::<md5::block_api::Md5Core>::new();
                $body
            }
            #[cfg(feature = "sha512-256")]
            $crate::hash::HashAlgorithm::Sha512_256 => {
                let mut $g =
                    $crate::accel::word::Gather::<$crate::accel::word::Sha2Core<sha2::block_api::Sha512VarCore>>::new();
                $body
            }
            _ => {
                let mut $g =
                    $crate::accel::word::Gather::<$crate::accel::word::Sha2Core<sha2::block_api::Sha256VarCore>>::new();
                $body
            }
        }
    }};
}

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

/// Compresses `data` (whole blocks of `C`) with the block function `c`.
#[inline(always)]
fn core_blocks<C: sha2::digest::block_api::UpdateCore>(c: &mut C, data: &[u8]) {
    c.update_blocks(sha2::digest::array::Array::slice_as_chunks(data).0);
}

/// The last of [`Gather::finish`] for one block function: the whole blocks of `buf[..len]`
/// compressed, the rest handed to the crate's padding, the state started afresh. The
/// partial block is passed as the whole block-sized piece of the buffer it begins (a
/// fixed-size copy; the padding overwrites what follows it), not copied by its length.
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
pub(crate) use with_gather_word as with_gather;

#[cfg(test)]
mod tests {
    use super::*;

    /// `copy_short` copies exactly the bytes given, whatever the length (each of its
    /// overlapping-copy cases and the long one), and nothing past them.
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

    /// The word lookups agree with the byte rules and the portable form on every input.
    #[test]
    fn scheme_word_matches_eq_ignore_case() {
        for name in ["Basic", "Digest", "Bearer"].map(str::as_bytes) {
            for mask in 0..(1u32 << name.len()) {
                let mut w = name.to_vec();
                for (k, b) in w.iter_mut().enumerate() {
                    if mask & (1 << k) != 0 {
                        *b ^= 0x20;
                    }
                }
                assert!(scheme_is(&w, name));
                for k in 0..w.len() {
                    for t in b"!#$%&'*+-.^_`|~0123456789AZaz@[{" {
                        let mut v = w.clone();
                        v[k] = *t;
                        assert_eq!(scheme_is(&v, name), crate::parse::eq_ignore_case(&v, name));
                    }
                }
                for extra in [&w[..w.len() - 1], &[w.as_slice(), b"x"].concat()[..], b"", b"Basi", b"Digests"] {
                    assert_eq!(scheme_is(extra, name), crate::parse::eq_ignore_case(extra, name));
                }
            }
        }
    }

    /// xorshift64: the test inputs' pseudo-random source.
    fn step(x: &mut u64) {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
    }

    /// `look_mask`'s lowest flag is the first byte of its three sets (below 0x23, `\\`,
    /// from 0x7F), and a word without one has no flag: on words of edge bytes in every lane.
    #[test]
    fn look_mask_finds_the_first_byte_that_may_not_be_plain_qdtext() {
        const EDGES: [u8; 19] = [
            0x00, 0x01, 0x09, 0x0a, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, b'a', 0x5b, 0x5c, 0x5d, 0x7e, 0x7f, 0x80, 0xfe,
            0xff,
        ];
        let flagged = |b: u8| b < 0x23 || b == b'\\' || b >= 0x7f;
        let mut x = 0x2545_f491_4f6c_dd1du64;
        // Fewer under Miri (interpreted: minutes otherwise).
        for _ in 0..if cfg!(miri) { 2_000 } else { 200_000 } {
            step(&mut x);
            // Mostly plain lanes, so that words with no flag and late flags are common too.
            let lanes: [u8; WORD] = core::array::from_fn(|j| {
                let r = (x >> (8 * j)) as u8;
                if r.is_multiple_of(3) {
                    EDGES[r as usize % EDGES.len()]
                } else {
                    b'a' + r % 26
                }
            });
            let look = look_mask(usize::from_le_bytes(lanes));
            match lanes.iter().position(|&b| flagged(b)) {
                None => assert_eq!(look, 0, "{lanes:x?}"),
                Some(j) => assert_eq!(look.trailing_zeros() / 8, j as u32, "{lanes:x?}"),
            }
        }
        // Everything that is not qdtext is flagged.
        for b in 0..=255u8 {
            if !is_qdtext(b) {
                assert!(look_mask(usize::from_le_bytes([b; WORD])) != 0, "{b:#x}");
            }
        }
    }
}
