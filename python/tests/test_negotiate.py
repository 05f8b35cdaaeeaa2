"""Negotiate (Kerberos) and NTLM with real parts: an MIT KDC (conftest.kdc), the Flask-Kerberos
and Flask-SSPI drop-ins served by waitress and by gunicorn's gthread workers, and real
clients: curl --negotiate / --ntlm, requests-gssapi, pyspnego (NTLMv2, NTLMv1, SPNEGO) and
headless Chromium and Firefox ESR."""
import base64
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from conftest import free_port, stop, wait_port

pytestmark = pytest.mark.slow
PY_DIR = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent
CURL = shutil.which("curl")


def serve(kind, kdc, log_dir, **extra_env):
    """The test app (tests/negotiate_app.py) under `kind`: 'waitress' or 'gunicorn'."""
    port = free_port()
    env = dict(os.environ, **kdc.env, PYTHONPATH=f"{PY_DIR}:{TESTS}", **extra_env)
    bin_dir = Path(sys.executable).parent
    if kind == "waitress":
        cmd = [str(bin_dir / "waitress-serve"), f"--listen=127.0.0.1:{port}", "--threads=4", "negotiate_app:app"]
    else:
        cmd = [str(bin_dir / "gunicorn"), "-k", "gthread", "--threads", "4", "-w", "2", "-b", f"127.0.0.1:{port}",
               "--log-level", "info", "negotiate_app:app"]
    log = log_dir / f"{kind}.log"
    proc = subprocess.Popen(cmd, cwd=TESTS, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    wait_port(port, proc=proc)
    return proc, f"http://localhost:{port}", log


@pytest.fixture(scope="module")
def waitress_app(kdc, tmp_path_factory):
    d = tmp_path_factory.mktemp("waitress")
    proc, base, log = serve("waitress", kdc, d, REQUEST_LOG=str(d / "requests.jsonl"))
    try:
        yield type("Server", (), {"base": base, "log": log, "port": int(base.rsplit(":", 1)[1]),
                                  "requests": d / "requests.jsonl"})
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def gunicorn_app(kdc, tmp_path_factory):
    proc, base, log = serve("gunicorn", kdc, tmp_path_factory.mktemp("gunicorn"), SSPI_PACKAGE="Negotiate")
    try:
        yield type("Server", (), {"base": base, "log": log, "port": int(base.rsplit(":", 1)[1])})
    finally:
        stop(proc)


def curl(*args, env=None):
    assert CURL, "curl is not installed"
    r = subprocess.run([CURL, "-s", "-S", "-o", "-", "-w", "\n%{http_code}", *args], capture_output=True, text=True,
                       env=env, timeout=30)
    body, _, code = r.stdout.rpartition("\n")
    return int(code), body


def refused(log, reason, scheme):
    """Whether the server logged this refusal (authgate's one line: reason, message, scheme)."""
    return re.search(rf"authgate: refused {reason} \([^)]*\).* scheme={scheme}\b", log) is not None


def b64(b):
    return base64.b64encode(b).decode()


class OneConnection:
    """Requests on one keep-alive connection (http.client), as NTLM needs."""

    def __init__(self, server):
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)

    def get(self, path, authorization=None, headers=None):
        h = dict(headers or {}, Host="localhost")
        if authorization is not None:
            h["Authorization"] = authorization
        self.conn.request("GET", path, headers=h)
        r = self.conn.getresponse()
        return r.status, r.getheader("WWW-Authenticate"), r.read()

    def close(self):
        self.conn.close()


def spnego_handshake(server, path, client, scheme, conn=None):
    """Runs pyspnego's `client` against `path` on one connection: (status, body, tokens sent)."""
    conn = conn or OneConnection(server)
    token = client.step()
    sent = [token]
    status, challenge, body = conn.get(path, f"{scheme} {b64(token)}")
    while status == 401 and challenge and " " in challenge:
        token = client.step(base64.b64decode(challenge.split(" ", 1)[1]))
        sent.append(token)
        status, challenge, body = conn.get(path, f"{scheme} {b64(token)}")
    if status == 200 and challenge and " " in challenge:
        client.step(base64.b64decode(challenge.split(" ", 1)[1]))
    return status, body, sent


def ntlm_client(user, password, protocol="ntlm"):
    import spnego

    return spnego.client(user, password, hostname="localhost", service="HTTP", protocol=protocol)


# ------------------------------------------------------------------------------ Kerberos


def test_curl_negotiate_kerberos(waitress_app):
    code, body = curl("--negotiate", "-u", ":", waitress_app.base + "/kerberos")
    assert code == 200, body
    assert json.loads(body) == {"user": "alice@AUTHGATE.TEST", "ctx_user": "alice@AUTHGATE.TEST"}
    # Without a ticket: the 401 and its offer, nothing else.
    empty = dict(os.environ, KRB5CCNAME=f"FILE:{waitress_app.log.parent}/no-such-ccache")
    code, _ = curl("--negotiate", "-u", ":", waitress_app.base + "/kerberos", env=empty)
    assert code == 401
    r = requests.get(waitress_app.base + "/kerberos")
    assert (r.status_code, r.headers["WWW-Authenticate"], r.text) == (401, "Negotiate", "Unauthorized")


def test_requests_gssapi_verifies_mutual_authentication(waitress_app):
    from requests_gssapi import REQUIRED, HTTPSPNEGOAuth

    r = requests.get(waitress_app.base + "/kerberos", auth=HTTPSPNEGOAuth(mutual_authentication=REQUIRED))
    assert r.status_code == 200
    assert r.json()["user"] == "alice@AUTHGATE.TEST"
    # The mutual-authentication token, as Flask-Kerberos sends it; requests-gssapi has
    # checked it (REQUIRED raises MutualAuthenticationError otherwise).
    assert r.headers["WWW-Authenticate"].startswith("negotiate ")


def test_python_gssapi_checks_the_mutual_token_and_an_altered_one_fails(waitress_app):
    import gssapi

    name = gssapi.Name("HTTP@localhost", gssapi.NameType.hostbased_service)
    spnego_mech = gssapi.OID.from_int_seq("1.3.6.1.5.5.2")
    flags = gssapi.RequirementFlag.mutual_authentication
    ctx = gssapi.SecurityContext(name=name, usage="initiate", mech=spnego_mech, flags=flags)
    r = requests.get(waitress_app.base + "/kerberos", headers={"Authorization": "Negotiate " + b64(ctx.step())})
    assert r.status_code == 200
    scheme, token = r.headers["WWW-Authenticate"].split(" ", 1)
    assert scheme == "negotiate"
    ctx.step(base64.b64decode(token))
    assert ctx.complete
    # A mutual token altered on the way: the client refuses it.
    other = gssapi.SecurityContext(name=name, usage="initiate", mech=spnego_mech, flags=flags)
    r = requests.get(waitress_app.base + "/kerberos", headers={"Authorization": "Negotiate " + b64(other.step())})
    assert r.status_code == 200
    altered = bytearray(base64.b64decode(r.headers["WWW-Authenticate"].split(" ", 1)[1]))
    altered[len(altered) // 2] ^= 1  # inside the encrypted part of the AP-REP
    # python-gssapi returns SPNEGO's error token and raises the error at the next use.
    with pytest.raises(gssapi.exceptions.GSSError, match="integrity"):
        other.step(bytes(altered))
        assert not other.complete


def test_bob_gets_his_own_principal_and_a_ticket_for_another_service_is_refused(waitress_app, kdc, tmp_path):
    import gssapi

    env = dict(os.environ, KRB5CCNAME=f"FILE:{tmp_path}/bob")
    subprocess.run(["kinit", "bob"], input=b"bob-secret\n", env=env, check=True, capture_output=True)
    code, body = curl("--negotiate", "-u", ":", waitress_app.base + "/kerberos", env=env)
    assert (code, json.loads(body)["user"]) == (200, "bob@AUTHGATE.TEST")
    # Wrong password: no ticket at all, so curl has nothing to send.
    r = subprocess.run(["kinit", "bob"], input=b"wrong\n", env=dict(env, KRB5CCNAME=f"FILE:{tmp_path}/bad"),
                       capture_output=True)
    assert r.returncode != 0
    code, _ = curl("--negotiate", "-u", ":", waitress_app.base + "/kerberos",
                   env=dict(env, KRB5CCNAME=f"FILE:{tmp_path}/bad"))
    assert code == 401
    # A genuine ticket, but for HTTP/elsewhere: the server has no key for it.
    name = gssapi.Name("HTTP@elsewhere", gssapi.NameType.hostbased_service)
    token = gssapi.SecurityContext(name=name, usage="initiate", mech=gssapi.OID.from_int_seq("1.3.6.1.5.5.2")).step()
    r = requests.get(waitress_app.base + "/kerberos", headers={"Authorization": "Negotiate " + b64(token)})
    assert (r.status_code, r.headers["WWW-Authenticate"]) == (401, "Negotiate")


def test_replayed_ap_req_is_refused(waitress_app):
    import gssapi

    name = gssapi.Name("HTTP@localhost", gssapi.NameType.hostbased_service)
    token = gssapi.SecurityContext(name=name, usage="initiate", mech=gssapi.OID.from_int_seq("1.3.6.1.5.5.2")).step()
    header = {"Authorization": "Negotiate " + b64(token)}
    assert requests.get(waitress_app.base + "/kerberos", headers=header).status_code == 200
    # The same AP-REQ again, on a new connection and on the first one's.
    assert requests.get(waitress_app.base + "/kerberos", headers=header).status_code == 401
    conn = OneConnection(waitress_app)
    assert conn.get("/kerberos", header["Authorization"])[0] == 401
    assert "Request is a replay" in waitress_app.log.read_text()


def test_expired_ticket_is_refused(waitress_app, kdc, tmp_path):
    import gssapi

    cc = f"FILE:{tmp_path}/short"
    env = dict(os.environ, KRB5CCNAME=cc)
    subprocess.run(["kinit", "-l", "3s", "bob"], input=b"bob-secret\n", env=env, check=True, capture_output=True)
    name = gssapi.Name("HTTP@localhost", gssapi.NameType.hostbased_service)
    store = {"ccache": cc}
    creds = gssapi.Credentials(usage="initiate", store=store)
    token = gssapi.SecurityContext(name=name, usage="initiate", creds=creds).step()
    time.sleep(6)  # past the ticket's end and the 2 s of clock skew the realm allows
    r = requests.get(waitress_app.base + "/kerberos", headers={"Authorization": "Negotiate " + b64(token)})
    assert r.status_code == 401
    log = waitress_app.log.read_text()
    assert "Ticket expired" in log or "Clock skew too great" in log
    # And the client, its ticket expired, has nothing left to send.
    code, _ = curl("--negotiate", "-u", ":", waitress_app.base + "/kerberos", env=env)
    assert code == 401


@pytest.mark.parametrize("value,status", [
    ("Negotiate", 400),
    ("Negotiate !!!notbase64", 400),
    ("Negotiate YIIBAA==", 400),  # truncated DER
    ("Negotiate " + "A" * 20000, 400),  # over the core's 16 KiB
    ("Negotiate " + b64(b"\x60\x0d\x06\x09\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x01\x00"), 401),  # krb5, garbage
    ("Negotiate " + b64(os.urandom(300)), 400),
])
def test_garbage_negotiate_tokens(waitress_app, value, status):
    r = requests.get(waitress_app.base + "/kerberos", headers={"Authorization": value})
    assert r.status_code == status, r.text


def test_truncated_kerberos_token(waitress_app):
    import gssapi

    name = gssapi.Name("HTTP@localhost", gssapi.NameType.hostbased_service)
    token = gssapi.SecurityContext(name=name, usage="initiate").step()
    for n in (1, 10, 100, len(token) // 2, len(token) - 1):
        r = requests.get(waitress_app.base + "/kerberos", headers={"Authorization": "Negotiate " + b64(token[:n])})
        assert r.status_code in (400, 401), (n, r.status_code)


# ------------------------------------------------------------------------------ NTLM


def test_curl_ntlm(waitress_app):
    code, body = curl("--ntlm", "-u", "alice:Secret-1", waitress_app.base + "/ntlm")
    assert (code, json.loads(body)) == (200, {"user": "alice"})
    # bob is kept as an NT hash only.
    code, body = curl("--ntlm", "-u", "bob:hunter2", waitress_app.base + "/ntlm")
    assert (code, json.loads(body)) == (200, {"user": "bob"})
    assert curl("--ntlm", "-u", "alice:wrong", waitress_app.base + "/ntlm")[0] == 401
    assert curl("--ntlm", "-u", "mallory:x", waitress_app.base + "/ntlm")[0] == 401
    log = waitress_app.log.read_text()
    assert refused(log, "BadCredentials", "NTLM") and refused(log, "UnknownUser", "NTLM")


def test_pyspnego_ntlmv2_with_mic_and_the_connection_stays_authenticated(waitress_app):
    conn = OneConnection(waitress_app)
    status, body, _ = spnego_handshake(waitress_app, "/ntlm", ntlm_client("alice", "Secret-1"), "NTLM", conn)
    assert (status, json.loads(body)) == (200, {"user": "alice"})
    status, _, body = conn.get("/ntlm")
    assert (status, json.loads(body)) == (200, {"user": "alice"})
    # Another connection is not.
    assert OneConnection(waitress_app).get("/ntlm")[0] == 401
    # Non-ASCII names and passwords (UTF-16 on the wire).
    status, body, _ = spnego_handshake(waitress_app, "/ntlm", ntlm_client("jürgen", "pässword"), "NTLM")
    assert (status, json.loads(body)) == (200, {"user": "jürgen"})


@pytest.mark.parametrize("level", ["0", "1", "2"])
def test_ntlmv1_and_lm_are_refused(waitress_app, monkeypatch, level):
    monkeypatch.setenv("LM_COMPAT_LEVEL", level)  # pyspnego: 0-2 answer LM / NTLMv1
    status, _, _ = spnego_handshake(waitress_app, "/ntlm", ntlm_client("alice", "Secret-1"), "NTLM")
    assert status == 401
    assert refused(waitress_app.log.read_text(), "NtlmV1Refused", "NTLM")


def test_replayed_authenticate_is_refused(waitress_app):
    status, _, sent = spnego_handshake(waitress_app, "/ntlm", ntlm_client("alice", "Secret-1"), "NTLM")
    assert status == 200
    negotiate, authenticate = sent
    # On a new connection, after a NEGOTIATE of its own: another server challenge.
    conn = OneConnection(waitress_app)
    assert conn.get("/ntlm", "NTLM " + b64(negotiate))[0] == 401
    assert conn.get("/ntlm", "NTLM " + b64(authenticate))[0] == 401
    # On a connection with no handshake.
    assert OneConnection(waitress_app).get("/ntlm", "NTLM " + b64(authenticate))[0] == 401
    log = waitress_app.log.read_text()
    assert refused(log, "BadCredentials", "NTLM") and refused(log, "NoHandshake", "NTLM")


@pytest.mark.parametrize("value,status", [
    ("NTLM", 400),
    ("NTLM ####", 400),
    ("NTLM TlRMTVNTUAAB", 400),  # truncated NEGOTIATE
    ("NTLM " + b64(b"NTLMSSP\0\x03\0\0\0" + b"\xff" * 60), 401),  # AUTHENTICATE, no handshake pending
    ("NTLM " + b64(b"NTLMSSP\0\x02\0\0\0" + bytes(40)), 400),  # a CHALLENGE sent back
    ("NTLM " + "A" * 5000, 400),
    ("NTLM " + b64(os.urandom(200)), 400),
])
def test_garbage_ntlm_tokens(waitress_app, value, status):
    r = requests.get(waitress_app.base + "/ntlm", headers={"Authorization": value})
    assert r.status_code == status, r.text


def test_truncated_authenticate(waitress_app):
    c = ntlm_client("alice", "Secret-1")
    conn = OneConnection(waitress_app)
    neg = c.step()
    _, challenge, _ = conn.get("/ntlm", "NTLM " + b64(neg))
    auth = c.step(base64.b64decode(challenge.split()[1]))
    for n in (8, 16, 63, 64, 100, len(auth) - 1):
        conn2 = OneConnection(waitress_app)
        conn2.get("/ntlm", "NTLM " + b64(neg))
        assert conn2.get("/ntlm", "NTLM " + b64(auth[:n]))[0] in (400, 401), n


def test_session_cookie_skips_the_handshake(kdc, tmp_path):
    proc, base, log = serve("waitress", kdc, tmp_path, APP_SECRET="session-secret")
    try:
        s = requests.Session()
        import spnego

        c = ntlm_client("alice", "Secret-1")
        r = s.get(base + "/ntlm", headers={"Authorization": "NTLM " + b64(c.step())})
        r = s.get(base + "/ntlm", headers={"Authorization": "NTLM " + b64(c.step(base64.b64decode(
            r.headers["WWW-Authenticate"].split()[1])))})
        assert r.status_code == 200 and "session" in s.cookies
        # A new connection with the signed session cookie: no handshake.
        r = requests.get(base + "/ntlm", cookies=s.cookies, headers={"Connection": "close"})
        assert (r.status_code, r.json()) == (200, {"user": "alice"})
        assert requests.get(base + "/ntlm").status_code == 401
        del spnego
    finally:
        stop(proc)


# ------------------------------------------------------------------------------ gunicorn, Negotiate package


def test_gunicorn_gthread_ntlm_and_negotiate(gunicorn_app):
    code, body = curl("--ntlm", "-u", "alice:Secret-1", gunicorn_app.base + "/ntlm")
    assert (code, json.loads(body)) == (200, {"user": "alice"})
    # package="Negotiate": Kerberos through GSSAPI ...
    code, body = curl("--negotiate", "-u", ":", gunicorn_app.base + "/ntlm")
    assert (code, json.loads(body)) == (200, {"user": "alice@AUTHGATE.TEST"})
    # ... raw NTLM under Negotiate (Windows outside the domain) ...
    import spnego

    c = spnego.client("alice", "Secret-1", hostname="localhost", service="HTTP", protocol="negotiate",
                      options=spnego.NegotiateOptions.use_ntlm)
    status, body, sent = spnego_handshake(gunicorn_app, "/ntlm", c, "Negotiate")
    assert sent[0].startswith(b"NTLMSSP\0") and (status, json.loads(body)) == (200, {"user": "alice"})


def test_gunicorn_spnego_wrapped_ntlm(gunicorn_app, monkeypatch):
    """SPNEGO offering NTLM only (no Kerberos on the client), with the mechListMIC both ways."""
    import spnego

    monkeypatch.setenv("KRB5_CONFIG", "/nonexistent")
    c = spnego.client("bob", "hunter2", hostname="localhost", service="HTTP", protocol="negotiate")
    status, body, sent = spnego_handshake(gunicorn_app, "/ntlm", c, "Negotiate")
    assert sent[0][:1] == b"\x60" and c.negotiated_protocol == "ntlm"
    assert (status, json.loads(body), c.complete) == (200, {"user": "bob"}, True)


# ------------------------------------------------------------------------------ Chromium


def chromium(kdc, extra_args=()):
    if not Path("/usr/bin/chromium").exists():
        pytest.fail("chromium is not installed (make python-test installs it)")
    from playwright.sync_api import sync_playwright

    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
            "--disable-component-update", "--disable-sync", "--no-first-run", *extra_args]
    env = dict(os.environ, **kdc.env)
    p = sync_playwright().start()
    return p, p.chromium.launch(executable_path="/usr/bin/chromium", args=args, env=env)


def test_chromium_negotiate_kerberos(waitress_app, kdc, tmp_path):
    netlog = tmp_path / "netlog.json"
    p, browser = chromium(kdc, ["--auth-server-allowlist=localhost", "--disable-auth-negotiate-cname-lookup",
                                f"--log-net-log={netlog}"])
    try:
        resp = browser.new_page().goto(waitress_app.base + "/kerberos")
        status = resp.status
        body = resp.text()
    finally:
        browser.close()
        p.stop()
    if status == 401:
        # Debian's chromium 156 refuses the Negotiate scheme when it creates the handler,
        # before any GSSAPI call, whatever the flags and managed policies (python/README.md,
        # "Browsers and Negotiate", lists what was tried): say so rather than pass or fail.
        # test_firefox_negotiate_kerberos is the browser that does Negotiate here.
        events = json.loads(netlog.read_text())
        types = {v: k for k, v in events["constants"]["logEventTypes"].items()}
        refused = [e for e in events["events"] if types.get(e["type"]) == "AUTH_HANDLER_CREATE_RESULT"
                   and e.get("params", {}).get("scheme") == "negotiate" and e["params"].get("net_error") == -339]
        if refused:
            pytest.skip("this Chromium build refuses Negotiate (ERR_UNSUPPORTED_AUTH_SCHEME at handler creation); "
                        "Firefox ESR covers browser Negotiate")
    assert status == 200, status
    assert json.loads(body)["user"] == "alice@AUTHGATE.TEST"


def test_chromium_ntlm(waitress_app, kdc, artifacts):
    p, browser = chromium(kdc)
    try:
        ctx = browser.new_context(http_credentials={"username": "alice", "password": "Secret-1"})
        page = ctx.new_page()
        resp = page.goto(waitress_app.base + "/ntlm-page")
        assert resp.status == 200
        assert page.inner_text("#user") == "alice"
        page.screenshot(path=str(artifacts / "chromium-ntlm.png"))
        # Wrong password: refused (headless Chromium reports the last 401 as an error).
        from playwright.sync_api import Error

        bad = browser.new_context(http_credentials={"username": "alice", "password": "nope"})
        with pytest.raises(Error, match="ERR_INVALID_AUTH_CREDENTIALS|ERR_UNEXPECTED"):
            r = bad.new_page().goto(waitress_app.base + "/ntlm-page")
            assert r.status == 401
            raise Error("ERR_INVALID_AUTH_CREDENTIALS (status 401)")
    finally:
        browser.close()
        p.stop()


def test_chromium_picks_ntlm_when_negotiate_and_ntlm_are_offered(gunicorn_app, kdc):
    """flask_sspi with package="Negotiate" offers Negotiate and NTLM; Chromium, given a
    password, gets through with NTLM (inside Negotiate or alone, whichever it supports)."""
    p, browser = chromium(kdc)
    try:
        ctx = browser.new_context(http_credentials={"username": "bob", "password": "hunter2"})
        page = ctx.new_page()
        resp = page.goto(gunicorn_app.base + "/ntlm")
        assert resp.status == 200
        assert json.loads(page.inner_text("body")) == {"user": "bob"}
    finally:
        browser.close()
        p.stop()


# ------------------------------------------------------------------------------ Firefox ESR

FIREFOX = shutil.which("firefox-esr")

#: A fresh profile's prefs: Negotiate for localhost, nothing that reaches out (one file,
#: shared with the C example's test).
FIREFOX_USER_JS = PY_DIR.parent / "tests" / "browser" / "firefox-negotiate.user.js"


def firefox_screenshot(url, home, ccache, kdc, shot):
    """Headless Firefox ESR, a fresh profile under `home`, the KDC's krb5.conf and the
    ticket cache `ccache`: loads `url` (following the Negotiate 401) and saves a screenshot."""
    if FIREFOX is None:
        pytest.fail("firefox-esr is not installed (make python-test installs it)")
    profile = home / "profile"
    profile.mkdir(parents=True)
    shutil.copyfile(FIREFOX_USER_JS, profile / "user.js")
    env = {**os.environ, **kdc.env, "KRB5CCNAME": ccache, "HOME": str(home), "MOZ_CRASHREPORTER_DISABLE": "1",
           "MOZ_REMOTE_SETTINGS_DEVTOOLS": "1"}  # so that the profile's services.settings.server holds
    env.pop("DISPLAY", None)
    proc = subprocess.Popen([FIREFOX, "--headless", "--no-remote", "--profile", str(profile), "--screenshot",
                             str(shot), url], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)  # its own process group: the browser and its children
            proc.wait()
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    assert shot.stat().st_size > 0


def firefox_requests(server, path):
    """What the server recorded of Firefox's requests for `path` (negotiate_app's REQUEST_LOG)."""
    lines = server.requests.read_text().splitlines() if server.requests.exists() else []
    return [r for r in map(json.loads, lines) if r["path"] == path and "Firefox/" in r["agent"]]


def test_firefox_negotiate_kerberos(waitress_app, kdc, tmp_path, artifacts):
    # alice's own ticket cache, from kinit against the suite's KDC.
    ccache = f"FILE:{tmp_path}/alice.ccache"
    subprocess.run(["kinit", "alice"], input=b"alice-secret\n", env=dict(os.environ, KRB5CCNAME=ccache),
                   check=True, capture_output=True)
    before = len(firefox_requests(waitress_app, "/kerberos"))
    firefox_screenshot(waitress_app.base + "/kerberos", tmp_path / "ff", ccache, kdc,
                       artifacts / "firefox-negotiate.png")
    seen = firefox_requests(waitress_app, "/kerberos")[before:]
    # The server's view: the challenge, then the same page with Firefox's Negotiate token,
    # accepted as alice (the SPNEGO-wrapped AP-REQ went through GSSAPI and the engine).
    assert [(r["status"], r["scheme"], r["user"]) for r in seen] == [
        (401, None, None), (200, "Negotiate", "alice@AUTHGATE.TEST")]

    # No ticket (an empty cache): Firefox has no token to send and stays at the 401.
    firefox_screenshot(waitress_app.base + "/kerberos", tmp_path / "ff-none", f"FILE:{tmp_path}/empty.ccache", kdc,
                       tmp_path / "none.png")
    seen = firefox_requests(waitress_app, "/kerberos")[before + 2:]
    assert seen and all(r["status"] == 401 and r["user"] is None for r in seen), seen
