"""Type stubs for the Rust extension authgate._authgate."""
import os
from datetime import timedelta
from typing import Any, Callable, Literal, Mapping, Optional, Protocol, Sequence, Union, final

_Value = Union[str, bytes]
Outcome = Literal["fresh", "replayed", "stale"]

WINDOW: int
NONCE_LIFETIME: int

class AuthgateError(Exception): ...

class MalformedHeader(AuthgateError):
    """The Authorization value is malformed (HTTP 400). args = (message, code)."""
    message: str
    code: str
    status: int

class ConfigError(AuthgateError): ...

class JwtError(AuthgateError):
    """A JWT is refused (HTTP 401). args = (message, reason); reason is the core's stable
    name: 'TokenExpired', 'BadSignature', 'AlgorithmNotAllowed', 'WrongAudience', ..."""
    message: str
    reason: str
    status: int

JWT_ALGORITHMS: list[str]

_JwtKey = Union[str, bytes, Mapping[str, Any]]

class JwtVerifier:
    """Verifies JWTs (compact JWS) in the Rust core: HS256/384/512, RS256/384/512,
    PS256/384/512, ES256, EdDSA. `keys`: an HMAC secret, a PEM public key, a JWKS/JWK
    document (str or dict), or a dict kid -> any of those."""
    def __init__(
        self,
        keys: Union[_JwtKey, Mapping[str, _JwtKey]],
        algorithms: Sequence[str],
        issuer: Optional[str] = None,
        audience: Optional[Union[str, Sequence[str]]] = None,
        leeway: Optional[Union[int, float, timedelta]] = None,
        *,
        require: Sequence[str] = (),
        identity_claim: str = "sub",
        accept_any_audience: bool = False,
    ) -> None: ...
    def verify(self, token: Union[str, bytes], now: Optional[float] = None) -> dict[str, Any]: ...
    def verify_complete(
        self, token: Union[str, bytes], now: Optional[float] = None
    ) -> tuple[dict[str, Any], dict[str, Any]]: ...
    def __call__(self, token: Union[str, bytes]) -> Optional[dict[str, Any]]: ...
    @property
    def identity_claim(self) -> str: ...
    @property
    def algorithms(self) -> list[str]: ...

class ReplayStoreProtocol(Protocol):
    def check_and_record(self, nonce_id: bytes, issued: int, nc: int) -> str: ...

class Authorization:
    scheme: str
    token68: Optional[str]
    @property
    def params(self) -> Optional[list[tuple[str, str]]]: ...
    def get(self, name: str) -> Optional[str]: ...

class MemoryReplayStore:
    """The core's replay table in this process only. Its memory begins when it is made:
    nonces issued before are answered stale."""
    capacity: int
    max_age: int
    def __init__(self, capacity: int = 4096, max_age: int = 600) -> None: ...
    def check_and_record(self, nonce_id: bytes, issued: int, nc: int) -> Outcome: ...
    def __len__(self) -> int: ...

@final
class SharedMemoryReplayStore:
    """The default replay store: the core's replay table in a shared-memory segment
    (/dev/shm, mode 0600), one per app (nonce key and realm) and user, shared by every
    process of the server (gunicorn/uwsgi workers, with or without preload). Nonces issued
    before its memory began (``since``) are answered stale. A store made without ``name``
    takes the namespace of the first engine it is handed to. Without /dev/shm (or off
    Linux) it keeps a table per process and logs a warning once."""
    capacity: int
    max_age: int
    def __new__(cls, capacity: int = 4096, max_age: int = 600, *, name: Optional[str] = None) -> "SharedMemoryReplayStore": ...
    def check_and_record(self, nonce_id: bytes, issued: int, nc: int) -> Outcome: ...
    def __len__(self) -> int: ...
    @property
    def path(self) -> Optional[str]:
        """The segment's path; None when this process keeps a private table."""
    @property
    def shared(self) -> bool: ...
    @property
    def since(self) -> int:
        """The second the table's memory began."""

class Verdict:
    status: int
    user: Optional[str]
    scheme: Optional[Literal["Basic", "Digest", "Bearer"]]
    reason: Optional[str]
    stale: bool
    www_authenticate: list[str]
    algorithm: Optional[str]
    authentication_info: Optional[str]
    error: Optional[tuple[str, str]]

class Engine:
    def __init__(
        self,
        realm: str,
        key: bytes,
        *,
        users: Optional[Mapping[str, str]] = None,
        lookup: Optional[Callable[[str], Optional[str]]] = None,
        tokens: Optional[Mapping[str, str]] = None,
        schemes: Sequence[str] = ("Digest", "Basic"),
        algorithms: Sequence[str] = ("SHA-256", "MD5"),
        qop: Sequence[str] = ("auth",),
        nonce_lifetime: int = 300,
        max_clock_skew: int = 5,
        opaque: Optional[str] = None,
        replay_store: Optional[ReplayStoreProtocol] = None,
        previous_key: Optional[bytes] = None,
        allow_rfc2069: bool = False,
    ) -> None: ...
    def check(
        self,
        method: str,
        target: _Value,
        authorization: Optional[_Value] = None,
        body: Optional[bytes] = None,
        now: Optional[int] = None,
    ) -> Verdict: ...
    def challenges(self, stale: bool = False, now: Optional[int] = None) -> list[str]: ...
    @property
    def realm(self) -> str: ...

DigestResult = tuple[int, str, object, Optional[str]]

class DigestAuthenticator:
    default_opaque: str
    def __init__(
        self,
        realm: str,
        key: bytes,
        *,
        scheme: str = "Digest",
        algorithms: Sequence[str] = ("MD5",),
        qop: Sequence[str] = ("auth",),
        previous_key: Optional[bytes] = None,
        lifetime: int = 300,
        skew: int = 5,
        replay_store: Optional[ReplayStoreProtocol] = None,
        use_ha1_pw: bool = False,
        check_uri: bool = True,
        auth_info: bool = True,
    ) -> None: ...
    def new_nonce(self, opaque: str, now: Optional[int] = None) -> str: ...
    def challenges(self, nonce: str, opaque: str, stale: bool = False) -> list[str]: ...
    def check(
        self,
        value: _Value,
        method: str,
        target: _Value,
        get_password: Callable[[str], object],
        verify_opaque: Optional[Callable[[Optional[str]], object]] = None,
        verify_nonce: Optional[Callable[[str], object]] = None,
        body: Optional[Callable[[], bytes]] = None,
        now: Optional[int] = None,
    ) -> Optional[DigestResult]: ...
    def check_request(
        self,
        environ: dict[str, Any],
        method: str,
        target: Callable[[dict[str, Any]], _Value],
        get_password: Callable[[str], object],
        verify_opaque: Optional[Callable[[Optional[str]], object]] = None,
        verify_nonce: Optional[Callable[[str], object]] = None,
        body: Optional[Callable[[], bytes]] = None,
        now: Optional[int] = None,
    ) -> Union[str, int, None]: ...

class DigestRequestCheck:
    def __init__(
        self,
        authn: DigestAuthenticator,
        target: Callable[[dict[str, Any]], _Value],
        get_password: Callable[[str], object],
        verify_opaque: Optional[Callable[[Optional[str]], object]] = None,
        verify_nonce: Optional[Callable[[str], object]] = None,
        auth_int: bool = False,
        flask: Optional[tuple[Any, Any, type]] = None,
        source: Optional[tuple[Any, Any]] = None,
        on_accept: Optional[Callable[[], object]] = None,
    ) -> None: ...
    def check(self, request: Any, now: Optional[int] = None) -> Union[str, int, None]: ...
    def enter(self, now: Optional[int] = None) -> Optional[bool]: ...

class CallbackCheck:
    def __init__(
        self,
        kind: Literal["basic", "token"],
        env_key: str,
        scheme: str,
        verify: Callable[..., object],
        lenient: bool = False,
        flask: Optional[tuple[Any, Any, type]] = None,
    ) -> None: ...
    def check(self, environ: dict[str, Any]) -> object: ...
    def enter(self) -> object: ...

def derive_key(secret: _Value, purpose: str = "nonce") -> bytes: ...
def random_key() -> bytes: ...
def ct_eq(a: _Value, b: _Value) -> bool: ...
def check_password(stored: str, presented: str) -> bool: ...
def ha1(username: str, realm: str, password: str, algorithm: str = "MD5") -> str: ...
def parse_authorization(value: _Value) -> Authorization: ...
def decode_basic(value: _Value) -> tuple[str, str]: ...
def basic_credentials(value: Optional[_Value], scheme: str) -> Optional[tuple[str, str, str]]: ...
def token_credentials(value: Optional[_Value], scheme: str, lenient: bool) -> Optional[tuple[str, str]]: ...
def scheme_of(value: _Value) -> Optional[str]: ...
def digest_username(value: _Value) -> Optional[str]: ...
def basic_challenge(realm: str) -> str: ...
def bearer_challenge(realm: str, error: Optional[str] = None, description: Optional[str] = None) -> str: ...
def digest_challenge(
    realm: str,
    nonce: str,
    algorithm: str = "SHA-256",
    qop: Sequence[str] = ("auth",),
    opaque: Optional[str] = None,
    stale: bool = False,
    userhash: bool = False,
) -> str: ...
def compat_challenge(scheme: str, realm: str) -> str: ...
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
def window_record(state: Optional[bytes], nc: int, issued: int = 0, since: Optional[int] = None) -> tuple[Outcome, bytes]:
    """The core's per-nonce window: ``(outcome, new_state)``. With ``since``, a nonce never
    used (``state`` None) issued before it is ``"stale"``."""

class HtfileError(ValueError):
    """A damaged line of an htpasswd or htdigest file. args = (message, code, line); code is
    the core's stable name of the refusal: 'LineTooLong', 'ControlCharacter', 'MissingColon',
    'EmptyUser', 'InvalidUser', 'InvalidRealm', 'InvalidHa1', or of the password field's:
    'Empty', 'Unknown', 'Locked', 'Plaintext', 'Malformed', 'CostTooHigh', 'Disabled'."""
    message: str
    code: str
    line: int

class HtpasswdFile:
    """An htpasswd file (bcrypt, MD5-crypt/apr1, SHA-256/512-crypt, SHA-1, DES crypt; plaintext
    with allow_plaintext=True), read again when it changes. A damaged line raises HtfileError
    (a ValueError) naming the line; an unreadable file OSError."""
    def __init__(
        self,
        path: Union[str, "os.PathLike[str]"],
        *,
        max_bcrypt_cost: int = 12,
        max_sha_crypt_rounds: int = 500000,
        allow_plaintext: bool = False,
    ) -> None: ...
    @property
    def path(self) -> "os.PathLike[str]": ...
    def verify(self, username: str, password: str) -> bool: ...
    def users(self) -> list[str]: ...
    def __contains__(self, username: str) -> bool: ...
    def __len__(self) -> int: ...

class HtdigestFile:
    """An htdigest file (user:realm:HA1), read again when it changes."""
    def __init__(self, path: Union[str, "os.PathLike[str]"], realm: Optional[str] = None) -> None: ...
    @property
    def path(self) -> "os.PathLike[str]": ...
    def ha1(self, username: str, realm: Optional[str] = None) -> Optional[str]: ...
    def verify(self, username: str, password: str, realm: Optional[str] = None) -> bool: ...
    def users(self) -> list[tuple[str, str]]: ...
    def __len__(self) -> int: ...
