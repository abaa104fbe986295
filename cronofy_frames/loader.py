"""``load``, ``load_profiles``, ``load_accounts`` and the ``Snapshot`` they build.

Input is checked in full before any request. Requests run concurrently, lane by data
center, within each data center's rate limit; a failure becomes rows of the errors
frame and the batch goes on. Finished work becomes DataFrames in chunks as it
arrives, so memory stays bounded, and an interrupted load keeps what it finished.
"""

from __future__ import annotations

import threading
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal, TypedDict, Unpack

import pandas as pd

from . import _config
from ._collect import Collector, consume
from ._endpoints import RowLimits
from ._exceptions import RefreshedPairsNotSaved, UnknownShapeWarning
from ._fanout import Endpoints, FanOut, Progress, ProgressCounts, TokenRunner, Want
from ._oauth import TokenState
from ._ratelimit import DEFAULT_RATE_LIMIT, RateLimit, floor_seconds
from ._redact import mask
from ._transport import RateLimits, Transport, TransportConfig, is_sandbox, limit_for
from .credentials import (
    ClientCredentials,
    Token,
    normalize_credentials,
    refreshable,
    unique_tokens,
)
from .data_centers import resolve
from .snapshot import Snapshot, read_snapshot
from .token_store import RefreshedTokenWriter, refreshed_writer, tokens_from_csv, tokens_from_frame

__all__ = [
    "LoadOptions",
    "LoadWarning",
    "ProgressCounts",
    "Snapshot",
    "load",
    "load_accounts",
    "load_profiles",
    "read_snapshot",
    "time_floor",
]

ErrorsMode = Literal["warn", "raise", "ignore"]
TokensArg = Token | Iterable[Token] | pd.DataFrame | str | Path
DRAIN_MARGIN = 2.0  # seconds past the request timeout a refresh in flight may take to land


class LoadWarning(UserWarning):
    """Some tokens failed, or the load was interrupted; the details are in the snapshot."""


@dataclass(frozen=True, repr=False)
class LoadOptions:
    """The keyword options shared by every loader.

    ``rate_limits``: a ``RateLimit`` for every data center (default: Cronofy's 50/s and
    500/min), a mapping from data center (id, host or sandbox URL) to ``RateLimit`` or
    None, or None. None turns the client-side limit off only for loopback sandboxes (for
    all of them, or for the URLs a mapping names): a real Cronofy data center always
    keeps at least the documented limit, unless a ``RateLimit`` raises it.
    ``endpoints``: "auto" (one /v1/userinfo request per token where it serves, falling
    back per data center to the two documented endpoints) or "documented".
    ``timeout``: seconds one attempt of a request may take in all, however slowly the
    answer arrives. ``retry_after_max``: the cap on any ``Retry-After`` (seconds).
    ``max_response_bytes``: the cap on a decoded body (10 MiB); a larger answer is that
    token's ``bad_response``. What one answer may expand into, far above anything real:
    ``max_objects`` JSON objects (100,000, counted before decoding), ``max_profiles``
    per account (1,000), ``max_calendars`` per profile (1,000), ``max_conferencing`` per
    account (100); past one, the token is one ``bad_response`` row naming it. ``max_rows``
    (10,000,000): the rows a load holds in memory; a token that would go past it is one
    such row. ``exact_scopes``: with "auto", also GET /v1/account for the
    tokens whose userinfo scope holds a simplified scope (``read_write`` ...), so that
    ``accounts.scope`` is the fine-grained list (one more request for those tokens only;
    ``scope_source`` says which endpoint each scope came from). ``stop``: an Event that,
    once set (from any thread: a notebook's Stop button), ends the load as Ctrl-C does,
    keeping finished work and refreshed tokens. ``on_progress``: called from the loading
    thread, at most four times a second, with a ``ProgressCounts``. The repr never shows a
    client secret.
    """

    credentials: Mapping[str, ClientCredentials | tuple[str, str]] | None = None
    timeout: float = _config.TIMEOUT
    max_workers: int = _config.MAX_WORKERS
    retries: int = _config.RETRIES
    progress: bool = True
    errors: ErrorsMode = "warn"
    on_refresh: Callable[[Token], object] | None = None
    rate_limits: RateLimit | Mapping[str, RateLimit | None] | None = DEFAULT_RATE_LIMIT
    endpoints: Endpoints = "auto"
    retry_after_max: float = _config.RETRY_AFTER_MAX
    max_response_bytes: int = _config.MAX_RESPONSE_BYTES
    max_objects: int = _config.MAX_OBJECTS
    max_profiles: int = _config.MAX_PROFILES
    max_calendars: int = _config.MAX_CALENDARS
    max_conferencing: int = _config.MAX_CONFERENCING
    max_rows: int = _config.MAX_ROWS
    exact_scopes: bool = False
    stop: threading.Event | None = None
    on_progress: Callable[[ProgressCounts], object] | None = None

    def __repr__(self) -> str:
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        shown["credentials"] = {
            str(key): f"<client credentials {mask(_secret_of(value))}>"
            for key, value in (self.credentials or {}).items()
        }
        return "LoadOptions(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"

    def __post_init__(self) -> None:
        if self.errors not in ("warn", "raise", "ignore"):
            raise ValueError(f"errors must be 'warn', 'raise' or 'ignore', got {self.errors!r}")
        if self.endpoints not in ("auto", "documented"):
            raise ValueError(f"endpoints must be 'auto' or 'documented', got {self.endpoints!r}")
        for name in ("max_profiles", "max_calendars", "max_conferencing", "max_rows"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("progress", "exact_scopes"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        for name in ("on_refresh", "on_progress"):
            value = getattr(self, name)
            if value is not None and not callable(value):
                raise ValueError(f"{name} must be callable, got {type(value).__name__}")
        if self.stop is not None and not isinstance(self.stop, threading.Event):
            raise ValueError(f"stop must be a threading.Event, got {type(self.stop).__name__}")

    def want(self, profiles: bool = True, accounts: bool = True) -> Want:
        """What a load with these options fetches, given the frames it needs."""
        limits = RowLimits(self.max_profiles, self.max_calendars, self.max_conferencing)
        return Want(profiles, accounts, self.endpoints, self.exact_scopes, limits)

    def transport_config(self) -> TransportConfig:
        """Timeouts and retries (validated)."""
        return TransportConfig(
            timeout=self.timeout,
            max_workers=self.max_workers,
            retries=self.retries,
            retry_after_max=self.retry_after_max,
            max_response_bytes=self.max_response_bytes,
            max_objects=self.max_objects,
        )

    def limits(self) -> RateLimits:
        """The rate limits keyed by data-center key (validated)."""
        limits = self.rate_limits
        if limits is None or isinstance(limits, RateLimit):
            return limits
        if not isinstance(limits, Mapping):
            raise ValueError(f"rate_limits must be a RateLimit, a mapping or None, got {limits!r}")
        for value in limits.values():
            if value is not None and not isinstance(value, RateLimit):
                raise ValueError(f"rate_limits values must be RateLimit or None, got {value!r}")
        return {resolve(key).route: value for key, value in limits.items()}


class LoadKwargs(TypedDict, total=False):
    """The keyword options of the loaders, for type checkers (see ``LoadOptions``)."""

    credentials: Mapping[str, ClientCredentials | tuple[str, str]] | None
    timeout: float
    max_workers: int
    retries: int
    progress: bool
    errors: ErrorsMode
    on_refresh: Callable[[Token], object] | None
    rate_limits: RateLimit | Mapping[str, RateLimit | None] | None
    endpoints: Endpoints
    retry_after_max: float
    max_response_bytes: int
    max_objects: int
    max_profiles: int
    max_calendars: int
    max_conferencing: int
    max_rows: int
    exact_scopes: bool
    stop: threading.Event | None
    on_progress: Callable[[ProgressCounts], object] | None


def _secret_of(value: object) -> str | None:
    if isinstance(value, ClientCredentials):
        return value.client_secret
    if isinstance(value, tuple | list) and len(value) == 2 and isinstance(value[1], str):
        return value[1]
    return None


class AttachedErrors(pd.DataFrame):
    """The errors frame as ``df.attrs["errors"]`` keeps it: an ordinary DataFrame, except
    that the frame itself compares by identity and is not deep-copied by pandas. pandas
    compares and copies ``attrs`` on every operation: with a plain DataFrame there,
    ``pd.concat`` of two loaders' results raises and each filter copies every error.
    Column comparisons (``errors["kind"] == "timeout"``) are as usual."""

    @property
    def _constructor(self) -> type[pd.DataFrame]:  # results of operations are plain frames
        return pd.DataFrame

    def __eq__(self, other: object) -> bool:  # type: ignore[override]
        return self is other

    def __ne__(self, other: object) -> bool:  # type: ignore[override]
        return self is not other

    __hash__ = None

    def __deepcopy__(self, memo: dict[int, Any]) -> AttachedErrors:
        return self


def _as_tokens(tokens: TokensArg) -> list[Token]:
    if isinstance(tokens, Token):
        return [tokens]
    if isinstance(tokens, pd.DataFrame):
        return tokens_from_frame(tokens)
    if isinstance(tokens, str | Path):
        return tokens_from_csv(tokens)
    return unique_tokens(tokens)


def take_snapshot(
    tokens: TokensArg,
    options: LoadOptions,
    want: Want,
    on_chunk: Callable[[dict[str, pd.DataFrame]], object] | None = None,
    keep: bool = True,
) -> Snapshot:
    """Load ``want`` for every token; ``on_chunk`` sees each chunk of frames as it is built.

    With ``keep=False`` the chunks are only handed to ``on_chunk`` (memory stays bounded
    however many tokens there are) and the snapshot's frames are empty.
    """
    began = _now()
    token_list = _as_tokens(tokens)
    credentials = normalize_credentials(options.credentials)
    store = _store_for(tokens, token_list, credentials)  # refused here if it cannot be written
    stop = threading.Event()
    transport = Transport(
        options.transport_config(),
        credentials,
        chain_refresh(store, options.on_refresh),
        options.limits(),
        stop,
    )
    states = [TokenState(t) for t in token_list]
    per_token = 2 if options.endpoints == "documented" else 1
    progress = Progress(
        [s.token.route for s in states],
        options.progress,
        transport.waiting,
        options.on_progress,
        (transport.seconds_left, per_token),
    )
    runner = TokenRunner(transport, want)
    fan = FanOut(runner, states, options.max_workers, stop, progress, options.stop)
    collector = Collector(on_chunk, keep, options.max_rows)
    try:
        consume(fan, collector, options.errors == "raise")
    finally:
        transport.refresher.drain(options.timeout + DRAIN_MARGIN)  # before tokens are read
        fan.join(options.timeout + DRAIN_MARGIN)  # the watchdog outlives the last worker
        transport.close()
        keep_unsaved(store, options.on_refresh)
    if runner.unknown_shapes:
        _warn_shapes(runner.unknown_shapes)
    frames = collector.frames([t.label for t in token_list])
    unfinished = [s.token.label for s in states if not s.finished]
    snap = Snapshot.from_frames(frames, [s.token for s in states], unfinished)
    snap.taken_at = began
    return snap


def _warn_shapes(labels: list[str]) -> None:
    shown = ", ".join(repr(label) for label in labels[:5]) + (", ..." if len(labels) > 5 else "")
    warnings.warn(
        f"{len(labels):,} tokens' /v1/userinfo answers had no documented shape ({shown}): "
        "their accounts rows hold what was known (sub, type), with no profiles",
        UnknownShapeWarning,
        stacklevel=4,
    )


def _store_for(
    tokens: TokensArg, token_list: list[Token], credentials: dict[str, ClientCredentials]
) -> RefreshedTokenWriter | None:
    """The refreshed-pairs file of a tokens CSV given by its path, opened (so refused
    before any request) when the load may refresh one of its tokens."""
    if not isinstance(tokens, str | Path) or not refreshable(token_list, credentials):
        return None
    return refreshed_writer(tokens)


def keep_unsaved(*stores: object, near: Path | None = None) -> list[Path]:
    """Close each refreshed-pairs writer among ``stores``; pairs a full disk refused go
    to a fallback file, and a ``RefreshedPairsNotSaved`` warning says where. The paths."""
    saved = []
    for store in stores:
        if not isinstance(store, RefreshedTokenWriter):
            continue
        had = store.error is not None
        fallback = store.close(near)
        if had:
            warnings.warn(_not_saved(store, fallback), RefreshedPairsNotSaved, stacklevel=3)
        if fallback is not None:
            saved.append(fallback)
    return saved


def _not_saved(store: RefreshedTokenWriter, fallback: Path | None) -> str:
    head = f"refreshed pairs could not be appended to {store.path} ({store.error})"
    if fallback is None:
        return (
            f"{head}, nor written to any fallback file: they are only in snapshot.tokens; "
            "save them now with cf.tokens_to_csv(snapshot.tokens, PATH)"
        )
    beside = fallback.parent == store.path.parent
    hint = "it is read back with it" if beside else f"move it beside {store.path} to apply it"
    return f"{head}: they were written to {fallback} ({hint}) and are in snapshot.tokens"


def time_floor(tokens: TokensArg, **options: Unpack[LoadKwargs]) -> pd.DataFrame:
    """What the rate limits allow, said before a load: per data center (and sandbox
    URL) the tokens, the requests they need at least (one each with userinfo, two
    documented), the limit that applies and why (``limit``), and the least seconds the
    limit lets them take. :func:`describe_floor` says each row in a line."""
    opts = LoadOptions(**options)
    per_token = 2 if opts.endpoints == "documented" else 1
    limits = opts.limits()
    counts = Counter((t.data_center, t.route) for t in _as_tokens(tokens))
    rows = []
    for (dc, route), n in counts.items():
        limit = limit_for(limits, route)
        seconds = floor_seconds(n * per_token, limit) if limit is not None else 0.0
        per_minute = limit.per_minute if limit is not None else None
        rows.append((dc, route, n, n * per_token, per_minute, _why(limit), seconds))
    columns = ["data_center", "route", "tokens", "requests", "per_minute", "limit", "seconds"]
    frame = pd.DataFrame(rows, columns=columns).astype({"per_minute": "Int64"})
    return frame.sort_values("seconds", ascending=False, kind="stable").reset_index(drop=True)


def _why(limit: RateLimit | None) -> str:
    if limit is None:
        return "no client-side limit: turned off for this sandbox"
    if limit == DEFAULT_RATE_LIMIT:
        return "Cronofy's documented limit"
    return "the limit given"


def describe_floor(floor: pd.DataFrame) -> list[str]:
    """One line per data center: "us: 2,505 tokens at 500/min (Cronofy's documented
    limit), at least 5 min 1 s"; a sandbox is named by its URL too."""
    lines = []
    for row in floor.to_dict("records"):
        where = row["data_center"]
        if is_sandbox(row["route"]) and row["route"] != where:
            where = f"{where} (sandbox {row['route']})"
        if pd.isna(row["per_minute"]):
            lines.append(f"{where}: {row['tokens']:,} tokens, {row['limit']}")
            continue
        least = duration(float(row["seconds"]))
        lines.append(
            f"{where}: {row['tokens']:,} tokens at {row['per_minute']:,}/min "
            f"({row['limit']}), at least {least}"
        )
    return lines


def duration(seconds: float) -> str:
    """Seconds as people read them: "45 s", "5 min 1 s", "1 h 2 min"."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


def chain_refresh(
    *callbacks: Callable[[Token], object] | None,
) -> Callable[[Token], object] | None:
    """One ``on_refresh`` calling each of ``callbacks`` in turn (a token store first, so a
    rotated pair is on disk before anything else; then the caller's)."""
    present = [c for c in callbacks if c is not None]
    if len(present) < 2:
        return present[0] if present else None

    def each(token: Token) -> None:
        failure: Exception | None = None
        for callback in present:  # each gets the pair, whatever the one before did
            try:
                callback(token)
            except Exception as exc:
                failure = failure or exc
        if failure is not None:
            raise failure

    return each


def _now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC")


def _warn(snap: Snapshot, where: str) -> None:
    notes = []
    if not snap.errors.empty:
        counts = Counter(str(k) for k in snap.errors["kind"])
        kinds = ", ".join(f"{kind}={n}" for kind, n in counts.most_common())
        failed = snap.errors["token_label"].nunique()
        notes.append(f"{failed} of {len(snap.tokens)} tokens failed ({kinds}); see {where}")
    if snap.unfinished:
        notes.append(
            f"interrupted: {len(snap.unfinished)} of {len(snap.tokens)} tokens were "
            "not finished (their labels are in snapshot.unfinished)"
        )
    if notes:
        warnings.warn("; ".join(notes), LoadWarning, stacklevel=3)


def load(tokens: TokensArg, **options: Unpack[LoadKwargs]) -> Snapshot:
    """Load profiles, accounts (and calendars, where userinfo serves) for every token.

    ``tokens``: Tokens, a DataFrame or a CSV path (see ``tokens_from_csv``; with a path,
    refreshed pairs are also appended to the file beside it, ``{path}.refreshed.csv``,
    which is refused before any request if it cannot be written; pairs it refuses later
    go to a fallback file, with a ``RefreshedPairsNotSaved`` warning). The options are
    keyword-only and the same for every loader: see :class:`LoadOptions` for each
    (credentials, timeout, max_workers, retries, progress, errors, on_refresh,
    rate_limits, endpoints, retry_after_max, max_response_bytes, max_objects, max_profiles,
    max_calendars, max_conferencing, max_rows, exact_scopes, stop, on_progress). Ctrl-C
    (or a notebook's Stop button) ends the load within a couple of seconds and returns
    what finished.
    """
    opts = LoadOptions(**options)
    snap = take_snapshot(tokens, opts, opts.want())
    stopped = opts.stop is not None and opts.stop.is_set()  # the caller stopped it: it knows
    if opts.errors == "warn" or (snap.unfinished and not stopped):
        _warn(snap, "snapshot.errors")
    return snap


def load_profiles(tokens: TokensArg, **options: Unpack[LoadKwargs]) -> pd.DataFrame:
    """The profiles frame; failed tokens are at ``df.attrs["errors"]`` (see :func:`load`)."""
    return _one_frame(tokens, options, "profiles")


def load_accounts(tokens: TokensArg, **options: Unpack[LoadKwargs]) -> pd.DataFrame:
    """The accounts frame (GET /v1/account); failed tokens at ``df.attrs["errors"]``."""
    return _one_frame(tokens, options, "accounts")


def _one_frame(tokens: TokensArg, options: LoadKwargs, name: str) -> pd.DataFrame:
    opts = LoadOptions(**options)
    snap = take_snapshot(
        tokens, opts, opts.want(profiles=name == "profiles", accounts=name == "accounts")
    )
    frame: pd.DataFrame = getattr(snap, name)
    frame.attrs["errors"] = AttachedErrors(snap.errors)
    frame.attrs["unfinished"] = snap.unfinished
    if opts.errors == "warn" or snap.unfinished:
        _warn(snap, "df.attrs['errors']")
    return frame
