"""Real servers and clients on 127.0.0.1: the demo under gunicorn (4 workers) sharing a
real redis-server; curl, requests, httpx and headless Chromium log in; a captured header
replayed is refused by every worker; concurrent honest clients are never refused."""
import base64
import json
import os
import shutil
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from requests.auth import HTTPDigestAuth

from conftest import free_port, stop, wait_port

pytestmark = pytest.mark.slow
PY_DIR = Path(__file__).resolve().parent.parent
USERS = {"alice": "wonder land", "bob": "builder"}


@pytest.fixture(scope="module")
def server(redis_server, tmp_path_factory):
    port = free_port()
    env = dict(os.environ, AUTHGATE_DEMO_USERS=json.dumps(USERS), AUTHGATE_DEMO_SECRET="shared-secret-for-all-workers",
               AUTHGATE_DEMO_REDIS=redis_server, PYTHONPATH=str(PY_DIR))
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    proc = subprocess.Popen([gunicorn, "-w", "4", "-b", f"127.0.0.1:{port}", "--access-logfile", "-",
                             "demo:create_app()"], cwd=PY_DIR, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    try:
        wait_port(port, proc=proc)
        base = f"http://127.0.0.1:{port}"
        # Wait until all four workers answer.
        pids = set()
        for _ in range(400):
            pids.add(requests.get(base + "/healthz", headers={"Connection": "close"}).headers["X-Served-By"])
            if len(pids) == 4:
                break
        yield base
    finally:
        stop(proc)


def test_curl_basic_and_digest(server):
    curl = shutil.which("curl")
    assert curl, "curl is not installed"
    for mode in ("--basic", "--digest"):
        out = subprocess.run([curl, "-s", "-i", mode, "-u", "alice:wonder land", server + "/api/secret"],
                             capture_output=True, text=True, timeout=30).stdout
        assert "HTTP/1.1 200" in out, out
        assert "flowerpot" in out
        if mode == "--digest":
            assert "X-Authgate-Algorithm: SHA-256" in out  # curl takes the first (preferred) challenge
            assert "Authentication-Info: rspauth=" in out
    out = subprocess.run([curl, "-s", "-o", "/dev/null", "-w", "%{http_code}", "--digest", "-u", "alice:nope",
                          server + "/api/secret"], capture_output=True, text=True, timeout=30).stdout
    assert out == "401"
    # The Flask-HTTPAuth drop-in route, same users, same keys.
    out = subprocess.run([curl, "-s", "--digest", "-u", "bob:builder", server + "/api/legacy"],
                         capture_output=True, text=True, timeout=30).stdout
    assert json.loads(out) == {"user": "bob", "algorithm": "SHA-256"}


def test_requests_digest(server):
    s = requests.Session()
    s.auth = HTTPDigestAuth("bob", "builder")
    for _ in range(5):
        r = s.get(server + "/api/status")
        assert r.status_code == 200
    # requests reads the last Digest challenge of a joined header: MD5 here.
    assert r.json()["algorithm"] in ("MD5", "SHA-256") and r.json()["user"] == "bob"
    r = s.post(server + "/api/light", json={"on": True})
    assert r.json() == {"light": "on"}


def test_httpx_digest_sha256(server):
    import httpx

    with httpx.Client(auth=httpx.DigestAuth("alice", "wonder land")) as c:
        r = c.get(server + "/api/status")
        assert r.status_code == 200
        assert r.json()["algorithm"] == "SHA-256"
        assert "algorithm=SHA-256" in r.request.headers["authorization"]
        r = c.get(server + "/api/legacy")
        assert r.json() == {"user": "alice", "algorithm": "SHA-256"}


def test_replay_refused_on_every_worker(server):
    s = requests.Session()
    s.auth = HTTPDigestAuth("alice", "wonder land")
    r = s.get(server + "/api/secret")
    assert r.status_code == 200
    captured = r.request.headers["Authorization"]
    refused_by = set()
    for _ in range(400):
        r = requests.get(server + "/api/secret", headers={"Authorization": captured, "Connection": "close"})
        assert r.status_code == 401, "a replayed header was accepted"
        refused_by.add(r.headers["X-Served-By"])
        if len(refused_by) == 4:
            break
    assert len(refused_by) == 4, refused_by


def honest_digest_client(server, i, requests_made, used=None):
    """Client `i` (alice or bob) makes Digest requests on one nonce with increasing nc; each
    on a new connection, so its nc sequence spreads over the workers. `used(header)` gets
    every Authorization header that was accepted."""
    s = requests.Session()
    name = "alice" if i % 2 else "bob"
    s.auth = HTTPDigestAuth(name, USERS[name])
    codes = []
    for _ in range(requests_made):
        r = s.get(server + "/api/status", headers={"Connection": "close"})
        codes.append(r.status_code)
        if used and r.status_code == 200:
            used(r.request.headers["Authorization"])
    return codes


def test_concurrent_honest_clients_never_refused(server):
    with ThreadPoolExecutor(8) as ex:
        results = [c for codes in ex.map(lambda i: honest_digest_client(server, i, 25), range(8)) for c in codes]
    assert len(results) == 200 and set(results) == {200}, results.count(401)


def test_chromium_digest_sha256(server, artifacts):
    if not Path("/usr/bin/chromium").exists():
        pytest.fail("chromium is not installed (make python-test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                          "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            ctx = browser.new_context(http_credentials={"username": "alice", "password": "wonder land"})
            page = ctx.new_page()
            resp = page.goto(server + "/")
            assert resp.status == 200
            assert resp.headers["x-authgate-scheme"] == "Digest"
            assert resp.headers["x-authgate-algorithm"] == "SHA-256"
            assert page.inner_text("#user") == "alice"
            assert page.inner_text("#algorithm") == "SHA-256"
            page.screenshot(path=str(artifacts / "chromium-digest-sha256.png"), full_page=True)
            # Without credentials the browser gets the 401 (headless Chromium reports it as
            # a navigation error, having no one to ask for a password).
            from playwright.sync_api import Error

            ctx2 = browser.new_context()
            with pytest.raises(Error, match="ERR_INVALID_AUTH_CREDENTIALS"):
                ctx2.new_page().goto(server + "/")
        finally:
            browser.close()
    assert (artifacts / "chromium-digest-sha256.png").stat().st_size > 1000


def demo_recipe():
    """The command `make demo` runs, as make prints it (its prerequisites are not run)."""
    out = subprocess.run(["make", "-n", "-s", "demo"], cwd=PY_DIR.parent, capture_output=True, text=True, timeout=60)
    (line,) = [line for line in out.stdout.splitlines() if "-m demo" in line]
    return line


def test_make_demo_https_with_relative_cert_and_key(tmp_path):
    """`make demo ARGS="--cert c.pem --key k.pem"` serves HTTPS with paths relative to where
    make runs (before: the recipe ran in python/ and the paths were not found), and prints the
    URL, the user and password, and a curl line."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("openssl is not installed (make python-test installs it)")
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True, timeout=60)
    root = PY_DIR.parent
    rel = lambda p: os.path.relpath(p, root)  # noqa: E731
    recipe = demo_recipe()
    args = f" --user carol --password s3cret --port 0 --cert {rel(cert)} --key {rel(key)}"
    proc = subprocess.Popen(recipe + args, shell=True, cwd=root, stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        first = proc.stdout.readline()
        assert first.startswith("authgate demo: https://127.0.0.1:")
        url = first.split()[2]
        lines = [proc.stdout.readline() for _ in range(2)]
        assert "sign in as carol with password s3cret" in lines[0]
        curl_line = lines[1].split("try:", 1)[1].strip()
        assert curl_line.startswith("curl -k --digest -u carol:s3cret https://127.0.0.1:")
        out = subprocess.run(curl_line.split() + ["-s"], capture_output=True, text=True, timeout=30).stdout
        assert json.loads(out)["user"] == "carol"
        import urllib3

        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        assert requests.get(url + "api/status", verify=False).status_code == 401
    finally:
        # The shell and the demo under it: a process group of their own, stopped by its id.
        if proc.poll() is None:
            os.killpg(proc.pid, 15)
        proc.wait(10)
    missing = subprocess.run(recipe + " --cert nope.pem --key nope.key", shell=True, cwd=root, capture_output=True,
                             text=True, timeout=60)
    assert missing.returncode == 2 and "--cert nope.pem: no such file" in missing.stderr


def test_two_authorization_fields_are_400(server):
    """Header smuggling: a valid field followed (or preceded) by another is never let in.
    gunicorn joins repeated fields with ", ", which the core refuses as malformed."""
    curl = shutil.which("curl")
    good = "Basic " + base64.b64encode(b"alice:wonder land").decode()
    for fields in ([good, "Basic Ym9iOm5vcGU="], ["Basic Ym9iOm5vcGU=", good], [good, good]):
        args = [curl, "-s", "-o", "/dev/null", "-w", "%{http_code}"]
        for f in fields:
            args += ["-H", f"Authorization: {f}"]
        out = subprocess.run(args + [server + "/api/secret"], capture_output=True, text=True, timeout=30).stdout
        assert out == "400", (fields, out)


def test_stress_honest_and_replaying_clients_together(server):
    """Issue 6's stress on the shared Redis store: honest Digest clients and attackers that
    replay every header the honest ones used, at the same time, over all four workers.
    Every replay is refused; no honest request is."""
    import queue

    captured: "queue.Queue[str | None]" = queue.Queue()
    replay_codes = []

    def attacker():
        codes = []
        while (header := captured.get(timeout=60)) is not None:
            r = requests.get(server + "/api/status", headers={"Authorization": header, "Connection": "close"})
            codes.append((r.status_code, r.headers.get("X-Served-By")))
        return codes

    with ThreadPoolExecutor(12) as ex:
        attackers = [ex.submit(attacker) for _ in range(4)]
        honest_results = list(ex.map(lambda i: honest_digest_client(server, i, 30, captured.put), range(8)))
        for _ in attackers:
            captured.put(None)
        for a in attackers:
            replay_codes += a.result(timeout=120)
    honest_codes = [c for codes in honest_results for c in codes]
    assert len(honest_codes) == 240 and set(honest_codes) == {200}, f"honest refused: {honest_codes.count(401)}"
    assert len(replay_codes) == 240, len(replay_codes)
    accepted = [c for c in replay_codes if c[0] != 401]
    assert not accepted, f"replays not refused: {accepted[:5]}"
    assert len({worker for _, worker in replay_codes}) == 4, "replays reached every worker"
