"""What leaves the toolkit is safe to open: spreadsheets never run end-user text as a
formula, the terminal never receives control characters from data, the refreshed-tokens
file is never written through a link or into someone else's file, and bad token files
get one clear line."""

from __future__ import annotations

import csv
import os
import stat
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from openpyxl.utils.escape import unescape

import cronofy_frames as cf
from cronofy_frames import export, sandbox
from cronofy_frames.token_store import RefreshedTokenWriter
from tests.helpers import cli
from tests.snapshots import every_case

FORMULAS = [
    '=HYPERLINK("https://evil.test","click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1",
    "\r=1",
    "'already quoted",
    "''twice",
    "plain name",
    "-",
]
CONTROL = ["\x1b]0;pwned\x07evil\x1b[2J", "a\rb\x00c", "\u202egnp.exe", "_x0041_ literal"]


def hostile_snapshot(names: list[str]) -> cf.Snapshot:
    """every_case() with end-user text in profile names, account names and emails."""
    snap = every_case()
    rows = [i % len(snap.profiles) for i in range(len(names))]
    profiles = snap.profiles.iloc[rows].reset_index(drop=True)
    profiles["profile_id"] = pd.array([f"pro_{i}" for i in rows], dtype="string[python]")
    profiles["profile_name"] = pd.array(names, dtype=profiles["profile_name"].dtype)
    profiles["profile_relink_url"] = profiles["profile_name"]
    snap.profiles = profiles
    m = len(snap.accounts)
    chosen = [names[-1 - i % len(names)] for i in range(m)]
    snap.accounts["name"] = pd.array(chosen, dtype=snap.accounts["name"].dtype)
    return snap


def assert_same(a: cf.Snapshot, b: cf.Snapshot) -> None:
    for name, frame in a.frames().items():
        pd.testing.assert_frame_equal(b.frames()[name], frame, check_exact=True)


@pytest.mark.parametrize("pyarrow", [True, False])
def test_csv_never_runs_text_as_a_formula_and_reads_back_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pyarrow: bool
) -> None:
    if not pyarrow:
        monkeypatch.setattr(export, "_pyarrow", lambda: None)
    snap = hostile_snapshot(FORMULAS)
    snap.to_csv(tmp_path)
    with (tmp_path / "profiles.csv").open(newline="", encoding="utf-8") as fh:
        cells = [cell for row in csv.reader(fh) for cell in row]
    assert '=HYPERLINK("https://evil.test","click")' not in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")]
    assert "'-2+3" in cells
    assert "'''twice" in cells
    back = cf.read_snapshot(tmp_path)
    if pyarrow:
        assert_same(snap, back)
    else:  # without pyarrow blank and missing read back alike; the text itself is exact
        assert list(back.profiles["profile_name"]) == list(snap.profiles["profile_name"])


def test_resume_parts_keep_formula_text_exact(tmp_path: Path) -> None:
    snap = hostile_snapshot(FORMULAS)
    path = export.write_csv(snap.profiles, tmp_path / "p.csv", na_rep=export.NA)
    back = export.read_csv_frame(path, "profiles")
    pd.testing.assert_frame_equal(back, snap.profiles, check_exact=True)


def test_excel_stores_every_text_cell_as_text_exactly(tmp_path: Path) -> None:
    snap = hostile_snapshot(FORMULAS + CONTROL)
    path = snap.to_excel(tmp_path / "audit.xlsx")
    book = load_workbook(path)
    for sheet in book.worksheets:
        assert not [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    rows = list(book["profiles"].iter_rows(min_row=2, values_only=True))
    column = list(snap.profiles.columns).index("profile_name")
    got = [unescape(r[column]) if r[column] else r[column] for r in rows]
    want = [None if pd.isna(v) else v for v in snap.profiles["profile_name"]]
    assert [g.replace("_x005F_", "_") if g else g for g in got] == [
        w.replace("_x005F_", "_") if w else w for w in want
    ]
    xml = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml
    assert "_x001B_" in xml  # the escape character, as OOXML writes it
    assert "_x005F_x0041_ literal" in xml  # literal escape-like text stays literal


def test_the_terminal_never_receives_control_characters_from_data(tmp_path: Path) -> None:
    old, new = every_case(), hostile_snapshot(CONTROL)
    old.to_csv(tmp_path / "old")
    new.profiles["profile_connected"] = pd.array([False] * len(new.profiles), dtype="boolean")
    new.profiles["profile_id"] = old.profiles["profile_id"].iloc[0]  # the same, disconnected
    new.to_csv(tmp_path / "new")
    outputs = [
        cli("health", str(tmp_path / "new")).stdout,
        cli("diff", str(tmp_path / "old"), str(tmp_path / "new")).stdout,
    ]
    for out in outputs:
        assert "evil" in out or "gnp" in out  # the data is shown...
        assert not [c for c in out if c in "\x1b\x07\x00\r\u202e"]  # ...without its controls


# -- the refreshed-tokens file ------------------------------------------------------


def token() -> cf.Token:
    return cf.Token("tok_abcdefghijklmnopqrstuvwxyz", "uk", "acme", "rt_abcdefghijklmnopqrstu")


def test_refreshed_tokens_are_never_written_through_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_text("untouched\n")
    link = tmp_path / "tokens.csv.refreshed.csv"
    link.symlink_to(target)
    with pytest.raises(ValueError, match="symbolic link"):
        RefreshedTokenWriter(link)
    assert target.read_text() == "untouched\n"


def test_a_link_planted_after_the_check_is_not_followed_and_the_pair_is_kept(
    tmp_path: Path,
) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_text("untouched\n")
    path = tmp_path / "refreshed.csv"
    writer = RefreshedTokenWriter(path)  # opened while nothing was there
    path.unlink()
    path.symlink_to(target)  # a pair appended to the unlinked file would be lost
    with pytest.raises(cf.PairNotSaved, match="replaced during the load"):
        writer(token())
    fallback = writer.close()
    assert target.read_text() == "untouched\n"
    assert fallback is not None
    assert fallback.parent == tmp_path
    assert stat.S_IMODE(fallback.stat().st_mode) == 0o600
    assert "rt_abcdefghijklmnopqrstu" in fallback.read_text()


def test_an_existing_refreshed_file_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "refreshed.csv"
    path.write_text("label,data_center,access_token,refresh_token\n")
    path.chmod(0o644)
    writer = RefreshedTokenWriter(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    writer(token())
    writer.close()
    assert path.read_text().count("acme") == 1


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give the file to another user")
def test_another_users_refreshed_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "refreshed.csv"
    path.write_text("")
    os.chown(path, 65534, 65534)
    with pytest.raises(ValueError, match="belongs to another user"):
        RefreshedTokenWriter(path)


def test_the_cli_refuses_a_linked_refreshed_file_before_any_request(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").write_text("")
    (tmp_path / "refreshed.csv").symlink_to(tmp_path / "elsewhere")
    with sandbox.serve(accounts=2, seed=1, rate_limit=None) as sb:
        sb.write_tokens_csv(tmp_path / "tokens.csv")
        result = cli(
            "load",
            str(tmp_path / "tokens.csv"),
            "--out",
            str(tmp_path / "out"),
            "--save-refreshed",
            str(tmp_path / "refreshed.csv"),
        )
        assert sum(sb.world.requests.values()) == 0
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "symbolic link" in result.stderr


# -- token files the csv module cannot read -------------------------------------------


HEADERS = {
    "tokens": b"label,access_token\n",
    "--credentials": b"data_center,client_id,client_secret\n",
}
GOOD = {
    "tokens": "label,access_token\nacme,tok_abcdefghijklmnop\n",
    "--credentials": "data_center,client_id,client_secret\n",
}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"us,acme," + b"x" * 200_000 + b"\n", "row 2: not valid CSV"),
        (b"us,acme,tok_\xff\xfe_value\n", "is not UTF-8 text"),
        (None, "is a folder"),
    ],
    ids=["field over the csv limit", "not UTF-8", "a folder"],
)
@pytest.mark.parametrize("option", ["tokens", "--credentials"])
def test_an_unreadable_token_file_is_one_error_line(
    tmp_path: Path, content: bytes | None, message: str, option: str
) -> None:
    bad = tmp_path / "bad.csv"
    if content is None:
        bad.mkdir()
    else:
        bad.write_bytes(HEADERS[option] + content)
    good = tmp_path / "good.csv"
    other = "--credentials" if option == "tokens" else "tokens"
    good.write_text(GOOD[other])
    tokens, creds = (bad, good) if option == "tokens" else (good, bad)
    args = ["load", str(tokens), "--out", str(tmp_path / "out")]
    result = cli(*args, "--credentials", str(creds))
    assert result.returncode == 2
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1
    assert str(bad) in result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
