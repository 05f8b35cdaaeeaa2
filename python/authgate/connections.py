"""Which TCP connection a WSGI request came on: NTLM and Negotiate authenticate connections.

:func:`connection_id` gives each connection a number that is never reused (a counter, not
the socket's address or file descriptor, which the next connection may get) and calls the
:func:`on_close` callbacks when the server lets the connection go. It knows the servers that
say which connection a request came on:

* waitress (``waitress.client_disconnected`` is a method of the connection's channel), which
  keeps connections alive;
* gunicorn (``gunicorn.socket``): its threaded workers (``--worker-class gthread``, or
  ``--threads N``) keep connections alive; the default sync worker closes every one;
* Werkzeug's development server (``werkzeug.socket``), which closes every connection (it
  sends ``Connection: close`` with every response, threaded or not).

NTLM needs the first two: its handshake takes two requests on one connection. On a server
that closes connections (or does not say which one a request came on), Kerberos still works
in the usual single round, each request on a connection of its own.
"""
from __future__ import annotations

import itertools
import threading
import weakref
from typing import Any, Callable, Dict, Optional

__all__ = ["connection_id", "on_close", "request_id"]

_next = itertools.count(1)
_lock = threading.Lock()
_ids: "weakref.WeakKeyDictionary[Any, int]" = weakref.WeakKeyDictionary()
_closers: "weakref.WeakSet[Any]" = weakref.WeakSet()


def _connection_object(environ: Dict[str, Any]) -> Any:
    sock = environ.get("gunicorn.socket")
    if sock is not None:
        return sock
    disconnected = environ.get("waitress.client_disconnected")
    if disconnected is not None:
        return getattr(disconnected, "__self__", None)
    return environ.get("werkzeug.socket")


def connection_id(environ: Dict[str, Any]) -> Optional[int]:
    """The id of the connection `environ`'s request came on, or ``None`` when the server
    does not say."""
    obj = _connection_object(environ)
    if obj is None:
        return None
    try:
        return _ids[obj]
    except KeyError:
        pass
    except TypeError:  # not weakly referenceable: no way to know when it closes
        return None
    with _lock:
        cid = _ids.get(obj)
        if cid is None:
            cid = next(_next)
            _ids[obj] = cid
            weakref.finalize(obj, _closed, cid)
        return cid


def request_id() -> int:
    """A fresh id, for a request whose connection is unknown: a connection of its own."""
    return next(_next)


class _Closer:
    """Holds a callback weakly registered with :func:`on_close`."""

    __slots__ = ("callback", "__weakref__")

    def __init__(self, callback: Callable[[int], Any]) -> None:
        self.callback = callback


def on_close(owner: Any, callback: Callable[[int], Any]) -> None:
    """Calls ``callback(connection_id)`` when a connection seen by :func:`connection_id`
    is released by its server, for as long as `owner` lives."""
    closer = _Closer(callback)
    # The closer lives as long as its owner does (an attribute of it), no longer.
    owners = getattr(owner, "_authgate_closers", None)
    if owners is None:
        owners = []
        setattr(owner, "_authgate_closers", owners)
    owners.append(closer)
    _closers.add(closer)


def _closed(cid: int) -> None:
    for closer in list(_closers):
        try:
            closer.callback(cid)
        except Exception:  # a finalizer must not raise
            pass
