"""Connection health, the scope audit and the plots, on a snapshot with every case."""

from __future__ import annotations

import matplotlib
import pandas as pd
import pytest

import cronofy_frames as cf
from tests.snapshots import every_case

matplotlib.use("Agg")


def test_health_table_has_every_token_with_its_status_and_counts() -> None:
    t = cf.connection_health(every_case()).tokens.set_index("token_label")
    assert list(t.index) == ["healthy", "relink", "syncing", "empty", "dead", "revoked", "later"]
    assert t["status"].to_dict() == {
        "healthy": "ok",
        "relink": "ok",
        "syncing": "ok",
        "empty": "ok",
        "dead": "unauthorized",
        "revoked": "refresh_failed",
        "later": "unfinished",
    }
    counts = t[["profiles", "connected", "disconnected", "initial_sync"]]
    assert counts.loc["healthy"].tolist() == [2, 2, 0, 0]
    assert counts.loc["relink"].tolist() == [3, 0, 3, 0]  # a missing flag counts as not connected
    assert counts.loc["syncing"].tolist() == [1, 1, 0, 1]
    assert counts.loc["empty"].tolist() == [0, 0, 0, 0]
    assert counts.loc["dead"].tolist() == [0, 0, 0, 0]
    assert t.loc["relink", "relink_urls"] == (
        "https://app.cronofy.com/relink/pro_c https://app.cronofy.com/relink/pro_d"
    )
    assert pd.isna(t.loc["healthy", "relink_urls"])
    assert t.loc["relink", "providers"] == "icloud office365 zoho_calendar"
    assert pd.isna(t.loc["dead", "account_id"])
    assert t.loc["later", "data_center"] == "au"


def test_needs_attention_lists_failed_and_disconnected() -> None:
    report = cf.connection_health(every_case())
    assert set(report.needs_attention["token_label"]) == {"relink", "dead", "revoked", "later"}


def test_summaries_by_data_center_and_provider_service() -> None:
    report = cf.connection_health(every_case())
    dc = report.by_data_center.set_index("data_center")
    assert dc.loc["uk", ["tokens", "ok", "failed", "profiles", "disconnected"]].tolist() == [
        2,
        2,
        0,
        4,
        3,
    ]
    assert dc.loc["us", ["tokens", "ok", "failed"]].tolist() == [2, 1, 1]
    assert dc.loc["uk", "disconnected_pct"] == 75.0
    assert pd.isna(dc.loc["sg", "disconnected_pct"])  # no profiles: no percentage
    service = report.by_provider_service.set_index("provider_service")
    assert service.loc[
        "office365", ["accounts", "profiles", "connected", "disconnected"]
    ].tolist() == [2, 2, 1, 1]
    assert service.loc["zoho_calendar", "disconnected"] == 1
    assert service["profiles"].sum() == 6


def test_report_prints_and_renders() -> None:
    report = cf.connection_health(every_case())
    text = str(report)
    assert text.startswith("7 tokens: 4 ok, 3 failed (")
    assert "refresh_failed=1" in text
    assert "unfinished=1" in text
    assert "3 disconnected profiles, 1 in initial sync" in text
    assert "https://app.cronofy.com/relink/pro_d" in text
    assert "<table" in report._repr_html_()


def test_scope_audit_lists_accounts_missing_a_scope() -> None:
    audit = cf.scope_audit(every_case(), "read_events create_event")
    assert audit.set_index("token_label")["missing"].to_dict() == {
        "relink": "create_event",
        "empty": "create_event read_events",
    }
    assert cf.scope_audit(every_case(), ["read_events"])["token_label"].tolist() == ["empty"]


@pytest.mark.parametrize("bad", ["", "   ", [], ["read events"]])
def test_scope_audit_rejects_nonsense(bad: object) -> None:
    with pytest.raises(ValueError, match="required scopes"):
        cf.scope_audit(every_case(), bad)


@pytest.mark.parametrize("by", ["provider_service", "data_center"])
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
