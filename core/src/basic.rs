//! Basic credentials (RFC 7617).

use base64ct::Encoding as _;

use crate::limits::{MAX_BASIC_DECODED, MAX_BASIC_TOKEN_LEN};
use crate::{Authorization, ParseError};

/// How the decoded `user-id:password` was encoded by the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Charset {
    /// Valid UTF-8 (what `charset="UTF-8"` asks for, RFC 7617 §2.1).
    Utf8,
    /// Not valid UTF-8: read as ISO-8859-1, as old clients send it.
    Latin1,
}

/// Decoded Basic credentials, borrowing the caller's decode buffer.
///
/// ```
/// use authgate::basic::BasicBuffer;
/// use authgate::limits::MAX_BASIC_DECODED;
/// use authgate::{parse, BasicCredentials, Charset};
///
/// let mut buf: BasicBuffer = [0; MAX_BASIC_DECODED];
/// let auth = parse(b"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")?;
/// let basic = BasicCredentials::from_authorization(&auth, &mut buf)?;
/// assert_eq!((basic.user_bytes(), basic.password_bytes()), (&b"Aladdin"[..], &b"open sesame"[..]));
///
/// // Old clients send ISO-8859-1: `user` and `password` give UTF-8 either way.
/// let mut buf: BasicBuffer = [0; MAX_BASIC_DECODED];
/// let basic = BasicCredentials::decode(b"SuRnZXI6R3L8bg==", &mut buf)?;
/// assert_eq!(basic.charset(), Charset::Latin1);
/// let mut utf8 = [0; 32];
/// assert_eq!(basic.user(&mut utf8), Some("Jäger"));
///
/// assert!(BasicCredentials::decode(b"QWxhZGRpbg==", &mut buf).is_err()); // no colon
/// # Ok::<(), authgate::ParseError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct BasicCredentials<'b> {
    user: &'b [u8],
    password: &'b [u8],
    charset: Charset,
}

impl core::fmt::Debug for BasicCredentials<'_> {
    // Never print the password.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BasicCredentials")
            .field("user", &self.user.escape_ascii())
            .field("charset", &self.charset)
            .finish_non_exhaustive()
    }
}

/// A buffer big enough for any Basic credentials the engine accepts.
pub type BasicBuffer = [u8; MAX_BASIC_DECODED];

impl<'b> BasicCredentials<'b> {
    /// Decodes `Basic <token68>`. The scheme word is checked.
    pub fn from_authorization(auth: &Authorization<'_>, buf: &'b mut BasicBuffer) -> Result<Self, ParseError> {
        if !auth.is_scheme("Basic") {
            return Err(ParseError::InvalidScheme);
        }
        let token = auth.token68().ok_or(ParseError::ExpectedToken68)?;
        Self::decode(token.as_bytes(), buf)
    }

    /// Decodes a Basic token68: strict, canonical, padded base64.
    pub fn decode(token: &[u8], buf: &'b mut BasicBuffer) -> Result<Self, ParseError> {
        if token.len() > MAX_BASIC_TOKEN_LEN {
            return Err(ParseError::ValueTooLong("basic"));
        }
        let decoded = decode_base64(token, buf).ok_or(ParseError::InvalidBase64)?;
        // RFC 7617 §2: neither part may hold control characters.
        if decoded.iter().any(|&b| b < 0x20 || b == 0x7f) {
            return Err(ParseError::ControlCharacter);
        }
        let colon = decoded.iter().position(|&b| b == b':').ok_or(ParseError::MissingColon)?;
        let charset = if core::str::from_utf8(decoded).is_ok() { Charset::Utf8 } else { Charset::Latin1 };
        Ok(BasicCredentials { user: &decoded[..colon], password: &decoded[colon + 1..], charset })
    }

    /// The user-id bytes as sent (see [`charset`](Self::charset)).
    pub fn user_bytes(&self) -> &'b [u8] {
        self.user
    }
    /// The password bytes as sent.
    pub fn password_bytes(&self) -> &'b [u8] {
        self.password
    }
    /// The encoding the client used.
    pub fn charset(&self) -> Charset {
        self.charset
    }
    /// The user-id as UTF-8, converting from ISO-8859-1 into `out` when needed.
    pub fn user<'o>(&self, out: &'o mut [u8]) -> Option<&'o str> {
        to_utf8(self.user, self.charset, out)
    }
    /// The password as UTF-8, converting from ISO-8859-1 into `out` when needed.
    pub fn password<'o>(&self, out: &'o mut [u8]) -> Option<&'o str> {
        to_utf8(self.password, self.charset, out)
    }
}

/// Strict, canonical, padded base64 (what `base64ct::Base64::decode` accepts), decoded one
/// 4-character block at a time with base64ct's constant-time block decoder.
///
/// Every length here is a constant or a shift: `Base64::decode` on the whole token divides by
/// 3 for its length checks, which pulls a software division routine into Cortex-M0+ images
/// (no divide instruction). Invalid characters and non-canonical padding are collected and
/// refused once, at the end, as `Base64::decode` does.
// One copy in the compact form (flash).
#[cfg_attr(authgate_backend = "compact", inline(never))]
pub(crate) fn decode_base64<'b>(token: &[u8], buf: &'b mut [u8]) -> Option<&'b [u8]> {
    // The default (word) form: base64ct's whole-token decoder, the same rules in one call
    // (a third of the instructions for an NTLM AUTHENTICATE's 400 characters); the compact
    // form keeps the block loop below, which links no division.
    #[cfg(not(authgate_backend = "compact"))]
    if token.len() / 4 * 3 <= buf.len() {
        return <base64ct::Base64 as base64ct::Encoding>::decode(token, buf).ok();
    }
    const PAD: u8 = b'=';
    // Whole blocks only, and no more than `buf` holds (the caller's length limit).
    if !token.len().is_multiple_of(4) || token.len() / 4 * 3 > buf.len() {
        return None;
    }
    let Some(last) = token.last_chunk::<4>() else {
        return Some(&buf[..0]);
    };
    // The last block: `xyz=` or `xy==` (as base64ct's rule has it, `=` counts only at the
    // end). The padding is decoded as `A` (zero bits); any other `=` stays invalid.
    let pad_last = 0u8.wrapping_sub(u8::from(last[3] == PAD));
    let pad_both = pad_last & 0u8.wrapping_sub(u8::from(last[2] == PAD));
    let start = token.len() / 4 * 3 - 3;
    let mut invalid = 0u8;
    for (i, (chars, out)) in token.chunks_exact(4).zip(buf.chunks_exact_mut(3)).enumerate() {
        let mut block = [chars[0], chars[1], chars[2], chars[3]];
        // Only the last block's padding is decoded as `A` (the block index is public).
        if 3 * i == start {
            block[2] = (block[2] & !pad_both) | (b'A' & pad_both);
            block[3] = (block[3] & !pad_last) | (b'A' & pad_last);
        }
        match base64ct::Base64Unpadded::decode_in_place(&mut block) {
            Ok(d) => out.copy_from_slice(&d[..3]),
            Err(_) => invalid = 1,
        }
    }
    // Canonical: the bits the padding drops are zero (the third byte of `xyz=`, the second
    // of `xy==`; the third of `xy==` is zero by construction). When the block is invalid,
    // these bytes are left as they were and do not matter.
    let dropped = (buf[start + 2] & pad_last) | (buf[start + 1] & pad_both);
    let len = start + 3 - usize::from(pad_last & 1) - usize::from(pad_both & 1);
    ((invalid | dropped) == 0).then_some(&buf[..len])
}

/// Writes `bytes` as UTF-8 into `out`; `None` when it does not fit.
pub(crate) fn to_utf8<'o>(bytes: &[u8], charset: Charset, out: &'o mut [u8]) -> Option<&'o str> {
    let mut n = 0;
    for_each_utf8_chunk(bytes, charset, &mut |chunk| {
        if let Some(dst) = out.get_mut(n..n + chunk.len()) {
            dst.copy_from_slice(chunk);
        }
        n += chunk.len();
    });
    core::str::from_utf8(out.get(..n)?).ok()
}

/// Streams `bytes` as UTF-8: as-is when UTF-8, one transcoded character at a time when Latin-1.
// `dyn` and out of line: one copy for its three callers instead of one inlined per closure.
#[inline(never)]
pub(crate) fn for_each_utf8_chunk(bytes: &[u8], charset: Charset, f: &mut dyn FnMut(&[u8])) {
    match charset {
        Charset::Utf8 => f(bytes),
        Charset::Latin1 => {
            // Checked splits, not indexing: no panic path is linked.
            let mut rest = bytes;
            while let Some((ascii, tail)) = rest.iter().position(|&b| b >= 0x80).and_then(|i| rest.split_at_checked(i))
            {
                let Some((&b, tail)) = tail.split_first() else { break };
                f(ascii);
                f(&[0xc0 | (b >> 6), 0x80 | (b & 0x3f)]);
                rest = tail;
            }
            f(rest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7617_examples() {
        let mut buf = [0; MAX_BASIC_DECODED];
        let c = BasicCredentials::decode(b"QWxhZGRpbjpvcGVuIHNlc2FtZQ==", &mut buf).unwrap();
        assert_eq!(c.user_bytes(), b"Aladdin");
        assert_eq!(c.password_bytes(), b"open sesame");
        assert_eq!(c.charset(), Charset::Utf8);

        let mut buf = [0; MAX_BASIC_DECODED];
        let c = BasicCredentials::decode(b"dGVzdDoxMjPCow==", &mut buf).unwrap();
        let mut out = [0; 16];
        assert_eq!(c.password(&mut out), Some("123£"));

        // "test:123\xa3" in ISO-8859-1.
        let mut buf = [0; MAX_BASIC_DECODED];
        let c = BasicCredentials::decode(b"dGVzdDoxMjOj", &mut buf).unwrap();
        assert_eq!(c.charset(), Charset::Latin1);
        let mut out = [0; 16];
        assert_eq!(c.password(&mut out), Some("123£"));
    }

    /// `decode_base64` against the decoder it replaces: the same accepted set and the same bytes.
    fn same_as_base64ct(token: &[u8]) {
        let (mut ours, mut theirs) = ([0; MAX_BASIC_DECODED], [0; MAX_BASIC_DECODED]);
        let expected = base64ct::Base64::decode(token, &mut theirs).ok();
        assert_eq!(decode_base64(token, &mut ours), expected, "{}", token.escape_ascii());
    }

    /// Every 4- and 8-character token over the characters where base64 decoding can go wrong:
    /// the ends of each alphabet range and their neighbours, `=`, values with low bits set (the
    /// bits canonical padding must leave zero), and bytes outside ASCII.
    #[test]
    #[cfg_attr(miri, ignore)] // about 200,000 tokens: minutes interpreted; Miri runs the random test.
    fn base64_blocks_match_base64ct_exhaustively() {
        let chars = *b"AZaz09+/=@[`{.:BCDQgw\x80\xff";
        let chars = &chars[..];
        for a in chars {
            for b in chars {
                for c in chars {
                    for d in chars {
                        same_as_base64ct(&[*a, *b, *c, *d]);
                    }
                }
            }
        }
        // Two blocks: padding or an invalid character in the first block, then a second one.
        let few = *b"AB=+Q\x80";
        let tails: [&[u8; 4]; 6] = [b"QQ==", b"QR==", b"QUE=", b"QUF=", b"QUJD", b"Q==="];
        for a in few {
            for b in few {
                for c in few {
                    for d in few {
                        for tail in tails {
                            let mut token = [a, b, c, d, 0, 0, 0, 0];
                            token[4..].copy_from_slice(tail);
                            same_as_base64ct(&token);
                            token.rotate_left(4);
                            same_as_base64ct(&token);
                        }
                    }
                }
            }
        }
    }

    /// Random tokens of every length up to the limit, mostly valid base64 (so that long valid
    /// tokens decode), with a mutation now and then.
    #[test]
    fn base64_random_tokens_match_base64ct() {
        const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut token = [0u8; MAX_BASIC_TOKEN_LEN + 4];
        let lengths = if cfg!(miri) { 24 } else { token.len() };
        for len in 0..=lengths {
            for round in 0..8 {
                for t in &mut token[..len] {
                    *t = ALPHABET[(next() % 64) as usize];
                }
                if len > 0 && round % 4 != 0 {
                    let pads = (next() % 3) as usize;
                    token[len.saturating_sub(pads)..len].fill(b'=');
                }
                if len > 0 && round % 2 == 1 {
                    let at = (next() % len as u64) as usize;
                    token[at] = [b'=', b'A', b'*', b'\n', 0xc3][(next() % 5) as usize];
                }
                if len <= MAX_BASIC_TOKEN_LEN {
                    same_as_base64ct(&token[..len]);
                } else {
                    let mut buf = [0; MAX_BASIC_DECODED];
                    assert_eq!(decode_base64(&token[..len], &mut buf), None);
                }
            }
        }
    }

    #[test]
    fn strict_base64() {
        let mut buf = [0; MAX_BASIC_DECODED];
        for bad in [&b"QWxhZGRpbjpvcGVuIHNlc2FtZQ"[..], b"QWxhZGRpbjpvcGVuIHNlc2FtZR==", b"QWxh ZGRp", b"QQ="] {
            assert_eq!(BasicCredentials::decode(bad, &mut buf).unwrap_err(), ParseError::InvalidBase64);
        }
        assert_eq!(BasicCredentials::decode(b"QWxhZGRpbg==", &mut buf).unwrap_err(), ParseError::MissingColon);
    }
}
