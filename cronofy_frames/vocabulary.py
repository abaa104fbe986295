"""What Cronofy's values mean: scope names and calendar access modes, in two tables.

Both tables are data, easy to extend when Cronofy documents more, and nothing here
knows of HTTP or pandas.

Scopes. Cronofy grants fine-grained scopes (``read_events create_event ...``) and
accepts simplified ones (``read_write``, ``read_only`` ...) as shorthands for sets of
them. /v1/userinfo may show the shorthand where /v1/account shows the fine-grained
list; the exact expansion of a shorthand is not documented, so no code here guesses
it: :func:`shorthands` only names them.

Access modes. A calendar is connected in Read-Write, Free/Busy or No-Access mode, and
Cronofy's FAQ says the mode shows in ``provider_name`` / ``provider_service``.
:func:`access_mode` reads them with :data:`ACCESS_MODES`, first match wins:

=====================================  ==========================================
``provider_service`` or ``provider_name``  mode
=====================================  ==========================================
in ``FREE_BUSY`` or ending ``_free_busy``  ``free_busy``
``cronofy``, on an application calendar    ``read_write`` (the application owns it)
``cronofy``, on any other account          ``no_access``
in ``READ_WRITE``                          ``read_write``
anything else                              ``unknown`` (the value itself is kept)
=====================================  ==========================================

An account is an application calendar when its ``account_type`` says so or, where
the type is not known (``/v1/account`` does not say it), its id has the documented
``apc_`` prefix.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "ACCESS_MODES",
    "FINE_GRAINED_SCOPES",
    "SIMPLIFIED_SCOPES",
    "access_mode",
    "shorthands",
    "undocumented_scopes",
]

FINE_GRAINED_SCOPES = frozenset(
    {
        "read_account",
        "list_calendars",
        "read_events",
        "create_event",
        "delete_event",
        "read_free_busy",
        "create_calendar",
        "change_participation_status",
    }
)
SIMPLIFIED_SCOPES = frozenset(
    {
        "read_write",
        "read_only",
        "write_only",
        "free_busy_read",
        "free_busy_write",
        "create_only",
    }
)
SERVICE_ACCOUNT_SCOPES = frozenset(
    {
        "service_account/accounts/manage",
        "service_account/resources/manage",
        "service_account/accounts/unrestricted_access",
        "service_account/resources/unrestricted_access",
    }
)
DOCUMENTED_SCOPES = FINE_GRAINED_SCOPES | SIMPLIFIED_SCOPES | SERVICE_ACCOUNT_SCOPES

FREE_BUSY = frozenset({"google_free_busy", "ms_graph_free_busy"})
READ_WRITE = frozenset(
    {
        "apple",
        "exchange",
        "google",
        "live_connect",
        "gsuite",
        "icloud",
        "office365",
        "outlook_com",
        "ms_graph",
    }
)
NO_ACCESS = "cronofy"
APPLICATION_CALENDAR = "application_calendar"
ACCESS_MODES = ("read_write", "free_busy", "no_access", "unknown")


def shorthands(scope: str | None) -> list[str]:
    """The simplified scopes in a space-separated scope string, sorted."""
    return sorted(set((scope or "").split()) & SIMPLIFIED_SCOPES)


def undocumented_scopes(names: Iterable[str]) -> list[str]:
    """The names Cronofy does not document (a typo such as ``read_event``), sorted."""
    return sorted({n for n in names if n not in DOCUMENTED_SCOPES})


def access_mode(
    provider_name: str | None,
    provider_service: str | None,
    account_type: str | None = "account",
    account_id: str | None = None,
) -> str:
    """``read_write``, ``free_busy``, ``no_access`` or ``unknown`` for one profile."""
    values = [v for v in (provider_service, provider_name) if v]
    if any(v in FREE_BUSY or v.endswith("_free_busy") for v in values):
        return "free_busy"
    if NO_ACCESS in values:
        owned = account_type == APPLICATION_CALENDAR or (
            account_type in (None, "account") and (account_id or "").startswith("apc_")
        )
        return "read_write" if owned else "no_access"
    if values and all(v in READ_WRITE for v in values):
        return "read_write"
    return "unknown"
