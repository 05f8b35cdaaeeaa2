"""The origin check in authgate.fastapi and authgate.starlette (issue 23): on by default, it
refuses another site's unsafe request that carries a cached login (403, no challenge, the
endpoint never runs), a foreign Host when a Host list is given (421), a malformed
Sec-Fetch-Site (400); same-origin requests and clients without those fields (curl, scripts)
pass. The decisions are the core's (Engine.check_origin_scope); these tests show each layer
answers them, and that ``check_origin=False`` is the control where the attack works."""
import base64

import httpx
import pytest
from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.authentication import requires
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from authgate.fastapi import BasicAuth, DigestAuth
from authgate.starlette import AuthgateBackend, AuthgateMiddleware

USERS = {"alice": "wonder land"}
LOGIN = {"Authorization": "Basic " + base64.b64encode(b"alice:wonder land").decode()}
CROSS_SITE = {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
SAME_ORIGIN = {"Origin": "http://device.test", "Sec-Fetch-Site": "same-origin"}


def client(app, host="device.test"):
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("127.0.0.9", 5555)),
                             base_url=f"http://{host}")


def fastapi_app(**origin):
    state = {"light": 0}
    basic = BasicAuth("home", users=USERS, **origin)
    app = FastAPI()

    @app.post("/light/toggle")
    def toggle(user: str = Depends(basic)):
        state["light"] ^= 1
        return {"user": user, "light": state["light"]}

    @app.get("/light")
    def light(user: str = Depends(basic)):
        return {"light": state["light"]}

    return app, state


def starlette_app(style, **origin):
    state = {"light": 0}

    async def toggle(request):
        state["light"] ^= 1
        return PlainTextResponse(f"light {state['light']}")

    basic = BasicAuth("home", users=USERS, **origin)
    if style == "middleware":
        return Starlette(routes=[Route("/light/toggle", toggle, methods=["POST"])],
                         middleware=[Middleware(AuthgateMiddleware, basic)]), state
    backend = AuthgateBackend(basic)
    route = Route("/light/toggle", requires("authenticated", status_code=401)(toggle), methods=["POST"])
    return Starlette(routes=[route], exception_handlers={401: backend.unauthorized},
                     middleware=[Middleware(AuthenticationMiddleware, backend=backend,
                                            on_error=backend.on_error)]), state


def apps(**origin):
    yield ("fastapi", *fastapi_app(**origin))
    yield ("middleware", *starlette_app("middleware", **origin))
    yield ("backend", *starlette_app("backend", **origin))


async def test_another_sites_post_with_a_cached_login_is_refused(caplog):
    for name, app, state in apps():
        async with client(app) as c:
            r = await c.post("/light/toggle", headers={**LOGIN, **CROSS_SITE})
            assert r.status_code == 403, name
            assert "www-authenticate" not in r.headers, name
            assert state["light"] == 0, name
            # Its own page, and a client without browser fields, switch the light.
            assert (await c.post("/light/toggle", headers={**LOGIN, **SAME_ORIGIN})).status_code == 200, name
            assert (await c.post("/light/toggle", headers=LOGIN)).status_code == 200, name
            assert state["light"] == 0, name  # toggled twice
            # Without credentials the origin check still answers first: nothing to challenge.
            r = await c.post("/light/toggle", headers=CROSS_SITE)
            assert r.status_code == 403 and "www-authenticate" not in r.headers, name
    refusals = [m for m in caplog.messages if "CrossOrigin" in m]
    assert len(refusals) == 6 and all('origin="http://evil.example"' in m for m in refusals), refusals
    assert not any("wonder land" in m or LOGIN["Authorization"][6:] in m for m in caplog.messages)


async def test_a_safe_method_from_another_site_is_not_the_checks_business():
    app, state = fastapi_app()
    async with client(app) as c:
        assert (await c.get("/light", headers={**LOGIN, **CROSS_SITE})).status_code == 200
        r = await c.get("/light", headers=CROSS_SITE)
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic")


async def test_allowed_origins_host_list_and_malformed_fields():
    for name, app, state in apps(allow_origins=["http://hub.example"], allow_hosts=["device.test"]):
        async with client(app) as c:
            hub = {"Origin": "http://hub.example", "Sec-Fetch-Site": "cross-site"}
            assert (await c.post("/light/toggle", headers={**LOGIN, **hub})).status_code == 200, name
            assert (await c.post("/light/toggle", headers={**LOGIN, **CROSS_SITE})).status_code == 403, name
            r = await c.post("/light/toggle", headers={**LOGIN, "Sec-Fetch-Site": "Same-Origin"})
            assert r.status_code == 400 and "www-authenticate" not in r.headers, name
        # A rebinding name: the request reaches the app under a Host it does not serve.
        async with client(app, host="evil.rebind.example") as c:
            r = await c.post("/light/toggle", headers=LOGIN)
            assert r.status_code == 421 and "www-authenticate" not in r.headers, name
            assert state["light"] == 1, name


async def test_check_origin_false_is_the_control_where_the_attack_works():
    for name, app, state in apps(check_origin=False):
        async with client(app) as c:
            assert (await c.post("/light/toggle", headers={**LOGIN, **CROSS_SITE})).status_code == 200, name
            assert state["light"] == 1, name


@pytest.mark.parametrize("origin", [{}, {"check_origin": False}])
async def test_digest_refusal_still_challenges_after_the_origin_check(origin):
    digest = DigestAuth("home", users=USERS, key=b"k" * 32, **origin)
    app = FastAPI()

    @app.post("/p")
    def p(user: str = Depends(digest)):
        return user

    async with client(app) as c:
        r = await c.post("/p", headers=SAME_ORIGIN)
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Digest")
        r = await c.post("/p", headers=SAME_ORIGIN, auth=httpx.DigestAuth("alice", "wonder land"))
        assert r.status_code == 200 and r.json() == "alice"
