"""A per-data-center request budget shared by every worker of a load.

Cronofy limits each application (so each data center) to 50 requests per second and
500 per minute by default. ``RateLimiter.acquire`` hands out send slots so that no
one-second or sixty-second window ever holds more than its share, with a small
margin for network jitter. A 429 halves the per-second pace and holds the data center
for ``Retry-After`` (or one second); from then on it wins back a tenth of the full
pace per second, so a data center recovers gradually. Data centers never wait on each other.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["DEFAULT_RATE_LIMIT", "Interrupted", "RateLimit", "RateLimiter", "floor_seconds"]

MARGIN = 0.03  # windows are treated as 3% longer than they are, for network jitter
MIN_PACE = 0.125  # after repeated 429s the pace never drops below 1/8 of the limit
RECOVERY = 0.1  # share of the full pace won back per second once a hold ends


class Interrupted(Exception):
    """The load was stopped while this request waited."""


@dataclass(frozen=True)
class RateLimit:
    """An application's request budget on one data center (Cronofy's documented default)."""

    per_second: int = 50
    per_minute: int = 500

    def __post_init__(self) -> None:
        for name in ("per_second", "per_minute"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"RateLimit {name} must be a positive integer, got {value!r}")


class RateLimiter:
    """Send slots for one data center; thread-safe, interruptible."""

    def __init__(
        self, limit: RateLimit, stop: threading.Event, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self._stop = stop
        self._clock = clock
        self._lock = threading.Lock()
        self._sent: collections.deque[float] = collections.deque()
        self._low = 1.0  # the pace right after the last 429
        self._hold_until = 0.0
        self.waiting = 0
        self.throttled = 0

    def acquire(self) -> float:
        """Block until a request may be sent; the seconds waited. ``Interrupted`` on stop."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                delay = self._delay(now)
                if delay <= 0:
                    self._sent.append(now)
                    return waited
                self.waiting += 1
            try:
                if self._stop.wait(delay):
                    raise Interrupted
            finally:
                with self._lock:
                    self.waiting -= 1
            waited += delay

    def _delay(self, now: float) -> float:
        sent, limit = self._sent, self.limit
        minute = 60.0 * (1 + MARGIN)
        while sent and now - sent[0] >= minute:
            sent.popleft()
        ready = self._hold_until
        if len(sent) >= limit.per_minute:
            ready = max(ready, sent[-limit.per_minute] + minute)
        per_second = max(1, int(limit.per_second * self._pace(now) + 1e-9))
        if len(sent) >= per_second:
            ready = max(ready, sent[-per_second] + 1.0 + MARGIN)
        return ready - now

    def _pace(self, now: float) -> float:
        return min(1.0, self._low + RECOVERY * max(0.0, now - self._hold_until))

    def throttle(self, retry_after: float | None) -> None:
        """A 429 arrived: halve the pace and hold the data center for a while."""
        with self._lock:
            now = self._clock()
            self.throttled += 1
            self._low = max(MIN_PACE, self._pace(now) / 2)
            hold = retry_after if retry_after is not None else 1.0
            self._hold_until = max(self._hold_until, now + hold)


DEFAULT_RATE_LIMIT = RateLimit()


def floor_seconds(requests: int, limit: RateLimit) -> float:
    """The least time ``requests`` sends can take under ``limit`` (first send at 0).

    Each window admits a burst: ``per_second`` sends at once, the next burst a second
    later, until ``per_minute`` have gone; the next one waits for the first to age out.
    """
    if requests <= 0:
        return 0.0
    minutes, rest = divmod(requests - 1, limit.per_minute)
    return 60.0 * minutes + float(rest // limit.per_second)
