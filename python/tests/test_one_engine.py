"""One engine behind every Python path (issue 16): per-app state, the core's limits before
any callback, hashed credentials, refusals logged and handed to error handlers, and Flask's
public API as the fallback of the request path."""
import base64
import hashlib
import logging

import pytest
from flask import Flask, g
from werkzeug.security import check_password_hash, generate_password_hash

import authgate
import authgate.flask as af
from authgate import Credential, Engine
from authgate.flask import (AuthGate, HTTPBasicAuth, HTTPDigestAuth, HTTPTokenAuth, MultiAuth, init_authgate,
                            requires_authentication)
from conftest import basic, digest_header, parse_challenge

KEY = bytes(range(32))


def gate_app(app, path="/p"):
    @app.route(path)
    @requires_authentication
    def view(user):
        return f"hello {user}"

    return app.test_client()


# ---- per-app state ----------------------------------------------------------------------


def test_one_authgate_two_apps_keeps_each_apps_users():
    """init_app on two apps with different users: each app knows its own users only (before:
    options were merged into the shared extension object, app one refused its own user and
    let in app two's)."""
    gate = AuthGate(schemes=("Basic",))
    one, two = Flask("one"), Flask("two")
    for app in (one, two):
        app.config["SECRET_KEY"] = app.name
    gate.init_app(one, users={"alice": "a-pw"})
    gate.init_app(two, users={"bob": "b-pw"})
    c1, c2 = gate_app(one), gate_app(two)
    assert c1.get("/p", headers={"Authorization": basic("alice", "a-pw")}).data == b"hello alice"
    assert c1.get("/p", headers={"Authorization": basic("bob", "b-pw")}).status_code == 401
    assert c2.get("/p", headers={"Authorization": basic("bob", "b-pw")}).data == b"hello bob"
    assert c2.get("/p", headers={"Authorization": basic("alice", "a-pw")}).status_code == 401
    assert one.extensions["authgate"] is not two.extensions["authgate"]


def test_one_digest_auth_on_two_apps_uses_each_apps_key():
    auth = HTTPDigestAuth()
    auth.get_password(lambda u: "bye" if u == "john" else None)
    clients = []
    for name in ("one", "two"):
        app = Flask(name)
        app.config["SECRET_KEY"] = name * 8
        app.add_url_rule("/p", "p", auth.login_required(lambda: "ok"))
        clients.append(app.test_client())
    d1 = parse_challenge(clients[0].get("/p").headers["WWW-Authenticate"])
    d2 = parse_challenge(clients[1].get("/p").headers["WWW-Authenticate"])
    assert clients[0].get("/p", headers={"Authorization": digest_header(d1, "john", "bye", "GET", "/p")}).data == b"ok"
    assert clients[1].get("/p", headers={"Authorization": digest_header(d2, "john", "bye", "GET", "/p")}).data == b"ok"
    # A nonce of app one's key is not app two's.
    r = clients[1].get("/p", headers={"Authorization": digest_header(d1, "john", "bye", "GET", "/p", nc=2)})
    assert r.status_code == 401


# ---- the core's limits apply before any callback ----------------------------------------


def test_basic_user_name_over_128_bytes_never_reaches_verify_password():
    """300 bytes of user name: 400, as the core, the C ABI and Engine answer (before:
    HTTPBasicAuth handed it to verify_password, which could let it in)."""
    asked = []
    auth = HTTPBasicAuth()

    @auth.verify_password
    def verify(u, p):
        asked.append(u)
        return u if p == "pw" else None

    app = Flask(__name__)
    app.add_url_rule("/p", "p", auth.login_required(lambda: "ok"))
    c = app.test_client()
    assert c.get("/p", headers={"Authorization": basic("u" * 300, "pw")}).status_code == 400
    assert c.get("/p", headers={"Authorization": basic("é" * 65, "pw")}).status_code == 400  # 130 bytes
    assert c.get("/p", headers={"Authorization": basic("u" * 128, "pw")}).data == b"ok"
    assert asked == ["u" * 128]


def test_tokens_keep_the_cores_limits():
    header_auth = HTTPTokenAuth(scheme="ApiKey", header="X-API-Key")
    free = HTTPTokenAuth("Token")
    seen = []
    header_auth.verify_token(lambda t: seen.append(t) or t == "k")
    free.verify_token(lambda t: seen.append(t) or t == "a b!")
    app = Flask(__name__)
    app.add_url_rule("/h", "h", header_auth.login_required(lambda: "ok"))
    app.add_url_rule("/f", "f", free.login_required(lambda: "ok"))
    c = app.test_client()
    assert c.get("/h", headers={"X-API-Key": "k"}).data == b"ok"
    assert c.get("/f", headers={"Authorization": "Token a b!"}).data == b"ok"
    assert c.get("/h", headers={"X-API-Key": "x" * 2049}).status_code == 400
    assert c.get("/f", headers={"Authorization": "Token " + "x" * 2049}).status_code == 400
    r = c.get("/f", environ_overrides={"HTTP_AUTHORIZATION": "Token a\x01b"})
    assert r.status_code == 400
    assert seen == ["k", "a b!"]


# ---- hashed credentials -----------------------------------------------------------------


def ha1(user, realm, pw, alg="md5"):
    return hashlib.new(alg, f"{user}:{realm}:{pw}".encode()).hexdigest()


def test_engine_users_as_ha1_pbkdf2_and_werkzeug_hashes():
    salt = b"0123456789abcdef"
    werkzeug_hash = generate_password_hash("w-pw", method="pbkdf2:sha256:1000")
    users = {
        "h": Credential.ha1(ha1("h", "r", "h-pw")),
        "both": {"MD5": ha1("both", "r", "b-pw"), "SHA-256": ha1("both", "r", "b-pw", "sha256")},
        "p": Credential.pbkdf2_sha256(1000, salt, authgate.pbkdf2_sha256("p-pw", salt, 1000)),
        "w": Credential.werkzeug(werkzeug_hash),
        "plain": "x-pw",
    }
    e = Engine("r", KEY, users=users, schemes=["Digest", "Basic"])
    for user, pw in [("h", "h-pw"), ("both", "b-pw"), ("p", "p-pw"), ("w", "w-pw"), ("plain", "x-pw")]:
        v = e.check("GET", "/", basic(user, pw))
        assert (v.status, v.user) == (200, user), user
        assert e.check("GET", "/", basic(user, pw + "!")).reason == "BadCredentials"
    # Digest needs the password or an HA1 of its hash family.
    for alg, user, pw, ok in [("MD5", "h", "h-pw", True), ("SHA-256", "both", "b-pw", True), ("MD5", "both", "b-pw", True),
                              ("SHA-256", "h", "h-pw", False), ("MD5", "p", "p-pw", False)]:
        d = parse_challenge([c for c in e.challenges() if f"algorithm={alg}," in c][0])
        v = e.check("GET", "/", digest_header(d, user, pw, "GET", "/", algorithm=alg))
        assert (v.status == 200) == ok, (alg, user, v)
        if not ok:
            assert v.reason == "CredentialUnusable"
    assert "pw" not in repr(users["p"]) and "Pbkdf2" in repr(users["p"])
    with pytest.raises(ValueError):
        Credential.werkzeug(generate_password_hash("x", method="scrypt"))


def test_verify_password_callback_for_hashes_only_the_application_checks():
    """werkzeug's default (scrypt) hashes, bcrypt and the like: a verify callback, as in the
    compat classes; its user object is the verdict's result."""
    stored = {"alice": generate_password_hash("s3cret")}

    def verify(user, password):
        h = stored.get(user)
        return {"name": user} if h and check_password_hash(h, password) else None

    e = Engine("r", KEY, verify_password=verify, schemes=["Basic"])
    v = e.check("GET", "/", basic("alice", "s3cret"))
    assert (v.status, v.user, v.result) == (200, "alice", {"name": "alice"})
    v = e.check("GET", "/", basic("alice", "nope"))
    assert (v.status, v.reason, v.result) == (401, "BadCredentials", None)
    # The same through init_authgate, with g.current_user the callback's user.
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "k"
    init_authgate(app, schemes=("Basic",), verify_password=verify)

    @app.route("/p")
    @requires_authentication
    def p(user):
        return user["name"]

    c = app.test_client()
    assert c.get("/p", headers={"Authorization": basic("alice", "s3cret")}).data == b"alice"
    assert c.get("/p", headers={"Authorization": basic("alice", "x")}).status_code == 401


def test_gate_digest_with_ha1_users():
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "k"
    init_authgate(app, realm="home", users={"bob": Credential.ha1(ha1("bob", "home", "pw", "sha256"), "SHA-256")},
                  algorithms=("SHA-256",))
    c = gate_app(app)
    d = parse_challenge(c.get("/p").headers["WWW-Authenticate"])
    assert c.get("/p", headers={"Authorization": digest_header(d, "bob", "pw", "GET", "/p")}).data == b"hello bob"


# ---- refusals: logged, and handed to error handlers -------------------------------------


def test_every_refusal_is_logged_without_secrets(caplog):
    auth, token, digest = HTTPBasicAuth(), HTTPTokenAuth(), HTTPDigestAuth()
    auth.verify_password(lambda u, p: u if p == "right" else None)
    token.verify_token(lambda t: None)
    digest.get_password(lambda u: "right" if u == "john" else None)
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "k"
    for name, a in (("b", auth), ("t", token), ("d", digest)):
        app.add_url_rule("/" + name, name, a.login_required(lambda: "ok"))
    c = app.test_client()
    caplog.set_level(logging.INFO, logger="authgate")
    c.get("/b", headers={"Authorization": basic("john", "wrong-password-1")})
    c.get("/t", headers={"Authorization": "Bearer secret-token-2"})
    dch = parse_challenge(c.get("/d").headers["WWW-Authenticate"])
    bad = digest_header(dch, "john", "wrong-password-3", "GET", "/d")
    c.get("/d", headers={"Authorization": bad})
    c.get("/b", headers={"Authorization": "Basic QQ="})
    records = [r for r in caplog.records if r.name == "authgate"]
    text = "\n".join(r.getMessage() for r in records)
    assert [r.levelname for r in records] == ["WARNING", "WARNING", "INFO", "WARNING", "WARNING"], text
    assert "BadCredentials (bad credentials) scheme=Basic user=\"john\" remote=127.0.0.1" in text
    assert "InvalidToken (invalid token) scheme=Bearer remote=127.0.0.1" in text
    assert "NoCredentials" in text and "InvalidBase64" in text
    assert "BadCredentials (bad credentials) scheme=Digest user=\"john\"" in text
    response = parse_challenge("Digest " + bad.split(" ", 1)[1])["response"]
    for secret in ("wrong-password-1", "secret-token-2", "wrong-password-3", response,
                   base64.b64encode(b"john:wrong-password-1").decode()):
        assert secret not in text


def test_user_names_cannot_forge_log_lines(caplog):
    auth = HTTPBasicAuth()
    auth.verify_password(lambda u, p: None)
    app = Flask(__name__)
    app.add_url_rule("/p", "p", auth.login_required(lambda: "ok"))
    caplog.set_level(logging.INFO, logger="authgate")
    app.test_client().get("/p", headers={"Authorization": basic("eve\u2028x\u0085y", "pw")})
    (record,) = [r for r in caplog.records if r.name == "authgate"]
    assert "\u2028" not in record.getMessage() and "\u0085" not in record.getMessage()


def test_the_reason_reaches_error_handlers_in_both_styles():
    auth = HTTPBasicAuth()
    auth.verify_password(lambda u, p: None)
    got = []

    @auth.error_handler
    def err(status, reason):
        got.append((status, reason.name, reason.code, reason.user))
        return f"no: {reason.name}", status

    app = Flask(__name__)
    app.config["SECRET_KEY"] = "k"
    app.add_url_rule("/p", "p", auth.login_required(lambda: "ok"))
    c = app.test_client()
    r = c.get("/p", headers={"Authorization": basic("john", "x")})
    assert (r.status_code, r.data) == (401, b"no: BadCredentials")
    r = c.get("/p", headers={"Authorization": "Basic !!!"})
    assert r.status_code == 400 and r.headers["WWW-Authenticate"] == 'Basic realm="Authentication Required"'
    assert got == [(401, "BadCredentials", 11, "john"), (400, "ExpectedEquals", 207, None)]

    gate = AuthGate(schemes=("Basic",), users={"alice": "pw"})
    seen = []

    @gate.error_handler
    def gate_err(status, reason):
        seen.append((status, reason.name, af.refusal() is reason))
        return {"error": reason.name}, status

    app2 = Flask(__name__)
    app2.config["SECRET_KEY"] = "k"
    gate.init_app(app2)
    c2 = gate_app(app2)
    r = c2.get("/p", headers={"Authorization": basic("alice", "no")})
    assert r.status_code == 401 and r.json == {"error": "BadCredentials"}
    assert r.headers["WWW-Authenticate"] == 'Basic realm="Authentication Required", charset="UTF-8"'
    assert seen == [(401, "BadCredentials", True)]


# ---- Flask's public API (when its context variables are not there) ----------------------


def test_the_request_path_through_flasks_public_api(monkeypatch):
    monkeypatch.setattr(af, "_PRIVATE", None)
    b, t, d = HTTPBasicAuth(), HTTPTokenAuth(), HTTPDigestAuth()
    b.verify_password(lambda u, p: u if p == "pw" else None)
    t.verify_token(lambda tok: "tok-user" if tok == "abc" else None)
    d.get_password(lambda u: "pw" if u == "john" else None)
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "k"
    for name, a in (("b", b), ("t", t), ("d", d)):
        app.add_url_rule("/" + name, name, a.login_required(lambda a=a: f"{a.current_user()}"))
    app.add_url_rule("/m", "m", MultiAuth(b, t).login_required(lambda: f"{g.flask_httpauth_user}"))
    c = app.test_client()
    assert c.get("/b", headers={"Authorization": basic("john", "pw")}).data == b"john"
    assert c.get("/t", headers={"Authorization": "Bearer abc"}).data == b"tok-user"
    assert c.get("/m", headers={"Authorization": "Bearer abc"}).data == b"tok-user"
    dch = parse_challenge(c.get("/d").headers["WWW-Authenticate"])
    assert c.get("/d", headers={"Authorization": digest_header(dch, "john", "pw", "GET", "/d")}).data == b"john"
    assert c.get("/b", headers={"Authorization": basic("john", "no")}).status_code == 401
    assert c.options("/b").status_code == 200


def test_apache_files_as_an_engines_users(tmp_path):
    """An HtpasswdFile or HtdigestFile is a user source of the engine (Engine, init_authgate)."""
    import base64 as b64

    pw = tmp_path / "htpasswd"
    pw.write_text("alice:{SHA}" + b64.b64encode(hashlib.sha1(b"a-pw").digest()).decode() + "\n")
    dg = tmp_path / "htdigest"
    dg.write_text(f"bob:home:{ha1('bob', 'home', 'b-pw')}\n")
    e = Engine("home", KEY, users=authgate.HtpasswdFile(str(pw)), schemes=["Basic"])
    assert e.check("GET", "/", basic("alice", "a-pw")).user == "alice"
    assert e.check("GET", "/", basic("alice", "no")).reason == "BadCredentials"
    assert e.check("GET", "/", basic("nobody", "a-pw")).reason == "UnknownUser"
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "k"
    init_authgate(app, realm="home", users=authgate.HtdigestFile(str(dg)), algorithms=("MD5",))
    c = gate_app(app)
    d = parse_challenge(c.get("/p").headers["WWW-Authenticate"])
    assert c.get("/p", headers={"Authorization": digest_header(d, "bob", "b-pw", "GET", "/p")}).data == b"hello bob"
    assert c.get("/p", headers={"Authorization": basic("bob", "b-pw")}).data == b"hello bob"
    with pytest.raises(TypeError):
        Engine("home", KEY, users=["alice"])
