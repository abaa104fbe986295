"""What Cronofy really sends, over real HTTP in both endpoint modes: account types,
simplified scopes, access modes, conferencing profiles, 422s and sloppy content types."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import cronofy_frames as cf
from cronofy_frames import sandbox
from cronofy_frames.sandbox import Faults, Sandbox, SandboxOptions
from tests.helpers import tokens_of

SANDBOX: SandboxOptions = {"accounts": 400, "seed": 31, "rate_limit": None}
MODES = ["auto", "documented"]


def quiet(tokens: list[cf.Token], **options: object) -> cf.Snapshot:
    options = {"rate_limits": None, **options}  # the sandbox has no limit either
    return cf.load(tokens, progress=False, errors="ignore", **options)


@pytest.fixture(scope="module")
def loads(sb: Sandbox) -> dict[str, cf.Snapshot]:
    tokens = tokens_of(sb)
    return {mode: quiet(tokens, endpoints=mode) for mode in MODES}


def indices(sb: Sandbox, kind: str) -> list[int]:
    return [i for i in range(len(sb.accounts)) if sb.world.account(i).kind == kind]


def label(i: int) -> str:
    return f"sbx-{i:06d}"


@pytest.mark.parametrize("mode", MODES)
def test_a_service_account_is_an_account_row_with_no_profiles_not_an_error(
    sb: Sandbox, loads: dict[str, cf.Snapshot], mode: str
) -> None:
    snap, found = loads[mode], indices(sb, "service_account")
    assert found
    assert snap.errors.empty
    accounts = snap.accounts.set_index("token_label")
    for i in found:
        row, truth = accounts.loc[label(i)], sb.world.account(i)
        assert row["sub"] == row["account_id"] == truth.account_id
        assert row["account_id"].startswith("ser_")
        assert label(i) not in set(snap.profiles["token_label"])
        if mode == "auto" and truth.flat == "email":  # the older flat answer, by username
            assert row["account_type"] == "service_account"
            assert row["email"] == truth.email
            assert pd.isna(row["domain"])  # that answer does not say it
        elif mode == "auto":  # nested, or the older flat answer by domain
            assert row["account_type"] == "service_account"
            assert row["domain"] == truth.domain
            assert row["scope_source"] == "userinfo"
            if not truth.flat:
                assert row["delegated_scope"] == "read_account list_calendars read_events"
        else:  # /v1/account does not say the type
            assert row["account_type"] == "account"
            assert pd.isna(row["domain"])
            assert row["scope_source"] == "account"
    health = cf.connection_health(snap).tokens.set_index("token_label")
    assert (health.loc[[label(i) for i in found], "status"] == "ok").all()


@pytest.mark.parametrize("mode", MODES)
def test_an_application_calendar_is_told_apart_and_its_profile_is_read_write(
    sb: Sandbox, loads: dict[str, cf.Snapshot], mode: str
) -> None:
    snap, found = loads[mode], indices(sb, "application_calendar")
    assert found
    accounts = snap.accounts.set_index("token_label")
    profiles = snap.profiles.set_index("token_label")
    for i in found:
        assert accounts.loc[label(i), "account_id"].startswith("apc_")
        expected = "application_calendar" if mode == "auto" else "account"
        assert accounts.loc[label(i), "account_type"] == expected
        own = profiles.loc[[label(i)]]
        assert own["provider_name"].tolist() == ["cronofy"]
        assert own["access_mode"].tolist() == ["read_write"]  # the application owns it


@pytest.mark.parametrize("mode", MODES)
def test_access_modes_follow_the_provider_values_and_keep_them_verbatim(
    sb: Sandbox, loads: dict[str, cf.Snapshot], mode: str
) -> None:
    p = loads[mode].profiles
    truth = {
        q.profile_id: (a.kind, q.provider_name, q.provider_service)
        for a in map(sb.world.account, range(len(sb.accounts)))
        for q in a.profiles
    }
    for row in p.itertuples():
        kind, name, service = truth[row.profile_id]
        assert (row.provider_name, row.provider_service) == (name, service)  # verbatim
        if "free_busy" in service or "free_busy" in name:
            assert row.access_mode == "free_busy"
        elif name == "cronofy":
            assert row.access_mode == (
                "read_write" if kind == "application_calendar" else "no_access"
            )
        elif service in ("zoho_calendar", "office365_gcc_high"):
            assert row.access_mode == "unknown"
        else:
            assert row.access_mode == "read_write"
    assert set(p["access_mode"]) == {"read_write", "free_busy", "no_access", "unknown"}
    modes = cf.connection_health(loads[mode]).by_access_mode.set_index("access_mode")
    assert modes["profiles"].to_dict() == p["access_mode"].value_counts().to_dict()


def test_conferencing_profiles_are_their_own_frame_never_calendar_rows(
    sb: Sandbox, loads: dict[str, cf.Snapshot]
) -> None:
    snap = loads["auto"]
    expected = [
        (label(a.index), a.account_id, c.provider_name, c.profile_id, c.connected)
        for a in map(sb.world.account, range(len(sb.accounts)))
        for c in a.conferencing
    ]
    got = [
        (r.token_label, r.account_id, r.provider_name, r.profile_id, r.profile_connected)
        for r in snap.conferencing.itertuples()
    ]
    assert got == expected
    assert any(not c[-1] for c in expected)
    assert not set(snap.conferencing["profile_id"]) & set(snap.profiles["profile_id"])
    broken = snap.conferencing[snap.conferencing["profile_connected"].eq(False)]
    assert broken["profile_relink_url"].notna().all()
    report = cf.connection_health(snap)
    assert set(broken["token_label"]) <= set(report.needs_attention["token_label"])
    listed = report.relink[report.relink["kind"] == "conferencing"]
    assert sorted(listed["profile_id"]) == sorted(broken["profile_id"])
    assert loads["documented"].conferencing.empty


def test_diff_covers_conferencing_profiles() -> None:
    with sandbox.serve(accounts=120, seed=31, rate_limit=None) as s:
        w = s.world
        i = next(i for i in range(120) if any(c.connected for c in w.account(i).conferencing))
        j = next(j for j, c in enumerate(w.account(i).conferencing) if c.connected)
        old = quiet(tokens_of(s))
        w.set_conferencing_connected(i, j, False)
        new = quiet(tokens_of(s))
        gone = w.account(i).conferencing[j].profile_id
    changes = cf.diff(old, new)
    assert changes.conferencing_disconnected["profile_id"].tolist() == [gone]
    assert changes.conferencing_disconnected["profile_relink_url"].notna().all()
    assert changes.newly_disconnected.empty
    back = cf.diff(new, old)
    assert back.conferencing_reconnected["profile_id"].tolist() == [gone]


def test_a_shorthand_scope_is_unverifiable_and_exact_scopes_fetches_the_fine_grained_list(
    sb: Sandbox, loads: dict[str, cf.Snapshot]
) -> None:
    world = sb.world
    short = {
        label(i)
        for i in range(len(sb.accounts))
        if world.account(i).userinfo_scope != world.account(i).scope
    }
    assert short
    audit = cf.scope_audit(loads["auto"], "read_events").set_index("token_label")
    for lab in short & set(audit.index):
        assert audit.loc[lab, "status"] == "unverifiable"
        assert pd.isna(audit.loc[lab, "missing"])
    assert set(audit.index[audit["status"] == "unverifiable"]) <= short
    documented = cf.scope_audit(loads["documented"], "read_events")
    assert set(documented["status"]) == {"missing"}  # fine-grained: known for certain
    before = world.requests.copy()
    exact = quiet(tokens_of(sb), exact_scopes=True)
    extra = sum(n for (_, p), n in world.requests.items() if p == "/v1/account")
    extra -= sum(n for (_, p), n in before.items() if p == "/v1/account")
    flat = {label(i) for i in range(len(sb.accounts)) if world.account(i).flat}
    assert flat
    assert extra == len(short | flat)  # one more request, for those tokens only (a service
    # account's flat answer shows no scope at all)
    accounts = exact.accounts.set_index("token_label")
    assert set(accounts.loc[sorted(short), "scope_source"]) == {"account"}
    assert (
        accounts["scope"] == loads["documented"].accounts.set_index("token_label")["scope"]
    ).all()


@pytest.mark.parametrize("mode", MODES)
def test_a_422_is_unprocessable_and_names_its_field_keys(mode: str) -> None:
    with sandbox.serve(accounts=20, seed=31, rate_limit=None, faults=Faults(http_422=1.0)) as s:
        snap = quiet(tokens_of(s), endpoints=mode)
    assert len(snap.errors)
    assert set(snap.errors["kind"]) == {"unprocessable"}
    assert set(snap.errors["status_code"]) == {422}
    assert snap.errors["message"].str.endswith("(tzid: errors.invalid_tzid)").all()
    assert set(cf.connection_health(snap).tokens["outcome"]) == {"retry"}


def test_a_422_never_names_a_field_that_echoes_the_token() -> None:
    faults = Faults(http_422=1.0, echo=0.0001)  # echo on: the 422 body carries the token
    with sandbox.serve(accounts=20, seed=31, rate_limit=None, faults=faults) as s:
        tokens = tokens_of(s)
        snap = quiet(tokens)
    text = snap.errors.to_csv()
    for t in tokens:
        assert t.access_token not in text
        assert t.access_token.lower() not in text
    assert (snap.errors["kind"] == "unprocessable").sum() >= 19


@pytest.mark.parametrize("mode", MODES)
def test_a_malformed_content_type_still_parses(mode: str) -> None:
    faults = Faults(sloppy_content_type=1.0)
    with sandbox.serve(accounts=30, seed=31, rate_limit=None, faults=faults) as s:
        snap = quiet(tokens_of(s), endpoints=mode)
    assert snap.errors.empty
    assert len(snap.accounts) == 30


def test_new_columns_and_conferencing_survive_files(
    loads: dict[str, cf.Snapshot], tmp_path: Path
) -> None:
    snap = loads["auto"]
    for fmt in ("csv", "parquet"):
        getattr(snap, f"to_{fmt}")(tmp_path / fmt)
        back = cf.read_snapshot(tmp_path / fmt)
        for name, frame in snap.frames().items():
            pd.testing.assert_frame_equal(back.frames()[name], frame, check_exact=True)


def test_a_folder_written_before_these_columns_still_reads(
    loads: dict[str, cf.Snapshot], tmp_path: Path
) -> None:
    snap = loads["auto"]
    snap.to_csv(tmp_path)
    (tmp_path / "conferencing.csv").unlink()
    for name, drop in (
        ("accounts", ["account_type", "scope_source"]),
        ("profiles", ["access_mode"]),
    ):
        frame = pd.read_csv(tmp_path / f"{name}.csv", dtype=str, keep_default_na=False)
        frame.drop(columns=drop).to_csv(tmp_path / f"{name}.csv", index=False)
    back = cf.read_snapshot(tmp_path)
    assert back.conferencing.empty
    assert list(back.conferencing.columns) == list(cf.schema.CONFERENCING)
    assert back.accounts["account_type"].isna().all()
    assert back.profiles["access_mode"].isna().all()
    assert len(back.profiles) == len(snap.profiles)


# -- the third pass (#22): EWS to Graph, service accounts' flat answer, a 403 is one token's --


def office365(sb: Sandbox) -> list[tuple[int, int, str | None, str]]:
    """(account, profile, protocol, migration URL) of every Office 365 profile."""
    return [
        (i, j, p.protocol, p.migration_url)
        for i in range(len(sb.accounts))
        for j, p in enumerate(sb.world.account(i).profiles)
        if p.provider_service == "office365"
    ]


@pytest.mark.parametrize("mode", MODES)
def test_office_365_profiles_say_their_protocol_and_the_link_to_graph(
    sb: Sandbox, loads: dict[str, cf.Snapshot], mode: str
) -> None:
    profiles = loads[mode].profiles.set_index(["token_label", "profile_id"])
    truth = office365(sb)
    on_ews = [t for t in truth if t[2] == "exchange_web_services"]
    assert on_ews
    assert len(on_ews) < len(truth)  # some moved to Graph already
    for i, j, protocol, url in truth:
        row: Any = profiles.loc[(label(i), sb.world.account(i).profiles[j].profile_id)]
        if mode == "documented":  # /v1/profiles does not say it: missing, never an error
            assert pd.isna(row["provider_protocol"])
            assert pd.isna(row["graph_api_migration_url"])
            continue
        assert row["provider_protocol"] == protocol
        assert (
            row["graph_api_migration_url"] if pd.notna(row["graph_api_migration_url"]) else ""
        ) == url
    others = loads[mode].profiles[loads[mode].profiles["provider_service"] != "office365"]
    assert others["provider_protocol"].isna().all()


def test_the_health_report_lists_every_profile_on_ews_per_token_and_data_center(
    sb: Sandbox, loads: dict[str, cf.Snapshot]
) -> None:
    report = cf.connection_health(loads["auto"])
    truth = [t for t in office365(sb) if t[2] == "exchange_web_services"]
    assert len(report.ews) == len(truth)
    assert report.ews["graph_api_migration_url"].str.startswith("https://app").all()
    per_token = report.tokens.set_index("token_label")["ews_profiles"]
    assert per_token.sum() == len(truth)
    for i, *_ in truth:
        assert per_token[label(i)] >= 1
    per_dc = report.by_data_center.set_index("data_center")["ews_profiles"]
    assert per_dc.sum() == len(truth)
    assert "on Exchange Web Services (" in str(report)
    assert cf.connection_health(loads["documented"]).ews.empty  # not said there: none listed


def test_the_cli_and_the_panel_show_the_ews_audit(sb: Sandbox, tmp_path: Path) -> None:
    from cronofy_frames.widgets import LoadPanel, TokenPicker
    from tests.helpers import cli

    loads_now = quiet(tokens_of(sb))
    loads_now.to_csv(tmp_path / "snap")
    done = cli("health", str(tmp_path / "snap"))
    truth = [t for t in office365(sb) if t[2] == "exchange_web_services"]
    assert f"on Exchange Web Services ({len(truth):,} Office 365 profiles)" in done.stdout
    assert truth[0][3] in done.stdout  # a link to move it to Graph, whole
    picker = TokenPicker()
    picker.add_tokens(tokens_of(sb))
    panel = LoadPanel(picker, rate_limits=None, progress=False)
    panel.load_and_wait()
    titles = [panel.tabs.get_title(n) for n in range(len(panel.tabs.children))]
    assert f"On EWS ({len(truth):,})" in titles
    assert "On Exchange Web Services:" in panel.health.value


def test_diff_reports_profiles_that_moved_to_graph() -> None:
    with sandbox.serve(accounts=200, seed=33, rate_limit=None) as sb:
        before = quiet(tokens_of(sb))
        i, j, _, _ = next(t for t in office365(sb) if t[2] == "exchange_web_services")
        sb.world.set_protocol(i, j, "graph_api")  # its owner followed the link
        after = quiet(tokens_of(sb))
        moved_id = sb.world.account(i).profiles[j].profile_id
    changes = cf.diff(before, after)
    assert changes.moved_to_graph[["token_label", "profile_id"]].values.tolist() == [
        [label(i), moved_id]
    ]
    assert "moved to graph" in str(changes)


def test_history_trends_by_provider_protocol(tmp_path: Path) -> None:
    with sandbox.serve(accounts=120, seed=34, rate_limit=None) as sb:
        for week in range(2):
            snap = quiet(tokens_of(sb))
            snap.taken_at = pd.Timestamp("2026-01-05T06:00:00Z") + pd.Timedelta(weeks=week)
            snap.to_parquet(cf.snapshot_folder(tmp_path, snap.taken_at))
    trend = cf.read_history(tmp_path).trend(by="provider_protocol")
    ews = trend[trend["provider_protocol"] == "exchange_web_services"]
    assert len(ews) == 2
    assert (ews["profiles"] > 0).all()


def test_a_service_accounts_flat_answer_is_a_row_and_never_a_bad_response(
    sb: Sandbox, loads: dict[str, cf.Snapshot]
) -> None:
    flat = [i for i in range(len(sb.accounts)) if sb.world.account(i).flat]
    assert {sb.world.account(i).flat for i in flat} == {"domain", "email"}
    snap = loads["auto"]
    assert not set(snap.errors["token_label"]) & {label(i) for i in flat}
    rows = snap.accounts.set_index("token_label")
    for i in flat:
        assert rows.loc[label(i), "account_type"] == "service_account"
    outcome = cf.connection_health(snap).tokens.set_index("token_label")["outcome"]
    assert set(outcome[[label(i) for i in flat]]) == {"ok"}  # never "retry" on every run


def test_an_unknown_shape_with_a_usable_sub_is_a_row_and_one_warning(tmp_path: Path) -> None:
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = json.dumps({"sub": "acc_" + "x" * 24, "cronofy.type": "tokens"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        tokens = [cf.Token(f"at_odd_{n:012d}", url, f"odd-{n}") for n in range(3)]
        with pytest.warns(cf.UnknownShapeWarning, match="3 tokens' /v1/userinfo answers"):
            snap = cf.load(tokens, progress=False, rate_limits=None)
    finally:
        server.shutdown()
        server.server_close()
    assert snap.errors.empty
    assert set(snap.accounts["account_type"]) == {"tokens"}  # kept verbatim
    report = str(cf.connection_health(snap))  # a type named like a column breaks nothing
    assert "3 tokens (" in report


def test_a_403_on_userinfo_is_one_tokens_answer_and_one_error_row() -> None:
    """Cronofy's 403 is a scope this token lacks: it alone falls back to the documented
    endpoints; the next healthy token of the same data center still gets its calendars
    from one userinfo request; a token refused everywhere has one error row."""
    with sandbox.serve(accounts=60, seed=35, rate_limit=None) as sb:
        tokens = tokens_of(sb)
        first = tokens[0]
        same_dc = [
            t
            for t in tokens[1:]
            if sb.world.account(int(t.label[4:])).data_center == sb.world.account(0).data_center
        ]
        sb.world.userinfo_forbidden.add(0)
        snap = quiet([first, *same_dc], max_workers=1)
        asked = dict(sb.world.requests)
        sb.world.revoke(0)  # now refused everywhere, for good
        refused = quiet([first], endpoints="documented")
    assert snap.errors.empty
    assert label(0) in set(snap.accounts["token_label"])  # served by /v1/account + /v1/profiles
    healthy = {t.label for t in same_dc if sb.world.account(int(t.label[4:])).profiles}
    assert healthy <= set(snap.calendars["token_label"])  # the others: userinfo, calendars
    assert set(snap.accounts.set_index("token_label").loc[sorted(healthy), "scope_source"]) == {
        "userinfo"
    }
    dc = sb.world.account(0).data_center
    assert asked.get((dc, "/v1/account"), 0) == 1  # one token fell back, not the data center
    assert len(refused.errors) == 1
