#!/usr/bin/env bash
# Host-twin test: the Pico W / Pico 2 W app, built for Linux, reached with curl.
#
# It makes its own network namespace with a TAP device inside (192.168.69.1/24 on the
# namespace side, the twin's embassy-net stack on 192.168.69.2/24), runs the twin there and
# drives it with curl from inside the same namespace, so no packet touches any other
# interface. Besides the authentication cases it cuts the link (the TAP device down for a
# few seconds, then up: the twin must rejoin and serve a Digest login again), changes the
# password and restarts the twin on the same flash file (the new password must survive, the
# old one must stop working), factory-resets, and resolves the twin's .local name over mDNS
# (python-zeroconf, and a one-shot query). With TWIN_JWT_KEY (the twin's AUTHGATE_JWT_KEY) it
# checks Bearer JWTs minted by PyJWT, the clock coming from an SNTP responder it runs in the
# namespace. If no namespace can be made (no permission), it
# runs the web app on picoserve's tokio transport on 127.0.0.1 instead, says so, and skips
# the link and mDNS cases (they need the TAP device).
#
#   firmware-example/tests/host_twin.sh            # builds the twin (dev profile) first
#   TWIN=/path/to/authgate-twin tests/host_twin.sh # or uses a given binary
#   PYTHON=/path/to/venv/python                    # a Python with zeroconf (make firmware-test sets it)
#   FORCE_FALLBACK=1 tests/host_twin.sh            # exercise the loopback path
#   TWIN_JWT_KEY=SECRET                            # the twin's AUTHGATE_JWT_KEY: run the JWT cases
#
# Ends with "N passed, M failed, K skipped"; exits non-zero on any failure.
set -u
set -o pipefail

HERE=$(cd "$(dirname "$0")/.." && pwd)
USER_NAME=${AUTHGATE_USER:-admin}
PASSWORD=${AUTHGATE_PASSWORD:-authgate-demo}
LIFETIME=4 # seconds: short, so the stale-nonce case can wait it out, long enough for a slow CI
NS=authgate-fw-$$
TAP=agtap$$
TAP=${TAP:0:15}
UNIQUE_ID=0011223344a1b2c3 # the board's unique id; the default hostname takes its last 3 bytes
HOSTNAME_EXPECTED=${AUTHGATE_HOSTNAME:-authgate-a1b2c3}
NEW_PASSWORD='changed Pa55 word' # a space and no shell specials: sent form-encoded
PYTHON=${PYTHON:-python3}
WORK=$(mktemp -d)
PID=
NS_MADE=
SNTP_PID=

cleanup() {
    if [ -n "$PID" ]; then
        kill "$PID" 2>/dev/null
        wait "$PID" 2>/dev/null
    fi
    if [ -n "$SNTP_PID" ]; then kill "$SNTP_PID" 2>/dev/null; wait "$SNTP_PID" 2>/dev/null; fi
    [ -n "$NS_MADE" ] && ip netns del "$NS" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "${TWIN:-}" ]; then
    (cd "$HERE/host" && cargo build -j1 --quiet) || { echo "building the twin failed"; echo "0 passed, 1 failed"; exit 1; }
    TWIN="$HERE/target/debug/authgate-twin"
fi

PASS=0
FAIL=0
SKIP=0
ok() { PASS=$((PASS + 1)); echo "ok   - $1"; }
skip() { SKIP=$((SKIP + 1)); echo "skip - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $1"; [ -n "${2:-}" ] && sed 's/^/       | /' <<<"$2"; }
check() { # check DESCRIPTION COMMAND... : passes when COMMAND succeeds
    local what=$1; shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}

# --- start the twin --------------------------------------------------------------------

RUN=() # prefix that puts a command into the twin's network
start_twin() { # start_twin [extra twin args...]; sets PID and BASE
    : >"$WORK/out"
    local common=(--nonce-lifetime "$LIFETIME" --flash "$WORK/flash.bin" --unique-id "$UNIQUE_ID")
    CLOCKS=$(grep -c 'clock set from' "$WORK/log" 2>/dev/null)
    if [ "$MODE" = namespace ]; then
        [ -n "${TWIN_JWT_KEY:-}" ] && common+=(--ntp-server 192.168.69.1)
        ip netns exec "$NS" "$TWIN" --tap "$TAP" --ip 192.168.69.2/24 "${common[@]}" "$@" \
            >"$WORK/out" 2>>"$WORK/log" &
    else
        "$TWIN" --tokio 127.0.0.1:0 "${common[@]}" "$@" >"$WORK/out" 2>>"$WORK/log" &
    fi
    PID=$!
    for _ in $(seq 100); do
        grep -q '^ready: ' "$WORK/out" && break
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1
    done
    BASE=$(sed -n 's|^ready: \(http://[^/]*\)/.*|\1|p' "$WORK/out" | head -1)
    if [ -z "$BASE" ]; then
        echo "the twin did not come up:"; cat "$WORK/out" "$WORK/log"
        echo "$PASS passed, $((FAIL + 1)) failed"
        exit 1
    fi
    BASE=${BASE%:80}
    # With JWT, Digest nonces are timed by the clock once it is set: wait for it, so that no
    # case sees its nonce go stale when the clock jumps from uptime to Unix time.
    if [ -n "${TWIN_JWT_KEY:-}" ] && { [ -n "$SNTP_PID" ] || [ "$MODE" = fallback ]; }; then wait_clock; fi
}
wait_clock() { # until this start of the twin has set its clock (at most 8 s)
    for _ in $(seq 80); do
        [ "$(grep -c 'clock set from' "$WORK/log")" -gt "${CLOCKS:-0}" ] && return 0
        sleep 0.1
    done
    return 1
}
start_sntp() { # an SNTP server (RFC 4330 answers from the host's clock) on 192.168.69.1:123
    cat >"$WORK/sntp.py" <<'PY'
import socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.168.69.1", 123))
while True:
    request, peer = s.recvfrom(512)
    if len(request) < 48 or request[0] & 7 != 3:
        continue
    t = time.time() + 2208988800
    stamp = struct.pack("!II", int(t) & 0xFFFFFFFF, int((t % 1) * 2**32))
    answer = bytes([0x24, 2, 6, 0xEC]) + bytes(20) + request[40:48] + stamp + stamp
    s.sendto(answer, peer)
PY
    ip netns exec "$NS" python3 "$WORK/sntp.py" 2>>"$WORK/log" &
    SNTP_PID=$!
}
stop_twin() {
    kill "$PID" 2>/dev/null
    wait "$PID" 2>/dev/null
    PID=
}

if [ -z "${FORCE_FALLBACK:-}" ] && ip netns add "$NS" 2>"$WORK/nserr"; then
    NS_MADE=1
    if ip netns exec "$NS" ip link set lo up &&
        ip netns exec "$NS" ip tuntap add name "$TAP" mode tap &&
        ip netns exec "$NS" ip addr add 192.168.69.1/24 dev "$TAP" &&
        ip netns exec "$NS" ip link set "$TAP" up &&
        ip netns exec "$NS" ip route add 224.0.0.0/4 dev "$TAP"; then
        MODE=namespace
        RUN=(ip netns exec "$NS")
        echo "# host twin: embassy-net on TAP $TAP inside network namespace $NS"
    else
        echo "# could not set up a TAP device in namespace $NS"
        MODE=fallback
    fi
else
    MODE=fallback
fi
if [ "$MODE" = fallback ]; then
    why=$(head -1 "$WORK/nserr" 2>/dev/null)
    [ -n "${FORCE_FALLBACK:-}" ] && why="FORCE_FALLBACK is set"
    echo "# FALLBACK: no network namespace could be made (${why:-unknown reason})"
    echo "# FALLBACK: serving the same app on picoserve's tokio transport on 127.0.0.1 instead"
fi

start_twin
echo "# twin at $BASE (pid $PID)"

# --- helpers ---------------------------------------------------------------------------

# http OUTFILE [curl args...]: headers and body into OUTFILE, the status code on stdout.
http() {
    local out=$1; shift
    "${RUN[@]}" curl -sS --max-time 10 -D "$out.h" -o "$out.b" -w '%{http_code}' "$@" 2>"$out.err"
}
hdr() { grep -i "^$2:" "$1.h" | tr -d '\r'; }

# A Digest client for the cases curl cannot express (MD5 on purpose, an old nonce).
# digest_auth METHOD URI CHALLENGE_LINE USER PASSWORD ALGORITHM NC -> Authorization value
digest_auth() {
    python3 - "$@" <<'EOF'
import hashlib, os, re, sys
method, uri, challenge, user, password, algorithm, nc = sys.argv[1:8]
h = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}[algorithm]
H = lambda s: h(s.encode()).hexdigest()
realm = re.search(r'realm="([^"]*)"', challenge).group(1)
nonce = re.search(r'nonce="([^"]*)"', challenge).group(1)
cnonce = os.urandom(8).hex()
ha1 = H(f"{user}:{realm}:{password}")
ha2 = H(f"{method}:{uri}")
resp = H(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
print(f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
      f'algorithm={algorithm}, qop=auth, nc={nc}, cnonce="{cnonce}", response="{resp}"')
EOF
}

led_is() { # led_is true|false
    local code
    code=$(http "$WORK/s" --basic -u "$USER_NAME:$PASSWORD" "$BASE/api/status")
    [ "$code" = 200 ] && grep -q "\"led\":$1" "$WORK/s.b"
}

# --- the cases -------------------------------------------------------------------------

R=$WORK/r

# --- JWT bearer tokens (issue 20) ---------------------------------------------------------
# The twin is built with AUTHGATE_JWT_KEY=$TWIN_JWT_KEY (make firmware-twin); tokens are
# minted by PyJWT. JWTs are checked against Unix time, which the twin takes from SNTP: a
# small responder on the namespace side of the TAP device (on the fallback, the host's clock).

if [ -n "${TWIN_JWT_KEY:-}" ]; then
    # mint KEY ALG [claim=value | claim=+SECONDS | claim=-SECONDS | tamper]... -> a token
    mint() {
        "$PYTHON" - "$@" <<'PY'
import base64, json, sys, time, warnings
import jwt
warnings.simplefilter("ignore")  # PyJWT's key-length warning for the deliberate HS384 case
key, alg, *args = sys.argv[1:]
now = int(time.time())
claims = {"sub": "hub", "iat": now, "exp": now + 300}
for a in args:
    if a == "tamper":
        continue
    name, value = a.split("=", 1)
    claims[name] = now + int(value) if value[:1] in "+-" else value
token = jwt.encode(claims, None if alg == "none" else key, algorithm=alg)
if "tamper" in args:  # the claims changed after signing, the signature kept
    header, _, signature = token.split(".")
    claims["sub"] = "intruder"
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    token = f"{header}.{body}.{signature}"
print(token)
PY
    }
    bearer_error() { # bearer_error DESCRIPTION: the 401's Bearer challenge per RFC 6750
        hdr "$R" WWW-Authenticate | grep -qF "Bearer realm=\"authgate-pico\", error=\"invalid_token\", error_description=\"$1\""
    }
    jwt_started=$(date +%s.%N)
    good=$(mint "$TWIN_JWT_KEY" HS256)
    if [ "$MODE" = namespace ]; then
        code=$(http "$R" -H "Authorization: Bearer $good" "$BASE/api/status")
        check "JWT before the clock is set -> 401, and no Bearer challenge" \
            bash -c '[ "$1" = 401 ] && ! grep -q "^WWW-Authenticate: Bearer" "$2.h"' _ "$code" "$R"
        start_sntp
    else
        skip "JWT before the clock is set (the fallback takes the host's clock at start)"
    fi
    wait_clock && ok "the twin set its clock (SNTP in the namespace, or the host's clock)" || bad "the twin set its clock" "$(tail -5 "$WORK/log")"

    code=$(http "$R" "$BASE/api/status")
    check "JWT: no credentials -> 401 also offers Bearer (RFC 6750), after Digest and Basic" \
        bash -c '[ "$1" = 401 ] && tail -1 <<<"$2" | grep -qx "WWW-Authenticate: Bearer realm=\"authgate-pico\""' _ "$code" "$(hdr "$R" WWW-Authenticate)"
    code=$(http "$R" -H "Authorization: Bearer $good" "$BASE/api/status")
    check "JWT (PyJWT, HS256, the hub's secret): GET /api/status -> 200 as its sub" \
        bash -c '[ "$1" = 200 ] && grep -q "\"user\":\"hub\"" "$2.b"' _ "$code" "$R"
    code=$(http "$R" -H "Authorization: Bearer $good" -X POST "$BASE/api/led/on")
    check "JWT: POST /api/led/on -> 200, LED on" bash -c '[ "$1" = 200 ] && grep -q "\"led\":true" "$2.b"' _ "$code" "$R"
    check "JWT: the status says the LED is on" led_is true
    code=$(http "$R" -H "Authorization: Bearer $good" -X POST "$BASE/api/led/off")
    check "JWT: POST /api/led/off -> 200, LED off" bash -c '[ "$1" = 200 ] && grep -q "\"led\":false" "$2.b"' _ "$code" "$R"
    check "JWT: the status says the LED is off" led_is false

    refused() { # refused WHAT TOKEN DESCRIPTION: a POST that must not switch the LED
        local code
        code=$(http "$R" -H "Authorization: Bearer $2" -X POST "$BASE/api/led/on")
        check "JWT $1 -> 401 invalid_token \"$3\"" bash -c '[ "$1" = 401 ] && bearer_error "$2"' _ "$code" "$3"
    }
    export -f hdr bearer_error; export R
    refused "with a tampered payload" "$(mint "$TWIN_JWT_KEY" HS256 tamper)" "Signature verification failed"
    refused "expired 2 minutes ago (leeway 60 s)" "$(mint "$TWIN_JWT_KEY" HS256 iat=-600 exp=-120)" "Signature has expired"
    refused "signed with another secret" "$(mint "another-secret-of-the-same-length-0123456789" HS256)" "Signature verification failed"
    refused "with alg=none" "$(mint "" none)" "The specified alg value is not allowed"
    refused "in HS384 (not allowed; the same secret)" "$(mint "$TWIN_JWT_KEY" HS384)" "The specified alg value is not allowed"
    refused "not valid for another 10 minutes (nbf)" "$(mint "$TWIN_JWT_KEY" HS256 nbf=+600)" "The token is not yet valid (nbf)"
    check "JWT: no refused token switched the LED" led_is false
    check "JWT: refusals are logged with their reason" grep -q '401 for POST /api/led/on: Signature has expired' "$WORK/log"
    check "JWT: the secret is not in the log" bash -c '! grep -qF "$1" "$2"' _ "$TWIN_JWT_KEY" "$WORK/log"
    echo "# JWT cases took $(python3 -c "import sys,time; print(f'{time.time() - float(sys.argv[1]):.1f}')" "$jwt_started") s"
else
    skip "JWT bearer tokens (TWIN_JWT_KEY not given: make firmware-test builds the twin with one)"
fi


code=$(http "$R" "$BASE/")
check "GET / serves the page without credentials" test "$code" = 200 -a -s "$R.b"

code=$(http "$R" "$BASE/api/status")
check "no credentials -> 401" test "$code" = 401
ch=$(hdr "$R" WWW-Authenticate)
check "401 offers Digest SHA-256 first" bash -c 'head -1 <<<"$1" | grep -q "^WWW-Authenticate: Digest realm=\".*algorithm=SHA-256, nonce="' _ "$ch"
check "401 offers Digest MD5" grep -q 'Digest .*algorithm=MD5' <<<"$ch"
check "401 offers Basic" grep -q '^WWW-Authenticate: Basic realm=' <<<"$ch"
check "401 challenges are not stale" bash -c '! grep -q stale=true <<<"$1"' _ "$ch"

code=$(http "$R" -X POST "$BASE/api/led/on")
check "POST /api/led/on without credentials -> 401" test "$code" = 401

check "LED starts off" led_is false
code=$(http "$R" -v --digest -u "$USER_NAME:$PASSWORD" -X POST "$BASE/api/led/on")
check "curl --digest POST /api/led/on -> 200" test "$code" = 200
sent=$(sed -n 's/^> Authorization: //p' "$R.err" | tr -d '\r' | tail -1)
check "curl used Digest SHA-256" grep -q 'algorithm=SHA-256' <<<"$sent"
check "Digest success carries Authentication-Info with rspauth" grep -q '^Authentication-Info: rspauth="[0-9a-f]\{64\}"' <<<"$(hdr "$R" Authentication-Info)"
check "the LED is on (status)" led_is true

# The same Authorization again, same nonce and nc: authgate must refuse it.
code=$(http "$R" -H "Authorization: $sent" -X POST "$BASE/api/led/on")
check "replayed Digest header (same nonce, same nc) -> 401" test "$code" = 401
check "a replay is not answered as stale" bash -c '! grep -q stale=true <<<"$1"' _ "$(hdr "$R" WWW-Authenticate)"

code=$(http "$R" --basic -u "$USER_NAME:$PASSWORD" -X POST "$BASE/api/led/off")
check "curl --basic POST /api/led/off -> 200" test "$code" = 200
check "Basic success has no Authentication-Info" test -z "$(hdr "$R" Authentication-Info)"
check "the LED is off (status)" led_is false

code=$(http "$R" --basic -u "$USER_NAME:$PASSWORD" "$BASE/api/status")
check "curl --basic GET /api/status -> 200 with JSON" bash -c '[ "$1" = 200 ] && grep -q "\"user\":\"'"$USER_NAME"'\"" "$2"' _ "$code" "$R.b"

code=$(http "$R" --digest -u "$USER_NAME:wrong-password" -X POST "$BASE/api/led/on")
check "wrong password (Digest) -> 401" test "$code" = 401
code=$(http "$R" --basic -u "$USER_NAME:wrong-password" -X POST "$BASE/api/led/on")
check "wrong password (Basic) -> 401" test "$code" = 401
code=$(http "$R" --basic -u "nobody:$PASSWORD" "$BASE/api/status")
check "unknown user -> 401" test "$code" = 401
check "the LED is still off" led_is false

# MD5, for older clients: a hand-made Digest response against the MD5 challenge.
http "$R" "$BASE/api/status" >/dev/null
md5ch=$(hdr "$R" WWW-Authenticate | grep 'algorithm=MD5' | head -1)
auth=$(digest_auth POST /api/led/toggle "$md5ch" "$USER_NAME" "$PASSWORD" MD5 00000001)
code=$(http "$R" -H "Authorization: $auth" -X POST "$BASE/api/led/toggle")
check "Digest MD5 POST /api/led/toggle -> 200" test "$code" = 200
check "the LED toggled on" led_is true
auth2=$(digest_auth POST /api/led/off "$md5ch" "$USER_NAME" "$PASSWORD" MD5 00000002)
code=$(http "$R" -H "Authorization: $auth2" -X POST "$BASE/api/led/off")
check "same nonce, next nc -> 200" test "$code" = 200
code=$(http "$R" -H "Authorization: $auth2" -X POST "$BASE/api/led/off")
check "same nonce, same nc again -> 401" test "$code" = 401

# The Digest uri must be the request-target.
http "$R" "$BASE/api/status" >/dev/null
shach=$(hdr "$R" WWW-Authenticate | head -1)
auth=$(digest_auth POST /api/led/off "$shach" "$USER_NAME" "$PASSWORD" SHA-256 00000001)
code=$(http "$R" -H "Authorization: $auth" -X POST "$BASE/api/led/on")
check "Digest uri differing from the request-target -> 400" test "$code" = 400

code=$(http "$R" -H 'Authorization: Digest username="admin", realm=' "$BASE/api/status")
check "malformed Authorization (Digest) -> 400" test "$code" = 400
code=$(http "$R" -H 'Authorization: Basic !!!not-base64!!!' "$BASE/api/status")
check "malformed Authorization (Basic) -> 400" test "$code" = 400
good_basic="Basic $(printf '%s:%s' "$USER_NAME" "$PASSWORD" | base64 -w0)"
code=$(http "$R" -H "Authorization: $good_basic" -H 'Authorization: Basic Zm9vOmJhcg==' "$BASE/api/status")
check "two Authorization fields (first one valid) -> 400" test "$code" = 400
code=$(http "$R" -H 'Authorization: Negotiate abc' "$BASE/api/status")
check "unsupported scheme -> 401" test "$code" = 401

# Where requests come from (CSRF) and which name they were sent to (DNS rebinding). The LED is
# off here; a switch from another site's page must not change it.
check "the LED is off before the cross-site cases" led_is false
code=$(http "$R" --digest -u "$USER_NAME:$PASSWORD" -X POST -H 'Origin: http://evil.example' \
    -H 'Sec-Fetch-Site: cross-site' "$BASE/api/led/on")
check "cross-site POST /api/led/on with the right login -> 403" test "$code" = 403
check "... and the LED is still off" led_is false
code=$(http "$R" --digest -u "$USER_NAME:$PASSWORD" -X POST -H "Origin: $BASE" "$BASE/api/led/toggle")
check "POST with the device's own Origin -> 200" test "$code" = 200
check "... and the LED toggled on" led_is true
code=$(http "$R" -X POST -H 'Origin: http://a' -H 'Origin: http://a' "$BASE/api/led/on")
check "two Origin fields -> 400" test "$code" = 400
code=$(http "$R" --digest -u "$USER_NAME:$PASSWORD" -H 'Host: rebind.evil.example' "$BASE/api/status")
check "GET /api/status sent to a foreign name (DNS rebinding) -> 421" test "$code" = 421
code=$(http "$R" --digest -u "$USER_NAME:$PASSWORD" -H "Host: $HOSTNAME_EXPECTED.local" "$BASE/api/status")
check "GET /api/status sent to $HOSTNAME_EXPECTED.local -> 200" test "$code" = 200
code=$(http "$R" --digest -u "$USER_NAME:$PASSWORD" -H "Host: ${HOSTNAME_EXPECTED^^}" "$BASE/api/status")
check "GET /api/status sent to the bare hostname (any case) -> 200" test "$code" = 200
code=$(http "$R" --digest -u "$USER_NAME:$PASSWORD" -H 'Host: 10.1.2.3:8080' "$BASE/api/status")
check "GET /api/status sent to an address (NAT: not a rebinding name) -> 200" test "$code" = 200
check "refusals are logged with their reason" grep -q '403 for POST /api/led/on: unsafe method from another origin' "$WORK/log"
check "... and the foreign name's" grep -q "421 for GET /api/status: Host is not one of this server's names" "$WORK/log"

# Stale: a correct response on a nonce older than its lifetime.
http "$R" "$BASE/api/status" >/dev/null
oldch=$(hdr "$R" WWW-Authenticate | head -1)
sleep $((LIFETIME + 2))
auth=$(digest_auth GET /api/status "$oldch" "$USER_NAME" "$PASSWORD" SHA-256 00000001)
code=$(http "$R" -H "Authorization: $auth" "$BASE/api/status")
check "expired nonce -> 401" test "$code" = 401
check "expired nonce -> stale=true on the Digest challenges" grep -q 'Digest .*stale=true' <<<"$(hdr "$R" WWW-Authenticate)"
auth=$(digest_auth GET /api/status "$oldch" "$USER_NAME" wrong-password SHA-256 00000001)
code=$(http "$R" -H "Authorization: $auth" "$BASE/api/status")
check "expired nonce with a wrong password -> not stale" bash -c '[ "$1" = 401 ] && ! grep -q stale=true "$2"' _ "$code" "$R.h"

# Reads can be left open by configuration; switching stays protected.
stop_twin
start_twin --open-reads
code=$(http "$R" "$BASE/api/status")
check "--open-reads: GET /api/status without credentials -> 200" test "$code" = 200
code=$(http "$R" -X POST "$BASE/api/led/on")
check "--open-reads: POST /api/led/on still -> 401" test "$code" = 401
code=$(http "$R" --digest -u "$USER_NAME:$PASSWORD" -X POST "$BASE/api/led/on")
check "--open-reads: curl --digest POST /api/led/on -> 200" test "$code" = 200
stop_twin

# --- mDNS: <hostname>.local from inside the namespace ------------------------------------

start_twin
if [ "$MODE" = namespace ]; then
    name="$HOSTNAME_EXPECTED.local"
    got=$("${RUN[@]}" "$PYTHON" "$HERE/tests/mdns_query.py" zeroconf 192.168.69.1 "$name" 2>"$WORK/mdns.err")
    check "mDNS (python-zeroconf, multicast): $name -> 192.168.69.2" test "$got" = 192.168.69.2
    [ "$got" = 192.168.69.2 ] || sed 's/^/#   /' "$WORK/mdns.err" | tail -5
    got=$("${RUN[@]}" python3 "$HERE/tests/mdns_query.py" oneshot 192.168.69.1 "$name")
    check "mDNS (one-shot query, unicast answer): $name -> 192.168.69.2" test "$got" = 192.168.69.2
    check "mDNS: another name gets no answer" bash -c '! "$@"' _ "${RUN[@]}" python3 "$HERE/tests/mdns_query.py" oneshot 192.168.69.1 "not-$name"
else
    skip "mDNS needs the TAP device (FALLBACK)"
fi

# --- link cut: the TAP device down for a few seconds, then up ---------------------------

CUT=4
if [ "$MODE" = namespace ]; then
    ip netns exec "$NS" ip link set "$TAP" down
    cut_at=$(date +%s.%N)
    sleep "$CUT"
    code=$(http "$R" --digest -u "$USER_NAME:$PASSWORD" "$BASE/api/status")
    check "during the cut the twin is unreachable" test "$code" != 200
    check "the twin logged the lost link" grep -q "link to TAP $TAP lost; rejoining" "$WORK/log"
    ip netns exec "$NS" ip link set "$TAP" up
    back=
    for _ in $(seq 150); do
        grep -q 'back online after' "$WORK/log" && { back=1; break; }
        sleep 0.1
    done
    check "the twin logged that it is back online" test -n "$back"
    code=$(http "$R" --digest -u "$USER_NAME:$PASSWORD" -X POST "$BASE/api/led/toggle")
    took=$(python3 -c "import sys,time; print(f'{time.time() - float(sys.argv[1]):.1f}')" "$cut_at")
    check "after the link came back: curl --digest POST /api/led/toggle -> 200" test "$code" = 200
    echo "# link cut: $TAP down for $CUT s, then up; the twin rejoined and served a Digest login ${took} s after the cut"
    sed -n 's/^.*\(back online after.*\)$/#   twin: \1/p' "$WORK/log" | tail -1
else
    skip "link cut needs the TAP device (FALLBACK)"
fi

# --- password change, restart, factory reset ---------------------------------------------

form() { printf 'password=%s' "$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote_plus(sys.argv[1]))' "$1")"; }
code=$(http "$R" -X POST --data "$(form "$NEW_PASSWORD")" "$BASE/api/password")
check "POST /api/password without credentials -> 401" test "$code" = 401
code=$(http "$R" --digest -u "$USER_NAME:$PASSWORD" -X POST --data "$(form short)" "$BASE/api/password")
check "a too-short new password -> 400 and the reason" bash -c '[ "$1" = 400 ] && grep -q "shorter than 8" "$2"' _ "$code" "$R.b"
code=$(http "$R" --digest -u "$USER_NAME:$PASSWORD" -X POST --data 'pass=x' "$BASE/api/password")
check "no password field -> 400" test "$code" = 400
code=$(http "$R" --digest -u "$USER_NAME:$PASSWORD" -X POST --data "$(form "$NEW_PASSWORD")" "$BASE/api/password")
check "curl --digest POST /api/password (old password) -> 200 changed" bash -c '[ "$1" = 200 ] && grep -q "\"changed\":true" "$2"' _ "$code" "$R.b"
changed_ok() { # the new password works, the old one does not, in every scheme offered
    local code
    code=$(http "$R" --digest -u "$USER_NAME:$NEW_PASSWORD" "$BASE/api/status")
    check "$1: new password, curl --digest (SHA-256) -> 200" test "$code" = 200
    code=$(http "$R" --basic -u "$USER_NAME:$NEW_PASSWORD" "$BASE/api/status")
    check "$1: new password, curl --basic -> 200" test "$code" = 200
    http "$R" "$BASE/api/status" >/dev/null
    local md5ch auth
    md5ch=$(hdr "$R" WWW-Authenticate | grep 'algorithm=MD5' | head -1)
    auth=$(digest_auth GET /api/status "$md5ch" "$USER_NAME" "$NEW_PASSWORD" MD5 00000001)
    code=$(http "$R" -H "Authorization: $auth" "$BASE/api/status")
    check "$1: new password, Digest MD5 -> 200" test "$code" = 200
    code=$(http "$R" --digest -u "$USER_NAME:$PASSWORD" "$BASE/api/status")
    check "$1: old password, curl --digest -> 401" test "$code" = 401
    code=$(http "$R" --basic -u "$USER_NAME:$PASSWORD" "$BASE/api/status")
    check "$1: old password, curl --basic -> 401" test "$code" = 401
}
changed_ok "after the change"
check "the log says the password was changed" grep -q "password changed by $USER_NAME; the new login is in flash" "$WORK/log"
check "the flash file holds no plaintext password" bash -c '! grep -qF "$1" "$2"' _ "$NEW_PASSWORD" "$WORK/flash.bin"

stop_twin
start_twin
changed_ok "after a restart on the same flash"
check "the restarted twin read the changed login from flash" grep -q "login: the password changed on the device (from flash)" "$WORK/log"
stop_twin

factory_reset_ok() { # the build password is back, the changed one is gone
    local code
    code=$(http "$R" --digest -u "$USER_NAME:$PASSWORD" "$BASE/api/status")
    check "$1: the build password -> 200" test "$code" = 200
    code=$(http "$R" --digest -u "$USER_NAME:$NEW_PASSWORD" "$BASE/api/status")
    check "$1: the changed password -> 401" test "$code" = 401
}
# The boards' factory reset: the UF2 that `make uf2` writes, applied to the flash file as the
# boot ROM would write it (the store's sectors, 0xFF).
if [ -n "${FACTORY_RESET_UF2:-}" ]; then
    python3 "$HERE/tests/uf2_check.py" apply pico-w "$FACTORY_RESET_UF2" "$WORK/flash.bin" >/dev/null
    mark=$(wc -l <"$WORK/log")
    start_twin
    factory_reset_ok "after the factory-reset UF2"
    check "the twin booted with the build login" bash -c 'tail -n +$(($1 + 1)) "$2" | grep -q "login: from this image.s build"' _ "$mark" "$WORK/log"
    code=$(http "$R" --digest -u "$USER_NAME:$PASSWORD" -X POST --data "$(form "$NEW_PASSWORD")" "$BASE/api/password")
    check "the password can be changed again after the reset" test "$code" = 200
    stop_twin
else
    skip "the factory-reset UF2 (FACTORY_RESET_UF2 not given)"
fi
# The twin's own switch for the same thing (LoginStore::erase).
start_twin --factory-reset
factory_reset_ok "after --factory-reset"
stop_twin

# --- the log: refusals with their reason, never a secret ---------------------------------

check "refusals are logged with their reason" grep -q '401 for POST /api/led/on: bad credentials' "$WORK/log"
check "a malformed header is logged with its reason" grep -q '^\[ *[0-9.]*\] WARN 400 for GET /api/status: ' "$WORK/log"
check "no password appears in the log" bash -c '! grep -qF -e "$1" -e wrong-password "$2"' _ "$NEW_PASSWORD" "$WORK/log"

if [ "$MODE" = namespace ]; then
    echo "# ran in network namespace $NS (TAP device $TAP, embassy-net)"
else
    echo "# ran on the FALLBACK: picoserve's tokio transport on 127.0.0.1"
fi
if [ "$FAIL" -ne 0 ]; then
    echo "# twin log:"; sed 's/^/#   /' "$WORK/log" | tail -60
fi
echo "$PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" -eq 0 ]
