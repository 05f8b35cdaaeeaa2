"""Static checks of what `make dist` wrote, before anything is installed: names and tags,
sizes, licences, metadata, and that the binaries carry no debug info.

Usage: check_artifacts.py DIST_DIR VERSION   (stdlib only; readelf from binutils)"""
import email.parser
import hashlib
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

WHEEL_LIMIT = 1024 * 1024  # the budget for the wheel: 1 MB
LICENCES = ("LICENSE-MIT", "LICENSE-APACHE")
failures = 0


def check(what, ok, detail=""):
    global failures
    print(("ok - " if ok else "not ok - ") + what + ("" if ok else f": {detail}"))
    failures += not ok


def sections(elf_bytes):
    with tempfile.NamedTemporaryFile() as f:
        f.write(elf_bytes)
        f.flush()
        out = subprocess.run(["readelf", "-S", "-W", f.name], capture_output=True, text=True, check=True).stdout
    return set(re.findall(r"\]\s+(\.\S+)", out))


def metadata(text):
    return email.parser.Parser().parsestr(text)


def check_metadata(kind, meta, version):
    check(f"{kind}: Name authgate, Version {version}", (meta["Name"], meta["Version"]) == ("authgate", version))
    check(f"{kind}: Metadata-Version 2.4 (PEP 639)", meta["Metadata-Version"] == "2.4", meta["Metadata-Version"])
    check(f"{kind}: License-Expression", meta["License-Expression"] == "MIT OR Apache-2.0", meta["License-Expression"])
    check(f"{kind}: no legacy License field", meta["License"] is None, meta["License"])
    check(f"{kind}: License-File for both licences", sorted(meta.get_all("License-File", [])) == sorted(LICENCES))
    classifiers = meta.get_all("Classifier", [])
    for c in ("Typing :: Typed", "Programming Language :: Python :: 3.9", "Programming Language :: Python :: 3.13"):
        check(f"{kind}: classifier {c}", c in classifiers)
    check(f"{kind}: no licence classifier beside License-Expression", not any(c.startswith("License ::") for c in classifiers))
    check(f"{kind}: Requires-Python >=3.9", meta["Requires-Python"] == ">=3.9", meta["Requires-Python"])
    check(f"{kind}: Project-URL", len(meta.get_all("Project-URL", [])) >= 1)
    check(f"{kind}: Author", bool(meta["Author"] or meta["Author-email"]))
    check(f"{kind}: extra 'flask'", "flask" in meta.get_all("Provides-Extra", []))


def main(dist, version):
    dist = Path(dist)
    files = sorted(p.name for p in dist.iterdir())
    print(f"# {dist}: {', '.join(files)}")

    # SHA256SUMS covers every artefact.
    sums = dict(reversed(line.split(None, 1)) for line in (dist / "SHA256SUMS").read_text().splitlines())
    check("SHA256SUMS lists every artefact", sorted(sums) == [f for f in files if f != "SHA256SUMS"], sorted(sums))
    for name, digest in sums.items():
        check(f"sha256 of {name}", hashlib.sha256((dist / name).read_bytes()).hexdigest() == digest)

    # The wheel: abi3, manylinux 2.17 (glibc 2.17: every distribution since CentOS 7), small, stripped.
    wheels = [f for f in files if f.endswith(".whl")]
    check("one wheel", len(wheels) == 1, wheels)
    wheel = dist / wheels[0]
    check(f"wheel tag cp39-abi3 manylinux_2_17_x86_64: {wheel.name}",
          re.fullmatch(rf"authgate-{re.escape(version)}-cp39-abi3-(manylinux2014_x86_64\.)?manylinux_2_17_x86_64\.whl",
                       wheel.name) is not None)
    size = wheel.stat().st_size
    check(f"wheel {size:,} B <= {WHEEL_LIMIT:,} B", size <= WHEEL_LIMIT)
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        info = f"authgate-{version}.dist-info"
        for lic in LICENCES:
            check(f"wheel holds {info}/licenses/{lic}", f"{info}/licenses/{lic}" in names)
        check("wheel holds py.typed and the stubs", {"authgate/py.typed", "authgate/_authgate.pyi"} <= set(names))
        ext = [n for n in names if n.startswith("authgate/_authgate") and n.endswith(".so")]
        check("wheel holds the abi3 extension", ext == ["authgate/_authgate.abi3.so"], ext)
        if ext:
            secs = sections(z.read(ext[0]))
            check("extension stripped: no .debug_* or .symtab", not any(s.startswith(".debug_") or s == ".symtab" for s in secs),
                  sorted(s for s in secs if s.startswith(".debug") or s == ".symtab"))
        wheel_meta = z.read(f"{info}/WHEEL").decode()
        check("WHEEL: Root-Is-Purelib false, one tag per platform", "Root-Is-Purelib: false" in wheel_meta and
              "Tag: cp39-abi3-manylinux_2_17_x86_64" in wheel_meta, wheel_meta)
        check_metadata("wheel", metadata(z.read(f"{info}/METADATA").decode()), version)

    # The sdist: everything a build needs, nothing outside it.
    sdist = dist / f"authgate-{version}.tar.gz"
    check(f"sdist {sdist.name}", sdist.is_file())
    with tarfile.open(sdist) as t:
        names = set(t.getnames())
        top = f"authgate-{version}"
        for f in ("pyproject.toml", "Cargo.toml", "Cargo.lock", "core/Cargo.toml", "python/Cargo.toml",
                  "python/src/lib.rs", "authgate/__init__.py", "authgate/py.typed", *LICENCES):
            check(f"sdist holds {f}", f"{top}/{f}" in names)
        members = {m.name: m for m in t.getmembers()}
        check("sdist holds regular files only (no links out of it)",
              all(m.isfile() or m.isdir() for m in members.values()),
              [n for n, m in members.items() if not (m.isfile() or m.isdir())])
        built = [n for n in names if n.endswith((".so", ".pyd", ".dylib", ".o", ".a")) or "/.venv/" in n or "/target/" in n]
        check("sdist holds no build output (extensions, venvs, target/)", not built, built)
        check("sdist: no [patch] to a path outside it",
              "[patch" not in t.extractfile(f"{top}/Cargo.toml").read().decode())
        check_metadata("sdist", metadata(t.extractfile(f"{top}/PKG-INFO").read().decode()), version)

    # The C library archive: header, stripped libraries, pkg-config file, licences.
    archives = [f for f in files if f.startswith(f"libauthgate-{version}-") and f.endswith(".tar.gz")]
    check("one C library archive", len(archives) == 1, archives)
    with tarfile.open(dist / archives[0]) as t:
        names = set(t.getnames())
        top = f"libauthgate-{version}"
        for f in ("include/authgate.h", "lib/libauthgate.a", f"lib/libauthgate.so.{version}", "lib/pkgconfig/authgate.pc",
                  "share/doc/authgate/README.md", *(f"share/doc/authgate/{lic}" for lic in LICENCES)):
            check(f"C archive holds {f}", f"{top}/{f}" in names)
        pc = t.extractfile(f"{top}/lib/pkgconfig/authgate.pc").read().decode()
        check("authgate.pc is relocatable (prefix=${pcfiledir}/../..)", "prefix=${pcfiledir}/../..\n" in pc, pc)
        for lib in (f"lib/libauthgate.so.{version}", "lib/libauthgate.a"):
            secs = sections(t.extractfile(f"{top}/{lib}").read())
            check(f"{lib}: no debug info", not any(s.startswith(".debug_") for s in secs))

    print(f"check_artifacts: {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
