//! Shared pieces of the fuzz targets: the fixed credential store, an input reader, and
//! oracles written independently of the core (own base64, RFC 8187 decoding and Digest
//! arithmetic on the md-5 / sha2 crates), so a target fails on a wrong answer, not only on
//! a panic.

use std::sync::OnceLock;

use authgate::hash::HashAlgorithm;
use authgate::{
    parse, Algorithm, Authorization, Config, CredentialStore, Purpose, Scheme, StaticUsers, StoredCredential, UserName,
    Verdict,
};
use sha2::Digest as _;

/// Realm of the fixed engines (the vector file's).
pub const REALM: &str = "testrealm@host.com";
/// Request-target of the fixed engines.
pub const URI: &str = "/dir/index.html";
/// Nonce key of the fixed engines.
pub const KEY: [u8; 32] = [0x42; 32];
/// "Now" of the fixed engines.
pub const NOW: u64 = 1_700_000_000;
/// The one Bearer token the store knows, and its user.
pub const BEARER_TOKEN: &str = "fuzz-token_1.x~y+z/w==";
/// User of [`BEARER_TOKEN`].
pub const BEARER_USER: &str = "bearer-user";

/// How a user's secret is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Plaintext (through `StaticUsers`): serves Basic and every Digest algorithm.
    Plain,
    /// H(user:realm:password) in one hash family: Basic, and Digest of that family only.
    Ha1(HashAlgorithm),
    /// PBKDF2-HMAC-SHA256 (2 iterations): Basic only.
    Pbkdf2,
}

/// One user of the fixed store.
#[derive(Clone, Copy, Debug)]
pub struct User {
    /// Name.
    pub name: &'static str,
    /// Password.
    pub password: &'static str,
    /// Storage form.
    pub kind: Kind,
}

/// Every user of the fixed store. Names and passwords are Latin-1 representable, so Basic
/// can send them in either charset.
pub const USERS: &[User] = &[
    User { name: "Mufasa", password: "Circle Of Life", kind: Kind::Plain },
    User { name: "J\u{e4}s\u{f6}n", password: "P\u{e4}\u{df}w\u{f6}rd \"q\" \\", kind: Kind::Plain },
    User { name: "ha1-sha256", password: "secret256", kind: Kind::Ha1(HashAlgorithm::Sha256) },
    User { name: "ha1-md5", password: "secretmd5", kind: Kind::Ha1(HashAlgorithm::Md5) },
    User { name: "ha1-sha512", password: "secret512", kind: Kind::Ha1(HashAlgorithm::Sha512_256) },
    User { name: "pbkdf", password: "hunter2", kind: Kind::Pbkdf2 },
];

const STATIC: &[(&str, &str)] = &[("Mufasa", "Circle Of Life"), ("J\u{e4}s\u{f6}n", "P\u{e4}\u{df}w\u{f6}rd \"q\" \\")];

/// PBKDF2 parameters of the `pbkdf` user.
pub const PBKDF2_SALT: &[u8] = b"NaCl-fuzz";
/// Low on purpose: the fuzzer runs it millions of times.
pub const PBKDF2_ITERATIONS: u32 = 2;

/// A user by exact name.
pub fn user(name: &str) -> Option<&'static User> {
    USERS.iter().find(|u| u.name == name)
}

/// Whether `user` can answer Digest with `alg`.
pub fn digest_usable(user: &User, alg: Algorithm) -> bool {
    match user.kind {
        Kind::Plain => true,
        Kind::Ha1(h) => h == alg.hash(),
        Kind::Pbkdf2 => false,
    }
}

/// The fixed store: plaintext users through `StaticUsers`, HA1 and PBKDF2 users beside them,
/// userhash lookup for all, one Bearer token.
#[derive(Clone, Copy, Debug)]
pub struct FuzzStore {
    statics: StaticUsers<'static>,
}

impl Default for FuzzStore {
    fn default() -> Self {
        FuzzStore { statics: StaticUsers::new(STATIC) }
    }
}

fn stored(u: &User, realm: &str) -> Option<StoredCredential> {
    match u.kind {
        Kind::Plain => None,
        Kind::Ha1(h) => StoredCredential::ha1_hex(
            h,
            hex(&hash(h, [u.name, ":", realm, ":", u.password].concat().as_bytes())).as_bytes(),
        ),
        Kind::Pbkdf2 => {
            static DERIVED: OnceLock<[u8; 32]> = OnceLock::new();
            let d = DERIVED.get_or_init(|| {
                authgate::credential::pbkdf2_sha256(u.password.as_bytes(), PBKDF2_SALT, PBKDF2_ITERATIONS)
            });
            StoredCredential::pbkdf2_sha256(PBKDF2_ITERATIONS, PBKDF2_SALT, *d)
        }
    }
}

impl CredentialStore for FuzzStore {
    fn lookup(&self, username: &str, realm: &str, purpose: Purpose) -> Option<StoredCredential> {
        if let Some(c) = self.statics.lookup(username, realm, purpose) {
            return Some(c);
        }
        USERS.iter().find(|u| u.name == username && u.kind != Kind::Plain).and_then(|u| stored(u, realm))
    }

    fn lookup_userhash(&self, userhash: &str, realm: &str, h: HashAlgorithm) -> Option<(UserName, StoredCredential)> {
        if let Some(found) = self.statics.lookup_userhash(userhash, realm, h) {
            return Some(found);
        }
        let u = USERS
            .iter()
            .filter(|u| u.kind != Kind::Plain)
            .find(|u| hex(&hash(h, format!("{}:{realm}", u.name).as_bytes())).eq_ignore_ascii_case(userhash))?;
        Some((UserName::try_from(u.name).ok()?, stored(u, realm)?))
    }

    fn lookup_bearer(&self, token_sha256: &[u8; 32]) -> Option<UserName> {
        (token_sha256[..] == sha2::Sha256::digest(BEARER_TOKEN.as_bytes())[..])
            .then(|| UserName::try_from(BEARER_USER).unwrap())
    }
}

/// Every algorithm, in the order the fixed engines offer them.
pub const ALL_ALGORITHMS: [Algorithm; 6] = [
    Algorithm::Sha256,
    Algorithm::Md5,
    Algorithm::Sha512_256,
    Algorithm::Sha256Sess,
    Algorithm::Md5Sess,
    Algorithm::Sha512_256Sess,
];

/// The config of the raw-header targets: every scheme and algorithm, `auth` and `auth-int`,
/// userhash, RFC 2069.
pub fn wide_config() -> Config {
    Config::new(REALM)
        .unwrap()
        .schemes(&[Scheme::Digest, Scheme::Basic, Scheme::Bearer])
        .unwrap()
        .algorithms(&ALL_ALGORITHMS)
        .unwrap()
        .qop(authgate::QopSet { auth: true, auth_int: true })
        .allow_rfc2069(true)
        .userhash(true)
}

// ---------------------------------------------------------------------------- input

/// Reads a fuzz input field by field; past the end every read gives zeros / empty.
#[derive(Debug)]
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }
    /// One byte.
    pub fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }
    /// Little-endian u16.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
    /// Little-endian u32.
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    /// A byte string with a one-byte length.
    pub fn bytes(&mut self) -> &'a [u8] {
        let n = self.u8() as usize;
        self.take(n)
    }
    /// A byte string with a two-byte length.
    pub fn bytes16(&mut self) -> &'a [u8] {
        let n = self.u16() as usize;
        self.take(n)
    }
    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.data)
    }
    fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }
}

// ---------------------------------------------------------------------------- oracles

/// Independent hash.
pub fn hash(h: HashAlgorithm, data: &[u8]) -> Vec<u8> {
    match h {
        HashAlgorithm::Md5 => md5::Md5::digest(data).to_vec(),
        HashAlgorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
        HashAlgorithm::Sha512_256 => sha2::Sha512_256::digest(data).to_vec(),
    }
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `H(data)` as lower-case hex.
pub fn hh(h: HashAlgorithm, data: &[u8]) -> String {
    hex(&hash(h, data))
}

/// Strict RFC 4648 §4 base64 (padded, canonical): an independent decoder.
pub fn b64_decode(s: &[u8]) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    if s.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::new();
    for (i, q) in s.chunks(4).enumerate() {
        let last = i == s.len() / 4 - 1;
        let pad = q.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &q[..4 - pad] {
            n = (n << 6) | val(c)?;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        // Canonical: the bits under the padding are zero.
        if (pad == 1 && bytes[2] != 0) || (pad == 2 && (bytes[1] != 0 || bytes[2] != 0)) {
            return None;
        }
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

/// Standard padded base64, for building headers.
pub fn b64_encode(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Latin-1 to UTF-8.
pub fn latin1_to_utf8(b: &[u8]) -> String {
    b.iter().map(|&c| c as char).collect()
}

/// UTF-8 to Latin-1, when every character fits.
pub fn utf8_to_latin1(s: &str) -> Option<Vec<u8>> {
    s.chars().map(|c| u8::try_from(c as u32).ok()).collect()
}

/// A quoted-string with `"` and `\` escaped (and, when `all`, every byte escaped).
pub fn quote(v: &[u8], all: bool) -> Vec<u8> {
    let mut out = vec![b'"'];
    for &b in v {
        if all || b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
    out
}

/// A param's unescaped value, by case-insensitive name (own unescaping of the raw text).
pub fn param(auth: &Authorization<'_>, name: &str) -> Option<Vec<u8>> {
    let v = auth.params()?.iter().find(|p| p.name.eq_ignore_ascii_case(name))?.value;
    let raw = v.raw();
    if !v.is_quoted() {
        return Some(raw.to_vec());
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\\' && i + 1 < raw.len() {
            i += 1;
        }
        out.push(raw[i]);
        i += 1;
    }
    Some(out)
}

/// RFC 8187 ext-value to UTF-8 (own decoder): `charset'lang'pct-encoded`.
pub fn decode_ext_value(raw: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(raw).ok()?;
    let mut parts = s.splitn(3, '\'');
    let (cs, _lang, enc) = (parts.next()?, parts.next()?, parts.next()?);
    let mut bytes = Vec::new();
    let b = enc.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            bytes.push(u8::from_str_radix(std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?, 16).ok()?);
            i += 3;
        } else {
            bytes.push(b[i]);
            i += 1;
        }
    }
    if cs.eq_ignore_ascii_case("UTF-8") {
        String::from_utf8(bytes).ok()
    } else if cs.eq_ignore_ascii_case("ISO-8859-1") {
        Some(latin1_to_utf8(&bytes))
    } else {
        None
    }
}

/// A Digest client, from RFC 7616 §3.4.1.
#[derive(Clone, Debug)]
pub struct Client<'a> {
    /// The algorithm.
    pub alg: Algorithm,
    /// The real user name (A1).
    pub user: &'a [u8],
    /// The realm (A1).
    pub realm: &'a [u8],
    /// The password (A1).
    pub password: &'a [u8],
    /// The method (A2).
    pub method: &'a [u8],
    /// The `uri` (A2).
    pub uri: &'a [u8],
    /// The nonce.
    pub nonce: &'a [u8],
    /// The nc text as sent.
    pub nc: &'a [u8],
    /// The cnonce.
    pub cnonce: &'a [u8],
    /// `auth`, `auth-int`, or none (RFC 2069).
    pub qop: Option<authgate::Qop>,
    /// The body (auth-int).
    pub body: &'a [u8],
}

impl Client<'_> {
    /// The session HA1 (hex).
    pub fn ha1(&self) -> String {
        let h = self.alg.hash();
        let ha1 = hh(h, &[self.user, b":", self.realm, b":", self.password].concat());
        if self.alg.is_session() {
            hh(h, &[ha1.as_bytes(), b":", self.nonce, b":", self.cnonce].concat())
        } else {
            ha1
        }
    }
    /// The request-digest (hex); `method` empty gives `rspauth`.
    pub fn response_for(&self, method: &[u8]) -> String {
        let h = self.alg.hash();
        let ha2 = match self.qop {
            Some(authgate::Qop::AuthInt) => {
                hh(h, &[method, b":", self.uri, b":", hh(h, self.body).as_bytes()].concat())
            }
            _ => hh(h, &[method, b":", self.uri].concat()),
        };
        let ha1 = self.ha1();
        match self.qop {
            Some(q) => hh(
                h,
                &[
                    ha1.as_bytes(),
                    b":",
                    self.nonce,
                    b":",
                    self.nc,
                    b":",
                    self.cnonce,
                    b":",
                    q.name().as_bytes(),
                    b":",
                    ha2.as_bytes(),
                ]
                .concat(),
            ),
            None => hh(h, &[ha1.as_bytes(), b":", self.nonce, b":", ha2.as_bytes()].concat()),
        }
    }
    /// The request-digest.
    pub fn response(&self) -> String {
        self.response_for(self.method)
    }
}

/// What an independent reading of a header authenticates as (scheme and user), knowing
/// which nonces the engine issued: `None` when no valid credentials are in it. Digest
/// acceptance also needs the engine's realm, offered algorithms and qop, the request, and
/// (for auth-int) the body the engine will hash.
pub struct Accepts<'a> {
    /// Method of the request.
    pub method: &'a [u8],
    /// Request-target.
    pub target: &'a [u8],
    /// Nonces the engine issued in this run (any age).
    pub issued: &'a [String],
    /// Offered algorithms.
    pub algorithms: &'a [Algorithm],
    /// Body hashable by the engine (None: unavailable).
    pub body: Option<&'a [u8]>,
    /// Realm.
    pub realm: &'a str,
}

impl Accepts<'_> {
    /// The user an independent check authenticates, if any.
    pub fn user(&self, header: &[u8]) -> Option<(Scheme, String)> {
        let auth = parse(header).ok()?;
        if auth.is_scheme("Basic") {
            let raw = b64_decode(auth.token68()?.as_bytes())?;
            let colon = raw.iter().position(|&b| b == b':')?;
            let (u, p) = (&raw[..colon], &raw[colon + 1..]);
            let (u, p) = match std::str::from_utf8(&raw) {
                Ok(_) => (String::from_utf8(u.to_vec()).ok()?, String::from_utf8(p.to_vec()).ok()?),
                Err(_) => (latin1_to_utf8(u), latin1_to_utf8(p)),
            };
            let known = user(&u)?;
            return (known.password == p).then(|| (Scheme::Basic, u));
        }
        if auth.is_scheme("Bearer") {
            return (auth.token68()? == BEARER_TOKEN).then(|| (Scheme::Bearer, BEARER_USER.to_string()));
        }
        if !auth.is_scheme("Digest") {
            return None;
        }
        let alg = match param(&auth, "algorithm") {
            None => Algorithm::Md5,
            Some(a) => Algorithm::from_name(&a)?,
        };
        if !self.algorithms.contains(&alg) {
            return None;
        }
        let nonce = param(&auth, "nonce")?;
        if !self.issued.iter().any(|n| n.as_bytes() == nonce) {
            return None;
        }
        if param(&auth, "realm")? != self.realm.as_bytes() || param(&auth, "uri")? != self.target {
            return None;
        }
        let qop = match param(&auth, "qop") {
            None => None,
            Some(q) => Some(authgate::Qop::from_name(&q)?),
        };
        let (nc, cnonce) = (param(&auth, "nc"), param(&auth, "cnonce"));
        let userhash = param(&auth, "userhash").is_some_and(|v| v.eq_ignore_ascii_case(b"true"));
        let name = match (param(&auth, "username"), param(&auth, "username*")) {
            (Some(u), None) if userhash => USERS
                .iter()
                .find(|cand| {
                    hh(alg.hash(), format!("{}:{}", cand.name, self.realm).as_bytes())
                        .as_bytes()
                        .eq_ignore_ascii_case(&u)
                })?
                .name
                .to_string(),
            (Some(u), None) => String::from_utf8(u).ok()?,
            (None, Some(ext)) if !userhash => decode_ext_value(&ext)?,
            _ => return None,
        };
        let known = user(&name)?;
        if !digest_usable(known, alg) || (qop == Some(authgate::Qop::AuthInt) && self.body.is_none()) {
            return None;
        }
        let (nc, cnonce) = (nc.unwrap_or_default(), cnonce.unwrap_or_default());
        let client = Client {
            alg,
            user: known.name.as_bytes(),
            realm: self.realm.as_bytes(),
            password: known.password.as_bytes(),
            method: self.method,
            uri: self.target,
            nonce: &nonce,
            nc: &nc,
            cnonce: &cnonce,
            qop,
            body: self.body.unwrap_or_default(),
        };
        let sent = param(&auth, "response")?;
        sent.eq_ignore_ascii_case(client.response().as_bytes()).then(|| (Scheme::Digest, name))
    }
}

/// Every verdict: a status of 200, 401 or 400 that matches its variant, and a consistent
/// body. Returns the status.
pub fn check_verdict_shape(v: &Verdict) -> u16 {
    let s = v.status();
    match v {
        Verdict::Authenticated(a) => {
            assert_eq!(s, 200);
            assert!(!a.user.is_empty(), "authenticated with an empty user name");
            assert!(!a.user.chars().any(char::is_control), "user name with a control character: {:?}", a.user);
            if a.scheme != Scheme::Digest {
                assert!(a.auth_info.is_none(), "Authentication-Info for {:?}", a.scheme);
            }
        }
        Verdict::Challenge(c) => {
            assert_eq!(s, 401);
            let _ = c.reason.message();
        }
        Verdict::Malformed(e) => {
            assert_eq!(s, 400);
            assert!(!e.message().is_empty());
            assert!(!format!("{e}").is_empty());
        }
    }
    assert!(matches!(s, 200 | 400 | 401));
    s
}

/// Whether `b` holds a CTL (0x00-0x1F, 0x7F).
pub fn has_ctl(b: &[u8]) -> bool {
    b.iter().any(|&c| c < 0x20 || c == 0x7f)
}

/// Whether `b` holds a CTL other than HTAB: what may never appear in a field value (RFC 9110
/// §5.5 allows HTAB, which a quoted cnonce may carry and an Authentication-Info echoes).
pub fn has_ctl_but_htab(b: &[u8]) -> bool {
    b.iter().any(|&c| (c < 0x20 && c != b'\t') || c == 0x7f)
}

/// The issue time of `nonce` when it is authentic under `key` for `realm` and `opaque`: an
/// independent check of the layout documented in `core/src/nonce.rs`:
/// `lowercase-hex(issued:u64be || salt:[u8; 8] || tag:[u8; 16])`, `tag = HMAC-SHA256(key,
/// "authgate nonce v1" || issued || salt || len(realm):u32be || realm || opaque)[..16]`.
pub fn nonce_issued(nonce: &[u8], key: &[u8; 32], realm: &str, opaque: &str) -> Option<u64> {
    use hmac::{KeyInit, Mac};
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    if nonce.len() != 64 {
        return None;
    }
    let mut raw = [0u8; 32];
    for (byte, pair) in raw.iter_mut().zip(nonce.chunks(2)) {
        let hi = DIGITS.iter().position(|&d| d == pair[0])?;
        let lo = DIGITS.iter().position(|&d| d == pair[1])?;
        *byte = (hi * 16 + lo) as u8;
    }
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).ok()?;
    mac.update(b"authgate nonce v1");
    mac.update(&raw[..16]);
    mac.update(&(realm.len() as u32).to_be_bytes());
    mac.update(realm.as_bytes());
    mac.update(opaque.as_bytes());
    let tag = mac.finalize().into_bytes();
    (tag[..16] == raw[16..]).then(|| u64::from_be_bytes(raw[..8].try_into().unwrap()))
}
