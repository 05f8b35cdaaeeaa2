"""Per-request authentication overhead: authgate.flask vs Flask-HTTPAuth 4.8.1.

The method is that of the team's shared overhead_pair.py, by which issue 16's goal is judged:
each library gets its own Flask app with the same callbacks, and each route its own test
client, so a cookie one scheme sets (Flask-HTTPAuth keeps Digest nonces in the session) is
paid by that scheme's requests only. Rounds alternate between the libraries and their routes;
within a round a block of requests to an open route and a block to the protected one run back
to back in this process's CPU time, and their difference is one sample. The overhead is the
median of all samples; for Digest the client's own hashing, timed alone, is taken off.

A third column is the floor: the same measurement for decorators that check nothing
(floor_auth.py: Basic and Token return the view itself, so the protected route runs exactly the
code of the open one; Digest adds one frame that challenges a request without credentials).
Through the test client a protected request carries an Authorization header, whose handling by
the test client costs every library the same few µs: the floor is what no implementation can go
below. The last column, the budget, is what the goal leaves for an actual check (goal x
Flask-HTTPAuth's overhead - floor); below zero, the goal is out of reach of any library under
this method.

Goal (issue 16): authgate's overhead <= 0.25 of Flask-HTTPAuth's for Basic and Token, <= 0.10
for Digest.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import importlib
import re
import statistics
import time
import types
from typing import Any, Callable, Dict

from flask import Flask

GOALS = {"basic": 0.25, "token": 0.25, "digest": 0.10}
USERS = {"john": "hello"}


def build(mod: types.ModuleType) -> Dict[str, Callable[[], Any]]:
    app = Flask(mod.__name__)
    app.config["SECRET_KEY"] = "bench secret"
    basic, digest, token = mod.HTTPBasicAuth(), mod.HTTPDigestAuth(), mod.HTTPTokenAuth()
    basic.verify_password(lambda u, p: u if USERS.get(u) == p else None)
    digest.get_password(lambda u: USERS.get(u))
    token.verify_token(lambda t: "john" if t == "secret-token" else None)
    app.add_url_rule("/open", "open", lambda: "ok")
    app.add_url_rule("/basic", "basic", basic.login_required(lambda: "ok"))
    app.add_url_rule("/digest", "digest", digest.login_required(lambda: "ok"))
    app.add_url_rule("/token", "token", token.login_required(lambda: "ok"))
    co, cb, ct, cd = (app.test_client() for _ in range(4))
    hb = {"Authorization": "Basic " + base64.b64encode(b"john:hello").decode()}
    ht = {"Authorization": "Bearer secret-token"}
    r = cd.get("/digest")
    assert r.status_code == 401
    ch = dict(re.findall(r'(\w+)="([^"]*)"', r.headers["WWW-Authenticate"]))
    ha1 = hashlib.md5(f"john:{ch['realm']}:hello".encode()).hexdigest()
    ha2 = hashlib.md5(b"GET:/digest").hexdigest()
    nc = [0]

    def header(ncs: str) -> str:
        resp = hashlib.md5(f"{ha1}:{ch['nonce']}:{ncs}:abc:auth:{ha2}".encode()).hexdigest()
        return ('Digest username="john",realm="%s",nonce="%s",uri="/digest",qop=auth,nc=%s,'
                'cnonce="abc",response="%s",opaque="%s"' % (ch["realm"], ch["nonce"], ncs, resp, ch["opaque"]))

    def dig() -> None:
        nc[0] += 1
        rr = cd.get("/digest", headers={"Authorization": header("%08x" % nc[0])})
        assert rr.status_code == 200, rr.status_code

    assert cb.get("/basic", headers=hb).status_code == 200
    assert ct.get("/token", headers=ht).status_code == 200
    return {"open": lambda: co.get("/open"), "basic": lambda: cb.get("/basic", headers=hb),
            "token": lambda: ct.get("/token", headers=ht), "digest": dig,
            "digest_client": lambda: header("00000001")}


def per_request(fn: Callable[[], Any], n: int) -> float:
    t0 = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - t0) / n * 1e6


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("--block", type=int, default=100, help="requests per block")
    a = p.parse_args()
    libs = {"Flask-HTTPAuth": importlib.import_module("flask_httpauth"),
            "authgate": importlib.import_module("authgate.flask"), "floor": importlib.import_module("floor_auth")}
    apps = {name: build(mod) for name, mod in libs.items()}
    kinds = ("basic", "token", "digest")
    samples: Dict[str, Dict[str, list]] = {name: {k: [] for k in kinds} for name in apps}
    for _ in range(a.rounds):
        for name, f in apps.items():
            for k in kinds:
                for _ in range(2):
                    o = per_request(f["open"], a.block)
                    prot = per_request(f[k], a.block)
                    c = per_request(f["digest_client"], a.block) if k == "digest" else 0.0
                    samples[name][k].append(prot - o - c)
    med = {name: {k: statistics.median(v) for k, v in s.items()} for name, s in samples.items()}
    print("Per-request auth overhead, µs of CPU time (overhead_pair.py's method, "
          f"{a.rounds} rounds of {a.block}-request blocks)")
    print(f"{'scheme':8s} {'Flask-HTTPAuth':>14s} {'authgate':>9s} {'ratio':>6s} {'goal':>5s} {'ok':>3s}"
          f" {'floor':>7s} {'floor ratio':>11s} {'budget':>7s}")
    for k in kinds:
        fha, ag, fl = med["Flask-HTTPAuth"][k], med["authgate"][k], med["floor"][k]
        ratio = ag / fha
        ok = "yes" if ratio <= GOALS[k] else "no"
        budget = GOALS[k] * fha - fl
        print(f"{k.capitalize():8s} {fha:14.1f} {ag:9.1f} {ratio:6.3f} {GOALS[k]:5.2f} {ok:>3s} {fl:7.1f} {fl / fha:11.3f}"
              f" {budget:7.1f}")


if __name__ == "__main__":
    main()
