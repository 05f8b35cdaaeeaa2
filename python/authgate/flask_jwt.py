"""The verifying side of Flask-JWT-Extended, on authgate's Rust JWT verifier.

Change ``from flask_jwt_extended import ...`` to ``from authgate.flask_jwt import ...`` in an
application (or a service) that *receives* tokens: ``JWTManager``, ``jwt_required()``,
``verify_jwt_in_request()``, ``get_jwt()``, ``get_jwt_header()``, ``get_jwt_identity()``,
``get_current_user()``, the error classes, and the ``JWT_*`` configuration keys of the
verifying side, with their defaults:

=========================  ===========================================================
``JWT_SECRET_KEY``         HMAC secret (falls back to ``SECRET_KEY``)
``JWT_PUBLIC_KEY``         PEM public key, used when ``JWT_ALGORITHM`` is asymmetric
``JWT_ALGORITHM``          ``"HS256"``
``JWT_DECODE_ALGORITHMS``  ``None``: ``[JWT_ALGORITHM]`` (``JWT_ALGORITHM`` is always added)
``JWT_DECODE_AUDIENCE``    ``None``: any ``aud`` is accepted (as Flask-JWT-Extended)
``JWT_DECODE_ISSUER``      ``None``
``JWT_DECODE_LEEWAY``      ``0`` (seconds or a ``timedelta``)
``JWT_IDENTITY_CLAIM``     ``"sub"``
``JWT_HEADER_NAME``        ``"Authorization"``
``JWT_HEADER_TYPE``        ``"Bearer"``
``JWT_ERROR_MESSAGE_KEY``  ``"msg"``
``JWT_TOKEN_LOCATION``     ``["headers"]`` (the only location supported)
=========================  ===========================================================

and one of authgate's: ``AUTHGATE_JWT_KEYS``, keys as ``JwtVerifier`` takes them (a JWKS
document, a dict ``kid -> key``), used instead of the two above when set.

Responses are Flask-JWT-Extended's: 401 ``{"msg": "Missing Authorization Header"}``, 401
``{"msg": "Token has expired"}``, 422 ``{"msg": <why>}`` for any other invalid token, 422
``"Only non-refresh tokens are allowed"``, 401 ``"Fresh token required"``, and the loaders of
``JWTManager`` (``expired_token_loader``, ``invalid_token_loader``, ``unauthorized_loader``,
``needs_fresh_token_loader``, ``user_lookup_loader``, ``user_lookup_error_loader``,
``token_in_blocklist_loader``, ``revoked_token_loader``) override them.

Where authgate is stricter, for security (each refusal is a 422 with the core's reason):

* ``<why>`` is the core's message (PyJWT's for the common cases: "Signature verification
  failed", "Invalid audience", "Invalid issuer", "The token is not yet valid (nbf)"), not
  PyJWT's text for every malformed token;
* base64url must be canonical and unpadded; the header and claims must be strict JSON
  (UTF-8, no duplicate names, at most 64 claims nested 16 deep); ``crit`` is refused;
* ``exp``, ``nbf`` and ``iat`` must be JSON numbers (PyJWT also takes numeric strings and
  booleans); ``sub`` must be a string whatever ``JWT_VERIFY_SUB`` says;
* the scheme word is matched case-insensitively (RFC 9110), and the token must be a
  b64token (RFC 6750), read by the core's ``Authorization`` parser.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from functools import wraps
from typing import Any, Callable, Optional

from ._extras import require

require("flask", extra="flask", needed_by="authgate.flask_jwt")

from flask import current_app, g, jsonify, request

from . import _authgate as _ag
from ._authgate import JwtError, JwtVerifier, MalformedHeader

log = logging.getLogger("authgate.jwt")

__all__ = [
    "JWTManager",
    "jwt_required",
    "verify_jwt_in_request",
    "get_jwt",
    "get_jwt_header",
    "get_jwt_identity",
    "get_current_user",
    "current_user",
    "JWTExtendedException",
    "NoAuthorizationError",
    "InvalidHeaderError",
    "JWTDecodeError",
    "ExpiredSignatureError",
    "WrongTokenError",
    "FreshTokenRequired",
    "RevokedTokenError",
    "UserLookupError",
]

_SYMMETRIC = {"HS256", "HS384", "HS512"}


# --------------------------------------------------------------------------- exceptions

class JWTExtendedException(Exception):
    """Base class of the errors (Flask-JWT-Extended's name)."""


class NoAuthorizationError(JWTExtendedException):
    """No token in the request: 401."""


class InvalidHeaderError(JWTExtendedException):
    """The Authorization header is not ``Bearer <JWT>``: 422."""


class JWTDecodeError(JWTExtendedException):
    """The token is invalid (``reason`` says why, the core's name): 422."""

    def __init__(self, message: str, reason: str = "Other"):
        super().__init__(message)
        self.reason = reason


class ExpiredSignatureError(JWTDecodeError):
    """The token has expired: 401 ``Token has expired``."""

    def __init__(self, message: str, jwt_header: dict, jwt_data: dict):
        super().__init__(message, "TokenExpired")
        self.jwt_header = jwt_header
        self.jwt_data = jwt_data


class _WithToken(JWTExtendedException):
    def __init__(self, message: str, jwt_header: dict, jwt_data: dict):
        super().__init__(message)
        self.jwt_header = jwt_header
        self.jwt_data = jwt_data


class WrongTokenError(JWTExtendedException):
    """A refresh token where an access token is needed, or the reverse: 422."""


class FreshTokenRequired(_WithToken):
    """``fresh=True`` and the token is not fresh: 401."""


class RevokedTokenError(_WithToken):
    """``token_in_blocklist_loader`` said so: 401."""


class UserLookupError(_WithToken):
    """``user_lookup_loader`` returned None: 401."""


# --------------------------------------------------------------------------- the manager

class JWTManager:
    """Flask-JWT-Extended's ``JWTManager`` for the verifying side: registers the error
    handlers and holds the loaders that shape the responses."""

    def __init__(self, app=None, add_context_processor: bool = False):
        self._expired = lambda header, data: _error("Token has expired", 401)
        self._invalid = lambda message: _error(message, 422)
        self._unauthorized = lambda message: _error(message, 401)
        self._needs_fresh = lambda header, data: _error("Fresh token required", 401)
        self._revoked = lambda header, data: _error("Token has been revoked", 401)
        self._user_lookup: Optional[Callable] = None
        self._user_lookup_error = lambda header, data: _error(
            "Error loading the user %s" % data.get(_config("JWT_IDENTITY_CLAIM")), 401)
        self._blocklist: Optional[Callable] = None
        if app is not None:
            self.init_app(app, add_context_processor)

    def init_app(self, app, add_context_processor: bool = False) -> None:
        app.extensions["flask-jwt-extended"] = self
        for key, value in _DEFAULTS.items():
            app.config.setdefault(key, value)
        app.register_error_handler(JWTExtendedException, self._handle)
        if add_context_processor:
            app.context_processor(lambda: {"current_user": get_current_user()})

    def _handle(self, e: JWTExtendedException):
        if isinstance(e, ExpiredSignatureError):
            return self._expired(e.jwt_header, e.jwt_data)
        if isinstance(e, NoAuthorizationError):
            return self._unauthorized(str(e))
        if isinstance(e, FreshTokenRequired):
            return self._needs_fresh(e.jwt_header, e.jwt_data)
        if isinstance(e, RevokedTokenError):
            return self._revoked(e.jwt_header, e.jwt_data)
        if isinstance(e, UserLookupError):
            return self._user_lookup_error(e.jwt_header, e.jwt_data)
        return self._invalid(str(e))

    # Loaders, under Flask-JWT-Extended's names.
    def expired_token_loader(self, f):
        self._expired = f
        return f

    def invalid_token_loader(self, f):
        self._invalid = f
        return f

    def unauthorized_loader(self, f):
        self._unauthorized = f
        return f

    def needs_fresh_token_loader(self, f):
        self._needs_fresh = f
        return f

    def revoked_token_loader(self, f):
        self._revoked = f
        return f

    def user_lookup_loader(self, f):
        self._user_lookup = f
        return f

    def user_lookup_error_loader(self, f):
        self._user_lookup_error = f
        return f

    def token_in_blocklist_loader(self, f):
        self._blocklist = f
        return f


_DEFAULTS = {
    "JWT_ALGORITHM": "HS256",
    "JWT_DECODE_ALGORITHMS": None,
    "JWT_DECODE_AUDIENCE": None,
    "JWT_DECODE_ISSUER": None,
    "JWT_DECODE_LEEWAY": 0,
    "JWT_ERROR_MESSAGE_KEY": "msg",
    "JWT_HEADER_NAME": "Authorization",
    "JWT_HEADER_TYPE": "Bearer",
    "JWT_IDENTITY_CLAIM": "sub",
    "JWT_PUBLIC_KEY": None,
    "JWT_SECRET_KEY": None,
    "JWT_TOKEN_LOCATION": ("headers",),
    "JWT_VERIFY_SUB": True,
    "AUTHGATE_JWT_KEYS": None,
}


def _config(key: str):
    return current_app.config.get(key, _DEFAULTS.get(key))


def _error(message: str, status: int):
    return jsonify({_config("JWT_ERROR_MESSAGE_KEY"): message}), status


def _manager() -> JWTManager:
    m = current_app.extensions.get("flask-jwt-extended")
    if not isinstance(m, JWTManager):
        raise RuntimeError("You must initialize a JWTManager with this flask application before using this method")
    return m


def _verifier() -> JwtVerifier:
    """The app's verifier, built from its config once (rebuilt when the config changes)."""
    c = current_app.config
    fields = ("AUTHGATE_JWT_KEYS", "JWT_SECRET_KEY", "SECRET_KEY", "JWT_PUBLIC_KEY", "JWT_ALGORITHM",
              "JWT_DECODE_ALGORITHMS", "JWT_DECODE_AUDIENCE", "JWT_DECODE_ISSUER", "JWT_DECODE_LEEWAY",
              "JWT_IDENTITY_CLAIM", "JWT_TOKEN_LOCATION")
    state = tuple(repr(c.get(f, _DEFAULTS.get(f))) for f in fields)
    cached = current_app.extensions.get("authgate-jwt-verifier")
    if cached is not None and cached[0] == state:
        return cached[1]
    locations = _config("JWT_TOKEN_LOCATION")
    if isinstance(locations, str):
        locations = (locations,)
    if list(locations) != ["headers"]:
        raise RuntimeError("authgate.flask_jwt reads tokens from headers only (JWT_TOKEN_LOCATION)")
    algorithm = _config("JWT_ALGORITHM")
    algorithms = list(_config("JWT_DECODE_ALGORITHMS") or [algorithm])
    if algorithm not in algorithms:
        algorithms.append(algorithm)
    keys = _config("AUTHGATE_JWT_KEYS")
    if keys is None:
        if algorithm in _SYMMETRIC:
            keys = _config("JWT_SECRET_KEY") or c.get("SECRET_KEY")
            if not keys:
                raise RuntimeError('JWT_SECRET_KEY or flask SECRET_KEY must be set when using symmetric '
                                   'algorithm "%s"' % algorithm)
        else:
            keys = _config("JWT_PUBLIC_KEY")
            if not keys:
                raise RuntimeError('JWT_PUBLIC_KEY must be set to use asymmetric cryptography algorithm "%s"'
                                   % algorithm)
    audience = _config("JWT_DECODE_AUDIENCE")
    verifier = JwtVerifier(
        keys, algorithms,
        issuer=_config("JWT_DECODE_ISSUER"),
        audience=audience,
        leeway=_config("JWT_DECODE_LEEWAY"),
        identity_claim=_config("JWT_IDENTITY_CLAIM"),
        # Flask-JWT-Extended checks `aud` only when JWT_DECODE_AUDIENCE is set.
        accept_any_audience=audience is None,
    )
    current_app.extensions["authgate-jwt-verifier"] = (state, verifier)
    return verifier


# --------------------------------------------------------------------------- the request

def _token_from_headers() -> str:
    name = _config("JWT_HEADER_NAME")
    kind = _config("JWT_HEADER_TYPE")
    value = request.headers.get(name, "").strip().strip(",")
    if not value:
        raise NoAuthorizationError("Missing %s Header" % name)
    expected = "Expected '%s: %s <JWT>'" % (name, kind) if kind else "Expected '%s: <JWT>'" % name
    if not kind:
        parts = value.split()
        if len(parts) != 1:
            raise InvalidHeaderError("Bad %s header. %s" % (name, expected))
        return parts[0]
    try:
        auth = _ag.parse_authorization(value)
    except MalformedHeader:
        raise InvalidHeaderError("Bad %s header. %s" % (name, expected)) from None
    if auth.scheme.lower() != kind.lower():
        raise NoAuthorizationError("Missing '%s' type in '%s' header. %s" % (kind, name, expected))
    if not auth.token68:
        raise InvalidHeaderError("Bad %s header. %s" % (name, expected))
    return auth.token68


def _decode(token: str) -> tuple[dict, dict]:
    verifier = _verifier()
    try:
        header, data = verifier.verify_complete(token)
    except JwtError as e:
        log.info("JWT refused: %s", e.reason)
        if e.reason == "TokenExpired":
            raise ExpiredSignatureError(e.message, {}, {}) from None
        raise JWTDecodeError(e.message, e.reason) from None
    claim = verifier.identity_claim
    if claim not in data:
        raise JWTDecodeError("Missing claim: %s" % claim, "MissingClaim")
    data.setdefault("type", "access")
    data.setdefault("fresh", False)
    data.setdefault("jti", None)
    return header, data


def verify_jwt_in_request(optional: bool = False, fresh: bool = False, refresh: bool = False,
                          locations=None, verify_type: bool = True,
                          skip_revocation_check: bool = False) -> Optional[tuple[dict, dict]]:
    """Verifies the request's token (Flask-JWT-Extended's signature): ``(header, claims)``,
    or None when ``optional`` and there is none; raises the errors above otherwise."""
    if request.method == "OPTIONS":
        return None
    if locations not in (None, "headers", ["headers"], ("headers",)):
        raise RuntimeError("authgate.flask_jwt reads tokens from headers only")
    try:
        token = _token_from_headers()
    except NoAuthorizationError:
        if not optional:
            raise
        g._jwt_extended_jwt = {}
        g._jwt_extended_jwt_header = {}
        g._jwt_extended_jwt_user = {"loaded_user": None}
        return None
    header, data = _decode(token)
    if verify_type:
        if not refresh and data["type"] == "refresh":
            raise WrongTokenError("Only non-refresh tokens are allowed")
        if refresh and data["type"] != "refresh":
            raise WrongTokenError("Only refresh tokens are allowed")
    if fresh:
        f = data["fresh"]
        stale = (not f) if isinstance(f, bool) else f < datetime.now(timezone.utc).timestamp()
        if stale:
            raise FreshTokenRequired("Fresh token required", header, data)
    manager = current_app.extensions.get("flask-jwt-extended")
    if not skip_revocation_check and manager is not None and manager._blocklist is not None:
        if manager._blocklist(header, data):
            raise RevokedTokenError("Token has been revoked", header, data)
    user = None
    if manager is not None and manager._user_lookup is not None:
        user = {"loaded_user": manager._user_lookup(header, data)}
        if user["loaded_user"] is None:
            raise UserLookupError("user_lookup returned None for %s" % data.get(_config("JWT_IDENTITY_CLAIM")),
                                  header, data)
    g._jwt_extended_jwt_user = user
    g._jwt_extended_jwt_header = header
    g._jwt_extended_jwt = data
    return header, data


def jwt_required(optional: bool = False, fresh: bool = False, refresh: bool = False, locations=None,
                 verify_type: bool = True, skip_revocation_check: bool = False) -> Callable:
    """Protects a view with a JWT (Flask-JWT-Extended's decorator). Errors are answered by
    the app's ``JWTManager`` (its loaders), or with Flask-JWT-Extended's default responses
    when none is registered: never a 500 for a bad token."""

    def wrapper(fn):
        @wraps(fn)
        def decorator(*args, **kwargs):
            try:
                verify_jwt_in_request(optional, fresh, refresh, locations, verify_type, skip_revocation_check)
            except JWTExtendedException as e:
                manager = current_app.extensions.get("flask-jwt-extended")
                return (manager if isinstance(manager, JWTManager) else JWTManager())._handle(e)
            return current_app.ensure_sync(fn)(*args, **kwargs)

        return decorator

    return wrapper


def _context(name: str):
    value = g.get(name, None)
    if value is None:
        raise RuntimeError("You must call `@jwt_required()` or `verify_jwt_in_request()` before using this method")
    return value


def get_jwt() -> dict:
    """The claims of the request's token ({} when optional and absent)."""
    return _context("_jwt_extended_jwt")


def get_jwt_header() -> dict:
    """The header of the request's token ({} when optional and absent)."""
    return _context("_jwt_extended_jwt_header")


def get_jwt_identity() -> Any:
    """The identity claim of the request's token (None when optional and absent)."""
    return get_jwt().get(_config("JWT_IDENTITY_CLAIM"), None)


def get_current_user() -> Any:
    """What ``user_lookup_loader`` returned for the request's token."""
    user = g.get("_jwt_extended_jwt_user", None)
    if user is None:
        raise RuntimeError("You must provide a `@jwt.user_lookup_loader` callback to use this method")
    return user.get("loaded_user", None)


class _CurrentUser:
    def __getattr__(self, name):
        return getattr(get_current_user(), name)

    def __repr__(self):
        return repr(get_current_user())


current_user = _CurrentUser()
