"""HtpasswdFile and HtdigestFile on files written by Apache's own htpasswd and htdigest
(Debian apache2-utils, installed by `make test`), directly, as Flask-HTTPAuth callbacks
(the same callbacks in Flask-HTTPAuth 4.8.1 and authgate.flask), and in the demo."""
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
from flask import Flask

from authgate import AuthgateError, HtdigestFile, HtfileError, HtpasswdFile
from conftest import basic, digest_header, parse_challenge, stop

PY_DIR = Path(__file__).resolve().parent.parent
PASSWORD = "pässword:1"

# (user, htpasswd flags): every format htpasswd writes, several costs and round counts.
FORMATS = [
    ("bcrypt4", ["-B", "-C", "4"]),
    ("bcrypt5", ["-B"]),
    ("apr1", ["-m"]),
    ("sha256", ["-2"]),
    ("sha256r1000", ["-2", "-r", "1000"]),
    ("sha512", ["-5"]),
    ("sha512r2000", ["-5", "-r", "2000"]),
    ("sha1", ["-s"]),
    ("crypt", ["-d"]),
]


def tool(name):
    exe = shutil.which(name)
    if exe is None:
        pytest.fail(f"{name} is not installed (make test installs apache2-utils)")
    return exe


def htpasswd(path, flags, user, password):
    create = [] if Path(path).exists() else ["-c"]
    subprocess.run([tool("htpasswd"), "-b", *create, *flags, str(path), user, password], check=True,
                   capture_output=True, timeout=60)


def htdigest(path, realm, user, password):
    create = [] if Path(path).exists() else ["-c"]
    subprocess.run([tool("htdigest"), *create, str(path), realm, user], input=f"{password}\n{password}\n",
                   text=True, check=True, capture_output=True, timeout=60)


@pytest.fixture
def every_format(tmp_path):
    path = tmp_path / "htpasswd"
    for user, flags in FORMATS:
        htpasswd(path, flags, user, PASSWORD)
    return path


def test_every_format_verifies(every_format):
    users = HtpasswdFile(every_format)
    assert users.users() == [u for u, _ in FORMATS]
    assert len(users) == len(FORMATS) and "apr1" in users and "nobody" not in users
    for user, flags in FORMATS:
        assert users.verify(user, PASSWORD), flags
        assert not users.verify(user, "Pässword:1"), flags
        assert not users.verify(user, ""), flags
    assert not users.verify("nobody", PASSWORD)
    assert not users.verify("", "")
    assert users.verify("crypt", "pässwor"), "DES crypt reads 8 bytes"
    assert users.path == every_format


def test_plaintext_lines_need_allow_plaintext(tmp_path):
    path = tmp_path / "plain"
    htpasswd(path, ["-p"], "alice", "s3cret")
    with pytest.raises(ValueError, match=r"line 1: plaintext password"):
        HtpasswdFile(path)
    assert HtpasswdFile(path, allow_plaintext=True).verify("alice", "s3cret")


@pytest.mark.parametrize("text, line, message, code", [
    ("# users\r\nalice:$apr1$z.Dy0sDS$nc39arAsmX4c7O6Iq\r\n", 2, "malformed password hash", "Malformed"),
    ("alice:$2y$13$hClqlN0COVwY9xJeXgDWZuQG7eStcm.jN5yFQuhRVmLG3gnJ6cVZC\n", 1, "cost above", "CostTooHigh"),
    ("\n\nno colon here\n", 3, "missing ':'", "MissingColon"),
    ("a:b\x00c\n", 1, "control character", "ControlCharacter"),
    ("x" * 10240 + ":{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n", 1, "longer than 8192", "LineTooLong"),
    ("bob:*0\n", 1, "locked entry or failed hash", "Locked"),
    ("\xff\xfe garbage \x01\x02\n", 1, "control character", "ControlCharacter"),
])
def test_damaged_files_raise_value_error_naming_the_line(tmp_path, text, line, message, code):
    path = tmp_path / "damaged"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(ValueError, match=rf"line {line}: .*{message}") as e:
        HtpasswdFile(path)
    assert str(path) in e.value.message
    # The core's error table names the refusal; the exception is an HtfileError, one of
    # authgate's exceptions (and a ValueError, as before).
    assert isinstance(e.value, HtfileError) and isinstance(e.value, AuthgateError)
    assert (e.value.code, e.value.line) == (code, line)


def test_unreadable_file_is_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        HtpasswdFile(tmp_path / "missing")
    with pytest.raises(FileNotFoundError):
        HtdigestFile(tmp_path / "missing")


def test_cost_caps_are_keyword_options(tmp_path):
    path = tmp_path / "htpasswd"
    htpasswd(path, ["-B", "-C", "5"], "alice", "pw")
    with pytest.raises(ValueError, match="line 1: password hash cost above the configured maximum"):
        HtpasswdFile(path, max_bcrypt_cost=4)
    htpasswd(path, ["-2", "-r", "6000"], "bob", "pw")
    with pytest.raises(ValueError, match="line 2: .*SHA-256-crypt"):
        HtpasswdFile(path, max_sha_crypt_rounds=5999)
    assert HtpasswdFile(path, max_bcrypt_cost=5, max_sha_crypt_rounds=6000).verify("bob", "pw")


def test_reload_on_change_and_damage_after_open(tmp_path):
    path = tmp_path / "htpasswd"
    htpasswd(path, ["-B", "-C", "4"], "alice", "one")
    users = HtpasswdFile(path)
    assert users.verify("alice", "one")
    htpasswd(path, ["-m"], "bob", "two")
    assert users.verify("bob", "two")
    htpasswd(path, ["-5"], "alice", "three")
    assert users.verify("alice", "three") and not users.verify("alice", "one")
    subprocess.run([tool("htpasswd"), "-D", str(path), "bob"], check=True, capture_output=True)
    assert "bob" not in users
    with open(path, "a") as f:
        f.write("carol:{SHA}short\n")
    with pytest.raises(ValueError, match="line 2"):
        users.verify("alice", "three")
    htpasswd(path, ["-s"], "carol", "four")
    assert users.verify("carol", "four")


def test_duplicate_users_first_line_wins(tmp_path):
    first = subprocess.run([tool("htpasswd"), "-nbB", "-C", "4", "dup", "first"], capture_output=True, text=True).stdout
    second = subprocess.run([tool("htpasswd"), "-nbs", "dup", "second"], capture_output=True, text=True).stdout
    path = tmp_path / "dup"
    path.write_text(first.strip() + "\n" + second.strip() + "\n")
    users = HtpasswdFile(path)
    assert users.verify("dup", "first") and not users.verify("dup", "second")
    assert users.users() == ["dup"]


def test_htdigest(tmp_path):
    path = tmp_path / "htdigest"
    htdigest(path, "home", "dave", "s3cret")
    htdigest(path, "home", "erin", "pw")
    import hashlib

    d = HtdigestFile(path)
    assert d.ha1("dave") == hashlib.md5(b"dave:home:s3cret").hexdigest()
    assert d.ha1("dave", "home") == d.ha1("dave") and d.ha1("nobody") is None
    assert d.verify("dave", "s3cret") and not d.verify("dave", "S3cret")
    assert d.users() == [("dave", "home"), ("erin", "home")] and len(d) == 2
    htdigest(path, "garage", "dave", "other")
    with pytest.raises(ValueError, match="several realms"):
        d.ha1("dave")
    assert HtdigestFile(path, realm="garage").ha1("dave") == hashlib.md5(b"dave:garage:other").hexdigest()
    path.write_text("dave:home:669BB5C539F096809DC379871FE1C6BC\n")
    with pytest.raises(HtfileError, match="line 1: HA1 is not 32 lower-case hex digits") as e:
        HtdigestFile(path)
    assert (e.value.code, e.value.line) == ("InvalidHa1", 1)


def test_verify_releases_the_gil(tmp_path):
    """Two threads hashing bcrypt at once take about the time of one each, not two (on a
    2-core machine): verify runs without the GIL."""
    path = tmp_path / "htpasswd"
    htpasswd(path, ["-B", "-C", "8"], "alice", "pw")
    users = HtpasswdFile(path)
    results = []
    threads = [threading.Thread(target=lambda: results.append(users.verify("alice", "pw"))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 4


def test_flask_httpauth_callbacks(lib, every_format, tmp_path):
    """The bound methods as Flask-HTTPAuth callbacks, in Flask-HTTPAuth and authgate.flask."""
    users = HtpasswdFile(every_format)
    digest_path = tmp_path / "htdigest"
    htdigest(digest_path, "home", "dave", "s3cret")
    ha1s = HtdigestFile(digest_path, realm="home")

    app = Flask(__name__)
    app.config["SECRET_KEY"] = "test"
    basic_auth = lib.HTTPBasicAuth()
    basic_auth.verify_password(users.verify)
    digest_auth = lib.HTTPDigestAuth(realm="home", use_ha1_pw=True)
    digest_auth.get_password(ha1s.ha1)

    @app.route("/basic")
    @basic_auth.login_required
    def basic_route():
        return basic_auth.current_user() or ""

    @app.route("/digest")
    @digest_auth.login_required
    def digest_route():
        return digest_auth.username()

    c = app.test_client()
    for user, _ in FORMATS:
        r = c.get("/basic", headers={"Authorization": basic(user, PASSWORD)})
        assert r.status_code == 200 and r.text == user, user
    assert c.get("/basic", headers={"Authorization": basic("sha1", "wrong")}).status_code == 401
    assert c.get("/basic", headers={"Authorization": basic("nobody", PASSWORD)}).status_code == 401
    assert c.get("/basic").status_code == 401

    r = c.get("/digest")
    d = parse_challenge(r.headers["WWW-Authenticate"])
    ok = c.get("/digest", headers={"Authorization": digest_header(d, "dave", "s3cret", "GET", "/digest", algorithm="MD5")})
    assert ok.status_code == 200 and ok.text == "dave"
    r = c.get("/digest")
    d = parse_challenge(r.headers["WWW-Authenticate"])
    bad = c.get("/digest", headers={"Authorization": digest_header(d, "dave", "nope", "GET", "/digest", algorithm="MD5")})
    assert bad.status_code == 401


def test_demo_with_htpasswd(tmp_path):
    """`python -m demo --htpasswd FILE`: Basic for the file's users, with curl and requests."""
    path = tmp_path / "htpasswd"
    htpasswd(path, ["-B", "-C", "5"], "alice", "wonder land")
    htpasswd(path, ["-m"], "bob", "builder")
    proc = subprocess.Popen([sys.executable, "-m", "demo", "--htpasswd", str(path), "--port", "0"], cwd=PY_DIR,
                            stdout=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert first.startswith("authgate demo: http://127.0.0.1:") and "alice, bob" in first, first
        url = first.split()[2]
        curl = shutil.which("curl")
        for user, password in [("alice", "wonder land"), ("bob", "builder")]:
            out = subprocess.run([curl, "-s", "-u", f"{user}:{password}", url + "api/secret"], capture_output=True,
                                 text=True, timeout=30).stdout
            assert json.loads(out)["user"] == user
        assert requests.get(url + "api/secret", auth=("alice", "wrong"), timeout=30).status_code == 401
        r = requests.get(url, auth=("bob", "builder"), timeout=30)
        assert r.status_code == 200 and 'id="user">bob<' in r.text
        assert requests.get(url + "api/legacy", auth=("alice", "wonder land"), timeout=30).json()["user"] == "alice"
    finally:
        stop(proc)
