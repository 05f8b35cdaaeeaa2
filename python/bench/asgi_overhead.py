"""Per-request auth overhead of authgate.fastapi against FastAPI's own HTTPBasic / HTTPBearer
with a constant-time compare in the app, measured side by side in ONE process.

Usage: python bench/asgi_overhead.py [rounds]   (make python-bench-asgi; default 20 rounds)

One FastAPI app holds every route; httpx's AsyncClient drives it in process (ASGITransport,
no sockets), one request at a time on one event loop. Rounds alternate between the routes;
within a round a block of requests to an open route and a block to the protected route run
back to back in this process's CPU time, and their difference is one sample (pairs cancel
slow drifts of the machine). The overhead is the median of all samples. Digest's client-side
hashing, timed alone, is taken off its overhead.

FastAPI's documented HTTPBasic example checks the password in a sync dependency (FastAPI runs
it in a worker thread); the same check in an async dependency runs on the loop. Both are
measured; authgate's dependencies are async and call sync callbacks on the loop.
"""
import asyncio
import base64
import hashlib
import re
import secrets
import statistics
import sys
import time

import httpx
from fastapi import Depends, FastAPI, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBasic, HTTPBasicCredentials, HTTPBearer

from authgate.fastapi import BasicAuth, BearerAuth, DigestAuth

USERS = {"john": "hello"}
TOKEN = "secret-token"
app = FastAPI()
fastapi_basic = HTTPBasic()
fastapi_bearer = HTTPBearer()


def compare(credentials: HTTPBasicCredentials) -> str:
    """FastAPI's docs' check: secrets.compare_digest of the password."""
    stored = USERS.get(credentials.username, "")
    if not (secrets.compare_digest(credentials.password.encode(), stored.encode()) and stored != ""):
        raise HTTPException(401, "Incorrect username or password", headers={"WWW-Authenticate": "Basic"})
    return credentials.username


def check_basic_sync(credentials: HTTPBasicCredentials = Depends(fastapi_basic)) -> str:
    """FastAPI's docs' example: a sync dependency (run in a worker thread)."""
    return compare(credentials)


async def check_basic_async(credentials: HTTPBasicCredentials = Depends(fastapi_basic)) -> str:
    return compare(credentials)


async def check_bearer_async(credentials: HTTPAuthorizationCredentials = Depends(fastapi_bearer)) -> str:
    if not secrets.compare_digest(credentials.credentials.encode(), TOKEN.encode()):
        raise HTTPException(401, "Invalid token", headers={"WWW-Authenticate": "Bearer"})
    return "john"


ag_basic_cb = BasicAuth("bench", verify_password=lambda u, p: u if secrets.compare_digest(
    p.encode(), USERS.get(u, "").encode()) and u in USERS else None)
ag_basic_users = BasicAuth("bench", users=USERS)
ag_bearer = BearerAuth(tokens={TOKEN: "john"})
ag_digest = DigestAuth("bench", users=USERS, key=b"k" * 32)


@app.get("/open")
async def open_route():
    return "ok"


def route(path, dep):
    @app.get(path)
    async def protected(user=Depends(dep)):
        return "ok"


route("/fastapi-basic-sync", check_basic_sync)
route("/fastapi-basic-async", check_basic_async)
route("/fastapi-bearer", check_bearer_async)
route("/authgate-basic-callback", ag_basic_cb)
route("/authgate-basic-users", ag_basic_users)
route("/authgate-bearer", ag_bearer)
route("/authgate-digest", ag_digest)

BASIC = {"Authorization": "Basic " + base64.b64encode(b"john:hello").decode()}
BEARER = {"Authorization": "Bearer " + TOKEN}
CASES = [
    ("fastapi-basic-sync", BASIC), ("fastapi-basic-async", BASIC), ("authgate-basic-callback", BASIC),
    ("authgate-basic-users", BASIC), ("fastapi-bearer", BEARER), ("authgate-bearer", BEARER),
    ("authgate-digest", None),
]


async def main(rounds):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as c:
        r = await c.get("/authgate-digest")
        ch = dict(re.findall(r'(\w+)="([^"]*)"', r.headers["www-authenticate"]))
        ha1 = hashlib.sha256(f"john:{ch['realm']}:hello".encode()).hexdigest()
        ha2 = hashlib.sha256(b"GET:/authgate-digest").hexdigest()
        nc = [0]

        def digest_header():
            nc[0] += 1
            ncs = "%08x" % nc[0]
            resp = hashlib.sha256(f"{ha1}:{ch['nonce']}:{ncs}:abc:auth:{ha2}".encode()).hexdigest()
            return {"Authorization": f'Digest username="john", realm="{ch["realm"]}", nonce="{ch["nonce"]}", '
                                     f'uri="/authgate-digest", algorithm=SHA-256, qop=auth, nc={ncs}, '
                                     f'cnonce="abc", response="{resp}"'}

        async def block(path, headers, n):
            t0 = time.process_time()
            for _ in range(n):
                h = digest_header() if headers is None else headers
                r = await c.get(path, headers=h)
                assert r.status_code == 200, (path, r.status_code, r.text)
            return (time.process_time() - t0) / n * 1e6

        def client_cost(n=2000):
            t0 = time.process_time()
            for _ in range(n):
                digest_header()
            return (time.process_time() - t0) / n * 1e6

        for path, headers in CASES:
            await block("/" + path, headers, 50)
        samples = {name: [] for name, _ in CASES}
        for _ in range(rounds):
            for name, headers in CASES:
                for _ in range(2):
                    o = await block("/open", BASIC, 100)
                    p = await block("/" + name, headers, 100)
                    samples[name].append(p - o - (client_cost() if headers is None else 0.0))
    return {name: statistics.median(v) for name, v in samples.items()}


if __name__ == "__main__":
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    ovh = asyncio.run(main(rounds))
    for name, v in ovh.items():
        print(f"{name:26s} {v:7.1f} us")
    print(f"ratio basic (authgate callback / FastAPI async HTTPBasic) = "
          f"{ovh['authgate-basic-callback'] / ovh['fastapi-basic-async']:.3f}")
    print(f"ratio basic (authgate callback / FastAPI docs' sync HTTPBasic) = "
          f"{ovh['authgate-basic-callback'] / ovh['fastapi-basic-sync']:.3f}")
    print(f"ratio bearer (authgate tokens / FastAPI HTTPBearer) = {ovh['authgate-bearer'] / ovh['fastapi-bearer']:.3f}")
