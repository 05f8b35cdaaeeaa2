//! The C ABI, called through its `extern "C"` Rust functions: config new / set_* with fuzz
//! values, engine new, checks with fuzz methods, targets, headers, bodies and salts,
//! every verdict accessor, the writers with small buffers, the helpers, and every free.
//!
//! A core engine with the same configuration and the same store is run beside it: every
//! verdict the ABI reports must be the core's (status, reason, stale, error, scheme, user,
//! rendered text byte for byte). Result codes must be the documented ones, never PANIC;
//! writers follow the snprintf contract and never write past `buf_len` (canary bytes).
#![no_main]

use std::ffi::{c_char, c_void, CStr};
use std::ptr::{null, null_mut};
use std::sync::Mutex;

use authgate::{
    Algorithm, Config, Context, CredentialStore, Engine, HashAlgorithm, Purpose, QopSet, Reason, ReplayTable, Request,
    Scheme, StoredCredential, UserName, Verdict,
};
use authgate_ffi::*;
use authgate_fuzz::*;
use libfuzzer_sys::fuzz_target;

type R = authgate_result;

/// The store the ABI's callbacks serve, for the core twin: the same users when the
/// credential callback is set, the token when the Bearer callback is, no userhash lookup
/// (the C callbacks have none).
struct TwinStore {
    store: FuzzStore,
    users: bool,
    bearer: bool,
}

impl CredentialStore for TwinStore {
    fn lookup(&self, username: &str, realm: &str, purpose: Purpose) -> Option<StoredCredential> {
        self.store.lookup(username, realm, purpose).filter(|_| self.users)
    }
    fn lookup_bearer(&self, token_sha256: &[u8; 32]) -> Option<UserName> {
        self.store.lookup_bearer(token_sha256).filter(|_| self.bearer)
    }
}

type Twin = Engine<TwinStore, Mutex<ReplayTable<AUTHGATE_REPLAY_CAPACITY>>>;

struct Callbacks {
    store: FuzzStore,
    style: u8,
    entropy_fails: bool,
}

const ENTROPY: [u8; 8] = [0x5a; 8];

unsafe extern "C" fn lookup(
    userdata: *mut c_void,
    username: *const c_char,
    username_len: usize,
    realm: *const c_char,
    realm_len: usize,
    purpose: authgate_purpose,
    out: *mut authgate_credential,
) {
    let cb = unsafe { &*(userdata as *const Callbacks) };
    // Names and realms arrive NUL-terminated and UTF-8.
    let name = unsafe { std::slice::from_raw_parts(username as *const u8, username_len + 1) };
    let realm = unsafe { std::slice::from_raw_parts(realm as *const u8, realm_len + 1) };
    assert_eq!((name[username_len], realm[realm_len]), (0, 0), "callback strings not NUL-terminated");
    let name = std::str::from_utf8(&name[..username_len]).expect("UTF-8 name");
    let realm = std::str::from_utf8(&realm[..realm_len]).expect("UTF-8 realm");
    let purpose = match purpose {
        authgate_purpose::Basic => Purpose::Basic,
        authgate_purpose::DigestMd5 => Purpose::Digest(HashAlgorithm::Md5),
        authgate_purpose::DigestSha256 => Purpose::Digest(HashAlgorithm::Sha256),
        authgate_purpose::DigestSha512_256 => Purpose::Digest(HashAlgorithm::Sha512_256),
        authgate_purpose::Ntlm => Purpose::Ntlm,
    };
    // Refused values leave the credential unset.
    unsafe {
        assert_eq!(authgate_credential_set_plaintext(out, null(), 0), R::NullParameter);
        assert_eq!(authgate_credential_set_plaintext(out, [b'x'; 129].as_ptr(), 129), R::InvalidCredential);
        assert_eq!(authgate_credential_set_ha1(out, 2, [0u8; 16].as_ptr(), 16), R::InvalidCredential);
        assert_eq!(authgate_credential_set_ha1(out, 9, [0u8; 16].as_ptr(), 16), R::InvalidArgument);
        assert_eq!(authgate_credential_set_ha1_hex(out, 1, c"abc".as_ptr(), 3), R::InvalidCredential);
        assert_eq!(
            authgate_credential_set_pbkdf2_sha256(out, 0, [1u8].as_ptr(), 1, [0u8; 32].as_ptr(), 32),
            R::InvalidCredential
        );
        assert_eq!(
            authgate_credential_set_pbkdf2_sha256(out, 1, [1u8].as_ptr(), 1, [0u8; 31].as_ptr(), 31),
            R::InvalidCredential
        );
    }
    let r = match cb.store.lookup(name, realm, purpose) {
        None => return,
        Some(StoredCredential::Plaintext(p)) => unsafe { authgate_credential_set_plaintext(out, p.as_ptr(), p.len()) },
        Some(StoredCredential::Ha1 { algorithm, digest }) => {
            let code = match algorithm {
                HashAlgorithm::Md5 => 1,
                HashAlgorithm::Sha256 => 2,
                HashAlgorithm::Sha512_256 => 3,
            };
            if cb.style & 1 == 0 {
                unsafe { authgate_credential_set_ha1(out, code, digest.as_bytes().as_ptr(), digest.as_bytes().len()) }
            } else {
                let hex = digest.to_hex().as_str().to_ascii_uppercase();
                unsafe { authgate_credential_set_ha1_hex(out, code, hex.as_ptr().cast(), hex.len()) }
            }
        }
        Some(StoredCredential::Pbkdf2Sha256 { iterations, salt, hash }) => unsafe {
            authgate_credential_set_pbkdf2_sha256(out, iterations, salt.as_ptr(), salt.len(), hash.as_ptr(), 32)
        },
        // The fixed store (fuzz/src/lib.rs) holds no htpasswd hashes and no NT hashes.
        Some(StoredCredential::Htpasswd(_) | StoredCredential::NtHash(_)) => return,
    };
    assert_eq!(r, R::Ok);
}

unsafe extern "C" fn bearer(userdata: *mut c_void, token_sha256: *const u8, out: *mut authgate_user) {
    let cb = unsafe { &*(userdata as *const Callbacks) };
    let digest: &[u8; 32] = unsafe { &*(token_sha256 as *const [u8; 32]) };
    unsafe {
        assert_eq!(authgate_user_set_name(out, [b'u'; 129].as_ptr().cast(), 129), R::InvalidCredential);
        assert_eq!(authgate_user_set_name(out, [0xffu8].as_ptr().cast(), 1), R::InvalidUtf8);
    }
    if let Some(name) = cb.store.lookup_bearer(digest) {
        assert_eq!(unsafe { authgate_user_set_name(out, name.as_ptr().cast(), name.len()) }, R::Ok);
    }
}

unsafe extern "C" fn entropy(userdata: *mut c_void, out: *mut u8, len: usize) -> i32 {
    let cb = unsafe { &*(userdata as *const Callbacks) };
    assert_eq!(len, 8);
    if cb.entropy_fails {
        return -1;
    }
    unsafe { std::ptr::copy_nonoverlapping(ENTROPY.as_ptr(), out, 8) };
    0
}

/// Calls a writer with a `buf_len` buffer followed by canary bytes; checks the snprintf
/// contract and returns (result, full text when it fitted or when `expected` is given).
fn write_checked(
    buf_len: usize,
    null_buf: bool,
    f: impl Fn(*mut c_char, usize, *mut usize) -> R,
) -> (R, usize, Vec<u8>) {
    let mut mem = vec![0xa5u8; buf_len + 16];
    let mut out_len = usize::MAX;
    let ptr = if null_buf && buf_len == 0 { null_mut() } else { mem.as_mut_ptr().cast() };
    let r = f(ptr, buf_len, &mut out_len);
    assert!(mem[buf_len..].iter().all(|&b| b == 0xa5), "writer wrote past buf_len {buf_len}");
    match r {
        R::Ok => {
            assert!(out_len < buf_len && mem[out_len] == 0, "OK without room or NUL");
            (r, out_len, mem[..out_len].to_vec())
        }
        R::BufferTooSmall => {
            assert!(
                out_len != usize::MAX && out_len + 1 > buf_len,
                "BUFFER_TOO_SMALL with len {out_len} into {buf_len}"
            );
            if buf_len > 0 {
                assert_eq!(mem[0], 0, "a too-small buffer must hold \"\"");
            }
            (r, out_len, Vec::new())
        }
        other => (other, 0, Vec::new()),
    }
}

fn reason_code(r: Reason) -> authgate_reason {
    use authgate_reason as A;
    match r {
        Reason::NoCredentials => A::NoCredentials,
        Reason::UnsupportedScheme => A::UnsupportedScheme,
        Reason::UnsupportedAlgorithm => A::UnsupportedAlgorithm,
        Reason::UnsupportedQop => A::UnsupportedQop,
        Reason::RealmMismatch => A::RealmMismatch,
        Reason::OpaqueMismatch => A::OpaqueMismatch,
        Reason::InvalidNonce => A::InvalidNonce,
        Reason::StaleNonce => A::StaleNonce,
        Reason::Replayed => A::Replayed,
        Reason::UnknownUser => A::UnknownUser,
        Reason::BadCredentials => A::BadCredentials,
        Reason::CredentialUnusable => A::CredentialUnusable,
        Reason::BodyUnavailable => A::BodyUnavailable,
        Reason::InvalidToken => A::InvalidToken,
        _ => A::Other,
    }
}

/// Compares everything the ABI reports about `v` with the core twin's verdict.
unsafe fn compare(
    engine: *const authgate_engine,
    v: *const authgate_verdict,
    twin: &Twin,
    expected: &Verdict,
    r: &mut Reader<'_>,
) {
    let (kind, status) = unsafe { (authgate_verdict_get_kind(v), authgate_verdict_status(v)) };
    assert_eq!(status, expected.status());
    let (reason, stale, error, scheme) = unsafe {
        (authgate_verdict_reason(v), authgate_verdict_stale(v), authgate_verdict_error(v), authgate_verdict_scheme(v))
    };
    let mut name: *const c_char = null();
    let mut name_len = usize::MAX;
    let user_r = unsafe { authgate_verdict_user(v, &mut name, &mut name_len) };
    let size = r.u16() as usize % 700;
    let null_buf = r.u8() & 1 != 0;
    match expected {
        Verdict::Authenticated(a) => {
            assert_eq!(kind, authgate_verdict_kind::Authenticated);
            assert_eq!((reason, stale, error), (authgate_reason::None, false, R::Ok));
            let s = match a.scheme {
                Scheme::Basic => authgate_scheme::Basic,
                Scheme::Digest => authgate_scheme::Digest,
                Scheme::Bearer => authgate_scheme::Bearer,
                // Not offered by this target's configs (check, not check_connection).
                Scheme::Ntlm | Scheme::Negotiate => unreachable!("{:?} authenticated through check", a.scheme),
            };
            assert_eq!(scheme, s);
            assert_eq!(user_r, R::Ok);
            let got = unsafe { CStr::from_ptr(name) };
            assert_eq!((got.to_bytes(), name_len), (a.user.as_bytes(), a.user.len()));
            let mut full = [0u8; 1024];
            let want = match &a.auth_info {
                Some(i) => {
                    let n = twin.write_authentication_info(i, &mut full).unwrap();
                    full[..n].to_vec()
                }
                None => Vec::new(),
            };
            let (res, len, text) = write_checked(size, null_buf, |b, n, o| unsafe {
                authgate_engine_write_authentication_info(engine, v, b, n, o)
            });
            assert_eq!(len, want.len());
            if res == R::Ok {
                assert_eq!(text, want);
            }
            let (res, _, _) =
                write_checked(64, false, |b, n, o| unsafe { authgate_engine_write_challenge(engine, v, 0, b, n, o) });
            assert_eq!(res, R::WrongVerdict);
        }
        Verdict::Challenge(c) => {
            assert_eq!(kind, authgate_verdict_kind::Challenge);
            assert_eq!((reason, stale, error, scheme), (reason_code(c.reason), c.stale, R::Ok, authgate_scheme::None));
            assert_eq!(user_r, R::WrongVerdict);
            assert!(name.is_null() && name_len == usize::MAX, "outputs touched on WRONG_VERDICT");
            let count = unsafe { authgate_engine_challenge_count(engine) };
            assert_eq!(count, twin.challenge_count());
            let index = r.u8() as usize % (count + 2);
            let (res, len, text) = write_checked(size, null_buf, |b, n, o| unsafe {
                authgate_engine_write_challenge(engine, v, index, b, n, o)
            });
            if index >= count {
                assert_eq!(res, R::InvalidArgument);
            } else {
                let mut full = [0u8; 1024];
                let n = twin.write_challenge(c, index, &mut full).unwrap();
                assert_eq!(len, n);
                assert!(matches!(res, R::Ok | R::BufferTooSmall));
                if res == R::Ok {
                    assert_eq!(text, &full[..n]);
                }
            }
            let mut all = [0u8; 4096];
            let n = twin.write_challenges(c, &mut all).unwrap();
            let (res, len, text) = write_checked(size * 2, null_buf, |b, n, o| unsafe {
                authgate_engine_write_challenges(engine, v, b, n, o)
            });
            assert_eq!(len, n);
            if res == R::Ok {
                assert_eq!(text, &all[..n]);
            }
            let (res, _, _) = write_checked(64, false, |b, n, o| unsafe {
                authgate_engine_write_authentication_info(engine, v, b, n, o)
            });
            assert_eq!(res, R::WrongVerdict);
        }
        Verdict::Malformed(e) => {
            assert_eq!(kind, authgate_verdict_kind::Malformed);
            assert_eq!((reason, stale, scheme), (authgate_reason::None, false, authgate_scheme::None));
            assert_eq!(error, R::from(*e));
            assert!(authgate_result_is_malformed(error as u32));
            assert_eq!(user_r, R::WrongVerdict);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    unsafe { run(&mut r) }
});

unsafe fn run(r: &mut Reader<'_>) {
    // Helpers that need no engine.
    let code = r.u32();
    let msg = unsafe { CStr::from_ptr(authgate_result_message(code)) };
    assert!(!msg.to_bytes().is_empty());
    assert_eq!(
        authgate_result_is_malformed(code),
        (200..300).contains(&code) && msg.to_bytes() != b"unknown result code"
    );
    assert!(!unsafe { CStr::from_ptr(authgate_version()) }.to_bytes().is_empty());

    let realm = r.bytes();
    let mut config: *mut authgate_config = null_mut();
    let res = unsafe { authgate_config_new(realm.as_ptr().cast(), realm.len(), &mut config) };
    let twin_config = match std::str::from_utf8(realm) {
        Err(_) => {
            assert_eq!(res, R::InvalidUtf8);
            return;
        }
        Ok(s) => match Config::new(s) {
            Ok(c) => {
                assert_eq!(res, R::Ok);
                c
            }
            Err(e) => {
                assert_eq!(res, R::from(e));
                assert!(config.is_null());
                assert_eq!(unsafe { authgate_config_new(null(), 0, &mut config) }, R::NullParameter);
                assert_eq!(unsafe { authgate_config_new(c"x".as_ptr(), 1, null_mut()) }, R::NullParameter);
                return;
            }
        },
    };
    let mut twin_config = twin_config;
    let set = r.u8();
    if set & 1 != 0 {
        let n = r.u8() as usize % 5;
        let codes: Vec<u32> = (0..n).map(|_| r.u8() as u32 % 5).collect();
        let res = unsafe { authgate_config_set_schemes(config, codes.as_ptr().cast(), n) };
        let schemes: Option<Vec<Scheme>> = codes
            .iter()
            .map(|c| match c {
                1 => Some(Scheme::Basic),
                2 => Some(Scheme::Digest),
                3 => Some(Scheme::Bearer),
                _ => None,
            })
            .collect();
        match schemes {
            None => assert_eq!(res, R::InvalidArgument),
            Some(s) => match twin_config.clone().schemes(&s) {
                Ok(c) => {
                    assert_eq!(res, R::Ok);
                    twin_config = c;
                }
                Err(e) => assert_eq!(res, R::from(e)),
            },
        }
    }
    if set & 2 != 0 {
        let n = r.u8() as usize % 8;
        let codes: Vec<u32> = (0..n).map(|_| r.u8() as u32 % 8).collect();
        let res = unsafe { authgate_config_set_algorithms(config, codes.as_ptr().cast(), n) };
        let algs: Option<Vec<Algorithm>> = codes
            .iter()
            .map(|c| {
                [
                    Algorithm::Md5,
                    Algorithm::Md5Sess,
                    Algorithm::Sha256,
                    Algorithm::Sha256Sess,
                    Algorithm::Sha512_256,
                    Algorithm::Sha512_256Sess,
                ]
                .get((*c as usize).wrapping_sub(1))
                .copied()
            })
            .collect();
        match algs {
            None => assert_eq!(res, R::InvalidArgument),
            Some(a) => match twin_config.clone().algorithms(&a) {
                Ok(c) => {
                    assert_eq!(res, R::Ok);
                    twin_config = c;
                }
                Err(e) => assert_eq!(res, R::from(e)),
            },
        }
    }
    if set & 4 != 0 {
        let q = r.u8();
        let qop = QopSet { auth: q & 1 != 0, auth_int: q & 2 != 0 };
        assert_eq!(unsafe { authgate_config_set_qop(config, qop.auth, qop.auth_int) }, R::Ok);
        twin_config = twin_config.qop(qop);
        let rfc2069 = q & 4 != 0;
        assert_eq!(unsafe { authgate_config_allow_rfc2069(config, rfc2069) }, R::Ok);
        twin_config = twin_config.allow_rfc2069(rfc2069);
    }
    if set & 8 != 0 {
        let life = r.u8() as u64;
        let res = unsafe { authgate_config_set_nonce_lifetime(config, life) };
        match twin_config.clone().nonce_lifetime(life) {
            Ok(c) => {
                assert_eq!(res, R::Ok);
                twin_config = c;
            }
            Err(e) => assert_eq!(res, R::from(e)),
        }
        let skew = r.u8() as u64;
        assert_eq!(unsafe { authgate_config_set_max_clock_skew(config, skew) }, R::Ok);
        twin_config = twin_config.max_clock_skew(skew);
    }
    if set & 16 != 0 {
        let opaque = r.bytes();
        let res = unsafe { authgate_config_set_opaque(config, opaque.as_ptr().cast(), opaque.len()) };
        match std::str::from_utf8(opaque) {
            Err(_) => assert_eq!(res, R::InvalidUtf8),
            Ok(o) => match twin_config.clone().opaque(o) {
                Ok(c) => {
                    assert_eq!(res, R::Ok);
                    twin_config = c;
                }
                Err(e) => assert_eq!(res, R::from(e)),
            },
        }
    }
    let prev_key_len = if set & 32 != 0 { r.u8() as usize % 40 } else { 0 };
    if set & 32 != 0 {
        let key = vec![0x33u8; prev_key_len];
        let res = unsafe { authgate_config_set_previous_key(config, key.as_ptr(), key.len()) };
        assert_eq!(res, if prev_key_len == 32 { R::Ok } else { R::InvalidArgument });
    }
    let cb_flags = r.u8();
    let callbacks =
        Box::new(Callbacks { store: FuzzStore::default(), style: cb_flags >> 4, entropy_fails: cb_flags & 8 != 0 });
    let userdata = &*callbacks as *const Callbacks as *mut c_void;
    if cb_flags & 1 != 0 {
        assert_eq!(unsafe { authgate_config_set_credential_callback(config, Some(lookup), userdata) }, R::Ok);
    }
    if cb_flags & 2 != 0 {
        assert_eq!(unsafe { authgate_config_set_bearer_callback(config, Some(bearer), userdata) }, R::Ok);
    }
    if cb_flags & 4 != 0 {
        assert_eq!(unsafe { authgate_config_set_entropy_callback(config, Some(entropy), userdata) }, R::Ok);
    }
    let twin_store = TwinStore { store: FuzzStore::default(), users: cb_flags & 1 != 0, bearer: cb_flags & 2 != 0 };

    // The engine copies the config: free the config right after.
    let key_len = if r.u8() & 7 == 0 { r.u8() as usize % 40 } else { 32 };
    let key = vec![0x42u8; key_len];
    let mut engine: *mut authgate_engine = null_mut();
    let res = unsafe { authgate_engine_new(config, key.as_ptr(), key.len(), &mut engine) };
    unsafe { authgate_config_free(config) };
    let twin = Engine::new(twin_config, &KEY, twin_store, Mutex::new(ReplayTable::new()));
    let twin = match twin {
        _ if key_len != 32 => {
            assert_eq!(res, R::InvalidArgument);
            assert!(engine.is_null());
            return;
        }
        Err(e) => {
            assert_eq!(res, R::from(e));
            assert!(engine.is_null());
            return;
        }
        Ok(t) if prev_key_len == 32 => t.with_previous_key(&[0x33; 32]),
        Ok(t) => t,
    };
    assert_eq!(res, R::Ok);
    let verdict = authgate_verdict_new();
    assert!(!verdict.is_null());
    assert_eq!(unsafe { authgate_verdict_get_kind(verdict) }, authgate_verdict_kind::None);
    assert_eq!(unsafe { authgate_verdict_status(null()) }, 0);

    let mut last_nonce: Option<String> = None;
    let checks = 1 + r.u8() % 4;
    for _ in 0..checks {
        let sel = r.u8();
        let now = NOW + (r.u8() as u64) * 3;
        let method: &[u8] = match sel & 3 {
            0 => b"GET",
            1 => b"POST",
            2 => b"G\xffT",
            _ => r.bytes(),
        };
        let target: &[u8] = if sel & 4 != 0 { b"/dir/index.html?q=1" } else { URI.as_bytes() };
        let fuzz_header = r.bytes16();
        let body = r.bytes();
        let header: Option<Vec<u8>> = match (sel >> 3) & 7 {
            0 => None,
            1 => Some(Vec::new()),
            2 => {
                let u = &USERS[r.u8() as usize % USERS.len()];
                Some(format!("Basic {}", b64_encode(format!("{}:{}", u.name, u.password).as_bytes())).into_bytes())
            }
            3 => Some(format!("Bearer {BEARER_TOKEN}").into_bytes()),
            4 | 5 if last_nonce.is_some() => {
                // An honest Digest header for the last nonce, its response computed by
                // authgate_digest_response and checked against the independent client.
                let u = &USERS[r.u8() as usize % USERS.len()];
                let alg = ALL_ALGORITHMS[r.u8() as usize % 6];
                let qop = if sel & 0x40 != 0 { "auth-int" } else { "auth" };
                let nc = format!("{:08x}", 1 + r.u8() as u32 % 4);
                let nonce = last_nonce.clone().unwrap();
                let target_s = std::str::from_utf8(target).unwrap();
                let base = format!(
                    "Digest username=\"{}\", realm=\"{REALM}\", nonce=\"{nonce}\", uri=\"{target_s}\", algorithm={}, qop={qop}, nc={nc}, cnonce=\"c0ffee\", response=\"\"",
                    u.name.replace('\\', "\\\\").replace('"', "\\\""),
                    alg.name()
                );
                let client = Client {
                    alg,
                    user: u.name.as_bytes(),
                    realm: REALM.as_bytes(),
                    password: u.password.as_bytes(),
                    method,
                    uri: target,
                    nonce: nonce.as_bytes(),
                    nc: nc.as_bytes(),
                    cnonce: b"c0ffee",
                    qop: Some(if qop == "auth" { authgate::Qop::Auth } else { authgate::Qop::AuthInt }),
                    body,
                };
                let (res, _, hex) = write_checked(129, false, |b, n, o| unsafe {
                    authgate_digest_response(
                        base.as_ptr(),
                        base.len(),
                        method.as_ptr().cast(),
                        method.len(),
                        null(),
                        0,
                        u.password.as_ptr(),
                        u.password.len(),
                        body.as_ptr(),
                        body.len(),
                        b,
                        n,
                        o,
                    )
                });
                match std::str::from_utf8(method) {
                    Ok(_) => {
                        assert_eq!(res, R::Ok);
                        assert_eq!(hex, client.response().as_bytes());
                    }
                    Err(_) => assert_eq!(res, R::InvalidUtf8),
                }
                Some(base.replace("response=\"\"", &format!("response=\"{}\"", client.response())).into_bytes())
            }
            _ => Some(fuzz_header.to_vec()),
        };
        // authgate_digest_response on the raw fuzz header: a documented code, and when OK the
        // independent client's answer.
        let pw = r.bytes();
        let (res, _, hex) = write_checked(129, false, |b, n, o| unsafe {
            authgate_digest_response(
                fuzz_header.as_ptr(),
                fuzz_header.len(),
                c"GET".as_ptr(),
                3,
                null(),
                0,
                pw.as_ptr(),
                pw.len(),
                body.as_ptr(),
                body.len(),
                b,
                n,
                o,
            )
        });
        assert!(
            matches!(res, R::Ok | R::Unsupported | R::InvalidArgument) || authgate_result_is_malformed(res as u32),
            "authgate_digest_response: {res:?}"
        );
        if res == R::Ok {
            let a = authgate::parse(fuzz_header).unwrap();
            let alg = param(&a, "algorithm").map_or(Some(Algorithm::Md5), |n| Algorithm::from_name(&n)).unwrap();
            let qop = param(&a, "qop").map(|q| authgate::Qop::from_name(&q).unwrap());
            let user = match (param(&a, "username"), param(&a, "username*")) {
                (Some(u), _) => u,
                (None, Some(x)) => decode_ext_value(&x).unwrap().into_bytes(),
                _ => unreachable!(),
            };
            let (realm, uri, nonce) =
                (param(&a, "realm").unwrap(), param(&a, "uri").unwrap(), param(&a, "nonce").unwrap());
            let (nc, cnonce) = (param(&a, "nc").unwrap_or_default(), param(&a, "cnonce").unwrap_or_default());
            let client = Client {
                alg,
                user: &user,
                realm: &realm,
                password: pw,
                method: b"GET",
                uri: &uri,
                nonce: &nonce,
                nc: &nc,
                cnonce: &cnonce,
                qop,
                body,
            };
            assert_eq!(
                hex,
                client.response().as_bytes(),
                "authgate_digest_response differs for {:?}",
                fuzz_header.escape_ascii().to_string()
            );
        }

        let salt_null = sel & 0x80 != 0;
        let salt = [sel; 8];
        let salt_ptr = if salt_null { null() } else { salt.as_ptr() };
        let (hp, hl) = match &header {
            None => (null(), 0),
            Some(h) if h.is_empty() => (b"".as_ptr(), 0),
            Some(h) => (h.as_ptr(), h.len()),
        };
        let with_body = sel & 0x40 != 0;
        let res = unsafe {
            if with_body {
                let bp = if body.is_empty() && r.u8() & 1 != 0 { null() } else { body.as_ptr() };
                authgate_engine_check_body(
                    engine,
                    method.as_ptr().cast(),
                    method.len(),
                    target.as_ptr().cast(),
                    target.len(),
                    hp,
                    hl,
                    bp,
                    body.len(),
                    now,
                    salt_ptr,
                    verdict,
                )
            } else {
                authgate_engine_check(
                    engine,
                    method.as_ptr().cast(),
                    method.len(),
                    target.as_ptr().cast(),
                    target.len(),
                    hp,
                    hl,
                    now,
                    salt_ptr,
                    verdict,
                )
            }
        };
        let Ok(method_s) = std::str::from_utf8(method) else {
            assert_eq!(res, R::InvalidUtf8);
            assert_eq!(unsafe { authgate_verdict_get_kind(verdict) }, authgate_verdict_kind::None);
            continue;
        };
        if salt_null && (cb_flags & 4 == 0 || callbacks.entropy_fails) {
            assert_eq!(res, R::EntropyFailed);
            assert_eq!(unsafe { authgate_verdict_status(verdict) }, 0);
            continue;
        }
        assert_eq!(res, R::Ok, "check");
        let req = Request {
            method: method_s,
            target: std::str::from_utf8(target).unwrap(),
            authorization: header.as_deref(),
            body: if with_body { authgate::Body::Bytes(body) } else { authgate::Body::Unavailable },
        };
        let expected = twin.check(&req, Context { now, salt: if salt_null { ENTROPY } else { salt } });
        unsafe { compare(engine, verdict, &twin, &expected, r) };
        if let Verdict::Challenge(c) = &expected {
            last_nonce = c.nonce.map(|n| n.as_str().to_string());
        }
    }

    // Helpers with fuzz values.
    let (user, pw) = (r.bytes(), r.bytes());
    let hash = r.u8() as u32 % 5;
    let (res, _, hex) = write_checked(r.u8() as usize % 70, false, |b, n, o| unsafe {
        authgate_digest_ha1_hex(
            hash,
            user.as_ptr(),
            user.len(),
            REALM.as_ptr(),
            REALM.len(),
            pw.as_ptr(),
            pw.len(),
            b,
            n,
            o,
        )
    });
    let fam = [HashAlgorithm::Md5, HashAlgorithm::Sha256, HashAlgorithm::Sha512_256]
        .get((hash as usize).wrapping_sub(1))
        .copied();
    match fam {
        None => assert_eq!(res, R::InvalidArgument),
        Some(f) => {
            assert!(matches!(res, R::Ok | R::BufferTooSmall));
            if res == R::Ok {
                assert_eq!(hex, hh(f, &[user, b":", REALM.as_bytes(), b":", pw].concat()).as_bytes());
            }
        }
    }
    let mut digest = [0u8; 32];
    assert_eq!(unsafe { authgate_token_digest(user.as_ptr(), user.len(), digest.as_mut_ptr()) }, R::Ok);
    assert_eq!(&digest[..], &hash_sha256(user)[..]);
    assert_eq!(unsafe { authgate_token_digest(null(), 0, digest.as_mut_ptr()) }, R::NullParameter);
    let iterations = r.u8() as u32 % 4;
    let res = unsafe {
        authgate_pbkdf2_sha256(pw.as_ptr(), pw.len(), user.as_ptr(), user.len(), iterations, digest.as_mut_ptr())
    };
    if iterations == 0 || user.len() > 64 {
        assert_eq!(res, R::InvalidArgument);
    } else {
        assert_eq!(res, R::Ok);
        assert_eq!(digest, authgate::credential::pbkdf2_sha256(pw, user, iterations));
    }
    assert_eq!(unsafe { authgate_engine_purge_expired(engine, NOW + r.u16() as u64) }, R::Ok);
    assert_eq!(unsafe { authgate_engine_purge_expired(null(), 0) }, R::NullParameter);
    assert_eq!(
        unsafe {
            authgate_engine_check(
                null(),
                c"GET".as_ptr(),
                3,
                c"/".as_ptr(),
                1,
                null(),
                0,
                NOW,
                [0u8; 8].as_ptr(),
                verdict,
            )
        },
        R::NullParameter
    );
    assert_eq!(unsafe { authgate_engine_challenge_count(null()) }, 0);
    unsafe {
        authgate_verdict_free(verdict);
        authgate_engine_free(engine);
        authgate_verdict_free(null_mut());
        authgate_engine_free(null_mut());
        authgate_config_free(null_mut());
    }
    drop(callbacks);
}

fn hash_sha256(b: &[u8]) -> Vec<u8> {
    hash(HashAlgorithm::Sha256, b)
}
