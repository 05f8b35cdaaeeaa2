//! Stateless, keyed, expiring Digest nonces.
//!
//! ```text
//! nonce = lowercase-hex( issued:u64be || salt:[u8; 8] || tag:[u8; 16] )     (64 characters)
//! tag   = HMAC-SHA256(key, "authgate nonce v1" || issued || salt || len(realm) || realm || opaque)[..16]
//! ```
//!
//! A nonce proves it was issued by a holder of the key, for this realm and opaque, at
//! `issued` (seconds, caller's clock). No server state is needed to verify it, so any
//! process that shares the key accepts it. The salt comes from the caller's entropy and
//! makes every nonce unique; the tag doubles as the nonce's identity in the replay store.
//! Two keys are tried, so a key can be rotated without failing clients mid-session.

use crate::hash::{ct_eq_words, encode_hex, HashOutput};
use hmac::{KeyInit, Mac};

// 64-bit hosts: the block-level HMAC, which keeps both keyed states (two fewer SHA-256
// blocks per tag). Small targets: `SimpleHmac` over the engine's own out-of-line SHA-256
// calls (`Hasher::update`, `Hasher::finish`), so the MAC links no hashing code of its own.
#[cfg(target_pointer_width = "64")]
type Mac256 = hmac::Hmac<sha2::Sha256>;

/// `sha2::Sha256` through the engine's [`Hasher`](crate::hash::Hasher): the same
/// hashing, called rather than inlined.
#[cfg(any(test, not(target_pointer_width = "64")))]
pub(crate) mod shared {
    use crate::hash::Hasher;
    use hmac::digest::common::BlockSizeUser;
    use hmac::digest::{FixedOutput, HashMarker, Output, OutputSizeUser, Update};

    #[derive(Clone)]
    pub(crate) struct Sha256(Hasher);

    impl Default for Sha256 {
        fn default() -> Self {
            // Out of line: the initial state is not spelt out at each use.
            Sha256(Hasher::start(crate::hash::HashAlgorithm::Sha256))
        }
    }
    impl HashMarker for Sha256 {}
    impl BlockSizeUser for Sha256 {
        type BlockSize = <sha2::Sha256 as BlockSizeUser>::BlockSize;
    }
    impl OutputSizeUser for Sha256 {
        type OutputSize = <sha2::Sha256 as OutputSizeUser>::OutputSize;
    }
    impl Update for Sha256 {
        fn update(&mut self, data: &[u8]) {
            self.0.update(data);
        }
    }
    impl FixedOutput for Sha256 {
        fn finalize_into(mut self, out: &mut Output<Self>) {
            let h = self.0.finish();
            out.copy_from_slice(h.as_bytes());
        }
    }
}

/// Length of an encoded nonce.
pub const NONCE_LEN: usize = 2 * RAW_LEN;
/// Length of a decoded nonce (issue time, salt, tag).
pub const RAW_LEN: usize = 32;
const TAG_LEN: usize = 16;
const DOMAIN: &[u8] = b"authgate nonce v1";

/// Server key for nonces: 32 bytes from a good entropy source, shared by every process
/// that must accept the same nonces.
#[derive(Clone)]
pub struct NonceKey {
    // 64-bit hosts: the keyed HMAC state, cloned per use (saves two SHA-256 blocks per
    // nonce). Small targets: the key, keyed per use (no state of ~180 bytes to copy).
    #[cfg(target_pointer_width = "64")]
    mac: Mac256,
    #[cfg(not(target_pointer_width = "64"))]
    key: KeyBytes,
}

/// The raw key, word-aligned: copied as words (as bytes, the engine's moves of it became a
/// `memmove` call, which links 1.3 KB of builtins on Cortex-M0+).
#[cfg(not(target_pointer_width = "64"))]
#[derive(Clone)]
#[repr(align(4))]
struct KeyBytes([u8; 32]);

impl core::fmt::Debug for NonceKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("NonceKey(..)")
    }
}

impl NonceKey {
    /// A key from 32 bytes of entropy.
    pub fn new(key: &[u8; 32]) -> Self {
        #[cfg(target_pointer_width = "64")]
        return NonceKey { mac: <Mac256 as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length") };
        #[cfg(not(target_pointer_width = "64"))]
        NonceKey { key: KeyBytes(*key) }
    }

    fn tag(&self, issued: u64, salt: &[u8; 8], realm: &[u8], opaque: &[u8]) -> [u8; TAG_LEN] {
        #[cfg(not(target_pointer_width = "64"))]
        return tag_direct(&self.key.0, issued, salt, realm, opaque);
        // Domain, issue time, salt, and the realm's length (so realm/opaque boundaries cannot
        // be shifted), then realm and opaque. 64-bit hosts: the fixed-size prefix in one
        // piece; a loop, not three calls: one copy of the inlined HMAC update code. An empty
        // part (no opaque) adds nothing to the MAC's input, so it is not fed.
        #[cfg(target_pointer_width = "64")]
        {
            let mut mac = self.mac.clone();
            let mut head = [0u8; DOMAIN.len() + 8 + 8 + 4];
            let (domain, rest) = head.split_at_mut(DOMAIN.len());
            domain.copy_from_slice(DOMAIN);
            rest[..8].copy_from_slice(&issued.to_be_bytes());
            rest[8..16].copy_from_slice(salt);
            rest[16..20].copy_from_slice(&(realm.len() as u32).to_be_bytes());
            for part in [&head[..], realm, opaque] {
                if !part.is_empty() {
                    mac.update(part);
                }
            }
            truncated(&mac.finalize().into_bytes())
        }
    }
}

/// [`NonceKey::tag`] on microcontrollers (built on hosts too, for its tests): keyed per use,
/// `SimpleHmac` over the engine's hasher, each part of the layout fed as it is (the updates
/// are calls there).
#[cfg(any(test, not(target_pointer_width = "64")))]
fn tag_direct(key: &[u8; 32], issued: u64, salt: &[u8; 8], realm: &[u8], opaque: &[u8]) -> [u8; TAG_LEN] {
    let mut mac =
        <hmac::SimpleHmac<shared::Sha256> as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
    for part in [DOMAIN, &issued.to_be_bytes(), salt, &(realm.len() as u32).to_be_bytes(), realm, opaque] {
        if !part.is_empty() {
            mac.update(part);
        }
    }
    truncated(&mac.finalize().into_bytes())
}

/// The tag: the MAC's first [`TAG_LEN`] bytes.
fn truncated(mac: &[u8]) -> [u8; TAG_LEN] {
    mac.first_chunk().copied().unwrap_or([0; TAG_LEN])
}

/// The identity of a nonce in a replay store: its authentication tag.
pub type NonceId = [u8; TAG_LEN];

/// An encoded nonce (lowercase hex: the code that hex-encodes Digest hashes serves it too,
/// so no base64url codec is linked).
#[derive(Clone, Copy, PartialEq, Eq)]
// Word-aligned: moving one is word loads and stores instead of byte ones on Cortex-M0+.
#[repr(align(4))]
pub struct Nonce {
    text: [u8; NONCE_LEN],
}

impl Nonce {
    /// Issues a nonce at `now` with the caller's random `salt`.
    pub fn issue(key: &NonceKey, realm: &[u8], opaque: &[u8], now: u64, salt: [u8; 8]) -> Nonce {
        let tag = key.tag(now, &salt, realm, opaque);
        let mut raw = [0u8; RAW_LEN];
        raw[..8].copy_from_slice(&now.to_be_bytes());
        raw[8..16].copy_from_slice(&salt);
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
    let Some(raw) = decode(nonce) else {
        return NonceStatus::Invalid;
    };
    let issued = u64::from_be_bytes(raw[..8].try_into().unwrap_or([0; 8]));
    let salt: [u8; 8] = raw[8..16].try_into().unwrap_or([0; 8]);
    let sent: [u8; TAG_LEN] = raw[16..RAW_LEN].try_into().unwrap_or([0; TAG_LEN]);
    // Compared a word at a time: two constant-time comparisons, not sixteen.
    let mut ok = ct_eq_words(&current.tag(issued, &salt, realm, opaque), &sent);
    if let Some(prev) = previous {
        ok |= ct_eq_words(&prev.tag(issued, &salt, realm, opaque), &sent);
    }
    if !bool::from(ok) {
        return NonceStatus::Invalid;
    }
    let id = sent;
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
                // The microcontrollers' form too.
                assert_eq!(tag_direct(&key, 77, &[k; 8], realm, opaque)[..], full[..TAG_LEN]);
            }
        }
    }

    /// The small targets' MAC (`SimpleHmac` over the engine's `Hasher`) is HMAC-SHA256:
    /// checked on the host against the block-level `Hmac` the host uses, keys and messages
    /// of lengths around the block size included.
    #[test]
    fn shared_sha256_hmac_is_hmac_sha256() {
        for key_len in [0, 1, 32, 63, 64, 65, 100] {
            let key: [u8; 100] = core::array::from_fn(|i| (i as u8).wrapping_mul(73) ^ key_len as u8);
            for msg_len in [0, 1, 55, 56, 64, 65, 200] {
                let msg: [u8; 200] = core::array::from_fn(|i| (i as u8).wrapping_mul(11).wrapping_add(msg_len as u8));
                let mut a = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key[..key_len]).unwrap();
                let mut b = <hmac::SimpleHmac<shared::Sha256> as KeyInit>::new_from_slice(&key[..key_len]).unwrap();
                a.update(&msg[..msg_len]);
                b.update(&msg[..msg_len]);
                assert_eq!(
                    a.finalize().into_bytes()[..],
                    b.finalize().into_bytes()[..],
                    "key {key_len}, msg {msg_len}"
                );
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
        let mut upper = [0u8; NONCE_LEN];
        upper.copy_from_slice(n);
        upper.make_ascii_uppercase();
        assert_eq!(decode(&upper), None);
        assert_eq!(verify(&upper, &k1, None, b"realm", b"op", 1000, LIFE), NonceStatus::Invalid);
        assert_eq!(decode(&n[..NONCE_LEN - 2]), None);
    }
}
