//! Credential lookup through C callbacks.

use std::ffi::{c_char, c_void};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use authgate_core::hash::HashOutput;
use authgate_core::limits::{MAX_REALM_LEN, MAX_USERNAME_LEN};
use authgate_core::{CredentialStore, Purpose, StoredCredential, UserName};

use crate::{authgate_hash, authgate_result, bytes, run, text};

/// What a credential lookup is for.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum authgate_purpose {
    /// A Basic password check: any credential form will do.
    Basic = 1,
    /// Digest with MD5 (or MD5-sess): plaintext, or an HA1 of hash MD5.
    DigestMd5 = 2,
    /// Digest with SHA-256 (or -sess): plaintext, or an HA1 of hash SHA-256.
    DigestSha256 = 3,
    /// Digest with SHA-512-256 (or -sess): plaintext, or an HA1 of hash SHA-512/256.
    DigestSha512_256 = 4,
    /// NTLM: plaintext, or an NT hash (`authgate_credential_set_nt_hash`).
    Ntlm = 5,
}

impl authgate_purpose {
    fn from_core(p: Purpose) -> Self {
        match p {
            Purpose::Basic => authgate_purpose::Basic,
            Purpose::Digest(h) => match authgate_hash::from_core(h) {
                authgate_hash::Md5 => authgate_purpose::DigestMd5,
                authgate_hash::Sha256 => authgate_purpose::DigestSha256,
                authgate_hash::Sha512_256 => authgate_purpose::DigestSha512_256,
            },
            Purpose::Ntlm => authgate_purpose::Ntlm,
        }
    }
}

/// The out-parameter of an `authgate_credential_callback`: set it with exactly one of the
/// `authgate_credential_set_*` functions when the user exists; leave it alone for an
/// unknown user. It lives on the engine's stack and is valid only during the callback.
pub struct authgate_credential {
    cred: Option<StoredCredential>,
}

impl authgate_credential {
    pub(crate) fn set(&mut self, cred: StoredCredential) {
        self.cred = Some(cred);
    }
}

/// The out-parameter of an `authgate_bearer_callback`: set the owner's name with
/// `authgate_user_set_name` when the token is known. Valid only during the callback.
pub struct authgate_user {
    name: Option<UserName>,
}

/// Looks a user up. Called by `authgate_engine_check` (possibly from several threads at
/// once when the engine is shared: it must be thread-safe), synchronously, at most once
/// per check.
///
/// - `userdata`: as given to `authgate_config_set_credential_callback`.
/// - `username`, `realm`: UTF-8, NUL-terminated, at most 128 bytes (`*_len` excludes the
///   NUL); borrowed, valid only during the call.
/// - `purpose`: Basic, or Digest with a hash family.
/// - `credential_out`: for a known user, call one `authgate_credential_set_*` on it (a
///   later call replaces an earlier one). Not calling any means "unknown user". A
///   credential unfit for the purpose (PBKDF2 for Digest, an HA1 of another family) makes
///   the check fail with reason CREDENTIAL_UNUSABLE.
///
/// The callback must return normally (no longjmp, no C++ exception).
pub type authgate_credential_callback = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        username: *const c_char,
        username_len: usize,
        realm: *const c_char,
        realm_len: usize,
        purpose: authgate_purpose,
        credential_out: *mut authgate_credential,
    ),
>;

/// Looks a Bearer token up, by the SHA-256 of the token (32 bytes at `token_sha256`,
/// valid during the call): compare it with stored digests (see
/// `authgate_token_digest`) using a constant-time comparison, or use it as a map key.
/// For a known token, call `authgate_user_set_name(user_out, ...)`. Same threading rules
/// as `authgate_credential_callback`.
pub type authgate_bearer_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, token_sha256: *const u8, user_out: *mut authgate_user)>;

/// Fills `out` with `len` unpredictable bytes (e.g. `getrandom`) and returns 0, or returns
/// non-zero on failure. Called by `authgate_engine_check` when its `salt` is NULL, possibly
/// from several threads at once.
pub type authgate_entropy_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, out: *mut u8, len: usize) -> i32>;

/// Sets a plaintext password (UTF-8, at most 128 bytes; copied). Serves Basic and every
/// Digest algorithm.
///
/// Results: OK, NULL_PARAMETER, INVALID_CREDENTIAL (too long), PANIC.
///
/// Call it only from the callback that received `credential`, on that thread, before the
/// callback returns; nothing it takes is kept (values are copied).
///
/// # Safety
/// `credential` must be the pointer passed to the running callback; `password` must point
/// to `password_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn authgate_credential_set_plaintext(
    credential: *mut authgate_credential,
    password: *const u8,
    password_len: usize,
) -> authgate_result {
    run(|| {
        // SAFETY: promised by the caller.
        let (out, pw) = unsafe { (credential.as_mut(), bytes(password, password_len)?) };
        let out = out.ok_or(authgate_result::NullParameter)?;
        out.cred = Some(StoredCredential::plaintext(pw).ok_or(authgate_result::InvalidCredential)?);
        Ok(())
    })
}

/// Sets a raw HA1, `H(username ":" realm ":" password)`, of hash family `hash` (an
/// `authgate_hash`: 16 bytes for MD5, 32 otherwise; copied). Serves Digest with that
/// family and Basic.
///
/// Results: OK, NULL_PARAMETER, INVALID_ARGUMENT (unknown hash), INVALID_CREDENTIAL (wrong
/// length), PANIC.
///
/// Call it only from the callback that received `credential`, on that thread, before the
/// callback returns; nothing it takes is kept (values are copied).
///
/// # Safety
/// As `authgate_credential_set_plaintext`.
#[no_mangle]
pub unsafe extern "C" fn authgate_credential_set_ha1(
    credential: *mut authgate_credential,
    hash: u32,
    digest: *const u8,
    digest_len: usize,
) -> authgate_result {
    run(|| {
        // SAFETY: promised by the caller.
        let (out, d) = unsafe { (credential.as_mut(), bytes(digest, digest_len)?) };
        let out = out.ok_or(authgate_result::NullParameter)?;
        let algorithm = authgate_hash::to_core(hash).ok_or(authgate_result::InvalidArgument)?;
        if d.len() != algorithm.output_len() {
            return Err(authgate_result::InvalidCredential);
        }
        let digest = HashOutput::from_slice(d).ok_or(authgate_result::InvalidCredential)?;
        out.cred = Some(StoredCredential::Ha1 { algorithm, digest });
        Ok(())
    })
}

/// Sets an HA1 from its hex form, as an htdigest file stores it (see
/// `authgate_credential_set_ha1`).
///
/// Results: OK, NULL_PARAMETER, INVALID_ARGUMENT (unknown hash), INVALID_CREDENTIAL (bad
/// hex or wrong length), PANIC.
///
/// Call it only from the callback that received `credential`, on that thread, before the
/// callback returns; nothing it takes is kept (values are copied).
///
/// # Safety
/// As `authgate_credential_set_plaintext`.
#[no_mangle]
pub unsafe extern "C" fn authgate_credential_set_ha1_hex(
    credential: *mut authgate_credential,
    hash: u32,
    hex: *const c_char,
    hex_len: usize,
) -> authgate_result {
    run(|| {
        // SAFETY: promised by the caller.
        let (out, hex) = unsafe { (credential.as_mut(), bytes(hex.cast(), hex_len)?) };
        let out = out.ok_or(authgate_result::NullParameter)?;
        let algorithm = authgate_hash::to_core(hash).ok_or(authgate_result::InvalidArgument)?;
        out.cred = Some(StoredCredential::ha1_hex(algorithm, hex).ok_or(authgate_result::InvalidCredential)?);
        Ok(())
    })
}

/// Sets a PBKDF2-HMAC-SHA256 password hash (`iterations` > 0, salt at most 64 bytes, a
/// 32-byte derived key; copied). Serves Basic only. See `authgate_pbkdf2_sha256`.
///
/// Results: OK, NULL_PARAMETER, INVALID_CREDENTIAL, PANIC.
///
/// Call it only from the callback that received `credential`, on that thread, before the
/// callback returns; nothing it takes is kept (values are copied).
///
/// # Safety
/// As `authgate_credential_set_plaintext`; `salt` and `hash` readable for their lengths.
#[no_mangle]
pub unsafe extern "C" fn authgate_credential_set_pbkdf2_sha256(
    credential: *mut authgate_credential,
    iterations: u32,
    salt: *const u8,
    salt_len: usize,
    hash: *const u8,
    hash_len: usize,
) -> authgate_result {
    run(|| {
        // SAFETY: promised by the caller.
        let (out, salt, hash) = unsafe { (credential.as_mut(), bytes(salt, salt_len)?, bytes(hash, hash_len)?) };
        let out = out.ok_or(authgate_result::NullParameter)?;
        let hash: [u8; 32] = hash.try_into().map_err(|_| authgate_result::InvalidCredential)?;
        out.cred =
            Some(StoredCredential::pbkdf2_sha256(iterations, salt, hash).ok_or(authgate_result::InvalidCredential)?);
        Ok(())
    })
}

/// Sets the name of a Bearer token's owner (UTF-8, at most 128 bytes; copied).
///
/// Results: OK, NULL_PARAMETER, INVALID_UTF8, INVALID_CREDENTIAL (too long), PANIC.
///
/// Call it only from the callback that received `user`, on that thread, before the
/// callback returns; the name is copied.
///
/// # Safety
/// `user` must be the pointer passed to the running callback; `name` must point to
/// `name_len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn authgate_user_set_name(
    user: *mut authgate_user,
    name: *const c_char,
    name_len: usize,
) -> authgate_result {
    run(|| {
        // SAFETY: promised by the caller.
        let (out, name) = unsafe { (user.as_mut(), text(name, name_len)?) };
        let out = out.ok_or(authgate_result::NullParameter)?;
        out.name = Some(UserName::try_from(name).map_err(|_| authgate_result::InvalidCredential)?);
        Ok(())
    })
}

/// The engine's view of the C callbacks.
pub(crate) struct CallbackStore {
    pub(crate) lookup: authgate_credential_callback,
    pub(crate) lookup_userdata: *mut c_void,
    pub(crate) bearer: authgate_bearer_callback,
    pub(crate) bearer_userdata: *mut c_void,
    /// The decoy for unknown users, modelled on the costliest credential the callback has
    /// returned, so a miss costs what a hit costs once the store's form has been seen.
    pub(crate) decoy: Mutex<Option<StoredCredential>>,
    /// `StoredCredential::cost() + 1` of `decoy` (0: none yet), read without the lock on every lookup.
    pub(crate) decoy_rank: AtomicU64,
    /// An htpasswd or htdigest file that replaces the credential callback.
    pub(crate) file: Option<std::sync::Arc<crate::htfile::HtFile>>,
}

// SAFETY: the store only holds function pointers and opaque userdata that it passes back
// to them; the header makes thread-safety of the callbacks the caller's contract.
unsafe impl Send for CallbackStore {}
// SAFETY: as above.
unsafe impl Sync for CallbackStore {}

/// `s` followed by a NUL in `buf`, or `None` if it does not fit.
fn nul_terminated<'b>(s: &str, buf: &'b mut [u8]) -> Option<&'b [u8]> {
    let dst = buf.get_mut(..s.len() + 1)?;
    dst[..s.len()].copy_from_slice(s.as_bytes());
    dst[s.len()] = 0;
    Some(dst)
}

impl CredentialStore for CallbackStore {
    fn lookup(&self, username: &str, realm: &str, purpose: Purpose) -> Option<StoredCredential> {
        if let Some(file) = &self.file {
            return file.lookup(username, realm, purpose);
        }
        let callback = self.lookup?;
        let mut name_buf = [0u8; MAX_USERNAME_LEN + 1];
        let mut realm_buf = [0u8; MAX_REALM_LEN + 1];
        // The core never passes longer names or realms (its own limits).
        let name = nul_terminated(username, &mut name_buf)?;
        let realm_c = nul_terminated(realm, &mut realm_buf)?;
        let mut out = authgate_credential { cred: None };
        // SAFETY: the pointers are valid, NUL-terminated and outlive the call; `out` is a
        // live local. The callback's own safety is the caller's contract.
        unsafe {
            callback(
                self.lookup_userdata,
                name.as_ptr().cast(),
                username.len(),
                realm_c.as_ptr().cast(),
                realm.len(),
                authgate_purpose::from_core(purpose),
                &mut out,
            )
        };
        if let Some(cred) = &out.cred {
            // The lock is taken only when a costlier form shows up: once or twice per engine.
            let rank = cred.cost() + 1;
            if rank > self.decoy_rank.load(Ordering::Relaxed) {
                let mut decoy = self.decoy.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if rank > self.decoy_rank.load(Ordering::Relaxed) {
                    *decoy = Some(cred.decoy_for());
                    self.decoy_rank.store(rank, Ordering::Relaxed);
                }
            }
        }
        out.cred
    }

    fn decoy(&self, realm: &str) -> StoredCredential {
        if let Some(file) = &self.file {
            return file.decoy(realm);
        }
        let decoy = self.decoy.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match &*decoy {
            Some(d) => d.clone(),
            None => StoredCredential::plaintext_decoy(),
        }
    }

    fn lookup_bearer(&self, token_sha256: &[u8; 32]) -> Option<UserName> {
        let callback = self.bearer?;
        let mut out = authgate_user { name: None };
        // SAFETY: as in `lookup`.
        unsafe { callback(self.bearer_userdata, token_sha256.as_ptr(), &mut out) };
        out.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store whose only user has a PBKDF2 hash of `iterations` (in the userdata).
    unsafe extern "C" fn pbkdf2_user(
        userdata: *mut c_void,
        username: *const c_char,
        username_len: usize,
        _realm: *const c_char,
        _realm_len: usize,
        _purpose: authgate_purpose,
        out: *mut authgate_credential,
    ) {
        // SAFETY: the store passes a valid name of this length and a live `out`.
        let name = unsafe { core::slice::from_raw_parts(username.cast::<u8>(), username_len) };
        if name == b"known" {
            let iterations = userdata as usize as u32;
            // SAFETY: salt and hash are live arrays of the given lengths.
            unsafe {
                authgate_credential_set_pbkdf2_sha256(out, iterations, b"salt".as_ptr(), 4, [7u8; 32].as_ptr(), 32)
            };
        }
    }

    fn store(iterations: usize) -> CallbackStore {
        CallbackStore {
            lookup: Some(pbkdf2_user),
            lookup_userdata: iterations as *mut c_void,
            bearer: None,
            bearer_userdata: core::ptr::null_mut(),
            decoy: Mutex::new(None),
            decoy_rank: AtomicU64::new(0),
            file: None,
        }
    }

    fn iterations(c: &StoredCredential) -> Option<u32> {
        match c {
            StoredCredential::Pbkdf2Sha256 { iterations, .. } => Some(*iterations),
            _ => None,
        }
    }

    #[test]
    fn decoy_follows_the_costliest_pbkdf2_credential_returned() {
        let s = store(5000);
        assert_eq!(iterations(&s.decoy("r")), None, "before any lookup: the plaintext decoy");
        assert!(s.lookup("unknown", "r", Purpose::Basic).is_none());
        assert_eq!(iterations(&s.decoy("r")), None);
        assert_eq!(iterations(&s.lookup("known", "r", Purpose::Basic).unwrap()), Some(5000));
        assert_eq!(iterations(&s.decoy("r")), Some(5000));
        assert!(!s.decoy("r").check_password(b"known", b"r", b"anything", authgate_core::Charset::Utf8));
    }
}
