"""credentials.py and data_centers.py: the models (Token, ClientCredentials), the six data
centers and resolving them; every check that runs before any request."""

from __future__ import annotations

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
