"""authgate for FastAPI: dependencies that check credentials with the authgate engine.

``fastapi.security.HTTPDigest`` only extracts the header, and ``HTTPBasic`` leaves the compare
to the application. These check: the engine (the Rust core ``authgate.flask`` uses too) parses
the header within its limits, verifies Basic passwords and Digest responses in constant time,
issues and verifies keyed stateless Digest nonces, refuses replayed nonce counts, and renders
the challenges::

    from authgate.fastapi import BasicAuth, DigestAuth, MultiAuth

    digest = DigestAuth("api", get_password=lambda user: USERS.get(user), key=os.environ["AUTH_KEY"])

    @app.get("/me")
    def me(user: str = Depends(digest)):
        return {"user": user}

A refusal raises ``HTTPException`` 401 with one ``WWW-Authenticate`` field per challenge (400
for a malformed header, 403 for a missing role; 403 or 421 from the origin check, on by
default: another site's POST riding on a cached login, a foreign ``Host``); a dependency with ``auto_error=False`` or
``login_required(optional=True)`` gives ``None`` instead of a 401. The schemes appear in the
OpenAPI document as FastAPI's own do (``scheme_name``, the docs page's "Authorize" button).
On success the dependency gives the user (what ``verify_password`` / ``verify_token``
returned, else the user name), puts the details in ``request.state.authgate`` (an
``authgate.Authenticated``) and sends ``Authentication-Info`` (Digest) on the response FastAPI
builds (not on a ``Response`` object the endpoint returns itself).
"""
from __future__ import annotations

import inspect
from typing import Any, List, Optional, Sequence

try:
    from fastapi import Depends, HTTPException, Request, Response
    from fastapi.openapi.models import HTTPBase as HTTPBaseModel
    from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
    from fastapi.openapi.models import SecurityBase as SecurityBaseModel
    from fastapi.security.base import SecurityBase
    from starlette.datastructures import Headers
except ImportError:  # tested in a subprocess; the original error stays chained as the context
    raise ImportError("authgate.fastapi needs FastAPI: pip install 'authgate[fastapi]'")

from . import _asgi
from ._asgi import Authenticated, Refusal, challenge_values, select

__all__ = ["DigestAuth", "BasicAuth", "BearerAuth", "MultiAuth", "Authenticated", "Refusal"]


class _Scheme(SecurityBase):
    """A scheme as FastAPI's OpenAPI generator sees it: ``model`` and ``scheme_name``."""

    scheme_name: str
    description: Optional[str]
    auto_error: bool

    @property
    def model(self) -> SecurityBaseModel:  # type: ignore[override]  # read-only here
        name = type(self).scheme.lower()  # type: ignore[attr-defined]
        if name == "bearer":
            return HTTPBearerModel(bearerFormat=getattr(self, "bearer_format", None), description=self.description)
        return HTTPBaseModel(scheme=name, description=self.description)

    async def __call__(self, request: Request, response: Response) -> Any:
        return await _check([self], request, response, None, not self.auto_error)  # type: ignore[list-item]

    def login_required(self, role: Any = None, optional: bool = False) -> Any:
        """A dependency for this scheme with a role to check (``role``: a role, or a list of
        alternatives, each a role or a list of roles all needed; ``get_user_roles`` says a
        user's) and/or ``optional``: a request without valid credentials gets ``None``
        (a malformed header is still a 400)."""
        return _Requirement([self], role, optional)  # type: ignore[list-item]


class DigestAuth(_Scheme, _asgi.DigestAuth):
    __doc__ = _asgi.DigestAuth.__doc__


class BasicAuth(_Scheme, _asgi.BasicAuth):
    __doc__ = _asgi.BasicAuth.__doc__


class BearerAuth(_Scheme, _asgi.BearerAuth):
    __doc__ = _asgi.BearerAuth.__doc__


class _Requirement(SecurityBase):
    """One route's dependency: its schemes, role and optional mode. With one scheme it is
    that scheme in the OpenAPI document; with several, each is a sub-dependency that only
    declares it (an operation listing several requirements: any one of them)."""

    def __init__(self, auths: Sequence[_asgi.HTTPAuth], role: Any, optional: bool) -> None:
        self.auths = list(auths)
        self.role = role
        self.optional = optional
        first: Any = self.auths[0]
        self.scheme_name = first.scheme_name
        params = [
            inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request),
            inspect.Parameter("response", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Response),
        ]
        if len(self.auths) > 1:
            for i, auth in enumerate(self.auths):
                params.append(inspect.Parameter(f"authgate_scheme_{i}", inspect.Parameter.KEYWORD_ONLY,
                                                default=Depends(_Declaration(auth)), annotation=Any))
        # What FastAPI injects (read by inspect.signature).
        self.__signature__ = inspect.Signature(params)

    @property
    def model(self) -> SecurityBaseModel:  # type: ignore[override]  # read-only here
        return self.auths[0].model  # type: ignore[attr-defined, no-any-return]

    async def __call__(self, request: Request, response: Response, **declared: Any) -> Any:
        return await _check(self.auths, request, response, self.role, self.optional)


class _Declaration(SecurityBase):
    """Declares a scheme of a route with several (no check of its own)."""

    def __init__(self, auth: Any) -> None:
        self.auth = auth
        self.scheme_name = auth.scheme_name

    @property
    def model(self) -> SecurityBaseModel:  # type: ignore[override]  # read-only here
        return self.auth.model  # type: ignore[no-any-return]

    async def __call__(self) -> None:
        return None


class MultiAuth:
    """Several schemes on one route: the one whose scheme word (or custom header) the request
    carries checks it, else the first; a 401 offers every scheme's challenges, the selected
    one's first. ``Depends(MultiAuth(digest, basic))``, or ``.login_required(role=...,
    optional=...)``. Each scheme is listed in the OpenAPI document (any one of them)."""

    def __init__(self, main_auth: _Scheme, *additional_auths: _Scheme) -> None:
        self.auths: List[Any] = [main_auth, *additional_auths]
        self._default = _Requirement(self.auths, None, False)
        self.__signature__ = inspect.signature(self._default)

    async def __call__(self, request: Request, response: Response, **declared: Any) -> Any:
        return await _check(self.auths, request, response, None, False)

    def login_required(self, role: Any = None, optional: bool = False) -> Any:
        """See ``DigestAuth.login_required``."""
        return _Requirement(self.auths, role, optional)


def _challenge_headers(values: List[str]) -> Headers:
    # One field per challenge: Starlette's Headers keeps repeated names (a dict could not).
    return Headers(raw=[(b"www-authenticate", v.encode("latin-1")) for v in values])


async def _check(auths: Sequence[Any], request: Request, response: Response, role: Any, optional: bool) -> Any:
    scope = request.scope
    i = select(auths, scope)
    auth = auths[i]
    body = await request.body() if auth.auth_int and auth.check.needs_body(scope) else None
    outcome = await auth.authenticate(scope, body)
    if type(outcome) is Authenticated:
        # request.state.authgate (Starlette's State reads this dict).
        scope.setdefault("state", {})["authgate"] = outcome
        if outcome.authentication_info is not None:
            response.headers["Authentication-Info"] = outcome.authentication_info
        if role is not None and not await auth.roles_allow(role, outcome) and not optional:
            raise HTTPException(403, "Forbidden")
        return outcome.user
    request.state.authgate_refusal = outcome
    if outcome.origin_check:
        # Another site's unsafe request, or a foreign Host: no challenge, whatever the mode.
        raise HTTPException(outcome.status, outcome.message)
    if outcome.status == 400:
        raise HTTPException(400, f"Malformed {auth.header or 'Authorization'} header: {outcome.message}",
                            headers=_challenge_headers(challenge_values(auths, i, outcome)))
    if optional:
        return None
    raise HTTPException(401, "Not authenticated", headers=_challenge_headers(challenge_values(auths, i, outcome)))
