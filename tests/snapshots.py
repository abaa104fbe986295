"""A hand-built snapshot with every case the health table and the exports must handle."""

from __future__ import annotations

from typing import Any

import pandas as pd

import cronofy_frames as cf
from cronofy_frames import schema

T = pd.Timestamp("2026-11-20T09:30:00.123456Z")
BASE = {"fetched_at": T}


def _account(
    label: str,
    dc: str,
    acc: str,
    scope: str,
    name: str | None = "Jane",
    account_type: str = "account",
    domain: str | None = None,
) -> dict[str, Any]:
    return {
        "token_label": label,
        "data_center": dc,
        "account_id": acc,
        "sub": acc,
        "email": f"{label}@example.com",
        "name": name,
        "scope": scope,
        "default_tzid": "Europe/London",
        **BASE,
        "account_type": account_type,
        "scope_source": "userinfo",
        "domain": domain,
        "delegated_scope": "read_events" if domain else None,
    }


def _profile(
    label: str,
    dc: str,
    acc: str,
    pid: str,
    service: str,
    connected: bool | None,
    syncing: bool | None = False,
) -> dict[str, Any]:
    return {
        "token_label": label,
        "data_center": dc,
        "account_id": acc,
        "profile_id": pid,
        "profile_name": "" if pid == "pro_blank" else f"{pid}@example.com",
        "provider_name": service.split("_")[0],
        "provider_service": service,
        "profile_connected": connected,
        "profile_initial_sync_required": syncing,
        "profile_relink_url": None
        if connected is not False
        else f"https://app.cronofy.com/relink/{pid}",
        **BASE,
        "access_mode": "unknown"
        if service.startswith("zoho")
        else ("free_busy" if service.endswith("_free_busy") else "read_write"),
        **_protocol(service, pid, connected),
    }


def _protocol(service: str, pid: str, connected: bool | None) -> dict[str, Any]:
    """Office 365: a connected profile still on EWS (with its link to Graph), the others
    on Graph; no protocol for other services."""
    if service != "office365":
        return {"provider_protocol": None, "graph_api_migration_url": None}
    if connected:
        return {
            "provider_protocol": "exchange_web_services",
            "graph_api_migration_url": f"https://app.cronofy.com/graph_api_migration/{pid}",
        }
    return {"provider_protocol": "graph_api", "graph_api_migration_url": None}


def _conferencing(label: str, dc: str, acc: str, pid: str, connected: bool) -> dict[str, Any]:
    return {
        "token_label": label,
        "data_center": dc,
        "account_id": acc,
        "provider_name": "zoom",
        "profile_id": pid,
        "profile_name": f"{label}@example.com",
        "profile_connected": connected,
        "profile_relink_url": None if connected else f"https://app.cronofy.com/zoom/{pid}",
        **BASE,
    }


def _error(label: str, dc: str, kind: str, status: int | None, endpoint: str) -> dict[str, Any]:
    return {
        "token_label": label,
        "data_center": dc,
        "endpoint": endpoint,
        "kind": kind,
        "status_code": status,
        "message": f"{endpoint}: {kind}",
        "attempts": 1,
        **BASE,
    }


def every_case() -> cf.Snapshot:
    """ok, disconnected, in initial sync, zero profiles, an unknown service, a blank name,
    missing flags, a dead token, a revoked one, an unfinished one, a service account, an
    application calendar, a free/busy profile and conferencing profiles (one broken)."""
    scope = "read_account list_calendars read_events create_event delete_event"
    accounts = [
        _account("healthy", "us", "acc_1", scope),
        _account("relink", "uk", "acc_2", "read_events", name=""),
        _account("syncing", "uk", "acc_3", scope, name=None),
        _account("empty", "de", "acc_4", "read_free_busy"),
        _account(
            "robot",
            "us",
            "ser_5",
            "service_account/accounts/manage",
            None,
            "service_account",
            "acme.test",
        ),
        _account("appcal", "us", "apc_6", "read_write", None, "application_calendar"),
    ]
    profiles = [
        _profile("healthy", "us", "acc_1", "pro_a", "gsuite", True),
        _profile("healthy", "us", "acc_1", "pro_b", "office365", True),
        _profile("relink", "uk", "acc_2", "pro_c", "office365", False),
        _profile("relink", "uk", "acc_2", "pro_d", "zoho_calendar", False),
        _profile("relink", "uk", "acc_2", "pro_blank", "icloud", None, None),
        _profile("syncing", "uk", "acc_3", "pro_e", "gsuite", True, True),
        _profile("syncing", "uk", "acc_3", "pro_f", "google_free_busy", True),
        {**_profile("appcal", "us", "apc_6", "pro_g", "cronofy", True), "provider_name": "cronofy"},
    ]
    conferencing = [
        _conferencing("healthy", "us", "acc_1", "pro_z1", True),
        _conferencing("empty", "de", "acc_4", "pro_z2", False),
    ]
    errors = [
        _error("dead", "us", "unauthorized", 401, "/v1/userinfo"),
        _error("revoked", "sg", "refresh_failed", 400, "/oauth/token"),
    ]
    roster = [
        ("healthy", "us"),
        ("relink", "uk"),
        ("syncing", "uk"),
        ("empty", "de"),
        ("robot", "us"),
        ("appcal", "us"),
        ("dead", "us"),
        ("revoked", "sg"),
        ("later", "au"),
    ]
    return cf.Snapshot(
        schema.to_frame(schema.PROFILES, profiles),
        schema.to_frame(schema.ACCOUNTS, accounts),
        schema.to_frame(schema.ERRORS, errors),
        [],
        schema.empty(schema.CALENDARS),
        ["later"],
        roster,
        schema.to_frame(schema.CONFERENCING, conferencing),
    )
