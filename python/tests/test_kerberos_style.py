"""The Flask-Kerberos / Flask-SSPI decorator style on the core engine."""
import base64

import pytest
from flask import Blueprint, Flask, g, render_template_string

from authgate.flask import AuthGate, authenticate, current_user, init_app, init_authgate, requires_authentication
from conftest import digest_header, parse_challenge

CREDS = "Basic " + base64.b64encode(b"alice:secret").decode()


def make_app(**options):
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "s"
    init_authgate(app, users={"alice": "secret"}, **options)

    @app.route("/")
    @requires_authentication
    def index(user):
        return render_template_string("hello {{ user }} / {{ current_user }}", user=user)

    @app.route("/async")
    @requires_authentication
    async def async_index(user):
        return "async " + user

    @app.route("/greet")
    @authenticate
    def greet():
        return render_template_string("hi {{ current_user }} ({{ g.current_user }})") + " " + current_user()

    bp = Blueprint("api", __name__, url_prefix="/api")

    @bp.before_request
    @authenticate
    def guard():
        return None

    @bp.route("/x")
    def x():
        return "api " + g.current_user

    app.register_blueprint(bp)
    return app.test_client()


def test_requires_authentication_passes_user():
    c = make_app()
    assert c.get("/", headers={"Authorization": CREDS}).data == b"hello alice / alice"
    assert c.get("/async", headers={"Authorization": CREDS}).data == b"async alice"


def test_unauthenticated_gets_rfc7616_challenges():
    c = make_app()
    r = c.get("/")
    assert r.status_code == 401
    values = r.headers.getlist("WWW-Authenticate")
    assert values[0].startswith('Digest realm="Authentication Required", qop="auth", algorithm=SHA-256, nonce="')
    assert values[-1] == 'Basic realm="Authentication Required", charset="UTF-8"'
    assert c.get("/", headers={"Authorization": "Basic !!!"}).status_code == 400


def test_authenticate_sets_g_and_jinja():
    c = make_app()
    assert c.get("/greet", headers={"Authorization": CREDS}).data == b"hi alice (alice) alice"
    assert c.get("/greet").status_code == 401


def test_blueprint_before_request():
    c = make_app()
    assert c.get("/api/x", headers={"Authorization": CREDS}).data == b"api alice"
    assert c.get("/api/x").status_code == 401
    assert c.options("/api/x").status_code == 200


def test_digest_through_gate_and_class_style():
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "s"
    gate = AuthGate()
    gate.init_app(app, realm="home", get_password=lambda u: {"bob": "pw"}.get(u), algorithms=("SHA-256",))

    @app.route("/p")
    @requires_authentication
    def p(user):
        return user + ":" + g.authgate_algorithm

    c = app.test_client()
    d = parse_challenge(c.get("/p").headers["WWW-Authenticate"])
    r = c.get("/p", headers={"Authorization": digest_header(d, "bob", "pw", "GET", "/p")})
    assert r.data == b"bob:SHA-256" and "Authentication-Info" in r.headers
    assert init_app is init_authgate


def test_not_initialised():
    app = Flask(__name__)

    @app.route("/")
    @requires_authentication
    def index(user):
        return user

    app.testing = True
    with pytest.raises(RuntimeError, match="init_authgate"):
        app.test_client().get("/")
