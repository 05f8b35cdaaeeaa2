//! `Authorization` field-value parsing (RFC 9110 §11.4, §11.6.2).
//!
//! ```text
//! credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//! auth-param  = token BWS "=" BWS ( token / quoted-string )
//! token68     = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//! ```
//!
//! [`parse`] validates the whole value in one linear pass and borrows from it: nothing is
//! copied. Quoted strings stay escaped inside a [`Value`]; their unescaped bytes are streamed
//! ([`Value::segments`]) or copied into a caller buffer ([`Value::unescape_into`]) on demand.

use crate::limits::{MAX_HEADER_LEN, MAX_PARAMS, MAX_SCHEME_LEN};
use crate::ParseError;

/// A parsed `Authorization` (or `Proxy-Authorization`) value.
#[derive(Clone, Copy, Debug)]
pub struct Authorization<'a> {
    /// tchars, hence ASCII: turned into a `str` only when asked for.
    scheme: &'a [u8],
    credentials: Credentials<'a>,
}

/// What follows the scheme.
// No heap to box into; the span table is what makes iteration free.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug)]
pub enum Credentials<'a> {
    /// The scheme alone.
    Empty,
    /// A `token68` (Basic, Bearer, Negotiate, NTLM, ...).
    Token68(&'a str),
    /// A comma-separated list of auth-params (Digest, ...).
    Params(Params<'a>),
}

impl<'a> Authorization<'a> {
    /// No scheme, no credentials: the value [`parse_into`] starts from.
    pub(crate) const fn empty() -> Self {
        Authorization { scheme: b"", credentials: Credentials::Empty }
    }
    /// The scheme as sent.
    pub fn scheme(&self) -> &'a str {
        core::str::from_utf8(self.scheme).unwrap_or("")
    }
    /// Case-insensitive scheme comparison (RFC 9110 §11.1).
    // Out of line: the engine asks up to four times per request; one copy is enough.
    #[inline(never)]
    pub fn is_scheme(&self, name: &str) -> bool {
        eq_ignore_case(self.scheme, name.as_bytes())
    }
    /// The credentials after the scheme.
    pub fn credentials(&self) -> Credentials<'a> {
        self.credentials
    }
    /// The token68, when that is what was sent.
    pub fn token68(&self) -> Option<&'a str> {
        match self.credentials {
            Credentials::Token68(t) => Some(t),
            _ => None,
        }
    }
    /// The auth-params, when that is what was sent.
    pub fn params(&self) -> Option<&Params<'a>> {
        match &self.credentials {
            Credentials::Params(p) => Some(p),
            _ => None,
        }
    }
}

/// A validated auth-param list: the borrowed text plus where each param lies in it, found
/// in the one validating pass (a fixed array of [`MAX_PARAMS`] spans, never input-sized).
#[derive(Clone, Copy, Debug)]
pub struct Params<'a> {
    raw: &'a [u8],
    spans: [Span; MAX_PARAMS],
    count: u8,
}

/// Offsets of one param in [`Params::raw`]; `u16` suffices as values are bounded by
/// [`MAX_HEADER_LEN`].
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Span {
    pub(crate) name: (u16, u16),
    pub(crate) value: (u16, u16),
    pub(crate) quoted: bool,
    /// Quoted and holding at least one `quoted-pair`: found by the validating pass, so
    /// values without escapes never need to be searched for a backslash again.
    pub(crate) escaped: bool,
}

impl<'a> Params<'a> {
    /// Number of params (empty list elements are not counted).
    pub fn len(&self) -> usize {
        self.count as usize
    }
    /// Whether the list holds no param.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
    /// The params in order.
    pub fn iter(&self) -> ParamIter<'_, 'a> {
        ParamIter { raw: self.raw, spans: self.spans[..self.count as usize].iter() }
    }

    /// The text of the list, for a [`ParamSink`] to scan again.
    pub(crate) fn text(&self) -> &'a [u8] {
        self.raw
    }
    /// The value of the param `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<Value<'a>> {
        self.iter().find(|p| p.name.eq_ignore_ascii_case(name)).map(|p| p.value)
    }
}

impl<'p, 'a> IntoIterator for &'p Params<'a> {
    type Item = Param<'a>;
    type IntoIter = ParamIter<'p, 'a>;
    fn into_iter(self) -> ParamIter<'p, 'a> {
        self.iter()
    }
}

/// Iterator over a validated [`Params`].
#[derive(Clone, Debug)]
pub struct ParamIter<'p, 'a> {
    raw: &'a [u8],
    spans: core::slice::Iter<'p, Span>,
}

impl<'a> Iterator for ParamIter<'_, 'a> {
    type Item = Param<'a>;
    fn next(&mut self) -> Option<Param<'a>> {
        let sp = self.spans.next()?;
        let name = self.raw.get(sp.name.0 as usize..sp.name.1 as usize)?;
        let raw = self.raw.get(sp.value.0 as usize..sp.value.1 as usize)?;
        // Names are tchars, hence ASCII.
        let name = core::str::from_utf8(name).ok()?;
        Some(Param { name, value: Value { raw, quoted: sp.quoted, escaped: sp.escaped } })
    }
}

/// One `name=value` auth-param.
#[derive(Clone, Copy, Debug)]
pub struct Param<'a> {
    /// The name as sent (compare case-insensitively).
    pub name: &'a str,
    /// The value.
    pub value: Value<'a>,
}

/// An auth-param value: a token, or a quoted-string kept in its escaped form.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Value<'a> {
    raw: &'a [u8],
    quoted: bool,
    /// Whether `raw` holds a `quoted-pair` (only ever for quoted values); a function of
    /// `raw` and `quoted`, so equality is unchanged.
    escaped: bool,
}

impl core::fmt::Debug for Value<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.quoted {
            write!(f, "\"{}\"", self.raw.escape_ascii())
        } else {
            write!(f, "{}", self.raw.escape_ascii())
        }
    }
}

impl<'a> Value<'a> {
    /// A value from unescaped bytes (a token or an already-unescaped string).
    pub const fn plain(bytes: &'a [u8]) -> Self {
        Value { raw: bytes, quoted: false, escaped: false }
    }
    /// A value as the scanner found it.
    pub(crate) const fn from_span(raw: &'a [u8], quoted: bool, escaped: bool) -> Self {
        Value { raw, quoted, escaped }
    }
    /// Whether it was sent as a quoted-string.
    pub fn is_quoted(&self) -> bool {
        self.quoted
    }
    /// The text as sent, without the surrounding quotes and with escapes still in place.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }
    /// The unescaped bytes when no unescaping is needed (always for tokens).
    pub fn as_unescaped(&self) -> Option<&'a [u8]> {
        if self.escaped {
            None
        } else {
            Some(self.raw)
        }
    }
    /// The unescaped bytes, in borrowed pieces.
    pub fn segments(&self) -> Segments<'a> {
        Segments { rest: self.raw, escaped: self.escaped }
    }
    /// Length after unescaping.
    // Out of line: limits call it only for over-long raw text, from several places.
    #[inline(never)]
    pub fn len(&self) -> usize {
        self.segments().map(<[u8]>::len).sum()
    }
    /// Whether the unescaped value is empty.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }
    /// Copies the unescaped value into `buf`; `None` when it does not fit.
    pub fn unescape_into<'b>(&self, buf: &'b mut [u8]) -> Option<&'b [u8]> {
        let mut n = 0;
        for seg in self.segments() {
            buf.get_mut(n..n + seg.len())?.copy_from_slice(seg);
            n += seg.len();
        }
        Some(&buf[..n])
    }
    /// Exact comparison of the unescaped value with `other` (not constant-time: for public data).
    #[cfg_attr(not(authgate_backend = "compact"), inline)]
    pub fn eq_bytes(&self, other: &[u8]) -> bool {
        // Unescaped (the usual case): one comparison, in the word form.
        if let Some(eq) = (!self.escaped).then(|| crate::accel::eq_unescaped(self.raw, other)).flatten() {
            return eq;
        }
        self.eq_bytes_escaped(other)
    }
    /// [`eq_bytes`](Self::eq_bytes) a segment at a time.
    #[cfg_attr(not(authgate_backend = "compact"), inline(never))]
    fn eq_bytes_escaped(&self, other: &[u8]) -> bool {
        let mut rest = other;
        for seg in self.segments() {
            match rest.strip_prefix(seg) {
                Some(r) => rest = r,
                None => return false,
            }
        }
        rest.is_empty()
    }
    /// ASCII case-insensitive comparison of the unescaped value with `other`.
    pub fn eq_ignore_ascii_case(&self, other: &[u8]) -> bool {
        let mut rest = other;
        for seg in self.segments() {
            if rest.len() < seg.len() || !eq_ignore_case(&rest[..seg.len()], seg) {
                return false;
            }
            rest = &rest[seg.len()..];
        }
        rest.is_empty()
    }
}

/// Iterator over the unescaped pieces of a [`Value`].
#[derive(Clone, Debug)]
pub struct Segments<'a> {
    rest: &'a [u8],
    /// Whether `rest` may hold escapes (a quoted value with at least one).
    escaped: bool,
}

impl<'a> Iterator for Segments<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        if !self.escaped {
            return Some(core::mem::take(&mut self.rest));
        }
        if self.rest[0] == b'\\' && self.rest.len() >= 2 {
            let (esc, rest) = self.rest.split_at(2);
            self.rest = rest;
            return Some(&esc[1..]);
        }
        let end = self.rest.iter().position(|&b| b == b'\\').unwrap_or(self.rest.len()).max(1);
        let (seg, rest) = self.rest.split_at(end);
        self.rest = rest;
        Some(seg)
    }
}

const TCHAR: u8 = 1;
const TOKEN68: u8 = 2;
/// `qdtext` other than `"` and `\`: HTAB, SP, VCHAR, obs-text (RFC 9110 §5.6.4).
pub(crate) const QDTEXT: u8 = 4;
/// Allowed after a backslash in a `quoted-pair`.
const PAIR: u8 = 8;
/// SP and HTAB.
const OWS: u8 = 16;
/// OWS and `,`: what separates list elements.
pub(crate) const SEP: u8 = 32;

/// One table lookup per byte: the parser's inner loops do nothing else.
pub(crate) static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0usize;
    while b < 256 {
        let c = b as u8;
        let mut k = 0;
        if matches!(c,
            b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' |
            b'^' | b'_' | b'`' | b'|' | b'~' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z')
        {
            k |= TCHAR;
        }
        if matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z') {
            k |= TOKEN68;
        }
        if c == b' ' || c == b'\t' {
            k |= OWS | SEP;
        }
        if c == b',' {
            k |= SEP;
        }
        if c == b'\t' || (c >= 0x20 && c != 0x7f) {
            k |= PAIR;
            if c != b'"' && c != b'\\' {
                k |= QDTEXT;
            }
        }
        t[b] = k;
        b += 1;
    }
    t
};

/// ASCII case-insensitive equality, a byte at a time: for the short names compared here,
/// cheaper than the standard library's chunked `eq_ignore_ascii_case` (and one copy of it).
#[inline(never)]
pub(crate) fn eq_ignore_case(a: &[u8], b: &[u8]) -> bool {
    // Equal, or the two cases of one letter.
    a.len() == b.len() && a.iter().zip(b).all(|(&x, &y)| x == y || (x ^ y == 0x20 && (x | 0x20).is_ascii_lowercase()))
}

/// RFC 9110 §5.6.2 `tchar`.
#[inline]
pub(crate) fn is_tchar(b: u8) -> bool {
    CLASS[b as usize] & TCHAR != 0
}

/// RFC 9110 §11.2 `token68` characters, without the trailing `=`s.
#[inline]
pub(crate) fn is_token68_char(b: u8) -> bool {
    CLASS[b as usize] & TOKEN68 != 0
}

#[inline]
const fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Validates `token68` syntax: `1*tchar68 *"="`.
pub(crate) fn is_token68(s: &[u8]) -> bool {
    if crate::accel::surely_not_token68(s) {
        return false;
    }
    let body = s.iter().position(|&b| !is_token68_char(b)).unwrap_or(s.len());
    body > 0 && s[body..].iter().all(|&b| b == b'=')
}

/// Parses an `Authorization` field value. Leading and trailing whitespace is ignored.
///
/// Errors are syntactic (HTTP 400). The scheme is *not* checked against any list here:
/// unknown schemes parse, so NTLM or Negotiate can be handled by the caller.
pub fn parse(header: &[u8]) -> Result<Authorization<'_>, ParseError> {
    let mut auth = Authorization::empty();
    parse_into(header, &mut auth)?;
    Ok(auth)
}

/// [`parse`] into the caller's value: the span table is filled where it stays, not copied
/// out through the `Result`s.
pub(crate) fn parse_into<'a>(header: &'a [u8], out: &mut Authorization<'a>) -> Result<(), ParseError> {
    let (scheme, rest) = parse_head(header)?;
    out.scheme = scheme;
    match rest {
        Rest::Empty => out.credentials = Credentials::Empty,
        Rest::Token68(t) => out.credentials = Credentials::Token68(t),
        Rest::Params(body) => {
            out.credentials = Credentials::Params(Params { raw: body, spans: [Span::default(); MAX_PARAMS], count: 0 });
            if let Credentials::Params(p) = &mut out.credentials {
                scan_params(body, &mut SpanSink { params: p, names: NameSet::new() })?;
            }
        }
    }
    Ok(())
}

/// What follows the scheme, before the param list (if that is what it is) is scanned.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Rest<'a> {
    /// The scheme alone.
    Empty,
    /// A `token68`.
    Token68(&'a str),
    /// The text of an auth-param list, for [`scan_params`].
    Params(&'a [u8]),
}

/// The part of [`parse`] before the param list: length, trimming, the scheme and the
/// token68 form. Its errors come first, whichever sink then takes the params.
pub(crate) fn parse_head(header: &[u8]) -> Result<(&[u8], Rest<'_>), ParseError> {
    if header.len() > MAX_HEADER_LEN {
        return Err(ParseError::TooLong);
    }
    let start = header.iter().position(|&b| !is_ows(b)).unwrap_or(header.len());
    let end = header.iter().rposition(|&b| !is_ows(b)).map_or(start, |i| i + 1);
    let value = &header[start..end];
    if value.is_empty() {
        return Err(ParseError::Empty);
    }
    let scheme_len = if crate::accel::starts_with_digest_word(value) {
        6
    } else {
        value.iter().position(|&b| !is_tchar(b)).unwrap_or(value.len())
    };
    if scheme_len == 0 {
        return Err(ParseError::InvalidScheme);
    }
    if scheme_len > MAX_SCHEME_LEN {
        return Err(ParseError::SchemeTooLong);
    }
    let scheme = &value[..scheme_len];
    let rest = &value[scheme_len..];
    if rest.is_empty() {
        return Ok((scheme, Rest::Empty));
    }
    // `1*SP` exactly: a TAB here is refused, not guessed at.
    if rest[0] != b' ' {
        return Err(ParseError::InvalidScheme);
    }
    let body_start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
    let body = &rest[body_start..];
    if is_token68(body) {
        // token68 is a subset of ASCII.
        let t = core::str::from_utf8(body).map_err(|_| ParseError::InvalidToken68)?;
        return Ok((scheme, Rest::Token68(t)));
    }
    Ok((scheme, Rest::Params(body)))
}

/// Where [`scan_params`] puts each param it has validated: the span table of [`Params`]
/// ([`parse`]), or the Digest directive slots (the engine), filled in the same pass.
pub(crate) trait ParamSink<'a> {
    /// A name this sink knows, starting at `start` in `body` and followed directly by `=`:
    /// the index where it ends. Its bytes are then one of the sink's names (tchars, ignoring
    /// ASCII case), so the scanner skips the byte-wise tchar rule for them; the name is the
    /// same maximal tchar run the rule finds, because `=` is not a tchar. `None` (the
    /// default) leaves the name to the rule.
    #[inline(always)]
    fn known_name(&mut self, _body: &'a [u8], _start: usize) -> Option<usize> {
        None
    }
    /// Takes param number `index` (below [`MAX_PARAMS`]: the scanner counts) of `body`,
    /// or refuses it with [`ParseError::DuplicateParam`] when its name repeats an earlier
    /// one, ignoring ASCII case.
    fn param(&mut self, body: &'a [u8], span: Span, index: usize) -> Result<(), ParseError>;
}

/// Duplicate names among the params of one list: one bit per (case-folded) name
/// fingerprint, so the pairwise comparison runs only when a fingerprint repeats, which for
/// distinct names is rare.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct NameSet {
    seen: u64,
}

impl NameSet {
    /// No name recorded.
    pub(crate) const fn new() -> Self {
        NameSet { seen: 0 }
    }

    /// Records `name` (offsets in `body`); whether it equals, ignoring ASCII case, one of
    /// the names `earlier` (offsets in `body`) recorded before it.
    pub(crate) fn repeats(
        &mut self,
        body: &[u8],
        name: (u16, u16),
        earlier: impl IntoIterator<Item = (u16, u16)>,
    ) -> bool {
        let text = |n: (u16, u16)| body.get(n.0 as usize..n.1 as usize).unwrap_or_default();
        let this = text(name);
        let bit = 1u64 << (name_fingerprint(this) & 63);
        let repeat = self.seen & bit != 0;
        self.seen |= bit;
        repeat && earlier.into_iter().any(|prev| prev.1 - prev.0 == name.1 - name.0 && eq_ignore_case(text(prev), this))
    }
}

/// The span table of [`parse`].
struct SpanSink<'p, 'a> {
    params: &'p mut Params<'a>,
    names: NameSet,
}

impl<'a> ParamSink<'a> for SpanSink<'_, 'a> {
    fn param(&mut self, body: &'a [u8], span: Span, index: usize) -> Result<(), ParseError> {
        let spans = &mut self.params.spans;
        let earlier = spans.get(..index).unwrap_or_default().iter().map(|s| s.name);
        if self.names.repeats(body, span.name, earlier) {
            return Err(ParseError::DuplicateParam);
        }
        if let Some(slot) = spans.get_mut(index) {
            *slot = span;
        }
        self.params.count = (index + 1) as u8;
        Ok(())
    }
}

/// One pass over the list: syntax and count, each param handed to `sink` (which refuses
/// duplicates) as soon as it is complete. The one grammar of auth-param lists.
///
/// Index-based, reading one byte at a time through `at`, which answers 0 past the end: 0 is
/// a CTL, in no byte class, so every loop stops there without a separate length test, and
/// only the (rare) error paths tell the end from a real NUL.
// Out of line in the compact form (flash); otherwise inlined as the compiler sees fit.
#[cfg_attr(authgate_backend = "compact", inline(never))]
pub(crate) fn scan_params<'a, S: ParamSink<'a>>(body: &'a [u8], sink: &mut S) -> Result<(), ParseError> {
    let mut count = 0;
    let at = |i: usize| body.get(i).copied().unwrap_or(0);
    // A CTL where something else was expected is reported as such: it is the likelier attack.
    let unexpected = |i: usize, otherwise: ParseError| match body.get(i) {
        Some(&b) if b < 0x20 || b == 0x7f => ParseError::ControlCharacter,
        _ => otherwise,
    };
    // OWS and empty list elements.
    let mut i = skip_class(body, 0, SEP);
    while i < body.len() {
        let name_start = i;
        i = match sink.known_name(body, i) {
            Some(end) => end,
            None => skip_class(body, i, TCHAR),
        };
        if i == name_start {
            return Err(unexpected(i, ParseError::ExpectedParamName));
        }
        let name = (name_start as u16, i as u16);
        // `name=value` without OWS is the usual case: one test each.
        if at(i) != b'=' {
            i = skip_class(body, i, OWS);
            if at(i) != b'=' {
                return Err(unexpected(i, ParseError::ExpectedEquals));
            }
        }
        i += 1;
        let mut first = at(i);
        if CLASS[first as usize] & OWS != 0 {
            i = skip_class(body, i, OWS);
            first = at(i);
        }
        let (value, quoted, escaped) = if first == b'"' {
            i += 1;
            let start = i;
            let mut escaped = false;
            loop {
                i = crate::accel::skip_qdtext(body, i);
                match at(i) {
                    b'"' => break,
                    b'\\' if i + 1 >= body.len() => return Err(ParseError::UnterminatedQuotedString),
                    b'\\' if CLASS[at(i + 1) as usize] & PAIR != 0 => {
                        escaped = true;
                        i += 2;
                    }
                    _ if i >= body.len() => return Err(ParseError::UnterminatedQuotedString),
                    _ => return Err(ParseError::ControlCharacter),
                }
            }
            let v = (start as u16, i as u16);
            i += 1;
            (v, true, escaped)
        } else {
            let start = i;
            i = skip_class(body, i, TCHAR);
            if i == start {
                return Err(unexpected(i, ParseError::ExpectedValue));
            }
            ((start as u16, i as u16), false, false)
        };
        // Then OWS, and `,` or the end; then OWS and empty list elements.
        if crate::accel::comma_space_before_name(body, i) {
            i += 2;
        } else if i < body.len() {
            i = skip_class(body, i, OWS);
            match at(i) {
                b',' => i = skip_class(body, i + 1, SEP),
                _ if i >= body.len() => {}
                _ => return Err(unexpected(i, ParseError::ExpectedComma)),
            }
        }
        if count == MAX_PARAMS {
            return Err(ParseError::TooManyParams);
        }
        sink.param(body, Span { name, value, quoted, escaped }, count)?;
        count += 1;
    }
    if count == 0 {
        return Err(ParseError::ExpectedParamName);
    }
    Ok(())
}

/// The index of the first byte at or after `i` that is not in `class`.
// Inlined for speed; one copy in the compact form (flash).
#[cfg_attr(not(authgate_backend = "compact"), inline(always))]
#[cfg_attr(authgate_backend = "compact", inline(never))]
pub(crate) fn skip_class(s: &[u8], i: usize, class: u8) -> usize {
    let rest = s.get(i..).unwrap_or(&[]);
    i + rest.iter().position(|&b| CLASS[b as usize] & class == 0).unwrap_or(rest.len())
}

/// Equal for names equal ignoring ASCII case (`| 0x20` lower-cases letters and leaves
/// other tchars alone, so case-insensitively equal names always agree).
#[inline]
fn name_fingerprint(name: &[u8]) -> u32 {
    match (name.first(), name.last()) {
        (Some(&f), Some(&l)) => (f | 0x20) as u32 + 3 * (l | 0x20) as u32 + 5 * name.len() as u32,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64: the test inputs' pseudo-random source.
    fn step(x: &mut u64) {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
    }

    /// Quoted strings against a byte-at-a-time reading of RFC 9110's `quoted-string`, with
    /// qdtext that the word loop flags (HTAB, SP, `!`, obs-text), escapes and ends at every
    /// offset from a word boundary.
    #[test]
    fn quoted_strings_agree_with_a_bytewise_reading() {
        const ALPHABET: [u8; 12] = [b'a', b'a', b'a', b' ', b'\t', b'!', 0x80, 0xff, b'\\', b'"', 0x7f, 0x01];
        // The value the grammar reads from `content` (after the opening quote), or `None`.
        fn reference(content: &[u8]) -> Option<&[u8]> {
            let mut i = 0;
            loop {
                match *content.get(i)? {
                    b'"' => return Some(&content[..i]),
                    b'\\' if content.get(i + 1).is_some_and(|&b| b == b'\t' || b >= 0x20 && b != 0x7f) => i += 2,
                    b if b == b'\t' || b >= 0x20 && b != 0x7f && b != b'\\' => i += 1,
                    _ => return None,
                }
            }
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        // Fewer under Miri (interpreted: minutes otherwise).
        for _ in 0..if cfg!(miri) { 500 } else { 100_000 } {
            step(&mut x);
            let len = (x % 24) as usize;
            let mut header = heapless::Vec::<u8, 40>::new();
            header.extend_from_slice(b"Digest x=\"").unwrap();
            let start = header.len();
            for j in 0..len {
                header.push(ALPHABET[((x >> (2 * j + 8)) % 12) as usize]).unwrap();
            }
            if x & (1 << 62) != 0 {
                header.push(b'"').unwrap();
            }
            let content = &header[start..];
            let parsed = parse(&header);
            let want = reference(content).filter(|v| v.len() + 1 == content.len());
            match (want, &parsed) {
                (Some(v), Ok(a)) => {
                    assert_eq!(a.params().unwrap().get("x").unwrap().raw(), v, "{:?}", header.escape_ascii())
                }
                (None, Err(_)) => {}
                _ => panic!("{:?}: {:?} vs {:?}", header.escape_ascii(), want.map(|v| v.escape_ascii()), parsed.err()),
            }
        }
    }

    /// `is_token68` (with its last-byte shortcut) against the grammar read byte by byte, and
    /// `parse_head`'s word comparison of `Digest ` against the scan it stands for.
    #[test]
    fn token68_and_the_usual_scheme_word() {
        const ALPHABET: [u8; 10] = [b'a', b'=', b'"', b',', b' ', b'+', b'/', b'~', b'-', b'Z'];
        let reference = |s: &[u8]| {
            let body = s.iter().position(|&b| !is_token68_char(b)).unwrap_or(s.len());
            body > 0 && s[body..].iter().all(|&b| b == b'=')
        };
        let mut x = 0x1234_5678_9abc_def1u64;
        // Fewer under Miri (interpreted: minutes otherwise).
        for _ in 0..if cfg!(miri) { 2_000 } else { 50_000 } {
            step(&mut x);
            let len = (x % 9) as usize;
            let s: [u8; 8] = core::array::from_fn(|j| ALPHABET[((x >> (4 * j + 8)) % 10) as usize]);
            assert_eq!(is_token68(&s[..len]), reference(&s[..len]), "{:?}", s[..len].escape_ascii());
        }
        for (header, scheme) in [
            (&b"Digest x=1"[..], &b"Digest"[..]),
            (b"  Digest  x=1", b"Digest"),
            (b"digest x=1", b"digest"),
            (b"Digest! x=1", b"Digest!"),
            (b"Digestx x=1", b"Digestx"),
            (b"Digest", b"Digest"),
            (b"Digest ", b"Digest"),
            (b"Digest abc==", b"Digest"),
        ] {
            assert_eq!(parse_head(header).map(|(s, _)| s), Ok(scheme), "{:?}", header.escape_ascii());
        }
        assert!(matches!(parse_head(b"Digest abc=="), Ok((_, Rest::Token68("abc==")))));
        assert!(matches!(parse_head(b"Digest\tx=1"), Err(ParseError::InvalidScheme)));
    }

    #[test]
    fn token68_and_params() {
        let a = parse(b"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==").unwrap();
        assert!(a.is_scheme("basic"));
        assert_eq!(a.token68(), Some("QWxhZGRpbjpvcGVuIHNlc2FtZQ=="));

        let a = parse(b"Digest username=\"Mu\\\"fasa\", realm=r,, qop=auth ,").unwrap();
        let p = a.params().unwrap();
        assert_eq!(p.len(), 3);
        let u = p.get("USERNAME").unwrap();
        assert!(u.eq_bytes(b"Mu\"fasa"));
        let mut buf = [0u8; 16];
        assert_eq!(u.unescape_into(&mut buf).unwrap(), b"Mu\"fasa");
        assert_eq!(u.len(), 7);
        assert!(p.get("qop").unwrap().eq_bytes(b"auth"));
    }

    #[test]
    fn rejects() {
        assert_eq!(parse(b"").unwrap_err(), ParseError::Empty);
        assert_eq!(parse(b"  ").unwrap_err(), ParseError::Empty);
        assert_eq!(parse(b"Digest a=\"").unwrap_err(), ParseError::UnterminatedQuotedString);
        assert_eq!(parse(b"Digest a=\"x\\").unwrap_err(), ParseError::UnterminatedQuotedString);
        assert_eq!(parse(b"Digest a=b, A=c").unwrap_err(), ParseError::DuplicateParam);
        assert_eq!(parse(b"Digest a=\"\x00\"").unwrap_err(), ParseError::ControlCharacter);
        assert_eq!(parse(b"Digest a=b c").unwrap_err(), ParseError::ExpectedComma);
        assert_eq!(parse(b"Digest =b").unwrap_err(), ParseError::ExpectedParamName);
        assert_eq!(parse(b"Digest ,,,").unwrap_err(), ParseError::ExpectedParamName);
        assert_eq!(parse(b"\"Basic\" x").unwrap_err(), ParseError::InvalidScheme);
        assert_eq!(parse(b"Basic\x00 x").unwrap_err(), ParseError::InvalidScheme);
        assert_eq!(parse(b"Digest a= ,b=c").unwrap_err(), ParseError::ExpectedValue);
        assert_eq!(parse(b"Digest\tusername=x").unwrap_err(), ParseError::InvalidScheme);
        let mut long = [b'a'; MAX_HEADER_LEN + 1];
        long[5] = b' ';
        assert_eq!(parse(&long).unwrap_err(), ParseError::TooLong);
    }

    #[test]
    fn is_scheme_is_ascii_case_insensitive() {
        for x in (0..128u8).filter(|&b| is_tchar(b)) {
            let scheme = [x, b'a'];
            let auth = parse(&scheme).unwrap();
            for y in 0..128u8 {
                let name = [y, b'A'];
                let name = core::str::from_utf8(&name).unwrap();
                assert_eq!(auth.is_scheme(name), scheme.eq_ignore_ascii_case(name.as_bytes()), "{x} {y}");
            }
            assert!(!auth.is_scheme("a"));
        }
    }

    /// `eq_bytes` (words from each end in the word form) is slice equality: every length up
    /// to 40 against itself, one byte changed at every position, and every other length.
    #[test]
    fn eq_bytes_is_slice_equality() {
        let base: [u8; 40] = core::array::from_fn(|i| b'a' + (i % 26) as u8);
        for n in 0..=40 {
            let a = &base[..n];
            for escaped in [false, true] {
                let v = Value::from_span(a, escaped, escaped);
                assert!(v.eq_bytes(a), "{n}");
                for m in (0..=40).filter(|&m| m != n) {
                    assert!(!v.eq_bytes(&base[..m]), "{n} {m}");
                }
                for pos in 0..n {
                    let mut b = base;
                    b[pos] ^= 1;
                    assert!(!v.eq_bytes(&b[..n]), "{n} {pos}");
                }
            }
        }
    }

    #[test]
    fn word_scan_matches_byte_rules() {
        // Every special byte at every offset of a long quoted-string, so each lands in
        // every lane of the eight-byte scan and in the byte-wise tail.
        for special in [0x00u8, 0x1f, 0x7f, b'\t', b' ', 0x80, 0xff, b'"', b'\\'] {
            for at in 0..40 {
                let mut h = *b"Digest a=\"0123456789012345678901234567890123456789\", b=c";
                h[10 + at] = special;
                let r = parse(&h);
                match special {
                    0x00 | 0x1f | 0x7f => assert_eq!(r.unwrap_err(), ParseError::ControlCharacter),
                    b'"' => assert!(r.is_err()),
                    b'\\' if at == 39 => assert_eq!(r.unwrap_err(), ParseError::UnterminatedQuotedString),
                    b'\\' => {
                        let p = r.unwrap();
                        let v = p.params().unwrap().get("a").unwrap();
                        assert_eq!(v.as_unescaped(), None);
                        assert_eq!(v.len(), 39);
                    }
                    _ => {
                        let p = r.unwrap();
                        let v = p.params().unwrap().get("a").unwrap();
                        assert_eq!(v.as_unescaped().map(<[u8]>::len), Some(40));
                        assert_eq!(v.segments().count(), 1);
                    }
                }
            }
        }
        assert_eq!(parse(b"Digest ab=1, xY=2, Ab=3").unwrap_err(), ParseError::DuplicateParam);
        assert_eq!(parse(b"Digest ab=1, ba=2, a=3, b=4").unwrap().params().unwrap().len(), 4);
    }

    #[test]
    fn param_count_is_bounded() {
        let mut buf = [0u8; 2048];
        let mut n = 0;
        for word in b"Digest ".iter() {
            buf[n] = *word;
            n += 1;
        }
        for i in 0..(MAX_PARAMS + 1) {
            let s = [b'a' + (i / 26) as u8, b'a' + (i % 26) as u8, b'=', b'1', b','];
            buf[n..n + 5].copy_from_slice(&s);
            n += 5;
        }
        assert_eq!(parse(&buf[..n]).unwrap_err(), ParseError::TooManyParams);
    }
}
