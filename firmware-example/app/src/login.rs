//! The device's one login as authgate sees it: HA1 values, never a password.
//!
//! A [`Login`] holds `H(user ":" realm ":" password)` for SHA-256 and/or MD5. authgate checks
//! Digest with the HA1 of the request's hash family and Basic by hashing the presented
//! password the same way ([`StoredCredential::Ha1`]), so one login serves every scheme the
//! device offers, and the Digest algorithms offered are exactly those it has an HA1 for.

use authgate::{Algorithm, CredentialStore, HashAlgorithm, HashOutput, Purpose, StoredCredential};

use crate::settings::{self, build};

/// Shortest and longest password `POST /api/password` accepts (authgate's limit on secrets).
pub const MIN_PASSWORD_LEN: usize = 8;
pub const MAX_PASSWORD_LEN: usize = authgate::limits::MAX_SECRET_LEN;

#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    sha256: Option<HashOutput>,
    md5: Option<HashOutput>,
}

impl core::fmt::Debug for Login {
    // Never print a secret (an HA1 is password-equivalent for this realm).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Login {{ sha256: {}, md5: {} }}", self.sha256.is_some(), self.md5.is_some())
    }
}

/// Why a new password was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordError {
    TooShort,
    TooLong,
    ControlCharacter,
}

impl PasswordError {
    pub const fn message(self) -> &'static str {
        match self {
            PasswordError::TooShort => "the new password is shorter than 8 characters",
            PasswordError::TooLong => "the new password is longer than 128 bytes",
            PasswordError::ControlCharacter => "the new password has a control character",
        }
    }
}

impl Login {
    /// The login compiled in (`build.rs` read `AUTHGATE_CREDENTIAL` / `AUTHGATE_PASSWORD`
    /// into HA1 bytes with the core's parsers; it refuses a build without one).
    pub fn from_build() -> Login {
        let sha256 = build::HA1_SHA256.as_ref().map(|h| &h[..]);
        let md5 = build::HA1_MD5.as_ref().map(|h| &h[..]);
        Login::from_parts(sha256, md5).unwrap_or(Login { sha256: None, md5: None })
    }

    /// Both HA1s of a new password (what `POST /api/password` stores).
    pub fn from_password(realm: &str, password: &str) -> Result<Login, PasswordError> {
        if password.chars().count() < MIN_PASSWORD_LEN {
            return Err(PasswordError::TooShort);
        }
        if password.len() > MAX_PASSWORD_LEN {
            return Err(PasswordError::TooLong);
        }
        if password.chars().any(char::is_control) {
            return Err(PasswordError::ControlCharacter);
        }
        let ha1 = |alg| authgate::digest::ha1(alg, settings::USER.as_bytes(), realm.as_bytes(), password.as_bytes());
        Ok(Login { sha256: ha1(HashAlgorithm::Sha256), md5: ha1(HashAlgorithm::Md5) })
    }

    /// From the parts a store kept ([`Login::parts`]); `None` if neither is present.
    pub fn from_parts(sha256: Option<&[u8]>, md5: Option<&[u8]>) -> Option<Login> {
        let sha256 = sha256.and_then(HashOutput::from_slice).filter(|h| h.as_bytes().len() == 32);
        let md5 = md5.and_then(HashOutput::from_slice).filter(|h| h.as_bytes().len() == 16);
        (sha256.is_some() || md5.is_some()).then_some(Login { sha256, md5 })
    }

    /// The raw HA1s, for a store.
    pub fn parts(&self) -> (Option<&[u8]>, Option<&[u8]>) {
        (self.sha256.as_ref().map(HashOutput::as_bytes), self.md5.as_ref().map(HashOutput::as_bytes))
    }

    /// The Digest algorithms this login can serve, strongest first (the challenges offered).
    pub fn algorithms(&self) -> heapless::Vec<Algorithm, 2> {
        let mut a = heapless::Vec::new();
        if self.sha256.is_some() {
            let _ = a.push(Algorithm::Sha256);
        }
        if self.md5.is_some() {
            let _ = a.push(Algorithm::Md5);
        }
        a
    }

    fn ha1(&self, family: HashAlgorithm) -> Option<StoredCredential> {
        let digest = match family {
            HashAlgorithm::Md5 => self.md5,
            HashAlgorithm::Sha256 => self.sha256,
            HashAlgorithm::Sha512_256 => None,
        }?;
        Some(StoredCredential::Ha1 { algorithm: family, digest })
    }

    /// What a Basic password is checked against: the SHA-256 HA1 when there is one.
    fn for_basic(&self) -> StoredCredential {
        self.ha1(HashAlgorithm::Sha256)
            .or_else(|| self.ha1(HashAlgorithm::Md5))
            .unwrap_or_else(StoredCredential::plaintext_decoy)
    }
}

impl CredentialStore for Login {
    fn lookup(&self, username: &str, _realm: &str, purpose: Purpose) -> Option<StoredCredential> {
        // User names are not secret (authgate's trait allows a name-dependent lookup time).
        if username != settings::USER {
            return None;
        }
        match purpose {
            Purpose::Basic => Some(self.for_basic()),
            // A family without an HA1 is not offered; asked anyway, authgate answers 401
            // ("stored credential cannot serve this algorithm").
            Purpose::Digest(family) => self.ha1(family).or_else(|| Some(self.for_basic())),
            // NTLM is not offered here (nor compiled in); asked anyway, authgate answers 401.
            Purpose::Ntlm => Some(self.for_basic()),
        }
    }

    fn decoy(&self, _realm: &str) -> StoredCredential {
        self.for_basic().decoy_for()
    }
}
