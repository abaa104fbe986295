"""Audit history: a hand-built history with every case, both engines, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import cronofy_frames as cf
from cronofy_frames import schema
from cronofy_frames.cli import main
from cronofy_frames.sandbox import Sandbox, SandboxOptions
from tests.helpers import cli, load_args
from tests.snapshots import _account, _conferencing, _error, _profile

SANDBOX: SandboxOptions = {"accounts": 20, "seed": 8, "rate_limit": None}
START = pd.Timestamp("2026-01-05T06:00:00Z")
WEEKS = 6  # snapshots 0..5, a week apart; weeks=4 before the newest: snapshots 1..5
SCOPE = "read_events"


def connected(week: int, name: str) -> bool | None:
    """Each profile's state in each week (None: its token failed that week)."""
    return {
        "chronic": week < 1,  # disconnected in snapshots 1..5: exactly the window
        "short": week < 2,  # disconnected in 2..5 only: not long enough
        "back": week == 5,  # disconnected in 0..4, reconnected in the newest
        "gap": None if week == 3 else False,  # its token failed in week 3
        "fine": True,
    }[name]


def week(n: int) -> cf.Snapshot:
    """Snapshot ``n``: tokens t-chronic ... t-fine, a dead token, one that recovers."""
    when = START + pd.Timedelta(weeks=n)
    accounts, profiles, errors = [], [], []
    for name in ("chronic", "short", "back", "gap", "fine"):
        label, state = f"t-{name}", connected(n, name)
        if state is None:
            errors.append(_error(label, "us", "server_error", 503, "/v1/userinfo"))
            continue
        accounts.append(_account(label, "us", f"acc_{name}", SCOPE))
        profiles.append(_profile(label, "us", f"acc_{name}", f"pro_{name}", "gsuite", state))
    errors.append(_error("t-dead", "uk", "unauthorized", 401, "/v1/userinfo"))
    if n in (1, 2):  # died, then recovered
        errors.append(_error("t-flaky", "uk", "refresh_failed", 400, "/oauth/token"))
    else:
        accounts.append(_account("t-flaky", "uk", "acc_flaky", SCOPE))
    conferencing = [_conferencing("t-fine", "us", "acc_fine", "pro_zoom", n < 1)]
    roster = [(a["token_label"], a["data_center"]) for a in accounts]
    roster += [(e["token_label"], e["data_center"]) for e in errors]
    snap = cf.Snapshot.from_frames(
        {
            "accounts": schema.to_frame(schema.ACCOUNTS, accounts),
            "profiles": schema.to_frame(schema.PROFILES, profiles),
            "errors": schema.to_frame(schema.ERRORS, errors),
            "conferencing": schema.to_frame(schema.CONFERENCING, conferencing),
        },
        roster=roster,
    )
    snap.taken_at = when
    return snap


@pytest.fixture(scope="module")
def audits(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six weekly snapshots, CSV and Parquet mixed; the oldest as written before
    ``taken_at`` and counts existed (only ``written_at``)."""
    root = tmp_path_factory.mktemp("audits")
    for n in range(WEEKS):
        snap = week(n)
        folder = cf.snapshot_folder(root, snap.taken_at)
        (snap.to_parquet if n % 2 else snap.to_csv)(folder)
        if n == 0:
            meta_path = folder / "snapshot.json"
            meta = json.loads(meta_path.read_text())
            meta["written_at"] = meta.pop("taken_at")
            del meta["counts"]
            meta_path.write_text(json.dumps(meta))
    return root


ENGINES = ["duckdb", "pandas"]


@pytest.mark.parametrize("engine", ENGINES)
def test_snapshots_are_listed_oldest_first_with_their_counts(audits: Path, engine: str) -> None:
    snaps = cf.read_history(audits, engine=engine).snapshots
    assert list(snaps["taken_at"]) == [START + pd.Timedelta(weeks=n) for n in range(WEEKS)]
    assert list(snaps["format"]) == ["csv", "parquet"] * 3
    assert snaps["tokens"].tolist() == [7] * WEEKS
    assert snaps["failed"].tolist() == [1, 2, 2, 2, 1, 1]  # dead, flaky, the gap token
    assert snaps["profiles"].tolist() == [5, 5, 5, 4, 5, 5]
    assert snaps["disconnected"].tolist() == [2, 3, 4, 3, 4, 3]  # the oldest counted from files


@pytest.mark.parametrize("engine", ENGINES)
def test_trend_per_snapshot_and_by_a_column(audits: Path, engine: str) -> None:
    history = cf.read_history(audits, engine=engine)
    trend = history.trend()
    for n in range(WEEKS):  # against the frames themselves
        snap, row = week(n), trend.iloc[n]
        p = snap.profiles
        assert row["profiles"] == len(p)
        assert row["disconnected"] == int((~p["profile_connected"].fillna(False)).sum())
        assert row["failed"] == snap.errors["token_label"].nunique()
        assert row["ok"] == 7 - row["failed"]
    assert trend["failed_refresh_failed"].tolist() == [0, 1, 1, 0, 0, 0]
    assert trend["failed_unauthorized"].tolist() == [1] * WEEKS
    assert trend.loc[5, "disconnected_pct"] == pytest.approx(60.0)
    by_dc = history.trend("data_center").set_index(["snapshot_at", "data_center"])
    assert by_dc.loc[(START, "uk"), "tokens"] == 2
    assert by_dc.loc[(START, "uk"), "failed"] == 1
    modes = history.trend("access_mode")
    assert set(modes["access_mode"]) == {"read_write"}
    with pytest.raises(ValueError, match="by must be"):
        history.trend("colour")


@pytest.mark.parametrize("engine", ENGINES)
def test_chronic_profiles_and_tokens(audits: Path, engine: str) -> None:
    found = cf.read_history(audits, engine=engine).chronic(weeks=4)
    assert found.snapshots == 5
    profiles = found.profiles.set_index("profile_id")
    assert sorted(profiles.index) == ["pro_chronic", "pro_zoom"]  # not short, back, gap
    assert profiles.loc["pro_chronic", "since"] == START + pd.Timedelta(weeks=1)
    assert profiles.loc["pro_chronic", "snapshots"] == 5
    assert profiles.loc["pro_chronic", "kind"] == "calendar"
    assert profiles.loc["pro_zoom", "kind"] == "conferencing"
    assert profiles.loc["pro_chronic", "profile_relink_url"].endswith("/pro_chronic")
    tokens = found.tokens.set_index("token_label")
    assert list(tokens.index) == ["t-dead"]  # t-flaky recovered
    assert tokens.loc["t-dead", "since"] == START  # failing since the oldest
    assert tokens.loc["t-dead", "snapshots"] == WEEKS
    longer = cf.read_history(audits, engine=engine).chronic(weeks=5)
    assert "pro_chronic" not in set(longer.profiles["profile_id"])  # 6 snapshots now
    one = cf.read_history(audits, engine=engine).chronic(weeks=1)
    assert one.snapshots == 2
    with pytest.raises(ValueError, match="weeks must be"):
        cf.read_history(audits, engine=engine).chronic(weeks=0)


@pytest.mark.parametrize("engine", ENGINES)
def test_frame_reads_only_the_columns_and_rows_asked_for(audits: Path, engine: str) -> None:
    history = cf.read_history(audits, engine=engine)
    long = history.frame(
        "profiles", columns=["token_label", "profile_connected"], where={"token_label": "t-back"}
    )
    assert list(long.columns) == ["snapshot_at", "token_label", "profile_connected"]
    assert long["profile_connected"].tolist() == [False] * 5 + [True]
    assert str(long["profile_connected"].dtype) == "boolean"
    with pytest.raises(ValueError, match="has no column"):
        history.frame("profiles", columns=["nope"])


def test_the_engines_agree(audits: Path) -> None:
    duck, pandas = (cf.read_history(audits, engine=e) for e in ENGINES)
    pd.testing.assert_frame_equal(duck.trend(), pandas.trend(), check_dtype=False)
    pd.testing.assert_frame_equal(
        duck.chronic(4).profiles, pandas.chronic(4).profiles, check_dtype=False
    )


def test_bad_history_folders_are_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        cf.read_history(tmp_path / "nope")
    with pytest.raises(ValueError, match="holds no snapshot"):
        cf.read_history(tmp_path)


def test_snapshot_folders_are_never_reused(tmp_path: Path) -> None:
    cf.snapshot_folder(tmp_path, START)
    with pytest.raises(FileExistsError):
        cf.snapshot_folder(tmp_path, START)


def test_load_history_writes_a_new_folder_each_run_and_the_cli_reports(
    sb: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = load_args(sb, tmp_path, tmp_path / "unused")
    at = args.index("--out")
    args[at : at + 2] = ["--history", str(tmp_path / "audits")]
    assert main(args) == 0
    first = sorted((tmp_path / "audits").iterdir())
    assert len(first) == 1
    meta = json.loads((first[0] / "snapshot.json").read_text())
    assert (meta["format"], meta["files"]) == (2, "parquet")
    assert (
        pd.Timestamp(meta["taken_at"]).tz_convert("UTC").strftime("%Y-%m-%dT%H-%M-%SZ")
        == first[0].name
    )
    assert meta["counts"]["tokens"] == 20
    sb.world.advance(7, 0.5)
    while (
        tmp_path / "audits" / pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%dT%H-%M-%SZ")
    ).exists():
        pass  # the next second: a folder per second, never overwritten
    assert main(args) == 0
    assert len(list((tmp_path / "audits").iterdir())) == 2
    capsys.readouterr()
    done = cli("trend", str(tmp_path / "audits"), "--by", "data_center")
    assert done.returncode == 0, done.stderr
    assert "disconnected_pct" in done.stdout
    done = cli("chronic", str(tmp_path / "audits"), "--weeks", "4")
    assert done.returncode == 0, done.stderr
    assert "in each of the 2 snapshots" in done.stdout


@pytest.mark.slow  # a subprocess or a soak: make quick skips it
def test_cli_trend_and_chronic_refuse_bad_input(tmp_path: Path) -> None:
    assert cli("trend", str(tmp_path / "nope")).returncode == 2
    assert cli("chronic", str(tmp_path), "--weeks", "0").returncode == 2
    assert cli("trend", str(tmp_path), "--by", "colour").returncode == 2
    for command in ("trend", "chronic"):
        done = cli(command, "--help")
        assert done.returncode == 0
        assert "Exit status 0" in " ".join(done.stdout.split())  # however argparse wraps


def test_a_large_history_without_duckdb_says_how_to_install_it(tmp_path: Path) -> None:
    for n in range(13):
        snap = week(n % WEEKS)
        snap.taken_at = START + pd.Timedelta(weeks=n)
        snap.to_parquet(cf.snapshot_folder(tmp_path, snap.taken_at))
    with pytest.warns(cf.HistoryWarning, match=r"pip install 'cronofy-frames\[history\]'"):
        history = cf.read_history(tmp_path, engine="pandas")
    assert len(history.trend()) == 13


@pytest.mark.parametrize("engine", ENGINES)
def test_text_a_spreadsheet_would_run_reads_back_exactly_from_csv(
    tmp_path: Path, engine: str
) -> None:
    for n in range(2):
        snap = week(n)
        names = ["=HYPERLINK(1)", "'quoted", "+1", "plain", "@me"]
        snap.profiles["profile_name"] = pd.array(names, dtype=schema.STRING)
        snap.to_csv(cf.snapshot_folder(tmp_path, snap.taken_at))
    long = cf.read_history(tmp_path, engine=engine).frame("profiles", columns=["profile_name"])
    assert long["profile_name"].tolist() == names * 2


def test_resume_with_history_finds_the_newest_unfinished_run(tmp_path: Path) -> None:
    from cronofy_frames.folder_load import PartsFolder
    from cronofy_frames.snapshot import PARTS

    for name in ("2026-01-05T06-00-00Z", "2026-01-12T06-00-00Z", "2026-01-19T06-00-00Z"):
        (tmp_path / name / PARTS).mkdir(parents=True)
    (tmp_path / "2026-01-19T06-00-00Z" / "snapshot.json").write_text("{}")  # finished
    unfinished = PartsFolder.unfinished_under(tmp_path)
    assert [p.name for p in unfinished] == ["2026-01-05T06-00-00Z", "2026-01-12T06-00-00Z"]
    assert cf.history.folder_time(unfinished[-1]) == pd.Timestamp("2026-01-12T06:00:00Z")


def test_chronic_warns_when_the_history_is_shorter_than_its_window(tmp_path: Path) -> None:
    from tests.snapshots import every_case

    for when in ("2026-01-05T06:00:00Z", "2026-01-12T06:00:00Z"):
        snap = every_case()
        snap.taken_at = pd.Timestamp(when)
        snap.to_parquet(cf.snapshot_folder(tmp_path, pd.Timestamp(when)))
    done = cli("chronic", str(tmp_path), "--weeks", "4")
    trend = cli("trend", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "warning: the history spans 7 days (2 snapshots), less than --weeks 4" in done.stderr
    assert "token_label" in done.stdout  # rows come with their headers
    assert "2026-01-12 06:00:00" in trend.stdout  # to the second
