//! The NTLM messages (MS-NLMP §2.2.1): NEGOTIATE and AUTHENTICATE read with every length and
//! offset checked against the message, CHALLENGE written into a caller buffer.

use crate::ParseError;

/// `NTLMSSP\0`, the first 8 bytes of every message.
pub const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";

/// NegotiateFlags bits (MS-NLMP §2.2.2.5) the engine reads or sets.
pub mod flags {
    /// Strings are UTF-16LE.
    pub const UNICODE: u32 = 0x0000_0001;
    /// Strings are in the OEM code page (read as Latin-1, as curl writes them).
    pub const OEM: u32 = 0x0000_0002;
    /// The client asks for the server's TargetName.
    pub const REQUEST_TARGET: u32 = 0x0000_0004;
    /// Message integrity (session security; not offered over HTTP).
    pub const SIGN: u32 = 0x0000_0010;
    /// Message confidentiality (session security; not offered over HTTP).
    pub const SEAL: u32 = 0x0000_0020;
    /// NTLM authentication.
    pub const NTLM: u32 = 0x0000_0200;
    /// Anonymous.
    pub const ANONYMOUS: u32 = 0x0000_0800;
    /// Signature blocks on every message (harmless; clients ask for it).
    pub const ALWAYS_SIGN: u32 = 0x0000_8000;
    /// TargetName is a server name.
    pub const TARGET_TYPE_SERVER: u32 = 0x0002_0000;
    /// NTLMv2 session security (NTLM2 session response for v1 clients).
    pub const EXTENDED_SESSIONSECURITY: u32 = 0x0008_0000;
    /// TargetInfo is present.
    pub const TARGET_INFO: u32 = 0x0080_0000;
    /// The Version field is meaningful.
    pub const VERSION: u32 = 0x0200_0000;
    /// 128-bit session keys.
    pub const N128: u32 = 0x2000_0000;
    /// An encrypted random session key is exchanged (needs RC4: not offered).
    pub const KEY_EXCH: u32 = 0x4000_0000;
    /// 56-bit session keys.
    pub const N56: u32 = 0x8000_0000;
}

/// AV_PAIR ids (MS-NLMP §2.2.2.1) of the TargetInfo and of the client's NTLMv2 blob.
pub mod av {
    /// End of the list.
    pub const EOL: u16 = 0;
    /// The server's NetBIOS name.
    pub const NB_COMPUTER_NAME: u16 = 1;
    /// The server's NetBIOS domain name.
    pub const NB_DOMAIN_NAME: u16 = 2;
    /// The server's DNS name.
    pub const DNS_COMPUTER_NAME: u16 = 3;
    /// Flags; bit 0x2: the AUTHENTICATE message carries a MIC.
    pub const FLAGS: u16 = 6;
    /// The server's time (FILETIME); the client echoes it and then must send a MIC.
    pub const TIMESTAMP: u16 = 7;
}

/// MsvAvFlags bit: the MIC field of the AUTHENTICATE message is filled.
pub const AV_FLAG_MIC: u32 = 0x2;

/// The flags a CHALLENGE can offer, when the client asks: what HTTP authentication needs,
/// and SIGN (with SEAL, which clients ask for together) so that SPNEGO's mechListMIC is a
/// real signature rather than NTLM's all-zero "dummy" one. Never `KEY_EXCH`: its session
/// key is RC4-encrypted, and the server would then need RC4 to check the MIC.
const OFFERED: u32 = flags::UNICODE
    | flags::REQUEST_TARGET
    | flags::SIGN
    | flags::SEAL
    | flags::NTLM
    | flags::ALWAYS_SIGN
    | flags::EXTENDED_SESSIONSECURITY
    | flags::VERSION
    | flags::N128
    | flags::N56;

/// Offset of the MIC in an AUTHENTICATE message that has one (after the 64-byte header and
/// the 8-byte Version).
pub const MIC_OFFSET: usize = 72;
/// Size of the fixed part of an AUTHENTICATE message with a MIC.
const AUTHENTICATE_WITH_MIC: usize = MIC_OFFSET + 16;

fn u16_at(m: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(*m.get(at..)?.first_chunk::<2>()?))
}

fn u32_at(m: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(*m.get(at..)?.first_chunk::<4>()?))
}

fn u64_at(m: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(*m.get(at..)?.first_chunk::<8>()?))
}

/// A `(length, max length, offset)` security buffer at `at`: the field it points to, which
/// must lie inside the message past the fixed header (`min_offset`) when it is not empty.
fn field(m: &[u8], at: usize, min_offset: usize) -> Result<&[u8], ParseError> {
    let bad = ParseError::NtlmMessage;
    let len = u16_at(m, at).ok_or(bad)? as usize;
    let offset = u32_at(m, at + 4).ok_or(bad)? as usize;
    if len == 0 {
        return Ok(&[]);
    }
    if offset < min_offset {
        return Err(bad);
    }
    m.get(offset..offset.checked_add(len).ok_or(bad)?).ok_or(bad)
}

/// The message type of `m` (1, 2 or 3), after its signature.
pub fn message_type(m: &[u8]) -> Option<u32> {
    (m.get(..8)? == SIGNATURE).then(|| u32_at(m, 8)).flatten()
}

/// A NEGOTIATE message (type 1).
#[derive(Clone, Copy, Debug)]
pub struct Negotiate {
    /// The flags the client asks for.
    pub flags: u32,
}

impl Negotiate {
    /// Reads a NEGOTIATE message. The domain and workstation fields (OEM, informational) are
    /// bounds-checked and otherwise ignored; a 16-byte message without them is accepted, as
    /// old clients send it.
    pub fn parse(m: &[u8]) -> Result<Negotiate, ParseError> {
        if message_type(m) != Some(1) {
            return Err(ParseError::NtlmMessage);
        }
        let flags = u32_at(m, 12).ok_or(ParseError::NtlmMessage)?;
        if m.len() >= 32 {
            field(m, 16, 32)?;
            field(m, 24, 32)?;
        }
        if flags & (flags::UNICODE | flags::OEM) == 0 || flags & flags::NTLM == 0 {
            return Err(ParseError::NtlmMessage);
        }
        Ok(Negotiate { flags })
    }

    /// The flags of the answering CHALLENGE: UTF-16 strings when the client can read them,
    /// NTLM, TargetInfo (so that clients answer NTLMv2), and of the rest only what the client
    /// asked for and HTTP authentication can grant.
    pub fn challenge_flags(&self) -> u32 {
        let charset = if self.flags & flags::UNICODE != 0 { flags::UNICODE } else { flags::OEM };
        (self.flags & OFFERED & !flags::UNICODE)
            | charset
            | flags::NTLM
            | flags::TARGET_INFO
            | flags::TARGET_TYPE_SERVER
            | flags::REQUEST_TARGET
    }
}

/// What a CHALLENGE message says: enough to write it again, byte for byte (the MIC covers it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChallengeParams<'a> {
    /// The negotiated flags.
    pub flags: u32,
    /// The 8-byte server challenge.
    pub server_challenge: [u8; 8],
    /// MsvAvTimestamp (FILETIME: 100 ns since 1601).
    pub timestamp: u64,
    /// TargetName and the NetBIOS computer and domain names of the TargetInfo (ASCII).
    pub target: &'a str,
}

/// Windows' version block (6.1, build 7601, NTLM revision 15), as servers send it.
const VERSION: [u8; 8] = [6, 1, 0xb1, 0x1d, 0, 0, 0, 15];
const CHALLENGE_HEADER: usize = 56;

/// Writes the CHALLENGE message into `out`; its length, or `None` when it does not fit.
pub fn write_challenge(p: &ChallengeParams<'_>, out: &mut [u8]) -> Option<usize> {
    let unicode = p.flags & flags::UNICODE != 0;
    let name_len = p.target.len() * if unicode { 2 } else { 1 };
    let wide = p.target.len() * 2;
    // TargetInfo: NetBIOS domain, NetBIOS computer, DNS computer, timestamp, EOL.
    let info_len = 3 * (4 + wide) + (4 + 8) + 4;
    let total = CHALLENGE_HEADER + name_len + info_len;
    if name_len > u16::MAX as usize || info_len > u16::MAX as usize {
        return None;
    }
    let m = out.get_mut(..total)?;
    m.fill(0);
    m[..8].copy_from_slice(SIGNATURE);
    m[8..12].copy_from_slice(&2u32.to_le_bytes());
    let put_field = |m: &mut [u8], at: usize, len: usize, offset: usize| {
        m[at..at + 2].copy_from_slice(&(len as u16).to_le_bytes());
        m[at + 2..at + 4].copy_from_slice(&(len as u16).to_le_bytes());
        m[at + 4..at + 8].copy_from_slice(&(offset as u32).to_le_bytes());
    };
    put_field(m, 12, name_len, CHALLENGE_HEADER);
    m[20..24].copy_from_slice(&p.flags.to_le_bytes());
    m[24..32].copy_from_slice(&p.server_challenge);
    put_field(m, 40, info_len, CHALLENGE_HEADER + name_len);
    m[48..56].copy_from_slice(&VERSION);
    let mut at = CHALLENGE_HEADER;
    at = put_str(m, at, p.target, unicode);
    for id in [av::NB_DOMAIN_NAME, av::NB_COMPUTER_NAME, av::DNS_COMPUTER_NAME] {
        m[at..at + 2].copy_from_slice(&id.to_le_bytes());
        m[at + 2..at + 4].copy_from_slice(&(wide as u16).to_le_bytes());
        at = put_str(m, at + 4, p.target, true);
    }
    m[at..at + 2].copy_from_slice(&av::TIMESTAMP.to_le_bytes());
    m[at + 2..at + 4].copy_from_slice(&8u16.to_le_bytes());
    m[at + 4..at + 12].copy_from_slice(&p.timestamp.to_le_bytes());
    // The EOL pair is the zeroed tail.
    Some(total)
}

/// Writes ASCII `s` at `at`, as UTF-16LE or as bytes; where it ends.
fn put_str(m: &mut [u8], at: usize, s: &str, unicode: bool) -> usize {
    let mut at = at;
    for &b in s.as_bytes() {
        m[at] = b;
        at += if unicode { 2 } else { 1 };
    }
    at
}

/// An AUTHENTICATE message (type 3), borrowed from the decoded token.
#[derive(Clone, Copy, Debug)]
pub struct Authenticate<'m> {
    /// LmChallengeResponse.
    pub lm_response: &'m [u8],
    /// NtChallengeResponse: NTProofStr (16 bytes) then the client's blob for NTLMv2.
    pub nt_response: &'m [u8],
    /// UserDomain as sent (UTF-16LE or OEM).
    pub domain: &'m [u8],
    /// UserName as sent (UTF-16LE or OEM).
    pub user: &'m [u8],
    /// EncryptedRandomSessionKey.
    pub session_key: &'m [u8],
    /// NegotiateFlags.
    pub flags: u32,
    /// Whether the fixed part leaves room for a MIC at [`MIC_OFFSET`] (no payload there).
    pub mic_room: bool,
}

impl<'m> Authenticate<'m> {
    /// Reads an AUTHENTICATE message.
    pub fn parse(m: &'m [u8]) -> Result<Authenticate<'m>, ParseError> {
        if message_type(m) != Some(3) || m.len() < 64 {
            return Err(ParseError::NtlmMessage);
        }
        let fields = [12usize, 20, 28, 36, 44, 52];
        let mut got = [&m[..0]; 6];
        // Where the payload starts: the lowest offset of a non-empty field.
        let mut payload = m.len();
        for (slot, at) in got.iter_mut().zip(fields) {
            *slot = field(m, at, 64)?;
            if !slot.is_empty() {
                payload = payload.min(u32_at(m, at + 4).unwrap_or(0) as usize);
            }
        }
        let flags = u32_at(m, 60).ok_or(ParseError::NtlmMessage)?;
        Ok(Authenticate {
            lm_response: got[0],
            nt_response: got[1],
            domain: got[2],
            user: got[3],
            // got[4]: the workstation name, informational.
            session_key: got[5],
            flags,
            mic_room: payload >= AUTHENTICATE_WITH_MIC && m.len() >= AUTHENTICATE_WITH_MIC,
        })
    }

    /// Whether strings are UTF-16LE.
    pub fn unicode(&self) -> bool {
        self.flags & flags::UNICODE != 0
    }
}

/// The NTLMv2 client blob (MS-NLMP §2.2.2.7, "NTLMv2_CLIENT_CHALLENGE") after NTProofStr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blob {
    /// The client's time (FILETIME), or the server's MsvAvTimestamp it echoes.
    pub timestamp: u64,
    /// MsvAvFlags (0 when absent).
    pub av_flags: u32,
}

impl Blob {
    /// Reads the blob: version bytes 1 and 1, the timestamp, the client challenge, and an
    /// AV_PAIR list ending in MsvAvEOL within the blob.
    pub fn parse(blob: &[u8]) -> Result<Blob, ParseError> {
        let bad = ParseError::NtlmMessage;
        if blob.get(..2) != Some(&[1, 1]) {
            return Err(bad);
        }
        let timestamp = u64_at(blob, 8).ok_or(bad)?;
        let mut av_flags = 0;
        let mut at = 28;
        loop {
            let id = u16_at(blob, at).ok_or(bad)?;
            let len = u16_at(blob, at + 2).ok_or(bad)? as usize;
            let value = blob.get(at + 4..at + 4 + len).ok_or(bad)?;
            match id {
                av::EOL => break,
                av::FLAGS => av_flags = u32_at(value, 0).filter(|_| len == 4).ok_or(bad)?,
                _ => {}
            }
            at += 4 + len;
        }
        Ok(Blob { timestamp, av_flags })
    }
}

/// Seconds between 1601-01-01 (FILETIME's epoch) and 1970-01-01.
const FILETIME_UNIX_OFFSET: u64 = 11_644_473_600;

/// Unix seconds as a FILETIME.
pub fn filetime(unix: u64) -> u64 {
    unix.saturating_add(FILETIME_UNIX_OFFSET).saturating_mul(10_000_000)
}

/// Whether the FILETIME `t` lies within `window` seconds of Unix time `now`: compared in
/// FILETIME units, so that no 64-bit division is linked (Cortex-M0+ has none).
pub fn within(t: u64, now: u64, window: u64) -> bool {
    t.abs_diff(filetime(now)) <= window.saturating_mul(10_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authenticate(fields: [(u16, u32); 6], len: usize) -> [u8; 128] {
        let mut m = [0u8; 128];
        m[..8].copy_from_slice(SIGNATURE);
        m[8] = 3;
        for (i, (l, o)) in fields.iter().enumerate() {
            let at = 12 + 8 * i;
            m[at..at + 2].copy_from_slice(&l.to_le_bytes());
            m[at + 4..at + 8].copy_from_slice(&o.to_le_bytes());
        }
        let _ = len;
        m
    }

    #[test]
    fn fields_stay_inside_the_message() {
        let ok = authenticate([(0, 0), (24, 88), (0, 0), (4, 112), (0, 0), (0, 0)], 128);
        let a = Authenticate::parse(&ok).unwrap();
        assert_eq!((a.nt_response.len(), a.user.len(), a.mic_room), (24, 4, true));
        // Past the end, overflowing, inside the header.
        for f in [(24, 120), (1, u32::MAX), (8, 60)] {
            let m = authenticate([(0, 0), f, (0, 0), (0, 0), (0, 0), (0, 0)], 128);
            assert_eq!(Authenticate::parse(&m).err(), Some(ParseError::NtlmMessage), "{f:?}");
        }
        // Payload at 64: no room for a MIC.
        let m = authenticate([(0, 0), (24, 64), (0, 0), (0, 0), (0, 0), (0, 0)], 128);
        assert!(!Authenticate::parse(&m).unwrap().mic_room);
        assert_eq!(Authenticate::parse(&ok[..63]).err(), Some(ParseError::NtlmMessage));
        assert_eq!(Negotiate::parse(&ok).err(), Some(ParseError::NtlmMessage));
    }

    #[test]
    fn challenge_flags_offer_no_key_exchange() {
        let all = Negotiate { flags: u32::MAX }.challenge_flags();
        assert_eq!(all & (flags::KEY_EXCH | flags::OEM | flags::ANONYMOUS), 0);
        assert_eq!(all & (flags::SIGN | flags::SEAL), flags::SIGN | flags::SEAL);
        let plain = Negotiate { flags: flags::UNICODE | flags::NTLM }.challenge_flags();
        assert_eq!(plain & (flags::SIGN | flags::SEAL | flags::VERSION), 0);
        assert_eq!(all & flags::UNICODE, flags::UNICODE);
        let oem = Negotiate { flags: flags::OEM | flags::NTLM }.challenge_flags();
        assert_eq!(oem & (flags::UNICODE | flags::OEM | flags::TARGET_INFO), flags::OEM | flags::TARGET_INFO);
    }

    #[test]
    fn blob_av_list_is_bounded() {
        let mut b = [0u8; 48];
        b[0] = 1;
        b[1] = 1;
        b[8..16].copy_from_slice(&7u64.to_le_bytes());
        b[28..32].copy_from_slice(&[6, 0, 4, 0]);
        b[32..36].copy_from_slice(&2u32.to_le_bytes());
        assert_eq!(Blob::parse(&b), Ok(Blob { timestamp: 7, av_flags: 2 }));
        assert_eq!(Blob::parse(&b[..38]).err(), Some(ParseError::NtlmMessage));
        b[30] = 5;
        assert_eq!(Blob::parse(&b).err(), Some(ParseError::NtlmMessage));
        b[0] = 2;
        assert_eq!(Blob::parse(&b).err(), Some(ParseError::NtlmMessage));
    }

    #[test]
    fn filetime_window() {
        let now = 1_700_000_000;
        assert_eq!(filetime(now), 133_444_736_000_000_000);
        assert!(within(filetime(now - 300), now, 300) && within(filetime(now + 300), now, 300));
        assert!(!within(filetime(now + 300) + 1, now, 300));
        assert!(!within(filetime(now - 301), now, 300) && !within(filetime(now + 301), now, 300));
        assert!(!within(0, now, 300) && !within(u64::MAX, now, 300));
        assert_eq!(filetime(u64::MAX), u64::MAX);
    }
}
