"""A total deadline for each HTTP exchange, not only per read.

The read timeout of requests applies to each read: an answer dripped a byte at a time never
trips it. Here every exchange (connect, request, status line, headers, body) has a deadline on
the monotonic clock, and one watchdog thread shuts the exchange's sockets down when it passes,
which ends any read still blocked on them. Callers narrow the deadline with `deadline(seconds)`
(the outbox relay keeps each send inside its lease).
"""

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_scope: ContextVar[float | None] = ContextVar("integrations_deadline", default=None)
_current: ContextVar["Exchange | None"] = ContextVar("integrations_exchange", default=None)


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[float]:
    """Every request sent inside the block ends within `seconds` from now, all included."""
    at = time.monotonic() + max(0.0, seconds)
    outer = _scope.get()
    token = _scope.set(at if outer is None else min(outer, at))
    try:
        yield _scope.get()
    finally:
        _scope.reset(token)


def scope_deadline() -> float | None:
    """The monotonic instant set by the innermost `deadline()` block, or None."""
    return _scope.get()


def _shut(sock) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class Exchange:
    """One request and its answer: the sockets it uses are shut down at its deadline."""

    __slots__ = ("deadline", "done", "expired", "_lock", "_sockets")

    def __init__(self, at: float) -> None:
        self.deadline = at
        self.done = False
        self.expired = False
        self._lock = threading.Lock()
        self._sockets: list = []

    def attach(self, sock) -> None:
        with self._lock:
            if not self.expired:
                self._sockets.append(sock)
                return
        _shut(sock)

    def expire(self) -> None:
        with self._lock:
            if self.done:
                return
            self.expired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shut(sock)

    def finish(self) -> None:
        with self._lock:
            self.done = True
            self._sockets = []


class _Watchdog:
    """One thread per process that expires the exchanges still running at their deadline."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        # Also run in a forked child: the parent's thread and lock state do not carry over.
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._heap: list[tuple[float, int, Exchange]] = []
        self._ids = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, exchange: Exchange) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="integrations-deadlines", daemon=True
                )
                self._thread.start()
            heapq.heappush(self._heap, (exchange.deadline, next(self._ids), exchange))
            if self._heap[0][2] is exchange:  # the thread sleeps until an earlier instant
                self._wake.notify()

    def _run(self) -> None:
        with self._lock:
            while True:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._wake.wait()
                    continue
                left = self._heap[0][0] - time.monotonic()
                if left > 0:
                    self._wake.wait(left)
                    continue
                exchange = heapq.heappop(self._heap)[2]
                self._lock.release()
                try:
                    exchange.expire()
                finally:
                    self._lock.acquire()


_watchdog = _Watchdog()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_watchdog._reset)


@contextlib.contextmanager
def exchange(limit: float) -> Iterator[Exchange]:
    """Run one exchange under the watchdog until `limit` (monotonic) or the scope's deadline."""
    outer = _scope.get()
    current = Exchange(limit if outer is None else min(limit, outer))
    token = _current.set(current)
    _watchdog.watch(current)
    try:
        yield current
    finally:
        current.finish()
        _current.reset(token)


def _attach(sock) -> None:
    current = _current.get()
    if current is not None and sock is not None:
        current.attach(sock)


class _Watched:
    """Mixed into urllib3's connections: the socket joins the exchange that uses it."""

    def connect(self) -> None:
        super().connect()
        _attach(self.sock)

    def request(self, *args, **kwargs):
        _attach(self.sock)  # a kept-alive connection: already connected
        return super().request(*args, **kwargs)


class _HTTPConnection(_Watched, HTTPConnection):
    pass


class _HTTPSConnection(_Watched, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class WatchedHTTPAdapter(HTTPAdapter):
    """requests' adapter whose connections join the running exchange."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
