"""The same Flask apps under Flask-HTTPAuth 4.8.1 and authgate.flask: identical statuses,
bodies and challenge strings for everything a well-behaved client does."""
import re

import pytest
from flask import Flask, g

from conftest import basic, digest_header, parse_challenge

DIGEST_RE = r'^Digest realm="Authentication Required",nonce="[0-9a-f]+",opaque="[0-9a-f]+",algorithm="MD5",qop="auth"$'


def make_app():
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "my secret"
    return app


# ---- Basic ------------------------------------------------------------------------------


@pytest.fixture
def basic_app(lib):
    app = make_app()
    auth = lib.HTTPBasicAuth()
    custom = lib.HTTPBasicAuth(scheme="CustomBasic", realm="Custom")
    hashed = lib.HTTPBasicAuth()
    users = {"john": "hello", "susan": "bye", "garçon": "áéíóú"}

    @auth.verify_password
    def verify(username, password):
        g.anon = username == ""
        if username == "":
            return ""
        if users.get(username) == password:
            return username

    @auth.error_handler
    def err(status):
        return f"error {status}", status

    @custom.get_password
    def get_pw(username):
        return users.get(username)

    @hashed.get_password
    def get_hashed(username):
        return users.get(username, "")[::-1] if username in users else None

    @hashed.hash_password
    def hash_pw(password):
        return password[::-1]

    @auth.get_user_roles
    def roles(user):
        return {"john": ["admin", "user"], "susan": "user"}.get(user)

    @app.route("/")
    def index():
        return "index"

    @app.route("/basic")
    @auth.login_required
    def basic_route():
        return f"basic:{auth.current_user()} anon:{g.anon} username:{auth.username()}"

    @app.route("/admin")
    @auth.login_required(role="admin")
    def admin():
        return "admin"

    @app.route("/both")
    @auth.login_required(role=[["admin", "user"]])
    def both():
        return "both"

    @app.route("/custom")
    @custom.login_required
    def custom_route():
        return "custom:" + custom.current_user()

    @app.route("/hashed")
    @hashed.login_required
    def hashed_route():
        return "hashed:" + hashed.username()

    @app.route("/optional")
    @custom.login_required(optional=True)
    def optional():
        return f"optional:{custom.current_user()}"

    return app.test_client()


def test_basic_valid(basic_app):
    r = basic_app.get("/basic", headers={"Authorization": basic("susan", "bye")})
    assert r.status_code == 200 and r.data == b"basic:susan anon:False username:susan"


def test_basic_latin1_and_utf8(basic_app):
    for enc in ("latin1", "utf-8"):
        r = basic_app.get("/basic", headers={"Authorization": basic("garçon", "áéíóú", enc)})
        assert r.status_code == 200, enc
        assert r.get_data(as_text=True) == "basic:garçon anon:False username:garçon"


def test_basic_anonymous(basic_app):
    r = basic_app.get("/basic")
    assert r.data == b"basic: anon:True username:"


def test_basic_invalid_gets_error_handler(basic_app):
    r = basic_app.get("/basic", headers={"Authorization": basic("john", "bye")})
    assert r.status_code == 401
    assert r.data == b"error 401"
    assert r.headers["WWW-Authenticate"] == 'Basic realm="Authentication Required"'


def test_basic_prompt_string(basic_app):
    r = basic_app.get("/custom")
    assert r.status_code == 401
    assert r.data == b"Unauthorized Access"
    assert r.headers["WWW-Authenticate"] == 'CustomBasic realm="Custom"'
    assert r.headers.getlist("WWW-Authenticate") == ['CustomBasic realm="Custom"']


def test_basic_get_password_and_custom_scheme(basic_app):
    assert basic_app.get("/custom", headers={"Authorization": basic("john", "hello")}).data == b"custom:john"
    hdr = basic("john", "hello").replace("Basic", "CustomBasic")
    assert basic_app.get("/custom", headers={"Authorization": hdr}).data == b"custom:john"
    assert basic_app.get("/custom", headers={"Authorization": basic("john", "bad")}).status_code == 401
    assert basic_app.get("/custom", headers={"Authorization": basic("nobody", "x")}).status_code == 401


def test_basic_hash_password(basic_app):
    assert basic_app.get("/hashed", headers={"Authorization": basic("john", "hello")}).data == b"hashed:john"
    assert basic_app.get("/hashed", headers={"Authorization": basic("john", "olleh")}).status_code == 401


def test_basic_roles_403(basic_app):
    assert basic_app.get("/admin", headers={"Authorization": basic("john", "hello")}).data == b"admin"
    r = basic_app.get("/admin", headers={"Authorization": basic("susan", "bye")})
    assert r.status_code == 403 and r.data == b"error 403"
    assert basic_app.get("/both", headers={"Authorization": basic("john", "hello")}).status_code == 200
    assert basic_app.get("/both", headers={"Authorization": basic("susan", "bye")}).status_code == 403


def test_basic_optional(basic_app):
    assert basic_app.get("/optional").data == b"optional:None"
    assert basic_app.get("/optional", headers={"Authorization": basic("john", "hello")}).data == b"optional:john"
    assert basic_app.get("/optional", headers={"Authorization": basic("john", "no")}).data == b"optional:None"


def test_options_ignored(basic_app):
    r = basic_app.options("/custom")
    assert r.status_code == 200 and "WWW-Authenticate" not in r.headers


@pytest.mark.parametrize("response,status", [("error", 401), (("error", 403), 403), (("error", 200), 200)])
def test_error_handler_status_rules(lib, response, status):
    app = make_app()
    auth = lib.HTTPBasicAuth()

    @auth.verify_password
    def verify(u, p):
        return False

    @auth.error_handler
    def err():
        return response

    @app.route("/")
    @auth.login_required
    def index():
        return "index"

    r = app.test_client().get("/", headers={"Authorization": basic("foo", "bar")})
    assert r.status_code == status
    assert "WWW-Authenticate" in r.headers


# ---- Digest -----------------------------------------------------------------------------


@pytest.fixture
def digest_app(lib):
    app = make_app()
    auth = lib.HTTPDigestAuth()
    ha1_auth = lib.HTTPDigestAuth(use_ha1_pw=True)
    noqop = lib.HTTPDigestAuth(qop=None, realm="NoQop")
    users = {"john": "bye", "susan": "hello"}

    @auth.get_password
    def get_pw(username):
        return users.get(username)

    @noqop.get_password
    def get_pw2(username):
        return users.get(username)

    @ha1_auth.get_password
    def get_ha1(username):
        return ha1_auth.generate_ha1(username, users[username]) if username in users else None

    @auth.get_user_roles
    def roles(user):
        return ["admin"] if user.username == "john" else []

    @app.route("/digest")
    @auth.login_required
    def digest_route():
        return "digest_auth:" + auth.username() + ":" + str(auth.current_user())

    @app.route("/admin")
    @auth.login_required(role="admin")
    def admin():
        return "admin"

    @app.route("/ha1")
    @ha1_auth.login_required
    def ha1_route():
        return "ha1:" + ha1_auth.current_user()

    @app.route("/noqop")
    @noqop.login_required
    def noqop_route():
        return "noqop:" + noqop.username()

    client = app.test_client()
    client.auth = auth
    client.ha1_auth = ha1_auth
    return client


def challenge(client, path):
    r = client.get(path)
    assert r.status_code == 401
    return parse_challenge(r.headers["WWW-Authenticate"]), r


def test_digest_prompt_string(digest_app):
    _, r = challenge(digest_app, "/digest")
    assert re.match(DIGEST_RE, r.headers["WWW-Authenticate"]), r.headers["WWW-Authenticate"]
    assert r.data == b"Unauthorized Access"


def test_digest_noqop_prompt_string(digest_app):
    _, r = challenge(digest_app, "/noqop")
    assert re.match(r'^Digest realm="NoQop",nonce="[0-9a-f]+",opaque="[0-9a-f]+"$', r.headers["WWW-Authenticate"])


def test_digest_login(digest_app):
    d, _ = challenge(digest_app, "/digest")
    hdr = digest_header(d, "john", "bye", "GET", "/digest", algorithm="MD5")
    r = digest_app.get("/digest", headers={"Authorization": hdr})
    assert r.status_code == 200 and r.data == b"digest_auth:john:john"


def test_digest_login_without_algorithm_param(digest_app):
    d, _ = challenge(digest_app, "/digest")
    d.pop("algorithm")
    hdr = digest_header(d, "john", "bye", "GET", "/digest")
    assert digest_app.get("/digest", headers={"Authorization": hdr}).status_code == 200


def test_digest_roles(digest_app):
    d, _ = challenge(digest_app, "/admin")
    assert digest_app.get("/admin", headers={"Authorization": digest_header(d, "john", "bye", "GET", "/admin")}).data == b"admin"
    d, _ = challenge(digest_app, "/admin")
    r = digest_app.get("/admin", headers={"Authorization": digest_header(d, "susan", "hello", "GET", "/admin")})
    assert r.status_code == 403


def test_digest_ha1(digest_app):
    d, _ = challenge(digest_app, "/ha1")
    r = digest_app.get("/ha1", headers={"Authorization": digest_header(d, "susan", "hello", "GET", "/ha1")})
    assert r.data == b"ha1:susan"


def test_digest_generate_ha1(digest_app):
    import hashlib

    assert digest_app.auth.generate_ha1("pawel", "test") == hashlib.md5(b"pawel:Authentication Required:test").hexdigest()


def test_digest_md5_sess(digest_app):
    digest_app.auth.algorithm = "MD5-Sess"
    d, r = challenge(digest_app, "/digest")
    assert 'algorithm="MD5-Sess"' in r.headers["WWW-Authenticate"]
    hdr = digest_header(d, "john", "bye", "GET", "/digest", algorithm="MD5-sess")
    assert digest_app.get("/digest", headers={"Authorization": hdr}).data == b"digest_auth:john:john"


def test_digest_no_qop(digest_app):
    d, _ = challenge(digest_app, "/noqop")
    hdr = digest_header(d, "susan", "hello", "GET", "/noqop", qop=None)
    assert digest_app.get("/noqop", headers={"Authorization": hdr}).data == b"noqop:susan"


@pytest.mark.parametrize("case", ["bad-realm", "wrong-password", "unknown-user"])
def test_digest_invalid(digest_app, case):
    d, _ = challenge(digest_app, "/digest")
    kw = {"bad-realm": dict(user="john", password="bye", realm="Wrong Realm"),
          "wrong-password": dict(user="john", password="nope"),
          "unknown-user": dict(user="david", password="bye")}[case]
    hdr = digest_header(d, kw["user"], kw["password"], "GET", "/digest", realm=kw.get("realm"))
    r = digest_app.get("/digest", headers={"Authorization": hdr})
    assert r.status_code == 401
    assert re.match(DIGEST_RE, r.headers["WWW-Authenticate"])


def test_digest_custom_nonce_and_opaque(lib):
    app = make_app()
    auth = lib.HTTPDigestAuth()
    seen = {"nonce": [], "opaque": []}

    @auth.get_password
    def get_pw(u):
        return "bye" if u == "john" else None

    @auth.generate_nonce
    def gen_nonce():
        return "not a good nonce"

    @auth.generate_opaque
    def gen_opaque():
        return "some opaque"

    @auth.verify_nonce
    def ver_nonce(n):
        seen["nonce"].append(n)
        return True

    @auth.verify_opaque
    def ver_opaque(o):
        seen["opaque"].append(o)
        return True

    @app.route("/digest")
    @auth.login_required
    def route():
        return "ok:" + auth.username()

    c = app.test_client()
    d, _ = challenge(c, "/digest")
    assert d["nonce"] == "not a good nonce" and d["opaque"] == "some opaque"
    r = c.get("/digest", headers={"Authorization": digest_header(d, "john", "bye", "GET", "/digest")})
    assert r.data == b"ok:john"
    assert seen == {"nonce": ["not a good nonce"], "opaque": ["some opaque"]}


def test_digest_constructor(lib):
    d = lib.HTTPDigestAuth()
    assert d.qop == ["auth"] and d.algorithm == "MD5"
    assert lib.HTTPDigestAuth(qop=None).qop is None
    assert lib.HTTPDigestAuth(qop="foo,bar, baz").qop == ["foo", "bar", "baz"]
    assert lib.HTTPDigestAuth(algorithm="md5-sess").algorithm == "MD5-Sess"
    with pytest.raises(ValueError):
        lib.HTTPDigestAuth(algorithm="foo")


def test_digest_options_ignored(digest_app):
    r = digest_app.options("/digest")
    assert r.status_code == 200 and "WWW-Authenticate" not in r.headers


# ---- Token ------------------------------------------------------------------------------


@pytest.fixture
def token_app(lib):
    app = make_app()
    token = lib.HTTPTokenAuth("MyToken")
    bearer = lib.HTTPTokenAuth()
    header = lib.HTTPTokenAuth(scheme="ApiKey", header="X-API-Key")
    nocb = lib.HTTPTokenAuth("Token", realm="foo")

    @token.verify_token
    @header.verify_token
    def verify(t):
        return t == "this-is-the-token!"

    @bearer.verify_token
    def verify_bearer(t):
        return {"abc.def-ghi_123": "carol"}.get(t)

    @bearer.get_user_roles
    def roles(user):
        return "reader" if user == "carol" else None

    @token.error_handler
    def err():
        return "error", 401, {"WWW-Authenticate": 'MyToken realm="Foo"'}

    @app.route("/protected")
    @token.login_required
    def protected():
        return "token_auth"

    @app.route("/bearer")
    @bearer.login_required(role="reader")
    def bearer_route():
        return "bearer:" + bearer.current_user()

    @app.route("/header")
    @header.login_required
    def header_route():
        return "header_auth"

    @app.route("/nocb")
    @nocb.login_required
    def nocb_route():
        return "nocb"

    return app.test_client()


def test_token_valid_any_case(token_app):
    for scheme in ("MyToken", "mytoken"):
        assert token_app.get("/protected", headers={"Authorization": f"{scheme} this-is-the-token!"}).data == b"token_auth"


@pytest.mark.parametrize("value", [None, "MyToken this-is-not-the-token!", "Foo this-is-the-token!", "this-is-a-bad-header"])
def test_token_invalid(token_app, value):
    r = token_app.get("/protected", headers={"Authorization": value} if value else {})
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'MyToken realm="Foo"'


def test_token_bearer_and_roles(token_app):
    assert token_app.get("/bearer", headers={"Authorization": "Bearer abc.def-ghi_123"}).data == b"bearer:carol"
    r = token_app.get("/bearer", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == 'Bearer realm="Authentication Required"'


def test_token_custom_header(token_app):
    assert token_app.get("/header", headers={"X-API-Key": "this-is-the-token!"}).data == b"header_auth"
    r = token_app.get("/header", headers={"X-API-Key": "nope"})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == 'ApiKey realm="Authentication Required"'


def test_token_no_callback(token_app):
    r = token_app.get("/nocb", headers={"Authorization": "Token this-is-the-token!"})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == 'Token realm="foo"'


def test_token_options(token_app):
    r = token_app.options("/protected")
    assert r.status_code == 200 and "WWW-Authenticate" not in r.headers


# ---- MultiAuth --------------------------------------------------------------------------


@pytest.fixture
def multi_app(lib):
    app = make_app()
    basic_auth = lib.HTTPBasicAuth()
    token_auth = lib.HTTPTokenAuth("MyToken")
    header_auth = lib.HTTPTokenAuth("MyToken", header="X-Api-Token")
    digest_auth = lib.HTTPDigestAuth(realm="My Realm")
    multi = lib.MultiAuth(basic_auth, token_auth)
    multi_digest = lib.MultiAuth(basic_auth, token_auth, header_auth, digest_auth)

    @basic_auth.verify_password
    def verify_password(u, p):
        if u == "john" and p == "hello":
            return "john"

    @basic_auth.get_user_roles
    def basic_roles(u):
        return ["foo", "bar"] if u == "john" else None

    @token_auth.verify_token
    @header_auth.verify_token
    def verify_token(t):
        return t == "this-is-the-token!"

    @token_auth.get_user_roles
    @header_auth.get_user_roles
    def token_roles(auth):
        return "foo" if auth.token == "this-is-the-token!" else None

    @token_auth.error_handler
    @header_auth.error_handler
    def err():
        return "error", 401, {"WWW-Authenticate": 'MyToken realm="Foo"'}

    @digest_auth.get_password
    def get_pw(u):
        return "hello" if u == "john" else None

    @app.route("/protected")
    @multi.login_required
    def protected():
        return "access granted:" + str(multi.current_user())

    @app.route("/role")
    @multi.login_required(role="foo")
    def role():
        return "role access granted"

    @app.route("/digest")
    @multi_digest.login_required
    def digest():
        return "access granted:" + str(multi.current_user())

    return app.test_client()


def test_multi_prompt_main_first(multi_app):
    r = multi_app.get("/protected")
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Basic realm="Authentication Required"'


def test_multi_basic_and_token(multi_app):
    assert multi_app.get("/protected", headers={"Authorization": basic("john", "hello")}).data == b"access granted:john"
    assert multi_app.get("/protected", headers={"Authorization": "MyToken this-is-the-token!"}).data == b"access granted:None"
    r = multi_app.get("/protected", headers={"Authorization": "MyToken this-is-not-the-token!"})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == 'MyToken realm="Foo"'
    r = multi_app.get("/protected", headers={"Authorization": basic("john", "bye")})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == 'Basic realm="Authentication Required"'
    r = multi_app.get("/protected", headers={"Authorization": "Foo this-is-the-token"})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == 'Basic realm="Authentication Required"'
    # "Foo this-is-the-token!" is not RFC 9110 syntax ('!' is no token68 character): the one
    # documented difference, see test_flask_better.py::test_malformed_is_400_unless_strict_false.


def test_multi_roles(multi_app):
    assert multi_app.get("/role", headers={"Authorization": basic("john", "hello")}).data == b"role access granted"
    assert multi_app.get("/role", headers={"Authorization": "MyToken this-is-the-token!"}).data == b"role access granted"


def test_multi_custom_header_and_digest(multi_app):
    assert multi_app.get("/digest", headers={"X-Api-Token": "this-is-the-token!"}).data == b"access granted:None"
    r = multi_app.get("/digest", headers={"X-Api-Token": "nope"})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == 'MyToken realm="Foo"'
    wrong = 'Digest username="x", realm="x", nonce="x", uri="/digest", response="00"'
    r = multi_app.get("/digest", headers={"Authorization": wrong})
    assert r.status_code == 401
    d = parse_challenge(r.headers["WWW-Authenticate"])
    r = multi_app.get("/digest", headers={"Authorization": digest_header(d, "john", "hello", "GET", "/digest")})
    assert r.data == b"access granted:john"


# ---- async ------------------------------------------------------------------------------


def test_async_callbacks_and_views(lib):
    app = make_app()
    basic_auth = lib.HTTPBasicAuth()
    token_auth = lib.HTTPTokenAuth()
    digest_auth = lib.HTTPDigestAuth()

    @basic_auth.verify_password
    async def verify(u, p):
        return u if (u, p) == ("john", "hello") else None

    @basic_auth.get_user_roles
    async def roles(u):
        return "admin"

    @basic_auth.error_handler
    async def err(status):
        return "async error", status

    @token_auth.verify_token
    async def verify_token(t):
        return "tok" if t == "abc" else None

    @digest_auth.get_password
    async def get_pw(u):
        return "hello" if u == "john" else None

    @app.route("/basic")
    @basic_auth.login_required(role="admin")
    async def b():
        return "basic:" + basic_auth.current_user()

    @app.route("/token")
    @token_auth.login_required
    async def t():
        return "token:" + token_auth.current_user()

    @app.route("/digest")
    @digest_auth.login_required
    async def d():
        return "digest:" + digest_auth.current_user()

    c = app.test_client()
    assert c.get("/basic", headers={"Authorization": basic("john", "hello")}).data == b"basic:john"
    r = c.get("/basic", headers={"Authorization": basic("john", "nope")})
    assert r.status_code == 401 and r.data == b"async error"
    assert c.get("/token", headers={"Authorization": "Bearer abc"}).data == b"token:tok"
    assert c.get("/token", headers={"Authorization": "Bearer abd"}).status_code == 401
    d, _ = challenge(c, "/digest")
    assert c.get("/digest", headers={"Authorization": digest_header(d, "john", "hello", "GET", "/digest")}).data == b"digest:john"


def test_custom_g_class_and_optional(lib):
    """The current user reaches a custom app_ctx_globals_class through its __setattr__;
    optional routes see False / None as Flask-HTTPAuth sets them."""
    from flask.ctx import _AppCtxGlobals

    seen = []

    class G(_AppCtxGlobals):
        def __setattr__(self, name, value):
            seen.append(name)
            super().__setattr__(name, value)

    app = make_app()
    app.app_ctx_globals_class = G
    basic_auth, token_auth, digest_auth = lib.HTTPBasicAuth(), lib.HTTPTokenAuth(), lib.HTTPDigestAuth()

    @basic_auth.verify_password
    def vp(u, p):
        return u if (u, p) == ("john", "hello") else None

    @token_auth.verify_token
    def vt(t):
        return {"abc": "tok", "yes": True, "zero": 0}.get(t)

    @digest_auth.get_password
    def gp(u):
        return "hello" if u == "john" else None

    for name, auth in (("basic", basic_auth), ("token", token_auth), ("digest", digest_auth)):
        app.add_url_rule(f"/{name}", name, auth.login_required(lambda auth=auth: repr(auth.current_user())))
        app.add_url_rule(f"/{name}-opt", f"{name}-opt",
                         auth.login_required(optional=True)(lambda auth=auth: repr(auth.current_user())))
    c = app.test_client()
    assert c.get("/basic", headers={"Authorization": basic("john", "hello")}).data == b"'john'"
    assert seen == ["flask_httpauth_user"]
    assert c.get("/basic-opt", headers={"Authorization": basic("john", "nope")}).data == b"None"
    assert c.get("/basic-opt").data == b"None"
    assert c.get("/token", headers={"Authorization": "Bearer abc"}).data == b"'tok'"
    assert c.get("/token", headers={"Authorization": "Bearer yes"}).data == b"None"
    assert c.get("/token", headers={"Authorization": "Bearer zero"}).status_code == 401  # 0 == False
    assert c.get("/token-opt", headers={"Authorization": "Bearer zero"}).data == b"0"
    assert c.get("/token-opt", headers={"Authorization": "Bearer nope"}).data == b"None"
    assert c.get("/digest-opt").data == b"False"
    d, _ = challenge(c, "/digest")
    assert c.get("/digest", headers={"Authorization": digest_header(d, "john", "hello", "GET", "/digest")}).data == b"'john'"
    assert seen.count("flask_httpauth_user") == 9


def test_options_before_secret_key(lib):
    """OPTIONS forwarded to a protected view passes without authentication, even before the
    app has a SECRET_KEY (which Digest nonces need)."""
    app = Flask(__name__)
    auth = lib.HTTPDigestAuth()

    @auth.get_password
    def gp(u):
        return None

    @app.route("/d", methods=["GET", "OPTIONS"], provide_automatic_options=False)
    @auth.login_required
    def d():
        return "d"

    assert app.test_client().options("/d").data == b"d"


# ---- the drop-in gaps of issue 16: the same behaviour under both libraries ---------------


@pytest.mark.parametrize("algorithm", ["MD5-Sess", "MD5"])
def test_digest_algorithm_assigned_after_construction(lib, algorithm):
    """``auth.algorithm = 'MD5-Sess'`` after the first requests: offered and checked from then on."""
    app = make_app()
    auth = lib.HTTPDigestAuth()
    auth.get_password(lambda u: "bye" if u == "john" else None)
    app.add_url_rule("/d", "d", auth.login_required(lambda: "ok:" + auth.username()))
    c = app.test_client()
    challenge(c, "/d")  # the first settings are in use
    auth.algorithm = algorithm
    assert auth.algorithm == algorithm
    d, r = challenge(c, "/d")
    assert r.headers["WWW-Authenticate"].endswith(f',algorithm="{algorithm}",qop="auth"')
    hdr = digest_header(d, "john", "bye", "GET", "/d", algorithm=algorithm.replace("Sess", "sess"))
    assert c.get("/d", headers={"Authorization": hdr}).data == b"ok:john"


@pytest.mark.parametrize("spelling,shown", [("md5-sess", "MD5-Sess"), ("MD5-SESS", "MD5-Sess"), ("Md5", "MD5"),
                                            (["sha-256", "md5"], ["SHA-256", "MD5"])])
def test_digest_algorithm_attribute_normalised_as_by_the_constructor(spelling, shown):
    """authgate: the attribute takes every spelling the constructor takes, and reads back as
    the constructor normalises it (before: the raw spelling was offered, 'foo' was taken)."""
    import authgate.flask as lib

    auth = lib.HTTPDigestAuth()
    auth.algorithm = spelling
    assert auth.algorithm == shown == lib.HTTPDigestAuth(algorithm=spelling).algorithm
    with pytest.raises(ValueError):
        auth.algorithm = "foo"
    assert auth.algorithm == shown


def test_digest_qop_attribute_takes_a_string():
    """``auth.qop = "auth"`` is split as the constructor splits it (authgate before: a 500)."""
    import authgate.flask as lib

    app = make_app()
    auth = lib.HTTPDigestAuth()
    auth.get_password(lambda u: "bye" if u == "john" else None)
    app.add_url_rule("/d", "d", auth.login_required(lambda: "ok"))
    auth.qop = "auth"
    assert auth.qop == ["auth"]
    d, r = challenge(app.test_client(), "/d")
    assert r.headers["WWW-Authenticate"].endswith(',qop="auth"')
    with pytest.raises(ValueError):
        auth.algorithm = "SHA-1"


def test_digest_rfc2069_response_to_a_qop_challenge(lib):
    """A response without qop/nc/cnonce (RFC 2069) to a qop="auth" challenge is accepted, as
    Flask-HTTPAuth accepts it (authgate before: 401)."""
    app = make_app()
    auth = lib.HTTPDigestAuth()
    auth.get_password(lambda u: "bye" if u == "john" else None)
    app.add_url_rule("/d", "d", auth.login_required(lambda: "ok:" + auth.current_user()))
    c = app.test_client()
    d, _ = challenge(c, "/d")
    hdr = digest_header(d, "john", "bye", "GET", "/d", qop=None)
    assert c.get("/d", headers={"Authorization": hdr}).data == b"ok:john"


def test_multi_unchecked_scheme_is_401_with_the_main_challenge(lib):
    """A scheme no method of the route checks gets the main method's 401, whatever follows it
    (authgate before: 400, since 'this-is-the-token!' is not RFC 9110 syntax)."""
    app = make_app()
    basic_auth, token_auth = lib.HTTPBasicAuth(), lib.HTTPTokenAuth("MyToken")
    basic_auth.verify_password(lambda u, p: u if (u, p) == ("john", "hello") else None)
    token_auth.verify_token(lambda t: t == "this-is-the-token!")
    multi = lib.MultiAuth(basic_auth, token_auth)
    app.add_url_rule("/p", "p", multi.login_required(lambda: "ok"))
    r = app.test_client().get("/p", headers={"Authorization": "Foo this-is-the-token!"})
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Basic realm="Authentication Required"'
