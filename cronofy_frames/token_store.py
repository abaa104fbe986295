"""The token store: a tokens CSV and the refreshed-pairs file beside it.

A refresh may rotate the refresh token, so the pair a load gets back is the only one
that still works. Wherever the toolkit refreshes on behalf of a tokens CSV it appends
the new pair, at once, to ``{csv}.refreshed.csv`` (0600); wherever it reads a tokens CSV
it applies the newest pair of each label from that file, and says how many. So the CLI,
a script and the notebook always agree on the current pairs.

    tokens = cf.tokens_from_csv("tokens.csv")               # newest pairs applied
    snap = cf.load(tokens, credentials=creds, on_refresh=cf.refreshed_file("tokens.csv"))
    cf.tokens_to_csv(snap.tokens, "tokens-now.csv")         # a clean copy, 0600, atomic
"""

from __future__ import annotations

import csv
import io
import os
import stat
import threading
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from .credentials import Token, csv_rows, read_csv_file, tokens_from_csv_text

__all__ = [
    "RefreshedTokenWriter",
    "RefreshedTokensApplied",
    "apply_refreshed",
    "check_private_file",
    "read_tokens",
    "refreshed_file",
    "refreshed_path",
    "tokens_from_csv",
    "tokens_to_csv",
]

HEADER = ["label", "data_center", "access_token", "refresh_token"]


class RefreshedTokensApplied(UserWarning):
    """Reading a tokens CSV applied newer pairs from the refreshed-pairs file beside it."""


def refreshed_path(tokens_csv: str | Path) -> Path:
    """Where refreshed pairs of ``tokens_csv`` are kept: ``{tokens_csv}.refreshed.csv``."""
    return Path(f"{tokens_csv}.refreshed.csv")


def refreshed_file(tokens_csv: str | Path) -> RefreshedTokenWriter:
    """An ``on_refresh`` that appends each new pair to the file beside ``tokens_csv``."""
    return RefreshedTokenWriter(refreshed_path(tokens_csv))


def tokens_from_csv(path: str | Path) -> list[Token]:
    """Read tokens from a CSV with ``access_token`` and optional label, data_center,
    refresh_token, with the newest pair of each label from ``{path}.refreshed.csv``
    applied (a ``RefreshedTokensApplied`` warning says how many).

    A UTF-8 byte-order mark, blank lines and extra columns are fine; rows are counted
    as in a spreadsheet (the header is row 1).
    """
    tokens, applied = read_tokens(path)
    if applied:
        warnings.warn(
            f"applied the newest pairs of {applied} tokens from {refreshed_path(path)}",
            RefreshedTokensApplied,
            stacklevel=2,
        )
    return tokens


def read_tokens(path: str | Path, refreshed: str | Path | None = None) -> tuple[list[Token], int]:
    """The tokens of ``path`` with the newest pairs of ``refreshed`` (by default the file
    beside it) applied, and how many were applied."""
    tokens = tokens_from_csv_text(read_csv_file(path), str(path))
    return apply_refreshed(tokens, Path(refreshed or refreshed_path(path)))


def apply_refreshed(tokens: list[Token], path: Path) -> tuple[list[Token], int]:
    """``tokens`` with the newest pair of each label found in ``path``; and how many."""
    if not path.exists():
        return tokens, 0
    header, rows = csv_rows(read_csv_file(path), str(path))
    if header is None:
        return tokens, 0  # empty: nothing refreshed yet
    if not {"label", "access_token"} <= set(header):
        raise ValueError(f"{path} is not a refreshed-pairs file: no label and access_token")
    latest = {row["label"]: row for row in rows if row.get("label")}
    out, applied = [], 0
    for token in tokens:
        row = latest.get(token.label)
        fresh = _newer(token, row, path) if row else None
        applied += fresh is not None
        out.append(fresh or token)
    return out, applied


def _newer(token: Token, row: dict[str, str], path: Path) -> Token | None:
    pair = (row["access_token"], row.get("refresh_token") or None)
    if pair == (token.access_token, token.refresh_token):
        return None  # the tokens CSV is already current
    try:
        return token.with_pair(*pair)
    except ValueError as exc:
        raise ValueError(f"{path}, token {token.label!r}: {exc}") from None


def tokens_to_csv(tokens: Iterable[Token], path: str | Path) -> Path:
    """Write ``label,data_center,access_token,refresh_token,base_url`` for ``tokens``
    (for example ``snap.tokens``) atomically, readable by you only (0600); the path.
    ``base_url`` is blank except for tokens bound to a sandbox."""
    target = Path(path)
    check_private_file(target)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow([*HEADER, "base_url"])
    writer.writerows(
        [t.label, t.data_center, t.access_token, t.refresh_token or "", t.override or ""]
        for t in tokens
    )
    tmp = target.with_name(f".{target.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        fh.write(text.getvalue())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    return target


class RefreshedTokenWriter:
    """Appends each refreshed token to a CSV (mode 0600) the moment it arrives.

    Use as ``on_refresh``: the row is flushed and fsynced before the load goes on, so
    a crash right after a refresh cannot lose a rotated refresh token.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        check_private_file(self.path)  # before any request: a refusal must come first
        self.count = 0
        self._lock = threading.Lock()
        self._fh: IO[str] | None = None

    def __call__(self, token: Token) -> None:
        with self._lock:
            fh = self._open()
            csv.writer(fh).writerow(
                [token.label, token.data_center, token.access_token, token.refresh_token or ""]
            )
            fh.flush()
            os.fsync(fh.fileno())
            self.count += 1

    def _open(self) -> IO[str]:
        if self._fh is None:
            flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(self.path, flags, 0o600)
            try:
                fresh = _private(os.fstat(fd), self.path) == 0
                os.fchmod(fd, 0o600)
            except BaseException:
                os.close(fd)
                raise
            self._fh = os.fdopen(fd, "a", newline="", encoding="utf-8")
            if fresh:
                csv.writer(self._fh).writerow(HEADER)
        return self._fh

    def close(self) -> None:
        """Close the file if it was opened."""
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None


def check_private_file(path: Path) -> None:
    """Refuse a path that is a symbolic link, not a regular file, or another user's;
    make an existing file readable by its owner only (0600)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    _private(info, path)
    if stat.S_IMODE(info.st_mode) != 0o600:
        os.chmod(path, 0o600, follow_symlinks=False)


def _private(info: os.stat_result, path: Path) -> int:
    """The file's size, after checking that it may hold tokens; ValueError naming it."""
    if stat.S_ISLNK(info.st_mode):
        raise ValueError(f"{str(path)!r} is a symbolic link: tokens are never written through one")
    if not stat.S_ISREG(info.st_mode):
        raise ValueError(f"{str(path)!r} is not a regular file: tokens cannot be written to it")
    if info.st_uid != os.getuid():
        raise ValueError(
            f"{str(path)!r} belongs to another user (uid {info.st_uid}): "
            "tokens are never written into it"
        )
    return info.st_size
