"""Writing frames to files atomically: a crash never leaves a half-written file."""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pandas as pd

from .credentials import Token

__all__ = ["RefreshedTokenWriter", "atomic_path", "write_csv"]

FRAMES = ("profiles", "accounts", "errors")


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


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` as UTF-8 CSV (no index, ISO timestamps) atomically; the path written."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ")
    return Path(path)


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
