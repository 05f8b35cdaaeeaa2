"""Kerberos for the authgate engine's Negotiate scheme, through GSSAPI (python-gssapi).

``pip install "authgate[kerberos]"`` installs python-gssapi (it builds against MIT
Kerberos: Debian's libkrb5-dev). :class:`GssapiAcceptor` is what ``Engine(acceptor=...)``
calls for every Negotiate token that is not NTLM: it accepts SPNEGO and raw Kerberos
tokens with the service's key from the keytab (``keytab=``, else ``KRB5_KTNAME``, else the
system's), keeps a context per connection while a handshake needs several rounds, and
relies on GSSAPI's replay cache (``KRB5RCACHEDIR``) to refuse a captured AP-REQ.

Why python-gssapi and not the Rust ``libgssapi`` crate inside the extension: an extra
(``authgate[kerberos]``) can only add Python packages. Linking libgssapi_krb5 into the
extension would make every authgate wheel need MIT Kerberos at import time, Kerberos or
not, and the crate's bindgen build needs libclang. python-gssapi is the binding
requests-gssapi and pyspnego use, is kept by the python-gssapi project, releases the GIL
during GSSAPI calls, and exposes the credential store for an explicit keytab.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Any, Optional, Tuple

__all__ = ["GssapiAcceptor", "SPNEGO", "KRB5"]

log = logging.getLogger("authgate")

#: SPNEGO (1.3.6.1.5.5.2) and Kerberos 5 (1.2.840.113554.1.2.2), as dotted strings.
SPNEGO = "1.3.6.1.5.5.2"
KRB5 = "1.2.840.113554.1.2.2"


def _gssapi():
    try:
        import gssapi
    except ImportError as e:  # pragma: no cover - depends on the installation
        raise ImportError(
            'Kerberos needs python-gssapi: pip install "authgate[kerberos]" '
            "(it builds against MIT Kerberos: apt install libkrb5-dev)"
        ) from e
    return gssapi


class GssapiAcceptor:
    """Accepts Negotiate tokens with GSSAPI for ``service@hostname``.

    ``hostname=None`` accepts for any service key in the keytab (GSS_C_NO_NAME). Both
    SPNEGO and the Kerberos mechanism are asked for: curl, browsers and requests-gssapi
    send SPNEGO, older clients raw Kerberos; acquiring SPNEGO alone would also leave MIT's
    replay cache off.
    """

    def __init__(
        self,
        service: str = "HTTP",
        hostname: Optional[str] = None,
        keytab: Optional[str] = None,
        max_contexts: int = 1024,
        context_timeout: float = 60.0,
    ) -> None:
        gssapi = _gssapi()
        self._gssapi = gssapi
        name = None
        if hostname:
            name = gssapi.Name(f"{service}@{hostname}", gssapi.NameType.hostbased_service)
        mechs = [gssapi.OID.from_int_seq(SPNEGO), gssapi.OID.from_int_seq(KRB5)]
        store = {"keytab": keytab} if keytab else None
        self.credentials = gssapi.Credentials(name=name, usage="accept", mechs=mechs, store=store)
        self.principal = str(name) if name is not None else None
        self._contexts: "OrderedDict[int, Tuple[Any, float]]" = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_contexts
        self._timeout = context_timeout

    def step(self, connection: int, token: bytes):
        """One round: ``("continue", output, None)``, ``("complete", output, principal)``
        or ``("refused", None, None)``."""
        gssapi = self._gssapi
        now = time.monotonic()
        with self._lock:
            held = self._contexts.pop(connection, None)
        ctx = held[0] if held is not None and now - held[1] < self._timeout else None
        if ctx is None:
            ctx = gssapi.SecurityContext(creds=self.credentials, usage="accept")
        # python-gssapi hands back SPNEGO's reject token and raises the error at the next use
        # of the context (`complete`): both are inside the try. A reject token is not sent:
        # the client gets a fresh challenge.
        try:
            output = ctx.step(token)
            if ctx.complete:
                return ("complete", output, str(ctx.initiator_name))
        except gssapi.exceptions.GSSError as e:
            log.info("authgate: Negotiate token refused by GSSAPI: %s", e.gen_message())
            return ("refused", None, None)
        with self._lock:
            self._contexts[connection] = (ctx, now)
            while len(self._contexts) > self._max:
                self._contexts.popitem(last=False)
        return ("continue", output, None)

    def forget(self, connection: int) -> None:
        """The connection closed: drop its context."""
        with self._lock:
            self._contexts.pop(connection, None)
