//! A bounded JSON scanner for JWS headers and JWT claims (RFC 8259), in the parser's style:
//! one linear pass over a decoded buffer, nothing copied, strings kept escaped and compared
//! or unescaped on demand.
//!
//! It validates the whole text (strings, escapes, numbers, literals, nesting) but keeps only
//! what the verifier reads: the top-level members, each a name and the span of its value.
//! Nesting is tracked in a bit stack (no recursion), at most [`MAX_JWT_JSON_DEPTH`] deep;
//! at most [`MAX_JWT_MEMBERS`] top-level members, no name twice.

use crate::limits::{MAX_JWT_JSON_DEPTH, MAX_JWT_MEMBERS};
use crate::Reason;

/// A JSON string as sent, between its quotes, still escaped; valid by construction
/// (every escape well formed, surrogates paired, no control character).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JsonStr<'a> {
    raw: &'a [u8],
}

impl<'a> JsonStr<'a> {
    /// The escaped bytes, between the quotes.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The bytes themselves when the string holds no escape.
    pub fn as_unescaped(&self) -> Option<&'a str> {
        if self.raw.contains(&b'\\') {
            None
        } else {
            core::str::from_utf8(self.raw).ok()
        }
    }

    /// The decoded UTF-8 bytes, a character at a time.
    pub fn chars(&self) -> Unescape<'a> {
        Unescape { rest: self.raw, pending: [0; 4], at: 0, len: 0 }
    }

    /// Whether the decoded string is `other`.
    pub fn eq_bytes(&self, other: &[u8]) -> bool {
        if !self.raw.contains(&b'\\') {
            return self.raw == other;
        }
        let mut theirs = other.iter();
        self.chars().all(|b| theirs.next() == Some(&b)) && theirs.next().is_none()
    }

    /// Whether both decode to the same string (`"\u0061"` is `"a"`).
    pub fn eq_json(&self, other: &JsonStr<'_>) -> bool {
        if !self.raw.contains(&b'\\') {
            return other.eq_bytes(self.raw);
        }
        let mut theirs = other.chars();
        self.chars().all(|b| theirs.next() == Some(b)) && theirs.next().is_none()
    }

    /// Decodes into `buf`; `None` when it does not fit.
    pub fn unescape_into<'b>(&self, buf: &'b mut [u8]) -> Option<&'b str> {
        let mut n = 0;
        for b in self.chars() {
            *buf.get_mut(n)? = b;
            n += 1;
        }
        // Escapes decode to whole characters and the rest was checked UTF-8.
        core::str::from_utf8(&buf[..n]).ok()
    }
}

/// The bytes of a decoded [`JsonStr`].
#[derive(Clone, Debug)]
pub struct Unescape<'a> {
    rest: &'a [u8],
    pending: [u8; 4],
    at: u8,
    len: u8,
}

impl Iterator for Unescape<'_> {
    type Item = u8;
    fn next(&mut self) -> Option<u8> {
        if self.at < self.len {
            self.at += 1;
            return Some(self.pending[usize::from(self.at - 1)]);
        }
        let (&b, rest) = self.rest.split_first()?;
        if b != b'\\' {
            self.rest = rest;
            return Some(b);
        }
        // Validated when scanned: a known escape, four hex digits, surrogates paired.
        let (&e, rest) = rest.split_first()?;
        self.rest = rest;
        let simple = match e {
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let mut c = u32::from(hex4(self.rest)?);
                self.rest = self.rest.get(4..)?;
                if (0xd800..0xdc00).contains(&c) {
                    let low = u32::from(hex4(self.rest.get(2..)?)?);
                    self.rest = self.rest.get(6..)?;
                    c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
                }
                let ch = char::from_u32(c)?;
                self.len = ch.encode_utf8(&mut self.pending).len() as u8;
                self.at = 1;
                return Some(self.pending[0]);
            }
            other => other,
        };
        Some(simple)
    }
}

fn hex4(b: &[u8]) -> Option<u16> {
    let d = b.get(..4)?;
    d.iter().try_fold(0u16, |acc, &c| Some(acc << 4 | u16::from(crate::hash::hex_value(c)?)))
}

/// A JSON value's kind and span.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonValue<'a> {
    /// A string.
    Str(JsonStr<'a>),
    /// A number, as written.
    Number(&'a [u8]),
    /// `true` / `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// An array, brackets included.
    Array(&'a [u8]),
    /// An object, braces included.
    Object(&'a [u8]),
}

/// Scans `text` as one JSON object, handing each member's name and value to `member` in
/// order (values validated to their end); duplicate names, more than [`MAX_JWT_MEMBERS`]
/// members, nesting deeper than [`MAX_JWT_JSON_DEPTH`] and anything but an object are
/// refused. Only the names are kept (for the duplicate check): on 32-bit targets 8 bytes each.
pub(crate) fn object<'a>(
    text: &'a [u8],
    mut member: impl FnMut(JsonStr<'a>, JsonValue<'a>) -> Result<(), Reason>,
) -> Result<(), Reason> {
    if core::str::from_utf8(text).is_err() {
        return Err(Reason::InvalidJson);
    }
    let mut s = Scanner { b: text, i: 0 };
    let mut names = [JsonStr { raw: b"" }; MAX_JWT_MEMBERS];
    let mut len = 0;
    s.ws();
    s.expect(b'{')?;
    s.ws();
    if s.peek() == Some(b'}') {
        s.i += 1;
    } else {
        loop {
            s.ws();
            let name = s.string()?;
            s.ws();
            s.expect(b':')?;
            s.ws();
            let value = s.value()?;
            if names[..len].iter().any(|n| n.eq_json(&name)) {
                return Err(Reason::DuplicateName);
            }
            *names.get_mut(len).ok_or(Reason::TokenTooLarge)? = name;
            len += 1;
            member(name, value)?;
            s.ws();
            match s.next() {
                Some(b',') => continue,
                Some(b'}') => break,
                _ => return Err(Reason::InvalidJson),
            }
        }
    }
    s.ws();
    if s.i != text.len() {
        return Err(Reason::InvalidJson);
    }
    Ok(())
}

/// The strings of an array of strings (`["a","b"]`), each handed to `f`; anything else in
/// the array is refused (`Err(())`).
pub(crate) fn for_each_string<'a>(array: &'a [u8], mut f: impl FnMut(JsonStr<'a>)) -> Result<(), ()> {
    let mut s = Scanner { b: array, i: 0 };
    s.expect(b'[').map_err(|_| ())?;
    s.ws();
    if s.peek() == Some(b']') {
        return Ok(());
    }
    loop {
        s.ws();
        f(s.string().map_err(|_| ())?);
        s.ws();
        match s.next() {
            Some(b',') => continue,
            Some(b']') => return Ok(()),
            _ => return Err(()),
        }
    }
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }
    fn expect(&mut self, c: u8) -> Result<(), Reason> {
        if self.next() == Some(c) {
            Ok(())
        } else {
            Err(Reason::InvalidJson)
        }
    }
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// A string; the scanner stands on its opening quote.
    fn string(&mut self) -> Result<JsonStr<'a>, Reason> {
        self.expect(b'"')?;
        let start = self.i;
        loop {
            match self.next().ok_or(Reason::InvalidJson)? {
                b'"' => return Ok(JsonStr { raw: &self.b[start..self.i - 1] }),
                b'\\' => match self.next().ok_or(Reason::InvalidJson)? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                    b'u' => {
                        let c = self.hex4()?;
                        if (0xdc00..0xe000).contains(&c) {
                            return Err(Reason::InvalidJson);
                        }
                        if (0xd800..0xdc00).contains(&c) {
                            self.expect(b'\\')?;
                            self.expect(b'u')?;
                            if !(0xdc00..0xe000).contains(&self.hex4()?) {
                                return Err(Reason::InvalidJson);
                            }
                        }
                    }
                    _ => return Err(Reason::InvalidJson),
                },
                c if c < 0x20 => return Err(Reason::InvalidJson),
                _ => {}
            }
        }
    }

    fn hex4(&mut self) -> Result<u16, Reason> {
        let v = hex4(&self.b[self.i..]).ok_or(Reason::InvalidJson)?;
        self.i += 4;
        Ok(v)
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> Result<&'a [u8], Reason> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(Reason::InvalidJson),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(Reason::InvalidJson);
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(Reason::InvalidJson);
            }
        }
        Ok(&self.b[start..self.i])
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), Reason> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(Reason::InvalidJson)
        }
    }

    /// One value; containers are walked to their end with a bit stack (1: object, 0: array).
    fn value(&mut self) -> Result<JsonValue<'a>, Reason> {
        let start = self.i;
        match self.peek() {
            Some(b'"') => return self.string().map(JsonValue::Str),
            Some(b'-' | b'0'..=b'9') => return self.number().map(JsonValue::Number),
            Some(b't') => return self.literal(b"true").map(|_| JsonValue::Bool(true)),
            Some(b'f') => return self.literal(b"false").map(|_| JsonValue::Bool(false)),
            Some(b'n') => return self.literal(b"null").map(|_| JsonValue::Null),
            Some(b'{' | b'[') => {}
            _ => return Err(Reason::InvalidJson),
        }
        // Inside a top-level member already: one level used.
        let mut stack: u32 = 0;
        let mut depth = 1usize;
        // After an opening bracket or a comma a value comes next (`open`); after a value, a
        // comma or the closing bracket.
        let mut open = true;
        loop {
            self.ws();
            let c = self.peek().ok_or(Reason::InvalidJson)?;
            if open && matches!(c, b'{' | b'[') {
                depth += 1;
                if depth > MAX_JWT_JSON_DEPTH {
                    return Err(Reason::TokenTooLarge);
                }
                stack = stack << 1 | u32::from(c == b'{');
                self.i += 1;
                self.ws();
                match (c, self.peek()) {
                    (b'{', Some(b'}')) | (b'[', Some(b']')) => {
                        self.i += 1;
                        stack >>= 1;
                        depth -= 1;
                    }
                    (b'{', _) => {
                        self.string()?;
                        self.ws();
                        self.expect(b':')?;
                        open = true;
                        continue;
                    }
                    _ => {
                        open = true;
                        continue;
                    }
                }
            } else if open {
                self.value()?;
            }
            if depth == 1 {
                break;
            }
            // After a value inside the container on top of the stack.
            self.ws();
            let in_object = stack & 1 == 1;
            match (self.next(), in_object) {
                (Some(b','), true) => {
                    self.ws();
                    self.string()?;
                    self.ws();
                    self.expect(b':')?;
                    open = true;
                }
                (Some(b','), false) => open = true,
                (Some(b'}'), true) | (Some(b']'), false) => {
                    stack >>= 1;
                    depth -= 1;
                    open = false;
                    if depth == 1 {
                        break;
                    }
                }
                _ => return Err(Reason::InvalidJson),
            }
        }
        let span = &self.b[start..self.i];
        Ok(if span[0] == b'{' { JsonValue::Object(span) } else { JsonValue::Array(span) })
    }
}

/// A NumericDate (RFC 7519 §2): the whole seconds of a JSON number, truncated toward zero as
/// PyJWT's `int()` does (`1.9` is 1, `-1.5` is -1, `1e3` is 1000), saturated at ±2^62;
/// `None` for anything but a number.
pub(crate) fn numeric_date(v: &JsonValue<'_>) -> Option<i64> {
    let JsonValue::Number(text) = v else { return None };
    let (negative, text) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, *text),
    };
    let (mantissa, exponent) = match text.iter().position(|&c| c == b'e' || c == b'E') {
        Some(p) => (&text[..p], &text[p + 1..]),
        None => (text, &b""[..]),
    };
    let (int_digits, frac_digits) = match mantissa.iter().position(|&c| c == b'.') {
        Some(p) => (&mantissa[..p], &mantissa[p + 1..]),
        None => (mantissa, &b""[..]),
    };
    // The exponent, bounded: past ±40 the value is 0 or saturated anyway.
    let exp: i32 = {
        let (neg, digits) = match exponent.split_first() {
            Some((b'-', d)) => (true, d),
            Some((b'+', d)) => (false, d),
            _ => (false, exponent),
        };
        let e = digits.iter().fold(0i32, |acc, &d| (acc * 10 + i32::from(d - b'0')).min(100));
        if neg {
            -e
        } else {
            e
        }
    };
    // Digits of the integer part after shifting the point by `exp`.
    const LIMIT: i64 = 1 << 62;
    let whole = int_digits.len() as i32 + exp;
    let mut value: i64 = 0;
    for k in 0..whole.max(0) {
        let k = k as usize;
        let d =
            if k < int_digits.len() { int_digits[k] } else { *frac_digits.get(k - int_digits.len()).unwrap_or(&b'0') };
        value = value.saturating_mul(10).saturating_add(i64::from(d - b'0')).min(LIMIT);
    }
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    fn members(text: &str) -> Result<usize, Reason> {
        let mut n = 0;
        object(text.as_bytes(), |_, _| {
            n += 1;
            Ok(())
        })
        .map(|_| n)
    }

    fn get<'a>(text: &'a [u8], name: &str) -> Option<JsonValue<'a>> {
        let mut found = None;
        object(text, |n, v| {
            if n.eq_bytes(name.as_bytes()) {
                found = Some(v);
            }
            Ok(())
        })
        .ok()?;
        found
    }

    #[test]
    fn objects_and_their_errors() {
        assert_eq!(members("{}"), Ok(0));
        assert_eq!(members(" { \"a\" : 1 , \"b\":[1,{\"c\":[]},\"x\"], \"d\":{} }\n"), Ok(3));
        assert_eq!(members(r#"{"a":true,"b":false,"c":null,"d":-0.5e+3,"e":"\u00e9\ud83d\ude00\/"}"#), Ok(5));
        for bad in [
            "",
            "[]",
            "{",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":1,}",
            "{\"a\":1}x",
            "{\"a\":01}",
            "{\"a\":1.}",
            "{\"a\":.5}",
            "{\"a\":1e}",
            "{\"a\":-}",
            "{\"a\":tru}",
            "{\"a\":nul}",
            "{\"a\":\"\\x\"}",
            "{\"a\":\"\\u12\"}",
            "{\"a\":\"\\udc00\"}",
            "{\"a\":\"\\ud800\"}",
            "{\"a\":\"\\ud800\\u0041\"}",
            "{\"a\":\"\t\"}",
            "{\"a\":[1,]}",
            "{\"a\":[1 2]}",
            "{\"a\":{\"b\"}}",
            "{\"a\":{\"b\":1,}}",
            "{\"a\":{1:2}}",
            "{\"a\":[}",
            "{\"a\":{]}",
            "{'a':1}",
        ] {
            assert_eq!(members(bad), Err(Reason::InvalidJson), "{bad:?}");
        }
        assert_eq!(object(b"{\"a\":\"\xff\"}", |_, _| Ok(())), Err(Reason::InvalidJson));
    }

    #[test]
    fn duplicates_are_found_through_escapes() {
        assert_eq!(members(r#"{"exp":1,"exp":2}"#), Err(Reason::DuplicateName));
        assert_eq!(members(r#"{"exp":1,"\u0065xp":2}"#), Err(Reason::DuplicateName));
        assert_eq!(members(r#"{"a\/b":1,"a/b":2}"#), Err(Reason::DuplicateName));
        assert_eq!(members(r#"{"exp":1,"ex":2,"expp":3}"#), Ok(3));
        // Nested duplicates are not claims: not refused (as PyJWT).
        assert_eq!(members(r#"{"a":{"x":1,"x":2}}"#), Ok(1));
    }

    #[test]
    fn limits() {
        let deep = |n: usize| {
            let mut s = std::string::String::from("{\"a\":");
            s.extend(core::iter::repeat_n('[', n));
            s.extend(core::iter::repeat_n(']', n));
            s.push('}');
            s
        };
        assert_eq!(members(&deep(MAX_JWT_JSON_DEPTH - 1)), Ok(1));
        assert_eq!(members(&deep(MAX_JWT_JSON_DEPTH)), Err(Reason::TokenTooLarge));
        assert_eq!(members(&deep(5000)), Err(Reason::TokenTooLarge));
        let many = |n: usize| {
            let body: std::vec::Vec<std::string::String> = (0..n).map(|i| std::format!("\"k{i}\":0")).collect();
            std::format!("{{{}}}", body.join(","))
        };
        assert_eq!(members(&many(MAX_JWT_MEMBERS)), Ok(MAX_JWT_MEMBERS));
        assert_eq!(members(&many(MAX_JWT_MEMBERS + 1)), Err(Reason::TokenTooLarge));
    }

    #[test]
    fn strings_decode_and_compare() {
        let text = br#"{"s":"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00"}"#;
        let Some(JsonValue::Str(s)) = get(text, "s") else { panic!() };
        let mut buf = [0u8; 64];
        assert_eq!(s.unescape_into(&mut buf), Some("a\"b\\c/d\u{8}\u{c}\n\r\té😀"));
        assert!(s.eq_bytes("a\"b\\c/d\u{8}\u{c}\n\r\té😀".as_bytes()));
        assert!(!s.eq_bytes(b"a\"b"));
        assert_eq!(s.as_unescaped(), None);
        assert_eq!(s.unescape_into(&mut [0u8; 4]), None);
        let text = br#"{"iss":"https:\/\/idp.example","other":"https://idp.example"}"#;
        let (Some(JsonValue::Str(a)), Some(JsonValue::Str(b))) = (get(text, "iss"), get(text, "other")) else {
            panic!()
        };
        assert!(a.eq_json(&b) && b.eq_json(&a) && a.eq_bytes(b"https://idp.example"));
    }

    #[test]
    fn numeric_dates() {
        let n = |t: &str| numeric_date(&JsonValue::Number(t.as_bytes()));
        assert_eq!(n("1700000000"), Some(1_700_000_000));
        assert_eq!(n("1700000000.999"), Some(1_700_000_000));
        assert_eq!(n("-1.5"), Some(-1));
        assert_eq!(n("0.5"), Some(0));
        assert_eq!(n("1.7e9"), Some(1_700_000_000));
        assert_eq!(n("17E+8"), Some(1_700_000_000));
        assert_eq!(n("1700000000e-3"), Some(1_700_000));
        assert_eq!(n("1e-400"), Some(0));
        assert_eq!(n("99999999999999999999999999"), Some(1 << 62));
        assert_eq!(n("1e999999999"), Some(1 << 62));
        assert_eq!(n("-1e30"), Some(-(1 << 62)));
        assert_eq!(numeric_date(&JsonValue::Bool(true)), None);
    }
}
