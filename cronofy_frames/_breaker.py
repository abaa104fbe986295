"""A circuit breaker per data center: one that accepts connections and never answers
must not cost a timeout per token.

``TRIP`` attempts in a row that got no answer at all (a connection refused or dropped,
or no answer within the timeout), with no answer from the data center in between and
none for at least a whole timeout (a flaky data center that still answers never trips),
*trip* it: from then on a request into that data center is not retried, and only one
request at a time is sent (a probe). ``PROBES`` more attempts without an answer and the
data center is *dead* for this load: its remaining requests are not sent, each failing
at once as ``connection``. Any answer (even a 503 or a 429) resets it. So the tokens of
a dead data center are accounted for within about three timeouts, whatever their
number, while the other data centers go on at full speed.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

from ._ratelimit import Interrupted

__all__ = ["PROBES", "TRIP", "Breaker"]

TRIP = 3  # attempts in a row without an answer that trip a data center's breaker
PROBES = 1  # further attempts without an answer that make it dead for this load
POLL = 0.1  # seconds between looks at the stop event while waiting to probe


class Breaker:
    """The breaker of one data center (route) for one load; thread-safe."""

    def __init__(self, quiet: float) -> None:
        self._lock = threading.Lock()
        self._probe = threading.Lock()
        self.quiet = quiet  # seconds without any answer before it may trip (the timeout)
        self.failures = 0  # attempts in a row that got no answer
        self.probes_failed = 0
        self.last_answer: float | None = None

    @property
    def tripped(self) -> bool:
        """No answer for ``TRIP`` attempts in a row, and none for ``quiet`` seconds: no
        retries, one request at a time."""
        if self.failures < TRIP:
            return False
        last = self.last_answer
        return last is None or time.monotonic() - last >= self.quiet

    @property
    def dead(self) -> bool:
        """Tripped, and ``PROBES`` more attempts got no answer: send nothing more."""
        return self.probes_failed >= PROBES

    def failed(self) -> None:
        """An attempt got no answer (called for every such attempt)."""
        with self._lock:
            if self.tripped:
                self.probes_failed += 1
            self.failures += 1

    def answered(self) -> None:
        """The data center answered (whatever the status): it is alive."""
        self.last_answer = time.monotonic()
        if self.failures:
            with self._lock:
                self.failures = self.probes_failed = 0

    @contextlib.contextmanager
    def request(self, stop: threading.Event) -> Iterator[bool]:
        """Around one request: yields False when the data center is dead (send nothing);
        once tripped, one request at a time (a probe), waiting for its turn."""
        if self.dead:
            yield False
            return
        if not self.tripped:
            yield True
            return
        while not self._probe.acquire(timeout=POLL):
            if stop.is_set():
                raise Interrupted
            if self.dead:
                yield False
                return
        try:
            yield not self.dead
        finally:
            self._probe.release()
