"""Fan-out over tokens: ``load``, ``load_profiles``, ``load_accounts`` and ``Snapshot``.

Each token is handled by one worker of a bounded pool; a failure becomes rows of the
errors frame and the batch goes on. Input is checked in full before any request.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypedDict, Unpack

import pandas as pd

from . import schema
from ._endpoints import ACCOUNT, PROFILES, AccountRow, ProfileRow, fetch_account, fetch_profiles
from ._exceptions import LoadFailed, RequestFailed
from ._transport import TokenState, Transport, TransportConfig
from .credentials import (
    ClientCredentials,
    Token,
    check_unique,
    normalize_credentials,
    tokens_from_csv,
    tokens_from_frame,
)

__all__ = ["LoadOptions", "LoadWarning", "Snapshot", "load", "load_accounts", "load_profiles"]

ErrorsMode = Literal["warn", "raise", "ignore"]
TokensArg = Token | Iterable[Token] | pd.DataFrame | str | Path
FATAL_KINDS = frozenset({"unauthorized", "refresh_failed"})  # the next endpoint would fail too


class LoadWarning(UserWarning):
    """Some tokens failed; the details are in the errors frame."""


@dataclass(frozen=True)
class LoadOptions:
    """The keyword options shared by every loader."""

    credentials: Mapping[str, ClientCredentials | tuple[str, str]] | None = None
    timeout: float = 30.0
    max_workers: int = 8
    retries: int = 4
    progress: bool = True
    errors: ErrorsMode = "warn"
    on_refresh: Callable[[Token], object] | None = None

    def __post_init__(self) -> None:
        if self.errors not in ("warn", "raise", "ignore"):
            raise ValueError(f"errors must be 'warn', 'raise' or 'ignore', got {self.errors!r}")
        if not isinstance(self.progress, bool):
            raise ValueError(f"progress must be True or False, got {self.progress!r}")
        if self.on_refresh is not None and not callable(self.on_refresh):
            raise ValueError(f"on_refresh must be callable, got {type(self.on_refresh).__name__}")


class LoadKwargs(TypedDict, total=False):
    """The keyword options of the loaders, for type checkers (see ``LoadOptions``)."""

    credentials: Mapping[str, ClientCredentials | tuple[str, str]] | None
    timeout: float
    max_workers: int
    retries: int
    progress: bool
    errors: ErrorsMode
    on_refresh: Callable[[Token], object] | None


@dataclass
class Snapshot:
    """The frames of one load, and the tokens as they are after it (refreshed pairs included)."""

    profiles: pd.DataFrame
    accounts: pd.DataFrame
    errors: pd.DataFrame
    tokens: list[Token] = field(repr=False)

    def __repr__(self) -> str:
        failed = self.errors["token_label"].nunique()
        return (
            f"<Snapshot tokens={len(self.tokens)} accounts={len(self.accounts)} "
            f"profiles={len(self.profiles)} failed_tokens={failed}>"
        )


@dataclass
class _Result:
    """What one token's worker produced."""

    state: TokenState
    profiles: list[dict[str, Any]] = field(default_factory=list)
    accounts: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)


def _now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC")


def _base(state: TokenState) -> dict[str, Any]:
    return {"token_label": state.token.label, "data_center": state.token.data_center}


def _error_row(state: TokenState, failure: RequestFailed) -> dict[str, Any]:
    return {
        **_base(state),
        "endpoint": failure.endpoint,
        "kind": failure.kind,
        "status_code": failure.status_code,
        "message": failure.message,
        "attempts": failure.attempts,
        "fetched_at": _now(),
    }


def _load_one(transport: Transport, state: TokenState, endpoints: tuple[str, ...]) -> _Result:
    result, account_id = _Result(state), None
    for endpoint in endpoints:
        try:
            if endpoint == ACCOUNT:
                account: AccountRow = fetch_account(transport, state)
                account_id = account["account_id"]
                result.accounts.append({**_base(state), **account, "fetched_at": _now()})
            else:
                profiles: list[ProfileRow] = fetch_profiles(transport, state)
                stamp = {**_base(state), "account_id": account_id, "fetched_at": _now()}
                result.profiles += [{**stamp, **p} for p in profiles]
        except RequestFailed as failure:
            result.errors.append(_error_row(state, failure))
            if failure.kind in FATAL_KINDS:
                break
    return result


def _as_tokens(tokens: TokensArg) -> list[Token]:
    if isinstance(tokens, Token):
        return [tokens]
    if isinstance(tokens, pd.DataFrame):
        return tokens_from_frame(tokens)
    if isinstance(tokens, str | Path):
        return tokens_from_csv(tokens)
    return check_unique(tokens)


def _run(tokens: TokensArg, options: LoadOptions, endpoints: tuple[str, ...]) -> Snapshot:
    token_list = _as_tokens(tokens)
    config = TransportConfig(
        timeout=options.timeout, max_workers=options.max_workers, retries=options.retries
    )
    transport = Transport(config, normalize_credentials(options.credentials), options.on_refresh)
    states = [TokenState(t) for t in token_list]
    try:
        results = _fan_out(transport, states, endpoints, options)
    finally:
        transport.close()
    return _snapshot(results, states)


def _fan_out(
    transport: Transport, states: list[TokenState], endpoints: tuple[str, ...], options: LoadOptions
) -> list[_Result]:
    from tqdm.auto import tqdm

    results: list[_Result] = []
    bar = tqdm(total=len(states), unit="token", disable=not options.progress, leave=False)
    with ThreadPoolExecutor(max_workers=options.max_workers, thread_name_prefix="cronofy") as pool:
        pending: set[Future[_Result]] = {
            pool.submit(_load_one, transport, s, endpoints) for s in states
        }
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    results.append(_collect(future.result(), options, bar))
        finally:
            for future in pending:
                future.cancel()
            bar.close()
    return results


def _collect(result: _Result, options: LoadOptions, bar: Any) -> _Result:
    bar.update(1)
    if result.errors and options.errors == "raise":
        first = result.errors[0]
        failure = RequestFailed(
            first["kind"],
            first["message"],
            endpoint=first["endpoint"],
            status_code=first["status_code"],
            attempts=first["attempts"],
        )
        raise LoadFailed(first["token_label"], first["data_center"], failure)
    return result


def _snapshot(results: list[_Result], states: list[TokenState]) -> Snapshot:
    order = {id(s): n for n, s in enumerate(states)}
    results.sort(key=lambda r: order[id(r.state)])
    return Snapshot(
        profiles=schema.to_frame(schema.PROFILES, [row for r in results for row in r.profiles]),
        accounts=schema.to_frame(schema.ACCOUNTS, [row for r in results for row in r.accounts]),
        errors=schema.to_frame(schema.ERRORS, [row for r in results for row in r.errors]),
        tokens=[s.token for s in states],
    )


def _warn(errors: pd.DataFrame, total: int, where: str) -> None:
    if errors.empty:
        return
    counts = Counter(str(k) for k in errors["kind"])
    kinds = ", ".join(f"{kind}={n}" for kind, n in counts.most_common())
    failed = errors["token_label"].nunique()
    warnings.warn(
        f"{failed} of {total} tokens failed ({kinds}); see {where}", LoadWarning, stacklevel=3
    )


def load(tokens: TokensArg, **options: Unpack[LoadKwargs]) -> Snapshot:
    """Load profiles and accounts for every token; one ``Snapshot``.

    ``tokens``: Tokens, a DataFrame or a CSV path (see ``tokens_from_csv``). Options
    (keyword-only, see ``LoadOptions``): credentials (per data center), timeout
    (seconds per request), max_workers, retries (per GET), progress, errors ("warn",
    "raise" or "ignore") and on_refresh (called at once with each refreshed Token).
    """
    opts = LoadOptions(**options)
    snap = _run(tokens, opts, (ACCOUNT, PROFILES))
    if opts.errors == "warn":
        _warn(snap.errors, len(snap.tokens), "snapshot.errors")
    return snap


def load_profiles(tokens: TokensArg, **options: Unpack[LoadKwargs]) -> pd.DataFrame:
    """The profiles frame; failed tokens are at ``df.attrs["errors"]`` (see :func:`load`)."""
    return _one_frame(tokens, options, (ACCOUNT, PROFILES), "profiles")


def load_accounts(tokens: TokensArg, **options: Unpack[LoadKwargs]) -> pd.DataFrame:
    """The accounts frame; failed tokens are at ``df.attrs["errors"]`` (see :func:`load`)."""
    return _one_frame(tokens, options, (ACCOUNT,), "accounts")


def _one_frame(
    tokens: TokensArg, options: LoadKwargs, endpoints: tuple[str, ...], name: str
) -> pd.DataFrame:
    opts = LoadOptions(**options)
    snap = _run(tokens, opts, endpoints)
    frame: pd.DataFrame = getattr(snap, name)
    frame.attrs["errors"] = snap.errors
    if opts.errors == "warn":
        _warn(snap.errors, len(snap.tokens), "df.attrs['errors']")
    return frame
