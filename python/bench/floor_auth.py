"""The floor of the overhead benchmarks: Flask-HTTPAuth's API with decorators that check nothing.

Basic and Token return the view unchanged, so a "protected" route runs exactly the code of an
open one; Digest challenges a request without an Authorization header (a client needs one
challenge to start) and otherwise calls the view. What such a module measures as overhead is
what no implementation can go below. bench.py uses it as its third library; the team's
overhead_pair.py takes it as a module name:

    PYTHONPATH=python/bench python overhead_pair.py flask_httpauth floor_auth
"""
from __future__ import annotations

from functools import wraps
from typing import Any, Callable

from flask import request


class HTTPBasicAuth:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def verify_password(self, f: Callable) -> Callable:
        return f

    verify_token = get_password = verify_password

    def login_required(self, f: Callable) -> Callable:
        return f


HTTPTokenAuth = HTTPBasicAuth


class HTTPDigestAuth(HTTPBasicAuth):
    def login_required(self, f: Callable) -> Callable:
        @wraps(f)
        def decorated(*args: Any, **kwargs: Any) -> Any:
            if "HTTP_AUTHORIZATION" not in request.environ:
                return "", 401, {"WWW-Authenticate": 'Digest realm="r",nonce="0",opaque="0",qop="auth"'}
            return f(*args, **kwargs)

        return decorated
