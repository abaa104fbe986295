"""Many snapshots in one folder: trends and chronic disconnections, without loading them all.

    history = cf.read_history("audits/")     # reads the snapshot.json files only
    history.snapshots                         # one row per snapshot, with its counts
    history.trend(by="provider_service")      # per snapshot: tokens, failures, profiles
    history.chronic(weeks=4)                  # disconnected (or failing) for that long
    history.frame("profiles", columns=[...], where={"data_center": "uk"})

A history folder holds one folder per snapshot, as ``cronofy-frames load --history`` (or
:func:`snapshot_folder`) makes them: ``audits/2026-11-23T06-00-00Z/``, in CSV or Parquet.
The summaries are SQL run where the files lie: by DuckDB (the ``history`` extra) over the
files themselves, reading only the columns and rows a question needs, in bounded memory;
without it, by SQLite (the standard library) over the frames read with pandas, which is
fine for small histories (a warning says how to install the extra for large ones).
"""

from __future__ import annotations

import csv
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from . import _history_sql, schema
from ._history_sql import Engine, Entry, HistoryWarning
from .health import plain_label
from .snapshot import META, Meta, folder_time, read_meta, snapshot_folder

__all__ = [
    "Chronic",
    "History",
    "HistoryWarning",
    "folder_time",
    "plot_trend",
    "read_history",
    "snapshot_folder",
]

TREND_BY = ("data_center", "provider_service", "provider_name", "access_mode", "provider_protocol")
PROFILE_COUNTS = ("profiles", "connected", "disconnected", "initial_sync")


def read_history(folder: str | Path, engine: str = "auto") -> History:
    """Every snapshot folder under ``folder`` (one level down, or ``folder`` itself),
    written by ``cronofy-frames load`` (``--history`` or ``--out``) or ``to_csv`` /
    ``to_parquet``. ``engine``: "auto" (DuckDB if installed), "duckdb" or "pandas"."""
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"history folder {str(root)!r} does not exist")
    entries, skipped = [], []
    for path in [root, *sorted(root.iterdir())]:
        try:
            entry = _entry(path)
        except ValueError as exc:  # a folder someone handed over: skipped, and said
            skipped.append(f"{path.name!r} ({exc})")
            continue
        if entry is not None:
            entries.append(entry)
    if skipped:
        warnings.warn(
            f"skipped {len(skipped)} folders that are not readable snapshots: "
            + "; ".join(skipped[:10])
            + ("; ..." if len(skipped) > 10 else ""),
            HistoryWarning,
            stacklevel=2,
        )
    if not entries:
        raise ValueError(f"{str(root)!r} holds no snapshot that can be read (no */{META})")
    return History(root, sorted(entries, key=lambda e: e.taken_at), engine)


FUTURE_SLACK = pd.Timedelta(minutes=5)  # clocks disagree a little, never by days


def _entry(path: Path) -> Entry | None:
    """The snapshot in ``path``; None for a folder that holds none; ValueError saying
    why for one whose metadata or files cannot be trusted."""
    if not path.is_dir() or not (path / META).is_file():
        return None
    meta = read_meta(path)  # ValueError for unreadable, nested or mistyped metadata
    if meta.taken_at is None:
        raise ValueError("no time it was taken")
    if meta.taken_at > pd.Timestamp.now(tz="UTC") + FUTURE_SLACK:
        raise ValueError(f"taken in the future, {meta.taken_at:%Y-%m-%d}")
    for name in schema.FRAMES:
        check_columns(path / f"{name}.{meta.files}", name)
    counts = meta.counts if meta.counts is not None else _counts_from_roster(meta)
    return Entry(path, meta.taken_at, meta.files, counts, meta)


def check_columns(path: Path, name: str) -> None:
    """ValueError unless the file's columns can be read and match the frame's names
    exactly where they match them at all (a ``PROFILE_CONNECTED`` is not ours)."""
    if not path.is_file():
        return
    try:
        found = _columns(path)
    except Exception as exc:  # any reader's failure: a truncated or foreign file
        raise ValueError(f"{path.name} cannot be read ({type(exc).__name__})") from None
    known = {c.lower(): c for c in schema.SCHEMAS[name]}
    wrong = [c for c in found if c.lower() in known and c != known[c.lower()]]
    if wrong:
        raise ValueError(f"{path.name} has columns named in another case: {wrong[:3]}")


def _columns(path: Path) -> list[str]:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    with path.open(encoding="utf-8", newline="") as fh:
        return next(csv.reader(fh), [])


def _counts_from_roster(meta: Meta) -> dict[str, Any] | None:
    """For snapshots written before counts were kept: tokens and unfinished at least."""
    try:
        roster = meta.roster()
    except (OSError, ValueError):
        return None
    return {"tokens": len(roster), "unfinished": len(meta.unfinished)}


@dataclass
class Chronic:
    """What stayed broken: ``profiles`` (calendar and conferencing, ``kind`` says which)
    disconnected in every snapshot of the window, and ``tokens`` failing in every one."""

    profiles: pd.DataFrame
    tokens: pd.DataFrame
    weeks: int
    snapshots: int  # in the window

    def __str__(self) -> str:
        head = (
            f"{len(self.profiles)} profiles disconnected and {len(self.tokens)} tokens failing "
            f"in each of the {self.snapshots} snapshots of the last {self.weeks} weeks"
        )
        return head


class History:
    """Snapshots of one folder, oldest first; see the module docstring."""

    def __init__(self, root: Path, entries: list[Entry], engine: str = "auto") -> None:
        self.root = root
        self.entries = entries
        self.choice = engine
        self.engine: Engine = _history_sql.engine(entries, engine)

    def head(self, n: int) -> History:
        """The oldest ``n`` snapshots as a history of their own (``tail`` for the newest)."""
        return History(self.root, self.entries[:n], self.choice)

    def tail(self, n: int) -> History:
        """The newest ``n`` snapshots as a history of their own."""
        return History(self.root, self.entries[-n:], self.choice)

    def __repr__(self) -> str:
        first, last = self.entries[0].taken_at, self.entries[-1].taken_at
        return f"<History {len(self.entries)} snapshots {first:%Y-%m-%d}..{last:%Y-%m-%d}>"

    @property
    def snapshots(self) -> pd.DataFrame:
        """One row per snapshot: when, where, format and its counts (read from the files,
        in one query for all of them, for snapshots written before counts were kept)."""
        uncounted = [e for e in self.entries if "profiles" not in (e.counts or {})]
        counted = self._counted(uncounted) if uncounted else {}
        rows = [
            {
                "taken_at": e.taken_at,
                "path": str(e.path),
                "format": e.fmt,
                **(e.counts or {}),
                **counted.get(e.at, {}),
            }
            for e in self.entries
        ]
        return _with_share(pd.DataFrame(rows))

    def _counted(self, entries: list[Entry]) -> dict[str, dict[str, int]]:
        """Counts of ``entries`` from their files: profiles by state, failed tokens."""
        totals = self._profile_totals(None).set_index("snapshot_at")
        failed = self._failures(None).groupby("snapshot_at")["failed"].sum()
        out = {}
        for entry in entries:
            mine = totals.reindex([entry.at]).fillna(0).iloc[0]
            fails = int(failed.get(entry.at, 0))
            counts = {c: int(mine[c]) for c in PROFILE_COUNTS}
            tokens = int((entry.counts or {}).get("tokens", 0))
            unfinished = int((entry.counts or {}).get("unfinished", 0))
            out[entry.at] = {"ok": tokens - fails - unfinished, "failed": fails, **counts}
        return out

    # -- trend -----------------------------------------------------------------

    def trend(self, by: str | None = None) -> pd.DataFrame:
        """Per snapshot (and ``by`` value): profiles connected, disconnected, in initial
        sync and the disconnected share; with ``by`` None or "data_center" also tokens,
        ok, failed and failed by kind (``failed_<kind>``)."""
        if by is not None and by not in TREND_BY:
            raise ValueError(f"by must be None or one of {', '.join(TREND_BY)}, got {by!r}")
        keys = ["snapshot_at"] + ([by] if by else [])
        profiles = self._profile_totals(by)
        if by not in (None, "data_center"):
            return self._timed(_with_share(profiles.sort_values(keys).reset_index(drop=True)))
        tokens = self._token_totals(by)
        table = tokens.merge(profiles, on=keys, how="outer").fillna(0)
        return self._timed(_with_share(table.sort_values(keys).reset_index(drop=True)))

    def _timed(self, frame: pd.DataFrame) -> pd.DataFrame:
        when = {e.at: e.taken_at for e in self.entries}
        frame["snapshot_at"] = frame["snapshot_at"].map(when)
        counts = [
            c for c in frame.columns if c not in ("snapshot_at", *TREND_BY, "disconnected_pct")
        ]
        return frame.astype({c: "int64" for c in counts})

    def _profile_totals(self, by: str | None) -> pd.DataFrame:
        key = f', "{by}"' if by else ""
        columns = ["profile_connected", "profile_initial_sync_required", *([by] if by else [])]
        sql = (
            f"SELECT snapshot_at{key}, COUNT(*) AS profiles, "
            "SUM(CASE WHEN profile_connected THEN 1 ELSE 0 END) AS connected, "
            "SUM(CASE WHEN profile_connected THEN 0 ELSE 1 END) AS disconnected, "
            "SUM(CASE WHEN profile_initial_sync_required THEN 1 ELSE 0 END) AS initial_sync "
            f"FROM {self.engine.source('profiles', columns)} GROUP BY snapshot_at{key}"
        )
        return self.engine.query(sql)

    def _failures(self, by: str | None) -> pd.DataFrame:
        key = f', "{by}"' if by else ""
        columns = ["token_label", "kind", *([by] if by else [])]
        sql = (
            f"SELECT snapshot_at{key}, kind, COUNT(DISTINCT token_label) AS failed "
            f"FROM {self.engine.source('errors', columns)} GROUP BY snapshot_at{key}, kind"
        )
        return self.engine.query(sql)

    def _token_totals(self, by: str | None) -> pd.DataFrame:
        """Tokens, ok, failed and failed_<kind> per snapshot (and data center)."""
        keys = ["snapshot_at"] + ([by] if by else [])
        failures = self._failures(by)
        wide = failures.pivot_table(index=keys, columns="kind", values="failed", aggfunc="sum")
        wide = wide.rename(columns=lambda k: f"failed_{k}").reset_index()
        rows = []
        for entry in self.entries:
            for group, total in self._token_counts(entry, by).items():
                rows.append(
                    {"snapshot_at": entry.at, **({by: group} if by else {}), "tokens": total}
                )
        table = pd.DataFrame(rows, columns=[*keys, "tokens"]).merge(wide, on=keys, how="left")
        kinds = [c for c in table.columns if c.startswith("failed_")]
        table[kinds] = table[kinds].fillna(0)
        table.insert(len(keys) + 1, "failed", table[kinds].sum(axis=1))
        table.insert(len(keys) + 1, "ok", table["tokens"] - table["failed"])
        return table

    def _token_counts(self, entry: Entry, by: str | None) -> dict[Any, int]:
        counts = entry.counts or {}
        if by is None:
            return {None: int(counts.get("tokens", 0))}
        roster = pd.Series([dc for _, dc in entry.meta.roster()], dtype=object)
        return {str(k): int(v) for k, v in roster.value_counts().items()}

    # -- chronic ---------------------------------------------------------------

    def chronic(self, weeks: int = 4) -> Chronic:
        """Profiles (calendar and conferencing) disconnected in every snapshot taken
        within ``weeks`` weeks before the newest (inclusive; at least two snapshots),
        with since when (the first snapshot of the streak that reaches the newest) and
        the newest relink URL; tokens failing in every one of them, likewise. A snapshot
        in which a profile was not seen (its token failed) ends its streak."""
        if not isinstance(weeks, int) or isinstance(weeks, bool) or weeks < 1:
            raise ValueError(f"weeks must be a whole number of at least 1, got {weeks!r}")
        newest = self.entries[-1].taken_at
        window = [e for e in self.entries if e.taken_at >= newest - pd.Timedelta(weeks=weeks)]
        if len(window) < 2:
            empty = pd.DataFrame(columns=PROFILE_OUT)
            return Chronic(empty, _chronic_tokens(pd.DataFrame(), self.entries), weeks, len(window))
        start = window[0].at
        parts = [
            self._broken("profiles", "calendar", start, len(window)),
            self._broken("conferencing", "conferencing", start, len(window)),
        ]
        profiles = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)
        profiles = profiles.sort_values(["since", "token_label", "profile_id"], kind="stable")
        profiles = profiles.reset_index(drop=True)
        tokens = _chronic_tokens(self._failing(start, len(window)), self.entries)
        return Chronic(profiles, tokens, weeks, len(window))

    def _broken(self, name: str, kind: str, start: str, count: int) -> pd.DataFrame:
        """The profiles disconnected in each of the last ``count`` snapshots (from
        ``start``): every snapshot each was seen in (four columns, for the streak), and
        its details from the newest snapshot only."""
        provider = "provider_service" if name == "profiles" else "provider_name"
        columns = ["token_label", "data_center", "account_id", "profile_id", "profile_name"]
        columns += [provider, "profile_connected", "profile_relink_url"]
        keys = ["token_label", "profile_id", "profile_connected"]
        chronic = (
            "token_label || ' ' || profile_id IN (SELECT token_label || ' ' || profile_id "
            f"FROM {self.engine.source(name, keys, since=start)} WHERE profile_connected = false "
            "GROUP BY token_label, profile_id HAVING COUNT(DISTINCT snapshot_at) = ?)"
        )
        seen = self.engine.query(
            f"SELECT * FROM {self.engine.source(name, keys)} WHERE {chronic}", [count]
        )
        newest = self.entries[-1].at
        details = self.engine.query(
            f"SELECT * FROM {self.engine.source(name, columns, since=newest)} WHERE {chronic}",
            [count],
        )
        details = details.rename(columns={provider: "provider"})
        out = _chronic_profiles(seen.assign(kind=kind), details.assign(kind=kind), self.entries)
        return out

    def _failing(self, start: str, count: int) -> pd.DataFrame:
        recent = self.engine.source("errors", ["token_label"], since=start)
        sql = (
            "SELECT * FROM "
            + self.engine.source("errors", ["token_label", "data_center", "kind"])
            + f" WHERE token_label IN (SELECT token_label FROM {recent} "
            "GROUP BY token_label HAVING COUNT(DISTINCT snapshot_at) = ?)"
        )
        return self.engine.query(sql, [count])

    # -- anything else ---------------------------------------------------------

    def frame(
        self,
        name: str,
        columns: Sequence[str] | None = None,
        where: Mapping[str, Any] | None = None,
    ) -> pd.DataFrame:
        """The frame ``name`` of every snapshot, long, with a ``snapshot_at`` column;
        only ``columns`` (default all) and the rows matching ``where`` (column -> value
        or list of values) are read."""
        if name not in schema.SCHEMAS:
            raise ValueError(f"frame must be one of {', '.join(schema.FRAMES)}, got {name!r}")
        known = schema.SCHEMAS[name]
        chosen = list(columns) if columns is not None else list(known)
        conditions = dict(where or {})
        unknown = [c for c in [*chosen, *conditions] if c not in known]
        if unknown:
            raise ValueError(f"{name} has no column(s) {unknown}: its columns are {list(known)}")
        read = list(dict.fromkeys([*chosen, *conditions]))
        clauses, params = [], []
        for column, wanted in conditions.items():
            values = list(wanted) if isinstance(wanted, list | tuple | set) else [wanted]
            clauses.append(f'"{column}" IN ({", ".join("?" * len(values))})')
            params += [str(v) if not isinstance(v, bool) else v for v in values]
        picked = ", ".join(f'"{c}"' for c in chosen)
        sql = f"SELECT snapshot_at, {picked} FROM {self.engine.source(name, read)}"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        found = self.engine.query(sql + " ORDER BY snapshot_at", params)
        typed = {c: schema.apply_column(found[c], known[c]) for c in chosen}
        when = {e.at: e.taken_at for e in self.entries}
        return pd.DataFrame({"snapshot_at": found["snapshot_at"].map(when), **typed})


def _with_share(frame: pd.DataFrame) -> pd.DataFrame:
    """``disconnected_pct``: disconnected profiles as a percentage of all (one decimal;
    missing without profiles), the same name and unit as in the health report."""
    if "disconnected" in frame.columns and "profiles" in frame.columns:
        profiles = frame["profiles"].where(frame["profiles"] > 0)
        share = (frame["disconnected"] / profiles).astype(float)
        frame["disconnected_pct"] = (share * 100).round(1)
    return frame


PROFILE_OUT = [
    "kind",
    "token_label",
    "data_center",
    "account_id",
    "profile_id",
    "profile_name",
    "provider",
    "since",
    "snapshots",
    "profile_relink_url",
]


def _chronic_profiles(
    seen: pd.DataFrame, details: pd.DataFrame, entries: list[Entry]
) -> pd.DataFrame:
    """One row per chronic profile: its newest details, since when, how many snapshots."""
    if seen.empty:
        return pd.DataFrame(columns=PROFILE_OUT)
    keys = ["kind", "token_label", "profile_id"]
    broken = seen[seen["profile_connected"].astype("boolean").eq(False).fillna(False).to_numpy()]
    newest = details.drop_duplicates(keys)
    return newest.merge(_streaks(broken, keys, entries), on=keys)[PROFILE_OUT]


def _chronic_tokens(seen: pd.DataFrame, entries: list[Entry]) -> pd.DataFrame:
    columns = ["token_label", "data_center", "kind", "since", "snapshots"]
    if seen.empty:
        return pd.DataFrame(columns=columns)
    newest = seen[seen["snapshot_at"] == entries[-1].at].drop_duplicates("token_label")
    out = newest.merge(_streaks(seen, ["token_label"], entries), on="token_label")
    return out[columns].sort_values(["since", "token_label"]).reset_index(drop=True)


def _streaks(rows: pd.DataFrame, keys: list[str], entries: list[Entry]) -> pd.DataFrame:
    """Per key of ``rows`` (one row per snapshot it was seen broken in): the run of
    snapshots ending at the newest, as ``since`` (its first snapshot) and ``snapshots``
    (its length). Sorted newest first, a key's r-th row continues the run while it is
    the r-th snapshot from the end."""
    position = {e.at: i for i, e in enumerate(entries)}
    last = len(entries) - 1
    ranked = rows.drop_duplicates([*keys, "snapshot_at"]).assign(
        _at=lambda f: f["snapshot_at"].map(position)
    )
    ranked = ranked.sort_values([*keys, "_at"], ascending=[True] * len(keys) + [False])
    ranked["_rank"] = ranked.groupby(keys).cumcount()
    ranked["_run"] = ranked["_at"] == last - ranked["_rank"]
    lengths = ranked.groupby(keys)["_run"].sum().rename("snapshots").reset_index()
    lengths["snapshots"] = lengths["snapshots"].astype(int)
    lengths["since"] = [entries[last + 1 - n].taken_at for n in lengths["snapshots"]]
    return lengths


def plot_trend(history: History, by: str | None = None, ax: Any = None) -> Any:
    """The disconnected share of profiles per snapshot (a line per ``by`` value); the Axes."""
    import matplotlib.pyplot as plt  # the notebook extra

    trend = history.trend(by)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    if by is None:
        ax.plot(trend["snapshot_at"], trend["disconnected_pct"], marker="o", label="all")
    else:
        for value, group in trend.groupby(by, dropna=False):
            ax.plot(
                group["snapshot_at"],
                group["disconnected_pct"],
                marker="o",
                label=plain_label(value),
            )
    ax.set_ylabel("disconnected profiles, %")
    ax.set_title("Disconnected profiles" + (f" by {by.replace('_', ' ')}" if by else ""))
    ax.legend(loc="best", fontsize="small")
    ax.figure.autofmt_xdate()
    return ax
