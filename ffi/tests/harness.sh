# What the curl test scripts share (sourced): TMP, PIDS (servers started, stopped by pid),
# the ok / not_ok counters, and fetch / code / sent_authorization over curl -v.
TMP=$(mktemp -d)
PIDS=()
passed=0
failed=0

# Stops the servers the script started, by pid.
stop_servers() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
}

ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() {
    failed=$((failed + 1))
    echo "not ok - $1"
    shift
    local f
    for f in "$@"; do [ -f "$f" ] && sed 's/^/    | /' "$f"; done
}

# fetch NAME CURL-ARGS...: status code into $TMP/NAME.code, response headers into
# NAME.headers, the body into NAME.body, curl -v output (with the request headers it sent)
# into NAME.trace.
fetch() {
    local name=$1
    shift
    curl -s -S -v --max-time 10 -o "$TMP/$name.body" -D "$TMP/$name.headers" -w '%{http_code}' \
        "$@" >"$TMP/$name.code" 2>"$TMP/$name.trace"
}
code() { cat "$TMP/$1.code"; }

# The last Authorization header curl sent, from its -v output.
sent_authorization() {
    sed -n 's/^> Authorization: //p' "$TMP/$1.trace" | tail -n 1 | tr -d '\r'
}
