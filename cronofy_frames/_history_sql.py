"""The two SQL engines of a history (``history.py`` asks, these answer): DuckDB over the
files where they lie (the ``history`` extra), or SQLite over the frames read with pandas.
File paths reach SQL only as quoted literals in a list; values only as bound parameters.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import warnings
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from . import schema
from .export import read_frame
from .snapshot import Meta

__all__ = ["Engine", "Entry", "HistoryWarning", "engine"]

PANDAS_SNAPSHOTS = 12  # more snapshots than this without DuckDB: a warning


class HistoryWarning(UserWarning):
    """A history read without DuckDB is large: install ``cronofy-frames[history]``."""


@dataclass(frozen=True)
class Entry:
    """One snapshot of a history: its folder, time, format and counts (if recorded)."""

    path: Path
    taken_at: pd.Timestamp
    fmt: str
    counts: Mapping[str, Any] | None
    meta: Meta

    @property
    def at(self) -> str:
        """The time as the queries compare it (ISO 8601, UTC, fixed width)."""
        return self.taken_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Engine(Protocol):
    """What the summaries need of an engine: a frame as SQL, and running SQL."""

    def source(self, name: str, columns: Sequence[str], since: str = "") -> str: ...
    def query(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame: ...


def engine(entries: list[Entry], choice: str) -> Engine:
    """DuckDB over the files (``auto`` when installed, or ``duckdb``), else SQLite."""
    if choice not in ("auto", "duckdb", "pandas"):
        raise ValueError(f"engine must be 'auto', 'duckdb' or 'pandas', got {choice!r}")
    if choice != "pandas":
        try:
            return _DuckDB(entries)
        except ImportError:
            if choice == "duckdb":
                raise ImportError(
                    "DuckDB is not installed: pip install 'cronofy-frames[history]'"
                ) from None
    if len(entries) > PANDAS_SNAPSHOTS:
        warnings.warn(
            f"{len(entries)} snapshots read with pandas (all their frames in memory): "
            "pip install 'cronofy-frames[history]' to summarise them with DuckDB where "
            "the files lie",
            HistoryWarning,
            stacklevel=3,
        )
    return _Pandas(entries)


def _cast(column: str, frame: str, csv: bool = False) -> str:
    """A column as the queries see it: flags as booleans, everything else as text (from
    CSV without the quote the export puts before text a spreadsheet would run)."""
    dtype = schema.SCHEMAS[frame].get(column)
    quoted = f'"{column}"'
    if dtype is schema.BOOLEAN:
        return f"TRY_CAST({quoted} AS BOOLEAN) AS {quoted}"
    text = f"CAST({quoted} AS VARCHAR)"
    if csv and dtype is schema.STRING:
        restored = f"CASE WHEN starts_with({text}, chr(39)) THEN substr({text}, 2) ELSE {text} END"
        return f"{restored} AS {quoted}"
    return f"{text} AS {quoted}"


class _DuckDB:
    """SQL over the files where they lie: only the columns asked for are read."""

    def __init__(self, entries: list[Entry]) -> None:
        import duckdb  # the history extra

        self.entries = entries
        self.db = duckdb.connect()
        # DuckDB reads every path as a glob pattern (a folder named "*" matches them
        # all): it is given links of our own naming, in a private folder, instead
        self.links = Path(tempfile.mkdtemp(prefix="cronofy-history-"))
        weakref.finalize(self, shutil.rmtree, self.links, True)
        files: list[tuple[str, str, str]] = []
        for e in entries:
            for name in schema.FRAMES:
                real = e.path / f"{name}.{e.fmt}"
                if real.is_file():
                    link = self.links / f"{len(files)}.{e.fmt}"
                    link.symlink_to(real.resolve())
                    files.append((str(link), e.at, name))
        frame = pd.DataFrame(files, columns=["cf_source_file", "snapshot_at", "frame"])
        self.db.register("snapshot_files", frame)
        self.files = {name: frame[frame["frame"] == name] for name in schema.FRAMES}

    def source(self, name: str, columns: Sequence[str], since: str = "") -> str:
        """The frame ``name`` of every snapshot (taken at ``since`` or later) as SQL."""
        parts = []
        files = self.files[name]
        files = files[files["snapshot_at"] >= since]
        for fmt, reader in (("parquet", "read_parquet"), ("csv", "read_csv")):
            paths = [p for p in files["cf_source_file"] if p.endswith(f".{fmt}")]
            if not paths:
                continue
            listed = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
            # CSV: every value text, and a quoted empty string stays one (as pandas reads it)
            extra = ", all_varchar=true, header=true, allow_quoted_nulls=false"
            picked = ", ".join(_cast(c, name, csv=fmt == "csv") for c in columns)
            parts.append(
                f"SELECT f.snapshot_at, {picked} FROM {reader}([{listed}], "
                f"filename='cf_source_file', union_by_name=true{extra if fmt == 'csv' else ''}) t "
                "JOIN snapshot_files f ON t.cf_source_file = f.cf_source_file"
            )
        if not parts:
            nulls = ", ".join(f'NULL AS "{c}"' for c in columns)
            return f"(SELECT NULL AS snapshot_at, {nulls} WHERE false)"
        return "(" + " UNION ALL BY NAME ".join(parts) + ")"

    def query(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        result: pd.DataFrame = self.db.execute(sql, list(params)).df()
        return result


class _Pandas:
    """The same SQL, run by SQLite over the frames read with pandas (small histories)."""

    def __init__(self, entries: list[Entry]) -> None:
        self.entries = entries
        self.db = sqlite3.connect(":memory:")
        self.loaded: set[str] = set()

    def source(self, name: str, columns: Sequence[str], since: str = "") -> str:
        """The frame ``name`` of every snapshot (taken at ``since`` or later) as SQL."""
        if name not in self.loaded:
            frames = [self._read(e, name).assign(snapshot_at=e.at) for e in self.entries]
            both = pd.concat(frames, ignore_index=True)
            _for_sqlite(both).to_sql(name, self.db, index=False)
            self.loaded.add(name)
        picked = ", ".join(f'"{c}"' for c in columns)
        since_clause = f" WHERE snapshot_at >= '{since}'" if since else ""  # our own ISO text
        return f"(SELECT snapshot_at, {picked} FROM {name}{since_clause})"

    @staticmethod
    def _read(entry: Entry, name: str) -> pd.DataFrame:
        return read_frame(entry.path / f"{name}.{entry.fmt}", name, entry.fmt)

    def query(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        return pd.read_sql_query(sql, self.db, params=list(params))


def _for_sqlite(frame: pd.DataFrame) -> pd.DataFrame:
    """Text as text, flags as 0/1/NULL, times as ISO text: what SQLite stores."""
    out = {}
    for column in frame.columns:
        values = frame[column]
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            out[column] = values.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ").astype(object)
        elif isinstance(values.dtype, pd.BooleanDtype):
            out[column] = values.astype("Int64").astype(object).where(values.notna(), None)
        else:
            out[column] = values.astype(object).where(values.notna(), None)
    return pd.DataFrame(out)
