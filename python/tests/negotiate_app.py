"""The app the Negotiate / NTLM tests serve: authgate.flask_kerberos on /kerberos,
authgate.flask_sspi on /ntlm and /ntlm-user (package from SSPI_PACKAGE: NTLM or Negotiate)."""
import logging
import os

from flask import Flask, g, jsonify, render_template_string

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
