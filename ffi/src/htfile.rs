//! `authgate_htfile`: Apache htpasswd and htdigest files, read by the core
//! (`authgate::htfile`) and read again when they change.

use std::ffi::c_char;
use std::path::PathBuf;
use std::sync::Arc;

use authgate_core::htfile::{ErrorKind, FileError, FileErrorKind, HtdigestFile, HtpasswdFile, Policy};
use authgate_core::{CredentialStore, Purpose, StoredCredential};

use crate::config::authgate_config;
use crate::credential::authgate_credential;
use crate::{authgate_result, bytes, guard, run, store, text, OutBuf};

/// What an htpasswd file may ask for. `authgate_htpasswd_policy_default()` gives bcrypt
/// cost up to 12, SHA-crypt up to 500,000 rounds, no plaintext.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct authgate_htpasswd_policy {
    /// Highest bcrypt cost accepted; a line above it is refused when the file is read.
    pub max_bcrypt_cost: u32,
    /// Highest SHA-crypt `rounds=` accepted.
    pub max_sha_crypt_rounds: u32,
    /// Whether plaintext lines (`htpasswd -p`) are accepted.
    pub allow_plaintext: bool,
}

impl From<authgate_htpasswd_policy> for Policy {
    fn from(p: authgate_htpasswd_policy) -> Self {
        Policy {
            max_bcrypt_cost: p.max_bcrypt_cost,
            max_sha_crypt_rounds: p.max_sha_crypt_rounds,
            allow_plaintext: p.allow_plaintext,
        }
    }
}

/// The default policy. Returns a value; nothing to free. Thread-safe.
#[no_mangle]
pub extern "C" fn authgate_htpasswd_policy_default() -> authgate_htpasswd_policy {
    let p = Policy::DEFAULT;
    authgate_htpasswd_policy {
        max_bcrypt_cost: p.max_bcrypt_cost,
        max_sha_crypt_rounds: p.max_sha_crypt_rounds,
        allow_plaintext: p.allow_plaintext,
    }
}

/// Which file an `authgate_htfile` holds.
pub(crate) enum HtFile {
    Htpasswd(HtpasswdFile),
    Htdigest(HtdigestFile),
}

impl HtFile {
    /// The file as it is now (read again if it changed), or why it cannot be used.
    fn check(&self) -> Result<(), FileError> {
        match self {
            HtFile::Htpasswd(f) => f.current().map(drop),
            HtFile::Htdigest(f) => f.current().map(drop),
        }
    }
}

impl CredentialStore for HtFile {
    fn lookup(&self, username: &str, realm: &str, purpose: Purpose) -> Option<StoredCredential> {
        match self {
            HtFile::Htpasswd(f) => f.lookup(username, realm, purpose),
            HtFile::Htdigest(f) => f.lookup(username, realm, purpose),
        }
    }
    fn decoy(&self, realm: &str) -> StoredCredential {
        match self {
            HtFile::Htpasswd(f) => f.decoy(realm),
            HtFile::Htdigest(f) => f.decoy(realm),
        }
    }
}

/// An htpasswd or htdigest file on disk. Opened with `authgate_htpasswd_open` or
/// `authgate_htdigest_open`, released with `authgate_htfile_free`. The file is read again
/// whenever it changed (length, time or inode), at each use, as Apache does; a file that
/// becomes unreadable or damaged fails closed (no user is found) until it is mended.
/// Thread-safe: every function taking a `const authgate_htfile *` may run on any thread.
pub struct authgate_htfile {
    pub(crate) file: Arc<HtFile>,
}

/// The result code of a refused line (or password field): the core's code (its error
/// table) is the ABI's value.
pub(crate) fn line_result(kind: ErrorKind) -> authgate_result {
    authgate_result::from_code(kind.code().into()).unwrap_or(authgate_result::FileOther)
}

/// The result code of a file error; its line number (0 when the file could not be read)
/// goes to `error_line_out` when that is not NULL.
fn file_result(e: &FileError, error_line_out: *mut usize) -> authgate_result {
    let (code, line) = match &e.kind {
        FileErrorKind::Io(..) => (authgate_result::FileUnreadable, 0),
        FileErrorKind::Line(l) => (line_result(l.kind), l.line),
    };
    if !error_line_out.is_null() {
        // SAFETY: non-NULL; the caller promises it is writable.
        unsafe { error_line_out.write(line) };
    }
    code
}

/// # Safety
/// `path` must point to `path_len` readable bytes.
unsafe fn path_of(path: *const c_char, path_len: usize) -> Result<PathBuf, authgate_result> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        // SAFETY: forwarded.
        let b = unsafe { bytes(path.cast(), path_len) }?;
        Ok(PathBuf::from(std::ffi::OsStr::from_bytes(b)))
    }
    #[cfg(not(unix))]
    {
        // SAFETY: forwarded.
        Ok(PathBuf::from(unsafe { text(path, path_len) }?))
    }
}

/// Opens an htpasswd file (`user:hash` lines in any format Apache's `htpasswd` writes:
/// bcrypt, MD5-crypt/apr1, SHA-256/512-crypt, SHA-1, DES crypt, and plaintext when
/// `policy` allows it). Every line is checked now; the first line named by a user wins.
///
/// - `path`: the file name (bytes, not necessarily NUL-terminated).
/// - `policy`: NULL for `authgate_htpasswd_policy_default()`.
/// - `error_line_out`: may be NULL; on a refused line receives its number (from 1), on an
///   unreadable file 0.
///
/// On success `*file_out` receives a new handle owned by the caller
/// (`authgate_htfile_free`). Results: OK, NULL_PARAMETER, FILE_UNREADABLE, one of the
/// FILE_* line codes, PANIC. Thread-safe.
///
/// # Safety
/// `path` must point to `path_len` readable bytes; `policy` NULL or readable;
/// `file_out` writable; `error_line_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn authgate_htpasswd_open(
    path: *const c_char,
    path_len: usize,
    policy: *const authgate_htpasswd_policy,
    file_out: *mut *mut authgate_htfile,
    error_line_out: *mut usize,
) -> authgate_result {
    run(|| {
        if file_out.is_null() {
            return Err(authgate_result::NullParameter);
        }
        // SAFETY: promised by the caller.
        let (path, policy) = unsafe { (path_of(path, path_len)?, policy.as_ref()) };
        let policy = policy.map_or(Policy::DEFAULT, |p| Policy::from(*p));
        let file = HtpasswdFile::open(path, policy).map_err(|e| file_result(&e, error_line_out))?;
        let handle = Box::new(authgate_htfile { file: Arc::new(HtFile::Htpasswd(file)) });
        // SAFETY: checked non-NULL above.
        unsafe { store(file_out, Box::into_raw(handle)) }
    })
}

/// Opens an htdigest file (`user:realm:HA1` lines, as Apache's `htdigest` writes them).
/// As an engine's user source it serves Digest MD5 and MD5-sess (and Basic) for users of
/// the engine's realm. Arguments and results as `authgate_htpasswd_open`.
///
/// # Safety
/// As `authgate_htpasswd_open`.
#[no_mangle]
pub unsafe extern "C" fn authgate_htdigest_open(
    path: *const c_char,
    path_len: usize,
    file_out: *mut *mut authgate_htfile,
    error_line_out: *mut usize,
) -> authgate_result {
    run(|| {
        if file_out.is_null() {
            return Err(authgate_result::NullParameter);
        }
        // SAFETY: promised by the caller.
        let path = unsafe { path_of(path, path_len)? };
        let file = HtdigestFile::open(path, ()).map_err(|e| file_result(&e, error_line_out))?;
        let handle = Box::new(authgate_htfile { file: Arc::new(HtFile::Htdigest(file)) });
        // SAFETY: checked non-NULL above.
        unsafe { store(file_out, Box::into_raw(handle)) }
    })
}

/// Releases the caller's handle. NULL is ignored. Engines configured with the file keep
/// using it (they hold their own reference).
///
/// # Safety
/// `file` must be NULL or a handle from `authgate_ht*_open` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn authgate_htfile_free(file: *mut authgate_htfile) {
    guard((), || {
        if !file.is_null() {
            // SAFETY: ownership handed back by the caller.
            drop(unsafe { Box::from_raw(file) });
        }
    })
}

/// Reads the file again if it changed and says whether it can be used: OK, or the
/// FILE_UNREADABLE / FILE_* code with the line in `*error_line_out` (may be NULL).
///
/// # Safety
/// `file` a live handle; `error_line_out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn authgate_htfile_check(
    file: *const authgate_htfile,
    error_line_out: *mut usize,
) -> authgate_result {
    run(|| {
        // SAFETY: promised by the caller.
        let f = unsafe { file.as_ref() }.ok_or(authgate_result::NullParameter)?;
        f.file.check().map_err(|e| file_result(&e, error_line_out))
    })
}

/// Checks a password (UTF-8 bytes) in constant time: `*ok_out` is true when `user` is in
/// the file and the password is right. An unknown user costs what the file's costliest
/// line costs. For an htdigest file, `realm` selects the lines (NULL for an htpasswd
/// file, where it is ignored).
///
/// Results: OK (see `*ok_out`), NULL_PARAMETER, INVALID_UTF8, FILE_UNREADABLE or a FILE_*
/// code when the file changed and can no longer be used (`*ok_out` false), PANIC.
///
/// # Safety
/// `file` a live handle; `user`, `password` (and `realm` unless NULL) readable for their
/// lengths; `ok_out` writable.
#[no_mangle]
pub unsafe extern "C" fn authgate_htfile_verify(
    file: *const authgate_htfile,
    user: *const c_char,
    user_len: usize,
    realm: *const c_char,
    realm_len: usize,
    password: *const u8,
    password_len: usize,
    ok_out: *mut bool,
) -> authgate_result {
    run(|| {
        // SAFETY: promised by the caller.
        let f = unsafe { file.as_ref() }.ok_or(authgate_result::NullParameter)?;
        // SAFETY: promised by the caller.
        let (user, password) = unsafe { (text(user, user_len)?, bytes(password, password_len)?) };
        let realm = if realm.is_null() {
            ""
        } else {
            // SAFETY: promised by the caller.
            unsafe { text(realm, realm_len)? }
        };
        // SAFETY: promised by the caller.
        unsafe { store(ok_out, false) }?;
        f.file.check().map_err(|e| file_result(&e, std::ptr::null_mut()))?;
        let ok = authgate_core::credential::check_basic(&*f.file, user, realm, password, authgate_core::Charset::Utf8)
            .is_ok();
        // SAFETY: as above.
        unsafe { store(ok_out, ok) }
    })
}

/// The HA1 (32 lower-case hex digits) of `user` in `realm` from an htdigest file, as
/// `HTTPDigestAuth`-style code wants it. snprintf-style buffer rules (see the header).
///
/// Results: OK, NOT_FOUND (no such user in that realm, or an htpasswd file),
/// BUFFER_TOO_SMALL, NULL_PARAMETER, INVALID_UTF8, FILE_UNREADABLE or a FILE_* code, PANIC.
///
/// # Safety
/// `file` a live handle; `user`, `realm` readable; `buf` writable for `buf_len`;
/// `out_len` writable.
#[no_mangle]
pub unsafe extern "C" fn authgate_htdigest_ha1(
    file: *const authgate_htfile,
    user: *const c_char,
    user_len: usize,
    realm: *const c_char,
    realm_len: usize,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> authgate_result {
    run(|| {
        // SAFETY: promised by the caller.
        let f = unsafe { file.as_ref() }.ok_or(authgate_result::NullParameter)?;
        // SAFETY: promised by the caller.
        let (user, realm, out) =
            unsafe { (text(user, user_len)?, text(realm, realm_len)?, OutBuf::new(buf, buf_len, out_len)?) };
        let HtFile::Htdigest(d) = &*f.file else { return Err(authgate_result::NotFound) };
        let current = d.current().map_err(|e| file_result(&e, std::ptr::null_mut()))?;
        let ha1 = current.ha1(user, realm).ok_or(authgate_result::NotFound)?;
        out.copy(ha1.to_hex().as_bytes())
    })
}

/// Makes engines built from `config` look users up in `file` instead of the credential
/// callback (a Bearer callback is still used for tokens). The engine keeps its own
/// reference: the caller may free its handle afterwards. NULL `file` goes back to the
/// callback. For an htdigest file, offer Digest MD5 / MD5-sess (`authgate_config_set_algorithms`):
/// its HA1s cannot serve SHA-256. Results: OK, NULL_PARAMETER, PANIC. Not synchronized.
///
/// # Safety
/// `config` a live config; `file` NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn authgate_config_set_htfile(
    config: *mut authgate_config,
    file: *const authgate_htfile,
) -> authgate_result {
    run(|| {
        // SAFETY: promised by the caller.
        let (c, f) = unsafe { (config.as_mut().ok_or(authgate_result::NullParameter)?, file.as_ref()) };
        c.htfile = f.map(|f| Arc::clone(&f.file));
        Ok(())
    })
}

/// Sets a credential from the password field of an htpasswd line (`$2y$…`, `$apr1$…`,
/// `$5$…`, `$6$…`, `{SHA}…`, a DES hash), checked under the default policy (copied).
/// Serves Basic only. For callbacks that keep htpasswd-style hashes in their own store.
///
/// Results: OK, NULL_PARAMETER, one of the FILE_HASH_* codes, PANIC.
///
/// Call it only from the callback that received `credential`, on that thread, before the
/// callback returns.
///
/// # Safety
/// `credential` must be the pointer passed to the running callback; `hash` must point to
/// `hash_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn authgate_credential_set_htpasswd(
    credential: *mut authgate_credential,
    hash: *const c_char,
    hash_len: usize,
) -> authgate_result {
    run(|| {
        // SAFETY: promised by the caller.
        let (out, hash) = unsafe { (credential.as_mut(), bytes(hash.cast(), hash_len)?) };
        let out = out.ok_or(authgate_result::NullParameter)?;
        let cred = StoredCredential::htpasswd(hash, &Policy::DEFAULT).map_err(|e| line_result(ErrorKind::Hash(e)))?;
        out.set(cred);
        Ok(())
    })
}
