"""Cronofy's six data centers, and resolving what a user calls one.

A data center may be named by its id in any case (``"uk"``, ``"UK"``), its API host
(``"api-uk.cronofy.com"``) or a base URL (``"https://api-uk.cronofy.com"``). A base URL
on a loopback address (``"http://127.0.0.1:8123"``) names a local sandbox. Anything
else is refused, so a typo never sends a token to a host that is not Cronofy's.

A URL is accepted only as ``scheme://host[:port]`` with an optional trailing slash, and
only when urllib3 (which sends the requests) reads the same host and port from it; the
request URLs are then built from the parsed parts, never from the text. Error messages
quote a value only when it cannot be a secret pasted into the wrong column.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import re
from dataclasses import dataclass

from urllib3.util import parse_url

__all__ = ["DATA_CENTERS", "DataCenter", "Location", "bind", "describe", "resolve"]


@dataclass(frozen=True)
class DataCenter:
    """One of Cronofy's data centers: its SDK id, hosts and country."""

    id: str
    api_host: str
    app_host: str
    country: str
    flag: str

    @property
    def base_url(self) -> str:
        """Where API requests go, e.g. ``https://api-uk.cronofy.com``."""
        return f"https://{self.api_host}"

    @property
    def location(self) -> Location:
        """This data center as a resolved ``Location``."""
        return Location(self.id, "https", self.api_host)


DATA_CENTERS: tuple[DataCenter, ...] = (
    DataCenter("us", "api.cronofy.com", "app.cronofy.com", "United States", "\U0001f1fa\U0001f1f8"),
    DataCenter(
        "uk", "api-uk.cronofy.com", "app-uk.cronofy.com", "United Kingdom", "\U0001f1ec\U0001f1e7"
    ),
    DataCenter("de", "api-de.cronofy.com", "app-de.cronofy.com", "Germany", "\U0001f1e9\U0001f1ea"),
    DataCenter(
        "au", "api-au.cronofy.com", "app-au.cronofy.com", "Australia", "\U0001f1e6\U0001f1fa"
    ),
    DataCenter("ca", "api-ca.cronofy.com", "app-ca.cronofy.com", "Canada", "\U0001f1e8\U0001f1e6"),
    DataCenter(
        "sg", "api-sg.cronofy.com", "app-sg.cronofy.com", "Singapore", "\U0001f1f8\U0001f1ec"
    ),
)
_BY_ID = {dc.id: dc for dc in DATA_CENTERS}
_BY_HOST = {dc.api_host: dc for dc in DATA_CENTERS}
VALID = ", ".join(_BY_ID)


@dataclass(frozen=True, slots=True)
class Location:
    """Where a token's requests go, parsed once: ``route`` is the id for the six, else
    the base URL (``Token.route``: what limits, lanes and credentials are keyed by).
    ``base_url`` is built from the parsed scheme, host and port, never from the text a
    user gave."""

    route: str
    scheme: str
    host: str
    port: int | None = None
    stands_for: str = ""  # the id a loopback override stands for (see ``bind``)

    @property
    def data_center(self) -> str:
        """What frames show: the id (also for a sandbox bound to one), else the URL."""
        return self.stands_for or self.route

    @property
    def base_url(self) -> str:
        """``scheme://host[:port]`` (an IPv6 host in brackets), with no trailing slash."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}" + ("" if self.port is None else f":{self.port}")


# scheme://host[:port] with an optional trailing slash, and nothing else: no user info,
# no backslash, no path, query or fragment, no white space or control character.
_URL = re.compile(
    r"(?P<scheme>https?)://(?P<host>[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\])"
    r"(?::(?P<port>[0-9]{1,5}))?/?",
    re.IGNORECASE,
)
# a Cronofy host (or a typo of one): lowercase labels with dots, ending in cronofy.com
_CRONOFY_HOST = re.compile(r"(?:[a-z0-9-]{1,30}\.){0,3}cronofy\.com")
SHORT = 12  # a value this short is an id or a typo of one, never a secret: it may be quoted


def describe(value: object) -> str:
    """How an error message may show a value that could be a secret pasted in the wrong
    place. The one rule: quoted only when the *whole* value is short (an id or a typo of
    one), a Cronofy host, or a URL of a Cronofy host or a loopback address with nothing
    after it (no path, query, user info or white space); else only its length."""
    if isinstance(value, str) and _quotable(value):
        return repr(value)
    if not isinstance(value, str):
        return repr(value) if isinstance(value, int | float | bool | None) else type(value).__name__
    return f"a value of {len(value)} characters (not shown: it could be a secret)"


def _quotable(value: str) -> bool:
    if not (value.isascii() and value.isprintable()):
        return False
    if len(value) <= SHORT or _CRONOFY_HOST.fullmatch(value):
        return True
    url = _URL.fullmatch(value)
    host = (url["host"].lower().strip("[]") if url else "").rstrip(".")
    return bool(url) and (_CRONOFY_HOST.fullmatch(host) is not None or _is_loopback(host))


def resolve(value: object) -> Location:
    """Resolve an id, API host or base URL; ValueError describing the value otherwise.

    Tokens of one data center share one ``Location`` (resolved once per distinct text)."""
    if isinstance(value, str):
        return _resolve_text(value)
    return _resolve(value)


@functools.lru_cache(maxsize=256)
def _resolve_text(value: str) -> Location:
    return _resolve(value)


def _resolve(value: object) -> Location:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"data center {describe(value)} is not one of {VALID} (nor a host or URL)")
    if "://" in value:
        return _from_url(value)  # taken as it is: white space in a URL is refused
    known = _BY_ID.get(value.strip().lower()) or _BY_HOST.get(value.strip().lower())
    if known is not None:
        return known.location
    raise ValueError(
        f"unknown data center {describe(value)}: use one of {VALID}, an API host or a URL"
    )


def bind(data_center: object, base_url: object) -> Location:
    """The data center ``data_center`` (one of the six ids) served at ``base_url``, a
    loopback URL (a sandbox standing in for it): frames show the id, requests go to the
    URL and nowhere else, and the rate limit and client credentials are the URL's own
    (never the real data center's: its client secret is never sent to a local port)."""
    known = resolve(data_center)
    if known.route not in _BY_ID:
        raise ValueError(
            f"a base_url override needs one of {VALID} as data center, got {describe(data_center)}"
        )
    local = resolve(base_url)
    if local.route in _BY_ID or not _is_loopback(local.host):
        raise ValueError(
            f"base_url {describe(base_url)} must be a loopback sandbox URL "
            "(http://127.0.0.1:PORT): a real data center is named by its id alone"
        )
    return dataclasses.replace(local, stands_for=known.route)


def _from_url(text: str) -> Location:
    parsed = _parse(text)
    if parsed is None:
        raise ValueError(
            f"data center URL {describe(text)} is not of the form scheme://host[:port] "
            "(no user info, backslash, path, query, fragment or white space); "
            f"use one of {VALID}, an API host or a base URL"
        )
    scheme, host, port = parsed
    known = _BY_HOST.get(host)
    if known and scheme == "https" and port in (None, 443):
        return known.location
    if _is_loopback(host):
        location = Location("", scheme, host, port)
        return Location(location.base_url, scheme, host, port)
    raise ValueError(
        f"data center URL {describe(text)} is neither a Cronofy API base URL "
        f"(https://api[-{{id}}].cronofy.com, ids {VALID}) nor a loopback sandbox URL"
    )


def _parse(text: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) when ``text`` passes the strict rule and urllib3, which sends
    the requests, reads the same host and port from it; None otherwise."""
    match = _URL.fullmatch(text)
    if match is None:
        return None
    scheme, host = match["scheme"].lower(), match["host"].lower().strip("[]")
    port = int(match["port"]) if match["port"] else None
    if port is not None and not 0 < port < 65536:
        return None
    seen = parse_url(text)
    if (seen.host or "").lower().strip("[]") != host or seen.port != port or seen.auth:
        return None
    return scheme, host, port


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
