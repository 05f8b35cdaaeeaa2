//! # authgate-ffi
//!
//! The C ABI of the authgate engine: `libauthgate.a`, `libauthgate.so` and the header
//! `ffi/include/authgate.h`, generated from this crate by cbindgen.
//!
//! This crate is glue only. Every decision about a request (parsing, Basic, Digest,
//! Bearer, nonces, replay, rendering) is made by the core crate; here, C pointers become
//! Rust slices, codes become enums, and no panic crosses the ABI.
//!
//! Conventions of the whole API (in the style of rustls-ffi):
//! - Handles (`authgate_config`, `authgate_engine`, `authgate_verdict`) are opaque,
//!   created by a `_new` function and released by the matching `_free`.
//! - Functions that can fail return an `authgate_result`; `AUTHGATE_RESULT_OK` is 0.
//! - Strings are a pointer plus a length and need not be NUL-terminated. A NULL pointer is
//!   refused with `AUTHGATE_RESULT_NULL_PARAMETER` even with length 0, except where a
//!   function says NULL has a meaning.
//! - Functions writing text into a caller buffer behave like `snprintf`: they always store
//!   the full length of the value (without the terminating NUL) in `*out_len`; when the
//!   buffer holds at least that plus one byte, the value and a NUL are written and the
//!   result is OK, otherwise `AUTHGATE_RESULT_BUFFER_TOO_SMALL` and the buffer holds an
//!   empty string (when it has room for one). A NULL buffer with size 0 asks for the length.
#![allow(non_camel_case_types)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use authgate_core as core_api;
use core_api::htfile::{ErrorKind, HashError};
use core_api::{Algorithm, ConfigError, HashAlgorithm, OriginRefusal, ParseError, Reason, Scheme};

mod config;
mod connection;
mod credential;
mod engine;
mod helpers;
mod htfile;
mod jwt;
mod origin;
mod verdict;
mod version;

pub use config::*;
pub use connection::*;
pub use credential::*;
pub use engine::*;
pub use helpers::*;
pub use htfile::*;
pub use jwt::*;
pub use origin::*;
pub use verdict::*;
pub use version::*;

/// The outcome of an API call.
///
/// Codes 200-299 (`AUTHGATE_RESULT_MALFORMED_*`) say why an `Authorization` value is
/// malformed: the engine answers those requests with HTTP 400. They are read from a
/// verdict with `authgate_verdict_error`, and returned by `authgate_digest_response`.
/// Codes 100-199 reject a configuration value.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum authgate_result {
    /// Success.
    Ok = 0,
    /// A pointer argument that must not be NULL was NULL.
    NullParameter = 1,
    /// A string argument is not valid UTF-8.
    InvalidUtf8 = 2,
    /// The output buffer is too small; the needed length was stored in `*out_len`.
    BufferTooSmall = 3,
    /// A Rust panic was caught at the ABI boundary (a bug in authgate: please report it).
    /// The objects involved stay valid.
    Panic = 4,
    /// An argument is out of range (wrong key length, unknown enum value, index past the
    /// end, a length over `PTRDIFF_MAX`).
    InvalidArgument = 5,
    /// The entropy callback failed, or no salt and no entropy callback were given.
    EntropyFailed = 6,
    /// The verdict is not of the kind this call needs (e.g. the user of a challenge).
    WrongVerdict = 7,
    /// A credential value is invalid: too long, bad hex, wrong digest length, zero
    /// iterations, or a name over 128 bytes.
    InvalidCredential = 8,
    /// The algorithm, qop or hash family is not supported by this build or this request.
    Unsupported = 9,
    /// No such entry (e.g. no user of that name and realm in an htdigest file).
    NotFound = 10,

    /// The realm is empty, longer than 128 bytes, or holds a control character.
    ConfigInvalidRealm = 100,
    /// The opaque value is empty, too long, or not token68 characters.
    ConfigInvalidOpaque = 101,
    /// No scheme is offered.
    ConfigNoScheme = 102,
    /// Digest is offered without an algorithm this build supports.
    ConfigNoAlgorithm = 103,
    /// Digest is offered without qop and without RFC 2069 mode.
    ConfigNoQop = 104,
    /// The nonce lifetime is zero.
    ConfigInvalidLifetime = 105,
    /// Too many entries in a list.
    ConfigTooMany = 106,
    /// A scheme is offered whose Cargo feature is not compiled into this library.
    ConfigSchemeDisabled = 107,
    /// A Digest option is asked for (`auth-int`, RFC 2069, `userhash`) that is not compiled
    /// into this library.
    ConfigFeatureDisabled = 108,
    /// A JWT key is invalid: an empty HMAC secret or one that is a public key, a point not on
    /// the curve, an RSA modulus outside 2048-4096 bits, a kid over 128 bytes, not a JWKS.
    ConfigInvalidJwtKey = 109,
    /// JWT keys without an allowed algorithm one of them serves.
    ConfigNoJwtAlgorithm = 110,
    /// A JWT issuer, audience or identity claim name is empty, too long or holds a control
    /// character.
    ConfigInvalidJwtOption = 111,
    /// A JWT algorithm is not compiled into this library.
    ConfigJwtAlgorithmDisabled = 112,
    /// A custom scheme name is empty, longer than 32 bytes, or not a token.
    ConfigInvalidSchemeName = 113,
    /// An allowed origin is not `scheme://host[:port]` (or is `null`).
    ConfigInvalidOrigin = 120,
    /// A host of the `Host` list is not a name or an address, or has a port.
    ConfigInvalidHost = 121,
    /// Another configuration error.
    ConfigOther = 199,

    /// The `Authorization` value is empty or only whitespace.
    MalformedEmpty = 200,
    /// The `Authorization` value is longer than 4096 bytes.
    MalformedTooLong = 201,
    /// The scheme is not a token, or is not followed by a space.
    MalformedInvalidScheme = 202,
    /// The scheme is longer than 32 bytes.
    MalformedSchemeTooLong = 203,
    /// A control character (NUL, CR, LF, ...) where none is allowed.
    MalformedControlCharacter = 204,
    /// A quoted-string has no closing quote, or ends in a lone backslash.
    MalformedUnterminatedQuotedString = 205,
    /// An auth-param name was expected.
    MalformedExpectedParamName = 206,
    /// An auth-param name is not followed by `=`.
    MalformedExpectedEquals = 207,
    /// An auth-param has no value.
    MalformedExpectedValue = 208,
    /// Something other than `,` follows an auth-param.
    MalformedExpectedComma = 209,
    /// More than 24 auth-params.
    MalformedTooManyParams = 210,
    /// The same auth-param name occurs twice.
    MalformedDuplicateParam = 211,
    /// The scheme needs a token68 (Basic, Bearer) and got params or nothing.
    MalformedExpectedToken68 = 212,
    /// The scheme needs auth-params (Digest) and got a token68 or nothing.
    MalformedExpectedParams = 213,
    /// A token68 is not valid for its scheme.
    MalformedInvalidToken68 = 214,
    /// Basic credentials are not canonical padded base64.
    MalformedInvalidBase64 = 215,
    /// Decoded Basic credentials have no `:`.
    MalformedMissingColon = 216,
    /// A required Digest parameter is missing.
    MalformedMissingParam = 217,
    /// A value is longer than its limit.
    MalformedValueTooLong = 218,
    /// Both `username` and `username*` were sent.
    MalformedConflictingUsername = 219,
    /// `username*` is not a valid RFC 8187 ext-value.
    MalformedInvalidExtValue = 220,
    /// `nc` is not exactly 8 hex digits, or is zero.
    MalformedInvalidNonceCount = 221,
    /// `qop`, `nc` and `cnonce` were not sent together.
    MalformedQopMismatch = 222,
    /// `userhash` is neither `true` nor `false`.
    MalformedInvalidUserhash = 223,
    /// `response` is not hex.
    MalformedInvalidResponse = 224,
    /// The Digest `uri` does not match the request-target.
    MalformedUriMismatch = 225,
    /// An NTLM message whose layout is broken (a field outside the message, ...).
    MalformedNtlmMessage = 240,
    /// A Negotiate token that is neither NTLMSSP nor a DER GSS-API token.
    MalformedNegotiateToken = 241,
    /// An NTLM or Negotiate token is not canonical padded base64.
    MalformedInvalidTokenBase64 = 242,
    /// Another reason the value is malformed (a newer core than this ABI knows).
    MalformedOther = 299,

    /// An htpasswd/htdigest file cannot be read (missing, no permission, ...).
    FileUnreadable = 300,
    /// A line is longer than 8192 bytes.
    FileLineTooLong = 301,
    /// A line holds a control character (NUL, a CR inside the line, ...).
    FileControlCharacter = 302,
    /// A line has no `:` after the user name (htdigest: after the realm).
    FileMissingColon = 303,
    /// A line's user name is empty.
    FileEmptyUser = 304,
    /// A line's user name is longer than 128 bytes or not UTF-8.
    FileInvalidUser = 305,
    /// An htdigest line's realm is empty, longer than 128 bytes or not UTF-8.
    FileInvalidRealm = 306,
    /// An htdigest line's HA1 is not 32 lower-case hex digits.
    FileInvalidHa1 = 307,
    /// A password hash is empty.
    FileHashEmpty = 310,
    /// A `$id$` or `{scheme}` hash Apache's htpasswd does not write.
    FileHashUnknown = 311,
    /// A `*` or `!` entry: crypt's failure token or a locked user.
    FileHashLocked = 312,
    /// A plaintext password, and the policy does not allow plaintext.
    FileHashPlaintext = 313,
    /// A password hash is damaged for its format.
    FileHashMalformed = 314,
    /// A bcrypt cost or SHA-crypt rounds above the policy's maximum.
    FileHashCostTooHigh = 315,
    /// The hash format is not compiled into this build.
    FileHashDisabled = 316,
    /// Another reason a line is refused (a newer core than this ABI knows).
    FileOther = 399,
}

impl authgate_result {
    /// Every code, for the message table and tests.
    const ALL: [authgate_result; 74] = {
        use authgate_result::*;
        [
            Ok,
            NullParameter,
            InvalidUtf8,
            BufferTooSmall,
            Panic,
            InvalidArgument,
            EntropyFailed,
            WrongVerdict,
            InvalidCredential,
            Unsupported,
            NotFound,
            ConfigInvalidRealm,
            ConfigInvalidOpaque,
            ConfigNoScheme,
            ConfigNoAlgorithm,
            ConfigNoQop,
            ConfigInvalidLifetime,
            ConfigTooMany,
            ConfigSchemeDisabled,
            ConfigFeatureDisabled,
            ConfigInvalidJwtKey,
            ConfigNoJwtAlgorithm,
            ConfigInvalidJwtOption,
            ConfigJwtAlgorithmDisabled,
            ConfigInvalidSchemeName,
            ConfigInvalidOrigin,
            ConfigInvalidHost,
            ConfigOther,
            MalformedEmpty,
            MalformedTooLong,
            MalformedInvalidScheme,
            MalformedSchemeTooLong,
            MalformedControlCharacter,
            MalformedUnterminatedQuotedString,
            MalformedExpectedParamName,
            MalformedExpectedEquals,
            MalformedExpectedValue,
            MalformedExpectedComma,
            MalformedTooManyParams,
            MalformedDuplicateParam,
            MalformedExpectedToken68,
            MalformedExpectedParams,
            MalformedInvalidToken68,
            MalformedInvalidBase64,
            MalformedMissingColon,
            MalformedMissingParam,
            MalformedValueTooLong,
            MalformedConflictingUsername,
            MalformedInvalidExtValue,
            MalformedInvalidNonceCount,
            MalformedQopMismatch,
            MalformedInvalidUserhash,
            MalformedInvalidResponse,
            MalformedUriMismatch,
            MalformedNtlmMessage,
            MalformedNegotiateToken,
            MalformedInvalidTokenBase64,
            MalformedOther,
            FileUnreadable,
            FileLineTooLong,
            FileControlCharacter,
            FileMissingColon,
            FileEmptyUser,
            FileInvalidUser,
            FileInvalidRealm,
            FileInvalidHa1,
            FileHashEmpty,
            FileHashUnknown,
            FileHashLocked,
            FileHashPlaintext,
            FileHashMalformed,
            FileHashCostTooHigh,
            FileHashDisabled,
            FileOther,
        ]
    };

    fn from_code(code: u32) -> Option<authgate_result> {
        Self::ALL.into_iter().find(|r| *r as u32 == code)
    }
}

/// Turns a compile-time `&'static str` into a `&'static CStr`.
macro_rules! c_message {
    ($s:expr) => {{
        const S: &str = $s;
        const B: [u8; S.len() + 1] = {
            let mut out = [0u8; S.len() + 1];
            let bytes = S.as_bytes();
            let mut i = 0;
            while i < bytes.len() {
                out[i] = bytes[i];
                i += 1;
            }
            out
        };
        const C: &CStr = match CStr::from_bytes_with_nul(&B) {
            ::core::result::Result::Ok(c) => c,
            ::core::result::Result::Err(_) => panic!("message with an interior NUL"),
        };
        C
    }};
}

/// The messages of the codes the core declares (its error tables), as C strings.
pub(crate) fn core_message(code: u32) -> Option<&'static CStr> {
    static MESSAGES: OnceLock<Vec<(u32, CString)>> = OnceLock::new();
    let table = MESSAGES.get_or_init(|| {
        [ParseError::TABLE, ConfigError::TABLE, Reason::TABLE, OriginRefusal::TABLE, ErrorKind::TABLE, HashError::TABLE]
            .concat()
            .into_iter()
            .map(|(code, _, message)| (code.into(), CString::new(message).expect("core messages hold no NUL")))
            .collect()
    });
    table.iter().find(|(c, _)| *c == code).map(|(_, m)| m.as_c_str())
}

/// The names of the core's reasons (its `Reason` table), as C strings.
pub(crate) fn core_name(code: u32) -> Option<&'static CStr> {
    static NAMES: OnceLock<Vec<(u32, CString)>> = OnceLock::new();
    let table = NAMES.get_or_init(|| {
        Reason::TABLE
            .iter()
            .map(|(code, name, _)| (u32::from(*code), CString::new(*name).expect("names hold no NUL")))
            .collect()
    });
    table.iter().find(|(c, _)| *c == code).map(|(_, n)| n.as_c_str())
}

fn message(r: authgate_result) -> &'static CStr {
    use authgate_result::*;
    if let Some(m) = core_message(r as u32).filter(|_| r as u32 >= 100) {
        return m;
    }
    match r {
        Ok => c"success",
        NullParameter => c"a required pointer argument was NULL",
        InvalidUtf8 => c"a string argument is not valid UTF-8",
        BufferTooSmall => c"output buffer too small",
        Panic => c"internal error: a panic was caught at the C ABI boundary",
        InvalidArgument => c"an argument is out of range",
        EntropyFailed => c"no salt given and no working entropy callback",
        WrongVerdict => c"the verdict is not of the kind this call needs",
        InvalidCredential => c"invalid credential value",
        Unsupported => c"algorithm, qop or hash family not supported",
        ConfigOther => c"invalid configuration",
        NotFound => c"no such entry",
        FileUnreadable => c"the file cannot be read",
        FileOther => c"the line is refused",
        _ => c"malformed Authorization value",
    }
}

// The core's codes are the ABI's values: a conversion is a lookup by number.
impl From<ParseError> for authgate_result {
    fn from(e: ParseError) -> Self {
        authgate_result::from_code(e.code().into()).unwrap_or(authgate_result::MalformedOther)
    }
}

impl From<ConfigError> for authgate_result {
    fn from(e: ConfigError) -> Self {
        authgate_result::from_code(e.code().into()).unwrap_or(authgate_result::ConfigOther)
    }
}

/// A static, NUL-terminated English description of a result code.
///
/// `result` is an `authgate_result` value; any other number gets "unknown result code".
/// Returns: never NULL; the string is static and must not be freed. Thread-safe.
#[no_mangle]
pub extern "C" fn authgate_result_message(result: u32) -> *const c_char {
    guard(c"unknown result code".as_ptr(), || match authgate_result::from_code(result) {
        Some(r) => message(r).as_ptr(),
        None => c"unknown result code".as_ptr(),
    })
}

/// Whether `result` is one of the `AUTHGATE_RESULT_MALFORMED_*` codes (HTTP 400).
/// Returns: true or false; no pointer, nothing to free. Thread-safe.
#[no_mangle]
pub extern "C" fn authgate_result_is_malformed(result: u32) -> bool {
    (200..300).contains(&result) && authgate_result::from_code(result).is_some()
}

/// The library version, a static NUL-terminated string such as "0.1.0".
/// Returns: never NULL; static, must not be freed. Thread-safe.
#[no_mangle]
pub extern "C" fn authgate_version() -> *const c_char {
    c_message!(env!("CARGO_PKG_VERSION")).as_ptr()
}

/// An authentication scheme.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum authgate_scheme {
    /// No scheme (the verdict is not "authenticated").
    None = 0,
    /// Basic (RFC 7617).
    Basic = 1,
    /// Digest (RFC 7616).
    Digest = 2,
    /// Bearer (RFC 6750).
    Bearer = 3,
    /// NTLM (MS-NTHT), through `authgate_engine_check_connection`.
    Ntlm = 4,
    /// Negotiate (RFC 4559), through `authgate_engine_check_connection`.
    Negotiate = 5,
}

impl authgate_scheme {
    fn to_core(code: u32) -> Option<Scheme> {
        match code {
            1 => Some(Scheme::Basic),
            2 => Some(Scheme::Digest),
            3 => Some(Scheme::Bearer),
            4 => Some(Scheme::Ntlm),
            5 => Some(Scheme::Negotiate),
            _ => None,
        }
    }
    fn from_core(s: Scheme) -> Self {
        match s {
            Scheme::Basic => authgate_scheme::Basic,
            Scheme::Digest => authgate_scheme::Digest,
            Scheme::Bearer => authgate_scheme::Bearer,
            Scheme::Ntlm => authgate_scheme::Ntlm,
            Scheme::Negotiate => authgate_scheme::Negotiate,
        }
    }
}

/// A Digest algorithm.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum authgate_algorithm {
    /// `MD5`
    Md5 = 1,
    /// `MD5-sess`
    Md5Sess = 2,
    /// `SHA-256`
    Sha256 = 3,
    /// `SHA-256-sess`
    Sha256Sess = 4,
    /// `SHA-512-256`
    Sha512_256 = 5,
    /// `SHA-512-256-sess`
    Sha512_256_Sess = 6,
}

impl authgate_algorithm {
    fn to_core(code: u32) -> Option<Algorithm> {
        Some(match code {
            1 => Algorithm::Md5,
            2 => Algorithm::Md5Sess,
            3 => Algorithm::Sha256,
            4 => Algorithm::Sha256Sess,
            5 => Algorithm::Sha512_256,
            6 => Algorithm::Sha512_256Sess,
            _ => return None,
        })
    }
}

/// A hash family (of an HA1 value, or of a Digest credential lookup).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum authgate_hash {
    /// MD5
    Md5 = 1,
    /// SHA-256
    Sha256 = 2,
    /// SHA-512/256
    Sha512_256 = 3,
}

impl authgate_hash {
    fn to_core(code: u32) -> Option<HashAlgorithm> {
        Some(match code {
            1 => HashAlgorithm::Md5,
            2 => HashAlgorithm::Sha256,
            3 => HashAlgorithm::Sha512_256,
            _ => return None,
        })
    }
    fn from_core(h: HashAlgorithm) -> Self {
        match h {
            HashAlgorithm::Md5 => authgate_hash::Md5,
            HashAlgorithm::Sha256 => authgate_hash::Sha256,
            HashAlgorithm::Sha512_256 => authgate_hash::Sha512_256,
        }
    }
}

/// Why a request was challenged (for logs; tell the client no more than the challenges do).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum authgate_reason {
    /// The verdict is not a challenge.
    None = 0,
    /// No `Authorization` field.
    NoCredentials = 1,
    /// A scheme that is not offered.
    UnsupportedScheme = 2,
    /// An algorithm that is not offered.
    UnsupportedAlgorithm = 3,
    /// A qop that is not offered (or none, when RFC 2069 is off).
    UnsupportedQop = 4,
    /// The realm is not ours.
    RealmMismatch = 5,
    /// The opaque is not ours.
    OpaqueMismatch = 6,
    /// The nonce is not ours (garbage, forged, old key).
    InvalidNonce = 7,
    /// The credentials were right but the nonce expired or its history was evicted
    /// (the challenges carry `stale=true`).
    StaleNonce = 8,
    /// This (nonce, nc) pair was already used.
    Replayed = 9,
    /// No such user.
    UnknownUser = 10,
    /// Wrong password or response.
    BadCredentials = 11,
    /// The stored credential cannot serve this scheme/algorithm (e.g. PBKDF2 for Digest).
    CredentialUnusable = 12,
    /// `qop=auth-int` without a body (use `authgate_engine_check_body`).
    BodyUnavailable = 13,
    /// An unknown Bearer token.
    InvalidToken = 14,
    /// JWT: not three base64url parts separated by dots.
    MalformedToken = 20,
    /// JWT: a part is not canonical unpadded base64url.
    InvalidBase64Url = 21,
    /// JWT: the header or claims are not a JSON object in UTF-8.
    InvalidJson = 22,
    /// JWT: a header parameter or claim name occurs twice.
    DuplicateName = 23,
    /// JWT: a part, the member count or the nesting exceeds its limit.
    TokenTooLarge = 24,
    /// JWT: `alg` absent, `none`, unknown or not allowed.
    AlgorithmNotAllowed = 25,
    /// JWT: a `crit` header.
    UnsupportedCritical = 26,
    /// JWT: no key serves the token's `alg` and `kid`.
    UnknownKey = 27,
    /// JWT: the signature does not verify.
    BadSignature = 28,
    /// JWT: `exp` has passed.
    TokenExpired = 29,
    /// JWT: `nbf` is in the future.
    TokenNotYetValid = 30,
    /// JWT: `iat` is in the future.
    TokenIssuedInFuture = 31,
    /// JWT: `aud` names none of the expected audiences (or one is unexpected).
    WrongAudience = 32,
    /// JWT: `iss` is not the expected issuer.
    WrongIssuer = 33,
    /// JWT: a required claim is absent.
    MissingClaim = 34,
    /// JWT: a claim has the wrong type.
    InvalidClaim = 35,
    /// Not a refusal: an NTLM or Negotiate handshake needs another round; send the
    /// verdict's token (`authgate_verdict_write_token`) as the only `WWW-Authenticate`.
    HandshakeContinues = 40,
    /// An NTLM AUTHENTICATE (or a continuation) on a connection with no handshake in progress.
    NoHandshake = 41,
    /// The NTLM handshake is older than the nonce lifetime.
    HandshakeExpired = 42,
    /// The connection table is full of other connections' handshakes in progress.
    HandshakeTableFull = 43,
    /// An LM or NTLMv1 response (only NTLMv2 is accepted).
    NtlmV1Refused = 44,
    /// NTLM anonymous authentication.
    AnonymousRefused = 45,
    /// The NTLMv2 client timestamp is further from now than the nonce lifetime.
    ClockSkew = 46,
    /// NTLM or Negotiate through `authgate_engine_check` (use `authgate_engine_check_connection`).
    ConnectionRequired = 47,
    /// A Negotiate token for a mechanism the server does not accept.
    UnsupportedMechanism = 48,
    /// The Negotiate acceptor refused the token.
    NegotiateRefused = 49,
    /// Another reason (a newer core than this ABI knows).
    Other = 99,
}

impl authgate_reason {
    /// Every reason, for conversions and tests.
    const ALL: [authgate_reason; 42] = {
        use authgate_reason::*;
        [
            None,
            NoCredentials,
            UnsupportedScheme,
            UnsupportedAlgorithm,
            UnsupportedQop,
            RealmMismatch,
            OpaqueMismatch,
            InvalidNonce,
            StaleNonce,
            Replayed,
            UnknownUser,
            BadCredentials,
            CredentialUnusable,
            BodyUnavailable,
            InvalidToken,
            MalformedToken,
            InvalidBase64Url,
            InvalidJson,
            DuplicateName,
            TokenTooLarge,
            AlgorithmNotAllowed,
            UnsupportedCritical,
            UnknownKey,
            BadSignature,
            TokenExpired,
            TokenNotYetValid,
            TokenIssuedInFuture,
            WrongAudience,
            WrongIssuer,
            MissingClaim,
            InvalidClaim,
            HandshakeContinues,
            NoHandshake,
            HandshakeExpired,
            HandshakeTableFull,
            NtlmV1Refused,
            AnonymousRefused,
            ClockSkew,
            ConnectionRequired,
            UnsupportedMechanism,
            NegotiateRefused,
            Other,
        ]
    };

    fn from_core(r: Reason) -> Self {
        let code = u32::from(r.code());
        Self::ALL.into_iter().find(|a| *a as u32 == code).unwrap_or(authgate_reason::Other)
    }
}

/// A static, NUL-terminated English description of a reason (the core's own text).
///
/// `reason` is an `authgate_reason` value; any other number gets "unknown reason".
/// Returns: never NULL; the string is static and must not be freed. Thread-safe.
#[no_mangle]
pub extern "C" fn authgate_reason_message(reason: u32) -> *const c_char {
    guard(c"unknown reason".as_ptr(), || match reason {
        0 => c"not a challenge".as_ptr(),
        1..=99 => core_message(reason).unwrap_or(c"unknown reason").as_ptr(),
        _ => c"unknown reason".as_ptr(),
    })
}

// ---- shared glue -------------------------------------------------------------------------

/// Runs `f`, turning a panic into `on_panic`: no unwind ever leaves an `extern "C"` fn.
pub(crate) fn guard<T>(on_panic: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(on_panic)
}

/// [`guard`] for the common case of a fallible call.
pub(crate) fn run(f: impl FnOnce() -> Result<(), authgate_result>) -> authgate_result {
    guard(authgate_result::Panic, || match f() {
        Ok(()) => authgate_result::Ok,
        Err(e) => e,
    })
}

/// A byte slice from a C pointer and length.
///
/// # Safety
/// `ptr` must be NULL or valid for reads of `len` bytes for `'a`.
pub(crate) unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], authgate_result> {
    if ptr.is_null() {
        return Err(authgate_result::NullParameter);
    }
    if len > isize::MAX as usize {
        return Err(authgate_result::InvalidArgument);
    }
    // SAFETY: non-NULL, length bounded, validity promised by the caller.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Like [`bytes`], but NULL means `None`.
///
/// # Safety
/// As [`bytes`].
pub(crate) unsafe fn opt_bytes<'a>(ptr: *const u8, len: usize) -> Result<Option<&'a [u8]>, authgate_result> {
    if ptr.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded.
        unsafe { bytes(ptr, len) }.map(Some)
    }
}

/// A UTF-8 string from a C pointer and length.
///
/// # Safety
/// As [`bytes`].
pub(crate) unsafe fn text<'a>(ptr: *const c_char, len: usize) -> Result<&'a str, authgate_result> {
    // SAFETY: forwarded.
    let b = unsafe { bytes(ptr.cast(), len) }?;
    if b.is_ascii() {
        // Methods and request-targets are ASCII: this inlined check costs a few
        // instructions where `from_utf8` costs about a hundred (a third of the ABI's
        // overhead per check).
        // SAFETY: ASCII is valid UTF-8.
        return Ok(unsafe { std::str::from_utf8_unchecked(b) });
    }
    std::str::from_utf8(b).map_err(|_| authgate_result::InvalidUtf8)
}

/// Writes through an out-pointer, refusing NULL.
///
/// # Safety
/// `ptr` must be NULL or valid for a write of `T`.
pub(crate) unsafe fn store<T>(ptr: *mut T, value: T) -> Result<(), authgate_result> {
    if ptr.is_null() {
        return Err(authgate_result::NullParameter);
    }
    // SAFETY: non-NULL, validity promised by the caller.
    unsafe { ptr.write(value) };
    Ok(())
}

/// The caller's output buffer, with the `snprintf` contract of the module docs.
pub(crate) struct OutBuf<'a> {
    buf: &'a mut [u8],
    out_len: *mut usize,
}

impl<'a> OutBuf<'a> {
    /// # Safety
    /// `buf` must be NULL or valid for writes of `buf_len` bytes; `out_len` NULL or valid.
    pub(crate) unsafe fn new(buf: *mut c_char, buf_len: usize, out_len: *mut usize) -> Result<Self, authgate_result> {
        if out_len.is_null() {
            return Err(authgate_result::NullParameter);
        }
        let buf: &mut [u8] = if buf_len == 0 {
            &mut []
        } else if buf.is_null() {
            return Err(authgate_result::NullParameter);
        } else if buf_len > isize::MAX as usize {
            return Err(authgate_result::InvalidArgument);
        } else {
            // SAFETY: non-NULL, length bounded, validity promised by the caller.
            unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), buf_len) }
        };
        Ok(OutBuf { buf, out_len })
    }

    /// Lets `render` write into all but the last byte (kept for the NUL), then reports.
    /// `render` returns `Ok(len)` or `Err(needed)` like the core's renderers.
    pub(crate) fn write(self, render: impl FnOnce(&mut [u8]) -> Result<usize, usize>) -> Result<(), authgate_result> {
        let room = self.buf.len().saturating_sub(1);
        let outcome = render(&mut self.buf[..room]);
        let (len, fits) = match outcome {
            Ok(n) => (n, true),
            Err(needed) => (needed, false),
        };
        // SAFETY: checked non-NULL in `new`; validity promised by the caller.
        unsafe { self.out_len.write(len) };
        if fits && len < self.buf.len() {
            self.buf[len] = 0;
            Ok(())
        } else {
            if let Some(first) = self.buf.first_mut() {
                *first = 0;
            }
            Err(authgate_result::BufferTooSmall)
        }
    }

    /// Copies `value`.
    pub(crate) fn copy(self, value: &[u8]) -> Result<(), authgate_result> {
        self.write(|b| match b.get_mut(..value.len()) {
            Some(dst) => {
                dst.copy_from_slice(value);
                Ok(value.len())
            }
            None => Err(value.len()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_distinct_message_and_round_trips() {
        let mut seen = std::collections::HashSet::new();
        for r in authgate_result::ALL {
            assert_eq!(authgate_result::from_code(r as u32), Some(r));
            let m = unsafe { CStr::from_ptr(authgate_result_message(r as u32)) };
            assert!(!m.is_empty());
            assert!(seen.insert(m.to_owned()), "{r:?} repeats {m:?}");
            assert_eq!(authgate_result_is_malformed(r as u32), (200..300).contains(&(r as u32)));
        }
        let unknown = unsafe { CStr::from_ptr(authgate_result_message(12345)) };
        assert_eq!(unknown, c"unknown result code");
    }

    /// Every code the core declares has its ABI value, under the same name.
    #[test]
    fn every_core_code_has_its_abi_value() {
        for (table, prefix) in [
            (ParseError::TABLE, "Malformed"),
            (ConfigError::TABLE, "Config"),
            (ErrorKind::TABLE, "File"),
            (HashError::TABLE, "FileHash"),
        ] {
            for (code, name, message) in table {
                let r = authgate_result::from_code((*code).into()).unwrap_or_else(|| panic!("{name}: no ABI value"));
                assert_eq!(format!("{r:?}"), format!("{prefix}{name}"));
                let m = unsafe { CStr::from_ptr(authgate_result_message((*code).into())) };
                assert_eq!(m.to_str().unwrap(), *message);
            }
        }
        for (code, name, message) in Reason::TABLE {
            let r = authgate_reason::ALL.into_iter().find(|r| *r as u32 == u32::from(*code)).expect(name);
            assert_eq!(format!("{r:?}"), *name);
            let m = unsafe { CStr::from_ptr(authgate_reason_message((*code).into())) };
            assert_eq!(m.to_str().unwrap(), *message);
        }
        assert_eq!(authgate_result::from(ConfigError::FeatureDisabled), authgate_result::ConfigFeatureDisabled);
        assert_eq!(authgate_reason::from_core(Reason::Replayed), authgate_reason::Replayed);
    }

    #[test]
    fn malformed_messages_are_the_cores() {
        let m = unsafe { CStr::from_ptr(authgate_result_message(authgate_result::MalformedUriMismatch as u32)) };
        assert_eq!(m.to_str().unwrap(), ParseError::UriMismatch.message());
    }

    #[test]
    fn panics_become_a_result_code() {
        assert_eq!(run(|| panic!("boom")), authgate_result::Panic);
        assert_eq!(guard(7u8, || panic!("boom")), 7);
        assert_eq!(run(|| Err(authgate_result::InvalidUtf8)), authgate_result::InvalidUtf8);
    }

    #[test]
    fn out_buf_follows_snprintf() {
        let mut len = 0usize;
        let mut buf = [b'x' as c_char; 4];
        let r = unsafe { OutBuf::new(buf.as_mut_ptr(), 4, &mut len) }.unwrap().copy(b"abcd");
        assert_eq!((r, len, buf[0]), (Err(authgate_result::BufferTooSmall), 4, 0));
        let r = unsafe { OutBuf::new(buf.as_mut_ptr(), 4, &mut len) }.unwrap().copy(b"abc");
        assert_eq!((r, len), (Ok(()), 3));
        assert_eq!(buf.map(|c| c as u8), *b"abc\0");
        let r = unsafe { OutBuf::new(std::ptr::null_mut(), 0, &mut len) }.unwrap().copy(b"abcdef");
        assert_eq!((r, len), (Err(authgate_result::BufferTooSmall), 6));
    }
}
