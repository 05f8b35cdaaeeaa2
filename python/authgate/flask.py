"""authgate.flask: a drop-in replacement for Flask-HTTPAuth 4.8.1, on the authgate engine.

Change ``from flask_httpauth import ...`` to ``from authgate.flask import ...``: the classes,
decorators, callbacks, challenge strings and status codes are those of Flask-HTTPAuth.
Every request is checked by one ``authgate.Engine`` (the Rust core): parsing, limits, Basic
decoding, Digest verification, nonces, replay windows, constant-time compares and the
challenge strings. This module keeps each auth object's settings, builds its engine, and
turns refusals into the application's error responses. README.md says where authgate is
stricter.

The second half offers the Flask-Kerberos / Flask-SSPI decorator style
(``requires_authentication``, ``authenticate``, ``init_authgate``) on the same engine.

Every refusal is logged on the ``authgate`` logger (``str(refusal)``: reason, scheme, user
name when the credentials could be read, client address; never a password, response or
token): at INFO for a request without credentials or with an expired nonce (every Digest
handshake starts so), at WARNING otherwise.

The origin check (the core's, ``Engine.check_origin``) refuses, before authentication, unsafe
requests another site's page sends with the browser's cached login (403) and requests whose
``Host`` is not one of the server's names (421, DNS rebinding; with ``allow_hosts``). It is
on in the ``AuthGate`` style (``check_origin=False`` turns it off) and off in the
Flask-HTTPAuth classes, as Flask-HTTPAuth has none (``check_origin=True`` turns it on).
"""
from __future__ import annotations

import hashlib
import inspect
import logging
from functools import wraps
from typing import Any, Callable, Optional, Sequence, Tuple, Union, cast

from ._extras import require

require("flask", extra="flask", needed_by="authgate.flask")

from flask import Flask, Response, current_app, g, has_request_context, make_response, request
from werkzeug.datastructures import Authorization

from . import _authgate as _ag
from ._authgate import Accepted, CheckSlot, Engine, FlaskCheck, MalformedHeader, Refusal
from ._policy import log_refusal, origin_options, roles_allow

__all__ = [
    "HTTPAuth",
    "HTTPBasicAuth",
    "HTTPDigestAuth",
    "HTTPTokenAuth",
    "MultiAuth",
    "AuthGate",
    "init_authgate",
    "init_app",
    "requires_authentication",
    "authenticate",
    "current_user",
    "accepted_algorithm",
    "refusal",
]

log = logging.getLogger("authgate")

Callback = Callable[..., Any]
View = Callable[..., Any]


def _private_flask() -> Optional[Tuple[Any, Any, type]]:
    """Flask's context variables behind ``flask.request`` and ``flask.g``, and the class of
    ``g``: reading them directly saves the proxies' Python calls on every request (4,400 of
    10,800 instructions of a Token request; docs/python-overhead.md). ``None`` when this Flask
    has no such names: the public proxies are used then."""
    try:
        from flask.ctx import _AppCtxGlobals
        from flask.globals import _cv_app, _cv_request
    except ImportError:  # pragma: no cover - a Flask without them
        return None
    return (_cv_request, _cv_app, _AppCtxGlobals)


_PRIVATE = _private_flask()


def _sync(f: Optional[Callback]) -> Optional[Callback]:
    """An application callback as the engine calls it: async ones through Flask's ensure_sync."""
    if f is None or not inspect.iscoroutinefunction(f):
        return f
    return lambda *args: current_app.ensure_sync(f)(*args)


def _sync_view(f: View) -> View:
    if not inspect.iscoroutinefunction(f):
        return f
    return lambda *args, **kwargs: current_app.ensure_sync(f)(*args, **kwargs)


def _app_keys(config: Any) -> Tuple[bytes, Optional[bytes], Any, Any]:
    """(key, previous key, SECRET_KEY, SECRET_KEY_FALLBACKS): the nonce keys derived from the
    app's SECRET_KEY and the last of its SECRET_KEY_FALLBACKS."""
    secret = config.get("SECRET_KEY")
    fallbacks = config.get("SECRET_KEY_FALLBACKS")
    if not secret:
        raise RuntimeError("authgate needs app.config['SECRET_KEY'] (or key=...) to sign its nonces")
    last = fallbacks[-1] if fallbacks else None
    return _ag.derive_key(secret), (_ag.derive_key(last) if last else None), secret, fallbacks


class _AppState:
    """What authgate keeps for one Flask app, in ``app.extensions["authgate"]``: the
    ``AuthGate`` options it was initialised with, and each auth object's engine for it."""

    def __init__(self) -> None:
        self.gate: Optional[AuthGate] = None
        self.options: dict = {}
        self.check: Optional[FlaskCheck] = None
        # auth object -> (its settings' generation, engine, SECRET_KEY, SECRET_KEY_FALLBACKS)
        self.engines: dict = {}


def _current_app() -> Flask:
    return cast(Any, current_app)._get_current_object()


def _state(app: Flask) -> _AppState:
    state = app.extensions.get("authgate")
    if not isinstance(state, _AppState):
        state = app.extensions["authgate"] = _AppState()
    return state


# The reason phrases of the origin check's statuses, for the default error responses.
_PHRASES = {400: "Bad Request", 403: "Forbidden", 421: "Misdirected Request"}


_log = log_refusal


def refusal() -> Optional[Refusal]:
    """Why the current request was refused (inside an error handler), else ``None``."""
    return g.get("authgate_refusal")


def _takes_reason(f: Callback) -> bool:
    try:
        params = inspect.signature(f).parameters.values()
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return False
    return any(p.name == "reason" or p.kind is p.VAR_KEYWORD for p in params)


# ---------------------------------------------------------------------------------------
# Flask-HTTPAuth API
# ---------------------------------------------------------------------------------------


class HTTPAuth:
    """Base class, as in Flask-HTTPAuth.

    ``strict`` (keyword-only, default True): a malformed ``Authorization`` value is answered
    400 through the error handler (with ``status=400``). ``strict=False`` treats it as
    absent, exactly as Flask-HTTPAuth does.

    ``check_origin`` (keyword-only, default False, as Flask-HTTPAuth has no such check): the
    core's origin check before authentication. An unsafe request (not GET, HEAD, OPTIONS)
    from another origin (``Sec-Fetch-Site``, ``Origin`` or ``Referer`` say so) is refused
    with 403 unless its origin is in ``allow_origins`` (``"https://hub.example"``); with
    ``allow_hosts`` (the server's names and addresses) any other ``Host`` is refused with 421
    (also without ``check_origin``); ``allow_any_address`` lets a ``Host`` that is an IP
    address pass. Requests without those headers (curl, scripts) pass. The error handler
    gets the status (403, 421, or 400 for a malformed field) and the ``Refusal``; no
    challenge is added to these responses. With ``MultiAuth``, turn it on in each object.

    Each object checks requests with an ``authgate.Engine`` built from its settings; setting
    an attribute (``realm``, ``scheme``, a callback, ...) builds a new one.
    """

    # Attributes whose change builds a new engine.
    _SETTINGS: frozenset = frozenset({"scheme", "realm", "header", "strict", "get_password_callback",
                                      "check_origin", "allow_origins", "allow_hosts", "allow_any_address"})
    # What g.flask_httpauth_user is on an optional route after a refusal without a callback result.
    _REFUSED: Any = None

    def __init__(self, scheme: Optional[str] = None, realm: Optional[str] = None, header: Optional[str] = None,
                 *, strict: bool = True, check_origin: bool = False, allow_origins: Sequence[str] = (),
                 allow_hosts: Sequence[str] = (), allow_any_address: bool = False) -> None:
        self._generation = 0
        # The current FlaskCheck, made from the settings on first use (see _settings_changed).
        self._slot = CheckSlot(self._make_check)
        # Flask-HTTPAuth's base class keeps None; every class here passes its scheme word.
        self.scheme: str = scheme if scheme is not None else ""
        self.realm = realm or "Authentication Required"
        self.header = header
        self.strict = strict
        self.check_origin = check_origin
        self.allow_origins = tuple(allow_origins)
        self.allow_hosts = tuple(allow_hosts)
        self.allow_any_address = allow_any_address
        self.get_password_callback: Optional[Callback] = None
        self.get_user_roles_callback: Optional[Callback] = None
        self.auth_error_callback: Optional[Callback] = None

        def default_get_password(username: str) -> None:
            return None

        def default_auth_error(status: int, reason: Optional[Refusal] = None) -> Tuple[str, int]:
            if reason is not None and reason.origin_check:
                return f"{_PHRASES.get(status, 'Forbidden')}: {reason.message}", status
            return ("Bad Request" if status == 400 else "Unauthorized Access"), status

        self.get_password(default_get_password)
        self.error_handler(default_auth_error)

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name in self._SETTINGS:
            self._settings_changed()

    def _settings_changed(self) -> None:
        slot = self.__dict__.get("_slot")
        if slot is not None:
            slot.clear()
        self.__dict__["_generation"] = self.__dict__.get("_generation", 0) + 1

    # -- callbacks ------------------------------------------------------------------------

    def get_password(self, f: Callback) -> Callback:
        self.get_password_callback = f
        return f

    def get_user_roles(self, f: Callback) -> Callback:
        self.get_user_roles_callback = f
        return f

    def error_handler(self, f: Callback) -> Callback:
        """The error response: ``f(status)`` (or ``f()``), status 401, 403 or 400 (a
        malformed ``Authorization``), and with ``check_origin`` 403 or 421 (the origin check);
        a handler with a ``reason`` parameter also gets the ``Refusal`` (``None`` for a
        failed role check)."""
        takes_reason = _takes_reason(f)

        @wraps(f)
        def decorated(*args: Any, **kwargs: Any) -> Response:
            reason: Optional[Refusal] = kwargs.get("reason")
            origin_status = reason.status if reason is not None and reason.origin_check else None
            origin = origin_status is not None
            if not takes_reason:
                kwargs.pop("reason", None)
            res = current_app.ensure_sync(f)(*args, **kwargs)
            check_status_code = not isinstance(res, (tuple, Response))
            res = make_response(res)
            if check_status_code and res.status_code == 200:
                # if user didn't set status code, use 401 (400 for a malformed header; the
                # origin check's own status for its refusals)
                res.status_code = origin_status or (400 if args[:1] == (400,) else 401)
            if not origin and "WWW-Authenticate" not in res.headers.keys():
                for value in self._challenge_values():
                    res.headers.add("WWW-Authenticate", value)
            return res

        self.auth_error_callback = decorated
        return decorated

    # -- the engine -----------------------------------------------------------------------

    def _engine_options(self) -> dict:  # pragma: no cover - every class has its own
        raise NotImplementedError

    def _origin(self) -> Tuple[dict, bool]:
        """The engine's origin options, and whether the origin check runs."""
        return origin_options(self.check_origin, self.allow_origins, self.allow_hosts, self.allow_any_address)

    def _make_check(self) -> FlaskCheck:
        origin, check_origin = self._origin()
        return FlaskCheck(Engine(self.realm, _ag.random_key(), **self._engine_options(), **origin),
                          header=self.header, strict=self.strict, refused=self._REFUSED, private=_PRIVATE,
                          absent=self._absent_callback(), check_origin=check_origin)

    def _absent_callback(self) -> Optional[Callback]:
        return None

    def _flask_check(self) -> FlaskCheck:
        return self._slot.get()

    # -- challenges -----------------------------------------------------------------------

    def authenticate_header(self) -> str:
        return self._challenge_values()[0]

    def _challenge_values(self) -> Sequence[str]:
        return self._flask_check().challenges()

    # -- request parsing ------------------------------------------------------------------

    def is_compatible_auth(self, headers: Any) -> bool:
        """Whether this object checks the request's credentials (MultiAuth's choice): the
        scheme word selects it (ignoring case), or its custom header is present."""
        if self.header is None or self.header == "Authorization":
            value = headers.get("Authorization")
            return bool(value) and self._flask_check().current_engine().selects(value)
        return self.header in headers

    def get_auth(self) -> Optional[Authorization]:
        try:
            return self._auth_from(request.headers.get(self.header or "Authorization"))
        except MalformedHeader:
            return None

    def _auth_from(self, value: Optional[str]) -> Optional[Authorization]:  # pragma: no cover
        raise NotImplementedError

    def get_auth_password(self, auth: Optional[Authorization]) -> Any:
        password = None
        if auth and auth.username and self.get_password_callback is not None:
            password = current_app.ensure_sync(self.get_password_callback)(auth.username)
        return password

    def authorize(self, role: Any, user: Any, auth: Any) -> Optional[bool]:
        if role is None:
            return True
        if isinstance(role, (list, tuple)):
            roles = role
        else:
            roles = [role]
        if user is True:
            user = auth
        if self.get_user_roles_callback is None:  # pragma: no cover
            raise ValueError("get_user_roles callback is not defined")
        user_roles = current_app.ensure_sync(self.get_user_roles_callback)(user)
        if user_roles is None:
            user_roles = {}
        elif not isinstance(user_roles, (list, tuple)):
            user_roles = {user_roles}
        else:
            user_roles = set(user_roles)
        return True if roles_allow(roles, user_roles) else None

    def _role_auth(self, accepted: Accepted) -> Any:
        """What ``get_user_roles`` gets for a callback that returned True: the credentials."""
        return self.get_auth()

    # -- the decorator --------------------------------------------------------------------

    def _protect(self, f: View, role: Any = None, optional: Optional[bool] = None,
                 others: Sequence["HTTPAuth"] = ()) -> View:
        call = _sync_view(f)
        enter = self._slot.enter if role is None else self._slot.enter_details

        # A plain function (Flask asks inspect.iscoroutinefunction of every view it calls,
        # which is slow for other callables). One call into the engine: OPTIONS passes;
        # accepted, g.flask_httpauth_user is set and the view runs; refused (or, with roles,
        # accepted), _settle decides: the error response, or None to run the view.
        @wraps(f)
        def decorated(*args: Any, **kwargs: Any) -> Any:
            outcome = enter()
            if outcome is not None:
                response = self._settle(outcome, role, optional, others)
                if response is not None:
                    return response
            return call(*args, **kwargs)

        return decorated

    def _settle(self, outcome: Union[Accepted, Refusal], role: Any, optional: Optional[bool],
                others: Sequence["HTTPAuth"]) -> Optional[Response]:
        """The response for a refusal or a failed role check, else None (the view runs)."""
        if isinstance(outcome, Accepted):
            user = outcome.user
            auth = self._role_auth(outcome) if user is True else None
            if self.authorize(role, user, auth) or optional:
                return None
            return self._error(403, others, None)
        _log(outcome)
        if outcome.status == 400 or outcome.origin_check:
            return self._error(outcome.status, others, outcome)
        if optional:
            g.flask_httpauth_user = outcome.result
            return None
        return self._error(401, others, outcome)

    def _error(self, status: int, others: Sequence["HTTPAuth"] = (), reason: Optional[Refusal] = None) -> Response:
        g.authgate_refusal = reason
        assert self.auth_error_callback is not None
        try:
            res = self.auth_error_callback(status, reason=reason)
        except TypeError:
            res = self.auth_error_callback()
        if others and status == 401 and getattr(res, "status_code", None) == 401:
            # MultiAuth: offer every configured challenge, the selected one first.
            have = set(res.headers.getlist("WWW-Authenticate"))
            for other in others:
                if other is self:
                    continue
                for value in other._challenge_values():
                    if value not in have:
                        res.headers.add("WWW-Authenticate", value)
                        have.add(value)
        return res

    def login_required(self, f: Optional[View] = None, role: Any = None, optional: Optional[bool] = None) -> Any:
        if f is not None and (role is not None or optional is not None):  # pragma: no cover
            raise ValueError("role and optional are the only supported arguments")

        def login_required_internal(f: View) -> View:
            return self._protect(f, role=role, optional=optional)

        if f:
            return login_required_internal(f)
        return login_required_internal

    def username(self) -> str:
        auth = self.get_auth()
        if not auth:
            return ""
        return auth.username or ""

    def current_user(self) -> Any:
        if hasattr(g, "flask_httpauth_user"):
            return g.flask_httpauth_user
        return None

    def ensure_sync(self, f: Callback) -> Callback:
        try:
            return current_app.ensure_sync(f)
        except AttributeError:  # pragma: no cover
            return f


class HTTPBasicAuth(HTTPAuth):
    """Basic authentication (RFC 7617), Flask-HTTPAuth's API.

    The scheme word is checked (``Basic``, or the custom ``scheme``), the base64 is strict
    (canonical, padded), a user name is at most 128 bytes, and stored passwords are compared
    in constant time; the engine applies all of it before ``verify_password`` runs.
    """

    _SETTINGS = HTTPAuth._SETTINGS | {"verify_password_callback", "hash_password_callback"}

    def __init__(self, scheme: Optional[str] = None, realm: Optional[str] = None, *, strict: bool = True,
                 check_origin: bool = False, allow_origins: Sequence[str] = (), allow_hosts: Sequence[str] = (),
                 allow_any_address: bool = False) -> None:
        self.hash_password_callback: Optional[Callback] = None
        self.verify_password_callback: Optional[Callback] = None
        super().__init__(scheme or "Basic", realm, strict=strict, check_origin=check_origin,
                         allow_origins=allow_origins, allow_hosts=allow_hosts, allow_any_address=allow_any_address)

    def hash_password(self, f: Callback) -> Callback:
        self.hash_password_callback = f
        return f

    def verify_password(self, f: Callback) -> Callback:
        self.verify_password_callback = f
        return f

    def _engine_options(self) -> dict:
        options: dict = {"schemes": ["Basic"], "challenge_style": "compact"}
        if self.scheme.lower() != "basic":
            options["scheme_names"] = {"Basic": self.scheme}
        if self.verify_password_callback is not None:
            options["verify_password"] = _sync(self.verify_password_callback)
        elif self.hash_password_callback is not None:
            options["verify_password"] = self._check_hashed
        else:
            options["lookup"] = _sync(self.get_password_callback)
        return options

    def _absent_callback(self) -> Optional[Callback]:
        # Flask-HTTPAuth asks verify_password("", "") when there are no credentials.
        return _sync(self.verify_password_callback)

    def _check_hashed(self, username: str, password: str) -> Optional[str]:
        """get_password + hash_password, as Flask-HTTPAuth compares them (in constant time)."""
        assert self.hash_password_callback is not None and self.get_password_callback is not None
        hash_password = current_app.ensure_sync(self.hash_password_callback)
        try:
            client_password = hash_password(password)
        except TypeError:
            client_password = hash_password(username, password)
        stored = current_app.ensure_sync(self.get_password_callback)(username)
        if client_password is not None and stored is not None and _ag.ct_eq(client_password, stored):
            return username
        return None

    def _auth_from(self, value: Optional[str]) -> Optional[Authorization]:
        if not value:
            return None
        parsed = _ag.parse_authorization(value)
        if parsed.token68 is None or not self._flask_check().current_engine().selects(value):
            return None
        username, password = _ag.decode_basic("Basic " + parsed.token68)
        return Authorization(parsed.scheme, {"username": username, "password": password})

    def authenticate(self, auth: Optional[Authorization], stored_password: Any) -> Any:
        if auth:
            username = auth.username
            client_password = auth.password
        else:
            username = ""
            client_password = ""
        if self.verify_password_callback:
            return current_app.ensure_sync(self.verify_password_callback)(username, client_password)
        if not auth:
            return None
        hash_password = self.hash_password_callback
        if hash_password:
            try:
                client_password = current_app.ensure_sync(hash_password)(client_password)
            except TypeError:
                client_password = current_app.ensure_sync(hash_password)(username, client_password)
        ok = client_password is not None and stored_password is not None and _ag.ct_eq(client_password, stored_password)
        return auth.username if ok else None


_ALGORITHMS = {
    "md5": "MD5",
    "md5-sess": "MD5-Sess",
    "sha-256": "SHA-256",
    "sha-256-sess": "SHA-256-sess",
    "sha-512-256": "SHA-512-256",
    "sha-512-256-sess": "SHA-512-256-sess",
}


def _algorithm_name(a: Any) -> str:
    try:
        return _ALGORITHMS[a.lower()]
    except (KeyError, AttributeError):
        raise ValueError(f"Algorithm {a} is not supported") from None


def _algorithm_names(value: Any) -> Union[str, list]:
    """Flask-HTTPAuth's spellings (any case), as the constructor and the attribute take them."""
    if isinstance(value, (list, tuple)):
        names = [_algorithm_name(a) for a in value]
        if not names:
            raise ValueError("no algorithm")
        return names
    return _algorithm_name(value)


def _qop_list(value: Any) -> Optional[list]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",")]
    return None if value is None else list(value)


class HTTPDigestAuth(HTTPAuth):
    """Digest authentication (RFC 7616), Flask-HTTPAuth's API.

    Differences from Flask-HTTPAuth, all on by default (see README.md):

    * nonces are stateless and keyed (HMAC of ``app.config["SECRET_KEY"]``, or ``key=``), so
      no session cookie is needed and every worker sharing the key accepts them; they expire
      after ``nonce_lifetime`` seconds with ``stale=true``;
    * a (nonce, nc) pair is accepted once (``replay_store``: by default a table in shared
      memory, one for all the server's worker processes; ``authgate.RedisNonceStore`` across
      hosts); an RFC 2069 response (no ``qop``) once per nonce, and not at all with
      ``allow_rfc2069=False``;
    * the ``uri`` parameter must match the request-target (``check_uri=False`` behind a
      rewriting proxy); the realm must match;
    * ``algorithm`` may also be SHA-256, SHA-512-256 and their ``-sess`` variants, or a list
      (one challenge each, in order); ``qop`` may include ``auth-int``.
    """

    _SETTINGS = HTTPAuth._SETTINGS | {"use_ha1_pw", "key", "nonce_lifetime", "check_uri", "replay_store",
                                      "authentication_info", "allow_rfc2069", "verify_nonce_callback",
                                      "verify_opaque_callback"}
    _REFUSED = False
    _algorithm: Union[str, list]
    _qop: Optional[list]
    key: Optional[bytes]

    def __init__(
        self,
        scheme: Optional[str] = None,
        realm: Optional[str] = None,
        use_ha1_pw: bool = False,
        qop: Union[str, Sequence[str], None] = "auth",
        algorithm: Union[str, Sequence[str]] = "MD5",
        *,
        key: Union[str, bytes, None] = None,
        nonce_lifetime: int = 300,
        replay_store: Any = None,
        check_uri: bool = True,
        authentication_info: bool = False,
        allow_rfc2069: bool = True,
        strict: bool = True,
        check_origin: bool = False,
        allow_origins: Sequence[str] = (),
        allow_hosts: Sequence[str] = (),
        allow_any_address: bool = False,
    ) -> None:
        self.generate_nonce_callback: Optional[Callback] = None
        self.verify_nonce_callback: Optional[Callback] = None
        self.generate_opaque_callback: Optional[Callback] = None
        self.verify_opaque_callback: Optional[Callback] = None
        super().__init__(scheme or "Digest", realm, strict=strict, check_origin=check_origin,
                         allow_origins=allow_origins, allow_hosts=allow_hosts, allow_any_address=allow_any_address)
        self.authentication_info = authentication_info
        self.use_ha1_pw = use_ha1_pw
        self.qop = qop
        self.algorithm = algorithm
        if key is not None and (isinstance(key, str) or len(key) != 32):
            key = _ag.derive_key(key)
        self.key = key
        self.nonce_lifetime = nonce_lifetime
        self.check_uri = check_uri
        self.allow_rfc2069 = allow_rfc2069
        # None: the engine's default, shared by the server's processes (SharedMemoryReplayStore).
        self.replay_store = replay_store
        # Bound once, so "is the default still in place?" is an identity test.
        self._dgn = self._default_generate_nonce
        self._dvn = self._default_verify_nonce
        self._dvo = self._default_verify_opaque
        self.generate_nonce(self._dgn)
        self.generate_opaque(self._default_generate_opaque)
        self.verify_nonce(self._dvn)
        self.verify_opaque(self._dvo)

    # Flask-HTTPAuth's spellings are taken by the attributes as by the constructor.
    @property
    def algorithm(self) -> Union[str, list]:
        return self._algorithm

    @algorithm.setter
    def algorithm(self, value: Union[str, Sequence[str]]) -> None:
        self.__dict__["_algorithm"] = _algorithm_names(value)
        self._settings_changed()

    @property
    def qop(self) -> Optional[list]:
        return self._qop

    @qop.setter
    def qop(self, value: Union[str, Sequence[str], None]) -> None:
        self.__dict__["_qop"] = _qop_list(value)
        self._settings_changed()

    # -- the engine: one per app (its keys come from the app's SECRET_KEY) ----------------

    def _engine_options(self) -> dict:
        algorithms = self.algorithm if isinstance(self.algorithm, list) else [self.algorithm]
        qop = [q for q in (self.qop or ()) if q]
        options: dict = {
            "schemes": ["Digest"],
            "algorithms": algorithms,
            "qop": qop,
            "challenge_style": "compact",
            "nonce_lifetime": self.nonce_lifetime,
            "check_uri": self.check_uri,
            "authentication_info": self.authentication_info,
            "allow_rfc2069": self.allow_rfc2069 or not qop,
            "lookup": _sync(self.get_password_callback),
            "ha1_lookup": bool(self.use_ha1_pw),
        }
        if self.scheme.lower() != "digest":
            options["scheme_names"] = {"Digest": self.scheme}
        if self.verify_opaque_callback is self._dvo:
            options["opaque"] = self._default_opaque()
        else:
            options["verify_opaque"] = _sync(self.verify_opaque_callback)
        if self.verify_nonce_callback is not self._dvn:
            options["verify_nonce"] = _sync(self.verify_nonce_callback)
        # None: each engine's default, one table per nonce key and realm shared by the
        # server's processes, found again by name when an engine is rebuilt.
        options["replay_store"] = self.replay_store
        return options

    def _engine_for(self, key: bytes, previous: Optional[bytes]) -> Engine:
        return Engine(self.realm, key, previous_key=previous, **self._engine_options(), **self._origin()[0])

    def _resolve(self, app: Flask) -> Tuple[Engine, Any, Any]:
        """This object's engine for ``app`` (kept in the app's state)."""
        state = _state(app)
        entry = state.engines.get(self)
        config = app.config
        if entry is not None and entry[0] == self._generation and entry[2] is config.get("SECRET_KEY") \
                and entry[3] is config.get("SECRET_KEY_FALLBACKS"):
            return entry[1], entry[2], entry[3]
        key, previous, secret, fallbacks = _app_keys(config)
        engine = self._engine_for(key, previous)
        state.engines[self] = (self._generation, engine, secret, fallbacks)
        return engine, secret, fallbacks

    def _make_check(self) -> FlaskCheck:
        source: Any = self._resolve if self.key is None else self._engine_for(self.key, None)
        return FlaskCheck(source, header=self.header, strict=self.strict, refused=False, private=_PRIVATE,
                          auth_int="auth-int" in (self.qop or ()), check_origin=self._origin()[1])

    # -- nonce and opaque callbacks -------------------------------------------------------

    def _default_opaque(self) -> str:
        # Not a secret (nonces are bound to it, not keyed by it): the same across key rotations.
        return hashlib.sha256(b"authgate opaque v1:" + self.realm.encode()).hexdigest()[:32]

    def _default_generate_nonce(self) -> str:
        return self._flask_check().current_engine().issue_nonce()

    def _default_verify_nonce(self, nonce: Optional[str]) -> bool:  # pragma: no cover - the engine's
        return nonce is not None

    def _default_generate_opaque(self) -> str:
        return self._default_opaque()

    def _default_verify_opaque(self, opaque: Optional[str]) -> bool:
        return opaque is not None and _ag.ct_eq(opaque, self._default_opaque())

    def generate_nonce(self, f: Callback) -> Callback:
        self.generate_nonce_callback = f
        return f

    def verify_nonce(self, f: Callback) -> Callback:
        self.verify_nonce_callback = f
        return f

    def generate_opaque(self, f: Callback) -> Callback:
        self.generate_opaque_callback = f
        return f

    def verify_opaque(self, f: Callback) -> Callback:
        self.verify_opaque_callback = f
        return f

    def get_nonce(self) -> str:
        assert self.generate_nonce_callback is not None
        return self.generate_nonce_callback()

    def get_opaque(self) -> str:
        assert self.generate_opaque_callback is not None
        return self.generate_opaque_callback()

    def generate_ha1(self, username: str, password: str, algorithm: Optional[str] = None) -> str:
        alg = algorithm or (self.algorithm[0] if isinstance(self.algorithm, list) else self.algorithm)
        return _ag.ha1(username, self.realm, password, alg.replace("-Sess", "").replace("-sess", ""))

    # -- challenges -----------------------------------------------------------------------

    def _challenge_values(self) -> Sequence[str]:
        reason = g.get("authgate_refusal") if has_request_context() else None
        stale = bool(reason is not None and reason.stale)
        nonce = None if self.generate_nonce_callback is self._dgn else self.get_nonce()
        opaque = self.get_opaque()
        return self._flask_check().challenges(stale, nonce, opaque)

    # -- the credentials ------------------------------------------------------------------

    def _auth_from(self, value: Optional[str]) -> Optional[Authorization]:
        if not value:
            return None
        parsed = _ag.parse_authorization(value)
        if parsed.params is None or not self._flask_check().current_engine().selects(value):
            return None
        return Authorization(parsed.scheme.lower(), dict(parsed.params))

    def _role_auth(self, accepted: Accepted) -> Any:
        return self.get_auth() or _DigestAuth(accepted.username)

    def username(self) -> str:
        value = request.headers.get(self.header or "Authorization")
        if not value:
            return ""
        return self._flask_check().current_engine().claimed_user(value) or ""

    def authenticate(self, auth: Optional[Authorization], stored_password_or_ha1: Any) -> bool:
        """Flask-HTTPAuth's signature: checks the current request's Digest credentials, with
        ``stored_password_or_ha1`` as the user's password (or HA1)."""
        if not auth or not stored_password_or_ha1:
            return False
        engine = self._flask_check().current_engine()
        options = self._engine_options()
        options["lookup"] = lambda u: stored_password_or_ha1
        key, previous, _, _ = _app_keys(current_app.config) if self.key is None else (self.key, None, 0, 0)
        one_off = Engine(engine.realm, key, previous_key=previous, **options)
        value = request.headers.get(self.header or "Authorization")
        body = request.get_data(cache=True) if "auth-int" in (self.qop or ()) else None
        return one_off.check(request.method, _ag.request_target(request.environ), value, body).status == 200


class _DigestAuth:
    """The Authorization stand-in for a role check after a Digest login."""

    __slots__ = ("username", "type")

    def __init__(self, username: Optional[str]) -> None:
        self.username = username
        self.type = "digest"

    def __bool__(self) -> bool:
        return True

    def __getitem__(self, k: str) -> Any:
        return getattr(self, k)

    def get(self, k: str, default: Any = None) -> Any:
        return getattr(self, k, default)


class HTTPTokenAuth(HTTPAuth):
    """Token authentication, Flask-HTTPAuth's API.

    With the default ``Bearer`` scheme the token must be an RFC 6750 b64token (a malformed
    one is a 400). With an application-defined scheme, or a custom ``header``, the token is
    whatever follows (at most 2048 bytes, no control characters), as in Flask-HTTPAuth.
    """

    _SETTINGS = HTTPAuth._SETTINGS | {"verify_token_callback"}

    def __init__(self, scheme: str = "Bearer", realm: Optional[str] = None, header: Optional[str] = None,
                 *, strict: bool = True, check_origin: bool = False, allow_origins: Sequence[str] = (),
                 allow_hosts: Sequence[str] = (), allow_any_address: bool = False) -> None:
        self.verify_token_callback: Optional[Callback] = None
        super().__init__(scheme, realm, header, strict=strict, check_origin=check_origin,
                         allow_origins=allow_origins, allow_hosts=allow_hosts, allow_any_address=allow_any_address)

    def verify_token(self, f: Callback) -> Callback:
        self.verify_token_callback = f
        return f

    def _custom_header(self) -> bool:
        return self.header is not None and self.header != "Authorization"

    def _engine_options(self) -> dict:
        options: dict = {"schemes": ["Bearer"], "challenge_style": "compact"}
        if self.scheme.lower() != "bearer":
            options["scheme_names"] = {"Bearer": self.scheme}
        if self._custom_header():
            options["token_syntax"] = "whole-value"
        elif self.scheme.lower() != "bearer":
            options["token_syntax"] = "free-form"
        verify = self.verify_token_callback
        # Without a callback no token is accepted (Flask-HTTPAuth: 401).
        options["verify_token"] = _sync(verify) if verify is not None else (lambda token: None)
        return options

    def _auth_from(self, value: Optional[str]) -> Optional[Authorization]:
        if value is None:
            return None
        if self._custom_header():
            return Authorization(self.scheme, None, value)
        if not self._flask_check().current_engine().selects(value):
            return None
        scheme, _, token = value.strip().partition(" ")
        return Authorization(scheme.lower(), None, token.strip() or None)

    def authenticate(self, auth: Optional[Authorization], stored_password: Any) -> Any:
        token = getattr(auth, "token", None)
        if token and self.verify_token_callback:
            return current_app.ensure_sync(self.verify_token_callback)(token)
        return None


class MultiAuth:
    """Several authentication methods on one route. The one matching the request's scheme
    (or custom header) checks it; a 401 offers every method's challenge, the matching one
    (or the main one) first."""

    def __init__(self, main_auth: HTTPAuth, *additional_auths: HTTPAuth) -> None:
        self.main_auth = main_auth
        self.additional_auths = additional_auths

    def login_required(self, f: Optional[View] = None, role: Any = None, optional: Optional[bool] = None) -> Any:
        if f is not None and (role is not None or optional is not None):  # pragma: no cover
            raise ValueError("role and optional are the only supported arguments")

        def login_required_internal(f: View) -> View:
            auths = (self.main_auth,) + tuple(self.additional_auths)
            handlers = [a._protect(f, role=role, optional=optional, others=auths) for a in auths]

            @wraps(f)
            def decorated(*args: Any, **kwargs: Any) -> Any:
                headers = request.headers
                selected = 0
                if not self.main_auth.is_compatible_auth(headers):
                    for i, auth in enumerate(self.additional_auths, 1):
                        if auth.is_compatible_auth(headers):
                            selected = i
                            break
                return handlers[selected](*args, **kwargs)

            return decorated

        if f:
            return login_required_internal(f)
        return login_required_internal

    def current_user(self) -> Any:
        if hasattr(g, "flask_httpauth_user"):  # pragma: no cover
            return g.flask_httpauth_user
        return None


# ---------------------------------------------------------------------------------------
# Flask-Kerberos / Flask-SSPI style, on the same engine
# ---------------------------------------------------------------------------------------


class AuthGate:
    """The engine as a Flask extension, in the Flask-Kerberos / Flask-SSPI style.

    Options (for the constructor, ``init_app`` or ``init_authgate``), kept per app in
    ``app.extensions["authgate"]``: ``users`` (name -> password, ``authgate.Credential``
    (HA1, PBKDF2, a werkzeug hash) or ``{algorithm: HA1}``), or ``get_password(name)``
    returning one of those; ``verify_password(name, password)`` for hashes only the
    application can check (bcrypt, ``werkzeug.security.check_password_hash``); ``tokens``
    (bearer token -> user); ``realm``, ``schemes`` (Digest then Basic), ``algorithms``
    (SHA-256 then MD5), ``qop``, ``nonce_lifetime``, ``opaque``, ``replay_store``, ``key``
    (else ``SECRET_KEY``); ``error_handler(status, reason)``. Challenges are RFC 7616's
    (``charset=UTF-8``); ``Authentication-Info`` is sent on success.

    The origin check runs first, on by default: ``check_origin`` (default True) refuses unsafe
    requests from other origins (403) but from ``allow_origins``; ``allow_hosts`` (the
    server's names and addresses, default none: any ``Host``) refuses other ``Host`` values
    (421); ``allow_any_address`` lets IP addresses pass that list. See ``HTTPAuth``.
    """

    def __init__(self, app: Optional[Flask] = None, **options: Any) -> None:
        self.options = options
        self._error_handler: Optional[Callback] = options.pop("error_handler", None)
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask, add_context_processor: bool = True, **options: Any) -> "AuthGate":
        """Configures authgate for ``app``: this object's options, then ``options`` (for this
        app only)."""
        state = _state(app)
        state.gate = self
        merged = {**self.options, **options}
        state.options = merged
        state.check = None
        state.engines.pop(self, None)
        if add_context_processor:
            app.context_processor(_user_context_processor)
        return self

    def error_handler(self, f: Callback) -> Callback:
        """``f(status, reason)`` makes the response for a refusal (``reason``: a ``Refusal``);
        the challenges are added when it sets none."""
        self._error_handler = f
        return f

    def _resolve(self, app: Flask) -> Tuple[Engine, Any, Any]:
        state = _state(app)
        o = state.options
        entry = state.engines.get(self)
        config = app.config
        keyed = o.get("key") is not None
        if entry is not None and (keyed or (entry[2] is config.get("SECRET_KEY")
                                            and entry[3] is config.get("SECRET_KEY_FALLBACKS"))):
            return entry[1], entry[2], entry[3]
        if keyed:
            key = o["key"] if isinstance(o["key"], bytes) and len(o["key"]) == 32 else _ag.derive_key(o["key"])
            previous, secret, fallbacks = None, None, None
        else:
            key, previous, secret, fallbacks = _app_keys(config)
        origin, _ = self._origin(o)
        engine = Engine(
            o.get("realm") or config.get("AUTHGATE_REALM") or "Authentication Required",
            key,
            users=o.get("users"),
            lookup=_sync(o.get("get_password")),
            verify_password=_sync(o.get("verify_password")),
            tokens=o.get("tokens"),
            schemes=list(o.get("schemes", ("Digest", "Basic"))),
            algorithms=list(o.get("algorithms", ("SHA-256", "MD5"))),
            qop=list(o.get("qop", ("auth",))),
            nonce_lifetime=o.get("nonce_lifetime", 300),
            opaque=o.get("opaque"),
            replay_store=o.get("replay_store"),
            previous_key=previous,
            **origin,
        )
        state.engines[self] = (0, engine, secret, fallbacks)
        return engine, secret, fallbacks

    @staticmethod
    def _origin(o: dict) -> Tuple[dict, bool]:
        return origin_options(o.get("check_origin", True), o.get("allow_origins"), o.get("allow_hosts"),
                               o.get("allow_any_address", False))

    def engine(self) -> Engine:
        """The engine of the current app."""
        return self._resolve(_current_app())[0]

    def _flask_check(self, state: _AppState) -> FlaskCheck:
        if state.check is None:
            qop = state.options.get("qop", ("auth",))
            state.check = FlaskCheck(self._resolve, user_attr="current_user", private=_PRIVATE,
                                     auth_int="auth-int" in qop, check_origin=self._origin(state.options)[1])
        return state.check

    def check(self) -> Tuple[Optional[str], Optional[Response]]:
        """Authenticates the current request: ``(user, None)`` or ``(None, response)``."""
        state = _state(_current_app())
        check = self._flask_check(state)
        outcome = check.enter_details()
        if isinstance(outcome, Accepted):
            g.authgate_scheme = outcome.scheme
            g.authgate_algorithm = outcome.algorithm
            return g.current_user, None
        if outcome is None:  # OPTIONS
            return None, None
        _log(outcome)
        g.authgate_refusal = outcome
        handler = state.options.get("error_handler") or self._error_handler
        if handler is not None:
            res = make_response(current_app.ensure_sync(handler)(outcome.status, outcome))
        elif outcome.status == 400 or outcome.origin_check:
            phrase = _PHRASES.get(outcome.status, "Forbidden")
            res = make_response((f"{phrase}: {outcome.message}\n", outcome.status))
        else:
            res = make_response(("Unauthorized\n", 401))
        if not outcome.origin_check and "WWW-Authenticate" not in res.headers:
            for value in check.challenges(outcome.stale):
                res.headers.add("WWW-Authenticate", value)
        return None, res


def _user_context_processor() -> dict:
    user = g.get("current_user")
    return {"current_user": user} if user is not None else {}


def _gate() -> AuthGate:
    state = current_app.extensions.get("authgate")
    if not isinstance(state, _AppState) or state.gate is None:
        raise RuntimeError("call authgate.flask.init_authgate(app, ...) first")
    return state.gate


def init_authgate(app: Flask, **options: Any) -> AuthGate:
    """Configures authgate for ``app`` (Flask-Kerberos' ``init_kerberos`` /
    Flask-SSPI's ``init_sspi``): options as for :class:`AuthGate`. Adds ``current_user``
    to Jinja templates unless ``add_context_processor=False``."""
    return AuthGate().init_app(app, **options)


init_app = init_authgate


def requires_authentication(view: View) -> View:
    """Flask-Kerberos style: the authenticated user is passed as the view's first
    argument; otherwise 401 with the challenges (400 for a malformed header)."""
    call = _sync_view(view)

    @wraps(view)
    def decorated(*args: Any, **kwargs: Any) -> Any:
        user, error = _gate().check()
        if error is not None:
            return error
        return call(user, *args, **kwargs)

    return decorated


def authenticate(view: View) -> View:
    """Flask-SSPI style: sets ``g.current_user`` and calls the view. Also usable as a
    Blueprint's ``before_request`` hook (``bp.before_request(authenticate(lambda: None))``)."""
    call = _sync_view(view)

    @wraps(view)
    def decorated(*args: Any, **kwargs: Any) -> Any:
        _, error = _gate().check()
        if error is not None:
            return error
        return call(*args, **kwargs)

    return decorated


def current_user() -> Any:
    """The user authenticated by ``requires_authentication`` / ``authenticate``."""
    return g.get("current_user")


def accepted_algorithm() -> Optional[str]:
    """The Digest algorithm of the current request's accepted credentials."""
    return request.environ.get("authgate.algorithm")

