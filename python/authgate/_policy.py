"""What every authgate front-end does alike after the engine decided: log a refusal, and
check a user's roles. Imported by ``authgate.flask`` and the ASGI layers."""
from __future__ import annotations

import logging
from typing import Any, Iterable

from ._authgate import Refusal

log = logging.getLogger("authgate")

# Every Digest handshake starts with one of these: not worth a warning.
_ROUTINE = ("NoCredentials", "StaleNonce")


def log_refusal(refusal: Refusal) -> None:
    """Logs a refusal on the ``authgate`` logger (``str(refusal)``: reason, scheme, user name
    when the credentials could be read, client address; never a password, response or token):
    at INFO for a request without credentials or with an expired nonce, at WARNING otherwise."""
    level = logging.INFO if refusal.name in _ROUTINE else logging.WARNING
    if log.isEnabledFor(level):
        log.log(level, "authgate: refused %s", refusal)


def user_roles(roles: Any) -> set:
    """The roles a ``get_user_roles`` callback returned, as a set (``None``: none; one value:
    that role)."""
    if roles is None:
        return set()
    if isinstance(roles, (list, tuple, set, frozenset)):
        return set(roles)
    return {roles}


def roles_allow(required: Any, roles: Iterable[Any]) -> bool:
    """Flask-HTTPAuth's rule: ``required`` is a role, or a list of alternatives, each a role or
    a list/tuple of roles all needed."""
    if required is None:
        return True
    have = set(roles)
    for role in required if isinstance(required, (list, tuple)) else [required]:
        if isinstance(role, (list, tuple)):
            if set(role) <= have:
                return True
        elif role in have:
            return True
    return False
