"""Snapshots to CSV, Parquet and Excel and back: every dtype and value, atomically."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import cronofy_frames as cf
from cronofy_frames import export, sandbox
from tests.helpers import tokens_of
from tests.snapshots import every_case


def assert_same(a: cf.Snapshot, b: cf.Snapshot) -> None:
    for name, frame in a.frames().items():
        pd.testing.assert_frame_equal(b.frames()[name], frame, check_exact=True)
    assert b.unfinished == a.unfinished
    assert b.roster() == a.roster()


def loaded() -> cf.Snapshot:
    faults = sandbox.Faults(revoked=0.1, malformed=0.05)
    with sandbox.serve(accounts=40, seed=5, rate_limit=None, faults=faults) as s:
        snap = cf.load(
            tokens_of(s),
            credentials=s.credentials_by_url,
            progress=False,
            errors="ignore",
            retries=0,
        )
    assert not snap.errors.empty
    assert not snap.calendars.empty
    return snap


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_round_trip_keeps_every_dtype_and_value(tmp_path: Path, fmt: str) -> None:
    for n, snap in enumerate((every_case(), loaded())):
        folder = tmp_path / f"{fmt}{n}"
        paths = snap.to_csv(folder) if fmt == "csv" else snap.to_parquet(folder)
        assert {p.name for p in paths} == {f"{name}.{fmt}" for name in snap.frames()} | {
            "roster.json",
            "snapshot.json",
        }
        assert_same(snap, cf.read_snapshot(folder))


def test_csv_keeps_blank_apart_from_missing(tmp_path: Path) -> None:
    every_case().to_csv(tmp_path)
    back = cf.read_snapshot(tmp_path).accounts.set_index("token_label")["name"]
    assert back["relink"] == ""
    assert pd.isna(back["syncing"])
    text = (tmp_path / "accounts.csv").read_text()
    assert '""' in text  # the blank name is quoted; the missing one is not


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_empty_frames_round_trip(tmp_path: Path, fmt: str) -> None:
    snap = cf.load([], progress=False)
    snap.to_csv(tmp_path) if fmt == "csv" else snap.to_parquet(tmp_path)
    assert_same(snap, cf.read_snapshot(tmp_path))


def test_a_failed_write_leaves_no_half_file(tmp_path: Path) -> None:
    target = tmp_path / "accounts.csv"
    target.write_text("the previous, complete file\n")

    def crash_while_writing() -> None:
        with export.atomic_path(target) as tmp:
            tmp.write_text("half of the new fi")
            raise RuntimeError("crash in the middle of writing")

    with pytest.raises(RuntimeError):
        crash_while_writing()
    assert target.read_text() == "the previous, complete file\n"
    assert [p.name for p in tmp_path.iterdir()] == ["accounts.csv"]


def test_excel_has_a_sheet_per_frame(tmp_path: Path) -> None:
    path = every_case().to_excel(tmp_path / "audit.xlsx")
    sheets = pd.read_excel(path, sheet_name=None)
    assert list(sheets) == ["profiles", "accounts", "calendars", "conferencing", "errors"]
    assert len(sheets["profiles"]) == len(every_case().profiles) == 8
    assert len(sheets["conferencing"]) == 2
    # Excel keeps milliseconds, in UTC without a zone
    assert sheets["accounts"]["fetched_at"].iloc[0] == pd.Timestamp("2026-11-20 09:30:00.123")


def test_folder_inside_a_file_is_one_clear_error(tmp_path: Path) -> None:
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(OSError, match=r"cannot create output folder .*file/out"):
        every_case().to_csv(afile / "out")


def test_reading_a_folder_that_is_not_a_snapshot(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"holds no snapshot\.json"):
        cf.read_snapshot(tmp_path)


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="format must be one of"):
        export.write_frames(every_case().frames(), tmp_path, "xml")
