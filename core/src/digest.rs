//! Digest access authentication (RFC 7616, with RFC 2617/2069 compatibility).
//!
//! [`DigestCredentials`] reads the params of a parsed `Authorization` value without copying;
//! [`response`] and friends hash straight from the borrowed, still-escaped values, so no
//! intermediate string is ever built.

use crate::accel::with_gather;
use crate::hash::{Gatherer, HashAlgorithm, HashOutput, Hasher};
use crate::limits::*;
use crate::parse::{eq_ignore_case, NameSet, ParamSink, Span, Value};
use crate::{Authorization, ParseError};

/// A Digest `algorithm` (RFC 7616 §3.3 and the IANA registry).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `MD5`
    Md5,
    /// `MD5-sess`
    Md5Sess,
    /// `SHA-256`
    Sha256,
    /// `SHA-256-sess`
    Sha256Sess,
    /// `SHA-512-256`
    Sha512_256,
    /// `SHA-512-256-sess`
    Sha512_256Sess,
}

impl Algorithm {
    /// All algorithms, strongest first.
    pub const ALL: [Algorithm; 6] = [
        Algorithm::Sha512_256,
        Algorithm::Sha512_256Sess,
        Algorithm::Sha256,
        Algorithm::Sha256Sess,
        Algorithm::Md5,
        Algorithm::Md5Sess,
    ];

    /// The token used on the wire.
    pub const fn name(self) -> &'static str {
        // A table in declaration order: one load where a match is inlined as a jump table
        // of string constants at every use.
        const NAMES: [&str; 6] = ["MD5", "MD5-sess", "SHA-256", "SHA-256-sess", "SHA-512-256", "SHA-512-256-sess"];
        NAMES[self as usize]
    }

    /// Case-insensitive lookup of a wire token.
    #[cfg_attr(not(authgate_backend = "compact"), inline(always))]
    pub fn from_name(name: &[u8]) -> Option<Self> {
        if let Some(a) = crate::accel::usual_algorithm(name) {
            return Some(a);
        }
        // The six names have six different lengths: one comparison.
        let a = match name.len() {
            3 => Algorithm::Md5,
            8 => Algorithm::Md5Sess,
            7 => Algorithm::Sha256,
            12 => Algorithm::Sha256Sess,
            11 => Algorithm::Sha512_256,
            16 => Algorithm::Sha512_256Sess,
            _ => return None,
        };
        eq_ignore_case(a.name().as_bytes(), name).then_some(a)
    }

    /// The hash family.
    pub const fn hash(self) -> HashAlgorithm {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => HashAlgorithm::Md5,
            Algorithm::Sha256 | Algorithm::Sha256Sess => HashAlgorithm::Sha256,
            Algorithm::Sha512_256 | Algorithm::Sha512_256Sess => HashAlgorithm::Sha512_256,
        }
    }

    /// Whether this is a `-sess` variant (HA1 also covers nonce and cnonce).
    pub const fn is_session(self) -> bool {
        matches!(self, Algorithm::Md5Sess | Algorithm::Sha256Sess | Algorithm::Sha512_256Sess)
    }
}

/// Quality of protection (RFC 7616 §3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Qop {
    /// `auth`: the request line is authenticated.
    Auth,
    /// `auth-int`: the entity body is authenticated too.
    AuthInt,
}

impl Qop {
    /// The token used on the wire.
    pub const fn name(self) -> &'static str {
        match self {
            Qop::Auth => "auth",
            Qop::AuthInt => "auth-int",
        }
    }
    /// Case-insensitive lookup of a wire token.
    #[cfg_attr(not(authgate_backend = "compact"), inline(always))]
    pub fn from_name(name: &[u8]) -> Option<Self> {
        let q = if name.len() == 4 { Qop::Auth } else { Qop::AuthInt };
        eq_ignore_case(q.name().as_bytes(), name).then_some(q)
    }
}

impl DigestCredentials<'_> {
    /// The decoded `response`, when it is hex of at most 32 bytes.
    pub(crate) fn response_bytes(&self) -> Option<&HashOutput> {
        self.response_bytes.as_ref()
    }
}

/// A param that must be one of a known set: unknown values are a reason to challenge (401),
/// not a syntax error (400), since the client may retry with one the server offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Known<T> {
    /// A value this library knows.
    Known(T),
    /// Anything else.
    Unknown,
}

/// Who the client says it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Username<'a> {
    /// `username="..."`, or with `userhash=true` the hex of H(username ":" realm).
    Plain(Value<'a>),
    /// `username*=UTF-8''...` (RFC 8187), when the name cannot be sent as a quoted-string.
    Extended(ExtValue<'a>),
}

/// The Digest credentials of one request, borrowed from the header.
///
/// Most servers let [`Engine`](crate::Engine) do the whole check; this is the layer below
/// it. RFC 7616 §3.9.1, SHA-256:
///
/// ```
/// use authgate::digest::{ha1, response, ResponseInput};
/// use authgate::{parse, Algorithm, DigestCredentials, HashAlgorithm};
///
/// let header = concat!(
///     r#"Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", "#,
///     r#"algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, "#,
///     r#"cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, "#,
///     r#"response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", "#,
///     r#"opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#,
/// );
/// let auth = parse(header.as_bytes())?;
/// let creds = DigestCredentials::from_authorization(&auth)?;
/// assert!(creds.uri.eq_bytes(b"/dir/index.html"));
/// assert_eq!(creds.nc, Some(1));
///
/// let ha1 = ha1(HashAlgorithm::Sha256, b"Mufasa", b"http-auth@example.org", b"Circle of Life").unwrap();
/// let expected = response(Algorithm::Sha256, &ha1, &creds, &ResponseInput { method: b"GET", body_hash: None });
/// assert!(creds.response.eq_bytes(expected.unwrap().to_hex().as_bytes()));
/// # Ok::<(), authgate::ParseError>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct DigestCredentials<'a> {
    /// `username` or `username*`.
    pub username: Username<'a>,
    /// `realm`.
    pub realm: Value<'a>,
    /// `nonce`.
    pub nonce: Value<'a>,
    /// `uri`.
    pub uri: Value<'a>,
    /// `response` (hex).
    pub response: Value<'a>,
    /// `algorithm`; MD5 when absent (RFC 7616 §3.4).
    pub algorithm: Known<Algorithm>,
    /// `qop`; `None` for RFC 2069 clients.
    pub qop: Option<Known<Qop>>,
    /// `nc` as a number (validated: 8 hex digits, not zero).
    pub nc: Option<u32>,
    /// `nc` exactly as sent (hashed as sent).
    pub nc_text: Option<Value<'a>>,
    /// `cnonce`.
    pub cnonce: Option<Value<'a>>,
    /// `opaque`.
    pub opaque: Option<Value<'a>>,
    /// `userhash=true`.
    pub userhash: bool,
    /// `response` decoded, when it is unescaped hex of at most 32 bytes: decoded once, in the
    /// pass that checks it is hex.
    response_bytes: Option<HashOutput>,
}

impl<'a> DigestCredentials<'a> {
    /// Reads and validates the Digest params. The scheme word is checked.
    pub fn from_authorization(auth: &Authorization<'a>) -> Result<Self, ParseError> {
        if !auth.is_scheme("Digest") {
            return Err(ParseError::InvalidScheme);
        }
        let params = auth.params().ok_or(ParseError::ExpectedParams)?;
        // The engine's path (`parse` has already refused every syntax error and duplicate
        // the scan could find).
        Self::read(params.text())
    }

    /// The one Digest parameter path, the engine's and
    /// [`from_authorization`](Self::from_authorization)'s: the text of an auth-param list
    /// scanned into the directives ([`DigestParams::read`]), then validated
    /// ([`from_params`](Self::from_params)). Out of line in the compact form, so that the
    /// directives' table lives only in this call's frame.
    #[cfg_attr(not(authgate_backend = "compact"), inline(always))]
    #[cfg_attr(authgate_backend = "compact", inline(never))]
    pub(crate) fn read(body: &'a [u8]) -> Result<Self, ParseError> {
        let mut d = DigestParams::new();
        d.read(body)?;
        Self::from_params(&d)
    }

    /// Validates the directives [`DigestParams::read`] found: one set of rules, one order of
    /// errors, for the engine and [`from_authorization`](Self::from_authorization) alike.
    pub(crate) fn from_params(params: &DigestParams<'a>) -> Result<Self, ParseError> {
        let d = &params.directives;
        let username = match (d.username(), d.username_star()) {
            (Some(_), Some(_)) => return Err(ParseError::ConflictingUsername),
            (Some(u), None) => {
                within_limit(u, Directive::Username)?;
                Username::Plain(*u)
            }
            (None, Some(u)) => {
                let raw = u.as_unescaped().ok_or(ParseError::InvalidExtValue)?;
                if cfg!(feature = "username-star") {
                    Username::Extended(ExtValue::parse(raw)?)
                } else {
                    // Compiled out: kept unvalidated, and the check answers 401 (unknown user).
                    Username::Extended(ExtValue { latin1: false, encoded: raw })
                }
            }
            (None, None) => return Err(ParseError::MissingParam(Directive::Username.name())),
        };
        // The required directives, then the optional ones with a limit, in the order of
        // their errors.
        let mut response_bytes = None;
        for dir in [Directive::Realm, Directive::Nonce, Directive::Uri, Directive::Response] {
            within_limit(d.get(dir).as_ref().ok_or(ParseError::MissingParam(dir.name()))?, dir)?;
            if dir == Directive::Response {
                response_bytes = check_response(*d.response())?;
            }
        }
        for dir in [Directive::Cnonce, Directive::Opaque] {
            if let Some(v) = d.get(dir) {
                within_limit(v, dir)?;
            }
        }
        // Python's requests quotes algorithm and qop; accept both forms.
        let algorithm = match d.algorithm() {
            None => Known::Known(Algorithm::Md5),
            Some(v) => match v.as_unescaped().and_then(Algorithm::from_name) {
                Some(a) => Known::Known(a),
                None => Known::Unknown,
            },
        };
        let qop = d.qop().map(|v| match v.as_unescaped().and_then(Qop::from_name) {
            Some(q) => Known::Known(q),
            None => Known::Unknown,
        });
        let nc = d.nc().map(parse_nc).transpose()?;
        // qop, nc and cnonce come together (RFC 7616 §3.4); -sess also needs cnonce.
        match (qop.is_some(), nc.is_some(), d.cnonce().is_some()) {
            (true, true, true) | (false, false, false) => {}
            _ => return Err(ParseError::QopMismatch),
        }
        if matches!(algorithm, Known::Known(a) if a.is_session()) && d.cnonce().is_none() {
            return Err(ParseError::MissingParam(Directive::Cnonce.name()));
        }
        let userhash = match d.userhash() {
            None => false,
            Some(v) if v.eq_ignore_ascii_case(b"true") => true,
            Some(v) if v.eq_ignore_ascii_case(b"false") => false,
            Some(_) => return Err(ParseError::InvalidUserhash),
        };
        if userhash && matches!(username, Username::Extended(_)) {
            return Err(ParseError::ConflictingUsername);
        }
        // The values are read from the directives only here, straight into the result (not
        // held in locals across the calls above).
        let present = |v: &Option<Value<'a>>| v.unwrap_or(Value::plain(b""));
        Ok(DigestCredentials {
            username,
            realm: present(d.realm()),
            nonce: present(d.nonce()),
            uri: present(d.uri()),
            response: present(d.response()),
            algorithm,
            qop,
            nc,
            nc_text: *d.nc(),
            cnonce: *d.cnonce(),
            opaque: *d.opaque(),
            userhash,
            response_bytes,
        })
    }
}

/// Declares the Digest directives this library reads, once: each line gives the
/// [`Directive`], the accessor of [`Directives`] that reads its value, its name on the wire
/// and its length limit (`limits.rs`; 0 where the rules of
/// [`DigestCredentials::from_params`] bound it otherwise). Adding a directive is a line here
/// (and its rule there); the word form's lookup table is built from [`Directive::ALL`].
macro_rules! directives {
    ($($variant:ident $field:ident $name:literal $limit:expr;)*) => {
        /// A Digest directive this library reads (RFC 7616 §3.4).
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum Directive {
            $(#[doc = $name] $variant,)*
        }

        impl Directive {
            /// Every directive, in declaration order.
            pub(crate) const ALL: &'static [Directive] = &[$(Directive::$variant,)*];
            /// The names, in declaration order: one load where a match is a jump table.
            const NAMES: &'static [&'static str] = &[$($name,)*];
            /// The length limits, in declaration order.
            const LIMITS: &'static [u16] = &[$($limit as u16,)*];
        }

        impl<'a> Directives<'a> {
            $(
                #[doc = concat!("The value of `", $name, "`, if sent.")]
                pub(crate) fn $field(&self) -> &Option<Value<'a>> {
                    self.get(Directive::$variant)
                }
            )*
        }
    };
}

directives! {
    Username username "username" MAX_USERNAME_LEN;
    UsernameStar username_star "username*" 0;
    Realm realm "realm" MAX_REALM_LEN;
    Nonce nonce "nonce" MAX_NONCE_LEN;
    Uri uri "uri" MAX_URI_LEN;
    Response response "response" MAX_RESPONSE_LEN;
    Algorithm algorithm "algorithm" 0;
    Qop qop "qop" 0;
    Nc nc "nc" 0;
    Cnonce cnonce "cnonce" MAX_CNONCE_LEN;
    Opaque opaque "opaque" MAX_OPAQUE_LEN;
    Userhash userhash "userhash" 0;
}

impl Directive {
    /// The name on the wire (lower case: compared ignoring ASCII case).
    pub(crate) const fn name(self) -> &'static str {
        Directive::NAMES[self as usize]
    }

    /// The length limit of the unescaped value (0: none of its own).
    fn limit(self) -> usize {
        Directive::LIMITS[self as usize] as usize
    }

    /// The directive named `name` (ASCII case-insensitive). The directives are lower-case
    /// letters and one `*` (0x2a): for a tchar `n`, `n | 0x20` equals one of those exactly
    /// when `n` is it, in either case.
    pub(crate) fn of(name: &[u8]) -> Option<Directive> {
        Directive::ALL
            .iter()
            .copied()
            .find(|d| d.name().len() == name.len() && d.name().bytes().zip(name).all(|(c, &n)| n | 0x20 == c))
    }
}

/// The value of each directive of one param list, by [`Directive`] (read with the accessors
/// named after them).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Directives<'a> {
    values: [Option<Value<'a>>; Directive::ALL.len()],
}

impl<'a> Directives<'a> {
    /// The value of `d`, if sent.
    pub(crate) fn get(&self, d: Directive) -> &Option<Value<'a>> {
        &self.values[d as usize]
    }
}

/// The Digest params of one list, as [`scan_params`](crate::parse::scan_params) validates
/// them: each known directive's value by name; unrecognized directives are ignored
/// (RFC 7616 §3.4) but their names kept, so a repeated one is refused like a repeated known
/// one.
#[derive(Clone, Debug)]
pub(crate) struct DigestParams<'a> {
    directives: Directives<'a>,
    /// Names of the unrecognized params (offsets in the list's text), for duplicates; a
    /// `heapless::Vec`, nothing to clear up front.
    unknown: heapless::Vec<(u16, u16), MAX_PARAMS, u8>,
    unknown_names: NameSet,
    /// The directive the word form's [`ParamSink::known_name`] just found, for `param` to take
    /// without looking the name up again.
    known: Option<Directive>,
}

impl<'a> DigestParams<'a> {
    /// No directive seen yet.
    pub(crate) const fn new() -> Self {
        DigestParams {
            directives: Directives { values: [None; Directive::ALL.len()] },
            unknown: heapless::Vec::new(),
            unknown_names: NameSet::new(),
            known: None,
        }
    }

    /// Scans the text of an auth-param list into the directives: the one pass of the
    /// engine, and of [`DigestCredentials::from_authorization`].
    pub(crate) fn read(&mut self, body: &'a [u8]) -> Result<(), ParseError> {
        crate::parse::scan_params(body, self)
    }
}

impl<'a> ParamSink<'a> for DigestParams<'a> {
    #[inline(always)]
    fn known_name(&mut self, body: &'a [u8], start: usize) -> Option<usize> {
        let (d, end) = crate::accel::directive_at(body, start)?;
        self.known = Some(d);
        Some(end)
    }

    #[cfg_attr(not(authgate_backend = "compact"), inline(always))]
    fn param(&mut self, body: &'a [u8], span: Span, _index: usize) -> Result<(), ParseError> {
        let value = body.get(span.value.0 as usize..span.value.1 as usize).unwrap_or_default();
        let directive = match self.known.take() {
            Some(d) => Some(d),
            None => crate::accel::directive_in(body, span.name.0 as usize, span.name.1 as usize),
        };
        match directive {
            // A known directive's slot is taken exactly when an earlier param had its name
            // (the lookup is exact, ignoring ASCII case).
            Some(d) => match &mut self.directives.values[d as usize] {
                Some(_) => return Err(ParseError::DuplicateParam),
                slot => *slot = Some(Value::from_span(value, span.quoted, span.escaped)),
            },
            // An unknown name can only repeat another unknown one.
            None => {
                if self.unknown_names.repeats(body, span.name, self.unknown.iter().copied()) {
                    return Err(ParseError::DuplicateParam);
                }
                let _ = self.unknown.push(span.name);
            }
        }
        Ok(())
    }
}

/// The `response` is hex: decoded when it is a hash's length (the usual case), which checks
/// it.
#[cfg_attr(not(authgate_backend = "compact"), inline(always))]
fn check_response(r: Option<Value<'_>>) -> Result<Option<HashOutput>, ParseError> {
    let r = r.unwrap_or(Value::plain(b""));
    let response_bytes = r.as_unescaped().and_then(HashOutput::from_hex);
    if response_bytes.is_none() && !r.segments().all(|seg| seg.iter().all(u8::is_ascii_hexdigit)) {
        return Err(ParseError::InvalidResponse);
    }
    Ok(response_bytes)
}

/// `v` within the limit of `d`. Borrowed: the rare over-long case measures it where it is.
fn within_limit(v: &Value<'_>, d: Directive) -> Result<(), ParseError> {
    if v.raw().len() > d.limit() && v.len() > d.limit() {
        return Err(ParseError::ValueTooLong(d.name()));
    }
    Ok(())
}

/// `nc`: eight hex digits, not zero.
fn parse_nc(v: Value<'_>) -> Result<u32, ParseError> {
    let s = v.as_unescaped().ok_or(ParseError::InvalidNonceCount)?;
    if s.len() != 8 {
        return Err(ParseError::InvalidNonceCount);
    }
    let mut n = 0u32;
    for &c in s {
        n = (n << 4) | crate::hash::hex_value(c).ok_or(ParseError::InvalidNonceCount)? as u32;
    }
    if n == 0 {
        return Err(ParseError::InvalidNonceCount);
    }
    Ok(n)
}

/// An RFC 8187 `ext-value`: `charset "'" [ language ] "'" value-chars`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExtValue<'a> {
    latin1: bool,
    encoded: &'a [u8],
}

impl<'a> ExtValue<'a> {
    /// Validates an ext-value. Only `UTF-8` and `ISO-8859-1` are accepted (RFC 8187 §3.2.1).
    // Out of line: `username*` is rare, and this keeps it out of every Digest check's code.
    #[inline(never)]
    pub fn parse(raw: &'a [u8]) -> Result<Self, ParseError> {
        let mut parts = raw.splitn(3, |&b| b == b'\'');
        let (charset, lang, encoded) = match (parts.next(), parts.next(), parts.next()) {
            (Some(c), Some(l), Some(e)) => (c, l, e),
            _ => return Err(ParseError::InvalidExtValue),
        };
        let latin1 = if eq_ignore_case(charset, b"UTF-8") {
            false
        } else if eq_ignore_case(charset, b"ISO-8859-1") {
            true
        } else {
            return Err(ParseError::InvalidExtValue);
        };
        if !lang.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(ParseError::InvalidExtValue);
        }
        let mut i = 0;
        while i < encoded.len() {
            let b = encoded[i];
            if b == b'%' {
                let ok = encoded.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                    && encoded.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
                if !ok {
                    return Err(ParseError::InvalidExtValue);
                }
                i += 3;
            } else if is_attr_char(b) {
                i += 1;
            } else {
                return Err(ParseError::InvalidExtValue);
            }
        }
        let v = ExtValue { latin1, encoded };
        let mut buf = [0u8; MAX_USERNAME_LEN];
        if v.decode_into(&mut buf).is_none() {
            // Invalid UTF-8 after decoding, or longer than a user name may be.
            return Err(ParseError::InvalidExtValue);
        }
        Ok(v)
    }

    /// Decodes into `out` as UTF-8; `None` when it does not fit or is not valid.
    pub fn decode_into<'o>(&self, out: &'o mut [u8]) -> Option<&'o str> {
        let mut n = 0;
        let mut i = 0;
        let hex = |i: usize| self.encoded.get(i).copied().and_then(crate::hash::hex_value);
        while i < self.encoded.len() {
            let mut b = self.encoded[i];
            if b == b'%' {
                b = (hex(i + 1)? << 4) | hex(i + 2)?;
                i += 3;
            } else {
                i += 1;
            }
            if self.latin1 && b >= 0x80 {
                *out.get_mut(n)? = 0xc0 | (b >> 6);
                *out.get_mut(n + 1)? = 0x80 | (b & 0x3f);
                n += 2;
            } else {
                *out.get_mut(n)? = b;
                n += 1;
            }
        }
        let s = core::str::from_utf8(&out[..n]).ok()?;
        if s.chars().any(char::is_control) {
            return None;
        }
        Some(s)
    }
}

/// RFC 8187 `attr-char`.
fn is_attr_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(b, b'!' | b'#' | b'$' | b'&' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~')
}

/// Appends the unescaped bytes of a value, then `:`.
// One copy in the compact form (flash).
#[cfg_attr(authgate_backend = "compact", inline(never))]
fn feed_colon<G: Gatherer>(g: &mut G, v: &Value<'_>) {
    feed(g, v);
    g.put(b":");
}

/// Appends the unescaped bytes of a value (without escapes, the usual case, one piece).
#[cfg_attr(not(authgate_backend = "compact"), inline(always))]
fn feed<G: Gatherer>(g: &mut G, v: &Value<'_>) {
    if let Some(bytes) = v.as_unescaped() {
        return g.put(bytes);
    }
    for seg in v.segments() {
        g.put(seg);
    }
}

/// `H(username ":" realm ":" password)`, of the bytes as given.
pub fn ha1(alg: HashAlgorithm, username: &[u8], realm: &[u8], password: &[u8]) -> Option<HashOutput> {
    if !alg.is_enabled() {
        return None;
    }
    Some(with_gather!(alg, g => {
        g.put_colon(username);
        g.put_colon(realm);
        g.put(password);
        g.finish()
    }))
}

/// `H(username ":" realm)`, hex: the `userhash` of RFC 7616 §3.4.4.
pub fn userhash(alg: HashAlgorithm, username: &[u8], realm: &[u8]) -> Option<HashOutput> {
    let mut h = Hasher::new(alg)?;
    h.update_colon(username);
    h.update(realm);
    Some(h.finish())
}

/// The parts of a request a Digest response covers, beyond the credentials.
#[derive(Clone, Copy, Debug)]
pub struct ResponseInput<'a> {
    /// The request method, or empty for `rspauth` (RFC 7616 §3.5).
    pub method: &'a [u8],
    /// `H(entity-body)` for `auth-int`.
    pub body_hash: Option<&'a HashOutput>,
}

/// Computes the request-digest (RFC 7616 §3.4.1) from the stored HA1 (for a non-`-sess`
/// algorithm: H(user:realm:password)). Returns `None` when the hash family is compiled out
/// or `auth-int` is asked without a body hash.
pub fn response(
    alg: Algorithm,
    ha1: &HashOutput,
    c: &DigestCredentials<'_>,
    input: &ResponseInput<'_>,
) -> Option<HashOutput> {
    let mut ha1 = *ha1;
    if !session_ha1(alg, &mut ha1, c) {
        return None;
    }
    response_with(alg.hash(), &ha1, c, input)
}

/// Turns the stored HA1 into the one a response is computed from: unchanged, or for a
/// `-sess` algorithm `H(H(user:realm:pass) ":" nonce ":" cnonce)` (in place: no second value
/// in the caller's frame); `false` when that cannot be computed. Computed once per check and
/// shared by the response and `rspauth`.
// Inlined in the word form (the usual, non-`-sess` case is a test); the hashing out of line.
#[cfg_attr(not(authgate_backend = "compact"), inline)]
pub(crate) fn session_ha1(alg: Algorithm, ha1: &mut HashOutput, c: &DigestCredentials<'_>) -> bool {
    if !alg.is_session() {
        return true;
    }
    match session_ha1_hash(alg, ha1, c) {
        Some(session) => {
            *ha1 = session;
            true
        }
        None => false,
    }
}

/// [`session_ha1`] of a `-sess` algorithm.
#[cfg_attr(not(authgate_backend = "compact"), inline(never))]
fn session_ha1_hash(alg: Algorithm, ha1: &HashOutput, c: &DigestCredentials<'_>) -> Option<HashOutput> {
    if !alg.hash().is_enabled() {
        return None;
    }
    let cnonce = c.cnonce.as_ref()?;
    Some(with_gather!(alg.hash(), g => {
        g.put_hex(ha1);
        g.put(b":");
        feed_colon(&mut g, &c.nonce);
        feed(&mut g, cnonce);
        g.finish()
    }))
}

/// Whether `sent` is the response [`response_with`] gives (compared in constant time; `false`
/// when there is none).
// A call of its own in the compact form: the computed response is not on the caller's stack.
#[cfg_attr(not(authgate_backend = "compact"), inline(always))]
#[cfg_attr(authgate_backend = "compact", inline(never))]
pub(crate) fn response_is(
    sent: Option<&HashOutput>,
    hash: HashAlgorithm,
    ha1: &HashOutput,
    c: &DigestCredentials<'_>,
    input: &ResponseInput<'_>,
) -> bool {
    match (response_with(hash, ha1, c, input), sent) {
        (Some(expected), Some(sent)) => expected.ct_eq(sent),
        _ => false,
    }
}

/// [`response`] from the HA1 [`session_ha1`] gave (its hex written by the gatherer, for the
/// response and again for `rspauth`: no hex text held across the check).
pub(crate) fn response_with(
    hash: HashAlgorithm,
    ha1: &HashOutput,
    c: &DigestCredentials<'_>,
    input: &ResponseInput<'_>,
) -> Option<HashOutput> {
    let qop = match c.qop {
        Some(Known::Known(q)) => Some(q),
        Some(Known::Unknown) => return None,
        None => None,
    };
    if !hash.is_enabled() {
        return None;
    }
    with_gather!(hash, g => response_in(&mut g, qop, ha1, c, input))
}

/// [`response_with`] with a fresh gatherer of the family (one copy per family in the word
/// form).
#[inline(always)]
fn response_in<G: Gatherer>(
    g: &mut G,
    qop: Option<Qop>,
    ha1: &HashOutput,
    c: &DigestCredentials<'_>,
    input: &ResponseInput<'_>,
) -> Option<HashOutput> {
    g.put_colon(input.method);
    feed(g, &c.uri);
    if qop == Some(Qop::AuthInt) {
        if !cfg!(feature = "auth-int") {
            return None;
        }
        g.put(b":");
        g.put_hex(input.body_hash?);
    }
    // `finish` leaves the hasher fresh: the response reuses it.
    let ha2 = g.finish();
    g.put_hex(ha1);
    g.put(b":");
    feed_colon(g, &c.nonce);
    if let Some(q) = qop {
        feed_colon(g, c.nc_text.as_ref()?);
        feed(g, c.cnonce.as_ref()?);
        // ":" qop ":" in one piece, each a constant (a fixed-size copy, not one by length).
        match q {
            Qop::Auth => g.put(b":auth:"),
            Qop::AuthInt => g.put(b":auth-int:"),
        }
    }
    g.put_hex(&ha2);
    Some(g.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(feature = "md5")]
    fn rfc2617_example() {
        let header = br#"Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41""#;
        let auth = crate::parse(header).unwrap();
        let c = DigestCredentials::from_authorization(&auth).unwrap();
        assert_eq!(c.nc, Some(1));
        let ha1 = ha1(HashAlgorithm::Md5, b"Mufasa", b"testrealm@host.com", b"Circle Of Life").unwrap();
        let r = response(Algorithm::Md5, &ha1, &c, &ResponseInput { method: b"GET", body_hash: None }).unwrap();
        assert_eq!(r.to_hex().as_str(), "6629fae49393a05397450978507c4ef1");
    }

    /// `parse_nc` against the hex rule: every byte at every position, and a spread of values
    /// written in both cases.
    #[test]
    fn parse_nc_is_the_hex_rule() {
        fn reference(d: &[u8; 8]) -> Option<u32> {
            let mut n = 0u32;
            for &c in d {
                n = (n << 4) | crate::hash::hex_value(c)? as u32;
            }
            (n != 0).then_some(n)
        }
        let bases = [*b"00000001", *b"fFaA0919", *b"00000000", *b"ffffffff", *b"FFFFFFFF"];
        // Two bases under Miri (interpreted: half a minute with all five).
        for &base in &bases[..if cfg!(miri) { 2 } else { 5 }] {
            for pos in 0..8 {
                for c in 0..=255u8 {
                    let mut d = base;
                    d[pos] = c;
                    assert_eq!(parse_nc(Value::plain(&d)).ok(), reference(&d), "{d:?}");
                }
            }
        }
        let mut x = 0x9e37_79b9u32;
        // Fewer under Miri (interpreted: minutes otherwise).
        for _ in 0..if cfg!(miri) { 500 } else { 10_000 } {
            x = x.wrapping_mul(0x0101_0101).wrapping_add(0x7f4a_7c15).rotate_left(7);
            for digits in [b"0123456789abcdef", b"0123456789ABCDEF"] {
                let d: [u8; 8] = core::array::from_fn(|i| digits[(x >> (28 - 4 * i)) as usize & 15]);
                assert_eq!(parse_nc(Value::plain(&d)).ok(), (x != 0).then_some(x), "{d:?}");
            }
        }
    }

    /// The engine's path (the scanner filling `DigestParams` straight from the header) and
    /// the public one (`parse`'s validation first, then the same scan of its text) give the
    /// same credentials or the same error: `parse`'s duplicate and syntax rules agree with
    /// the directives'.
    #[test]
    fn digest_sink_agrees_with_span_sink() {
        fn fused(h: &[u8]) -> Result<DigestCredentials<'_>, ParseError> {
            let mut d = DigestParams::new();
            match crate::parse::parse_head(h)? {
                (_, crate::parse::Rest::Params(body)) => d.read(body)?,
                _ => return Err(ParseError::ExpectedParams),
            }
            DigestCredentials::from_params(&d)
        }
        fn same(a: &DigestCredentials<'_>, b: &DigestCredentials<'_>) -> bool {
            (a.username, a.realm, a.nonce, a.uri, a.response, a.algorithm, a.qop)
                == (b.username, b.realm, b.nonce, b.uri, b.response, b.algorithm, b.qop)
                && (a.nc, a.nc_text, a.cnonce, a.opaque, a.userhash, a.response_bytes)
                    == (b.nc, b.nc_text, b.cnonce, b.opaque, b.userhash, b.response_bytes)
        }
        let ok = br#"Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41""#;
        let cases: &[&[u8]] = &[
            ok,
            b"Digest username=a, realm=r, nonce=n, uri=u, response=00, x=1, ab=2, BA=3, aXb=4, bxa=5",
            b"Digest username=a, realm=r, nonce=n, uri=u, response=00, ab=1, AB=2",
            b"Digest username=a, realm=r, nonce=n, uri=u, response=00, foo=1, FOO=2",
            b"Digest username=a, realm=r, nonce=n, uri=u, response=00, USERNAME=b",
            b"Digest username=a, realm=r, nonce=n, uri=u, response=00, username*=b",
            b"Digest username=a, realm=r, nonce=n, uri=u, response=00, nonce*=b, Nonce*=c",
            b"Digest username=a, realm=r, nonce=n, uri=u, response=\"0\\0\"",
            b"Digest username=a, realm=r, nonce=n, uri=u, response=zz",
            b"Digest username=a, realm=r, nonce=n, uri=u, response=00, qop=auth",
            b"Digest username=a, realm=r, nonce=n, uri=u, response=00, nc=0, qop=auth, cnonce=c",
            b"Digest username=a, realm=r, uri=u, response=00",
            b"Digest username=a, username=b c",
            b"Digest a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,i=9,j=10,k=11,l=12,m=13,n=14,o=15,p=16,q=17,r=18,s=19,t=20,u=21,v=22,w=23,x=24,y=25",
            b"Digest Basic",
            b"Digest",
            // The word-at-a-time directive names (`accel::directive_at`): every case,
            // the 9-byte ones, names too near the end for a word, OWS or a CTL before `=`,
            // bytes that `| 0x20` folds onto a directive's, and near-misses.
            b"Digest USERNAME=a, REALM=r, NONCE=n, URI=u, RESPONSE=00, ALGORITHM=MD5, QOP=auth, NC=00000001, CNONCE=c, OPAQUE=o, USERHASH=false",
            b"Digest UserName*=UTF-8''a, rEaLm=r, nonce=n, uri=u, response=00",
            b"Digest username\n=a, realm=r, nonce=n, uri=u, response=00",
            b"Digest usernam\n=a, realm=r, nonce=n, uri=u, response=00",
            b"Digest username=a, realm=r, nonce=n, uri=u, response=00, algorith\x0d=MD5",
            b"Digest username=a, realm=r, nonce=n, uri=u, response=00, algorithm =MD5",
            b"Digest username=a, realm=r, nonce=n, uri=u, response=00, algorithm\t=MD5",
            b"Digest username=a, realm=r, nonce=n, uri=u, response=00, usernamex=1, username*x=2",
            b"Digest username=a, realm=r, nonce=n, uri=u, response=00, re\x01lm=1",
            b"Digest username=a, realm=r, nonce=n, uri=u, response=00, nc=1",
            b"Digest username=a, realm=r, nonce=n, uri=u, response=00, nc=",
            b"Digest username=a, realm=r, nonce=n, uri=u, response=00, qop==auth",
            b"Digest username=a, realm=r, nonce=n, uri=u, response=00, realm=s",
            b"Digest username=a, realm=r, nonce=n, uri=u, response=00, uris=1, urI=2",
            b"Digest =a, realm=r",
            b"Digest uri=u",
        ];
        for &h in cases {
            let two_step = crate::parse(h).and_then(|a| DigestCredentials::from_authorization(&a));
            match (fused(h), two_step) {
                (Ok(a), Ok(b)) => assert!(same(&a, &b), "{:?}", h.escape_ascii()),
                (a, b) => assert_eq!(a.err(), b.err(), "{:?}", h.escape_ascii()),
            }
        }
        assert!(fused(ok).is_ok());
        assert_eq!(fused(cases[2]).err(), Some(ParseError::DuplicateParam));
        assert_eq!(fused(cases[4]).err(), Some(ParseError::DuplicateParam));
        assert!(fused(cases[1]).is_ok());
    }

    #[test]
    fn algorithm_names() {
        let expected = [
            (Algorithm::Md5, "MD5"),
            (Algorithm::Md5Sess, "MD5-sess"),
            (Algorithm::Sha256, "SHA-256"),
            (Algorithm::Sha256Sess, "SHA-256-sess"),
            (Algorithm::Sha512_256, "SHA-512-256"),
            (Algorithm::Sha512_256Sess, "SHA-512-256-sess"),
        ];
        for (a, name) in expected {
            assert_eq!(a.name(), name);
            assert_eq!(Algorithm::from_name(name.as_bytes()), Some(a));
            // Any case (the constants on 64-bit hosts are only the usual spellings).
            assert_eq!(Algorithm::from_name(name.to_ascii_lowercase().as_bytes()), Some(a));
            assert_eq!(Algorithm::from_name(name.to_ascii_uppercase().as_bytes()), Some(a));
            assert_eq!(Algorithm::from_name(&name.as_bytes()[1..]), None);
        }
        for (q, name) in [(Qop::Auth, "auth"), (Qop::AuthInt, "auth-int")] {
            assert_eq!(Qop::from_name(name.as_bytes()), Some(q));
            assert_eq!(Qop::from_name(name.to_ascii_uppercase().as_bytes()), Some(q));
            assert_eq!(Qop::from_name(&name.as_bytes()[1..]), None);
        }
        assert_eq!(Qop::from_name(b"autx"), None);
        assert_eq!(Algorithm::from_name(b"MD6"), None);
    }

    #[test]
    fn directive_lookup_is_exact_and_case_insensitive() {
        for &dir in Directive::ALL {
            let d = dir.name().as_bytes();
            assert_eq!(Directive::of(d), Some(dir));
            let mut upper = [0u8; 9];
            for (u, c) in upper.iter_mut().zip(d) {
                *u = c.to_ascii_uppercase();
            }
            assert_eq!(Directive::of(&upper[..d.len()]), Some(dir));
            // Any other byte at any position is another name.
            for pos in 0..d.len() {
                for b in [b'!', b'*', b'x', b'X', b'0', b'~', b'_'] {
                    let mut other = [0u8; 9];
                    other[..d.len()].copy_from_slice(d);
                    if other[pos].eq_ignore_ascii_case(&b) {
                        continue;
                    }
                    other[pos] = b;
                    assert_eq!(Directive::of(&other[..d.len()]), None, "{:?}", other.escape_ascii());
                }
            }
        }
        for other in [&b""[..], b"u", b"usernam", b"username**", b"cnonces", b"nonce*"] {
            assert_eq!(Directive::of(other), None);
        }
    }

    /// The word form's lookups in a header body (a hash of the name's first word) answer
    /// what the portable form (the name alone) answers, whatever follows the name (or when
    /// nothing does), for every tchar in place of, or after, each byte; and the word form's
    /// quick names, found before the byte rule, are exactly those names followed by `=`.
    #[test]
    fn directive_forms_agree() {
        use crate::accel::{portable, word};
        let mut checked = 0;
        for d in Directive::ALL.iter().map(|d| d.name().as_bytes()).chain([&b"x"[..], b"nc2", b"ab", b"usernameX"]) {
            for pos in 0..=d.len() {
                // Every tchar; under Miri (interpreted: minutes) one in seven.
                let step = if cfg!(miri) { 7 } else { 1 };
                let tchars = (0..=255u8).filter(|&b| crate::parse::is_tchar(b)).step_by(step);
                for b in core::iter::once(None).chain(tchars.map(Some)) {
                    let mut name = [0u8; 12];
                    name[..d.len()].copy_from_slice(d);
                    let mut len = d.len();
                    match b {
                        Some(b) if pos < d.len() => name[pos] = b,
                        Some(b) => {
                            name[pos] = b;
                            len += 1;
                        }
                        None => name[..d.len()].make_ascii_uppercase(),
                    }
                    let name = &name[..len];
                    for tail in [&b""[..], b"=", b"=1, a=b", b"*=1, usernameeeeeeee"] {
                        let mut body = [0u8; 40];
                        body[..len].copy_from_slice(name);
                        body[len..len + tail.len()].copy_from_slice(tail);
                        let body = &body[..len + tail.len()];
                        let want = portable::directive_in(body, 0, len);
                        assert_eq!(word::directive_in(body, 0, len), want, "{:?}", body.escape_ascii());
                        // The scanner's quick name: the tchar run up to `=`, as the byte rule
                        // would read it.
                        if let Some((d, end)) = word::directive_at(body, 0) {
                            assert_eq!(body.get(end), Some(&b'='), "{:?}", body.escape_ascii());
                            assert!(body[..end].iter().all(|&b| crate::parse::is_tchar(b)));
                            assert_eq!(Some(d), portable::directive_in(body, 0, end), "{:?}", body.escape_ascii());
                        }
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 1000);
    }

    #[test]
    fn ext_value() {
        let v = ExtValue::parse(b"UTF-8''J%C3%A4s%C3%B8n%20Doe").unwrap();
        let mut buf = [0; 32];
        assert_eq!(v.decode_into(&mut buf), Some("Jäsøn Doe"));
        let v = ExtValue::parse(b"iso-8859-1'en'J%E4s").unwrap();
        assert_eq!(v.decode_into(&mut buf), Some("Jäs"));
        for bad in [&b"J%C3%A4s"[..], b"UTF-8''%C3", b"UTF-8''%ZZ", b"KOI8-R''x", b"UTF-8''a b", b"UTF-8''%FF"] {
            assert_eq!(ExtValue::parse(bad), Err(ParseError::InvalidExtValue), "{:?}", bad.escape_ascii());
        }
    }
}
