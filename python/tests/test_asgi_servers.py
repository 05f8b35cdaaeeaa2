"""authgate.fastapi under a real uvicorn with several worker processes (tests/asgi_app.py), on
a free loopback port, stopped by pid; driven by curl (--digest SHA-256 and MD5, --basic),
requests and httpx (async). The workers share the nonce key (a nonce one issues, another
accepts) and a replay store (a captured header is refused by every worker)."""
import asyncio
import json
import os
import time
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import jwt as pyjwt
import pytest
import requests
from requests.auth import HTTPDigestAuth

from conftest import free_port, stop, wait_port

pytestmark = pytest.mark.slow
HERE = Path(__file__).resolve().parent
WORKERS = 3
# One secret per run: servers of other runs on this host share no replay segment with ours.
KEY = "one key for every worker " + os.urandom(8).hex()


def uvicorn_server(tmp_path, env):
    port = free_port()
    log = tmp_path / "uvicorn.log"
    uvicorn = str(Path(sys.executable).with_name("uvicorn"))
    proc = subprocess.Popen([uvicorn, "asgi_app:app", "--app-dir", str(HERE), "--host", "127.0.0.1",
                             "--port", str(port), "--workers", str(WORKERS), "--no-access-log"],
                            env=dict(os.environ, **env), stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_port(port, proc=proc)
        pids = set()
        for _ in range(500):
            pids.add(requests.get(base + "/open", headers={"Connection": "close"}).headers["X-Served-By"])
            if len(pids) == WORKERS:
                break
        assert len(pids) == WORKERS, f"only {len(pids)} workers answered: {log.read_text()}"
        return proc, base
    except BaseException:
        stop(proc)
        raise


@pytest.fixture(scope="module")
def server(redis_server, tmp_path_factory):
    """Workers sharing a RedisNonceStore (asked in a worker thread, off the event loop)."""
    proc, base = uvicorn_server(tmp_path_factory.mktemp("uvicorn"), {
        "ASGI_APP_KEY": KEY, "ASGI_APP_STORE": "redis", "ASGI_APP_REDIS": redis_server})
    try:
        yield base
    finally:
        stop(proc)


@pytest.fixture(scope="module", params=["async-redis", "default"])
def store_server(request, redis_server, tmp_path_factory):
    """Workers sharing AsyncRedisNonceStore (awaited on the loop), or authgate's default store
    (shared by the processes of this host)."""
    proc, base = uvicorn_server(tmp_path_factory.mktemp("uvicorn"), {
        "ASGI_APP_KEY": KEY, "ASGI_APP_STORE": request.param, "ASGI_APP_REDIS": redis_server})
    try:
        yield base
    finally:
        stop(proc)


def curl(*args):
    exe = shutil.which("curl")
    assert exe, "curl is not installed"
    return subprocess.run([exe, "-s", *args], capture_output=True, text=True, timeout=30).stdout


def test_curl_digest_sha256_md5_and_basic(server):
    out = curl("-i", "--digest", "-u", "alice:wonder land", server + "/digest")
    assert "HTTP/1.1 200" in out, out
    # curl answers the first (preferred) challenge.
    assert json.loads(out.split("\n\n")[-1]) == {"user": "alice", "algorithm": "SHA-256"}
    assert "authentication-info: rspauth=" in out.lower()
    out = curl("--digest", "-u", "bob:builder", server + "/md5")
    assert json.loads(out) == {"user": "bob", "algorithm": "MD5"}
    assert json.loads(curl("--basic", "-u", "bob:builder", server + "/basic")) == {"user": "bob"}
    assert json.loads(curl("--digest", "-u", "bob:builder", server + "/any")) == {"user": "bob", "scheme": "Digest"}
    for args in (("--digest", "-u", "alice:nope", server + "/digest"), ("--basic", "-u", "alice:nope", server + "/basic"),
                 ("--digest", "-u", "mallory:x", server + "/md5"), (server + "/digest",)):
        assert curl("-o", "/dev/null", "-w", "%{http_code}", *args) == "401", args


def test_curl_no_credentials_gets_challenges_and_malformed_is_400(server):
    out = curl("-i", server + "/any")
    assert out.startswith("HTTP/1.1 401")
    fields = [line.split(":", 1)[1].strip() for line in out.splitlines() if line.lower().startswith("www-authenticate:")]
    assert [f.split()[0] for f in fields] == ["Digest", "Digest", "Basic", "Bearer"], fields
    assert 'algorithm=SHA-256' in fields[0] and 'algorithm=MD5' in fields[1]
    for header in ("Digest", "Basic !!!", 'Digest username="x", response="anything"', "Digest a=1, a=1"):
        code = curl("-o", "/dev/null", "-w", "%{http_code}", "-H", f"Authorization: {header}", server + "/any")
        assert code == "400", (header, code)
    code = curl("-o", "/dev/null", "-w", "%{http_code}", "-H", "Authorization: Basic Ym9iOmJ1aWxkZXI=",
                "-H", "Authorization: Basic Ym9iOmJ1aWxkZXI=", server + "/basic")
    assert code == "400"


def test_requests_digest_and_basic(server):
    s = requests.Session()
    s.auth = HTTPDigestAuth("bob", "builder")
    for _ in range(5):
        r = s.get(server + "/digest")
        assert r.status_code == 200 and r.json()["user"] == "bob"
    assert "authentication-info" in r.headers
    r = requests.get(server + "/basic", auth=("alice", "wonder land"))
    assert r.json() == {"user": "alice"}
    assert requests.get(server + "/bearer", headers={"Authorization": "Bearer t-alice"}).json() == {"user": "alice"}
    assert requests.get(server + "/bearer", headers={"Authorization": "Bearer t-bob"}).status_code == 401
    token = pyjwt.encode({"sub": "carol", "aud": "asgi", "exp": int(time.time()) + 60}, KEY, algorithm="HS256")
    assert requests.get(server + "/jwt", headers={"Authorization": f"Bearer {token}"}).json()["sub"] == "carol"
    expired = pyjwt.encode({"sub": "carol", "aud": "asgi", "exp": int(time.time()) - 60}, KEY, algorithm="HS256")
    r = requests.get(server + "/jwt", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == ('Bearer realm="Authentication Required", error="invalid_token", '
                                             'error_description="Signature has expired"')


def test_httpx_async_concurrent_clients_across_workers(server):
    async def run():
        async def one(i):
            user, password = ("alice", "wonder land") if i % 2 else ("bob", "builder")
            async with httpx.AsyncClient(auth=httpx.DigestAuth(user, password), base_url=server) as c:
                results = []
                for _ in range(4):
                    # A new connection each time: the nonce travels between workers.
                    r = await c.get("/digest", headers={"Connection": "close"})
                    results.append((r.status_code, r.json().get("user"), r.headers["X-Served-By"]))
                return user, results

        return await asyncio.gather(*(one(i) for i in range(12)))

    served_by = set()
    for user, results in asyncio.run(run()):
        for status, who, pid in results:
            assert (status, who) == (200, user)
            served_by.add(pid)
    assert len(served_by) > 1


def test_replay_refused_on_every_worker(server):
    replay_refused_on_every_worker(server)


def test_replay_refused_on_every_worker_async_redis_and_default_store(store_server):
    assert json.loads(curl("--digest", "-u", "bob:builder", store_server + "/digest"))["user"] == "bob"
    replay_refused_on_every_worker(store_server)


def replay_refused_on_every_worker(server):
    for path in ("/digest", "/md5"):
        s = requests.Session()
        s.auth = HTTPDigestAuth("alice", "wonder land")
        r = s.get(server + path)
        assert r.status_code == 200
        captured = r.request.headers["Authorization"]
        refused_by = set()
        for _ in range(300):
            r = requests.get(server + path, headers={"Authorization": captured, "Connection": "close"})
            assert r.status_code == 401, "a replayed header was accepted"
            refused_by.add(r.headers["X-Served-By"])
            if len(refused_by) == WORKERS:
                break
        assert len(refused_by) == WORKERS, refused_by


def test_openapi_of_the_running_server_lists_the_schemes(server):
    doc = requests.get(server + "/openapi.json").json()
    assert doc["components"]["securitySchemes"] == {
        "DigestAuth": {"type": "http", "scheme": "digest"},
        "DigestMD5": {"type": "http", "scheme": "digest"},
        "BasicAuth": {"type": "http", "scheme": "basic"},
        "BearerAuth": {"type": "http", "scheme": "bearer"},
        "JwtAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    }
    assert doc["paths"]["/any"]["get"]["security"] == [{"DigestAuth": []}, {"BasicAuth": []}, {"BearerAuth": []}]
    assert "security" not in doc["paths"]["/open"]["get"]
