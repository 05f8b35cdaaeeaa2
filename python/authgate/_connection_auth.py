"""What authgate.flask_kerberos and authgate.flask_sspi share: one engine per app with the
connection-bound schemes, checked on the request's connection."""
from __future__ import annotations

import logging
from typing import Any, Dict, Optional

from . import _authgate as _ag
from .connections import connection_id, on_close, request_id

log = logging.getLogger("authgate")

#: Reasons that are not refusals: nothing sent yet, or a handshake in its middle.
NOT_REFUSED = frozenset({"NoCredentials", "HandshakeContinues"})


def request_target(environ: Dict[str, Any]) -> str:
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw is None:
        from urllib.parse import quote

        raw = quote((environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")).encode("latin-1"))
        if environ.get("QUERY_STRING"):
            raw += "?" + environ["QUERY_STRING"]
    return raw


class ConnectionAuth:
    """An engine offering `schemes`, with the handshake table, the Negotiate acceptor and the
    user sources of :class:`authgate.flask.AuthGate` (``users``, ``get_password``,
    ``nt_hashes``)."""

    def __init__(
        self,
        schemes,
        *,
        realm: str,
        key: Optional[bytes] = None,
        acceptor=None,
        users=None,
        get_password=None,
        nt_hashes=None,
        bind_negotiate: bool = False,
    ) -> None:
        self.schemes = list(schemes)
        self.engine = _ag.Engine(
            realm,
            key if key is not None else _ag.random_key(),
            users=users,
            lookup=get_password,
            schemes=self.schemes,
            acceptor=acceptor,
            nt_hashes=nt_hashes,
            bind_negotiate=bind_negotiate,
        )
        self._warned = False
        on_close(self, self.engine.connection_closed)

    def check(self, request) -> "_ag.Verdict":
        environ = request.environ
        cid = connection_id(environ)
        header = environ.get("HTTP_AUTHORIZATION")
        alone = cid is None
        if cid is None:
            # A connection of its own: Kerberos' single round works, NTLM cannot.
            cid = request_id()
            if header is not None and not self._warned:
                self._warned = True
                log.warning(
                    "authgate: the WSGI server does not say which connection a request came on; "
                    "NTLM needs waitress or gunicorn's gthread workers (authgate.connections)"
                )
        try:
            v = self.engine.check(request.method, request_target(environ), header, connection=cid)
        finally:
            if alone:
                self.engine.connection_closed(cid)
        if v.refusal is not None and (v.status == 400 or v.reason not in NOT_REFUSED):
            # The refusal's one log line (reason, scheme, user; never a token).
            log.info("authgate: refused %s", v.refusal)
        return v

    def challenges(self):
        return self.engine.challenges()
