//! What a web-framework layer asks of the engine beyond what a device needs: the
//! `app-hooks` feature (on by default; the size probe and the firmware leave it out).
//!
//! The Python package's Flask-HTTPAuth drop-in is its user. With it, [`Config`] takes a
//! custom scheme word per scheme ([`Config::scheme_name`]), switches for the `uri` check and
//! `Authentication-Info`, how a token is read ([`TokenSyntax`]) and how challenges are laid
//! out ([`ChallengeStyle`]); a [`CredentialStore`](crate::CredentialStore) may verify Basic
//! passwords, tokens, nonces and opaques itself (application callbacks), after every limit of
//! the engine has been applied; and [`Engine::claimed_user`] and [`cgi_request_target`] give a
//! framework what it needs to log a refusal and to hand the engine a request.

#[cfg(feature = "app-hooks")]
use crate::digest::{Algorithm, DigestCredentials, Username};
#[cfg(feature = "app-hooks")]
use crate::digest_check::DigestFailure;
#[cfg(feature = "app-hooks")]
use crate::engine::Engine;
use crate::engine::{Config, Scheme};
use crate::error::BufferTooSmall;
#[cfg(feature = "app-hooks")]
use crate::error::{ConfigError, ParseError, Reason};
#[cfg(feature = "app-hooks")]
use crate::limits::{MAX_BASIC_DECODED, MAX_BEARER_LEN, MAX_HEADER_LEN, MAX_SCHEME_LEN, MAX_USERNAME_LEN};
#[cfg(feature = "app-hooks")]
use crate::nonce::NonceId;
#[cfg(feature = "app-hooks")]
use crate::parse::{self, Rest, Value};
#[cfg(feature = "app-hooks")]
use crate::render::Writer;
use crate::render::{self, BearerError, DigestChallenge};

/// How the token of the Bearer scheme (or its custom name) is read.
#[cfg(feature = "app-hooks")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum TokenSyntax {
    /// RFC 6750: one `b64token` after the scheme word (the default).
    #[default]
    B64Token,
    /// An application-defined token scheme: everything after the scheme word and its
    /// spaces, any characters but controls (as Flask-HTTPAuth reads `Token <anything>`).
    FreeForm,
    /// The whole field value is the token, without a scheme word: the value of a custom
    /// header such as `X-API-Key`, handed to [`Engine::check`] as the credentials.
    WholeValue,
}

/// How challenges are laid out.
#[cfg(feature = "app-hooks")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ChallengeStyle {
    /// RFC 7616 / 7617 / 6750 (the default): `Digest realm="r", qop="auth", algorithm=MD5,
    /// nonce="…", opaque="…", charset=UTF-8`, `Basic realm="r", charset="UTF-8"`.
    #[default]
    Rfc7616,
    /// The RFC 2617 layout Flask-HTTPAuth writes, byte for byte: `Digest
    /// realm="r",nonce="…",opaque="…",algorithm="MD5",qop="auth"` (no spaces, `algorithm` and
    /// `qop` quoted, `MD5-Sess`; without qop and with MD5 no `algorithm`), `Basic realm="r"`,
    /// `Bearer realm="r"`. `stale=true` is added after an expired nonce.
    Compact,
}

/// The options of this module, kept in [`Config`].
#[cfg(feature = "app-hooks")]
#[derive(Clone, Debug)]
pub(crate) struct AppOptions {
    /// A custom scheme word per scheme (empty: none).
    names: [heapless::String<MAX_SCHEME_LEN>; 5],
    check_uri: bool,
    authentication_info: bool,
    pub(crate) token_syntax: TokenSyntax,
    style: ChallengeStyle,
}

#[cfg(feature = "app-hooks")]
impl AppOptions {
    pub(crate) const fn new() -> Self {
        AppOptions {
            names: [const { heapless::String::new() }; 5],
            check_uri: true,
            authentication_info: true,
            token_syntax: TokenSyntax::B64Token,
            style: ChallengeStyle::Rfc7616,
        }
    }
}

#[cfg(feature = "app-hooks")]
const fn slot(s: Scheme) -> usize {
    match s {
        Scheme::Digest => 0,
        Scheme::Basic => 1,
        Scheme::Bearer => 2,
        Scheme::Ntlm => 3,
        Scheme::Negotiate => 4,
    }
}

#[cfg(feature = "app-hooks")]
impl Config {
    /// A custom scheme word for `scheme` (a token of at most 32 characters): challenges use
    /// it, and requests are accepted under it as well as under the standard name, ignoring
    /// ASCII case. Applications use one to keep browsers from showing their login prompt.
    pub fn scheme_name(mut self, scheme: Scheme, name: &str) -> Result<Config, ConfigError> {
        if name.is_empty() || !name.bytes().all(parse::is_tchar) {
            return Err(ConfigError::InvalidSchemeName);
        }
        self.app.names[slot(scheme)] = heapless::String::try_from(name).map_err(|_| ConfigError::InvalidSchemeName)?;
        Ok(self)
    }

    /// Require the Digest `uri` to equal the request-target (RFC 7616 §3.4.6; default on).
    /// Only an application behind a proxy that rewrites paths should turn this off.
    pub fn check_uri(mut self, check: bool) -> Config {
        self.app.check_uri = check;
        self
    }

    /// Compute `Authentication-Info` (`rspauth`, `nextnonce`) for accepted Digest requests
    /// (default on). Off, [`Authenticated::auth_info`](crate::Authenticated::auth_info) is
    /// `None` and the check skips the hashing it needs.
    pub fn authentication_info(mut self, send: bool) -> Config {
        self.app.authentication_info = send;
        self
    }

    /// How the Bearer scheme's token is read (default [`TokenSyntax::B64Token`]).
    pub fn token_syntax(mut self, syntax: TokenSyntax) -> Config {
        self.app.token_syntax = syntax;
        self
    }

    /// How challenges are laid out (default [`ChallengeStyle::Rfc7616`]).
    pub fn challenge_style(mut self, style: ChallengeStyle) -> Config {
        self.app.style = style;
        self
    }

    /// The scheme word challenges use for `scheme`: its custom name, else its standard one.
    pub fn scheme_word(&self, scheme: Scheme) -> &str {
        let name = &self.app.names[slot(scheme)];
        if name.is_empty() {
            scheme.name()
        } else {
            name
        }
    }

    /// The offered scheme `word` selects (ignoring ASCII case), if any.
    pub fn scheme_of(&self, word: &[u8]) -> Option<Scheme> {
        self.offered_schemes()
            .iter()
            .copied()
            .find(|s| parse::eq_ignore_case(word, s.name().as_bytes()) || self.is_named(word, *s))
    }
}

/// Crate-private: the options as the engine reads them, constant without the feature.
impl Config {
    /// Whether `word` is the custom name of `scheme`.
    #[inline(always)]
    pub(crate) fn is_named(&self, word: &[u8], scheme: Scheme) -> bool {
        #[cfg(feature = "app-hooks")]
        {
            let name = &self.app.names[slot(scheme)];
            !name.is_empty() && parse::eq_ignore_case(word, name.as_bytes())
        }
        #[cfg(not(feature = "app-hooks"))]
        {
            let _ = (word, scheme);
            false
        }
    }

    #[inline(always)]
    pub(crate) fn checks_uri(&self) -> bool {
        #[cfg(feature = "app-hooks")]
        return self.app.check_uri;
        #[cfg(not(feature = "app-hooks"))]
        true
    }

    #[inline(always)]
    pub(crate) fn sends_authentication_info(&self) -> bool {
        #[cfg(feature = "app-hooks")]
        return self.app.authentication_info;
        #[cfg(not(feature = "app-hooks"))]
        true
    }

    #[inline(always)]
    pub(crate) fn render_digest(&self, c: &DigestChallenge<'_>, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
        #[cfg(feature = "app-hooks")]
        {
            let scheme = self.scheme_word(Scheme::Digest);
            match self.app.style {
                ChallengeStyle::Rfc7616 => render::digest_challenge_named(scheme, c, buf),
                ChallengeStyle::Compact => compact_digest(scheme, c, buf),
            }
        }
        #[cfg(not(feature = "app-hooks"))]
        render::digest_challenge(c, buf)
    }

    #[inline(always)]
    pub(crate) fn render_basic(&self, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
        #[cfg(feature = "app-hooks")]
        {
            let scheme = self.scheme_word(Scheme::Basic);
            match self.app.style {
                ChallengeStyle::Rfc7616 => render::basic_challenge_named(scheme, self.realm(), buf),
                ChallengeStyle::Compact => compact_realm(scheme, self.realm(), buf),
            }
        }
        #[cfg(not(feature = "app-hooks"))]
        render::basic_challenge(self.realm(), buf)
    }

    #[inline(always)]
    pub(crate) fn render_bearer(
        &self,
        error: Option<BearerError>,
        description: Option<&str>,
        buf: &mut [u8],
    ) -> Result<usize, BufferTooSmall> {
        #[cfg(feature = "app-hooks")]
        {
            let scheme = self.scheme_word(Scheme::Bearer);
            match self.app.style {
                ChallengeStyle::Rfc7616 => {
                    render::bearer_challenge_named(scheme, self.realm(), error, description, buf)
                }
                ChallengeStyle::Compact => compact_realm(scheme, self.realm(), buf),
            }
        }
        #[cfg(not(feature = "app-hooks"))]
        render::bearer_challenge(self.realm(), error, description, buf)
    }
}

/// `<scheme> realm="<realm>"`.
#[cfg(feature = "app-hooks")]
fn compact_realm(scheme: &str, realm: &str, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
    let mut w = Writer::new(buf);
    w.str(scheme).str(" realm=").quoted(realm.as_bytes());
    w.finish()
}

/// A Digest challenge in [`ChallengeStyle::Compact`].
#[cfg(feature = "app-hooks")]
fn compact_digest(scheme: &str, c: &DigestChallenge<'_>, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
    let mut w = Writer::new(buf);
    w.str(scheme).str(" realm=").quoted(c.realm.as_bytes());
    w.str(",nonce=").quoted(c.nonce.as_bytes());
    if let Some(o) = c.opaque {
        w.str(",opaque=").quoted(o.as_bytes());
    }
    if !c.qop.is_empty() || c.algorithm != Algorithm::Md5 {
        let name = if c.algorithm == Algorithm::Md5Sess { "MD5-Sess" } else { c.algorithm.name() };
        w.str(",algorithm=\"").str(name).str("\"");
    }
    match (c.qop.auth, c.qop.auth_int) {
        (true, true) => w.str(",qop=\"auth,auth-int\""),
        (true, false) => w.str(",qop=\"auth\""),
        (false, true) => w.str(",qop=\"auth-int\""),
        (false, false) => &mut w,
    };
    if c.stale {
        w.str(",stale=true");
    }
    if c.userhash {
        w.str(",userhash=true");
    }
    w.finish()
}

/// Whether `b` holds a control character other than HTAB (none is allowed in a field value).
#[cfg(feature = "app-hooks")]
fn has_ctl(b: &[u8]) -> bool {
    b.iter().any(|&c| (c < 0x20 && c != b'\t') || c == 0x7f)
}

/// A token as text: UTF-8, at most [`MAX_BEARER_LEN`] bytes, no control characters; an
/// empty one is no token (401).
#[cfg(feature = "app-hooks")]
fn token_text(b: &[u8]) -> Result<&str, DigestFailure> {
    if has_ctl(b) {
        return Err(ParseError::ControlCharacter.into());
    }
    if b.len() > MAX_BEARER_LEN {
        return Err(ParseError::ValueTooLong("bearer").into());
    }
    let t = core::str::from_utf8(b).map_err(|_| ParseError::InvalidToken68)?;
    if t.is_empty() {
        return Err(DigestFailure::Challenge(Reason::InvalidToken, false));
    }
    Ok(t)
}

/// [`TokenSyntax::FreeForm`]: the token after the scheme word.
#[cfg(feature = "app-hooks")]
pub(crate) fn free_form_token<'a>(rest: Rest<'a>) -> Result<&'a str, DigestFailure> {
    match rest {
        Rest::Empty => token_text(b""),
        Rest::Token68(t) => token_text(t.as_bytes()),
        Rest::Params(body) => token_text(body),
    }
}

/// [`TokenSyntax::WholeValue`]: the field value, without surrounding whitespace.
#[cfg(feature = "app-hooks")]
pub(crate) fn whole_value_token(header: &[u8]) -> Result<&str, DigestFailure> {
    if header.len() > MAX_HEADER_LEN {
        return Err(ParseError::TooLong.into());
    }
    let ows = |c: &u8| *c == b' ' || *c == b'\t';
    let start = header.iter().position(|c| !ows(c)).unwrap_or(header.len());
    let end = header.iter().rposition(|c| !ows(c)).map_or(start, |i| i + 1);
    token_text(&header[start..end])
}

/// The replay-store identity of an application's own nonce: the first 16 bytes of the
/// SHA-256 of its unescaped text.
#[cfg(feature = "app-hooks")]
pub(crate) fn nonce_id(nonce: &Value<'_>) -> NonceId {
    let mut h = crate::hash::Hasher::start(crate::hash::HashAlgorithm::Sha256);
    for seg in nonce.segments() {
        h.update(seg);
    }
    let d = h.finalize();
    let mut id = [0u8; 16];
    id.copy_from_slice(&d.as_bytes()[..16]);
    id
}

#[cfg(feature = "app-hooks")]
impl<S: crate::CredentialStore, R: crate::ReplayStore> Engine<S, R> {
    /// For a replay store asked after the check rather than during it (an async store that
    /// an event loop awaits): [`check`](Engine::check) ran with a store that answered
    /// [`Fresh`](crate::ReplayOutcome::Fresh) and kept the (nonce id, issue time, nc) it was
    /// asked about; `outcome` is what the real store then answered for them. Gives the
    /// verdict unchanged when fresh, else the refusal the check would have given (`stale=true`
    /// for a store that lost the nonce's history; a replayed count refused), with a fresh
    /// nonce from `ctx`. A verdict that is not a Digest acceptance is returned as it is.
    pub fn settle_replay(
        &self,
        verdict: crate::Verdict,
        outcome: crate::ReplayOutcome,
        ctx: crate::Context,
    ) -> crate::Verdict {
        let qop = match &verdict {
            crate::Verdict::Authenticated(a) if a.scheme == Scheme::Digest => a.qop,
            _ => return verdict,
        };
        let mut out = verdict;
        if let Err(f) = crate::digest_check::replay_answer(outcome, qop) {
            self.conclude(Err(f), ctx, &mut out);
        }
        out
    }

    /// The user name an `Authorization` value claims, for logs: the Basic user-id or the
    /// Digest `username` (or decoded `username*`; a `userhash` stays hashed), when the
    /// value is well-formed for a scheme this engine checks. Written into `buf`.
    pub fn claimed_user<'b>(&self, header: &[u8], buf: &'b mut [u8; MAX_USERNAME_LEN]) -> Option<&'b str> {
        let auth = parse::parse(header).ok()?;
        match self.config().scheme_of(auth.scheme().as_bytes())? {
            Scheme::Digest => match DigestCredentials::read(auth.params()?.text()).ok()?.username {
                Username::Plain(v) => v.unescape_into(buf).and_then(|b| core::str::from_utf8(b).ok()),
                Username::Extended(ext) => ext.decode_into(buf),
            },
            Scheme::Basic => {
                let mut decoded = [0u8; MAX_BASIC_DECODED];
                let creds = crate::BasicCredentials::decode(auth.token68()?.as_bytes(), &mut decoded).ok()?;
                creds.user(buf)
            }
            _ => None,
        }
    }
}

/// The request-target as the client sent it (origin-form: path and query), from what a
/// CGI or WSGI server passes: `raw` (`RAW_URI` or `REQUEST_URI`, the target as received)
/// when the server gives it, else `script_name` and `path_info` (decoded by the server)
/// percent-encoded again; `query` (`QUERY_STRING`) is appended after a `?` unless `raw`
/// already holds one. Digest's `uri` is compared with this.
pub fn cgi_request_target(
    raw: Option<&[u8]>,
    script_name: &[u8],
    path_info: &[u8],
    query: &[u8],
    buf: &mut [u8],
) -> Result<usize, BufferTooSmall> {
    let mut w = render::Writer::new(buf);
    match raw {
        Some(raw) if !raw.is_empty() => {
            w.raw(raw);
            if query.is_empty() || raw.contains(&b'?') {
                return w.finish();
            }
        }
        _ => {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            for &b in script_name.iter().chain(path_info) {
                // What Python's `quote(path, safe="/:@!$&'()*+,;=-._~%")` leaves alone.
                if b.is_ascii_alphanumeric() || b"/:@!$&'()*+,;=-._~%".contains(&b) {
                    w.raw(&[b]);
                } else {
                    w.raw(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
                }
            }
        }
    }
    if !query.is_empty() {
        w.raw(b"?").raw(query);
    }
    w.finish()
}

#[cfg(all(test, feature = "app-hooks"))]
mod tests {
    use super::*;
    use crate::{Context, ReplayTable, Request, StaticUsers, Verdict};
    use core::cell::RefCell;

    fn target(raw: Option<&str>, script: &str, path: &str, query: &str) -> heapless::String<256> {
        let mut buf = [0u8; 256];
        let n =
            cgi_request_target(raw.map(str::as_bytes), script.as_bytes(), path.as_bytes(), query.as_bytes(), &mut buf)
                .unwrap();
        heapless::String::try_from(core::str::from_utf8(&buf[..n]).unwrap()).unwrap()
    }

    #[test]
    fn request_target_from_cgi_parts() {
        assert_eq!(target(Some("/a%20b?x=1"), "", "/a b", "x=1"), "/a%20b?x=1");
        assert_eq!(target(Some("/a"), "", "/a", "x=1"), "/a?x=1");
        assert_eq!(target(Some("/a"), "", "/a", ""), "/a");
        assert_eq!(target(None, "/app", "/a b/é", "q"), "/app/a%20b/%C3%A9?q");
        assert_eq!(target(Some(""), "", "/x~y", ""), "/x~y");
        let mut small = [0u8; 3];
        assert_eq!(cgi_request_target(Some(b"/abcd"), b"", b"", b"", &mut small), Err(BufferTooSmall { needed: 5 }));
    }

    fn engine(config: Config) -> Engine<StaticUsers<'static>, RefCell<ReplayTable<4>>> {
        Engine::new(
            config,
            &[7; 32],
            StaticUsers::new(&[("Mufasa", "Circle Of Life")]),
            RefCell::new(ReplayTable::new()),
        )
        .unwrap()
    }

    const CTX: Context = Context { now: 1_000, salt: [3; 8] };

    fn challenge(e: &Engine<StaticUsers<'static>, RefCell<ReplayTable<4>>>, i: usize) -> heapless::String<512> {
        let Verdict::Challenge(ch) = e.check(&Request::new("GET", "/", None), CTX) else { panic!() };
        let mut buf = [0u8; 512];
        let n = e.write_challenge_with(&ch, i, Some("n\"1"), Some("op"), &mut buf).unwrap();
        heapless::String::try_from(core::str::from_utf8(&buf[..n]).unwrap()).unwrap()
    }

    #[test]
    fn custom_names_and_compact_challenges() {
        let c = Config::new("r\"x").unwrap().schemes(&[Scheme::Digest, Scheme::Basic]).unwrap();
        let c = c.algorithms(&[Algorithm::Md5Sess, Algorithm::Md5]).unwrap();
        let e =
            engine(c.clone().scheme_name(Scheme::Digest, "MyDigest").unwrap().challenge_style(ChallengeStyle::Compact));
        assert_eq!(
            challenge(&e, 0),
            r#"MyDigest realm="r\"x",nonce="n\"1",opaque="op",algorithm="MD5-Sess",qop="auth""#
        );
        assert_eq!(challenge(&e, 2), r#"Basic realm="r\"x""#);
        let e = engine(c.clone().scheme_name(Scheme::Basic, "xBasic").unwrap());
        assert_eq!(challenge(&e, 2), r#"xBasic realm="r\"x", charset="UTF-8""#);
        assert!(challenge(&e, 1).starts_with(r#"Digest realm="r\"x", qop="auth", algorithm=MD5, nonce="n\"1""#));
        // Without qop and with MD5, no algorithm (Flask-HTTPAuth's shape).
        let c2069 = Config::new("r").unwrap().qop(crate::QopSet { auth: false, auth_int: false }).allow_rfc2069(true);
        let e = engine(c2069.algorithms(&[Algorithm::Md5]).unwrap().challenge_style(ChallengeStyle::Compact));
        assert_eq!(challenge(&e, 0), r#"Digest realm="r",nonce="n\"1",opaque="op""#);
        for bad in ["", "a b", "Bäsic", "x\"", "123456789012345678901234567890123"] {
            assert_eq!(
                Config::new("r").unwrap().scheme_name(Scheme::Basic, bad).err(),
                Some(ConfigError::InvalidSchemeName)
            );
        }
    }

    #[test]
    fn custom_basic_name_is_accepted_as_well_as_basic() {
        let e = engine(Config::new("r").unwrap().scheme_name(Scheme::Basic, "MyBasic").unwrap());
        for h in [
            "MyBasic TXVmYXNhOkNpcmNsZSBPZiBMaWZl",
            "mybasic TXVmYXNhOkNpcmNsZSBPZiBMaWZl",
            "Basic TXVmYXNhOkNpcmNsZSBPZiBMaWZl",
        ] {
            assert!(
                matches!(e.check(&Request::new("GET", "/", Some(h.as_bytes())), CTX), Verdict::Authenticated(_)),
                "{h}"
            );
        }
        let mut buf = [0u8; MAX_USERNAME_LEN];
        assert_eq!(e.claimed_user(b"MyBasic TXVmYXNhOkNpcmNsZSBPZiBMaWZl", &mut buf), Some("Mufasa"));
        assert_eq!(e.config().scheme_of(b"MYBASIC"), Some(Scheme::Basic));
        assert_eq!(e.config().scheme_of(b"Bearer"), None);
    }

    #[test]
    fn tokens_free_form_and_whole_value() {
        struct Tokens;
        impl crate::CredentialStore for Tokens {
            fn lookup(&self, _: &str, _: &str, _: crate::Purpose) -> Option<crate::StoredCredential> {
                None
            }
            fn verify_token(&self, token: &str) -> Option<bool> {
                Some(token == "this-is-the token!")
            }
        }
        let replay = RefCell::new(ReplayTable::<1>::new());
        let config = Config::new("r").unwrap().schemes(&[Scheme::Bearer]).unwrap();
        let free = config.clone().scheme_name(Scheme::Bearer, "Token").unwrap().token_syntax(TokenSyntax::FreeForm);
        let e = Engine::new(free, &[7; 32], Tokens, &replay).unwrap();
        let status = |h: &[u8]| e.check(&Request::new("GET", "/", Some(h)), CTX).status();
        assert_eq!(status(b"Token this-is-the token!"), 200);
        assert_eq!(status(b"token   this-is-the token!  "), 200);
        assert_eq!(status(b"Token other"), 401);
        assert_eq!(status(b"Token"), 401);
        assert_eq!(status(b"Token a\x01b"), 400);
        // A scheme not checked: 401 whatever follows, but a control character is a 400.
        assert_eq!(status(b"Foo this-is-the-token!"), 401);
        assert_eq!(status(b"Foo ==="), 401);
        assert_eq!(status(b"Foo a\x00"), 400);
        let whole = config.token_syntax(TokenSyntax::WholeValue);
        let e = Engine::new(whole, &[7; 32], Tokens, &replay).unwrap();
        let status = |h: &[u8]| e.check(&Request::new("GET", "/", Some(h)), CTX).status();
        assert_eq!(status(b" this-is-the token! "), 200);
        assert_eq!(status(b"Bearer this-is-the token!"), 401);
        assert_eq!(status(b""), 401);
        assert_eq!(status(&[b'x'; 2049]), 400);
    }
}
