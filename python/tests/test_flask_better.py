"""Where authgate.flask is stricter or stronger than Flask-HTTPAuth, by default."""
import re
import time

import pytest
from flask import Flask

from authgate.flask import HTTPBasicAuth, HTTPDigestAuth, HTTPTokenAuth, MultiAuth, accepted_algorithm
from conftest import basic, digest_header, parse_challenge


def app_with(auth, path="/p"):
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "k" * 16

    @app.route(path, methods=["GET", "POST"])
    @auth.login_required
    def view():
        return f"ok:{auth.current_user()}:{accepted_algorithm()}"

    return app.test_client()


def digest_auth(**kw):
    auth = HTTPDigestAuth(**kw)

    @auth.get_password
    def pw(u):
        return {"john": "bye"}.get(u)

    return auth


def first_challenge(c, path="/p", index=0):
    r = c.get(path)
    assert r.status_code == 401
    return parse_challenge(r.headers.getlist("WWW-Authenticate")[index])


def test_replay_refused_and_nc_increments_accepted():
    c = app_with(digest_auth())
    d = first_challenge(c)
    h1 = digest_header(d, "john", "bye", "GET", "/p", nc=1)
    assert c.get("/p", headers={"Authorization": h1}).status_code == 200
    r = c.get("/p", headers={"Authorization": h1})
    assert r.status_code == 401
    assert "stale" not in r.headers["WWW-Authenticate"]
    for nc in (3, 2):  # out of order within the window is fine
        assert c.get("/p", headers={"Authorization": digest_header(d, "john", "bye", "GET", "/p", nc=nc)}).status_code == 200


def test_works_without_cookies():
    c = app_with(digest_auth())
    r = c.get("/p")
    assert "Set-Cookie" not in r.headers
    c2 = app_with(digest_auth())  # another "worker" with the same SECRET_KEY
    d = parse_challenge(r.headers["WWW-Authenticate"])
    assert c2.get("/p", headers={"Authorization": digest_header(d, "john", "bye", "GET", "/p")}).status_code == 200


def test_expired_nonce_is_stale():
    auth = digest_auth(nonce_lifetime=30)
    c = app_with(auth)
    d = first_challenge(c)
    # A nonce of this engine issued 120 s ago (its lifetime is 30 s).
    with c.application.test_request_context("/p"):
        d["nonce"] = auth._flask_check().current_engine().issue_nonce(now=int(time.time()) - 120)
    r = c.get("/p", headers={"Authorization": digest_header(d, "john", "bye", "GET", "/p")})
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].endswith(",stale=true")
    # A wrong password with an expired nonce is not "stale": it is wrong.
    r = c.get("/p", headers={"Authorization": digest_header(d, "john", "nope", "GET", "/p")})
    assert r.status_code == 401 and "stale" not in r.headers["WWW-Authenticate"]


def test_uri_must_match_request_target():
    c = app_with(digest_auth())
    d = first_challenge(c)
    r = c.get("/p", headers={"Authorization": digest_header(d, "john", "bye", "GET", "/other")})
    assert r.status_code == 400
    r = c.get("/p?x=1", headers={"Authorization": digest_header(d, "john", "bye", "GET", "/p?x=1")})
    assert r.status_code == 200


def test_forged_nonce_refused():
    c = app_with(digest_auth())
    d = first_challenge(c)
    d["nonce"] = "0" * 64
    assert c.get("/p", headers={"Authorization": digest_header(d, "john", "bye", "GET", "/p")}).status_code == 401
    d["nonce"] = "f" * 32  # Flask-HTTPAuth-style md5 nonce
    assert c.get("/p", headers={"Authorization": digest_header(d, "john", "bye", "GET", "/p")}).status_code == 401


def test_nonce_has_one_spelling():
    """The upper-case hex of an issued nonce is refused, even with a right response for it,
    both before and after the lower-case form was seen (its verified tag is cached)."""
    c = app_with(digest_auth())
    d = first_challenge(c)
    assert re.fullmatch(r"[0-9a-f]{64}", d["nonce"])
    upper = dict(d, nonce=d["nonce"].upper())
    assert c.get("/p", headers={"Authorization": digest_header(upper, "john", "bye", "GET", "/p", nc=1)}).status_code == 401
    assert c.get("/p", headers={"Authorization": digest_header(d, "john", "bye", "GET", "/p", nc=2)}).status_code == 200
    assert c.get("/p", headers={"Authorization": digest_header(upper, "john", "bye", "GET", "/p", nc=3)}).status_code == 401


@pytest.mark.parametrize("alg", ["SHA-256", "SHA-512-256", "SHA-256-sess", "MD5"])
def test_strong_algorithms(alg):
    c = app_with(digest_auth(algorithm=alg, authentication_info=True))
    d = first_challenge(c)
    assert d["algorithm"] == alg
    r = c.get("/p", headers={"Authorization": digest_header(d, "john", "bye", "GET", "/p", algorithm=alg)})
    assert r.status_code == 200 and r.data == f"ok:john:{alg}".encode()
    assert r.headers["Authentication-Info"].startswith('rspauth="')


def test_authentication_info_on_every_new_app():
    # Apps made and dropped one after another (app factories, tests) often reuse the id()
    # of a collected one; each must still get its Authentication-Info hook.
    for i in range(200):
        c = app_with(digest_auth(algorithm="SHA-256", authentication_info=True))
        d = first_challenge(c)
        r = c.get("/p", headers={"Authorization": digest_header(d, "john", "bye", "GET", "/p")})
        assert r.status_code == 200, i
        assert r.headers.get("Authentication-Info", "").startswith('rspauth="'), i


def test_several_algorithms_one_challenge_each():
    c = app_with(digest_auth(algorithm=["SHA-256", "MD5"]))
    r = c.get("/p")
    values = r.headers.getlist("WWW-Authenticate")
    assert [parse_challenge(v)["algorithm"] for v in values] == ["SHA-256", "MD5"]
    d = parse_challenge(values[1])
    r = c.get("/p", headers={"Authorization": digest_header(d, "john", "bye", "GET", "/p", algorithm="MD5")})
    assert r.data == b"ok:john:MD5"
    # Claiming an algorithm that is not offered is refused.
    c2 = app_with(digest_auth(algorithm="SHA-256"))
    d = first_challenge(c2)
    r = c2.get("/p", headers={"Authorization": digest_header(d, "john", "bye", "GET", "/p", algorithm="MD5")})
    assert r.status_code == 401


def test_auth_int():
    c = app_with(digest_auth(algorithm="SHA-256", qop="auth,auth-int"))
    d = first_challenge(c)
    assert d["qop"] == "auth,auth-int"
    body = b'{"on": true}'
    h = digest_header(d, "john", "bye", "POST", "/p", qop="auth-int", algorithm="SHA-256", body=body)
    assert c.post("/p", data=body, headers={"Authorization": h}).status_code == 200
    h = digest_header(d, "john", "bye", "POST", "/p", nc=2, qop="auth-int", algorithm="SHA-256", body=body)
    assert c.post("/p", data=b'{"on": false}', headers={"Authorization": h}).status_code == 401


def test_no_qop_response_refused_with_allow_rfc2069_false():
    c = app_with(digest_auth(allow_rfc2069=False))
    d = first_challenge(c)
    assert c.get("/p", headers={"Authorization": digest_header(d, "john", "bye", "GET", "/p", qop=None)}).status_code == 401


def test_rfc2069_nonce_single_use():
    c = app_with(digest_auth(qop=None))
    d = first_challenge(c)
    h = digest_header(d, "john", "bye", "GET", "/p", qop=None)
    assert c.get("/p", headers={"Authorization": h}).status_code == 200
    r = c.get("/p", headers={"Authorization": h})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].endswith(",stale=true")


def test_key_rotation_with_secret_key_fallbacks():
    auth = digest_auth()
    c = app_with(auth)
    d = first_challenge(c)
    c.application.config["SECRET_KEY_FALLBACKS"] = ["k" * 16]
    c.application.config["SECRET_KEY"] = "new key"
    assert c.get("/p", headers={"Authorization": digest_header(d, "john", "bye", "GET", "/p")}).status_code == 200


def test_secret_key_required():
    app = Flask(__name__)
    auth = digest_auth()

    @app.route("/p")
    @auth.login_required
    def v():
        return "x"

    app.testing = True
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        app.test_client().get("/p")


def test_basic_checks_scheme_word():
    auth = HTTPBasicAuth()

    @auth.get_password
    def pw(u):
        return "hello" if u == "john" else None

    c = app_with(auth)
    assert c.get("/p", headers={"Authorization": basic("john", "hello")}).status_code == 200
    assert c.get("/p", headers={"Authorization": basic("john", "hello").replace("Basic", "Foo")}).status_code == 401
    assert c.get("/p", headers={"Authorization": basic("john", "hello").replace("Basic", "bAsIc")}).status_code == 200


def test_basic_non_ascii_password_compare():
    # Flask-HTTPAuth's hmac.compare_digest raises TypeError on non-ASCII str.
    auth = HTTPBasicAuth()

    @auth.get_password
    def pw(u):
        return "pässwörd"

    c = app_with(auth)
    assert c.get("/p", headers={"Authorization": basic("u", "pässwörd")}).status_code == 200
    assert c.get("/p", headers={"Authorization": basic("u", "passwort")}).status_code == 401


@pytest.mark.parametrize("header", ["Basic QQ=", "Basic eyJhbGciOieyJp==", "Digest username", "Bearer a b", "Basic",
                                    "Digest realm=\"x\""])
def test_malformed_is_400_unless_strict_false(header):
    for strict, status in ((True, 400), (False, 401)):
        basic_auth = HTTPBasicAuth(strict=strict)
        digest = digest_auth(strict=strict)
        token = HTTPTokenAuth(strict=strict)
        multi = MultiAuth(basic_auth, digest, token)

        @basic_auth.verify_password
        def v(u, p):
            return None

        app = Flask(__name__)
        app.config["SECRET_KEY"] = "x"

        @app.route("/p")
        @multi.login_required
        def view():
            return "x"

        r = app.test_client().get("/p", headers={"Authorization": header})
        assert r.status_code == status, (header, strict)
        assert "WWW-Authenticate" in r.headers


def test_error_handler_receives_400():
    auth = HTTPBasicAuth()
    got = []

    @auth.error_handler
    def err(status):
        got.append(status)
        return {"error": status}, status

    c = app_with(auth)
    r = c.get("/p", headers={"Authorization": "Basic !!!"})
    assert r.status_code == 400 and r.json == {"error": 400} and got == [400]


def test_multi_offers_every_challenge():
    b = HTTPBasicAuth()
    t = HTTPTokenAuth()
    d = digest_auth(algorithm=["SHA-256", "MD5"])
    m = MultiAuth(b, d, t)
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "x"

    @app.route("/p")
    @m.login_required
    def view():
        return "x"

    c = app.test_client()
    values = c.get("/p").headers.getlist("WWW-Authenticate")
    assert values[0] == 'Basic realm="Authentication Required"'
    assert [v.split()[0] for v in values] == ["Basic", "Digest", "Digest", "Bearer"]
    # The selected method's challenge comes first.
    values = c.get("/p", headers={"Authorization": "Bearer nope"}).headers.getlist("WWW-Authenticate")
    assert values[0] == 'Bearer realm="Authentication Required"' and len(values) == 4


def test_redis_or_custom_replay_store_is_used():
    calls = []

    class Store:
        def check_and_record(self, nonce_id, issued, nc):
            calls.append((len(nonce_id), nc))
            return "fresh" if len(calls) == 1 else "replayed"

    c = app_with(digest_auth(replay_store=Store()))
    d = first_challenge(c)
    h = digest_header(d, "john", "bye", "GET", "/p")
    assert c.get("/p", headers={"Authorization": h}).status_code == 200
    assert c.get("/p", headers={"Authorization": h}).status_code == 401
    assert calls == [(16, 1), (16, 1)]


def test_replay_store_errors_propagate_never_accept():
    class Broken:
        def check_and_record(self, nonce_id, issued, nc):
            raise ConnectionError("down")

    app = Flask(__name__)
    app.config["SECRET_KEY"] = "x"
    auth = digest_auth(replay_store=Broken())

    @app.route("/p")
    @auth.login_required
    def v():
        return "x"

    app.testing = True
    c = app.test_client()
    d = first_challenge(c)
    with pytest.raises(ConnectionError):
        c.get("/p", headers={"Authorization": digest_header(d, "john", "bye", "GET", "/p")})


def test_challenge_escapes_realm():
    auth = HTTPBasicAuth(realm='a "quoted" \\ realm')
    c = app_with(auth)
    assert c.get("/p").headers["WWW-Authenticate"] == 'Basic realm="a \\"quoted\\" \\\\ realm"'


def test_check_uri_false_for_rewriting_proxies():
    c = app_with(digest_auth(check_uri=False))
    d = first_challenge(c)
    assert c.get("/p", headers={"Authorization": digest_header(d, "john", "bye", "GET", "/mounted/p")}).status_code == 200


def test_multi_scheme_match_is_case_insensitive():
    b = HTTPBasicAuth()
    t = HTTPTokenAuth("MyToken")

    @t.verify_token
    def vt(tok):
        return tok == "this-is-the-token!"

    m = MultiAuth(b, t)
    app = Flask(__name__)

    @app.route("/p")
    @m.login_required
    def view():
        return "x"

    # RFC 9110: schemes are case-insensitive (Flask-HTTPAuth's MultiAuth compares them exactly).
    assert app.test_client().get("/p", headers={"Authorization": "mytoken this-is-the-token!"}).status_code == 200
