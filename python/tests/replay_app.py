"""The app test_replay_gunicorn.py serves with gunicorn: authgate.flask's HTTPDigestAuth (the
Flask-HTTPAuth drop-in) on /secret, and the core Engine on /engine, built when the module is
imported (with --preload: in the master, before the fork); /open is unprotected. Every
response names the worker that served it (X-Served-By).

Environment: REPLAY_APP_SECRET (SECRET_KEY), REPLAY_APP_REALM, REPLAY_APP_REDIS (a URL:
RedisNonceStore with its default timeouts; otherwise the default store, shared memory)."""
import os

from flask import Flask, jsonify, request

from authgate import Engine, derive_key
from authgate.flask import HTTPDigestAuth

USERS = {"alice": "wonder land", "bob": "builder"}

app = Flask(__name__)
app.config["SECRET_KEY"] = os.environ["REPLAY_APP_SECRET"]
realm = os.environ["REPLAY_APP_REALM"]
store = None  # the default
if os.environ.get("REPLAY_APP_REDIS"):
    from authgate import RedisNonceStore

    store = RedisNonceStore.from_url(os.environ["REPLAY_APP_REDIS"])  # its default timeouts

auth = HTTPDigestAuth(realm=realm, replay_store=store)
auth.get_password(USERS.get)
engine = Engine(realm + " (engine)", derive_key(os.environ["REPLAY_APP_SECRET"]), users=USERS, schemes=["Digest"],
                algorithms=["MD5"], replay_store=store)


@app.after_request
def served_by(resp):
    resp.headers["X-Served-By"] = str(os.getpid())
    return resp


@app.route("/open")
def open_route():
    return jsonify(pid=os.getpid())


@app.route("/secret")
@auth.login_required
def secret():
    return jsonify(user=auth.current_user())


@app.route("/engine")
def engine_route():
    v = engine.check(request.method, request.full_path.rstrip("?"), request.headers.get("Authorization"))
    if v.status != 200:
        return "refused", v.status, [("WWW-Authenticate", c) for c in v.www_authenticate]
    return jsonify(user=v.user)
