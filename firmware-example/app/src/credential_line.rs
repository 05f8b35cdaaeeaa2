//! One credential line: the form `AUTHGATE_CREDENTIAL` takes at build time.
//!
//! This file is compiled twice, by `build.rs` (to refuse a bad line before anything is
//! flashed) and into the device (to read the lines `build.rs` wrote), so the two cannot
//! disagree. It knows line *shapes* only; hashes are decoded by the core
//! ([`StoredCredential::ha1_hex`]).
//!
//! Forms read today:
//!
//! * `user:realm:HA1` — an htdigest line: `HA1 = H(user ":" realm ":" password)` in hex,
//!   32 digits for MD5 (what Apache's `htdigest` writes), 64 for SHA-256.
//!
//! An htpasswd line (`user:$apr1$…`, `user:{SHA}…`, bcrypt) becomes one more arm of
//! [`parse`] once the core reads such lines; the rest of the firmware only sees a
//! [`CredentialLine`].

use authgate::{HashAlgorithm, StoredCredential};

/// A parsed line: whose credential, for which realm, and the credential itself.
pub struct CredentialLine<'a> {
    pub user: &'a str,
    pub realm: &'a str,
    pub credential: StoredCredential,
}

/// Why a line was refused (no part of the line is echoed: it may hold a secret).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineError {
    /// Not `user:realm:hash`.
    Shape,
    /// An empty user name, or one with a control character.
    User,
    /// The hash is not 32 (MD5) or 64 (SHA-256) hexadecimal digits.
    Hash,
}

impl LineError {
    pub const fn message(self) -> &'static str {
        match self {
            LineError::Shape => "expected user:realm:HA1",
            LineError::User => "the user name is empty or has a control character",
            LineError::Hash => "the HA1 must be 32 (MD5) or 64 (SHA-256) hex digits",
        }
    }
}

/// Reads one line (without its line break).
pub fn parse(line: &str) -> Result<CredentialLine<'_>, LineError> {
    // The user may not contain ':'; the realm may (htdigest splits the same way).
    let (user, rest) = line.split_once(':').ok_or(LineError::Shape)?;
    let (realm, hex) = rest.rsplit_once(':').ok_or(LineError::Shape)?;
    if user.is_empty() || user.chars().any(char::is_control) {
        return Err(LineError::User);
    }
    let algorithm = match hex.len() {
        32 => HashAlgorithm::Md5,
        64 => HashAlgorithm::Sha256,
        _ => return Err(LineError::Hash),
    };
    let credential = StoredCredential::ha1_hex(algorithm, hex.as_bytes()).ok_or(LineError::Hash)?;
    Ok(CredentialLine { user, realm, credential })
}
