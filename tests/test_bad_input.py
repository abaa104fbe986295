"""The README's bad-input table, row by row: what happens, before any request is sent.

Tokens point at 127.0.0.1:9, where nothing listens: an input that slipped through to a
request would show up as a connection error instead of the expected exception.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import cronofy_frames as cf
from cronofy_frames import sandbox
from cronofy_frames.cli import main
from cronofy_frames.sandbox import Faults
from tests.helpers import tokens_of

NOWHERE = "http://127.0.0.1:9"
GOOD = "good_token_value_123456"


def csv_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tokens.csv"
    path.write_bytes(text.encode("utf-8"))
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(
            lambda: cf.Token(GOOD, "eu"),
            "unknown data center 'eu': use one of us, uk",
            id="unknown data center",
        ),
        pytest.param(lambda: cf.Token("", NOWHERE), "access token is empty", id="empty token"),
        pytest.param(
            lambda: cf.Token(" \t ", NOWHERE), "access token is empty", id="whitespace token"
        ),
        pytest.param(
            lambda: cf.Token(12345, NOWHERE), "must be a string, got int", id="non-string token"
        ),
        pytest.param(
            lambda: cf.load([cf.Token(GOOD, NOWHERE, "a"), cf.Token("x" * 20, NOWHERE, "a")]),
            "duplicate label 'a'",
            id="duplicate labels",
        ),
        pytest.param(
            lambda: cf.load(cf.Token(GOOD, NOWHERE), timeout=-1),
            "timeout must be a positive",
            id="negative timeout",
        ),
        pytest.param(
            lambda: cf.load(cf.Token(GOOD, NOWHERE), max_workers=0),
            "max_workers must be a positive integer",
            id="zero workers",
        ),
        pytest.param(
            lambda: cf.load(cf.Token(GOOD, NOWHERE), errors="loud"),
            "errors must be",
            id="unknown errors mode",
        ),
    ],
)
def test_bad_values_raise_one_clear_error(make: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", "is empty: expected a header", id="empty file"),
        pytest.param("label,token\na,b\n", "has no 'access_token' column", id="missing columns"),
    ],
)
def test_bad_csv_files_raise_naming_the_problem(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        cf.tokens_from_csv(csv_file(tmp_path, text))


def test_credentials_for_a_data_center_without_tokens_are_ignored() -> None:
    with sandbox.serve(accounts=3, seed=1, rate_limit=None) as s:
        creds = {**s.credentials_by_url, "sg": ("client", "secret")}
        snap = cf.load(tokens_of(s), credentials=creds, progress=False)
    assert snap.errors.empty
    assert len(snap.accounts) == 3


def test_missing_credentials_when_a_refresh_is_needed_is_an_error_row() -> None:
    with sandbox.serve(accounts=2, seed=1, rate_limit=None, faults=Faults(expired=1.0)) as s:
        snap = cf.load(tokens_of(s), progress=False, errors="ignore")
    assert set(snap.errors["kind"]) == {"unauthorized"}
    assert snap.errors["message"].str.contains("no client credentials for data center").all()


def test_an_output_folder_that_cannot_be_made_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tokens = csv_file(tmp_path, f"label,data_center,access_token\na,{NOWHERE},{GOOD}\n")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main(["load", str(tokens), "--out", str(blocker / "out"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "a-file/out" in err
    assert "Traceback" not in err
