"""The models: ``Token`` and ``ClientCredentials``, their checks and how they are shown.

Every check here runs before any request: an empty token, an unknown data center or a
duplicate label raises one ``ValueError`` naming the value (never the secret itself).
Reading and writing them (CSV, DataFrames, the environment, the refreshed-pairs file)
is ``token_store``'s.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pandas as pd

from ._redact import fingerprint, mask, pair_fingerprint
from .data_centers import Location, bind, resolve

__all__ = [
    "ClientCredentials",
    "FieldError",
    "Token",
    "blank",
    "checked",
    "header_safe",
    "normalize_credentials",
    "refreshable",
    "unique_tokens",
]

T = TypeVar("T")
BEARER = re.compile(r"^bearer(\s+|$)", re.IGNORECASE)  # a pasted "Bearer " prefix


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
    # after a refresh: the fingerprint of the pair this one replaced (the token store
    # applies a stored pair only over the very pair it replaced)
    replaces: str | None = field(default=None, init=False, repr=False, compare=False)

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
            access = checked("access_token", _clean_secret, access_token, "access token")
            refresh = (
                None
                if blank(refresh_token)
                else checked("refresh_token", _clean_secret, refresh_token, "refresh token")
            )
            location = checked("data_center", resolve, data_center)  # a typo is its own
            if not blank(base_url):
                location = checked("base_url", bind, location.route, base_url)
        except FieldError as exc:
            raise FieldError(exc.column, exc.problem, name) from None
        object.__setattr__(self, "access_token", access)
        object.__setattr__(self, "refresh_token", refresh)
        object.__setattr__(self, "location", location)
        object.__setattr__(self, "data_center", location.data_center)
        object.__setattr__(self, "route", location.route)
        object.__setattr__(self, "label", name or fingerprint(access))
        object.__setattr__(self, "replaces", None)

    def __repr__(self) -> str:
        refresh = f", refresh_token={mask(self.refresh_token)!r}" if self.refresh_token else ""
        bound = f", base_url={self.base_url!r}" if self.base_url else ""
        return (
            f"Token(label={self.label!r}, data_center={self.data_center!r}{bound}, "
            f"access_token={mask(self.access_token)!r}{refresh})"
        )

    def with_pair(self, access_token: str, refresh_token: str | None) -> Token:
        """The same label, data center (and base_url override) with a refreshed pair;
        ``replaces`` holds the fingerprint of this token's pair."""
        token = Token(
            access_token,
            self.data_center,
            self.label,
            refresh_token or self.refresh_token,
            self.base_url,
        )
        object.__setattr__(token, "replaces", self.pair_fingerprint)
        return token

    @property
    def pair_fingerprint(self) -> str:
        """A non-reversible fingerprint of this token's (access, refresh) pair."""
        return pair_fingerprint(self.access_token, self.refresh_token)

    @property
    def base_url(self) -> str | None:
        """The loopback sandbox URL this token is bound to (``base_url=``), or None."""
        return self.location.base_url if self.location.stands_for else None

    @property
    def api_url(self) -> str:
        """Where this token's requests go: its data center's API, or ``base_url``."""
        return self.location.base_url

    @property
    def override(self) -> str | None:
        """Deprecated: ``base_url`` (what ``Token(base_url=)`` was given)."""
        warnings.warn(
            "Token.override is deprecated: use Token.base_url (and Token.api_url for "
            "where requests go)",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.base_url


def checked(column: str, check: Callable[..., T], *args: Any) -> T:
    """``check(*args)``, its ValueError turned into a FieldError naming ``column``."""
    try:
        return check(*args)
    except ValueError as exc:
        raise FieldError(column, str(exc)) from None


def blank(value: object) -> bool:
    """Whether a cell is empty: None, NaN or ""."""
    return value is None or (isinstance(value, float) and pd.isna(value)) or value == ""


def _label(value: object) -> str | None:
    if blank(value):
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
        client_id = checked("client_id", _clean_secret, self.client_id, "client_id")
        secret = checked("client_secret", _clean_secret, self.client_secret, "client_secret")
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
        out[location.route] = creds
    return out


def _pair(key: str, value: object) -> ClientCredentials:
    if isinstance(value, tuple | list) and len(value) == 2:
        return ClientCredentials(*value)
    raise ValueError(
        f"credentials for {key!r} must be ClientCredentials or (client_id, client_secret)"
    )


def refreshable(tokens: Iterable[Token], credentials: Mapping[str, object]) -> list[Token]:
    """The tokens a load could refresh: with a refresh token and client credentials for
    their route (``credentials`` keyed as :func:`normalize_credentials` keys them)."""
    return [t for t in tokens if t.refresh_token and t.route in credentials]


def unique_tokens(tokens: Iterable[Token]) -> list[Token]:
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
