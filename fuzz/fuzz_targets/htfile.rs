//! htpasswd and htdigest files: `Htpasswd::parse` and `Htdigest::parse` on any bytes must
//! return a store or the first refused line, never panic or hang, and a store must answer
//! by Apache's rules (first line per user wins; every listed user is found).
//!
//! Input: one mode byte, one policy byte, then
//! - 0: raw file text;
//! - 1: a line of a known format (htpasswd 2.4.71 output, password `pässword`) with the
//!   rest of the input spliced in at a chosen place: damaged hashes must be refused or,
//!   when they still parse, verify without panicking (and the unchanged line verifies).
#![no_main]

use authgate::htfile::{Htdigest, Htpasswd, Policy};
use authgate::StoredCredential;
use authgate_fuzz::Reader;
use libfuzzer_sys::fuzz_target;

/// One line per format, as htpasswd writes them (costs low enough to fuzz).
const LINES: [&str; 8] = [
    "bcrypt:$2y$04$hClqlN0COVwY9xJeXgDWZuQG7eStcm.jN5yFQuhRVmLG3gnJ6cVZC",
    "apr1:$apr1$z.Dy0sDS$nc39arAsmX4c7O6IqjytW0",
    "sha256r:$5$rounds=1000$53TD6bJFR0DzDGqB$GgZ41QMZMT.KvkgoErd713sZjY5ZdIngp0PJE8XZoz2",
    "sha512r:$6$rounds=1000$E2UjGbqoE7Z5fLNh$4Y1Y1bYk6CbUIKn9nDSQRDjBWOL95C6uKXxH52iAzc73KUNFif04snoHDCYsNo/dC2ZAHlQE7TyiqB7lOdZ03/",
    "sha1:{SHA}I7dElEdfX4dJgLdnbVEeI9iG2mQ=",
    "crypt:AmjrzmO2b.JO2",
    "plain:pässword",
    "dave:my realm:669bb5c539f096809dc379871fe1c6bc",
];

/// Caps that keep one verification under a few milliseconds.
fn policy(b: u8) -> Policy {
    Policy { max_bcrypt_cost: 4 + u32::from(b & 1), max_sha_crypt_rounds: 2000, allow_plaintext: b & 2 != 0 }
}

fn check_htpasswd(text: &[u8], policy: Policy) -> Option<Htpasswd<&[u8]>> {
    let lines = text.split(|&c| c == b'\n').count();
    match Htpasswd::parse(text, policy) {
        Ok(f) => {
            let entries: Vec<_> = f.entries().collect();
            assert_eq!(entries.len(), f.len());
            assert!(entries.windows(2).all(|w| w[0].line < w[1].line));
            for e in &entries {
                assert!(e.line >= 1 && e.line <= lines);
                assert!(!e.user.is_empty() && !e.user.contains(':') && e.user.len() <= 128);
                // The first line naming the user is the one a lookup returns.
                let first = entries.iter().find(|x| x.user == e.user).unwrap();
                let got = f.get(e.user).expect("a listed user is found");
                assert_eq!(format!("{got:?}"), format!("{:?}", first.credential));
            }
            Some(f)
        }
        Err(e) => {
            assert!(e.line >= 1 && e.line <= lines, "{e:?} of {lines} lines");
            // The error is the first refused line: everything before it is read.
            let before: usize = text.split(|&c| c == b'\n').take(e.line - 1).map(|l| l.len() + 1).sum();
            assert!(Htpasswd::parse(&text[..before.min(text.len())], policy).is_ok());
            None
        }
    }
}

fn check_htdigest(text: &[u8]) {
    let lines = text.split(|&c| c == b'\n').count();
    match Htdigest::parse(text) {
        Ok(f) => {
            for (line, user, realm) in f.users() {
                assert!(line >= 1 && line <= lines);
                assert!(f.ha1(user, realm).is_some());
            }
        }
        Err(e) => assert!(e.line >= 1 && e.line <= lines),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    let mode = r.u8();
    let policy = policy(r.u8());
    match mode % 2 {
        0 => {
            let text = r.rest();
            check_htpasswd(text, policy);
            check_htdigest(text);
        }
        _ => {
            let which = r.u8() as usize % LINES.len();
            let at = r.u8() as usize;
            let splice = r.rest();
            let line = LINES[which].as_bytes();
            let at = at % (line.len() + 1);
            let text = [&line[..at], splice, &line[at..]].concat();
            check_htdigest(&text);
            if let Some(f) = check_htpasswd(&text, policy) {
                for e in f.entries() {
                    let ok = f.verify(e.user, "pässword".as_bytes());
                    if splice.is_empty() && !matches!(e.credential, StoredCredential::Plaintext(_)) {
                        assert!(ok, "{}", LINES[which]);
                    }
                    assert!(!f.verify(e.user, b"wrong"));
                }
            }
        }
    }
});
