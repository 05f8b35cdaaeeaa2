#!/usr/bin/env bash
# An MIT KDC for the tests: unprivileged, on 127.0.0.1, everything in one directory.
#
#   tests/kdc/kdc.sh start DIR    create realm AUTHGATE.TEST in DIR, start `krb5kdc -n` on a
#                                 free port, get alice's ticket; writes DIR/env (sourceable)
#   tests/kdc/kdc.sh stop DIR     stop that KDC (by the pid it wrote)
#
# DIR/env sets KRB5_CONFIG, KRB5_KDC_PROFILE, KRB5_KTNAME (HTTP/localhost's keytab),
# KRB5CCNAME (alice's tickets), KRB5RCACHEDIR and KDC_PORT. Principals: alice (alice-secret),
# bob (bob-secret), HTTP/localhost and HTTP/elsewhere (random keys; only HTTP/localhost is in
# the server's keytab). Needs krb5-kdc, krb5-admin-server and krb5-user (mk/python.mk
# installs them). Takes about a second.
set -euo pipefail

cmd=${1:?usage: kdc.sh start|stop DIR}
dir=${2:?usage: kdc.sh start|stop DIR}
realm=AUTHGATE.TEST
export PATH=/usr/sbin:/sbin:$PATH

stop() {
    if [ -s "$dir/krb5kdc.pid" ]; then
        pid=$(cat "$dir/krb5kdc.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
        rm -f "$dir/krb5kdc.pid"
    fi
}

if [ "$cmd" = stop ]; then
    stop
    exit 0
fi
[ "$cmd" = start ] || { echo "kdc.sh: unknown command $cmd" >&2; exit 2; }

mkdir -p "$dir/rcache"
dir=$(cd "$dir" && pwd)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

cat >"$dir/krb5.conf" <<CONF
[libdefaults]
    default_realm = $realm
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    udp_preference_limit = 1
    ticket_lifetime = 1h
    forwardable = false
    # Seconds of clock skew tolerated (default 300): small, so that a ticket or
    # authenticator a few seconds stale is refused in the expiry tests.
    clockskew = 2
[realms]
    $realm = {
        kdc = 127.0.0.1:$port
    }
[domain_realm]
    localhost = $realm
    127.0.0.1 = $realm
CONF

cat >"$dir/kdc.conf" <<CONF
[kdcdefaults]
    kdc_ports = $port
    kdc_tcp_ports = $port
    kdc_listen = 127.0.0.1:$port
    kdc_tcp_listen = 127.0.0.1:$port
[realms]
    $realm = {
        database_name = $dir/principal
        key_stash_file = $dir/stash
        acl_file = $dir/kadm5.acl
        max_life = 10h
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
    }
[logging]
    kdc = FILE:$dir/kdc.log
CONF
: >"$dir/kadm5.acl"

cat >"$dir/env" <<ENV
export KRB5_CONFIG=$dir/krb5.conf
export KRB5_KDC_PROFILE=$dir/kdc.conf
export KRB5_KTNAME=FILE:$dir/http.keytab
export KRB5CCNAME=FILE:$dir/ccache
export KRB5RCACHEDIR=$dir/rcache
export KDC_PORT=$port
ENV
# shellcheck disable=SC1091
. "$dir/env"

kdb5_util create -s -r "$realm" -P master-secret >"$dir/setup.log" 2>&1
{
    kadmin.local -r "$realm" -q "addprinc -pw alice-secret alice"
    kadmin.local -r "$realm" -q "addprinc -pw bob-secret bob"
    kadmin.local -r "$realm" -q "addprinc -randkey HTTP/localhost"
    kadmin.local -r "$realm" -q "addprinc -randkey HTTP/elsewhere"
    kadmin.local -r "$realm" -q "ktadd -k $dir/http.keytab HTTP/localhost"
    kadmin.local -r "$realm" -q "ktadd -k $dir/elsewhere.keytab HTTP/elsewhere"
} >>"$dir/setup.log" 2>&1

krb5kdc -n -P "$dir/krb5kdc.pid" >>"$dir/kdc.log" 2>&1 &
echo $! >"$dir/krb5kdc.pid"
for _ in $(seq 100); do
    if python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2).close()" 2>/dev/null; then
        break
    fi
    sleep 0.05
done
echo alice-secret | kinit alice >>"$dir/setup.log" 2>&1 || { cat "$dir/setup.log" "$dir/kdc.log" >&2; stop; exit 1; }
echo "kdc: $realm on 127.0.0.1:$port, pid $(cat "$dir/krb5kdc.pid"), env in $dir/env"
