"""The refresh-on-401 flow of one load: ``POST {api host}/oauth/token``, and its four rules.

1. **One refresh per token**, however many threads see its 401: ``TokenState.lock``.
2. **Never retried, except after a 429**, which the server sends before doing anything:
   after any other failure a repeated exchange could spend a rotated refresh token.
   429s are retried ``retries`` times, and for as long as the data center's limiter is
   ``patient`` (not yet held back for a whole minute window).
3. **Finished before the load returns**: ``Refresher.drain`` waits (bounded by the
   request timeout, and through a second Ctrl-C) for every exchange in flight.
4. **Handed back at once**: the new pair goes to ``TokenState.token`` and ``on_refresh``
   before anything else happens, even when the answer is malformed but carries a
   usable refresh token (the server may already have rotated to it).
5. **No refresh that cannot be kept**: once ``on_refresh`` fails (the refreshed-pairs
   file could not be appended: a full disk), no further token is refreshed in this
   load; a token that would need one raises ``NotRefreshed`` and stays unfinished (a
   rerun with ``--resume`` takes it up), while tokens that need no refresh go on.

Failures are ``refresh_failed`` with a message that names a known OAuth error code at
most: never the client secret, either token, or any other text of the answer (an
echoing proxy could put a secret there; pycronofy's issue #109 printed it).
"""

from __future__ import annotations

import contextlib
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ._exceptions import PairNotSaved, RequestFailed
from ._http import phrase
from .credentials import ClientCredentials, Token, header_safe

__all__ = [
    "ENDPOINT",
    "KeptRefresh",
    "NotRefreshed",
    "Refresher",
    "TokenAnswer",
    "TokenState",
]

ENDPOINT = "/oauth/token"
OAUTH_ERRORS = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
    }
)


class TokenState:
    """The live pair of one token during a load, and its one allowed refresh."""

    __slots__ = ("failure", "finished", "lock", "refreshed", "token")

    def __init__(self, token: Token) -> None:
        self.token = token
        self.lock = threading.Lock()
        self.refreshed = False
        self.failure: RequestFailed | None = None
        self.finished = False  # its result was collected (set by the fan-out)


@dataclass(frozen=True)
class TokenAnswer:
    """What the token endpoint answered: status, ``Retry-After`` (already capped) and the
    decoded JSON body (None when it was not JSON)."""

    status: int
    retry_after: float | None
    payload: object


Post = Callable[[Token, dict[str, str]], TokenAnswer]  # raises RequestFailed on no answer
Throttle = Callable[[Token, float | None], bool]  # after a 429: whether to be patient


class NotRefreshed(Exception):  # a signal to the fan-out, not an error row
    """The token needs a refresh, and this load stopped refreshing (rule 5)."""


class Refresher:
    """Refreshes tokens for one load under the five rules above."""

    def __init__(
        self,
        credentials: dict[str, ClientCredentials],
        post: Post,
        throttle: Throttle,
        retries: int,
        on_refresh: Callable[[Token], object] | None = None,
    ) -> None:
        self.credentials = credentials
        self.post = post
        self.throttle = throttle
        self.retries = retries
        self.on_refresh = on_refresh
        self.halted = False  # on_refresh failed: no further refresh (rule 5)
        self._busy = 0
        self._idle = threading.Condition()

    def refreshed(self, state: TokenState, used: Token, path: str) -> Token:
        """The token to retry with after ``used`` got a 401 on ``path``; RequestFailed
        (``unauthorized`` or ``refresh_failed``) when there is none."""
        with state.lock:
            if state.token is not used:
                return state.token  # another thread refreshed while this one waited
            if state.failure is None:
                state.failure = self._cannot_refresh(state, path)
            if state.failure is not None:
                raise state.failure
            if self.halted:
                raise NotRefreshed
            with self._in_flight():
                try:
                    state.token = self._exchange(used)
                except KeptRefresh as kept:
                    state.token, state.failure = kept.token, kept
                    raise
                except RequestFailed as exc:
                    state.failure = exc
                    raise
                finally:
                    if state.token is not used:
                        state.refreshed = True
                        self._hand_back(state.token)
            return state.token

    def drain(self, timeout: float) -> None:
        """Wait until no exchange is in flight, at most ``timeout`` seconds; a Ctrl-C
        during the wait does not cut it short (a rotated refresh token is at stake)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._busy and (left := deadline - time.monotonic()) > 0:
                with contextlib.suppress(KeyboardInterrupt):
                    self._idle.wait(min(left, 0.1))

    @contextlib.contextmanager
    def _in_flight(self) -> Iterator[None]:
        with self._idle:
            self._busy += 1
        try:
            yield
        finally:
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()

    def _exchange(self, token: Token) -> Token:
        """POST /oauth/token, again after each 429 (at most ``retries`` times).

        A malformed answer that still carries a usable refresh token is kept: the old
        access token with the new refresh token is handed back, and ``refresh_failed``
        raised with the new pair already in place (see ``Refresher.refreshed``).
        """
        creds = self.credentials[token.route]
        body = {
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
            "grant_type": "refresh_token",
            "refresh_token": token.refresh_token or "",
        }
        attempt = 0
        while True:
            attempt += 1
            answer = self.post(token, body)
            if answer.status != 429:
                return _new_token(token, answer, attempt)
            patient = self.throttle(token, answer.retry_after)
            if attempt > self.retries and not patient:
                raise RequestFailed(
                    "rate_limited",
                    f"POST {ENDPOINT}: HTTP 429 Too Many Requests",
                    endpoint=ENDPOINT,
                    status_code=429,
                    attempts=attempt,
                )

    def _cannot_refresh(self, state: TokenState, path: str) -> RequestFailed | None:
        token, why = state.token, ""
        if state.refreshed:
            why = "still 401 after a refresh"
        elif not token.refresh_token:
            why = "401 and the token has no refresh token"
        elif token.route not in self.credentials:
            dc = token.route
            why = f"401 and no client credentials for data center {dc!r} to refresh with"
        return (
            RequestFailed("unauthorized", f"GET {path}: {why}", endpoint=path, status_code=401)
            if why
            else None
        )

    def _hand_back(self, token: Token) -> None:
        """Give the new pair to ``on_refresh``; if that fails, the pair stays in memory
        (``TokenState.token``) and no further token is refreshed (rule 5)."""
        if self.on_refresh is None:
            return
        try:
            self.on_refresh(token)
        except Exception as exc:  # a failing callback must not lose the load
            self.halted = True
            why = str(exc) if isinstance(exc, PairNotSaved) else type(exc).__name__
            warnings.warn(
                f"on_refresh failed for token {token.label!r}: {why}; no further token is "
                "refreshed in this load (tokens that need a refresh stay unfinished)",
                RuntimeWarning,
                stacklevel=2,
            )


def _new_token(token: Token, answer: TokenAnswer, attempts: int) -> Token:
    """The refreshed token from a non-429 answer. A malformed answer raises
    ``refresh_failed``; if it still carries a usable refresh token, as ``KeptRefresh``
    holding the old access token with that new refresh token."""
    if 300 <= answer.status < 400:
        raise RequestFailed(
            "bad_response",
            f"POST {ENDPOINT}: HTTP {answer.status} {phrase(answer.status)} (not followed)",
            endpoint=ENDPOINT,
            status_code=answer.status,
            attempts=attempts,
        )
    if answer.status != 200:
        raise _failed(_why(answer), answer.status, attempts)
    payload = answer.payload if isinstance(answer.payload, dict) else {}
    access, refresh = payload.get("access_token"), payload.get("refresh_token") or None
    fresh = _pair(token, access, refresh)
    if fresh is not None:
        return fresh
    why = _what_is_wrong(access, refresh, answer.payload)
    kept = _pair(token, token.access_token, refresh)
    if refresh is not None and kept is not None:
        raise KeptRefresh(kept, _failed(f"{why}; its new refresh token was kept", 200, attempts))
    raise _failed(why, 200, attempts)


def _pair(token: Token, access: object, refresh: object) -> Token | None:
    """``token`` with the new pair, or None when either cannot be a token."""
    if not usable(access) or not (refresh is None or usable(refresh)):
        return None
    try:
        return token.with_pair(str(access), None if refresh is None else str(refresh))
    except ValueError:
        return None


class KeptRefresh(RequestFailed):
    """A failed refresh whose answer rotated the refresh token: ``token`` keeps it."""

    def __init__(self, token: Token, failure: RequestFailed) -> None:
        super().__init__(
            failure.kind,
            failure.message,
            endpoint=failure.endpoint,
            status_code=failure.status_code,
            attempts=failure.attempts,
        )
        self.token = token


def usable(value: object) -> bool:
    """Whether a token from the answer can be stored and sent in an HTTP header."""
    return isinstance(value, str) and 0 < len(value) <= 4096 and header_safe(value)


def _what_is_wrong(access: object, refresh: object, payload: object) -> str:
    if not isinstance(payload, dict):
        return "the answer is not the documented JSON"
    if access is None:
        return "the answer holds no access token"
    if not usable(access):
        return "the answer's access token is not usable (not printable ASCII without spaces)"
    return "the answer's refresh token is not usable (not printable ASCII without spaces)"


def _why(answer: TokenAnswer) -> str:
    payload = answer.payload if isinstance(answer.payload, dict) else {}
    error = payload.get("error")
    code = error if isinstance(error, str) and error in OAUTH_ERRORS else ""
    if answer.status == 400:
        return (
            f"the refresh token was refused ({code or 'HTTP 400'}): a new authorization is needed"
        )
    if answer.status == 401:
        return f"the data center's client credentials were refused ({code or 'HTTP 401'})"
    named = f" ({code})" if code else ""
    return f"HTTP {answer.status} {phrase(answer.status)}".rstrip() + named


def _failed(why: str, status: int | None, attempts: int = 1) -> RequestFailed:
    return RequestFailed(
        "refresh_failed",
        f"POST {ENDPOINT}: {why}",
        endpoint=ENDPOINT,
        status_code=status,
        attempts=attempts,
    )
