"""Running one token's requests, and fanning out over many tokens by data center.

Each data center is a lane with its own threads (one at first, growing to
``max_workers`` while answers are slow), so a data center that waits on its rate
limit, or fails, never holds up another, and each thread keeps one connection to one
data center. Results stream
back in the order they finish; ``KeyboardInterrupt`` stops the run within a couple of
seconds and leaves the unfinished tokens listed.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Literal

from ._endpoints import (
    AccountRecord,
    AccountRow,
    CalendarRecord,
    ConferencingRecord,
    ErrorRecord,
    JsonGetter,
    ProfileRecord,
    ProfileRow,
    RowLimits,
    Stamp,
    fetch_account,
    fetch_profiles,
    fetch_userinfo,
)
from ._exceptions import ErrorKind, RequestFailed
from ._oauth import NotRefreshed, TokenState
from ._ratelimit import Interrupted
from .vocabulary import access_mode, shorthands

Endpoints = Literal["auto", "documented"]
FATAL_KINDS = frozenset({"unauthorized", "refresh_failed"})  # the next endpoint would fail too
# userinfo answers about the application (402: the plan; 404: no such endpoint here):
# its data center falls back to the documented endpoints for every later token
NO_USERINFO = frozenset({"payment_required", "not_found"})
# ... and about one token (403: a scope it lacks): that token alone falls back
NOT_FOR_THIS_TOKEN = frozenset({"forbidden"})
POLL_SECONDS = 0.25  # how often the progress bar and an interrupt are looked at
GRACE_SECONDS = 1.0  # after an interrupt, how long requests in flight may still finish
SLOW_SECONDS = 0.01  # a token slower than this adds a worker to its lane, unless ...
BUSY_CORES = 0.75  # ... the process used this much CPU meanwhile: more threads won't help
BATCH = 64  # results that wake the iterating thread before its next poll
BACKLOG = 2000  # results waiting for the iterating thread before workers wait (memory)
# what parsing or decoding an answer raises: that token's bad_response; anything else
# is a bug (internal_error, logged with its traceback)
UNREADABLE = (ValueError, UnicodeError, RecursionError, OverflowError)
LOG = logging.getLogger("cronofy_frames")


@dataclass(frozen=True)
class Want:
    """Which frames a load needs, and which endpoints may serve them."""

    profiles: bool
    accounts: bool
    endpoints: Endpoints = "auto"
    exact_scopes: bool = False  # after userinfo, GET /v1/account when the scope is a shorthand
    limits: RowLimits = field(default_factory=RowLimits)  # what one answer may expand into

    @property
    def userinfo(self) -> bool:
        """Whether one /v1/userinfo request should serve the token."""
        return self.endpoints == "auto" and self.profiles


@dataclass
class Rows:
    """One token's rows, typed until they become frames (``schema.FRAMES`` by name)."""

    profiles: list[ProfileRecord] = field(default_factory=list)
    accounts: list[AccountRecord] = field(default_factory=list)
    calendars: list[CalendarRecord] = field(default_factory=list)
    conferencing: list[ConferencingRecord] = field(default_factory=list)
    errors: list[ErrorRecord] = field(default_factory=list)


@dataclass
class Result:
    """What one token produced: its rows per frame."""

    state: TokenState
    rows: Rows = field(default_factory=Rows)
    deferred: bool = False  # it needed a refresh the load could not keep: unfinished

    @property
    def failed(self) -> bool:
        """Whether any request of this token failed."""
        return bool(self.rows.errors)


def _now() -> int:
    """Now, in nanoseconds since the epoch (UTC): ``schema.to_frame`` makes it a time."""
    return time.time_ns()


class TokenRunner:
    """Fetches what ``want`` asks for one token; remembers data centers without userinfo."""

    def __init__(self, transport: JsonGetter, want: Want) -> None:
        self.transport = transport
        self.want = want
        self._no_userinfo: set[str] = set()
        self.unknown_shapes: list[str] = []  # labels whose userinfo had no documented shape
        self._lock = threading.Lock()

    def __call__(self, state: TokenState) -> Result:
        result = Result(state)
        try:
            self._run(result)
        except Interrupted:
            raise
        except NotRefreshed:
            return Result(state, deferred=True)  # no partial rows: a rerun takes it whole
        except UNREADABLE as exc:  # an answer our parsing could not read: the server's
            why = f"an answer could not be read ({type(exc).__name__})"
            _error(result, _failure("bad_response", why))
        except Exception as exc:  # the last line of defence: a bug, never the batch's end
            log_internal_error(state.token.label, exc)
            _error(result, _failure("internal_error", f"internal error ({type(exc).__name__})"))
        return result

    def _run(self, result: Result) -> None:
        state = result.state
        if self.want.userinfo and state.token.route not in self._no_userinfo:
            try:
                self._userinfo(result)
                return
            except RequestFailed as failure:
                if failure.kind not in NO_USERINFO | NOT_FOR_THIS_TOKEN:
                    _error(result, failure)
                    return
                if failure.kind in NO_USERINFO:  # the application's answer: remembered
                    with self._lock:
                        self._no_userinfo.add(state.token.route)
        self._documented(result)

    def _userinfo(self, result: Result) -> None:
        info = fetch_userinfo(self.transport, result.state, self.want.limits)
        if info["shape"] != "documented":
            with self._lock:
                self.unknown_shapes.append(result.state.token.label)
        stamp, account = _stamp(result.state), info["account"]
        account_id, rows = account["account_id"], result.rows
        if self.want.accounts:
            rows.accounts.append(AccountRecord(**stamp, **self._exact(result, account)))
        rows.profiles += _profile_records(stamp, info["profiles"], account)
        rows.calendars += [
            CalendarRecord(**stamp, **c, account_id=account_id) for c in info["calendars"]
        ]
        rows.conferencing += [
            ConferencingRecord(**stamp, **c, account_id=account_id) for c in info["conferencing"]
        ]

    def _exact(self, result: Result, account: AccountRow) -> AccountRow:
        """With ``exact_scopes``, the fine-grained scope of /v1/account in place of a
        userinfo scope holding a shorthand, or of none (one more request, for those
        tokens only).
        If that request fails, the userinfo scope stays and the failure is an error row."""
        unknown = account["scope"] is None  # a service account's flat answer says none
        if not (self.want.exact_scopes and (unknown or shorthands(account["scope"]))):
            return account
        try:
            exact = fetch_account(self.transport, result.state)
        except RequestFailed as failure:
            _error(result, failure)
            return account
        return AccountRow(**{**account, "scope": exact["scope"], "scope_source": "account"})

    def _documented(self, result: Result) -> None:
        """/v1/account, then /v1/profiles. A failed token has one error row: a second
        failure is told in the first row's message, never as a row of its own."""
        state, account = result.state, None
        try:
            if self.want.accounts or self.want.profiles:
                account = fetch_account(self.transport, state)
                if self.want.accounts:
                    result.rows.accounts.append(AccountRecord(**_stamp(state), **account))
        except RequestFailed as failure:
            _error(result, failure)
            if failure.kind in FATAL_KINDS:
                return
        if self.want.profiles:
            try:
                profiles = fetch_profiles(self.transport, state, self.want.limits)
                result.rows.profiles += _profile_records(_stamp(state), profiles, account)
            except RequestFailed as failure:
                _error_once(result, failure)


def _profile_records(
    stamp: Stamp, profiles: list[ProfileRow], account: AccountRow | None
) -> list[ProfileRecord]:
    """Profile rows with their account id and access mode."""
    account_id = account["account_id"] if account else None
    account_type = account["account_type"] if account else None
    return [
        ProfileRecord(
            **stamp,
            **p,
            account_id=account_id,
            access_mode=access_mode(
                p["provider_name"], p["provider_service"], account_type, account_id
            ),
        )
        for p in profiles
    ]


def _failure(kind: ErrorKind, message: str) -> RequestFailed:
    return RequestFailed(kind, message, endpoint="unknown")


def log_internal_error(label: str, exc: BaseException) -> None:
    """An ERROR record on the ``cronofy_frames`` logger with where it happened (the
    frames of the traceback) and the exception's type, never its text: it may hold what
    a server sent."""
    frames = "".join(traceback.format_list(traceback.extract_tb(exc.__traceback__)))
    LOG.error(
        "internal error while loading token %r: %s (a bug in cronofy_frames or a "
        "dependency; the token is an internal_error row)\nTraceback (most recent call "
        "last):\n%s%s",
        label,
        type(exc).__name__,
        frames,
        type(exc).__qualname__,
    )


def over_limit(result: Result, why: str) -> Result:
    """The token as one ``bad_response`` row saying which limit its rows went past (its
    rows dropped: memory stays bounded)."""
    bare = Result(result.state)
    _error(bare, _failure("bad_response", why))
    return bare


def _error_once(result: Result, failure: RequestFailed) -> None:
    """An error row, or, when the token already has one, the failure told in it."""
    if not result.rows.errors:
        _error(result, failure)
        return
    first = result.rows.errors[0]
    first["message"] = f"{first['message']}; and {failure.message}"


def _stamp(state: TokenState) -> Stamp:
    token = state.token
    return Stamp(token_label=token.label, data_center=token.data_center, fetched_at=_now())


def _error(result: Result, failure: RequestFailed) -> None:
    result.rows.errors.append(
        ErrorRecord(
            **_stamp(result.state),
            endpoint=failure.endpoint,
            kind=failure.kind,
            status_code=failure.status_code,
            message=failure.message,
            attempts=failure.attempts,
        )
    )


@dataclass(frozen=True)
class ProgressCounts:
    """Where a load stands: what ``on_progress`` is called with. ``seconds_left``: the
    least time the tokens left can take under each data center's rate-limit budget as
    it stands now (0 without a limit), the slowest data center's."""

    total: int
    ok: int
    failed: int
    waiting: int  # requests held back by a rate limit right now
    seconds_left: float = 0.0

    @property
    def done(self) -> int:
        """Tokens finished, ok or failed."""
        return self.ok + self.failed

    @property
    def left(self) -> int:
        """Tokens not finished yet."""
        return self.total - self.done


Estimate = Callable[[dict[str, int]], float]  # requests left per route -> seconds


class Progress:
    """A tqdm.auto bar of finished tokens with ok / failed / waiting-for-rate-limit and
    the least time left under the rate limits (not tqdm's rate-based guess, which knows
    nothing of a limit's minute window), and an optional ``on_progress`` callback with
    the same counts (at most four times a second, from the loading thread)."""

    def __init__(
        self,
        routes: list[str],
        enabled: bool,
        waiting: Callable[[], int],
        on_progress: Callable[[ProgressCounts], object] | None = None,
        estimate: tuple[Estimate, int] | None = None,
    ) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(
            total=len(routes),
            unit="token",
            disable=not enabled,
            leave=enabled,
            desc="cronofy",
            dynamic_ncols=True,
            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]",
        )
        self.total, self.ok, self.failed = len(routes), 0, 0
        self.left_by_route: dict[str, int] = {}
        for route in routes:
            self.left_by_route[route] = self.left_by_route.get(route, 0) + 1
        self._waiting = waiting
        self._estimate = estimate
        self._shown = 0.0
        self.on_progress = on_progress

    def finished(self, result: Result) -> None:
        """Count one finished token."""
        if result.failed:
            self.failed += 1
        else:
            self.ok += 1
        self.left_by_route[result.state.token.route] -= 1
        self.bar.update(1)

    def seconds_left(self) -> float:
        """The least seconds the tokens left can take under the rate limits now."""
        if self._estimate is None:
            return 0.0
        estimate, per_token = self._estimate
        return estimate({r: n * per_token for r, n in self.left_by_route.items()})

    def refresh(self) -> None:
        """Show the current counts, at most every ``POLL_SECONDS`` (each redraw is a
        widget update in a notebook)."""
        now = time.monotonic()
        if now - self._shown >= POLL_SECONDS:
            self._shown = now
            waiting, left = self._waiting(), self.seconds_left()
            self.bar.set_postfix_str(
                f"ok={self.ok:,}, failed={self.failed:,}, waiting={waiting:,}, "
                f"at least {left:.0f} s left",
                refresh=True,
            )
            if self.on_progress is not None:
                counts = ProgressCounts(self.total, self.ok, self.failed, waiting, left)
                self.on_progress(counts)

    def close(self) -> None:
        """Final counts, then close the bar."""
        self._shown = 0.0
        self.refresh()
        self.bar.close()


class FanOut:
    """Runs ``runner`` over ``states``, lane by data center; iterate to get results.

    Each lane has ``max_workers`` threads that take its tokens one by one and put each
    result on one queue; the iterating thread only takes results off it (O(1) each, no
    futures, no scheduling), so it stays free for the progress bar and Ctrl-C.
    """

    def __init__(
        self,
        runner: Callable[[TokenState], Result],
        states: list[TokenState],
        max_workers: int,
        stop: threading.Event,
        progress: Progress,
        cancel: threading.Event | None = None,
    ) -> None:
        self.runner = runner
        self.cancel = cancel  # set from another thread: the same as a Ctrl-C
        self.max_workers = max_workers
        self.stop = stop
        self.progress = progress
        self.lanes: dict[str, deque[TokenState]] = {}
        for state in states:
            self.lanes.setdefault(state.token.route, deque()).append(state)
        self.interrupted = False
        self._results: deque[Result | None] = deque()  # None: a worker ended
        self._ready = threading.Event()  # set when a batch is waiting (or a worker ended)
        self._room = threading.Semaphore(BACKLOG)  # a worker waits while the backlog is full
        self._alive = 0
        self._workers: dict[str, int] = dict.fromkeys(self.lanes, 0)
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def __iter__(self) -> Generator[Result, None, None]:
        for lane in self.lanes:
            self._grow(lane)
        try:
            yield from self._drain(None)
        except KeyboardInterrupt:
            self.interrupted = True
            self.stop.set()
            yield from self._drain(time.monotonic() + GRACE_SECONDS)
        finally:
            self.stop.set()
            self.progress.close()

    def join(self, seconds: float) -> None:
        """Wait, at most ``seconds`` in all, for every worker to return. After a stop a
        worker may still be reading an answer: the load's deadline watchdog must outlive
        it (it cuts that read at the request's deadline), so the loader joins first."""
        deadline = time.monotonic() + seconds
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _grow(self, lane: str) -> None:
        """One more worker for ``lane``, unless it has ``max_workers`` or no tokens left."""
        with self._lock:
            busy = self._workers[lane]
            if busy >= self.max_workers or not self.lanes[lane] or self.stop.is_set():
                return
            self._workers[lane], self._alive = busy + 1, self._alive + 1
        name = f"cronofy-{lane.rsplit(':', 1)[-1]}-{busy}"
        thread = threading.Thread(target=self._work, args=(lane,), name=name)
        self._threads.append(thread)
        thread.start()

    def _work(self, lane: str) -> None:
        """One worker of a lane: its tokens one by one until none is left or the stop.
        A token that took longer than ``SLOW_SECONDS`` while the process mostly waited
        (latency, or a rate-limit wait) adds a worker, so a lane grows to ``max_workers``
        within a few round trips; when the time went to the CPU (fast answers, threads
        fighting over the GIL), more threads would only cost more, so none is added."""
        tokens = self.lanes[lane]
        try:
            while not self.stop.is_set():
                try:
                    state = tokens.popleft()
                except IndexError:
                    return
                began, cpu = time.perf_counter(), time.process_time()
                self._put(self.runner(state))
                took = time.perf_counter() - began
                if took > SLOW_SECONDS and time.process_time() - cpu < BUSY_CORES * took:
                    self._grow(lane)  # slow because it waited (the server, a limit), not the CPU
        except Interrupted:
            return  # stopped while waiting: the token stays unfinished
        finally:
            self._put(None)

    def _put(self, result: Result | None) -> None:
        """Hand a result to the iterating thread, waking it only for a batch (or a
        worker's end): one wake-up per ``BATCH`` results, not one per token. While
        ``BACKLOG`` results wait (the iterating thread is writing a chunk), the worker
        waits too, so memory does not grow with the token count; a stop ends the wait."""
        if result is not None:
            while not self._room.acquire(timeout=POLL_SECONDS):
                if self.stop.is_set():
                    break
        self._results.append(result)
        if result is None or len(self._results) >= BATCH:
            self._ready.set()

    def _drain(self, deadline: float | None) -> Iterator[Result]:
        """Results as they arrive (in batches, or every ``POLL_SECONDS``), until every
        worker ended (or, after a stop, the grace period is over: no new work starts)."""
        while self._alive:
            self.progress.refresh()
            if deadline is None and self.cancel is not None and self.cancel.is_set():
                raise KeyboardInterrupt  # handled in __iter__ exactly as a Ctrl-C
            wait = POLL_SECONDS if deadline is None else deadline - time.monotonic()
            if wait <= 0:
                return
            self._ready.wait(min(wait, POLL_SECONDS))
            self._ready.clear()
            while self._results:
                result = self._results.popleft()
                self._room.release()  # (a worker's end also frees one: never a shortage)
                if result is None:
                    with self._lock:
                        self._alive -= 1
                else:
                    yield self._finish(result)

    def _finish(self, result: Result) -> Result:
        if not result.deferred:
            result.state.finished = True
            self.progress.finished(result)
        return result
