//! Errors. A [`ParseError`] means the request is malformed (HTTP 400); failing
//! authentication is not an error but a [`Challenge`](crate::Challenge) (HTTP 401).

use core::fmt;

/// Why an `Authorization` value is malformed. Each maps to HTTP 400.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseError {
    /// The value is empty or only whitespace.
    Empty,
    /// The value is longer than [`MAX_HEADER_LEN`](crate::limits::MAX_HEADER_LEN).
    TooLong,
    /// The scheme is not a token, or is not followed by a space.
    InvalidScheme,
    /// The scheme is longer than [`MAX_SCHEME_LEN`](crate::limits::MAX_SCHEME_LEN).
    SchemeTooLong,
    /// A control character (NUL, CR, LF, ...) where none is allowed.
    ControlCharacter,
    /// A quoted-string has no closing quote, or ends in a lone backslash.
    UnterminatedQuotedString,
    /// An auth-param name was expected.
    ExpectedParamName,
    /// An auth-param name is not followed by `=`.
    ExpectedEquals,
    /// An auth-param has no value.
    ExpectedValue,
    /// Something other than `,` follows an auth-param.
    ExpectedComma,
    /// More than [`MAX_PARAMS`](crate::limits::MAX_PARAMS) auth-params.
    TooManyParams,
    /// The same auth-param name occurs twice (RFC 9110 §11.2).
    DuplicateParam,
    /// The scheme needs a token68 (Basic, Bearer) and got params or nothing.
    ExpectedToken68,
    /// The scheme needs auth-params (Digest) and got a token68 or nothing.
    ExpectedParams,
    /// A token68 is not valid for its scheme (e.g. a Bearer b64token).
    InvalidToken68,
    /// Basic credentials are not canonical padded base64 (RFC 4648 §4).
    InvalidBase64,
    /// Decoded Basic credentials have no `:` (RFC 7617 §2).
    MissingColon,
    /// A required Digest param is missing; the name says which.
    MissingParam(&'static str),
    /// A value is longer than its limit; the name says which.
    ValueTooLong(&'static str),
    /// Both `username` and `username*` were sent (RFC 7616 §3.4).
    ConflictingUsername,
    /// `username*` is not a valid RFC 8187 ext-value.
    InvalidExtValue,
    /// `nc` is not exactly 8 hex digits, or is zero.
    InvalidNonceCount,
    /// `qop` was sent without `nc`/`cnonce`, or `nc`/`cnonce` without `qop`.
    QopMismatch,
    /// `userhash` is neither `true` nor `false`.
    InvalidUserhash,
    /// `response` is not hex.
    InvalidResponse,
    /// The Digest `uri` does not match the request-target (RFC 7616 §3.4.6).
    UriMismatch,
}

impl ParseError {
    /// A fixed, human-readable description.
    pub const fn message(&self) -> &'static str {
        match self {
            ParseError::Empty => "empty Authorization value",
            ParseError::TooLong => "Authorization value too long",
            ParseError::InvalidScheme => "invalid authentication scheme",
            ParseError::SchemeTooLong => "authentication scheme too long",
            ParseError::ControlCharacter => "control character in Authorization value",
            ParseError::UnterminatedQuotedString => "unterminated quoted-string",
            ParseError::ExpectedParamName => "expected an auth-param name",
            ParseError::ExpectedEquals => "expected '=' after an auth-param name",
            ParseError::ExpectedValue => "expected an auth-param value",
            ParseError::ExpectedComma => "expected ',' between auth-params",
            ParseError::TooManyParams => "too many auth-params",
            ParseError::DuplicateParam => "duplicate auth-param",
            ParseError::ExpectedToken68 => "scheme expects a token68",
            ParseError::ExpectedParams => "scheme expects auth-params",
            ParseError::InvalidToken68 => "invalid token",
            ParseError::InvalidBase64 => "invalid base64 in Basic credentials",
            ParseError::MissingColon => "Basic credentials without ':'",
            ParseError::MissingParam(_) => "missing required Digest parameter",
            ParseError::ValueTooLong(_) => "parameter value too long",
            ParseError::ConflictingUsername => "both username and username* sent",
            ParseError::InvalidExtValue => "invalid username* ext-value",
            ParseError::InvalidNonceCount => "nc must be 8 hex digits, not zero",
            ParseError::QopMismatch => "qop, nc and cnonce must be sent together",
            ParseError::InvalidUserhash => "userhash must be true or false",
            ParseError::InvalidResponse => "response is not hex",
            ParseError::UriMismatch => "Digest uri does not match the request-target",
        }
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

/// An invalid configuration value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigError {
    /// The realm is empty, too long, or holds a control character.
    InvalidRealm,
    /// The opaque value is too long or not a token68-safe string.
    InvalidOpaque,
    /// No scheme is offered.
    NoScheme,
    /// A scheme is offered whose Cargo feature (`basic`, `bearer`) is not compiled in.
    SchemeDisabled,
    /// Digest is offered without an algorithm this build supports.
    NoAlgorithm,
    /// Digest is offered without qop and without RFC 2069 compatibility.
    NoQop,
    /// The nonce lifetime is zero.
    InvalidLifetime,
    /// Too many entries in a list.
    TooMany,
    /// A Digest option is asked for (`auth-int`, RFC 2069, `userhash`) whose Cargo feature
    /// is not compiled in.
    FeatureDisabled,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConfigError::InvalidRealm => "realm must be 1-128 bytes of UTF-8 without control characters",
            ConfigError::InvalidOpaque => "opaque must be 1-128 token68 characters",
            ConfigError::NoScheme => "no authentication scheme offered",
            ConfigError::SchemeDisabled => "scheme offered but compiled out (Cargo feature)",
            ConfigError::NoAlgorithm => "Digest offered without a supported algorithm",
            ConfigError::NoQop => "Digest offered without qop and without RFC 2069 mode",
            ConfigError::InvalidLifetime => "nonce lifetime must be positive",
            ConfigError::TooMany => "too many entries",
            ConfigError::FeatureDisabled => "Digest option asked for but compiled out (Cargo feature)",
        })
    }
}

impl core::error::Error for ConfigError {}
