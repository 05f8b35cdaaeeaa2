"""The low-level API: parser, Basic decoding, renderers, keyed nonces, replay stores,
the Engine, typed exceptions."""
import base64
import hashlib
import threading
import time

import pytest

import authgate
from authgate import (Engine, MalformedHeader, MemoryReplayStore, RedisNonceStore, decode_basic, derive_key,
                      parse_authorization, window_record)
from conftest import digest_header, parse_challenge

KEY = bytes(range(32))
# The core's window test (core/src/replay.rs, out_of_order_window), for every store.
WINDOW_CASES = [(3, "fresh"), (1, "fresh"), (2, "fresh"), (2, "replayed"), (3, "replayed"), (100, "fresh"),
                (37, "fresh"), (37, "replayed"), (30, "replayed"), (101, "fresh"), (99, "fresh"), (200, "fresh"),
                (137, "fresh"), (136, "replayed")]


def test_parse_authorization():
    a = parse_authorization('Digest username="Mu\\"fasa", realm="r", nc=00000001')
    assert a.scheme == "Digest" and a.token68 is None
    assert a.params == [("username", 'Mu"fasa'), ("realm", "r"), ("nc", "00000001")]
    assert a.get("USERNAME") == 'Mu"fasa' and a.get("nope") is None
    b = parse_authorization(b"Bearer abc.def==")
    assert b.token68 == "abc.def==" and b.params is None
    with pytest.raises(MalformedHeader) as e:
        parse_authorization('Digest username="x')
    assert e.value.code == "UnterminatedQuotedString" and e.value.status == 400
    assert isinstance(e.value, authgate.AuthgateError)


def test_decode_basic():
    assert decode_basic("Basic " + base64.b64encode(b"Aladdin:open sesame").decode()) == ("Aladdin", "open sesame")
    assert decode_basic(b"Basic dGVzdDoxMjOj") == ("test", "123£")  # latin-1 client
    for bad, code in [("Basic QQ=", "InvalidBase64"), ("Basic QWxhZGRpbg==", "MissingColon"), ("Bearer x", "InvalidScheme")]:
        with pytest.raises(MalformedHeader) as e:
            decode_basic(bad)
        assert e.value.code == code


def test_renderers():
    assert authgate.basic_challenge('a"b') == 'Basic realm="a\\"b", charset="UTF-8"'
    assert authgate.bearer_challenge("api", "invalid_token") == 'Bearer realm="api", error="invalid_token"'
    assert authgate.digest_challenge("r", "n", "SHA-256", ["auth", "auth-int"], "o", True) == \
        'Digest realm="r", qop="auth, auth-int", algorithm=SHA-256, nonce="n", opaque="o", stale=true, charset=UTF-8'
    with pytest.raises(authgate.ConfigError):
        authgate.digest_challenge("r", "n", "SHA-1")
    with pytest.raises(ValueError):
        authgate.bearer_challenge("r", "nope")


def test_keys_and_compares():
    assert derive_key("secret") == derive_key(b"secret") != derive_key("secret", "other")
    assert len(derive_key("s")) == 32 and len(authgate.random_key()) == 32 and authgate.random_key() != authgate.random_key()
    assert authgate.ct_eq("a", b"a") and not authgate.ct_eq("a", "ab")
    assert authgate.check_password("pässwort", "pässwort") and not authgate.check_password("x", "y")
    assert authgate.ha1("Mufasa", "testrealm@host.com", "Circle Of Life") == \
        hashlib.md5(b"Mufasa:testrealm@host.com:Circle Of Life").hexdigest()
    with pytest.raises(authgate.ConfigError):
        derive_key(b"")


def test_nonces():
    n = authgate.issue_nonce(KEY, "realm", "op", now=1000)
    assert len(n) == 64 and all(c in "0123456789abcdef" for c in n)
    # One spelling per nonce: the upper-case form of an authentic nonce is not one.
    assert authgate.verify_nonce(n.upper(), KEY, "realm", "op", now=1000)[0] == "invalid"
    st, issued, nid = authgate.verify_nonce(n, KEY, "realm", "op", now=1000)
    assert (st, issued, len(nid)) == ("valid", 1000, 16)
    assert authgate.verify_nonce(n, KEY, "realm", "op", now=1400)[0] == "expired"
    assert authgate.verify_nonce(n, KEY, "realm2", "op", now=1000)[0] == "invalid"
    other = derive_key("other")
    assert authgate.verify_nonce(n, other, "realm", "op", now=1000)[0] == "invalid"
    assert authgate.verify_nonce(n, other, "realm", "op", now=1000, previous_key=KEY)[0] == "valid"
    with pytest.raises(authgate.ConfigError):
        authgate.issue_nonce(b"short", "r")


def run_cases(record):
    return [(nc, record(nc)) for nc, _ in WINDOW_CASES]


def test_window_record_matches_core_cases():
    state = None
    got = []
    for nc, _ in WINDOW_CASES:
        outcome, new = window_record(state, nc)
        got.append((nc, outcome))
        if outcome == "fresh":
            state = new
        else:
            assert new == state or state is None
    assert got == WINDOW_CASES
    with pytest.raises(ValueError):
        window_record(b"short", 1)


def test_memory_store_cases_and_eviction():
    now = int(time.time())
    m = MemoryReplayStore(capacity=2)
    assert m.capacity == 256
    nid = b"\x01" * 16
    assert run_cases(lambda nc: m.check_and_record(nid, now, nc)) == WINDOW_CASES
    assert len(m) == 1
    # Its memory began when it was made: a nonce issued before is stale (its uses unknown).
    assert m.check_and_record(b"\x05" * 16, now - 2, 1) == "stale"
    small = MemoryReplayStore(capacity=1)
    for i in range(300):
        assert small.check_and_record(i.to_bytes(16, "big"), now + i, 1) == "fresh"
    # Evicted history is never "fresh" again.
    assert small.check_and_record((0).to_bytes(16, "big"), now, 2) == "stale"
    with pytest.raises(ValueError):
        m.check_and_record(b"short", 1, 1)


def test_redis_store_same_cases(redis_server):
    import redis

    store = RedisNonceStore(redis.Redis.from_url(redis_server), prefix="t1:")
    nid = b"\x02" * 16
    now = int(time.time())
    assert run_cases(lambda nc: store.check_and_record(nid, now, nc)) == WINDOW_CASES
    ttl = store.client.ttl("t1:" + nid.hex())
    assert 0 < ttl <= 900


def test_redis_store_atomic_under_races(redis_server):
    import redis

    stores = [RedisNonceStore(redis.Redis.from_url(redis_server), prefix="t2:") for _ in range(8)]
    for round_ in range(20):
        nid = round_.to_bytes(16, "big")
        barrier = threading.Barrier(8)
        results = []
        now = int(time.time())

        def go(s):
            barrier.wait()
            results.append(s.check_and_record(nid, now, 5))

        threads = [threading.Thread(target=go, args=(s,)) for s in stores]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == ["fresh"] + ["replayed"] * 7, results


def test_redis_store_down_is_stale():
    import redis

    store = RedisNonceStore(redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2))
    assert store.check_and_record(b"\x03" * 16, 10, 1) == "stale"


# ---- the Engine -------------------------------------------------------------------------


def engine(**kw):
    kw.setdefault("users", {"Mufasa": "Circle Of Life"})
    return Engine("testrealm@host.com", KEY, **kw)


def test_engine_basic_and_challenges():
    e = engine()
    v = e.check("GET", "/", None)
    assert v.status == 401 and v.reason == "NoCredentials"
    assert [c.split(",")[0] for c in v.www_authenticate] == ['Digest realm="testrealm@host.com"'] * 2 + \
        ['Basic realm="testrealm@host.com"']
    assert "algorithm=SHA-256" in v.www_authenticate[0] and "algorithm=MD5" in v.www_authenticate[1]
    v = e.check("GET", "/", "Basic TXVmYXNhOkNpcmNsZSBPZiBMaWZl")
    assert (v.status, v.user, v.scheme) == (200, "Mufasa", "Basic")
    v = e.check("GET", "/", "Basic QQ=")
    assert v.status == 400 and v.error[1] == "InvalidBase64"
    assert "Verdict(400" in repr(v)


@pytest.mark.parametrize("alg", ["SHA-256", "MD5"])
def test_engine_digest_flow(alg):
    e = engine()
    ch = [c for c in e.challenges() if f"algorithm={alg}," in c][0]
    d = parse_challenge(ch)
    h = digest_header(d, "Mufasa", "Circle Of Life", "GET", "/dir/index.html?x=1", algorithm=alg)
    v = e.check("GET", "/dir/index.html?x=1", h)
    assert (v.status, v.user, v.scheme, v.algorithm) == (200, "Mufasa", "Digest", alg)
    assert v.authentication_info.startswith('rspauth="')
    assert e.check("GET", "/dir/index.html?x=1", h).reason == "Replayed"
    v = e.check("GET", "/dir/index.html?x=1", digest_header(d, "Mufasa", "Circle Of Life", "GET", "/dir/index.html?x=1",
                                                          algorithm=alg), now=10**10)
    assert v.status == 401 and v.stale and "stale=true" in v.www_authenticate[0]
    assert e.check("GET", "/other", h).status == 400


def test_engine_lookup_callable_errors_and_tokens():
    calls = []

    def lookup(u):
        calls.append(u)
        if u == "boom":
            raise KeyError("db down")
        return "pw" if u == "bob" else None

    e = Engine("r", KEY, lookup=lookup, tokens={"tok-123": "carol"}, schemes=["Basic", "Bearer"])
    assert e.check("GET", "/", "Basic " + base64.b64encode(b"bob:pw").decode()).user == "bob"
    with pytest.raises(KeyError):
        e.check("GET", "/", "Basic " + base64.b64encode(b"boom:pw").decode())
    v = e.check("GET", "/", "Bearer tok-123")
    assert (v.user, v.scheme) == ("carol", "Bearer")
    v = e.check("GET", "/", "Bearer nope")
    assert v.status == 401 and 'error="invalid_token"' in v.www_authenticate[1]
    with pytest.raises(authgate.ConfigError):
        Engine("r", KEY, users={}, lookup=lookup)
    with pytest.raises(authgate.ConfigError):
        Engine("", KEY)


def test_engine_auth_int_and_redis_replay(redis_server):
    e = engine(algorithms=["SHA-256"], qop=["auth", "auth-int"], replay_store=RedisNonceStore.from_url(redis_server))
    d = parse_challenge(e.challenges()[0])
    body = b'{"on": true}'
    h = digest_header(d, "Mufasa", "Circle Of Life", "POST", "/light", qop="auth-int", body=body)
    assert e.check("POST", "/light", h, body=body).status == 200
    assert e.check("POST", "/light", h, body=body).reason == "Replayed"
    e2 = engine(algorithms=["SHA-256"], qop=["auth", "auth-int"], replay_store=RedisNonceStore.from_url(redis_server))
    assert e2.check("POST", "/light", h, body=body).reason == "Replayed"  # another process, same Redis
