#!/usr/bin/env bash
# Builds ffi/tests/pkgconfig_smoke.c against an install prefix using only pkg-config, once
# with the shared library and once statically, and runs both.
# Usage: pkgconfig_test.sh PREFIX   (after `make install PREFIX=PREFIX`)
set -uo pipefail
PREFIX=${1:?usage: pkgconfig_test.sh PREFIX}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
passed=0
failed=0
check() {
    local name=$1
    shift
    if "$@" >"$OUT/log" 2>&1; then
        passed=$((passed + 1)); echo "ok - $name"
    else
        failed=$((failed + 1)); echo "not ok - $name"; sed 's/^/    | /' "$OUT/log"
    fi
}

check "pkg-config knows authgate" pkg-config --exists authgate
check "installed files" test -f "$PREFIX/include/authgate.h" -a -f "$PREFIX/lib/libauthgate.a" \
    -a -L "$PREFIX/lib/libauthgate.so" -a -L "$PREFIX/lib/libauthgate.so.0"
# shellcheck disable=SC2046
check "build with pkg-config --cflags --libs" \
    gcc -std=c11 -Wall -Wextra -Werror "$HERE/pkgconfig_smoke.c" -o "$OUT/smoke" $(pkg-config --cflags --libs authgate)
check "runs against the installed libauthgate.so.0" \
    env LD_LIBRARY_PATH="$PREFIX/lib" "$OUT/smoke"
check "links the installed shared library" \
    bash -c "LD_LIBRARY_PATH='$PREFIX/lib' ldd '$OUT/smoke' | grep -q '$PREFIX/lib/libauthgate.so.0'"
# shellcheck disable=SC2046
check "build statically with pkg-config --static" \
    gcc -std=c11 -Wall -Wextra -Werror "$HERE/pkgconfig_smoke.c" -o "$OUT/smoke_static" \
    $(pkg-config --cflags authgate) "$PREFIX/lib/libauthgate.a" $(pkg-config --static --libs-only-other --libs-only-l authgate | sed 's/-lauthgate//')
check "static build runs without the shared library" "$OUT/smoke_static"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
