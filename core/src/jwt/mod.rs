//! JWT bearer tokens (RFC 7519) signed as compact JWS (RFC 7515), verified without allocation.
//!
//! ```text
//! token = BASE64URL(header) "." BASE64URL(claims) "." BASE64URL(signature)
//! ```
//!
//! [`JwtConfig::verify`] splits the token, decodes each part into a [`JwtBuffer`] (fixed
//! sizes from [`limits`](crate::limits)), reads the header (`alg`, `kid`, `crit`), picks the
//! key, checks the signature, then reads the claims with a bounded scanner and checks
//! `exp`, `nbf`, `iat`, `iss` and `aud`. Every refusal is a [`Reason`] with a stable code.
//!
//! The rules, each in one place here:
//! - the allowed algorithms come from the configuration; a token's `alg` only picks among
//!   them (`none` and unknown names are never allowed);
//! - a key serves its own family only: an HMAC secret never checks ES256/EdDSA/RS*/PS*, a
//!   public key is never an HMAC secret; a key bound to an algorithm serves that one only;
//! - a token whose `kid` names a key is checked with that key only; other tokens with every
//!   key of the algorithm's family that has no `kid` (or, without a `kid`, with any key);
//! - any `crit` header is refused (no extension is understood);
//! - base64url must be canonical and unpadded; JSON must be valid UTF-8 and RFC 8259, a
//!   name may not repeat at the top level, nesting and member counts are bounded;
//! - HMAC tags are compared in constant time;
//! - claims are read only after the signature is verified; times are checked as PyJWT does
//!   (`exp <= now - leeway` is expired, `nbf`/`iat > now + leeway` not yet valid, fractional
//!   NumericDates truncated), `aud` may be a string or an array of strings.
//!
//! With the engine, a Bearer token that looks like a JWS (two dots) is verified here when
//! the [`Config`](crate::Config) holds JWT keys ([`Config::jwt`](crate::Config::jwt)); the
//! authenticated user is the identity claim (`sub` unless configured).
//!
//! Features: `jwt` (HS256/384/512, on the hmac/sha2 the core links anyway), `jwt-es256`
//! (p256), `jwt-eddsa` (ed25519-dalek), `jwt-std` (needs std: RS*/PS* with the `rsa` crate,
//! JWKS documents and PEM/DER public keys).

mod json;
mod keys;
#[cfg(feature = "jwt-std")]
mod rsa;
#[cfg(feature = "jwt-std")]
mod std_keys;

pub use json::{JsonStr, Unescape};
pub use keys::{JwsAlgorithm, JwtKey};
#[cfg(feature = "jwt-std")]
pub use std_keys::{jwks, public_key_pem, Jwks, JwksError};

use base64ct::{Base64UrlUnpadded, Encoding as _};

use crate::error::ConfigError;
use crate::limits::*;
use crate::render::BearerError;
use crate::{Reason, UserName};
use json::JsonValue;

/// A registered claim that can be required ([`JwtConfig::require`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Claim {
    /// `exp`
    Exp,
    /// `nbf`
    Nbf,
    /// `iat`
    Iat,
    /// `iss`
    Iss,
    /// `aud`
    Aud,
    /// `sub`
    Sub,
    /// `jti`
    Jti,
}

impl Claim {
    /// Every registered claim.
    pub const ALL: [Claim; 7] = [Claim::Exp, Claim::Nbf, Claim::Iat, Claim::Iss, Claim::Aud, Claim::Sub, Claim::Jti];

    /// The claim's name.
    pub const fn name(self) -> &'static str {
        match self {
            Claim::Exp => "exp",
            Claim::Nbf => "nbf",
            Claim::Iat => "iat",
            Claim::Iss => "iss",
            Claim::Aud => "aud",
            Claim::Sub => "sub",
            Claim::Jti => "jti",
        }
    }

    /// The claim a name is, exactly.
    pub fn from_name(name: &str) -> Option<Claim> {
        Claim::ALL.into_iter().find(|c| c.name() == name)
    }

    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// How JWTs are verified: keys, allowed algorithms, expected issuer and audiences, leeway,
/// required claims and the identity claim. Empty (no keys) by default: JWT off.
#[derive(Clone, Debug)]
pub struct JwtConfig {
    keys: heapless::Vec<JwtKey, MAX_JWT_KEYS>,
    algorithms: u16,
    issuer: Option<heapless::String<MAX_JWT_CLAIM_LEN>>,
    audiences: heapless::Vec<heapless::String<MAX_JWT_CLAIM_LEN>, MAX_JWT_AUDIENCES>,
    any_audience: bool,
    leeway: u64,
    required: u8,
    identity: heapless::String<MAX_JWT_CLAIM_NAME_LEN>,
}

impl Default for JwtConfig {
    fn default() -> Self {
        JwtConfig::new()
    }
}

/// Whether `s` holds a control character (none may be in a name, issuer or audience).
fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

impl JwtConfig {
    /// No keys, no algorithms, no issuer or audience, no leeway, identity claim `sub`.
    pub fn new() -> Self {
        JwtConfig {
            keys: heapless::Vec::new(),
            algorithms: 0,
            issuer: None,
            audiences: heapless::Vec::new(),
            any_audience: false,
            leeway: 0,
            required: 0,
            identity: heapless::String::try_from("sub").unwrap_or_default(),
        }
    }

    /// The algorithms a token may use (the allow-list). Algorithms compiled out are refused.
    pub fn algorithms(mut self, algorithms: &[JwsAlgorithm]) -> Result<Self, ConfigError> {
        let mut bits = 0;
        for a in algorithms {
            if !a.is_enabled() {
                return Err(ConfigError::JwtAlgorithmDisabled);
            }
            bits |= a.bit();
        }
        self.algorithms = bits;
        Ok(self)
    }

    /// Adds a verification key (at most [`MAX_JWT_KEYS`]).
    pub fn key(mut self, key: JwtKey) -> Result<Self, ConfigError> {
        self.keys.push(key).map_err(|_| ConfigError::TooMany)?;
        Ok(self)
    }

    /// The `iss` every token must carry (exactly; at most [`MAX_JWT_CLAIM_LEN`] bytes).
    pub fn issuer(mut self, issuer: &str) -> Result<Self, ConfigError> {
        if issuer.is_empty() || has_control(issuer) {
            return Err(ConfigError::InvalidJwtOption);
        }
        self.issuer = Some(heapless::String::try_from(issuer).map_err(|_| ConfigError::InvalidJwtOption)?);
        Ok(self)
    }

    /// Adds an audience: a token's `aud` must name one of them (at most
    /// [`MAX_JWT_AUDIENCES`]). Without any, a token carrying an `aud` is refused (as PyJWT
    /// does), unless [`accept_any_audience`](Self::accept_any_audience).
    pub fn audience(mut self, audience: &str) -> Result<Self, ConfigError> {
        if audience.is_empty() || has_control(audience) {
            return Err(ConfigError::InvalidJwtOption);
        }
        let a = heapless::String::try_from(audience).map_err(|_| ConfigError::InvalidJwtOption)?;
        self.audiences.push(a).map_err(|_| ConfigError::TooMany)?;
        Ok(self)
    }

    /// With no audience configured, accept tokens whatever their `aud` (Flask-JWT-Extended's
    /// behaviour when `JWT_DECODE_AUDIENCE` is unset). Off by default.
    pub fn accept_any_audience(mut self, accept: bool) -> Self {
        self.any_audience = accept;
        self
    }

    /// Seconds of clock skew allowed on `exp`, `nbf` and `iat` (default 0).
    pub fn leeway(mut self, seconds: u64) -> Self {
        self.leeway = seconds;
        self
    }

    /// Claims every token must carry (none by default; `iss` and `aud` are required anyway
    /// when an issuer or audience is configured).
    pub fn require(mut self, claims: &[Claim]) -> Self {
        self.required = claims.iter().fold(0, |bits, c| bits | c.bit());
        self
    }

    /// The claim naming the authenticated user (default `sub`; 1 to
    /// [`MAX_JWT_CLAIM_NAME_LEN`] bytes). The engine refuses a token without it.
    pub fn identity_claim(mut self, name: &str) -> Result<Self, ConfigError> {
        if name.is_empty() || has_control(name) {
            return Err(ConfigError::InvalidJwtOption);
        }
        self.identity = heapless::String::try_from(name).map_err(|_| ConfigError::InvalidJwtOption)?;
        Ok(self)
    }

    /// Whether any key is configured (JWT on).
    pub fn is_enabled(&self) -> bool {
        !self.keys.is_empty()
    }

    /// The keys, in order.
    pub fn keys(&self) -> &[JwtKey] {
        &self.keys
    }

    /// The allowed algorithms.
    pub fn allowed_algorithms(&self) -> impl Iterator<Item = JwsAlgorithm> + '_ {
        JwsAlgorithm::ALL.into_iter().filter(|a| self.algorithms & a.bit() != 0)
    }

    /// The identity claim's name.
    pub fn identity_claim_name(&self) -> &str {
        &self.identity
    }

    /// Checks the combination: keys need an allowed algorithm that one of them serves.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.keys.is_empty() {
            return Ok(());
        }
        let served = self.allowed_algorithms().any(|a| self.keys.iter().any(|k| k.serves(a)));
        if served {
            Ok(())
        } else {
            Err(ConfigError::NoJwtAlgorithm)
        }
    }

    /// Verifies `token` at time `now` (seconds since the Unix epoch), decoding into `buf`.
    pub fn verify<'b>(&self, token: &[u8], now: u64, buf: &'b mut JwtBuffer) -> Result<Verified<'b>, Reason> {
        let parts = split(token)?;
        // The header, then the policy, before any signature work.
        let header = decode(parts.header, &mut buf.header)?;
        let head = read_header(header)?;
        if self.algorithms & head.alg.bit() == 0 {
            return Err(Reason::AlgorithmNotAllowed);
        }
        if head.crit {
            return Err(Reason::UnsupportedCritical);
        }
        if decoded_len(parts.claims.len()) > MAX_JWT_CLAIMS_LEN {
            return Err(Reason::TokenTooLarge);
        }
        let signature = match decode(parts.signature, &mut buf.signature) {
            Ok(s) => s,
            // Longer than any signature this build checks: no key can accept it.
            Err(Reason::TokenTooLarge) => return Err(Reason::BadSignature),
            Err(e) => return Err(e),
        };
        self.check_signature(&head, parts.signing_input, signature)?;
        let claims = decode(parts.claims, &mut buf.claims)?;
        let claims_str = core::str::from_utf8(claims).map_err(|_| Reason::InvalidJson)?;
        let read = self.read_claims(claims)?;
        self.check_claims(&read, now)?;
        Ok(Verified {
            alg: head.alg,
            kid: head.kid,
            header: core::str::from_utf8(header).map_err(|_| Reason::InvalidJson)?,
            claims: claims_str,
            exp: read.exp,
            nbf: read.nbf,
            iat: read.iat,
            iss: read.iss,
            sub: read.sub,
            jti: read.jti,
            identity: read.identity,
        })
    }

    fn check_signature(&self, head: &Header<'_>, input: &[u8], signature: &[u8]) -> Result<(), Reason> {
        let named =
            head.kid.filter(|kid| self.keys.iter().any(|k| !k.kid.is_empty() && kid.eq_bytes(k.kid.as_bytes())));
        let mut candidates = self.keys.iter().filter(|k| k.serves(head.alg)).filter(|k| match (&named, &head.kid) {
            (Some(kid), _) => kid.eq_bytes(k.kid.as_bytes()),
            (None, Some(_)) => k.kid.is_empty(),
            (None, None) => true,
        });
        let first = candidates.next().ok_or(Reason::UnknownKey)?;
        if first.verify(head.alg, input, signature) || candidates.any(|k| k.verify(head.alg, input, signature)) {
            Ok(())
        } else {
            Err(Reason::BadSignature)
        }
    }

    fn read_claims<'c>(&self, claims: &'c [u8]) -> Result<Read<'c>, Reason> {
        let mut r = Read::default();
        json::object(claims, |name, value| {
            let string = |v: JsonValue<'c>, claim: &'static str| match v {
                JsonValue::Str(s) => Ok(Some(s)),
                _ => Err(Reason::InvalidClaim(claim)),
            };
            let date = |v: &JsonValue<'c>, claim: &'static str| match json::numeric_date(v) {
                Some(d) => Ok(Some(d)),
                None => Err(Reason::InvalidClaim(claim)),
            };
            let registered = Claim::ALL.into_iter().find(|c| name.eq_bytes(c.name().as_bytes()));
            if let Some(c) = registered {
                r.present |= c.bit();
                match c {
                    Claim::Exp => r.exp = date(&value, "exp")?,
                    Claim::Nbf => r.nbf = date(&value, "nbf")?,
                    Claim::Iat => r.iat = date(&value, "iat")?,
                    Claim::Iss => r.iss = string(value, "iss")?,
                    Claim::Sub => r.sub = string(value, "sub")?,
                    Claim::Jti => r.jti = string(value, "jti")?,
                    Claim::Aud => {
                        r.aud = match value {
                            JsonValue::Str(_) | JsonValue::Array(_) => Some(value),
                            _ => return Err(Reason::InvalidClaim("aud")),
                        }
                    }
                }
            }
            if name.eq_bytes(self.identity.as_bytes()) {
                r.identity = match value {
                    JsonValue::Str(s) => Some(s),
                    _ => return Err(Reason::InvalidClaim(self.identity_label())),
                };
            }
            Ok(())
        })?;
        // An `aud` array holds strings only.
        if let Some(JsonValue::Array(a)) = r.aud {
            json::for_each_string(a, |_| {}).map_err(|_| Reason::InvalidClaim("aud"))?;
        }
        Ok(r)
    }

    /// The name a missing or invalid identity claim is reported under.
    fn identity_label(&self) -> &'static str {
        Claim::from_name(&self.identity).map_or("identity", Claim::name)
    }

    fn check_claims(&self, r: &Read<'_>, now: u64) -> Result<(), Reason> {
        if let Some(c) = Claim::ALL.into_iter().find(|c| self.required & c.bit() != 0 && r.present & c.bit() == 0) {
            return Err(Reason::MissingClaim(c.name()));
        }
        let now = i128::from(now);
        let leeway = i128::from(self.leeway);
        if r.iat.is_some_and(|iat| i128::from(iat) > now + leeway) {
            return Err(Reason::TokenIssuedInFuture);
        }
        if r.nbf.is_some_and(|nbf| i128::from(nbf) > now + leeway) {
            return Err(Reason::TokenNotYetValid);
        }
        if r.exp.is_some_and(|exp| i128::from(exp) <= now - leeway) {
            return Err(Reason::TokenExpired);
        }
        if let Some(issuer) = &self.issuer {
            match r.iss {
                None => return Err(Reason::MissingClaim("iss")),
                Some(iss) if !iss.eq_bytes(issuer.as_bytes()) => return Err(Reason::WrongIssuer),
                Some(_) => {}
            }
        }
        // An empty `aud` ("" or []) counts as none, as in PyJWT.
        let mut any = false;
        let mut matched = false;
        let mut see = |s: JsonStr<'_>| {
            any = true;
            matched |= self.audiences.iter().any(|a| s.eq_bytes(a.as_bytes()));
        };
        match r.aud {
            Some(JsonValue::Str(s)) if !s.raw().is_empty() => see(s),
            Some(JsonValue::Array(a)) => json::for_each_string(a, &mut see).map_err(|_| Reason::InvalidClaim("aud"))?,
            _ => {}
        }
        if self.audiences.is_empty() {
            if any && !self.any_audience {
                return Err(Reason::WrongAudience);
            }
        } else if !any {
            return Err(Reason::MissingClaim("aud"));
        } else if !matched {
            return Err(Reason::WrongAudience);
        }
        Ok(())
    }

    /// For the engine: `None` when JWT is off or `token` is not a JWS (not two dots), else
    /// the user the identity claim names, or why the token is refused.
    pub(crate) fn authenticate(&self, token: &[u8], now: u64) -> Option<Result<UserName, Reason>> {
        if !self.is_enabled() || token.iter().filter(|&&b| b == b'.').count() != 2 {
            return None;
        }
        let mut buf = JwtBuffer::new();
        Some(self.verify(token, now, &mut buf).and_then(|v| self.user(&v)))
    }

    /// The identity claim as a user name: a string of at most
    /// [`MAX_USERNAME_LEN`] bytes without control characters.
    pub fn user(&self, verified: &Verified<'_>) -> Result<UserName, Reason> {
        let label = self.identity_label();
        let id = verified.identity.ok_or(Reason::MissingClaim(label))?;
        let mut name = [0u8; MAX_USERNAME_LEN];
        let s = id.unescape_into(&mut name).ok_or(Reason::InvalidClaim(label))?;
        if s.is_empty() || has_control(s) {
            return Err(Reason::InvalidClaim(label));
        }
        UserName::try_from(s).map_err(|_| Reason::InvalidClaim(label))
    }
}

/// Where a token's parts are decoded: fixed sizes, from [`limits`](crate::limits).
#[derive(Clone)]
pub struct JwtBuffer {
    header: [u8; MAX_JWT_HEADER_LEN],
    claims: [u8; MAX_JWT_CLAIMS_LEN],
    signature: [u8; MAX_JWT_SIGNATURE_LEN],
}

impl JwtBuffer {
    /// Zeroed buffers.
    pub const fn new() -> Self {
        JwtBuffer {
            header: [0; MAX_JWT_HEADER_LEN],
            claims: [0; MAX_JWT_CLAIMS_LEN],
            signature: [0; MAX_JWT_SIGNATURE_LEN],
        }
    }
}

impl Default for JwtBuffer {
    fn default() -> Self {
        JwtBuffer::new()
    }
}

/// A verified token: its header and claims (decoded JSON) and the claims the verifier read.
#[derive(Clone, Copy, Debug)]
pub struct Verified<'b> {
    /// The algorithm that verified it.
    pub alg: JwsAlgorithm,
    /// The header's `kid`.
    pub kid: Option<JsonStr<'b>>,
    /// The decoded header (a JSON object).
    pub header: &'b str,
    /// The decoded claims set (a JSON object).
    pub claims: &'b str,
    /// `exp`, whole seconds.
    pub exp: Option<i64>,
    /// `nbf`, whole seconds.
    pub nbf: Option<i64>,
    /// `iat`, whole seconds.
    pub iat: Option<i64>,
    /// `iss`.
    pub iss: Option<JsonStr<'b>>,
    /// `sub`.
    pub sub: Option<JsonStr<'b>>,
    /// `jti`.
    pub jti: Option<JsonStr<'b>>,
    /// The identity claim (a string), when present.
    pub identity: Option<JsonStr<'b>>,
}

/// The error and description a Bearer challenge carries for `reason` (RFC 6750 §3.1):
/// `invalid_token` for an unknown token and for every JWT refusal (with the reason's
/// message as `error_description`), nothing otherwise (no credentials, another scheme).
pub fn bearer_error(reason: Reason) -> (Option<BearerError>, Option<&'static str>) {
    match reason {
        Reason::InvalidToken => (Some(BearerError::InvalidToken), None),
        r if is_token_refusal(r) => (Some(BearerError::InvalidToken), Some(r.message())),
        _ => (None, None),
    }
}

/// Whether `reason` is one of the JWT refusals (codes 20 to 39).
pub fn is_token_refusal(reason: Reason) -> bool {
    (20..40).contains(&reason.code())
}

struct Parts<'t> {
    header: &'t [u8],
    claims: &'t [u8],
    signature: &'t [u8],
    signing_input: &'t [u8],
}

/// `header.claims.signature`, each part of the base64url alphabet (no padding).
fn split(token: &[u8]) -> Result<Parts<'_>, Reason> {
    if token.len() > MAX_BEARER_LEN {
        return Err(Reason::TokenTooLarge);
    }
    let mut dots = token.iter().enumerate().filter(|(_, &b)| b == b'.').map(|(i, _)| i);
    let (Some(first), Some(second), None) = (dots.next(), dots.next(), dots.next()) else {
        return Err(Reason::MalformedToken);
    };
    let parts = Parts {
        header: &token[..first],
        claims: &token[first + 1..second],
        signature: &token[second + 1..],
        signing_input: &token[..second],
    };
    // An empty signature is a stripped one, refused as a bad signature after the header's
    // checks (so `alg: none` is refused as such).
    if parts.header.is_empty() {
        return Err(Reason::MalformedToken);
    }
    let url_safe = |b: &u8| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_';
    if ![parts.header, parts.claims, parts.signature].iter().all(|p| p.iter().all(url_safe)) {
        return Err(Reason::InvalidBase64Url);
    }
    Ok(parts)
}

/// The decoded length of `n` unpadded base64url characters (shifts, no division).
fn decoded_len(n: usize) -> usize {
    (n >> 2) * 3 + (((n & 3) * 3) >> 2)
}

/// Canonical unpadded base64url into `out`: too long for it is [`Reason::TokenTooLarge`].
fn decode<'o>(part: &[u8], out: &'o mut [u8]) -> Result<&'o [u8], Reason> {
    if decoded_len(part.len()) > out.len() {
        return Err(Reason::TokenTooLarge);
    }
    // base64ct refuses a lone trailing character and non-zero trailing bits (canonical).
    match Base64UrlUnpadded::decode(part, out) {
        Ok(d) => Ok(d),
        Err(_) => Err(Reason::InvalidBase64Url),
    }
}

struct Header<'h> {
    alg: JwsAlgorithm,
    kid: Option<JsonStr<'h>>,
    crit: bool,
}

fn read_header(text: &[u8]) -> Result<Header<'_>, Reason> {
    let mut alg = None;
    let mut kid = None;
    let mut crit = false;
    json::object(text, |name, value| {
        if name.eq_bytes(b"alg") {
            let JsonValue::Str(a) = value else { return Err(Reason::AlgorithmNotAllowed) };
            // Names are ASCII: an escaped spelling is not an algorithm we know.
            alg = Some(a.as_unescaped().and_then(|a| JwsAlgorithm::from_name(a.as_bytes())));
        } else if name.eq_bytes(b"kid") {
            let JsonValue::Str(k) = value else { return Err(Reason::InvalidClaim("kid")) };
            kid = Some(k);
        } else if name.eq_bytes(b"crit") {
            crit = true;
        }
        Ok(())
    })?;
    match alg {
        Some(Some(alg)) => Ok(Header { alg, kid, crit }),
        // Absent, `none`, or a name we do not know.
        _ => Err(Reason::AlgorithmNotAllowed),
    }
}

/// What the claims scan keeps.
#[derive(Default)]
struct Read<'c> {
    present: u8,
    exp: Option<i64>,
    nbf: Option<i64>,
    iat: Option<i64>,
    iss: Option<JsonStr<'c>>,
    sub: Option<JsonStr<'c>>,
    jti: Option<JsonStr<'c>>,
    aud: Option<JsonValue<'c>>,
    identity: Option<JsonStr<'c>>,
}

#[cfg(test)]
mod tests;
