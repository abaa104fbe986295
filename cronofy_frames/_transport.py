"""HTTP for one load: sessions, rate limits, deadlines, retries, and the wire under refreshes.

- One ``requests.Session`` per thread, with an adapter (and its urllib3 ``Retry``) per
  data center, so each data center's retries wait on that data center's limiter.
- Sessions ignore the environment (``trust_env=False``): no ``~/.netrc`` can replace the
  Bearer header. The standard proxy variables are read once per data center and
  passed explicitly with each request.
- Redirects are never followed: a 3xx is an error of its own (``bad_response``).
- Each thread's session and its adapter per data center set up the connection pool as
  requests would (TLS verification, certificate bundle, proxy); requests then go
  straight to that urllib3 pool (``Transport._send``): no cookie jar, hooks or
  per-request merging of ``requests.Session``, which also more than halves the CPU.
- Every attempt has a total deadline of ``timeout`` seconds (``_deadline``), however
  slowly the server drips its answer, and every body a size cap (``_http``).
- Every request, and every retry, first takes a slot from its data center's
  ``RateLimiter``; a 429 throttles that data center.
- GETs are retried by urllib3's ``Retry`` on connection errors, read errors, 429, 500,
  502, 503 and 504, with exponential backoff and jitter, honouring ``Retry-After`` up to
  ``retry_after_max`` seconds.
- A 401 goes to the load's ``Refresher`` (``_oauth``), which owns the refresh rules;
  this module only carries its ``POST /oauth/token``.

A ``Transport`` belongs to one load; the only state it shares with other loads in the
process is each application's rate limiter (``_ratelimit.shared``), on purpose.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.util.retry import Retry

from . import _config
from ._breaker import Breaker
from ._deadline import Deadlines, pool_classes
from ._exceptions import ErrorKind, RequestFailed
from ._http import (
    BodyTooLarge,
    decode_json,
    error_keys,
    phrase,
    read_body,
    retry_after_seconds,
)
from ._oauth import ENDPOINT, Refresher, TokenAnswer, TokenState
from ._ratelimit import (
    DEFAULT_RATE_LIMIT,
    PATIENCE,
    Interrupted,
    RateLimit,
    RateLimiter,
    shared,
)
from ._version import __version__
from .credentials import ClientCredentials, Token

__all__ = [
    "CappedRetry",
    "RateLimits",
    "TokenState",
    "Transport",
    "TransportConfig",
    "is_sandbox",
    "limit_for",
]

USER_AGENT = f"cronofy-frames/{__version__}"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
KIND_BY_STATUS: dict[int, ErrorKind] = {
    401: "unauthorized",
    402: "payment_required",
    403: "forbidden",
    404: "not_found",
    422: "unprocessable",
    423: "locked",
    429: "rate_limited",
}


@dataclass(frozen=True)
class TransportConfig:
    """Timeouts, retry policy and the body cap, with named defaults."""

    timeout: float = _config.TIMEOUT
    max_workers: int = _config.MAX_WORKERS
    retries: int = _config.RETRIES
    backoff_factor: float = _config.BACKOFF_FACTOR
    backoff_jitter: float = _config.BACKOFF_JITTER
    backoff_max: float = _config.BACKOFF_MAX
    retry_after_max: float = _config.RETRY_AFTER_MAX
    max_response_bytes: int = _config.MAX_RESPONSE_BYTES
    max_objects: int = _config.MAX_OBJECTS  # JSON objects in one answer, before decoding

    def __post_init__(self) -> None:
        for name in ("timeout", "retry_after_max"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1e6:
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
        for name, low, what in (
            ("max_workers", 1, "a positive integer"),
            ("retries", 0, "an integer that is not negative"),
            ("max_response_bytes", 1, "a positive integer"),
            ("max_objects", 1, "a positive integer"),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be {what}, got {value!r}")


class CappedRetry(Retry):
    """urllib3's Retry with Retry-After read safely and capped, backoff from the first
    retry on, and a data center's rate limiter: a 429 throttles it, and every retry
    waits for a slot. Its sleeps end early with ``Interrupted`` when the load is
    stopped. Each failed attempt is disarmed on the load's ``Deadlines``."""

    retry_after_cap: float = _config.RETRY_AFTER_MAX
    limiter: RateLimiter | None = None
    stop: threading.Event | None = None
    deadlines: Deadlines | None = None
    first_429: float | None = None  # this request's own: others' successes never reset it
    breaker: Breaker | None = None  # the data center's: no retry into one that never answers

    def new(self, **kw: Any) -> CappedRetry:
        fresh = super().new(**kw)
        fresh.retry_after_cap, fresh.limiter, fresh.stop, fresh.deadlines = (
            self.retry_after_cap,
            self.limiter,
            self.stop,
            self.deadlines,
        )
        fresh.first_429, fresh.breaker = self.first_429, self.breaker
        return fresh

    def increment(self, *args: Any, **kw: Any) -> CappedRetry:
        response = kw.get("response")
        if self.deadlines is not None:
            self.deadlines.disarm()
        limited = response is not None and response.status == 429
        if self.limiter is not None:
            self.limiter.complete()  # this attempt has its answer (or its error)
            if response is not None and limited:
                self.limiter.throttle(self.get_retry_after(response))
            elif response is not None:
                self.limiter.calm()
        base: Retry = self
        if self.breaker is not None and response is None:  # no answer at all
            self.breaker.failed()
            if self.breaker.tripped:
                base = self.new(total=0)  # no retry into a data center that does not answer
        elif self.breaker is not None:
            self.breaker.answered()
        fresh: CappedRetry = Retry.increment(base, *args, **kw)  # type: ignore[assignment]
        if limited and self.limiter is not None:
            now = time.monotonic()
            fresh.first_429 = self.first_429 if self.first_429 is not None else now
            if now - fresh.first_429 < PATIENCE:
                fresh.total = self.total  # within its own minute of 429s: not counted
        return fresh

    def sleep(self, response: urllib3.BaseHTTPResponse | None = None) -> None:
        delay = None
        if response is not None and response.status in self.RETRY_AFTER_STATUS_CODES:
            delay = self.get_retry_after(response)
        delay = self.get_backoff_time() if delay is None else delay
        if self.stop is not None and self.stop.wait(delay):
            raise Interrupted
        if self.limiter is not None:
            self.limiter.acquire(self.stop)

    def get_retry_after(self, response: urllib3.BaseHTTPResponse) -> float | None:
        return retry_after_seconds(response.headers.get("Retry-After"), self.retry_after_cap)

    def get_backoff_time(self) -> float:
        errors = len(self.history)
        if errors == 0:
            return 0.0
        delay = min(float(self.backoff_max), self.backoff_factor * 2.0 ** (errors - 1))
        return delay + random.uniform(0, float(self.backoff_jitter))


class _Adapter(HTTPAdapter):
    """An HTTPAdapter whose connection pools arm every attempt on ``deadlines``."""

    def __init__(self, deadlines: Deadlines, **kw: Any) -> None:
        self._pool_classes = pool_classes(deadlines)
        super().__init__(**kw)

    def init_poolmanager(self, *args: Any, **kw: Any) -> None:
        super().init_poolmanager(*args, **kw)
        self.poolmanager.pool_classes_by_scheme = self._pool_classes

    def proxy_manager_for(self, proxy: str, **kw: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kw)
        manager.pool_classes_by_scheme = self._pool_classes
        return manager


class Route(NamedTuple):
    """One thread's way to one data center: the connection pool (TLS verification,
    certificate bundle and proxy as requests sets them up), the prefix of every URL sent
    on it (the full base URL through an HTTP proxy, else nothing), the retry policy and
    the headers every request carries."""

    pool: HTTPConnectionPool
    prefix: str
    retries: Retry
    headers: dict[str, str]


RateLimits = RateLimit | Mapping[str, RateLimit | None] | None


def limit_for(limits: RateLimits, route: str) -> RateLimit | None:
    """The limit of the data center or sandbox ``route``. A mapping's missing routes get
    Cronofy's documented default. None (for all, or for one route) turns the client-side
    limit off only for a loopback sandbox: a real Cronofy data center (``route`` one of
    the six ids) always keeps at least the documented limit, unless raised with numbers."""
    chosen = limits.get(route, DEFAULT_RATE_LIMIT) if isinstance(limits, Mapping) else limits
    if chosen is None and not is_sandbox(route):
        return DEFAULT_RATE_LIMIT
    return chosen


def is_sandbox(route: str) -> bool:
    """Whether a route is a loopback sandbox's URL (the six data centers' are their ids)."""
    return "://" in route


class Transport:
    """Sessions, rate limiters, deadlines, retries and refreshes for one load.

    ``rate_limits``: one ``RateLimit`` for every data center, a mapping from route to
    ``RateLimit`` or None (routes missing from it get the default), or None: see
    :func:`limit_for` (None is never "no limit" for a real Cronofy data center).
    Limiters are the process's (``_ratelimit.shared``): loads against the same data
    center with the same limit share one. ``stop`` ends every wait early with
    ``Interrupted``.
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
        self.rate_limits = rate_limits
        self.stop = stop or threading.Event()
        self.deadlines = Deadlines(config.timeout)
        self._timeout = urllib3.Timeout(connect=config.timeout, read=config.timeout)
        self.refresher = Refresher(
            credentials, self._post_token, self._throttle, config.retries, on_refresh
        )
        self.verify: bool | str = _ca_bundle()
        self._limiters: dict[str, RateLimiter | None] = {}
        self._breakers: dict[str, Breaker] = {}
        self._proxies: dict[str, dict[str, str]] = {}
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def limiter(self, key: str) -> RateLimiter | None:
        """The data center's limiter (shared by every thread), None when unlimited."""
        if key in self._limiters:  # the common case, without the lock (dict reads are atomic)
            return self._limiters[key]
        with self._lock:
            if key not in self._limiters:
                limit = limit_for(self.rate_limits, key)
                self._limiters[key] = None if limit is None else shared(key, limit)
            return self._limiters[key]

    def seconds_left(self, requests: dict[str, int]) -> float:
        """The least seconds the given requests per route can still take under their
        limiters' budgets right now (routes run side by side: the slowest one)."""
        seconds = [
            limiter.seconds_for(n)
            for route, n in requests.items()
            if n and (limiter := self.limiter(route)) is not None
        ]
        return max(seconds, default=0.0)

    def waiting(self) -> int:
        """How many requests wait for a rate-limit slot right now."""
        with self._lock:
            limiters = [lim for lim in self._limiters.values() if lim is not None]
        return sum(lim.waiting for lim in limiters)

    def proxies(self, token: Token) -> dict[str, str]:
        """The proxy for the token's data center, from the standard variables (``HTTPS_PROXY``,
        ``NO_PROXY``, ...), read once per data center."""
        with self._lock:
            if token.route not in self._proxies:
                found = requests.utils.get_environ_proxies(token.api_url)
                self._proxies[token.route] = {
                    k: v for k, v in found.items() if k in ("http", "https", "all")
                }
            return self._proxies[token.route]

    def session(self, token: Token) -> requests.Session:
        """This thread's session, with an adapter for the token's data center."""
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # no ~/.netrc, no per-request environment lookups
            session.verify = self.verify
            session.headers["User-Agent"] = USER_AGENT
            for implied in ("Connection", "Accept"):  # keep-alive and */* are HTTP/1.1's own
                session.headers.pop(implied, None)
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        prefix = token.api_url + "/"
        if prefix not in session.adapters:
            session.mount(prefix, self._adapter(token.route))
        return session

    def _adapter(self, key: str) -> HTTPAdapter:
        c = self.config
        retry = CappedRetry(
            total=c.retries,
            redirect=0,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET"}),
            backoff_factor=c.backoff_factor,
            backoff_max=c.backoff_max,
            backoff_jitter=c.backoff_jitter,
            respect_retry_after_header=True,
            raise_on_status=False,
            raise_on_redirect=False,
        )
        retry.retry_after_cap, retry.limiter, retry.stop, retry.deadlines = (
            c.retry_after_max,
            self.limiter(key),
            self.stop,
            self.deadlines,
        )
        retry.breaker = self.breaker(key)
        return _Adapter(
            self.deadlines, max_retries=retry, pool_connections=1, pool_maxsize=c.max_workers
        )

    def close(self) -> None:
        """Close every session this transport opened, and the deadline watchdog."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
        self.deadlines.close()

    def get_json(self, state: TokenState, path: str) -> Any:
        """GET ``path`` for the token, refreshing once on 401; the decoded JSON body."""
        used = state.token
        status, tries, body = self._get(used, path)
        if status == 401:
            used = self.refresher.refreshed(state, used, path)
            status, tries, body = self._get(used, path)
        if status == 200 and body.count(b"{") > self.config.max_objects:  # before decoding
            raise RequestFailed(
                "bad_response",
                f"GET {path}: more than {self.config.max_objects:,} JSON objects in one "
                "answer (max_objects)",
                endpoint=path,
                status_code=200,
                attempts=tries,
            )
        return decode(status, body, path, tries, (used.access_token, used.refresh_token or ""))

    def breaker(self, route: str) -> Breaker:
        """The data center's circuit breaker for this load (see ``_breaker``)."""
        with self._lock:
            if route not in self._breakers:
                self._breakers[route] = Breaker(quiet=self.config.timeout)
            return self._breakers[route]

    def _get(self, token: Token, path: str) -> tuple[int, int, bytes]:
        """(status, attempts, body) of one GET with its retries; nothing is sent into a
        data center whose breaker says it is dead."""
        breaker = self.breaker(token.route)
        with breaker.request(self.stop) as send:
            if not send:
                raise RequestFailed(
                    "connection",
                    f"GET {path}: not sent: {token.data_center} answered none of the last "
                    f"{breaker.failures} attempts (its circuit is open for this load)",
                    endpoint=path,
                    attempts=0,
                )
            return self._get_now(token, path)

    def _get_now(self, token: Token, path: str) -> tuple[int, int, bytes]:
        with self._slot(token), self._attempt(f"GET {path}", path, self.config.retries + 1):
            response = self._send(token, "GET", path, f"Bearer {token.access_token}")
            self.breaker(token.route).answered()
            limiter = self.limiter(token.route)
            if limiter is not None and response.status != 429:
                limiter.calm()
            return response.status, attempts(response), self._body(response)

    def _post_token(self, token: Token, body: dict[str, str]) -> TokenAnswer:
        """One POST /oauth/token (never redirected, never retried here)."""
        with self._slot(token), self._attempt(f"POST {ENDPOINT}", ENDPOINT, 1, "refresh_failed"):
            response = self._send(token, "POST", ENDPOINT, None, json.dumps(body).encode())
            retry_after = retry_after_seconds(
                response.headers.get("Retry-After"), self.config.retry_after_max
            )
            payload = decode_json(self._body(response))
            return TokenAnswer(response.status, retry_after, payload)

    def _send(
        self, token: Token, method: str, path: str, bearer: str | None, body: bytes | None = None
    ) -> urllib3.BaseHTTPResponse:
        """One request (and its retries) on this thread's connection pool for the token's
        data center, built from parts this module made: the URL from the parsed data
        center, the session's headers and the Authorization or JSON body. No cookie jar,
        hooks, environment or redirect machinery is involved."""
        route = self._route(token)
        headers = dict(route.headers)
        if bearer is not None:
            headers["Authorization"] = bearer
        if body is not None:
            headers["Content-Type"] = "application/json"
        return route.pool.urlopen(
            method,
            route.prefix + path,
            body=body,
            headers=headers,
            retries=route.retries,
            redirect=False,
            assert_same_host=False,
            preload_content=False,
            decode_content=False,
            timeout=self._timeout,
        )

    def _route(self, token: Token) -> Route:
        """This thread's way to the token's data center, set up once by the session's
        adapter exactly as requests would (see ``Route``)."""
        routes: dict[str, Route] = self._local.__dict__.setdefault("routes", {})
        route = routes.get(token.route)
        if route is None:
            probe = requests.PreparedRequest()
            probe.prepare(method="GET", url=token.api_url + "/")
            adapter = self.session(token).get_adapter(token.api_url + "/")
            assert isinstance(adapter, HTTPAdapter)  # mounted by session()
            proxies = self.proxies(token)
            pool = cast(
                HTTPConnectionPool,
                adapter.get_connection_with_tls_context(probe, self.verify, proxies),
            )
            adapter.cert_verify(pool, token.api_url + "/", self.verify, None)  # type: ignore[no-untyped-call]
            prefix = "" if adapter.request_url(probe, proxies) == "/" else token.api_url
            headers = {str(k): str(v) for k, v in self.session(token).headers.items()}
            route = routes[token.route] = Route(pool, prefix, adapter.max_retries, headers)
        return route

    def _body(self, response: urllib3.BaseHTTPResponse) -> bytes:
        try:
            return read_body(response, self.config.max_response_bytes)
        finally:
            self.deadlines.disarm()

    @contextlib.contextmanager
    def _attempt(
        self, what: str, endpoint: str, tries: int, kind: ErrorKind | None = None
    ) -> Iterator[None]:
        """Turn whatever the wire does into one ``RequestFailed``, never a secret."""
        try:
            yield
        except BodyTooLarge as exc:
            raise RequestFailed(
                kind or "bad_response", f"{what}: {exc}", endpoint=endpoint, attempts=tries
            ) from None
        except (
            requests.RequestException,
            urllib3.exceptions.HTTPError,
            http.client.HTTPException,
            OSError,
        ) as exc:
            cut = self.deadlines.disarm()
            raise transport_failure(exc, what, tries, cut, kind) from None

    def _throttle(self, token: Token, retry_after: float | None) -> bool:
        """After a 429 on the token endpoint: hold the data center (its next slot waits),
        or without a limiter wait here; whether to try again whatever the retry budget."""
        limiter = self.limiter(token.route)
        if limiter is not None:
            limiter.throttle(retry_after)
            return limiter.patient()
        if self.stop.wait(min(retry_after or 1.0, self.config.retry_after_max)):
            raise Interrupted
        return False

    @contextlib.contextmanager
    def _slot(self, token: Token) -> Iterator[None]:
        """A rate-limit slot for one request (and its retries), completed when it ends."""
        limiter = self.limiter(token.route)
        if limiter is None:
            if self.stop.is_set():
                raise Interrupted
            yield
            return
        limiter.acquire(self.stop)
        try:
            yield
        finally:
            limiter.complete()


def _ca_bundle() -> bool | str:
    """``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE``, read once, as requests would."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True


def attempts(response: urllib3.BaseHTTPResponse) -> int:
    """How many attempts urllib3 made to get this response."""
    retries = getattr(response, "retries", None)
    return len(retries.history) + 1 if retries is not None else 1


def transport_failure(
    exc: BaseException, what: str, tries: int, cut: bool = False, kind: ErrorKind | None = None
) -> RequestFailed:
    """Classify a failure on the wire as ``timeout`` or ``connection``, without its text.

    ``cut``: the deadline watchdog ended the last attempt (a timeout, whatever error the
    cut socket raised). ``kind`` overrides the kind (``refresh_failed`` for the token
    endpoint) but not the detail.
    """
    reason = getattr(exc, "reason", None) or (
        getattr(exc.args[0], "reason", None) if exc.args else None
    )
    refused = isinstance(reason, urllib3.exceptions.NewConnectionError)  # a ConnectTimeoutError too
    timed_out = cut or (
        not refused
        and (
            isinstance(exc, requests.Timeout | urllib3.exceptions.TimeoutError)
            or isinstance(reason, urllib3.exceptions.TimeoutError)
        )
    )
    detail = "no answer within the timeout" if timed_out else "connection failed or was dropped"
    return RequestFailed(
        kind or ("timeout" if timed_out else "connection"),
        f"{what}: {detail} ({tries} attempts)" if tries > 1 else f"{what}: {detail}",
        endpoint=what.split(" ")[-1],
        attempts=tries,
    )


def _detail(status: int, body: bytes, secrets: tuple[str, ...]) -> str:
    if 300 <= status < 400:
        return " (not followed)"
    if status == 422:
        keys = error_keys(decode_json(body), secrets)
        return f" ({'; '.join(keys)})" if keys else ""
    return ""


def decode(status: int, body: bytes, path: str, tries: int, secrets: tuple[str, ...] = ()) -> Any:
    """The JSON body of a 200, or a ``RequestFailed`` whose kind follows the status
    (a 3xx, never followed, is ``bad_response``; a 422 names its field keys)."""
    if status != 200:
        kind = KIND_BY_STATUS.get(status, "server_error" if status >= 500 else "bad_response")
        raise RequestFailed(
            kind,
            f"GET {path}: HTTP {status} {phrase(status)}".rstrip() + _detail(status, body, secrets),
            endpoint=path,
            status_code=status,
            attempts=tries,
        )
    payload = decode_json(body)
    if payload is None:
        raise RequestFailed(
            "bad_response",
            f"GET {path}: the 200 answer is not JSON ({len(body)} bytes)",
            endpoint=path,
            status_code=200,
            attempts=tries,
        )
    return payload
