"""Replay stores shared by every worker and host: nonce-count windows in Redis.

:class:`RedisNonceStore` (redis-py, for WSGI) and :class:`AsyncRedisNonceStore`
(``redis.asyncio``, for ASGI: the check does not block the event loop) follow the same rules,
written once (:meth:`_RedisRules._steps`); each only runs the Redis commands.

- **Windows.** Each nonce's window (the highest nc accepted and a 64-bit bitmap below it,
  12 bytes) is a Redis string ``<prefix><nonce id hex>``, updated in a WATCH / MGET / MULTI /
  SET / EXEC transaction. The new window is computed by the core's ``NcWindow::record``
  (:func:`authgate.window_record`): the rules of the in-process tables, in one place. Two
  workers racing on one nonce cannot both see "fresh": the loser's EXEC fails and it
  retries against the winner's state. Keys expire after ``ttl`` seconds (at least the nonce
  lifetime plus clock skew: by then the nonce itself is refused as expired).
- **Horizon.** ``<prefix>epoch`` holds the second this Redis's memory of the windows began.
  When it is missing (a new Redis, or one restarted empty or flushed) the first worker to
  notice sets it to now (SET NX), and a nonce issued before it with no window is answered
  "stale": the windows recorded before were lost, so a header captured then must not become
  valid again. Use a Redis that does not evict these keys (``maxmemory-policy noeviction``;
  the store warns once otherwise).
- **Failure.** The store sets short connect and socket timeouts (``timeout``, default
  0.25 s) and no client-side retries on the connections it uses, whatever the client handed
  in was configured with. A refused connection, a timeout or any Redis error answers
  ``"stale"`` (the client is asked to retry with a new nonce; nothing is accepted without its
  window recorded), is logged once per incident, and for ``retry_after`` seconds the store
  answers "stale" at once without waiting on Redis again; then it tries again.
"""
from __future__ import annotations

import inspect
import logging
import time
from typing import Any, Generator, Optional, Tuple, Type

from ._authgate import window_record

log = logging.getLogger("authgate.redis")

# What a step of the check asks the driver to run: (command, *args); see _RedisRules._command.
_Op = Tuple[Any, ...]


class _RedisRules:
    """What both stores share: the client, keys, the transaction's steps, the horizon,
    failure handling. ``redis_class`` and ``retry_class`` are redis-py's sync or asyncio ones."""

    def __init__(self, client: Any, url: Optional[str], redis_class: Any, retry_class: Any, prefix: str, ttl: int,
                 retries: int, timeout: float, connect_timeout: Optional[float], retry_after: float):
        import redis
        from redis.backoff import NoBackoff

        self.prefix = prefix
        self.epoch_key = prefix + "epoch"
        self.ttl = int(ttl)
        self.retries = retries
        self.timeout = float(timeout)
        self.connect_timeout = float(timeout if connect_timeout is None else connect_timeout)
        self.retry_after = float(retry_after)
        self._down_until = 0.0
        self._incident: Optional[str] = None
        self._policy_checked = False
        if client is None:
            if url is None:
                raise TypeError(f"give a {redis_class.__module__}.Redis client or url=")
            client = redis_class.from_url(url)
        self.client = _own_client(client, self, retry_class(NoBackoff(), 0))
        self._errors: Tuple[Type[BaseException], ...] = (redis.RedisError, OSError)
        self._watch_error = redis.WatchError
        # CONFIG GET refused (managed Redis): the eviction policy goes unchecked.
        self._refused = redis.ResponseError

    def _steps(self, nonce_id: bytes, issued: int, nc: int) -> Generator[_Op, Any, str]:
        """The check as Redis commands: each ``yield`` is one command (see ``_command``),
        answered with its result. Returns the outcome."""
        if not self._policy_checked:
            policy = yield ("config_get", "maxmemory-policy")
            self._policy_checked = True
            _warn_on_eviction(policy)
        key = self.prefix + nonce_id.hex()
        for _ in range(self.retries):
            yield ("watch", key, self.epoch_key)
            state, epoch = yield ("mget", key, self.epoch_key)
            if epoch is None:
                # New, restarted empty, or flushed: this Redis's memory begins now.
                log.warning("authgate: Redis holds no replay epoch %s (new, restarted empty or flushed): its "
                            "memory begins now; nonces issued before are answered stale", self.epoch_key)
                yield ("set_nx", self.epoch_key, int(time.time()))
                yield ("unwatch",)
                continue
            outcome, new_state = window_record(state, nc, issued, int(epoch))
            if outcome != "fresh":
                yield ("unwatch",)
                return outcome
            yield ("multi",)
            yield ("set_ex", key, new_state, self.ttl)
            if (yield ("execute",)):
                return "fresh"
        log.warning("authgate: nonce window %s kept changing; answering stale", key)
        return "stale"

    def _command(self, pipe: Any, op: _Op) -> Tuple[Any, Tuple[Type[BaseException], ...], Any]:
        """``(call, errors, answer)``: the redis-py call for a step, and the errors that
        answer it (EXEC losing the WATCH race: False; CONFIG GET refused: None)."""
        name, *args = op
        if name == "set_nx":
            return lambda: pipe.set(args[0], args[1], nx=True), (), None
        if name == "set_ex":
            return lambda: pipe.set(args[0], args[1], ex=args[2]), (), None
        if name == "execute":
            return pipe.execute, (self._watch_error,), False
        if name == "config_get":
            return lambda: self.client.config_get(*args), (self._refused,), None
        return lambda: getattr(pipe, name)(*args), (), None

    def _skip(self) -> bool:
        """Whether Redis failed less than ``retry_after`` seconds ago (answer stale at once)."""
        return self._incident is not None and time.monotonic() < self._down_until

    def _failed(self, e: BaseException) -> str:
        self._down_until = time.monotonic() + self.retry_after
        if self._incident is None:
            self._incident = f"{type(e).__name__}: {e}"
            log.error("authgate: Redis unavailable (%s); answering stale until it answers again", self._incident)
        return "stale"

    def _answered(self) -> None:
        if self._incident is not None:
            log.warning("authgate: Redis answers again (after %s)", self._incident)
            self._incident = None

    def _connection_kwargs(self, kwargs: dict, retry: Any) -> dict:
        return dict(kwargs, socket_timeout=self.timeout, socket_connect_timeout=self.connect_timeout, retry=retry)


def _advance(steps: Generator[_Op, Any, str], answer: Any) -> Tuple[bool, Any]:
    """``(False, next command)``, or ``(True, outcome)`` when the steps are done."""
    try:
        return False, steps.send(answer)
    except StopIteration as done:
        return True, done.value


def _warn_on_eviction(policy: Any) -> None:
    if isinstance(policy, dict):
        value = policy.get(b"maxmemory-policy", policy.get("maxmemory-policy"))
        value = value.decode() if isinstance(value, bytes) else value
        if value not in (None, "noeviction"):
            log.warning("authgate: Redis maxmemory-policy is %s: an evicted nonce window would let a captured "
                        "header be replayed while its nonce is valid; use noeviction", value)


def _own_client(client: Any, rules: _RedisRules, retry: Any) -> Any:
    """A client on the same server, database and credentials as ``client``, with the store's
    timeouts and no retries (its own pool: the application's client is left as it is)."""
    pool: Any = getattr(client, "connection_pool", None)
    kwargs = getattr(pool, "connection_kwargs", None)
    if kwargs is None:
        log.warning("authgate: cannot set timeouts on %s; a hung Redis may block requests", type(client).__name__)
        return client
    own = type(pool)(connection_class=pool.connection_class, max_connections=pool.max_connections,
                     **rules._connection_kwargs(kwargs, retry))
    return type(client)(connection_pool=own)


class RedisNonceStore(_RedisRules):
    """Replay store in Redis (redis-py, sync): every worker and host sharing it refuses a
    (nonce, nc) pair any of them accepted. ``client`` is a ``redis.Redis`` (its server,
    database and credentials are used with the store's own timeouts), or give ``url``."""

    def __init__(self, client: Any = None, prefix: str = "authgate:nc:", ttl: int = 900, retries: int = 32, *,
                 url: Optional[str] = None, timeout: float = 0.25, connect_timeout: Optional[float] = None,
                 retry_after: float = 1.0):
        import redis
        from redis.retry import Retry

        super().__init__(client, url, redis.Redis, Retry, prefix, ttl, retries, timeout, connect_timeout, retry_after)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> "RedisNonceStore":
        return cls(url=url, **kwargs)

    def check_and_record(self, nonce_id: bytes, issued: int, nc: int) -> str:
        """``"fresh"``, ``"replayed"`` or ``"stale"``; records (nonce, nc) when fresh."""
        if self._skip():
            return "stale"
        steps = self._steps(nonce_id, issued, nc)
        try:
            with self.client.pipeline() as pipe:
                done, op = _advance(steps, None)
                while not done:
                    call, errors, answer = self._command(pipe, op)
                    try:
                        answer = call()
                    except errors:
                        pass
                    done, op = _advance(steps, answer)
        except self._errors as e:
            return self._failed(e)
        self._answered()
        return op


class AsyncRedisNonceStore(_RedisRules):
    """:class:`RedisNonceStore` for ASGI, on ``redis.asyncio``: ``await
    store.check_and_record(nonce_id, issued, nc)``. The same keys, so sync and async
    workers may share one Redis. ``client`` is a ``redis.asyncio.Redis``, or give ``url``."""

    def __init__(self, client: Any = None, prefix: str = "authgate:nc:", ttl: int = 900, retries: int = 32, *,
                 url: Optional[str] = None, timeout: float = 0.25, connect_timeout: Optional[float] = None,
                 retry_after: float = 1.0):
        import redis.asyncio
        from redis.asyncio.retry import Retry

        super().__init__(client, url, redis.asyncio.Redis, Retry, prefix, ttl, retries, timeout, connect_timeout,
                         retry_after)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> "AsyncRedisNonceStore":
        return cls(url=url, **kwargs)

    async def check_and_record(self, nonce_id: bytes, issued: int, nc: int) -> str:
        """``"fresh"``, ``"replayed"`` or ``"stale"``; records (nonce, nc) when fresh."""
        if self._skip():
            return "stale"
        steps = self._steps(nonce_id, issued, nc)
        try:
            async with self.client.pipeline() as pipe:
                done, op = _advance(steps, None)
                while not done:
                    call, errors, answer = self._command(pipe, op)
                    try:
                        # MULTI and commands queued after it answer at once, the rest are awaited.
                        result = call()
                        answer = await result if inspect.isawaitable(result) else result
                    except errors:
                        pass
                    done, op = _advance(steps, answer)
        except self._errors as e:
            return self._failed(e)
        self._answered()
        return op

    async def aclose(self) -> None:
        """Closes the store's connections (``close`` before redis-py 5.0.1)."""
        close = getattr(self.client, "aclose", None) or self.client.close
        await close()
