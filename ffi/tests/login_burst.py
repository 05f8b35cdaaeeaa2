#!/usr/bin/env python3
"""A burst of Digest logins against the example server, each on a nonce of its own, then
logins on never-used nonces. Standard library only: http.client on one keep-alive
connection (127.0.0.1), the Digest response computed here (RFC 7616 §3.4.1).

Usage: login_burst.py URL USER PASSWORD BURST FRESH
Prints the counts and "N passed, N failed"; exits 1 when any login in the burst or on a
fresh nonce was refused (stale or otherwise)."""
import hashlib
import http.client
import re
import sys
import time
import urllib.parse

url, user, password, burst, fresh = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
u = urllib.parse.urlsplit(url)
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)


def request(headers):
    conn.request("GET", u.path, headers=headers)
    r = conn.getresponse()
    r.read()
    return r


def challenge():
    r = request({})
    assert r.status == 401, r.status
    for value in r.headers.get_all("WWW-Authenticate"):
        m = re.search(r'algorithm=SHA-256, nonce="([0-9a-f]+)"', value)
        if m:
            realm = re.search(r'realm="([^"]*)"', value).group(1)
            return realm, m.group(1)
    raise AssertionError("no SHA-256 challenge")


def h(s):
    return hashlib.sha256(s.encode()).hexdigest()


def login(realm, nonce):
    cnonce, nc = "0a4f113b", "00000001"
    ha1, ha2 = h(f"{user}:{realm}:{password}"), h(f"GET:{u.path}")
    response = h(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
    auth = (f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{u.path}", algorithm=SHA-256, '
            f'qop=auth, nc={nc}, cnonce="{cnonce}", response="{response}"')
    r = request({"Authorization": auth})
    stale = "stale=true" in " ".join(r.headers.get_all("WWW-Authenticate") or [])
    return r.status, stale


start = time.monotonic()
counts = {"burst_ok": 0, "burst_refused": 0, "fresh_ok": 0, "fresh_stale": 0, "fresh_refused": 0}
for _ in range(burst):
    status, _ = login(*challenge())
    counts["burst_ok" if status == 200 else "burst_refused"] += 1
elapsed = time.monotonic() - start
for _ in range(fresh):
    status, stale = login(*challenge())
    counts["fresh_ok" if status == 200 else "fresh_stale" if stale else "fresh_refused"] += 1
print(f"{burst} logins in {elapsed:.2f} s, then {fresh} never-used nonces: {counts}")
failed = counts["burst_refused"] + counts["fresh_stale"] + counts["fresh_refused"]
print(f"{burst + fresh - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
