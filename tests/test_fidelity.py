"""What Cronofy really sends, over real HTTP in both endpoint modes: account types,
simplified scopes, access modes, conferencing profiles, 422s and sloppy content types."""

from __future__ import annotations

from pathlib import Path

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
        if mode == "auto":
            assert row["account_type"] == "service_account"
            assert row["domain"] == truth.domain
            assert row["delegated_scope"] == "read_account list_calendars read_events"
            assert row["scope_source"] == "userinfo"
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
    assert extra == len(short)  # one more request, for those tokens only
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
