"""Seeded, lazily generated accounts, profiles and calendars for the sandbox.

Everything about account ``i`` is derived from ``(seed, i)`` alone, so a world of
100,000 accounts costs nothing until an account is asked for. This module is the
server's own copy of the facts it needs: it shares no code with the client side.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Any

# (id, app host, weight): how accounts spread over the six data centers.
DATA_CENTERS: tuple[tuple[str, str, int], ...] = (
    ("us", "app.cronofy.com", 50),
    ("uk", "app-uk.cronofy.com", 20),
    ("de", "app-de.cronofy.com", 10),
    ("au", "app-au.cronofy.com", 8),
    ("ca", "app-ca.cronofy.com", 7),
    ("sg", "app-sg.cronofy.com", 5),
)
DC_IDS: tuple[str, ...] = tuple(dc for dc, _, _ in DATA_CENTERS)

# (provider_name, provider_service, weight); the last two are values Cronofy may add later.
PROVIDERS: tuple[tuple[str, str, int], ...] = (
    ("google", "gsuite", 34),
    ("google", "google", 14),
    ("exchange", "office365", 30),
    ("exchange", "exchange", 6),
    ("live_connect", "outlook_com", 6),
    ("apple", "icloud", 6),
    ("cronofy", "cronofy", 2),
    ("zoho", "zoho_calendar", 1),
    ("exchange", "office365_gcc_high", 1),
)
SCOPES: tuple[str, ...] = (
    "read_account list_calendars read_events create_event delete_event",
    "read_events create_event delete_event",
    "read_account list_calendars read_free_busy",
    "read_account list_calendars read_events create_event delete_event change_participation_status",
    "read_free_busy",
)
TZIDS: tuple[str, ...] = (
    "Etc/UTC",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "America/Chicago",
    "America/New_York",
    "America/Los_Angeles",
    "America/Toronto",
    "Australia/Sydney",
    "Asia/Singapore",
    "Asia/Kolkata",
    "Pacific/Auckland",
)
FIRST = ("Jane", "John", "Amara", "Kenji", "Lena", "Mateo", "Priya", "Sven", "Zoë", "Olu")
LAST = ("Doe", "Smith", "Okafor", "Tanaka", "Müller", "García", "Patel", "Berg", "Lee", "Adeyemi")
DOMAINS = ("example.com", "acme.test", "contoso.test", "globex.test", "initech.test")
PERMISSION_LEVELS = ("unrestricted", "sandbox")
# Simplified scopes as this sandbox expands them (its own guess: Cronofy does not document
# the expansion). Userinfo shows the shorthand, /v1/account the fine-grained list.
SHORTHANDS: tuple[tuple[str, str], ...] = (
    ("read_write", "read_account list_calendars read_events create_event delete_event"),
    ("read_only", "read_account list_calendars read_events"),
    ("free_busy_write", "read_account list_calendars read_free_busy create_event delete_event"),
)
SERVICE_SCOPE = "service_account/accounts/manage service_account/resources/manage"
CONFERENCING = ("zoom", "go_to", "microsoft_teams")
# A share of profiles connected in Free/Busy mode, as Cronofy names them.
FREE_BUSY = {"google": ("google", "google_free_busy"), "exchange": ("ms_graph_free_busy",) * 2}


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _weighted(rng: random.Random, table: tuple[tuple[str, str, int], ...]) -> tuple[str, str]:
    a, b, _ = rng.choices(table, weights=[w for *_, w in table])[0]
    return a, b


@dataclass
class Profile:
    """One calendar profile of a sandbox account."""

    provider_name: str
    provider_service: str
    profile_id: str
    profile_name: str
    connected: bool
    initial_sync_required: bool
    relink_url: str
    calendars: list[dict[str, Any]] = field(default_factory=list)
    protocol: str | None = None  # Office 365: exchange_web_services or graph_api
    migration_url: str = ""  # with exchange_web_services: re-authorize through Graph

    def as_json(self, with_calendars: bool) -> dict[str, Any]:
        """The profile as /v1/profiles (or, with calendars, /v1/userinfo) shows it.
        Userinfo also carries the Office 365 protocol, on the profile object (the
        sandbox's choice of place: Cronofy's docs name the fields, not where they sit)."""
        out: dict[str, Any] = {
            "provider_name": self.provider_name,
            "provider_service": self.provider_service,
            "profile_id": self.profile_id,
            "profile_name": self.profile_name,
            "profile_connected": self.connected,
            "profile_initial_sync_required": self.initial_sync_required,
        }
        if not self.connected:
            out["profile_relink_url"] = self.relink_url
        if with_calendars:
            out["profile_calendars"] = self.calendars
            if self.protocol is not None:
                out["provider_protocol"] = self.protocol
            if self.migration_url:
                out["graph_api_migration_url"] = self.migration_url
        return out


@dataclass
class Conferencing:
    """One conferencing profile (Zoom, GoTo ...) of a sandbox account."""

    provider_name: str
    profile_id: str
    profile_name: str
    connected: bool
    relink_url: str

    def as_json(self) -> dict[str, Any]:
        """The conferencing profile as /v1/userinfo shows it."""
        out: dict[str, Any] = {
            "provider_name": self.provider_name,
            "profile_id": self.profile_id,
            "profile_name": self.profile_name,
            "profile_connected": self.connected,
        }
        if not self.connected:
            out["profile_relink_url"] = self.relink_url
        return out


@dataclass
class Account:
    """One sandbox account: identity, data center and profiles.

    ``kind`` is its ``cronofy.type``: ``account`` (a person), ``service_account``
    (Enterprise Connect: no profiles of its own) or ``application_calendar``.
    ``scope`` is what /v1/account shows, ``userinfo_scope`` what /v1/userinfo shows (a
    simplified scope for accounts authorized with one).
    """

    index: int
    data_center: str
    account_id: str
    email: str | None
    name: str | None
    scope: str
    default_tzid: str
    profiles: list[Profile]
    kind: str = "account"
    userinfo_scope: str = ""
    domain: str = ""
    conferencing: list[Conferencing] = field(default_factory=list)
    flat: str = ""  # a service account's older, flat userinfo: "domain" or "email" key


def generate_account(seed: int, index: int) -> Account:
    """Build account ``index`` of the world seeded with ``seed``, deterministically."""
    digest = hashlib.sha256(f"{seed}:{index}".encode()).digest()
    rng = random.Random(digest)
    dc = rng.choices(DC_IDS, weights=[w for *_, w in DATA_CENTERS])[0]
    first, last = rng.choice(FIRST), rng.choice(LAST)
    domain = rng.choice(DOMAINS)
    service_account = rng.random() < 0.03
    email = (
        f"svc-calendar-{index}"
        if service_account
        else f"{first.lower()}.{last.lower()}{index}@{domain}"
    )
    name = _pick_name(rng, f"{first} {last}")
    count = rng.choices((0, 1, 2, 3, 4), weights=(5, 60, 25, 7, 3))[0]
    profiles = [_profile(rng, dc, email, domain) for _ in range(count)]
    account = Account(
        index,
        dc,
        "acc_" + _hex(rng, 24),
        email,
        name,
        rng.choice(SCOPES),
        rng.choice(TZIDS),
        profiles,
        domain=domain,
    )
    # Later streams for what was added later, so the first ones' accounts stay as they were.
    account = _vary(account, random.Random(digest + b"kinds"), service_account)
    return _protocols(account, random.Random(digest + b"protocols"))


EWS_SHARE = 0.4  # Office 365 profiles still on Exchange Web Services (the sandbox's share)


def _protocols(account: Account, rng: random.Random) -> Account:
    """Office 365 profiles on Graph or still on EWS (with the link to move them), and a
    share of service accounts answering userinfo in the older flat shape."""
    app_host = dict((d, h) for d, h, _ in DATA_CENTERS)[account.data_center]
    for profile in account.profiles:
        if profile.provider_service != "office365":
            continue
        if rng.random() < EWS_SHARE:
            profile.protocol = "exchange_web_services"
            profile.migration_url = (
                f"https://{app_host}/graph_api_migration?profile_id={profile.profile_id}"
            )
        else:
            profile.protocol = "graph_api"
    if account.kind == "service_account" and rng.random() < 0.5:
        account.flat = rng.choice(("domain", "email"))
    return account


def _vary(account: Account, rng: random.Random, service_account: bool) -> Account:
    """Account types, simplified scopes, free/busy profiles and conferencing profiles."""
    account.userinfo_scope = account.scope
    if service_account:
        account.kind, account.account_id = "service_account", "ser_" + account.account_id[4:]
        account.scope, account.userinfo_scope, account.profiles = SERVICE_SCOPE, SERVICE_SCOPE, []
        return account
    if rng.random() < 0.03:
        account.kind, account.account_id = "application_calendar", "apc_" + account.account_id[4:]
        account.email, account.name = None, None
        pid, name = "pro_" + _hex(rng, 10), f"app-calendar-{account.index}"
        calendars = [_calendar(rng, pid, 0)]
        account.profiles = [Profile("cronofy", "cronofy", pid, name, True, False, "", calendars)]
        return account
    if rng.random() < 0.3:
        account.userinfo_scope, account.scope = rng.choice(SHORTHANDS)
    for profile in account.profiles:
        if profile.provider_name in FREE_BUSY and rng.random() < 0.08:
            profile.provider_name, profile.provider_service = FREE_BUSY[profile.provider_name]
    if rng.random() < 0.25:
        account.conferencing = [_conferencing(rng, account) for _ in range(rng.randint(1, 2))]
    return account


def _conferencing(rng: random.Random, account: Account) -> Conferencing:
    provider, pid = rng.choice(CONFERENCING), "pro_" + _hex(rng, 10)
    app_host = dict((d, h) for d, h, _ in DATA_CENTERS)[account.data_center]
    relink = f"https://{app_host}/conferencing/relink/{provider}?profile_id={pid}"
    return Conferencing(provider, pid, account.email or "", rng.random() >= 0.1, relink)


def _pick_name(rng: random.Random, full: str) -> str | None:
    roll = rng.random()
    if roll < 0.04:
        return None
    if roll < 0.07:
        return ""
    return full


def _profile(rng: random.Random, dc: str, email: str, domain: str) -> Profile:
    provider, service = _weighted(rng, PROVIDERS)
    profile_id = "pro_" + _hex(rng, 10)
    name = email if rng.random() < 0.8 else f"team{rng.randint(1, 99)}@{domain}"
    connected = rng.random() >= 0.04
    syncing = connected and rng.random() < 0.03
    app_host = dict((d, h) for d, h, _ in DATA_CENTERS)[dc]
    relink = f"https://{app_host}/relink/{provider}?email={name}&profile_id={profile_id}"
    calendars = [_calendar(rng, profile_id, n) for n in range(rng.randint(1, 4))]
    return Profile(provider, service, profile_id, name, connected, syncing, relink, calendars)


def _calendar(rng: random.Random, profile_id: str, n: int) -> dict[str, Any]:
    return {
        "calendar_id": "cal_" + _hex(rng, 16),
        "calendar_name": "Calendar"
        if n == 0
        else rng.choice(("Work", "Holidays", "Team", "On call")),
        "calendar_readonly": n > 0 and rng.random() < 0.3,
        "calendar_deleted": n > 0 and rng.random() < 0.05,
        "calendar_primary": n == 0,
        "calendar_integrated_conferencing_available": rng.random() < 0.5,
        "calendar_attachments_available": rng.random() < 0.2,
        "permission_level": rng.choice(PERMISSION_LEVELS),
    }
