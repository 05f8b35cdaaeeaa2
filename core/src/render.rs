//! Rendering `WWW-Authenticate` and `Authentication-Info` values into caller buffers.
//!
//! Every function writes as much as fits and returns the full length; when the buffer was
//! too small it returns [`BufferTooSmall`] with the size that would have fit, so the
//! caller can retry with a bigger buffer. Quoted values are escaped (RFC 9110 §5.6.4).
//!
//! Control characters (CR, LF, NUL, …) have no representation in a quoted-string, so these
//! functions expect values without them: through the [`Engine`](crate::Engine) that always
//! holds (`Config` refuses such a realm or opaque, the parser such a cnonce). A caller that
//! renders its own values directly must refuse control characters first, or a CR LF in a
//! realm would split the response header.
//!
//! ```
//! use authgate::nonce::{Nonce, NonceKey};
//! use authgate::render::{basic_challenge, digest_challenge, DigestChallenge};
//! use authgate::{Algorithm, QopSet};
//!
//! let mut buf = [0u8; 256];
//! let n = basic_challenge("home", &mut buf).unwrap();
//! assert_eq!(&buf[..n], br#"Basic realm="home", charset="UTF-8""#);
//!
//! let nonce = Nonce::issue(&NonceKey::new(&[7; 32]), b"home", b"", 1_700_000_000, [1; 8]);
//! let challenge = DigestChallenge {
//!     realm: "home",
//!     qop: QopSet::AUTH,
//!     algorithm: Algorithm::Sha256,
//!     nonce: nonce.as_str(),
//!     opaque: None,
//!     stale: false,
//!     userhash: false,
//! };
//! let n = digest_challenge(&challenge, &mut buf).unwrap();
//! assert!(buf[..n].starts_with(br#"Digest realm="home", qop="auth", algorithm=SHA-256, nonce=""#));
//!
//! // Too small: nothing usable was written, and the error says how much is needed.
//! let needed = digest_challenge(&challenge, &mut [0u8; 16]).unwrap_err().needed;
//! assert_eq!(needed, n);
//! ```

use crate::digest::{Algorithm, Qop};
use crate::error::BufferTooSmall;
use crate::hash::HashOutput;

/// A byte sink that counts what it could not store.
pub(crate) struct Writer<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> Writer<'b> {
    pub(crate) fn new(buf: &'b mut [u8]) -> Self {
        Writer { buf, len: 0 }
    }
    // Out of line: rendering calls this dozens of times, and flash matters more than a call here.
    #[inline(never)]
    pub(crate) fn raw(&mut self, s: &[u8]) -> &mut Self {
        if let Some(dst) = self.buf.get_mut(self.len..self.len + s.len()) {
            dst.copy_from_slice(s);
        }
        self.len += s.len();
        self
    }
    pub(crate) fn str(&mut self, s: &str) -> &mut Self {
        self.raw(s.as_bytes())
    }
    /// `"` + value with `"` and `\` escaped + `"`.
    pub(crate) fn quoted(&mut self, s: &[u8]) -> &mut Self {
        self.raw(b"\"");
        for chunk in s.split_inclusive(|&b| b == b'"' || b == b'\\') {
            match chunk.split_last() {
                Some((&last, head)) if last == b'"' || last == b'\\' => {
                    self.raw(head).raw(b"\\").raw(&[last]);
                }
                _ => {
                    self.raw(chunk);
                }
            }
        }
        self.raw(b"\"")
    }
    /// `, name=` (or `name=` first).
    pub(crate) fn param(&mut self, first: &mut bool, name: &str) -> &mut Self {
        if !*first {
            self.raw(b", ");
        }
        *first = false;
        self.str(name).raw(b"=")
    }
    pub(crate) fn finish(self) -> Result<usize, BufferTooSmall> {
        if self.len <= self.buf.len() {
            Ok(self.len)
        } else {
            Err(BufferTooSmall { needed: self.len })
        }
    }
}

/// Which qop values a Digest challenge offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct QopSet {
    /// `auth`
    pub auth: bool,
    /// `auth-int`
    pub auth_int: bool,
}

impl QopSet {
    /// `auth` only: the usual choice.
    pub const AUTH: QopSet = QopSet { auth: true, auth_int: false };
    /// Whether `qop` is offered.
    pub fn contains(&self, qop: Qop) -> bool {
        match qop {
            Qop::Auth => self.auth,
            Qop::AuthInt => self.auth_int,
        }
    }
    /// Whether nothing is offered.
    pub fn is_empty(&self) -> bool {
        !self.auth && !self.auth_int
    }
}

/// `Basic realm="...", charset="UTF-8"` (RFC 7617 §2.1).
pub fn basic_challenge(realm: &str, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
    basic_challenge_named("Basic", realm, buf)
}

/// [`basic_challenge`] under the scheme word `scheme` (an application's custom name).
pub(crate) fn basic_challenge_named(scheme: &str, realm: &str, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
    let mut w = Writer::new(buf);
    w.str(scheme).str(" realm=").quoted(realm.as_bytes()).str(", charset=\"UTF-8\"");
    w.finish()
}

/// One Digest challenge (RFC 7616 §3.3).
#[derive(Clone, Copy, Debug)]
pub struct DigestChallenge<'a> {
    /// Realm.
    pub realm: &'a str,
    /// Offered qop values; empty for an RFC 2069 challenge.
    pub qop: QopSet,
    /// The algorithm of this challenge.
    pub algorithm: Algorithm,
    /// A fresh nonce.
    pub nonce: &'a str,
    /// Opaque, when configured.
    pub opaque: Option<&'a str>,
    /// `stale=true`.
    pub stale: bool,
    /// `userhash=true`.
    pub userhash: bool,
}

/// Renders `Digest realm=..., qop=..., algorithm=..., nonce=..., opaque=..., stale=true, charset=UTF-8, userhash=true`.
pub fn digest_challenge(c: &DigestChallenge<'_>, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
    digest_challenge_named("Digest", c, buf)
}

/// [`digest_challenge`] under the scheme word `scheme` (an application's custom name).
pub(crate) fn digest_challenge_named(
    scheme: &str,
    c: &DigestChallenge<'_>,
    buf: &mut [u8],
) -> Result<usize, BufferTooSmall> {
    let mut w = Writer::new(buf);
    w.str(scheme).str(" realm=").quoted(c.realm.as_bytes());
    // "auth" first: Python's requests only finds it when it leads the list.
    match (c.qop.auth, c.qop.auth_int) {
        (true, true) => w.str(", qop=\"auth, auth-int\""),
        (true, false) => w.str(", qop=\"auth\""),
        (false, true) => w.str(", qop=\"auth-int\""),
        (false, false) => &mut w,
    };
    w.str(", algorithm=").str(c.algorithm.name());
    w.str(", nonce=").quoted(c.nonce.as_bytes());
    if let Some(o) = c.opaque {
        w.str(", opaque=").quoted(o.as_bytes());
    }
    if c.stale {
        w.str(", stale=true");
    }
    w.str(", charset=UTF-8");
    if c.userhash {
        w.str(", userhash=true");
    }
    w.finish()
}

/// RFC 6750 §3.1 error codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BearerError {
    /// Malformed request: HTTP 400.
    InvalidRequest,
    /// Unknown, expired or revoked token: HTTP 401.
    InvalidToken,
    /// The token lacks the scope: HTTP 403.
    InsufficientScope,
}

impl BearerError {
    /// The wire token.
    pub const fn name(self) -> &'static str {
        match self {
            BearerError::InvalidRequest => "invalid_request",
            BearerError::InvalidToken => "invalid_token",
            BearerError::InsufficientScope => "insufficient_scope",
        }
    }
}

/// `Bearer realm="..."[, error="...", error_description="..."]` (RFC 6750 §3).
pub fn bearer_challenge(
    realm: &str,
    error: Option<BearerError>,
    description: Option<&str>,
    buf: &mut [u8],
) -> Result<usize, BufferTooSmall> {
    bearer_challenge_named("Bearer", realm, error, description, buf)
}

/// [`bearer_challenge`] under the scheme word `scheme` (an application's custom name).
pub(crate) fn bearer_challenge_named(
    scheme: &str,
    realm: &str,
    error: Option<BearerError>,
    description: Option<&str>,
    buf: &mut [u8],
) -> Result<usize, BufferTooSmall> {
    let mut w = Writer::new(buf);
    w.str(scheme).str(" realm=").quoted(realm.as_bytes());
    if let Some(e) = error {
        w.str(", error=\"").str(e.name()).str("\"");
        if let Some(d) = description {
            // error_description is restricted to %x20-21 / %x23-5B / %x5D-7E: drop the rest.
            w.str(", error_description=\"");
            for &b in d.as_bytes() {
                if matches!(b, 0x20..=0x21 | 0x23..=0x5b | 0x5d..=0x7e) {
                    w.raw(&[b]);
                }
            }
            w.str("\"");
        }
    }
    w.finish()
}

/// The parts of an `Authentication-Info` value (RFC 7616 §3.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthInfo {
    /// Mutual authentication: proves the server knows the credentials (qop `auth` only).
    pub rspauth: Option<HashOutput>,
    /// The qop of the request.
    pub qop: Option<Qop>,
    /// The request's nonce count.
    pub nc: Option<u32>,
    /// The request's cnonce, unescaped.
    pub cnonce: heapless::Vec<u8, { crate::limits::MAX_CNONCE_LEN }>,
    /// A nonce for the next request, sent when the current one is past half its lifetime.
    pub nextnonce: Option<crate::nonce::Nonce>,
}

/// Renders `Authentication-Info`: `rspauth="...", qop=auth, nc=..., cnonce="...", nextnonce="..."`.
// Out of line in the compact form (flash).
#[cfg_attr(authgate_backend = "compact", inline(never))]
pub fn authentication_info(info: &AuthInfo, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
    let mut w = Writer::new(buf);
    let mut first = true;
    if let Some(r) = &info.rspauth {
        w.param(&mut first, "rspauth").quoted(r.to_hex().as_bytes());
    }
    if let Some(q) = info.qop {
        w.param(&mut first, "qop").str(q.name());
        if let Some(nc) = info.nc {
            let mut hex = [0u8; 8];
            for (i, d) in hex.iter_mut().enumerate() {
                *d = b"0123456789abcdef"[((nc >> (28 - 4 * i)) & 15) as usize];
            }
            w.param(&mut first, "nc").raw(&hex);
        }
        w.param(&mut first, "cnonce").quoted(&info.cnonce);
    }
    if let Some(n) = &info.nextnonce {
        w.param(&mut first, "nextnonce").quoted(n.as_str().as_bytes());
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_reports_size() {
        let mut buf = [0u8; 64];
        let n = basic_challenge("a\"b\\c", &mut buf).unwrap();
        assert_eq!(&buf[..n], br#"Basic realm="a\"b\\c", charset="UTF-8""#);
        let mut small = [0u8; 10];
        assert_eq!(basic_challenge("a\"b\\c", &mut small), Err(BufferTooSmall { needed: n }));
    }
}
