"""The snapshot and its folder: ``Snapshot``, its metadata, its counts, folder naming,
unfinished-run detection, and reading a folder back (``read_snapshot``).

A snapshot folder holds one file per frame (``profiles.csv`` ... or ``.parquet``: how
frames become files is ``export.py``'s concern), ``roster.json`` (the label and data
center of every token, in load order; no secret) and, written last, ``snapshot.json``::

    {"format": 2, "files": "csv", "cronofy_frames": "0.3.0",
     "taken_at": "2026-11-23T06:00:00+00:00", "written_at": "...",
     "counts": {"tokens": 10000, "ok": 9990, ...}, "unfinished": []}

``format`` is an integer, raised whenever the layout changes, independent of the
package version; every older format reads as today's. Format 1 (0.1.x): ``"format"``
named the files (``"csv"``), the roster sat inside ``snapshot.json`` (written last in
it), and ``counts`` came later still (a history rebuilds what is missing).

This module knows nothing of HTTP: health, diff and history import it, not the loader.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import schema
from ._version import __version__
from .credentials import Token

__all__ = [
    "FORMAT",
    "META",
    "PARTS",
    "ROSTER",
    "Meta",
    "Snapshot",
    "Tally",
    "folder_time",
    "read_meta",
    "read_snapshot",
    "snapshot_counts",
    "snapshot_folder",
    "unfinished_folders",
    "write_meta",
]

FORMAT = 2  # the folder layout; raised whenever it changes (not the package version)
META = "snapshot.json"
ROSTER = "roster.json"
PARTS = ".parts"  # an interrupted folder run's finished chunks (see runs.py)
FILES = ("csv", "parquet")
FOLDER_TIME = "%Y-%m-%dT%H-%M-%SZ"  # a snapshot folder's name: its UTC time, no colons
MAX_META_BYTES = 1 << 20  # snapshot.json holds counts, not rows: a larger one is not ours


# -- counts ------------------------------------------------------------------------------


def snapshot_counts(
    *,
    tokens: int,
    failed: int,
    unfinished: int,
    profiles: int,
    disconnected: int,
    initial_sync: int,
) -> dict[str, int]:
    """The counts ``snapshot.json`` keeps (``ok`` is what neither failed nor is unfinished)."""
    return {
        "tokens": tokens,
        "ok": tokens - failed - unfinished,
        "failed": failed,
        "unfinished": unfinished,
        "profiles": profiles,
        "connected": profiles - disconnected,
        "disconnected": disconnected,
        "initial_sync": initial_sync,
    }


@dataclass
class Tally:
    """The counts of a snapshot's frames, gathered a chunk at a time: the one counter
    behind ``Snapshot.counts``, a folder run's counts and the CLI's summary."""

    accounts: int = 0
    profiles: int = 0
    disconnected: int = 0
    syncing: int = 0
    calendars: int = 0
    conferencing: int = 0
    failed_labels: set[str] = field(default_factory=set, repr=False)

    def add(self, name: str, frame: pd.DataFrame) -> None:
        """Count one chunk of the frame ``name``."""
        if name == "profiles":
            self.disconnected += int(frame["profile_connected"].eq(False).sum())
            self.syncing += int(frame["profile_initial_sync_required"].eq(True).sum())
        if name == "errors":
            self.failed_labels.update(frame["token_label"].dropna().astype(str))
        else:
            setattr(self, name, getattr(self, name) + len(frame))

    def counts(self, tokens: int, unfinished: int) -> dict[str, int]:
        """What ``snapshot.json`` keeps, for ``tokens`` tokens of which ``unfinished``."""
        return snapshot_counts(
            tokens=tokens,
            failed=len(self.failed_labels),
            unfinished=unfinished,
            profiles=self.profiles,
            disconnected=self.disconnected,
            initial_sync=self.syncing,
        )

    @classmethod
    def of(cls, snap: Snapshot) -> Tally:
        """The counts of a snapshot in memory."""
        tally = cls()
        for name, frame in snap.frames().items():
            tally.add(name, frame)
        return tally


# -- the snapshot ------------------------------------------------------------------------


@dataclass
class Snapshot:
    """The frames of one load, and the tokens as they are after it (refreshed pairs included).

    ``calendars`` and ``conferencing`` (Zoom, GoTo ... connections) are filled when
    /v1/userinfo served the tokens. ``unfinished`` lists the labels of tokens an
    interrupted load did not finish. A snapshot read back from files
    (:func:`read_snapshot`) has no tokens, only their labels (``roster``). Its repr
    shows no secret, but a pickle of it holds the tokens whole.
    """

    profiles: pd.DataFrame
    accounts: pd.DataFrame
    errors: pd.DataFrame
    tokens: list[Token] = field(repr=False)
    calendars: pd.DataFrame = field(default_factory=lambda: schema.empty(schema.CALENDARS))
    unfinished: list[str] = field(default_factory=list)
    saved_roster: list[tuple[str, str]] | None = field(default=None, repr=False)
    conferencing: pd.DataFrame = field(
        default_factory=lambda: schema.empty(schema.CONFERENCING), repr=False
    )
    taken_at: pd.Timestamp | None = field(default=None, repr=False)  # when the load began

    @classmethod
    def from_frames(
        cls,
        frames: Mapping[str, pd.DataFrame],
        tokens: Iterable[Token] = (),
        unfinished: Iterable[str] = (),
        roster: list[tuple[str, str]] | None = None,
    ) -> Snapshot:
        """A snapshot from its frames by name (``schema.FRAMES``; a missing one is empty)."""
        get = {name: frames.get(name) for name in schema.FRAMES}
        full = {n: f if f is not None else schema.empty(schema.SCHEMAS[n]) for n, f in get.items()}
        return cls(
            full["profiles"],
            full["accounts"],
            full["errors"],
            list(tokens),
            full["calendars"],
            list(unfinished),
            roster,
            full["conferencing"],
        )

    def frames(self) -> dict[str, pd.DataFrame]:
        """The frames by name: profiles, accounts, calendars, conferencing, errors."""
        return {name: getattr(self, name) for name in schema.FRAMES}

    def roster(self) -> list[tuple[str, str]]:
        """(label, data center) of every token, in load order; no secret."""
        if self.tokens or self.saved_roster is None:
            return [(t.label, t.data_center) for t in self.tokens]
        return self.saved_roster

    def meta(self, counts: Mapping[str, int] | None = None) -> dict[str, Any]:
        """What ``snapshot.json`` says (see the module docstring), without ``format`` and
        ``files``, which :func:`write_meta` adds; ``counts`` given, or from the frames."""
        return {
            "cronofy_frames": __version__,
            "taken_at": (self.taken_at if self.taken_at is not None else _now()).isoformat(),
            "written_at": _now().isoformat(),
            "counts": dict(counts) if counts is not None else self.counts(),
            "unfinished": self.unfinished,
        }

    def counts(self) -> dict[str, int]:
        """Tokens (ok, failed, unfinished) and profiles (connected, disconnected, in
        initial sync), as ``snapshot.json`` keeps them."""
        return Tally.of(self).counts(len(self.roster()), len(self.unfinished))

    def to_csv(self, directory: str | Path) -> list[Path]:
        """Write profiles.csv, accounts.csv, calendars.csv, conferencing.csv, errors.csv,
        roster.json and snapshot.json. Each file is written atomically;
        :func:`read_snapshot` restores every dtype."""
        return self._write(directory, "csv")

    def to_parquet(self, directory: str | Path) -> list[Path]:
        """Like :meth:`to_csv`, as Parquet (needs pyarrow: the ``parquet`` extra)."""
        return self._write(directory, "parquet")

    def _write(self, directory: str | Path, files: str) -> list[Path]:
        from .export import write_frames  # frames to files: below this module

        paths = write_frames(self.frames(), directory, files)
        return [*paths, *write_meta(self.meta(), self.roster(), Path(directory), files)]

    def to_excel(self, path: str | Path) -> Path:
        """One workbook, a sheet per frame (needs openpyxl: the ``excel`` extra)."""
        from .export import write_excel

        return write_excel(self.frames(), path)

    @property
    def complete(self) -> bool:
        """Whether every token was finished (it may still have failed)."""
        return not self.unfinished

    def __repr__(self) -> str:
        failed = self.errors["token_label"].nunique()
        tail = f" unfinished={len(self.unfinished)}" if self.unfinished else ""
        return (
            f"<Snapshot tokens={len(self.tokens)} accounts={len(self.accounts)} "
            f"profiles={len(self.profiles)} calendars={len(self.calendars)} "
            f"failed_tokens={failed}{tail}>"
        )


# -- the folder's metadata ---------------------------------------------------------------


@dataclass(frozen=True)
class Meta:
    """What ``snapshot.json`` says about a snapshot folder, in today's terms whatever
    format wrote it. ``roster()`` reads the roster only when asked."""

    folder: Path
    format: int
    files: str
    taken_at: pd.Timestamp | None
    counts: dict[str, Any] | None
    unfinished: list[str]
    version: str
    inline_roster: list[Any] | None = field(default=None, repr=False)  # format 1

    def roster(self) -> list[tuple[str, str]]:
        """(label, data center) of every token, in load order."""
        raw = self.inline_roster
        if raw is None:
            path = self.folder / ROSTER
            raw = _json(path, path.read_bytes()) if path.exists() else []
        if not isinstance(raw, list):
            raise ValueError(f"{self.folder / ROSTER} is not a list of [label, data_center]")
        return [(str(item[0]), str(item[1])) for item in raw if _pair(item)]


def write_meta(
    meta: Mapping[str, Any], roster: list[tuple[str, str]], folder: Path, files: str
) -> list[Path]:
    """Write ``roster.json``, then ``snapshot.json`` (last: a folder with it is complete),
    each atomically; the paths."""
    from .export import atomic_path

    head = {"format": FORMAT, "files": files, **meta}
    paths = []
    for name, content in ((ROSTER, [list(pair) for pair in roster]), (META, head)):
        with atomic_path(folder / name) as tmp, tmp.open("w", encoding="utf-8") as fh:
            json.dump(content, fh, indent=None if name == ROSTER else 1)
        paths.append(folder / name)
    return paths


def read_meta(folder: str | Path) -> Meta:
    """The metadata of a snapshot folder; ValueError naming the folder when it holds no
    ``snapshot.json`` or one that is not a snapshot's (too large, nested, mistyped)."""
    path = Path(folder) / META
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_META_BYTES + 1)
            if len(data) > MAX_META_BYTES:
                if _version_of(data) >= FORMAT:
                    raise ValueError(f"{str(path)!r} is larger than a snapshot's metadata")
                data += fh.read()  # format 1 kept the roster inside
    except FileNotFoundError:
        raise ValueError(f"{str(folder)!r} holds no {META}: not a snapshot folder") from None
    except OSError as exc:
        raise ValueError(f"cannot read {str(path)!r}: {exc.strerror}") from None
    return _meta(Path(folder), _json(path, data))


def _version_of(data: bytes) -> int:
    """The integer format of a ``snapshot.json``'s text, or 1 (its roster was inside)."""
    return FORMAT if b'"format": ' + str(FORMAT).encode() in data[:200] else 1


def _json(path: Path, data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ValueError(f"{str(path)!r} is not valid JSON") from None


def _meta(folder: Path, raw: object) -> Meta:
    if not isinstance(raw, dict):
        raise ValueError(f"{str(folder / META)!r} is not a snapshot's metadata")
    fmt, files = raw.get("format"), raw.get("files")
    if isinstance(fmt, str):  # format 1: "format" named the files
        fmt, files = 1, fmt
    if not isinstance(fmt, int) or files not in FILES:
        raise ValueError(f"{str(folder / META)!r} names an unknown format {fmt!r} / {files!r}")
    counts = raw.get("counts")
    unfinished = raw.get("unfinished")
    return Meta(
        folder=folder,
        format=fmt,
        files=str(files),
        taken_at=taken_at(raw),
        counts=counts if isinstance(counts, dict) else None,
        unfinished=[str(u) for u in unfinished] if isinstance(unfinished, list) else [],
        version=str(raw.get("cronofy_frames", "")),
        inline_roster=raw.get("roster") if fmt == 1 else None,
    )


def _pair(item: object) -> bool:
    return isinstance(item, list | tuple) and len(item) == 2


def taken_at(meta: Mapping[str, Any]) -> pd.Timestamp | None:
    """When a written snapshot was taken: ``taken_at``, or for files written before it
    existed, ``written_at``; None when neither reads as a time."""
    for key in ("taken_at", "written_at"):
        try:
            return pd.Timestamp(meta[key]).tz_convert("UTC")
        except (KeyError, ValueError, TypeError):
            continue
    return None


def read_snapshot(directory: str | Path) -> Snapshot:
    """A snapshot written by ``to_csv`` or ``to_parquet`` (or ``cronofy-frames load``),
    with every dtype restored, in any folder format."""
    from .export import read_frames

    meta = read_meta(directory)
    frames = read_frames(directory, meta.files)
    snap = Snapshot.from_frames(frames, (), meta.unfinished, meta.roster())
    snap.taken_at = meta.taken_at
    return snap


# -- folders -----------------------------------------------------------------------------


def snapshot_folder(root: str | Path, when: pd.Timestamp | None = None) -> Path:
    """A new, empty folder for a snapshot taken ``when`` (now by default) under ``root``;
    never an existing one (``FileExistsError`` rather than overwriting)."""
    stamp = (when if when is not None else _now()).tz_convert("UTC")
    folder = Path(root) / stamp.strftime(FOLDER_TIME)
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.mkdir(exist_ok=False)
    return folder


def folder_time(folder: Path) -> pd.Timestamp | None:
    """The UTC time a snapshot folder is named by, or None."""
    try:
        return pd.Timestamp(pd.to_datetime(folder.name, format=FOLDER_TIME, utc=True))
    except ValueError:
        return None


def unfinished_folders(root: str | Path) -> list[Path]:
    """The folders under ``root`` that an interrupted run left unfinished (its parts, and
    no ``snapshot.json`` yet), oldest name first."""
    base = Path(root)
    if not base.is_dir():
        return []
    found = [p for p in base.iterdir() if (p / PARTS).is_dir() and not (p / META).exists()]
    return sorted(found)


def _now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC")
