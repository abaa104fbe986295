"""Data centers, tokens and credentials: every check that runs before any request."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import cronofy_frames as cf
from cronofy_frames.credentials import normalize_credentials
from cronofy_frames.data_centers import resolve

SECRET = "at_SENTINEL_0123456789abcdef"
REFRESH = "rt_SENTINEL_fedcba9876543210"


def test_data_centers_are_the_six_in_a_stable_order() -> None:
    assert [dc.id for dc in cf.DATA_CENTERS] == ["us", "uk", "de", "au", "ca", "sg"]
    uk = cf.DATA_CENTERS[1]
    assert (uk.api_host, uk.app_host, uk.country) == (
        "api-uk.cronofy.com",
        "app-uk.cronofy.com",
        "United Kingdom",
    )
    assert uk.base_url == "https://api-uk.cronofy.com"


@pytest.mark.parametrize(
    ("value", "key", "base"),
    [
        ("uk", "uk", "https://api-uk.cronofy.com"),
        ("UK", "uk", "https://api-uk.cronofy.com"),
        (" sg ", "sg", "https://api-sg.cronofy.com"),
        ("api.cronofy.com", "us", "https://api.cronofy.com"),
        ("API-DE.cronofy.com", "de", "https://api-de.cronofy.com"),
        ("https://api-au.cronofy.com", "au", "https://api-au.cronofy.com"),
        ("https://api-ca.cronofy.com/", "ca", "https://api-ca.cronofy.com"),
        ("http://127.0.0.1:8123", "http://127.0.0.1:8123", "http://127.0.0.1:8123"),
        ("http://localhost:9000/", "http://localhost:9000", "http://localhost:9000"),
        ("http://[::1]:9000", "http://[::1]:9000", "http://[::1]:9000"),
    ],
)
def test_resolve_accepts_ids_hosts_and_urls(value: str, key: str, base: str) -> None:
    location = resolve(value)
    assert (location.route, location.base_url) == (key, base)


@pytest.mark.parametrize(
    "value",
    [
        "eu",
        "",
        "   ",
        "api-eu.cronofy.com",
        "http://api-uk.cronofy.com",
        None,
        3,
    ],
)
def test_resolve_refuses_anything_else_listing_valid_ids(value: object) -> None:
    with pytest.raises(ValueError, match="us, uk, de, au, ca, sg") as info:
        resolve(value)
    assert repr(value) in str(info.value)


@pytest.mark.parametrize(
    "value", ["https://evil.example", "http://10.0.0.5:8000", "https://api-uk.cronofy.com/v1"]
)
def test_a_refused_url_that_is_not_a_bare_cronofy_or_loopback_url_is_described_by_length(
    value: str,
) -> None:
    """One rule for what a message may quote: a whole id, Cronofy host, or Cronofy or
    loopback URL with nothing after it (a host or path may carry a secret)."""
    with pytest.raises(ValueError, match="us, uk, de, au, ca, sg") as info:
        resolve(value)
    assert value not in str(info.value)
    assert f"a value of {len(value)} characters" in str(info.value)


def test_token_strips_bearer_and_masks_its_repr() -> None:
    tok = cf.Token(f"  Bearer {SECRET} ", data_center="UK", label="acme", refresh_token=REFRESH)
    assert tok.access_token == SECRET
    assert tok.data_center == "uk"
    text = repr(tok) + str(tok)
    assert SECRET not in text
    assert REFRESH not in text
    assert "…cdef" in text
    assert "acme" in text


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "access token is empty"),
        ("   ", "access token is empty"),
        ("Bearer ", "access token is empty"),
        (None, "must be a string, got NoneType"),
        (12345, "must be a string, got int"),
        ("abc def", "white space"),
    ],
)
def test_token_rejects_empty_and_non_string(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cf.Token(value)


def test_unlabelled_token_gets_a_stable_non_secret_fingerprint() -> None:
    first, again = cf.Token(SECRET), cf.Token(SECRET)
    assert first.label == again.label
    assert first.label.startswith("tok_")
    assert SECRET[-6:] not in first.label
    assert first.label != cf.Token(REFRESH).label


def test_refreshed_pair_keeps_label_and_data_center() -> None:
    tok = cf.Token(SECRET, "http://127.0.0.1:9", "a", REFRESH)
    new = tok.with_pair("new_access_token_0000", None)
    assert (new.label, new.data_center, new.refresh_token) == ("a", "http://127.0.0.1:9", REFRESH)


def test_client_credentials_mask_the_secret() -> None:
    creds = cf.ClientCredentials("client-id", "client_SECRET_abcdefghijkl")
    assert "client_SECRET" not in repr(creds)
    assert "client-id" in repr(creds)
    assert normalize_credentials({"UK": ("a", "b")})["uk"] == cf.ClientCredentials("a", "b")
    with pytest.raises(ValueError, match="'eu'"):
        normalize_credentials({"eu": creds})


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


def test_duplicate_labels_in_a_list_fail_before_any_request() -> None:
    tokens = [cf.Token("first_token_value", label="a"), cf.Token("second_token_value", label="a")]
    with pytest.raises(ValueError, match="duplicate label 'a'"):
        cf.load(tokens, progress=False)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"timeout": -1}, "timeout must be a positive"),
        ({"max_workers": 0}, "max_workers must be"),
        ({"errors": "loud"}, "errors must be"),
        ({"progress": "yes"}, "progress must be"),
        ({"credentials": {"eu": ("a", "b")}}, "'eu'"),
    ],
)
def test_bad_options_fail_before_any_request(option: dict[str, object], message: str) -> None:
    # the token points at a port nothing listens on: a request would be a connection error
    token = cf.Token("some_token_value", "http://127.0.0.1:9")
    with pytest.raises(ValueError, match=message):
        cf.load(token, **option)


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
