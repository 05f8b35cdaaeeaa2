#!/usr/bin/env python3
"""Generate tests/vectors/authgate.vectors, the shared Rust / C / Python test vectors.

    python3 tests/vectors/generate.py          # (re)write the file, then self-check it
    python3 tests/vectors/generate.py --check  # exit 1 if the file on disk is stale

Stdlib only. The output is deterministic. The format and the 400/401 rules are in
FORMAT.md next to this script. The self-check reads the file back, unescapes every line,
recomputes every digest, and runs every `malformed` header through `reference_classify`.
That function is this script's reading of FORMAT.md. It checks that the labels are
consistent with each other; the core's parser is the real authority.
"""

import base64
import hashlib
import hmac
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "authgate.vectors")

# Fixed context of every case (FORMAT.md).
REALM = "testrealm@host.com"
URI = "/dir/index.html"
METHOD = "GET"
USER = "Mufasa"
PASSWORD = "Circle Of Life"
MAX_HEADER_LEN = 4096

CASES = []  # each case: list of (key, value-bytes)


# --------------------------------------------------------------------------- escaping

def esc(value: bytes) -> str:
    """Escape one field value (FORMAT.md). Valid UTF-8 (other than the characters escaped
    below) is written as is. Backslash, TAB, LF and CR use their short escapes. Every other
    CTL byte, DEL and every byte that is not part of valid UTF-8 becomes \\xHH."""
    out = []
    for ch in value.decode("utf-8", "surrogateescape"):
        o = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif o < 0x20 or o == 0x7F:
            out.append("\\x%02x" % o)
        elif 0xDC80 <= o <= 0xDCFF:  # undecodable byte, from surrogateescape
            out.append("\\x%02x" % (o - 0xDC00))
        else:
            out.append(ch)
    return "".join(out)


def unesc(s: str) -> bytes:
    """Inverse of esc(); raises ValueError on an escape that FORMAT.md does not define."""
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c != "\\":
            out += c.encode("utf-8")
            i += 1
            continue
        n = s[i + 1:i + 2]
        if n in ("\\", "t", "n", "r"):
            out += {"\\": b"\\", "t": b"\t", "n": b"\n", "r": b"\r"}[n]
            i += 2
        elif n == "x" and re.fullmatch(r"[0-9A-Fa-f]{2}", s[i + 2:i + 4]):
            out.append(int(s[i + 2:i + 4], 16))
            i += 4
        else:
            raise ValueError("bad escape at %d in %r" % (i, s))
    return bytes(out)


def _b(v) -> bytes:
    return v if isinstance(v, bytes) else str(v).encode("utf-8")


def add(kind: str, name: str, **fields):
    CASES.append([("kind", kind.encode()), ("name", name.encode())]
                 + [(k, _b(v)) for k, v in fields.items()])


def malformed(name: str, header: bytes, expect: int):
    assert isinstance(header, bytes) and expect in (400, 401), name
    add("malformed", name, header=header, expect=str(expect))


# --------------------------------------------------------------------------- digest math

def _hash(alg: str, data: bytes) -> str:
    base = alg.upper()
    if base.endswith("-SESS"):
        base = base[:-5]
    if base == "MD5":
        return hashlib.md5(data).hexdigest()
    if base == "SHA-256":
        return hashlib.sha256(data).hexdigest()
    if base == "SHA-512-256":
        return hashlib.new("sha512_256", data).hexdigest()  # FIPS 180-4 SHA-512/256
    raise KeyError(alg)


def known_alg(alg):
    try:
        _hash(alg, b"")
        return True
    except KeyError:
        return False


def digest_response(alg, username, realm, password, method, uri, nonce,
                    nc=None, cnonce=None, qop=None, body=b""):
    """RFC 7616 §3.4.1-3.4.3 (and RFC 2069 when qop is None)."""
    H = lambda *parts: _hash(alg, b":".join(_b(p) for p in parts))
    ha1 = H(username, realm, password)
    if alg.upper().endswith("-SESS"):
        ha1 = H(ha1, nonce, cnonce)
    if qop == "auth-int":
        ha2 = H(method, uri, _hash(alg, _b(body)))
    else:
        ha2 = H(method, uri)
    if qop:
        return H(ha1, nonce, nc, cnonce, qop, ha2)
    return H(ha1, nonce, ha2)


def userhash(alg, username, realm):
    return _hash(alg, _b(username) + b":" + _b(realm))


def digest_header(params):
    """params: list of (name, value, quoted). Joined with ", " as the RFCs show them."""
    return "Digest " + ", ".join(
        '%s="%s"' % (k, v) if quoted else "%s=%s" % (k, v) for k, v, quoted in params)


# --------------------------------------------------------------------------- 1. RFC vectors

def rfc_vectors():
    # RFC 7616 §3.9.1 (note the lower-case "of" in this RFC's password).
    r = dict(method="GET", uri="/dir/index.html", username="Mufasa", password="Circle of Life",
             realm="http-auth@example.org",
             nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
             cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
             nc="00000001", qop="auth", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS")
    published = {"MD5": "8ca523f5e9506fed4657c9700eebdbec",
                 "SHA-256": "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"}
    for alg, name in (("MD5", "rfc7616-md5"), ("SHA-256", "rfc7616-sha256")):
        resp = digest_response(alg, r["username"], r["realm"], r["password"], r["method"],
                               r["uri"], r["nonce"], r["nc"], r["cnonce"], r["qop"])
        assert resp == published[alg], (alg, resp)
        hdr = digest_header([("username", r["username"], True), ("realm", r["realm"], True),
                             ("uri", r["uri"], True), ("algorithm", alg, False),
                             ("nonce", r["nonce"], True), ("nc", r["nc"], False),
                             ("cnonce", r["cnonce"], True), ("qop", r["qop"], False),
                             ("response", resp, True), ("opaque", r["opaque"], True)])
        add("digest", name, method=r["method"], uri=r["uri"], username=r["username"],
            password=r["password"], realm=r["realm"], nonce=r["nonce"], cnonce=r["cnonce"],
            nc=r["nc"], qop=r["qop"], algorithm=alg, opaque=r["opaque"], response=resp,
            header=hdr)

    # RFC 7616 §3.9.2, SHA-512-256 + userhash. The RFC's published values were computed
    # with truncated SHA-512 instead of SHA-512/256 (erratum 4897); use the FIPS function.
    alg = "SHA-512-256"
    r = dict(method="GET", uri="/doe.json", username="J\u00e4s\u00f8n Doe",
             password="Secret, or not?", realm="api@example.org",
             nonce="5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK",
             cnonce="NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v",
             nc="00000001", qop="auth", opaque="HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS")
    uh = userhash(alg, r["username"], r["realm"])
    assert uh == "793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b", uh
    # A1 uses the real user name, not the hash (RFC 7616 §3.4.2 / §3.4.4).
    resp = digest_response(alg, r["username"], r["realm"], r["password"], r["method"], r["uri"],
                           r["nonce"], r["nc"], r["cnonce"], r["qop"])
    assert resp == "3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5", resp
    # The erratum: the RFC's printed response must NOT come out of the FIPS function.
    assert resp != "ae66e67d6b427bd3f120414a82e4acff38e8ecd9101d6c861229025f607a79dd"
    hdr = digest_header([("username", uh, True), ("realm", r["realm"], True),
                         ("uri", r["uri"], True), ("algorithm", alg, False),
                         ("nonce", r["nonce"], True), ("nc", r["nc"], False),
                         ("cnonce", r["cnonce"], True), ("qop", r["qop"], False),
                         ("response", resp, True), ("opaque", r["opaque"], True),
                         ("userhash", "true", False)])
    add("digest", "rfc7616-sha512-256-userhash", method=r["method"], uri=r["uri"],
        username=r["username"], userhash=uh, password=r["password"], realm=r["realm"],
        nonce=r["nonce"], cnonce=r["cnonce"], nc=r["nc"], qop=r["qop"], algorithm=alg,
        opaque=r["opaque"], response=resp, header=hdr)

    # RFC 2617 §3.5 (no algorithm parameter in the header: MD5 is the default).
    nonce, cnonce, opaque = ("dcd98b7102dd2f0e8b11d0f600bfb0c093", "0a4f113b",
                             "5ccc069c403ebaf9f0171e9517f40e41")
    resp = digest_response("MD5", USER, REALM, PASSWORD, METHOD, URI, nonce, "00000001",
                           cnonce, "auth")
    assert resp == "6629fae49393a05397450978507c4ef1", resp
    hdr = digest_header([("username", USER, True), ("realm", REALM, True),
                         ("nonce", nonce, True), ("uri", URI, True), ("qop", "auth", False),
                         ("nc", "00000001", False), ("cnonce", cnonce, True),
                         ("response", resp, True), ("opaque", opaque, True)])
    add("digest", "rfc2617-md5", method=METHOD, uri=URI, username=USER, password=PASSWORD,
        realm=REALM, nonce=nonce, cnonce=cnonce, nc="00000001", qop="auth", algorithm="MD5",
        opaque=opaque, response=resp, header=hdr)

    # Computed cases in the fixed context (same nonce / cnonce / opaque as RFC 2617).
    computed = [
        # name, algorithm, qop, body, style
        ("digest-sha256", "SHA-256", "auth", None, "plain"),
        ("digest-md5-sess", "MD5-sess", "auth", None, "plain"),
        ("digest-sha256-sess", "SHA-256-sess", "auth", None, "plain"),
        ("digest-sha512-256", "SHA-512-256", "auth", None, "plain"),
        ("digest-md5-auth-int", "MD5", "auth-int", b'{"on":true}', "plain"),
        ("digest-sha256-auth-int", "SHA-256", "auth-int", b'{"on":true}', "plain"),
        ("digest-rfc2069", "MD5", None, None, "rfc2069"),
        ("digest-requests-quoted", "MD5", "auth", None, "requests"),
    ]
    for name, alg, qop, body, style in computed:
        nc = "00000001" if qop else None
        cn = cnonce if qop else None
        resp = digest_response(alg, USER, REALM, PASSWORD, METHOD, URI, nonce, nc, cn, qop,
                               body or b"")
        fields = dict(method=METHOD, uri=URI, username=USER, password=PASSWORD, realm=REALM,
                      nonce=nonce)
        if qop:
            fields.update(cnonce=cn, nc=nc, qop=qop)
        fields.update(algorithm=alg, opaque=opaque, response=resp)
        if body is not None:
            fields["body"] = body
        if style == "rfc2069":  # RFC 2069 §2.4: no qop, nc, cnonce (nor algorithm)
            hdr = digest_header([("username", USER, True), ("realm", REALM, True),
                                 ("nonce", nonce, True), ("uri", URI, True),
                                 ("response", resp, True), ("opaque", opaque, True)])
        elif style == "requests":  # the order and quoting of requests.auth.HTTPDigestAuth
            hdr = digest_header([("username", USER, True), ("realm", REALM, True),
                                 ("nonce", nonce, True), ("uri", URI, True),
                                 ("response", resp, True), ("opaque", opaque, True),
                                 ("algorithm", alg, True), ("qop", qop, True),
                                 ("nc", nc, False), ("cnonce", cn, True)])
        else:
            hdr = digest_header([("username", USER, True), ("realm", REALM, True),
                                 ("uri", URI, True), ("algorithm", alg, False),
                                 ("nonce", nonce, True), ("nc", nc, False),
                                 ("cnonce", cn, True), ("qop", qop, False),
                                 ("response", resp, True), ("opaque", opaque, True)])
        fields["header"] = hdr
        add("digest", name, **fields)

    # RFC 7617 §2 and §2.1, plus ISO-8859-1.
    add("basic", "rfc7617-aladdin", header="Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
        username="Aladdin", password="open sesame")
    assert base64.b64encode("test:123\u00a3".encode("utf-8")) == b"dGVzdDoxMjPCow=="
    add("basic", "rfc7617-utf8", header="Basic dGVzdDoxMjPCow==", username="test",
        password="123\u00a3")
    latin1 = base64.b64encode("test:123\u00a3".encode("latin-1")).decode()
    assert latin1 == "dGVzdDoxMjOj"
    add("basic", "basic-latin1", header="Basic " + latin1, username="test",
        password="123\u00a3", charset="latin1")
    mufasa = base64.b64encode(b"Mufasa:Circle Of Life").decode()
    add("basic", "basic-mufasa", header="Basic " + mufasa, username=USER, password=PASSWORD)


# --------------------------------------------------------------------------- 2. malformed

FORGED = b"Zm9yZ2VkLW5vbmNlLW5ldmVyLWlzc3VlZA"  # never issued by the engine -> 401
OPAQUE = b"5ccc069c403ebaf9f0171e9517f40e41"
AUTO = object()  # "compute the response for these parameters"


def q(v) -> bytes:
    return b'"' + _b(v) + b'"'


def unq(v: bytes) -> bytes:
    if len(v) >= 2 and v[:1] == b'"' and v[-1:] == b'"':
        return re.sub(rb"\\(.)", rb"\1", v[1:-1], flags=re.S)
    return v


DEFAULT_PARAMS = [
    (b"username", q(USER)), (b"realm", q(REALM)), (b"nonce", q(FORGED)), (b"uri", q(URI)),
    (b"algorithm", b"SHA-256"), (b"qop", b"auth"), (b"nc", b"00000001"),
    (b"cnonce", q("0a4f113b")), (b"response", AUTO), (b"opaque", q(OPAQUE)),
]


def auto_response(params, password):
    """A correct response for these parameters, so the only fault is the one the case is
    about (and the forged nonce)."""
    v = {}
    for k, val in params:
        if val is not AUTO:
            v.setdefault(k.lower(), unq(val))
    alg = v.get(b"algorithm", b"MD5").decode("latin-1")
    if not known_alg(alg):
        alg = "SHA-256"
    qop = v.get(b"qop")
    qop = qop.decode("latin-1") if qop is not None else None
    return digest_response(alg, v.get(b"username", USER.encode()), v.get(b"realm", REALM.encode()),
                           password, METHOD, v.get(b"uri", URI.encode()),
                           v.get(b"nonce", FORGED), v.get(b"nc"), v.get(b"cnonce"), qop).encode()


def D(set=(), drop=(), extra=(), scheme=b"Digest", sep=b", ", password=PASSWORD,
      params=None):
    """A Digest header: the default parameters with `set` replacing values (or appending a
    parameter that is not there yet), `drop` removing names, `extra` appending raw
    parameters (duplicates allowed). Values are raw bytes, quotes included; the response
    is computed (and quoted) unless `set` gives one."""
    replace = dict(set)
    ps = [(k, replace.pop(k, v)) for k, v in (DEFAULT_PARAMS if params is None else params)
          if k not in drop]
    ps += list(replace.items()) + list(extra)
    ps = [(k, q(auto_response(ps, password)) if v is AUTO else v) for k, v in ps]
    return scheme + b" " + sep.join(k + b"=" + v for k, v in ps)


def pad_to(total: int, prefix: bytes, filler=b"a") -> bytes:
    assert len(prefix) < total
    return prefix + filler * (total - len(prefix))


def b64(s) -> bytes:
    return base64.b64encode(_b(s))


def bump_last(t: bytes) -> bytes:
    """Change the last base64 character before the padding so the unused low bits are
    not zero: lenient decoders accept it and decode the same bytes."""
    body = t.rstrip(b"=")
    alpha = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    c = alpha[alpha.index(body[-1]) + 1:alpha.index(body[-1]) + 2]
    return body[:-1] + c + t[len(body):]


ALADDIN = b"QWxhZGRpbjpvcGVuIHNlc2FtZQ=="     # Aladdin:open sesame (unknown user)
MUFASA = b64("Mufasa:Circle Of Life")          # the real credentials (no padding)
assert MUFASA == b"TXVmYXNhOkNpcmNsZSBPZiBMaWZl"


def malformed_cases():
    M = malformed
    # ---- empty / whitespace-only
    M("empty", b"", 400)
    M("ws-space", b" ", 400)
    M("ws-spaces", b"     ", 400)
    M("ws-tab", b"\t", 400)
    M("ws-mixed", b" \t \t ", 400)
    M("ws-crlf", b"\r\n", 400)
    M("nul-only", b"\x00", 400)

    # ---- oversized headers (MAX_HEADER_LEN 4096) and scheme length (32)
    d = D(extra=[(b"pad", b'"')])  # ends with pad=" ; filled with "a" and closed
    M("header-5000", pad_to(5000 - 1, d) + b'"', 400)
    M("header-4097", pad_to(4097 - 1, d) + b'"', 400)
    M("header-4096-digest", pad_to(4096 - 1, d) + b'"', 401)
    M("header-4097-unknown-scheme", pad_to(4097, b"Foo "), 400)
    M("header-4096-unknown-scheme", pad_to(4096, b"Foo "), 401)
    M("scheme-33-chars", b"S" * 33 + b" " + ALADDIN, 400)
    M("scheme-32-chars", b"S" * 32 + b" " + ALADDIN, 401)

    # ---- Digest values over / at their limits
    limits = [(b"username", 128), (b"realm", 128), (b"nonce", 128), (b"cnonce", 256),
              (b"opaque", 128)]
    for p, n in limits:
        M("digest-%s-%d" % (p.decode(), n + 1), D(set={p: q(b"x" * (n + 1))}), 400)
        M("digest-%s-%d" % (p.decode(), n), D(set={p: q(b"x" * n)}), 401)
    M("digest-uri-2049", D(set={b"uri": q(b"/" + b"d" * 2048)}), 400)
    M("digest-response-129", D(set={b"response": q(b"a" * 129)}), 400)
    M("digest-response-128", D(set={b"response": q(b"a" * 128)}), 401)  # wrong length

    # ---- Basic: length
    long_b = b64(b"Aladdin:" + b"p" * (450 - 8))          # 600 base64 chars
    assert len(long_b) == 600
    M("basic-600-chars", b"Basic " + long_b, 400)
    b516 = b64(b"Aladdin:" + b"p" * (387 - 8))
    assert len(b516) == 516
    M("basic-516-chars", b"Basic " + b516, 400)
    b512 = b64(b"Aladdin:" + b"p" * (384 - 8))
    assert len(b512) == 512
    M("basic-512-chars", b"Basic " + b512, 401)

    # ---- Basic: bad base64
    M("basic-bad-char-star", b"Basic QWxh*ZGRpbjpvcGVuIHNlc2FtZQ==", 400)
    M("basic-bad-char-bang", b"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ!=", 400)
    M("basic-bad-char-percent", b"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ%3D%3D", 400)
    slashy = b64("Aladdin???:open")
    assert slashy == b"QWxhZGRpbj8/PzpvcGVu"
    M("basic-urlsafe-underscore", b"Basic " + slashy.replace(b"/", b"_"), 400)
    plussy = b64("a>>>:b")
    assert plussy == b"YT4+Pjpi"
    M("basic-urlsafe-minus", b"Basic " + plussy.replace(b"+", b"-"), 400)
    M("basic-missing-padding", b"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ", 400)
    M("basic-missing-one-pad", b"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=", 400)
    M("basic-extra-padding", b"Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ===", 400)
    M("basic-padding-on-unpadded", b"Basic " + MUFASA + b"=", 400)
    M("basic-padding2-on-unpadded", b"Basic " + MUFASA + b"==", 400)
    M("basic-qq-single-pad", b"Basic QQ=", 400)
    M("basic-qr-noncanonical", b"Basic QR==", 400)
    assert bump_last(ALADDIN) == b"QWxhZGRpbjpvcGVuIHNlc2FtZR=="
    M("basic-noncanonical-bits-2pad", b"Basic " + bump_last(ALADDIN), 400)
    one_pad = b64("Aladdin:open sesame!")
    assert one_pad.endswith(b"E=") and not one_pad.endswith(b"==")
    M("basic-noncanonical-bits-1pad", b"Basic " + bump_last(one_pad), 400)
    M("basic-length-not-mult-4", b"Basic " + ALADDIN[:25], 400)
    M("basic-padding-in-middle", b"Basic QWxh=ZGRpbjpvcGVuIHNlc2FtZQ==", 400)
    M("basic-only-padding", b"Basic ====", 400)
    M("basic-space-inside", b"Basic " + MUFASA[:8] + b" " + MUFASA[8:], 400)
    M("basic-tab-inside", b"Basic " + MUFASA[:8] + b"\t" + MUFASA[8:], 400)
    M("basic-lf-inside", b"Basic " + MUFASA[:8] + b"\n" + MUFASA[8:], 400)
    M("basic-obs-fold-inside", b"Basic " + MUFASA[:8] + b"\r\n " + MUFASA[8:], 400)
    M("basic-nul-inside", b"Basic " + MUFASA[:8] + b"\x00" + MUFASA[8:], 400)
    M("basic-non-ascii-in-token", b"Basic " + MUFASA[:8] + b"\xc3\xa4" + MUFASA[8:], 400)
    M("basic-non-utf8-in-token", b"Basic " + MUFASA[:8] + b"\xff" + MUFASA[8:], 400)
    M("basic-quoted-token", b'Basic "' + ALADDIN + b'"', 400)

    # ---- Basic: structure and decoded value
    M("basic-no-colon", b"Basic QWxhZGRpbg==", 400)
    M("basic-no-colon-mufasa", b"Basic " + b64("MufasaCircle Of Life"), 400)
    M("basic-scheme-only", b"Basic", 400)
    M("basic-scheme-trailing-space", b"Basic ", 400)
    M("basic-with-params", b'Basic realm="testrealm@host.com"', 400)
    M("basic-with-token-param", b"Basic charset=UTF-8", 400)
    M("basic-token-then-param", b"Basic " + ALADDIN + b", charset=UTF-8", 400)
    M("basic-two-tokens", b"Basic " + ALADDIN + b" " + ALADDIN, 400)
    M("basic-then-digest", b"Basic " + ALADDIN + b", " + D(), 400)
    M("basic-tab-separator", b"Basic\t" + MUFASA, 400)
    M("basic-no-separator", b"Basic" + ALADDIN, 400)  # scheme "BasicQWxh..ZQ" then "=="
    M("basic-unknown-user", b"Basic " + ALADDIN, 401)
    M("basic-wrong-password", b"Basic " + b64("Mufasa:circle of life"), 401)
    M("basic-empty-password", b"Basic " + b64("Mufasa:"), 401)
    M("basic-empty-user", b"Basic " + b64(":Circle Of Life"), 401)
    M("basic-colon-only", b"Basic Og==", 401)
    M("basic-extra-colon", b"Basic " + b64("Mufasa:Circle Of Life:"), 401)
    M("basic-user-with-space", b"Basic " + b64("Mufasa :Circle Of Life"), 401)
    M("basic-lowercase-scheme", b"basic " + ALADDIN, 401)
    M("basic-uppercase-scheme", b"BASIC " + ALADDIN, 401)
    M("basic-multiple-spaces", b"Basic    " + ALADDIN, 401)
    M("basic-decoded-ctl", b"Basic " + b64(b"Mufasa\x01:Circle Of Life"), 400)
    M("basic-decoded-nul", b"Basic " + b64(b"Mufasa:Circle Of Life\x00"), 400)
    M("basic-decoded-non-utf8", b"Basic " + b64(b"\xffMufasa:Circle Of Life"), 401)

    # ---- the scheme word
    M("no-scheme-padded-b64", ALADDIN, 400)          # token "QWxh...ZQ" then "==" glued
    M("no-scheme-bare-token", MUFASA, 401)           # a lone token is a scheme
    M("no-scheme-params", b'username="Mufasa", realm="testrealm@host.com"', 400)
    M("scheme-at-sign", b"B@sic " + ALADDIN, 400)
    M("scheme-slash", b"Basic/1.0 " + ALADDIN, 400)
    M("scheme-colon", b"Basic: " + ALADDIN, 400)
    M("scheme-quoted", b'"Basic" ' + ALADDIN, 400)
    M("scheme-non-ascii", b"B\xc3\xa4sic " + ALADDIN, 400)
    M("scheme-non-utf8", b"B\xe4sic " + ALADDIN, 400)
    M("scheme-leading-comma", b", Basic " + ALADDIN, 400)
    M("scheme-equals", b"=Basic " + ALADDIN, 400)
    M("scheme-digits", b"123 " + ALADDIN, 401)

    # ---- unknown / not offered schemes
    M("unknown-ntlm", b"NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAGAbEdAAAADw==", 401)
    M("unknown-ntlm-bare", b"NTLM", 401)
    M("unknown-negotiate",
      b"Negotiate YIIBhwYGKwYBBQUCoIIBezCCAXegDTALBgkqhkiG9xIBAgKiggFk", 401)
    M("unknown-foo-bare", b"Foo", 401)
    M("unknown-foo-params", b'Foo bar=baz, qux="quux"', 401)
    M("unknown-foo-token68", b"Foo " + MUFASA, 401)
    M("unknown-hoba", b'HOBA result="a.b.c.d"', 401)
    M("unknown-scheme-garbage", b"Foo ===", 401)
    M("unknown-scheme-not-token68", b"Foo this-is-the-token!", 401)
    M("unknown-scheme-nul", b"Foo bar\x00", 400)

    # ---- Digest: structure
    M("digest-forged-nonce", D(), 401)
    M("digest-forged-nonce-md5", D(set={b"algorithm": b"MD5"}), 401)
    M("digest-scheme-only", b"Digest", 400)
    M("digest-scheme-trailing-space", b"Digest ", 400)
    M("digest-token68", b"Digest dXNlcm5hbWU9Ik11ZmFzYSI=", 400)
    M("digest-token68-bare-word", b"Digest username", 400)
    M("digest-commas-only", b"Digest ,,,", 400)
    M("digest-no-separator", b"Digest" + D()[7:], 400)          # "Digestusername=..."
    M("digest-comma-after-scheme", b"Digest," + D()[6:], 400)
    M("digest-equals-no-name", D(params=[(b"", q(USER))] + DEFAULT_PARAMS[1:]), 400)
    M("digest-param-name-at", D(params=[(b"user@name", q(USER))] + DEFAULT_PARAMS[1:]), 400)
    M("digest-param-name-space", D(params=[(b"user name", q(USER))] + DEFAULT_PARAMS[1:]), 400)
    M("digest-param-name-quoted", D(params=[(b'"username"', q(USER))] + DEFAULT_PARAMS[1:]),
      400)
    M("digest-param-name-non-utf8", D(extra=[(b"f\xf6o", b"1")]), 400)
    M("digest-param-no-value", D()[:7] + b"username, " + D(drop=[b"username"])[7:], 400)
    M("digest-param-empty-value", D(set={b"username": b""}), 400)
    M("digest-double-equals", D(set={b"username": b'="Mufasa"'}), 400)
    M("digest-missing-comma", D(sep=b" "), 400)
    M("digest-semicolon-sep", D(sep=b"; "), 400)
    M("digest-trailing-garbage", D() + b" junk", 400)
    M("digest-garbage-after-quoted", D(set={b"username": b'"Mufasa"x'}), 400)
    M("digest-token-with-space", D(set={b"algorithm": b"SHA 256"}), 400)
    M("digest-then-basic", D() + b", Basic " + ALADDIN, 400)
    M("digest-uri-unquoted", D(set={b"uri": URI.encode()}), 400)       # "/" is not tchar
    M("digest-realm-unquoted", D(set={b"realm": REALM.encode()}), 400)  # "@" is not tchar
    M("digest-username-unquoted", D(set={b"username": b"Mufasa"}), 401)
    M("digest-nonce-unquoted", D(set={b"nonce": FORGED}), 401)
    M("digest-lowercase-scheme", b"digest" + D()[6:], 401)
    M("digest-uppercase-names", b"Digest " + b", ".join(
        p.split(b"=", 1)[0].upper() + b"=" + p.split(b"=", 1)[1]
        for p in D()[7:].split(b", ")), 401)
    M("digest-bws-around-equals", D().replace(b"=", b" = "), 401)
    M("digest-tab-bws", D().replace(b"=", b"\t=\t"), 401)
    M("digest-ows-before-comma", D(sep=b" , "), 401)
    M("digest-no-space-after-comma", D(sep=b","), 401)
    M("digest-tab-after-comma", D(sep=b",\t"), 401)
    M("digest-multi-sp-after-scheme", b"Digest   " + D()[7:], 401)
    M("digest-tab-after-scheme", b"Digest\t" + D()[7:], 400)
    M("digest-unknown-param", D(extra=[(b"foo", q("bar"))]), 401)
    M("digest-unknown-param-token", D(extra=[(b"x-ext", b"1")]), 401)
    M("digest-trailing-comma", D() + b",", 401)
    M("digest-double-comma", D(sep=b", , "), 401)
    M("digest-leading-comma", b"Digest , " + D()[7:], 401)

    # ---- leading / trailing OWS and CR/LF around the value
    M("ows-leading-sp-digest", b"  " + D(), 401)
    M("ows-trailing-sp-digest", D() + b"  ", 401)
    M("ows-leading-tab-basic", b"\t" + b"Basic " + ALADDIN, 401)
    M("ows-trailing-tab-basic", b"Basic " + ALADDIN + b"\t", 401)
    M("ows-both-basic", b" \t Basic " + ALADDIN + b" \t ", 401)
    M("trailing-crlf-basic", b"Basic " + MUFASA + b"\r\n", 400)
    M("trailing-lf-basic", b"Basic " + MUFASA + b"\n", 400)
    M("leading-crlf-basic", b"\r\nBasic " + MUFASA, 400)
    M("trailing-nul-basic", b"Basic " + MUFASA + b"\x00", 400)

    # ---- quoted strings
    M("lone-quote", b'"', 400)
    M("digest-lone-quote", b'Digest "', 400)
    M("basic-lone-quote", b'Basic "', 400)
    M("digest-unterminated-quote-end", D(drop=[b"username"]) + b', username="Mufasa', 400)
    M("digest-unterminated-quote-middle", D(set={b"realm": b'"testrealm@host.com'}), 400)
    M("digest-backslash-at-end", D(drop=[b"username"]) + b', username="Mufasa\\', 400)
    M("digest-escaped-closing-quote", D(drop=[b"username"]) + b', username="Mufasa\\"', 400)
    M("digest-quoted-empty-then-quote", D(set={b"username": b'"""'}), 400)
    M("digest-escape-valid", D(set={b"username": b'"Mu\\fasa"'}), 401)
    M("digest-escape-realm-at", D(set={b"realm": b'"testrealm\\@host.com"'}), 401)
    M("digest-escaped-quotes", D(set={b"username": b'"\\"Mufasa\\""'}), 401)
    M("digest-escaped-backslash", D(set={b"username": b'"Mufasa\\\\"'}), 401)
    M("digest-escaped-comma", D(set={b"username": b'"Mu\\,fasa"'}), 401)
    M("digest-comma-in-quoted", D(set={b"username": b'"Mufasa, realm=x"'}), 401)
    M("digest-htab-in-quoted", D(set={b"username": b'"Mu\tfasa"'}), 401)
    M("digest-escaped-htab", D(set={b"username": b'"Mu\\\tfasa"'}), 401)
    M("digest-escape-ctl", D(set={b"username": b'"Mu\\\x01fasa"'}), 400)
    M("digest-nul-in-quoted", D(set={b"username": b'"Mu\x00fasa"'}), 400)
    M("digest-cr-in-quoted", D(set={b"username": b'"Mu\rfasa"'}), 400)
    M("digest-lf-in-quoted", D(set={b"username": b'"Mu\nfasa"'}), 400)
    M("digest-del-in-quoted", D(set={b"username": b'"Mu\x7ffasa"'}), 400)
    M("digest-esc-char-in-quoted", D(set={b"username": b'"Mu\x1bfasa"'}), 400)
    M("digest-crlf-injection", D(set={b"opaque": q(OPAQUE + b"\r\nX-Admin: 1")}), 400)
    M("digest-ctl-in-token", D(set={b"algorithm": b"SHA-256\x01"}), 400)

    # ---- non-UTF-8 / non-ASCII
    M("digest-non-utf8-username", D(set={b"username": b'"\xff\xfeMufasa"'}), 401)
    M("digest-latin1-username", D(set={b"username": b'"J\xe4s\xf8n Doe"'}), 401)
    M("digest-utf8-username", D(set={b"username": q("J\u00e4s\u00f8n Doe")}), 401)
    M("digest-overlong-utf8-username", D(set={b"username": b'"Mufas\xc1\xa1"'}), 401)
    M("digest-non-utf8-token-value", D(set={b"algorithm": b"SHA-256\xff"}), 400)
    M("digest-utf8-token-value", D(set={b"qop": "\u00e4uth".encode()}), 400)

    # ---- duplicates and counts (MAX_PARAMS 24)
    M("digest-dup-username", D(extra=[(b"username", q(USER))]), 400)
    M("digest-dup-username-case", D(extra=[(b"USERNAME", q(USER))]), 400)
    M("digest-dup-username-mixed-case", D(extra=[(b"UserName", q("Aladdin"))]), 400)
    M("digest-dup-nonce", D(extra=[(b"nonce", q("other"))]), 400)
    M("digest-dup-response", D(extra=[(b"response", q("0" * 64))]), 400)
    M("digest-dup-unknown-param", D(extra=[(b"foo", b"1"), (b"Foo", b"2")]), 400)
    M("digest-dup-qop-quoted-and-token", D(extra=[(b"qop", q("auth"))]), 400)
    n_default = len(DEFAULT_PARAMS)
    M("digest-24-params", D(extra=[(b"x%d" % i, b"1") for i in range(24 - n_default)]), 401)
    M("digest-25-params", D(extra=[(b"x%d" % i, b"1") for i in range(25 - n_default)]), 400)
    M("digest-30-params", D(extra=[(b"x%d" % i, b"1") for i in range(30 - n_default)]), 400)
    M("digest-1000-params", D(extra=[(b"x%d" % i, b"1") for i in range(1000 - n_default)]), 400)
    M("unknown-scheme-30-params", b"Foo " + b", ".join(b"x%d=1" % i for i in range(30)), 401)

    # ---- missing required Digest params
    for p in (b"username", b"realm", b"nonce", b"uri", b"response"):
        M("digest-missing-" + p.decode(), D(drop=[p]), 400)
    M("digest-missing-algorithm", D(drop=[b"algorithm"]), 401)    # defaults to MD5
    M("digest-missing-opaque", D(drop=[b"opaque"]), 401)
    M("digest-only-username", b'Digest username="Mufasa"', 400)

    # ---- username / username* / userhash
    M("digest-username-and-username-star", D(extra=[(b"username*", b"UTF-8''Mufasa")]), 400)
    M("digest-username-star-valid", D(drop=[b"username"], extra=[(b"username*", b"UTF-8''Mufasa")]), 401)
    M("digest-username-star-jason",
      D(drop=[b"username"], extra=[(b"username*", b"UTF-8''J%C3%A4s%C3%B8n%20Doe")]), 401)
    M("digest-username-star-language",
      D(drop=[b"username"], extra=[(b"username*", b"UTF-8'en'Mufasa")]), 401)
    for slug, val in [("no-charset", b"''Mufasa"), ("bad-pct", b"UTF-8''Mu%zzfasa"),
                      ("truncated-pct", b"UTF-8''Mufasa%4"), ("no-quotes", b"Mufasa"),
                      ("one-quote", b"UTF-8'Mufasa"), ("raw-space", b"UTF-8''Mu fasa"),
                      ("invalid-utf8", b"UTF-8''%FF%FEMufasa"),
                      ("bad-char", b"UTF-8''Mu*fasa"),
                      ("empty", b"")]:
        M("digest-username-star-" + slug,
          D(drop=[b"username"], extra=[(b"username*", val)]), 400)
    M("digest-userhash-maybe", D(set={b"userhash": b"maybe"}), 400)
    M("digest-userhash-empty", D(set={b"userhash": b'""'}), 400)
    M("digest-userhash-1", D(set={b"userhash": b"1"}), 400)
    M("digest-userhash-false", D(set={b"userhash": b"false"}), 401)
    M("digest-userhash-quoted-true", D(set={b"userhash": q("true")}), 401)
    M("digest-userhash-true-plain-name", D(set={b"userhash": b"true"}), 401)
    uh = userhash("SHA-256", USER, REALM).encode()
    M("digest-userhash-true-hashed",
      D(set={b"username": q(uh), b"userhash": b"true", b"response": q(digest_response(
          "SHA-256", USER, REALM, PASSWORD, METHOD, URI, FORGED, "00000001", "0a4f113b",
          "auth"))}), 401)

    # ---- nc / qop / cnonce
    for slug, nc in [("7-digits", b"0000001"), ("9-digits", b"000000001"),
                     ("non-hex", b"0000000g"), ("zero", b"00000000"), ("empty", b'""'),
                     ("negative", b"-0000001"), ("space", b'"0000 001"'),
                     ("0x-prefix", b"0x000001")]:
        M("digest-nc-" + slug, D(set={b"nc": nc}), 400)
    M("digest-nc-quoted", D(set={b"nc": q("00000001")}), 401)
    M("digest-nc-uppercase-hex", D(set={b"nc": b"0000000A"}), 401)
    M("digest-nc-max", D(set={b"nc": b"ffffffff"}), 401)
    M("digest-qop-without-nc", D(drop=[b"nc"]), 400)
    M("digest-qop-without-cnonce", D(drop=[b"cnonce"]), 400)
    M("digest-qop-without-nc-cnonce", D(drop=[b"nc", b"cnonce"]), 400)
    M("digest-nc-without-qop", D(drop=[b"qop", b"cnonce"]), 400)
    M("digest-cnonce-without-qop", D(drop=[b"qop", b"nc"]), 400)
    M("digest-nc-cnonce-without-qop", D(drop=[b"qop"]), 400)
    M("digest-rfc2069-style", D(drop=[b"qop", b"nc", b"cnonce"]), 401)
    M("digest-sess-no-cnonce", D(set={b"algorithm": b"MD5-sess"},
                                 drop=[b"qop", b"nc", b"cnonce"]), 400)
    M("digest-forged-sha256-sess", D(set={b"algorithm": b"SHA-256-sess"}), 401)
    M("digest-qop-auth-int", D(set={b"qop": b"auth-int"}), 401)
    M("digest-qop-unknown", D(set={b"qop": b"auth-conf"}), 401)
    M("digest-qop-list", D(set={b"qop": q("auth,auth-int")}), 401)
    M("digest-qop-quoted", D(set={b"qop": q("auth")}), 401)
    M("digest-cnonce-empty", D(set={b"cnonce": b'""'}), 401)

    # ---- algorithm
    M("digest-algorithm-sha1", D(set={b"algorithm": b"SHA-1"}), 401)
    M("digest-algorithm-md4", D(set={b"algorithm": b"MD4"}), 401)
    M("digest-algorithm-foo", D(set={b"algorithm": b"foo"}), 401)
    M("digest-algorithm-sha512-256", D(set={b"algorithm": b"SHA-512-256"}), 401)
    M("digest-algorithm-quoted", D(set={b"algorithm": q("SHA-256"), b"qop": q("auth")}), 401)
    M("digest-algorithm-lowercase", D(set={b"algorithm": b"sha-256"}), 401)

    # ---- response
    good = auto_response(DEFAULT_PARAMS, PASSWORD)
    M("digest-response-non-hex", D(set={b"response": q(good[:-1] + b"z")}), 400)
    M("digest-response-space", D(set={b"response": q(good[:32] + b" " + good[33:])}), 400)
    M("digest-response-0x", D(set={b"response": q(b"0x" + good[2:])}), 400)
    M("digest-response-base64", D(set={b"response": q(base64.b64encode(bytes.fromhex(
        good.decode())))}), 400)
    M("digest-response-md5-length", D(set={b"response": q(good[:32])}), 401)
    M("digest-response-odd-length", D(set={b"response": q(good[:63])}), 401)
    M("digest-response-uppercase", D(set={b"response": q(good.upper())}), 401)
    M("digest-response-token", D(set={b"response": good}), 401)
    M("digest-response-empty", D(set={b"response": b'""'}), 401)

    # ---- nonce / realm / user / password / opaque: understood but not authenticated
    M("digest-garbage-nonce", D(set={b"nonce": q("!!!garbage###")}), 401)
    M("digest-rfc2617-nonce", D(set={b"nonce": q("dcd98b7102dd2f0e8b11d0f600bfb0c093")}), 401)
    M("digest-nonce-empty", D(set={b"nonce": b'""'}), 401)
    M("digest-nonce-non-utf8", D(set={b"nonce": b'"\xff\xfe\xfd"'}), 401)
    M("digest-wrong-realm", D(set={b"realm": q("other@host.com")}), 401)
    M("digest-realm-case", D(set={b"realm": q("TestRealm@host.com")}), 401)
    M("digest-wrong-password", D(password="circle of life"), 401)
    M("digest-unknown-user", D(set={b"username": q("Aladdin")}), 401)
    M("digest-username-case", D(set={b"username": q("mufasa")}), 401)
    M("digest-empty-username", D(set={b"username": b'""'}), 401)
    M("digest-opaque-mismatch", D(set={b"opaque": q("not-the-opaque")}), 401)

    # ---- uri vs the request-target GET /dir/index.html
    for slug, u in [("mismatch", "/dir/other.html"), ("query", "/dir/index.html?x=1"),
                    ("trailing-slash", "/dir/index.html/"), ("case", "/DIR/index.html"),
                    ("root", "/"), ("empty", ""), ("dot-segment", "/dir/./index.html"),
                    ("pct-encoded", "/dir/index%2Ehtml")]:
        M("digest-uri-" + slug, D(set={b"uri": q(u)}), 400)

    # ---- Bearer
    M("bearer-unknown", b"Bearer mF_9.B5f-4.1JqM", 401)
    M("bearer-jwt-like", b"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl", 401)
    M("bearer-padding-end", b"Bearer abc==", 401)
    M("bearer-lowercase-scheme", b"bearer mF_9.B5f-4.1JqM", 401)
    M("bearer-2040", b"Bearer " + b"t" * 2040, 401)
    M("bearer-2049", b"Bearer " + b"t" * 2049, 400)
    M("bearer-scheme-only", b"Bearer", 400)
    M("bearer-space-inside", b"Bearer mF_9 B5f-4.1JqM", 400)
    M("bearer-tab-inside", b"Bearer mF_9\tB5f-4.1JqM", 400)
    M("bearer-invalid-char-bang", b"Bearer mF_9.B5f-4.1JqM!", 400)
    M("bearer-invalid-char-comma", b"Bearer mF_9,B5f-4.1JqM", 400)
    M("bearer-padding-middle", b"Bearer abc=def", 400)
    M("bearer-quoted", b'Bearer "mF_9.B5f-4.1JqM"', 400)
    M("bearer-params", b'Bearer token="mF_9.B5f-4.1JqM"', 400)
    M("bearer-non-ascii", b"Bearer mF_9.B5f-4.1Jq\xc3\xa4", 400)
    M("bearer-nul", b"Bearer mF_9.B5f\x00-4.1JqM", 400)


# --------------------------------------------------------------------------- 3. JWT

JWT_MINTED = os.path.join(HERE, "jwt_minted.json")
JWT_NOW = 1700000100
JWT_ALGS = "HS256,HS384,HS512,RS256,RS384,RS512,PS256,PS384,PS512,ES256,EdDSA"


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def hs(header, claims, secret: bytes, alg="HS256") -> str:
    """An HMAC JWS over `header` and `claims` (dicts are compact JSON, str/bytes as is)."""
    enc = lambda v: b64u(v if isinstance(v, bytes) else (v.encode() if isinstance(v, str)
                         else json.dumps(v, separators=(",", ":")).encode()))
    signing_input = enc(header) + "." + enc(claims)
    h = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    return signing_input + "." + b64u(hmac.new(secret, signing_input.encode(), h).digest())


def jwt_cases():
    """Tokens minted by PyJWT and jwcrypto (jwt_minted.json, see mint_jwt.py) must verify;
    the classic attacks, derived here from them, must be refused with their reason."""
    with open(JWT_MINTED) as f:
        minted = json.load(f)
    keys = minted["keys"]
    jwks_all = json.dumps({"keys": [keys[k]["jwk"] for k in ("hmac", "rsa", "ec", "ed")]},
                          separators=(",", ":"), sort_keys=True)
    secret = unb64u(keys["hmac"]["jwk"]["k"])
    claims = minted["claims"]
    ctx = dict(jwks=jwks_all, algorithms=JWT_ALGS, now=str(JWT_NOW),
               issuer=claims["iss"], audience=claims["aud"])

    def case(name, token, expect, **over):
        fields = dict(ctx, **over)
        fields = {k: v for k, v in fields.items() if v is not None}
        if expect == "ok":
            fields["sub"] = claims["sub"]
        add("jwt", name, token=token, expect=expect, **fields)

    for t in minted["tokens"]:
        who = "pyjwt" if t["minted_by"].startswith("PyJWT") else "jwcrypto"
        case("jwt-%s-%s%s" % (who, t["alg"].lower(), "-kid" if t["kid"] else ""), t["token"], "ok")

    by = {(t["alg"], t["minted_by"].startswith("PyJWT"), t["kid"]): t["token"] for t in minted["tokens"]}
    rs256, es256, eddsa = by[("RS256", True, True)], by[("ES256", True, True)], by[("EdDSA", True, True)]
    good = dict(claims)
    hkid = {"alg": "HS256", "typ": "JWT", "kid": "hmac-1"}

    # alg none and friends: the allow-list comes from the configuration.
    for i, alg in enumerate(["none", "None", "NONE", "nOnE"]):
        case("jwt-alg-%s-%d" % (alg.lower(), i), b64u(json.dumps({"alg": alg}).encode()) + "."
             + b64u(json.dumps(good).encode()) + ".", "AlgorithmNotAllowed")
    case("jwt-alg-none-with-signature", hs({"alg": "none", "kid": "hmac-1"}, good, secret),
         "AlgorithmNotAllowed")
    case("jwt-alg-missing", hs({"typ": "JWT"}, good, secret), "AlgorithmNotAllowed")
    case("jwt-alg-unknown", hs({"alg": "HS1024"}, good, secret), "AlgorithmNotAllowed")
    case("jwt-alg-not-in-allow-list", hs(hkid, good, secret), "AlgorithmNotAllowed",
         algorithms="RS256,ES256")
    # Algorithm confusion: a public key (its PEM, or its JWK) used as an HMAC secret.
    for k, kid in (("rsa", "rsa-1"), ("ec", "ec-1"), ("ed", "ed-1")):
        forged = hs({"alg": "HS256", "kid": kid}, good, keys[k]["pem"].encode())
        case("jwt-confusion-%s-pem-as-hmac" % k, forged, "UnknownKey")
        case("jwt-confusion-%s-pem-as-hmac-allow-list" % k, forged, "AlgorithmNotAllowed",
             algorithms={"rsa": "RS256", "ec": "ES256", "ed": "EdDSA"}[k])
        forged = hs({"alg": "HS256"}, good, keys[k]["pem"].encode())
        case("jwt-confusion-%s-pem-as-hmac-no-kid" % k, forged, "BadSignature")
    case("jwt-confusion-rsa-jwk-as-hmac", hs({"alg": "HS256", "kid": "rsa-1"}, good,
         json.dumps(keys["rsa"]["jwk"]).encode()), "UnknownKey")
    # Signature stripping, transplanting, tampering.
    for name, tok in (("rs256", rs256), ("es256", es256), ("eddsa", eddsa)):
        h, p, sig = tok.split(".")
        case("jwt-stripped-%s" % name, h + "." + p + ".", "BadSignature")
        evil = dict(good, sub="admin")
        case("jwt-tampered-claims-%s" % name, h + "." + b64u(json.dumps(evil).encode()) + "." + sig,
             "BadSignature")
        hdr = json.loads(unb64u(h))
        hdr["typ"] = "at+jwt"
        case("jwt-tampered-header-%s" % name, b64u(json.dumps(hdr).encode()) + "." + p + "." + sig,
             "BadSignature")
        case("jwt-truncated-signature-%s" % name, h + "." + p + "." + b64u(unb64u(sig)[:-3]), "BadSignature")
    h, p, _ = es256.split(".")
    case("jwt-transplanted-signature", h + "." + p + "." + rs256.split(".")[2], "BadSignature")
    case("jwt-embedded-jwk-ignored", hs({"alg": "HS256", "jwk": {"kty": "oct", "k": b64u(b"evil")}},
         good, b"evil"), "BadSignature")
    # Time, issuer, audience.
    case("jwt-expired", hs(hkid, dict(good, exp=JWT_NOW - 100), secret), "TokenExpired")
    case("jwt-expired-now", hs(hkid, dict(good, exp=JWT_NOW), secret), "TokenExpired")
    case("jwt-expired-within-leeway", hs(hkid, dict(good, exp=JWT_NOW - 100), secret), "ok",
         leeway="101")
    case("jwt-expired-fraction", hs(hkid, dict(good, exp=JWT_NOW + 0.5), secret), "TokenExpired")
    case("jwt-not-yet-valid", hs(hkid, dict(good, nbf=JWT_NOW + 60), secret), "TokenNotYetValid")
    case("jwt-not-yet-valid-within-leeway", hs(hkid, dict(good, nbf=JWT_NOW + 60), secret), "ok",
         leeway="60")
    case("jwt-issued-in-future", hs(hkid, dict(good, iat=JWT_NOW + 60), secret), "TokenIssuedInFuture")
    case("jwt-wrong-audience", hs(hkid, dict(good, aud="other-service"), secret), "WrongAudience")
    case("jwt-audience-list", hs(hkid, dict(good, aud=["other", "authgate-tests"]), secret), "ok")
    case("jwt-audience-missing", hs(hkid, {k: v for k, v in good.items() if k != "aud"}, secret),
         "MissingClaim")
    case("jwt-audience-unexpected", hs(hkid, good, secret), "WrongAudience", audience=None)
    case("jwt-wrong-issuer", hs(hkid, dict(good, iss="https://evil.example"), secret), "WrongIssuer")
    case("jwt-issuer-escaped", hs(hkid, '{"sub":"device-7","iss":"https:\\/\\/hub.example",'
                                  '"aud":"authgate-tests"}', secret), "ok")
    case("jwt-exp-string", hs(hkid, dict(good, exp=str(JWT_NOW + 100)), secret), "InvalidClaim")
    case("jwt-sub-number", hs(hkid, dict(good, sub=7), secret), "InvalidClaim")
    # Keys.
    case("jwt-unknown-kid", hs({"alg": "HS256", "kid": "hmac-2"}, good, secret), "UnknownKey")
    case("jwt-no-kid-tries-every-key", hs({"alg": "HS256"}, good, secret), "ok")
    # Sizes and JSON.
    big = dict(good, pad="a" * 1600)
    case("jwt-oversized", hs(hkid, big, secret), "TokenTooLarge")
    case("jwt-deep-nesting", hs(hkid, '{"sub":"device-7","x":' + "[" * 40 + "]" * 40 + "}", secret),
         "TokenTooLarge")
    case("jwt-deep-objects", hs(hkid, '{"sub":"device-7","x":' + '{"a":' * 40 + "1" + "}" * 40 + "}",
                                secret), "TokenTooLarge")
    many = ",".join('"c%d":0' % i for i in range(100))
    case("jwt-too-many-claims", hs(hkid, '{"sub":"device-7",' + many + "}", secret), "TokenTooLarge")
    case("jwt-json-trailing-comma", hs(hkid, '{"sub":"device-7",}', secret), "InvalidJson")
    case("jwt-json-single-quotes", hs(hkid, "{'sub':'device-7'}", secret), "InvalidJson")
    case("jwt-json-trailing-garbage", hs(hkid, '{"sub":"device-7"}x', secret), "InvalidJson")
    case("jwt-json-not-utf8", hs(hkid, b'{"sub":"device-\xff"}', secret), "InvalidJson")
    case("jwt-json-array", hs(hkid, '["sub","device-7"]', secret), "InvalidJson")
    case("jwt-json-lone-surrogate", hs(hkid, '{"sub":"\\ud800"}', secret), "InvalidJson")
    case("jwt-header-not-json", hs("alg=HS256", good, secret), "InvalidJson")
    case("jwt-duplicate-claim", hs(hkid, '{"sub":"device-7","aud":"authgate-tests","iss":'
                                   '"https://hub.example","sub":"admin"}', secret), "DuplicateName")
    case("jwt-duplicate-claim-escaped", hs(hkid, '{"sub":"device-7","aud":"authgate-tests","iss":'
                                           '"https://hub.example","s\\u0075b":"admin"}', secret),
         "DuplicateName")
    case("jwt-duplicate-header", hs('{"alg":"HS256","alg":"none"}', good, secret), "DuplicateName")
    case("jwt-crit", hs({"alg": "HS256", "crit": ["b64"], "b64": False}, good, secret),
         "UnsupportedCritical")
    # Base64url and structure.
    t = hs(hkid, good, secret)
    h, p, sig = t.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = alphabet[alphabet.index(sig[-1]) ^ 1]  # 43 chars: the last carries 2 unused bits
    case("jwt-base64url-non-canonical", h + "." + p + "." + sig[:-1] + twin, "InvalidBase64Url")
    case("jwt-base64url-padded", h + "." + p + "." + sig + "=", "InvalidBase64Url")
    case("jwt-base64-standard-alphabet", h + "." + p.replace("-", "+").replace("_", "/") + "+/." + sig,
         "InvalidBase64Url")
    case("jwt-two-parts", h + "." + p, "MalformedToken")
    case("jwt-jwe-five-parts", ".".join([h, "", p, p, sig]), "MalformedToken")
    case("jwt-empty-header", "." + p + "." + sig, "MalformedToken")


# --------------------------------------------------------------------------- 4. origin

# The refusals of the core's OriginRefusal table (and "ok": serve the request).
ORIGIN_EXPECT = {"ok", "CrossOrigin", "ForeignHost", "MalformedHost", "MalformedOrigin",
                 "MalformedFetchSite", "MalformedReferer"}
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def origin(name: str, expect: str, method="POST", **fields):
    """One request-origin case: the fields present are the request's headers (`host`,
    `origin`, `site` for Sec-Fetch-Site, `referer`; absent means not sent), `secure=1` for
    https, and the policy (`hosts`, `origins`: space-separated lists; `refuse=0`: cross-origin
    refusal off)."""
    assert expect in ORIGIN_EXPECT, name
    add("origin", name, method=method, **fields, expect=expect)


def origin_cases():
    # (name, headers, expectation for an unsafe method with the default policy). Each is
    # also sent as GET, which is served whatever the headers when there is no Host list.
    table = [
        # No header: curl, scripts.
        ("none", {}, "ok"),
        ("host-only", {"host": "device.local"}, "ok"),
        # Sec-Fetch-Site first.
        ("site-same-origin", {"site": "same-origin"}, "ok"),
        ("site-none", {"site": "none"}, "ok"),
        ("site-cross-site", {"site": "cross-site"}, "CrossOrigin"),
        ("site-cross-site-origin", {"site": "cross-site", "origin": "http://evil.example"},
         "CrossOrigin"),
        # Another port of the same host is the same site, not the same origin.
        ("site-same-site-other-port", {"site": "same-site", "origin": "http://127.0.0.1:9001",
                                       "host": "127.0.0.1:9000"}, "CrossOrigin"),
        # Sec-Fetch-Site decides over Origin and Referer (a page can set neither).
        ("site-same-origin-origin-null", {"site": "same-origin", "origin": "null"}, "ok"),
        ("site-same-origin-origin-evil", {"site": "same-origin", "origin": "http://evil.example"},
         "ok"),
        ("site-cross-site-origin-own", {"site": "cross-site", "origin": "http://device.local",
                                        "host": "device.local"}, "CrossOrigin"),
        ("site-same-origin-host-malformed", {"site": "same-origin", "host": "a b"}, "ok"),
        # Malformed or repeated Sec-Fetch-Site.
        ("site-case", {"site": "Same-Origin"}, "MalformedFetchSite"),
        ("site-repeated", {"site": "same-origin, same-origin"}, "MalformedFetchSite"),
        ("site-repeated-mixed", {"site": "same-origin,cross-site"}, "MalformedFetchSite"),
        ("site-empty", {"site": ""}, "MalformedFetchSite"),
        ("site-space", {"site": " same-origin"}, "MalformedFetchSite"),
        ("site-nul", {"site": "same-origin\0"}, "MalformedFetchSite"),
        # Origin against the request's own scheme, host and port.
        ("origin-own", {"origin": "http://device.local", "host": "device.local"}, "ok"),
        ("origin-own-case", {"origin": "http://Device.LOCAL", "host": "device.local"}, "ok"),
        ("origin-own-scheme-case", {"origin": "HTTP://device.local", "host": "device.local:80"},
         "ok"),
        ("origin-own-default-port", {"origin": "http://device.local:80", "host": "device.local"},
         "ok"),
        ("origin-own-port", {"origin": "http://device.local:8080", "host": "device.local:8080"},
         "ok"),
        ("origin-own-trailing-dot", {"origin": "http://device.local.", "host": "device.local."},
         "ok"),
        ("origin-own-ipv6", {"origin": "http://[::1]:8080", "host": "[::1]:8080"}, "ok"),
        ("origin-own-https", {"origin": "https://device.local", "host": "device.local",
                              "secure": "1"}, "ok"),
        ("origin-own-https-443", {"origin": "https://device.local", "host": "device.local:443",
                                  "secure": "1"}, "ok"),
        ("origin-other-port", {"origin": "http://device.local", "host": "device.local:8080"},
         "CrossOrigin"),
        ("origin-other-port-2", {"origin": "http://device.local:8081",
                                 "host": "device.local:8080"}, "CrossOrigin"),
        ("origin-https-on-http", {"origin": "https://device.local", "host": "device.local"},
         "CrossOrigin"),
        ("origin-http-on-https", {"origin": "http://device.local", "host": "device.local",
                                  "secure": "1"}, "CrossOrigin"),
        ("origin-other-ipv6", {"origin": "http://[::1]:8080", "host": "[::2]:8080"},
         "CrossOrigin"),
        ("origin-other-scheme", {"origin": "chrome-extension://abc", "host": "abc"},
         "CrossOrigin"),
        ("origin-evil", {"origin": "http://evil.example", "host": "device.local"}, "CrossOrigin"),
        ("origin-suffix", {"origin": "http://device.local.evil.example", "host": "device.local"},
         "CrossOrigin"),
        # An opaque origin (sandboxed frame, data: URL, some redirects) is another origin,
        # whatever the Referer says.
        ("origin-null", {"origin": "null", "host": "device.local"}, "CrossOrigin"),
        ("origin-null-own-referer", {"origin": "null", "referer": "http://device.local/",
                                     "host": "device.local"}, "CrossOrigin"),
        # Origin without Host (HTTP/1.0) cannot be ours.
        ("origin-no-host", {"origin": "http://device.local"}, "CrossOrigin"),
        # Malformed or repeated Origin.
        ("origin-path", {"origin": "http://device.local/", "host": "device.local"},
         "MalformedOrigin"),
        ("origin-repeated", {"origin": "http://a, http://a", "host": "a"}, "MalformedOrigin"),
        ("origin-repeated-comma", {"origin": "http://a,http://a", "host": "a"},
         "MalformedOrigin"),
        ("origin-null-repeated", {"origin": "null, null", "host": "a"}, "MalformedOrigin"),
        ("origin-empty", {"origin": "", "host": "a"}, "MalformedOrigin"),
        ("origin-space", {"origin": "http://a ", "host": "a"}, "MalformedOrigin"),
        ("origin-no-scheme", {"origin": "device.local", "host": "device.local"},
         "MalformedOrigin"),
        ("origin-no-colon", {"origin": "http//device.local", "host": "a"}, "MalformedOrigin"),
        ("origin-empty-scheme", {"origin": "://device.local", "host": "a"}, "MalformedOrigin"),
        ("origin-digit-scheme", {"origin": "1http://device.local", "host": "a"},
         "MalformedOrigin"),
        ("origin-empty-host", {"origin": "http://", "host": "a"}, "MalformedOrigin"),
        ("origin-userinfo", {"origin": "http://user@a", "host": "a"}, "MalformedOrigin"),
        ("origin-port-65536", {"origin": "http://a:65536", "host": "a"}, "MalformedOrigin"),
        ("origin-port-6-digits", {"origin": "http://a:123456", "host": "a"}, "MalformedOrigin"),
        ("origin-port-letters", {"origin": "http://a:8x", "host": "a"}, "MalformedOrigin"),
        ("origin-ipv6-open", {"origin": "http://[::1", "host": "a"}, "MalformedOrigin"),
        ("origin-ipv6-empty", {"origin": "http://[]", "host": "a"}, "MalformedOrigin"),
        ("origin-ipv6-trailing", {"origin": "http://[::1]x", "host": "a"}, "MalformedOrigin"),
        ("origin-ipv6-name", {"origin": "http://[abc]", "host": "abc"}, "MalformedOrigin"),
        ("origin-percent", {"origin": "http://a%2eb", "host": "a.b"}, "MalformedOrigin"),
        ("origin-non-ascii", {"origin": "http://\u00e9.example", "host": "a"},
         "MalformedOrigin"),
        ("origin-nul", {"origin": "http://a\0", "host": "a"}, "MalformedOrigin"),
        ("origin-too-long", {"origin": "http://" + "o" * 314, "host": "a"}, "MalformedOrigin"),
        # A malformed Host, when Origin must be compared with it.
        ("host-space", {"origin": "http://a", "host": "a b"}, "MalformedHost"),
        ("host-repeated", {"origin": "http://a", "host": "a, a"}, "MalformedHost"),
        ("host-empty", {"origin": "http://a", "host": ""}, "MalformedHost"),
        ("host-port-only", {"origin": "http://a", "host": ":80"}, "MalformedHost"),
        ("host-brackets-name", {"origin": "http://abc", "host": "[abc]"}, "MalformedHost"),
        ("host-too-long", {"origin": "http://a", "host": "h" * 301}, "MalformedHost"),
        # Referer last.
        ("referer-own", {"referer": "http://device.local/page?q=1", "host": "device.local"},
         "ok"),
        ("referer-own-bare", {"referer": "http://device.local", "host": "device.local"}, "ok"),
        ("referer-own-query", {"referer": "http://device.local?q", "host": "device.local"},
         "ok"),
        ("referer-own-fragment", {"referer": "http://device.local#f", "host": "device.local"},
         "ok"),
        ("referer-own-long", {"referer": "http://device.local/" + "p" * 8000,
                              "host": "device.local"}, "ok"),
        ("referer-evil", {"referer": "http://evil.example/x", "host": "device.local"},
         "CrossOrigin"),
        ("referer-other-port", {"referer": "http://device.local:81/", "host": "device.local"},
         "CrossOrigin"),
        ("referer-after-origin", {"referer": "http://evil.example/x",
                                  "origin": "http://device.local", "host": "device.local"}, "ok"),
        ("referer-relative", {"referer": "/relative", "host": "device.local"},
         "MalformedReferer"),
        ("referer-garbage", {"referer": "garbage", "host": "device.local"}, "MalformedReferer"),
        ("referer-space", {"referer": "http://a b/", "host": "device.local"}, "MalformedReferer"),
        ("referer-bad-scheme", {"referer": "foo:bar://x/", "host": "x"}, "MalformedReferer"),
        ("referer-empty", {"referer": "", "host": "device.local"}, "MalformedReferer"),
        ("referer-origin-too-long", {"referer": "http://" + "o" * 320 + "/x",
                                     "host": "device.local"}, "MalformedReferer"),
        ("site-cross-site-referer-garbage", {"site": "cross-site", "referer": "garbage"},
         "MalformedReferer"),
    ]
    for name, headers, expect in table:
        origin(name, expect, **headers)
        origin(name + "-get", "ok", method="GET", **headers)
    # Unsafe methods are all but GET, HEAD and OPTIONS, spelt as sent (methods are
    # case-sensitive).
    evil = {"origin": "http://evil.example", "host": "device.local"}
    for m in ("PUT", "DELETE", "PATCH", "TRACE", "PROPFIND", "get", "Head"):
        origin("method-" + m.lower() + ("-lower" if m.islower() else ""), "CrossOrigin",
               method=m, **evil)
    for m in SAFE_METHODS:
        origin("method-" + m.lower() + "-safe", "ok", method=m, **evil)
    # Cross-origin refusal off (Flask-HTTPAuth's behaviour): only the Host list applies.
    origin("refuse-off", "ok", refuse="0", **evil)
    origin("refuse-off-malformed", "ok", refuse="0", site="bogus")
    origin("refuse-off-host-list", "ForeignHost", refuse="0", method="GET",
           hosts="device.local", host="evil.example")
    # Allowed origins, exactly (port, scheme), from Origin, with Sec-Fetch-Site, from Referer.
    allowed = "https://hub.example:8443 http://other.example"
    for name, headers, expect in [
        ("allowed", {"origin": "https://hub.example:8443"}, "ok"),
        ("allowed-case", {"origin": "https://HUB.example:8443"}, "ok"),
        ("allowed-default-port", {"origin": "http://other.example:80"}, "ok"),
        ("allowed-other-port", {"origin": "https://hub.example"}, "CrossOrigin"),
        ("allowed-other-scheme", {"origin": "http://hub.example:8443"}, "CrossOrigin"),
        ("allowed-null", {"origin": "null"}, "CrossOrigin"),
        ("allowed-site", {"site": "cross-site", "origin": "https://hub.example:8443"}, "ok"),
        ("allowed-site-no-origin", {"site": "cross-site"}, "CrossOrigin"),
        ("allowed-referer", {"referer": "http://other.example/form"}, "ok"),
    ]:
        origin("origins-" + name, expect, origins=allowed, host="device.local", **headers)
    # The Host list: the server's names and addresses, whatever the method.
    hosts = "Device.local 192.168.1.20 fe80::1 [::1]"
    for i, h in enumerate(["device.local", "DEVICE.LOCAL", "device.local.", "device.local:8080",
                           "192.168.1.20", "192.168.1.20:80", "[fe80::1]:80", "[::1]"]):
        origin("hosts-ok-%d" % i, "ok", method="GET", hosts=hosts, host=h)
        origin("hosts-ok-%d-post" % i, "ok", hosts=hosts, host=h)
    for i, h in enumerate(["evil.example", "device.local.evil.example", "device", "192.168.1.2",
                           "[fe80::2]", "localhost"]):
        for m in ("GET", "POST", "OPTIONS"):
            origin("hosts-foreign-%d-%s" % (i, m.lower()), "ForeignHost", method=m, hosts=hosts,
                   host=h)
    for i, h in enumerate(["", " device.local", "device.local, device.local",
                           "device.local,evil", "a b", "device.local:x", "[fe80::1",
                           "user@device.local"]):
        origin("hosts-malformed-%d" % i, "MalformedHost", method="GET", hosts=hosts, host=h)
    origin("hosts-missing", "MalformedHost", method="GET", hosts=hosts)
    origin("hosts-before-origin", "ForeignHost", hosts=hosts, host="evil.example",
           origin="http://evil.example")
    origin("hosts-then-origin", "CrossOrigin", hosts=hosts, host="device.local",
           origin="http://evil.example")
    # Any address: a Host that is an IP address passes (rebinding needs a name); names still
    # must be listed.
    for i, h in enumerate(["10.1.2.3", "10.1.2.3:8080", "[fe80::2]", "[::1]:80", "127.0.0.1"]):
        origin("hosts-any-address-%d" % i, "ok", method="GET", hosts="device.local", addresses="1",
               host=h)
    for i, h in enumerate(["evil.example", "1.2.3.evil", "a10.1.2.3"]):
        origin("hosts-any-address-name-%d" % i, "ForeignHost", method="GET", hosts="device.local",
               addresses="1", host=h)
    origin("hosts-any-address-post", "CrossOrigin", hosts="device.local", addresses="1",
           host="10.1.2.3", origin="http://evil.example")
    origin("hosts-address-not-listed", "ForeignHost", method="GET", hosts="device.local",
           host="10.1.2.3")
    # The browser tests' case: the device's own name behind a rebinding DNS name.
    origin("hosts-rebinding", "ForeignHost", method="GET", hosts="127.0.0.1 localhost",
           host="rebind.evil.example:8080", site="same-origin")


# --------------------------------------------------------------------------- self-check

TCHAR = frozenset(b"!#$%&'*+-.^_`|~0123456789"
                  b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
TOKEN68 = re.compile(rb"[A-Za-z0-9\-._~+/]+=*")
LIMITS = {b"username": 128, b"realm": 128, b"nonce": 128, b"cnonce": 256, b"opaque": 128,
          b"uri": 2048, b"response": 128}
EXT_VALUE = re.compile(rb"([A-Za-z0-9!#$%&+\-^_`{}~]+)'([A-Za-z0-9\-]*)'"
                       rb"((?:%[0-9A-Fa-f]{2}|[A-Za-z0-9!#$&+\-.^_`|~])*)")


class Bad(Exception):
    pass


def _parse_params(s: bytes):
    """RFC 9110 #auth-param with empty list elements allowed (§5.6.1.2)."""
    out, i, n = [], 0, len(s)

    def ows(i):
        while i < n and s[i] in b" \t":
            i += 1
        return i

    def token(i):
        j = i
        while j < n and s[j] in TCHAR:
            j += 1
        if j == i:
            raise Bad("token expected at %d" % i)
        return s[i:j], j

    while True:
        i = ows(i)
        if i == n:
            return out
        if s[i:i + 1] == b",":
            i += 1
            continue
        name, i = token(i)
        i = ows(i)
        if s[i:i + 1] != b"=":
            raise Bad("= expected")
        i = ows(i + 1)
        if s[i:i + 1] == b'"':
            i += 1
            val = bytearray()
            while True:
                if i >= n:
                    raise Bad("unterminated quoted-string")
                c = s[i]
                if c == 0x22:
                    i += 1
                    break
                if c == 0x5C:
                    if i + 1 >= n:
                        raise Bad("backslash at end")
                    val.append(s[i + 1])
                    i += 2
                    continue
                val.append(c)
                i += 1
            val = bytes(val)
            quoted = True
        else:
            val, i = token(i)
            quoted = False
        out.append((name, val, quoted))
        i = ows(i)
        if i == n:
            return out
        if s[i:i + 1] != b",":
            raise Bad("trailing garbage")
        i += 1


OFFERED = (b"basic", b"bearer", b"digest")


def parse_authorization(h: bytes):
    """-> (scheme, ("token68", bytes) | ("params", list) | None); raises Bad (=> 400).
    After a scheme that is not offered the rest is not read (`None`): its syntax is not the
    engine's to judge."""
    if len(h) > MAX_HEADER_LEN:
        raise Bad("too long")
    if any((c < 0x20 and c != 0x09) or c == 0x7F for c in h):
        raise Bad("CTL")
    v = h.strip(b" \t")
    if not v:
        raise Bad("empty")
    i = 0
    while i < len(v) and v[i] in TCHAR:
        i += 1
    scheme, rest = v[:i], v[i:]
    if not scheme or len(scheme) > 32:
        raise Bad("scheme")
    if not rest:
        return scheme, None
    if rest[:1] != b" ":
        raise Bad("no SP after scheme")
    if scheme.lower() not in OFFERED:
        return scheme, None
    rest = rest.lstrip(b" ")
    if TOKEN68.fullmatch(rest):
        return scheme, ("token68", rest)
    params = _parse_params(rest)
    if len(params) > 24:
        raise Bad("too many params")
    names = [p[0].lower() for p in params]
    if len(set(names)) != len(names):
        raise Bad("duplicate param")
    return scheme, ("params", params)


def canonical_b64(t: bytes):
    if len(t) % 4 or not re.fullmatch(rb"[A-Za-z0-9+/]+={0,2}", t):
        return None
    try:
        d = base64.b64decode(t, validate=True)
    except ValueError:
        return None
    return d if base64.b64encode(d) == t else None


def reference_classify(h: bytes) -> int:
    """This script's reading of FORMAT.md (every Digest nonce in the file is forged, no
    Bearer token is known). 400 / 401, or 200 if the credentials would authenticate."""
    try:
        scheme, creds = parse_authorization(h)
        s = scheme.lower()
        if s == b"basic":
            if not creds or creds[0] != "token68":
                raise Bad("basic: not one token68")
            if len(creds[1]) > 512:
                raise Bad("basic: too long")
            d = canonical_b64(creds[1])
            if d is None or b":" not in d:
                raise Bad("basic: base64 / colon")
            if any(b < 0x20 or b == 0x7F for b in d):
                raise Bad("basic: control character (RFC 7617 section 2)")
            return 200 if d == ("%s:%s" % (USER, PASSWORD)).encode() else 401
        if s == b"bearer":
            if not creds or creds[0] != "token68" or len(creds[1]) > 2048:
                raise Bad("bearer")
            return 401
        if s == b"digest":
            if not creds or creds[0] != "params":
                raise Bad("digest: no params")
            p = {k.lower(): v for k, v, _ in creds[1]}
            if b"username" in p and b"username*" in p:
                raise Bad("username and username*")
            if b"username*" in p:
                m = EXT_VALUE.fullmatch(p[b"username*"])
                if not m:
                    raise Bad("username* syntax")
                raw = re.sub(rb"%([0-9A-Fa-f]{2})", lambda x: bytes([int(x.group(1), 16)]),
                             m.group(3))
                if m.group(1).lower() == b"utf-8":
                    try:
                        raw.decode("utf-8")
                    except UnicodeDecodeError:
                        raise Bad("username* not UTF-8")
            elif b"username" not in p:
                raise Bad("no username")
            for k in (b"realm", b"nonce", b"uri", b"response"):
                if k not in p:
                    raise Bad("missing " + k.decode())
            for k, lim in LIMITS.items():
                if len(p.get(k, b"")) > lim:
                    raise Bad("limit " + k.decode())
            if b"nc" in p and (not re.fullmatch(rb"[0-9A-Fa-f]{8}", p[b"nc"])
                               or int(p[b"nc"], 16) == 0):
                raise Bad("nc")
            if b"qop" in p and not (b"nc" in p and b"cnonce" in p):
                raise Bad("qop without nc/cnonce")
            if b"qop" not in p and (b"nc" in p or b"cnonce" in p):
                raise Bad("nc/cnonce without qop")
            if b"userhash" in p and p[b"userhash"] not in (b"true", b"false"):
                raise Bad("userhash")
            if not re.fullmatch(rb"[0-9A-Fa-f]*", p[b"response"]):
                raise Bad("response not hex")
            if p[b"uri"] != URI.encode():
                raise Bad("uri")
            if p.get(b"algorithm", b"").lower().endswith(b"-sess") and b"cnonce" not in p:
                raise Bad("-sess without cnonce")
            return 401  # forged nonce
        return 401  # scheme not offered
    except Bad:
        return 400


REQUIRED = {
    "digest": {"name", "method", "uri", "username", "password", "realm", "nonce",
               "algorithm", "response", "header"},
    "basic": {"name", "header", "username", "password"},
    "malformed": {"name", "header", "expect"},
    "jwt": {"name", "jwks", "algorithms", "now", "token", "expect"},
    "origin": {"name", "method", "expect"},
}


def read_vectors(path):
    """The tiny reader: UTF-8 lines, TAB-separated key=value fields, escapes undone."""
    with open(path, "rb") as f:
        text = f.read().decode("utf-8")  # the file itself must be valid UTF-8
    cases = []
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line or line.startswith("#"):
            continue
        assert "\r" not in line, lineno
        case = {}
        for field in line.split("\t"):
            key, eq, val = field.partition("=")
            assert eq and key and key not in case, (lineno, field)
            case[key] = unesc(val)
        assert "kind" in case and "name" in case, lineno
        cases.append(case)
    return cases


def self_check(path, generated):
    cases = read_vectors(path)
    assert len(cases) == len(generated)
    for case, gen in zip(cases, generated):
        assert case == dict(gen), gen  # escaping round-trips byte for byte
    names = [c["name"] for c in cases]
    dupes = {n for n in names if names.count(n) > 1}
    assert not dupes, dupes
    for c in cases:
        kind, name = c["kind"].decode(), c["name"].decode()
        assert re.fullmatch(r"[a-z0-9][a-z0-9.-]*", name), name
        assert REQUIRED[kind] <= set(c), (name, REQUIRED[kind] - set(c))
        s = {k: v.decode("utf-8") for k, v in c.items() if k not in ("header", "body")}
        if kind == "digest":
            resp = digest_response(s["algorithm"], s["username"], s["realm"], s["password"],
                                   s["method"], s["uri"], s["nonce"], s.get("nc"),
                                   s.get("cnonce"), s.get("qop"), c.get("body", b""))
            assert resp == s["response"], name
            scheme, (form, params) = parse_authorization(c["header"])
            assert scheme == b"Digest" and form == "params", name
            p = {k.decode(): v.decode("utf-8") for k, v, _ in params}
            want_user = s["username"]
            if "userhash" in s:
                assert p.pop("userhash") == "true", name
                assert s["userhash"] == userhash(s["algorithm"], s["username"], s["realm"])
                want_user = s["userhash"]
            assert p.pop("username") == want_user, name
            assert p.pop("algorithm", "MD5") == s["algorithm"], name
            for k, v in p.items():
                assert s[k] == v, (name, k)
            for k in ("nc", "cnonce", "qop"):
                assert (k in s) == (k in p), (name, k)
        elif kind == "basic":
            scheme, (form, tok) = parse_authorization(c["header"])
            raw = canonical_b64(tok)
            enc = "latin-1" if s.get("charset") == "latin1" else "utf-8"
            assert raw.decode(enc) == s["username"] + ":" + s["password"], name
        elif kind == "origin":
            assert s["expect"] in ORIGIN_EXPECT, name
            assert set(s) <= {"kind", "name", "method", "host", "origin", "site", "referer",
                              "secure", "hosts", "origins", "refuse", "addresses", "expect"}, name
        elif kind == "jwt":
            parts = s["token"].split(".")
            if s["expect"] == "ok":
                head = json.loads(unb64u(parts[0]))
                assert len(parts) == 3 and s["sub"], name
                if head.get("alg", "").startswith("HS"):  # the HMAC ones are checked here too
                    secret = unb64u(json.loads(s["jwks"])["keys"][0]["k"])
                    assert hs(unb64u(parts[0]), unb64u(parts[1]), secret, head["alg"]) == s["token"], name
        else:
            got = reference_classify(c["header"])
            assert got == int(s["expect"]), (name, got, s["expect"])
    return cases


# --------------------------------------------------------------------------- main

def render():
    lines = ["# authgate shared test vectors. GENERATED by tests/vectors/generate.py; "
             "do not edit by hand.",
             "# Format and the 400/401 rules: tests/vectors/FORMAT.md. Regenerate with "
             "`python3 tests/vectors/generate.py`.",
             "# kind=digest: `userhash` (when present) is H(username:realm), which the header "
             "carries as username with userhash=true;",
             "#   `username` is the real name used in A1. `body` (qop=auth-int) is the entity "
             "body. A header without algorithm means MD5.",
             "# kind=malformed: Digest nonces are made up (never issued), so a well-formed "
             "Digest case must get 401.",
             "# kind=jwt: verify `token` with the keys of `jwks`, `algorithms` allowed, at `now`, "
             "expecting `issuer`/`audience` when given: `expect` is ok (then the user is `sub`) or the Reason.",
             "# kind=origin: `method` with the headers present (`host`, `origin`, `site` = Sec-Fetch-Site, `referer`; `secure=1`: https)"
             " under the policy (`hosts`, `origins`: space-separated; `refuse=0`: cross-origin refusal off; `addresses=1`: any IP address passes the Host list):"
             " `expect` is ok or the OriginRefusal."]
    kind = None
    for case in CASES:
        if case[0][1].decode() != kind:
            kind = case[0][1].decode()
            lines += ["", "# ---- kind=" + kind]
        lines.append("\t".join("%s=%s" % (k, esc(v)) for k, v in case))
    longest = max(len(l.encode("utf-8")) for l in lines)
    lines.insert(7, "# Longest line: %d bytes without the LF (size C fgets buffers for it)."
                 % longest)
    return ("\n".join(lines) + "\n").encode("utf-8")


def main():
    rfc_vectors()
    malformed_cases()
    jwt_cases()
    origin_cases()
    data = render()
    if "--check" in sys.argv[1:]:
        with open(OUT, "rb") as f:
            if f.read() != data:
                sys.exit("%s is stale: run python3 tests/vectors/generate.py" % OUT)
    else:
        with open(OUT, "wb") as f:
            f.write(data)
    cases = self_check(OUT, CASES)
    by_kind, by_expect = {}, {}
    for c in cases:
        by_kind[c["kind"].decode()] = by_kind.get(c["kind"].decode(), 0) + 1
        if "expect" in c and c["kind"] == b"malformed":
            by_expect[c["expect"].decode()] = by_expect.get(c["expect"].decode(), 0) + 1
    print("%s: %d cases; by kind %s; malformed by expect %s"
          % (os.path.relpath(OUT), len(cases), dict(sorted(by_kind.items())),
             dict(sorted(by_expect.items()))))


if __name__ == "__main__":
    main()
