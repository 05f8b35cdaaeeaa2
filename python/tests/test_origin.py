"""The origin check (issue 23) through Python: the core's decision (shared vectors) through
``Engine.check_origin`` and its WSGI / ASGI readers, and its wiring into authgate.flask (off
in the Flask-HTTPAuth drop-in unless switched on, on in the AuthGate style and the demo)."""
import logging

import pytest
from flask import Flask, request

import authgate
from authgate.flask import HTTPBasicAuth, HTTPDigestAuth, HTTPTokenAuth, init_authgate, requires_authentication
from conftest import basic
from test_vectors import load

KEY = b"\x05" * 32
EVIL = {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}


def engine_for(case, **more):
    """An engine with the vector's policy."""
    opt = lambda k: case[k].decode() if k in case else None  # noqa: E731
    return authgate.Engine(
        "r", KEY, users={"u": "p"},
        refuse_cross_origin=opt("refuse") != "0",
        allow_origins=(opt("origins") or "").split(),
        allow_hosts=(opt("hosts") or "").split(),
        allow_any_address=opt("addresses") == "1",
        **more,
    )


def expected(case):
    want = case["expect"].decode()
    return None if want == "ok" else want


FIELDS = {"host": "host", "origin": "origin", "site": "sec_fetch_site", "referer": "referer"}
ENVIRON = {"host": "HTTP_HOST", "origin": "HTTP_ORIGIN", "site": "HTTP_SEC_FETCH_SITE", "referer": "HTTP_REFERER"}
ASGI = {"host": b"host", "origin": b"origin", "site": b"sec-fetch-site", "referer": b"referer"}


def check_refusal(refusal, case):
    name = expected(case)
    if name is None:
        assert refusal is None, f"{case['name'].decode()}: refused {refusal}"
        return
    assert refusal is not None, f"{case['name'].decode()}: served, expected {name}"
    assert refusal.name == name
    assert refusal.origin_check
    # The status and message are the core's (error table): 403, 421, or 400 for a malformed field.
    assert refusal.status == {"CrossOrigin": 403, "ForeignHost": 421}.get(name, 400)
    assert 400 <= refusal.code <= 499 and refusal.message
    assert name in str(refusal)


@pytest.mark.parametrize("case", load("origin"))
def test_vectors_through_check_origin(case):
    e = engine_for(case)
    kwargs = {FIELDS[k]: case[k] for k in FIELDS if k in case}
    check_refusal(e.check_origin(case["method"].decode(), secure=case.get("secure") == b"1", **kwargs), case)


@pytest.mark.parametrize("case", load("origin"))
def test_vectors_through_wsgi_environ(case):
    # PEP 3333: header values as latin-1 decoded str.
    environ = {ENVIRON[k]: case[k].decode("latin-1") for k in ENVIRON if k in case}
    environ["REQUEST_METHOD"] = case["method"].decode()
    environ["wsgi.url_scheme"] = "https" if case.get("secure") == b"1" else "http"
    environ["REMOTE_ADDR"] = "192.0.2.7"
    refusal = engine_for(case).check_origin_environ(environ)
    check_refusal(refusal, case)
    if refusal is not None:
        assert refusal.remote == "192.0.2.7"


@pytest.mark.parametrize("case", load("origin"))
def test_vectors_through_asgi_scope(case):
    scope = {
        "type": "http",
        "method": case["method"].decode(),
        "scheme": "https" if case.get("secure") == b"1" else "http",
        "headers": [(b"accept", b"*/*")] + [(ASGI[k], case[k]) for k in ASGI if k in case],
        "client": ("192.0.2.8", 50000),
    }
    refusal = engine_for(case).check_origin_scope(scope)
    check_refusal(refusal, case)
    if refusal is not None:
        assert refusal.remote == "192.0.2.8"


def test_asgi_repeated_field_is_malformed_and_websocket_is_a_get():
    e = authgate.Engine("r", KEY, users={"u": "p"}, allow_hosts=["device.local"])
    scope = {"type": "http", "method": "POST", "scheme": "http",
             "headers": [(b"host", b"device.local"), (b"origin", b"http://device.local"),
                         (b"origin", b"http://evil.example")]}
    r = e.check_origin_scope(scope)
    assert (r.status, r.name) == (400, "MalformedOrigin")
    ws = {"type": "websocket", "scheme": "ws", "headers": [(b"host", b"device.local"), (b"origin", b"http://evil.example")]}
    assert e.check_origin_scope(ws) is None
    ws["headers"][0] = (b"host", b"rebind.example")
    assert e.check_origin_scope(ws).status == 421


def test_engine_options_and_bad_config():
    e = authgate.Engine("r", KEY, users={"u": "p"}, allow_hosts=["Device.local", "[fe80::1]"],
                        allow_origins=["https://hub.example:8443"])
    assert e.allowed_hosts == ["Device.local", "fe80::1"]
    assert e.allowed_origins == ["https://hub.example:8443"]
    assert e.refuses_cross_origin
    assert e.check_origin("POST", host="device.local", origin="https://hub.example:8443") is None
    r = e.check_origin("POST", host="device.local", origin="https://hub.example", remote="192.0.2.1")
    assert str(r) == ('CrossOrigin (unsafe method from another origin) host="device.local" '
                      'origin="https://hub.example" remote=192.0.2.1')
    with pytest.raises(authgate.ConfigError, match="allow_origins"):
        authgate.Engine("r", KEY, allow_origins=["https://hub.example/path"])
    with pytest.raises(authgate.ConfigError, match="allow_hosts"):
        authgate.Engine("r", KEY, allow_hosts=["device.local:8080"])
    # The authentication check itself does not look at origins (the front-end calls the check).
    assert e.check("POST", "/", basic("u", "p")).status == 200


# ---- authgate.flask ---------------------------------------------------------------------


def dropin_app(lib, **origin):
    """A switch behind Basic, as an application of Flask-HTTPAuth's has it."""
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "origin"
    auth = lib.HTTPBasicAuth(**origin)
    state = {"on": False}
    reasons = []

    @auth.verify_password
    def verify(user, password):
        return user if (user, password) == ("u", "p") else None

    @auth.error_handler
    def error(status, reason=None):
        reasons.append(reason)
        return f"refused {status}", status

    @app.route("/switch", methods=["GET", "POST"])
    @auth.login_required
    def switch():
        if request.method == "POST":
            state["on"] = not state["on"]
        return {"on": state["on"]}

    return app.test_client(), state, reasons


def test_dropin_is_off_by_default_as_flask_httpauth(lib):
    client, state, _ = dropin_app(lib)
    r = client.post("/switch", headers={"Authorization": basic("u", "p"), **EVIL})
    assert r.status_code == 200 and state["on"]


def test_dropin_switched_on_refuses_other_sites_and_logs(caplog):
    client, state, reasons = dropin_app(authgate.flask, check_origin=True)
    with caplog.at_level(logging.INFO, logger="authgate"):
        r = client.post("/switch", headers={"Authorization": basic("u", "p"), **EVIL})
    assert (r.status_code, state["on"]) == (403, False)
    assert r.get_data(as_text=True) == "refused 403"
    assert "WWW-Authenticate" not in r.headers
    assert reasons[-1].name == "CrossOrigin" and reasons[-1].origin_check
    [rec] = [x for x in caplog.records if x.name == "authgate"]
    assert rec.levelno == logging.WARNING
    assert 'CrossOrigin (unsafe method from another origin) host="localhost" origin="http://evil.example"' in rec.getMessage()
    # Same origin, no browser headers (curl), and a safe method from another site: served.
    own = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
    assert client.post("/switch", headers={"Authorization": basic("u", "p"), **own}).status_code == 200
    assert client.post("/switch", headers={"Authorization": basic("u", "p")}).status_code == 200
    assert client.get("/switch", headers={"Authorization": basic("u", "p"), **EVIL}).status_code == 200
    # The check comes before authentication: no credentials, still 403 (not a challenge).
    assert client.post("/switch", headers=EVIL).status_code == 403


def test_dropin_host_list_and_default_handler():
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "origin"
    digest = HTTPDigestAuth(allow_hosts=["device.local"])
    token = HTTPTokenAuth(check_origin=True, allow_origins=["https://hub.example"])

    @digest.get_password
    def pw(u):
        return "p" if u == "u" else None

    @token.verify_token
    def tok(t):
        return "u" if t == "t0k" else None

    @app.route("/d", methods=["GET", "POST"])
    @digest.login_required
    def d():
        return "d"

    @app.route("/t", methods=["POST"])
    @token.login_required
    def t():
        return "t"

    c = app.test_client()
    r = c.get("/d", headers={"Host": "rebind.example"})
    assert r.status_code == 421
    assert r.get_data(as_text=True) == "Misdirected Request: Host is not one of this server's names"
    # A Host list alone leaves cross-site requests alone (check_origin stays off) ...
    r = c.post("/d", headers={"Host": "device.local", **EVIL})
    assert r.status_code == 401 and "WWW-Authenticate" in r.headers
    # ... and a malformed Host is a 400 without challenges.
    r = c.get("/d", headers={"Host": "device.local, rebind.example"})
    assert r.status_code == 400 and "WWW-Authenticate" not in r.headers
    ok = {"Authorization": "Bearer t0k"}
    assert c.post("/t", headers={**ok, **EVIL}).get_data(as_text=True) == "Forbidden: unsafe method from another origin"
    assert c.post("/t", headers={**ok, "Origin": "https://hub.example"}).status_code == 200
    # A setting changed later takes effect (a new engine).
    token.check_origin = False
    assert c.post("/t", headers={**ok, **EVIL}).status_code == 200


def gate_app(**options):
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "origin"
    init_authgate(app, users={"u": "p"}, schemes=("Basic",), **options)
    state = {"on": False}

    @app.route("/switch", methods=["POST"])
    @requires_authentication
    def switch(user):
        state["on"] = not state["on"]
        return {"on": state["on"]}

    return app.test_client(), state


def test_authgate_style_is_on_by_default(caplog):
    client, state = gate_app()
    with caplog.at_level(logging.INFO, logger="authgate"):
        r = client.post("/switch", headers={"Authorization": basic("u", "p"), **EVIL})
    assert (r.status_code, state["on"]) == (403, False)
    assert r.get_data(as_text=True) == "Forbidden: unsafe method from another origin\n"
    assert "WWW-Authenticate" not in r.headers
    assert any("refused CrossOrigin" in x.getMessage() for x in caplog.records if x.name == "authgate")
    assert client.post("/switch", headers={"Authorization": basic("u", "p")}).status_code == 200
    assert state["on"]
    # Off when asked.
    client, state = gate_app(check_origin=False)
    assert client.post("/switch", headers={"Authorization": basic("u", "p"), **EVIL}).status_code == 200


def test_authgate_style_host_list_and_handler():
    seen = []
    client, _ = gate_app(allow_hosts=["device.local"], allow_any_address=True,
                         error_handler=lambda status, reason: seen.append(reason) or (f"no: {reason.name}", status))
    r = client.post("/switch", headers={"Host": "rebind.example", "Authorization": basic("u", "p")})
    assert (r.status_code, r.get_data(as_text=True)) == (421, "no: ForeignHost")
    assert seen[-1].host == "rebind.example"
    assert client.post("/switch", headers={"Host": "192.0.2.1:8080", "Authorization": basic("u", "p")}).status_code == 200
    assert client.post("/switch", headers={"Host": "DEVICE.local.", "Authorization": basic("u", "p")}).status_code == 200


def test_demo_refuses_other_sites_and_serves_its_own_page():
    from demo.homeauto import create_app

    app = create_app(users={"admin": "pw"}, secret_key="demo", origin={"allow_hosts": ["localhost"]})
    c = app.test_client()
    auth = {"Authorization": basic("admin", "pw")}
    status = lambda: c.get("/api/status", headers=auth).get_json()["light"]  # noqa: E731
    assert status() == "off"
    assert c.post("/api/light/toggle", headers={**auth, **EVIL}).status_code == 403
    assert c.post("/api/light", json={"on": True}, headers={**auth, "Origin": "null"}).status_code == 403
    assert status() == "off"
    assert c.post("/api/light/toggle", headers={**auth, "Origin": "http://localhost"}).status_code == 200
    assert status() == "on"
    assert c.post("/api/light/toggle", headers=auth).status_code == 200  # curl: no Origin
    assert status() == "off"
    assert c.get("/api/status", headers={**auth, "Host": "rebind.example"}).status_code == 421
    # The drop-in route of the demo has the check switched on too.
    assert c.get("/api/legacy", headers={**auth, "Host": "rebind.example"}).status_code == 421
