"""Cronofy's six data centers, and resolving what a user calls one.

A data center may be named by its id in any case (``"uk"``, ``"UK"``), its API host
(``"api-uk.cronofy.com"``) or a base URL (``"https://api-uk.cronofy.com"``). A base URL
on a loopback address (``"http://127.0.0.1:8123"``) names a local sandbox. Anything
else is refused, so a typo never sends a token to a host that is not Cronofy's.
"""

from __future__ import annotations

import ipaddress
import urllib.parse
from dataclasses import dataclass

__all__ = ["DATA_CENTERS", "DataCenter", "Location", "resolve"]


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


@dataclass(frozen=True)
class Location:
    """Where a token's requests go: ``key`` is the id for the six, else the base URL."""

    key: str
    base_url: str


def resolve(value: object) -> Location:
    """Resolve an id, API host or base URL; ValueError naming the value otherwise."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"data center {value!r} is not one of {VALID} (nor a host or URL)")
    text = value.strip()
    lowered = text.lower()
    known = _BY_ID.get(lowered) or _BY_HOST.get(lowered)
    if known is None and "://" in text:
        return _from_url(text)
    if known is None:
        raise ValueError(f"unknown data center {value!r}: use one of {VALID}, an API host or a URL")
    return Location(known.id, known.base_url)


def _from_url(text: str) -> Location:
    parts = urllib.parse.urlsplit(text)
    host = (parts.hostname or "").lower()
    clean = parts.path in ("", "/") and not (parts.query or parts.fragment or parts.username)
    known = _BY_HOST.get(host)
    if clean and known and parts.scheme == "https" and parts.port in (None, 443):
        return Location(known.id, known.base_url)
    if clean and parts.scheme in ("http", "https") and _is_loopback(host):
        base = f"{parts.scheme}://{parts.netloc.lower()}"
        return Location(base, base)
    raise ValueError(
        f"data center URL {text!r} is neither a Cronofy API base URL "
        f"(https://api[-{{id}}].cronofy.com, ids {VALID}) nor a loopback sandbox URL"
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
