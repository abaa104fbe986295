"""A total deadline for every attempt of a request, however slowly the server answers.

A socket timeout bounds each read, not the whole answer: a server that drips one byte
a second never trips it. ``Deadlines`` is one watchdog thread per load. Each attempt
is armed when urllib3 hands it a connection (``_Armed._make_request``) and disarmed
when its body has been read or the attempt failed; an attempt still armed past its
deadline has its socket shut down, so the blocked read returns at once and the
attempt fails as a timeout.

    worker thread (its own slot and lock)     watchdog thread
    arm(conn): slot = conn, now + timeout      every CHECK of the timeout (at most 1 s):
    ... reads headers and body ...             each slot armed and past its deadline:
    disarm(): slot ends                        shutdown(socket)

Each thread writes only its own slot, under a lock no other worker takes, so arming
costs no contention however many threads run; an attempt is cut at most ``CHECK`` of
the timeout (and never more than a second) after its deadline.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any

from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

__all__ = ["Deadlines", "pool_classes"]

CHECK = 0.1  # the watchdog looks every tenth of the timeout (and at least every second)


class _Slot:
    """One worker thread's current attempt."""

    __slots__ = ("conn", "cut", "deadline", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.conn: Any = None  # None: no attempt under way
        self.deadline = 0.0
        self.cut = False  # the watchdog ended the thread's last attempt


class Deadlines:
    """Arms and disarms attempts per thread; shuts the socket of any that overruns."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._slots: list[_Slot] = []
        self._lock = threading.Lock()
        self._local = threading.local()
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    def arm(self, conn: Any) -> None:
        """Start this thread's attempt on ``conn``: it must end within ``seconds``."""
        slot = self._slot()
        with slot.lock:
            slot.conn, slot.deadline, slot.cut = conn, time.monotonic() + self.seconds, False

    def disarm(self) -> bool:
        """End this thread's attempt; True if the watchdog cut off the thread's last one."""
        slot: _Slot | None = getattr(self._local, "slot", None)
        if slot is None:
            return False
        with slot.lock:
            slot.conn = None
            return slot.cut

    def close(self) -> None:
        """Stop the watchdog thread."""
        self._closed.set()

    def _slot(self) -> _Slot:
        slot: _Slot | None = getattr(self._local, "slot", None)
        if slot is None:
            slot = self._local.slot = _Slot()
            with self._lock:
                self._slots.append(slot)
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._watch, name="cronofy-deadlines", daemon=True
                    )
                    self._thread.start()
        return slot

    def _watch(self) -> None:
        while not self._closed.wait(min(1.0, self.seconds * CHECK)):
            now = time.monotonic()
            with self._lock:
                slots = list(self._slots)
            for slot in slots:
                with slot.lock:
                    if slot.conn is not None and slot.deadline <= now:
                        _cut(slot.conn)
                        slot.conn, slot.cut = None, True


def _cut(conn: Any) -> None:
    sock = getattr(conn, "sock", None)
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
