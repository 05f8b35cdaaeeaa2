#!/usr/bin/env bash
# NTLM and Negotiate against the libmicrohttpd example (ffi/examples/authgate_server.c),
# with curl --ntlm / --negotiate, headless Firefox ESR (Negotiate) and a real MIT KDC
# (tests/kdc/kdc.sh), on 127.0.0.1 only.
# Usage: negotiate_interop.sh PATH/TO/authgate_server
# Prints one line per check and "N passed, N failed"; exits 1 on any failure.
set -uo pipefail

SERVER=${1:?usage: negotiate_interop.sh PATH/TO/authgate_server}
HERE=$(cd "$(dirname "$0")" && pwd)
KDC=$HERE/../../tests/kdc/kdc.sh
# shellcheck source=ffi/tests/harness.sh
. "$HERE/harness.sh"
trap 'stop_servers; bash "$KDC" stop "$TMP/kdc"; rm -rf "$TMP"' EXIT

check() { # check DESCRIPTION EXPECTED ACTUAL [FILES...]
    local what=$1 want=$2 got=$3
    shift 3
    if [ "$want" = "$got" ]; then ok "$what"; else not_ok "$what (want $want, got $got)" "$@"; fi
}

bash "$KDC" start "$TMP/kdc" >/dev/null || { echo "not ok - the KDC starts"; exit 1; }
# shellcheck disable=SC1091
. "$TMP/kdc/env"

"$SERVER" --bind 127.0.0.1 --port 0 --realm "home" --user "Mufasa:Circle Of Life" --user "jürgen:pässword" \
    --ntlm --negotiate HTTP@localhost >"$TMP/server.out" 2>"$TMP/server.log" &
PIDS+=("$!")
port=""
for _ in $(seq 1 100); do
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$TMP/server.out")
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || { not_ok "server starts" "$TMP/server.log"; exit 1; }
URL=http://localhost:$port/protected

# After --next (which resets curl's options): where the second answer goes.
NEXT=(--next -s -o /dev/null -w '%{http_code}')
b64() { base64 -w0; }

# 1. The offers.
fetch none "$URL"
check "no credentials: 401" 401 "$(code none)"
grep -qx 'WWW-Authenticate: Negotiate' <(tr -d '\r' <"$TMP/none.headers") &&
    grep -qx 'WWW-Authenticate: NTLM' <(tr -d '\r' <"$TMP/none.headers") &&
    ok "Negotiate and NTLM offered, alone on their lines" || not_ok "Negotiate and NTLM offered" "$TMP/none.headers"

# 2. NTLM with curl: NTLMv2, the connection then stays authenticated (the second URL
#    goes out without credentials on the same connection).
fetch ntlm --ntlm -u "Mufasa:Circle Of Life" "$URL" -o "$TMP/ntlm.body2" "$URL"
check "curl --ntlm: 200 twice on one connection" 200200 "$(code ntlm)" "$TMP/server.log"
grep -q 'Hello, Mufasa' "$TMP/ntlm.body" && ok "NTLM: the user is Mufasa" || not_ok "NTLM user" "$TMP/ntlm.body"
[ "$(grep -c '^> Authorization: NTLM' "$TMP/ntlm.trace")" = 2 ] && grep -q 'Re-using existing connection' "$TMP/ntlm.trace" &&
    ok "NTLM: two Authorization headers for two requests (NEGOTIATE, AUTHENTICATE)" ||
    not_ok "NTLM: the second request needs no credentials" "$TMP/ntlm.trace"
fetch ntlm_bad --ntlm -u "Mufasa:wrong" "$URL"
check "curl --ntlm, wrong password: 401" 401 "$(code ntlm_bad)"
fetch ntlm_unknown --ntlm -u "Scar:x" "$URL"
check "curl --ntlm, unknown user: 401" 401 "$(code ntlm_unknown)"
grep -q 'reason=bad credentials' "$TMP/server.log" && grep -q 'reason=unknown user' "$TMP/server.log" &&
    ok "the refusals are logged with their reasons" || not_ok "refusal reasons logged" "$TMP/server.log"

# 3. The AUTHENTICATE curl sent, replayed: on a new connection (no handshake), and on a
#    connection after its own NEGOTIATE (another server challenge).
auth=$(grep '^> Authorization: NTLM' "$TMP/ntlm.trace" | sed -n 2p | sed 's/^> Authorization: //' | tr -d '\r')
fetch replay1 -H "Authorization: $auth" "$URL"
check "NTLM AUTHENTICATE replayed on a new connection: 401" 401 "$(code replay1)"
first=$(grep '^> Authorization: NTLM' "$TMP/ntlm.trace" | sed -n 1p | sed 's/^> Authorization: //' | tr -d '\r')
fetch replay2 -H "Authorization: $first" "$URL" "${NEXT[@]}" -H "Authorization: $auth" "$URL"
check "NTLM AUTHENTICATE replayed after a fresh NEGOTIATE: 401 401" 401401 "$(code replay2)" "$TMP/server.log"

# 4. NTLMv1 and LM responses are refused (no cryptography needed to be refused: the
#    24-byte response is the tell). A type-3 with LM and NT responses of 24 bytes, user
#    "Mufasa" in OEM.
v1=$(printf 'NTLMSSP\0\3\0\0\0\30\0\30\0\100\0\0\0\30\0\30\0\130\0\0\0\0\0\0\0\160\0\0\0\6\0\6\0\160\0\0\0\0\0\0\0\166\0\0\0\0\0\0\0\166\0\0\0\2\2\10\0%s%sMufasa' \
    "$(printf 'L%.0s' $(seq 24))" "$(printf 'N%.0s' $(seq 24))" | b64)
fetch v1 -H "Authorization: $first" "$URL" "${NEXT[@]}" -H "Authorization: NTLM $v1" "$URL"
check "NTLMv1 response: 401" 401401 "$(code v1)" "$TMP/server.log"
grep -q 'reason=LM or NTLMv1 response refused' "$TMP/server.log" && ok "NTLMv1 refusal logged" ||
    not_ok "NTLMv1 refusal logged" "$TMP/server.log"

# 5. Kerberos: curl --negotiate with alice's ticket from the KDC; mutual authentication
#    token on the 200.
fetch krb --negotiate -u : "$URL"
check "curl --negotiate: 200" 200 "$(code krb)" "$TMP/server.log" "$TMP/krb.trace"
grep -q 'Hello, alice@AUTHGATE.TEST' "$TMP/krb.body" && ok "Kerberos: the principal is alice@AUTHGATE.TEST" ||
    not_ok "Kerberos principal" "$TMP/krb.body"
grep -qi '^WWW-Authenticate: Negotiate [A-Za-z0-9+/=]' "$TMP/krb.headers" &&
    ok "Kerberos: the 200 carries the mutual-authentication token" || not_ok "mutual token" "$TMP/krb.headers"

# 6. The AP-REQ curl sent, replayed: GSSAPI's replay cache refuses it.
apreq=$(sent_authorization krb)
fetch krb_replay -H "Authorization: $apreq" "$URL"
check "Kerberos AP-REQ replayed: 401" 401 "$(code krb_replay)" "$TMP/server.log"
grep -q 'Request is a replay' "$TMP/server.log" && ok "the replay is GSSAPI's refusal, logged" ||
    not_ok "replay logged" "$TMP/server.log"

# 7. Without a ticket curl has nothing to send; a ticket for another service is refused.
KRB5CCNAME=FILE:$TMP/none fetch krb_none --negotiate -u : "$URL"
check "curl --negotiate without a ticket: 401" 401 "$(code krb_none)"

# 7b. A browser: headless Firefox ESR, a fresh profile (tests/browser/firefox-negotiate.user.js),
#     alice's ticket cache. The server's log says who it let in and by which scheme.
firefox_get() { # firefox_get NAME CCACHE: loads $URL, a screenshot in $TMP/NAME.png
    mkdir -p "$TMP/$1/profile"
    cp "$HERE/../../tests/browser/firefox-negotiate.user.js" "$TMP/$1/profile/user.js"
    KRB5CCNAME=$2 HOME=$TMP/$1 MOZ_CRASHREPORTER_DISABLE=1 MOZ_REMOTE_SETTINGS_DEVTOOLS=1 timeout -k 5 60 firefox-esr --headless --no-remote \
        --profile "$TMP/$1/profile" --screenshot "$TMP/$1.png" "$URL" >"$TMP/$1.log" 2>&1
}
if command -v firefox-esr >/dev/null; then
    before=$(grep -c ' -> 200 alice@AUTHGATE.TEST (Negotiate)' "$TMP/server.log")
    firefox_get firefox "$KRB5CCNAME"
    after=$(grep -c ' -> 200 alice@AUTHGATE.TEST (Negotiate)' "$TMP/server.log")
    check "Firefox ESR with alice's ticket: the server lets alice in by Negotiate" 1 "$((after - before))" \
        "$TMP/server.log" "$TMP/firefox.log"
    refused=$(grep -c ' -> 401 ' "$TMP/server.log")
    granted=$(grep -c ' -> 200 ' "$TMP/server.log")
    firefox_get firefox_none "FILE:$TMP/none"
    [ "$(grep -c ' -> 401 ' "$TMP/server.log")" -gt "$refused" ] && [ "$(grep -c ' -> 200 ' "$TMP/server.log")" = "$granted" ] &&
        ok "Firefox ESR without a ticket: 401, nobody let in" ||
        not_ok "Firefox ESR without a ticket: 401, nobody let in" "$TMP/server.log" "$TMP/firefox_none.log"
else
    not_ok "Firefox ESR is installed (make ffi-interop installs firefox-esr)"
fi

# 8. Malformed tokens: 400 (or MHD's own 4xx for a header past its buffer), never 500.
for t in 'NTLM' 'NTLM ####' 'NTLM TlRMTVNTUAAB' 'Negotiate YIIBAA==' 'Negotiate Zm9vYmFy' \
    "Negotiate $(head -c 300 /dev/urandom | b64)" "NTLM $(printf 'NTLMSSP\0\2\0\0\0' | b64)"; do
    fetch bad -H "Authorization: $t" "$URL"
    c=$(code bad)
    case $c in 400) ok "malformed '${t:0:24}': $c" ;; *) not_ok "malformed '${t:0:24}': 400 (got $c)" "$TMP/server.log" ;; esac
done
big="Negotiate $(head -c 15000 /dev/zero | tr '\0' 'A')"
fetch big -H "Authorization: $big" "$URL"
case $(code big) in 400 | 431) ok "a 15 KB Negotiate token: $(code big)" ;; *) not_ok "a 15 KB token: 400 (got $(code big))" ;; esac
grep -q ' -> 500' "$TMP/server.log" && not_ok "no request answered 500" "$TMP/server.log" || ok "no request answered 500"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
