//! Stored credentials and the store trait, with constant-time checks.

use subtle::{Choice, ConstantTimeEq};

#[cfg(feature = "app-hooks")]
use crate::basic::BasicCredentials;
use crate::basic::{for_each_utf8_chunk, Charset};
use crate::error::Reason;
use crate::hash::{sha256, HashAlgorithm, HashOutput, Hasher};
use crate::htfile::{HashError, PasswordHash, Policy};
use crate::limits::{MAX_SALT_LEN, MAX_SECRET_LEN, MAX_USERNAME_LEN};
#[cfg(feature = "app-hooks")]
use crate::parse::Value;

/// An authenticated user's name (UTF-8), held without allocation.
pub type UserName = heapless::String<MAX_USERNAME_LEN>;

/// What a store keeps for a user.
#[derive(Clone)]
pub enum StoredCredential {
    /// The password itself (UTF-8). Serves Basic and every Digest algorithm.
    Plaintext(heapless::Vec<u8, MAX_SECRET_LEN>),
    /// `H(user ":" realm ":" password)` as htdigest stores it. Serves Digest with this hash
    /// family (plain and `-sess`) and Basic: one store for both.
    Ha1 {
        /// Hash family of `digest`.
        algorithm: HashAlgorithm,
        /// The raw hash.
        digest: HashOutput,
    },
    /// PBKDF2-HMAC-SHA256 of the password. Serves Basic only (Digest needs the password or HA1).
    Pbkdf2Sha256 {
        /// Iteration count.
        iterations: u32,
        /// Salt.
        salt: heapless::Vec<u8, MAX_SALT_LEN>,
        /// Derived key.
        hash: [u8; 32],
    },
    /// The NT hash (MD4 of the UTF-16LE password), as Windows and Samba keep it. Serves NTLM
    /// and Basic (with the `ntlm` feature).
    NtHash([u8; 16]),
    /// A password hash from an htpasswd file (bcrypt, MD5-crypt, SHA-crypt, SHA-1, DES
    /// crypt; see [`htfile`](crate::htfile)). Serves Basic only.
    Htpasswd(PasswordHash),
}

impl core::fmt::Debug for StoredCredential {
    // Never print a secret.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StoredCredential::Plaintext(_) => f.write_str("Plaintext(..)"),
            StoredCredential::Ha1 { algorithm, .. } => write!(f, "Ha1({algorithm:?}, ..)"),
            StoredCredential::Pbkdf2Sha256 { iterations, .. } => write!(f, "Pbkdf2Sha256(i={iterations}, ..)"),
            StoredCredential::NtHash(_) => f.write_str("NtHash(..)"),
            StoredCredential::Htpasswd(h) => write!(f, "Htpasswd({h:?})"),
        }
    }
}

impl StoredCredential {
    /// A plaintext password; `None` if longer than [`MAX_SECRET_LEN`].
    pub fn plaintext(password: &[u8]) -> Option<Self> {
        heapless::Vec::from_slice(password).ok().map(StoredCredential::Plaintext)
    }

    /// An HA1 from its hex form (as in an htdigest file); `None` if the hex is invalid or
    /// of the wrong length for `algorithm`.
    pub fn ha1_hex(algorithm: HashAlgorithm, hex: &[u8]) -> Option<Self> {
        let digest = HashOutput::from_hex(hex)?;
        (digest.as_bytes().len() == algorithm.output_len()).then_some(StoredCredential::Ha1 { algorithm, digest })
    }

    /// A PBKDF2-HMAC-SHA256 hash; `None` if the salt is too long or `iterations` is zero.
    pub fn pbkdf2_sha256(iterations: u32, salt: &[u8], hash: [u8; 32]) -> Option<Self> {
        let salt = heapless::Vec::from_slice(salt).ok()?;
        (iterations > 0).then_some(StoredCredential::Pbkdf2Sha256 { iterations, salt, hash })
    }

    /// The password field of an htpasswd line (`$2y$…`, `$apr1$…`, `{SHA}…`, …; see
    /// [`htfile`](crate::htfile)): a [`StoredCredential::Htpasswd`], or a plaintext one
    /// when `policy` allows plaintext and the field is no hash. A cost above `policy`'s cap
    /// is refused here, before anything is computed.
    pub fn htpasswd(field: &[u8], policy: &Policy) -> Result<Self, HashError> {
        crate::htfile::password_field(field, policy)
    }

    /// Roughly what one check of this credential costs, in tenths of a microsecond on one
    /// x86-64 core (`make bench`): orders credentials so that an unknown user's decoy can
    /// follow the costliest.
    pub fn cost(&self) -> u64 {
        match self {
            StoredCredential::Plaintext(_) => 0,
            StoredCredential::Ha1 { .. } => 3,
            StoredCredential::Pbkdf2Sha256 { iterations, .. } => 4 * u64::from(*iterations) + 3,
            StoredCredential::Htpasswd(h) => h.work(),
            StoredCredential::NtHash(_) => 3,
        }
    }

    /// A credential no password matches whose check costs what checking `self` costs: the
    /// decoy an unknown user's password is checked against (see [`CredentialStore::decoy`]).
    pub fn decoy_for(&self) -> StoredCredential {
        match self {
            // The salt is not secret; the same length costs the same HMAC blocks.
            StoredCredential::Pbkdf2Sha256 { iterations, salt, .. } => {
                StoredCredential::Pbkdf2Sha256 { iterations: *iterations, salt: salt.clone(), hash: [0; 32] }
            }
            StoredCredential::Plaintext(_) => Self::plaintext_decoy(),
            StoredCredential::Ha1 { algorithm, .. } => {
                StoredCredential::Ha1 { algorithm: *algorithm, digest: HashOutput::zeroed(algorithm.output_len()) }
            }
            StoredCredential::NtHash(_) => StoredCredential::NtHash([0; 16]),
            StoredCredential::Htpasswd(h) => StoredCredential::Htpasswd(h.decoy()),
        }
    }

    /// An NT hash from its hex form (as `pwdump` and Samba's `pdbedit -w` print it); `None`
    /// unless 32 hex digits.
    pub fn nt_hash_hex(hex: &[u8]) -> Option<Self> {
        let h = HashOutput::from_hex(hex)?;
        Some(StoredCredential::NtHash(h.as_bytes().try_into().ok()?))
    }

    /// The NT hash NTLM verifies with: a plaintext password's (UTF-8), or the stored one.
    #[cfg(feature = "ntlm")]
    pub fn nt_hash(&self) -> Option<crate::ntlm::NtHash> {
        match self {
            StoredCredential::Plaintext(pw) => crate::ntlm::nt_hash(pw),
            StoredCredential::NtHash(h) => Some(*h),
            _ => None,
        }
    }

    /// The default decoy: a plaintext password no client can send. Presented passwords are
    /// always compared as UTF-8, and `0xFF` never occurs in UTF-8.
    pub fn plaintext_decoy() -> StoredCredential {
        StoredCredential::Plaintext(heapless::Vec::from_array([0xFF; 16]))
    }

    /// The HA1 to use for Digest with `algorithm`'s hash family, if this credential can serve it.
    pub fn digest_ha1(&self, hash: HashAlgorithm, username: &[u8], realm: &[u8]) -> Option<HashOutput> {
        match self {
            StoredCredential::Plaintext(pw) => crate::digest::ha1(hash, username, realm, pw),
            StoredCredential::Ha1 { algorithm, digest } if *algorithm == hash => Some(*digest),
            _ => None,
        }
    }

    /// Constant-time check of a Basic password (in `charset`) for `username` in `realm`.
    pub fn check_password(&self, username: &[u8], realm: &[u8], password: &[u8], charset: Charset) -> bool {
        let ok: Choice = match self {
            StoredCredential::Plaintext(stored) => plaintext_matches(stored, password, charset),
            // The hasher is built in place (Hasher::start), not moved out of an Option.
            StoredCredential::Ha1 { algorithm, digest } if algorithm.is_enabled() => {
                let mut h = Hasher::start(*algorithm);
                h.update(username);
                h.update(b":");
                h.update(realm);
                h.update(b":");
                feed_utf8(&mut h, password, charset);
                Choice::from(u8::from(h.finish().ct_eq(digest)))
            }
            #[cfg(feature = "ntlm")]
            StoredCredential::NtHash(hash) => match nt_hash_utf8(password, charset) {
                Some(h) => h.ct_eq(hash),
                None => Choice::from(0),
            },
            // An HA1 of a family compiled out; an NT hash without the `ntlm` feature.
            #[cfg_attr(feature = "ntlm", allow(unreachable_patterns))]
            StoredCredential::Ha1 { .. } | StoredCredential::NtHash(_) => Choice::from(0),
            StoredCredential::Pbkdf2Sha256 { iterations, salt, hash } => {
                let derived = pbkdf2_utf8(password, charset, salt, *iterations);
                match derived {
                    Some(d) => d.ct_eq(hash),
                    None => Choice::from(0),
                }
            }
            StoredCredential::Htpasswd(h) => Choice::from(u8::from(htpasswd_utf8(h, password, charset))),
        };
        ok.into()
    }
}

/// A Basic password (in `charset`) against a stored plaintext one, in constant time: the
/// stored side is laid out in a buffer of the largest stored size (zero-padded), the
/// presented one compared with it as it is transcoded, a byte at a time with the differences
/// OR-ed together, and the lengths compared last; so neither where they differ nor the
/// stored length shows (the loop's length is the presented password's).
// Out of line in the compact form: its buffer is not on the stack of the hashing
// credentials' checks.
#[cfg_attr(authgate_backend = "compact", inline(never))]
fn plaintext_matches(stored: &[u8], password: &[u8], charset: Charset) -> Choice {
    let mut expected = [0u8; MAX_SECRET_LEN];
    if let Some(dst) = expected.get_mut(..stored.len()) {
        dst.copy_from_slice(stored);
    }
    let (mut diff, mut len) = (0u8, 0usize);
    for_each_utf8_chunk(password, charset, &mut |chunk| {
        for &b in chunk {
            // Past the largest stored size (the presented length is public): a mismatch.
            diff |= expected.get(len).map_or(1, |&e| b ^ e);
            len += 1;
        }
    });
    diff.ct_eq(&0) & (len as u64).ct_eq(&(stored.len() as u64))
}

/// Feeds a Basic password as UTF-8 (transcoding Latin-1); one copy for every credential kind
/// (the compact form: inlined, which is smaller there).
#[cfg_attr(not(authgate_backend = "compact"), inline(never))]
fn feed_utf8(h: &mut Hasher, password: &[u8], charset: Charset) {
    for_each_utf8_chunk(password, charset, &mut |c| h.update(c));
}

/// An htpasswd hash checked against the password as UTF-8 (transcoding Latin-1); out of
/// line, so its buffer is not on the stack of every check.
#[inline(never)]
fn htpasswd_utf8(hash: &PasswordHash, password: &[u8], charset: Charset) -> bool {
    let mut buf = [0u8; 2 * crate::limits::MAX_BASIC_DECODED];
    crate::basic::to_utf8(password, charset, &mut buf).is_some_and(|pw| hash.verify(pw.as_bytes()))
}

#[cfg(feature = "pbkdf2")]
fn pbkdf2_utf8(password: &[u8], charset: Charset, salt: &[u8], iterations: u32) -> Option<[u8; 32]> {
    // Latin-1 passwords are transcoded: at most two bytes per character.
    let mut buf = [0u8; 2 * crate::limits::MAX_BASIC_DECODED];
    let pw = crate::basic::to_utf8(password, charset, &mut buf)?;
    Some(pbkdf2_sha256(pw.as_bytes(), salt, iterations))
}

/// The NT hash of a Basic password.
#[cfg(feature = "ntlm")]
fn nt_hash_utf8(password: &[u8], charset: Charset) -> Option<[u8; 16]> {
    let mut buf = [0u8; 2 * crate::limits::MAX_BASIC_DECODED];
    let pw = crate::basic::to_utf8(password, charset, &mut buf)?;
    crate::ntlm::nt_hash(pw.as_bytes())
}

#[cfg(not(feature = "pbkdf2"))]
fn pbkdf2_utf8(_: &[u8], _: Charset, _: &[u8], _: u32) -> Option<[u8; 32]> {
    None
}

/// PBKDF2-HMAC-SHA256, for building [`StoredCredential::Pbkdf2Sha256`] values.
#[cfg(feature = "pbkdf2")]
pub fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, iterations, &mut out);
    out
}

/// Constant-time comparison of a presented bearer token with the SHA-256 digest of the
/// expected one: the digest comparison hides both content and length.
pub fn token_matches(presented: &[u8], expected_sha256: &[u8; 32]) -> bool {
    sha256(&[presented]).ct_eq(expected_sha256).into()
}

/// A Basic password check through `store`, as the engine makes it: the user's credential,
/// or the store's decoy for an unknown user (so that a miss costs what a hit costs).
/// `Err` is [`Reason::UnknownUser`] or [`Reason::BadCredentials`].
// Out of line in the compact form: one credential at a time on the stack, below the
// engine's decoded credentials.
#[cfg_attr(authgate_backend = "compact", inline(never))]
pub fn check_basic<S: CredentialStore + ?Sized>(
    store: &S,
    user: &str,
    realm: &str,
    password: &[u8],
    charset: Charset,
) -> Result<(), Reason> {
    let (name, realm_bytes) = (user.as_bytes(), realm.as_bytes());
    // The user's credential, gone before the decoy's is made in its place.
    {
        let stored = store.lookup(user, realm, Purpose::Basic);
        if let Some(c) = &stored {
            return match c.check_password(name, realm_bytes, password, charset) {
                true => Ok(()),
                false => Err(Reason::BadCredentials),
            };
        }
    }
    let decoy = store.decoy(realm);
    decoy.check_password(name, realm_bytes, password, charset);
    Err(Reason::UnknownUser)
}

/// What the engine asks a store for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// A Basic password check: any credential form will do.
    Basic,
    /// A Digest check with this hash family: plaintext or an HA1 of this family.
    Digest(HashAlgorithm),
    /// An NTLM check: plaintext or an NT hash.
    Ntlm,
}

/// Where the engine looks users up. Lookups are by name; timing of the lookup itself may
/// depend on the name (names are not secret), never on a password.
///
/// A store over the rows of a user table that keeps MD5 HA1 hashes, as a database would
/// (for files, [`Htdigest`](crate::Htdigest) and [`Htpasswd`](crate::Htpasswd) are stores
/// already): one HA1 serves Digest MD5 and Basic alike.
///
/// ```
/// use authgate::{Config, Context, CredentialStore, Engine, HashAlgorithm, Purpose, ReplayTable};
/// use authgate::{Request, StoredCredential, Verdict};
/// use core::cell::RefCell;
///
/// /// (user, realm, hex of MD5(user ":" realm ":" password))
/// struct UserTable<'a>(&'a [(&'a str, &'a str, &'a str)]);
///
/// impl CredentialStore for UserTable<'_> {
///     fn lookup(&self, username: &str, realm: &str, _purpose: Purpose) -> Option<StoredCredential> {
///         let (_, _, ha1) = self.0.iter().find(|(u, r, _)| *u == username && *r == realm)?;
///         StoredCredential::ha1_hex(HashAlgorithm::Md5, ha1.as_bytes())
///     }
///
///     // An unknown user's Basic password is hashed too, so timing does not tell who exists.
///     fn decoy(&self, _realm: &str) -> StoredCredential {
///         StoredCredential::ha1_hex(HashAlgorithm::Md5, &[b'0'; 32]).unwrap()
///     }
/// }
///
/// // Mufasa's password is "Circle Of Life".
/// let users = UserTable(&[("Mufasa", "home", "029df3bc0185e9defd32373c627a3482")]);
/// let replay = RefCell::new(ReplayTable::<16>::new());
/// let engine = Engine::new(Config::new("home")?, &[7; 32], users, &replay)?;
///
/// let ctx = Context { now: 1_700_000_000, salt: [1; 8] };
/// let basic = Request::new("GET", "/", Some(b"Basic TXVmYXNhOkNpcmNsZSBPZiBMaWZl"));
/// assert!(matches!(engine.check(&basic, ctx), Verdict::Authenticated(a) if a.user == "Mufasa"));
/// let wrong = Request::new("GET", "/", Some(b"Basic TXVmYXNhOnNpbWJh"));
/// assert!(matches!(engine.check(&wrong, ctx), Verdict::Challenge(_)));
/// # Ok::<(), authgate::ConfigError>(())
/// ```
pub trait CredentialStore {
    /// The stored credential of `username` in `realm`, or `None` for an unknown user.
    fn lookup(&self, username: &str, realm: &str, purpose: Purpose) -> Option<StoredCredential>;

    /// What an unknown user's Basic password is checked against, so that a miss costs what a
    /// hit costs and timing does not tell which names exist. The default
    /// ([`StoredCredential::plaintext_decoy`]) costs what a plaintext password costs. A store
    /// holding HA1 or PBKDF2 hashes returns [`StoredCredential::decoy_for`] of one of its
    /// credentials — for PBKDF2 that is essential, or unknown names answer thousands of times
    /// faster than known ones.
    fn decoy(&self, _realm: &str) -> StoredCredential {
        StoredCredential::plaintext_decoy()
    }

    /// For Digest `userhash=true`: the user whose `H(username ":" realm)` in `hash` is
    /// `userhash` (lower-case hex), with the credential. The default scans nothing and fails.
    fn lookup_userhash(
        &self,
        _userhash: &str,
        _realm: &str,
        _hash: HashAlgorithm,
    ) -> Option<(UserName, StoredCredential)> {
        None
    }

    /// For Bearer: the user a token belongs to, given the SHA-256 of the token. Keep tokens as
    /// their SHA-256 and compare the digests with `subtle::ConstantTimeEq`, or look the digest
    /// up in a map (steering a lookup needs a SHA-256 preimage). [`token_matches`] is for
    /// callers that hold the token itself. The default accepts no token.
    fn lookup_bearer(&self, _token_sha256: &[u8; 32]) -> Option<UserName> {
        None
    }

    /// For stores that check Basic passwords themselves (an application callback, a hash
    /// the engine does not know, such as bcrypt): `Some(verdict)`; called once the engine
    /// has decoded the credentials and applied its limits (a user name of at most
    /// [`MAX_USERNAME_LEN`] bytes, as UTF-8). `None` (the default): the engine checks the
    /// credential [`lookup`](Self::lookup) returns.
    #[cfg(feature = "app-hooks")]
    fn verify_basic(&self, _username: &str, _credentials: &BasicCredentials<'_>, _realm: &str) -> Option<bool> {
        None
    }

    /// For stores that check Bearer tokens themselves: `Some(verdict)` for a well-formed
    /// token (the accepted user's name is then empty: the application keeps its user). `None`
    /// (the default): [`lookup_bearer`](Self::lookup_bearer) with the token's SHA-256.
    #[cfg(feature = "app-hooks")]
    fn verify_token(&self, _token: &str) -> Option<bool> {
        None
    }

    /// For applications that issue their own Digest nonces: `Some(valid)`; a valid one is
    /// replay-tracked from its first use, with that time as its issue time. `None` (the
    /// default): the engine's keyed nonces.
    #[cfg(feature = "app-hooks")]
    fn verify_nonce(&self, _nonce: &Value<'_>) -> Option<bool> {
        None
    }

    /// For applications that issue their own Digest `opaque`: `Some(valid)`. `None` (the
    /// default): the configured opaque, if any, must come back unchanged.
    #[cfg(feature = "app-hooks")]
    fn verify_opaque(&self, _opaque: Option<&Value<'_>>) -> Option<bool> {
        None
    }
}

impl<T: CredentialStore + ?Sized> CredentialStore for &T {
    fn lookup(&self, username: &str, realm: &str, purpose: Purpose) -> Option<StoredCredential> {
        (**self).lookup(username, realm, purpose)
    }
    fn decoy(&self, realm: &str) -> StoredCredential {
        (**self).decoy(realm)
    }
    fn lookup_userhash(
        &self,
        userhash: &str,
        realm: &str,
        hash: HashAlgorithm,
    ) -> Option<(UserName, StoredCredential)> {
        (**self).lookup_userhash(userhash, realm, hash)
    }
    fn lookup_bearer(&self, token_sha256: &[u8; 32]) -> Option<UserName> {
        (**self).lookup_bearer(token_sha256)
    }
    #[cfg(feature = "app-hooks")]
    fn verify_basic(&self, username: &str, credentials: &BasicCredentials<'_>, realm: &str) -> Option<bool> {
        (**self).verify_basic(username, credentials, realm)
    }
    #[cfg(feature = "app-hooks")]
    fn verify_token(&self, token: &str) -> Option<bool> {
        (**self).verify_token(token)
    }
    #[cfg(feature = "app-hooks")]
    fn verify_nonce(&self, nonce: &Value<'_>) -> Option<bool> {
        (**self).verify_nonce(nonce)
    }
    #[cfg(feature = "app-hooks")]
    fn verify_opaque(&self, opaque: Option<&Value<'_>>) -> Option<bool> {
        (**self).verify_opaque(opaque)
    }
}

/// A fixed list of users with plaintext or HA1 credentials, for firmware and tests.
///
/// `userhash` lookups compute `H(name ":" realm)` for every entry, comparing each in
/// constant time, so a hit and a miss take the same time.
#[derive(Clone, Copy, Debug)]
pub struct StaticUsers<'a> {
    users: &'a [(&'a str, &'a str)],
}

impl<'a> StaticUsers<'a> {
    /// `(name, plaintext password)` pairs.
    pub const fn new(users: &'a [(&'a str, &'a str)]) -> Self {
        StaticUsers { users }
    }
}

impl CredentialStore for StaticUsers<'_> {
    fn lookup(&self, username: &str, _realm: &str, _purpose: Purpose) -> Option<StoredCredential> {
        let (_, pw) = self.users.iter().find(|(u, _)| crate::accel::eq_short(u.as_bytes(), username.as_bytes()))?;
        StoredCredential::plaintext(pw.as_bytes())
    }

    fn lookup_userhash(
        &self,
        userhash: &str,
        realm: &str,
        hash: HashAlgorithm,
    ) -> Option<(UserName, StoredCredential)> {
        let wanted = HashOutput::from_hex(userhash.as_bytes())?;
        let mut found = None;
        for (name, pw) in self.users {
            let h = crate::digest::userhash(hash, name.as_bytes(), realm.as_bytes())?;
            if bool::from(h.as_bytes().ct_eq(wanted.as_bytes())) && found.is_none() {
                found = Some((name, pw));
            }
        }
        let (name, pw) = found?;
        Some((UserName::try_from(*name).ok()?, StoredCredential::plaintext(pw.as_bytes())?))
    }
}
