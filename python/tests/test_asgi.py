"""authgate.fastapi and authgate.starlette in process: FastAPI and Starlette apps driven by
httpx's AsyncClient (its own Digest client where it has one). What fastapi.security's HTTPDigest
lets through (no credentials: a bare challenge; any response: 200) is refused here; malformed
headers are 400, never 500; the OpenAPI document lists the schemes."""
import asyncio
import base64
import hashlib
import logging
import re
import subprocess
import sys
import threading
import warnings

import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.security import HTTPDigest
from starlette.applications import Starlette
from starlette.authentication import requires
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route, WebSocketRoute

with warnings.catch_warnings():
    # Starlette 1.x would rather its TestClient ran on httpx2; only the WebSocket test uses it.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from authgate import Credential, MemoryReplayStore
from authgate.fastapi import BasicAuth, BearerAuth, DigestAuth, MultiAuth
from authgate.starlette import AuthgateBackend, AuthgateMiddleware
from conftest import H, digest_header, parse_challenge

KEY = b"k" * 32
USERS = {"alice": "wonder land", "bob": "builder"}
ROLES = {"alice": ["admin"], "bob": []}


def client(app):
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("127.0.0.9", 5555)), base_url="http://t")


def challenges(r):
    return r.headers.get_list("www-authenticate")


def digest_challenge(r, algorithm="SHA-256"):
    for c in challenges(r):
        p = parse_challenge(c)
        if c.startswith("Digest") and p.get("algorithm") == algorithm:
            return p
    raise AssertionError(f"no Digest {algorithm} challenge in {challenges(r)}")


async def preemptive_digest(c, challenge_path, user, password, method, uri):
    """A Digest header for `uri`, answering a challenge fetched from `challenge_path` (a route
    that challenges: an optional one lets a request without credentials through, so a client
    that waits for a 401 never sends any)."""
    ch = digest_challenge(await c.get(challenge_path))
    return {"Authorization": digest_header(ch, user, password, method, uri, algorithm="SHA-256")}


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def build_fastapi(**digest_options):
    calls = []

    def verify_password(user, password):
        calls.append((user, password))
        return {"name": user} if USERS.get(user) == password else None

    async def get_password_async(user):
        await asyncio.sleep(0)
        return USERS.get(user)

    async def verify_token(token):
        await asyncio.sleep(0)
        return {"sub": "carol"} if token == "t0k.en" else None

    digest = DigestAuth("api", get_password=USERS.get, key=KEY, get_user_roles=ROLES.get, **digest_options)
    digest_async = DigestAuth("api", get_password=get_password_async, key=KEY, algorithms=["MD5"],
                              scheme_name="DigestAsync")
    basic_auth = BasicAuth("api", verify_password=verify_password, get_user_roles=lambda u: ROLES.get(u["name"]))
    bearer = BearerAuth(verify_token=verify_token, bearer_format="opaque")
    api_key = BearerAuth(tokens={"k-123": "dave"}, header="X-API-Key", scheme_name="ApiKey")
    multi = MultiAuth(digest, basic_auth, bearer)
    app = FastAPI()

    @app.get("/digest")
    def digest_route(request: Request, user: str = Depends(digest)):
        return {"user": user, "algorithm": request.state.authgate.algorithm}

    @app.post("/digest")
    async def digest_post(request: Request, user: str = Depends(digest)):
        return {"user": user, "body": (await request.body()).decode()}

    @app.get("/digest-async")
    async def digest_async_route(user: str = Depends(digest_async)):
        return {"user": user}

    @app.get("/basic")
    def basic_route(user: dict = Depends(basic_auth)):
        return {"user": user["name"]}

    @app.get("/bearer")
    def bearer_route(user: dict = Depends(bearer)):
        return {"user": user["sub"]}

    @app.get("/apikey")
    def apikey_route(user: str = Depends(api_key)):
        return {"user": user}

    @app.get("/multi")
    def multi_route(request: Request, user=Depends(multi)):
        return {"user": user if isinstance(user, str) else user.get("name") or user.get("sub"),
                "scheme": request.state.authgate.scheme}

    @app.get("/admin")
    def admin_route(user=Depends(multi.login_required(role="admin"))):
        return {"user": user if isinstance(user, str) else user["name"]}

    @app.get("/optional")
    def optional_route(user=Depends(digest.login_required(optional=True))):
        return {"user": user}

    @app.get("/lenient")
    def lenient_route(user=Depends(BasicAuth("api", users=USERS, auto_error=False))):
        return {"user": user}

    @app.get("/fastapi-digest")
    def fastapi_own(credentials=Depends(HTTPDigest())):
        return {"scheme": credentials.scheme}

    app.state.calls = calls
    app.state.digest = digest
    return app


@pytest.fixture
def api():
    return build_fastapi()


async def test_digest_no_credentials_is_a_challenge_clients_answer(api):
    async with client(api) as c:
        r = await c.get("/digest")
        assert r.status_code == 401 and r.json() == {"detail": "Not authenticated"}
        sha, md5 = digest_challenge(r, "SHA-256"), digest_challenge(r, "MD5")
        assert sha["realm"] == "api" and sha["qop"] == "auth" and len(sha["nonce"]) == 64
        assert md5["nonce"] == sha["nonce"]
        # One nonce serves both algorithms (and is replay-tracked across them: nc 1, then 2).
        for nc, algorithm in enumerate(("SHA-256", "MD5"), 1):
            header = digest_header(digest_challenge(r, algorithm), "alice", "wonder land", "GET", "/digest",
                                   algorithm=algorithm, nc=nc)
            ok = await c.get("/digest", headers={"Authorization": header})
            assert ok.status_code == 200 and ok.json() == {"user": "alice", "algorithm": algorithm}
            # Authentication-Info: the rspauth a client checks (RFC 7616 §3.5).
            info = dict(re.findall(r'(\w+)="?([^",]*)"?', ok.headers["authentication-info"]))
            ha1 = H(algorithm, "alice:api:wonder land")
            assert info["rspauth"] == H(algorithm, f"{ha1}:{sha['nonce']}:{nc:08x}:0a4f113b:auth:{H(algorithm, ':/digest')}")
        # httpx's own Digest client (it answers the first challenge: SHA-256).
        r = await c.get("/digest", auth=httpx.DigestAuth("bob", "builder"))
        assert r.status_code == 200 and r.json() == {"user": "bob", "algorithm": "SHA-256"}


async def test_fastapi_own_http_digest_lets_anything_through_authgate_does_not(api):
    """The issue's motivation, shown: fastapi.security.HTTPDigest vs authgate.fastapi.DigestAuth."""
    bogus = 'Digest username="x", response="anything"'
    async with client(api) as c:
        own = await c.get("/fastapi-digest")
        assert own.status_code in (401, 403) and own.headers.get("www-authenticate", "Digest") == "Digest"
        assert (await c.get("/fastapi-digest", headers={"Authorization": bogus})).status_code == 200
        r = await c.get("/digest", headers={"Authorization": bogus})
        assert r.status_code == 400  # no realm, nonce or uri: malformed
        # A well-formed header with a made-up response: 401 with a fresh challenge.
        ch = digest_challenge(await c.get("/digest"))
        bad_response = re.sub(r'response="[0-9a-f]+"', 'response="' + "0" * 64 + '"',
                              digest_header(ch, "alice", "wonder land", "GET", "/digest", algorithm="SHA-256"))
        r = await c.get("/digest", headers={"Authorization": bad_response})
        assert r.status_code == 401 and digest_challenge(r)["nonce"] != ch["nonce"]


async def test_digest_wrong_password_replay_and_stale(api):
    async with client(api) as c:
        ch = digest_challenge(await c.get("/digest"))
        wrong = digest_header(ch, "alice", "nope", "GET", "/digest", algorithm="SHA-256")
        r = await c.get("/digest", headers={"Authorization": wrong})
        assert r.status_code == 401 and digest_challenge(r)["nonce"] != ch["nonce"]
        unknown = digest_header(ch, "mallory", "x", "GET", "/digest", algorithm="SHA-256")
        assert (await c.get("/digest", headers={"Authorization": unknown})).status_code == 401
        good = digest_header(ch, "alice", "wonder land", "GET", "/digest", algorithm="SHA-256", nc=5)
        assert (await c.get("/digest", headers={"Authorization": good})).status_code == 200
        replayed = await c.get("/digest", headers={"Authorization": good})
        assert replayed.status_code == 401 and "stale" not in replayed.headers["www-authenticate"]
        # Another nc on the same nonce is fine; the uri must be this request's.
        nc6 = digest_header(ch, "alice", "wonder land", "GET", "/digest", algorithm="SHA-256", nc=6)
        assert (await c.get("/digest", headers={"Authorization": nc6})).status_code == 200
        other_uri = digest_header(ch, "alice", "wonder land", "GET", "/digest", algorithm="SHA-256", nc=7)
        assert (await c.get("/digest?x=1", headers={"Authorization": other_uri})).status_code == 400
        with_query = digest_header(ch, "alice", "wonder land", "GET", "/digest?x=1", algorithm="SHA-256", nc=8)
        assert (await c.get("/digest?x=1", headers={"Authorization": with_query})).status_code == 200


async def test_expired_nonce_is_stale():
    app = build_fastapi(nonce_lifetime=1)
    async with client(app) as c:
        ch = digest_challenge(await c.get("/digest"))
        await asyncio.sleep(2.2)
        header = digest_header(ch, "alice", "wonder land", "GET", "/digest", algorithm="SHA-256")
        r = await c.get("/digest", headers={"Authorization": header})
        assert r.status_code == 401
        assert all("stale=true" in v for v in challenges(r) if v.startswith("Digest")), challenges(r)


@pytest.mark.parametrize("header", [
    "Digest", "Digest ", "Digest username=", 'Digest username="a', "Basic", "Basic !!!", "Basic a b",
    "Bearer", 'Digest username="x", response="anything"', "Digest a=1, a=2", "Digest " + "x=1, " * 40 + "y=2",
    "Basic " + "A" * 5000, "\x01", "Digest username=\"\x7f\"",
])
async def test_malformed_headers_are_400_never_500(api, header):
    async with client(api) as c:
        for path in ("/digest", "/basic", "/multi", "/digest-async"):
            r = await c.get(path, headers={"Authorization": header})
            assert r.status_code in (400, 401), (path, r.status_code, r.text)
            if r.status_code == 400:
                assert r.json()["detail"].startswith("Malformed Authorization header")
                assert challenges(r)


async def test_two_authorization_fields_are_400(api):
    async with client(api) as c:
        r = await c.get("/basic", headers=[("Authorization", basic("alice", "wonder land")),
                                           ("Authorization", basic("alice", "wonder land"))])
        assert r.status_code == 400


async def test_basic_limits_before_the_callback(api):
    async with client(api) as c:
        assert (await c.get("/basic", headers={"Authorization": basic("alice", "wonder land")})).json() == {"user": "alice"}
        r = await c.get("/basic", headers={"Authorization": basic("alice", "nope")})
        assert r.status_code == 401 and challenges(r) == ['Basic realm="api", charset="UTF-8"']
        calls = len(api.state.calls)
        r = await c.get("/basic", headers={"Authorization": basic("a" * 300, "x")})
        assert r.status_code == 400 and len(api.state.calls) == calls
        r = await c.get("/basic", headers={"Authorization": basic("alice", "wonder land\x00")})
        assert r.status_code == 400 and len(api.state.calls) == calls


async def test_bearer_tokens_async_callback_and_api_key_header(api):
    async with client(api) as c:
        assert (await c.get("/bearer", headers={"Authorization": "Bearer t0k.en"})).json() == {"user": "carol"}
        r = await c.get("/bearer", headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401 and challenges(r) == ['Bearer realm="Authentication Required", error="invalid_token"']
        r = await c.get("/bearer")
        assert r.status_code == 401 and challenges(r) == ['Bearer realm="Authentication Required"']
        assert (await c.get("/bearer", headers={"Authorization": "Bearer " + "a" * 3000})).status_code == 400
        assert (await c.get("/apikey", headers={"X-API-Key": "k-123"})).json() == {"user": "dave"}
        assert (await c.get("/apikey", headers={"X-API-Key": "k-124"})).status_code == 401
        assert (await c.get("/apikey", headers={"Authorization": "Bearer k-123"})).status_code == 401


async def test_async_get_password_is_awaited(api):
    async with client(api) as c:
        r = await c.get("/digest-async", auth=httpx.DigestAuth("alice", "wonder land"))
        assert r.status_code == 200 and r.json() == {"user": "alice"}
        assert (await c.get("/digest-async", auth=httpx.DigestAuth("alice", "x"))).status_code == 401


async def test_multi_selects_by_scheme_and_offers_every_challenge(api):
    async with client(api) as c:
        r = await c.get("/multi")
        assert [v.split()[0] for v in challenges(r)] == ["Digest", "Digest", "Basic", "Bearer"]
        r = await c.get("/multi", headers={"Authorization": basic("bob", "nope")})
        assert r.status_code == 401 and challenges(r)[0].startswith("Basic")
        assert (await c.get("/multi", headers={"Authorization": basic("bob", "builder")})).json() == {
            "user": "bob", "scheme": "Basic"}
        assert (await c.get("/multi", headers={"Authorization": "Bearer t0k.en"})).json() == {
            "user": "carol", "scheme": "Bearer"}
        r = await c.get("/multi", auth=httpx.DigestAuth("alice", "wonder land"))
        assert r.json() == {"user": "alice", "scheme": "Digest"}
        r = await c.get("/multi", headers={"Authorization": "Negotiate abc"})
        assert r.status_code == 401 and challenges(r)[0].startswith("Digest")


async def test_roles_and_optional(api):
    async with client(api) as c:
        assert (await c.get("/admin", auth=httpx.DigestAuth("alice", "wonder land"))).json() == {"user": "alice"}
        r = await c.get("/admin", auth=httpx.DigestAuth("bob", "builder"))
        assert r.status_code == 403
        assert (await c.get("/admin", headers={"Authorization": basic("alice", "wonder land")})).status_code == 200
        assert (await c.get("/admin", headers={"Authorization": basic("bob", "builder")})).status_code == 403
        assert (await c.get("/optional")).json() == {"user": None}
        # An optional route never challenges: a client that waits for a 401 sends nothing.
        assert (await c.get("/optional", auth=httpx.DigestAuth("bob", "builder"))).json() == {"user": None}
        ok = await preemptive_digest(c, "/digest", "bob", "builder", "GET", "/optional")
        assert (await c.get("/optional", headers=ok)).json() == {"user": "bob"}
        bad = await preemptive_digest(c, "/digest", "bob", "x", "GET", "/optional")
        assert (await c.get("/optional", headers=bad)).json() == {"user": None}
        assert (await c.get("/optional", headers={"Authorization": "Digest x"})).status_code == 400
        assert (await c.get("/lenient")).json() == {"user": None}
        assert (await c.get("/lenient", headers={"Authorization": basic("bob", "builder")})).json() == {"user": "bob"}


async def test_openapi_lists_the_schemes(api):
    async with client(api) as c:
        doc = (await c.get("/openapi.json")).json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["DigestAuth"] == {"type": "http", "scheme": "digest"}
    assert schemes["BasicAuth"] == {"type": "http", "scheme": "basic"}
    assert schemes["BearerAuth"] == {"type": "http", "scheme": "bearer", "bearerFormat": "opaque"}
    assert schemes["ApiKey"] == {"type": "http", "scheme": "bearer"}
    assert schemes["DigestAsync"] == {"type": "http", "scheme": "digest"}
    ops = doc["paths"]
    assert ops["/digest"]["get"]["security"] == [{"DigestAuth": []}]
    assert ops["/basic"]["get"]["security"] == [{"BasicAuth": []}]
    assert ops["/multi"]["get"]["security"] == [{"DigestAuth": []}, {"BasicAuth": []}, {"BearerAuth": []}]
    assert ops["/admin"]["get"]["security"] == [{"DigestAuth": []}, {"BasicAuth": []}, {"BearerAuth": []}]
    assert ops["/optional"]["get"]["security"] == [{"DigestAuth": []}]
    # Nothing the dependencies take shows up as a parameter.
    for path in ("/digest", "/multi", "/admin"):
        assert "parameters" not in ops[path]["get"], ops[path]["get"]


async def test_refusals_logged_with_reason_never_the_secret(api, caplog):
    caplog.set_level(logging.INFO, logger="authgate")
    async with client(api) as c:
        await c.get("/basic", headers={"Authorization": basic("alice", "hunter2-secret")})
        await c.get("/bearer", headers={"Authorization": "Bearer sekrit-token"})
        await c.get("/digest")
    lines = [r.getMessage() for r in caplog.records if r.name == "authgate"]
    assert any("BadCredentials" in m and "user=\"alice\"" in m and "remote=127.0.0.9" in m for m in lines), lines
    assert any("InvalidToken" in m and "scheme=Bearer" in m for m in lines), lines
    assert any("NoCredentials" in m for m in lines), lines
    assert not any("hunter2" in m or "sekrit" in m for m in lines)
    levels = {r.getMessage().split()[2]: r.levelno for r in caplog.records if r.name == "authgate"}
    assert levels["NoCredentials"] == logging.INFO and levels["BadCredentials"] == logging.WARNING


class AsyncStore:
    """A replay store that must be awaited; it records on the core's per-nonce windows."""

    def __init__(self):
        self.inner = MemoryReplayStore()
        self.calls = 0
        self.loop_threads = set()

    async def check_and_record(self, nonce_id, issued, nc):
        self.calls += 1
        self.loop_threads.add(threading.get_ident())
        await asyncio.sleep(0)
        return self.inner.check_and_record(nonce_id, issued, nc)


class SyncStore(AsyncStore):
    def check_and_record(self, nonce_id, issued, nc):  # type: ignore[override]
        self.calls += 1
        self.loop_threads.add(threading.get_ident())
        return self.inner.check_and_record(nonce_id, issued, nc)


@pytest.mark.parametrize("store_class", [AsyncStore, SyncStore])
async def test_python_replay_store_awaited_or_run_off_the_loop(store_class):
    store = store_class()
    app = build_fastapi(replay_store=store)
    loop_thread = threading.get_ident()
    async with client(app) as c:
        ch = digest_challenge(await c.get("/digest"))
        header = digest_header(ch, "alice", "wonder land", "GET", "/digest", algorithm="SHA-256")
        assert (await c.get("/digest", headers={"Authorization": header})).status_code == 200
        assert (await c.get("/digest", headers={"Authorization": header})).status_code == 401
        assert store.calls == 2
        # Asked only after the response was verified: a wrong password never reaches it.
        wrong = digest_header(ch, "alice", "nope", "GET", "/digest", algorithm="SHA-256", nc=2)
        assert (await c.get("/digest", headers={"Authorization": wrong})).status_code == 401
        assert store.calls == 2
    if store_class is AsyncStore:
        assert store.loop_threads == {loop_thread}
        # The engine holds it for the ASGI layer only: a synchronous check refuses to call it.
        fresh = digest_header(ch, "alice", "wonder land", "GET", "/digest", algorithm="SHA-256", nc=9)
        with pytest.raises(TypeError, match="awaited"):
            app.state.digest.engine.check("GET", "/digest", fresh)
        assert store.calls == 2
    else:
        assert loop_thread not in store.loop_threads


async def test_replay_store_answering_stale_asks_for_a_new_nonce():
    class Lost:
        async def check_and_record(self, nonce_id, issued, nc):
            return "stale"

    app = build_fastapi(replay_store=Lost())
    async with client(app) as c:
        ch = digest_challenge(await c.get("/digest"))
        header = digest_header(ch, "alice", "wonder land", "GET", "/digest", algorithm="SHA-256")
        r = await c.get("/digest", headers={"Authorization": header})
        assert r.status_code == 401 and "stale=true" in r.headers["www-authenticate"]


async def test_auth_int_body_through_fastapi():
    app = build_fastapi(qop=["auth", "auth-int"])
    async with client(app) as c:
        ch = digest_challenge(await c.get("/digest"))
        body = b'{"on": true}'
        header = digest_header(ch, "alice", "wonder land", "POST", "/digest", algorithm="SHA-256", qop="auth-int",
                               body=body)
        r = await c.post("/digest", content=body, headers={"Authorization": header})
        assert r.status_code == 200 and r.json() == {"user": "alice", "body": body.decode()}
        header = digest_header(ch, "alice", "wonder land", "POST", "/digest", algorithm="SHA-256", qop="auth-int",
                               body=body, nc=2)
        r = await c.post("/digest", content=b"tampered", headers={"Authorization": header})
        assert r.status_code == 401


# -- Starlette ------------------------------------------------------------------------------


def starlette_app(kind):
    digest = DigestAuth("site", users=USERS, key=KEY, qop=["auth", "auth-int"], get_user_roles=ROLES.get)
    basic_auth = BasicAuth("site", get_password=lambda u: Credential.plaintext(USERS[u]) if u in USERS else None)

    async def me(request):
        user = request.user
        return JSONResponse({"authenticated": user.is_authenticated, "user": user.display_name,
                             "scopes": sorted(request.auth.scopes)})

    @requires("admin", status_code=403)
    async def admin(request):
        return PlainTextResponse("admin " + request.user.display_name)

    @requires("authenticated", status_code=401)
    async def members(request):
        return PlainTextResponse("members")

    async def echo(request):
        return PlainTextResponse((await request.body()).decode())

    async def ws(websocket):
        await websocket.accept()
        await websocket.send_text("hello " + websocket.user.display_name)
        await websocket.close()

    routes = [Route("/me", me), Route("/admin", admin), Route("/members", members),
              Route("/echo", echo, methods=["POST"]), WebSocketRoute("/ws", ws)]
    if kind == "middleware":
        return Starlette(routes=routes, middleware=[Middleware(AuthgateMiddleware, digest, basic_auth)])
    if kind == "optional":
        return Starlette(routes=routes, middleware=[Middleware(AuthgateMiddleware, digest, optional=True)])
    backend = AuthgateBackend(digest, basic_auth)
    return Starlette(routes=routes, exception_handlers={401: backend.unauthorized},
                     middleware=[Middleware(AuthenticationMiddleware, backend=backend, on_error=backend.on_error)])


async def test_starlette_middleware_protects_everything():
    app = starlette_app("middleware")
    async with client(app) as c:
        r = await c.get("/me")
        assert r.status_code == 401 and [v.split()[0] for v in challenges(r)] == ["Digest", "Digest", "Basic"]
        r = await c.get("/me", auth=httpx.DigestAuth("alice", "wonder land"))
        assert r.json() == {"authenticated": True, "user": "alice", "scopes": ["admin", "authenticated"]}
        assert r.headers["authentication-info"].startswith("rspauth=")
        assert (await c.get("/admin", auth=httpx.DigestAuth("alice", "wonder land"))).text == "admin alice"
        assert (await c.get("/admin", auth=httpx.DigestAuth("bob", "builder"))).status_code == 403
        assert (await c.get("/me", auth=("bob", "builder"))).json()["user"] == "bob"
        r = await c.get("/me", auth=("bob", "x"))
        assert r.status_code == 401 and challenges(r)[0].startswith("Basic")
        assert (await c.get("/me", headers={"Authorization": "Basic !"})).status_code == 400
        # qop=auth-int: the middleware reads the body, checks it, and hands it on.
        ch = digest_challenge(await c.get("/me"))
        body = b"x" * 70000
        header = digest_header(ch, "alice", "wonder land", "POST", "/echo", algorithm="SHA-256", qop="auth-int",
                               body=body)
        r = await c.post("/echo", content=body, headers={"Authorization": header})
        assert r.status_code == 200 and r.text == body.decode()


async def test_starlette_middleware_optional():
    app = starlette_app("optional")
    async with client(app) as c:
        assert (await c.get("/me")).json() == {"authenticated": False, "user": "", "scopes": []}
        assert (await c.get("/members")).status_code == 401
        # The app's own 401 (@requires) gets the challenges: a client can answer it.
        r = await c.get("/members", auth=httpx.DigestAuth("bob", "builder"))
        assert r.status_code == 200 and r.text == "members"
        ok = await preemptive_digest(c, "/members", "bob", "builder", "GET", "/me")
        assert (await c.get("/me", headers=ok)).json()["user"] == "bob"
        assert (await c.get("/me", headers={"Authorization": "Digest ="})).status_code == 400


async def test_starlette_backend():
    app = starlette_app("backend")
    async with client(app) as c:
        assert (await c.get("/me")).json() == {"authenticated": False, "user": "", "scopes": []}
        r = await c.get("/members")
        assert r.status_code == 401 and challenges(r)[0].startswith("Digest realm=\"site\"")
        r = await c.get("/members", auth=httpx.DigestAuth("bob", "builder"))
        assert r.status_code == 200 and r.text == "members"
        r = await c.get("/members", auth=("bob", "wrong"))
        assert r.status_code == 401 and challenges(r)[0].startswith("Basic")
        assert (await c.get("/me", headers={"Authorization": "Basic !"})).status_code == 400
        assert (await c.get("/admin", auth=("alice", "wonder land"))).status_code == 403  # Basic has no roles here
        ok = await preemptive_digest(c, "/members", "alice", "wonder land", "GET", "/admin")
        assert (await c.get("/admin", headers=ok)).status_code == 200
        ok = await preemptive_digest(c, "/members", "bob", "builder", "GET", "/admin")
        assert (await c.get("/admin", headers=ok)).status_code == 403


def test_starlette_middleware_websocket():
    app = starlette_app("middleware")
    with TestClient(app) as c:
        with c.websocket_connect("/ws", headers={"Authorization": basic("bob", "builder")}) as ws:
            assert ws.receive_text() == "hello bob"
        with pytest.raises(Exception):
            with c.websocket_connect("/ws", headers={"Authorization": basic("bob", "nope")}) as ws:
                ws.receive_text()


@pytest.mark.parametrize("module,extra", [("authgate.fastapi", "fastapi"), ("authgate.starlette", "starlette")])
def test_missing_framework_names_the_extra(module, extra):
    code = (f"import sys; sys.modules['{extra}'] = None\n"
            f"try:\n    import {module}\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert f"pip install 'authgate[{extra}]'" in out, out


def test_digest_needs_one_source_of_users():
    with pytest.raises(TypeError):
        DigestAuth("r", key=KEY)
    with pytest.raises(TypeError):
        DigestAuth("r", key=KEY, users=USERS, get_password=USERS.get)
    with pytest.raises(TypeError):
        BearerAuth()


def test_no_key_warns_that_nonces_are_per_process(caplog):
    caplog.set_level(logging.WARNING, logger="authgate")
    DigestAuth("r", users=USERS)
    assert any("no key=" in r.getMessage() for r in caplog.records)
    caplog.clear()
    BasicAuth("r", users=USERS)
    assert not caplog.records


async def test_bearer_auth_with_a_real_jwt_verifier(caplog):
    """BearerAuth(verifier=authgate.JwtVerifier): an HS256 token signed here (PyJWT) gives its
    claims; a tampered, an expired and an unsigned one get 401 with RFC 6750's error and the
    core's reason as error_description; the OpenAPI scheme says bearerFormat JWT."""
    import time

    import jwt as pyjwt

    from authgate import JwtVerifier

    secret = b"s" * 32
    bearer = BearerAuth("api", verifier=JwtVerifier(secret, ["HS256"], issuer="https://idp", audience="api"))
    app = FastAPI()

    @app.get("/claims")
    async def claims_route(claims: dict = Depends(bearer)):
        return claims

    now = int(time.time())
    claims = {"sub": "erin", "iss": "https://idp", "aud": "api", "exp": now + 60, "scope": "read"}
    good = pyjwt.encode(claims, secret, algorithm="HS256")
    head, body, sig = good.split(".")
    forged_body = base64.urlsafe_b64encode(b'{"sub":"root","iss":"https://idp","aud":"api","exp":%d}' % (now + 60))
    tampered = ".".join([head, forged_body.rstrip(b"=").decode(), sig])
    expired = pyjwt.encode(dict(claims, exp=now - 3600), secret, algorithm="HS256")
    unsigned = pyjwt.encode(claims, None, algorithm="none")
    other_key = pyjwt.encode(claims, b"t" * 32, algorithm="HS256")
    async with client(app) as c:
        r = await c.get("/claims", headers={"Authorization": f"Bearer {good}"})
        assert r.status_code == 200 and r.json() == claims
        with caplog.at_level(logging.INFO, logger="authgate"):
            for token, description in ((tampered, "Signature verification failed"),
                                       (other_key, "Signature verification failed"),
                                       (expired, "Signature has expired"),
                                       (unsigned, None)):
                r = await c.get("/claims", headers={"Authorization": f"Bearer {token}"})
                assert r.status_code == 401, token
                (value,) = challenges(r)
                assert value.startswith('Bearer realm="api"') and 'error="invalid_token"' in value, value
                if description:
                    assert f'error_description="{description}"' in value, value
            # Not a JWT at all: refused as a token no verifier accepts.
            r = await c.get("/claims", headers={"Authorization": "Bearer not-a-jwt"})
            assert r.status_code == 401 and 'error="invalid_token"' in r.headers["www-authenticate"]
            assert (await c.get("/claims", headers={"Authorization": "Bearer a b"})).status_code == 400
        reasons = [rec.getMessage() for rec in caplog.records if rec.name == "authgate"]
        assert any("TokenExpired" in m for m in reasons) and any("BadSignature" in m for m in reasons), reasons
        assert not any(good in m or sig in m for m in caplog.messages)
        doc = (await c.get("/openapi.json")).json()
    assert doc["components"]["securitySchemes"]["BearerAuth"] == {"type": "http", "scheme": "bearer",
                                                                  "bearerFormat": "JWT"}


async def test_threadpool_runs_sync_callbacks_off_the_loop_and_verifier_objects():
    threads = []

    def slow_check(user, password):
        threads.append(threading.get_ident())
        return user if USERS.get(user) == password else None

    class Verifier:
        """Shaped as authgate.JwtVerifier: called with the token, gives the claims or None."""

        def __call__(self, token):
            threads.append(threading.get_ident())
            return {"sub": "erin", "scope": "read"} if token == "eyJ.valid.sig" else None

    basic_auth = BasicAuth("pool", verify_password=slow_check, threadpool=True)
    jwt = BearerAuth(verifier=Verifier(), bearer_format="JWT")
    app = FastAPI()

    @app.get("/pool")
    async def pool(user: str = Depends(basic_auth)):
        return {"user": user}

    @app.get("/jwt")
    async def jwt_route(claims: dict = Depends(jwt)):
        return claims

    loop_thread = threading.get_ident()
    async with client(app) as c:
        assert (await c.get("/pool", auth=("bob", "builder"))).json() == {"user": "bob"}
        assert (await c.get("/pool", auth=("bob", "x"))).status_code == 401
        assert loop_thread not in threads[:2] and len(threads) == 2
        assert (await c.get("/jwt", headers={"Authorization": "Bearer eyJ.valid.sig"})).json() == {
            "sub": "erin", "scope": "read"}
        r = await c.get("/jwt", headers={"Authorization": "Bearer eyJ.forged.sig"})
        assert r.status_code == 401 and 'error="invalid_token"' in r.headers["www-authenticate"]
        assert threads[2:] == [loop_thread, loop_thread]
        doc = (await c.get("/openapi.json")).json()
    assert doc["components"]["securitySchemes"]["BearerAuth"] == {"type": "http", "scheme": "bearer",
                                                                  "bearerFormat": "JWT"}
