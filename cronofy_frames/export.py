"""Writing frames to files atomically: a crash never leaves a half-written file."""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pandas as pd

from . import schema
from .credentials import Token

__all__ = ["PartsFolder", "RefreshedTokenWriter", "atomic_path", "read_csv_frame", "write_csv"]

FRAMES = ("profiles", "accounts", "calendars", "errors")
NA = "\\N"  # the NA marker of files read back by the toolkit: "" stays an empty string


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` that replaces it only if the block succeeds."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def write_csv(df: pd.DataFrame, path: str | Path, na_rep: str = "") -> Path:
    """Write ``df`` as UTF-8 CSV (no index, ISO timestamps) atomically; the path written."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ", na_rep=na_rep)
    return Path(path)


def read_csv_frame(path: str | Path, name: str) -> pd.DataFrame:
    """A CSV written with ``na_rep=NA`` read back with the frame's exact dtypes."""
    frame_schema = schema.SCHEMAS[name]
    text = {
        c: "string"
        for c, dtype in frame_schema.items()
        if dtype in (schema.STRING, schema.UTC, schema.KIND)
    }
    typed = {
        c: str(dtype) for c, dtype in frame_schema.items() if dtype in (schema.BOOLEAN, schema.INT)
    }
    raw = pd.read_csv(path, dtype={**text, **typed}, keep_default_na=False, na_values=[NA])
    return schema.apply_dtypes(frame_schema, raw)


class PartsFolder:
    """Chunks of a long load, written as they finish, so a rerun can resume.

    Chunk ``n`` is ``{n}-{frame}.csv`` for each frame, then ``{n}-done.csv`` (the labels
    it finished), each written atomically; a chunk without its done file never counts.
    """

    def __init__(self, out: str | Path) -> None:
        self.folder = Path(out) / ".parts"

    def _committed(self) -> list[str]:
        if not self.folder.exists():
            return []
        return sorted(p.name.split("-")[0] for p in self.folder.glob("*-done.csv"))

    def done_labels(self) -> set[str]:
        """Labels of the tokens finished by earlier runs."""
        return {
            label
            for n in self._committed()
            for label in pd.read_csv(
                self.folder / f"{n}-done.csv", dtype="string", keep_default_na=False
            )["token_label"]
        }

    def write(self, frames: dict[str, pd.DataFrame]) -> None:
        """Commit one chunk of frames."""
        self.folder.mkdir(parents=True, exist_ok=True)
        n = f"{len(self._committed()):06d}"
        for name in FRAMES:
            write_csv(frames[name], self.folder / f"{n}-{name}.csv", na_rep=NA)
        labels = pd.concat([frames["accounts"]["token_label"], frames["errors"]["token_label"]])
        done = pd.DataFrame({"token_label": labels.drop_duplicates()})
        write_csv(done, self.folder / f"{n}-done.csv")

    def merged(self) -> dict[str, pd.DataFrame]:
        """Every committed chunk, frame by frame, with exact dtypes."""
        out = {}
        for name in FRAMES:
            parts = [
                read_csv_frame(self.folder / f"{n}-{name}.csv", name) for n in self._committed()
            ]
            out[name] = (
                pd.concat(parts, ignore_index=True) if parts else schema.empty(schema.SCHEMAS[name])
            )
        return out

    def remove(self) -> None:
        """Delete the parts once the final files are written."""
        shutil.rmtree(self.folder, ignore_errors=True)


def write_frames_csv(frames: dict[str, pd.DataFrame], directory: str | Path) -> list[Path]:
    """Write ``{name}.csv`` for each frame into ``directory`` (created if missing)."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    return [write_csv(df, folder / f"{name}.csv") for name, df in frames.items()]


class RefreshedTokenWriter:
    """Appends each refreshed token to a CSV (mode 0600) the moment it arrives.

    Use as ``on_refresh``: the row is flushed and fsynced before the load goes on, so
    a crash right after a refresh cannot lose a rotated refresh token.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.count = 0
        self._lock = threading.Lock()
        self._fh: IO[str] | None = None

    def __call__(self, token: Token) -> None:
        with self._lock:
            fh = self._open()
            csv.writer(fh).writerow(
                [token.label, token.base_url, token.access_token, token.refresh_token or ""]
            )
            fh.flush()
            os.fsync(fh.fileno())
            self.count += 1

    def _open(self) -> IO[str]:
        if self._fh is None:
            fresh = not self.path.exists()
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._fh = os.fdopen(fd, "a", newline="", encoding="utf-8")
            if fresh:
                csv.writer(self._fh).writerow(
                    ["label", "data_center", "access_token", "refresh_token"]
                )
        return self._fh

    def close(self) -> None:
        """Close the file if it was opened."""
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None
