//! An independent NTLMv2 client written from MS-NLMP (not from the core's code), for the
//! NTLM conformance tests, and SPNEGO wrapping as pyspnego and Windows send it.

use hmac::{KeyInit, Mac};
use md4::Digest as _;

type HmacMd5 = hmac::Hmac<md5::Md5>;

fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    let mut m = <HmacMd5 as KeyInit>::new_from_slice(key).unwrap();
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn u16_at(m: &[u8], at: usize) -> usize {
    u16::from_le_bytes([m[at], m[at + 1]]) as usize
}

fn u32_at(m: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(m[at..at + 4].try_into().unwrap())
}

fn field(m: &[u8], at: usize) -> &[u8] {
    let len = u16_at(m, at);
    let off = u32_at(m, at + 4) as usize;
    &m[off..off + len]
}

/// The client's choices.
#[derive(Clone, Debug)]
pub struct NtlmClient {
    pub user: String,
    pub domain: String,
    pub password: String,
    /// UTF-16 strings (else OEM, as curl sends them).
    pub unicode: bool,
    /// Send a MIC (and MsvAvFlags 0x2), as Windows does when the server sends a timestamp.
    pub mic: bool,
    /// The timestamp of the blob; `None`: the server's MsvAvTimestamp.
    pub timestamp: Option<u64>,
    /// Answer NTLMv1 (24-byte responses) instead.
    pub v1: bool,
    /// Answer with an LM response only.
    pub lm_only: bool,
    /// Flags asked for in NEGOTIATE.
    pub flags: u32,
    /// The client challenge.
    pub client_challenge: [u8; 8],
}

impl NtlmClient {
    /// Windows-like defaults.
    pub fn new(user: &str, password: &str) -> Self {
        NtlmClient {
            user: user.into(),
            domain: "HOME".into(),
            password: password.into(),
            unicode: true,
            mic: true,
            timestamp: None,
            v1: false,
            lm_only: false,
            // UNICODE OEM REQUEST_TARGET SIGN SEAL NTLM ALWAYS_SIGN ESS VERSION 128 KEY_EXCH 56
            flags: 0x0000_0001
                | 0x2
                | 0x4
                | 0x10
                | 0x20
                | 0x200
                | 0x8000
                | 0x8_0000
                | 0x0200_0000
                | 0x2000_0000
                | 0x4000_0000
                | 0x8000_0000,
            client_challenge: [0xaa; 8],
        }
    }

    /// The NEGOTIATE message: 40 bytes, no names, the version.
    pub fn negotiate(&self) -> Vec<u8> {
        let mut m = b"NTLMSSP\0\x01\0\0\0".to_vec();
        m.extend_from_slice(&self.flags.to_le_bytes());
        m.extend_from_slice(&[0; 16]);
        m.extend_from_slice(&[10, 0, 0x63, 0x45, 0, 0, 0, 15]);
        m
    }

    /// The NT hash: MD4 of the UTF-16LE password.
    pub fn nt_hash(password: &str) -> [u8; 16] {
        md4::Md4::digest(utf16(password)).into()
    }

    /// The AUTHENTICATE message answering `challenge` (after `negotiate`), and the session
    /// base key.
    pub fn authenticate(&self, negotiate: &[u8], challenge: &[u8]) -> (Vec<u8>, [u8; 16]) {
        assert_eq!(&challenge[..12], b"NTLMSSP\0\x02\0\0\0");
        let flags = u32_at(challenge, 20);
        let server_challenge = &challenge[24..32];
        let info = field(challenge, 40);
        let unicode = self.unicode && flags & 1 != 0;
        let enc = |s: &str| if unicode { utf16(s) } else { s.as_bytes().to_vec() };
        // The AV pairs, the timestamp among them.
        let mut pairs = Vec::new();
        let mut at = 0;
        let mut server_time = None;
        loop {
            let id = u16_at(info, at);
            let len = u16_at(info, at + 2);
            if id == 0 {
                break;
            }
            if id == 7 {
                server_time = Some(u64::from_le_bytes(info[at + 4..at + 12].try_into().unwrap()));
            }
            pairs.extend_from_slice(&info[at..at + 4 + len]);
            at += 4 + len;
        }
        if self.mic {
            pairs.extend_from_slice(&[6, 0, 4, 0, 2, 0, 0, 0]);
        }
        pairs.extend_from_slice(&[0; 4]);
        let time = self.timestamp.or(server_time).expect("a timestamp");
        let nt = Self::nt_hash(&self.password);
        let identity = utf16(&(self.user.to_uppercase() + &self.domain));
        let ntowf = hmac_md5(&nt, &[&identity]);
        let mut blob = vec![1, 1, 0, 0, 0, 0, 0, 0];
        blob.extend_from_slice(&time.to_le_bytes());
        blob.extend_from_slice(&self.client_challenge);
        blob.extend_from_slice(&[0; 4]);
        blob.extend_from_slice(&pairs);
        blob.extend_from_slice(&[0; 4]);
        let proof = hmac_md5(&ntowf, &[server_challenge, &blob]);
        let session_key = hmac_md5(&ntowf, &[&proof]);
        let (lm, ntr) = if self.v1 {
            (vec![0x11; 24], vec![0x22; 24])
        } else if self.lm_only {
            (vec![0x11; 24], vec![])
        } else {
            let lm = if server_time.is_some() {
                vec![0; 24]
            } else {
                [&hmac_md5(&ntowf, &[server_challenge, &self.client_challenge])[..], &self.client_challenge].concat()
            };
            ([lm].concat(), [&proof[..], &blob].concat())
        };
        let payload: [Vec<u8>; 6] = [lm, ntr, enc(&self.domain), enc(&self.user), enc("WORKSTATION"), vec![]];
        let mut m = b"NTLMSSP\0\x03\0\0\0".to_vec();
        let mut offset = 88u32;
        for p in &payload {
            m.extend_from_slice(&(p.len() as u16).to_le_bytes());
            m.extend_from_slice(&(p.len() as u16).to_le_bytes());
            m.extend_from_slice(&offset.to_le_bytes());
            offset += p.len() as u32;
        }
        let flags_out = if unicode { flags } else { flags & !1 };
        m.extend_from_slice(&flags_out.to_le_bytes());
        m.extend_from_slice(&[10, 0, 0x63, 0x45, 0, 0, 0, 15]);
        m.extend_from_slice(&[0; 16]);
        for p in &payload {
            m.extend_from_slice(p);
        }
        if self.mic {
            let mic = hmac_md5(&session_key, &[negotiate, challenge, &m]);
            m[72..88].copy_from_slice(&mic);
        }
        (m, session_key)
    }
}

/// The NTLM signature of MS-NLMP §3.4.4.2 (extended session security, no key exchange),
/// sequence number 0: SPNEGO's mechListMIC.
pub fn signature(session_key: &[u8; 16], from_client: bool, data: &[u8]) -> [u8; 16] {
    let magic: &[u8] = if from_client {
        b"session key to client-to-server signing key magic constant\0"
    } else {
        b"session key to server-to-client signing key magic constant\0"
    };
    let key = md5::Md5::digest([&session_key[..], magic].concat());
    let checksum = hmac_md5(&key, &[&[0; 4], data]);
    let mut out = [0u8; 16];
    out[0] = 1;
    out[4..12].copy_from_slice(&checksum[..8]);
    out
}

/// DER: tag, length, contents.
pub fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    match content.len() {
        n @ 0..=0x7f => v.push(n as u8),
        n @ 0x80..=0xff => v.extend_from_slice(&[0x81, n as u8]),
        n => v.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]),
    }
    v.extend_from_slice(content);
    v
}

/// NTLM's OID, DER-encoded.
pub const NTLM_OID: &[u8] = &[0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a];
/// Kerberos 5's OID, DER-encoded.
pub const KRB5_OID: &[u8] = &[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];

/// The MechTypeList of `oids`.
pub fn mech_types(oids: &[&[u8]]) -> Vec<u8> {
    der(0x30, &oids.concat())
}

/// SPNEGO NegTokenInit with `mech_types` and an optimistic token.
pub fn neg_token_init(mech_types: &[u8], token: &[u8]) -> Vec<u8> {
    let spnego = [0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
    let init = der(0x30, &[der(0xa0, mech_types), der(0xa2, &der(0x04, token))].concat());
    der(0x60, &[&spnego[..], &der(0xa0, &init)].concat())
}

/// SPNEGO NegTokenResp from the client: a response token and perhaps a mechListMIC.
pub fn neg_token_resp(token: &[u8], mic: Option<&[u8]>) -> Vec<u8> {
    let mut fields = der(0xa2, &der(0x04, token));
    if let Some(m) = mic {
        fields.extend_from_slice(&der(0xa3, &der(0x04, m)));
    }
    der(0xa1, &der(0x30, &fields))
}

/// The fields of a server NegTokenResp: negState, responseToken, mechListMIC.
pub fn read_neg_token_resp(t: &[u8]) -> (Option<u8>, Option<Vec<u8>>, Option<Vec<u8>>) {
    fn tlv(b: &[u8]) -> (u8, &[u8], &[u8]) {
        let (len, hdr) = match b[1] {
            n @ 0..=0x7f => (n as usize, 2),
            0x81 => (b[2] as usize, 3),
            0x82 => ((b[2] as usize) << 8 | b[3] as usize, 4),
            _ => panic!("length"),
        };
        (b[0], &b[hdr..hdr + len], &b[hdr + len..])
    }
    let (tag, body, _) = tlv(t);
    assert_eq!(tag, 0xa1);
    let (tag, mut fields, _) = tlv(body);
    assert_eq!(tag, 0x30);
    let mut out = (None, None, None);
    while !fields.is_empty() {
        let (tag, value, rest) = tlv(fields);
        let (_, inner, _) = tlv(value);
        match tag {
            0xa0 => out.0 = Some(inner[0]),
            0xa2 => out.1 = Some(inner.to_vec()),
            0xa3 => out.2 = Some(inner.to_vec()),
            _ => {}
        }
        fields = rest;
    }
    out
}
