//! Stateless, keyed, expiring Digest nonces.
//!
//! ```text
//! nonce  = lowercase-hex( issued:u64be || unique:[u8; 8] || tag:[u8; 16] )     (64 characters)
//! unique = sequence:u32be || salt:[u8; 4]        (an engine's nonces: Nonce::issue_in_sequence)
//!        | salt:[u8; 8]                          (Nonce::issue)
//! tag    = HMAC-SHA256(key, "authgate nonce v1" || issued || unique || len(realm) || realm || opaque)[..16]
//! ```
//!
//! A nonce proves it was issued by a holder of the key, for this realm and opaque, at
//! `issued` (seconds, caller's clock). No server state is needed to verify it, so any
//! process that shares the key accepts it.
//!
//! The sequence counts the nonces an engine issued ([`NonceSequence`]): within one second it
//! orders them by issue, which the replay table needs to evict the oldest nonce without
//! making the nonces issued after it in the same second stale
//! ([`ReplayTable`](crate::ReplayTable)). The salt (the last 4 of the caller's 8 random
//! bytes) keeps nonces of processes sharing a key apart. Issue is a function of its inputs: two
//! engines given the same requests issue the same nonces. The first 4 bytes of `unique` and
//! the tag make the nonce's identity in the replay store ([`NonceId`]). Two keys are tried,
//! so a key can be rotated without failing clients mid-session.

use crate::hash::{ct_eq_words, encode_hex, HashOutput};
use core::sync::atomic::{AtomicU32, Ordering};

/// An issuer's count of the nonces it issued: each engine keeps one.
#[derive(Debug, Default)]
pub struct NonceSequence(AtomicU32);

impl NonceSequence {
    /// Starting at 0.
    pub const fn new() -> Self {
        NonceSequence(AtomicU32::new(0))
    }

    /// Takes the next number (wrapping: the replay table compares them in serial number
    /// arithmetic, RFC 1982, so the order holds while fewer than 2^31 nonces are issued in
    /// one second).
    pub fn next(&self) -> u32 {
        #[cfg(target_has_atomic = "32")]
        return self.0.fetch_add(1, Ordering::Relaxed);
        // Cortex-M0+ has no read-modify-write instruction: a load and a store. Two issues
        // that interleave there (from an interrupt) may share a number; the nonces still
        // differ by salt and tag, only their order in that second is a tie.
        #[cfg(not(target_has_atomic = "32"))]
        {
            let s = self.0.load(Ordering::Relaxed);
            self.0.store(s.wrapping_add(1), Ordering::Relaxed);
            s
        }
    }
}

/// Length of an encoded nonce.
pub const NONCE_LEN: usize = 2 * RAW_LEN;
/// Length of a decoded nonce (issue time, salt, tag).
pub const RAW_LEN: usize = 32;
pub(crate) const TAG_LEN: usize = 16;
const DOMAIN: &[u8] = b"authgate nonce v1";

/// Server key for nonces: 32 bytes from a good entropy source, shared by every process
/// that must accept the same nonces.
#[derive(Clone)]
pub struct NonceKey {
    // The word form keeps the keyed HMAC state (two SHA-256 blocks fewer per nonce); the
    // compact form the key alone (no state of ~200 bytes to copy).
    mac: crate::accel::NonceMac,
}

impl core::fmt::Debug for NonceKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("NonceKey(..)")
    }
}

impl NonceKey {
    /// A key from 32 bytes of entropy.
    pub fn new(key: &[u8; 32]) -> Self {
        NonceKey { mac: crate::accel::NonceMac::new(key) }
    }

    /// The tag of a nonce: the MAC of [`tag_head`], realm and opaque, truncated (each form
    /// of the MAC computes it in one frame of its own).
    #[inline(always)]
    fn tag(&self, issued: u64, unique: &[u8; 8], realm: &[u8], opaque: &[u8]) -> [u8; TAG_LEN] {
        self.mac.tag(issued, unique, realm, opaque)
    }
}

/// Length of [`tag_head`].
pub(crate) const TAG_HEAD_LEN: usize = DOMAIN.len() + 8 + 8 + 4;

/// What the tag's MAC covers before realm and opaque: domain, issue time, the 8 bytes after
/// it (sequence and salt) and the realm's length (so realm/opaque boundaries cannot be
/// shifted), in one piece.
#[inline(always)]
pub(crate) fn tag_head(issued: u64, unique: &[u8; 8], realm_len: usize) -> [u8; TAG_HEAD_LEN] {
    let mut head = [0u8; TAG_HEAD_LEN];
    let (domain, rest) = head.split_at_mut(DOMAIN.len());
    domain.copy_from_slice(DOMAIN);
    rest[..8].copy_from_slice(&issued.to_be_bytes());
    rest[8..16].copy_from_slice(unique);
    rest[16..20].copy_from_slice(&(realm_len as u32).to_be_bytes());
    head
}

/// The tag: the MAC's first [`TAG_LEN`] bytes.
#[inline(always)]
pub(crate) fn truncated(mac: &[u8]) -> [u8; TAG_LEN] {
    mac.first_chunk().copied().unwrap_or([0; TAG_LEN])
}

/// The identity of a nonce in a replay store: the first 4 bytes after its issue time (an
/// engine's sequence number) and the first 12 bytes of its tag. Unique for every nonce a key
/// issues, and ordered by issue within one second of one engine ([`id_sequence`]).
pub type NonceId = [u8; 16];

/// The sequence number a [`NonceId`] carries.
pub fn id_sequence(id: &NonceId) -> u32 {
    u32::from_be_bytes([id[0], id[1], id[2], id[3]])
}

/// An encoded nonce (lowercase hex: the code that hex-encodes Digest hashes serves it too,
/// so no base64url codec is linked).
#[derive(Clone, Copy, PartialEq, Eq)]
// Word-aligned: moving one is word loads and stores instead of byte ones on Cortex-M0+.
#[repr(align(4))]
pub struct Nonce {
    text: [u8; NONCE_LEN],
}

impl Nonce {
    /// Issues a nonce at `now` with the caller's random `salt` (8 bytes of it in the nonce).
    /// A [`ReplayTable`](crate::ReplayTable) orders such nonces of one second by their first
    /// 4 salt bytes, that is at random: an issuer that shares a table with a busy client
    /// should use [`issue_in_sequence`](Self::issue_in_sequence), as the engine does.
    pub fn issue(key: &NonceKey, realm: &[u8], opaque: &[u8], now: u64, salt: [u8; 8]) -> Nonce {
        Self::issue_unique(key, realm, opaque, now, salt)
    }

    /// Issues a nonce at `now`, number `sequence` of its issuer ([`NonceSequence::next`]),
    /// with the caller's random `salt` (its last 4 bytes).
    pub fn issue_in_sequence(
        key: &NonceKey,
        realm: &[u8],
        opaque: &[u8],
        now: u64,
        sequence: u32,
        salt: [u8; 8],
    ) -> Nonce {
        let mut unique = salt;
        unique[..4].copy_from_slice(&sequence.to_be_bytes());
        Self::issue_unique(key, realm, opaque, now, unique)
    }

    fn issue_unique(key: &NonceKey, realm: &[u8], opaque: &[u8], now: u64, unique: [u8; 8]) -> Nonce {
        let tag = key.tag(now, &unique, realm, opaque);
        let mut raw = [0u8; RAW_LEN];
        raw[..8].copy_from_slice(&now.to_be_bytes());
        raw[8..16].copy_from_slice(&unique);
        raw[16..].copy_from_slice(&tag);
        let mut text = [0u8; NONCE_LEN];
        encode_hex(&raw, &mut text);
        Nonce { text }
    }

    /// The nonce text.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.text).unwrap_or("")
    }
}

impl core::fmt::Debug for Nonce {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Result of checking a nonce from a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NonceStatus {
    /// Issued by us for this realm/opaque and within its lifetime.
    Valid {
        /// Issue time.
        issued: u64,
        /// Identity for the replay store.
        id: NonceId,
    },
    /// Issued by us, but too old (or from too far in the future): answer with `stale=true`
    /// if the response is otherwise right.
    Expired {
        /// Issue time.
        issued: u64,
        /// Identity.
        id: NonceId,
    },
    /// Not a nonce of ours: garbage, forged, another realm, or keys rotated twice since.
    Invalid,
}

/// Verification parameters.
#[derive(Clone, Copy, Debug)]
pub struct Lifetime {
    /// Seconds a nonce stays valid after issue.
    pub max_age: u64,
    /// Seconds a nonce may claim to come from the future (clock skew between processes).
    pub max_skew: u64,
}

/// The bytes of a nonce's text (issue time, salt, tag), or `None` unless it is exactly
/// [`NONCE_LEN`] lower-case hex digits: one spelling per nonce, as issued. Verifies nothing.
pub fn decode(nonce: &[u8]) -> Option<[u8; RAW_LEN]> {
    if nonce.len() != NONCE_LEN {
        return None;
    }
    let decoded = HashOutput::decode_hex(nonce, false)?;
    decoded.as_bytes().try_into().ok()
}

/// Checks `nonce` against the current and, if given, the previous key. Both tags are
/// always computed and compared in constant time.
pub fn verify(
    nonce: &[u8],
    current: &NonceKey,
    previous: Option<&NonceKey>,
    realm: &[u8],
    opaque: &[u8],
    now: u64,
    lifetime: Lifetime,
) -> NonceStatus {
    // Read where it was decoded (no copy of the bytes, nor of their parts).
    let decoded = match nonce.len() {
        NONCE_LEN => HashOutput::decode_hex(nonce, false),
        _ => None,
    };
    let Some(raw) = decoded.as_ref().and_then(|d| <&[u8; RAW_LEN]>::try_from(d.as_bytes()).ok()) else {
        return NonceStatus::Invalid;
    };
    let (head, sent) = raw.split_at(16);
    let (issued, unique) = head.split_at(8);
    let issued = u64::from_be_bytes(issued.try_into().unwrap_or([0; 8]));
    let unique: &[u8; 8] = unique.try_into().unwrap_or(&[0; 8]);
    let sent: &[u8; TAG_LEN] = sent.try_into().unwrap_or(&[0; TAG_LEN]);
    // Compared a word at a time: two constant-time comparisons, not sixteen.
    let mut ok = ct_eq_words(&current.tag(issued, unique, realm, opaque), sent);
    if let Some(prev) = previous {
        ok |= ct_eq_words(&prev.tag(issued, unique, realm, opaque), sent);
    }
    if !bool::from(ok) {
        return NonceStatus::Invalid;
    }
    let mut id = [0u8; 16];
    id[..4].copy_from_slice(&unique[..4]);
    id[4..].copy_from_slice(&sent[..12]);
    // Too old, or from too far in the future (one u64 comparison and subtraction each way).
    let expired = if issued <= now { now - issued > lifetime.max_age } else { issued - now > lifetime.max_skew };
    if expired {
        NonceStatus::Expired { issued, id }
    } else {
        NonceStatus::Valid { issued, id }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIFE: Lifetime = Lifetime { max_age: 300, max_skew: 5 };

    #[test]
    fn tag_follows_the_documented_layout() {
        use hmac::{KeyInit, Mac};
        // Two keys under Miri (a minute and a half interpreted with eight).
        for k in 0..if cfg!(miri) { 2u8 } else { 8 } {
            let key: [u8; 32] = core::array::from_fn(|i| (i as u8).wrapping_mul(29) ^ k.wrapping_mul(101));
            for (realm, opaque) in [
                (&b"r"[..], &b""[..]),
                (b"testrealm@host.com", b"5ccc069c"),
                (&[b'x'; 128], &[b'y'; 128]),
                (&[b'z'; 200], b"o"),
                // With the 37-byte prefix these fill a block exactly, one byte short or
                // over, or two blocks exactly.
                (&[b'a'; 26], b""),
                (&[b'a'; 27], b""),
                (&[b'a'; 27], b"o"),
                (&[b'b'; 20], &[b'c'; 7]),
                (&[b'b'; 20], &[b'c'; 8]),
                (&[b'd'; 91], b""),
                (&[b'e'; 10], &[b'f'; 81]),
                (&[b'e'; 10], &[b'f'; 145]),
            ] {
                let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key).unwrap();
                for part in [DOMAIN, &77u64.to_be_bytes(), &[k; 8], &(realm.len() as u32).to_be_bytes(), realm, opaque]
                {
                    mac.update(part);
                }
                let full = mac.finalize().into_bytes();
                assert_eq!(NonceKey::new(&key).tag(77, &[k; 8], realm, opaque)[..], full[..TAG_LEN]);
            }
        }
    }

    /// Both forms' tag is HMAC-SHA256 of the documented layout, truncated (the compact form's
    /// is written out over its own SHA-256 streaming): against `hmac::Hmac` with realms and
    /// opaques that put the message's end around the block edges (the 37-byte head, then
    /// realm and opaque: 26 bytes fill a block, 90 two).
    #[test]
    fn both_tags_are_hmac_sha256() {
        use crate::accel::{portable, word};
        use hmac::{KeyInit, Mac};
        let text: [u8; 200] = core::array::from_fn(|i| (i as u8).wrapping_mul(11).wrapping_add(7));
        for seed in [0u8, 1, 0xff] {
            let key: [u8; 32] = core::array::from_fn(|i| (i as u8).wrapping_mul(73) ^ seed);
            for len in [0, 1, 18, 19, 25, 26, 27, 82, 89, 90, 91, 163] {
                for split in [0, len / 3, len] {
                    let (realm, opaque) = text[..len].split_at(split);
                    let mut a = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key).unwrap();
                    for part in
                        [DOMAIN, &9u64.to_be_bytes(), &[seed; 8], &(realm.len() as u32).to_be_bytes(), realm, opaque]
                    {
                        a.update(part);
                    }
                    let want = a.finalize().into_bytes();
                    let want = &want[..TAG_LEN];
                    assert_eq!(
                        word::NonceMac::new(&key).tag(9, &[seed; 8], realm, opaque),
                        want,
                        "word, {len} {split}"
                    );
                    assert_eq!(
                        portable::NonceMac::new(&key).tag(9, &[seed; 8], realm, opaque),
                        want,
                        "portable, {len} {split}"
                    );
                }
            }
        }
    }

    /// The lifetime's edges, both ways, and clocks at the ends of the u64 range.
    #[test]
    fn lifetime_edges() {
        let k = NonceKey::new(&[3; 32]);
        for issued in [0, 1000, u64::MAX - 400, u64::MAX] {
            let n = Nonce::issue(&k, b"r", b"", issued, [1; 8]);
            let n = n.as_str().as_bytes();
            let status = |now| verify(n, &k, None, b"r", b"", now, LIFE);
            let valid = |now| matches!(status(now), NonceStatus::Valid { .. });
            let expired = |now| matches!(status(now), NonceStatus::Expired { .. });
            assert!(valid(issued));
            if let Some(now) = issued.checked_add(LIFE.max_age) {
                assert!(valid(now) && (now == u64::MAX || expired(now + 1)), "issued {issued}");
            }
            if let Some(now) = issued.checked_sub(LIFE.max_skew) {
                assert!(valid(now) && (now == 0 || expired(now - 1)), "issued {issued}");
            }
            assert!(issued == 0 || expired(0) || issued <= LIFE.max_skew);
            assert!(u64::MAX - issued <= LIFE.max_age || expired(u64::MAX));
        }
    }

    /// Nonces issued one after the other carry increasing sequence numbers, which the id
    /// carries; issue is a function of its inputs.
    #[test]
    fn sequence_orders_issues() {
        let k = NonceKey::new(&[5; 32]);
        let sequence = NonceSequence::new();
        let mut last = None;
        assert_eq!(
            Nonce::issue_in_sequence(&k, b"r", b"", 9, 7, [1; 8]),
            Nonce::issue_in_sequence(&k, b"r", b"", 9, 7, [1; 8])
        );
        // Fewer under Miri (interpreted: a minute with 100).
        for _ in 0..if cfg!(miri) { 5 } else { 100 } {
            let n = Nonce::issue_in_sequence(&k, b"r", b"", 9, sequence.next(), [1; 8]);
            let NonceStatus::Valid { id, .. } = verify(n.as_str().as_bytes(), &k, None, b"r", b"", 9, LIFE) else {
                panic!()
            };
            let seq = id_sequence(&id);
            if let Some(prev) = last {
                assert_eq!(seq, prev + 1);
            }
            last = Some(seq);
        }
    }

    #[test]
    fn issue_verify_expire_rotate() {
        let k1 = NonceKey::new(&[1; 32]);
        let k2 = NonceKey::new(&[2; 32]);
        let n = Nonce::issue(&k1, b"realm", b"op", 1000, [7; 8]);
        assert_eq!(n.as_str().len(), NONCE_LEN);
        let n = n.as_str().as_bytes();
        assert!(matches!(verify(n, &k1, None, b"realm", b"op", 1000, LIFE), NonceStatus::Valid { issued: 1000, .. }));
        assert!(matches!(verify(n, &k1, None, b"realm", b"op", 1301, LIFE), NonceStatus::Expired { .. }));
        assert!(matches!(verify(n, &k1, None, b"realm", b"op", 990, LIFE), NonceStatus::Expired { .. }));
        assert_eq!(verify(n, &k1, None, b"realm2", b"op", 1000, LIFE), NonceStatus::Invalid);
        assert_eq!(verify(n, &k1, None, b"realm", b"op2", 1000, LIFE), NonceStatus::Invalid);
        assert_eq!(verify(n, &k2, None, b"realm", b"op", 1000, LIFE), NonceStatus::Invalid);
        assert!(matches!(verify(n, &k2, Some(&k1), b"realm", b"op", 1000, LIFE), NonceStatus::Valid { .. }));
        let mut forged = [0u8; NONCE_LEN];
        forged.copy_from_slice(n);
        forged[NONCE_LEN - 2] ^= 1;
        assert_eq!(verify(&forged, &k1, None, b"realm", b"op", 1000, LIFE), NonceStatus::Invalid);
        assert_eq!(
            verify(b"dcd98b7102dd2f0e8b11d0f600bfb0c093", &k1, None, b"realm", b"op", 1000, LIFE),
            NonceStatus::Invalid
        );
        // One spelling: the upper-case form of an issued nonce decodes to nothing, so it is
        // refused; so are other lengths.
        let raw = decode(n).unwrap();
        assert_eq!(raw[..8], 1000u64.to_be_bytes());
        assert_eq!(raw[8..16], [7; 8]);
        // The id: the 4 bytes after the issue time and the tag's first 12.
        let NonceStatus::Valid { id, .. } = verify(n, &k1, None, b"realm", b"op", 1000, LIFE) else { panic!() };
        assert_eq!(id[..4], raw[8..12]);
        assert_eq!(id[4..], raw[16..28]);
        let mut upper = [0u8; NONCE_LEN];
        upper.copy_from_slice(n);
        upper.make_ascii_uppercase();
        assert_eq!(decode(&upper), None);
        assert_eq!(verify(&upper, &k1, None, b"realm", b"op", 1000, LIFE), NonceStatus::Invalid);
        assert_eq!(decode(&n[..NONCE_LEN - 2]), None);
    }
}
