//! htpasswd and htdigest files written by Apache's own tools (Debian apache2-utils, which
//! `make core-test` installs), read by the core: every format htpasswd writes, with
//! several costs and round counts, through the file store and through the engine.

use std::path::{Path, PathBuf};
use std::process::Command;

use authgate::htfile::{ErrorKind, FileErrorKind, Format, HashError, HtdigestFile, HtpasswdFile, Policy};
use authgate::{
    Algorithm, Config, CredentialStore, Engine, Htdigest, Htpasswd, Reason, ReplayTable, Scheme, StoredCredential,
};
use authgate_tests::{ctx, nonce_of, ok, reason, DigestClient};

const PASSWORD: &str = "pässword:1";

/// A fresh directory for this test (pid and name: tests of several worktrees run at once).
fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("authgate-htfile-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs an Apache tool; its absence is a failure, not a skip.
fn run(tool: &str, args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write;
    let mut child = Command::new(tool)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{tool}: {e} (install Debian's apache2-utils; make core-test does)"));
    child.stdin.take().unwrap().write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{tool} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// `htpasswd -b` into `file` for `user` with `flags`.
fn htpasswd(file: &Path, flags: &[&str], user: &str, password: &str) {
    let mut args = vec!["-b"];
    if !file.exists() {
        args.push("-c");
    }
    args.extend_from_slice(flags);
    args.extend_from_slice(&[file.to_str().unwrap(), user, password]);
    run("htpasswd", &args, None);
}

/// Every format and cost this test writes: (user, htpasswd flags, format, cost parameter).
const WRITTEN: &[(&str, &[&str], Format, u32)] = &[
    ("bcrypt4", &["-B", "-C", "4"], Format::Bcrypt, 4),
    ("bcrypt5", &["-B"], Format::Bcrypt, 5),
    ("bcrypt6", &["-B", "-C", "6"], Format::Bcrypt, 6),
    ("apr1", &["-m"], Format::Md5Crypt, 1000),
    ("sha256", &["-2"], Format::Sha256Crypt, 5000),
    ("sha256r1000", &["-2", "-r", "1000"], Format::Sha256Crypt, 1000),
    ("sha256r7777", &["-2", "-r", "7777"], Format::Sha256Crypt, 7777),
    ("sha512", &["-5"], Format::Sha512Crypt, 5000),
    ("sha512r1000", &["-5", "-r", "1000"], Format::Sha512Crypt, 1000),
    ("sha512r12345", &["-5", "-r", "12345"], Format::Sha512Crypt, 12345),
    ("sha1", &["-s"], Format::Sha1, 1),
    ("crypt", &["-d"], Format::DesCrypt, 25),
];

fn every_format(d: &Path) -> PathBuf {
    let file = d.join("htpasswd");
    for (user, flags, _, _) in WRITTEN {
        // DES crypt takes 8 characters (htpasswd warns); the others all of them.
        htpasswd(&file, flags, user, PASSWORD);
    }
    file
}

#[test]
fn every_format_apache_writes_verifies() {
    let d = dir("formats");
    let file = every_format(&d);
    let text = std::fs::read(&file).unwrap();
    let store = Htpasswd::parse(&text[..], Policy::DEFAULT).unwrap();
    assert_eq!(store.len(), WRITTEN.len());
    for (user, flags, format, cost) in WRITTEN {
        match store.get(user) {
            Some(StoredCredential::Htpasswd(h)) => {
                assert_eq!((h.format(), h.cost_parameter()), (*format, *cost), "{flags:?}")
            }
            other => panic!("{user}: {other:?}"),
        }
        assert!(store.verify(user, PASSWORD.as_bytes()), "{user} ({flags:?})");
        assert!(!store.verify(user, "Pässword:1".as_bytes()), "{user}: wrong password");
        assert!(!store.verify(user, b""), "{user}: empty password");
    }
    // DES crypt: the first 8 characters are the password.
    assert!(store.verify("crypt", "pässwor".as_bytes()));
    assert!(!store.verify("nobody", PASSWORD.as_bytes()));
    // Unknown users are checked against the costliest line: SHA-512-crypt, 12,345 rounds.
    match store.decoy("r") {
        StoredCredential::Htpasswd(h) => assert_eq!((h.format(), h.cost_parameter()), (Format::Sha512Crypt, 12345)),
        other => panic!("{other:?}"),
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn plaintext_from_htpasswd_p_needs_the_policy() {
    let d = dir("plain");
    let file = d.join("htpasswd");
    htpasswd(&file, &["-p"], "plain", "s3cret-plain");
    let text = std::fs::read(&file).unwrap();
    let e = Htpasswd::parse(&text[..], Policy::DEFAULT).unwrap_err();
    assert_eq!((e.line, e.kind), (1, ErrorKind::Hash(HashError::Plaintext)));
    let store = Htpasswd::parse(&text[..], Policy { allow_plaintext: true, ..Policy::DEFAULT }).unwrap();
    assert!(store.verify("plain", b"s3cret-plain"));
    assert!(!store.verify("plain", b"s3cret-plai"));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn crlf_duplicates_and_damage_in_apache_files() {
    let d = dir("damage");
    let first = run("htpasswd", &["-nbB", "-C", "4", "dup", "first"], None);
    let second = run("htpasswd", &["-nbm", "dup", "second"], None);
    let text = format!("{}\n{}\n", first.trim_end(), second.trim_end()).replace('\n', "\r\n");
    let store = Htpasswd::parse(text.as_bytes(), Policy::DEFAULT).unwrap();
    assert!(store.verify("dup", b"first"), "the first line wins, as in mod_authn_file");
    assert!(!store.verify("dup", b"second"));

    // A cost above the cap (here htpasswd's own maximum, 17, edited in: writing it would
    // take seconds) is refused when the file is read, not computed at login.
    let hostile = first.trim_end().replace("$2y$04$", "$2y$17$");
    let e = Htpasswd::parse(hostile.as_bytes(), Policy::DEFAULT).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Hash(HashError::CostTooHigh(Format::Bcrypt)));
    let sha = run("htpasswd", &["-nb5", "-r", "1000", "s", "x"], None);
    let hostile = sha.trim_end().replace("rounds=1000", "rounds=999999999");
    let e = Htpasswd::parse(hostile.as_bytes(), Policy::DEFAULT).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Hash(HashError::CostTooHigh(Format::Sha512Crypt)));
    // htpasswd writes crypt's failure token "*0" for rounds it cannot use.
    let failed = run("htpasswd", &["-nb2", "-r", "500", "f", "x"], None);
    assert_eq!(failed.trim_end(), "f:*0");
    let e = Htpasswd::parse(failed.as_bytes(), Policy::DEFAULT).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Hash(HashError::Locked));

    // A file cut short in its third line.
    let file = every_format(&d);
    let text = std::fs::read(&file).unwrap();
    let third = text.iter().enumerate().filter(|(_, &c)| c == b'\n').nth(1).unwrap().0 + 20;
    let e = Htpasswd::parse(&text[..third], Policy::DEFAULT).unwrap_err();
    assert_eq!((e.line, e.kind), (3, ErrorKind::Hash(HashError::Malformed(Format::Bcrypt))));
    let mut long = text.clone();
    long.extend(std::iter::repeat_n(b'x', 10 * 1024));
    let e = Htpasswd::parse(&long[..], Policy::DEFAULT).unwrap_err();
    assert_eq!((e.line, e.kind), (WRITTEN.len() + 1, ErrorKind::LineTooLong));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn the_file_on_disk_is_read_again_when_htpasswd_changes_it() {
    let d = dir("reload");
    let path = d.join("htpasswd");
    htpasswd(&path, &["-B", "-C", "4"], "alice", "one");
    let file = HtpasswdFile::open(&path, Policy::DEFAULT).unwrap();
    assert!(file.current().unwrap().verify("alice", b"one"));
    htpasswd(&path, &["-m"], "bob", "two");
    assert!(file.current().unwrap().verify("bob", b"two"));
    htpasswd(&path, &["-5"], "alice", "three");
    assert!(file.current().unwrap().verify("alice", b"three"));
    assert!(!file.current().unwrap().verify("alice", b"one"));
    run("htpasswd", &["-D", path.to_str().unwrap(), "bob"], None);
    assert!(file.current().unwrap().get("bob").is_none());

    // Damaged: every lookup fails closed, the error names the line; mended: back.
    std::fs::write(&path, "alice:$2y$04$short\n").unwrap();
    let e = file.current().unwrap_err();
    assert!(matches!(e.kind, FileErrorKind::Line(l) if l.line == 1), "{e}");
    assert!(file.lookup("alice", "r", authgate::Purpose::Basic).is_none());
    htpasswd(&path, &["-s"], "alice", "four");
    assert!(file.current().unwrap().verify("alice", b"four"));
    std::fs::remove_file(&path).unwrap();
    assert!(matches!(file.current().unwrap_err().kind, FileErrorKind::Io(std::io::ErrorKind::NotFound, _)));
    assert!(HtpasswdFile::open(d.join("missing"), Policy::DEFAULT).is_err());
    let _ = std::fs::remove_dir_all(&d);
}

fn engine<S: CredentialStore>(store: S, schemes: &[Scheme]) -> Engine<S, std::sync::Mutex<ReplayTable<16>>> {
    let config = Config::new("my realm").unwrap().schemes(schemes).unwrap();
    let config = config.algorithms(&[Algorithm::Md5, Algorithm::Md5Sess, Algorithm::Sha256]).unwrap();
    Engine::new(config, &[9; 32], store, std::sync::Mutex::new(ReplayTable::new())).unwrap()
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

#[test]
fn the_engine_authenticates_basic_from_an_htpasswd_file() {
    let d = dir("engine-basic");
    let path = every_format(&d);
    let e = engine(HtpasswdFile::open(&path, Policy::DEFAULT).unwrap(), &[Scheme::Basic]);
    let check = |h: &str| e.check(&authgate::Request::new("GET", "/", Some(h.as_bytes())), ctx(1_700_000_000));
    for (user, _, _, _) in WRITTEN {
        assert_eq!(ok(&check(&basic(user, PASSWORD))).user.as_str(), *user);
        assert_eq!(reason(&check(&basic(user, "wrong"))).0, Reason::BadCredentials);
    }
    assert_eq!(reason(&check(&basic("nobody", PASSWORD))).0, Reason::UnknownUser);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn the_engine_authenticates_digest_md5_from_an_htdigest_file() {
    let d = dir("engine-digest");
    let path = d.join("htdigest");
    run("htdigest", &["-c", path.to_str().unwrap(), "my realm", "dave"], Some("s3cret\ns3cret\n"));
    run("htdigest", &[path.to_str().unwrap(), "other realm", "erin"], Some("pw\npw\n"));
    let text = std::fs::read(&path).unwrap();
    assert_eq!(Htdigest::parse(&text[..]).unwrap().len(), 2);
    let file = HtdigestFile::open(&path, ()).unwrap();
    let e = engine(file, &[Scheme::Digest, Scheme::Basic]);
    let now = 1_700_000_000;
    let check = |h: Option<&str>| e.check(&authgate::Request::new("GET", "/x", h.map(str::as_bytes)), ctx(now));
    let nonce = nonce_of(&check(None));
    for algorithm in ["MD5", "MD5-sess"] {
        let client = DigestClient {
            algorithm,
            username: "dave",
            password: "s3cret",
            realm: "my realm",
            method: "GET",
            uri: "/x",
            nonce,
            cnonce: "c0ffee",
            nc: if algorithm == "MD5" { 1 } else { 2 },
            qop: Some("auth"),
            opaque: None,
            body: b"",
            userhash: false,
        };
        assert_eq!(ok(&check(Some(&client.header()))).user.as_str(), "dave", "{algorithm}");
        let wrong = DigestClient { password: "nope", nc: client.nc + 10, ..client.clone() };
        assert_eq!(reason(&check(Some(&wrong.header()))).0, Reason::BadCredentials);
        // A user of another realm is unknown here; SHA-256 cannot be served from an MD5 HA1.
        let erin = DigestClient { username: "erin", password: "pw", nc: client.nc + 20, ..client.clone() };
        assert_eq!(reason(&check(Some(&erin.header()))).0, Reason::UnknownUser);
        let sha = DigestClient { algorithm: "SHA-256", nc: client.nc + 30, ..client.clone() };
        assert_eq!(reason(&check(Some(&sha.header()))).0, Reason::CredentialUnusable);
    }
    // Basic against the HA1.
    assert_eq!(ok(&check(Some(&basic("dave", "s3cret")))).user.as_str(), "dave");
    let _ = std::fs::remove_dir_all(&d);
}
