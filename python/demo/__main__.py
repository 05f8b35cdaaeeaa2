"""``python -m demo``: serve the home-automation demo on 127.0.0.1."""
from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import secrets
import socket
import sys

from werkzeug.serving import make_server

from .homeauto import create_app, load_users


class _Waitress:
    """waitress behind the two calls main() makes of Werkzeug's server."""

    def __init__(self, server):
        self.server = server
        self.server_port = server.effective_port

    def serve_forever(self):
        self.server.run()


def serve(app, host, port, ssl_context):
    """waitress, which keeps connections alive (NTLM needs that: Werkzeug's development
    server closes every connection), unless serving HTTPS, which waitress does not do."""
    if ssl_context is None:
        try:
            from waitress import create_server
        except ImportError:
            pass
        else:
            try:
                return _Waitress(create_server(app, host=host, port=port, threads=8))
            except OSError:
                if port == 0:
                    raise
                return _Waitress(create_server(app, host=host, port=0, threads=8))
    try:
        return make_server(host, port, app, threaded=True, ssl_context=ssl_context)
    except OSError:
        if port == 0:
            raise
        return make_server(host, 0, app, threaded=True, ssl_context=ssl_context)


def host_names(bind: str, extra: list) -> list:
    """The names the demo answers to (its Host list against DNS rebinding): localhost, this
    machine's name and its mDNS name, the bound name, and ``--allow-host``; IP addresses pass
    anyway (a rebinding attack needs a name)."""
    names = ["localhost"]
    host = socket.gethostname()
    if host and "." not in host:
        names += [host, host + ".local"]
    elif host:
        names.append(host)
    try:
        ipaddress.ip_address(bind)
    except ValueError:
        names.append(bind)
    names += extra
    return list(dict.fromkeys(n for n in names if n))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m demo", description="authgate home-automation demo")
    p.add_argument("--user", action="append", default=[], help="user name (repeatable, pairs with --password)")
    p.add_argument("--password", action="append", default=[], help="password for the --user at the same position")
    p.add_argument("--users-file", help="file of user:password lines")
    p.add_argument("--htpasswd", help="Apache htpasswd file (any format htpasswd writes): Basic for its users")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080, help="0 picks a free port (default 8080, or a free one if busy)")
    p.add_argument("--cert", help="TLS certificate (PEM): serve HTTPS")
    p.add_argument("--key", help="TLS private key (PEM)")
    p.add_argument("--redis", help="redis:// URL: share nonce counts (and the light) across processes")
    p.add_argument("--realm", default="authgate demo")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="a name the demo is reached by (repeatable); others get 421 (DNS rebinding). "
                        "Always served: localhost, this machine's name and NAME.local, any IP address")
    p.add_argument("--any-host", action="store_true", help="serve any Host name (no 421)")
    p.add_argument("--allow-origin", action="append", default=[], metavar="ORIGIN",
                   help="another origin (scheme://host[:port]) whose pages may switch the light (repeatable)")
    p.add_argument("--allow-cross-origin", action="store_true",
                   help="turn the cross-site check off (shows the attack it stops; not for real use)")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    if a.htpasswd and (a.user or a.users_file):
        p.error("--htpasswd replaces --user and --users-file")
    if a.users_file and not os.path.isfile(a.users_file):
        p.error(f"--users-file {a.users_file}: no such file (relative paths are taken from {os.getcwd()})")
    users = {}
    if a.users_file:
        users.update(load_users(a.users_file))
    if len(a.password) > len(a.user):
        p.error("--password without --user")
    for i, name in enumerate(a.user):
        users[name] = a.password[i] if i < len(a.password) else secrets.token_urlsafe(9)
    if not users and not a.htpasswd:
        users["admin"] = secrets.token_urlsafe(9)
    if bool(a.cert) != bool(a.key):
        p.error("--cert and --key go together")
    for option, path in (("--cert", a.cert), ("--key", a.key)):
        if path and not os.path.isfile(path):
            p.error(f"{option} {path}: no such file (relative paths are taken from {os.getcwd()})")

    htpasswd = os.path.abspath(a.htpasswd) if a.htpasswd else None
    hosts = [] if a.any_host else host_names(a.host, a.allow_host)
    origin = {"check_origin": not a.allow_cross_origin, "allow_origins": a.allow_origin, "allow_hosts": hosts,
              "allow_any_address": True}
    try:
        app = create_app(users=users, secret_key=os.environ.get("AUTHGATE_DEMO_SECRET"), redis_url=a.redis,
                         realm=a.realm, htpasswd=htpasswd, origin=origin)
    except (ValueError, OSError) as e:
        p.error(str(e))
    ssl_context = (a.cert, a.key) if a.cert else None
    server = serve(app, a.host, a.port, ssl_context)
    scheme = "https" if ssl_context else "http"
    url = f"{scheme}://{a.host}:{server.server_port}/"
    insecure = " -k" if ssl_context else ""
    if htpasswd:
        from authgate import HtpasswdFile

        names = HtpasswdFile(htpasswd).users()
        print(f"authgate demo: {url}  (users of {a.htpasswd}: {', '.join(names)})")
        print(f"  page:  open {url} and sign in (Basic)")
        print(f"  try:   curl{insecure} -u {names[0] if names else 'USER'}:PASSWORD {url}api/secret")
    else:
        name, password = next(iter(users.items()))
        print(f"authgate demo: {url}  (users: {', '.join(users)})")
        print(f"  page:  open {url} and sign in as {name} with password {password}")
        print(f"  try:   curl{insecure} --digest -u {name}:{password} {url}api/secret")
        print(f"         curl{insecure} --digest -u {name}:{password} -H 'Content-Type: application/json' -d '{{\"on\": true}}' {url}api/light")
        if not ssl_context:
            print(f"         curl --ntlm -u {name}:{password} {url}windows")
    print(f"  names: {', '.join(hosts) + ' and any IP address' if hosts else 'any Host'}"
          f"{'' if a.any_host else ' (--allow-host NAME for more)'}; "
          f"other sites' pages: {'NOT refused (--allow-cross-origin)' if a.allow_cross_origin else 'refused (403)'}")
    print("  Ctrl-C to stop", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
