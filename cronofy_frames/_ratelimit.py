"""A per-data-center request budget shared by every worker of a load.

Cronofy limits each application (so each data center) to 50 requests per second and
500 per minute by default. ``RateLimiter.acquire`` hands out send slots so that no
one-second or sixty-second window on the server can hold more than its share, however
the network delays a request (see ``RateLimiter``). A 429 halves the per-second pace
and holds the data center for ``Retry-After``; from then on it wins back a tenth of the
full pace per second, so a data center recovers gradually. Data centers never wait on
each other.

The limit is the application's, not the load's: every load in the process that talks to
the same data center with the same limit shares one limiter (``shared``), so two loads
at once, or one right after another, stay under it together.

A 429 without ``Retry-After`` may mean the minute window is full, perhaps with requests
of another process: holds without one grow (1, 2, 4, ... 16 s) while the 429s go on, and
``patient`` says to keep trying until the data center has been held back for a whole
minute window (``PATIENCE``), whatever the retry budget.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from . import _config

__all__ = [
    "DEFAULT_RATE_LIMIT",
    "Interrupted",
    "RateLimit",
    "RateLimiter",
    "floor_seconds",
    "shared",
]

JITTER = 0.01  # seconds added to each window for clock granularity
POLL = 0.01  # when the window is full of requests still in flight, look again this soon
MIN_PACE = 0.125  # after repeated 429s the pace never drops below 1/8 of the limit
RECOVERY = 0.1  # share of the full pace won back per second once a hold ends
PATIENCE = 61.0  # seconds a data center is held back by 429s before a request gives up
HOLD_MAX = 16.0  # the longest hold after a 429 without Retry-After


class Interrupted(Exception):
    """The load was stopped while this request waited."""


@dataclass(frozen=True)
class RateLimit:
    """An application's request budget on one data center (Cronofy's documented default)."""

    per_second: int = _config.PER_SECOND
    per_minute: int = _config.PER_MINUTE

    def __post_init__(self) -> None:
        for name in ("per_second", "per_minute"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"RateLimit {name} must be a positive integer, got {value!r}")


class RateLimiter:
    """Send slots for one data center; thread-safe, interruptible, O(1) per request.

    The server counts a request when it arrives, some time between its send and its
    answer. So a request holds its place in every window from its send until a full
    window after its answer came back (``complete``): however late the network or the
    threads deliver it, no window on the server can hold more than the limit. Answers
    come back in time order, so their times form a sorted queue.
    """

    def __init__(
        self,
        limit: RateLimit,
        stop: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self._stop = stop or threading.Event()
        self._clock = clock
        self._lock = threading.Lock()
        self._answered: collections.deque[float] = collections.deque()
        self._in_flight = 0
        self._local = threading.local()
        self._low = 1.0  # the pace right after the last 429
        self._hold_until = 0.0
        self._streak_since: float | None = None  # the first 429 of the current run of them
        self._holds = 0
        self.waiting = 0
        self.throttled = 0

    def acquire(self, stop: threading.Event | None = None) -> float:
        """Block until a request may be sent; the seconds waited. ``Interrupted`` when
        ``stop`` (the load's; by default the limiter's own) is set."""
        stop = stop or self._stop
        self.complete()
        waited = 0.0
        while True:
            with self._lock:
                delay = self._delay(self._clock())
                if delay <= 0:
                    self._in_flight += 1
                    self._local.open = True
                    return waited
                self.waiting += 1
            try:
                if stop.wait(delay):
                    raise Interrupted
            finally:
                with self._lock:
                    self.waiting -= 1
            waited += delay

    def complete(self) -> None:
        """This thread's last request has its answer (or failed): its window starts now."""
        if getattr(self._local, "open", False):
            with self._lock:
                self._in_flight -= 1
                self._answered.append(self._clock())
            self._local.open = False

    def _delay(self, now: float) -> float:
        limit, minute, answered = self.limit, 60.0 + JITTER, self._answered
        while answered and now - answered[0] >= minute:
            answered.popleft()
        ready = self._hold_until
        per_second = max(1, int(limit.per_second * self._pace(now) + 1e-9))
        for count, window in ((limit.per_minute, minute), (per_second, 1.0 + JITTER)):
            if self._in_flight >= count:
                ready = max(ready, now + POLL)  # full of requests not answered yet
            elif len(answered) + self._in_flight >= count:
                ready = max(ready, answered[self._in_flight - count] + window)
        return ready - now

    def _pace(self, now: float) -> float:
        return min(1.0, self._low + RECOVERY * max(0.0, now - self._hold_until))

    def seconds_for(self, requests: int) -> float:
        """The least seconds ``requests`` more sends can take from now, given what this
        limiter's windows already hold (answers still counted, requests in flight, a
        hold after 429s): the count-down a load shows."""
        if requests <= 0:
            return 0.0
        limit, minute = self.limit, 60.0 + JITTER
        with self._lock:
            now = self._clock()
            answered = [t for t in self._answered if now - t < minute]
            held = max(0.0, self._hold_until - now)
            free = max(0, limit.per_minute - len(answered) - self._in_flight)
        if requests <= free:
            return held + float((requests - 1) // limit.per_second)
        rest = requests - free  # each needs an older send to age out of the minute window
        if rest <= len(answered):
            return max(held, answered[rest - 1] + minute - now)
        beyond = floor_seconds(rest - len(answered), limit)
        return max(held, (answered[-1] + minute - now if answered else 0.0) + beyond)

    def throttle(self, retry_after: float | None) -> None:
        """A 429 arrived: halve the pace and hold the data center for ``retry_after``
        seconds, or, without one, for longer the longer the 429s go on."""
        with self._lock:
            now = self._clock()
            self.throttled += 1
            self._low = max(MIN_PACE, self._pace(now) / 2)
            if self._streak_since is None:
                self._streak_since, self._holds = now, 0
            self._holds += 1
            hold = retry_after
            if hold is None:
                hold = min(HOLD_MAX, 2.0 ** (self._holds - 1))
            self._hold_until = max(self._hold_until, now + hold)

    def calm(self) -> None:
        """An answer that is not a 429 arrived: the run of 429s is over."""
        if self._streak_since is not None:
            with self._lock:
                self._streak_since = None

    def patient(self) -> bool:
        """Whether a 429 should be tried again whatever the retry budget: the data
        center has not yet been held back for a whole minute window."""
        with self._lock:
            since = self._streak_since
            return since is not None and self._clock() - since < PATIENCE


DEFAULT_RATE_LIMIT = RateLimit()
_SHARED: dict[tuple[str, RateLimit], RateLimiter] = {}
_SHARED_LOCK = threading.Lock()


def shared(key: str, limit: RateLimit) -> RateLimiter:
    """The process's limiter for one application (``limit``) on one data center (``key``:
    an id, or a sandbox's base URL): every load that talks to it shares it."""
    with _SHARED_LOCK:
        limiter = _SHARED.get((key, limit))
        if limiter is None:
            limiter = _SHARED[(key, limit)] = RateLimiter(limit)
        return limiter


def floor_seconds(requests: int, limit: RateLimit) -> float:
    """The least time ``requests`` sends can take under ``limit`` (first send at 0).

    Each window admits a burst: ``per_second`` sends at once, the next burst a second
    later, until ``per_minute`` have gone; the next one waits for the first to age out.
    """
    if requests <= 0:
        return 0.0
    minutes, rest = divmod(requests - 1, limit.per_minute)
    return 60.0 * minutes + float(rest // limit.per_second)
