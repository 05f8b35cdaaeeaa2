"""authgate.flask_jwt against the real Flask-JWT-Extended 4.7.4 (on PyJWT): the same app
written twice, the same requests, the same status codes and JSON bodies. Tokens are minted
by Flask-JWT-Extended itself (create_access_token / create_refresh_token) and by PyJWT."""
import datetime

import flask_jwt_extended as fje
import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, jsonify

from authgate import flask_jwt as agj

SECRET = "a-flask-jwt-extended-secret-key-of-some-length"


def make_app(lib, **config):
    app = Flask(lib.__name__)
    app.config.update(JWT_SECRET_KEY=SECRET, **config)
    manager = lib.JWTManager(app)

    @app.route("/me")
    @lib.jwt_required()
    def me():
        return jsonify(identity=lib.get_jwt_identity(), role=lib.get_jwt().get("role"),
                       alg=lib.get_jwt_header()["alg"])

    @app.route("/optional")
    @lib.jwt_required(optional=True)
    def optional():
        return jsonify(identity=lib.get_jwt_identity())

    @app.route("/fresh")
    @lib.jwt_required(fresh=True)
    def fresh():
        return jsonify(ok=True)

    @app.route("/refresh")
    @lib.jwt_required(refresh=True)
    def refresh():
        return jsonify(identity=lib.get_jwt_identity())

    @app.route("/manual")
    def manual():
        lib.verify_jwt_in_request()
        return jsonify(identity=lib.get_jwt_identity())

    return app, manager


def tokens(app, **extra):
    """Tokens minted by Flask-JWT-Extended in `app`."""
    with app.app_context():
        return {
            "access": fje.create_access_token("alice", additional_claims={"role": "admin"}, **extra),
            "fresh": fje.create_access_token("alice", fresh=True),
            "refresh": fje.create_refresh_token("alice"),
            "expired": fje.create_access_token("alice", expires_delta=datetime.timedelta(seconds=-30)),
        }


def both(**config):
    ours, _ = make_app(agj, **config)
    theirs, _ = make_app(fje, **config)
    return ours.test_client(), theirs.test_client(), theirs


def same(ours, theirs, path, header, *, body=True):
    headers = {} if header is None else {"Authorization": header}
    a, b = ours.get(path, headers=headers), theirs.get(path, headers=headers)
    assert a.status_code == b.status_code, (path, header, a.json, b.json)
    if body:
        assert a.json == b.json, (path, header)
    assert a.status_code != 500
    return a


def test_same_answers_as_flask_jwt_extended():
    ours, theirs, app = both()
    t = tokens(app)
    forged = pyjwt.encode({"sub": "alice", "exp": 4102444800}, "not the secret, but as long as one", algorithm="HS256")
    for path in ("/me", "/manual"):
        assert same(ours, theirs, path, "Bearer " + t["access"]).json["identity"] == "alice"
        same(ours, theirs, path, None)  # 401 Missing Authorization Header
        same(ours, theirs, path, "Basic YWxpY2U6eA==")  # 401 Missing 'Bearer' type
        same(ours, theirs, path, "Bearer " + t["expired"])  # 401 Token has expired
        same(ours, theirs, path, "Bearer " + t["refresh"])  # 422 Only non-refresh tokens are allowed
        same(ours, theirs, path, "Bearer " + forged)  # 422 Signature verification failed
    same(ours, theirs, "/me", "Bearer")  # 422 Bad Authorization header
    assert same(ours, theirs, "/optional", None).json == {"identity": None}
    assert same(ours, theirs, "/optional", "Bearer " + t["access"]).json == {"identity": "alice"}
    same(ours, theirs, "/optional", "Bearer " + t["expired"])
    same(ours, theirs, "/fresh", "Bearer " + t["access"])  # 401 Fresh token required
    same(ours, theirs, "/fresh", "Bearer " + t["fresh"])
    assert same(ours, theirs, "/refresh", "Bearer " + t["refresh"]).json == {"identity": "alice"}
    same(ours, theirs, "/refresh", "Bearer " + t["access"])  # 422 Only refresh tokens are allowed
    no_sub = pyjwt.encode({"exp": 4102444800, "type": "access"}, SECRET, algorithm="HS256")
    same(ours, theirs, "/me", "Bearer " + no_sub)  # 422 Missing claim: sub
    # Malformed tokens: the same status (422), the core's reason as the message.
    for bad in ("Bearer a.b.c", "Bearer " + t["access"][:-3], "Bearer " + t["access"] + ".x",
                "Bearer " + pyjwt.encode({"sub": "alice"}, None, algorithm="none")):
        r = same(ours, theirs, "/me", bad, body=False)
        assert r.status_code == 422 and r.json["msg"]


def test_audience_issuer_leeway_and_identity_claim():
    config = dict(JWT_DECODE_AUDIENCE="lights", JWT_ENCODE_AUDIENCE="lights", JWT_DECODE_ISSUER="hub",
                  JWT_ENCODE_ISSUER="hub", JWT_DECODE_LEEWAY=60, JWT_IDENTITY_CLAIM="uid")
    ours, theirs, app = both(**config)
    t = tokens(app)
    assert same(ours, theirs, "/me", "Bearer " + t["access"]).json["identity"] == "alice"
    assert same(ours, theirs, "/me", "Bearer " + t["expired"]).json["identity"] == "alice"  # within leeway
    other_app, _ = make_app(fje, **dict(config, JWT_ENCODE_AUDIENCE="locks", JWT_ENCODE_ISSUER="evil"))
    other = tokens(other_app)
    same(ours, theirs, "/me", "Bearer " + other["access"])  # 422 Invalid audience
    # Without JWT_DECODE_AUDIENCE a token's aud is not checked (as Flask-JWT-Extended).
    ours, theirs, _ = both()
    with other_app.app_context():
        token = fje.create_access_token("alice")
    unchecked = pyjwt.encode({"sub": "alice", "aud": "anything", "exp": 4102444800}, SECRET, algorithm="HS256")
    same(ours, theirs, "/me", "Bearer " + unchecked)
    assert token


def test_asymmetric_keys_and_custom_loaders():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    config = dict(JWT_ALGORITHM="RS256", JWT_PRIVATE_KEY=private, JWT_PUBLIC_KEY=public)
    ours_app, ours_manager = make_app(agj, **config)
    theirs_app, _ = make_app(fje, **config)

    @ours_manager.expired_token_loader
    def expired(header, data):
        return jsonify(error="expired"), 401

    t = tokens(theirs_app)
    ours = ours_app.test_client()
    assert ours.get("/me", headers={"Authorization": "Bearer " + t["access"]}).json["alg"] == "RS256"
    r = ours.get("/me", headers={"Authorization": "Bearer " + t["expired"]})
    assert (r.status_code, r.json) == (401, {"error": "expired"})
    # An HS256 token signed with the public key is refused (algorithm confusion).
    import base64, hashlib, hmac, json
    enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    si = enc(b'{"alg":"HS256"}') + "." + enc(json.dumps({"sub": "admin"}).encode())
    forged = si + "." + enc(hmac.new(public.encode(), si.encode(), hashlib.sha256).digest())
    r = ours.get("/me", headers={"Authorization": "Bearer " + forged})
    assert r.status_code == 422 and r.json == {"msg": "The specified alg value is not allowed"}


def test_jwks_keys_and_no_manager():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = pyjwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk["kid"] = "k1"
    app = Flask(__name__)
    app.config.update(JWT_ALGORITHM="RS256", AUTHGATE_JWT_KEYS={"keys": [jwk]})

    @app.route("/me")
    @agj.jwt_required()
    def me():
        return jsonify(identity=agj.get_jwt_identity())

    c = app.test_client()
    good = pyjwt.encode({"sub": "bob", "exp": 4102444800}, key, algorithm="RS256", headers={"kid": "k1"})
    assert c.get("/me", headers={"Authorization": "Bearer " + good}).json == {"identity": "bob"}
    # No JWTManager: the decorator still answers as Flask-JWT-Extended would, never a 500.
    r = c.get("/me", headers={"Authorization": "Bearer " + good[:-4] + "AAAA"})
    assert r.status_code == 422
    assert c.get("/me").status_code == 401
    unknown = pyjwt.encode({"sub": "bob"}, key, algorithm="RS256", headers={"kid": "k2"})
    r = c.get("/me", headers={"Authorization": "Bearer " + unknown})
    assert (r.status_code, r.json) == (422, {"msg": "no key for the token's alg and kid"})
    with app.test_request_context("/"):
        with pytest.raises(RuntimeError):
            agj.get_jwt()
