"""authgate.flask_sspi: Flask-SSPI 0.3's API on the authgate engine, on any OS.

Change ``from flask_sspi import init_sspi, authenticate, requires_authentication`` to
``from authgate.flask_sspi import ...``. NTLM is verified by the core (NTLMv2 only) against
the users you give (``users=``, ``get_password=``, ``nt_hashes=``: as
:class:`authgate.flask.AuthGate`); with ``package="Negotiate"``, Kerberos goes through
GSSAPI when python-gssapi and a keytab are there, and NTLM inside Negotiate (Windows
outside the domain) through the core.

NTLM authenticates a connection: serve with a server that keeps connections alive and says
which one a request came on (waitress, gunicorn's gthread workers, Werkzeug's threaded
development server: :mod:`authgate.connections`). Differences from Flask-SSPI are in
python/README.md ("Migrating from Flask-SSPI").
"""
from __future__ import annotations

import time
from functools import wraps
from socket import gethostname
from typing import Optional

from ._extras import require

require("flask", extra="flask", needed_by="authgate.flask_sspi")

from flask import Response, current_app, g, make_response, request, session

from ._connection_auth import ConnectionAuth

__all__ = ["init_sspi", "authenticate", "requires_authentication", "Impersonate"]

_EXT = "authgate.flask_sspi"
_SESSION_KEY = "authgate.sspi"


def _user_context_processor():
    if getattr(g, "current_user", None) is not None:
        return dict(current_user=g.current_user)
    return {}


class _Sspi:
    def __init__(self, app, service, hostname, package, users, get_password, nt_hashes, session_duration,
                 keytab, failure_status):
        if package not in ("NTLM", "Negotiate"):
            raise ValueError("package is 'NTLM' or 'Negotiate'")
        self.package = package
        self.failure_status = failure_status
        self.session_duration = session_duration
        acceptor = None
        if package == "Negotiate":
            try:
                from .kerberos import GssapiAcceptor

                acceptor = GssapiAcceptor(service, hostname, keytab=keytab)
            except Exception as exc:  # no python-gssapi, no keytab: NTLM inside Negotiate only
                app.logger.info("SSPI: Negotiate without Kerberos (%s)", exc)
        # NTLM inside Negotiate (raw, or SPNEGO) is offered with the NTLM scheme.
        schemes = ["NTLM"] if package == "NTLM" else ["Negotiate", "NTLM"]
        realm = (hostname or "authgate").split(".")[0]
        self.auth = ConnectionAuth(
            schemes, realm=realm, key=None, acceptor=acceptor, users=users, get_password=get_password,
            nt_hashes=nt_hashes,
        )


def init_sspi(app, service: str = "HTTP", hostname: str = gethostname(), package: str = "NTLM",
              add_context_processor: bool = True, *, users=None, get_password=None, nt_hashes=None,
              session_duration: Optional[float] = 30, keytab: Optional[str] = None, failure_status: int = 401):
    """Configures NTLM (``package="NTLM"``) or Negotiate for ``app``.

    Users: ``users`` (a dict of plaintext passwords), ``get_password(username)``, and
    ``nt_hashes`` (a dict of NT hashes, hex or bytes, as Samba's ``pdbedit -w`` prints them).
    ``session_duration`` (minutes, Flask-SSPI's 30 by default; ``None`` turns it off): after
    a handshake, later requests with the Flask session cookie are authenticated without one,
    when ``app.secret_key`` is set. ``failure_status=403`` answers refused credentials as
    Flask-SSPI did (its 403 stops browsers from asking again; 401 lets them)."""
    app.extensions[_EXT] = _Sspi(app, service, hostname, package, users, get_password, nt_hashes,
                                 session_duration, keytab, failure_status)
    if add_context_processor:
        app.context_processor(_user_context_processor)


def _state() -> _Sspi:
    state = current_app.extensions.get(_EXT)
    if state is None:
        raise RuntimeError("call authgate.flask_sspi.init_sspi(app) first")
    return state


def _session_user(state: _Sspi) -> Optional[str]:
    if state.session_duration is None or not current_app.secret_key:
        return None
    held = session.get(_SESSION_KEY)
    if isinstance(held, list) and len(held) == 2 and isinstance(held[1], (int, float)) and time.time() < held[1]:
        return held[0]
    return None


def _handle():
    """``(user, None, token)``, or ``(None, response, None)`` for a 401/400/403; `token` is the
    ``WWW-Authenticate`` value a success must carry (SPNEGO's last token, Kerberos' mutual
    authentication)."""
    state = _state()
    header = request.headers.get("Authorization")
    if header is None:
        user = _session_user(state)
        if user is not None:
            return user, None, None
    v = state.auth.check(request)
    if v.status == 200:
        if state.session_duration is not None and current_app.secret_key:
            session[_SESSION_KEY] = [v.user, time.time() + 60 * state.session_duration]
        return v.user, None, (v.www_authenticate[0] if v.www_authenticate else None)
    if v.status == 400:
        return None, Response("Bad Request", 400, {"WWW-Authenticate": state.package}, mimetype="text/html"), None
    if v.reason == "HandshakeContinues":
        res = Response("Unauthorized", 401, {"WWW-Authenticate": v.www_authenticate[0]}, mimetype="text/html")
        return None, res, None
    if header and state.failure_status == 403:
        return None, Response("Forbidden", 403), None
    res = Response("Unauthorized", 401, mimetype="text/html")
    for value in v.www_authenticate:
        res.headers.add("WWW-Authenticate", value)
    return None, res, None


def _with_token(response, token):
    if token is not None:
        response.headers["WWW-Authenticate"] = token
    return response


def requires_authentication(function):
    """The view runs only for an authenticated user, whose name it gets as its first
    argument (also ``g.current_user``, and ``current_user`` in templates)."""

    @wraps(function)
    def decorated(*args, **kwargs):
        user, error, token = _handle()
        if error is not None:
            return error
        g.current_user = user
        return _with_token(make_response(current_app.ensure_sync(function)(user, *args, **kwargs)), token)

    return decorated


def authenticate(function):
    """The view runs only for an authenticated user, named in ``g.current_user``. Also a
    ``before_request`` hook: ``bp.before_request(authenticate(lambda: None))``."""

    @wraps(function)
    def decorated(*args, **kwargs):
        user, error, token = _handle()
        if error is not None:
            return error
        g.current_user = user
        response = current_app.ensure_sync(function)(*args, **kwargs)
        if token is not None:
            # As a before_request hook (no response of its own), the token goes on the
            # response the view makes.
            if not response:
                from flask import after_this_request

                after_this_request(lambda r: _with_token(r, token))
                return response
            return _with_token(make_response(response), token)
        return make_response(response) if response else response

    return decorated


class Impersonate:
    """Flask-SSPI's impersonation of the client's Windows token. There is none here: authgate
    checks NTLM responses itself, against your users, on any OS, and never holds a Windows
    logon session to impersonate."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError(
            "authgate.flask_sspi.Impersonate: impersonation needs Windows SSPI "
            "(ImpersonateSecurityContext on a logon session); authgate verifies NTLM itself "
            "and has no Windows token to impersonate"
        )
