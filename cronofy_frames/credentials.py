"""Tokens and client credentials, and reading them from CSV, DataFrames and the environment.

Every check here runs before any request: an empty token, an unknown data center, a
missing column or a duplicate label raises one ``ValueError`` naming the row or value
(never the secret itself).
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from ._redact import fingerprint, mask
from .data_centers import Location, bind, resolve

__all__ = [
    "ClientCredentials",
    "Token",
    "check_unique",
    "credentials_from_csv",
    "credentials_from_env",
    "header_safe",
    "normalize_credentials",
    "read_csv_file",
    "tokens_from_csv_text",
    "tokens_from_env",
    "tokens_from_frame",
]

T = TypeVar("T")
BEARER = re.compile(r"^bearer(\s+|$)", re.IGNORECASE)  # a pasted "Bearer " prefix
TOKEN_COLUMNS = ("label", "data_center", "access_token", "refresh_token", "base_url")


class FieldError(ValueError):
    """A bad value in one field of a token; readers add the file, row and column."""

    def __init__(self, column: str, problem: str, label: str | None = None) -> None:
        where = f"token {label!r}, {column}" if label else column
        super().__init__(f"{where}: {problem}")
        self.column = column
        self.problem = problem


def _clean_secret(value: object, what: str) -> str:
    """The secret without surrounding white space or a pasted "Bearer " prefix; a
    ValueError that never quotes it unless it cannot go into an HTTP header as it is."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string, got {type(value).__name__}")
    text = BEARER.sub("", value.strip())
    if not text:
        raise ValueError(f"{what} is empty")
    if not text.isascii():
        raise ValueError(f"{what} has non-ASCII characters: it cannot be sent in an HTTP header")
    if not header_safe(text):
        raise ValueError(f"{what} contains white space or control characters")
    return text


def header_safe(text: str) -> bool:
    """Whether ``text`` can go into an HTTP header as it is: printable ASCII, no space."""
    return text.isascii() and text.isprintable() and not any(c.isspace() for c in text)


@dataclass(frozen=True, slots=True)  # slots: 50,000 tokens cost a third less memory
class Token:
    """An access token with its data center, label and optional refresh token.

    ``data_center`` may be an id (any case), an API host or a base URL; the default
    is ``"us"``. ``base_url``, a loopback URL, binds the token to a sandbox standing in
    for that data center: frames show the id, requests go to the URL and never to
    Cronofy (``route`` is the URL: the rate limit and client credentials are its own).
    Without a ``label`` the token gets a stable fingerprint (``tok_…``).
    The repr shows only the last four characters of each secret; a pickle holds them
    whole (treat it as the tokens file). A token with non-ASCII, white-space or control
    characters, which cannot go into an HTTP header, is refused naming its label.
    """

    access_token: str = field(repr=False)
    data_center: str = "us"
    label: str = ""
    refresh_token: str | None = field(default=None, repr=False)
    route: str = field(default="us", repr=False)  # where requests go: the id, or a URL
    location: Location = field(init=False, repr=False, compare=False)

    def __init__(
        self,
        access_token: str,
        data_center: str = "us",
        label: str | None = None,
        refresh_token: str | None = None,
        base_url: str | None = None,
    ) -> None:
        name = _label(label)
        try:
            access = _field("access_token", _clean_secret, access_token, "access token")
            refresh = (
                None
                if _blank(refresh_token)
                else _field("refresh_token", _clean_secret, refresh_token, "refresh token")
            )
            location = (
                _field("data_center", resolve, data_center)
                if _blank(base_url)
                else _field("base_url", bind, data_center, base_url)
            )
        except FieldError as exc:
            raise FieldError(exc.column, exc.problem, name) from None
        object.__setattr__(self, "access_token", access)
        object.__setattr__(self, "refresh_token", refresh)
        object.__setattr__(self, "location", location)
        object.__setattr__(self, "data_center", location.data_center)
        object.__setattr__(self, "route", location.key)
        object.__setattr__(self, "label", name or fingerprint(access))

    def __repr__(self) -> str:
        refresh = f", refresh_token={mask(self.refresh_token)!r}" if self.refresh_token else ""
        bound = f", base_url={self.override!r}" if self.override else ""
        return (
            f"Token(label={self.label!r}, data_center={self.data_center!r}{bound}, "
            f"access_token={mask(self.access_token)!r}{refresh})"
        )

    def with_pair(self, access_token: str, refresh_token: str | None) -> Token:
        """The same label, data center (and base_url override) with a refreshed pair."""
        return Token(
            access_token,
            self.data_center,
            self.label,
            refresh_token or self.refresh_token,
            self.override,
        )

    @property
    def base_url(self) -> str:
        """Where this token's requests go."""
        return self.location.base_url

    @property
    def override(self) -> str | None:
        """The loopback base URL this token is bound to, if any (``base_url=``)."""
        return self.location.base_url if self.location.name else None


def _field(column: str, check: Callable[..., T], *args: Any) -> T:
    try:
        return check(*args)
    except ValueError as exc:
        raise FieldError(column, str(exc)) from None


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value)) or value == ""


def _label(value: object) -> str | None:
    if _blank(value):
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"label {value!r} must be a non-empty string")
    return value.strip()


@dataclass(frozen=True)
class ClientCredentials:
    """A data center's OAuth application (client_id, client_secret); the secret is masked."""

    client_id: str
    client_secret: str = field(repr=False)

    def __post_init__(self) -> None:
        client_id = _field("client_id", _clean_secret, self.client_id, "client_id")
        secret = _field("client_secret", _clean_secret, self.client_secret, "client_secret")
        object.__setattr__(self, "client_id", client_id)
        object.__setattr__(self, "client_secret", secret)

    def __repr__(self) -> str:
        secret = mask(self.client_secret)
        return f"ClientCredentials(client_id={self.client_id!r}, client_secret={secret!r})"


CredentialsArg = Mapping[str, ClientCredentials | tuple[str, str]] | None


def normalize_credentials(credentials: CredentialsArg) -> dict[str, ClientCredentials]:
    """Key credentials by data-center key (id or sandbox URL); ValueError on a bad key."""
    out: dict[str, ClientCredentials] = {}
    for key, value in (credentials or {}).items():
        location = resolve(key)
        creds = value if isinstance(value, ClientCredentials) else _pair(key, value)
        out[location.key] = creds
    return out


def _pair(key: str, value: object) -> ClientCredentials:
    if isinstance(value, tuple | list) and len(value) == 2:
        return ClientCredentials(*value)
    raise ValueError(
        f"credentials for {key!r} must be ClientCredentials or (client_id, client_secret)"
    )


def check_unique(tokens: Iterable[Token]) -> list[Token]:
    """The tokens as a list; ValueError naming the first repeated label or token."""
    seen_labels: dict[str, int] = {}
    seen_tokens: dict[str, dict[str, str]] = {}  # data center -> access token -> label
    out = list(tokens)
    for n, tok in enumerate(out):
        if not isinstance(tok, Token):
            raise ValueError(f"item {n} is a {type(tok).__name__}, not a cronofy_frames.Token")
        if tok.label in seen_labels:
            raise ValueError(
                f"duplicate label {tok.label!r} (items {seen_labels[tok.label]} and {n})"
            )
        same = seen_tokens.setdefault(tok.route, {})
        if tok.access_token in same:
            raise ValueError(
                f"token {tok.label!r} repeats the access token of {same[tok.access_token]!r}"
            )
        seen_labels[tok.label], same[tok.access_token] = n, tok.label
    return out


def _rows_to_tokens(rows: Iterable[Mapping[str, Any]], where: str, first_row: int) -> list[Token]:
    tokens = []
    for n, row in enumerate(rows, start=first_row):
        if all(_blank(v) or (isinstance(v, str) and not v.strip()) for v in row.values()):
            continue
        try:
            tokens.append(
                Token(
                    row["access_token"],
                    _or(row.get("data_center"), "us"),
                    row.get("label"),
                    row.get("refresh_token"),
                    None if _blank(row.get("base_url")) else row.get("base_url"),
                )
            )
        except FieldError as exc:
            raise ValueError(f"{where} row {n}, column {exc.column}: {exc.problem}") from None
        except ValueError as exc:
            raise ValueError(f"{where} row {n}: {exc}") from None
    return check_unique(tokens)


def _or(value: object, default: str) -> Any:
    return default if _blank(value) else value


def _require_columns(columns: Iterable[object], where: str) -> None:
    present = [str(c) for c in columns]
    if "access_token" not in present:
        raise ValueError(
            f"{where} has no 'access_token' column (columns: {present}); "
            f"expected some of {list(TOKEN_COLUMNS)}"
        )


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
    return (list(header) if header is not None else None), _checked(reader, where)


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` one at a time, with their endings (a StringIO would copy
    the whole text at four bytes a character)."""
    start, size = 0, len(text)
    while start < size:
        end = text.find("\n", start)
        end = size if end < 0 else end + 1
        yield text[start:end]
        start = end


def _checked(reader: csv.DictReader[str], where: str) -> Iterator[dict[str, Any]]:
    row = 1  # the header; rows are counted as a spreadsheet shows them
    try:
        for row, record in enumerate(reader, start=2):  # noqa: B007 (row is read below)
            yield record
    except csv.Error as exc:
        raise ValueError(f"{where} row {row + 1}: not valid CSV ({exc})") from None


def tokens_from_csv_text(text: str, where: str = "CSV") -> list[Token]:
    """Tokens from CSV text (as :func:`tokens_from_csv`); ``where`` names it in errors."""
    header, rows = csv_rows(text, where)
    if header is None:
        raise ValueError(f"{where} is empty: expected a header with {list(TOKEN_COLUMNS)}")
    _require_columns(header, where)
    return _rows_to_tokens(rows, where, first_row=2)


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
    return check_unique(tokens)


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
    return check_unique(tokens)


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
            out[resolve(suffix[1:] or "us").key] = ClientCredentials(env[name], secret)
        except ValueError as exc:
            raise ValueError(f"environment variable {name}: {exc}") from None
    return out


def credentials_from_csv(path: str | Path) -> dict[str, ClientCredentials]:
    """Client credentials from a CSV with ``data_center,client_id,client_secret``."""
    return credentials_from_csv_text(read_csv_file(path), str(path))


def credentials_from_csv_text(text: str, path: str = "CSV") -> dict[str, ClientCredentials]:
    """Client credentials from CSV text (an upload); errors name ``path``, row and column."""
    header, rows = csv_rows(text, path)
    missing = {"data_center", "client_id", "client_secret"} - set(header or [])
    if missing:
        raise ValueError(f"{path} lacks column(s) {sorted(missing)}")
    out: dict[str, ClientCredentials] = {}
    for n, row in enumerate(rows, start=2):
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        try:
            location = _field("data_center", resolve, row["data_center"])
            creds = ClientCredentials(row["client_id"], row["client_secret"])
        except FieldError as exc:
            raise ValueError(f"{path} row {n}, column {exc.column}: {exc.problem}") from None
        except ValueError as exc:
            raise ValueError(f"{path} row {n}: {exc}") from None
        out[location.key] = creds
    return out
