//! NTLM (MS-NLMP) for HTTP (MS-NTHT, RFC 4559 §4): NTLMv2 only, verified against the same
//! [`CredentialStore`](crate::CredentialStore) as the other schemes.
//!
//! The handshake takes three messages on one connection: the client's NEGOTIATE, the
//! server's CHALLENGE (in a 401), the client's AUTHENTICATE. The server challenge is kept in
//! a [`HandshakeStore`](crate::HandshakeStore) under the connection's id between the two
//! requests (`docs/ntlm.md` says why a table and not a stateless challenge).
//!
//! What is checked, in order: the message layout (every length and offset inside the
//! message: else 400), that a handshake is pending on this connection and not older than
//! the nonce lifetime, that the response is NTLMv2 (LM and NTLMv1 responses are refused:
//! they fall to offline cracking and relaying), the client's timestamp within the lifetime
//! of now, NTProofStr (compared in constant time), and the MIC when the client says it sent
//! one. A handshake is used once: any AUTHENTICATE consumes it.

pub mod message;

use hmac::{KeyInit, Mac, SimpleHmac};
use md4::{Digest, Md4};
use md5::Md5;
use subtle::ConstantTimeEq;

use crate::credential::UserName;
use crate::error::{ParseError, Reason};
use message::{av, flags, Authenticate, Blob, ChallengeParams, Negotiate, AV_FLAG_MIC, MIC_OFFSET};

type HmacMd5 = SimpleHmac<Md5>;

/// An NT hash: MD4 of the UTF-16LE password (what Windows and Samba store).
pub type NtHash = [u8; 16];

/// Longest NEGOTIATE message kept for the MIC (clients send 16 to 40 bytes).
pub const MAX_NEGOTIATE_KEPT: usize = 64;
/// Longest SPNEGO MechTypeList kept for the mechListMIC (NTLM alone: 14 bytes).
pub const MAX_MECH_TYPES_KEPT: usize = 64;

/// The NT hash of a UTF-8 password; `None` when it is not UTF-8.
pub fn nt_hash(password: &[u8]) -> Option<NtHash> {
    let password = core::str::from_utf8(password).ok()?;
    let mut h = Md4::new();
    for unit in password.encode_utf16() {
        h.update(unit.to_le_bytes());
    }
    Some(h.finalize().into())
}

/// A handshake between CHALLENGE and AUTHENTICATE: what the server must remember.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// The flags of the CHALLENGE.
    pub flags: u32,
    /// Its server challenge.
    pub server_challenge: [u8; 8],
    /// When it was issued (the caller's seconds; also its MsvAvTimestamp).
    pub issued: u64,
    /// The client's NEGOTIATE message, for the MIC.
    pub negotiate: heapless::Vec<u8, MAX_NEGOTIATE_KEPT>,
    /// When the messages travel inside SPNEGO (`Negotiate` with an NTLM mechanism): the
    /// client's MechTypeList, which the mechListMICs cover.
    pub spnego: Option<heapless::Vec<u8, MAX_MECH_TYPES_KEPT>>,
}

impl Pending {
    /// A handshake answering the NEGOTIATE message `m` with `server_challenge` at `now`.
    /// A NEGOTIATE too long to keep is refused (its MIC could not be checked).
    pub fn start(m: &[u8], server_challenge: [u8; 8], now: u64) -> Result<Pending, ParseError> {
        let n = Negotiate::parse(m)?;
        let negotiate = heapless::Vec::from_slice(m).map_err(|_| ParseError::ValueTooLong("ntlm"))?;
        Ok(Pending { flags: n.challenge_flags(), server_challenge, issued: now, negotiate, spnego: None })
    }

    fn params<'t>(&self, target: &'t str) -> ChallengeParams<'t> {
        ChallengeParams {
            flags: self.flags,
            server_challenge: self.server_challenge,
            timestamp: message::filetime(self.issued),
            target,
        }
    }

    /// Writes the CHALLENGE message into `out` (`target`: the server's name, ASCII).
    pub fn write_challenge(&self, target: &str, out: &mut [u8]) -> Option<usize> {
        message::write_challenge(&self.params(target), out)
    }
}

/// The server's name in CHALLENGE messages, from the realm: its ASCII letters, digits, `-`
/// and `.`, upper-cased, at most 15 (a NetBIOS name), or `AUTHGATE`.
pub fn target_name(realm: &str) -> heapless::String<15> {
    let mut name = heapless::String::new();
    for c in realm.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.') {
        if name.push(c.to_ascii_uppercase()).is_err() {
            break;
        }
    }
    if name.is_empty() {
        let _ = name.push_str("AUTHGATE");
    }
    name
}

/// A parsed AUTHENTICATE message with its NTLMv2 blob and the user name, checked for what
/// needs no credential.
#[derive(Debug)]
pub struct Response<'m> {
    msg: Authenticate<'m>,
    blob: Blob,
    /// The user name as UTF-8, for the store.
    pub user: UserName,
}

/// Why an AUTHENTICATE is refused before any credential is looked at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Malformed (400).
    Malformed(ParseError),
    /// Refused (401).
    Challenge(Reason),
}

impl From<ParseError> for Refusal {
    fn from(e: ParseError) -> Self {
        Refusal::Malformed(e)
    }
}

impl<'m> Response<'m> {
    /// Reads the AUTHENTICATE message `m` answering `pending`, at `now`, with `window`
    /// seconds of tolerance for the handshake's age and the client's clock.
    pub fn parse(m: &'m [u8], pending: &Pending, now: u64, window: u64) -> Result<Response<'m>, Refusal> {
        let msg = Authenticate::parse(m)?;
        if msg.user.is_empty() && msg.nt_response.is_empty() {
            return Err(Refusal::Challenge(Reason::AnonymousRefused));
        }
        // 24 bytes: NTLMv1 (or its NTLM2 session response); none: LM alone.
        if msg.nt_response.len() <= 24 {
            return Err(Refusal::Challenge(Reason::NtlmV1Refused));
        }
        let blob = Blob::parse(msg.nt_response.get(16..).unwrap_or_default())?;
        if now.saturating_sub(pending.issued) > window {
            return Err(Refusal::Challenge(Reason::HandshakeExpired));
        }
        if !message::within(blob.timestamp, now, window) {
            return Err(Refusal::Challenge(Reason::ClockSkew));
        }
        let mut user = UserName::new();
        for c in chars(msg.user, msg.unicode()) {
            let c = c.ok_or(ParseError::NtlmMessage)?;
            if c.is_control() {
                return Err(ParseError::NtlmMessage.into());
            }
            // A name this build cannot upper-case as Windows does: no user it can verify.
            if !cfg!(feature = "ntlm-unicode-names") && !c.is_ascii() {
                return Err(Refusal::Challenge(Reason::UnknownUser));
            }
            user.push(c).map_err(|_| ParseError::ValueTooLong("username"))?;
        }
        for c in chars(msg.domain, msg.unicode()) {
            c.ok_or(ParseError::NtlmMessage)?;
        }
        Ok(Response { msg, blob, user })
    }

    /// Whether the client says it sent a MIC.
    pub fn has_mic(&self) -> bool {
        self.blob.av_flags & AV_FLAG_MIC != 0
    }

    /// Checks NTProofStr with `nt` (the user's NT hash, or a decoy) in constant time, and
    /// the MIC when there is one: `messages` are the NEGOTIATE and CHALLENGE messages, and
    /// `m` the AUTHENTICATE message this response was read from.
    pub fn verify(
        &self,
        nt: &NtHash,
        server_challenge: &[u8; 8],
        negotiate: &[u8],
        challenge: &[u8],
        m: &[u8],
    ) -> bool {
        let ntowf = self.ntowf_v2(nt);
        let (proof, blob) = self.msg.nt_response.split_at(16);
        let expected = hmac_md5(&ntowf, &[server_challenge, blob]);
        let mut ok = expected.ct_eq(proof);
        if self.has_mic() {
            // A MIC claimed where there is no room for one, or with an encrypted session key
            // (RC4 key exchange, never offered), cannot be checked: refused.
            let checkable = self.msg.mic_room && self.msg.flags & flags::KEY_EXCH == 0;
            let mic_ok = match (checkable, m.get(..MIC_OFFSET), m.get(MIC_OFFSET..MIC_OFFSET + 16)) {
                (true, Some(head), Some(sent)) => {
                    // Without key exchange the session key is the session base key.
                    let session_key = hmac_md5(&ntowf, &[proof]);
                    let tail = m.get(MIC_OFFSET + 16..).unwrap_or_default();
                    let mic = hmac_md5(&session_key, &[negotiate, challenge, head, &[0; 16], tail]);
                    mic.ct_eq(sent)
                }
                _ => subtle::Choice::from(0),
            };
            ok &= mic_ok;
        }
        ok.into()
    }

    /// The session key (without key exchange: the session base key), for SPNEGO's
    /// mechListMIC. Meaningful only once [`verify`](Self::verify) said yes.
    pub fn session_key(&self, nt: &NtHash) -> [u8; 16] {
        hmac_md5(&self.ntowf_v2(nt), &[self.msg.nt_response.get(..16).unwrap_or_default()])
    }

    /// The negotiated flags (the AUTHENTICATE message's).
    pub fn flags(&self) -> u32 {
        self.msg.flags
    }

    /// NTOWFv2: HMAC-MD5 keyed with the NT hash over UTF-16LE(upper(user) ‖ domain).
    fn ntowf_v2(&self, nt: &NtHash) -> [u8; 16] {
        let mut mac = hmac(nt);
        for c in chars(self.msg.user, self.msg.unicode()).flatten() {
            let c = upper(c);
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                mac.update(&u.to_le_bytes());
            }
        }
        if self.msg.unicode() {
            mac.update(self.msg.domain);
        } else {
            for &b in self.msg.domain {
                mac.update(&[b, 0]);
            }
        }
        mac.finalize().into_bytes().into()
    }
}

/// The NTLM signature (MS-NLMP §3.4.4.2: extended session security and SIGN, no key exchange) of
/// `data` as the first message in one direction: SPNEGO's mechListMIC over the mechanism
/// list. `from_client` picks the client-to-server signing key.
pub fn signature(session_key: &[u8; 16], from_client: bool, data: &[u8]) -> [u8; 16] {
    let magic: &[u8] = if from_client {
        b"session key to client-to-server signing key magic constant\0"
    } else {
        b"session key to server-to-client signing key magic constant\0"
    };
    let mut h = Md5::new();
    h.update(session_key);
    h.update(magic);
    let signing_key = h.finalize();
    let checksum = hmac_md5(&signing_key, &[&0u32.to_le_bytes(), data]);
    let mut out = [0u8; 16];
    out[0] = 1;
    out[4..12].copy_from_slice(&checksum[..8]);
    out
}

/// The upper case NTOWFv2 takes of a user name's character. Windows maps one UTF-16 unit to
/// one: a character whose upper case is several (ß) stays as it is.
#[cfg(feature = "ntlm-unicode-names")]
fn upper(c: char) -> char {
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// Without `ntlm-unicode-names` (whose case tables are ~12 KiB of flash) names are ASCII
/// (`Response::parse` refuses others).
#[cfg(not(feature = "ntlm-unicode-names"))]
fn upper(c: char) -> char {
    c.to_ascii_uppercase()
}

fn hmac(key: &[u8]) -> HmacMd5 {
    <HmacMd5 as KeyInit>::new_from_slice(key).expect("HMAC takes any key length")
}

/// HMAC-MD5 of the concatenated `parts`: one out-of-line copy for the five uses (flash).
#[inline(never)]
fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    let mut mac = hmac(key);
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// The characters of an NTLM string: UTF-16LE, or OEM bytes read as Latin-1 (curl writes
/// the bytes it was given, expanded the same way); `None` for a broken surrogate or an odd
/// byte count.
fn chars(s: &[u8], unicode: bool) -> impl Iterator<Item = Option<char>> + '_ {
    let odd = unicode && s.len() % 2 == 1;
    let wide = if unicode { s } else { &[] };
    let narrow = if unicode { &[][..] } else { s };
    let units = wide.chunks_exact(2).map(|p| u16::from_le_bytes([p[0], p[1]]));
    char::decode_utf16(units)
        .map(|r| r.ok())
        .chain(narrow.iter().map(|&b| Some(char::from(b))))
        .chain(odd.then_some(None))
}

/// The AV ids a CHALLENGE carries, for tests and the fuzz target's oracle.
pub const CHALLENGE_AV_IDS: [u16; 4] = [av::NB_DOMAIN_NAME, av::NB_COMPUTER_NAME, av::DNS_COMPUTER_NAME, av::TIMESTAMP];

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(s: &str) -> heapless::Vec<u8, 64> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    /// MS-NLMP §4.2.4: the NTLMv2 example (user "User", domain "Domain", password
    /// "Password", server challenge 0123456789abcdef, client challenge aa×8, time 0,
    /// TargetInfo with NetBIOS domain "Domain" and server "Server").
    #[test]
    fn ms_nlmp_ntlmv2_example() {
        let nt = nt_hash(b"Password").unwrap();
        assert_eq!(
            nt,
            [0xa4, 0xf4, 0x9c, 0x40, 0x65, 0x10, 0xbd, 0xca, 0xb6, 0x82, 0x4e, 0xe7, 0xc3, 0x0f, 0xd8, 0x52]
        );
        let mut blob = heapless::Vec::<u8, 128>::new();
        blob.extend_from_slice(&[1, 1, 0, 0, 0, 0, 0, 0]).unwrap();
        blob.extend_from_slice(&[0; 8]).unwrap();
        blob.extend_from_slice(&[0xaa; 8]).unwrap();
        blob.extend_from_slice(&[0; 4]).unwrap();
        for (id, v) in [(2u16, "Domain"), (1, "Server")] {
            let v = utf16(v);
            blob.extend_from_slice(&id.to_le_bytes()).unwrap();
            blob.extend_from_slice(&(v.len() as u16).to_le_bytes()).unwrap();
            blob.extend_from_slice(&v).unwrap();
        }
        blob.extend_from_slice(&[0; 8]).unwrap();
        let user = utf16("User");
        let domain = utf16("Domain");
        let msg = Authenticate {
            lm_response: &[],
            nt_response: &[],
            domain: &domain,
            user: &user,
            session_key: &[],
            flags: flags::UNICODE,
            mic_room: false,
        };
        let r = Response { msg, blob: Blob { timestamp: 0, av_flags: 0 }, user: UserName::try_from("User").unwrap() };
        let ntowf = r.ntowf_v2(&nt);
        assert_eq!(
            ntowf,
            [0x0c, 0x86, 0x8a, 0x40, 0x3b, 0xfd, 0x7a, 0x93, 0xa3, 0x00, 0x1e, 0xf2, 0x2e, 0xf0, 0x2e, 0x3f]
        );
        let proof = hmac_md5(&ntowf, &[&[0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef], &blob]);
        assert_eq!(
            proof,
            [0x68, 0xcd, 0x0a, 0xb8, 0x51, 0xe5, 0x1c, 0x96, 0xaa, 0xbc, 0x92, 0x7b, 0xeb, 0xef, 0x6a, 0x1c]
        );
    }

    #[test]
    fn upper_case_one_unit_to_one() {
        assert_eq!((upper('a'), upper('Z'), upper('1')), ('A', 'Z', '1'));
        #[cfg(feature = "ntlm-unicode-names")]
        assert_eq!((upper('ü'), upper('я'), upper('ß'), upper('ﬀ')), ('Ü', 'Я', 'ß', 'ﬀ'));
        #[cfg(not(feature = "ntlm-unicode-names"))]
        assert_eq!(upper('ü'), 'ü');
    }

    #[test]
    fn names_decode_and_upper_case_like_windows() {
        let s: heapless::String<16> = chars(&utf16("aß\u{1F600}"), true).map(Option::unwrap).collect();
        assert_eq!(s, "aß\u{1F600}");
        assert_eq!(chars(&[0x00, 0xd8], true).next(), Some(None));
        assert_eq!(chars(&[0x61, 0x00, 0x62], true).last(), Some(None));
        let s: heapless::String<8> = chars(b"j\xfcrg", false).map(Option::unwrap).collect();
        assert_eq!(s, "jürg");
        assert_eq!(target_name("my home!"), "MYHOME");
        assert_eq!(target_name("***"), "AUTHGATE");
        assert_eq!(target_name("a-very-long-realm-name.example"), "A-VERY-LONG-REA");
    }
}
