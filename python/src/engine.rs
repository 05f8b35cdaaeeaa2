//! The one engine: `authgate.Engine` wraps the core's [`authgate::Engine`] with a Python
//! credential store ([`PyStore`]) and replay store ([`Replay`]). Every Python path —
//! `Engine.check`, `authgate.flask`'s drop-in classes and its `AuthGate` decorators —
//! checks requests through [`Engine::decide`].

use std::collections::HashMap;

use authgate::app::{ChallengeStyle, TokenSyntax};
use authgate::limits::MAX_USERNAME_LEN;
use authgate::nonce::NonceId;
use authgate::{
    Authenticated, Body, Challenge, Config, Context, Engine as CoreEngine, Reason, ReplayOutcome, Request, Scheme,
    Verdict as CoreVerdict,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::connection::{nt_hash, Connections};
use crate::convert::{algorithm, header_bytes, key32, now_secs, qop_set, render, salt, scheme, text};
use crate::credentials::{Call, PyStore};
use crate::errors::{config_err, Refusal};
use crate::primitives::sha256;
use crate::replay::Replay;

/// The core engine with the application's users, callbacks and replay store.
#[pyclass(frozen, module = "authgate._authgate")]
pub(crate) struct Engine {
    core: CoreEngine<PyStore, Replay>,
    /// NTLM / Negotiate state per TCP connection.
    connections: Connections,
}

/// What one check decided, with what its callbacks returned.
pub(crate) struct Decision {
    pub(crate) verdict: CoreVerdict,
    /// What `verify_password` / `verify_token` returned, when one was called.
    pub(crate) result: Option<Py<PyAny>>,
    /// A connection scheme's token for the client (the handshake's next step with a 401,
    /// Negotiate's mutual authentication with a 200), as a `WWW-Authenticate` value.
    pub(crate) token: Option<String>,
    /// For a deferring [`Engine::decide_with`]: the (nonce id, issue time, nc) the Python replay
    /// store is still to be asked about; the verdict then holds until [`Engine::settle`].
    pub(crate) pending: Option<(NonceId, u64, u32)>,
}

impl Engine {
    /// The core engine.
    pub(crate) fn core(&self) -> &CoreEngine<PyStore, Replay> {
        &self.core
    }

    /// Checks one request (on TCP connection `connection`, for NTLM and Negotiate). A Python
    /// exception raised by a callback, an acceptor or a replay store is raised here, after
    /// the check (which meanwhile saw a refusal, never an acceptance).
    pub(crate) fn decide(
        &self,
        method: &str,
        target: &str,
        authorization: Option<&[u8]>,
        body: Body<'_>,
        now: u64,
        connection: Option<u64>,
    ) -> PyResult<Decision> {
        let mut req = Request::new(method, target, authorization);
        req.body = body;
        self.decide_with(Call::begin(), &req, now, connection)
    }

    /// [`decide`](Self::decide) after `outer = Call::begin()`, or `Call::begin_deferring()` for
    /// an async layer: a Python replay store is then not called (an async one cannot be, and a
    /// sync one may block); the decision's `pending` says what to ask it, and
    /// [`settle`](Self::settle) gives the verdict with its answer.
    pub(crate) fn decide_with(
        &self,
        outer: Call,
        req: &Request<'_>,
        now: u64,
        connection: Option<u64>,
    ) -> PyResult<Decision> {
        let ctx = Context { now, salt: [0; 8] };
        let (mut verdict, token, acceptor_error) = match connection {
            Some(id) => self.connections.check(&self.core, req, ctx, id),
            None => (self.core.check(req, ctx), None, None),
        };
        let call = Call::end(outer);
        if let (CoreVerdict::Challenge(ch), Some(reason)) = (&mut verdict, call.token_refusal) {
            if ch.reason == Reason::InvalidToken {
                ch.reason = reason;
            }
        }
        self.salt_nonces(&mut verdict, now);
        match call.error.or(acceptor_error) {
            Some(e) => Err(e),
            None => Ok(Decision { verdict, result: call.result, token, pending: call.pending }),
        }
    }

    /// Most checks issue no nonce: the OS's entropy (a system call) is asked for only when
    /// one is, and the nonce the check made with a blank salt is made again with it.
    fn salt_nonces(&self, verdict: &mut CoreVerdict, now: u64) {
        let issued = match verdict {
            CoreVerdict::Challenge(ch) => ch.nonce.as_mut(),
            CoreVerdict::Authenticated(a) => a.auth_info.as_mut().and_then(|i| i.nextnonce.as_mut()),
            CoreVerdict::Malformed(_) => None,
        };
        if let Some(nonce) = issued {
            *nonce = self.fresh_nonce(now);
        }
    }

    /// The verdict of a deferred check once its replay store answered `outcome` (the core's
    /// `settle_replay`: unchanged when fresh, else the refusal the check would have given).
    pub(crate) fn settle(&self, verdict: CoreVerdict, outcome: ReplayOutcome, now: u64) -> CoreVerdict {
        let mut v = self.core.settle_replay(verdict, outcome, Context { now, salt: [0; 8] });
        if !matches!(v, CoreVerdict::Authenticated(_)) {
            self.salt_nonces(&mut v, now);
        }
        v
    }

    /// The replay store's Python object.
    pub(crate) fn replay_object(&self, py: Python<'_>) -> Py<PyAny> {
        self.core.replay().object(py)
    }

    /// Whether this engine checks the scheme of an `Authorization` value.
    pub(crate) fn checks_scheme_of(&self, h: &[u8]) -> bool {
        scheme_word(h).is_some_and(|w| self.core.config().scheme_of(w).is_some())
    }

    /// Whether Digest `qop=auth-int` is offered (the body is then needed).
    pub(crate) fn offers_auth_int(&self) -> bool {
        self.offers_digest() && self.core.config().offered_qop().auth_int
    }

    /// Whether the replay store is a Python object (asked by the caller of a deferred check).
    pub(crate) fn replay_is_python(&self) -> bool {
        matches!(self.core.replay(), Replay::Python(..))
    }

    /// A nonce issued with the OS's entropy.
    #[cold]
    #[inline(never)]
    fn fresh_nonce(&self, now: u64) -> authgate::Nonce {
        self.core.issue_nonce(Context { now, salt: salt() })
    }

    /// Whether Digest is offered (the request-target and method matter).
    pub(crate) fn offers_digest(&self) -> bool {
        self.core.config().offered_schemes().contains(&Scheme::Digest)
    }

    /// The challenges for a refusal (stale or not), Digest ones with the application's
    /// nonce and opaque when given.
    pub(crate) fn challenge_values(
        &self,
        stale: bool,
        nonce: Option<&str>,
        opaque: Option<&str>,
        now: u64,
    ) -> Vec<String> {
        let reason = if stale { Reason::StaleNonce } else { Reason::NoCredentials };
        let ch = self.core.challenge(reason, stale, Context { now, salt: salt() });
        self.render_challenges(&ch, nonce, opaque)
    }

    pub(crate) fn render_challenges(&self, ch: &Challenge, nonce: Option<&str>, opaque: Option<&str>) -> Vec<String> {
        (0..self.core.challenge_count())
            .map(|i| render(|b| self.core.write_challenge_with(ch, i, nonce, opaque, b)))
            .collect()
    }

    /// A refusal of this engine for `header`, with what the logs may say of the request.
    pub(crate) fn refusal(&self, py: Python<'_>, verdict: &CoreVerdict, header: Option<&[u8]>) -> Refusal {
        let r = match verdict {
            CoreVerdict::Malformed(e) => Refusal::malformed(py, *e),
            CoreVerdict::Challenge(ch) => Refusal::challenge(py, ch.reason, ch.stale),
            CoreVerdict::Authenticated(_) => Refusal::challenge(py, Reason::NoCredentials, false),
        };
        let Some(h) = header else { return r };
        let mut buf = [0u8; MAX_USERNAME_LEN];
        let user = self.core.claimed_user(h, &mut buf).map(str::to_owned);
        r.about(scheme_word(h).map(|w| text(w).into_owned()), user, None)
    }

    /// The `Authentication-Info` value of an accepted Digest request.
    pub(crate) fn authentication_info(&self, a: &Authenticated) -> Option<String> {
        a.auth_info.as_ref().map(|i| render(|b| self.core.write_authentication_info(i, b)))
    }
}

/// The scheme word of a header value, as sent.
fn scheme_word(h: &[u8]) -> Option<&[u8]> {
    let start = h.iter().position(|&b| b != b' ' && b != b'\t')?;
    let rest = &h[start..];
    let end = rest.iter().position(|&b| b == b' ' || b == b'\t').unwrap_or(rest.len()).min(32);
    (end > 0).then(|| &rest[..end])
}

fn token_syntax(name: &str) -> PyResult<TokenSyntax> {
    match name {
        "b64token" => Ok(TokenSyntax::B64Token),
        "free-form" => Ok(TokenSyntax::FreeForm),
        "whole-value" => Ok(TokenSyntax::WholeValue),
        _ => Err(config_err(format!("token_syntax is 'b64token', 'free-form' or 'whole-value', not {name:?}"))),
    }
}

fn challenge_style(name: &str) -> PyResult<ChallengeStyle> {
    match name {
        "rfc7616" => Ok(ChallengeStyle::Rfc7616),
        "compact" => Ok(ChallengeStyle::Compact),
        _ => Err(config_err(format!("challenge_style is 'rfc7616' or 'compact', not {name:?}"))),
    }
}

/// The engine's answer for one request.
#[pyclass(frozen, module = "authgate._authgate")]
pub(crate) struct Verdict {
    /// 200, 401 or 400.
    #[pyo3(get)]
    status: u16,
    /// The authenticated user's name, when status is 200 (`""` for a token a callback accepted).
    #[pyo3(get)]
    user: Option<String>,
    /// "Basic", "Digest", "Bearer", "NTLM" or "Negotiate", when status is 200.
    #[pyo3(get)]
    scheme: Option<&'static str>,
    /// Why a 401, e.g. "BadCredentials" (the refusal's name).
    #[pyo3(get)]
    reason: Option<&'static str>,
    /// Whether the Digest challenges say stale=true.
    #[pyo3(get)]
    stale: bool,
    /// The WWW-Authenticate values to send with a 401 or 400, one field each; with a 200,
    /// the Negotiate token for mutual authentication, if any.
    #[pyo3(get)]
    www_authenticate: Vec<String>,
    /// The Digest algorithm of the accepted credentials.
    #[pyo3(get)]
    algorithm: Option<&'static str>,
    /// The Authentication-Info value to send with a Digest 200.
    #[pyo3(get)]
    authentication_info: Option<String>,
    /// Why a 400: (message, name).
    #[pyo3(get)]
    error: Option<(String, &'static str)>,
    /// Why a 401 or 400, in full (what authgate logs).
    #[pyo3(get)]
    refusal: Option<Py<Refusal>>,
    /// What `verify_password` / `verify_token` returned (the application's user object).
    #[pyo3(get)]
    result: Option<Py<PyAny>>,
}

#[pymethods]
impl Verdict {
    fn __repr__(&self) -> String {
        match self.status {
            200 => format!(
                "Verdict(200, user={:?}, scheme={:?})",
                self.user.as_deref().unwrap_or(""),
                self.scheme.unwrap_or("")
            ),
            401 => format!("Verdict(401, reason={:?}, stale={})", self.reason.unwrap_or(""), self.stale),
            s => format!("Verdict({s}, error={:?})", self.error.as_ref().map(|e| e.0.as_str()).unwrap_or("")),
        }
    }
}

#[pymethods]
impl Engine {
    /// `users`: name -> password (`str`), `Credential` or `{algorithm: HA1 hex}`, or an
    /// `HtpasswdFile` / `HtdigestFile`; or
    /// `lookup(name)` returning one of those or `None` (`ha1_lookup`: a `str` it returns is the
    /// HA1 hex). `verify_password(name, password)` and `verify_token(token)` check Basic
    /// passwords and Bearer tokens themselves (werkzeug.security, bcrypt), returning the
    /// application's user or `None`/`False`; `tokens` maps bearer tokens to users.
    /// `verify_nonce(nonce)` and `verify_opaque(opaque)`: the application's own Digest
    /// nonces and opaque (then also pass them to `challenges`).
    /// The origin check (`check_origin*`, which `check` does not call): `refuse_cross_origin`
    /// refuses unsafe requests from other origins (403) but from `allow_origins`
    /// (`scheme://host[:port]`); `allow_hosts`, the server's own names and addresses, refuses
    /// any other `Host` (421); `allow_any_address` lets a `Host` that is an IP address pass.
    #[new]
    #[pyo3(signature = (realm, key, *, users = None, lookup = None, ha1_lookup = false, verify_password = None,
        verify_token = None, tokens = None, verify_nonce = None, verify_opaque = None,
        schemes = vec!["Digest".to_owned(), "Basic".to_owned()],
        algorithms = vec!["SHA-256".to_owned(), "MD5".to_owned()], qop = vec!["auth".to_owned()],
        nonce_lifetime = 300, max_clock_skew = 5, opaque = None, replay_store = None, previous_key = None,
        allow_rfc2069 = false, check_uri = true, authentication_info = true, scheme_names = None,
        token_syntax = "b64token", challenge_style = "rfc7616", acceptor = None, nt_hashes = None,
        bind_negotiate = false, refuse_cross_origin = true, allow_origins = None, allow_hosts = None,
        allow_any_address = false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        realm: &str,
        key: &[u8],
        users: Option<&Bound<'_, PyAny>>,
        lookup: Option<Py<PyAny>>,
        ha1_lookup: bool,
        verify_password: Option<Py<PyAny>>,
        verify_token: Option<Py<PyAny>>,
        tokens: Option<HashMap<String, String>>,
        verify_nonce: Option<Py<PyAny>>,
        verify_opaque: Option<Py<PyAny>>,
        schemes: Vec<String>,
        algorithms: Vec<String>,
        qop: Vec<String>,
        nonce_lifetime: u64,
        max_clock_skew: u64,
        opaque: Option<&str>,
        replay_store: Option<&Bound<'_, PyAny>>,
        previous_key: Option<&[u8]>,
        allow_rfc2069: bool,
        check_uri: bool,
        authentication_info: bool,
        scheme_names: Option<HashMap<String, String>>,
        token_syntax: &str,
        challenge_style: &str,
        acceptor: Option<&Bound<'_, PyAny>>,
        nt_hashes: Option<HashMap<String, Bound<'_, PyAny>>>,
        bind_negotiate: bool,
        refuse_cross_origin: bool,
        allow_origins: Option<Vec<String>>,
        allow_hosts: Option<Vec<String>>,
        allow_any_address: bool,
    ) -> PyResult<Self> {
        let schemes = schemes.iter().map(|s| scheme(s)).collect::<PyResult<Vec<_>>>()?;
        let algs = algorithms.iter().map(|a| algorithm(a)).collect::<PyResult<Vec<_>>>()?;
        let mut config = Config::new(realm)
            .and_then(|c| c.schemes(&schemes))
            .and_then(|c| c.algorithms(&algs))
            .and_then(|c| c.nonce_lifetime(nonce_lifetime))
            .map_err(config_err)?
            .qop(qop_set(&qop)?)
            .max_clock_skew(max_clock_skew)
            .allow_rfc2069(allow_rfc2069)
            .check_uri(check_uri)
            .authentication_info(authentication_info)
            .token_syntax(self::token_syntax(token_syntax)?)
            .challenge_style(self::challenge_style(challenge_style)?)
            .origin_policy(crate::origin::policy(refuse_cross_origin, allow_origins, allow_hosts, allow_any_address)?);
        if let Some(o) = opaque {
            config = config.opaque(o).map_err(config_err)?;
        }
        for (s, name) in scheme_names.unwrap_or_default() {
            config = config.scheme_name(scheme(&s)?, &name).map_err(config_err)?;
        }
        if users.is_some() && lookup.is_some() {
            return Err(config_err("give users or lookup, not both"));
        }
        let mut store = PyStore::with_users(users)?;
        store.lookup = lookup;
        store.ha1_strings = ha1_lookup;
        store.verify_password = verify_password;
        store.verify_token = verify_token;
        store.verify_nonce = verify_nonce;
        store.verify_opaque = verify_opaque;
        store.tokens = tokens.unwrap_or_default().into_iter().map(|(t, u)| (sha256(t.as_bytes()), u)).collect();
        store.nt_hashes =
            nt_hashes.unwrap_or_default().into_iter().map(|(u, h)| Ok((u, nt_hash(&h)?))).collect::<PyResult<_>>()?;
        let key = key32(key)?;
        let namespace = crate::shared_store::namespace(&key, realm);
        let replay = Replay::of(py, replay_store, config.replay_retention(), namespace)?;
        let mut core = CoreEngine::new(config, &key, store, replay).map_err(config_err)?;
        if let Some(p) = previous_key {
            core = core.with_previous_key(&key32(p)?);
        }
        Ok(Engine { core, connections: Connections::new(acceptor, bind_negotiate)? })
    }

    /// Authenticates one request. `authorization` is the header value (`None` when absent);
    /// `target` the request-target as sent (path and query); `body` the request body, for
    /// `qop=auth-int`; `now` seconds since the epoch (default: the clock). `connection`
    /// identifies the TCP connection (never reused for another; see
    /// `authgate.connection_id`): NTLM and Negotiate need it, and a connection they
    /// authenticated stays authenticated.
    #[pyo3(signature = (method, target, authorization = None, body = None, now = None, connection = None))]
    #[allow(clippy::too_many_arguments)]
    fn check(
        &self,
        py: Python<'_>,
        method: &str,
        target: &Bound<'_, PyAny>,
        authorization: Option<&Bound<'_, PyAny>>,
        body: Option<&[u8]>,
        now: Option<u64>,
        connection: Option<u64>,
    ) -> PyResult<Verdict> {
        let target = header_bytes(target)?;
        let target = std::str::from_utf8(&target).map_err(|_| PyValueError::new_err("target must be ASCII"))?;
        let header = authorization.map(header_bytes).transpose()?;
        let body = body.map_or(Body::Unavailable, Body::Bytes);
        let now = now.unwrap_or_else(now_secs);
        let d = self.decide(method, target, header.as_deref(), body, now, connection)?;
        let mut v = Verdict {
            status: d.verdict.status(),
            user: None,
            scheme: None,
            reason: None,
            stale: false,
            www_authenticate: Vec::new(),
            algorithm: None,
            authentication_info: None,
            error: None,
            refusal: None,
            result: d.result,
        };
        match &d.verdict {
            CoreVerdict::Authenticated(a) => {
                v.user = Some(a.user.as_str().to_owned());
                v.scheme = Some(a.scheme.name());
                v.algorithm = a.algorithm.map(|a| a.name());
                v.authentication_info = self.authentication_info(a);
            }
            CoreVerdict::Challenge(ch) => {
                v.reason = Some(ch.reason.name());
                v.stale = ch.stale;
                v.www_authenticate = self.render_challenges(ch, None, None);
            }
            CoreVerdict::Malformed(e) => {
                v.error = Some((e.to_string(), e.name()));
                v.www_authenticate = self.challenge_values(false, None, None, now);
            }
        }
        if let Some(t) = d.token {
            // A handshake's next token (401, alone) or Negotiate's mutual token (200).
            v.www_authenticate = vec![t];
        }
        if v.status != 200 {
            v.refusal = Some(Py::new(py, self.refusal(py, &d.verdict, header.as_deref()))?);
        }
        Ok(v)
    }

    /// Whether to serve a request from where it comes (cross-site request forgery) and the
    /// `Host` it names (DNS rebinding), before authenticating it: `None`, or the `Refusal`
    /// (status 403, 421 or 400, the core's reason) to answer and log. Values are `str`
    /// (as WSGI gives them) or `bytes`, `None` when the field is absent; `secure`: the
    /// request came over TLS.
    #[pyo3(signature = (method, *, host = None, origin = None, sec_fetch_site = None, referer = None,
        secure = false, remote = None))]
    #[allow(clippy::too_many_arguments)]
    fn check_origin(
        &self,
        py: Python<'_>,
        method: &str,
        host: Option<&Bound<'_, PyAny>>,
        origin: Option<&Bound<'_, PyAny>>,
        sec_fetch_site: Option<&Bound<'_, PyAny>>,
        referer: Option<&Bound<'_, PyAny>>,
        secure: bool,
        remote: Option<String>,
    ) -> PyResult<Option<Refusal>> {
        let host = host.map(header_bytes).transpose()?;
        let origin = origin.map(header_bytes).transpose()?;
        let sec_fetch_site = sec_fetch_site.map(header_bytes).transpose()?;
        let referer = referer.map(header_bytes).transpose()?;
        let fields = [host.as_deref(), origin.as_deref(), sec_fetch_site.as_deref(), referer.as_deref()];
        self.origin_refusal(py, method, secure, fields, || Ok(remote))
    }

    /// `check_origin` of a WSGI environ.
    fn check_origin_environ(&self, environ: &Bound<'_, PyDict>) -> PyResult<Option<Refusal>> {
        self.origin_refusal_environ(environ, None)
    }

    /// `check_origin` of an ASGI HTTP or WebSocket scope (`method`, `scheme`, `headers`,
    /// `client`).
    fn check_origin_scope(&self, scope: &Bound<'_, PyAny>) -> PyResult<Option<Refusal>> {
        self.origin_refusal_scope(scope)
    }

    /// The `Host` list of the origin check (empty: any `Host`).
    #[getter]
    fn allowed_hosts(&self) -> Vec<String> {
        self.core.config().origin().allowed_hosts().map(str::to_owned).collect()
    }

    /// The origins whose unsafe requests are served besides the server's own.
    #[getter]
    fn allowed_origins(&self) -> Vec<String> {
        self.core.config().origin().allowed_origins().map(str::to_owned).collect()
    }

    /// Whether the origin check refuses unsafe requests from other origins.
    #[getter]
    fn refuses_cross_origin(&self) -> bool {
        self.core.config().origin().refuses_cross_origin()
    }

    /// Fresh challenges (a 401 for a request without credentials, or with `stale=true`);
    /// Digest ones with the application's own `nonce` and `opaque` when given.
    #[pyo3(signature = (stale = false, now = None, nonce = None, opaque = None))]
    fn challenges(&self, stale: bool, now: Option<u64>, nonce: Option<&str>, opaque: Option<&str>) -> Vec<String> {
        self.challenge_values(stale, nonce, opaque, now.unwrap_or_else(now_secs))
    }

    /// A fresh keyed nonce of this engine (hex, 64 characters).
    #[pyo3(signature = (now = None))]
    fn issue_nonce(&self, now: Option<u64>) -> String {
        self.core.issue_nonce(Context { now: now.unwrap_or_else(now_secs), salt: salt() }).as_str().to_owned()
    }

    /// Whether this engine checks the scheme of an `Authorization` value (its scheme word is
    /// an offered scheme's name or custom name, ignoring case).
    fn selects(&self, authorization: &Bound<'_, PyAny>) -> PyResult<bool> {
        Ok(self.checks_scheme_of(&header_bytes(authorization)?))
    }

    /// The user name an `Authorization` value claims (Basic user-id, Digest `username`),
    /// when it is well-formed for a scheme this engine checks.
    fn claimed_user(&self, authorization: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
        let h = header_bytes(authorization)?;
        let mut buf = [0u8; MAX_USERNAME_LEN];
        Ok(self.core.claimed_user(&h, &mut buf).map(str::to_owned))
    }

    /// The realm.
    #[getter]
    fn realm(&self) -> &str {
        self.core.config().realm()
    }

    /// How long the replay store keeps a nonce's counts (nonce lifetime + clock skew).
    #[getter]
    fn replay_retention(&self) -> u64 {
        self.core.config().replay_retention()
    }

    /// The replay store.
    #[getter]
    fn replay_store(&self, py: Python<'_>) -> Py<PyAny> {
        self.replay_object(py)
    }

    /// The connection closed: forget its handshake and authentication.
    fn connection_closed(&self, connection: u64) {
        self.connections.closed(connection)
    }

    /// Connections with a handshake in progress or authenticated.
    #[getter]
    fn connections(&self) -> usize {
        self.connections.len()
    }

    fn __repr__(&self) -> String {
        format!("Engine(realm={:?})", self.core.config().realm())
    }
}

/// The header value an environ holds under `key`, as bytes, or `None`.
pub(crate) fn environ_header<'py>(
    environ: &Bound<'py, PyDict>,
    key: &Bound<'py, PyString>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    Ok(environ.get_item(key)?.filter(|v| !v.is_none()))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Engine>()?;
    m.add_class::<Verdict>()?;
    let defaults = Config::new("r").map_err(config_err)?;
    m.add("NONCE_LIFETIME", defaults.lifetime().max_age)
}
