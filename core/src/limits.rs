//! Every length and count the engine accepts, in one place.
//!
//! Inputs over a limit are refused with [`ParseError`](crate::ParseError) (HTTP 400) before
//! any work proportional to them is done. Buffers inside the engine are sized from these
//! constants, so the worst-case stack use is fixed at compile time.

/// Longest `Authorization` field value, in bytes.
pub const MAX_HEADER_LEN: usize = 4096;
/// Longest authentication scheme name.
pub const MAX_SCHEME_LEN: usize = 32;
/// Most auth-params in one credentials value.
pub const MAX_PARAMS: usize = 24;
/// Longest Basic token68 (base64 characters). Decodes to at most [`MAX_BASIC_DECODED`] bytes.
pub const MAX_BASIC_TOKEN_LEN: usize = 512;
/// Longest decoded Basic `user-id:password`.
pub const MAX_BASIC_DECODED: usize = MAX_BASIC_TOKEN_LEN / 4 * 3;
/// Longest user name (bytes of UTF-8), for Basic, Digest `username` and decoded `username*`.
pub const MAX_USERNAME_LEN: usize = 128;
/// Longest realm, in the configuration and in a Digest `realm` parameter.
pub const MAX_REALM_LEN: usize = 128;
/// Longest Digest `nonce` parameter.
pub const MAX_NONCE_LEN: usize = 128;
/// Longest Digest `cnonce` parameter.
pub const MAX_CNONCE_LEN: usize = 256;
/// Longest Digest `opaque`, in the configuration and in a request.
pub const MAX_OPAQUE_LEN: usize = 128;
/// Longest Digest `uri` parameter.
pub const MAX_URI_LEN: usize = 2048;
/// Longest Digest `response` parameter (hex characters).
pub const MAX_RESPONSE_LEN: usize = 128;
/// Longest Bearer token.
pub const MAX_BEARER_LEN: usize = 2048;
/// Longest stored plaintext secret a [`CredentialStore`](crate::CredentialStore) may return.
pub const MAX_SECRET_LEN: usize = 128;
/// Longest PBKDF2 salt.
pub const MAX_SALT_LEN: usize = 64;
/// Longest decoded JWS header (JSON), in bytes.
pub const MAX_JWT_HEADER_LEN: usize = 512;
/// Longest decoded JWT claims set (JSON): what a [`MAX_BEARER_LEN`] token can carry.
pub const MAX_JWT_CLAIMS_LEN: usize = MAX_BEARER_LEN / 4 * 3;
/// Longest JWS signature: 64 bytes (HS512, ES256, EdDSA); 512 with `jwt-std` (RSA up to
/// 4096 bits).
#[cfg(not(feature = "jwt-std"))]
pub const MAX_JWT_SIGNATURE_LEN: usize = 64;
/// Longest JWS signature: 64 bytes (HS512, ES256, EdDSA); 512 with `jwt-std` (RSA up to
/// 4096 bits).
#[cfg(feature = "jwt-std")]
pub const MAX_JWT_SIGNATURE_LEN: usize = 512;
/// Most top-level members of a JWT header or claims set.
pub const MAX_JWT_MEMBERS: usize = 64;
/// Deepest nesting of JSON in a JWT (the top-level object is 1).
pub const MAX_JWT_JSON_DEPTH: usize = 16;
/// Most JWT verification keys: 4 without std (a device's hub key and its successor), 32
/// with `std` (a JWKS document).
#[cfg(not(feature = "std"))]
pub const MAX_JWT_KEYS: usize = 4;
/// Most JWT verification keys: 4 without std (a device's hub key and its successor), 32
/// with `std` (a JWKS document).
#[cfg(feature = "std")]
pub const MAX_JWT_KEYS: usize = 32;
/// Longest JWT key id (`kid`).
pub const MAX_JWT_KID_LEN: usize = 128;
/// Longest HMAC secret kept as is (longer ones are kept as their hashes).
pub const MAX_JWT_HMAC_KEY_LEN: usize = 128;
/// Longest expected issuer or audience.
pub const MAX_JWT_CLAIM_LEN: usize = 128;
/// Longest name of the identity claim.
pub const MAX_JWT_CLAIM_NAME_LEN: usize = 32;
/// Most expected audiences.
pub const MAX_JWT_AUDIENCES: usize = 4;
/// Longest `Host` value: a DNS name (253 bytes), a trailing dot and a port fit.
pub const MAX_HOST_LEN: usize = 300;
/// Longest `Origin` value, and longest scheme-and-authority read from a `Referer` (the rest
/// of a `Referer` is not read).
pub const MAX_ORIGIN_LEN: usize = 320;
/// Room for the allowed origins of an [`OriginPolicy`](crate::origin::OriginPolicy), in
/// bytes (one space between entries): 128 without std, 2048 with `std`.
#[cfg(not(feature = "std"))]
pub const MAX_ALLOWED_ORIGINS_LEN: usize = 128;
/// Room for the allowed origins of an [`OriginPolicy`](crate::origin::OriginPolicy), in
/// bytes (one space between entries): 128 without std, 2048 with `std`.
#[cfg(feature = "std")]
pub const MAX_ALLOWED_ORIGINS_LEN: usize = 2048;
/// Room for the `Host` list of an [`OriginPolicy`](crate::origin::OriginPolicy), in bytes
/// (one space between entries): 192 without std (a device's names and addresses), 2048
/// with `std`.
#[cfg(not(feature = "std"))]
pub const MAX_ALLOWED_HOSTS_LEN: usize = 192;
/// Room for the `Host` list of an [`OriginPolicy`](crate::origin::OriginPolicy), in bytes
/// (one space between entries): 192 without std (a device's names and addresses), 2048
/// with `std`.
#[cfg(feature = "std")]
pub const MAX_ALLOWED_HOSTS_LEN: usize = 2048;
/// Longest `Authorization` value of the connection-bound schemes (`NTLM`, `Negotiate`):
/// Kerberos tickets with a PAC from Active Directory run to several kilobytes.
pub const MAX_CONNECTION_HEADER_LEN: usize = 16 * 1024;
/// Longest NTLM message (decoded): AUTHENTICATE with the client's blob and names.
pub const MAX_NTLM_MESSAGE_LEN: usize = 2048;
/// Longest token the server sends (an NTLM CHALLENGE, SPNEGO-wrapped or not, or the output
/// of a Negotiate acceptor step), before base64.
pub const MAX_SERVER_TOKEN_LEN: usize = 1024;
