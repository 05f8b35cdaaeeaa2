"""What authgate's ASGI layers share (``authgate.fastapi``, ``authgate.starlette``): the three
schemes' settings, each checked by one ``authgate.Engine`` (the Rust core, as in
``authgate.flask``) through an ``AsgiCheck`` that reads the ASGI scope; async callbacks and
replay stores awaited without blocking the event loop; the choice among several schemes on one
route; the challenge headers of a refusal.

Needs only ``anyio`` (which Starlette and FastAPI depend on).
"""
from __future__ import annotations

import inspect
import logging
from typing import Any, Awaitable, Callable, Dict, List, Mapping, MutableMapping, Optional, Sequence, Tuple, Union

import anyio
import anyio.from_thread
import anyio.to_thread

from . import _authgate as _ag
from ._authgate import AsgiCheck, Authenticated, Engine, JwtVerifier, PendingReplay, Refusal
from ._policy import log_refusal, origin_options, roles_allow, user_roles

log = logging.getLogger("authgate")

Callback = Callable[..., Any]
Outcome = Union[Authenticated, Refusal]
Scope = MutableMapping[str, Any]

# Refusals that mean "no credentials for this route": an optional route lets them through.
ABSENT = ("NoCredentials", "UnsupportedScheme")

# The largest body read to check a Digest qop=auth-int response (larger: 413).
MAX_AUTH_INT_BODY = 1 << 20


def _is_async(f: Optional[Callback]) -> bool:
    return f is not None and (inspect.iscoroutinefunction(f) or inspect.iscoroutinefunction(getattr(f, "__call__", None)))


def _from_thread(f: Callback) -> Callback:
    """An async callback as the engine calls it: from the worker thread the check runs in,
    awaited on the event loop."""
    return lambda *args: anyio.from_thread.run(f, *args)


def _key(key: Union[bytes, str, None], what: str) -> bytes:
    """A 32-byte nonce key: ``key`` as it is when 32 bytes, else derived from it (any secret)."""
    if key is None:
        log.warning("authgate: %s has no key=: its Digest nonces are valid in this process only (give every "
                    "worker of a server the same key, e.g. from an environment variable)", what)
        return _ag.random_key()
    if isinstance(key, bytes) and len(key) == 32:
        return key
    return _ag.derive_key(key)


class HTTPAuth:
    """One scheme's settings and its engine. See :class:`DigestAuth`, :class:`BasicAuth`,
    :class:`BearerAuth`.

    Common options: ``realm``; ``header`` (the header carrying the credentials, default
    ``Authorization``); ``get_user_roles(user)`` (sync or async) for role checks;
    ``threadpool=True`` runs each check in a worker thread (for slow credential checks:
    PBKDF2 credentials, a bcrypt ``verify_password``, a database lookup in a sync callback).
    Async callbacks are awaited on the event loop (the check then runs in a worker thread).

    The origin check (the core's, before authentication; on by default): an unsafe request
    (POST, PUT, DELETE…) that a browser says comes from another site is refused with 403, so
    a page elsewhere cannot ride on a login the browser has cached; ``allow_origins`` lists
    other origins allowed to; ``allow_hosts`` refuses a ``Host`` not in it with 421 (against
    DNS rebinding; ``allow_any_address`` also lets an IP address through); a malformed
    ``Origin``/``Sec-Fetch-Site``/``Host`` is a 400. Requests without those fields (curl,
    scripts) pass. ``check_origin=False`` turns the check off (a ``Host`` list still applies).
    """

    scheme: str = ""

    def __init__(self, realm: Optional[str], engine_options: Dict[str, Any], *, key: Union[bytes, str, None] = None,
                 previous_key: Union[bytes, str, None] = None, header: Optional[str] = None,
                 get_user_roles: Optional[Callback] = None, threadpool: bool = False,
                 check_origin: bool = True, allow_origins: Sequence[str] = (), allow_hosts: Sequence[str] = (),
                 allow_any_address: bool = False) -> None:
        callbacks = ("lookup", "verify_password", "verify_token")
        has_async = any(_is_async(engine_options.get(c)) for c in callbacks)
        for c in callbacks:
            if _is_async(engine_options.get(c)):
                engine_options[c] = _from_thread(engine_options[c])
        self.realm = realm or "Authentication Required"
        self.header = header
        self.get_user_roles = get_user_roles
        self.threadpool = bool(threadpool or has_async)
        store = engine_options.get("replay_store")
        if store is not None and _is_async(getattr(store, "check_and_record", None)):
            engine_options["replay_store"] = _Awaited(store)
        digest = "Digest" in engine_options.get("schemes", ())
        key_bytes = _key(key, type(self).__name__) if digest else _ag.random_key()
        if previous_key is not None:
            engine_options["previous_key"] = _key(previous_key, type(self).__name__)
        # Whether a request's body may be needed (Digest qop=auth-int offered).
        self.auth_int = digest and "auth-int" in engine_options.get("qop", ())
        origin, checks_origin = origin_options(check_origin, allow_origins, allow_hosts, allow_any_address)
        self.engine = Engine(self.realm, key_bytes, **engine_options, **origin)
        self.check = AsgiCheck(self.engine, header=header, check_origin=checks_origin)

    def _openapi(self, scheme_name: Optional[str], description: Optional[str], auto_error: bool) -> None:
        """The OpenAPI side (authgate.fastapi): the scheme's name in the document, its
        description, and whether a refusal raises (``auto_error=False``: the dependency gives
        ``None``, as FastAPI's own schemes do)."""
        self.scheme_name = scheme_name or type(self).__name__
        self.description = description
        self.auto_error = auto_error

    async def authenticate(self, scope: Scope, body: Optional[bytes] = None) -> Outcome:
        """Checks the request of ``scope``: an ``Authenticated`` or a ``Refusal`` (logged).
        ``body``: the request body, needed when ``self.check.needs_body(scope)``. The origin
        check runs first: its refusal (``origin_check`` true, 403/421/400) carries no challenge."""
        if self.threadpool:
            outcome = await anyio.to_thread.run_sync(self.check.enter, scope, body)
        else:
            outcome = self.check.enter(scope, body)
        if type(outcome) is PendingReplay:
            outcome = await settle(outcome)
        if type(outcome) is Refusal:
            log_refusal(outcome)
        return outcome

    def challenges(self, stale: bool = False) -> List[str]:
        """The ``WWW-Authenticate`` values of a 401 (fresh nonces)."""
        return self.check.challenges(stale)

    async def roles_allow(self, required: Any, accepted: Authenticated) -> bool:
        """Whether the user has ``required`` (a role, or alternatives: see authgate.flask)."""
        if required is None:
            return True
        if self.get_user_roles is None:
            raise ValueError(f"{type(self).__name__}: a role is required but get_user_roles= is not set")
        roles = self.get_user_roles(accepted.user)
        if inspect.isawaitable(roles):
            roles = await roles
        return roles_allow(required, user_roles(roles))


class _Awaited:
    """An async replay store (``AsyncRedisNonceStore``) as the engine holds it. The engine
    never calls a Python store inside an ASGI check (``AsgiCheck`` leaves it to
    :func:`settle`, which awaits ``store``); a synchronous engine refuses async stores, and
    this one must not be called synchronously either."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def check_and_record(self, nonce_id: bytes, issued: int, nc: int) -> str:
        raise TypeError("an async replay store is awaited by authgate's ASGI layers, not called synchronously")


async def settle(pending: PendingReplay) -> Outcome:
    """Asks the engine's Python replay store about a Digest request's nonce count, awaited
    when it is async (``AsyncRedisNonceStore``), in a worker thread when it is not
    (``RedisNonceStore``): the event loop never waits on it."""
    store = pending.store
    if type(store) is _Awaited:
        answer = await store.store.check_and_record(pending.nonce_id, pending.issued, pending.nc)
    else:
        answer = await anyio.to_thread.run_sync(store.check_and_record, pending.nonce_id, pending.issued, pending.nc)
    return pending.settle(answer if isinstance(answer, str) else "stale")


def select(auths: Sequence[HTTPAuth], scope: Scope) -> int:
    """Which of several schemes on one route checks the request: the first whose header (and
    scheme word) the request carries, else the first."""
    if len(auths) > 1:
        for i, auth in enumerate(auths):
            if auth.check.selects(scope):
                return i
    return 0


def challenge_values(auths: Sequence[HTTPAuth], selected: int = 0, refusal: Optional[Refusal] = None) -> List[str]:
    """Every scheme's challenges, the selected one's first: those of its ``refusal`` (a
    Digest ``stale=true``, a Bearer ``error="invalid_token"``), the others' fresh."""
    values: List[str] = list(refusal.challenges) if refusal is not None else []
    for i in [selected] + [i for i in range(len(auths)) if i != selected]:
        if i == selected and values:
            continue
        for v in auths[i].challenges():
            if v not in values:
                values.append(v)
    return values


async def read_body(receive: Callable[[], Awaitable[Mapping[str, Any]]], limit: int = MAX_AUTH_INT_BODY
                    ) -> Tuple[Optional[bytes], List[Mapping[str, Any]]]:
    """Reads a request body from ``receive``: ``(body, messages)``, body ``None`` when it is
    larger than ``limit``; ``messages`` are what was received, to hand on to the app."""
    messages: List[Mapping[str, Any]] = []
    size = 0
    chunks: List[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return None, messages
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None, messages
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), messages


def replaying(messages: List[Mapping[str, Any]], receive: Callable[[], Awaitable[Any]]) -> Callable[[], Awaitable[Any]]:
    """A ``receive`` that gives ``messages`` first, then what ``receive`` gives."""
    pending = list(messages)

    async def replay() -> Any:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


class DigestAuth(HTTPAuth):
    """HTTP Digest (RFC 7616), checked by the engine: keyed stateless nonces (no session),
    replay windows, constant-time compares, ``Authentication-Info`` on success.

    Give the users one way: ``get_password(username)`` (sync or async) returning the password,
    an ``authgate.Credential`` or ``None``; ``get_ha1(username)`` returning the HA1 hex (one
    algorithm family) or ``{algorithm: HA1 hex}``; or ``users`` (name -> password or
    ``Credential``). ``key``: the nonce key (32 bytes, or any secret it is derived from), the
    same for every worker of a server (without it each process has its own, and a nonce
    issued by one worker is refused by the others). ``replay_store``: where nonce counts are
    kept (default: shared by the processes of this host; ``AsyncRedisNonceStore`` across
    hosts, awaited).
    """

    scheme = "Digest"

    def __init__(self, realm: Optional[str] = None, *, get_password: Optional[Callback] = None,
                 get_ha1: Optional[Callback] = None, users: Optional[Mapping[str, Any]] = None,
                 key: Union[bytes, str, None] = None, previous_key: Union[bytes, str, None] = None,
                 algorithms: Sequence[str] = ("SHA-256", "MD5"), qop: Sequence[str] = ("auth",),
                 nonce_lifetime: int = 300, opaque: Optional[str] = None, replay_store: Any = None,
                 allow_rfc2069: bool = False, header: Optional[str] = None,
                 get_user_roles: Optional[Callback] = None, threadpool: bool = False,
                 scheme_name: Optional[str] = None, description: Optional[str] = None,
                 auto_error: bool = True,
                 check_origin: bool = True, allow_origins: Sequence[str] = (),
                 allow_hosts: Sequence[str] = (), allow_any_address: bool = False) -> None:
        options: Dict[str, Any] = dict(schemes=["Digest"], algorithms=list(algorithms), qop=list(qop),
                                       nonce_lifetime=nonce_lifetime, opaque=opaque, replay_store=replay_store,
                                       allow_rfc2069=allow_rfc2069)
        options.update(_users(users, get_password, get_ha1))
        self._openapi(scheme_name, description, auto_error)
        super().__init__(realm, options, key=key, previous_key=previous_key, header=header,
                         get_user_roles=get_user_roles, threadpool=threadpool,
                         check_origin=check_origin, allow_origins=allow_origins, allow_hosts=allow_hosts,
                         allow_any_address=allow_any_address)


class BasicAuth(HTTPAuth):
    """HTTP Basic (RFC 7617), checked by the engine: its limits (user name <= 128 bytes,
    decoded credentials <= 1 KiB, no control characters) before any callback, and a
    constant-time compare of stored passwords (unknown users cost what known ones do).

    Give the users one way: ``verify_password(username, password)`` (sync or async; returns
    the application's user, or ``None``/``False``: for hashes the application checks itself,
    e.g. bcrypt); ``get_password(username)`` returning the password or an
    ``authgate.Credential`` (PBKDF2, werkzeug hashes: checked by the engine); or ``users``.
    """

    scheme = "Basic"

    def __init__(self, realm: Optional[str] = None, *, verify_password: Optional[Callback] = None,
                 get_password: Optional[Callback] = None, users: Optional[Mapping[str, Any]] = None,
                 header: Optional[str] = None, get_user_roles: Optional[Callback] = None,
                 threadpool: bool = False, scheme_name: Optional[str] = None,
                 description: Optional[str] = None, auto_error: bool = True,
                 check_origin: bool = True, allow_origins: Sequence[str] = (),
                 allow_hosts: Sequence[str] = (), allow_any_address: bool = False) -> None:
        given = [x is not None for x in (verify_password, get_password, users)]
        if sum(given) != 1:
            raise TypeError("BasicAuth: give one of verify_password=, get_password= or users=")
        options: Dict[str, Any] = {"schemes": ["Basic"]}
        if verify_password is not None:
            options["verify_password"] = verify_password
        else:
            options.update(_users(users, get_password, None))
        self._openapi(scheme_name, description, auto_error)
        super().__init__(realm, options, header=header, get_user_roles=get_user_roles, threadpool=threadpool,
                         check_origin=check_origin, allow_origins=allow_origins, allow_hosts=allow_hosts,
                         allow_any_address=allow_any_address)


class BearerAuth(HTTPAuth):
    """Bearer tokens (RFC 6750): ``verify_token(token)`` (sync or async) returns the
    application's user or ``None``; or ``tokens`` (token -> user name, compared by their
    SHA-256); or ``verifier``, an object called with the token that returns the claims or
    ``None``: an ``authgate.JwtVerifier`` gives the claims dict, and its refusal's challenge
    says why (``error="invalid_token", error_description="Signature has expired"``, RFC 6750;
    ``bearerFormat: JWT`` in the OpenAPI document). A refusal's challenge says
    ``error="invalid_token"``. ``scheme``: another scheme word (``Token``: the token is then
    whatever follows it, as Flask-HTTPAuth reads it); ``header``: a custom header whose whole
    value is the token (``X-API-Key``). The token is at most 2048 bytes, without control
    characters, checked before any callback.
    """

    scheme = "Bearer"

    def __init__(self, realm: Optional[str] = None, *, verify_token: Optional[Callback] = None,
                 tokens: Optional[Mapping[str, str]] = None, verifier: Optional[Callback] = None,
                 scheme: str = "Bearer", header: Optional[str] = None, bearer_format: Optional[str] = None,
                 get_user_roles: Optional[Callback] = None, threadpool: bool = False,
                 scheme_name: Optional[str] = None, description: Optional[str] = None,
                 auto_error: bool = True,
                 check_origin: bool = True, allow_origins: Sequence[str] = (),
                 allow_hosts: Sequence[str] = (), allow_any_address: bool = False) -> None:
        if sum(x is not None for x in (verify_token, tokens, verifier)) != 1:
            raise TypeError("BearerAuth: give one of verify_token=, tokens= or verifier=")
        options: Dict[str, Any] = {"schemes": ["Bearer"]}
        if tokens is not None:
            options["tokens"] = dict(tokens)
        else:
            options["verify_token"] = verify_token if verify_token is not None else verifier
        if header is not None and header.lower() != "authorization":
            options["token_syntax"] = "whole-value"
        elif scheme.lower() != "bearer":
            options["scheme_names"] = {"Bearer": scheme}
            options["token_syntax"] = "free-form"
        if bearer_format is None and isinstance(verifier, JwtVerifier):
            bearer_format = "JWT"
        self.bearer_format = bearer_format
        self._openapi(scheme_name, description, auto_error)
        super().__init__(realm, options, header=header, get_user_roles=get_user_roles, threadpool=threadpool,
                         check_origin=check_origin, allow_origins=allow_origins, allow_hosts=allow_hosts,
                         allow_any_address=allow_any_address)


def _users(users: Optional[Mapping[str, Any]], get_password: Optional[Callback], get_ha1: Optional[Callback]
           ) -> Dict[str, Any]:
    given = [x is not None for x in (users, get_password, get_ha1)]
    if sum(given) != 1:
        raise TypeError("give one of users=, get_password= or get_ha1=")
    if users is not None:
        return {"users": dict(users)}
    if get_password is not None:
        return {"lookup": get_password}
    return {"lookup": get_ha1, "ha1_lookup": True}
