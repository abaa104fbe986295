"""No false alarms: the CLI, a script and the notebook agree on the current token pairs,
diff and health tell "could not ask" apart from "gone", and the CLI says what failed."""

from __future__ import annotations

import stat
import warnings
from pathlib import Path

import pandas as pd
import pytest

import cronofy_frames as cf
from cronofy_frames import sandbox
from cronofy_frames.sandbox import Faults
from cronofy_frames.widgets import LoadPanel, TokenPicker
from tests.helpers import cli, load_args, tokens_of
from tests.test_widgets import upload

FAULTS = Faults(expired=0.4)  # refreshes that rotate the refresh token


def refresh_failures(snap: cf.Snapshot) -> int:
    return int((snap.errors["kind"] == "refresh_failed").sum())


def test_a_cli_run_then_a_python_run_and_an_upload_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with sandbox.serve(accounts=40, seed=11, rate_limit=None, faults=FAULTS) as sb:
        first = cli(*load_args(sb, tmp_path, tmp_path / "out"))
        assert first.returncode == 0, first.stderr
        rotated = len((tmp_path / "tokens.csv.refreshed.csv").read_text().splitlines()) - 1
        assert rotated > 5
        with pytest.warns(cf.RefreshedTokensApplied, match=f"newest pairs of {rotated} tokens"):
            tokens = cf.tokens_from_csv(tmp_path / "tokens.csv")
        creds = cf.credentials_from_csv(tmp_path / "creds.csv")
        snap = cf.load(tokens, credentials=creds, progress=False, errors="ignore")
        assert refresh_failures(snap) == 0
        assert snap.errors.empty
        monkeypatch.chdir(tmp_path)
        picker = TokenPicker()
        upload(picker, (tmp_path / "tokens.csv").read_text(), "tokens.csv")
        assert f"newest pairs of {rotated}" in picker.message.value
        again = cf.load(picker.tokens, credentials=creds, progress=False, errors="ignore")
    assert again.errors.empty


def test_loading_a_csv_path_keeps_its_refreshed_pairs_beside_it(tmp_path: Path) -> None:
    with sandbox.serve(accounts=30, seed=12, rate_limit=None, faults=FAULTS) as sb:
        sb.write_tokens_csv(tmp_path / "tokens.csv")
        creds = sb.credentials_by_url
        original = cf.tokens_from_csv(tmp_path / "tokens.csv")
        first = cf.load(tmp_path / "tokens.csv", credentials=creds, progress=False)
        refreshed = (tmp_path / "tokens.csv.refreshed.csv").read_text().splitlines()
        with pytest.warns(cf.RefreshedTokensApplied):
            second = cf.load(tmp_path / "tokens.csv", credentials=creds, progress=False)
    assert first.errors.empty
    assert len(refreshed) - 1 == sum(
        t.access_token != a.access_token for t, a in zip(first.tokens, original, strict=True)
    )
    assert len(refreshed) > 5
    assert second.errors.empty
    assert stat.S_IMODE((tmp_path / "tokens.csv.refreshed.csv").stat().st_mode) == 0o600


def test_refreshed_file_and_tokens_to_csv_keep_the_current_pairs(tmp_path: Path) -> None:
    with sandbox.serve(accounts=20, seed=13, rate_limit=None, faults=FAULTS) as sb:
        sb.write_tokens_csv(tmp_path / "tokens.csv")
        tokens = cf.tokens_from_csv(tmp_path / "tokens.csv")
        store = cf.refreshed_writer(tmp_path / "tokens.csv")
        snap = cf.load(tokens, credentials=sb.credentials_by_url, on_refresh=store, progress=False)
        store.close()
        written = cf.tokens_to_csv(snap.tokens, tmp_path / "current.csv")
        current = [sb.world.tokens(i) for i in range(20)]
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # nothing beside current.csv to apply
            back = cf.tokens_from_csv(written)
        with pytest.warns(cf.RefreshedTokensApplied):
            applied = cf.tokens_from_csv(tmp_path / "tokens.csv")
    assert store.count == sum(
        t.access_token != s.access_token for t, s in zip(tokens, snap.tokens, strict=True)
    )
    assert [(t.access_token, t.refresh_token) for t in back] == current
    assert [(t.access_token, t.refresh_token) for t in applied] == current
    assert [t.data_center for t in back] == [t.data_center for t in tokens]
    assert stat.S_IMODE(written.stat().st_mode) == 0o600


# -- diff and health: "could not ask" is not "gone" -----------------------------------


@pytest.fixture(scope="module")
def two_weeks() -> tuple[cf.Snapshot, cf.Snapshot, cf.Snapshot, set[str]]:
    """Last week (all loaded), this week with every uk token rate-limited, and this week
    with every uk token revoked."""
    with sandbox.serve(accounts=36, seed=14, rate_limit=None) as sb:
        tokens = tokens_of(sb)
        uk = {t.label for t in tokens if sb.world.account(int(t.label[4:])).data_center == "uk"}
        before = cf.load(tokens, progress=False)
        sb.world.faults = Faults(http_429=1.0)
        limited = cf.load(tokens, progress=False, errors="ignore", retries=0, rate_limits=None)
        sb.world.faults = Faults()
        for t in tokens:
            if t.label in uk:
                sb.world.revoke(int(t.label[4:]))
        revoked = cf.load(tokens, progress=False, errors="ignore")
    return before, limited, revoked, uk


def test_diff_calls_a_rate_limited_token_not_checked_never_dead(
    two_weeks: tuple[cf.Snapshot, cf.Snapshot, cf.Snapshot, set[str]],
) -> None:
    before, limited, _, _ = two_weeks
    assert set(limited.errors["kind"]) == {"rate_limited"}
    changes = cf.diff(before, limited)
    assert changes.tokens_died.empty
    assert changes.removed_profiles.empty
    assert changes.newly_disconnected.empty
    assert set(changes.not_checked["token_label"]) == set(limited.errors["token_label"])
    assert set(changes.not_checked["status"]) == {"rate_limited"}


def test_diff_calls_a_revoked_token_dead(
    two_weeks: tuple[cf.Snapshot, cf.Snapshot, cf.Snapshot, set[str]],
) -> None:
    before, _, revoked, uk = two_weeks
    changes = cf.diff(before, revoked)
    assert set(changes.tokens_died["token_label"]) == uk
    assert changes.not_checked.empty
    dead = before.profiles[before.profiles["token_label"].isin(uk)]
    assert set(changes.removed_profiles["profile_id"]) == set(dead["profile_id"])


def test_health_says_retry_for_transient_failures_and_dead_for_permanent(
    two_weeks: tuple[cf.Snapshot, cf.Snapshot, cf.Snapshot, set[str]],
) -> None:
    _, limited, revoked, uk = two_weeks
    retry = cf.connection_health(limited)
    dead = cf.connection_health(revoked)
    assert set(retry.tokens.loc[retry.tokens["status"] != "ok", "outcome"]) == {"retry"}
    assert set(dead.tokens.loc[dead.tokens["token_label"].isin(uk), "outcome"]) == {"dead"}
    assert "to retry: rate_limited=" in str(retry)
    assert f"{len(uk)} failed ({len(uk)} dead: unauthorized={len(uk)})" in str(dead)
    by_dc = dead.by_data_center.set_index("data_center")
    assert by_dc.loc[by_dc.index.str.len() > 0, "dead"].sum() == len(uk)


def test_the_cli_lists_the_failed_tokens(tmp_path: Path) -> None:
    faults = Faults(revoked=0.2)
    with sandbox.serve(accounts=60, seed=15, rate_limit=None, faults=faults) as sb:
        dead = [a.label for a in sb.accounts if sb.world.is_revoked(a.index)]
        done = cli(*load_args(sb, tmp_path, tmp_path / "out"))
    assert done.returncode == 1
    listing = done.stdout.split("failed tokens:", 1)[1]
    assert all(label in listing for label in dead[:20])
    assert "refresh_failed" in listing
    assert "invalid_grant" in listing
    assert str(tmp_path / "out" / "errors.csv") in listing
    rows = pd.read_csv(tmp_path / "out" / "errors.csv")
    assert set(rows["token_label"]) == set(dead)


def test_the_notebook_path_field_and_panel_keep_the_token_store(tmp_path: Path) -> None:
    with sandbox.serve(accounts=20, seed=16, rate_limit=None, faults=FAULTS) as sb:
        sb.write_tokens_csv(tmp_path / "tokens.csv")
        picker = TokenPicker()
        picker.path.value = str(tmp_path / "tokens.csv")
        picker.path_button.click()
        original = list(picker.tokens)
        snap = LoadPanel(picker, credentials=sb.credentials_by_url, progress=False).load_and_wait()
        assert snap is not None
        rotated = sum(
            a.access_token != b.access_token for a, b in zip(original, snap.tokens, strict=True)
        )
        kept = (tmp_path / "tokens.csv.refreshed.csv").read_text().splitlines()
        later = TokenPicker()  # a new kernel, the same CSV
        later.path.value = str(tmp_path / "tokens.csv")
        later.path_button.click()
        again = LoadPanel(later, credentials=sb.credentials_by_url, progress=False).load_and_wait()
    assert rotated > 3
    assert len(kept) - 1 == rotated
    assert f"newest pairs of {rotated}" in later.message.value
    assert again is not None
    assert again.errors.empty


def test_a_missing_path_is_one_message() -> None:
    picker = TokenPicker()
    picker.path.value = "/nowhere/tokens.csv"
    picker.path_button.click()
    assert "Not added" in picker.message.value
    assert "/nowhere/tokens.csv" in picker.message.value
    assert picker.tokens == []
