import base64
import hashlib
import importlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
ARTIFACTS = HERE / "artifacts"
VECTORS = ROOT / "tests" / "vectors" / "authgate.vectors"

LIBS = ["flask_httpauth", "authgate.flask"]


@pytest.fixture(params=LIBS)
def lib(request):
    """The same test against Flask-HTTPAuth 4.8.1 and authgate.flask."""
    return importlib.import_module(request.param)


def basic(user, password, encoding="utf-8"):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode(encoding)).decode()


def parse_challenge(header):
    """Client side: the params of one Digest challenge (werkzeug's parser)."""
    from werkzeug.http import parse_dict_header

    scheme, rest = header.split(None, 1)
    return parse_dict_header(rest)


def H(alg, data):
    name = {"MD5": "md5", "SHA-256": "sha256", "SHA-512-256": "sha512_256"}[alg.upper().replace("-SESS", "").replace("-Sess", "")]
    return hashlib.new(name, data.encode()).hexdigest()


def digest_header(challenge, user, password, method, uri, nc=1, cnonce="0a4f113b", qop="auth", algorithm=None,
                  body=b"", realm=None, ha1=None, scheme="Digest"):
    """Client side of RFC 7616: an Authorization value answering `challenge` (a dict)."""
    alg = algorithm or challenge.get("algorithm") or "MD5"
    realm = realm or challenge["realm"]
    nonce = challenge["nonce"]
    a1 = ha1 or H(alg, f"{user}:{realm}:{password}")
    if alg.lower().endswith("-sess"):
        a1 = H(alg, f"{a1}:{nonce}:{cnonce}")
    a2 = f"{method}:{uri}"
    if qop == "auth-int":
        a2 += ":" + H(alg, body.decode())
    ha2 = H(alg, a2)
    ncs = f"{nc:08x}"
    if qop:
        resp = H(alg, f"{a1}:{nonce}:{ncs}:{cnonce}:{qop}:{ha2}")
    else:
        resp = H(alg, f"{a1}:{nonce}:{ha2}")
    parts = [f'username="{user}"', f'realm="{challenge["realm"]}"', f'nonce="{nonce}"', f'uri="{uri}"', f'response="{resp}"']
    if challenge.get("opaque") is not None:
        parts.append(f'opaque="{challenge["opaque"]}"')
    if algorithm or challenge.get("algorithm"):
        parts.append(f"algorithm={alg}")
    if qop:
        parts += [f"qop={qop}", f"nc={ncs}", f'cnonce="{cnonce}"']
    return f"{scheme} " + ", ".join(parts)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=20.0, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"port {port} not listening")


def stop(proc, timeout=10):
    """Stops a process we started, by its pid."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A real redis-server on a free loopback port, stopped by pid at the end."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail("redis-server is not installed (make python-test installs it)")
    port = free_port()
    d = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(d), "--maxmemory-policy", "noeviction"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc=proc)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(proc)


@pytest.fixture(scope="session")
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


class RedisProcess:
    """A redis-server of one test's own on a free loopback port, which the test may stop,
    restart empty on the same port, or freeze (SIGSTOP) and thaw, always by its pid."""

    def __init__(self, tmp_path):
        self.exe = shutil.which("redis-server")
        if self.exe is None:
            pytest.fail("redis-server is not installed (make python-test installs it)")
        self.port = free_port()
        self.dir = tmp_path
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen([self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(self.dir), "--maxmemory-policy", "noeviction"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, proc=self.proc)

    def stop(self):
        self.resume()
        stop(self.proc)

    def pause(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)


@pytest.fixture
def redis_process(tmp_path):
    r = RedisProcess(tmp_path)
    try:
        yield r
    finally:
        r.stop()


KDC_SH = ROOT / "tests" / "kdc" / "kdc.sh"


@pytest.fixture(scope="session")
def kdc(tmp_path_factory):
    """A real MIT KDC (tests/kdc/kdc.sh: krb5kdc -n on a free 127.0.0.1 port, realm
    AUTHGATE.TEST, alice's tickets, HTTP/localhost's keytab), one for the whole session,
    stopped by pid. Its environment is exported to this process too: the in-process
    Kerberos clients (python-gssapi, pyspnego) read KRB5_CONFIG and KRB5CCNAME."""
    sbin = "/usr/sbin:/sbin:" + os.environ.get("PATH", "")
    if shutil.which("krb5kdc", path=sbin) is None or shutil.which("kinit") is None:
        pytest.fail("the MIT KDC is not installed (make python-test installs krb5-kdc, krb5-admin-server, krb5-user)")
    d = tmp_path_factory.mktemp("kdc")
    subprocess.run(["bash", str(KDC_SH), "start", str(d)], check=True, stdout=subprocess.DEVNULL)
    env = {}
    for line in (d / "env").read_text().splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield type("Kdc", (), {"dir": d, "env": env, "realm": "AUTHGATE.TEST"})
    finally:
        subprocess.run(["bash", str(KDC_SH), "stop", str(d)], check=False)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
