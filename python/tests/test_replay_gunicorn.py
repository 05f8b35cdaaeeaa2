"""Replays across worker processes, with real parts: gunicorn -w 4 (sync workers) serving
tests/replay_app.py, honest Digest clients (requests), an attacker re-sending every header
they used (http.client), redis-server started, restarted empty and frozen by pid.

Every replay is refused and no honest request is, with the default store (shared memory)
and with RedisNonceStore; after the store loses its memory (a new server, a Redis restart)
no header captured before is accepted; a hung Redis answers 401 stale within the store's
timeout while open routes keep answering and no worker dies."""
import http.client
import os
import random
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from requests.auth import HTTPDigestAuth

from conftest import digest_header, free_port, parse_challenge, stop, wait_port

pytestmark = pytest.mark.slow
HERE = Path(__file__).resolve().parent
USERS = {"alice": "wonder land", "bob": "builder"}
WORKERS = 4


class Gunicorn:
    """gunicorn -w 4 (sync) on a free port, serving replay_app:app; stopped by pid."""

    def __init__(self, tmp_path, env, preload=False):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / f"gunicorn-{self.port}.log"
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        args = [gunicorn, "-w", str(WORKERS), "-k", "sync", "--timeout", "30", "-b", f"127.0.0.1:{self.port}",
                "--chdir", str(HERE), "replay_app:app"] + (["--preload"] if preload else [])
        env = dict(os.environ, PYTHONPATH=str(HERE.parent), **env)
        self.proc = subprocess_popen(args, env, self.log)
        try:
            wait_port(self.port, proc=self.proc)
            self.workers = self.worker_pids()
        except BaseException:
            self.stop()
            raise

    def worker_pids(self):
        """The pids of the workers, once all of them have answered /open."""
        pids = set()
        for _ in range(2000):
            status, headers, _ = get(self.port, "/open")
            assert status == 200
            pids.add(headers["X-Served-By"])
            if len(pids) == WORKERS:
                return pids
        raise AssertionError(f"only {len(pids)} workers answered")

    def stop(self):
        stop(self.proc)

    def log_text(self):
        return self.log.read_text(errors="replace")


def subprocess_popen(args, env, log):
    import subprocess

    return subprocess.Popen(args, cwd=HERE, env=env, stdout=open(log, "wb"), stderr=subprocess.STDOUT)


def get(port, path, authorization=None, timeout=10):
    """One request on a new connection (sync workers close it anyway): (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Authorization": authorization} if authorization else {})
        r = conn.getresponse()
        body = r.read()
        return r.status, {k: v for k, v in r.getheaders()}, body
    finally:
        conn.close()


class Honest:
    """A Digest client (requests): logs in once, then goes on with its nonce (nc 1, 2, ...).
    Every header it sends with credentials is kept; every refusal of one is counted
    (requests retries a 401 once by itself: its history is counted too)."""

    def __init__(self, base, path, user):
        self.url = base + path
        self.session = requests.Session()
        self.session.auth = HTTPDigestAuth(user, USERS[user])
        self.accepted, self.refused, self.stale_then_ok = [], [], 0

    def run(self, n, sink=None):
        for _ in range(n):
            r = self.session.get(self.url)
            sent = [x for x in r.history + [r] if "Authorization" in x.request.headers]
            for x in sent:
                header = x.request.headers["Authorization"]
                if x.status_code == 200:
                    self.accepted.append(header)
                    if sink is not None:
                        sink.append(header)
                else:
                    self.refused.append((x.status_code, x.headers.get("WWW-Authenticate", "")))
            if r.status_code == 200 and len(sent) == 2:
                self.stale_then_ok += 1
        return self


class Replays:
    """The attacker: re-sends captured headers, each on a new connection (so to whichever
    worker accepts it), and tallies the answers."""

    def __init__(self, port, path):
        self.port, self.path = port, path
        self.lock = threading.Lock()
        self.sent = self.accepted = self.stale = 0
        self.workers = set()

    def send(self, header):
        status, headers, _ = get(self.port, self.path, header)
        with self.lock:
            self.sent += 1
            self.accepted += status == 200
            self.stale += "stale=true" in headers.get("WWW-Authenticate", "")
            self.workers.add(headers.get("X-Served-By"))
        assert status in (200, 401), status

    def send_all(self, headers, threads=6):
        with ThreadPoolExecutor(threads) as ex:
            list(ex.map(self.send, headers))


def app_env(**extra):
    tag = uuid.uuid4().hex[:12]
    return dict(REPLAY_APP_SECRET=f"replay test secret {tag}", REPLAY_APP_REALM=f"replay test {tag}", **extra)


def honest_and_replayed(server, path, clients, requests_each, replays_min, record):
    """Honest clients and, at the same time, an attacker replaying what they used; then
    every captured header replayed again until at least `replays_min` replays were sent."""
    captured = []
    attack = Replays(server.port, path)
    done = threading.Event()

    def live_attacker():
        while not done.is_set():
            if captured:
                attack.send(random.choice(captured))
            else:
                time.sleep(0.01)

    users = list(USERS)
    with ThreadPoolExecutor(clients + 2) as ex:
        attackers = [ex.submit(live_attacker) for _ in range(2)]
        honest = list(ex.map(lambda i: Honest(server.base, path, users[i % 2]).run(requests_each, captured),
                             range(clients)))
        done.set()
        for a in attackers:
            a.result()
    rounds = max(1, -(-(replays_min - attack.sent) // len(captured)))
    again = [h for _ in range(rounds) for h in captured]
    random.shuffle(again)
    t = time.perf_counter()
    attack.send_all(again)
    record["replay_rate_per_s"] = round(len(again) / (time.perf_counter() - t))
    honest_sent = sum(len(h.accepted) + len(h.refused) for h in honest)
    refused = [r for h in honest for r in h.refused]
    record.update(honest=honest_sent, honest_refused=len(refused), replays=attack.sent, accepted=attack.accepted,
                  replay_workers=len(attack.workers))
    assert honest_sent >= clients * requests_each
    assert not refused, f"{len(refused)} honest requests refused: {refused[:3]}"
    assert attack.sent >= replays_min
    assert attack.accepted == 0, f"{attack.accepted} of {attack.sent} replays accepted"
    assert attack.workers == server.workers, "the replays reached every worker"
    return captured, honest


@pytest.fixture
def record(request):
    """Figures a test measured, printed in the summary (pytest -rA) and kept for the report."""
    figures = {}
    yield figures
    print(f"\n{request.node.name}: {figures}")


@pytest.mark.parametrize("store", ["shared-memory", "redis"])
def test_10000_replays_over_four_workers_none_accepted_no_honest_refused(store, tmp_path, request, record):
    env = app_env()
    if store == "redis":
        env["REPLAY_APP_REDIS"] = request.getfixturevalue("redis_server")
    server = Gunicorn(tmp_path, env)
    try:
        t = time.perf_counter()
        honest_and_replayed(server, "/secret", clients=8, requests_each=100, replays_min=10_000, record=record)
        record["seconds"] = round(time.perf_counter() - t, 1)
    finally:
        server.stop()
    assert "Traceback" not in server.log_text()


def test_preload_master_attaches_before_fork(tmp_path, record):
    """--preload: the Engine (and its default store) is built in the master, before the
    fork; the workers attach to the same segment at their first request."""
    server = Gunicorn(tmp_path, app_env(), preload=True)
    try:
        honest_and_replayed(server, "/engine", clients=4, requests_each=50, replays_min=2_000, record=record)
    finally:
        server.stop()


def test_a_new_server_never_accepts_headers_captured_at_the_old_one(tmp_path, record):
    """State loss, shared memory: the server stops (its segment goes with its last worker),
    a new one starts with the same key and realm: a new segment, whose memory begins now."""
    env = app_env()
    old = Gunicorn(tmp_path, env)
    try:
        clients = [Honest(old.base, "/secret", u).run(25) for u in USERS for _ in range(3)]
    finally:
        old.stop()
    captured = [h for c in clients for h in c.accepted]
    time.sleep(max(0.0, int(time.time()) + 1 - time.time()))  # into the next second (nonce times are seconds)
    new = Gunicorn(tmp_path, env)
    try:
        attack = Replays(new.port, "/secret")
        attack.send_all(captured * 2)
        record.update(captured=len(captured), replays=attack.sent, accepted=attack.accepted, stale=attack.stale)
        assert attack.accepted == 0, f"{attack.accepted} of {attack.sent} accepted by the new server"
        # The clients go on at the new server: their old nonce is stale, they retry with a new one.
        for c in clients:
            c.url = new.base + "/secret"
            c.refused.clear()
            c.run(3)
        assert all(c.stale_then_ok >= 1 for c in clients)
        assert all(all("stale=true" in w for _, w in c.refused) for c in clients)
    finally:
        new.stop()


def test_redis_restarted_empty_reopens_no_header(tmp_path, redis_process, record):
    server = Gunicorn(tmp_path, app_env(REPLAY_APP_REDIS=redis_process.url))
    try:
        clients = [Honest(server.base, "/secret", u).run(40) for u in USERS for _ in range(4)]
        captured = [h for c in clients for h in c.accepted]
        redis_process.stop()
        time.sleep(max(0.0, int(time.time()) + 1 - time.time()))  # into the next second (as above)
        redis_process.start()
        attack = Replays(server.port, "/secret")
        attack.send_all(captured * 3)
        record.update(captured=len(captured), replays=attack.sent, accepted=attack.accepted, stale=attack.stale)
        assert attack.accepted == 0, f"{attack.accepted} of {attack.sent} pre-restart headers accepted"
        for c in clients:
            c.refused.clear()
            c.run(3)
            assert c.stale_then_ok >= 1 and all("stale=true" in w for _, w in c.refused), c.refused
    finally:
        server.stop()


def test_hung_redis_fails_closed_and_fast_open_routes_answer_workers_survive(tmp_path, redis_process, record):
    server = Gunicorn(tmp_path, app_env(REPLAY_APP_REDIS=redis_process.url))  # the store's 0.25 s timeout
    try:
        assert Honest(server.base, "/secret", "alice").run(5).refused == []
        redis_process.pause()
        try:
            slowest = 0.0
            for i in range(24):
                status, headers, _ = get(server.port, "/secret")
                challenge = parse_challenge(headers["WWW-Authenticate"])
                h = digest_header(challenge, "bob", USERS["bob"], "GET", "/secret", cnonce=f"{i:08x}")
                t = time.perf_counter()
                status, headers, _ = get(server.port, "/secret", h)
                slowest = max(slowest, time.perf_counter() - t)
                assert status == 401 and "stale=true" in headers["WWW-Authenticate"], (status, headers)
            t = time.perf_counter()
            for _ in range(40):
                assert get(server.port, "/open")[0] == 200
            open_ms = (time.perf_counter() - t) / 40 * 1000
            record.update(slowest_protected_s=round(slowest, 3), open_ms=round(open_ms, 2))
            # Bounds against a hang (a store without a timeout waits for gunicorn's 30 s worker
            # timeout), wide enough for a loaded CI machine; the figures are in `record`.
            assert slowest < 0.25 + 2.0, slowest
            assert open_ms < 500, open_ms
        finally:
            redis_process.resume()
        time.sleep(1.2)  # the store's retry_after
        after = Honest(server.base, "/secret", "bob").run(5)
        assert after.refused == [] and len(after.accepted) == 5
        assert server.worker_pids() == server.workers, "no worker was killed or replaced"
    finally:
        server.stop()
    log = server.log_text()
    assert "WORKER TIMEOUT" not in log and "Traceback" not in log
    assert "Redis unavailable (TimeoutError" in log
