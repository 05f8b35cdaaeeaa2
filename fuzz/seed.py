#!/usr/bin/env python3
"""Write the seed corpus of every fuzz target from tests/vectors/authgate.vectors.

    python3 fuzz/seed.py            # fills fuzz/corpus/<target>/ (not committed)

Stdlib only. Each seed is named after its content's SHA-1, as libFuzzer names corpus
files, so re-running adds nothing twice. The byte layouts are the ones the targets read
(fuzz/fuzz_targets/*.rs, `Reader`: u8, little-endian u16/u32, strings with a 1- or 2-byte
length).
"""

import hashlib
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(HERE, "..", "tests", "vectors", "authgate.vectors")
CORPUS = os.path.join(HERE, "corpus")
TARGETS = ("parse", "basic", "digest", "render", "htfile", "ffi", "jwt", "ntlm")

sys.path.insert(0, os.path.join(HERE, "..", "tests", "vectors"))
from generate import unesc  # noqa: E402  (the vector file's own unescaping, FORMAT.md)


def read_vectors():
    cases = []
    with open(VECTORS, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            fields = {}
            for field in line.split("\t"):
                k, _, v = field.partition("=")
                fields[k] = unesc(v)
            cases.append(fields)
    return cases


def u8(n):
    return bytes([n & 0xFF])


def u16(n):
    return struct.pack("<H", n & 0xFFFF)


def u32(n):
    return struct.pack("<I", n & 0xFFFFFFFF)


def s8(b):
    b = b[:255]
    return u8(len(b)) + b


def s16(b):
    b = b[:65535]
    return u16(len(b)) + b


# Indexes into the targets' tables (digest.rs ALGS / QOPS).
ALG_SEL = {b"MD5": 1, b"MD5-sess": 3, b"SHA-256": 4, b"SHA-256-sess": 6, b"SHA-512-256": 7,
           b"SHA-512-256-sess": 8}
QOP_SEL = {None: 0, b"auth": 1, b"auth-int": 2}


def digest_step(c, splice=b""):
    """One request step of the digest target shaped like vector case `c` (its nonce is
    replaced by one the engine issued: nonce_sel 0)."""
    qop = c.get("qop")
    style = 1 if "userhash" in c else 0
    return b"".join([
        u8(2),                       # op: a request
        u16(22),                     # time: issued + 1 s (even: (22 >> 1) - 10)
        u8(0), s8(b""),              # nonce: pool[0]; garbage
        u8(0), s8(b""),              # user: Mufasa; fuzz name
        u8(0), s8(b""),              # right password; fuzz password
        u8(ALG_SEL.get(c.get("algorithm"), 0)),
        u8(QOP_SEL.get(qop, 1)),
        u32(int(c.get("nc", b"1"), 16)),
        s8(c.get("cnonce", b"0a4f113b")),
        u8(0), s8(c.get("uri", b"")),  # uri: the target
        u8(0),                        # GET
        s8(c.get("body", b"")),
        u8(1),                        # body bytes
        u8(style),
        u8(0), u8(0), u8(0),          # realm, opaque, response as is
        u16(300),                     # Authentication-Info buffer
        u8(3 if splice else 0), u16(40), s8(splice),
    ])


# htfile: files as Apache's htpasswd/htdigest write them (fuzz_targets/htfile.rs LINES).
HTFILE_TEXT = (
    "# htpasswd 2.4.71\r\n"
    "bcrypt:$2y$04$hClqlN0COVwY9xJeXgDWZuQG7eStcm.jN5yFQuhRVmLG3gnJ6cVZC\n"
    "apr1:$apr1$z.Dy0sDS$nc39arAsmX4c7O6IqjytW0\n"
    "sha256r:$5$rounds=1000$53TD6bJFR0DzDGqB$GgZ41QMZMT.KvkgoErd713sZjY5ZdIngp0PJE8XZoz2\n"
    "sha1:{SHA}I7dElEdfX4dJgLdnbVEeI9iG2mQ=\n"
    "crypt:AmjrzmO2b.JO2\n"
    "apr1:$1$saltstri$MNjlxGV3mAY2WdNxjTT21/\n"
).encode()
HTDIGEST_TEXT = b"dave:my realm:669bb5c539f096809dc379871fe1c6bc\r\nerin:other:00000000000000000000000000000000\n"


def seeds(cases):
    headers = [c["header"] for c in cases if "header" in c]
    out = {t: [] for t in TARGETS}
    out["htfile"] = [u8(0) + u8(p) + t for p in (0, 3) for t in (HTFILE_TEXT, HTDIGEST_TEXT)]
    out["htfile"] += [u8(1) + u8(2) + u8(which) + u8(at) + splice
                      for which in range(8) for at, splice in ((0, b""), (12, b"x"), (40, b"$"), (255, b"\n#"))]
    out["parse"] = list(headers)

    # basic: raw headers (mode 0), structured users (mode 1), raw tokens (mode 2), Bearer (3).
    out["basic"] += [u8(0) + h for h in headers]
    for who in range(7):
        for pw in range(4):
            out["basic"].append(u8(1) + u8(who) + u8(pw) + u8(who * 9) + s8(b"user") + s8(b"pass"))
    for h in headers:
        if h.startswith(b"Basic "):
            out["basic"].append(u8(2) + h[6:])
    out["basic"] += [u8(3) + u8(1), u8(3) + u8(0) + b"abc", u8(3) + u8(2) + u8(5) + b"x"]

    # digest: raw headers (mode 0), then for each Digest vector an engine, an issued nonce,
    # the request twice (the second is a replay), and a spliced variant.
    out["digest"] += [u8(0) + h for h in headers]
    config = u8(0x3F) + u8(0x1F) + u8(0x7F)   # every algorithm; auth, auth-int, rfc2069, userhash, opaque
    for c in (c for c in cases if c.get("kind") == b"digest"):
        issue = u8(0) + u16(0) + u8(1)
        step = digest_step(c)
        out["digest"].append(u8(1) + config + u8(3) + issue + step + step)
        out["digest"].append(u8(1) + config + u8(2) + issue + digest_step(c, splice=c["header"][:60]))
    for rotate in (0x20, 0x3F):
        out["digest"].append(u8(1) + u8(0x3F) + u8(rotate) + u8(0x40) + u8(4)
                             + u8(1) + u8(1) + digest_step(cases[0]) + u8(1) + digest_step(cases[0]))

    # render: vector realms and opaques, then hostile headers as realms and opaques.
    for c in cases:
        realm = c.get("realm", b"testrealm@host.com")
        opaque = c.get("opaque", b"5ccc069c403ebaf9f0171e9517f40e41")
        for order in range(6):
            out["render"].append(s8(realm) + s8(opaque) + u8(order) + u8(0x3F) + u8(0x3F)
                                 + s8(c.get("cnonce", b"0a4f113b")) + s8(b"scope \"x\"")
                                 + b"".join(u16(n) for n in (0, 20, 80, 200, 400, 1099, 64, 128)))
    for h in headers:
        out["render"].append(s8(h[:200]) + s8(h[-60:]) + u8(0) + u8(0x21) + u8(0x2F) + s8(h[:40]) + s8(h[:80]))

    # ffi: any code, the vector realm, no setters, every callback, a 32-byte key, then
    # a challenge, an honest Digest header for its nonce, and a vector header.
    for i, h in enumerate(headers):
        check_none = u8(0) + u8(0) + s16(b"") + s8(b"") + s8(b"") + u16(100) + u8(0) + u8(0)
        check_digest = u8(4 << 3) + u8(1) + s16(b"") + s8(b"") + u8(i) + u8(i) + u8(1) + s8(b"pw") + u16(300) + u8(0)
        check_raw = u8(6 << 3 | (i & 0x47)) + u8(2) + s16(h) + s8(b"body") + s8(b"Circle Of Life") + u16(i * 7) + u8(i)
        out["ffi"].append(u32(200 + i % 120) + s8(b"testrealm@host.com") + u8(i & 0x3F) + u8(0x07) + u8(1)
                          + u8(2) + check_none + check_digest + check_raw)
    # jwt: every vector token raw (mode 0), and the header and claims of each structured
    # (mode 1, re-signed by the target with HMAC).
    import base64
    for c in cases:
        if c.get("kind") != b"jwt":
            continue
        token = c["token"]
        out["jwt"].append(u8(0) + token)
        parts = token.split(b".")
        if len(parts) == 3:
            try:
                h, p = (base64.urlsafe_b64decode(x + b"=" * (-len(x) % 4)) for x in parts[:2])
            except ValueError:
                continue
            out["jwt"].append(u8(1) + u8(len(token) % 3) + s16(h) + s16(p))
    # ntlm (fuzz_targets/ntlm.rs): raw messages (mode 0), the genuine handshake changed at
    # a byte (mode 1: user choice, u16 position, xor mask), Negotiate tokens (mode 2), and
    # request sequences on four connections (mode 3).
    negotiate = b"NTLMSSP\0\1\0\0\0\x07\x82\x08\xa2" + bytes(16)
    authenticate = b"NTLMSSP\0\3\0\0\0" + bytes(52) + u32(0xA2888205) + bytes(24)
    out["ntlm"] = [u8(0) + negotiate, u8(0) + authenticate, u8(0) + b"NTLMSSP\0\2\0\0\0"]
    out["ntlm"] += [u8(1) + u8(user) + u16(at) + u8(mask)
                    for user in (0, 1) for at, mask in ((0, 0), (12, 1), (64, 0x80), (80, 1), (120, 4), (400, 1))]
    krb5 = b"\x06\x09\x2a\x86\x48\x86\xf7\x12\x01\x02\x02"
    spnego = b"\x06\x06\x2b\x06\x01\x05\x05\x02"
    out["ntlm"] += [u8(2) + b"\x60" + u8(len(krb5) + 2) + krb5 + b"ok", u8(2) + b"\xa1\x03\x30\x01\x00",
                    u8(2) + b"\x60" + u8(len(spnego) + 2) + spnego + b"\xa0\x00", u8(2) + negotiate]
    out["ntlm"] += [u8(3) + bytes([0, 1, 4, 5, 8, 9, 2, 6, 0x14, 12, 13, 8]), u8(3) + bytes(range(0, 64, 3))]
    return out


def main():
    cases = read_vectors()
    total = 0
    for target, items in seeds(cases).items():
        d = os.path.join(CORPUS, target)
        os.makedirs(d, exist_ok=True)
        for data in items:
            path = os.path.join(d, hashlib.sha1(data).hexdigest())
            if not os.path.exists(path):
                with open(path, "wb") as f:
                    f.write(data)
            total += 1
    print("fuzz/seed.py: %d seeds from %d vector cases into %s" % (total, len(cases), os.path.relpath(CORPUS)))


if __name__ == "__main__":
    main()
