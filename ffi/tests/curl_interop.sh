#!/usr/bin/env bash
# curl against the libmicrohttpd example server (ffi/examples/authgate_server.c), on
# 127.0.0.1 only. Usage: curl_interop.sh PATH/TO/authgate_server
# Prints one line per check and a closing "N passed, N failed"; exits 1 on any failure.
set -uo pipefail

SERVER=${1:?usage: curl_interop.sh PATH/TO/authgate_server}
USER_NAME=Mufasa
USER_PASS='Circle Of Life'
# shellcheck source=ffi/tests/harness.sh
. "$(dirname "$0")/harness.sh"
trap 'stop_servers; rm -rf "$TMP"' EXIT

# start_server NAME ARGS...: starts the server on a free port; sets URL_<NAME>.
start_server() {
    local name=$1
    shift
    "$SERVER" --bind 127.0.0.1 --port 0 --realm "testrealm@host.com" \
        --user "$USER_NAME:$USER_PASS" "$@" >"$TMP/$name.out" 2>"$TMP/$name.log" &
    local pid=$!
    PIDS+=("$pid")
    local i port=""
    for i in $(seq 1 100); do
        port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$TMP/$name.out")
        [ -n "$port" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$port" ]; then
        not_ok "server $name starts" "$TMP/$name.out" "$TMP/$name.log"
        return 1
    fi
    printf -v "URL_$name" 'http://127.0.0.1:%s/protected' "$port"
}

start_server main || exit 1
start_server md5 --algorithms MD5 || exit 1
start_server short --nonce-lifetime 3 || exit 1
start_server hosts --allow-host 127.0.0.1 --allow-host localhost || exit 1
ROOT=${URL_main%/protected}/

# 1. No credentials: 401 with one WWW-Authenticate per challenge.
fetch none "$URL_main"
www=$(grep -ci '^WWW-Authenticate:' "$TMP/none.headers")
if [ "$(code none)" = 401 ] && [ "$www" = 3 ] &&
    grep -qi '^WWW-Authenticate: Digest realm="testrealm@host.com", qop="auth", algorithm=SHA-256, nonce="' "$TMP/none.headers" &&
    grep -qi '^WWW-Authenticate: Digest realm="testrealm@host.com", qop="auth", algorithm=MD5, nonce="' "$TMP/none.headers" &&
    grep -qi '^WWW-Authenticate: Basic realm="testrealm@host.com"' "$TMP/none.headers"; then
    ok "no credentials: 401 with Digest SHA-256, Digest MD5 and Basic challenges"
else
    not_ok "no credentials: 401 with three challenges (got $(code none), $www)" "$TMP/none.headers"
fi

# 2. The open page needs nothing.
fetch root "$ROOT"
[ "$(code root)" = 200 ] && ok "/ is open" || not_ok "/ is open (got $(code root))" "$TMP/root.headers"

# 3. curl --digest: 200, SHA-256 preferred, Authentication-Info with rspauth.
fetch digest --digest -u "$USER_NAME:$USER_PASS" "$URL_main"
if [ "$(code digest)" = 200 ] && grep -q "Hello, $USER_NAME" "$TMP/digest.body" &&
    sent_authorization digest | grep -q 'algorithm=SHA-256' &&
    grep -qi '^Authentication-Info: rspauth="' "$TMP/digest.headers"; then
    ok "curl --digest: 200 (SHA-256, Authentication-Info)"
else
    not_ok "curl --digest: 200 (got $(code digest))" "$TMP/digest.headers" "$TMP/main.log"
fi

# 4. curl --digest against an MD5-only server.
fetch digest_md5 --digest -u "$USER_NAME:$USER_PASS" "$URL_md5"
if [ "$(code digest_md5)" = 200 ] && sent_authorization digest_md5 | grep -q 'algorithm=MD5'; then
    ok "curl --digest with MD5: 200"
else
    not_ok "curl --digest with MD5: 200 (got $(code digest_md5))" "$TMP/digest_md5.headers" "$TMP/md5.log"
fi

# 5. curl --basic: 200.
fetch basic --basic -u "$USER_NAME:$USER_PASS" "$URL_main"
[ "$(code basic)" = 200 ] && grep -q "Hello, $USER_NAME" "$TMP/basic.body" &&
    ok "curl --basic: 200" || not_ok "curl --basic: 200 (got $(code basic))" "$TMP/basic.headers"

# 6. Wrong passwords: 401.
fetch wrong_digest --digest -u "$USER_NAME:circle of life" "$URL_main"
[ "$(code wrong_digest)" = 401 ] && ok "curl --digest, wrong password: 401" ||
    not_ok "curl --digest, wrong password: 401 (got $(code wrong_digest))" "$TMP/wrong_digest.headers"
fetch wrong_basic --basic -u "$USER_NAME:circle of life" "$URL_main"
[ "$(code wrong_basic)" = 401 ] && ok "curl --basic, wrong password: 401" ||
    not_ok "curl --basic, wrong password: 401 (got $(code wrong_basic))" "$TMP/wrong_basic.headers"
fetch unknown_user --basic -u "Scar:$USER_PASS" "$URL_main"
[ "$(code unknown_user)" = 401 ] && ok "unknown user: 401" ||
    not_ok "unknown user: 401 (got $(code unknown_user))" "$TMP/unknown_user.headers"

# 7. Replay: the Authorization header curl sent in 3., again with the same nc.
captured=$(sent_authorization digest)
if [ -z "$captured" ]; then
    not_ok "captured a Digest Authorization header" "$TMP/digest.trace"
else
    fetch replay -H "Authorization: $captured" "$URL_main"
    # The server logs the reason, in the core's words (authgate_reason_message).
    [ "$(code replay)" = 401 ] && tail -n 1 "$TMP/main.log" | grep -q 'reason=replayed nonce count stale=' &&
        ok "replayed Digest header (same nonce, same nc): 401 (replayed)" ||
        not_ok "replayed Digest header: 401 (got $(code replay))" "$TMP/replay.headers" "$TMP/main.log"
fi

# 8. Malformed values: 400. Several Authorization fields: 400.
fetch malformed -H 'Authorization: Digest username="Mufasa' "$URL_main"
[ "$(code malformed)" = 400 ] && ok "unterminated quoted-string: 400" ||
    not_ok "unterminated quoted-string: 400 (got $(code malformed))" "$TMP/malformed.headers"
fetch twice -H "Authorization: Basic TXVmYXNhOkNpcmNsZSBPZiBMaWZl" -H "Authorization: Basic TXVmYXNhOkNpcmNsZSBPZiBMaWZl" "$URL_main"
if [ "$(grep -c '^> Authorization:' "$TMP/twice.trace")" = 2 ]; then
    # The log names the cause, not what the engine was handed for it (an empty value).
    [ "$(code twice)" = 400 ] && tail -n 1 "$TMP/main.log" | grep -q '> 400 (2 Authorization header fields)$' &&
        ok "two Authorization fields: 400, logged as such" ||
        not_ok "two Authorization fields: 400, logged as such (got $(code twice))" "$TMP/twice.headers" "$TMP/main.log"
else
    echo "skip - this curl sends one Authorization field for two -H"
fi

# 8b. Where requests come from: curl (no Origin) changes the relay; the same request from
#     another origin (a form or fetch on another site, as a browser labels it) gets 403 and
#     changes nothing; a foreign Host (a rebinding DNS name) gets 421 with --allow-host.
RELAY=${URL_main%/protected}/api/relay
relay_state() { curl -s --max-time 10 --digest -u "$USER_NAME:$USER_PASS" "$RELAY"; }
before=$(relay_state)
fetch toggle --digest -u "$USER_NAME:$USER_PASS" -X POST -d on=1 "$RELAY/toggle"
after=$(relay_state)
[ "$(code toggle)" = 200 ] && [ -n "$before" ] && [ "$before" != "$after" ] &&
    ok "curl without Origin: POST /api/relay/toggle 200, relay $before -> $after" ||
    not_ok "curl without Origin toggles (got $(code toggle), $before -> $after)" "$TMP/toggle.headers" "$TMP/main.log"
before=$after
fetch csrf --digest -u "$USER_NAME:$USER_PASS" -X POST -d on=1 -H 'Origin: http://evil.example' \
    -H 'Sec-Fetch-Site: cross-site' "$RELAY/toggle"
after=$(relay_state)
[ "$(code csrf)" = 403 ] && [ "$before" = "$after" ] &&
    grep -q 'POST /api/relay/toggle -> 403 (unsafe method from another origin) .*origin=http://evil.example' "$TMP/main.log" &&
    ok "cross-site POST: 403, relay unchanged, refusal logged with its reason" ||
    not_ok "cross-site POST: 403 (got $(code csrf), $before -> $after)" "$TMP/csrf.headers" "$TMP/main.log"
fetch csrf_origin --digest -u "$USER_NAME:$USER_PASS" -X POST -H 'Origin: http://evil.example' "$RELAY/toggle"
[ "$(code csrf_origin)" = 403 ] && ok "POST with a foreign Origin only: 403" ||
    not_ok "POST with a foreign Origin only: 403 (got $(code csrf_origin))" "$TMP/csrf_origin.headers"
fetch same_origin --digest -u "$USER_NAME:$USER_PASS" -X POST -H "Origin: ${ROOT%/}" "$RELAY/toggle"
[ "$(code same_origin)" = 200 ] && ok "POST with the server's own Origin: 200" ||
    not_ok "POST with the server's own Origin: 200 (got $(code same_origin))" "$TMP/same_origin.headers"
fetch two_origins -X POST -H 'Origin: http://a' -H 'Origin: http://a' "$RELAY/toggle"
[ "$(code two_origins)" = 400 ] && ok "two Origin fields: 400" ||
    not_ok "two Origin fields: 400 (got $(code two_origins))" "$TMP/two_origins.headers"
HOSTS_ROOT=${URL_hosts%/protected}/
fetch rebound -H 'Host: rebind.evil.example' "$HOSTS_ROOT"
fetch own_host -H "Host: localhost" "$HOSTS_ROOT"
[ "$(code rebound)" = 421 ] && [ "$(code own_host)" = 200 ] &&
    ok "--allow-host: foreign Host 421, own name 200" ||
    not_ok "--allow-host: foreign Host 421, own name 200 (got $(code rebound), $(code own_host))" "$TMP/hosts.log"

# 9. Expired nonce (lifetime 3 s): the right response on it gets 401 with stale=true, both
#    for the header resent as is and for a fresh nc computed with the password.
fetch short --digest -u "$USER_NAME:$USER_PASS" "$URL_short"
old=$(sent_authorization short)
if [ "$(code short)" != 200 ] || [ -z "$old" ]; then
    not_ok "short-lifetime server: curl --digest 200 first (got $(code short))" "$TMP/short.headers" "$TMP/short.log"
else
    sleep 5
    fetch stale_same -H "Authorization: $old" "$URL_short"
    if [ "$(code stale_same)" = 401 ] && grep -qi '^WWW-Authenticate: Digest .*stale=true' "$TMP/stale_same.headers"; then
        ok "expired nonce, header resent: 401 stale=true"
    else
        not_ok "expired nonce, header resent: 401 stale=true (got $(code stale_same))" "$TMP/stale_same.headers" "$TMP/short.log"
    fi
    fresh=$(OLD="$old" PW="$USER_PASS" python3 - <<'PY'
import hashlib, os, re
h = os.environ["OLD"]
f = {k: a or b for k, a, b in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]*))', h)}
H = {"SHA-256": hashlib.sha256, "MD5": hashlib.md5}[f.get("algorithm", "MD5")]
d = lambda s: H(s.encode()).hexdigest()
nc = "00000002"
ha1 = d(f'{f["username"]}:{f["realm"]}:{os.environ["PW"]}')
ha2 = d(f'GET:{f["uri"]}')
resp = d(f'{ha1}:{f["nonce"]}:{nc}:{f["cnonce"]}:{f["qop"]}:{ha2}')
print(f'Digest username="{f["username"]}", realm="{f["realm"]}", nonce="{f["nonce"]}", uri="{f["uri"]}", '
      f'cnonce="{f["cnonce"]}", nc={nc}, qop={f["qop"]}, response="{resp}", algorithm={f.get("algorithm", "MD5")}')
PY
)
    fetch stale_fresh -H "Authorization: $fresh" "$URL_short"
    if [ "$(code stale_fresh)" = 401 ] && grep -qi '^WWW-Authenticate: Digest .*stale=true' "$TMP/stale_fresh.headers"; then
        ok "expired nonce, fresh nc with the right password: 401 stale=true"
    else
        not_ok "expired nonce, fresh nc: 401 stale=true (got $(code stale_fresh))" "$TMP/stale_fresh.headers" "$TMP/short.log"
    fi
    # The client follows the stale challenge: a new nonce works again.
    fetch after_stale --digest -u "$USER_NAME:$USER_PASS" "$URL_short"
    [ "$(code after_stale)" = 200 ] && ok "after stale: a new nonce authenticates" ||
        not_ok "after stale: 200 (got $(code after_stale))" "$TMP/after_stale.headers"
fi

# 10. A login burst larger than the replay table (AUTHGATE_REPLAY_CAPACITY, 1,024 nonces), each
# login on a nonce of its own, then logins on nonces never used: none answered stale.
if python3 "$(dirname "$0")/login_burst.py" "$URL_main" "$USER_NAME" "$USER_PASS" 1200 100 >"$TMP/burst.out" 2>&1; then
    ok "1,200 logins then 100 never-used nonces: none refused ($(head -n 1 "$TMP/burst.out" | cut -d: -f1))"
else
    not_ok "login burst: no nonce refused as stale" "$TMP/burst.out"
fi

# 11. Option errors name the bad value (exit status 2, nothing started); SHA-512-256 is offered.
option_error() { # option_error DESCRIPTION EXPECTED-STDERR-TEXT ARGS...
    local what=$1 expect=$2
    shift 2
    timeout 5 "$SERVER" --port 0 "$@" >"$TMP/opt.out" 2>"$TMP/opt.err" </dev/null
    local rc=$?
    [ "$rc" = 2 ] && grep -qF -- "$expect" "$TMP/opt.err" && ! grep -q '^listening' "$TMP/opt.out" &&
        ok "$what: exit 2, stderr names it" || not_ok "$what: exit 2 naming it (got $rc)" "$TMP/opt.err"
}
option_error "--algorithms SHA-1,MD5" '"SHA-1"' --algorithms SHA-1,MD5
option_error "--port 0x50" '"0x50"' --port 0x50 # a broken parser reads 0: a free port
option_error "--nonce-lifetime 0" '--nonce-lifetime 0:' --nonce-lifetime 0
option_error "--user without a colon" "NAME:PASSWORD" --user Mufasa
option_error "an unknown option" '"--frob"' --frob 1
"$SERVER" --help >"$TMP/help.out" 2>&1 && grep -q 'SHA-512-256' "$TMP/help.out" &&
    ok "--help lists SHA-512-256" || not_ok "--help lists SHA-512-256" "$TMP/help.out"
if start_server sha512 --algorithms SHA-512-256,SHA-256; then
    fetch sha512 "$URL_sha512"
    [ "$(code sha512)" = 401 ] && [ "$(grep -ci '^WWW-Authenticate: Digest' "$TMP/sha512.headers")" = 2 ] &&
        grep -qi '^WWW-Authenticate: Digest .*algorithm=SHA-512-256' "$TMP/sha512.headers" &&
        ok "--algorithms SHA-512-256,SHA-256: both offered" ||
        not_ok "--algorithms SHA-512-256,SHA-256: both offered" "$TMP/sha512.headers"
fi

# 12. The servers stop on SIGTERM, by pid.
stopped=0
for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if ! kill -0 "$pid" 2>/dev/null; then
        wait "$pid" 2>/dev/null
        stopped=$((stopped + 1))
    fi
done
[ "$stopped" = "${#PIDS[@]}" ] && ok "servers stopped by pid" || not_ok "servers stopped by pid ($stopped of ${#PIDS[@]})"
PIDS=()

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
