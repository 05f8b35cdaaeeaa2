"""authgate for Starlette and any ASGI application.

- :class:`AuthgateMiddleware`: plain ASGI middleware, for any ASGI framework. Every HTTP and
  WebSocket request must authenticate with one of the schemes (``optional=True``: a request
  without valid credentials goes on as anonymous); it sets ``scope["user"]`` and
  ``scope["auth"]`` as Starlette's ``AuthenticationMiddleware`` does (so ``request.user`` and
  ``@requires`` work) and ``scope["authgate"]`` (an ``authgate.Authenticated``), and adds
  ``Authentication-Info`` (Digest) to the response.
- :class:`AuthgateBackend`: an ``AuthenticationBackend`` for Starlette's own
  ``AuthenticationMiddleware`` (``on_error=backend.on_error`` answers refusals with the
  challenges; ``backend.unauthorized`` as the app's 401 exception handler adds them to
  ``@requires(..., status_code=401)``). That middleware has no hook on the response: use
  AuthgateMiddleware for ``Authentication-Info``.

The schemes (:class:`DigestAuth`, :class:`BasicAuth`, :class:`BearerAuth`) are those of
``authgate.fastapi`` without the FastAPI parts; each is checked by the authgate engine.
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable, List, MutableMapping, Optional, Sequence, Tuple

try:
    from starlette.authentication import (
        AuthCredentials,
        AuthenticationBackend,
        AuthenticationError,
        BaseUser,
        UnauthenticatedUser,
    )
    from starlette.requests import HTTPConnection
    from starlette.responses import PlainTextResponse, Response
except ImportError:  # tested in a subprocess; the original error stays chained as the context
    raise ImportError("authgate.starlette needs Starlette: pip install 'authgate[starlette]'")

from . import _asgi
from ._asgi import ABSENT, Authenticated, Refusal, challenge_values, read_body, replaying, select
from ._policy import user_roles

__all__ = [
    "DigestAuth",
    "BasicAuth",
    "BearerAuth",
    "AuthgateMiddleware",
    "AuthgateBackend",
    "AuthgateUser",
    "AuthgateAuthenticationError",
    "Authenticated",
    "Refusal",
]

DigestAuth = _asgi.DigestAuth
BasicAuth = _asgi.BasicAuth
BearerAuth = _asgi.BearerAuth

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class AuthgateUser(BaseUser):
    """An authenticated user: ``username``, ``user`` (what the application's callback
    returned, else the user name), ``scheme``, ``algorithm`` (Digest)."""

    def __init__(self, accepted: Authenticated) -> None:
        self.authenticated = accepted
        self.user = accepted.user
        self.username = accepted.username
        self.scheme = accepted.scheme
        self.algorithm = accepted.algorithm

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.username or ""

    @property
    def identity(self) -> str:
        return self.username or ""

    def __repr__(self) -> str:
        return f"AuthgateUser({self.username!r}, scheme={self.scheme!r})"


class AuthgateAuthenticationError(AuthenticationError):
    """A refusal (401 with ``challenges``, 400 for a malformed header, or 403/421 from the origin
    check, without challenges)."""

    def __init__(self, refusal: Refusal, challenges: List[str]) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal
        self.status = refusal.status
        self.challenges = challenges


def _auths(auths: Sequence[Any], auth: Any) -> List[Any]:
    found = list(auths) + ([auth] if auth is not None else [])
    if not found or not all(isinstance(a, _asgi.HTTPAuth) for a in found):
        raise TypeError("give one or more authgate schemes (DigestAuth, BasicAuth, BearerAuth)")
    return found


def _refusal_response(status: int, values: List[str], message: str) -> Response:
    text = {401: "Unauthorized\n", 400: f"Bad Request: {message}\n"}.get(status, f"{message}\n")
    response = PlainTextResponse(text, status_code=status)
    for v in values:
        response.headers.append("WWW-Authenticate", v)
    return response


async def _credentials(accepted: Authenticated, auth: Any) -> AuthCredentials:
    scopes = ["authenticated"]
    if auth.get_user_roles is not None:
        roles = auth.get_user_roles(accepted.user)
        if hasattr(roles, "__await__"):
            roles = await roles
        scopes.extend(str(r) for r in user_roles(roles))
    return AuthCredentials(scopes)


class AuthgateMiddleware:
    """Authenticates every HTTP and WebSocket request with one of ``auths`` (see the module).
    ``optional=True`` lets a request without valid credentials through as anonymous (a
    malformed header is still a 400), and adds the challenges to a 401 the app answers. Roles (``get_user_roles`` of the scheme) become the
    ``scope["auth"].scopes`` that Starlette's ``@requires`` checks. Lifespan and other scope
    types pass through. A refused WebSocket handshake is answered 401 where the server
    supports the ``websocket.http.response`` extension, else closed (code 1008)."""

    def __init__(self, app: ASGIApp, *auths: Any, auth: Any = None, optional: bool = False,
                 max_body: int = _asgi.MAX_AUTH_INT_BODY) -> None:
        self.app = app
        self.auths = _auths(auths, auth)
        self.optional = optional
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        i = select(self.auths, scope)
        auth = self.auths[i]
        body = None
        if kind == "http" and auth.auth_int and auth.check.needs_body(scope):
            body, messages = await read_body(receive, self.max_body)
            receive = replaying(messages, receive)
            if body is None:
                await PlainTextResponse("Payload Too Large\n", status_code=413)(scope, receive, send)
                return
        outcome = await auth.authenticate(scope, body)
        if type(outcome) is Authenticated:
            scope["user"] = AuthgateUser(outcome)
            scope["auth"] = await _credentials(outcome, auth)
            scope["authgate"] = outcome
            info = outcome.authentication_info
            if info is not None and kind == "http":
                send = _with_authentication_info(send, info)
            await self.app(scope, receive, send)
            return
        if outcome.status == 401 and self.optional:
            scope["user"] = UnauthenticatedUser()
            scope["auth"] = AuthCredentials()
            scope["authgate.refusal"] = outcome
            if kind == "http":
                send = _challenging(send, lambda: challenge_values(self.auths, i, outcome))
            await self.app(scope, receive, send)
            return
        # The origin check's refusals (403, 421) carry no challenge.
        values = [] if outcome.origin_check else challenge_values(self.auths, i, outcome)
        if kind == "websocket":
            await _refuse_websocket(scope, send, outcome.status, values, outcome.message)
            return
        await _refusal_response(outcome.status, values, outcome.message)(scope, receive, send)


def _with_authentication_info(send: Send, info: str) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            if not any(k.lower() == b"authentication-info" for k, _ in headers):
                headers.append((b"authentication-info", info.encode("latin-1")))
            message = dict(message, headers=headers)
        await send(message)

    return sending


def _challenging(send: Send, values: Callable[[], List[str]]) -> Send:
    """Adds the challenges to a 401 the app answers itself (on an optional route: e.g.
    Starlette's ``@requires(..., status_code=401)``) when it gives none."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] == 401:
            headers = list(message.get("headers", []))
            if not any(k.lower() == b"www-authenticate" for k, _ in headers):
                headers += [(b"www-authenticate", v.encode("latin-1")) for v in values()]
                message = dict(message, headers=headers)
        await send(message)

    return sending


async def _refuse_websocket(scope: Scope, send: Send, status: int, values: List[str], message: str) -> None:
    if "websocket.http.response" in scope.get("extensions", {}) or {}:
        headers = [(b"www-authenticate", v.encode("latin-1")) for v in values]
        headers.append((b"content-type", b"text/plain; charset=utf-8"))
        await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
        text = {401: "Unauthorized\n", 400: "Bad Request\n"}.get(status, f"{message}\n")
        await send({"type": "websocket.http.response.body", "body": text.encode()})
        return
    await send({"type": "websocket.close", "code": 1008})


class AuthgateBackend(AuthenticationBackend):
    """Starlette's ``AuthenticationBackend`` over authgate's schemes::

        backend = AuthgateBackend(DigestAuth("api", get_password=..., key=...))
        app = Starlette(routes=..., middleware=[
            Middleware(AuthenticationMiddleware, backend=backend, on_error=backend.on_error)],
            exception_handlers={401: backend.unauthorized})

    A request without credentials (or with a scheme none of ``auths`` checks) is anonymous;
    valid credentials give ``(AuthCredentials(["authenticated", *roles]), AuthgateUser)``;
    invalid ones raise :class:`AuthgateAuthenticationError` (``on_error``: 401 with the
    challenges, or 400)."""

    def __init__(self, *auths: Any, auth: Any = None) -> None:
        self.auths = _auths(auths, auth)

    async def authenticate(self, conn: HTTPConnection) -> Optional[Tuple[AuthCredentials, BaseUser]]:
        scope = conn.scope
        i = select(self.auths, scope)
        auth = self.auths[i]
        # The body is not the backend's to read: a qop=auth-int response is refused
        # (BodyUnavailable); AuthgateMiddleware reads it.
        outcome = await auth.authenticate(scope, None)
        if type(outcome) is Authenticated:
            conn.scope["authgate"] = outcome
            return await _credentials(outcome, auth), AuthgateUser(outcome)
        if outcome.origin_check:
            raise AuthgateAuthenticationError(outcome, [])
        if outcome.name in ABSENT:
            return None
        raise AuthgateAuthenticationError(outcome, challenge_values(self.auths, i, outcome))

    def on_error(self, conn: HTTPConnection, exc: Exception) -> Response:
        """``AuthenticationMiddleware``'s ``on_error``: 401 with the challenges, or 400."""
        if isinstance(exc, AuthgateAuthenticationError):
            return _refusal_response(exc.status, exc.challenges, exc.refusal.message)
        return PlainTextResponse(str(exc), status_code=400)

    async def unauthorized(self, request: Any, exc: Exception) -> Response:
        """An exception handler for 401 (``@requires(..., status_code=401)``): the
        challenges of every scheme."""
        return _refusal_response(401, challenge_values(self.auths), "")
