"""Connection health, the scope audit and the plots, on a snapshot with every case."""

from __future__ import annotations

import matplotlib
import pandas as pd
import pytest

import cronofy_frames as cf
from tests.snapshots import every_case

matplotlib.use("Agg")


LABELS = ["healthy", "relink", "syncing", "empty", "robot", "appcal", "dead", "revoked", "later"]


def test_health_table_has_every_token_with_its_status_and_counts() -> None:
    t = cf.connection_health(every_case()).tokens.set_index("token_label")
    assert list(t.index) == LABELS
    assert t["status"].to_dict() == {
        **dict.fromkeys(LABELS[:6], "ok"),
        "dead": "unauthorized",
        "revoked": "refresh_failed",
        "later": "unfinished",
    }
    counts = t[["profiles", "connected", "disconnected", "initial_sync"]]
    assert counts.loc["healthy"].tolist() == [2, 2, 0, 0]
    assert counts.loc["relink"].tolist() == [3, 0, 3, 0]  # a missing flag counts as not connected
    assert counts.loc["syncing"].tolist() == [2, 2, 0, 1]
    assert counts.loc["empty"].tolist() == [0, 0, 0, 0]
    assert counts.loc["robot"].tolist() == [0, 0, 0, 0]  # a service account has no profiles
    assert counts.loc["dead"].tolist() == [0, 0, 0, 0]
    assert t.loc["relink", "relink_urls"] == (
        "https://app.cronofy.com/relink/pro_c https://app.cronofy.com/relink/pro_d"
    )
    assert pd.isna(t.loc["healthy", "relink_urls"])
    assert t.loc["relink", "providers"] == "icloud office365 zoho_calendar"
    assert pd.isna(t.loc["dead", "account_id"])
    assert t.loc["later", "data_center"] == "au"


def test_health_table_says_each_tokens_account_type_and_conferencing() -> None:
    t = cf.connection_health(every_case()).tokens.set_index("token_label")
    types = t["account_type"].astype(object).where(t["account_type"].notna(), None).to_dict()
    assert types == {
        **dict.fromkeys(["healthy", "relink", "syncing", "empty"], "account"),
        "robot": "service_account",
        "appcal": "application_calendar",
        **dict.fromkeys(["dead", "revoked", "later"], None),
    }
    assert t.loc["healthy", ["conferencing", "conferencing_disconnected"]].tolist() == [1, 0]
    assert t.loc["empty", ["conferencing", "conferencing_disconnected"]].tolist() == [1, 1]
    assert t.loc["empty", "conferencing_relink_urls"] == "https://app.cronofy.com/zoom/pro_z2"


def test_needs_attention_lists_failed_and_disconnected() -> None:
    report = cf.connection_health(every_case())
    assert set(report.needs_attention["token_label"]) == {
        "relink",
        "empty",  # its conferencing profile is disconnected
        "dead",
        "revoked",
        "later",
    }


def test_relink_list_has_calendar_and_conferencing_links_sorted_by_label() -> None:
    relink = cf.connection_health(every_case()).relink
    assert relink[["token_label", "kind", "profile_id"]].values.tolist() == [
        ["empty", "conferencing", "pro_z2"],
        ["relink", "calendar", "pro_c"],
        ["relink", "calendar", "pro_d"],
    ]
    assert relink.loc[0, "provider_name"] == "zoom"


def test_summaries_by_data_center_and_provider_service() -> None:
    report = cf.connection_health(every_case())
    dc = report.by_data_center.set_index("data_center")
    assert dc.loc["uk", ["tokens", "ok", "failed", "profiles", "disconnected"]].tolist() == [
        2,
        2,
        0,
        5,
        3,
    ]
    assert dc.loc["us", ["tokens", "ok", "failed"]].tolist() == [4, 3, 1]
    assert dc.loc["uk", "disconnected_pct"] == 60.0
    assert pd.isna(dc.loc["sg", "disconnected_pct"])  # no profiles: no percentage
    service = report.by_provider_service.set_index("provider_service")
    assert service.loc[
        "office365", ["accounts", "profiles", "connected", "disconnected"]
    ].tolist() == [2, 2, 1, 1]
    assert service.loc["zoho_calendar", "disconnected"] == 1
    assert service["profiles"].sum() == 8


def test_tokens_are_counted_by_account_type() -> None:
    report = cf.connection_health(every_case())
    dc = report.by_data_center.set_index("data_center")
    columns = ["people", "service_accounts", "application_calendars", "type_unknown"]
    assert dc.loc["us", columns].tolist() == [1, 1, 1, 1]
    assert dc.loc["uk", columns].tolist() == [2, 0, 0, 0]
    by_type = report.by_account_type.set_index("account_type")
    assert by_type["tokens"].to_dict() == {
        "account": 4,
        "type_unknown": 3,
        "service_account": 1,
        "application_calendar": 1,
    }
    assert by_type.loc["account", ["ok", "profiles", "disconnected"]].tolist() == [4, 7, 3]
    outcomes = ["ok", "failed", "dead", "retry", "unfinished"]
    assert by_type.loc["type_unknown", outcomes].tolist() == [0, 2, 2, 0, 1]  # not checked: 1


def test_profiles_are_counted_by_access_mode() -> None:
    mode = cf.connection_health(every_case()).by_access_mode.set_index("access_mode")
    assert mode["profiles"].to_dict() == {"read_write": 6, "free_busy": 1, "unknown": 1}
    assert mode.loc["read_write", "accounts"] == 4


def test_report_prints_and_renders() -> None:
    report = cf.connection_health(every_case())
    text = str(report)
    assert text.startswith("9 tokens (")
    assert all(len(line) <= 100 for line in text.splitlines())  # the headline wraps
    head = report.headline()
    for part in ("people=4", "service_accounts=1", "application_calendars=1", "type_unknown=3"):
        assert part in head
    assert "): 6 ok, 2 failed (2 dead: " in head  # unfinished is not failed ...
    assert "refresh_failed=1" in text
    assert "1 not checked (the load was stopped" in head  # ... but its own category
    assert "3 disconnected profiles, 1 in initial sync" in head
    assert "1 disconnected conferencing profiles" in head
    for title in ("by account type:", "by access mode:", "by data center:"):
        assert title in text
    relink = text.split("to relink (3):\n")[1].split("\n\n")[0].split("\n")
    assert relink == [
        "empty  conferencing  zoom  https://app.cronofy.com/zoom/pro_z2",
        "relink  calendar  office365  https://app.cronofy.com/relink/pro_c",
        "relink  calendar  zoho  https://app.cronofy.com/relink/pro_d",
    ]  # sorted by label, never padded to the longest URL
    assert "on Exchange Web Services (1 Office 365 profiles)" in text
    assert (
        "healthy  us  pro_b@example.com  https://app.cronofy.com/graph_api_migration/pro_b" in text
    )
    html = report._repr_html_()
    assert "<h4>By account type</h4>" in html
    assert "<h4>By access mode</h4>" in html


def test_scope_audit_lists_accounts_missing_a_scope() -> None:
    audit = cf.scope_audit(every_case(), "read_events create_event")
    rows = audit.set_index("token_label")
    assert rows["status"].to_dict() == {
        "empty": "missing",
        "relink": "missing",
        "robot": "missing",
        "appcal": "unverifiable",
    }  # missing first, then by label
    assert list(rows.index) == ["empty", "relink", "robot", "appcal"]
    assert rows.loc["relink", "missing"] == "create_event"
    assert rows.loc["empty", "missing"] == "create_event read_events"
    assert cf.scope_audit(every_case(), ["read_events"])["token_label"].tolist() == [
        "empty",
        "robot",
        "appcal",
    ]


def test_a_simplified_scope_is_unverifiable_never_missing() -> None:
    audit = cf.scope_audit(every_case(), "read_events create_event").set_index("token_label")
    appcal = audit.loc["appcal"]
    assert pd.isna(appcal["missing"])
    assert appcal["unverified"] == "create_event read_events"
    assert appcal["shorthands"] == "read_write"


def test_scope_audit_warns_about_a_name_cronofy_does_not_document() -> None:
    with pytest.warns(cf.UndocumentedScopeWarning, match="read_event are not documented"):
        cf.scope_audit(every_case(), "read_event")


@pytest.mark.parametrize("bad", ["", "   ", [], ["read events"]])
def test_scope_audit_rejects_nonsense(bad: object) -> None:
    with pytest.raises(ValueError, match="required scopes"):
        cf.scope_audit(every_case(), bad)


@pytest.mark.parametrize("by", ["provider_service", "data_center", "access_mode"])
def test_plot_connections_draws_connected_and_disconnected(by: str) -> None:
    ax = cf.plot_connections(every_case(), by=by)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    expected = set(every_case().profiles[by])
    assert set(labels) == expected
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["connected", "disconnected"]
    widths = sum(p.get_width() for p in ax.patches)
    assert widths == len(every_case().profiles)


def test_plot_rejects_an_unknown_grouping() -> None:
    with pytest.raises(ValueError, match="by must be"):
        cf.plot_connections(every_case(), by="colour")


def test_health_of_a_live_sandbox_run_counts_every_token() -> None:
    from cronofy_frames import sandbox
    from tests.helpers import tokens_of

    faults = sandbox.Faults(revoked=0.1)
    with sandbox.serve(accounts=60, seed=9, rate_limit=None, faults=faults) as s:
        snap = cf.load(
            tokens_of(s), credentials=s.credentials_by_url, progress=False, errors="ignore"
        )
    t = cf.connection_health(snap).tokens
    assert len(t) == 60
    assert (t["status"] == "refresh_failed").sum() == snap.errors["token_label"].nunique()
    assert t["profiles"].sum() == len(snap.profiles)
    types = set(t["account_type"].dropna())
    assert {"account", "service_account", "application_calendar"} <= types
