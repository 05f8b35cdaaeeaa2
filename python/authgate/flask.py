"""authgate.flask: a drop-in replacement for Flask-HTTPAuth 4.8.1, on the authgate engine.

Change ``from flask_httpauth import ...`` to ``from authgate.flask import ...``: the classes,
decorators, callbacks, challenge strings and status codes are those of Flask-HTTPAuth.
Parsing, Basic decoding, Digest verification, nonces, replay windows and constant-time
compares run in Rust (``authgate._authgate``); this module only connects them to Flask and
calls the application's callbacks. See README.md for where authgate is stricter.

The second half of the module offers the Flask-Kerberos / Flask-SSPI decorator style
(``requires_authentication``, ``authenticate``, ``init_authgate``) on the core engine.
"""
from __future__ import annotations

import inspect
import logging
from functools import wraps
from typing import Any, Callable, Optional

from ._extras import require

require("flask", extra="flask", needed_by="authgate.flask")

from flask import Response, current_app, g, make_response, request
from flask.ctx import _AppCtxGlobals
from flask.globals import _cv_app, _cv_request
from werkzeug.datastructures import Authorization

from . import _authgate as _ag
from ._authgate import MalformedHeader

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
]

log = logging.getLogger("authgate.flask")

# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------

_ASYNC: dict = {}


def _is_async(f) -> bool:
    try:
        return _ASYNC[f]
    except KeyError:
        r = inspect.iscoroutinefunction(f)
        if len(_ASYNC) > 4096:
            _ASYNC.clear()
        _ASYNC[f] = r
        return r
    except TypeError:  # unhashable callable
        return inspect.iscoroutinefunction(f)


def _call(f, *args):
    """Calls an application callback; async ones through Flask's ensure_sync."""
    if _is_async(f):
        return current_app.ensure_sync(f)(*args)
    return f(*args)


_ENV_KEYS: dict = {}
# What the per-request Rust calls read and write of Flask (see CallbackCheck.enter).
_FLASK = (_cv_request, _cv_app, _AppCtxGlobals)


def _set_current_user(user) -> None:
    """``g.flask_httpauth_user = user``, as Flask-HTTPAuth sets it (the fast decorators' path)."""
    gobj = _cv_app.get().g
    if gobj.__class__ is _AppCtxGlobals:  # its __setattr__ writes __dict__: skip the call
        gobj.__dict__["flask_httpauth_user"] = user
    else:
        gobj.flask_httpauth_user = user


def _environ_key(header: Optional[str]) -> str:
    header = header or "Authorization"
    try:
        return _ENV_KEYS[header]
    except KeyError:
        k = _ENV_KEYS[header] = "HTTP_" + header.upper().replace("-", "_")
        return k


def _request_target(environ) -> str:
    """The request-target as the client sent it (path and query), for Digest's uri."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    qs = environ.get("QUERY_STRING")
    if raw is not None and not qs:
        return raw
    if raw is None:
        from urllib.parse import quote

        path = (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")).encode("latin-1")
        raw = quote(path, safe="/:@!$&'()*+,;=-._~%")
    if qs and "?" not in raw:
        raw = raw + "?" + qs
    return raw


_KEYS: dict = {}


def _app_keys(secret, fallbacks):
    """(key, previous key) derived from SECRET_KEY and the last SECRET_KEY_FALLBACKS entry."""
    if not secret:
        raise RuntimeError("authgate needs app.config['SECRET_KEY'] (or key=...) to sign its nonces")
    last = fallbacks[-1] if fallbacks else None
    try:
        return _KEYS[(secret, last)]
    except (KeyError, TypeError):
        keys = (_ag.derive_key(secret), _ag.derive_key(last) if last else None)
        if len(_KEYS) > 64:
            _KEYS.clear()
        try:
            _KEYS[(secret, last)] = keys
        except TypeError:
            pass
        return keys


_EXT = "authgate"
_INFO = "authgate.authentication_info"
_ALG = "authgate.algorithm"


def _send_auth_info(response):
    info = request.environ.get(_INFO)
    if info is not None and "Authentication-Info" not in response.headers:
        response.headers["Authentication-Info"] = info
    return response


def _hook_app():
    """Registers (once per app) the after_request hook that sends Authentication-Info."""
    app = _cv_app.get().app
    # Marked on the app itself (Flask's `extensions`), not by id(app): a new app can get the
    # id of one that was collected, and would then never send Authentication-Info.
    if _EXT not in app.extensions:
        app.after_request_funcs.setdefault(None, []).append(_send_auth_info)
        app.extensions[_EXT] = True


class _Failed:
    """Internal marker for a 400: the Authorization value is malformed."""

    __slots__ = ("error",)

    def __init__(self, error):
        self.error = error


# ---------------------------------------------------------------------------------------
# Flask-HTTPAuth API
# ---------------------------------------------------------------------------------------


class HTTPAuth:
    """Base class, as in Flask-HTTPAuth.

    ``strict`` (keyword-only, default True): a malformed ``Authorization`` value is answered
    400 through the error handler (with ``status=400``). ``strict=False`` treats it as
    absent, exactly as Flask-HTTPAuth does.
    """

    def __init__(self, scheme=None, realm=None, header=None, *, strict: bool = True):
        self.scheme = scheme
        self.realm = realm or "Authentication Required"
        self.header = header
        self.strict = strict
        self.get_password_callback = None
        self.get_user_roles_callback = None
        self.auth_error_callback = None

        def default_get_password(username):
            return None

        def default_auth_error(status):
            return ("Bad Request" if status == 400 else "Unauthorized Access"), status

        self.get_password(default_get_password)
        self.error_handler(default_auth_error)

    # -- callbacks ------------------------------------------------------------------------

    def get_password(self, f):
        self.get_password_callback = f
        return f

    def get_user_roles(self, f):
        self.get_user_roles_callback = f
        return f

    def error_handler(self, f):
        @wraps(f)
        def decorated(*args, **kwargs):
            res = _call(f, *args, **kwargs) if not kwargs else current_app.ensure_sync(f)(*args, **kwargs)
            check_status_code = not isinstance(res, (tuple, Response))
            res = make_response(res)
            if check_status_code and res.status_code == 200:
                # if user didn't set status code, use 401 (400 for a malformed header)
                res.status_code = 400 if args[:1] == (400,) else 401
            if "WWW-Authenticate" not in res.headers.keys():
                for value in self._challenge_values():
                    res.headers.add("WWW-Authenticate", value)
            return res

        self.auth_error_callback = decorated
        return decorated

    # -- challenges -----------------------------------------------------------------------

    def authenticate_header(self):
        return _ag.compat_challenge(self.scheme, self.realm)

    def _challenge_values(self):
        return (self.authenticate_header(),)

    # -- request parsing ------------------------------------------------------------------

    def is_compatible_auth(self, headers):
        if self.header is None or self.header == "Authorization":
            value = headers.get("Authorization")
            if not value:
                return False
            scheme = _ag.scheme_of(value)
            return scheme is not None and scheme.lower() == self.scheme.lower()
        return self.header in headers

    def _auth_from(self, environ):  # pragma: no cover - overridden
        raise NotImplementedError

    def get_auth(self):
        try:
            auth = self._auth_from(request.environ)
        except MalformedHeader:
            return None
        return auth

    def get_auth_password(self, auth):
        password = None
        if auth and auth.username:
            password = _call(self.get_password_callback, auth.username)
        return password

    def authorize(self, role, user, auth):
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
        user_roles = _call(self.get_user_roles_callback, user)
        if user_roles is None:
            user_roles = {}
        elif not isinstance(user_roles, (list, tuple)):
            user_roles = {user_roles}
        else:
            user_roles = set(user_roles)
        for role in roles:
            if isinstance(role, (list, tuple)):
                role = set(role)
                if role & user_roles == role:
                    return True
            elif role in user_roles:
                return True

    # -- the decorator --------------------------------------------------------------------

    def _check(self, req):
        """(user, auth) for this request; raises MalformedHeader. Subclasses override with
        faster paths; this generic one follows Flask-HTTPAuth's sequence."""
        auth = self._auth_from(req.environ)
        password = self.get_auth_password(auth)
        return self.authenticate(auth, password), auth

    def _error(self, status, others=()):
        try:
            res = self.auth_error_callback(status)
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

    # The per-request fast path (an _authgate.CallbackCheck, see _make_fast): None until
    # built, False when this configuration has none. Reset when _FAST_ATTRS are assigned.
    _fast = None
    _FAST_ATTRS: frozenset = frozenset()

    def __setattr__(self, name, value):
        if name in self._FAST_ATTRS:
            self.__dict__["_fast"] = None
        object.__setattr__(self, name, value)

    def _make_fast(self):
        self.__dict__["_fast"] = False
        return False

    def _protect(self, f, role=None, optional=None, others=()):
        generic = self._protect_generic(f, role, optional, others)
        if role is not None or not self._FAST_ATTRS:
            return generic
        # Routes without roles: one Rust call reads the credentials and calls the
        # application's callback; anything unusual goes through the generic path.
        view_is_async = inspect.iscoroutinefunction(f)

        @wraps(f)
        def decorated(*args, **kwargs):
            fast = self._fast
            if fast is None:
                fast = self._make_fast()
            if fast is False:
                return generic(*args, **kwargs)
            # OPTIONS passes; else the credentials are read and the callback called, and
            # when it accepts g.flask_httpauth_user is set (None for True: Flask-HTTPAuth's
            # auth.username of a token) and the result is True.
            try:
                user = fast.enter()
            except MalformedHeader:
                return generic(*args, **kwargs)  # 400, or strict=False's sequence
            if user is not True:  # refused: False or None
                if not optional:
                    return self._error(401, others)
                _set_current_user(user)
            if view_is_async:
                return current_app.ensure_sync(f)(*args, **kwargs)
            return f(*args, **kwargs)

        return decorated

    def _protect_generic(self, f, role=None, optional=None, others=()):
        view_is_async = inspect.iscoroutinefunction(f)

        @wraps(f)
        def decorated(*args, **kwargs):
            req = _cv_request.get().request
            # Flask normally answers OPTIONS itself; when it is forwarded to the view,
            # let it through without authentication (CORS preflights carry no credentials).
            if req.method != "OPTIONS":
                try:
                    user, auth = self._check(req)
                except MalformedHeader as e:
                    if self.strict:
                        log.debug("authgate: malformed Authorization: %s", e)
                        return self._error(400, others)
                    user, auth = self._check_absent(req)
                status = None
                if user in (False, None):
                    status = 401
                elif role is not None and not self.authorize(role, user, auth):
                    status = 403
                if not optional and status:
                    return self._error(status, others)
                _cv_app.get().g.flask_httpauth_user = user if user is not True else self._username_of(auth)
            if view_is_async:
                return current_app.ensure_sync(f)(*args, **kwargs)
            return f(*args, **kwargs)

        return decorated

    def _check_absent(self, req):
        return self.authenticate(None, None), None

    @staticmethod
    def _username_of(auth):
        return auth.username if auth else None

    def login_required(self, f=None, role=None, optional=None):
        if f is not None and (role is not None or optional is not None):  # pragma: no cover
            raise ValueError("role and optional are the only supported arguments")

        def login_required_internal(f):
            return self._protect(f, role=role, optional=optional)

        if f:
            return login_required_internal(f)
        return login_required_internal

    def username(self):
        auth = self.get_auth()
        if not auth:
            return ""
        return auth.username

    def current_user(self):
        if hasattr(g, "flask_httpauth_user"):
            return g.flask_httpauth_user

    def ensure_sync(self, f):
        try:
            return current_app.ensure_sync(f)
        except AttributeError:  # pragma: no cover
            return f


class HTTPBasicAuth(HTTPAuth):
    """Basic authentication (RFC 7617), Flask-HTTPAuth's API.

    The scheme word is checked (``Basic``, or the custom ``scheme``), the base64 is strict
    (canonical, padded), and stored passwords are compared in constant time.
    """

    _FAST_ATTRS = frozenset({"verify_password_callback", "scheme", "header"})

    def __init__(self, scheme=None, realm=None, *, strict: bool = True):
        super().__init__(scheme or "Basic", realm, strict=strict)
        self.hash_password_callback = None
        self.verify_password_callback = None

    def _make_fast(self):
        verify = self.verify_password_callback
        fast = False
        if verify is not None:
            fast = _ag.CallbackCheck("basic", _environ_key(self.header), self.scheme,
                                     (lambda u, p: _call(verify, u, p)) if _is_async(verify) else verify,
                                     flask=_FLASK)
        self.__dict__["_fast"] = fast
        return fast

    def hash_password(self, f):
        self.hash_password_callback = f
        return f

    def verify_password(self, f):
        self.verify_password_callback = f
        return f

    def _auth_from(self, environ):
        creds = _ag.basic_credentials(environ.get(_environ_key(self.header)), self.scheme)
        if creds is None:
            return None
        return Authorization(creds[0], {"username": creds[1], "password": creds[2]})

    def _check(self, req):
        # Fast path: no Authorization object unless a callback may need it.
        creds = _ag.basic_credentials(req.environ.get(_environ_key(self.header)), self.scheme)
        verify = self.verify_password_callback
        if verify is not None:
            if creds is None:
                return _call(verify, "", ""), None
            user = _call(verify, creds[1], creds[2])
            if user is True or self.get_user_roles_callback is not None:
                return user, Authorization(creds[0], {"username": creds[1], "password": creds[2]})
            # No callback will look at the Authorization object: skip building it.
            return user, None
        auth = None if creds is None else Authorization(creds[0], {"username": creds[1], "password": creds[2]})
        return self.authenticate(auth, self.get_auth_password(auth)), auth

    def authenticate(self, auth, stored_password):
        if auth:
            username = auth.username
            client_password = auth.password
        else:
            username = ""
            client_password = ""
        if self.verify_password_callback:
            return _call(self.verify_password_callback, username, client_password)
        if not auth:
            return
        if self.hash_password_callback:
            try:
                client_password = _call(self.hash_password_callback, client_password)
            except TypeError:
                client_password = _call(self.hash_password_callback, username, client_password)
        return (
            auth.username
            if client_password is not None and stored_password is not None and _ag.ct_eq(client_password, stored_password)
            else None
        )


_ALGORITHMS = {
    "md5": "MD5",
    "md5-sess": "MD5-Sess",
    "sha-256": "SHA-256",
    "sha-256-sess": "SHA-256-sess",
    "sha-512-256": "SHA-512-256",
    "sha-512-256-sess": "SHA-512-256-sess",
}


def _algorithm_name(a: str) -> str:
    try:
        return _ALGORITHMS[a.lower()]
    except (KeyError, AttributeError):
        raise ValueError(f"Algorithm {a} is not supported") from None


class HTTPDigestAuth(HTTPAuth):
    """Digest authentication (RFC 7616), Flask-HTTPAuth's API.

    Differences from Flask-HTTPAuth, all on by default (see README.md):

    * nonces are stateless and keyed (HMAC of ``app.config["SECRET_KEY"]``, or ``key=``), so
      no session cookie is needed and every worker sharing the key accepts them; they expire
      after ``nonce_lifetime`` seconds with ``stale=true``;
    * a (nonce, nc) pair is accepted once (``replay_store``: by default a table in shared
      memory, one for all the server's worker processes; ``authgate.RedisNonceStore`` across
      hosts);
    * the ``uri`` parameter must match the request-target; the realm must match;
    * ``algorithm`` may also be SHA-256, SHA-512-256 and their ``-sess`` variants, or a list
      (one challenge each, in order); ``qop`` may include ``auth-int``.
    """

    def __init__(
        self,
        scheme=None,
        realm=None,
        use_ha1_pw=False,
        qop="auth",
        algorithm="MD5",
        *,
        key: Optional[bytes] = None,
        nonce_lifetime: int = 300,
        replay_store=None,
        check_uri: bool = True,
        authentication_info: bool = False,
        strict: bool = True,
    ):
        super().__init__(scheme or "Digest", realm, strict=strict)
        self.authentication_info = authentication_info
        self.use_ha1_pw = use_ha1_pw
        if isinstance(qop, str):
            self.qop = [v.strip() for v in qop.split(",")]
        else:
            self.qop = qop
        if isinstance(algorithm, (list, tuple)):
            self.algorithm = [_algorithm_name(a) for a in algorithm]
        else:
            self.algorithm = _algorithm_name(algorithm)
        if key is not None and len(key) != 32:
            key = _ag.derive_key(key)
        self.key = key
        self.nonce_lifetime = nonce_lifetime
        self.check_uri = check_uri
        # None: the engine's default, shared by the server's processes (SharedMemoryReplayStore).
        self.replay_store = replay_store
        self._cache_key = None
        self._authn = None
        self._plan = None

        self.generate_nonce_callback = None
        self.verify_nonce_callback = None
        self.generate_opaque_callback = None
        self.verify_opaque_callback = None
        # Bound once, so "is the default still in place?" is an identity test per request.
        self._dgn = self._default_generate_nonce
        self._dvn = self._default_verify_nonce
        self._dvo = self._default_verify_opaque
        self.generate_nonce(self._dgn)
        self.generate_opaque(self._default_generate_opaque)
        self.verify_nonce(self._dvn)
        self.verify_opaque(self._dvo)

    # -- the Rust authenticator, rebuilt when the configuration changes -------------------

    _CONFIG = frozenset({"realm", "scheme", "algorithm", "qop", "use_ha1_pw", "key", "nonce_lifetime", "check_uri",
                         "replay_store", "authentication_info"})
    # What the per-request plan (see _make_plan) is made of, besides the authenticator.
    _PLAN = frozenset({"get_password_callback", "verify_nonce_callback", "verify_opaque_callback"})

    def __setattr__(self, name, value):
        if name in self._CONFIG:
            self.__dict__["_cache_key"] = None
            self.__dict__["_plan"] = None
        elif name in self._PLAN:
            self.__dict__["_plan"] = None
        object.__setattr__(self, name, value)

    def _authenticator(self):
        cache_key = self._cache_key
        if self.key is not None:
            if cache_key is not None:
                return self._authn
            return self._build_authenticator((self.key, None), None)
        ctx = _cv_app.get(None)
        config = ctx.app.config if ctx is not None else {}
        secret = config.get("SECRET_KEY")
        fallbacks = config.get("SECRET_KEY_FALLBACKS")
        # Rebuilt when a configuration attribute is assigned (see __setattr__) or the app's
        # SECRET_KEY / SECRET_KEY_FALLBACKS change.
        if cache_key is not None and cache_key[0] is secret and cache_key[1] is fallbacks:
            return self._authn
        return self._build_authenticator(_app_keys(secret, fallbacks), (secret, fallbacks))

    def _build_authenticator(self, keys, source):
        key, previous = keys
        algorithms = self.algorithm if isinstance(self.algorithm, list) else [self.algorithm]
        cache_key = source or (None, None)
        if True:
            self._authn = _ag.DigestAuthenticator(
                self.realm,
                key,
                scheme=self.scheme,
                algorithms=algorithms,
                qop=list(self.qop or ()),
                previous_key=previous,
                lifetime=self.nonce_lifetime,
                replay_store=self.replay_store,
                use_ha1_pw=self.use_ha1_pw,
                check_uri=self.check_uri,
                auth_info=self.authentication_info,
            )
            self.__dict__["_cache_key"] = cache_key
        return self._authn

    # -- nonce and opaque callbacks -------------------------------------------------------

    def _default_generate_nonce(self):
        return self._authenticator().new_nonce(self.get_opaque())

    def _default_verify_nonce(self, nonce):  # pragma: no cover - replaced by the keyed check
        return nonce is not None

    def _default_generate_opaque(self):
        return self._authenticator().default_opaque

    def _default_verify_opaque(self, opaque):
        if opaque is None:
            return False
        return _ag.ct_eq(opaque, self._authenticator().default_opaque)

    def generate_nonce(self, f):
        self.generate_nonce_callback = f
        return f

    def verify_nonce(self, f):
        self.verify_nonce_callback = f
        return f

    def generate_opaque(self, f):
        self.generate_opaque_callback = f
        return f

    def verify_opaque(self, f):
        self.verify_opaque_callback = f
        return f

    def get_nonce(self):
        return self.generate_nonce_callback()

    def get_opaque(self):
        return self.generate_opaque_callback()

    def generate_ha1(self, username, password, algorithm=None):
        alg = algorithm or (self.algorithm[0] if isinstance(self.algorithm, list) else self.algorithm)
        return _ag.ha1(username, self.realm, password, alg.replace("-Sess", "").replace("-sess", ""))

    # -- challenges -----------------------------------------------------------------------

    def _challenge_values(self, stale=None):
        if stale is None:
            stale = bool(g.get("_authgate_stale")) if _cv_request.get(None) is not None else False
        opaque = self.get_opaque()
        if self.generate_nonce_callback is self._dgn:
            nonce = self._authenticator().new_nonce(opaque)
        else:
            nonce = self.generate_nonce_callback()
        return self._authenticator().challenges(nonce, opaque, stale)

    def authenticate_header(self):
        return self._challenge_values()[0]

    # -- checking -------------------------------------------------------------------------

    def _auth_from(self, environ):
        value = environ.get("HTTP_AUTHORIZATION")
        if value is None:
            return None
        parsed = _ag.parse_authorization(value)
        if parsed.scheme.lower() not in ("digest", self.scheme.lower()) or parsed.params is None:
            return None
        return Authorization(parsed.scheme.lower(), dict(parsed.params))

    def username(self):
        value = request.environ.get("HTTP_AUTHORIZATION")
        if value is None:
            return ""
        return _ag.digest_username(value) or ""

    def _make_plan(self):
        """What every request needs, resolved once: (the SECRET_KEY / SECRET_KEY_FALLBACKS
        the authenticator was built from, or None with ``key=``; the Rust check with the
        authenticator and the callbacks bound; Authentication-Info)."""
        authn = self._authenticator()
        get_password = self.get_password_callback
        verify_opaque = self.verify_opaque_callback
        verify_nonce = self.verify_nonce_callback
        check = _ag.DigestRequestCheck(
            authn,
            _request_target,
            (lambda u: _call(get_password, u)) if _is_async(get_password) else get_password,
            # None: authgate's own opaque / nonces, checked in Rust.
            None if verify_opaque is self._dvo else (lambda o: _call(verify_opaque, o)),
            None if verify_nonce is self._dvn else (lambda n: _call(verify_nonce, n)),
            auth_int="auth-int" in (self.qop or ()),
            flask=_FLASK,
            source=self._cache_key if self.key is None else None,
            on_accept=_hook_app if self.authentication_info else None,
        )
        plan = (self._cache_key if self.key is None else None, check, bool(self.authentication_info))
        self.__dict__["_plan"] = plan
        return plan

    def _check_user(self, req):
        """The user name when the request's Digest credentials are accepted, else False.
        Raises MalformedHeader."""
        plan = self._plan
        if plan is not None and plan[0] is not None:
            config = _cv_app.get().app.config
            source = plan[0]
            if config.get("SECRET_KEY") is not source[0] or config.get("SECRET_KEY_FALLBACKS") is not source[1]:
                plan = None
        if plan is None:
            plan = self._make_plan()
        result = plan[1].check(req)
        if result.__class__ is str:
            if plan[2]:
                _hook_app()
            return result
        if result == 1:
            g._authgate_stale = True
        return False

    def _check(self, req):
        user = self._check_user(req)
        if user is False:
            return False, None
        return True, _DigestAuth(user)

    def _protect(self, f, role=None, optional=None, others=()):
        if role is not None:
            return super()._protect(f, role=role, optional=optional, others=others)
        # Without roles nothing needs the Authorization stand-in: the user name is what
        # g.flask_httpauth_user gets (False when refused, as Flask-HTTPAuth's authenticate).
        view_is_async = inspect.iscoroutinefunction(f)

        @wraps(f)
        def decorated(*args, **kwargs):
            plan = self._plan
            if plan is None:
                if _cv_request.get().request.method == "OPTIONS":  # passes, even before a SECRET_KEY
                    return current_app.ensure_sync(f)(*args, **kwargs) if view_is_async else f(*args, **kwargs)
                plan = self._make_plan()
            # OPTIONS passes (True); else the request is checked and, when accepted,
            # g.flask_httpauth_user is set to the user name (True).
            try:
                user = plan[1].enter()
                if user is None:  # the app's SECRET_KEY changed since the plan was made
                    user = self._enter_rebuilt()
            except MalformedHeader as e:
                if self.strict:
                    log.debug("authgate: malformed Authorization: %s", e)
                    return self._error(400, others)
                user, auth = self._check_absent(_cv_request.get().request)
                if user in (False, None):
                    if not optional:
                        return self._error(401, others)
                elif user is True:
                    user = self._username_of(auth)
                _set_current_user(user)
            else:
                if user is not True:  # refused (False)
                    if not optional:
                        return self._error(401, others)
                    _set_current_user(False)
            if view_is_async:
                return current_app.ensure_sync(f)(*args, **kwargs)
            return f(*args, **kwargs)

        return decorated

    def _enter_rebuilt(self):
        """``plan[1].enter()`` with a plan made for the current app's keys; when the request
        context's app is not the app context's, the check of _check_user (the keys of the
        app context's app, as _authenticator reads them)."""
        user = self._make_plan()[1].enter()
        if user is not None:
            return user
        user = self._check_user(_cv_request.get().request)
        if user is False:
            return False
        _set_current_user(user)
        return True

    def authenticate(self, auth, stored_password_or_ha1):
        """Flask-HTTPAuth's signature: checks the current request's Digest credentials,
        with ``stored_password_or_ha1`` as the user's password (or HA1)."""
        if not auth or not stored_password_or_ha1:
            return False
        environ = request.environ
        value = environ.get("HTTP_AUTHORIZATION")
        if value is None:
            return False
        try:
            result = self._authenticator().check(
                value,
                request.method,
                _request_target(environ),
                lambda u: stored_password_or_ha1,
                self.verify_opaque_callback,
                None if self.verify_nonce_callback is self._dvn else self.verify_nonce_callback,
                lambda: request.get_data(cache=True),
            )
        except MalformedHeader:
            return False
        return bool(result and result[0] == 200)


class _DigestAuth:
    """The Authorization stand-in after a successful Digest check (for roles/current_user)."""

    __slots__ = ("username", "type")

    def __init__(self, username):
        self.username = username
        self.type = "digest"

    def __bool__(self):
        return True

    def __getitem__(self, k):
        return getattr(self, k)

    def get(self, k, default=None):
        return getattr(self, k, default)


def _add_header_after_request(name, value):
    from flask import after_this_request

    @after_this_request
    def _add(response):
        if name not in response.headers:
            response.headers[name] = value
        return response


class HTTPTokenAuth(HTTPAuth):
    """Token authentication, Flask-HTTPAuth's API.

    With the default ``Bearer`` scheme the token must be an RFC 6750 b64token (checked by
    the core parser; a malformed one is a 400). With an application-defined scheme, or a
    custom ``header``, the token is whatever follows, as in Flask-HTTPAuth.
    """

    _FAST_ATTRS = frozenset({"verify_token_callback", "scheme", "header", "_lenient"})

    def __init__(self, scheme="Bearer", realm=None, header=None, *, strict: bool = True):
        super().__init__(scheme, realm, header, strict=strict)
        self.verify_token_callback = None
        self._lenient = scheme.lower() != "bearer"

    def _make_fast(self):
        verify = self.verify_token_callback
        fast = False
        if verify is not None and (self.header is None or self.header == "Authorization"):
            fast = _ag.CallbackCheck("token", "HTTP_AUTHORIZATION", self.scheme,
                                     (lambda t: _call(verify, t)) if _is_async(verify) else verify,
                                     lenient=self._lenient, flask=_FLASK)
        self.__dict__["_fast"] = fast
        return fast

    def verify_token(self, f):
        self.verify_token_callback = f
        return f

    def _auth_from(self, environ):
        if self.header is None or self.header == "Authorization":
            creds = _ag.token_credentials(environ.get("HTTP_AUTHORIZATION"), self.scheme, self._lenient)
            if creds is None:
                return None
            return Authorization(creds[0].lower(), None, creds[1] or None)
        value = environ.get(_environ_key(self.header))
        if value is None:
            return None
        return Authorization(self.scheme, None, value)

    def _check(self, req):
        if self.header is not None and self.header != "Authorization":
            auth = self._auth_from(req.environ)
            token = auth.token if auth is not None else None
        else:
            creds = _ag.token_credentials(req.environ.get("HTTP_AUTHORIZATION"), self.scheme, self._lenient)
            if creds is None:
                return None, None
            token = creds[1]
            auth = None
        verify = self.verify_token_callback
        if token and verify:
            user = _call(verify, token)
            if auth is None and (user is True or self.get_user_roles_callback is not None):
                auth = Authorization(creds[0].lower(), None, token)
            return user, auth
        return None, auth

    def authenticate(self, auth, stored_password):
        token = getattr(auth, "token", None)
        if token and self.verify_token_callback:
            return _call(self.verify_token_callback, token)


class MultiAuth:
    """Several authentication methods on one route. The one matching the request's scheme
    (or custom header) checks it; a 401 offers every method's challenge, the matching one
    (or the main one) first."""

    def __init__(self, main_auth, *additional_auths):
        self.main_auth = main_auth
        self.additional_auths = additional_auths

    def login_required(self, f=None, role=None, optional=None):
        if f is not None and (role is not None or optional is not None):  # pragma: no cover
            raise ValueError("role and optional are the only supported arguments")

        def login_required_internal(f):
            auths = (self.main_auth,) + tuple(self.additional_auths)
            handlers = [a._protect(f, role=role, optional=optional, others=auths) for a in auths]

            @wraps(f)
            def decorated(*args, **kwargs):
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

    def current_user(self):
        if hasattr(g, "flask_httpauth_user"):  # pragma: no cover
            return g.flask_httpauth_user


# ---------------------------------------------------------------------------------------
# Flask-Kerberos / Flask-SSPI style, on the core engine
# ---------------------------------------------------------------------------------------


class AuthGate:
    """The core engine as a Flask extension, in the Flask-Kerberos / Flask-SSPI style.

    ``users`` is a dict of plaintext passwords, or ``get_password(username)`` returns one
    (or None); ``tokens`` maps bearer tokens to users. Digest (SHA-256 then MD5) and Basic
    are offered by default, with RFC 7616 challenges (``charset=UTF-8``), keyed nonces from
    ``SECRET_KEY`` (or ``key=``) and a replay store (``replay_store=``).
    """

    def __init__(self, app=None, **options):
        self.options = options
        self._engines: dict = {}
        if app is not None:
            self.init_app(app, **options)

    def init_app(self, app, add_context_processor: bool = True, **options):
        if options:
            self.options = {**self.options, **options}
        app.extensions["authgate"] = self
        if add_context_processor:
            app.context_processor(_user_context_processor)
        return self

    def engine(self):
        o = self.options
        key = o.get("key")
        previous = None
        if key is None:
            config = current_app.config
            key, previous = _app_keys(config.get("SECRET_KEY"), config.get("SECRET_KEY_FALLBACKS"))
        elif len(key) != 32:
            key = _ag.derive_key(key)
        eng = self._engines.get((key, previous))
        if eng is None:
            eng = _ag.Engine(
                o.get("realm") or current_app.config.get("AUTHGATE_REALM") or "Authentication Required",
                key,
                users=o.get("users"),
                lookup=o.get("get_password"),
                tokens=o.get("tokens"),
                schemes=list(o.get("schemes", ("Digest", "Basic"))),
                algorithms=list(o.get("algorithms", ("SHA-256", "MD5"))),
                qop=list(o.get("qop", ("auth",))),
                nonce_lifetime=o.get("nonce_lifetime", 300),
                opaque=o.get("opaque"),
                replay_store=o.get("replay_store"),
                previous_key=previous,
            )
            self._engines[(key, previous)] = eng
        return eng

    def check(self):
        """Authenticates the current request: ``(user, None)`` or ``(None, response)``."""
        req = _cv_request.get().request
        environ = req.environ
        eng = self.engine()
        body = req.get_data(cache=True) if "auth-int" in self.options.get("qop", ()) else None
        v = eng.check(req.method, _request_target(environ), environ.get("HTTP_AUTHORIZATION"), body)
        if v.status == 200:
            g.current_user = v.user
            g.authgate_scheme = v.scheme
            g.authgate_algorithm = v.algorithm
            if v.authentication_info:
                _add_header_after_request("Authentication-Info", v.authentication_info)
            return v.user, None
        if v.status == 400:
            res = make_response(("Bad Request: " + v.error[0]) + "\n", 400)
            for value in eng.challenges():
                res.headers.add("WWW-Authenticate", value)
            return None, res
        res = make_response("Unauthorized\n", 401)
        for value in v.www_authenticate:
            res.headers.add("WWW-Authenticate", value)
        return None, res


def _user_context_processor():
    user = g.get("current_user")
    return {"current_user": user} if user is not None else {}


def _gate() -> AuthGate:
    gate = current_app.extensions.get("authgate")
    if gate is None:
        raise RuntimeError("call authgate.flask.init_authgate(app, ...) first")
    return gate


def init_authgate(app, **options) -> AuthGate:
    """Configures authgate for ``app`` (Flask-Kerberos' ``init_kerberos`` /
    Flask-SSPI's ``init_sspi``): options as for :class:`AuthGate`. Adds ``current_user``
    to Jinja templates unless ``add_context_processor=False``."""
    return AuthGate().init_app(app, **options)


init_app = init_authgate


def requires_authentication(view):
    """Flask-Kerberos style: the authenticated user is passed as the view's first
    argument; otherwise 401 with the challenges (400 for a malformed header)."""
    is_async = inspect.iscoroutinefunction(view)

    @wraps(view)
    def decorated(*args, **kwargs):
        if request.method == "OPTIONS":
            return (current_app.ensure_sync(view) if is_async else view)(None, *args, **kwargs)
        user, error = _gate().check()
        if error is not None:
            return error
        return (current_app.ensure_sync(view) if is_async else view)(user, *args, **kwargs)

    return decorated


def authenticate(view):
    """Flask-SSPI style: sets ``g.current_user`` and calls the view. Also usable as a
    Blueprint's ``before_request`` hook (``bp.before_request(authenticate(lambda: None))``)."""
    is_async = inspect.iscoroutinefunction(view)

    @wraps(view)
    def decorated(*args, **kwargs):
        if request.method != "OPTIONS":
            user, error = _gate().check()
            if error is not None:
                return error
        return (current_app.ensure_sync(view) if is_async else view)(*args, **kwargs)

    return decorated


def current_user() -> Any:
    """The user authenticated by ``requires_authentication`` / ``authenticate``."""
    return g.get("current_user")


def accepted_algorithm() -> Optional[str]:
    """The Digest algorithm of the current request's accepted credentials (authgate.flask)."""
    return request.environ.get(_ALG)


Callback = Callable[..., Any]
