//! The password field of an htpasswd line: which format it is, its parameters, and the
//! constant-time check of a password against it.
// With no format compiled in, `Inner` is empty and what follows a match on it unreachable.
#![cfg_attr(
    not(any(
        feature = "htpasswd-bcrypt",
        feature = "htpasswd-apr1",
        feature = "htpasswd-sha-crypt",
        feature = "htpasswd-sha1",
        feature = "htpasswd-crypt"
    )),
    allow(unreachable_code, unused_imports, unused_mut, unused_variables)
)]

use subtle::ConstantTimeEq;

use super::{Format, HashError, Policy};
use crate::credential::StoredCredential;
use crate::limits::MAX_SECRET_LEN;

/// A parsed password hash from an htpasswd file, in one of the formats Apache's
/// `htpasswd` writes. Built by [`StoredCredential::htpasswd`]; checked by
/// [`StoredCredential::check_password`] (Basic only: none of these can serve Digest).
#[derive(Clone)]
pub struct PasswordHash(Inner);

/// One variant per format compiled in: with none, the type is empty and every match on it
/// compiles away.
#[derive(Clone)]
enum Inner {
    #[cfg(feature = "htpasswd-bcrypt")]
    Bcrypt { cost: u8, salt: [u8; 16], hash: [u8; 23] },
    #[cfg(feature = "htpasswd-apr1")]
    Md5Crypt { apr1: bool, salt: Salt<8>, hash: [u8; 16] },
    #[cfg(feature = "htpasswd-sha-crypt")]
    Sha256Crypt { rounds: u32, salt: Salt<16>, hash: [u8; 32] },
    #[cfg(feature = "htpasswd-sha-crypt")]
    Sha512Crypt { rounds: u32, salt: Salt<16>, hash: [u8; 64] },
    #[cfg(feature = "htpasswd-sha1")]
    Sha1([u8; 20]),
    #[cfg(feature = "htpasswd-crypt")]
    DesCrypt { salt: [u8; 2], hash: [u8; 8] },
}

/// A salt kept as its characters (the crypt functions hash the text, not decoded bytes).
#[derive(Clone, Copy)]
#[allow(dead_code)] // Unused when only bcrypt, SHA-1 or DES crypt is compiled in.
struct Salt<const N: usize> {
    bytes: [u8; N],
    len: u8,
}

#[allow(dead_code)]
impl<const N: usize> Salt<N> {
    fn new(text: &[u8]) -> Option<Self> {
        let mut bytes = [0u8; N];
        bytes.get_mut(..text.len())?.copy_from_slice(text);
        Some(Salt { bytes, len: text.len() as u8 })
    }
    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl core::fmt::Debug for PasswordHash {
    // The format and its cost only: never the hash.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PasswordHash({:?}, cost {})", self.format(), self.cost_parameter())
    }
}

/// Whether `field` has the shape of a traditional DES crypt hash: 13 characters of the
/// crypt alphabet `./0-9A-Za-z`.
fn looks_like_des(field: &[u8]) -> bool {
    field.len() == 13 && field.iter().all(|&c| c == b'.' || c == b'/' || c.is_ascii_alphanumeric())
}

/// Splits `$id$` prefixes: the format a field announces, and the rest after the prefix.
fn announced(field: &[u8]) -> Option<(Format, &[u8])> {
    const PREFIXES: [(&[u8], Format); 7] = [
        (b"$2y$", Format::Bcrypt),
        (b"$2b$", Format::Bcrypt),
        (b"$2a$", Format::Bcrypt),
        (b"$apr1$", Format::Md5Crypt),
        (b"$1$", Format::Md5Crypt),
        (b"$5$", Format::Sha256Crypt),
        (b"$6$", Format::Sha512Crypt),
    ];
    if let Some(rest) = field.strip_prefix(b"{SHA}") {
        return Some((Format::Sha1, rest));
    }
    PREFIXES.iter().find_map(|(p, f)| field.strip_prefix(*p).map(|rest| (*f, rest)))
}

/// Parses the password field of an htpasswd line (already split at `:` and trimmed).
pub(crate) fn parse(field: &[u8], policy: &Policy) -> Result<StoredCredential, HashError> {
    if field.is_empty() {
        return Err(HashError::Empty);
    }
    if let Some((format, rest)) = announced(field) {
        return parse_format(format, field, rest, policy).map(|h| StoredCredential::Htpasswd(PasswordHash(h)));
    }
    match field[0] {
        // Another `$id$` (yescrypt, `$2x$`, ...) or `{scheme}` (`{SSHA}`): never plaintext.
        b'$' | b'{' => Err(HashError::Unknown),
        // `*0` is what crypt(3) returns when it fails (htpasswd writes it for a `-r` out of
        // range); `!` and `*` lock an entry: such a line never verifies in Apache.
        b'*' | b'!' => Err(HashError::Locked),
        _ if looks_like_des(field) => {
            parse_format(Format::DesCrypt, field, field, policy).map(|h| StoredCredential::Htpasswd(PasswordHash(h)))
        }
        _ if !policy.allow_plaintext => Err(HashError::Plaintext),
        _ if field.len() > MAX_SECRET_LEN => Err(HashError::Malformed(Format::Plaintext)),
        _ => StoredCredential::plaintext(field).ok_or(HashError::Malformed(Format::Plaintext)),
    }
}

/// The parsed hash of `format`; `rest` is what follows its prefix.
#[allow(unused_variables)] // `field`, `rest` and `policy` are unused when `format` is compiled out.
fn parse_format(format: Format, field: &[u8], rest: &[u8], policy: &Policy) -> Result<Inner, HashError> {
    let malformed = HashError::Malformed(format);
    match format {
        #[cfg(feature = "htpasswd-bcrypt")]
        Format::Bcrypt => {
            // `NN$` + 22 salt characters + 31 hash characters.
            let [d1, d0, b'$', ref tail @ ..] = *rest else { return Err(malformed) };
            if !d1.is_ascii_digit() || !d0.is_ascii_digit() || tail.len() != 53 {
                return Err(malformed);
            }
            let cost = u32::from(d1 - b'0') * 10 + u32::from(d0 - b'0');
            if !(4..=31).contains(&cost) {
                return Err(malformed);
            }
            if cost > policy.max_bcrypt_cost {
                return Err(HashError::CostTooHigh(format));
            }
            let salt = decode::<base64ct::Base64Bcrypt, 16>(&tail[..22]).ok_or(malformed)?;
            let hash = decode::<base64ct::Base64Bcrypt, 23>(&tail[22..]).ok_or(malformed)?;
            Ok(Inner::Bcrypt { cost: cost as u8, salt, hash })
        }
        #[cfg(feature = "htpasswd-apr1")]
        Format::Md5Crypt => {
            let (salt, hash) = split_salt(rest, super::md5_crypt::MAX_SALT).ok_or(malformed)?;
            let hash = decode_ordered::<16>(hash, &super::md5_crypt::ORDER).ok_or(malformed)?;
            Ok(Inner::Md5Crypt { apr1: field.starts_with(b"$apr1$"), salt: Salt::new(salt).ok_or(malformed)?, hash })
        }
        #[cfg(feature = "htpasswd-sha-crypt")]
        Format::Sha256Crypt | Format::Sha512Crypt => {
            let (rounds, rest) = sha_crypt_rounds(rest, format, policy)?;
            let (salt, hash) = split_salt(rest, 16).ok_or(malformed)?;
            let salt = Salt::new(salt).ok_or(malformed)?;
            if format == Format::Sha256Crypt {
                let hash = decode_ordered::<32>(hash, &SHA256_CRYPT_ORDER).ok_or(malformed)?;
                Ok(Inner::Sha256Crypt { rounds, salt, hash })
            } else {
                let hash = decode_ordered::<64>(hash, &SHA512_CRYPT_ORDER).ok_or(malformed)?;
                Ok(Inner::Sha512Crypt { rounds, salt, hash })
            }
        }
        #[cfg(feature = "htpasswd-sha1")]
        Format::Sha1 => Ok(Inner::Sha1(decode::<base64ct::Base64, 20>(rest).ok_or(malformed)?)),
        #[cfg(feature = "htpasswd-crypt")]
        Format::DesCrypt => {
            let salt = [crypt_value(field[0]).ok_or(malformed)?, crypt_value(field[1]).ok_or(malformed)?];
            #[allow(deprecated)] // Base64Crypt is the big-endian crypt alphabet DES crypt uses.
            let hash = decode::<base64ct::Base64Crypt, 8>(&field[2..]).ok_or(malformed)?;
            Ok(Inner::DesCrypt { salt, hash })
        }
        _ => Err(HashError::Disabled(format)),
    }
}

/// `salt$hash` with a salt of at most `max` characters (no `$` in it).
#[allow(dead_code)]
fn split_salt(rest: &[u8], max: usize) -> Option<(&[u8], &[u8])> {
    let dollar = rest.iter().position(|&c| c == b'$')?;
    (dollar <= max).then(|| (&rest[..dollar], &rest[dollar + 1..]))
}

/// The `rounds=N$` of a SHA-crypt hash (5000 when absent): canonical decimal within the
/// algorithm's range, and refused above the policy's cap before anything is computed.
#[cfg(feature = "htpasswd-sha-crypt")]
fn sha_crypt_rounds<'f>(rest: &'f [u8], format: Format, policy: &Policy) -> Result<(u32, &'f [u8]), HashError> {
    let Some(spec) = rest.strip_prefix(b"rounds=") else {
        let rounds = sha_crypt::Params::RECOMMENDED_ROUNDS;
        if rounds > policy.max_sha_crypt_rounds {
            return Err(HashError::CostTooHigh(format));
        }
        return Ok((rounds, rest));
    };
    let malformed = HashError::Malformed(format);
    let end = spec.iter().position(|&c| c == b'$').ok_or(malformed)?;
    let digits = &spec[..end];
    // Ten digits at most (no overflow), no sign, no leading zero: glibc prints it that way,
    // and Apache compares the whole string.
    if digits.is_empty() || digits.len() > 10 || digits[0] == b'0' || !digits.iter().all(u8::is_ascii_digit) {
        return Err(malformed);
    }
    let rounds = digits.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    if rounds > u64::from(policy.max_sha_crypt_rounds) {
        return Err(HashError::CostTooHigh(format));
    }
    // Within the algorithm's own range (1000 to 999,999,999): glibc would clamp, and print another string.
    sha_crypt::Params::new(rounds as u32).map_err(|_| malformed)?;
    Ok((rounds as u32, &spec[end + 1..]))
}

/// Where each raw SHA-256-crypt byte sits in the encoded byte stream (glibc's `b64_from_24bit` groups).
#[cfg(feature = "htpasswd-sha-crypt")]
const SHA256_CRYPT_ORDER: [usize; 32] = [
    20, 10, 0, 11, 1, 21, 2, 22, 12, 23, 13, 3, 14, 4, 24, 5, 25, 15, 26, 16, 6, 17, 7, 27, 8, 28, 18, 29, 19, 9, 30,
    31,
];
/// The same for SHA-512-crypt.
#[cfg(feature = "htpasswd-sha-crypt")]
const SHA512_CRYPT_ORDER: [usize; 64] = [
    42, 21, 0, 1, 43, 22, 23, 2, 44, 45, 24, 3, 4, 46, 25, 26, 5, 47, 48, 27, 6, 7, 49, 28, 29, 8, 50, 51, 30, 9, 10,
    52, 31, 32, 11, 53, 54, 33, 12, 13, 55, 34, 35, 14, 56, 57, 36, 15, 16, 58, 37, 38, 17, 59, 60, 39, 18, 19, 61, 40,
    41, 20, 62, 63,
];

/// Exactly `N` bytes from `text` in encoding `E` (canonical form only; constant time).
#[allow(dead_code)]
fn decode<E: base64ct::Encoding, const N: usize>(text: &[u8]) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    let n = E::decode(text, &mut out).ok()?.len();
    (n == N).then_some(out)
}

/// A crypt(3) little-endian Base64 digest whose encoded byte stream lists the raw bytes in
/// `order`: the raw digest back in its own order.
#[allow(dead_code)]
fn decode_ordered<const N: usize>(text: &[u8], order: &[usize; N]) -> Option<[u8; N]> {
    let stream = decode::<base64ct::Base64ShaCrypt, N>(text)?;
    let mut raw = [0u8; N];
    for (&pos, &b) in order.iter().zip(stream.iter()) {
        raw[pos] = b;
    }
    Some(raw)
}

/// The 6-bit value of a crypt(3) alphabet character (the DES salt).
#[cfg(feature = "htpasswd-crypt")]
fn crypt_value(c: u8) -> Option<u8> {
    match c {
        b'.'..=b'9' => Some(c - b'.'),
        b'A'..=b'Z' => Some(c - b'A' + 12),
        b'a'..=b'z' => Some(c - b'a' + 38),
        _ => None,
    }
}

impl PasswordHash {
    /// The format of this hash.
    pub fn format(&self) -> Format {
        match self.0 {
            #[cfg(feature = "htpasswd-bcrypt")]
            Inner::Bcrypt { .. } => Format::Bcrypt,
            #[cfg(feature = "htpasswd-apr1")]
            Inner::Md5Crypt { .. } => Format::Md5Crypt,
            #[cfg(feature = "htpasswd-sha-crypt")]
            Inner::Sha256Crypt { .. } => Format::Sha256Crypt,
            #[cfg(feature = "htpasswd-sha-crypt")]
            Inner::Sha512Crypt { .. } => Format::Sha512Crypt,
            #[cfg(feature = "htpasswd-sha1")]
            Inner::Sha1(_) => Format::Sha1,
            #[cfg(feature = "htpasswd-crypt")]
            Inner::DesCrypt { .. } => Format::DesCrypt,
        }
    }

    /// The cost parameter: bcrypt's cost, SHA-crypt's rounds, 1000 for MD5-crypt's fixed
    /// rounds, 1 for SHA-1, 25 for DES crypt's encryptions.
    pub fn cost_parameter(&self) -> u32 {
        match self.0 {
            #[cfg(feature = "htpasswd-bcrypt")]
            Inner::Bcrypt { cost, .. } => u32::from(cost),
            #[cfg(feature = "htpasswd-apr1")]
            Inner::Md5Crypt { .. } => 1000,
            #[cfg(feature = "htpasswd-sha-crypt")]
            Inner::Sha256Crypt { rounds, .. } | Inner::Sha512Crypt { rounds, .. } => rounds,
            #[cfg(feature = "htpasswd-sha1")]
            Inner::Sha1(_) => 1,
            #[cfg(feature = "htpasswd-crypt")]
            Inner::DesCrypt { .. } => 25,
        }
    }

    /// Rough cost of one check in tenths of a microsecond (one x86-64 core, `make bench`,
    /// `htpasswd` group): ranks credentials for the decoy of unknown users.
    pub(crate) fn work(&self) -> u64 {
        match self.0 {
            #[cfg(feature = "htpasswd-bcrypt")]
            Inner::Bcrypt { cost, .. } => 1_160 << cost,
            #[cfg(feature = "htpasswd-apr1")]
            Inner::Md5Crypt { .. } => 2_800,
            #[cfg(feature = "htpasswd-sha-crypt")]
            Inner::Sha256Crypt { rounds, .. } => u64::from(rounds) * 23 / 10,
            #[cfg(feature = "htpasswd-sha-crypt")]
            Inner::Sha512Crypt { rounds, .. } => u64::from(rounds) * 7,
            #[cfg(feature = "htpasswd-sha1")]
            Inner::Sha1(_) => 9,
            #[cfg(feature = "htpasswd-crypt")]
            Inner::DesCrypt { .. } => 1_200,
        }
    }

    /// The same format and parameters with a hash no password is expected to match: what
    /// an unknown user's password is checked against.
    pub(crate) fn decoy(&self) -> PasswordHash {
        let mut d = self.clone();
        match d.0 {
            #[cfg(feature = "htpasswd-bcrypt")]
            Inner::Bcrypt { ref mut hash, .. } => *hash = [0; 23],
            #[cfg(feature = "htpasswd-apr1")]
            Inner::Md5Crypt { ref mut hash, .. } => *hash = [0; 16],
            #[cfg(feature = "htpasswd-sha-crypt")]
            Inner::Sha256Crypt { ref mut hash, .. } => *hash = [0; 32],
            #[cfg(feature = "htpasswd-sha-crypt")]
            Inner::Sha512Crypt { ref mut hash, .. } => *hash = [0; 64],
            #[cfg(feature = "htpasswd-sha1")]
            Inner::Sha1(ref mut hash) => *hash = [0; 20],
            #[cfg(feature = "htpasswd-crypt")]
            Inner::DesCrypt { ref mut hash, .. } => *hash = [0; 8],
        }
        d
    }

    /// Constant-time check of `password` (UTF-8 bytes). A password holding a NUL byte never
    /// matches: Apache would cut it there (C strings), so `"a\0b"` would pass for `"a"`.
    pub fn verify(&self, password: &[u8]) -> bool {
        if password.contains(&0) {
            return false;
        }
        let ok: subtle::Choice = match self.0 {
            #[cfg(feature = "htpasswd-bcrypt")]
            Inner::Bcrypt { cost, salt, ref hash } => {
                // The key is the password and its terminating NUL, cut at 72 bytes (the
                // format's limit: htpasswd hashes longer passwords the same way).
                let mut key = [0u8; 72];
                let n = password.len().min(72);
                key[..n].copy_from_slice(&password[..n]);
                let len = (password.len() + 1).min(72);
                let out = bcrypt::bcrypt(u32::from(cost), salt, &key[..len]);
                out[..23].ct_eq(hash)
            }
            #[cfg(feature = "htpasswd-apr1")]
            Inner::Md5Crypt { apr1, ref salt, ref hash } => {
                let magic: &[u8] = if apr1 { b"$apr1$" } else { b"$1$" };
                super::md5_crypt::md5_crypt(magic, password, salt.as_bytes()).ct_eq(hash)
            }
            #[cfg(feature = "htpasswd-sha-crypt")]
            Inner::Sha256Crypt { rounds, ref salt, ref hash } => match sha_crypt::Params::new(rounds) {
                Ok(p) => sha_crypt::sha256_crypt(password, salt.as_bytes(), p).ct_eq(hash),
                Err(_) => subtle::Choice::from(0),
            },
            #[cfg(feature = "htpasswd-sha-crypt")]
            Inner::Sha512Crypt { rounds, ref salt, ref hash } => match sha_crypt::Params::new(rounds) {
                Ok(p) => sha_crypt::sha512_crypt(password, salt.as_bytes(), p).ct_eq(hash),
                Err(_) => subtle::Choice::from(0),
            },
            #[cfg(feature = "htpasswd-sha1")]
            Inner::Sha1(ref hash) => {
                use sha1::Digest;
                sha1::Sha1::digest(password).as_slice().ct_eq(hash)
            }
            #[cfg(feature = "htpasswd-crypt")]
            Inner::DesCrypt { salt, ref hash } => super::des_crypt::des_crypt(password, salt).to_be_bytes().ct_eq(hash),
        };
        ok.into()
    }
}
