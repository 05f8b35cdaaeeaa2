"""Run by packaging/check-dist.sh inside a fresh venv where authgate was just installed (from
the wheel, or built from the sdist by pip): the package imports, its Rust extension answers,
and the metadata a user's tools read is there. Exits non-zero on the first failure."""
import base64
import hashlib
import importlib.metadata
import importlib.util
import sys

import authgate

failures = 0


def check(what, ok, detail=""):
    global failures
    print(("ok - " if ok else "not ok - ") + what + ("" if ok else f": {detail}"))
    failures += not ok


prefix = f"Python {sys.version_info.major}.{sys.version_info.minor}: "

# The extension does real work: a Basic login, a bad password, a malformed header, a challenge.
engine = authgate.Engine("smoke", authgate.random_key(), users={"alice": "secret"})
good = "Basic " + base64.b64encode(b"alice:secret").decode()
bad = "Basic " + base64.b64encode(b"alice:wrong").decode()
v = engine.check("GET", "/", good)
check(prefix + "Basic login through the extension: 200 alice", (v.status, v.user) == (200, "alice"), (v.status, v.user))
v = engine.check("GET", "/", bad)
check(prefix + "wrong password: 401 with challenges", v.status == 401 and len(v.www_authenticate) > 0, v.status)
v = engine.check("GET", "/", "Basic !!!")
check(prefix + "malformed header: 400", v.status == 400, v.status)
expected = hashlib.md5(b"Mufasa:http-auth@example.org:Circle of Life").hexdigest()
check(prefix + "ha1 (RFC 7616 example)", authgate.ha1("Mufasa", "http-auth@example.org", "Circle of Life") == expected)

# The Flask modules: without Flask, an ImportError that says which extra to install.
if importlib.util.find_spec("flask") is None:
    for name in ("authgate.flask", "authgate.flask_jwt", "authgate.flask_kerberos", "authgate.flask_sspi"):
        if importlib.util.find_spec(name) is None:
            continue
        try:
            importlib.import_module(name)
        except ImportError as exc:
            check(prefix + f"import {name} without Flask names authgate[flask]", "authgate[flask]" in str(exc), exc)
        else:
            check(prefix + f"import {name} without Flask fails", False, "it imported")

# What pip, type checkers and licence scanners read.
dist = importlib.metadata.distribution("authgate")
meta = dist.metadata
files = {str(f) for f in dist.files or ()}
check(prefix + "version " + dist.version, dist.version == sys.argv[1], dist.version)
check(prefix + "License-Expression: MIT OR Apache-2.0", meta.get("License-Expression") == "MIT OR Apache-2.0")
for name in ("LICENSE-MIT", "LICENSE-APACHE"):
    check(prefix + f"{name} installed", f"authgate-{dist.version}.dist-info/licenses/{name}" in files, sorted(files))
check(prefix + "typed: py.typed and stubs installed", {"authgate/py.typed", "authgate/_authgate.pyi"} <= files)
check(prefix + "classifier Typing :: Typed", "Typing :: Typed" in meta.get_all("Classifier", []))

sys.exit(1 if failures else 0)
