//! Shared helpers for the conformance tests: the vector file reader, a fixed engine, and an
//! independent Digest client written straight from RFC 7616 (not from the core's code).

use std::collections::HashMap;

use authgate::{
    parse, Authenticated, Config, Context, DigestCredentials, Engine, ParseError, Reason, ReplayTable, Request, Scheme,
    StaticUsers, Verdict,
};
use sha2::Digest as _;

pub mod ntlm;

/// One case of `tests/vectors/authgate.vectors`.
#[derive(Debug, Clone)]
pub struct Case {
    /// Line number, for messages.
    pub line: usize,
    /// Unescaped fields.
    pub fields: HashMap<String, Vec<u8>>,
}

impl Case {
    /// A field's bytes.
    pub fn bytes(&self, key: &str) -> Option<&[u8]> {
        self.fields.get(key).map(Vec::as_slice)
    }
    /// A field as text (panics on a missing or non-UTF-8 field: the file is ours).
    pub fn get(&self, key: &str) -> &str {
        std::str::from_utf8(self.bytes(key).unwrap_or_else(|| panic!("line {}: no field {key}", self.line))).unwrap()
    }
    /// An optional text field.
    pub fn opt(&self, key: &str) -> Option<&str> {
        self.bytes(key).map(|b| std::str::from_utf8(b).unwrap())
    }
    /// `name`.
    pub fn name(&self) -> &str {
        self.get("name")
    }
}

/// Undoes the file's escaping: `\\`, `\t`, `\n`, `\r`, `\xHH`.
pub fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b'\\' => out.push(b'\\'),
                b't' => out.push(b'\t'),
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b'x' => {
                    out.push(u8::from_str_radix(&s[i + 2..i + 4], 16).expect("bad \\x escape"));
                    i += 2;
                }
                other => panic!("unknown escape \\{}", other as char),
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// All cases of the shared vector file.
pub fn load_vectors() -> Vec<Case> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/authgate.vectors");
    let text = std::fs::read_to_string(path).expect("read vectors");
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .map(|(i, l)| Case {
            line: i + 1,
            fields: l
                .split('\t')
                .map(|f| {
                    let (k, v) = f.split_once('=').unwrap_or_else(|| panic!("line {}: field without '='", i + 1));
                    (k.to_string(), unescape(v))
                })
                .collect(),
        })
        .collect()
}

/// Cases of one kind.
pub fn cases(kind: &str) -> Vec<Case> {
    load_vectors().into_iter().filter(|c| c.get("kind") == kind).collect()
}

/// The user of the vector file's fixed context.
pub const USERS: &[(&str, &str)] = &[("Mufasa", "Circle Of Life")];
/// The realm of the fixed context.
pub const REALM: &str = "testrealm@host.com";
/// A fixed nonce key.
pub const KEY: [u8; 32] = [0x42; 32];

/// The engine type the tests use.
pub type TestEngine = Engine<StaticUsers<'static>, std::sync::Mutex<ReplayTable<64>>>;

/// The fixed context of FORMAT.md: Digest SHA-256 + MD5, Basic, Bearer.
pub fn vector_engine() -> TestEngine {
    let config = Config::new(REALM).unwrap().schemes(&[Scheme::Digest, Scheme::Basic, Scheme::Bearer]).unwrap();
    Engine::new(config, &KEY, StaticUsers::new(USERS), std::sync::Mutex::new(ReplayTable::new())).unwrap()
}

/// A context at `now` with a salt derived from it.
pub fn ctx(now: u64) -> Context {
    Context { now, salt: now.to_le_bytes() }
}

/// Checks one request.
pub fn check(engine: &TestEngine, method: &str, target: &str, header: Option<&[u8]>, now: u64) -> Verdict {
    engine.check(&Request::new(method, target, header), ctx(now))
}

/// Lower-case hex of `alg`'s hash of `data`. `alg` is the Digest algorithm's hash name.
pub fn h(alg: &str, data: &[u8]) -> String {
    let bytes: Vec<u8> = match alg.trim_end_matches("-sess").to_ascii_uppercase().as_str() {
        "MD5" => md5::Md5::digest(data).to_vec(),
        "SHA-256" => sha2::Sha256::digest(data).to_vec(),
        "SHA-512-256" => sha2::Sha512_256::digest(data).to_vec(),
        other => panic!("unknown algorithm {other}"),
    };
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a Digest client sends.
#[derive(Debug, Clone)]
pub struct DigestClient<'a> {
    pub algorithm: &'a str,
    pub username: &'a str,
    pub password: &'a str,
    pub realm: &'a str,
    pub method: &'a str,
    pub uri: &'a str,
    pub nonce: &'a str,
    pub cnonce: &'a str,
    pub nc: u32,
    /// `None` for RFC 2069.
    pub qop: Option<&'a str>,
    pub opaque: Option<&'a str>,
    pub body: &'a [u8],
    pub userhash: bool,
}

impl<'a> DigestClient<'a> {
    /// RFC 7616 §3.4.1, written independently of the core.
    pub fn response(&self) -> String {
        let alg = self.algorithm;
        let mut ha1 = h(alg, format!("{}:{}:{}", self.username, self.realm, self.password).as_bytes());
        if alg.ends_with("-sess") {
            ha1 = h(alg, format!("{ha1}:{}:{}", self.nonce, self.cnonce).as_bytes());
        }
        let ha2 = match self.qop {
            Some("auth-int") => h(alg, format!("{}:{}:{}", self.method, self.uri, h(alg, self.body)).as_bytes()),
            _ => h(alg, format!("{}:{}", self.method, self.uri).as_bytes()),
        };
        match self.qop {
            Some(q) => h(alg, format!("{ha1}:{}:{:08x}:{}:{q}:{ha2}", self.nonce, self.nc, self.cnonce).as_bytes()),
            None => h(alg, format!("{ha1}:{}:{ha2}", self.nonce).as_bytes()),
        }
    }

    /// The expected `rspauth` (RFC 7616 §3.5: A2 without the method).
    pub fn rspauth(&self) -> String {
        let c = DigestClient { method: "", ..self.clone() };
        c.response()
    }

    /// The `Authorization` value.
    pub fn header(&self) -> String {
        let user = if self.userhash {
            h(self.algorithm, format!("{}:{}", self.username, self.realm).as_bytes())
        } else {
            self.username.replace('\\', "\\\\").replace('"', "\\\"")
        };
        let mut s = format!(
            "Digest username=\"{user}\", realm=\"{}\", nonce=\"{}\", uri=\"{}\", algorithm={}, response=\"{}\"",
            self.realm,
            self.nonce,
            self.uri,
            self.algorithm,
            self.response()
        );
        if let Some(q) = self.qop {
            s += &format!(", qop={q}, nc={:08x}, cnonce=\"{}\"", self.nc, self.cnonce);
        }
        if let Some(o) = self.opaque {
            s += &format!(", opaque=\"{o}\"");
        }
        if self.userhash {
            s += ", userhash=true";
        }
        s
    }
}

/// A client for the fixed context with a given nonce.
pub fn mufasa(algorithm: &'static str, nonce: &'static str) -> DigestClient<'static> {
    DigestClient {
        algorithm,
        username: "Mufasa",
        password: "Circle Of Life",
        realm: REALM,
        method: "GET",
        uri: "/dir/index.html",
        nonce,
        cnonce: "0a4f113b",
        nc: 1,
        qop: Some("auth"),
        opaque: None,
        body: b"",
        userhash: false,
    }
}

/// Renders every challenge of a verdict and returns them as strings.
pub fn challenges<S: authgate::CredentialStore, R: authgate::ReplayStore>(
    engine: &Engine<S, R>,
    verdict: &Verdict,
) -> Vec<String> {
    let Verdict::Challenge(ch) = verdict else { panic!("expected a challenge, got {verdict:?}") };
    (0..engine.challenge_count())
        .map(|i| {
            let mut buf = [0u8; 512];
            let n = engine.write_challenge(ch, i, &mut buf).unwrap();
            String::from_utf8(buf[..n].to_vec()).unwrap()
        })
        .collect()
}

/// The nonce of a verdict's challenge, leaked so clients can borrow it for the test's life.
pub fn nonce_of(verdict: &Verdict) -> &'static str {
    let Verdict::Challenge(ch) = verdict else { panic!("expected a challenge, got {verdict:?}") };
    Box::leak(ch.nonce.expect("digest offered").as_str().to_string().into_boxed_str())
}

/// The verdict's authenticated user; panics (failing the test) on any other verdict.
pub fn ok(v: &Verdict) -> &Authenticated {
    match v {
        Verdict::Authenticated(a) => a,
        other => panic!("expected authenticated, got {other:?}"),
    }
}

/// The challenge's reason and `stale`; panics (failing the test) on any other verdict.
pub fn reason(v: &Verdict) -> (Reason, bool) {
    match v {
        Verdict::Challenge(c) => (c.reason, c.stale),
        other => panic!("expected a challenge, got {other:?}"),
    }
}

/// Whether the engine, which scans a header's params straight into its Digest directive
/// slots (one pass), reports for `header` what the public two-step path reports: [`parse`]
/// (span table), then for the Digest scheme [`DigestCredentials::from_authorization`].
/// A syntax or directive error must be the same `Malformed` error; a header both steps
/// accept must not be `Malformed`, except for the engine's own uri rule.
pub fn engine_agrees_with_parse(engine: &TestEngine, header: &[u8]) -> Result<(), String> {
    let v = check(engine, "GET", "/dir/index.html", Some(header), 1_700_000_000);
    // A scheme the engine does not check is a 401 whatever follows it (control characters
    // and the head's own errors aside).
    let word: Vec<u8> = header
        .iter()
        .copied()
        .skip_while(|b| *b == b' ' || *b == b'\t')
        .take_while(|b| !matches!(b, b' ' | b'\t' | b',' | b'=' | b'"') && *b > 0x20 && *b < 0x7f)
        .collect();
    let head_ok = match parse(header) {
        Err(ParseError::Empty | ParseError::TooLong | ParseError::InvalidScheme | ParseError::SchemeTooLong) => false,
        _ => !word.is_empty(),
    };
    if head_ok && engine.config().scheme_of(&word).is_none() {
        let ctl = header.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f);
        return match (&v, ctl) {
            (Verdict::Malformed(ParseError::ControlCharacter), true) => Ok(()),
            (Verdict::Challenge(ch), false) if ch.reason == authgate::Reason::UnsupportedScheme => Ok(()),
            _ => Err(format!("{v:?} for a scheme the engine does not check")),
        };
    }
    let expected = match parse(header) {
        Err(e) => Some(e),
        Ok(a) if a.is_scheme("Digest") => DigestCredentials::from_authorization(&a).err(),
        // Basic and Bearer read the token68; their errors are theirs, not the scanner's.
        Ok(_) => match &v {
            Verdict::Malformed(ParseError::DuplicateParam | ParseError::TooManyParams) => {
                return Err(format!("{v:?} for a header parse accepts"))
            }
            _ => return Ok(()),
        },
    };
    match (expected, &v) {
        (Some(e), Verdict::Malformed(got)) if e == *got => Ok(()),
        (None, Verdict::Malformed(ParseError::UriMismatch)) => Ok(()),
        (None, Verdict::Malformed(got)) => Err(format!("engine {got:?}, parse + from_authorization accept")),
        (None, _) => Ok(()),
        (Some(e), _) => Err(format!("engine {v:?}, parse + from_authorization {e:?}")),
    }
}
