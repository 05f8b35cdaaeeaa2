//! RS256/384/512 and PS256/384/512 (RFC 7518 §3.3, §3.5) with RustCrypto's `rsa` (jwt-std).

use ::rsa::{BoxedUint, PublicKey};

use super::keys::{JwsAlgorithm, JwtKey, Material};
use crate::error::ConfigError;

/// Modulus sizes accepted, in bits: 2048 (RFC 7518 §3.3's minimum) to 4096 (the signature
/// buffer, [`MAX_JWT_SIGNATURE_LEN`](crate::limits::MAX_JWT_SIGNATURE_LEN)).
pub(crate) const RSA_BITS: core::ops::RangeInclusive<usize> = 2048..=4096;

impl JwtKey {
    /// An RSA public key from its big-endian modulus and exponent (a JWK's `n` and `e`).
    pub fn rsa(n: &[u8], e: &[u8]) -> Result<JwtKey, ConfigError> {
        let bits = |b: &[u8]| (b.len() * 8) as u32;
        let n = BoxedUint::from_be_slice(n, bits(n)).map_err(|_| ConfigError::InvalidJwtKey)?;
        let e = BoxedUint::from_be_slice(e, bits(e).max(64)).map_err(|_| ConfigError::InvalidJwtKey)?;
        let key = PublicKey::new_with_size_limits(n, e, RSA_BITS).map_err(|_| ConfigError::InvalidJwtKey)?;
        Ok(JwtKey::of(Material::Rsa(key)))
    }

    pub(crate) fn rsa_checked(key: PublicKey) -> Result<JwtKey, ConfigError> {
        use ::rsa::traits::PublicKeyParts;
        let bits = key.n().bit_width_vartime() as usize;
        if !RSA_BITS.contains(&bits) {
            return Err(ConfigError::InvalidJwtKey);
        }
        Ok(JwtKey::of(Material::Rsa(key)))
    }
}

pub(crate) fn verify(key: &PublicKey, alg: JwsAlgorithm, input: &[u8], signature: &[u8]) -> bool {
    use ::rsa::sha2::{Digest, Sha256, Sha384, Sha512};
    use ::rsa::{Pkcs1v15Sign, Pss};
    // The salt of PS* is as long as the hash (RFC 7518 §3.5), Pss::new's default.
    let ok = match alg {
        JwsAlgorithm::Rs256 => key.verify(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(input), signature),
        JwsAlgorithm::Rs384 => key.verify(Pkcs1v15Sign::new::<Sha384>(), &Sha384::digest(input), signature),
        JwsAlgorithm::Rs512 => key.verify(Pkcs1v15Sign::new::<Sha512>(), &Sha512::digest(input), signature),
        JwsAlgorithm::Ps256 => key.verify(Pss::<Sha256>::new(), &Sha256::digest(input), signature),
        JwsAlgorithm::Ps384 => key.verify(Pss::<Sha384>::new(), &Sha384::digest(input), signature),
        JwsAlgorithm::Ps512 => key.verify(Pss::<Sha512>::new(), &Sha512::digest(input), signature),
        _ => return false,
    };
    ok.is_ok()
}
