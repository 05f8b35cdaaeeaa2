"""authgate: HTTP authentication (Basic, Digest, Bearer) by a Rust engine.

The low-level API is the engine itself (:class:`Engine`, with :class:`Credential` for stored
HA1 / PBKDF2 / werkzeug hashes), its parser (:func:`parse_authorization`,
:func:`decode_basic`), renderers (:func:`basic_challenge`, :func:`digest_challenge`,
:func:`bearer_challenge`), keyed nonces (:func:`issue_nonce`, :func:`verify_nonce`) and replay
stores (:class:`SharedMemoryReplayStore`, the default, shared by a server's processes;
:class:`MemoryReplayStore`, one process; :class:`RedisNonceStore` and
:class:`AsyncRedisNonceStore`, several hosts). Apache credential files:
:class:`HtpasswdFile` (every format ``htpasswd`` writes) and :class:`HtdigestFile`.

``authgate.flask`` is a drop-in replacement for Flask-HTTPAuth, plus decorators in the
style of Flask-Kerberos / Flask-SSPI. :class:`JwtVerifier` verifies JWT bearer tokens;
``authgate.flask_jwt`` is the verifying side of Flask-JWT-Extended.
"""
from ._authgate import (
    NONCE_LIFETIME,
    WINDOW,
    AuthgateError,
    Authorization,
    ConfigError,
    Credential,
    Engine,
    HtdigestFile,
    HtfileError,
    HtpasswdFile,
    JwtError,
    JwtVerifier,
    MalformedHeader,
    MemoryReplayStore,
    Refusal,
    SharedMemoryReplayStore,
    Verdict,
    basic_challenge,
    bearer_challenge,
    check_password,
    ct_eq,
    decode_basic,
    derive_key,
    digest_challenge,
    ha1,
    issue_nonce,
    parse_authorization,
    pbkdf2_sha256,
    random_key,
    verify_nonce,
    window_record,
)

# The exception classes are made in Rust; give them readable fields.
MalformedHeader.message = property(lambda self: self.args[0])  # type: ignore[attr-defined]
MalformedHeader.code = property(lambda self: self.args[1] if len(self.args) > 1 else "Malformed")  # type: ignore[attr-defined]
MalformedHeader.status = 400  # type: ignore[attr-defined]
JwtError.message = property(lambda self: self.args[0])  # type: ignore[attr-defined]
JwtError.reason = property(lambda self: self.args[1] if len(self.args) > 1 else "Other")  # type: ignore[attr-defined]
JwtError.status = 401  # type: ignore[attr-defined]
HtfileError.message = property(lambda self: self.args[0])  # type: ignore[attr-defined]
HtfileError.code = property(lambda self: self.args[1] if len(self.args) > 1 else "Other")  # type: ignore[attr-defined]
HtfileError.line = property(lambda self: self.args[2] if len(self.args) > 2 else 0)  # type: ignore[attr-defined]


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    # Imported lazily: redis-py is optional.
    if name in ("RedisNonceStore", "AsyncRedisNonceStore"):
        from . import redis_store

        return getattr(redis_store, name)
    raise AttributeError(name)


__all__ = [
    "NONCE_LIFETIME",
    "WINDOW",
    "AsyncRedisNonceStore",
    "AuthgateError",
    "Authorization",
    "ConfigError",
    "Credential",
    "Engine",
    "HtdigestFile",
    "HtpasswdFile",
    "JwtError",
    "JwtVerifier",
    "MalformedHeader",
    "MemoryReplayStore",
    "RedisNonceStore",
    "Refusal",
    "SharedMemoryReplayStore",
    "Verdict",
    "basic_challenge",
    "bearer_challenge",
    "check_password",
    "ct_eq",
    "decode_basic",
    "derive_key",
    "digest_challenge",
    "ha1",
    "issue_nonce",
    "parse_authorization",
    "pbkdf2_sha256",
    "random_key",
    "verify_nonce",
    "window_record",
]
