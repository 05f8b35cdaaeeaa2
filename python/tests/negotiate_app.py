"""The app the Negotiate / NTLM tests serve: authgate.flask_kerberos on /kerberos,
authgate.flask_sspi on /ntlm and /ntlm-user (package from SSPI_PACKAGE: NTLM or Negotiate).
With REQUEST_LOG set, every request is recorded there (a JSON line: path, status, the
Authorization scheme, the user), so that a test driving a browser sees what the server saw."""
import json
import logging
import os

from flask import Flask, g, jsonify, render_template_string, request

from authgate.flask_kerberos import init_kerberos
from authgate.flask_kerberos import requires_authentication as kerberos_required
from authgate.flask_sspi import authenticate, init_sspi
from authgate.flask_sspi import requires_authentication as sspi_required

#: bob's password is "hunter2"; the server keeps only its NT hash.
BOB_NT_HASH = "6608e4bc7b2b7a5f77ce3573570775af"


def create_app():
    # The refusals (reason and all) go to the server's log, which the tests read.
    logging.basicConfig(level=logging.INFO, format="%(name)s %(levelname)s %(message)s")
    app = Flask(__name__)
    app.secret_key = os.environ.get("APP_SECRET") or None
    init_kerberos(app, hostname="localhost")
    init_sspi(app, hostname="localhost", package=os.environ.get("SSPI_PACKAGE", "NTLM"),
              users={"alice": "Secret-1", "jürgen": "pässword"}, nt_hashes={"bob": BOB_NT_HASH})

    request_log = os.environ.get("REQUEST_LOG")
    if request_log:
        @app.after_request
        def record(response):
            """One JSON line per request, as the server saw it: the scheme of its
            Authorization header (never the token), the user authenticated, the status."""
            authorization = request.headers.get("Authorization")
            user = g.get("kerberos_user") or g.get("current_user")
            line = {"path": request.path, "status": response.status_code, "user": user,
                    "scheme": authorization.split(" ", 1)[0] if authorization else None,
                    "agent": request.headers.get("User-Agent", "")}
            with open(request_log, "a", encoding="utf-8") as f:
                f.write(json.dumps(line) + "\n")
            return response

    @app.route("/healthz")
    def healthz():
        return "ok"

    @app.route("/kerberos")
    @kerberos_required
    def kerberos(user):
        from flask.globals import _cv_request

        return jsonify(user=user, ctx_user=_cv_request.get().kerberos_user)

    @app.route("/ntlm")
    @authenticate
    def ntlm():
        return jsonify(user=g.current_user)

    @app.route("/ntlm-page")
    @sspi_required
    def ntlm_page(user):
        return render_template_string("<!doctype html><h1>hello <span id=user>{{ current_user }}</span></h1>")

    return app


app = create_app()
