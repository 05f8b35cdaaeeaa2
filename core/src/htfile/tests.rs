//! Lines written by Apache's own tools (htpasswd/htdigest 2.4.71, Debian apache2-utils),
//! damaged lines, and the store rules. tests/tests/htfile.rs runs the tools themselves.

extern crate std;

use super::*;
use crate::credential::check_basic;
use crate::error::Reason;

/// `pässword` (UTF-8) in every format htpasswd writes, then two truncation cases.
const APACHE: &[u8] = "\
# written by htpasswd 2.4.71
bcrypt:$2y$04$hClqlN0COVwY9xJeXgDWZuQG7eStcm.jN5yFQuhRVmLG3gnJ6cVZC
apr1:$apr1$z.Dy0sDS$nc39arAsmX4c7O6IqjytW0
sha256r:$5$rounds=1000$53TD6bJFR0DzDGqB$GgZ41QMZMT.KvkgoErd713sZjY5ZdIngp0PJE8XZoz2
sha512r:$6$rounds=1000$E2UjGbqoE7Z5fLNh$4Y1Y1bYk6CbUIKn9nDSQRDjBWOL95C6uKXxH52iAzc73KUNFif04snoHDCYsNo/dC2ZAHlQE7TyiqB7lOdZ03/
sha256:$5$v1pkuBIeHTU7K5X5$DegX.KBka490rTiK6mB4AOPbNEaEksMWNO13wdx0c0/
sha1:{SHA}I7dElEdfX4dJgLdnbVEeI9iG2mQ=
crypt:AmjrzmO2b.JO2
md5:$1$saltstri$MNjlxGV3mAY2WdNxjTT21/
longdes:7n0oWwjqJFe8I
long72:$2y$04$YAJuItSBwBApq/Wf64wgguTTsgbU6vPjnDzNMnKEOUg1FcAEVb14W
"
.as_bytes();

fn file() -> Htpasswd<&'static [u8]> {
    Htpasswd::parse(APACHE, Policy::DEFAULT).unwrap()
}

#[test]
#[cfg_attr(miri, ignore)] // bcrypt and SHA-crypt: minutes under Miri.
fn every_format_htpasswd_writes_verifies() {
    let f = file();
    for user in ["bcrypt", "apr1", "sha256r", "sha512r", "sha256", "sha1", "crypt"] {
        assert!(f.verify(user, "pässword".as_bytes()), "{user}");
        assert!(!f.verify(user, "passwörd".as_bytes()), "{user}: wrong password");
        assert!(!f.verify(user, b""), "{user}: empty password");
    }
    assert!(f.verify("md5", b"test"));
    assert!(!f.verify("nobody", "pässword".as_bytes()));
    assert_eq!(f.len(), 10);
}

#[test]
fn formats_are_recognised() {
    let f = file();
    let formats: std::vec::Vec<_> = f
        .entries()
        .map(|e| match e.credential {
            StoredCredential::Htpasswd(h) => (e.user, h.format(), h.cost_parameter()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(formats[0], ("bcrypt", Format::Bcrypt, 4));
    assert_eq!(formats[1], ("apr1", Format::Md5Crypt, 1000));
    assert_eq!(formats[2], ("sha256r", Format::Sha256Crypt, 1000));
    assert_eq!(formats[3], ("sha512r", Format::Sha512Crypt, 1000));
    assert_eq!(formats[4], ("sha256", Format::Sha256Crypt, 5000));
    assert_eq!(formats[5], ("sha1", Format::Sha1, 1));
    assert_eq!(formats[6], ("crypt", Format::DesCrypt, 25));
}

#[test]
#[cfg_attr(miri, ignore)] // bcrypt and SHA-crypt: minutes under Miri.
fn the_formats_own_length_limits_hold() {
    let f = file();
    // DES crypt reads 8 characters; htpasswd -d warned and hashed "longpass".
    assert!(f.verify("longdes", b"longpassword12"));
    assert!(f.verify("longdes", b"longpass"));
    assert!(!f.verify("longdes", b"longpas"));
    // bcrypt reads 72 bytes; htpasswd -B hashed 80 'a's.
    let a80 = [b'a'; 80];
    assert!(f.verify("long72", &a80));
    assert!(f.verify("long72", &a80[..72]));
    assert!(!f.verify("long72", &a80[..71]));
}

#[test]
fn a_password_with_a_nul_matches_nothing() {
    let f = file();
    assert!(!f.verify("sha1", "pässword\0".as_bytes()));
    assert!(!f.verify("longdes", b"longpass\0x"));
    assert!(!f.verify("long72", &[b'a'; 72].iter().copied().chain([0]).collect::<std::vec::Vec<_>>()));
}

#[test]
#[cfg_attr(miri, ignore)] // bcrypt and SHA-crypt: minutes under Miri.
fn latin1_basic_passwords_are_transcoded() {
    let f = file();
    let latin1 = b"p\xe4ssword";
    assert_eq!(check_basic(&f, "bcrypt", "r", latin1, Charset::Latin1), Ok(()));
    assert_eq!(check_basic(&f, "bcrypt", "r", latin1, Charset::Utf8), Err(Reason::BadCredentials));
    assert_eq!(check_basic(&f, "who", "r", latin1, Charset::Latin1), Err(Reason::UnknownUser));
}

#[test]
fn first_line_wins_and_crlf_comments_and_blanks_are_apaches() {
    let text = b"\r\n  # comment\r\n\t alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=  \r\n\r\nalice:{SHA}I7dElEdfX4dJgLdnbVEeI9iG2mQ=\r\nbob:{SHA}I7dElEdfX4dJgLdnbVEeI9iG2mQ=:extra:fields\r\n";
    let f = Htpasswd::parse(&text[..], Policy::DEFAULT).unwrap();
    assert!(f.verify("alice", b"password"));
    assert!(!f.verify("alice", "pässword".as_bytes()), "the second alice line is never used");
    assert!(f.verify("bob", "pässword".as_bytes()));
    let lines: std::vec::Vec<_> = f.entries().map(|e| (e.line, e.user)).collect();
    assert_eq!(lines, [(3, "alice"), (5, "alice"), (6, "bob")]);
}

fn error(text: &[u8], policy: Policy) -> LineError {
    Htpasswd::parse(text, policy).unwrap_err()
}

fn kind(field: &str) -> ErrorKind {
    let line = std::format!("# x\nu:{field}\n");
    let e = error(line.as_bytes(), Policy::DEFAULT);
    assert_eq!(e.line, 2, "{field}");
    e.kind
}

#[test]
fn damaged_lines_are_refused_with_their_number() {
    use ErrorKind::*;
    use HashError::*;
    assert_eq!(
        error(b"ok:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\nnocolon\n", Policy::DEFAULT),
        LineError { line: 2, kind: MissingColon }
    );
    assert_eq!(error(b"\n\n:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n", Policy::DEFAULT).kind, EmptyUser);
    assert_eq!(error(b"a\0b:x\n", Policy::DEFAULT).kind, ControlCharacter);
    assert_eq!(error(b"a\rb:x\n", Policy::DEFAULT).kind, ControlCharacter);
    assert_eq!(error(b"\xff:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n", Policy::DEFAULT).kind, InvalidUser);
    let long_user = std::format!("{}:{{SHA}}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "u".repeat(129));
    assert_eq!(error(long_user.as_bytes(), Policy::DEFAULT).kind, InvalidUser);
    assert_eq!(kind(""), Hash(Empty));
    assert_eq!(kind("*0"), Hash(Locked));
    assert_eq!(kind("!$apr1$z.Dy0sDS$nc39arAsmX4c7O6IqjytW0"), Hash(Locked));
    assert_eq!(kind("$2x$05$hClqlN0COVwY9xJeXgDWZuQG7eStcm.jN5yFQuhRVmLG3gnJ6cVZC"), Hash(Unknown));
    assert_eq!(kind("$y$j9T$abc$def"), Hash(Unknown));
    assert_eq!(kind("{SSHA}abc"), Hash(Unknown));
    assert_eq!(kind("secret"), Hash(Plaintext));
    assert_eq!(kind("$2y$03$hClqlN0COVwY9xJeXgDWZuQG7eStcm.jN5yFQuhRVmLG3gnJ6cVZC"), Hash(Malformed(Format::Bcrypt)));
    assert_eq!(kind("$2y$13$hClqlN0COVwY9xJeXgDWZuQG7eStcm.jN5yFQuhRVmLG3gnJ6cVZC"), Hash(CostTooHigh(Format::Bcrypt)));
    assert_eq!(kind("$2y$99$hClqlN0COVwY9xJeXgDWZuQG7eStcm.jN5yFQuhRVmLG3gnJ6cVZC"), Hash(Malformed(Format::Bcrypt)));
    assert_eq!(
        kind("$5$rounds=999$53TD6bJFR0DzDGqB$GgZ41QMZMT.KvkgoErd713sZjY5ZdIngp0PJE8XZoz2"),
        Hash(Malformed(Format::Sha256Crypt))
    );
    assert_eq!(
        kind("$5$rounds=01000$53TD6bJFR0DzDGqB$GgZ41QMZMT.KvkgoErd713sZjY5ZdIngp0PJE8XZoz2"),
        Hash(Malformed(Format::Sha256Crypt))
    );
    assert_eq!(kind("$6$rounds=999999999$E2UjGbqoE7Z5fLNh$x"), Hash(CostTooHigh(Format::Sha512Crypt)));
    assert_eq!(kind("$6$rounds=99999999999999999999$E2UjGbqoE7Z5fLNh$x"), Hash(Malformed(Format::Sha512Crypt)));
    assert_eq!(
        kind("$5$0123456789abcdefg$GgZ41QMZMT.KvkgoErd713sZjY5ZdIngp0PJE8XZoz2"),
        Hash(Malformed(Format::Sha256Crypt))
    );
    assert_eq!(kind("$apr1$123456789$nc39arAsmX4c7O6IqjytW0"), Hash(Malformed(Format::Md5Crypt)));
    assert_eq!(kind("{SHA}I7dElEdfX4dJgLdnbVEeI9iG2mQ"), Hash(Malformed(Format::Sha1)));
    // Trailing bits that are not zero: not what any tool writes.
    assert_eq!(kind("AmjrzmO2b.JO3"), Hash(Malformed(Format::DesCrypt)));
}

#[test]
fn every_truncation_of_every_format_is_an_error_never_a_panic() {
    for line in core::str::from_utf8(APACHE).unwrap().lines().skip(1) {
        let (user, hash) = line.split_once(':').unwrap();
        for cut in 1..hash.len() {
            let text = std::format!("{user}:{}", &hash[..cut]);
            let policy = Policy { allow_plaintext: true, ..Policy::DEFAULT };
            // With plaintext allowed a short field is a password; any `$`/`{` field is a hash.
            match Htpasswd::parse(text.as_bytes(), policy) {
                Ok(f) => assert!(!hash.starts_with(['$', '{']) && f.verify(user, &hash.as_bytes()[..cut]), "{text}"),
                Err(e) => assert_eq!(e.line, 1, "{text}"),
            }
            assert!(Htpasswd::parse(text.as_bytes(), Policy::DEFAULT).is_err(), "{text}");
        }
    }
}

#[test]
fn long_lines_and_garbage() {
    let mut long = std::vec![b'a'; 10 * 1024];
    long.extend_from_slice(b":{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n");
    assert_eq!(error(&long, Policy::DEFAULT), LineError { line: 1, kind: ErrorKind::LineTooLong });
    // A line of exactly the limit is read (and refused for its user name, not its length).
    let mut at_limit = std::vec![b'a'; MAX_LINE_LEN];
    at_limit[0] = b'#';
    assert!(Htpasswd::parse(&at_limit[..], Policy::DEFAULT).is_ok());
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..if cfg!(miri) { 20 } else { 2000 } {
        let mut buf = [0u8; 64];
        for b in buf.iter_mut() {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            const ALPHABET: &[u8] = b"u:$2y$04apr1{SHA}.0/aZ:\n\r #*5rounds=6";
            *b = ALPHABET[(rng % ALPHABET.len() as u64) as usize];
        }
        let _ = Htpasswd::parse(&buf[..], Policy::DEFAULT);
        let _ = Htdigest::parse(&buf[..]);
    }
}

#[test]
#[cfg_attr(miri, ignore)] // bcrypt and SHA-crypt: minutes under Miri.
fn plaintext_only_when_allowed() {
    let policy = Policy { allow_plaintext: true, ..Policy::DEFAULT };
    let f = Htpasswd::parse(&b"alice:s3cret:comment\n"[..], policy).unwrap();
    assert!(f.verify("alice", b"s3cret"));
    assert!(!f.verify("alice", b"s3cret:comment"));
    // A plaintext line serves Digest too.
    assert!(f
        .lookup("alice", "r", Purpose::Digest(HashAlgorithm::Md5))
        .unwrap()
        .digest_ha1(HashAlgorithm::Md5, b"alice", b"r",)
        .is_some());
    assert_eq!(error(b"alice:s3cret\n", Policy::DEFAULT).kind, ErrorKind::Hash(HashError::Plaintext));
    // 13 characters of the crypt alphabet are a DES hash, as on Unix.
    let f = Htpasswd::parse(&b"alice:AmjrzmO2b.JO2\n"[..], policy).unwrap();
    assert!(!f.verify("alice", b"AmjrzmO2b.JO2"));
}

#[test]
fn cost_caps_are_configurable() {
    let line = b"u:$2y$04$hClqlN0COVwY9xJeXgDWZuQG7eStcm.jN5yFQuhRVmLG3gnJ6cVZC\n";
    assert!(Htpasswd::parse(&line[..], Policy { max_bcrypt_cost: 4, ..Policy::DEFAULT }).is_ok());
    let e = error(line, Policy { max_bcrypt_cost: 3, ..Policy::DEFAULT });
    assert_eq!(e.kind, ErrorKind::Hash(HashError::CostTooHigh(Format::Bcrypt)));
    assert_eq!(std::format!("{e}"), "line 1: password hash cost above the configured maximum (bcrypt)");
    let line = b"u:$5$rounds=1000$53TD6bJFR0DzDGqB$GgZ41QMZMT.KvkgoErd713sZjY5ZdIngp0PJE8XZoz2\n";
    assert!(Htpasswd::parse(&line[..], Policy { max_sha_crypt_rounds: 1000, ..Policy::DEFAULT }).is_ok());
    assert!(Htpasswd::parse(&line[..], Policy { max_sha_crypt_rounds: 999, ..Policy::DEFAULT }).is_err());
    // Without `rounds=` SHA-crypt costs 5000.
    let line = b"u:$5$v1pkuBIeHTU7K5X5$DegX.KBka490rTiK6mB4AOPbNEaEksMWNO13wdx0c0/\n";
    assert!(Htpasswd::parse(&line[..], Policy { max_sha_crypt_rounds: 4999, ..Policy::DEFAULT }).is_err());
}

#[test]
#[cfg_attr(miri, ignore)] // bcrypt and SHA-crypt: minutes under Miri.
fn unknown_users_are_checked_against_the_costliest_line() {
    let f = file();
    match CredentialStore::decoy(&f, "r") {
        // bcrypt cost 4 (1.9 ms in `make bench`) costs more than SHA-256-crypt at 5000 rounds (1.1 ms).
        StoredCredential::Htpasswd(h) => assert_eq!((h.format(), h.cost_parameter()), (Format::Bcrypt, 4)),
        other => panic!("{other:?}"),
    }
    assert!(!CredentialStore::decoy(&f, "r").check_password(b"x", b"r", "pässword".as_bytes(), Charset::Utf8));
    let only_sha1 = Htpasswd::parse(&b"a:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n"[..], Policy::DEFAULT).unwrap();
    assert!(matches!(CredentialStore::decoy(&only_sha1, "r"), StoredCredential::Htpasswd(_)));
    let empty = Htpasswd::parse(&b"# nobody\n"[..], Policy::DEFAULT).unwrap();
    assert!(empty.is_empty() && !empty.verify("a", b"b"));
}

#[test]
fn htpasswd_users_cannot_do_digest() {
    let f = file();
    let c = f.lookup("bcrypt", "r", Purpose::Digest(HashAlgorithm::Md5)).unwrap();
    assert!(c.digest_ha1(HashAlgorithm::Md5, b"bcrypt", b"r").is_none());
}

const HTDIGEST: &[u8] = b"dave:my realm:669bb5c539f096809dc379871fe1c6bc\r\ndave:other:669bb5c539f096809dc379871fe1c6bc\ndave:my realm:00000000000000000000000000000000\n";

#[test]
fn htdigest_by_user_and_realm() {
    let f = Htdigest::parse(HTDIGEST).unwrap();
    assert_eq!(f.len(), 3);
    assert_eq!(f.single_realm(), None);
    assert_eq!(f.ha1("dave", "my realm").unwrap().to_hex().as_str(), "669bb5c539f096809dc379871fe1c6bc");
    assert!(f.ha1("dave", "nope").is_none());
    assert!(f.verify("dave", "my realm", b"secret"));
    assert!(!f.verify("dave", "other", b"secret"), "the HA1 holds its realm");
    assert!(!f.verify("dave", "my realm", b"Secret"));
    let c = f.lookup("dave", "my realm", Purpose::Digest(HashAlgorithm::Md5)).unwrap();
    assert!(c.digest_ha1(HashAlgorithm::Md5, b"dave", b"my realm").is_some());
    assert!(c.digest_ha1(HashAlgorithm::Sha256, b"dave", b"my realm").is_none());
    let one = Htdigest::parse(&b"a:r1:669bb5c539f096809dc379871fe1c6bc\nb:r1:669bb5c539f096809dc379871fe1c6bc\n"[..])
        .unwrap();
    assert_eq!(one.single_realm(), Some("r1"));
}

#[test]
fn damaged_htdigest_lines() {
    let e = |t: &[u8]| Htdigest::parse(t).unwrap_err();
    assert_eq!(e(b"\nu:r\n"), LineError { line: 2, kind: ErrorKind::MissingColon });
    assert_eq!(e(b"u:r:669BB5C539F096809DC379871FE1C6BC\n").kind, ErrorKind::InvalidHa1);
    assert_eq!(e(b"u:r:669bb5c539f096809dc379871fe1c6b\n").kind, ErrorKind::InvalidHa1);
    assert_eq!(e(b"u::669bb5c539f096809dc379871fe1c6bc\n").kind, ErrorKind::InvalidRealm);
    assert_eq!(e(b":r:669bb5c539f096809dc379871fe1c6bc\n").kind, ErrorKind::EmptyUser);
}
