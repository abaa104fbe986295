"""HTTP for one load: sessions, rate limits, timeouts, retries and the refresh-on-401 flow.

- One ``requests.Session`` per thread, with an adapter (and its urllib3 ``Retry``) per
  data center, so each data center's retries wait on that data center's limiter.
- Every request, and every retry, first takes a slot from its data center's
  ``RateLimiter``; a 429 throttles that data center.
- Every request has a timeout. GETs are retried by urllib3's ``Retry`` on connection
  errors, read errors, 429, 500, 502, 503 and 504, with exponential backoff and jitter,
  honouring ``Retry-After`` up to ``retry_after_max`` seconds.
- A 401 on a token with a refresh token and its data center's client credentials is
  refreshed once per token per load, whatever the number of threads that see it, and
  the request retried; the new pair goes to ``on_refresh`` at once.

A ``Transport`` belongs to one load: nothing here is module-level state.
"""

from __future__ import annotations

import contextlib
import random
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ._exceptions import RequestFailed
from ._oauth import RefreshRateLimited, exchange_refresh_token
from ._ratelimit import DEFAULT_RATE_LIMIT, Interrupted, RateLimit, RateLimiter
from ._version import __version__
from .credentials import ClientCredentials, Token

USER_AGENT = f"cronofy-frames/{__version__}"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
KIND_BY_STATUS = {
    401: "unauthorized",
    402: "payment_required",
    403: "forbidden",
    404: "not_found",
    423: "locked",
    429: "rate_limited",
}


@dataclass(frozen=True)
class TransportConfig:
    """Timeouts and retry policy, with named defaults."""

    timeout: float = 30.0
    max_workers: int = 8
    retries: int = 4
    backoff_factor: float = 0.5
    backoff_jitter: float = 0.25
    backoff_max: float = 20.0
    retry_after_max: float = 60.0

    def __post_init__(self) -> None:
        if not self.timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {self.timeout!r}")
        if (
            isinstance(self.max_workers, bool)
            or not isinstance(self.max_workers, int)
            or self.max_workers < 1
        ):
            raise ValueError(f"max_workers must be a positive integer, got {self.max_workers!r}")
        if self.retries < 0:
            raise ValueError(f"retries must not be negative, got {self.retries!r}")


class CappedRetry(Retry):
    """urllib3's Retry with Retry-After capped, backoff from the first retry on, and a
    data center's rate limiter: a 429 throttles it, and every retry waits for a slot.
    Its sleeps end early with ``Interrupted`` when the load is stopped."""

    retry_after_cap: float = 60.0
    limiter: RateLimiter | None = None
    stop: threading.Event | None = None

    def new(self, **kw: Any) -> CappedRetry:
        fresh = super().new(**kw)
        fresh.retry_after_cap, fresh.limiter, fresh.stop = (
            self.retry_after_cap,
            self.limiter,
            self.stop,
        )
        return fresh

    def increment(self, *args: Any, **kw: Any) -> CappedRetry:
        response = kw.get("response")
        if self.limiter is not None:
            self.limiter.complete()  # this attempt has its answer (or its error)
            if response is not None and response.status == 429:
                self.limiter.throttle(self.get_retry_after(response))
        return super().increment(*args, **kw)

    def sleep(self, response: urllib3.BaseHTTPResponse | None = None) -> None:
        delay = None
        if response is not None and response.status in self.RETRY_AFTER_STATUS_CODES:
            delay = self.get_retry_after(response)
        delay = self.get_backoff_time() if delay is None else delay
        if self.stop is not None and self.stop.wait(delay):
            raise Interrupted
        if self.limiter is not None:
            self.limiter.acquire()

    def get_retry_after(self, response: urllib3.BaseHTTPResponse) -> float | None:
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, self.retry_after_cap)

    def get_backoff_time(self) -> float:
        errors = len(self.history)
        if errors == 0:
            return 0.0
        delay = min(float(self.backoff_max), self.backoff_factor * 2.0 ** (errors - 1))
        return delay + random.uniform(0, float(self.backoff_jitter))


class TokenState:
    """The live pair of one token during a load, and its one allowed refresh."""

    def __init__(self, token: Token) -> None:
        self.token = token
        self.lock = threading.Lock()
        self.refreshed = False
        self.failure: RequestFailed | None = None


RateLimits = RateLimit | Mapping[str, RateLimit] | None


class Transport:
    """Sessions, rate limiters, retries and refreshes for one load.

    ``rate_limits``: one ``RateLimit`` for every data center, a mapping from
    data-center key to ``RateLimit`` (keys missing from it get the default), or None
    for no client-side limit. ``stop`` ends every wait early with ``Interrupted``.
    """

    def __init__(
        self,
        config: TransportConfig,
        credentials: dict[str, ClientCredentials],
        on_refresh: Callable[[Token], object] | None = None,
        rate_limits: RateLimits = DEFAULT_RATE_LIMIT,
        stop: threading.Event | None = None,
    ) -> None:
        self.config = config
        self.credentials = credentials
        self.on_refresh = on_refresh
        self.rate_limits = rate_limits
        self.stop = stop or threading.Event()
        self._limiters: dict[str, RateLimiter | None] = {}
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def limiter(self, key: str) -> RateLimiter | None:
        """The data center's limiter (shared by every thread), None when unlimited."""
        with self._lock:
            if key not in self._limiters:
                limit = self.rate_limits
                if isinstance(limit, Mapping):
                    limit = limit.get(key, DEFAULT_RATE_LIMIT)
                self._limiters[key] = None if limit is None else RateLimiter(limit, self.stop)
            return self._limiters[key]

    def waiting(self) -> int:
        """How many requests wait for a rate-limit slot right now."""
        with self._lock:
            limiters = [lim for lim in self._limiters.values() if lim is not None]
        return sum(lim.waiting for lim in limiters)

    def session(self, token: Token) -> requests.Session:
        """This thread's session, with an adapter for the token's data center."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = USER_AGENT
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        prefix = token.base_url + "/"
        if prefix not in session.adapters:
            session.mount(prefix, self._adapter(token.data_center))
        return session

    def _adapter(self, key: str) -> HTTPAdapter:
        c = self.config
        retry = CappedRetry(
            total=c.retries,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET"}),
            backoff_factor=c.backoff_factor,
            backoff_max=c.backoff_max,
            backoff_jitter=c.backoff_jitter,
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        retry.retry_after_cap, retry.limiter, retry.stop = (
            c.retry_after_max,
            self.limiter(key),
            self.stop,
        )
        return HTTPAdapter(max_retries=retry, pool_connections=1, pool_maxsize=c.max_workers)

    def close(self) -> None:
        """Close every session this transport opened."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

    def get_json(self, state: TokenState, path: str) -> Any:
        """GET ``path`` for the token, refreshing once on 401; the decoded JSON body."""
        used = state.token
        response = self._get(used, path)
        if response.status_code == 401:
            response.close()
            response = self._get(self._refreshed(state, used, path), path)
        return decode(response, path, attempts(response))

    def _get(self, token: Token, path: str) -> requests.Response:
        headers = {"Authorization": f"Bearer {token.access_token}"}
        try:
            with self._slot(token):
                return self.session(token).get(
                    token.base_url + path, headers=headers, timeout=self.config.timeout
                )
        except requests.RequestException as exc:
            raise transport_failure(exc, f"GET {path}", self.config.retries + 1) from None

    def _refreshed(self, state: TokenState, used: Token, path: str) -> Token:
        with state.lock:
            if state.token is not used:
                return state.token  # another thread refreshed while this one waited
            if state.failure is not None:
                raise state.failure
            state.failure = self._cannot_refresh(state, path)
            if state.failure is not None:
                raise state.failure
            try:
                access, refresh = self._exchange(used)
            except RequestFailed as exc:
                state.failure = exc
                raise
            state.token, state.refreshed = used.with_pair(access, refresh), True
            self._hand_back(state.token)
            return state.token

    def _exchange(self, token: Token) -> tuple[str, str | None]:
        """POST /oauth/token, again after each 429 (at most ``retries`` times)."""
        creds = self.credentials[token.data_center]
        for attempt in range(self.config.retries + 1):
            try:
                with self._slot(token):
                    return exchange_refresh_token(
                        self.session(token), token, creds, self.config.timeout
                    )
            except RefreshRateLimited as limited:
                if attempt == self.config.retries:
                    limited.attempts = attempt + 1
                    raise
                self._throttle(token, limited.retry_after)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _throttle(self, token: Token, retry_after: float | None) -> None:
        limiter = self.limiter(token.data_center)
        if limiter is not None:
            limiter.throttle(retry_after)
        elif self.stop.wait(min(retry_after or 1.0, self.config.retry_after_max)):
            raise Interrupted

    @contextlib.contextmanager
    def _slot(self, token: Token) -> Iterator[None]:
        """A rate-limit slot for one request (and its retries), completed when it ends."""
        limiter = self.limiter(token.data_center)
        if limiter is None:
            if self.stop.is_set():
                raise Interrupted
            yield
            return
        limiter.acquire()
        try:
            yield
        finally:
            limiter.complete()

    def _cannot_refresh(self, state: TokenState, path: str) -> RequestFailed | None:
        token, why = state.token, ""
        if state.refreshed:
            why = "still 401 after a refresh"
        elif not token.refresh_token:
            why = "401 and the token has no refresh token"
        elif token.data_center not in self.credentials:
            dc = token.data_center
            why = f"401 and no client credentials for data center {dc!r} to refresh with"
        return (
            RequestFailed("unauthorized", f"GET {path}: {why}", endpoint=path, status_code=401)
            if why
            else None
        )

    def _hand_back(self, token: Token) -> None:
        if self.on_refresh is None:
            return
        try:
            self.on_refresh(token)
        except Exception as exc:  # a failing callback must not lose the load
            warnings.warn(
                f"on_refresh failed for token {token.label!r}: {type(exc).__name__}",
                RuntimeWarning,
                stacklevel=2,
            )


def attempts(response: requests.Response) -> int:
    """How many attempts urllib3 made to get this response."""
    retries = getattr(response.raw, "retries", None)
    return len(retries.history) + 1 if retries is not None else 1


def transport_failure(exc: requests.RequestException, what: str, tries: int) -> RequestFailed:
    """Classify a requests exception as ``timeout`` or ``connection``, without its text."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    refused = isinstance(reason, urllib3.exceptions.NewConnectionError)  # a ConnectTimeoutError too
    timed_out = not refused and (
        isinstance(exc, requests.Timeout) or isinstance(reason, urllib3.exceptions.TimeoutError)
    )
    kind = "timeout" if timed_out else "connection"
    detail = "no answer within the timeout" if timed_out else "connection failed or was dropped"
    return RequestFailed(
        kind, f"{what}: {detail} ({tries} attempts)", endpoint=what.split(" ")[-1], attempts=tries
    )


def decode(response: requests.Response, path: str, tries: int) -> Any:
    """The JSON body of a 200, or a ``RequestFailed`` whose kind follows the status."""
    status = response.status_code
    if status != 200:
        kind = KIND_BY_STATUS.get(status, "server_error" if status >= 500 else "bad_response")
        raise RequestFailed(
            kind,
            f"GET {path}: HTTP {status} {response.reason or ''}".rstrip(),
            endpoint=path,
            status_code=status,
            attempts=tries,
        )
    try:
        return response.json()
    except ValueError:
        kind = response.headers.get("Content-Type", "no content type")
        raise RequestFailed(
            "bad_response",
            f"GET {path}: the 200 answer is not JSON ({kind}, {len(response.content)} bytes)",
            endpoint=path,
            status_code=200,
            attempts=tries,
        ) from None
