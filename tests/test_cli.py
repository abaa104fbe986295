"""`cronofy-frames load` and `demo`: files written, exit statuses, refreshed tokens kept."""

from __future__ import annotations

import _thread
import csv
import re
import stat
from pathlib import Path

import pandas as pd
import pytest

import cronofy_frames as cf
from cronofy_frames import _collect, sandbox
from cronofy_frames.cli import main
from cronofy_frames.folder_load import PartsFolder
from cronofy_frames.sandbox import Faults
from tests.helpers import cli, load_args
from tests.test_hostile import wait_for


def load_into(sb: sandbox.Sandbox, tmp_path: Path, out: Path, *extra: str) -> int:
    return main(load_args(sb, tmp_path, out, *extra))


def test_load_writes_three_csvs_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with sandbox.serve(accounts=20, seed=3, rate_limit=None) as sb:
        status = load_into(sb, tmp_path, tmp_path / "out")
    assert status == 0
    accounts = pd.read_csv(tmp_path / "out" / "accounts.csv")
    assert len(accounts) == 20
    assert accounts["account_id"].str.match(r"(acc|ser|apc)_").all()
    assert set(accounts["account_type"]) <= {"account", "service_account", "application_calendar"}
    assert (tmp_path / "out" / "profiles.csv").exists()
    assert len(pd.read_csv(tmp_path / "out" / "errors.csv")) == 0
    assert "accounts      20" in capsys.readouterr().out


def test_load_appends_refreshed_tokens_and_exits_1_on_failures(tmp_path: Path) -> None:
    faults = Faults(expired=0.5, revoked=0.2)
    with sandbox.serve(accounts=20, seed=3, rate_limit=None, faults=faults) as sb:
        status = load_into(sb, tmp_path, tmp_path / "out")
        saved = tmp_path / "tokens.csv.refreshed.csv"
        rows = list(csv.DictReader(saved.open()))
        assert rows
        assert all(r["refresh_token"] == sb.world.tokens(int(r["label"][4:]))[1] for r in rows)
    assert status == 1
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    errors = pd.read_csv(tmp_path / "out" / "errors.csv")
    assert set(errors["kind"]) == {"refresh_failed"}
    assert not (set(errors["token_label"]) & {r["label"] for r in rows})


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.csv", "--out", "x"], "No such file"),
        (["bad.csv", "--out", "x"], "no 'access_token' column"),
    ],
)
def test_load_bad_input_exits_2_with_one_line(
    tmp_path: Path,
    args: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.csv").write_text("label,token\na,b\n")
    assert main(["load", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert message in err


def test_unknown_command_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err


def test_demo_runs_as_a_subprocess(tmp_path: Path) -> None:
    done = cli("demo", "--accounts", "30", "--out", str(tmp_path / "demo"))
    assert done.returncode == 0, done.stderr
    assert "tokens        30" in done.stdout
    assert "by provider service:" in done.stdout  # the health report
    assert "wrote" in done.stdout
    assert (
        len(pd.read_csv(tmp_path / "demo" / "accounts.csv"))
        + pd.read_csv(tmp_path / "demo" / "errors.csv")["token_label"].nunique()
        >= 30
    )


def interrupt_after_first_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_collect, "CHUNK_TOKENS", 10)
    original = PartsFolder.write

    def write_then_interrupt(self: PartsFolder, frames: dict[str, pd.DataFrame]) -> None:
        original(self, frames)
        if len(list(self.folder.glob("*-done.csv"))) == 1:
            _thread.interrupt_main()  # as Ctrl-C would, right after a chunk is safe

    monkeypatch.setattr(PartsFolder, "write", write_then_interrupt)


def interrupted_run(
    sb: sandbox.Sandbox, tmp_path: Path, out: Path, monkeypatch: pytest.MonkeyPatch
) -> list[str]:
    """Run ``load`` until its first chunk is committed, then Ctrl-C; the arguments used."""
    args = load_args(sb, tmp_path, out, "--max-workers", "2")
    interrupt_after_first_chunk(monkeypatch)
    assert main(args) == 130
    return args


def test_resume_finishes_without_fetching_finished_tokens_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    with sandbox.serve(accounts=120, seed=3, rate_limit=None, faults=Faults(latency=0.01)) as sb:
        args = interrupted_run(sb, tmp_path, out, monkeypatch)
        first = set(PartsFolder(out).done_labels())
        assert first
        assert not (out / "accounts.csv").exists()
        monkeypatch.undo()
        assert main(args) == 2  # an unfinished run is never silently overwritten
        assert main([*args, "--resume"]) == 0
        fetched = {
            a.label: sb.world._attempts[f"{a.access_token}:/v1/userinfo"] for a in sb.accounts
        }
    accounts = pd.read_csv(out / "accounts.csv")
    assert sorted(accounts["token_label"]) == sorted(fetched)
    assert all(fetched[label] == 1 for label in first)
    assert not (out / ".parts").exists()
    assert (out / "calendars.csv").exists()


def test_resume_uses_the_refreshed_pairs_of_the_first_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    faults = Faults(expired=1.0, latency=0.01)
    with sandbox.serve(accounts=80, seed=3, rate_limit=None, faults=faults) as sb:
        args = interrupted_run(sb, tmp_path, out, monkeypatch)
        monkeypatch.undo()
        assert main([*args, "--resume"]) == 0  # no invalid_grant from a spent refresh token
    assert len(pd.read_csv(out / "accounts.csv")) == 80
    assert len(pd.read_csv(out / "errors.csv")) == 0


def test_load_writes_parquet_that_reads_back(tmp_path: Path) -> None:
    with sandbox.serve(accounts=15, seed=3, rate_limit=None) as sb:
        assert load_into(sb, tmp_path, tmp_path / "pq", "--format", "parquet") == 0
    snap = cf.read_snapshot(tmp_path / "pq")
    assert len(snap.accounts) == 15
    assert str(snap.profiles["profile_connected"].dtype) == "boolean"
    assert (tmp_path / "pq" / "profiles.parquet").exists()


def test_health_command_prints_the_report_and_exits_1_on_failed_tokens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with sandbox.serve(accounts=30, seed=3, rate_limit=None, faults=Faults(revoked=0.2)) as sb:
        load_into(sb, tmp_path, tmp_path / "out")
    capsys.readouterr()
    assert main(["health", str(tmp_path / "out"), "--scopes", "read_events delete_event"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("30 tokens (")
    assert "refresh_failed=" in out
    for title in ("by data center:", "by provider service:", "by account type:", "by access mode:"):
        assert title in out
    listing = out.split("accounts lacking a scope (")[1].splitlines()[1:]
    assert listing
    statuses = ["unverifiable" in line.split("  ", 2)[2] for line in listing]
    assert statuses == sorted(statuses)  # missing first, then unverifiable
    for group in (False, True):
        labels = [ln.split("  ")[0] for ln, s in zip(listing, statuses, strict=True) if s == group]
        assert labels == sorted(labels)  # then by label
    assert all("   " not in line for line in listing)  # never padded


def test_health_of_a_folder_without_a_snapshot_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["health", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "holds no snapshot.json" in err


def test_diff_command_shows_what_changed(tmp_path: Path) -> None:
    with sandbox.serve(accounts=40, seed=3, rate_limit=None) as sb:
        assert load_into(sb, tmp_path, tmp_path / "old") == 0
        sb.world.revoke(3)
        assert load_into(sb, tmp_path, tmp_path / "new") == 1
    done = cli("diff", str(tmp_path / "old"), str(tmp_path / "new"))
    assert done.returncode == 0, done.stderr
    assert re.search(r"^tokens died\s+1$", done.stdout, re.MULTILINE)
    assert "sbx-000003" in done.stdout


def test_health_runs_as_a_subprocess(tmp_path: Path) -> None:
    with sandbox.serve(accounts=10, seed=3, rate_limit=None) as sb:
        assert load_into(sb, tmp_path, tmp_path / "out") == 0
    done = cli("health", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("10 tokens (")
    assert "): 10 ok, 0 failed" in done.stdout.splitlines()[0]


def test_health_warns_about_a_scope_name_cronofy_does_not_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with sandbox.serve(accounts=10, seed=3, rate_limit=None) as sb:
        assert load_into(sb, tmp_path, tmp_path / "out") == 0
    capsys.readouterr()
    assert main(["health", str(tmp_path / "out"), "--scopes", "read_event"]) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: scope name(s) read_event are not documented")


@pytest.mark.slow  # a subprocess or a soak: make quick skips it
def test_every_command_explains_itself() -> None:
    for command in ("load", "health", "diff", "demo", "sandbox"):
        done = cli(command, "--help")
        assert done.returncode == 0
        assert done.stdout.startswith(f"usage: cronofy-frames {command}")


def test_load_says_up_front_what_the_rate_limits_allow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with sandbox.serve(accounts=12, seed=3, rate_limit=None) as sb:
        assert main(load_args(sb, tmp_path, tmp_path / "out", progress=True)) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("rate limits: ")]
    assert lines
    pattern = r"tokens at 500/min \(Cronofy's documented limit\), at least \d+ s$"
    assert all(re.search(pattern, line) for line in lines)
    assert all("(sandbox http://127.0.0.1:" in line for line in lines)  # where it goes


# -- CLI manners (#21) ------------------------------------------------------------------


@pytest.mark.slow  # a subprocess against a slow sandbox
def test_sigterm_ends_a_load_like_ctrl_c_keeping_its_work(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    out = tmp_path / "out"
    with sandbox.serve(accounts=200, seed=5, rate_limit=None, faults=Faults(latency=0.2)) as sb:
        args = load_args(sb, tmp_path, out, "--max-workers", "1")
        proc = subprocess.Popen(
            [sys.executable, "-m", "cronofy_frames", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_for(lambda: sum(sb.world.requests.values()) >= 24)  # some tokens are done
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        done = PartsFolder(out).done_labels()
        again = load_args(sb, tmp_path, out, "--max-workers", "8", progress=True)
        resumed = cli(*again, "--resume")
    assert proc.returncode == 143
    assert "--resume" in err
    assert "Traceback" not in err
    assert done
    assert resumed.returncode == 0, resumed.stderr
    plan = f"rate limits: {len(done):,} tokens already done, {200 - len(done):,} left"
    assert plan in resumed.stderr  # the floor of what is left, not of every token
    assert len(pd.read_csv(out / "accounts.csv")) == 200


def test_an_unknown_option_is_named_with_what_it_likely_meant(tmp_path: Path) -> None:
    done = cli("load", "tokens.csv", "--histroy", str(tmp_path / "h"))
    assert done.returncode == 2
    assert "unknown option --histroy (did you mean --history?)" in done.stderr
    assert "--out" not in done.stderr.splitlines()[-1]


def test_a_bad_timeout_is_refused_before_any_folder_is_made(tmp_path: Path) -> None:
    with sandbox.serve(accounts=2, seed=5, rate_limit=None) as sb:
        done = cli(*load_args(sb, tmp_path, tmp_path / "out", "--timeout", "-3"))
    assert done.returncode == 2
    assert "timeout" in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_load_without_credentials_says_so_before_tokens_turn_unauthorized(
    tmp_path: Path,
) -> None:
    with sandbox.serve(accounts=4, seed=5, rate_limit=None) as sb:
        sb.write_tokens_csv(tmp_path / "tokens.csv")
        done = cli(
            "load", str(tmp_path / "tokens.csv"), "--out", str(tmp_path / "o"), "--no-progress"
        )
    assert done.returncode == 0
    assert done.stderr.startswith("warning: no --credentials: an expired token cannot be refreshed")


def test_reasons_are_whole_and_the_errors_file_is_named_by_its_format(tmp_path: Path) -> None:
    with sandbox.serve(accounts=30, seed=15, rate_limit=None, faults=Faults(revoked=0.2)) as sb:
        done = cli(*load_args(sb, tmp_path, tmp_path / "unused", "--format", "parquet"))
    listing = done.stdout.split("failed tokens:", 1)[1]
    assert "a new authorization is needed" in " ".join(listing.split())  # never cut short
    assert "POST /oauth/token:" not in listing
    assert str(tmp_path / "unused" / "errors.parquet") in listing
    paths = str(tmp_path)  # a path is never cut: it may stand alone on a longer line
    assert all(len(line) <= 100 for line in done.stdout.splitlines() if paths not in line)


def test_a_data_center_typo_is_blamed_on_its_own_column(tmp_path: Path) -> None:
    path = tmp_path / "tokens.csv"
    path.write_text(
        "label,data_center,access_token,base_url\nacme,ukk,tok_abcdefghijklmnop,http://127.0.0.1:9\n"
    )
    with pytest.raises(ValueError, match=r"row 2, column data_center: unknown data center 'ukk'"):
        cf.tokens_from_csv(path)


def test_the_demo_fits_100_columns_and_says_what_failed_on_purpose(tmp_path: Path) -> None:
    done = cli("demo", "--accounts", "60", "--out", str(tmp_path / "demo"))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert all(len(line) <= 100 for line in lines if not line.startswith("    https://"))
    assert "failed on purpose" in done.stdout
