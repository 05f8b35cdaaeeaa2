#!/usr/bin/env python3
"""Mint the JWT tokens of tests/vectors/authgate.vectors with PyJWT and jwcrypto.

    python3 tests/vectors/mint_jwt.py     # needs PyJWT, cryptography and jwcrypto

Writes tests/vectors/jwt_minted.json: fresh keys (public parts only: JWK and PEM; the
private keys are dropped), and tokens of every algorithm signed by PyJWT (with
`cryptography`) and, as a second independent implementation, by jwcrypto. ECDSA and PSS
signatures are randomized, so the file is minted once and committed; generate.py (stdlib
only) reads it and derives the attack cases from it deterministically.
"""

import json
import os

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwcrypto import jwk as jc_jwk
from jwcrypto import jwt as jc_jwt

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "jwt_minted.json")

CLAIMS = {"sub": "device-7", "iss": "https://hub.example", "aud": "authgate-tests",
          "iat": 1700000000, "exp": 4102444800, "scope": ["lights", "locks"]}


def pem(public_key) -> str:
    return public_key.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def main():
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ed_key = ed25519.Ed25519PrivateKey.generate()
    hmac_secret = os.urandom(64)
    keys = {"rsa": rsa_key, "ec": ec_key, "ed": ed_key}
    out = {"claims": CLAIMS, "keys": {}, "tokens": []}
    for name, k in keys.items():
        public = jwt.algorithms.get_default_algorithms()[
            {"rsa": "RS256", "ec": "ES256", "ed": "EdDSA"}[name]].to_jwk(k.public_key(), as_dict=True)
        public["kid"] = name + "-1"
        out["keys"][name] = {"jwk": public, "pem": pem(k.public_key())}
    out["keys"]["hmac"] = {"jwk": {"kty": "oct", "kid": "hmac-1",
                                   "k": jwt.utils.base64url_encode(hmac_secret).decode()}}
    for alg, name in [("HS256", "hmac"), ("HS384", "hmac"), ("HS512", "hmac"),
                      ("RS256", "rsa"), ("RS384", "rsa"), ("RS512", "rsa"),
                      ("PS256", "rsa"), ("PS384", "rsa"), ("PS512", "rsa"),
                      ("ES256", "ec"), ("EdDSA", "ed")]:
        key = hmac_secret if name == "hmac" else keys[name]
        for kid in (True, False):
            headers = {"kid": name + "-1"} if kid else None
            token = jwt.encode(CLAIMS, key, algorithm=alg, headers=headers)
            out["tokens"].append({"minted_by": "PyJWT " + jwt.__version__, "alg": alg, "key": name,
                                  "kid": kid, "token": token})
    # jwcrypto: its own JWK import of the same private keys, its own signing.
    for alg, name in [("HS256", "hmac"), ("RS256", "rsa"), ("PS256", "rsa"), ("ES256", "ec"), ("EdDSA", "ed")]:
        if name == "hmac":
            k = jc_jwk.JWK(kty="oct", k=out["keys"]["hmac"]["jwk"]["k"])
        else:
            k = jc_jwk.JWK.from_pem(keys[name].private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()))
        t = jc_jwt.JWT(header={"alg": alg, "kid": name + "-1"}, claims=CLAIMS)
        t.make_signed_token(k)
        out["tokens"].append({"minted_by": "jwcrypto", "alg": alg, "key": name, "kid": True,
                              "token": t.serialize()})
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    print("%s: %d tokens" % (os.path.relpath(OUT), len(out["tokens"])))


if __name__ == "__main__":
    main()
