"""A total deadline for every attempt of a request, however slowly the server answers.

A socket timeout bounds each read, not the whole answer: a server that drips one byte
a second never trips it. ``Deadlines`` is one watchdog thread per load. Each attempt
is armed when urllib3 hands it a connection (``DeadlinePool._make_request``) and
disarmed when its body has been read or the attempt failed; an attempt still armed at
its deadline has its socket shut down, so the blocked read returns at once and the
attempt fails as a timeout.

    worker thread                          watchdog thread
    arm(conn, now + timeout) ─────────────> heap of (deadline, attempt)
    ... reads headers and body ...          waits for the earliest deadline
    disarm()                                past it and still armed: shutdown(socket)
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

__all__ = ["Deadlines", "pool_classes"]


@dataclass(order=True)
class _Attempt:
    deadline: float
    seq: int
    conn: Any = field(compare=False)
    expired: bool = field(default=False, compare=False)
    armed: bool = field(default=True, compare=False)


class Deadlines:
    """Arms and disarms attempts per thread; shuts the socket of any that overruns."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._heap: list[_Attempt] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._local = threading.local()
        self._closed = False
        self._thread: threading.Thread | None = None

    def arm(self, conn: Any) -> None:
        """Start this thread's attempt on ``conn``: it must end within ``seconds``."""
        self.disarm()
        self._local.cut = False
        attempt = _Attempt(time.monotonic() + self.seconds, next(self._seq), conn)
        self._local.attempt = attempt
        with self._cond:
            while self._heap and not self._heap[0].armed:  # ended attempts: dropped here
                heapq.heappop(self._heap)
            first = not self._heap or attempt < self._heap[0]
            heapq.heappush(self._heap, attempt)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watch, name="cronofy-deadlines", daemon=True
                )
                self._thread.start()
            elif first:
                self._cond.notify()

    def disarm(self) -> bool:
        """End this thread's attempt; True if the watchdog cut off the thread's last one."""
        attempt: _Attempt | None = getattr(self._local, "attempt", None)
        if attempt is not None:
            self._local.attempt = None
            with self._cond:  # never while the watchdog is cutting it
                attempt.armed = False
            self._local.cut = attempt.expired
        return bool(getattr(self._local, "cut", False))

    def close(self) -> None:
        """Stop the watchdog thread."""
        with self._cond:
            self._closed = True
            self._heap.clear()
            self._cond.notify()

    def _watch(self) -> None:
        with self._cond:
            while not self._closed:
                now = time.monotonic()
                while self._heap and (self._heap[0].deadline <= now or not self._heap[0].armed):
                    _cut(heapq.heappop(self._heap))
                wait = self._heap[0].deadline - now if self._heap else None
                self._cond.wait(wait)


def _cut(attempt: _Attempt) -> None:
    if not attempt.armed:
        return
    attempt.expired = True
    sock = getattr(attempt.conn, "sock", None)
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class _Armed:
    """Mixed into urllib3's pools: every attempt is armed before it is sent."""

    deadlines: Deadlines

    def _make_request(self, conn: Any, *args: Any, **kw: Any) -> Any:
        self.deadlines.arm(conn)
        return super()._make_request(conn, *args, **kw)  # type: ignore[misc]


def pool_classes(deadlines: Deadlines) -> dict[str, type[HTTPConnectionPool]]:
    """urllib3 pool classes whose every attempt is armed on ``deadlines``."""
    return {
        scheme: type(f"Deadline{base.__name__}", (_Armed, base), {"deadlines": deadlines})
        for scheme, base in (("http", HTTPConnectionPool), ("https", HTTPSConnectionPool))
    }
