"""The replay stores themselves, with real parts: the shared-memory default across forked
processes, its segment's file and life, the horizon of every store (nonces issued before a
store's memory began are stale), and the Redis stores (sync and asyncio) against a real
redis-server that is flushed, frozen (SIGSTOP) and thawed."""
import asyncio
import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
import redis

import authgate
from authgate import Engine, RedisNonceStore, SharedMemoryReplayStore, window_record
from authgate.redis_store import AsyncRedisNonceStore
from conftest import digest_header, free_port, parse_challenge
from test_lowlevel import WINDOW_CASES, run_cases

KEY = bytes(range(32))


def unique(tag):
    return f"{tag}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def next_second():
    """Waits for the clock's next second (nonce issue times are whole seconds)."""
    now = int(time.time())
    while int(time.time()) == now:
        time.sleep(0.01)
    return now + 1


# ---- the shared-memory store ------------------------------------------------------------


def test_shared_store_follows_the_core_window_rules():
    s = SharedMemoryReplayStore(name=unique("cases"))
    now = int(time.time())
    assert run_cases(lambda nc: s.check_and_record(b"\x01" * 16, now, nc)) == WINDOW_CASES
    assert len(s) == 1
    with pytest.raises(ValueError):
        s.check_and_record(b"short", now, 1)


def test_shared_store_segment_file():
    name = unique("file")
    s = SharedMemoryReplayStore(capacity=300, max_age=60, name=name)
    assert (s.capacity, s.max_age, s.shared) == (1024, 60, True)
    assert s.path.startswith(f"/dev/shm/authgate-{os.geteuid()}-")
    st = os.stat(s.path)
    assert st.st_mode & 0o777 == 0o600 and st.st_uid == os.geteuid()
    assert name not in s.path  # the name is hashed
    assert SharedMemoryReplayStore(capacity=1000, name=name).path == s.path
    assert SharedMemoryReplayStore(capacity=4096, name=name).path != s.path
    assert SharedMemoryReplayStore(capacity=300, name=unique("other")).path != s.path
    assert "path=" in repr(s)
    unbound = SharedMemoryReplayStore()
    assert "unbound" in repr(unbound)
    with pytest.raises(ValueError):
        unbound.check_and_record(b"\x01" * 16, 1, 1)


def test_engines_with_one_key_and_realm_share_a_segment_others_do_not():
    stores = [SharedMemoryReplayStore() for _ in range(3)]
    Engine("realm one", KEY, users={}, replay_store=stores[0])
    Engine("realm one", KEY, users={}, replay_store=stores[1])
    Engine("realm two", KEY, users={}, replay_store=stores[2])
    assert stores[0].path == stores[1].path != stores[2].path
    # The default store of two engines of one app: a header accepted by one is refused by the other.
    e1 = Engine("realm one", KEY, users={"Mufasa": "Circle Of Life"})
    e2 = Engine("realm one", KEY, users={"Mufasa": "Circle Of Life"})
    d = parse_challenge(e1.challenges()[0])
    h = digest_header(d, "Mufasa", "Circle Of Life", "GET", "/", algorithm="SHA-256")
    assert e1.check("GET", "/", h).status == 200
    v = e2.check("GET", "/", h)
    assert (v.status, v.reason) == (401, "Replayed")


def _race(name, nid, issued, barrier, results, inherited=None):
    # Without --preload a worker builds its store after the fork; with it, it inherits one.
    store = inherited if inherited is not None else SharedMemoryReplayStore(name=name)
    barrier.wait()
    results.put(store.check_and_record(nid, issued, 5))


@pytest.mark.parametrize("inherit", [False, True], ids=["made-after-fork", "inherited"])
def test_forked_processes_share_one_table_and_exactly_one_wins(inherit):
    ctx = multiprocessing.get_context("fork")
    name = unique("race")
    parent = SharedMemoryReplayStore(name=name)
    now = int(time.time())
    for round_ in range(5):
        nid = os.urandom(16)
        barrier, results = ctx.Barrier(8), ctx.Queue()
        procs = [ctx.Process(target=_race, args=(name, nid, now, barrier, results, parent if inherit else None))
                 for _ in range(8)]
        for p in procs:
            p.start()
        got = sorted(results.get(timeout=30) for _ in procs)
        for p in procs:
            p.join(30)
            assert p.exitcode == 0
        assert got == ["fresh"] + ["replayed"] * 7, (round_, got)
        assert parent.check_and_record(nid, now, 5) == "replayed"
    # The children let go of their attachments; the parent's is intact.
    assert os.path.exists(parent.path) and len(parent) == 5


def test_the_last_process_out_removes_the_segment_and_a_new_one_starts_a_horizon():
    name = unique("life")
    a = SharedMemoryReplayStore(name=name)
    path, nid = a.path, os.urandom(16)
    issued = int(time.time())
    assert a.check_and_record(nid, issued, 1) == "fresh"
    del a
    assert not os.path.exists(path)
    next_second()
    b = SharedMemoryReplayStore(name=name)
    assert b.path == path and b.since > issued
    # Its memory of nid is gone, so a header captured before never becomes valid again.
    assert b.check_and_record(nid, issued, 1) == "stale"
    assert b.check_and_record(nid, issued, 2) == "stale"
    fresh = os.urandom(16)
    assert b.check_and_record(fresh, b.since, 1) == "fresh"


def test_a_segment_left_by_a_killed_process_is_collected():
    code = ("import os, signal, sys; from authgate import SharedMemoryReplayStore as S; "
            "s = S(name=sys.argv[1]); print(s.path, flush=True); {}")
    killed = subprocess.run([sys.executable, "-c", code.format("os.kill(os.getpid(), signal.SIGKILL)"),
                             unique("killed")], capture_output=True, text=True, timeout=60)
    assert killed.returncode == -signal.SIGKILL
    left = killed.stdout.split()[0]
    assert os.path.exists(left)  # nobody let go of it
    other = subprocess.run([sys.executable, "-c", code.format("pass"), unique("next")],
                           capture_output=True, text=True, timeout=60)
    assert other.returncode == 0
    assert not os.path.exists(left), "collected by the next process's first attach"
    assert not os.path.exists(other.stdout.split()[0]), "removed at exit"


def test_a_segment_it_cannot_trust_is_not_used_private_table_and_one_warning(caplog):
    name = unique("untrusted")
    a = SharedMemoryReplayStore(name=name)
    path = a.path
    del a
    # Someone else's (here: readable by others) file where the segment would be.
    with open(path, "wb"):
        pass
    os.chmod(path, 0o644)
    try:
        caplog.set_level(logging.WARNING, logger="authgate")
        b = SharedMemoryReplayStore(name=name)
        assert (b.shared, b.path) == (False, None)
        assert "private to this process" in repr(b)
        now = int(time.time())
        assert b.check_and_record(b"\x09" * 16, now, 1) == "fresh"
        assert b.check_and_record(b"\x09" * 16, now, 1) == "replayed"
        assert SharedMemoryReplayStore(name=name).shared is False
        warnings = [r.getMessage() for r in caplog.records if "no shared-memory replay store" in r.getMessage()]
        assert len(warnings) == 1 and "mode is 644" in warnings[0], warnings
        assert os.stat(path).st_mode & 0o777 == 0o644, "left as it was"
    finally:
        os.unlink(path)


def test_memory_store_has_a_horizon_too():
    m = authgate.MemoryReplayStore()
    now = int(time.time())
    assert m.check_and_record(b"\x07" * 16, now - 1, 1) == "stale"
    assert m.check_and_record(b"\x08" * 16, now, 1) == "fresh"


def test_window_record_horizon_is_the_core_tables():
    assert window_record(None, 1, 99, 100)[0] == "stale"
    assert window_record(None, 1, 100, 100)[0] == "fresh"
    state = window_record(None, 1, 100, 100)[1]
    # A nonce with a window is judged by it, whatever the horizon.
    assert window_record(state, 2, 50, 100)[0] == "fresh"
    assert window_record(state, 1, 50, 100)[0] == "replayed"


# ---- Redis ------------------------------------------------------------------------------


def test_redis_store_horizon_after_the_memory_is_lost(redis_server):
    prefix = unique("hz") + ":"
    client = redis.Redis.from_url(redis_server)
    store = RedisNonceStore(client, prefix=prefix)
    now = int(time.time())
    # A Redis whose memory began 10 s ago accepts a nonce issued 5 s ago.
    client.set(prefix + "epoch", now - 10)
    nid = os.urandom(16)
    assert store.check_and_record(nid, now - 5, 1) == "fresh"
    assert store.check_and_record(nid, now - 5, 1) == "replayed"
    # Its memory is lost (FLUSHDB; a restart is tested under gunicorn): the nonce's window is
    # gone, and it must not start over as fresh.
    for key in client.scan_iter(prefix + "*"):
        client.delete(key)
    assert store.check_and_record(nid, now - 5, 1) == "stale"
    assert store.check_and_record(nid, now - 5, 2) == "stale"
    assert int(client.get(prefix + "epoch")) >= now
    assert store.check_and_record(os.urandom(16), int(time.time()), 1) == "fresh"


def test_redis_store_sets_its_own_timeouts_and_leaves_the_app_client_alone(redis_server):
    app_client = redis.Redis.from_url(redis_server, socket_timeout=None, socket_connect_timeout=None)
    store = RedisNonceStore(app_client, timeout=0.4, connect_timeout=0.2)
    kw = store.client.connection_pool.connection_kwargs
    retries = getattr(kw["retry"], "get_retries", lambda: kw["retry"]._retries)()  # redis-py < 5: no getter
    assert (kw["socket_timeout"], kw["socket_connect_timeout"], retries) == (0.4, 0.2, 0)
    assert app_client.connection_pool.connection_kwargs["socket_timeout"] is None
    assert store.client is not app_client and kw["port"] == app_client.connection_pool.connection_kwargs["port"]
    with pytest.raises(TypeError):
        RedisNonceStore()


def test_redis_store_down_is_stale_fast():
    store = RedisNonceStore.from_url(f"redis://127.0.0.1:{free_port()}/0")
    t = time.monotonic()
    assert store.check_and_record(b"\x03" * 16, int(time.time()), 1) == "stale"
    assert time.monotonic() - t < 2.0  # refused at once; the bound only tells it from a hang


def test_hung_redis_answers_stale_within_the_timeout_logs_once_and_recovers(redis_process, caplog):
    store = RedisNonceStore.from_url(redis_process.url, timeout=0.3, retry_after=0.5)
    now = int(time.time())
    assert store.check_and_record(os.urandom(16), now, 1) == "fresh"
    caplog.set_level(logging.INFO, logger="authgate.redis")
    redis_process.pause()
    try:
        t = time.monotonic()
        assert store.check_and_record(os.urandom(16), now, 1) == "stale"
        assert 0.25 < time.monotonic() - t < 2.0  # the 0.3 s timeout, with room for a loaded machine
        # Within retry_after: stale at once, Redis not waited on again.
        t = time.monotonic()
        for _ in range(100):
            assert store.check_and_record(os.urandom(16), now, 1) == "stale"
        assert time.monotonic() - t < 0.5  # waiting on Redis would take 100 x 0.3 s
        time.sleep(0.6)
        assert store.check_and_record(os.urandom(16), now, 1) == "stale"  # tried again: still hung
    finally:
        redis_process.resume()
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "TimeoutError" in errors[0].getMessage()
    time.sleep(0.6)
    nid = os.urandom(16)
    assert store.check_and_record(nid, int(time.time()), 1) == "fresh"
    assert store.check_and_record(nid, int(time.time()), 1) == "replayed"
    assert sum("Redis answers again" in r.getMessage() for r in caplog.records) == 1


async def test_async_store_same_rules_atomic_and_shared_with_the_sync_one(redis_server):
    prefix = unique("async") + ":"
    store = AsyncRedisNonceStore.from_url(redis_server, prefix=prefix)
    try:
        now = int(time.time())
        results = []
        for nc, _ in WINDOW_CASES:
            results.append((nc, await store.check_and_record(b"\x02" * 16, now, nc)))
        assert results == WINDOW_CASES
        # Eight stores (connections) race on one pair: exactly one wins.
        racers = [AsyncRedisNonceStore.from_url(redis_server, prefix=prefix) for _ in range(8)]
        for _ in range(10):
            nid = os.urandom(16)
            got = await asyncio.gather(*(r.check_and_record(nid, now, 5) for r in racers))
            assert sorted(got) == ["fresh"] + ["replayed"] * 7
        for r in racers:
            await r.aclose()
        # The sync store reads the same windows.
        nid = os.urandom(16)
        assert await store.check_and_record(nid, now, 1) == "fresh"
        assert RedisNonceStore.from_url(redis_server, prefix=prefix).check_and_record(nid, now, 1) == "replayed"
        assert await store.check_and_record(os.urandom(16), now - 3600, 1) == "stale"  # before the epoch
    finally:
        await store.aclose()


def test_a_sync_engine_refuses_an_async_store_at_configuration(redis_server):
    with pytest.raises(TypeError, match="async"):
        Engine("r", KEY, users={}, replay_store=AsyncRedisNonceStore.from_url(redis_server))


async def test_async_store_on_a_hung_redis_is_stale_and_leaves_the_loop_running(redis_process):
    store = AsyncRedisNonceStore.from_url(redis_process.url, timeout=0.3, retry_after=0.5)
    try:
        now = int(time.time())
        assert await store.check_and_record(os.urandom(16), now, 1) == "fresh"
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.ensure_future(ticker())
        redis_process.pause()
        try:
            t = time.monotonic()
            assert await store.check_and_record(os.urandom(16), now, 1) == "stale"
            assert 0.25 < time.monotonic() - t < 2.0  # the 0.3 s timeout, with room for a loaded machine
            assert ticks >= 10, "the event loop kept running while the check waited"
        finally:
            redis_process.resume()
            task.cancel()
        await asyncio.sleep(0.6)
        assert await store.check_and_record(os.urandom(16), int(time.time()), 1) == "fresh"
    finally:
        await store.aclose()
