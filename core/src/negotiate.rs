//! Negotiate (RFC 4559): the token contract and the acceptor a GSSAPI (or SSPI) back-end
//! implements outside the core, and the little of SPNEGO (RFC 4178) the core reads itself
//! to route NTLM inside it to [`ntlm`](crate::ntlm).
//!
//! A round: the client sends `Authorization: Negotiate <token>`; the acceptor answers
//! [`AcceptorStep::Continue`] with a token (401 with `WWW-Authenticate: Negotiate <token>`),
//! [`AcceptorStep::Complete`] with the principal and perhaps a final token (the success
//! response carries it, for mutual authentication), or [`AcceptorStep::Refused`] (401 with
//! fresh challenges). [`Engine::check_connection`](crate::Engine::check_connection) runs
//! the round and hands the acceptor the decoded token; the acceptor keeps its own context
//! per connection between rounds.
//!
//! Which token goes where: a raw NTLMSSP message (what Windows sends under Negotiate when
//! Kerberos cannot be used) and SPNEGO whose preferred mechanism is NTLM with no Kerberos
//! offered go to the core's NTLM; a SPNEGO continuation goes to the core's NTLM when the
//! connection has an NTLM handshake in SPNEGO pending; everything else that is DER goes to
//! the acceptor; anything else is malformed (400).

use crate::credential::UserName;

/// What an acceptor made of one client token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AcceptorStep {
    /// Another round is needed: the first `output_len` bytes of the output buffer go to the
    /// client in a 401.
    Continue {
        /// Bytes written to the output buffer (at least 1).
        output_len: usize,
    },
    /// The client is `principal`; `output_len` bytes (0: none) go to the client on the
    /// success response (mutual authentication).
    Complete {
        /// The authenticated principal (`user@REALM` for Kerberos).
        principal: UserName,
        /// Bytes written to the output buffer.
        output_len: usize,
    },
    /// Refused: bad, expired or replayed ticket, wrong service key, unusable mechanism, an
    /// output token that does not fit, a principal longer than a [`UserName`].
    Refused,
}

/// A Negotiate acceptor: GSSAPI's `gss_accept_sec_context` (or SSPI's
/// `AcceptSecurityContext`) behind the core's contract.
///
/// The acceptor owns its per-connection contexts: a `Continue` leaves one open for
/// `connection`, `Complete` and `Refused` close it. Implementations must be callable from
/// every thread that calls the engine (`&self`).
pub trait NegotiateAcceptor {
    /// Steps the context of `connection` with the client's decoded `token`, writing any
    /// output token into `output` (at most its length; else refuse).
    fn step(&self, connection: u64, token: &[u8], output: &mut [u8]) -> AcceptorStep;

    /// The connection closed: drop its context, if any.
    fn forget(&self, _connection: u64) {}
}

impl<T: NegotiateAcceptor + ?Sized> NegotiateAcceptor for &T {
    fn step(&self, connection: u64, token: &[u8], output: &mut [u8]) -> AcceptorStep {
        (**self).step(connection, token, output)
    }
    fn forget(&self, connection: u64) {
        (**self).forget(connection)
    }
}

/// DER encodings of the object identifiers the router looks at (contents octets only).
pub mod oid {
    /// SPNEGO, 1.3.6.1.5.5.2.
    pub const SPNEGO: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
    /// NTLMSSP, 1.3.6.1.4.1.311.2.2.10.
    pub const NTLM: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a];
    /// Kerberos 5, 1.2.840.113554.1.2.2.
    pub const KRB5: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
    /// Microsoft's Kerberos 5, 1.2.840.48018.1.2.2.
    pub const MS_KRB5: &[u8] = &[0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02];
}

/// One DER element: its tag, its contents, and what follows it. Definite lengths of up to
/// three bytes only (tokens are bounded far below 16 MiB).
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        0..=0x7f => (first as usize, rest),
        0x81..=0x83 => {
            let n = (first & 0x7f) as usize;
            let (bytes, rest) = rest.split_at_checked(n)?;
            (bytes.iter().fold(0usize, |l, &b| l << 8 | b as usize), rest)
        }
        _ => return None,
    };
    let (value, rest) = rest.split_at_checked(len)?;
    Some((tag, value, rest))
}

/// The fields of a SEQUENCE of context-tagged elements (`[n] value`): the contents of the
/// one tagged `[want]`.
fn field(seq: &[u8], want: u8) -> Option<&[u8]> {
    let mut rest = seq;
    while !rest.is_empty() {
        let (tag, value, next) = tlv(rest)?;
        if tag == 0xa0 | want {
            return Some(value);
        }
        rest = next;
    }
    None
}

/// A Negotiate token, as the router sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Token<'t> {
    /// A raw NTLMSSP message.
    Ntlm(&'t [u8]),
    /// SPNEGO NegTokenInit whose first mechanism is NTLM, with no Kerberos mechanism listed.
    SpnegoNtlm {
        /// The MechTypeList element, as sent (the mechListMIC covers it).
        mech_types: &'t [u8],
        /// The optimistic NTLM token (a NEGOTIATE message), if sent.
        mech_token: Option<&'t [u8]>,
    },
    /// SPNEGO NegTokenResp (a continuation).
    SpnegoResp {
        /// The mechanism's token, if any.
        response_token: Option<&'t [u8]>,
        /// The mechListMIC, if any.
        mech_list_mic: Option<&'t [u8]>,
    },
    /// Another GSS-API token (Kerberos, SPNEGO offering Kerberos): for the acceptor.
    Acceptor,
}

impl<'t> Token<'t> {
    /// Routes a decoded token; `None` when it is neither NTLMSSP nor a DER GSS-API token.
    pub fn classify(t: &'t [u8]) -> Option<Token<'t>> {
        if t.starts_with(b"NTLMSSP\0") {
            return Some(Token::Ntlm(t));
        }
        let (tag, body, rest) = tlv(t)?;
        if !rest.is_empty() {
            return None;
        }
        match tag {
            // InitialContextToken: [APPLICATION 0] { thisMech OID, innerContextToken }.
            0x60 => {
                let (0x06, mech, inner) = tlv(body)? else { return None };
                if mech != oid::SPNEGO {
                    return Some(Token::Acceptor);
                }
                let (0xa0, init, _) = tlv(inner)? else { return Some(Token::Acceptor) };
                let (0x30, fields, _) = tlv(init)? else { return None };
                let Some(list) = field(fields, 0) else { return Some(Token::Acceptor) };
                let (0x30, mechs, _) = tlv(list)? else { return None };
                let mut first = None;
                let mut kerberos = false;
                let mut rest = mechs;
                while !rest.is_empty() {
                    let (0x06, m, next) = tlv(rest)? else { return None };
                    first.get_or_insert(m);
                    kerberos |= m == oid::KRB5 || m == oid::MS_KRB5;
                    rest = next;
                }
                if first != Some(oid::NTLM) || kerberos {
                    return Some(Token::Acceptor);
                }
                let mech_token = match field(fields, 2) {
                    Some(f) => match tlv(f)? {
                        (0x04, tok, _) => Some(tok),
                        _ => return None,
                    },
                    None => None,
                };
                Some(Token::SpnegoNtlm { mech_types: list, mech_token })
            }
            // NegTokenResp: [1] SEQUENCE { [0] negState, [1] supportedMech, [2] responseToken, [3] mechListMIC }.
            0xa1 => {
                let (0x30, fields, _) = tlv(body)? else { return None };
                let octets = |n| match field(fields, n).map(tlv) {
                    Some(Some((0x04, v, _))) => Ok(Some(v)),
                    Some(_) => Err(()),
                    None => Ok(None),
                };
                Some(Token::SpnegoResp { response_token: octets(2).ok()?, mech_list_mic: octets(3).ok()? })
            }
            _ => None,
        }
    }
}

/// SPNEGO negState values (RFC 4178 §4.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NegState {
    /// accept-completed.
    AcceptCompleted = 0,
    /// accept-incomplete.
    AcceptIncomplete = 1,
    /// reject.
    Reject = 2,
}

/// Writes a DER length; how many bytes it took (`None`: does not fit).
fn put_len(out: &mut [u8], len: usize) -> Option<usize> {
    match len {
        0..=0x7f => {
            *out.first_mut()? = len as u8;
            Some(1)
        }
        0x80..=0xff => {
            out.get_mut(..2)?.copy_from_slice(&[0x81, len as u8]);
            Some(2)
        }
        _ => {
            out.get_mut(..3)?.copy_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
            Some(3)
        }
    }
}

fn len_of_len(len: usize) -> usize {
    match len {
        0..=0x7f => 1,
        0x80..=0xff => 2,
        _ => 3,
    }
}

/// Writes a server NegTokenResp (negState, the NTLM mechanism on the first reply, the
/// response token, the mechListMIC) into `out`: its length, or `None` if it does not fit.
/// The response token may already lie in `out` at the offset [`resp_token_offset`] gives
/// for the same arguments (`token` is then `None` and `token_len` its length).
pub fn write_neg_token_resp(
    state: NegState,
    supported_ntlm: bool,
    token_len: Option<usize>,
    mic: Option<&[u8; 16]>,
    out: &mut [u8],
) -> Option<usize> {
    let elem = |content: usize| 1 + len_of_len(content) + content;
    let state_f = elem(elem(1));
    let mech_f = if supported_ntlm { elem(elem(oid::NTLM.len())) } else { 0 };
    let tok_f = token_len.map_or(0, |l| elem(elem(l)));
    let mic_f = if mic.is_some() { elem(elem(16)) } else { 0 };
    let seq = state_f + mech_f + tok_f + mic_f;
    let total = elem(elem(seq));
    if total > out.len() || total > 0xffff {
        return None;
    }
    // The token is written last, where it goes, so that it can be the bytes already there.
    let tok_at = token_len.map(|_| resp_token_offset(state, supported_ntlm, token_len.unwrap_or(0), mic.is_some()));
    let mut at = 0;
    let put = |out: &mut [u8], tag: u8, len: usize, at: &mut usize| -> Option<()> {
        *out.get_mut(*at)? = tag;
        *at += 1 + put_len(out.get_mut(*at + 1..)?, len)?;
        Some(())
    };
    put(out, 0xa1, elem(seq), &mut at)?;
    put(out, 0x30, seq, &mut at)?;
    put(out, 0xa0, elem(1), &mut at)?;
    put(out, 0x0a, 1, &mut at)?;
    *out.get_mut(at)? = state as u8;
    at += 1;
    if supported_ntlm {
        put(out, 0xa1, elem(oid::NTLM.len()), &mut at)?;
        put(out, 0x06, oid::NTLM.len(), &mut at)?;
        out.get_mut(at..at + oid::NTLM.len())?.copy_from_slice(oid::NTLM);
        at += oid::NTLM.len();
    }
    if let (Some(l), Some(t)) = (token_len, tok_at) {
        put(out, 0xa2, elem(l), &mut at)?;
        put(out, 0x04, l, &mut at)?;
        debug_assert_eq!(at, t);
        at += l;
    }
    if let Some(m) = mic {
        put(out, 0xa3, elem(16), &mut at)?;
        put(out, 0x04, 16, &mut at)?;
        out.get_mut(at..at + 16)?.copy_from_slice(m);
        at += 16;
    }
    Some(at)
}

/// Where [`write_neg_token_resp`] puts a response token of `token_len` bytes.
pub fn resp_token_offset(state: NegState, supported_ntlm: bool, token_len: usize, mic: bool) -> usize {
    let _ = state;
    let elem = |content: usize| 1 + len_of_len(content) + content;
    let mech_f = if supported_ntlm { elem(elem(oid::NTLM.len())) } else { 0 };
    let tok_f = elem(elem(token_len));
    let mic_f = if mic { elem(elem(16)) } else { 0 };
    let seq = elem(elem(1)) + mech_f + tok_f + mic_f;
    let head = 1 + len_of_len(elem(seq)) + 1 + len_of_len(seq);
    head + elem(elem(1)) + mech_f + 1 + len_of_len(elem(token_len)) + 1 + len_of_len(token_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What pyspnego sends first for NTLM-only SPNEGO (captured from pyspnego 0.11's
    /// `spnego.client(protocol="negotiate")` with Kerberos unavailable).
    fn init(mechs: &[&[u8]], token: &[u8]) -> heapless::Vec<u8, 256> {
        let mut list = heapless::Vec::<u8, 64>::new();
        for m in mechs {
            list.extend_from_slice(&[0x06, m.len() as u8]).unwrap();
            list.extend_from_slice(m).unwrap();
        }
        let mut v = heapless::Vec::<u8, 256>::new();
        let tok_f = 2 + 2 + token.len();
        let types_f = 2 + 2 + list.len();
        let seq = types_f + tok_f;
        let neg = 2 + seq;
        let body = 2 + oid::SPNEGO.len() + 2 + neg;
        v.extend_from_slice(&[0x60, body as u8, 0x06, oid::SPNEGO.len() as u8]).unwrap();
        v.extend_from_slice(oid::SPNEGO).unwrap();
        v.extend_from_slice(&[0xa0, neg as u8, 0x30, seq as u8]).unwrap();
        v.extend_from_slice(&[0xa0, (2 + list.len()) as u8, 0x30, list.len() as u8]).unwrap();
        v.extend_from_slice(&list).unwrap();
        v.extend_from_slice(&[0xa2, (2 + token.len()) as u8, 0x04, token.len() as u8]).unwrap();
        v.extend_from_slice(token).unwrap();
        v
    }

    #[test]
    fn routes_ntlm_and_kerberos() {
        let neg = b"NTLMSSP\0\x01\0\0\0";
        assert_eq!(Token::classify(neg), Some(Token::Ntlm(neg)));
        let t = init(&[oid::NTLM], neg);
        match Token::classify(&t) {
            Some(Token::SpnegoNtlm { mech_types, mech_token }) => {
                assert_eq!(mech_token, Some(&neg[..]));
                assert_eq!(mech_types[0], 0x30);
                assert_eq!(mech_types.len(), 2 + 2 + oid::NTLM.len());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(Token::classify(&init(&[oid::NTLM, oid::KRB5], neg)), Some(Token::Acceptor));
        assert_eq!(Token::classify(&init(&[oid::MS_KRB5, oid::NTLM], neg)), Some(Token::Acceptor));
        // Truncated anywhere: not a token.
        for n in 1..t.len() {
            assert_eq!(Token::classify(&t[..n]), None, "{n}");
        }
        assert_eq!(Token::classify(b"garbage"), None);
        assert_eq!(Token::classify(&[]), None);
        // A raw Kerberos token: the acceptor's.
        let mut krb = heapless::Vec::<u8, 32>::new();
        krb.extend_from_slice(&[0x60, 13, 0x06, 9]).unwrap();
        krb.extend_from_slice(oid::KRB5).unwrap();
        krb.extend_from_slice(&[1, 0]).unwrap();
        assert_eq!(Token::classify(&krb), Some(Token::Acceptor));
    }

    #[test]
    fn neg_token_resp_round_trips() {
        for len in [0usize, 5, 120, 130, 300, 700] {
            let mut out = [0u8; 1024];
            let at = resp_token_offset(NegState::AcceptIncomplete, true, len, false);
            for (i, b) in out[at..at + len].iter_mut().enumerate() {
                *b = i as u8;
            }
            let n = write_neg_token_resp(NegState::AcceptIncomplete, true, Some(len), None, &mut out).unwrap();
            match Token::classify(&out[..n]) {
                Some(Token::SpnegoResp { response_token: Some(t), mech_list_mic: None }) => {
                    assert_eq!(t.len(), len);
                    assert!(t.iter().enumerate().all(|(i, b)| *b == i as u8));
                }
                other => panic!("{len}: {other:?}"),
            }
        }
        let mut out = [0u8; 64];
        let n = write_neg_token_resp(NegState::AcceptCompleted, false, None, Some(&[9; 16]), &mut out).unwrap();
        assert_eq!(
            Token::classify(&out[..n]),
            Some(Token::SpnegoResp { response_token: None, mech_list_mic: Some(&[9; 16]) })
        );
        assert_eq!(&out[..7], &[0xa1, 27, 0x30, 25, 0xa0, 3, 0x0a]);
        assert_eq!(write_neg_token_resp(NegState::AcceptCompleted, false, None, Some(&[9; 16]), &mut out[..20]), None);
    }
}
