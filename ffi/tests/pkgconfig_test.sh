#!/usr/bin/env bash
# Checks an installed (or unpacked) libauthgate: the files, their SONAME and stripping, then
# builds ffi/tests/pkgconfig_smoke.c with only pkg-config, once with the shared library and
# once statically, and runs both.
# Usage: pkgconfig_test.sh PREFIX VERSION   (after `make install PREFIX=PREFIX`, or an unpacked
#        `make dist` archive; VERSION is the crate version, e.g. 0.1.0)
set -uo pipefail
PREFIX=${1:?usage: pkgconfig_test.sh PREFIX VERSION}
VERSION=${2:?usage: pkgconfig_test.sh PREFIX VERSION}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
IFS=. read -r MAJOR MINOR PATCH <<<"$VERSION"
# 0.x: a minor version may break the ABI, so the SONAME carries it (cargo-c's rule).
case "$MAJOR.$MINOR" in
0.0) SONAME=libauthgate.so.0.0.$PATCH ;;
0.*) SONAME=libauthgate.so.0.$MINOR ;;
*) SONAME=libauthgate.so.$MAJOR ;;
esac
LIB=$PREFIX/lib
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
has_no_debug_info() { ! readelf -S -W "$1" | grep ' \.debug_' >/dev/null; } # no -q: SIGPIPE under pipefail

check "pkg-config knows authgate $VERSION" bash -c "[ \"\$(pkg-config --modversion authgate)\" = '$VERSION' ]"
check "installed files" test -f "$PREFIX/include/authgate.h" -a -f "$LIB/libauthgate.a" \
    -a -f "$LIB/libauthgate.so.$VERSION" -a -L "$LIB/$SONAME" -a -L "$LIB/libauthgate.so"
check "links: libauthgate.so -> $SONAME -> libauthgate.so.$VERSION" \
    test "$(readlink "$LIB/libauthgate.so")" = "$SONAME" -a "$(readlink "$LIB/$SONAME")" = "libauthgate.so.$VERSION"
check "SONAME is $SONAME" bash -c "readelf -d '$LIB/libauthgate.so.$VERSION' | grep -q 'Library soname: \[$SONAME\]'"
check "shared library has no debug info" has_no_debug_info "$LIB/libauthgate.so.$VERSION"
check "static library has no debug info" has_no_debug_info "$LIB/libauthgate.a"
# shellcheck disable=SC2046
header_version() {
    printf '#include <authgate.h>\nV AUTHGATE_VERSION_MAJOR AUTHGATE_VERSION_MINOR AUTHGATE_VERSION_PATCH\n' |
        gcc -E -P $(pkg-config --cflags authgate) - | tail -n 1
}
check "header macros AUTHGATE_VERSION_* say $VERSION" test "$(header_version)" = "V ${VERSION//./ }"
# shellcheck disable=SC2046
check "build with pkg-config --cflags --libs" \
    gcc -std=c11 -Wall -Wextra -Werror "$HERE/pkgconfig_smoke.c" -o "$OUT/smoke" $(pkg-config --cflags --libs authgate)
check "runs against the installed $SONAME" env LD_LIBRARY_PATH="$LIB" "$OUT/smoke"
check "links the installed $SONAME" \
    bash -c "LD_LIBRARY_PATH='$LIB' ldd '$OUT/smoke' | grep -q '$SONAME => $LIB/$SONAME'"
# shellcheck disable=SC2046
check "build statically with pkg-config --static" \
    gcc -std=c11 -Wall -Wextra -Werror "$HERE/pkgconfig_smoke.c" -o "$OUT/smoke_static" \
    $(pkg-config --cflags authgate) "$LIB/libauthgate.a" $(pkg-config --static --libs-only-other --libs-only-l authgate | sed 's/-lauthgate//')
check "static build runs without the shared library" "$OUT/smoke_static"
check "static build does not need libauthgate.so" bash -c "! ldd '$OUT/smoke_static' | grep -q libauthgate"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
