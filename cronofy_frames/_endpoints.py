"""One function per Cronofy GET endpoint: JSON in, typed rows out.

Parsing is tolerant as the documentation asks: extra fields are ignored, optional
fields may be missing, and provider values are kept verbatim whatever they are. A
body that is not the documented shape raises ``RequestFailed("bad_response")``.
"""

from __future__ import annotations

from typing import Any, TypedDict

from ._exceptions import RequestFailed
from ._transport import TokenState, Transport

PROFILES = "/v1/profiles"
ACCOUNT = "/v1/account"


class ProfileRow(TypedDict):
    """One entry of GET /v1/profiles."""

    profile_id: str | None
    profile_name: str | None
    provider_name: str | None
    provider_service: str | None
    profile_connected: bool | None
    profile_initial_sync_required: bool | None
    profile_relink_url: str | None


class AccountRow(TypedDict):
    """GET /v1/account: the account object and ``sub``."""

    account_id: str | None
    sub: str | None
    email: str | None
    name: str | None
    scope: str | None
    default_tzid: str | None


def text(value: object) -> str | None:
    """A string field: strings verbatim, numbers as text, anything else missing."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def flag(value: object) -> bool | None:
    """A boolean field: only JSON true/false count."""
    return value if isinstance(value, bool) else None


def _bad(path: str, why: str) -> RequestFailed:
    return RequestFailed("bad_response", f"GET {path}: {why}", endpoint=path, status_code=200)


def parse_profile(entry: dict[str, Any]) -> ProfileRow:
    """One profile object as a row."""
    return ProfileRow(
        profile_id=text(entry.get("profile_id")),
        profile_name=text(entry.get("profile_name")),
        provider_name=text(entry.get("provider_name")),
        provider_service=text(entry.get("provider_service")),
        profile_connected=flag(entry.get("profile_connected")),
        profile_initial_sync_required=flag(entry.get("profile_initial_sync_required")),
        profile_relink_url=text(entry.get("profile_relink_url")) or None,
    )


def parse_profiles(payload: Any, path: str = PROFILES) -> list[ProfileRow]:
    """``{"profiles": [...]}`` as rows; ``bad_response`` if it is not that shape."""
    profiles = payload.get("profiles") if isinstance(payload, dict) else None
    if not isinstance(profiles, list) or not all(isinstance(p, dict) for p in profiles):
        raise _bad(path, "the body has no list of profile objects under 'profiles'")
    return [parse_profile(p) for p in profiles]


def parse_account(payload: Any) -> AccountRow:
    """``{"account": {...}, "sub": ...}`` as a row; ``bad_response`` if not that shape."""
    account = payload.get("account") if isinstance(payload, dict) else None
    if not isinstance(account, dict):
        raise _bad(ACCOUNT, "the body has no 'account' object")
    return AccountRow(
        account_id=text(account.get("account_id")),
        sub=text(payload.get("sub")),
        email=text(account.get("email")),
        name=text(account.get("name")),
        scope=text(account.get("scope")),
        default_tzid=text(account.get("default_tzid")),
    )


def fetch_profiles(transport: Transport, state: TokenState) -> list[ProfileRow]:
    """GET /v1/profiles for one token."""
    return parse_profiles(transport.get_json(state, PROFILES))


def fetch_account(transport: Transport, state: TokenState) -> AccountRow:
    """GET /v1/account for one token."""
    return parse_account(transport.get_json(state, ACCOUNT))
