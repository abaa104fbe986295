"""One function per Cronofy GET endpoint: JSON in, typed rows out.

Parsing is tolerant as the documentation asks: extra fields are ignored, optional
fields may be missing, and provider values are kept verbatim whatever they are. A
body that is not the documented shape raises ``RequestFailed("bad_response")``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, TypedDict

import pandas as pd

from . import _config
from ._exceptions import ErrorKind, RequestFailed
from ._oauth import TokenState


class JsonGetter(Protocol):
    """What an endpoint needs of the transport (``Transport``, or a fake in tests)."""

    def get_json(self, state: TokenState, path: str) -> Any:
        """The decoded JSON body of GET ``path`` for the token; RequestFailed otherwise."""


@dataclass(frozen=True)
class RowLimits:
    """What one answer may expand into (see ``_config``); past a limit the token is one
    ``bad_response`` row naming it."""

    profiles: int = _config.MAX_PROFILES
    calendars: int = _config.MAX_CALENDARS
    conferencing: int = _config.MAX_CONFERENCING


UNBOUNDED = RowLimits(2**62, 2**62, 2**62)
PROFILES = "/v1/profiles"
ACCOUNT = "/v1/account"
USERINFO = "/v1/userinfo"


class ProfileRow(TypedDict):
    """One entry of GET /v1/profiles."""

    profile_id: str | None
    profile_name: str | None
    provider_name: str | None
    provider_service: str | None
    profile_connected: bool | None
    profile_initial_sync_required: bool | None
    profile_relink_url: str | None
    provider_protocol: str | None  # Office 365 (userinfo): exchange_web_services, graph_api
    graph_api_migration_url: str | None  # with exchange_web_services: move to Graph here


class AccountRow(TypedDict):
    """GET /v1/account (the account object and ``sub``) or the same from /v1/userinfo,
    with the account's type and where its scope came from."""

    account_id: str | None
    sub: str | None
    email: str | None
    name: str | None
    scope: str | None
    default_tzid: str | None
    account_type: str | None  # ``cronofy.type`` verbatim; ``account`` from /v1/account
    scope_source: str  # ``account`` or ``userinfo``
    domain: str | None  # a service account's domain
    delegated_scope: str | None  # a service account's delegated scope


class ConferencingRow(TypedDict):
    """One entry of ``cronofy.data.conferencing_profiles`` in GET /v1/userinfo."""

    provider_name: str | None
    profile_id: str | None
    profile_name: str | None
    profile_connected: bool | None
    profile_relink_url: str | None


class CalendarRow(TypedDict):
    """One entry of a profile's ``profile_calendars`` in GET /v1/userinfo."""

    profile_id: str | None
    calendar_id: str | None
    calendar_name: str | None
    calendar_readonly: bool | None
    calendar_deleted: bool | None
    calendar_primary: bool | None
    permission_level: str | None
    calendar_integrated_conferencing_available: bool | None
    calendar_attachments_available: bool | None


class Stamp(TypedDict):
    """What every row of a frame says about where it came from."""

    token_label: str
    data_center: str
    fetched_at: int | pd.Timestamp  # nanoseconds since the epoch, UTC, as rows are made


class ProfileRecord(ProfileRow, Stamp):
    """A row of the profiles frame."""

    account_id: str | None
    access_mode: str


class ConferencingRecord(ConferencingRow, Stamp):
    """A row of the conferencing frame."""

    account_id: str | None


class AccountRecord(AccountRow, Stamp):
    """A row of the accounts frame."""


class CalendarRecord(CalendarRow, Stamp):
    """A row of the calendars frame."""

    account_id: str | None


class ErrorRecord(Stamp):
    """A row of the errors frame."""

    endpoint: str
    kind: ErrorKind
    status_code: int | None
    message: str
    attempts: int


class UserInfo(TypedDict):
    """GET /v1/userinfo as the rows of the documented endpoints, plus calendars."""

    account: AccountRow
    profiles: list[ProfileRow]
    calendars: list[CalendarRow]
    conferencing: list[ConferencingRow]
    shape: str  # "documented", or "unknown": an undocumented shape, kept as far as known


def text(value: object) -> str | None:
    """A string field: strings verbatim (a lone surrogate, which no file format can
    hold, becomes ``?``), numbers as text, anything else missing."""
    if isinstance(value, str):
        if value.isascii():
            return value
        return value.encode("utf-8", "replace").decode("utf-8")
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
        provider_protocol=text(entry.get("provider_protocol")),
        graph_api_migration_url=text(entry.get("graph_api_migration_url")) or None,
    )


def parse_profiles(
    payload: Any, path: str = PROFILES, limits: RowLimits = UNBOUNDED
) -> list[ProfileRow]:
    """``{"profiles": [...]}`` as rows; ``bad_response`` if it is not that shape, or
    holds more than ``limits.profiles``."""
    profiles = payload.get("profiles") if isinstance(payload, dict) else None
    if not isinstance(profiles, list) or not all(isinstance(p, dict) for p in profiles):
        raise _bad(path, "the body has no list of profile objects under 'profiles'")
    _within(path, len(profiles), limits.profiles, "profiles of one account", "max_profiles")
    return [parse_profile(p) for p in profiles]


def _within(path: str, count: int, limit: int, what: str, option: str) -> None:
    if count > limit:
        raise _bad(path, f"{count:,} {what}, over the limit of {limit:,} ({option})")


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
        account_type="account",
        scope_source="account",
        domain=None,
        delegated_scope=None,
    )


def fetch_profiles(
    transport: JsonGetter, state: TokenState, limits: RowLimits = UNBOUNDED
) -> list[ProfileRow]:
    """GET /v1/profiles for one token."""
    return parse_profiles(transport.get_json(state, PROFILES), PROFILES, limits)


def fetch_account(transport: JsonGetter, state: TokenState) -> AccountRow:
    """GET /v1/account for one token."""
    return parse_account(transport.get_json(state, ACCOUNT))


def parse_calendar(profile_id: str | None, entry: dict[str, Any]) -> CalendarRow:
    """One calendar object of a profile as a row."""
    return CalendarRow(
        profile_id=profile_id,
        calendar_id=text(entry.get("calendar_id")),
        calendar_name=text(entry.get("calendar_name")),
        calendar_readonly=flag(entry.get("calendar_readonly")),
        calendar_deleted=flag(entry.get("calendar_deleted")),
        calendar_primary=flag(entry.get("calendar_primary")),
        permission_level=text(entry.get("permission_level")),
        calendar_integrated_conferencing_available=flag(
            entry.get("calendar_integrated_conferencing_available")
        ),
        calendar_attachments_available=flag(entry.get("calendar_attachments_available")),
    )


def parse_userinfo(payload: Any, limits: RowLimits = UNBOUNDED) -> UserInfo:
    """The OpenID-style userinfo body as account, profile, calendar and conferencing rows.

    ``sub`` is the account id and ``zoneinfo`` the default time zone; ``email`` and
    ``name`` are optional; the scope is ``cronofy.data.authorization.scope``. Any
    ``cronofy.type`` is kept verbatim; an account that is not a plain ``account`` (a
    service account, say) may have no ``profiles`` at all: it then has none. A service
    account's older flat answer (``cronofy.service_account.domain`` or ``.email``, no
    ``cronofy.data``) is its row with no profiles; any other shape with a usable ``sub``
    is a row of what is known (``shape`` "unknown": the loader says so once).
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("sub"), str):
        raise _bad(USERINFO, "the body has no 'sub'")
    data = payload.get("cronofy.data")
    account_type = text(payload.get("cronofy.type"))
    if not isinstance(data, dict):
        return _without_data(payload, account_type)
    if "profiles" not in data and account_type not in (None, "account"):
        data = {**data, "profiles": []}
    profiles = parse_profiles(data, USERINFO, limits)
    calendars = [
        parse_calendar(row["profile_id"], cal)
        for row, entry in zip(profiles, data["profiles"], strict=True)
        for cal in _calendar_list(entry, limits)
    ]
    conferencing = data.get("conferencing_profiles")
    if isinstance(conferencing, list):
        _within(
            USERINFO,
            len(conferencing),
            limits.conferencing,
            "conferencing profiles",
            "max_conferencing",
        )
    return UserInfo(
        account=_userinfo_account(payload, data, account_type),
        profiles=profiles,
        calendars=calendars,
        conferencing=parse_conferencing(conferencing),
        shape="documented",
    )


FLAT = "cronofy.service_account."  # the older service-account keys: .domain, .email


def _without_data(payload: dict[str, Any], account_type: str | None) -> UserInfo:
    """A userinfo answer without ``cronofy.data``: a service account's flat answer, or
    an unknown shape kept as far as it is known."""
    domain, email = text(payload.get(FLAT + "domain")), text(payload.get(FLAT + "email"))
    flat = account_type == "service_account" and (domain or email) is not None
    account = _userinfo_account(payload, {}, account_type)
    account["domain"] = domain or (email.rpartition("@")[2] if email and "@" in email else None)
    account["email"] = account["email"] or email
    shape = "documented" if flat else "unknown"
    return UserInfo(account=account, profiles=[], calendars=[], conferencing=[], shape=shape)


def _userinfo_account(
    payload: dict[str, Any], data: dict[str, Any], account_type: str | None
) -> AccountRow:
    authorization = _object(data.get("authorization"))
    return AccountRow(
        account_id=payload["sub"],
        sub=payload["sub"],
        email=text(payload.get("email")),
        name=text(payload.get("name")),
        scope=text(authorization.get("scope")),
        default_tzid=text(payload.get("zoneinfo")),
        account_type=account_type,
        scope_source="userinfo",
        domain=text(_object(data.get("service_account")).get("domain")),
        delegated_scope=text(authorization.get("delegated_scope")),
    )


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def parse_conferencing(entries: object) -> list[ConferencingRow]:
    """Conferencing profiles (Zoom, GoTo ...) as rows. Optional beside the calendar
    profiles, so anything that is not a list of objects is no conferencing profile."""
    if not isinstance(entries, list):
        return []
    return [
        ConferencingRow(
            provider_name=text(e.get("provider_name")),
            profile_id=text(e.get("profile_id")),
            profile_name=text(e.get("profile_name")),
            profile_connected=flag(e.get("profile_connected")),
            profile_relink_url=text(e.get("profile_relink_url")) or None,
        )
        for e in entries
        if isinstance(e, dict)
    ]


def _calendar_list(entry: dict[str, Any], limits: RowLimits) -> list[dict[str, Any]]:
    calendars = entry.get("profile_calendars")
    if calendars is None:
        return []
    if not isinstance(calendars, list) or not all(isinstance(c, dict) for c in calendars):
        raise _bad(USERINFO, "'profile_calendars' is not a list of objects")
    _within(USERINFO, len(calendars), limits.calendars, "calendars of one profile", "max_calendars")
    return calendars


def fetch_userinfo(
    transport: JsonGetter, state: TokenState, limits: RowLimits = UNBOUNDED
) -> UserInfo:
    """GET /v1/userinfo for one token: account, profiles and calendars in one request."""
    return parse_userinfo(transport.get_json(state, USERINFO), limits)
