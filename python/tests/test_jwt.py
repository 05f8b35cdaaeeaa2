"""JWT bearer tokens through the Python binding: the shared vectors, tokens minted live by
PyJWT (with `cryptography`) in every algorithm and by jwcrypto, the classic attacks, and
HTTPTokenAuth with a verifier as its `verify_token`."""
import base64
import datetime
import hashlib
import hmac
import json
import time

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from flask import Flask
from jwcrypto import jwk as jc_jwk
from jwcrypto import jwt as jc_jwt

import authgate
from authgate.flask import HTTPTokenAuth
from test_vectors import load

NOW = int(time.time())
CLAIMS = {"sub": "lamp-3", "iss": "https://hub.local", "aud": "lights", "iat": NOW, "exp": NOW + 600}
HMAC_SECRET = b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize("case", load("jwt"))
def test_vector(case):
    s = {k: v.decode() for k, v in case.items()}
    verifier = authgate.JwtVerifier(s["jwks"], s["algorithms"].split(","), issuer=s.get("issuer"),
                                    audience=s.get("audience"), leeway=int(s.get("leeway", 0)))
    if s["expect"] == "ok":
        claims = verifier.verify(s["token"], now=int(s["now"]))
        assert claims["sub"] == s["sub"]
    else:
        with pytest.raises(authgate.JwtError) as e:
            verifier.verify(s["token"], now=int(s["now"]))
        assert e.value.reason == s["expect"], e.value.message
        assert e.value.status == 401


def pem(public_key) -> str:
    return public_key.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture(scope="module")
def keys():
    return {"rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "ec": ec.generate_private_key(ec.SECP256R1()),
            "ed": ed25519.Ed25519PrivateKey.generate()}


ALGS = [("HS256", "hmac"), ("HS384", "hmac"), ("HS512", "hmac"), ("RS256", "rsa"), ("RS384", "rsa"),
        ("RS512", "rsa"), ("PS256", "rsa"), ("PS384", "rsa"), ("PS512", "rsa"), ("ES256", "ec"), ("EdDSA", "ed")]


@pytest.mark.parametrize("alg,kind", ALGS)
def test_pyjwt_every_algorithm(keys, alg, kind):
    signing = HMAC_SECRET if kind == "hmac" else keys[kind]
    token = pyjwt.encode(CLAIMS, signing, algorithm=alg, headers={"kid": kind + "-key"})
    public = HMAC_SECRET if kind == "hmac" else pem(keys[kind].public_key())
    # The key as given, as a kid map, and as a JWKS document built by PyJWT.
    as_jwk = pyjwt.get_algorithm_by_name(alg).to_jwk(signing if kind == "hmac" else keys[kind].public_key(),
                                                        as_dict=True)
    as_jwk["kid"] = kind + "-key"
    for k in (public, {kind + "-key": public}, {"keys": [as_jwk]}, json.dumps({"keys": [as_jwk]})):
        v = authgate.JwtVerifier(k, [alg], issuer="https://hub.local", audience="lights")
        assert v.verify(token) == CLAIMS
        header, claims = v.verify_complete(token)
        assert header["alg"] == alg and header["kid"] == kind + "-key" and claims == CLAIMS
    # Tampered claims: refused by signature.
    h, p, sig = token.split(".")
    evil = base64.urlsafe_b64encode(json.dumps(dict(CLAIMS, sub="admin")).encode()).rstrip(b"=").decode()
    with pytest.raises(authgate.JwtError) as e:
        v.verify(f"{h}.{evil}.{sig}")
    assert e.value.reason == "BadSignature"


@pytest.mark.parametrize("alg,kind", [("HS256", "hmac"), ("RS256", "rsa"), ("PS256", "rsa"), ("ES256", "ec"),
                                      ("EdDSA", "ed")])
def test_jwcrypto_tokens(keys, alg, kind):
    if kind == "hmac":
        key = jc_jwk.JWK(kty="oct", k=base64.urlsafe_b64encode(HMAC_SECRET).rstrip(b"=").decode())
        public = HMAC_SECRET
    else:
        key = jc_jwk.JWK.from_pem(keys[kind].private_bytes(serialization.Encoding.PEM,
                                                           serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption()))
        public = key.export_public()  # jwcrypto's own JWK, as a JSON string
    t = jc_jwt.JWT(header={"alg": alg}, claims=CLAIMS)
    t.make_signed_token(key)
    v = authgate.JwtVerifier(public, [alg], issuer="https://hub.local", audience="lights")
    assert v.verify(t.serialize()) == CLAIMS


def refused(verifier, token, reason):
    with pytest.raises(authgate.JwtError) as e:
        verifier.verify(token)
    assert e.value.reason == reason, e.value.message


def b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def test_attacks_live(keys):
    rsa_pem = pem(keys["rsa"].public_key())
    v = authgate.JwtVerifier(rsa_pem, ["RS256"], audience="lights")
    # alg none, as PyJWT writes it.
    refused(v, pyjwt.encode(CLAIMS, None, algorithm="none"), "AlgorithmNotAllowed")
    # The public key as an HMAC secret (PyJWT refuses to sign that: done by hand).
    signing_input = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(json.dumps(CLAIMS).encode())
    forged = signing_input + "." + b64(hmac.new(rsa_pem.encode(), signing_input.encode(), hashlib.sha256).digest())
    refused(v, forged, "AlgorithmNotAllowed")
    refused(authgate.JwtVerifier(rsa_pem, ["RS256", "HS256"], audience="lights"), forged, "UnknownKey")
    # A PEM public key is never taken for an HMAC secret.
    with pytest.raises(authgate.ConfigError):
        authgate.JwtVerifier({"k": rsa_pem.encode().replace(b"-----BEGIN", b"-----BEGIN", 1)[:40]}, ["HS256"])
    good = pyjwt.encode(CLAIMS, keys["rsa"], algorithm="RS256")
    h, p, _ = good.split(".")
    refused(v, f"{h}.{p}.", "BadSignature")
    # Times from now, not from the module's import: a loaded machine can take longer than the leeway.
    now = int(time.time())
    expired = pyjwt.encode(dict(CLAIMS, exp=now - 10), keys["rsa"], algorithm="RS256")
    refused(v, expired, "TokenExpired")
    assert authgate.JwtVerifier(rsa_pem, ["RS256"], audience="lights", leeway=datetime.timedelta(seconds=30)).verify(expired)
    refused(v, pyjwt.encode(dict(CLAIMS, nbf=now + 60), keys["rsa"], algorithm="RS256"), "TokenNotYetValid")
    refused(v, pyjwt.encode(dict(CLAIMS, aud="locks"), keys["rsa"], algorithm="RS256"), "WrongAudience")
    refused(authgate.JwtVerifier(rsa_pem, ["RS256"], issuer="https://other"), good, "WrongIssuer")
    refused(v, "x" * 5000, "TokenTooLarge")
    refused(v, 12 * "a.", "MalformedToken")
    with pytest.raises(authgate.JwtError) as e:
        v.verify(pyjwt.encode({k: c for k, c in CLAIMS.items() if k != "aud"}, keys["rsa"], algorithm="RS256"))
    assert e.value.reason == "MissingClaim" and e.value.message == 'Token is missing the "aud" claim'


def test_configuration_errors(keys):
    with pytest.raises(authgate.ConfigError):
        authgate.JwtVerifier(HMAC_SECRET, ["none"])
    with pytest.raises(authgate.ConfigError):
        authgate.JwtVerifier(HMAC_SECRET, ["RS256"])  # no key serves it
    with pytest.raises(authgate.ConfigError):
        authgate.JwtVerifier(b"", ["HS256"])
    with pytest.raises(authgate.ConfigError):
        authgate.JwtVerifier('{"keys": [{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}]}', ["ES256"])
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(authgate.ConfigError):
        authgate.JwtVerifier(pem(small.public_key()), ["RS256"])
    assert "EdDSA" in authgate._authgate.JWT_ALGORITHMS and len(authgate._authgate.JWT_ALGORITHMS) == 11


def test_http_token_auth_with_a_verifier(keys):
    app = Flask(__name__)
    auth = HTTPTokenAuth()
    auth.verify_token(authgate.JwtVerifier(pem(keys["ec"].public_key()), ["ES256"], audience="lights"))

    @app.route("/lamp")
    @auth.login_required
    def lamp():
        return {"who": auth.current_user()["sub"]}

    c = app.test_client()
    token = pyjwt.encode(CLAIMS, keys["ec"], algorithm="ES256")
    r = c.get("/lamp", headers={"Authorization": "Bearer " + token})
    assert r.status_code == 200 and r.json == {"who": "lamp-3"}
    for bad in (pyjwt.encode(dict(CLAIMS, exp=NOW - 1), keys["ec"], algorithm="ES256"),
                pyjwt.encode(CLAIMS, HMAC_SECRET, algorithm="HS256"), token[:-2] + "AA", "a.b.c"):
        r = c.get("/lamp", headers={"Authorization": "Bearer " + bad})
        assert r.status_code == 401, bad
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert c.get("/lamp").status_code == 401
