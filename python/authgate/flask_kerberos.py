"""authgate.flask_kerberos: Flask-Kerberos 1.0.4's API on the authgate engine, on Flask 3.

Change ``from flask_kerberos import init_kerberos, requires_authentication`` to
``from authgate.flask_kerberos import ...``. Kerberos tokens go through GSSAPI
(:class:`authgate.kerberos.GssapiAcceptor`, ``pip install "authgate[kerberos]"``); the
``Negotiate`` header, its base64, SPNEGO routing, limits and status codes are the core's.

Differences from Flask-Kerberos (python/README.md, "Migrating from Flask-Kerberos"):
handshakes that need several rounds complete (a context per connection); a refused token
is answered 401 with a fresh ``WWW-Authenticate: Negotiate`` (RFC 4559), not 403, unless
``failure_status=403``; a malformed header is a 400.
"""
from __future__ import annotations

import os
from functools import wraps
from socket import gethostname
from typing import Any, Optional

from ._extras import require

require("flask", extra="flask", needed_by="authgate.flask_kerberos")

from flask import Response, current_app, g, make_response, request
from flask.globals import _cv_request

from ._connection_auth import ConnectionAuth

__all__ = ["init_kerberos", "requires_authentication"]

_EXT = "authgate.flask_kerberos"


class _Kerberos:
    def __init__(
        self, app: Any, service: str, hostname: str, keytab: Optional[str], failure_status: int, bind_negotiate: bool
    ) -> None:
        self.service = service
        self.hostname = hostname
        self.keytab = keytab
        self.failure_status = failure_status
        self.bind_negotiate = bind_negotiate
        self.logger = app.logger
        self.auth: Optional[ConnectionAuth] = None
        self.principal = f"{service}@{hostname}"

    def gate(self) -> ConnectionAuth:
        """The engine, made at the first request that needs it (or at init when the keytab
        is there), so that a keytab installed later is picked up."""
        if self.auth is None:
            from .kerberos import GssapiAcceptor

            acceptor = GssapiAcceptor(self.service, self.hostname, keytab=self.keytab)
            self.auth = ConnectionAuth(
                ["Negotiate"], realm=self.hostname or "Kerberos", acceptor=acceptor, bind_negotiate=self.bind_negotiate
            )
        return self.auth


def init_kerberos(app, service: str = "HTTP", hostname: str = gethostname(), *, keytab: Optional[str] = None,
                  failure_status: int = 401, bind_negotiate: bool = False):
    """Configures the GSSAPI service name ``service@hostname`` and checks that the keytab
    (``KRB5_KTNAME``, or ``keytab=``) holds its key, logging what it finds as
    Flask-Kerberos does. ``failure_status=403`` answers refused tokens as Flask-Kerberos
    did; ``bind_negotiate=True`` keeps a connection authenticated after its first
    Kerberos success (authgate.Connection.bind_negotiate explains the proxy caveat)."""
    state = _Kerberos(app, service, hostname, keytab, failure_status, bind_negotiate)
    app.extensions[_EXT] = state
    if "KRB5_KTNAME" not in os.environ and keytab is None:
        app.logger.warning("Kerberos: set KRB5_KTNAME to your keytab file")
        return
    try:
        state.gate()
    except Exception as exc:  # GSSError, or python-gssapi missing: said, then retried per request
        app.logger.warning("Kerberos: %s", exc)
    else:
        app.logger.info("Kerberos: server is %s", state.principal)


def _unauthorized(challenge: str = "Negotiate"):
    return Response("Unauthorized", 401, {"WWW-Authenticate": challenge})


def _forbidden():
    return Response("Forbidden", 403)


def requires_authentication(function):
    """The view runs only for a client authenticated by Kerberos; it gets the principal
    (``user@REALM``) as its first argument. The success response carries
    ``WWW-Authenticate: negotiate <token>`` when GSSAPI has a token for mutual
    authentication; the principal and token are also on the request context
    (``kerberos_user``, ``kerberos_token``) and on ``g``."""

    @wraps(function)
    def decorated(*args, **kwargs):
        state = current_app.extensions.get(_EXT)
        if state is None:
            raise RuntimeError("call authgate.flask_kerberos.init_kerberos(app) first")
        header = request.headers.get("Authorization")
        try:
            gate = state.gate()
        except Exception as exc:
            current_app.logger.warning("Kerberos: %s", exc)
            return _forbidden() if header and state.failure_status == 403 else _unauthorized()
        v = gate.check(request)
        if v.status == 200:
            token = v.www_authenticate[0].split(" ", 1)[1] if v.www_authenticate else None
            ctx = _cv_request.get()
            ctx.kerberos_user, ctx.kerberos_token = v.user, token
            g.kerberos_user, g.kerberos_token = v.user, token
            response = make_response(current_app.ensure_sync(function)(v.user, *args, **kwargs))
            if token is not None:
                response.headers["WWW-Authenticate"] = "negotiate " + token
            return response
        if v.status == 400:
            return Response("Bad Request", 400, {"WWW-Authenticate": "Negotiate"})
        if v.reason == "HandshakeContinues":
            return _unauthorized(v.www_authenticate[0])
        if header and state.failure_status == 403:
            return _forbidden()
        return _unauthorized()

    return decorated
