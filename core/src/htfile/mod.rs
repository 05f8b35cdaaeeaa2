//! Apache credential files: htpasswd (every format Apache 2.4's `htpasswd` writes) and
//! htdigest, read from a byte slice the caller provides.
//!
//! [`Htpasswd`] and [`Htdigest`] check every line once, when built, and are then
//! [`CredentialStore`]s: an htpasswd file serves Basic, an htdigest file serves Digest
//! (MD5 and MD5-sess, for the realms it lists) and Basic. A line that is damaged, uses a
//! format compiled out, or would cost more than the [`Policy`] allows is refused with its
//! line number ([`LineError`]), never computed.
//!
//! The rules are Apache's (mod_authn_file):
//! - lines are trimmed of surrounding white space (so CRLF files read as LF files); blank
//!   lines and lines starting with `#` are skipped; a line holds at most
//!   [`MAX_LINE_LEN`] bytes;
//! - htpasswd: `user:hash`, htdigest: `user:realm:ha1`; fields after those are ignored;
//! - **the first line naming a user (and, for htdigest, the realm) wins**; later
//!   duplicates are never used. Lookups read the whole file every time, so how long one
//!   takes depends on the file, not on where the name is, or whether it is there.
//!
//! Password hashes, each behind its cargo feature (all in `htpasswd`):
//!
//! | written by        | looks like                        | feature              |
//! |-------------------|-----------------------------------|----------------------|
//! | `htpasswd -B`     | `$2y$05$…` (also `$2a$`, `$2b$`)  | `htpasswd-bcrypt`    |
//! | `htpasswd -m`     | `$apr1$…` (and glibc's `$1$`)     | `htpasswd-apr1`      |
//! | `htpasswd -2`/`-5`| `$5$…`, `$6$…`, with `rounds=`    | `htpasswd-sha-crypt` |
//! | `htpasswd -s`     | `{SHA}…`                          | `htpasswd-sha1`      |
//! | `htpasswd -d`     | 13 characters of `./0-9A-Za-z`    | `htpasswd-crypt`     |
//! | `htpasswd -p`     | the password itself               | ([`Policy::allow_plaintext`]) |
//!
//! Where authgate is stricter than Apache on Unix, it is for safety: plaintext lines are
//! refused unless [`Policy::allow_plaintext`] is set (Apache on Unix hands them to
//! `crypt(3)`, where they never match); `*`/`!` entries (crypt's failure token, locked
//! users) and unknown `$id$`/`{scheme}` hashes are errors, not users who can never log
//! in; a presented password holding a NUL byte matches nothing (Apache would cut it there).
//! Bcrypt uses only the first 72 bytes of a password and DES crypt the first 8, as
//! `htpasswd` did when it hashed them.
//!
//! ```
//! use authgate::htfile::{Htpasswd, Policy};
//! let file = Htpasswd::parse(&b"# users\nalice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n"[..], Policy::DEFAULT).unwrap();
//! assert!(file.verify("alice", b"password"));
//! assert!(!file.verify("alice", b"Password"));
//! assert!(!file.verify("mallory", b"password"));
//! ```

#[cfg(feature = "htpasswd-crypt")]
mod des_crypt;
#[cfg(feature = "htpasswd-apr1")]
mod md5_crypt;
mod password;
#[cfg(feature = "std")]
mod watch;

pub(crate) use password::parse as password_field;
pub use password::PasswordHash;
#[cfg(feature = "std")]
pub use watch::{FileError, FileErrorKind, HtdigestFile, HtpasswdFile, ParseFile, Watched};

use crate::basic::Charset;
use crate::credential::{check_basic, CredentialStore, Purpose, StoredCredential};
use crate::hash::{HashAlgorithm, HashOutput};
use crate::limits::{MAX_REALM_LEN, MAX_USERNAME_LEN};

/// Longest line, in bytes without its line feed (Apache's `MAX_STRING_LEN`).
pub const MAX_LINE_LEN: usize = 8192;

/// A password hash format of htpasswd files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// bcrypt, `$2y$` (`htpasswd -B`), `$2a$`, `$2b$`.
    Bcrypt,
    /// MD5-crypt: Apache's `$apr1$` (`htpasswd -m`, its default) and glibc's `$1$`.
    Md5Crypt,
    /// SHA-256-crypt, `$5$` (`htpasswd -2`).
    Sha256Crypt,
    /// SHA-512-crypt, `$6$` (`htpasswd -5`).
    Sha512Crypt,
    /// `{SHA}` and the Base64 of the password's SHA-1 (`htpasswd -s`; unsalted).
    Sha1,
    /// Traditional DES `crypt(3)` (`htpasswd -d`; 8 characters at most).
    DesCrypt,
    /// The password itself (`htpasswd -p`).
    Plaintext,
}

impl Format {
    /// The format's usual name.
    pub const fn name(self) -> &'static str {
        match self {
            Format::Bcrypt => "bcrypt",
            Format::Md5Crypt => "MD5-crypt (apr1)",
            Format::Sha256Crypt => "SHA-256-crypt",
            Format::Sha512Crypt => "SHA-512-crypt",
            Format::Sha1 => "SHA-1",
            Format::DesCrypt => "DES crypt",
            Format::Plaintext => "plaintext",
        }
    }

    /// Whether this build can check the format (its cargo feature is on).
    pub const fn is_enabled(self) -> bool {
        match self {
            Format::Bcrypt => cfg!(feature = "htpasswd-bcrypt"),
            Format::Md5Crypt => cfg!(feature = "htpasswd-apr1"),
            Format::Sha256Crypt | Format::Sha512Crypt => cfg!(feature = "htpasswd-sha-crypt"),
            Format::Sha1 => cfg!(feature = "htpasswd-sha1"),
            Format::DesCrypt => cfg!(feature = "htpasswd-crypt"),
            Format::Plaintext => true,
        }
    }
}

/// What an htpasswd file may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Highest bcrypt cost accepted (`htpasswd -C`; its default is 5, its maximum 17).
    /// A line above it is refused when the file is read: a hostile file must not make
    /// every login cost seconds.
    pub max_bcrypt_cost: u32,
    /// Highest SHA-crypt `rounds=` accepted (`htpasswd -r`; default 5000).
    pub max_sha_crypt_rounds: u32,
    /// Whether plaintext lines (`htpasswd -p`) are accepted. Off by default: Apache on
    /// Unix never matches them, and a damaged hash must not turn into a password.
    pub allow_plaintext: bool,
}

impl Policy {
    /// bcrypt cost up to 12 and SHA-crypt up to 500,000 rounds (each at most about half a
    /// second on one x86-64 core, `make bench`: cost 10 takes 155 ms, SHA-512-crypt 0.7 µs
    /// a round), no plaintext.
    pub const DEFAULT: Policy = Policy { max_bcrypt_cost: 12, max_sha_crypt_rounds: 500_000, allow_plaintext: false };
}

impl Default for Policy {
    fn default() -> Self {
        Policy::DEFAULT
    }
}

crate::error::error_table! {
    /// Why a password field is refused (codes 310-319; a line's [`ErrorKind::Hash`]).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum HashError {
        /// The field is empty.
        Empty = 310, "empty password hash";
        /// A `$id$` or `{scheme}` hash Apache's `htpasswd` does not write (yescrypt, `$2x$`,
        /// `{SSHA}`, ...), or a damaged prefix.
        Unknown = 311, "unknown password hash format";
        /// `*` or `!` first: crypt's failure token (`htpasswd -r` out of range writes `*0`) or
        /// a locked entry.
        Locked = 312, "locked entry or failed hash ('*' or '!')";
        /// Not a hash: a plaintext password, refused unless [`Policy::allow_plaintext`].
        Plaintext = 313, "plaintext password (not allowed by the policy)";
        /// The field is damaged for its format (length, characters, salt, cost syntax).
        Malformed(Format) = 314, "malformed password hash";
        /// The bcrypt cost or SHA-crypt rounds exceed the [`Policy`].
        CostTooHigh(Format) = 315, "password hash cost above the configured maximum";
        /// The format's cargo feature is off in this build.
        Disabled(Format) = 316, "password hash format not compiled in";
    }
}

crate::error::error_table! {
    /// Why a line is refused (codes 301-309, and [`HashError`]'s); the messages leave the
    /// format out ([`LineError`]'s `Display` adds it).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum ErrorKind {
        @nested
        /// htpasswd: the password field is refused.
        Hash(HashError);
        /// Longer than [`MAX_LINE_LEN`].
        LineTooLong = 301, "line longer than 8192 bytes";
        /// A control character (NUL, a CR inside the line, ...).
        ControlCharacter = 302, "control character in line";
        /// No `:` after the user name (htdigest: after the realm).
        MissingColon = 303, "missing ':' separator";
        /// The user name is empty.
        EmptyUser = 304, "empty user name";
        /// The user name is longer than 128 bytes or not UTF-8: no request could name it.
        InvalidUser = 305, "user name longer than 128 bytes or not UTF-8";
        /// htdigest: the realm is empty, longer than 128 bytes or not UTF-8.
        InvalidRealm = 306, "realm empty, longer than 128 bytes or not UTF-8";
        /// htdigest: the HA1 is not 32 lower-case hex digits.
        InvalidHa1 = 307, "HA1 is not 32 lower-case hex digits";
    }
}

impl ErrorKind {
    /// The hash format the error is about, if any.
    pub const fn format(self) -> Option<Format> {
        match self {
            ErrorKind::Hash(HashError::Malformed(f) | HashError::CostTooHigh(f) | HashError::Disabled(f)) => Some(f),
            _ => None,
        }
    }
}

/// A refused line: its number (from 1) and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineError {
    /// The line number, counting from 1 (every line, blank and comment lines included).
    pub line: usize,
    /// Why.
    pub kind: ErrorKind,
}

impl core::fmt::Display for LineError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "line {}: {}", self.line, self.kind.message())?;
        match self.kind.format() {
            Some(format) => write!(f, " ({})", format.name()),
            None => Ok(()),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for LineError {}

/// The lines that matter: `(number, trimmed content)`, without blank and `#` lines.
#[derive(Clone)]
struct Lines<'t> {
    rest: &'t [u8],
    number: usize,
}

impl<'t> Lines<'t> {
    fn new(text: &'t [u8]) -> Self {
        Lines { rest: text, number: 0 }
    }
}

/// Apache's `apr_isspace`.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

impl<'t> Iterator for Lines<'t> {
    type Item = Result<(usize, &'t [u8]), LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.rest.is_empty() {
            let end = self.rest.iter().position(|&c| c == b'\n').unwrap_or(self.rest.len());
            let raw = &self.rest[..end];
            self.rest = self.rest.get(end + 1..).unwrap_or(&[]);
            self.number += 1;
            let error = |kind| Some(Err(LineError { line: self.number, kind }));
            if raw.len() > MAX_LINE_LEN {
                return error(ErrorKind::LineTooLong);
            }
            let start = raw.iter().position(|&c| !is_space(c)).unwrap_or(raw.len());
            let stop = raw.iter().rposition(|&c| !is_space(c)).map_or(start, |i| i + 1);
            let line = &raw[start..stop];
            if line.is_empty() || line[0] == b'#' {
                continue;
            }
            if line.iter().any(|&c| (c < 0x20 && c != b'\t') || c == 0x7f) {
                return error(ErrorKind::ControlCharacter);
            }
            return Some(Ok((self.number, line)));
        }
        None
    }
}

/// The next `:`-separated field of `rest`, and what follows its colon (if one did).
fn field(rest: &[u8]) -> (&[u8], Option<&[u8]>) {
    match rest.iter().position(|&c| c == b':') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    }
}

/// A user or realm field as text of 1 to 128 bytes.
fn name(bytes: &[u8], max: usize) -> Option<&str> {
    if bytes.is_empty() || bytes.len() > max {
        return None;
    }
    core::str::from_utf8(bytes).ok()
}

/// What follows `fields[0]:fields[1]:...:` on the first line that starts with them. Every
/// line is read (see the module documentation), with the cheap rules only: the file was
/// checked whole when it was built.
fn first_match<'t>(text: &'t [u8], fields: &[&[u8]]) -> Option<&'t [u8]> {
    let mut found = None;
    for raw in text.split(|&c| c == b'\n') {
        let start = raw.iter().position(|&c| !is_space(c)).unwrap_or(raw.len());
        let stop = raw.iter().rposition(|&c| !is_space(c)).map_or(start, |i| i + 1);
        let mut rest = &raw[start..stop];
        let mut matched = true;
        for f in fields {
            match rest.strip_prefix(*f).and_then(|r| r.strip_prefix(b":")) {
                Some(r) => rest = r,
                None => {
                    matched = false;
                    break;
                }
            }
        }
        if matched && found.is_none() {
            found = Some(rest);
        }
    }
    found
}

/// An htpasswd line: the user and the password field.
fn htpasswd_line(line: &[u8]) -> Result<(&str, &[u8]), ErrorKind> {
    let (user, rest) = field(line);
    let rest = rest.ok_or(ErrorKind::MissingColon)?;
    if user.is_empty() {
        return Err(ErrorKind::EmptyUser);
    }
    let user = name(user, MAX_USERNAME_LEN).ok_or(ErrorKind::InvalidUser)?;
    Ok((user, field(rest).0))
}

/// An htpasswd file: `user:hash` lines, a Basic [`CredentialStore`].
///
/// `T` holds the text: `&[u8]` or `&'static [u8]` on a device (one line from the build is
/// a file too), `Vec<u8>` in a std program.
#[derive(Clone, Debug)]
pub struct Htpasswd<T> {
    text: T,
    policy: Policy,
    entries: usize,
    decoy: StoredCredential,
}

/// One line of a file, as [`Htpasswd::entries`] lists them.
#[derive(Clone, Debug)]
pub struct Entry<'t> {
    /// The line number (from 1).
    pub line: usize,
    /// The user name.
    pub user: &'t str,
    /// The parsed credential.
    pub credential: StoredCredential,
}

impl<T: AsRef<[u8]>> Htpasswd<T> {
    /// Reads every line of `text` under `policy`; the first refused line is the error.
    pub fn parse(text: T, policy: Policy) -> Result<Self, LineError> {
        let mut entries = 0;
        let mut decoy: Option<(u64, StoredCredential)> = None;
        for line in Lines::new(text.as_ref()) {
            let (number, line) = line?;
            let error = |kind| LineError { line: number, kind };
            let (_, hash) = htpasswd_line(line).map_err(error)?;
            let credential = password::parse(hash, &policy).map_err(|e| error(ErrorKind::Hash(e)))?;
            entries += 1;
            // Unknown users are checked against the costliest line's form.
            let cost = credential.cost();
            if decoy.as_ref().is_none_or(|(c, _)| cost > *c) {
                decoy = Some((cost, credential.decoy_for()));
            }
        }
        let decoy = decoy.map_or_else(StoredCredential::plaintext_decoy, |(_, d)| d);
        Ok(Htpasswd { text, policy, entries, decoy })
    }

    /// The policy the file was read under.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The file's text.
    pub fn text(&self) -> &[u8] {
        self.text.as_ref()
    }

    /// How many user lines the file has (duplicates included).
    pub fn len(&self) -> usize {
        self.entries
    }

    /// Whether the file has no user line.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// Every user line in file order, duplicates included.
    pub fn entries(&self) -> impl Iterator<Item = Entry<'_>> + '_ {
        Lines::new(self.text.as_ref()).filter_map(move |l| {
            let (line, text) = l.ok()?;
            let (user, hash) = htpasswd_line(text).ok()?;
            Some(Entry { line, user, credential: password::parse(hash, &self.policy).ok()? })
        })
    }

    /// The credential of the first line naming `user`.
    pub fn get(&self, user: &str) -> Option<StoredCredential> {
        let hash = first_match(self.text.as_ref(), &[user.as_bytes()])?;
        password::parse(field(hash).0, &self.policy).ok()
    }

    /// Constant-time check of `user`'s password (UTF-8); an unknown user costs what the
    /// costliest line costs.
    pub fn verify(&self, user: &str, password: &[u8]) -> bool {
        check_basic(self, user, "", password, Charset::Utf8).is_ok()
    }
}

impl<T: AsRef<[u8]>> CredentialStore for Htpasswd<T> {
    fn lookup(&self, username: &str, _realm: &str, _purpose: Purpose) -> Option<StoredCredential> {
        self.get(username)
    }

    fn decoy(&self, _realm: &str) -> StoredCredential {
        self.decoy.clone()
    }
}

/// An htdigest line: user, realm and HA1.
fn htdigest_line(line: &[u8]) -> Result<(&str, &str, HashOutput), ErrorKind> {
    let (user, rest) = field(line);
    let (realm, rest) = field(rest.ok_or(ErrorKind::MissingColon)?);
    let rest = rest.ok_or(ErrorKind::MissingColon)?;
    if user.is_empty() {
        return Err(ErrorKind::EmptyUser);
    }
    let user = name(user, MAX_USERNAME_LEN).ok_or(ErrorKind::InvalidUser)?;
    let realm = name(realm, MAX_REALM_LEN).ok_or(ErrorKind::InvalidRealm)?;
    let hex = field(rest).0;
    // Lower case only: Apache uses the text as it is in the response, so an upper-case
    // HA1 never verifies there.
    if hex.len() != 32 || !hex.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(ErrorKind::InvalidHa1);
    }
    Ok((user, realm, HashOutput::from_hex(hex).ok_or(ErrorKind::InvalidHa1)?))
}

/// An htdigest file: `user:realm:MD5(user:realm:password)` lines, a [`CredentialStore`]
/// for Digest MD5 and MD5-sess (and Basic) in the realms it lists.
#[derive(Clone, Debug)]
pub struct Htdigest<T> {
    text: T,
    entries: usize,
}

impl<T: AsRef<[u8]>> Htdigest<T> {
    /// Reads every line of `text`; the first refused line is the error.
    pub fn parse(text: T) -> Result<Self, LineError> {
        let mut entries = 0;
        for line in Lines::new(text.as_ref()) {
            let (number, line) = line?;
            htdigest_line(line).map_err(|kind| LineError { line: number, kind })?;
            entries += 1;
        }
        Ok(Htdigest { text, entries })
    }

    /// The file's text.
    pub fn text(&self) -> &[u8] {
        self.text.as_ref()
    }

    /// How many lines the file has (duplicates included).
    pub fn len(&self) -> usize {
        self.entries
    }

    /// Whether the file has no user line.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// `(line, user, realm)` of every line, in file order.
    pub fn users(&self) -> impl Iterator<Item = (usize, &str, &str)> + '_ {
        Lines::new(self.text.as_ref()).filter_map(|l| {
            let (line, text) = l.ok()?;
            let (user, realm, _) = htdigest_line(text).ok()?;
            Some((line, user, realm))
        })
    }

    /// The realm of every line, if they all have the same one.
    pub fn single_realm(&self) -> Option<&str> {
        let mut realms = self.users().map(|(_, _, r)| r);
        let first = realms.next()?;
        realms.all(|r| r == first).then_some(first)
    }

    /// The HA1 of the first line naming `user` in `realm`.
    pub fn ha1(&self, user: &str, realm: &str) -> Option<HashOutput> {
        let rest = first_match(self.text.as_ref(), &[user.as_bytes(), realm.as_bytes()])?;
        HashOutput::from_hex(field(rest).0)
    }

    /// Constant-time Basic check of `user`'s password (UTF-8) in `realm`, against the HA1.
    pub fn verify(&self, user: &str, realm: &str, password: &[u8]) -> bool {
        check_basic(self, user, realm, password, Charset::Utf8).is_ok()
    }
}

impl<T: AsRef<[u8]>> CredentialStore for Htdigest<T> {
    fn lookup(&self, username: &str, realm: &str, _purpose: Purpose) -> Option<StoredCredential> {
        let digest = self.ha1(username, realm)?;
        Some(StoredCredential::Ha1 { algorithm: HashAlgorithm::Md5, digest })
    }

    fn decoy(&self, _realm: &str) -> StoredCredential {
        StoredCredential::Ha1 { algorithm: HashAlgorithm::Md5, digest: HashOutput::zeroed(16) }
    }
}

// The tests use lines of every format.
#[cfg(all(
    test,
    feature = "htpasswd-bcrypt",
    feature = "htpasswd-apr1",
    feature = "htpasswd-sha-crypt",
    feature = "htpasswd-sha1",
    feature = "htpasswd-crypt"
))]
mod tests;

#[cfg(all(test, not(feature = "htpasswd-bcrypt")))]
#[test]
fn a_format_compiled_out_is_refused_by_line() {
    let e =
        Htpasswd::parse(&b"\nu:$2y$04$hClqlN0COVwY9xJeXgDWZuQG7eStcm.jN5yFQuhRVmLG3gnJ6cVZC\n"[..], Policy::DEFAULT);
    assert_eq!(e.unwrap_err(), LineError { line: 2, kind: ErrorKind::Hash(HashError::Disabled(Format::Bcrypt)) });
    assert!(!Format::Bcrypt.is_enabled());
}
