//! The full Digest check (`Engine::check`) with a fixed key and store, driven as a sequence
//! of requests against one engine: nonces the engine issued, honest clients built from fuzz
//! choices, and fuzz bytes spliced into their headers. A model written from FORMAT.md and
//! the engine docs predicts each unspliced verdict exactly (status, reason, stale,
//! Authentication-Info); spliced headers must never authenticate unless an independent
//! check accepts them; a (nonce, nc) pair is never accepted twice.
//!
//! Input: mode byte 0 = one raw header against the wide engine; otherwise a config (3
//! bytes) and up to 8 steps (see `step`).
#![no_main]

use core::cell::RefCell;
use std::collections::{HashMap, HashSet};

use authgate::limits::{MAX_CNONCE_LEN, MAX_NONCE_LEN, MAX_USERNAME_LEN};
use authgate::{
    parse, Algorithm, Body, Challenge, Config, ConfigError, Context, Engine, HashOutput, NonceKey, NonceStatus, Qop,
    QopSet, Reason, ReplayTable, Request, Scheme, Verdict,
};
use authgate_fuzz::*;
use libfuzzer_sys::fuzz_target;

const CAP: usize = 4;
const OPAQUE: &str = "5ccc069c403ebaf9f0171e9517f40e41";

/// The nonce key after `generation` rotations (all distinct).
fn key(generation: usize) -> [u8; 32] {
    if generation == 0 {
        KEY
    } else {
        [0x50 + generation as u8; 32]
    }
}

type FuzzEngine = Engine<FuzzStore, RefCell<ReplayTable<CAP>>>;

/// (text, quoted, algorithm) of the `algorithm` param; `None` text: not sent (MD5).
const ALGS: [(Option<&str>, bool, Option<Algorithm>); 11] = [
    (None, false, Some(Algorithm::Md5)),
    (Some("MD5"), false, Some(Algorithm::Md5)),
    (Some("md5"), false, Some(Algorithm::Md5)),
    (Some("MD5-sess"), false, Some(Algorithm::Md5Sess)),
    (Some("SHA-256"), false, Some(Algorithm::Sha256)),
    (Some("sha-256"), true, Some(Algorithm::Sha256)),
    (Some("SHA-256-sess"), false, Some(Algorithm::Sha256Sess)),
    (Some("SHA-512-256"), false, Some(Algorithm::Sha512_256)),
    (Some("SHA-512-256-SESS"), true, Some(Algorithm::Sha512_256Sess)),
    (Some("SHA-1"), false, None),
    (Some("SHA-256"), true, Some(Algorithm::Sha256)),
];

/// (text, quoted, qop) of the `qop` param; `None` text: RFC 2069 (no qop, nc, cnonce).
const QOPS: [(Option<&str>, bool, Option<Qop>); 7] = [
    (None, false, None),
    (Some("auth"), false, Some(Qop::Auth)),
    (Some("auth-int"), false, Some(Qop::AuthInt)),
    (Some("AUTH"), false, Some(Qop::Auth)),
    (Some("auth"), true, Some(Qop::Auth)),
    (Some("auth-conf"), false, None),
    (Some("auth-int"), true, Some(Qop::AuthInt)),
];

struct Issued {
    text: String,
}

#[derive(Default)]
struct Window {
    max: u32,
    seen: HashSet<u32>,
}

impl Window {
    fn fresh(&self, nc: u32) -> bool {
        nc > self.max || (self.max - nc < 64 && !self.seen.contains(&nc))
    }
    fn record(&mut self, nc: u32) {
        self.seen.insert(nc);
        self.max = self.max.max(nc);
    }
}

struct Model {
    algorithms: Vec<Algorithm>,
    qop: QopSet,
    rfc2069: bool,
    userhash: bool,
    opaque: Option<&'static str>,
    max_age: u64,
    skew: u64,
    rotate: bool,
    generation: usize,
    pool: Vec<Issued>,
    windows: HashMap<String, Window>,
    accepted: HashSet<(String, u32)>,
    /// Set once the replay table may hold state the model does not know (an eviction, or a
    /// spliced header that reached it).
    uncertain: bool,
}

#[derive(Debug, PartialEq)]
enum Expect {
    Malformed,
    Challenge(Reason, bool),
    Authenticated,
    /// The replay table may have evicted: only the invariants are checked.
    Unknown,
}

fn quoted_ok(v: &[u8]) -> bool {
    !v.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
}

fn pct_encode(v: &[u8]) -> Vec<u8> {
    v.iter().flat_map(|b| format!("%{b:02X}").into_bytes()).collect()
}

fn setup(r: &mut Reader<'_>) -> (Model, FuzzEngine) {
    let (mask, flags, life) = (r.u8(), r.u8(), r.u8());
    let mut algorithms: Vec<Algorithm> =
        ALL_ALGORITHMS.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, a)| *a).collect();
    if algorithms.is_empty() {
        algorithms = vec![Algorithm::Sha256, Algorithm::Md5];
    }
    let mut qop = QopSet { auth: flags & 1 != 0, auth_int: flags & 2 != 0 };
    let rfc2069 = flags & 4 != 0;
    let userhash = flags & 8 != 0;
    let opaque = (flags & 16 != 0).then_some(OPAQUE);
    let rotate = flags & 32 != 0;
    let max_age = 1 + (life & 0x7f) as u64 * 2;
    let skew = (life >> 7) as u64 * 5;
    let mut config = Config::new(REALM)
        .unwrap()
        .schemes(&[Scheme::Digest, Scheme::Basic])
        .unwrap()
        .algorithms(&algorithms)
        .unwrap()
        .nonce_lifetime(max_age)
        .unwrap()
        .max_clock_skew(skew)
        .allow_rfc2069(rfc2069)
        .userhash(userhash);
    if let Some(o) = opaque {
        config = config.opaque(o).unwrap();
    }
    let mk = |c: Config| Engine::new(c, &key(0), FuzzStore::default(), RefCell::new(ReplayTable::<CAP>::new()));
    if qop.is_empty() && !rfc2069 {
        assert_eq!(mk(config.clone().qop(qop)).err(), Some(ConfigError::NoQop));
        qop = QopSet::AUTH;
    }
    let engine = mk(config.qop(qop)).expect("valid config");
    let model = Model {
        algorithms,
        qop,
        rfc2069,
        userhash,
        opaque,
        max_age,
        skew,
        rotate,
        generation: 0,
        pool: Vec::new(),
        windows: HashMap::new(),
        accepted: HashSet::new(),
        uncertain: false,
    };
    (model, engine)
}

fn issue(m: &mut Model, e: &FuzzEngine, now: u64, salt: u8) {
    let v = e.check(&Request::new("GET", URI, None), Context { now, salt: [salt; 8] });
    let Verdict::Challenge(Challenge { reason: Reason::NoCredentials, stale: false, nonce: Some(n) }) = v else {
        panic!("no credentials: {v:?}");
    };
    let text = n.as_str().to_string();
    assert_eq!(text.len(), 64);
    assert!(text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{text}");
    assert!(matches!(e.verify_nonce(text.as_bytes(), now), NonceStatus::Valid { issued, .. } if issued == now));
    assert_eq!(m.authentic(text.as_bytes()), Some(now), "the independent nonce check disagrees");
    m.pool.push(Issued { text });
}

impl Model {
    /// The issue time of an authentic nonce: under the current key, or the previous one
    /// once a rotation happened.
    fn authentic(&self, nonce: &[u8]) -> Option<u64> {
        let opaque = self.opaque.unwrap_or("");
        let current = nonce_issued(nonce, &key(self.generation), REALM, opaque);
        let previous =
            || (self.generation > 0).then(|| nonce_issued(nonce, &key(self.generation - 1), REALM, opaque)).flatten();
        current.or_else(previous)
    }
}

fn expired(m: &Model, issued: u64, now: u64) -> bool {
    now.saturating_sub(issued) > m.max_age || issued.saturating_sub(now) > m.skew
}

/// Renders and re-parses the Authentication-Info of a Digest success.
fn check_auth_info(e: &FuzzEngine, info: &authgate::AuthInfo, size: usize) -> Vec<u8> {
    let mut full = vec![0u8; 2048];
    let n = e.write_authentication_info(info, &mut full).expect("2048 bytes suffice");
    let full = &full[..n];
    assert!(!has_ctl_but_htab(full), "CTL in Authentication-Info {:?}", full.escape_ascii().to_string());
    let mut small = vec![0u8; size];
    match e.write_authentication_info(info, &mut small) {
        Ok(k) => assert_eq!(&small[..k], full),
        Err(t) => assert!(t.needed == n && n > size),
    }
    let text = [b"Digest ", full].concat();
    let a = parse(&text).unwrap_or_else(|err| {
        panic!("Authentication-Info does not parse ({err}): {:?}", full.escape_ascii().to_string())
    });
    if let Some(r) = &info.rspauth {
        assert_eq!(param(&a, "rspauth").unwrap(), r.to_hex().as_bytes());
    }
    if let Some(q) = info.qop {
        assert_eq!(param(&a, "qop").unwrap(), q.name().as_bytes());
        assert_eq!(param(&a, "cnonce").unwrap(), &info.cnonce[..]);
        if let Some(nc) = info.nc {
            assert_eq!(param(&a, "nc").unwrap(), format!("{nc:08x}").as_bytes());
        }
    }
    assert_eq!(
        param(&a, "nextnonce").map(|v| String::from_utf8(v).unwrap()),
        info.nextnonce.map(|n| n.as_str().to_string())
    );
    full.to_vec()
}

fn check_challenge(e: &FuzzEngine, c: &Challenge, now: u64) {
    let nonce = c.nonce.expect("Digest offered: a nonce");
    assert!(matches!(e.verify_nonce(nonce.as_str().as_bytes(), now), NonceStatus::Valid { .. }));
    let mut buf = [0u8; 1024];
    for i in 0..e.challenge_count() {
        let n = e.write_challenge(c, i, &mut buf).expect("1024 bytes suffice");
        let text = &buf[..n];
        assert!(!has_ctl(text));
        let a = parse(text).expect("challenge parses");
        if a.is_scheme("Digest") {
            assert_eq!(param(&a, "stale").is_some(), c.stale);
            assert_eq!(param(&a, "nonce").unwrap(), nonce.as_str().as_bytes());
        }
    }
}

fn step(m: &mut Model, e: &mut FuzzEngine, r: &mut Reader<'_>) {
    let op = r.u8();
    if op % 8 == 0 {
        let t = NOW + (r.u16() % 1024) as u64;
        let salt = r.u8();
        return issue(m, e, t, salt);
    }
    if op % 8 == 1 && m.rotate {
        m.generation += 1;
        e.rotate_key(&key(m.generation));
        return;
    }
    if m.pool.is_empty() {
        issue(m, e, NOW, 1);
    }
    // Every field is read whatever the choices, so inputs stay aligned.
    let time = r.u16();
    let nonce_sel = r.u8();
    let garbage = r.bytes();
    let who = r.u8();
    let fuzz_name = r.bytes();
    let pw_sel = r.u8();
    let fuzz_pw = r.bytes();
    let alg_sel = r.u8();
    let qop_sel = r.u8();
    let nc = r.u32();
    let cnonce = r.bytes();
    let uri_sel = r.u8();
    let fuzz_uri = r.bytes();
    let method_sel = r.u8();
    let body = r.bytes();
    let body_sel = r.u8();
    let style = r.u8();
    let realm_sel = r.u8();
    let opaque_sel = r.u8();
    let resp_sel = r.u8();
    let buf_size = r.u16() as usize % 600;
    let splice_sel = r.u8();
    let splice_at = r.u16();
    let splice = r.bytes();

    // The nonce.
    let n_pool = m.pool.len();
    let pick = nonce_sel as usize % (n_pool + 3);
    let nonce: Vec<u8> = if pick < n_pool {
        m.pool[pick].text.clone().into_bytes()
    } else if pick == n_pool {
        garbage.to_vec()
    } else if pick == n_pool + 1 {
        // One character of an issued nonce changed to another hex digit, or to its
        // uppercase form (one spelling per nonce: refused too).
        const HEX: &[u8] = b"0123456789abcdefABCDEF";
        let mut t = m.pool[0].text.clone().into_bytes();
        let at = nonce_sel as usize % t.len();
        let idx = HEX.iter().position(|&c| c == t[at]).unwrap();
        t[at] = HEX[(idx + 1 + (nonce_sel as usize >> 2) % 21) % 22];
        t
    } else {
        // Well-formed, but from a key the engine never had.
        let key = NonceKey::new(&[0x99; 32]);
        authgate::Nonce::issue(&key, REALM.as_bytes(), m.opaque.unwrap_or("").as_bytes(), NOW, [nonce_sel; 8])
            .as_str()
            .as_bytes()
            .to_vec()
    };
    // Whether the nonce is authentic under the engine's current or previous key, checked
    // independently of the core; any such nonce counts, also one the fuzzer learned from
    // another run with the same key (as a process sharing the key would have issued it).
    let issued = m.authentic(&nonce).map(|t| (t, true));
    let base = issued.map_or(NOW, |(t, _)| t);
    let offset = if time & 1 == 0 { ((time >> 1) % 300) as i64 - 10 } else { (time as i16) as i64 };
    let now = base.saturating_add_signed(offset);

    let known = USERS.get(who as usize % (USERS.len() + 1));
    let name: Vec<u8> = known.map_or(fuzz_name.to_vec(), |u| u.name.as_bytes().to_vec());
    let password: Vec<u8> = match (pw_sel % 3, known) {
        (0, Some(u)) => u.password.as_bytes().to_vec(),
        (1, Some(u)) => [u.password.as_bytes(), fuzz_pw, b"!"].concat(),
        _ => fuzz_pw.to_vec(),
    };
    let pw_right = known.is_some_and(|u| u.password.as_bytes() == password);
    let (alg_text, alg_quoted, alg) = ALGS[alg_sel as usize % ALGS.len()];
    let (qop_text, qop_quoted, qop) = QOPS[qop_sel as usize % QOPS.len()];
    let nc_text = if style & 32 != 0 { format!("{nc:08X}") } else { format!("{nc:08x}") };
    let target = if uri_sel & 0x80 != 0 { "/dir/index.html?a=%20b&c" } else { URI };
    let uri: Vec<u8> = match uri_sel % 4 {
        0 | 1 => target.as_bytes().to_vec(),
        2 => b"/dir/other.html".to_vec(),
        _ => fuzz_uri.to_vec(),
    };
    let method = ["GET", "POST", "PUT", "DELETE"][method_sel as usize % 4];
    let client_method = if method_sel & 0x80 != 0 { "HEAD" } else { method };
    let hash_fam = alg.unwrap_or(Algorithm::Md5).hash();
    let other_fam = match hash_fam {
        authgate::HashAlgorithm::Md5 => authgate::HashAlgorithm::Sha256,
        _ => authgate::HashAlgorithm::Md5,
    };
    let engine_body = match body_sel % 5 {
        0 => Body::Unavailable,
        1 => Body::Bytes(body),
        2 => Body::Hashed(hash_fam, HashOutput::from_slice(&hash(hash_fam, body)).unwrap()),
        3 => Body::Hashed(other_fam, HashOutput::from_slice(&hash(other_fam, body)).unwrap()),
        _ => Body::Hashed(hash_fam, HashOutput::from_slice(&hash(hash_fam, &[body, b"x"].concat())).unwrap()),
    };
    let body_available = matches!(body_sel % 5, 1 | 2 | 4);
    let body_right = matches!(body_sel % 5, 1 | 2);
    let want_userhash = style & 1 != 0;
    let ext = style & 2 != 0 && !want_userhash;
    let realm: &[u8] =
        [REALM.as_bytes(), b"otherrealm", b"TESTREALM@host.com", REALM.as_bytes()][realm_sel as usize % 4];

    let client = Client {
        alg: alg.unwrap_or(Algorithm::Md5),
        user: &name,
        realm,
        password: &password,
        method: client_method.as_bytes(),
        uri: &uri,
        nonce: &nonce,
        nc: nc_text.as_bytes(),
        cnonce,
        qop,
        body,
    };
    let mut response = client.response();
    match resp_sel % 5 {
        1 => response.truncate(response.len() - 2),
        2 => response.replace_range(..2, "zz"),
        3 => response.clear(),
        _ => {}
    }
    if style & 64 != 0 {
        response = response.to_ascii_uppercase();
    }
    let sent_name: Vec<u8> = if want_userhash {
        hh(hash_fam, &[&name[..], b":", REALM.as_bytes()].concat()).into_bytes()
    } else {
        name.clone()
    };

    let mut params: Vec<(String, Vec<u8>)> = Vec::new();
    if ext {
        params.push(("username*".into(), [&b"UTF-8''"[..], &pct_encode(&name)].concat()));
    } else {
        params.push(("username".into(), quote(&sent_name, false)));
    }
    params.push(("realm".into(), quote(realm, style & 4 != 0)));
    params.push(("nonce".into(), quote(&nonce, false)));
    params.push(("uri".into(), quote(&uri, uri_sel % 4 == 1)));
    if let Some(a) = alg_text {
        params.push(("algorithm".into(), if alg_quoted { quote(a.as_bytes(), false) } else { a.as_bytes().to_vec() }));
    }
    params.push(("response".into(), quote(response.as_bytes(), false)));
    if let Some(q) = qop_text {
        params.push(("qop".into(), if qop_quoted { quote(q.as_bytes(), false) } else { q.as_bytes().to_vec() }));
        params.push(("nc".into(), nc_text.clone().into_bytes()));
        params.push(("cnonce".into(), quote(cnonce, false)));
    }
    match (opaque_sel % 3, m.opaque) {
        (0, Some(o)) => params.push(("opaque".into(), quote(o.as_bytes(), false))),
        (2, _) => params.push(("opaque".into(), quote(b"0badc0de", false))),
        _ => {}
    }
    if want_userhash {
        params.push(("userhash".into(), b"true".to_vec()));
    }
    if style & 128 != 0 {
        params.push(("foo".into(), b"bar".to_vec()));
    }
    if style & 16 != 0 {
        let k = style as usize % params.len();
        params.rotate_left(k);
    }
    let mut header = b"Digest ".to_vec();
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            header.extend_from_slice(b", ");
        }
        let k = if style & 8 != 0 { k.to_ascii_uppercase() } else { k.clone() };
        header.extend_from_slice(k.as_bytes());
        header.push(b'=');
        header.extend_from_slice(v);
    }
    let spliced = splice_sel % 4 == 3;
    if spliced {
        let at = splice_at as usize % (header.len() + 1);
        match splice_sel >> 2 & 3 {
            0 => drop(header.splice(at..at, splice.iter().copied())),
            1 => {
                let end = (at + splice.len()).min(header.len());
                drop(header.splice(at..end, splice.iter().copied()));
            }
            2 => header.truncate(at),
            _ => {
                let end = (at + 1 + splice.len()).min(header.len());
                header.drain(at..end);
            }
        }
    }

    let req = Request { method, target, authorization: Some(&header), body: engine_body };
    let v = e.check(&req, Context { now, salt: [splice_sel; 8] });
    check_verdict_shape(&v);
    let key_known = issued.is_some_and(|(_, k)| k);
    let nc_used = if qop_text.is_some() { nc } else { 1 };

    // Soundness, for every header: an independent check accepts it, its nonce is ours and
    // current, its (nonce, nc) pair is new.
    if let Verdict::Authenticated(a) = &v {
        // The header's nonce, when authentic and current.
        let valid: Vec<String> = parse(&header)
            .ok()
            .and_then(|p| param(&p, "nonce"))
            .filter(|n| m.authentic(n).is_some_and(|t| !expired(m, t, now)))
            .and_then(|n| String::from_utf8(n).ok())
            .into_iter()
            .collect();
        let body_seen: Option<Vec<u8>> = match body_sel % 5 {
            1 | 2 => Some(body.to_vec()),
            4 => Some([body, b"x"].concat()),
            _ => None,
        };
        let oracle = Accepts {
            method: method.as_bytes(),
            target: target.as_bytes(),
            issued: &valid,
            algorithms: &m.algorithms,
            body: body_seen.as_deref(),
            realm: REALM,
        };
        // A spliced header may have become Basic with the right password: also fine.
        let who = oracle.user(&header);
        assert_eq!(
            who,
            Some((a.scheme, a.user.to_string())),
            "authenticated {:?} for {:?}",
            a.user,
            header.escape_ascii().to_string()
        );
        if a.scheme == Scheme::Digest {
            let parsed = parse(&header).unwrap();
            let sent_nonce = String::from_utf8(param(&parsed, "nonce").unwrap()).unwrap();
            let sent_nc = match param(&parsed, "nc") {
                Some(t) => u32::from_str_radix(std::str::from_utf8(&t).unwrap(), 16).unwrap(),
                None => 1,
            };
            assert!(
                m.accepted.insert((sent_nonce, sent_nc)),
                "(nonce, nc) accepted twice: {:?}",
                header.escape_ascii().to_string()
            );
        }
        if let Some(info) = &a.auth_info {
            check_auth_info(e, info, buf_size);
        }
    }
    if let Verdict::Challenge(c) = &v {
        check_challenge(e, c, now);
    }
    if spliced {
        if matches!(
            &v,
            Verdict::Authenticated(_)
                | Verdict::Challenge(Challenge { reason: Reason::Replayed | Reason::StaleNonce, .. })
        ) {
            m.uncertain = true;
        }
        return;
    }

    // The model's verdict for the unspliced header.
    let sess = alg.is_some_and(|a| a.is_session());
    let name_utf8 = std::str::from_utf8(&name).ok();
    let malformed = (!quoted_ok(&nonce) || nonce.len() > MAX_NONCE_LEN)
        || (!ext && (!quoted_ok(&sent_name) || sent_name.len() > MAX_USERNAME_LEN))
        || (ext && !name_utf8.is_some_and(|n| n.len() <= MAX_USERNAME_LEN && !n.chars().any(char::is_control)))
        || (qop_text.is_some() && (!quoted_ok(cnonce) || cnonce.len() > MAX_CNONCE_LEN || nc == 0))
        || (qop_text.is_none() && sess)
        || !quoted_ok(&uri)
        || resp_sel % 5 == 2
        || uri != target.as_bytes();
    let lookup_name = if want_userhash { name_utf8 } else { name_utf8.filter(|n| !n.is_empty()) };
    let found = lookup_name.and_then(user);
    let expect = if malformed {
        Expect::Malformed
    } else if !alg.is_some_and(|a| m.algorithms.contains(&a)) {
        Expect::Challenge(Reason::UnsupportedAlgorithm, false)
    } else if !match qop {
        Some(q) => qop_text.is_some() && m.qop.contains(q),
        None => qop_text.is_none() && m.rfc2069 && !sess,
    } {
        Expect::Challenge(Reason::UnsupportedQop, false)
    } else if realm != REALM.as_bytes() {
        Expect::Challenge(Reason::RealmMismatch, false)
    } else if m.opaque.is_some() && opaque_sel % 3 != 0 {
        Expect::Challenge(Reason::OpaqueMismatch, false)
    } else if !key_known {
        Expect::Challenge(Reason::InvalidNonce, false)
    } else if want_userhash && !m.userhash {
        Expect::Challenge(Reason::UnknownUser, false)
    } else if qop == Some(Qop::AuthInt) && !body_available {
        // Asked for before the user's credential is looked at.
        Expect::Challenge(Reason::BodyUnavailable, false)
    } else if found.is_none() {
        Expect::Challenge(Reason::UnknownUser, false)
    } else if !digest_usable(found.unwrap(), alg.unwrap()) {
        Expect::Challenge(Reason::CredentialUnusable, false)
    } else if !pw_right
        || client_method != method
        || (qop == Some(Qop::AuthInt) && !body_right)
        || !matches!(resp_sel % 5, 0 | 4)
    {
        Expect::Challenge(Reason::BadCredentials, false)
    } else if expired(m, issued.unwrap().0, now) {
        Expect::Challenge(Reason::StaleNonce, true)
    } else {
        let nonce_text = String::from_utf8(nonce.clone()).unwrap();
        let mut recorded: HashSet<&String> = m.windows.keys().collect();
        recorded.insert(&nonce_text);
        if m.uncertain || recorded.len() > CAP {
            m.uncertain = true;
            Expect::Unknown
        } else {
            let w = m.windows.entry(nonce_text).or_default();
            if w.fresh(nc_used) {
                w.record(nc_used);
                Expect::Authenticated
            } else {
                Expect::Challenge(Reason::Replayed, qop_text.is_none())
            }
        }
    };
    let got = match &v {
        Verdict::Authenticated(_) => Expect::Authenticated,
        Verdict::Challenge(c) => Expect::Challenge(c.reason, c.stale),
        Verdict::Malformed(_) => Expect::Malformed,
    };
    if expect == Expect::Unknown {
        assert!(
            matches!(
                got,
                Expect::Authenticated
                    | Expect::Challenge(Reason::Replayed, _)
                    | Expect::Challenge(Reason::StaleNonce, true)
            ),
            "{got:?} for {:?}",
            header.escape_ascii().to_string()
        );
        return;
    }
    assert_eq!(got, expect, "header {:?} at now={now}", header.escape_ascii().to_string());
    if let Verdict::Authenticated(a) = &v {
        let u = found.unwrap();
        assert_eq!((a.user.as_str(), a.scheme), (u.name, Scheme::Digest));
        match (qop, &a.auth_info) {
            (None, None) => {}
            (Some(q), Some(info)) => {
                assert_eq!((info.qop, info.nc, &info.cnonce[..]), (Some(q), Some(nc), cnonce));
                let client = Client { realm: REALM.as_bytes(), ..client };
                let rspauth = (q == Qop::Auth).then(|| client.response_for(b""));
                assert_eq!(info.rspauth.map(|r| r.to_hex().as_str().to_string()), rspauth);
                let (t, _) = issued.unwrap();
                assert_eq!(info.nextnonce.is_some(), now.saturating_sub(t) >= m.max_age / 2);
                if let Some(n) = &info.nextnonce {
                    assert!(
                        matches!(e.verify_nonce(n.as_str().as_bytes(), now), NonceStatus::Valid { issued, .. } if issued == now)
                    );
                }
            }
            (q, info) => panic!("qop {q:?} with Authentication-Info {info:?}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    if r.u8() == 0 {
        // One raw header against the wide engine, which issued nothing: never authenticated
        // by Digest; Basic and Bearer only with right credentials.
        let e =
            Engine::new(wide_config(), &KEY, FuzzStore::default(), RefCell::new(ReplayTable::<CAP>::new())).unwrap();
        let header = r.rest();
        for body in [Body::Unavailable, Body::Bytes(b"")] {
            let v = e.check(
                &Request { method: "GET", target: URI, authorization: Some(header), body },
                Context { now: NOW, salt: [3; 8] },
            );
            check_verdict_shape(&v);
            let oracle = Accepts {
                method: b"GET",
                target: URI.as_bytes(),
                issued: &[],
                algorithms: &ALL_ALGORITHMS,
                body: None,
                realm: REALM,
            };
            match &v {
                Verdict::Authenticated(a) => assert_eq!(oracle.user(header), Some((a.scheme, a.user.to_string()))),
                Verdict::Challenge(c) => {
                    assert!(!c.stale, "stale=true for a nonce the engine never issued");
                    assert!(c.reason != Reason::Replayed);
                }
                Verdict::Malformed(_) => {}
            }
        }
        return;
    }
    let (mut m, mut e) = setup(&mut r);
    let steps = 1 + r.u8() % 8;
    for _ in 0..steps {
        step(&mut m, &mut e, &mut r);
    }
});
