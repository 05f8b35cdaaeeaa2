"""A home-automation demo protected by authgate.

* ``/``: an HTML page (Flask-Kerberos style: ``@requires_authentication``, user as first
  argument; ``current_user`` in the template).
* ``/api/...``: a JSON API whose Blueprint authenticates in ``before_request`` (Flask-SSPI
  style ``authenticate``): ``/api/secret``, ``/api/status``, ``/api/light`` (GET, POST
  ``{"on": true}``), ``/api/light/toggle`` (POST, what the page's button sends).
* ``/api/legacy``: the same users through ``authgate.flask`` (the Flask-HTTPAuth drop-in).

With ``htpasswd=PATH`` the users come from an Apache htpasswd file instead (any format
``htpasswd`` writes; read again when it changes), and every route asks for Basic through
the drop-in's ``HTTPBasicAuth`` with ``HtpasswdFile.verify`` as its ``verify_password``:
hashed passwords cannot answer Digest.

Digest SHA-256 is offered first, then Digest MD5 and Basic. Nonces are keyed with
SECRET_KEY, so every worker accepts them; with ``redis_url`` nonce counts are shared too.

Every route runs the origin check first (``origin``: the ``AuthGate`` options
``check_origin``, ``allow_hosts``, ``allow_origins``, ``allow_any_address``; the drop-in
objects get the same, switched on): another site's page cannot switch the light with the
browser's cached login (403), and a name that is not the demo's cannot reach it (421).
"""
from __future__ import annotations

import json
import os
import threading
from functools import wraps

from flask import Blueprint, Flask, g, jsonify, render_template_string, request

from authgate import HtpasswdFile
from authgate.flask import (
    HTTPBasicAuth,
    HTTPDigestAuth,
    MultiAuth,
    accepted_algorithm,
    authenticate,
    init_authgate,
    requires_authentication,
)

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>authgate home</title>
<style>body{font-family:sans-serif;max-width:40em;margin:2em auto}
.on{color:#b80}.off{color:#555}code{background:#eee;padding:0 .3em}</style></head>
<body>
<h1>Welcome home, <span id="user">{{ current_user }}</span></h1>
<p id="auth">Signed in with <b id="scheme">{{ scheme }}</b>{% if algorithm %} <b id="algorithm">{{ algorithm }}</b>{% endif %}.</p>
<p>Living-room light: <b id="light" class="{{ 'on' if light else 'off' }}">{{ 'on' if light else 'off' }}</b>
<button id="toggle">switch</button></p>
<p>API: <code>/api/status</code>, <code>/api/secret</code>, <code>/api/light</code> (POST <code>{"on": true}</code>),
<code>/api/light/toggle</code> (POST)</p>
<script>
document.getElementById("toggle").onclick = async () => {
  const r = await fetch("/api/light/toggle", {method: "POST", credentials: "same-origin"});
  const light = document.getElementById("light");
  if (r.ok) { const state = (await r.json()).light; light.textContent = state; light.className = state; }
};
</script>
<p><small>served by worker {{ pid }}</small></p>
</body></html>
"""


class LightStore:
    """The fake light: in Redis when configured (shared by workers), else in-process."""

    def __init__(self, redis_client=None):
        self.redis = redis_client
        self.on = False
        self.lock = threading.Lock()

    def get(self) -> bool:
        if self.redis is not None:
            return self.redis.get("authgate-demo:light") == b"1"
        return self.on

    def set(self, on: bool) -> None:
        if self.redis is not None:
            self.redis.set("authgate-demo:light", b"1" if on else b"0")
        else:
            with self.lock:
                self.on = on


def load_users(path: str) -> dict:
    """``user:password`` per line; blank lines and ``#`` comments ignored."""
    users = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                name, _, password = line.partition(":")
                users[name] = password
    return users


def htpasswd_gate(path: str, realm: str, origin: dict):
    """Decorators in the shape of ``requires_authentication`` / ``authenticate`` that check
    Basic credentials against an htpasswd file, and the ``HTTPBasicAuth`` behind them."""
    users = HtpasswdFile(path)
    basic = HTTPBasicAuth(realm=realm, **origin)
    basic.verify_password(users.verify)

    def signed_in():
        g.current_user = basic.current_user()
        g.authgate_scheme = "Basic"

    def page(view):
        @wraps(view)
        @basic.login_required
        def decorated(*args, **kwargs):
            signed_in()
            return view(g.current_user, *args, **kwargs)

        return decorated

    def hook(view):
        @wraps(view)
        @basic.login_required
        def decorated(*args, **kwargs):
            signed_in()
            return view(*args, **kwargs)

        return decorated

    return page, hook, basic


def create_app(users: dict | None = None, secret_key: str | None = None, redis_url: str | None = None,
               realm: str = "authgate demo", htpasswd: str | None = None, origin: dict | None = None) -> Flask:
    if users is None:
        users = json.loads(os.environ.get("AUTHGATE_DEMO_USERS", "{}"))
    secret_key = secret_key or os.environ.get("AUTHGATE_DEMO_SECRET") or os.urandom(32).hex()
    redis_url = redis_url or os.environ.get("AUTHGATE_DEMO_REDIS") or None

    app = Flask(__name__)
    app.config["SECRET_KEY"] = secret_key
    redis_client = None
    if redis_url:
        import redis

        from authgate import RedisNonceStore

        redis_client = redis.Redis.from_url(redis_url)
        replay = RedisNonceStore(redis_client)
    else:
        replay = None  # the default: one table in shared memory for all the server's workers
    light = LightStore(redis_client)
    # The origin check, on (the AuthGate default); the drop-in objects get it switched on.
    origin = {"check_origin": True, **(origin or {})}

    if htpasswd:
        page_auth, api_hook, htpasswd_basic = htpasswd_gate(htpasswd, realm, origin)
    else:
        init_authgate(app, realm=realm, users=users, schemes=("Digest", "Basic"),
                      algorithms=("SHA-256", "MD5"), replay_store=replay, **origin)
        page_auth, api_hook, htpasswd_basic = requires_authentication, authenticate, None
        # Windows single sign-on: NTLM (and Kerberos, when KRB5_KTNAME names a keytab) for
        # the same users, through the Flask-SSPI drop-in.
        from authgate.flask_sspi import authenticate as sspi_authenticate
        from authgate.flask_sspi import init_sspi

        init_sspi(app, hostname=os.environ.get("AUTHGATE_DEMO_HOST", "localhost"),
                  package="Negotiate" if os.environ.get("KRB5_KTNAME") else "NTLM", users=users,
                  add_context_processor=False)

        @app.route("/windows")
        @sspi_authenticate
        def windows():
            return jsonify(user=g.current_user, scheme="NTLM or Negotiate")

    @app.after_request
    def served_by(resp):
        resp.headers["X-Served-By"] = str(os.getpid())
        if g.get("authgate_scheme"):
            resp.headers["X-Authgate-Scheme"] = g.authgate_scheme
        if g.get("authgate_algorithm"):
            resp.headers["X-Authgate-Algorithm"] = g.authgate_algorithm
        return resp

    @app.route("/healthz")
    def healthz():
        return "ok\n"

    @app.route("/")
    @page_auth
    def index(user):
        return render_template_string(PAGE, current_user=user, scheme=g.get("authgate_scheme"),
                                      algorithm=g.get("authgate_algorithm"),
                                      light=light.get(), pid=os.getpid())

    api = Blueprint("api", __name__, url_prefix="/api")

    @api.before_request
    @api_hook
    def api_auth():
        return None

    @api.route("/status")
    def status():
        return jsonify(user=g.current_user, scheme=g.authgate_scheme, algorithm=g.get("authgate_algorithm"),
                       light="on" if light.get() else "off", worker=os.getpid())

    @api.route("/secret")
    def secret():
        return jsonify(user=g.current_user, secret="the spare key is under the third flowerpot")

    @api.route("/light", methods=["GET", "POST"])
    def switch():
        if request.method == "POST":
            body = request.get_json(silent=True) or {}
            light.set(bool(body.get("on")))
        return jsonify(light="on" if light.get() else "off")

    @api.route("/light/toggle", methods=["POST"])
    def toggle():
        light.set(not light.get())
        return jsonify(light="on" if light.get() else "off")

    app.register_blueprint(api)

    # The same users through the Flask-HTTPAuth drop-in.
    digest = HTTPDigestAuth(realm=realm, algorithm=["SHA-256", "MD5"], replay_store=replay, **origin)
    basic = HTTPBasicAuth(realm=realm, **origin)
    multi = MultiAuth(digest, basic) if htpasswd_basic is None else MultiAuth(htpasswd_basic)

    @digest.get_password
    def get_password(name):
        return users.get(name)

    @basic.verify_password
    def verify_password(name, password):
        from authgate import check_password

        stored = users.get(name)
        if stored is not None and check_password(stored, password):
            return name

    @app.route("/api/legacy")
    @multi.login_required
    def legacy():
        return jsonify(user=multi.current_user(), algorithm=accepted_algorithm())

    return app
