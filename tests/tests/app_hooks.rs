//! The `app-hooks` feature (src/app.rs): credential stores that verify passwords, nonces and
//! opaques themselves, the uri and Authentication-Info switches, and the algorithm of an
//! accepted Digest response, checked with the tests' independent Digest client.

use std::cell::{Cell, RefCell};

use authgate::{
    Algorithm, BasicCredentials, Config, CredentialStore, Engine, Purpose, QopSet, Reason, ReplayTable, Request,
    Scheme, StoredCredential, Value, Verdict,
};
use authgate_tests::{ctx, mufasa, nonce_of, ok, reason, KEY, REALM};

/// The application's side: Mufasa's password, its own nonces ("app-nonce-…") and opaque
/// ("app-opaque"), and a Basic callback that records what it was asked.
#[derive(Default)]
struct AppStore {
    app_nonces: bool,
    app_opaque: bool,
    basic_callback: bool,
    asked: RefCell<Vec<(String, String)>>,
    nonce_calls: Cell<u32>,
}

impl CredentialStore for AppStore {
    fn lookup(&self, username: &str, _realm: &str, _purpose: Purpose) -> Option<StoredCredential> {
        (username == "Mufasa").then(|| StoredCredential::plaintext(b"Circle Of Life").unwrap())
    }
    fn verify_basic(&self, username: &str, credentials: &BasicCredentials<'_>, _realm: &str) -> Option<bool> {
        if !self.basic_callback {
            return None;
        }
        let mut buf = [0u8; 1024];
        let password = credentials.password(&mut buf).unwrap().to_owned();
        self.asked.borrow_mut().push((username.to_owned(), password.clone()));
        Some(username == "Aladdin" && password == "open sesame")
    }
    fn verify_nonce(&self, nonce: &Value<'_>) -> Option<bool> {
        self.nonce_calls.set(self.nonce_calls.get() + 1);
        self.app_nonces.then(|| nonce.raw().starts_with(b"app-nonce-"))
    }
    fn verify_opaque(&self, opaque: Option<&Value<'_>>) -> Option<bool> {
        self.app_opaque.then(|| opaque.is_some_and(|o| o.eq_bytes(b"app-opaque")))
    }
}

type AppEngine = Engine<AppStore, RefCell<ReplayTable<8>>>;

fn engine(config: Config, store: AppStore) -> AppEngine {
    Engine::new(config, &KEY, store, RefCell::new(ReplayTable::new())).unwrap()
}

fn digest_config() -> Config {
    Config::new(REALM).unwrap().schemes(&[Scheme::Digest, Scheme::Basic]).unwrap()
}

fn run(e: &AppEngine, uri: &str, header: &str) -> Verdict {
    e.check(&Request::new("GET", uri, Some(header.as_bytes())), ctx(1_000))
}

#[test]
fn basic_callback_runs_after_the_limits() {
    let e = engine(digest_config(), AppStore { basic_callback: true, ..AppStore::default() });
    let basic = |user: &str, pw: &str| {
        use base64::Engine as _;
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}")))
    };
    assert_eq!(ok(&run(&e, "/", &basic("Aladdin", "open sesame"))).user, "Aladdin");
    assert_eq!(reason(&run(&e, "/", &basic("Aladdin", "wrong"))), (Reason::BadCredentials, false));
    // 128 bytes of user name pass; 129 never reach the callback (400).
    let long = "u".repeat(128);
    assert_eq!(reason(&run(&e, "/", &basic(&long, "x"))), (Reason::BadCredentials, false));
    let v = run(&e, "/", &basic(&"u".repeat(129), "x"));
    assert!(matches!(v, Verdict::Malformed(authgate::ParseError::ValueTooLong("username"))), "{v:?}");
    let asked = e.store().asked.borrow();
    assert_eq!(asked.len(), 3);
    assert!(asked.iter().all(|(u, _)| u.len() <= 128));
}

#[test]
fn app_nonces_and_opaque_are_verified_by_the_app_and_used_once() {
    let config = digest_config().qop(QopSet::AUTH).allow_rfc2069(true).algorithms(&[Algorithm::Md5]).unwrap();
    let e = engine(config, AppStore { app_nonces: true, app_opaque: true, ..AppStore::default() });
    let mut c = mufasa("MD5", "app-nonce-1");
    c.opaque = Some("app-opaque");
    let a = ok(&run(&e, c.uri, &c.header())).clone();
    assert_eq!(a.algorithm, Some(Algorithm::Md5));
    // Replay-tracked from the first use: the same nc is refused, the next one accepted.
    assert_eq!(reason(&run(&e, c.uri, &c.header())), (Reason::Replayed, false));
    c.nc = 2;
    ok(&run(&e, c.uri, &c.header()));
    // RFC 2069 (no qop, no nc): accepted once per nonce.
    let mut old = mufasa("MD5", "app-nonce-2");
    old.qop = None;
    old.opaque = Some("app-opaque");
    ok(&run(&e, old.uri, &old.header()));
    assert_eq!(reason(&run(&e, old.uri, &old.header())), (Reason::Replayed, true));
    // The app refuses other nonces and opaques.
    let mut bad = mufasa("MD5", "other-nonce");
    bad.opaque = Some("app-opaque");
    assert_eq!(reason(&run(&e, bad.uri, &bad.header())), (Reason::InvalidNonce, false));
    let mut bad = mufasa("MD5", "app-nonce-3");
    bad.opaque = Some("wrong");
    assert_eq!(reason(&run(&e, bad.uri, &bad.header())), (Reason::OpaqueMismatch, false));
}

#[test]
fn keyed_nonces_do_not_ask_the_app() {
    let e = engine(digest_config(), AppStore::default());
    let nonce = nonce_of(&e.check(&Request::new("GET", "/dir/index.html", None), ctx(1_000)));
    let c = mufasa("SHA-256", nonce);
    let a = ok(&run(&e, c.uri, &c.header())).clone();
    assert_eq!(a.algorithm, Some(Algorithm::Sha256));
    assert!(a.auth_info.as_ref().is_some_and(|i| i.rspauth.is_some()));
    // The store was asked (its default answers None) and the keyed nonce decided.
    assert_eq!(e.store().nonce_calls.get(), 1);
}

#[test]
fn uri_check_and_authentication_info_switches() {
    let config = digest_config().check_uri(false).authentication_info(false);
    let e = engine(config, AppStore::default());
    let nonce = nonce_of(&e.check(&Request::new("GET", "/", None), ctx(1_000)));
    let c = mufasa("MD5", nonce);
    // The uri names another target: accepted with the check off, and no Authentication-Info.
    let v = run(&e, "/rewritten/by/a/proxy", &c.header());
    let a = ok(&v);
    assert_eq!((a.algorithm, a.auth_info.is_none()), (Some(Algorithm::Md5), true));
    let e = engine(digest_config(), AppStore::default());
    let nonce = nonce_of(&e.check(&Request::new("GET", "/", None), ctx(1_000)));
    let c = mufasa("MD5", nonce);
    assert!(matches!(run(&e, "/rewritten", &c.header()), Verdict::Malformed(authgate::ParseError::UriMismatch)));
}

#[test]
fn replay_retention_is_lifetime_and_skew() {
    let c = Config::new("r").unwrap().nonce_lifetime(120).unwrap().max_clock_skew(7);
    assert_eq!(c.replay_retention(), 127);
    assert_eq!(Config::new("r").unwrap().replay_retention(), 305);
}

/// A replay store asked after the check (an async store): `check` runs with a store that
/// answers Fresh and keeps what it was asked; `settle_replay` with the real store's answer
/// gives what `check` gives with that store inside it, for qop=auth and RFC 2069.
#[test]
fn settle_replay_gives_what_the_check_gives_with_the_store_inside() {
    use authgate::nonce::NonceId;
    use authgate::{ReplayOutcome, ReplayStore};
    #[derive(Default)]
    struct Deferred(RefCell<Vec<(NonceId, u64, u32)>>);
    impl ReplayStore for Deferred {
        fn check_and_record(&self, id: &NonceId, issued: u64, nc: u32) -> ReplayOutcome {
            self.0.borrow_mut().push((*id, issued, nc));
            ReplayOutcome::Fresh
        }
    }
    /// A store that answers what it is told to.
    struct Answers(ReplayOutcome);
    impl ReplayStore for Answers {
        fn check_and_record(&self, _: &NonceId, _: u64, _: u32) -> ReplayOutcome {
            self.0
        }
    }
    let config = digest_config().allow_rfc2069(true).algorithms(&[Algorithm::Md5]).unwrap();
    let deferred = Engine::new(config.clone(), &KEY, AppStore::default(), Deferred::default()).unwrap();
    let first = run_with(&deferred, None);
    let nonce = nonce_of(&first);
    for qop in [Some("auth"), None] {
        let header = DigestClientFor { nonce, qop }.header();
        for outcome in [ReplayOutcome::Fresh, ReplayOutcome::Replayed, ReplayOutcome::Stale] {
            let inside = Engine::new(config.clone(), &KEY, AppStore::default(), Answers(outcome)).unwrap();
            let expected = run_with(&inside, Some(&header));
            let v = run_with(&deferred, Some(&header));
            assert!(matches!(v, Verdict::Authenticated(_)), "{v:?}");
            let (id, issued, nc) = deferred.replay().0.borrow_mut().pop().expect("the store was asked");
            assert_eq!((issued, nc), (1_000, 1));
            assert_eq!(id.len(), 16);
            let settled = deferred.settle_replay(v, outcome, ctx(1_000));
            match (&settled, &expected) {
                (Verdict::Authenticated(a), Verdict::Authenticated(b)) => {
                    assert_eq!((&a.user, a.qop), (&b.user, b.qop));
                    assert_eq!(outcome, ReplayOutcome::Fresh);
                }
                _ => assert_eq!(reason(&settled), reason(&expected), "{qop:?} {outcome:?}"),
            }
            if outcome == ReplayOutcome::Stale {
                assert_eq!(reason(&settled), (Reason::StaleNonce, true));
            }
            if outcome == ReplayOutcome::Replayed {
                // Without nc a reused nonce asks for a new one (stale); with nc it is refused.
                assert_eq!(reason(&settled), (Reason::Replayed, qop.is_none()));
            }
        }
    }
    // Not a Digest acceptance: as it is.
    let refused = run_with(&deferred, Some("Digest username=\"x\""));
    assert_eq!(deferred.settle_replay(refused.clone(), ReplayOutcome::Stale, ctx(1_000)), refused);
    let basic = run_with(&deferred, Some("Basic TXVmYXNhOkNpcmNsZSBPZiBMaWZl"));
    assert_eq!(deferred.settle_replay(basic.clone(), ReplayOutcome::Replayed, ctx(1_000)), basic);
}

fn run_with<R: authgate::ReplayStore>(e: &Engine<AppStore, R>, header: Option<&str>) -> Verdict {
    e.check(&Request::new("GET", "/dir/index.html", header.map(str::as_bytes)), ctx(1_000))
}

/// Mufasa with a nonce of the engine and the given qop.
struct DigestClientFor {
    nonce: &'static str,
    qop: Option<&'static str>,
}

impl DigestClientFor {
    fn header(&self) -> String {
        let mut c = mufasa("MD5", self.nonce);
        c.realm = REALM;
        c.qop = self.qop;
        c.header()
    }
}
