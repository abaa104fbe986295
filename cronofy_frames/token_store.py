"""The token store: every reader and writer of tokens and client credentials, the one
owner of secrets on disk.

**Reading.** A tokens CSV, a DataFrame or the environment become checked ``Token``s; a
credentials CSV or the environment, ``ClientCredentials``. Every problem is one
``ValueError`` naming the file, row and column; a value is quoted only by
``data_centers.describe``'s rule, and a header row only as far as it holds known column
names (a headerless file's first row holds tokens).

**The refreshed-pairs file.** A refresh may rotate the refresh token, so the pair a load
gets back is the only one that still works. Wherever the toolkit refreshes on behalf of
a tokens CSV it appends each new pair at once to ``{csv}.refreshed.csv`` (0600): one
complete line in one ``write`` on an ``O_APPEND`` descriptor, fsynced. A line records the
label, the data center and sandbox URL, the fingerprint of the pair it replaced, and a
check over the line. Reading a tokens CSV applies a stored pair only where label, data
center, sandbox URL *and* replaced pair all match the token in hand (following a chain
of refreshes); anything else is ignored, and a cut-short or damaged line skipped, and
both are counted. A pair that cannot be appended (a full disk) is kept in memory and
written to a fallback file beside it, ``{csv}.refreshed.csv.unsaved-{time}.csv``, which
reading applies like the file itself.

**Writing.** ``tokens_to_csv`` and every other secret-bearing file go through a random
temporary name created with ``O_EXCL|O_NOFOLLOW`` and mode 0600 in the target folder,
fsync, rename and an fsync of the folder; a symbolic link or another user's file is
refused.

    tokens = cf.tokens_from_csv("tokens.csv")               # newest pairs applied
    snap = cf.load(tokens, credentials=creds, on_refresh=cf.refreshed_writer("tokens.csv"))
    cf.tokens_to_csv(snap.tokens, "tokens-now.csv")         # a clean copy, 0600, atomic
"""

from __future__ import annotations

import csv
import datetime as dt
import errno
import hashlib
import io
import os
import secrets
import stat
import tempfile
import threading
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ._exceptions import PairNotSaved, RefreshedPairsIgnored, RefreshedTokensApplied
from ._redact import pair_fingerprint
from .credentials import ClientCredentials, FieldError, Token, blank, checked, unique_tokens
from .data_centers import bind, resolve

__all__ = [
    "KNOWN_COLUMNS",
    "PAIR_COLUMNS",
    "TOKEN_COLUMNS",
    "RefreshedTokenWriter",
    "StoreRead",
    "apply_refreshed",
    "check_private_file",
    "credentials_from_csv",
    "credentials_from_csv_text",
    "credentials_from_env",
    "describe_header",
    "read_csv_file",
    "read_tokens",
    "refreshed_path",
    "refreshed_writer",
    "tokens_from_csv",
    "tokens_from_csv_text",
    "tokens_from_env",
    "tokens_from_frame",
    "tokens_to_csv",
    "write_private",
]

TOKEN_COLUMNS = ("label", "data_center", "access_token", "refresh_token", "base_url")
CREDENTIAL_COLUMNS = ("data_center", "client_id", "client_secret")
PAIR_COLUMNS = (
    "label",
    "data_center",
    "base_url",
    "access_token",
    "refresh_token",
    "replaces",  # the fingerprint of the pair this one replaced
    "check",  # over the fields before it: a cut-short or spliced line fails it
)
LEGACY_PAIR_COLUMNS = ("label", "data_center", "access_token", "refresh_token")
KNOWN_COLUMNS = frozenset({*TOKEN_COLUMNS, *CREDENTIAL_COLUMNS, *PAIR_COLUMNS})
UNSAVED = ".unsaved-"  # {refreshed file}{UNSAVED}{time}.csv: pairs a full disk refused


# -- reading CSV text -----------------------------------------------------------------


def read_csv_file(path: str | Path) -> str:
    """The text of a UTF-8 CSV file; one ValueError naming the file if it cannot be read."""
    try:
        data = Path(path).read_bytes()
    except IsADirectoryError:
        raise ValueError(f"{str(path)!r} is a folder, not a CSV file") from None
    except OSError as exc:
        raise ValueError(f"cannot read {str(path)!r}: {exc.strerror}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{str(path)!r} is not UTF-8 text (byte {exc.start}): save it as UTF-8 CSV"
        ) from None


def csv_rows(text: str, where: str) -> tuple[list[str] | None, Iterator[dict[str, Any]]]:
    """The header and the rows of CSV text; a malformed row (a field over the csv
    module's size limit, say) is a ValueError naming ``where`` and the row."""
    reader = csv.DictReader(_lines(text.removeprefix("\ufeff")))
    try:
        header = reader.fieldnames
    except csv.Error as exc:
        raise ValueError(f"{where} row 1: not valid CSV ({exc})") from None
    return (list(header) if header is not None else None), _checked_rows(reader, where)


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` one at a time, with their endings (a StringIO would copy
    the whole text at four bytes a character)."""
    start, size = 0, len(text)
    while start < size:
        end = text.find("\n", start)
        end = size if end < 0 else end + 1
        yield text[start:end]
        start = end


def _checked_rows(reader: csv.DictReader[str], where: str) -> Iterator[dict[str, Any]]:
    row = 1  # the header; rows are counted as a spreadsheet shows them
    try:
        for row, record in enumerate(reader, start=2):  # noqa: B007 (row is read below)
            yield record
    except csv.Error as exc:
        raise ValueError(f"{where} row {row + 1}: not valid CSV ({exc})") from None


def describe_header(header: Iterable[object]) -> str:
    """A header row as an error message may show it: known column names quoted, every
    other cell only by its position and length (it may be a token: a file without a
    header row has tokens in its first row)."""
    cells = []
    for n, cell in enumerate(header, start=1):
        name = str(cell).strip().lower()
        known = name in KNOWN_COLUMNS
        cells.append(repr(name) if known else f"column {n} ({len(str(cell))} characters)")
    return ", ".join(cells) or "none"


def _require_columns(columns: Iterable[object], where: str) -> None:
    present = list(columns)
    if "access_token" not in [str(c) for c in present]:
        raise ValueError(
            f"{where} has no 'access_token' column (columns: {describe_header(present)}); "
            f"expected a header row with some of {list(TOKEN_COLUMNS)}"
        )


# -- tokens and credentials -------------------------------------------------------------


def tokens_from_csv(path: str | Path) -> list[Token]:
    """Read tokens from a CSV with ``access_token`` and optional label, data_center,
    refresh_token, base_url, with the newest pairs of ``{path}.refreshed.csv`` applied
    (a ``RefreshedTokensApplied`` warning says how many; ``RefreshedPairsIgnored`` how
    many stored pairs did not belong to these tokens).

    A UTF-8 byte-order mark, blank lines and extra columns are fine; rows are counted
    as in a spreadsheet (the header is row 1).
    """
    read = read_tokens(path)
    read.warn(stacklevel=2)
    return read.tokens


def read_tokens(path: str | Path, refreshed: str | Path | None = None) -> StoreRead:
    """The tokens of ``path`` with the pairs of ``refreshed`` (by default the file beside
    it) applied, and what was applied, ignored and skipped."""
    tokens = tokens_from_csv_text(read_csv_file(path), str(path))
    return apply_refreshed(tokens, Path(refreshed or refreshed_path(path)), legacy=True)


def tokens_from_csv_text(text: str, where: str = "CSV") -> list[Token]:
    """Tokens from CSV text (as :func:`tokens_from_csv`, without the refreshed pairs);
    ``where`` names it in errors."""
    header, rows = csv_rows(text, where)
    if header is None:
        raise ValueError(f"{where} is empty: expected a header with {list(TOKEN_COLUMNS)}")
    _require_columns(header, where)
    return _rows_to_tokens(rows, where, first_row=2)


def _rows_to_tokens(rows: Iterable[Mapping[str, Any]], where: str, first_row: int) -> list[Token]:
    tokens = []
    for n, row in enumerate(rows, start=first_row):
        if all(blank(v) or (isinstance(v, str) and not v.strip()) for v in row.values()):
            continue
        try:
            tokens.append(_row_token(row))
        except FieldError as exc:
            raise ValueError(f"{where} row {n}, column {exc.column}: {exc.problem}") from None
        except ValueError as exc:
            raise ValueError(f"{where} row {n}: {exc}") from None
    return unique_tokens(tokens)


def _row_token(row: Mapping[str, Any]) -> Token:
    data_center: Any = row.get("data_center")
    return Token(
        row["access_token"],
        "us" if blank(data_center) else data_center,
        row.get("label"),
        row.get("refresh_token"),
        None if blank(row.get("base_url")) else row.get("base_url"),
    )


def tokens_from_frame(df: pd.DataFrame) -> list[Token]:
    """Tokens from a DataFrame with the columns of :func:`tokens_from_csv` (rows by index)."""
    _require_columns(df.columns, "DataFrame")
    records: list[dict[str, Any]] = [
        {str(k): v for k, v in row.items()}
        for row in df.astype(object).where(df.notna(), None).to_dict("records")
    ]
    tokens = []
    for index, row in zip(df.index, records, strict=True):
        try:
            tokens += _rows_to_tokens([row], "DataFrame", first_row=0)
        except ValueError as exc:
            raise ValueError(str(exc).replace("row 0", f"row {index!r}", 1)) from None
    return unique_tokens(tokens)


def tokens_from_env(
    prefix: str = "CRONOFY_", environ: Mapping[str, str] | None = None
) -> list[Token]:
    """Tokens from ``{prefix}ACCESS_TOKEN[_NAME]`` with ``DATA_CENTER``, ``REFRESH_TOKEN`` alike.

    ``CRONOFY_ACCESS_TOKEN`` gives a token labelled ``default``;
    ``CRONOFY_ACCESS_TOKEN_ACME`` one labelled ``acme``, with ``CRONOFY_DATA_CENTER_ACME``
    and ``CRONOFY_REFRESH_TOKEN_ACME`` beside it.
    """
    env = os.environ if environ is None else environ
    head = f"{prefix}ACCESS_TOKEN"
    tokens = []
    for name in sorted(k for k in env if k == head or k.startswith(head + "_")):
        suffix = name[len(head) :]
        try:
            tokens.append(
                Token(
                    env[name],
                    env.get(f"{prefix}DATA_CENTER{suffix}", "us"),
                    suffix[1:].lower() or "default",
                    env.get(f"{prefix}REFRESH_TOKEN{suffix}"),
                )
            )
        except ValueError as exc:
            raise ValueError(f"environment variable {name}: {exc}") from None
    return unique_tokens(tokens)


def credentials_from_env(
    prefix: str = "CRONOFY_", environ: Mapping[str, str] | None = None
) -> dict[str, ClientCredentials]:
    """Client credentials from ``{prefix}CLIENT_ID_{DC}`` and ``{prefix}CLIENT_SECRET_{DC}``.

    ``CRONOFY_CLIENT_ID`` / ``CRONOFY_CLIENT_SECRET`` without a suffix are for ``us``.
    """
    env = os.environ if environ is None else environ
    head = f"{prefix}CLIENT_ID"
    out: dict[str, ClientCredentials] = {}
    for name in sorted(k for k in env if k == head or k.startswith(head + "_")):
        suffix = name[len(head) :]
        secret = env.get(f"{prefix}CLIENT_SECRET{suffix}")
        if secret is None:
            raise ValueError(f"environment variable {name} has no {prefix}CLIENT_SECRET{suffix}")
        try:
            out[resolve(suffix[1:] or "us").route] = ClientCredentials(env[name], secret)
        except ValueError as exc:
            raise ValueError(f"environment variable {name}: {exc}") from None
    return out


def credentials_from_csv(path: str | Path) -> dict[str, ClientCredentials]:
    """Client credentials from a CSV with ``data_center,client_id,client_secret``."""
    return credentials_from_csv_text(read_csv_file(path), str(path))


def credentials_from_csv_text(text: str, path: str = "CSV") -> dict[str, ClientCredentials]:
    """Client credentials from CSV text (an upload); errors name ``path``, row and column."""
    header, rows = csv_rows(text, path)
    missing = set(CREDENTIAL_COLUMNS) - set(header or [])
    if missing:
        raise ValueError(
            f"{path} lacks column(s) {sorted(missing)} (columns: {describe_header(header or [])})"
        )
    out: dict[str, ClientCredentials] = {}
    for n, row in enumerate(rows, start=2):
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        try:
            location = checked("data_center", resolve, row["data_center"])
            creds = ClientCredentials(row["client_id"], row["client_secret"])
        except FieldError as exc:
            raise ValueError(f"{path} row {n}, column {exc.column}: {exc.problem}") from None
        except ValueError as exc:
            raise ValueError(f"{path} row {n}: {exc}") from None
        out[location.route] = creds
    return out


# -- the refreshed-pairs file: reading and applying --------------------------------------


def refreshed_path(tokens_csv: str | Path) -> Path:
    """Where refreshed pairs of ``tokens_csv`` are kept: ``{tokens_csv}.refreshed.csv``."""
    return Path(f"{tokens_csv}.refreshed.csv")


@dataclass(frozen=True)
class StoredPair:
    """One valid line of a refreshed-pairs file."""

    label: str
    route: str  # where its token's requests go: the id, or the sandbox URL
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    replaces: str | None  # None: a line of the older format, which did not record it

    @property
    def fingerprint(self) -> str:
        """The fingerprint of this line's own pair."""
        return pair_fingerprint(self.access_token, self.refresh_token)


@dataclass
class StoreRead:
    """Tokens read with their stored pairs applied, and what the store held besides:
    ``ignored`` stored pairs that belong to no token here (another label, data center or
    sandbox, or not over this token's pair), ``skipped`` lines cut short or damaged."""

    tokens: list[Token]
    source: Path | None = None
    applied: int = 0
    ignored: int = 0
    skipped: int = 0

    def note(self) -> str:
        """One sentence on what was applied, ignored and skipped ("" for nothing)."""
        parts = []
        if self.applied:
            parts.append(f"applied the newest pairs of {self.applied:,} tokens from {self.source}")
        if self.ignored:
            parts.append(
                f"ignored {self.ignored:,} stored pairs of {self.source} that are not over "
                "these tokens' pairs (another label, data center or sandbox, or an older pair)"
            )
        if self.skipped:
            parts.append(f"skipped {self.skipped:,} incomplete or damaged lines of {self.source}")
        return "; ".join(parts)

    def warn(self, stacklevel: int = 1) -> None:
        """Say :meth:`note` as a warning: ``RefreshedTokensApplied`` when pairs were
        applied, else ``RefreshedPairsIgnored`` when lines were ignored or skipped."""
        note = self.note()
        if note:
            category = RefreshedTokensApplied if self.applied else RefreshedPairsIgnored
            warnings.warn(note, category, stacklevel=stacklevel + 1)


def apply_refreshed(tokens: list[Token], path: Path, *, legacy: bool = False) -> StoreRead:
    """``tokens`` with the stored pairs of ``path`` (and its fallback files) applied.

    A stored pair replaces a token's pair only when its label, route (data center and
    sandbox URL) and replaced pair all match, following the chain of refreshes. Lines of
    the older format (no replaced pair recorded) apply by label and data center only
    with ``legacy`` (a CSV read from its path, with its own file beside it) and never to
    a token bound to a sandbox URL.
    """
    pairs, skipped = _read_store(path)
    chain = _Chain(pairs, legacy)
    out = [chain.follow(token) for token in tokens]
    applied = sum(a is not b for a, b in zip(out, tokens, strict=True))
    ignored = len(pairs) - len(chain.used)
    return StoreRead(out, path, applied, ignored, skipped)


_Key = tuple[str, str, str | None]  # label, route, a pair's fingerprint


class _Chain:
    """Follows each token through the stored pairs: forwards to its newest pair, and
    backwards over the pairs that led to the one it holds (those are not "ignored")."""

    def __init__(self, pairs: list[StoredPair], legacy: bool) -> None:
        self.pairs = pairs
        self.forward: dict[_Key, int] = {
            (p.label, p.route, p.replaces): n for n, p in enumerate(pairs) if p.replaces
        }
        self.backward: dict[_Key, int] = {
            (p.label, p.route, p.fingerprint): n for n, p in enumerate(pairs)
        }
        self.legacy: dict[tuple[str, str], list[int]] = {}
        for n, p in enumerate(pairs):
            if p.replaces is None and legacy:
                self.legacy.setdefault((p.label, p.route), []).append(n)
        self.used: set[int] = set()

    def follow(self, token: Token) -> Token:
        self._back(token)
        current = self._legacy(token)
        for _ in range(len(self.pairs)):  # a cycle of hostile lines cannot loop forever
            n = self.forward.get((token.label, token.route, current.pair_fingerprint))
            if n is None or n in self.used:
                break
            self.used.add(n)
            pair = self.pairs[n]
            current = current.with_pair(pair.access_token, pair.refresh_token)
        return current

    def _back(self, token: Token) -> None:
        fingerprint: str | None = token.pair_fingerprint
        for _ in range(len(self.pairs)):
            n = self.backward.get((token.label, token.route, fingerprint))
            if n is None or n in self.used:
                return
            self.used.add(n)
            fingerprint = self.pairs[n].replaces

    def _legacy(self, token: Token) -> Token:
        found = self.legacy.get((token.label, token.route), [])
        if not found or token.base_url is not None:
            return token
        self.used.update(found)
        newest = self.pairs[found[-1]]
        if newest.fingerprint == token.pair_fingerprint:
            return token
        return token.with_pair(newest.access_token, newest.refresh_token)


def _read_store(path: Path) -> tuple[list[StoredPair], int]:
    """The valid lines of the refreshed-pairs file and its fallback files, oldest first,
    and how many lines were skipped (cut short, damaged, or of an unknown place)."""
    pairs, skipped = [], 0
    for part in [path, *_fallbacks(path)]:
        found, bad = _read_pairs(part)
        pairs += found
        skipped += bad
    return pairs, skipped


def _fallbacks(path: Path) -> list[Path]:
    """``{path}.unsaved-*.csv`` beside ``path`` (listed, never globbed: the name is data)."""
    try:
        names = os.listdir(path.parent)
    except OSError:
        return []
    head = path.name + UNSAVED
    return [path.parent / n for n in sorted(names) if n.startswith(head) and n.endswith(".csv")]


def _read_pairs(path: Path) -> tuple[list[StoredPair], int]:
    if not path.exists():
        return [], 0
    text = read_csv_file(path)
    header, records = csv_rows(text, str(path))
    if header is None:
        return [], 0  # empty: nothing refreshed yet
    if not {"label", "access_token"} <= set(header):
        raise ValueError(f"{path} is not a refreshed-pairs file: no label and access_token")
    checked_lines = "check" in header
    rows = list(records)
    if rows and not text.endswith("\n"):
        rows[-1] = {}  # a last line without its line end was cut short: never applied
    pairs = [_stored(row, header, checked_lines) for row in rows]
    valid = [p for p in pairs if p is not None]
    return valid, len(pairs) - len(valid)


def _stored(row: dict[str, Any], header: list[str], checked_lines: bool) -> StoredPair | None:
    """The pair of one line, or None when the line is incomplete, damaged or unusable."""
    if not row or None in row or any(row.get(h) is None for h in header):
        return None  # a field too many or too few
    if checked_lines and row["check"] != _line_check([row[c] for c in PAIR_COLUMNS[:-1]]):
        return None
    try:
        data_center, base_url = row.get("data_center") or "us", row.get("base_url")
        route = bind(data_center, base_url) if base_url else resolve(data_center)
        token = Token(row["access_token"], refresh_token=row.get("refresh_token") or None)
    except ValueError:
        return None
    replaces = row.get("replaces") or None
    return StoredPair(row["label"], route.route, token.access_token, token.refresh_token, replaces)


def _line_check(fields: list[str]) -> str:
    return hashlib.sha256("\x1f".join(fields).encode()).hexdigest()[:12]


def _pair_fields(token: Token) -> list[str]:
    fields = [
        token.label,
        token.data_center,
        token.base_url or "",
        token.access_token,
        token.refresh_token or "",
        token.replaces or "",
    ]
    return [*fields, _line_check(fields)]


def _csv_line(fields: Iterable[object]) -> bytes:
    """One CSV line with CRLF (a lone CR or LF inside a field is quoted)."""
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerow(fields)
    return text.getvalue().encode("utf-8")


# -- writing secret-bearing files ---------------------------------------------------------


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


def write_private(path: str | Path, data: bytes) -> Path:
    """Replace ``path`` with ``data`` atomically, readable by its owner only: a random
    temporary name beside it created with ``O_EXCL|O_NOFOLLOW`` and mode 0600, fsync,
    rename, fsync of the folder. A link or another user's file is refused."""
    target = Path(path)
    check_private_file(target)
    fd, tmp = _exclusive_temp(target)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    try:
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(target.parent)
    return target


def _exclusive_temp(target: Path) -> tuple[int, Path]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    for _ in range(100):
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {str(target)!r}")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def tokens_to_csv(tokens: Iterable[Token], path: str | Path) -> Path:
    """Write ``label,data_center,access_token,refresh_token,base_url`` for ``tokens``
    (for example ``snap.tokens``) atomically, readable by you only (0600), with CRLF line
    ends; the path. ``base_url`` is blank except for tokens bound to a sandbox."""
    lines = [_csv_line(TOKEN_COLUMNS)]
    lines += [
        _csv_line(
            [
                t.label,
                t.data_center,
                t.access_token,
                t.refresh_token or "",
                t.base_url or "",
            ]
        )
        for t in tokens
    ]
    return write_private(path, b"".join(lines))


def refreshed_writer(tokens_csv: str | Path) -> RefreshedTokenWriter:
    """An ``on_refresh`` that appends each new pair to the file beside ``tokens_csv``
    (``refreshed_path``); a ValueError naming the file, before any request, when it
    cannot be written."""
    return RefreshedTokenWriter(refreshed_path(tokens_csv))


def refreshed_file(tokens_csv: str | Path) -> RefreshedTokenWriter:
    """Deprecated name of :func:`refreshed_writer` (it returns a writer, not a file)."""
    warnings.warn(
        "cf.refreshed_file is deprecated: use cf.refreshed_writer", DeprecationWarning, stacklevel=2
    )
    return refreshed_writer(tokens_csv)


class RefreshedTokenWriter:
    """Appends each refreshed token to a refreshed-pairs file (0600) the moment it arrives.

    Use as ``on_refresh``. The file is opened (created with its header) when the writer
    is made, so a file that cannot be created or appended is a ValueError before the
    first request. Each pair is one line in one ``write``, fsynced before the load goes
    on; a file that does not end in a line end (a crash cut its last line) gets one
    first. If an append still fails (a full disk), the pair is kept in ``unsaved``,
    ``PairNotSaved`` is raised (the load then stops refreshing) and :meth:`close` writes
    the unsaved pairs to a fallback file (``saved_to``).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.count = 0
        self.unsaved: list[Token] = []
        self.error: str | None = None  # why an append failed
        self.saved_to: Path | None = None  # the fallback file of the unsaved pairs
        self._lock = threading.Lock()
        self._fd: int | None = _open_for_append(self.path)

    def __call__(self, token: Token) -> None:
        with self._lock:
            if self.error is None:
                try:
                    fd = self._descriptor()
                    _still_there(fd, self.path)
                    _append(fd, _csv_line(_pair_fields(token)))
                    self.count += 1
                    return
                except OSError as exc:
                    self.error = exc.strerror or type(exc).__name__
            self.unsaved.append(token)
            raise PairNotSaved(
                f"the refreshed pair of token {token.label!r} could not be saved to "
                f"{str(self.path)!r} ({self.error}); it is kept in memory"
            )

    def _descriptor(self) -> int:
        if self._fd is None:
            self._fd = _open_for_append(self.path)
        return self._fd

    def close(self, near: Path | None = None) -> Path | None:
        """Close the file; write any unsaved pairs to a fallback file (beside the file,
        else in ``near``, the home folder or the temporary folder) and return its path."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            if self.unsaved:
                self.saved_to = save_unsaved(self.unsaved, self.path, near) or self.saved_to
                self.unsaved = [] if self.saved_to else self.unsaved
            return self.saved_to

    def __enter__(self) -> RefreshedTokenWriter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _open_for_append(path: Path) -> int:
    """A descriptor appending to ``path`` (created 0600 with the header if new); a
    ValueError naming the file when it cannot be created or written."""
    check_private_file(path)  # a link or another user's file: refused
    flags = os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        raise ValueError(
            f"cannot write the refreshed-pairs file {str(path)!r} ({exc.strerror}): "
            "refreshed tokens would be lost; make it writable or choose another file"
        ) from None
    try:
        size = _private(os.fstat(fd), path)
        os.fchmod(fd, 0o600)
        if size == 0:
            _append(fd, _csv_line(PAIR_COLUMNS))
        elif not _current_header(fd):
            os.close(fd)
            _upgrade(path)
            return _open_for_append(path)
    except OSError as exc:
        os.close(fd)
        raise ValueError(
            f"cannot write the refreshed-pairs file {str(path)!r} ({exc.strerror}): "
            "refreshed tokens would be lost; make it writable or choose another file"
        ) from None
    except BaseException:
        os.close(fd)
        raise
    return fd


def _still_there(fd: int, path: Path) -> None:
    """OSError unless ``path`` is still the file ``fd`` writes to: a pair appended to a
    file someone removed or replaced (with a link, say) would be lost."""
    try:
        named = os.lstat(path)
    except FileNotFoundError:
        raise OSError(errno.ENOENT, "the file was removed during the load") from None
    held = os.fstat(fd)
    if (named.st_dev, named.st_ino) != (held.st_dev, held.st_ino):
        raise OSError(errno.ESTALE, "the file was replaced during the load")


def _current_header(fd: int) -> bool:
    first = os.pread(fd, 4096, 0).split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace")
    return first.removeprefix("\ufeff").split(",") == list(PAIR_COLUMNS)


def _upgrade(path: Path) -> None:
    """Rewrite a refreshed-pairs file of the older format in today's (its lines keep
    their pairs and record no replaced pair: they apply only by the older rule)."""
    _, records = csv_rows(read_csv_file(path), str(path))
    lines = [_csv_line(PAIR_COLUMNS)]
    for row in records:
        if None in row or any(v is None for v in row.values()):
            continue  # cut short: never applied
        fields = [row.get(c) or "" for c in ("label", "data_center", "base_url")]
        fields += [row.get("access_token") or "", row.get("refresh_token") or "", ""]
        lines.append(_csv_line([*fields, _line_check(fields)]))
    write_private(path, b"".join(lines))


def _append(fd: int, line: bytes) -> None:
    """Append one line in one ``write``, after a line end if the file lacks one; fsync.
    A short write (a full disk) is an OSError: the line is then incomplete, and skipped."""
    size = os.fstat(fd).st_size
    if size and os.pread(fd, 1, size - 1) != b"\n":
        line = b"\r\n" + line
    if os.write(fd, line) != len(line):
        raise OSError(errno.ENOSPC, "No space left on device (a short write)")
    os.fsync(fd)


def save_unsaved(tokens: list[Token], store: Path, near: Path | None = None) -> Path | None:
    """Write pairs that could not be appended to ``store`` into a new fallback file
    (0600): beside ``store`` first (read back with it), else in ``near``, the home
    folder or the temporary folder. The path, or None when none could be written."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    name = f"{store.name}{UNSAVED}{stamp}-{secrets.token_hex(3)}.csv"
    data = b"".join([_csv_line(PAIR_COLUMNS), *(_csv_line(_pair_fields(t)) for t in tokens)])
    folders = [store.parent, near, Path.home(), Path(tempfile.gettempdir())]
    for folder in [f for f in folders if f is not None]:
        try:
            return write_private(folder / name, data)
        except (OSError, ValueError):
            continue
    return None
