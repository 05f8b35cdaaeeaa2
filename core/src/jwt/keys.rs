//! Signature algorithms and verification keys.
//!
//! A key belongs to one family (HMAC, P-256, Ed25519, RSA) and optionally to one algorithm of
//! it; a token's `alg` can only pick a key of its own family, so an HMAC secret never checks
//! an asymmetric algorithm and a public key is never an HMAC secret.

use hmac::{KeyInit, Mac};
#[cfg(feature = "jwt-hs512")]
use sha2::Digest as _;
use subtle::ConstantTimeEq;

use crate::error::ConfigError;
use crate::limits::{MAX_JWT_HMAC_KEY_LEN, MAX_JWT_KID_LEN};

/// A JWS signature algorithm (RFC 7518 §3.1, RFC 8037 §3.1). `none` is not one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JwsAlgorithm {
    /// HMAC with SHA-256.
    Hs256,
    /// HMAC with SHA-384 (feature `jwt-hs512`).
    Hs384,
    /// HMAC with SHA-512 (feature `jwt-hs512`).
    Hs512,
    /// ECDSA on P-256 with SHA-256 (feature `jwt-es256`).
    Es256,
    /// Ed25519 (feature `jwt-eddsa`).
    EdDsa,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (feature `jwt-std`).
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384 (feature `jwt-std`).
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512 (feature `jwt-std`).
    Rs512,
    /// RSASSA-PSS with SHA-256, MGF1, 32-byte salt (feature `jwt-std`).
    Ps256,
    /// RSASSA-PSS with SHA-384, MGF1, 48-byte salt (feature `jwt-std`).
    Ps384,
    /// RSASSA-PSS with SHA-512, MGF1, 64-byte salt (feature `jwt-std`).
    Ps512,
}

/// The kind of key an algorithm needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    Hmac,
    P256,
    Ed25519,
    Rsa,
}

impl JwsAlgorithm {
    /// Every algorithm, compiled in or not.
    pub const ALL: [JwsAlgorithm; 11] = {
        use JwsAlgorithm::*;
        [Hs256, Hs384, Hs512, Es256, EdDsa, Rs256, Rs384, Rs512, Ps256, Ps384, Ps512]
    };

    /// The `alg` header value.
    pub const fn name(self) -> &'static str {
        match self {
            JwsAlgorithm::Hs256 => "HS256",
            JwsAlgorithm::Hs384 => "HS384",
            JwsAlgorithm::Hs512 => "HS512",
            JwsAlgorithm::Es256 => "ES256",
            JwsAlgorithm::EdDsa => "EdDSA",
            JwsAlgorithm::Rs256 => "RS256",
            JwsAlgorithm::Rs384 => "RS384",
            JwsAlgorithm::Rs512 => "RS512",
            JwsAlgorithm::Ps256 => "PS256",
            JwsAlgorithm::Ps384 => "PS384",
            JwsAlgorithm::Ps512 => "PS512",
        }
    }

    /// The algorithm an `alg` value names, exactly (case-sensitive, as RFC 7515 §4.1.1).
    pub fn from_name(name: &[u8]) -> Option<JwsAlgorithm> {
        JwsAlgorithm::ALL.into_iter().find(|a| a.name().as_bytes() == name)
    }

    /// Whether this build verifies it (its Cargo feature is on).
    pub const fn is_enabled(self) -> bool {
        match self.family() {
            Family::Hmac => matches!(self, JwsAlgorithm::Hs256) || cfg!(feature = "jwt-hs512"),
            Family::P256 => cfg!(feature = "jwt-es256"),
            Family::Ed25519 => cfg!(feature = "jwt-eddsa"),
            Family::Rsa => cfg!(feature = "jwt-std"),
        }
    }

    pub(crate) const fn family(self) -> Family {
        match self {
            JwsAlgorithm::Hs256 | JwsAlgorithm::Hs384 | JwsAlgorithm::Hs512 => Family::Hmac,
            JwsAlgorithm::Es256 => Family::P256,
            JwsAlgorithm::EdDsa => Family::Ed25519,
            _ => Family::Rsa,
        }
    }

    pub(crate) const fn bit(self) -> u16 {
        1 << self as u16
    }
}

/// An HMAC secret, as HMAC uses it: up to [`MAX_JWT_HMAC_KEY_LEN`] bytes as given; a longer
/// one as its hash for each HMAC hash (RFC 2104 §2: a key longer than the block is hashed
/// first, so the MACs are the same).
#[derive(Clone)]
pub(crate) enum HmacSecret {
    Raw(heapless::Vec<u8, MAX_JWT_HMAC_KEY_LEN>),
    Hashed {
        sha256: [u8; 32],
        #[cfg(feature = "jwt-hs512")]
        sha384: [u8; 48],
        #[cfg(feature = "jwt-hs512")]
        sha512: [u8; 64],
    },
}

impl HmacSecret {
    fn new(secret: &[u8]) -> Self {
        match heapless::Vec::from_slice(secret) {
            Ok(raw) => HmacSecret::Raw(raw),
            Err(_) => HmacSecret::Hashed {
                sha256: crate::hash::sha256(&[secret]),
                #[cfg(feature = "jwt-hs512")]
                sha384: sha2::Sha384::digest(secret).into(),
                #[cfg(feature = "jwt-hs512")]
                sha512: sha2::Sha512::digest(secret).into(),
            },
        }
    }

    fn for_hash(&self, alg: JwsAlgorithm) -> &[u8] {
        match (self, alg) {
            (HmacSecret::Raw(k), _) => k,
            #[cfg(feature = "jwt-hs512")]
            (HmacSecret::Hashed { sha384, .. }, JwsAlgorithm::Hs384) => sha384,
            #[cfg(feature = "jwt-hs512")]
            (HmacSecret::Hashed { sha512, .. }, JwsAlgorithm::Hs512) => sha512,
            (HmacSecret::Hashed { sha256, .. }, _) => sha256,
        }
    }
}

/// The key material of one [`JwtKey`].
#[derive(Clone)]
pub(crate) enum Material {
    Hmac(HmacSecret),
    #[cfg(feature = "jwt-es256")]
    P256(p256::ecdsa::VerifyingKey),
    #[cfg(feature = "jwt-eddsa")]
    Ed25519(ed25519_dalek::VerifyingKey),
    #[cfg(feature = "jwt-std")]
    Rsa(rsa::PublicKey),
}

impl Material {
    fn family(&self) -> Family {
        match self {
            Material::Hmac(_) => Family::Hmac,
            #[cfg(feature = "jwt-es256")]
            Material::P256(_) => Family::P256,
            #[cfg(feature = "jwt-eddsa")]
            Material::Ed25519(_) => Family::Ed25519,
            #[cfg(feature = "jwt-std")]
            Material::Rsa(_) => Family::Rsa,
        }
    }
}

/// A key that verifies JWS signatures: its material, an optional `kid` (tokens naming a
/// `kid` are checked only with the key of that `kid`), and optionally the one algorithm it
/// serves (a JWK's `alg`); without one, any allowed algorithm of its family.
#[derive(Clone)]
pub struct JwtKey {
    pub(crate) kid: heapless::String<MAX_JWT_KID_LEN>,
    pub(crate) alg: Option<JwsAlgorithm>,
    pub(crate) material: Material,
}

impl core::fmt::Debug for JwtKey {
    // Never print a secret.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("JwtKey")
            .field("kid", &self.kid.as_str())
            .field("alg", &self.alg)
            .field("family", &self.material.family())
            .finish()
    }
}

impl JwtKey {
    /// An HMAC secret (HS256, HS384, HS512). Any length but empty (a secret longer than
    /// [`MAX_JWT_HMAC_KEY_LEN`] is kept as its hashes); refused when it is a PEM or OpenSSH
    /// public key, the classic algorithm-confusion mistake (as PyJWT refuses them).
    pub fn hmac(secret: &[u8]) -> Result<JwtKey, ConfigError> {
        let trimmed = secret.trim_ascii_start();
        if secret.is_empty()
            || [&b"-----BEGIN"[..], b"ssh-rsa ", b"ssh-ed25519 ", b"ecdsa-sha2-"].iter().any(|p| trimmed.starts_with(p))
        {
            return Err(ConfigError::InvalidJwtKey);
        }
        Ok(Self::of(Material::Hmac(HmacSecret::new(secret))))
    }

    /// A P-256 public key (ES256) from its SEC1 encoding (`04 || x || y`, or compressed).
    #[cfg(feature = "jwt-es256")]
    pub fn p256_sec1(sec1: &[u8]) -> Result<JwtKey, ConfigError> {
        let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(sec1).map_err(|_| ConfigError::InvalidJwtKey)?;
        Ok(Self::of(Material::P256(key)))
    }

    /// A P-256 public key (ES256) from its affine coordinates (a JWK's `x` and `y`).
    #[cfg(feature = "jwt-es256")]
    pub fn p256_xy(x: &[u8; 32], y: &[u8; 32]) -> Result<JwtKey, ConfigError> {
        let mut sec1 = [4u8; 65];
        sec1[1..33].copy_from_slice(x);
        sec1[33..].copy_from_slice(y);
        Self::p256_sec1(&sec1)
    }

    /// An Ed25519 public key (EdDSA): its 32 bytes (a JWK's `x`).
    #[cfg(feature = "jwt-eddsa")]
    pub fn ed25519(public: &[u8; 32]) -> Result<JwtKey, ConfigError> {
        let key = ed25519_dalek::VerifyingKey::from_bytes(public).map_err(|_| ConfigError::InvalidJwtKey)?;
        Ok(Self::of(Material::Ed25519(key)))
    }

    pub(crate) fn of(material: Material) -> JwtKey {
        JwtKey { kid: heapless::String::new(), alg: None, material }
    }

    /// Names the key (`kid`): 1 to [`MAX_JWT_KID_LEN`] bytes.
    pub fn with_kid(mut self, kid: &str) -> Result<JwtKey, ConfigError> {
        if kid.is_empty() {
            return Err(ConfigError::InvalidJwtKey);
        }
        self.kid = heapless::String::try_from(kid).map_err(|_| ConfigError::InvalidJwtKey)?;
        Ok(self)
    }

    /// Binds the key to one algorithm, which must be of its family and compiled in.
    pub fn with_algorithm(mut self, alg: JwsAlgorithm) -> Result<JwtKey, ConfigError> {
        if !alg.is_enabled() {
            return Err(ConfigError::JwtAlgorithmDisabled);
        }
        if alg.family() != self.material.family() {
            return Err(ConfigError::InvalidJwtKey);
        }
        self.alg = Some(alg);
        Ok(self)
    }

    /// The `kid`, empty when none.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm the key is bound to, if any.
    pub fn algorithm(&self) -> Option<JwsAlgorithm> {
        self.alg
    }

    /// Whether this key may check `alg`.
    pub(crate) fn serves(&self, alg: JwsAlgorithm) -> bool {
        self.material.family() == alg.family() && self.alg.is_none_or(|a| a == alg)
    }

    /// Checks `signature` over `signing_input` with `alg` (which [`serves`](Self::serves)).
    pub(crate) fn verify(&self, alg: JwsAlgorithm, signing_input: &[u8], signature: &[u8]) -> bool {
        match &self.material {
            Material::Hmac(secret) => hmac_verify(alg, secret.for_hash(alg), signing_input, signature),
            #[cfg(feature = "jwt-es256")]
            Material::P256(key) => {
                use p256::ecdsa::signature::Verifier;
                // JWS carries `r || s` (RFC 7518 §3.4), not DER.
                let Ok(sig) = p256::ecdsa::Signature::from_slice(signature) else { return false };
                key.verify(signing_input, &sig).is_ok()
            }
            #[cfg(feature = "jwt-eddsa")]
            Material::Ed25519(key) => {
                let Ok(sig) = <&[u8; 64]>::try_from(signature) else { return false };
                // Strict: no small-order keys, canonical S (RFC 8032 §5.1.7).
                key.verify_strict(signing_input, &ed25519_dalek::Signature::from_bytes(sig)).is_ok()
            }
            #[cfg(feature = "jwt-std")]
            Material::Rsa(key) => super::rsa::verify(key, alg, signing_input, signature),
        }
    }
}

/// HMAC of `signing_input`, compared with `signature` in constant time (the tag's length is
/// the algorithm's, public).
#[inline(never)]
pub(crate) fn hmac_verify(alg: JwsAlgorithm, key: &[u8], signing_input: &[u8], signature: &[u8]) -> bool {
    fn tag<M: Mac + KeyInit>(key: &[u8], input: &[u8], out: &mut [u8; 64]) -> usize {
        let mut mac = <M as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
        mac.update(input);
        let t = mac.finalize().into_bytes();
        out[..t.len()].copy_from_slice(&t);
        t.len()
    }
    // HS256 in the build's form (src/accel/): the block-level HMAC, or in the compact form
    // `SimpleHmac` over the engine's own out-of-line SHA-256, linking no hashing code of its own.
    use crate::accel::Hs256;
    let mut expected = [0u8; 64];
    let n = match alg {
        JwsAlgorithm::Hs256 => tag::<Hs256>(key, signing_input, &mut expected),
        #[cfg(feature = "jwt-hs512")]
        JwsAlgorithm::Hs384 => tag::<hmac::Hmac<sha2::Sha384>>(key, signing_input, &mut expected),
        #[cfg(feature = "jwt-hs512")]
        JwsAlgorithm::Hs512 => tag::<hmac::Hmac<sha2::Sha512>>(key, signing_input, &mut expected),
        _ => return false,
    };
    signature.len() == n && bool::from(expected[..n].ct_eq(signature))
}
