"""What every authgate front-end does alike around the engine: the origin check's options, log
a refusal, check a user's roles. Imported by ``authgate.flask`` and the ASGI layers."""
from __future__ import annotations

import logging
from typing import Any, Dict, Iterable, Tuple

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


def origin_options(check_origin: bool, allow_origins: Any, allow_hosts: Any,
                   allow_any_address: bool) -> Tuple[Dict[str, Any], bool]:
    """The engine's origin options, and whether its origin check runs: when asked for, or when
    a ``Host`` list is given (which then applies alone)."""
    options = {
        "refuse_cross_origin": bool(check_origin),
        "allow_origins": list(allow_origins or ()),
        "allow_hosts": list(allow_hosts or ()),
        "allow_any_address": bool(allow_any_address),
    }
    return options, bool(check_origin or allow_hosts)


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
