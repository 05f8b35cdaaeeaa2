"""Type stubs for the Rust extension authgate._authgate (checked by mypy's stubtest)."""
import os
from datetime import timedelta
from typing import Any, Callable, Literal, Mapping, Optional, Protocol, Sequence, Union, final

_Value = Union[str, bytes]
_Outcome = Literal["fresh", "replayed", "stale"]
# What a user's stored credential may be: a password, a Credential, or {algorithm: HA1 hex}.
_StoredPassword = Union[str, bytes, "Credential", Mapping[str, str]]
_Users = Union[Mapping[str, _StoredPassword], "HtpasswdFile", "HtdigestFile"]

WINDOW: int
NONCE_LIFETIME: int

__all__ = [
    "NONCE_LIFETIME",
    "WINDOW",
    "Accepted",
    "AddAuthenticationInfo",
    "AsgiCheck",
    "Authenticated",
    "AuthgateError",
    "Authorization",
    "CheckSlot",
    "ConfigError",
    "Credential",
    "Engine",
    "FlaskCheck",
    "HtdigestFile",
    "HtfileError",
    "HtpasswdFile",
    "JWT_ALGORITHMS",
    "JwtError",
    "JwtVerifier",
    "MalformedHeader",
    "MemoryReplayStore",
    "PendingReplay",
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
    "request_target",
    "verify_nonce",
    "window_record",
]

class AuthgateError(Exception): ...

class MalformedHeader(AuthgateError):
    """The Authorization value is malformed (HTTP 400). args = (message, name)."""

    @property
    def message(self) -> str: ...
    @property
    def code(self) -> str: ...
    status: int

class ConfigError(AuthgateError): ...

class HtfileError(AuthgateError, ValueError):
    """A damaged line of an htpasswd or htdigest file (an AuthgateError; a ValueError, as
    it was before). args = (message, code, line); code is
    the core's stable name of the refusal: 'LineTooLong', 'ControlCharacter', 'MissingColon',
    'EmptyUser', 'InvalidUser', 'InvalidRealm', 'InvalidHa1', or of the password field's:
    'Empty', 'Unknown', 'Locked', 'Plaintext', 'Malformed', 'CostTooHigh', 'Disabled'."""

    @property
    def message(self) -> str: ...
    @property
    def code(self) -> str: ...
    @property
    def line(self) -> int: ...

class JwtError(AuthgateError):
    """A JWT is refused (HTTP 401). args = (message, reason); reason is the core's stable
    name: 'TokenExpired', 'BadSignature', 'AlgorithmNotAllowed', 'WrongAudience', ..."""

    @property
    def message(self) -> str: ...
    @property
    def reason(self) -> str: ...
    status: int

JWT_ALGORITHMS: list[str]

_JwtKey = Union[str, bytes, Mapping[str, Any]]

@final
class JwtVerifier:
    """Verifies JWTs (compact JWS) in the Rust core: HS256/384/512, RS256/384/512,
    PS256/384/512, ES256, EdDSA. `keys`: an HMAC secret, a PEM public key, a JWKS/JWK
    document (str or dict), or a dict kid -> any of those."""
    def __new__(
        cls,
        keys: Union[_JwtKey, Mapping[str, _JwtKey]],
        algorithms: Sequence[str],
        issuer: Optional[str] = None,
        audience: Optional[Union[str, Sequence[str]]] = None,
        leeway: Optional[Union[int, float, timedelta]] = None,
        *,
        require: Sequence[str] = ...,
        identity_claim: str = "sub",
        accept_any_audience: bool = False,
    ) -> JwtVerifier: ...
    def verify(self, token: Union[str, bytes], now: Optional[float] = None) -> dict[str, Any]: ...
    def verify_complete(
        self, token: Union[str, bytes], now: Optional[float] = None
    ) -> tuple[dict[str, Any], dict[str, Any]]: ...
    def __call__(self, token: Union[str, bytes]) -> Optional[dict[str, Any]]: ...
    @property
    def identity_claim(self) -> str: ...
    @property
    def algorithms(self) -> list[str]: ...

class _ReplayStore(Protocol):
    def check_and_record(self, nonce_id: bytes, issued: int, nc: int) -> str: ...

@final
class Refusal:
    @property
    def status(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def code(self) -> int: ...
    @property
    def message(self) -> str: ...
    @property
    def stale(self) -> bool: ...
    @property
    def scheme(self) -> Optional[str]: ...
    @property
    def user(self) -> Optional[str]: ...
    @property
    def remote(self) -> Optional[str]: ...
    @property
    def result(self) -> Any: ...
    @property
    def challenges(self) -> list[str]: ...
    @property
    def origin_check(self) -> bool: ...
    @property
    def host(self) -> Optional[str]: ...
    @property
    def origin(self) -> Optional[str]: ...

@final
class Authorization:
    @property
    def scheme(self) -> str: ...
    @property
    def token68(self) -> Optional[str]: ...
    @property
    def params(self) -> Optional[list[tuple[str, str]]]: ...
    def get(self, name: str) -> Optional[str]: ...

@final
class Credential:
    @staticmethod
    def plaintext(password: str) -> Credential: ...
    @staticmethod
    def ha1(hex: str, algorithm: str = "MD5") -> Credential: ...
    @staticmethod
    def pbkdf2_sha256(iterations: int, salt: bytes, hash: bytes) -> Credential: ...
    @staticmethod
    def werkzeug(hash: str) -> Credential: ...

@final
class MemoryReplayStore:
    @property
    def capacity(self) -> int: ...
    @property
    def max_age(self) -> int: ...
    def __new__(cls, capacity: int = 4096, max_age: int = 600) -> MemoryReplayStore: ...
    def check_and_record(self, nonce_id: bytes, issued: int, nc: int) -> _Outcome: ...
    def __len__(self) -> int: ...

@final
class SharedMemoryReplayStore:
    """The default replay store: the core's replay table in a shared-memory segment
    (/dev/shm, mode 0600), one per app (nonce key and realm) and user, shared by every
    process of the server (gunicorn/uwsgi workers, with or without preload). Nonces issued
    before its memory began (``since``) are answered stale. A store made without ``name``
    takes the namespace of the first engine it is handed to. Without /dev/shm (or off
    Linux) it keeps a table per process and logs a warning once."""

    @property
    def capacity(self) -> int: ...
    @property
    def max_age(self) -> int: ...
    def __new__(cls, capacity: int = 4096, max_age: int = 600, *, name: Optional[str] = None) -> SharedMemoryReplayStore: ...
    def check_and_record(self, nonce_id: bytes, issued: int, nc: int) -> _Outcome: ...
    def __len__(self) -> int: ...
    @property
    def path(self) -> Optional[str]:
        """The segment's path; None when this process keeps a private table."""
    @property
    def shared(self) -> bool: ...
    @property
    def since(self) -> int:
        """The second the table's memory began."""

@final
class HtpasswdFile:
    """An htpasswd file (bcrypt, MD5-crypt/apr1, SHA-256/512-crypt, SHA-1, DES crypt; plaintext
    with allow_plaintext=True), read again when it changes. A damaged line raises HtfileError
    (a ValueError) naming the line; an unreadable file OSError."""
    def __new__(
        cls,
        path: Union[str, "os.PathLike[str]"],
        *,
        max_bcrypt_cost: int = ...,
        max_sha_crypt_rounds: int = ...,
        allow_plaintext: bool = False,
    ) -> HtpasswdFile: ...
    @property
    def path(self) -> "os.PathLike[str]": ...
    def verify(self, username: str, password: str) -> bool: ...
    def users(self) -> list[str]: ...
    def __contains__(self, username: str, /) -> bool: ...
    def __len__(self) -> int: ...

@final
class HtdigestFile:
    """An htdigest file (user:realm:HA1), read again when it changes."""
    def __new__(cls, path: Union[str, "os.PathLike[str]"], realm: Optional[str] = None) -> HtdigestFile: ...
    @property
    def path(self) -> "os.PathLike[str]": ...
    def ha1(self, username: str, realm: Optional[str] = None) -> Optional[str]: ...
    def verify(self, username: str, password: str, realm: Optional[str] = None) -> bool: ...
    def users(self) -> list[tuple[str, str]]: ...
    def __len__(self) -> int: ...

@final
class Verdict:
    @property
    def status(self) -> int: ...
    @property
    def user(self) -> Optional[str]: ...
    @property
    def scheme(self) -> Optional[Literal["Basic", "Digest", "Bearer", "NTLM", "Negotiate"]]: ...
    @property
    def reason(self) -> Optional[str]: ...
    @property
    def stale(self) -> bool: ...
    @property
    def www_authenticate(self) -> list[str]: ...
    @property
    def algorithm(self) -> Optional[str]: ...
    @property
    def authentication_info(self) -> Optional[str]: ...
    @property
    def error(self) -> Optional[tuple[str, str]]: ...
    @property
    def refusal(self) -> Optional[Refusal]: ...
    @property
    def result(self) -> Any: ...

@final
class Engine:
    def __new__(
        cls,
        realm: str,
        key: bytes,
        *,
        users: Optional[_Users] = None,
        lookup: Optional[Callable[[str], Optional[_StoredPassword]]] = None,
        ha1_lookup: bool = False,
        verify_password: Optional[Callable[[str, str], Any]] = None,
        verify_token: Optional[Callable[[str], Any]] = None,
        tokens: Optional[Mapping[str, str]] = None,
        verify_nonce: Optional[Callable[[str], Any]] = None,
        verify_opaque: Optional[Callable[[Optional[str]], Any]] = None,
        schemes: Sequence[str] = ...,
        algorithms: Sequence[str] = ...,
        qop: Sequence[str] = ...,
        nonce_lifetime: int = 300,
        max_clock_skew: int = 5,
        opaque: Optional[str] = None,
        replay_store: Optional[_ReplayStore] = None,
        previous_key: Optional[bytes] = None,
        allow_rfc2069: bool = False,
        check_uri: bool = True,
        authentication_info: bool = True,
        scheme_names: Optional[Mapping[str, str]] = None,
        token_syntax: Literal["b64token", "free-form", "whole-value"] = "b64token",
        challenge_style: Literal["rfc7616", "compact"] = "rfc7616",
        acceptor: Optional[_Acceptor] = None,
        nt_hashes: Optional[Mapping[str, Union[str, bytes]]] = None,
        bind_negotiate: bool = False,
        refuse_cross_origin: bool = True,
        allow_origins: Optional[Sequence[str]] = None,
        allow_hosts: Optional[Sequence[str]] = None,
        allow_any_address: bool = False,
    ) -> Engine: ...
    def check(
        self,
        method: str,
        target: _Value,
        authorization: Optional[_Value] = None,
        body: Optional[bytes] = None,
        now: Optional[int] = None,
        connection: Optional[int] = None,
    ) -> Verdict: ...
    def challenges(
        self, stale: bool = False, now: Optional[int] = None, nonce: Optional[str] = None, opaque: Optional[str] = None
    ) -> list[str]: ...
    def issue_nonce(self, now: Optional[int] = None) -> str: ...
    def check_origin(
        self,
        method: str,
        *,
        host: Optional[_Value] = None,
        origin: Optional[_Value] = None,
        sec_fetch_site: Optional[_Value] = None,
        referer: Optional[_Value] = None,
        secure: bool = False,
        remote: Optional[str] = None,
    ) -> Optional[Refusal]: ...
    def check_origin_environ(self, environ: dict[str, Any]) -> Optional[Refusal]: ...
    def check_origin_scope(self, scope: Mapping[str, Any]) -> Optional[Refusal]: ...
    @property
    def allowed_hosts(self) -> list[str]: ...
    @property
    def allowed_origins(self) -> list[str]: ...
    @property
    def refuses_cross_origin(self) -> bool: ...
    def selects(self, authorization: _Value) -> bool: ...
    def claimed_user(self, authorization: _Value) -> Optional[str]: ...
    def connection_closed(self, connection: int) -> None: ...
    @property
    def connections(self) -> int: ...
    @property
    def realm(self) -> str: ...
    @property
    def replay_retention(self) -> int: ...
    @property
    def replay_store(self) -> _ReplayStore: ...

class _Acceptor(Protocol):
    """A Negotiate acceptor (authgate.kerberos.GssapiAcceptor): one round per call."""

    def step(self, connection: int, token: bytes) -> tuple[str, Optional[bytes], Optional[str]]: ...

@final
class Accepted:
    @property
    def user(self) -> Any: ...
    @property
    def username(self) -> Optional[str]: ...
    @property
    def scheme(self) -> Literal["Basic", "Digest", "Bearer", "NTLM", "Negotiate"]: ...
    @property
    def algorithm(self) -> Optional[str]: ...

@final
class AddAuthenticationInfo:
    def __call__(self, response: Any) -> Any: ...

@final
class FlaskCheck:
    def __new__(
        cls,
        engine: Union[Engine, Callable[[Any], tuple[Engine, Any, Any]]],
        *,
        header: Optional[str] = None,
        absent: Optional[Callable[[str, str], Any]] = None,
        strict: bool = True,
        refused: Any = None,
        user_attr: str = "flask_httpauth_user",
        auth_int: bool = False,
        private: Optional[tuple[Any, Any, type]] = None,
        check_origin: bool = False,
    ) -> FlaskCheck: ...
    def enter(self) -> Union[Refusal, None]: ...
    def enter_details(self) -> Union[Accepted, Refusal, None]: ...
    def challenges(self, stale: bool = False, nonce: Optional[str] = None, opaque: Optional[str] = None) -> list[str]: ...
    def current_engine(self) -> Engine: ...

@final
class CheckSlot:
    def __new__(cls, make: Callable[[], FlaskCheck]) -> CheckSlot: ...
    def get(self) -> FlaskCheck: ...
    def enter(self) -> Union[Refusal, None]: ...
    def enter_details(self) -> Union[Accepted, Refusal, None]: ...
    def clear(self) -> None: ...

@final
class Authenticated:
    """An accepted request (the ASGI layers)."""

    @property
    def user(self) -> Any: ...
    @property
    def username(self) -> Optional[str]: ...
    @property
    def scheme(self) -> Literal["Basic", "Digest", "Bearer"]: ...
    @property
    def algorithm(self) -> Optional[str]: ...
    @property
    def authentication_info(self) -> Optional[str]: ...

@final
class PendingReplay:
    """An accepted Digest request whose nonce count the Python replay store has still to
    record: ask ``store.check_and_record(nonce_id, issued, nc)`` (awaited when async), then
    ``settle(answer)``."""

    @property
    def store(self) -> Any: ...
    @property
    def nonce_id(self) -> bytes: ...
    @property
    def issued(self) -> int: ...
    @property
    def nc(self) -> int: ...
    def settle(self, outcome: str) -> Union[Authenticated, Refusal]: ...

@final
class AsgiCheck:
    def __new__(cls, engine: Engine, *, header: Optional[str] = None, check_origin: bool = False) -> AsgiCheck: ...
    def enter(
        self, scope: Mapping[str, Any], body: Optional[bytes] = None
    ) -> Union[Authenticated, Refusal, PendingReplay]: ...
    def selects(self, scope: Mapping[str, Any]) -> bool: ...
    def needs_body(self, scope: Mapping[str, Any]) -> bool: ...
    def challenges(self, stale: bool = False) -> list[str]: ...
    @property
    def engine(self) -> Engine: ...
    @property
    def defers_replay(self) -> bool: ...

def derive_key(secret: _Value, purpose: str = "nonce") -> bytes: ...
def random_key() -> bytes: ...
def ct_eq(a: _Value, b: _Value) -> bool: ...
def check_password(stored: str, presented: str) -> bool: ...
def ha1(username: str, realm: str, password: str, algorithm: str = "MD5") -> str: ...
def pbkdf2_sha256(password: str, salt: bytes, iterations: int) -> bytes: ...
def parse_authorization(value: _Value) -> Authorization: ...
def decode_basic(value: _Value) -> tuple[str, str]: ...
def basic_challenge(realm: str) -> str: ...
def bearer_challenge(realm: str, error: Optional[str] = None, description: Optional[str] = None) -> str: ...
def digest_challenge(
    realm: str,
    nonce: str,
    algorithm: str = "SHA-256",
    qop: Sequence[str] = ...,
    opaque: Optional[str] = None,
    stale: bool = False,
    userhash: bool = False,
) -> str: ...
def issue_nonce(key: bytes, realm: str, opaque: str = "", now: Optional[int] = None) -> str: ...
def verify_nonce(
    nonce: str,
    key: bytes,
    realm: str,
    opaque: str = "",
    now: Optional[int] = None,
    lifetime: int = 300,
    skew: int = 5,
    previous_key: Optional[bytes] = None,
) -> tuple[Literal["valid", "expired", "invalid"], int, bytes]: ...
def window_record(state: Optional[bytes], nc: int, issued: int = 0, since: Optional[int] = None) -> tuple[_Outcome, bytes]:
    """The core's per-nonce window: ``(outcome, new_state)``. With ``since``, a nonce never
    used (``state`` None) issued before it is ``"stale"``."""
def request_target(environ: Mapping[str, Any]) -> str: ...
