"""token_store.py's readers: tokens from CSV files, DataFrames and the environment,
client credentials from CSV and the environment (the refreshed-pairs file and the
writers: test_pairs_never_lost.py, the promise they keep)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import cronofy_frames as cf

SECRET = "at_SENTINEL_0123456789abcdef"
REFRESH = "rt_SENTINEL_fedcba9876543210"


def write(tmp_path: Path, text: str, name: str = "tokens.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


def test_tokens_from_csv_handles_bom_blank_lines_and_extra_columns(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "\ufefflabel,data_center,access_token,refresh_token,owner\r\n"
        f"acme,uk,{SECRET},{REFRESH},alice\r\n\r\n,,,,\r\n"
        "globex,,plain_token_value_1234,,bob\r\n",
    )
    tokens = cf.tokens_from_csv(path)
    assert [(t.label, t.data_center, t.refresh_token) for t in tokens] == [
        ("acme", "uk", REFRESH),
        ("globex", "us", None),
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "is empty"),
        ("label,token\nacme,abc\n", "no 'access_token' column"),
        ("label,access_token\na,tok_one_value\na,tok_two_value\n", "duplicate label 'a'"),
        (
            "label,data_center,access_token\na,eu,tok_one_value\n",
            r"row 2, column data_center: unknown data center 'eu'",
        ),
        (
            "label,access_token\na,tok_one_value\nb,  \n",
            r"row 3, column access_token: access token is empty",
        ),
        (
            "label,access_token\na,tok_one_value\nb,tok_one_value\n",
            "repeats the access token of 'a'",
        ),
    ],
)
def test_tokens_from_csv_fails_naming_the_row(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        cf.tokens_from_csv(write(tmp_path, body))
    assert "tok_one_value" not in str(info.value)


def test_tokens_from_frame_names_the_index() -> None:
    df = pd.DataFrame(
        {"access_token": ["good_token_value", None], "label": ["a", "b"]}, index=["x", "y"]
    )
    with pytest.raises(
        ValueError, match="row 'y', column access_token: access token must be a string"
    ):
        cf.tokens_from_frame(df)
    ok = cf.tokens_from_frame(
        df.iloc[:1].assign(
            data_center=["de"], refresh_token=pd.Series([None], index=["x"], dtype=object)
        )
    )
    assert [(t.label, t.data_center, t.refresh_token) for t in ok] == [("a", "de", None)]


def test_tokens_from_env() -> None:
    env = {
        "CRONOFY_ACCESS_TOKEN": SECRET,
        "CRONOFY_ACCESS_TOKEN_ACME": "acme_token_value_1",
        "CRONOFY_DATA_CENTER_ACME": "de",
        "CRONOFY_REFRESH_TOKEN_ACME": REFRESH,
        "OTHER": "x",
    }
    tokens = cf.tokens_from_env(environ=env)
    assert [(t.label, t.data_center, t.refresh_token) for t in tokens] == [
        ("default", "us", None),
        ("acme", "de", REFRESH),
    ]
    with pytest.raises(
        ValueError, match="CRONOFY_ACCESS_TOKEN_X: token 'x', access_token: access token is empty"
    ):
        cf.tokens_from_env(environ={"CRONOFY_ACCESS_TOKEN_X": " "})


def test_credentials_from_csv(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "data_center,client_id,client_secret\nuk,id1,secret1\nhttp://127.0.0.1:8000,id2,secret2\n",
        "creds.csv",
    )
    creds = cf.credentials_from_csv(path)
    assert set(creds) == {"uk", "http://127.0.0.1:8000"}
    with pytest.raises(ValueError, match="lacks column"):
        cf.credentials_from_csv(write(tmp_path, "data_center,client_id\nuk,x\n", "bad.csv"))


def test_credentials_from_env() -> None:
    env = {
        "CRONOFY_CLIENT_ID": "id-us",
        "CRONOFY_CLIENT_SECRET": "secret-us",
        "CRONOFY_CLIENT_ID_UK": "id-uk",
        "CRONOFY_CLIENT_SECRET_UK": "secret-uk",
    }
    creds = cf.credentials_from_env(environ=env)
    assert creds == {
        "us": cf.ClientCredentials("id-us", "secret-us"),
        "uk": cf.ClientCredentials("id-uk", "secret-uk"),
    }
    with pytest.raises(ValueError, match="CRONOFY_CLIENT_ID_DE has no CRONOFY_CLIENT_SECRET_DE"):
        cf.credentials_from_env(environ={"CRONOFY_CLIENT_ID_DE": "x"})
    with pytest.raises(ValueError, match="CRONOFY_CLIENT_ID_EU: unknown data center 'EU'"):
        cf.credentials_from_env(
            environ={"CRONOFY_CLIENT_ID_EU": "x", "CRONOFY_CLIENT_SECRET_EU": "y"}
        )
