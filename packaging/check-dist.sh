#!/usr/bin/env bash
# Installs what `make dist` wrote the way each ecosystem installs it, every time in a fresh
# place, and checks that it works there:
#   - the wheel, into a new venv (pip only, nothing else) of each CPython 3.9-3.13 found here;
#   - the sdist, by `pip install authgate-VERSION.tar.gz` into a new venv: pip builds it in
#     isolation (maturin from PyPI, the Rust toolchain), as on a machine with no wheel;
#   - the C library archive, unpacked into a new directory, used through pkg-config only.
# Usage: check-dist.sh DIST_DIR VERSION
# DIST_FULL=0 (make test): the wheel in the oldest and newest CPython found only, and no
# `pip install` of the sdist (a second full compile; the wheel is built from the sdist anyway).
set -uo pipefail
DIST=$(cd "${1:?usage: check-dist.sh DIST_DIR VERSION}" && pwd)
VERSION=${2:?usage: check-dist.sh DIST_DIR VERSION}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export PIP_DISABLE_PIP_VERSION_CHECK=1
passed=0
failed=0
step() { # step NAME COMMAND...: runs, logs, reports
    local name=$1 start=$SECONDS
    shift
    if "$@" >"$WORK/log" 2>&1; then
        passed=$((passed + 1)); echo "ok - $name ($((SECONDS - start)) s)"
    else
        failed=$((failed + 1)); echo "not ok - $name"; sed 's/^/    | /' "$WORK/log" | tail -n 40
    fi
}

# Every CPython 3.9-3.13 on PATH or under pyenv, once each (the wheel is abi3: one for all).
interpreters() {
    local v p
    for v in 3.9 3.10 3.11 3.12 3.13; do
        for p in "$(command -v "python$v")" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$v".*/bin/"python$v"; do
            if [ -x "$p" ] && "$p" -c 'import ensurepip, venv' 2>/dev/null; then echo "$p"; break; fi
        done
    done
}

wheel=$(ls "$DIST"/authgate-"$VERSION"-*.whl)
mapfile -t pythons < <(interpreters)
[ "${#pythons[@]}" -gt 0 ] || pythons=(python3)
if [ "${DIST_FULL:-1}" = 0 ] && [ "${#pythons[@]}" -gt 2 ]; then pythons=("${pythons[0]}" "${pythons[-1]}"); fi
for py in "${pythons[@]}"; do
    v=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    env="$WORK/wheel-$v"
    step "wheel into a fresh Python $v venv (pip only), imported and used" bash -c "
        '$py' -m venv '$env' && '$env/bin/pip' install -q --no-index '$wheel' &&
        [ \"\$('$env/bin/pip' list --format=freeze | grep -v '^pip==\|^setuptools==\|^authgate==' | wc -l)\" = 0 ] &&
        cd '$WORK' && '$env/bin/python' '$HERE/smoke.py' '$VERSION'"
done

# The sdist on its own: a fresh venv, `pip install` of the .tar.gz, nothing else given (the
# build compiles in pip's temporary directory, from nothing).
if [ "${DIST_FULL:-1}" != 0 ]; then
    env="$WORK/sdist"
    step "sdist built and installed by pip in a fresh venv (isolated build), imported and used" bash -c "
        env -u CARGO_TARGET_DIR python3 -m venv '$env' &&
        env -u CARGO_TARGET_DIR '$env/bin/pip' install -v '$DIST/authgate-$VERSION.tar.gz' >'$WORK/sdist.log' 2>&1 ||
            { tail -n 40 '$WORK/sdist.log'; exit 1; }
        cd '$WORK' && '$env/bin/python' '$HERE/smoke.py' '$VERSION'"
fi

# The C library: unpacked anywhere, found through pkg-config alone (the .pc is relocatable).
archive=$(ls "$DIST"/libauthgate-"$VERSION"-*.tar.gz)
mkdir -p "$WORK/c"
step "C archive unpacked: header, SONAME, stripped libraries, pkg-config build (shared and static)" bash -c "
    tar -C '$WORK/c' -xzf '$archive' && bash '$ROOT/ffi/tests/pkgconfig_test.sh' '$WORK/c/libauthgate-$VERSION' '$VERSION'"

echo "check-dist: $passed passed, $failed failed"
[ "$failed" = 0 ]
