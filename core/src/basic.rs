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
        let decoded = base64ct::Base64::decode(token, &mut buf[..]).map_err(|_| ParseError::InvalidBase64)?;
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

/// Writes `bytes` as UTF-8 into `out`; `None` when it does not fit.
pub(crate) fn to_utf8<'o>(bytes: &[u8], charset: Charset, out: &'o mut [u8]) -> Option<&'o str> {
    let mut n = 0;
    for_each_utf8_chunk(bytes, charset, |chunk| {
        if let Some(dst) = out.get_mut(n..n + chunk.len()) {
            dst.copy_from_slice(chunk);
        }
        n += chunk.len();
    });
    core::str::from_utf8(out.get(..n)?).ok()
}

/// Streams `bytes` as UTF-8: as-is when UTF-8, one transcoded character at a time when Latin-1.
pub(crate) fn for_each_utf8_chunk(bytes: &[u8], charset: Charset, mut f: impl FnMut(&[u8])) {
    match charset {
        Charset::Utf8 => f(bytes),
        Charset::Latin1 => {
            let mut start = 0;
            for (i, &b) in bytes.iter().enumerate() {
                if b >= 0x80 {
                    f(&bytes[start..i]);
                    f(&[0xc0 | (b >> 6), 0x80 | (b & 0x3f)]);
                    start = i + 1;
                }
            }
            f(&bytes[start..]);
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

    #[test]
    fn strict_base64() {
        let mut buf = [0; MAX_BASIC_DECODED];
        for bad in [&b"QWxhZGRpbjpvcGVuIHNlc2FtZQ"[..], b"QWxhZGRpbjpvcGVuIHNlc2FtZR==", b"QWxh ZGRp", b"QQ="] {
            assert_eq!(BasicCredentials::decode(bad, &mut buf).unwrap_err(), ParseError::InvalidBase64);
        }
        assert_eq!(BasicCredentials::decode(b"QWxhZGRpbg==", &mut buf).unwrap_err(), ParseError::MissingColon);
    }
}
