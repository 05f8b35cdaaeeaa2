//! Errors and refusal reasons, each declared once with its stable numeric code, its stable
//! name and its message: the C ABI and the Python binding read all three from here.
//!
//! A [`ParseError`] means the request is malformed (HTTP 400); failing authentication is not
//! an error but a [`Challenge`](crate::Challenge) (HTTP 401) whose [`Reason`] says why.

use core::fmt;

/// Declares an enum whose variants each carry a code, a name and a message in one row, and
/// its `code`, `name`, `message` and `TABLE`. A variant that wraps another table's enum
/// (written first, `@nested Variant(Inner);`) takes its code, name and message from the
/// value it wraps; its rows are `Inner::TABLE`'s.
macro_rules! error_table {
    (
        $(#[$meta:meta])*
        pub enum $Enum:ident {
            $(@nested $(#[$nmeta:meta])* $Nested:ident($Inner:ty);)?
            $(
                $(#[$vmeta:meta])*
                $Variant:ident $(($field:ty))? = $code:literal, $message:literal;
            )*
        }
    ) => {
        $(#[$meta])*
        pub enum $Enum {
            $( $(#[$vmeta])* $Variant $(($field))?, )*
            $( $(#[$nmeta])* $Nested($Inner), )?
        }

        impl $Enum {
            /// Every variant as `(code, name, message)`, in declaration order (a variant that
            /// wraps another table's enum has that table's rows).
            pub const TABLE: &'static [(u16, &'static str, &'static str)] =
                &[$(($code, stringify!($Variant), $message)),*];

            /// The stable numeric code (the C ABI's value for it).
            pub const fn code(&self) -> u16 {
                match self {
                    $(Self::$Variant { .. } => $code,)*
                    $(Self::$Nested(e) => e.code(),)?
                }
            }

            /// The stable name (the variant's), for logs and bindings.
            pub const fn name(&self) -> &'static str {
                match self {
                    $(Self::$Variant { .. } => stringify!($Variant),)*
                    $(Self::$Nested(e) => e.name(),)?
                }
            }

            /// A fixed, human-readable description.
            pub const fn message(&self) -> &'static str {
                match self {
                    $(Self::$Variant { .. } => $message,)*
                    $(Self::$Nested(e) => e.message(),)?
                }
            }
        }
    };
}
pub(crate) use error_table;

error_table! {
    /// Why an `Authorization` value is malformed. Each maps to HTTP 400.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    #[non_exhaustive]
    pub enum ParseError {
        /// The value is empty or only whitespace.
        Empty = 200, "empty Authorization value";
        /// The value is longer than [`MAX_HEADER_LEN`](crate::limits::MAX_HEADER_LEN).
        TooLong = 201, "Authorization value too long";
        /// The scheme is not a token, or is not followed by a space.
        InvalidScheme = 202, "invalid authentication scheme";
        /// The scheme is longer than [`MAX_SCHEME_LEN`](crate::limits::MAX_SCHEME_LEN).
        SchemeTooLong = 203, "authentication scheme too long";
        /// A control character (NUL, CR, LF, ...) where none is allowed.
        ControlCharacter = 204, "control character in Authorization value";
        /// A quoted-string has no closing quote, or ends in a lone backslash.
        UnterminatedQuotedString = 205, "unterminated quoted-string";
        /// An auth-param name was expected.
        ExpectedParamName = 206, "expected an auth-param name";
        /// An auth-param name is not followed by `=`.
        ExpectedEquals = 207, "expected '=' after an auth-param name";
        /// An auth-param has no value.
        ExpectedValue = 208, "expected an auth-param value";
        /// Something other than `,` follows an auth-param.
        ExpectedComma = 209, "expected ',' between auth-params";
        /// More than [`MAX_PARAMS`](crate::limits::MAX_PARAMS) auth-params.
        TooManyParams = 210, "too many auth-params";
        /// The same auth-param name occurs twice (RFC 9110 §11.2).
        DuplicateParam = 211, "duplicate auth-param";
        /// The scheme needs a token68 (Basic, Bearer) and got params or nothing.
        ExpectedToken68 = 212, "scheme expects a token68";
        /// The scheme needs auth-params (Digest) and got a token68 or nothing.
        ExpectedParams = 213, "scheme expects auth-params";
        /// A token68 is not valid for its scheme (e.g. a Bearer b64token).
        InvalidToken68 = 214, "invalid token";
        /// Basic credentials are not canonical padded base64 (RFC 4648 §4).
        InvalidBase64 = 215, "invalid base64 in Basic credentials";
        /// Decoded Basic credentials have no `:` (RFC 7617 §2).
        MissingColon = 216, "Basic credentials without ':'";
        /// A required Digest param is missing; the name says which.
        MissingParam(&'static str) = 217, "missing required Digest parameter";
        /// A value is longer than its limit; the name says which.
        ValueTooLong(&'static str) = 218, "parameter value too long";
        /// Both `username` and `username*` were sent (RFC 7616 §3.4).
        ConflictingUsername = 219, "both username and username* sent";
        /// `username*` is not a valid RFC 8187 ext-value.
        InvalidExtValue = 220, "invalid username* ext-value";
        /// `nc` is not exactly 8 hex digits, or is zero.
        InvalidNonceCount = 221, "nc must be 8 hex digits, not zero";
        /// `qop` was sent without `nc`/`cnonce`, or `nc`/`cnonce` without `qop`.
        QopMismatch = 222, "qop, nc and cnonce must be sent together";
        /// `userhash` is neither `true` nor `false`.
        InvalidUserhash = 223, "userhash must be true or false";
        /// `response` is not hex.
        InvalidResponse = 224, "response is not hex";
        /// The Digest `uri` does not match the request-target (RFC 7616 §3.4.6).
        UriMismatch = 225, "Digest uri does not match the request-target";
        /// An NTLM message whose layout is broken: a field outside the message, an unknown
        /// message type, a bad NTLMv2 blob or name encoding.
        NtlmMessage = 240, "malformed NTLM message";
        /// A Negotiate token that is not one of the forms of RFC 4559 / RFC 4178.
        NegotiateToken = 241, "malformed Negotiate token";
        /// An NTLM or Negotiate token is not canonical padded base64.
        InvalidTokenBase64 = 242, "token is not canonical base64";
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::MissingParam(p) | ParseError::ValueTooLong(p) => {
                write!(f, "{}: {}", self.message(), p)
            }
            _ => f.write_str(self.message()),
        }
    }
}

impl core::error::Error for ParseError {}

/// A rendering buffer was too small; `needed` bytes would have fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BufferTooSmall {
    /// Bytes the complete output needs.
    pub needed: usize,
}

impl fmt::Display for BufferTooSmall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "buffer too small: {} bytes needed", self.needed)
    }
}

impl core::error::Error for BufferTooSmall {}

error_table! {
    /// An invalid configuration value.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    #[non_exhaustive]
    pub enum ConfigError {
        /// The realm is empty, too long, or holds a control character.
        InvalidRealm = 100, "realm must be 1-128 bytes of UTF-8 without control characters";
        /// The opaque value is too long or not a token68-safe string.
        InvalidOpaque = 101, "opaque must be 1-128 token68 characters";
        /// No scheme is offered.
        NoScheme = 102, "no authentication scheme offered";
        /// Digest is offered without an algorithm this build supports.
        NoAlgorithm = 103, "Digest offered without a supported algorithm";
        /// Digest is offered without qop and without RFC 2069 compatibility.
        NoQop = 104, "Digest offered without qop and without RFC 2069 mode";
        /// The nonce lifetime is zero.
        InvalidLifetime = 105, "nonce lifetime must be positive";
        /// Too many entries in a list.
        TooMany = 106, "too many entries";
        /// A scheme is offered whose Cargo feature (`basic`, `bearer`) is not compiled in.
        SchemeDisabled = 107, "scheme offered but compiled out (Cargo feature)";
        /// A Digest option is asked for (`auth-int`, RFC 2069, `userhash`) whose Cargo feature
        /// is not compiled in.
        FeatureDisabled = 108, "Digest option asked for but compiled out (Cargo feature)";
        /// A JWT key is invalid: an empty HMAC secret or one that is a public key, a point
        /// not on the curve, an RSA modulus outside 2048-4096 bits, a `kid` too long, an
        /// algorithm of another family.
        InvalidJwtKey = 109, "invalid JWT key";
        /// JWT keys are configured but no allowed algorithm is served by one of them.
        NoJwtAlgorithm = 110, "JWT keys without an allowed algorithm they serve";
        /// A JWT issuer, audience or identity claim name is empty, too long or holds a
        /// control character.
        InvalidJwtOption = 111, "invalid JWT issuer, audience or identity claim";
        /// A JWT algorithm is allowed whose Cargo feature (`jwt-es256`, `jwt-eddsa`,
        /// `jwt-std`) is not compiled in.
        JwtAlgorithmDisabled = 112, "JWT algorithm compiled out (Cargo feature)";
        /// A custom scheme name is empty, longer than 32 bytes, or not a token.
        InvalidSchemeName = 113, "scheme name must be a token of 1-32 characters";
        /// An allowed origin is not a serialized origin (`scheme://host[:port]`), or is `null`.
        InvalidOrigin = 120, "allowed origin must be scheme://host[:port]";
        /// A host of the `Host` list is not a DNS name or an IP address, or has a port.
        InvalidHost = 121, "allowed host must be a name or an address, without port";
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl core::error::Error for ConfigError {}

error_table! {
    /// Why a request was challenged (HTTP 401). For logs: tell the client no more than the
    /// challenges do.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    #[non_exhaustive]
    pub enum Reason {
        /// No `Authorization` field.
        NoCredentials = 1, "no credentials";
        /// A scheme that is not offered.
        UnsupportedScheme = 2, "scheme not offered";
        /// An algorithm that is not offered.
        UnsupportedAlgorithm = 3, "algorithm not offered";
        /// A qop that is not offered (or none, when RFC 2069 is off).
        UnsupportedQop = 4, "qop not offered";
        /// The realm is not ours.
        RealmMismatch = 5, "wrong realm";
        /// The opaque is not ours.
        OpaqueMismatch = 6, "wrong opaque";
        /// The nonce is not ours (garbage, forged, old key).
        InvalidNonce = 7, "invalid nonce";
        /// The credentials were right but the nonce expired, or its history was evicted.
        StaleNonce = 8, "stale nonce";
        /// This (nonce, nc) pair was already used.
        Replayed = 9, "replayed nonce count";
        /// No such user.
        UnknownUser = 10, "unknown user";
        /// Wrong password or response.
        BadCredentials = 11, "bad credentials";
        /// The stored credential cannot serve this scheme/algorithm (e.g. PBKDF2 for Digest).
        CredentialUnusable = 12, "stored credential cannot serve this algorithm";
        /// `auth-int` without a body.
        BodyUnavailable = 13, "auth-int without a body";
        /// An unknown Bearer token.
        InvalidToken = 14, "invalid token";
        // JWT refusals (codes 20-39): Bearer challenges carry `error="invalid_token"` and
        // the message as `error_description`. Messages follow PyJWT's where it has one.
        /// Not three base64url parts separated by dots (e.g. a JWE, or a stripped token).
        MalformedToken = 20, "token is not a compact JWS (three base64url parts)";
        /// A part is not canonical unpadded base64url.
        InvalidBase64Url = 21, "invalid base64url in token";
        /// The header or claims set is not a JSON object in UTF-8 (RFC 8259).
        InvalidJson = 22, "invalid JSON in token header or claims";
        /// A header parameter or claim name occurs twice.
        DuplicateName = 23, "duplicate name in token header or claims";
        /// A part, the member count or the nesting exceeds its limit.
        TokenTooLarge = 24, "token too large (length, members or nesting)";
        /// `alg` is absent, `none`, unknown, or not allowed by the configuration.
        AlgorithmNotAllowed = 25, "The specified alg value is not allowed";
        /// The header has `crit` (no extension is understood).
        UnsupportedCritical = 26, "unsupported critical header parameter";
        /// No configured key serves the token's `alg` (and `kid`).
        UnknownKey = 27, "no key for the token's alg and kid";
        /// The signature does not verify.
        BadSignature = 28, "Signature verification failed";
        /// `exp` has passed.
        TokenExpired = 29, "Signature has expired";
        /// `nbf` is in the future.
        TokenNotYetValid = 30, "The token is not yet valid (nbf)";
        /// `iat` is in the future.
        TokenIssuedInFuture = 31, "The token is not yet valid (iat)";
        /// `aud` names none of the expected audiences, or an unexpected one.
        WrongAudience = 32, "Invalid audience";
        /// `iss` is not the expected issuer.
        WrongIssuer = 33, "Invalid issuer";
        /// A required claim is absent; the name says which.
        MissingClaim(&'static str) = 34, "Token is missing a required claim";
        /// A claim has the wrong type (a date that is not a number, a non-string `iss`, ...);
        /// the name says which.
        InvalidClaim(&'static str) = 35, "invalid claim type";
        /// Not a refusal: a connection-bound handshake (NTLM, Negotiate) needs another round;
        /// the 401 carries the server's token.
        HandshakeContinues = 40, "handshake continues";
        /// An NTLM AUTHENTICATE (or a Negotiate continuation) on a connection with no
        /// handshake in progress: replayed, or sent on another connection.
        NoHandshake = 41, "no handshake in progress on this connection";
        /// The NTLM handshake is older than the nonce lifetime.
        HandshakeExpired = 42, "handshake expired";
        /// The handshake table is full of other connections' handshakes in progress.
        HandshakeTableFull = 43, "too many handshakes in progress";
        /// An LM or NTLMv1 response: refused, only NTLMv2 is accepted.
        NtlmV1Refused = 44, "LM or NTLMv1 response refused";
        /// NTLM anonymous authentication.
        AnonymousRefused = 45, "anonymous authentication refused";
        /// The NTLMv2 client timestamp is further from now than the nonce lifetime.
        ClockSkew = 46, "client clock outside the window";
        /// NTLM or Negotiate through a check without a connection
        /// ([`Engine::check_connection`](crate::Engine::check_connection) is needed).
        ConnectionRequired = 47, "scheme needs the connection";
        /// A Negotiate token for a mechanism the server does not accept (no acceptor, or
        /// SPNEGO without a usable mechanism).
        UnsupportedMechanism = 48, "Negotiate mechanism not supported";
        /// The Negotiate acceptor refused the token (bad or expired ticket, replayed
        /// authenticator, wrong service key).
        NegotiateRefused = 49, "Negotiate token refused";
    }
}

error_table! {
    /// Why a request is refused before authentication, because of where it comes from or
    /// where it was sent ([`origin`](crate::origin)). The codes (400-499) are not HTTP
    /// statuses: [`status`](Self::status) is.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    #[non_exhaustive]
    pub enum OriginRefusal {
        /// An unsafe method (not GET, HEAD or OPTIONS) from another origin that is not
        /// allowed: cross-site request forgery, or a page of another port or subdomain.
        CrossOrigin = 400, "unsafe method from another origin";
        /// `Host` is not one of the server's names or addresses (DNS rebinding).
        ForeignHost = 401, "Host is not one of this server's names";
        /// `Host` is missing or malformed where it is needed.
        MalformedHost = 402, "missing or malformed Host";
        /// `Origin` is not a serialized origin or `null` (or was sent twice).
        MalformedOrigin = 403, "malformed Origin";
        /// `Sec-Fetch-Site` is not `same-origin`, `same-site`, `cross-site` or `none`.
        MalformedFetchSite = 404, "malformed Sec-Fetch-Site";
        /// `Referer` does not begin with `scheme://host[:port]`.
        MalformedReferer = 405, "malformed Referer";
    }
}

impl OriginRefusal {
    /// The HTTP status to answer with: 403 for another origin, 421 (Misdirected Request)
    /// for a foreign `Host`, 400 for a malformed field.
    pub const fn status(&self) -> u16 {
        match self {
            OriginRefusal::CrossOrigin => 403,
            OriginRefusal::ForeignHost => 421,
            _ => 400,
        }
    }
}

impl fmt::Display for OriginRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl core::error::Error for OriginRefusal {}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // PyJWT's wording.
            Reason::MissingClaim(c) => write!(f, "Token is missing the \"{c}\" claim"),
            Reason::InvalidClaim(c) => write!(f, "{}: {}", self.message(), c),
            _ => f.write_str(self.message()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::htfile::{ErrorKind, Format, HashError};

    /// Codes and names are what bindings key on: unique within each table, codes in each
    /// table's own range, and every row's code, name and message those of its variant.
    #[test]
    fn tables_are_unique_and_agree_with_the_variants() {
        fn unique(table: &[(u16, &str, &str)], range: core::ops::RangeInclusive<u16>) {
            for (i, (code, name, message)) in table.iter().enumerate() {
                assert!(range.contains(code), "{name}: {code}");
                assert!(!message.is_empty());
                for (c, n, m) in &table[..i] {
                    assert!(c != code && n != name && m != message, "{name} repeats {n}");
                }
            }
        }
        unique(ParseError::TABLE, 200..=299);
        unique(ConfigError::TABLE, 100..=199);
        unique(Reason::TABLE, 1..=99);
        unique(OriginRefusal::TABLE, 400..=499);
        // htfile's line errors: one range, the password field's kinds included.
        unique(&[ErrorKind::TABLE, HashError::TABLE].concat(), 301..=399);
        let rows = |e: ParseError| (e.code(), e.name(), e.message());
        assert_eq!(rows(ParseError::Empty), ParseError::TABLE[0]);
        assert_eq!(rows(ParseError::MissingParam("nonce")), (217, "MissingParam", "missing required Digest parameter"));
        assert_eq!(rows(ParseError::InvalidTokenBase64), *ParseError::TABLE.last().unwrap());
        assert_eq!(ConfigError::FeatureDisabled.code(), 108);
        assert_eq!((Reason::InvalidToken.code(), Reason::InvalidToken.name()), (14, "InvalidToken"));
        // A wrapped kind is its own table's row.
        let kind = ErrorKind::Hash(HashError::CostTooHigh(Format::Bcrypt));
        assert_eq!((kind.code(), kind.name(), kind.message()), HashError::TABLE[5]);
        assert_eq!((ErrorKind::InvalidHa1.code(), ErrorKind::InvalidHa1.name()), (307, "InvalidHa1"));
    }
}
