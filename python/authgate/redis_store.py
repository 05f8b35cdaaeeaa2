"""A replay store shared by every worker and host: nonce-count windows in Redis.

Each nonce's window (the highest nc accepted and a 64-bit bitmap below it, 12 bytes) is a
Redis string ``<prefix><nonce id hex>``. An update is a WATCH / GET / MULTI / SET / EXEC
transaction; the new window is computed by the core's ``NcWindow::record`` (through
:func:`authgate.window_record`), so the rules are those of the in-process table, in one
place. Two workers racing on the same nonce cannot both see "fresh": the loser's EXEC
fails and it retries against the winner's state.

Keys expire after ``ttl`` seconds (at least the nonce lifetime plus clock skew: by then
the nonce itself is refused as expired). Use a Redis without an eviction policy for these
keys (``noeviction`` or ``volatile-*`` with nothing else volatile), or an evicted window
could let a captured header be replayed while its nonce is still valid.

If Redis cannot be reached the answer is ``"stale"``: the client is asked to start over
with a new nonce, and nothing is ever accepted without its window being recorded.
"""
from __future__ import annotations

import logging

from ._authgate import window_record

log = logging.getLogger("authgate.redis")


class RedisNonceStore:
    """Replay store backed by Redis (redis-py client, sync)."""

    def __init__(self, client, prefix: str = "authgate:nc:", ttl: int = 900, retries: int = 32):
        import redis  # noqa: F401  (fail early when redis-py is missing)

        self.client = client
        self.prefix = prefix
        self.ttl = int(ttl)
        self.retries = retries

    @classmethod
    def from_url(cls, url: str, **kwargs) -> "RedisNonceStore":
        import redis

        return cls(redis.Redis.from_url(url), **kwargs)

    def check_and_record(self, nonce_id: bytes, issued: int, nc: int) -> str:
        """``"fresh"``, ``"replayed"`` or ``"stale"``; records (nonce, nc) when fresh."""
        import redis

        key = self.prefix + nonce_id.hex()
        try:
            with self.client.pipeline() as pipe:
                for _ in range(self.retries):
                    try:
                        pipe.watch(key)
                        state = pipe.get(key)
                        outcome, new_state = window_record(state, nc)
                        if outcome != "fresh":
                            pipe.unwatch()
                            return outcome
                        pipe.multi()
                        pipe.set(key, new_state, ex=self.ttl)
                        pipe.execute()
                        return "fresh"
                    except redis.WatchError:
                        continue
            log.warning("authgate: nonce window for %s kept changing; answering stale", key)
            return "stale"
        except redis.RedisError as e:
            log.error("authgate: Redis unavailable (%s); answering stale", e)
            return "stale"
