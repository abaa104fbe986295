"""Replays of the documented exchanges on the real hosts: what the client sends and reads.

The cassettes were written from the seeds' examples and the other documented shapes;
``CRONOFY_RECORD=1`` re-records new interactions (see the README). One worker only:
vcrpy is not thread-safe.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

import cronofy_frames as cf
from cronofy_frames.loader import LoadKwargs
from tests.cassette_support import CASSETTES, pseudonym, recorder

ONE: LoadKwargs = {
    "max_workers": 1,
    "progress": False,
    "errors": "ignore",
    "endpoints": "documented",
}
CREDS = {
    "us": cf.ClientCredentials("cronofy-client-us", "redacted-cs1"),
    "au": cf.ClientCredentials("cronofy-client-au", "redacted-cs1"),
}


def replay(name: str, tokens: list[cf.Token], **options: Any) -> tuple[cf.Snapshot, object]:
    with recorder().use_cassette(f"{name}.yaml") as cassette:
        snap = cf.load(tokens, **{**ONE, **options})
        assert cassette.all_played, f"{name}: not every recorded request was made"
    return snap, cassette


def test_documented_examples_on_three_data_centers() -> None:
    tokens = [
        cf.Token("redacted-us1", "us", "acme"),
        cf.Token("redacted-uk1", "api-uk.cronofy.com", "initech"),
        cf.Token("redacted-de1", "https://api-de.cronofy.com", "globex"),
    ]
    snap, _cassette = replay("documented_examples", tokens)
    assert snap.errors.empty
    assert snap.accounts["data_center"].tolist() == ["us", "uk", "de"]
    acme = snap.accounts.iloc[0]
    assert (acme["account_id"], acme["sub"], acme["email"], acme["name"], acme["default_tzid"]) == (
        "acc_5700a00eb0ccd07000000000",
        "acc_5700a00eb0ccd07000000000",
        "janed@company.com",
        "Jane Doe",
        "Europe/London",
    )
    assert snap.accounts.iloc[1]["name"] == ""
    assert pd.isna(snap.accounts.iloc[2]["name"])
    assert snap.accounts.iloc[2]["email"] == "svc-calendar"
    profiles = snap.profiles.set_index("profile_id")
    assert list(profiles.index) == ["pro_n23kjnwrw2", "pro_fe145c37de", "pro_zz01zz01zz"]
    assert pd.isna(profiles.loc["pro_n23kjnwrw2", "profile_relink_url"])
    assert profiles.loc["pro_fe145c37de", "profile_relink_url"].startswith(
        "https://app.cronofy.com/relink/"
    )
    assert not profiles.loc["pro_fe145c37de", "profile_connected"]
    assert (
        profiles.loc["pro_zz01zz01zz", "provider_name"],
        profiles.loc["pro_zz01zz01zz", "provider_service"],
    ) == ("zoho", "zoho_calendar")
    assert "globex" not in set(snap.profiles["token_label"])  # zero profiles, still an account


def test_client_sends_what_the_api_expects() -> None:
    tokens = [cf.Token("redacted-us1", "us", "acme")]
    sent: list[Any] = []
    with recorder(sent).use_cassette("documented_examples.yaml"):
        sent.clear()  # loading the cassette passes the recorded requests through the hook
        cf.load(tokens, **ONE)
    assert sent
    for request in sent:
        assert request.method == "GET"
        assert request.body is None
        assert request.headers["Authorization"] == "Bearer redacted-us1"
        assert request.headers["User-Agent"] == f"cronofy-frames/{cf.__version__}"
    assert sorted({r.uri for r in sent}) == [
        "https://api.cronofy.com/v1/account",
        "https://api.cronofy.com/v1/profiles",
    ]


def test_401_refresh_then_200_hands_back_the_new_pair() -> None:
    seen: list[cf.Token] = []
    token = cf.Token("redacted-us2", "us", "acme", refresh_token="redacted-rt2")
    snap, _ = replay("refresh_after_401", [token], credentials=CREDS, on_refresh=seen.append)
    assert snap.errors.empty
    assert len(snap.profiles) == 2
    assert [(t.access_token, t.refresh_token) for t in seen] == [("redacted-us2b", "redacted-rt2b")]
    assert snap.tokens == seen


def test_revoked_refresh_token_is_refresh_failed() -> None:
    token = cf.Token("redacted-au3", "au", "gone", refresh_token="redacted-rt3")
    snap, _ = replay("revoked_refresh_token", [token], credentials=CREDS)
    row = snap.errors.iloc[0]
    assert (row["kind"], row["status_code"], row["endpoint"]) == (
        "refresh_failed",
        400,
        "/oauth/token",
    )
    assert len(snap.errors) == 1
    assert snap.accounts.empty


def test_429_then_200_is_retried() -> None:
    snap, _ = replay("retry_429_then_200", [cf.Token("redacted-ca4", "ca", "busy")])
    assert snap.errors.empty
    assert len(snap.accounts) == 1
    assert len(snap.profiles) == 2


def test_5xx_exhausted_is_server_error_and_the_next_endpoint_still_runs() -> None:
    snap, _ = replay("server_errors", [cf.Token("redacted-sg5", "sg", "flaky")], retries=1)
    row = snap.errors.iloc[0]
    assert (row["kind"], row["status_code"], row["attempts"]) == ("server_error", 502, 2)
    assert len(snap.profiles) == 2
    assert snap.profiles["account_id"].isna().all()


def test_userinfo_serves_in_one_request_and_falls_back_on_403() -> None:
    tokens = [cf.Token("redacted-us6", "us", "acme"), cf.Token("redacted-uk6", "uk", "initech")]
    snap, _ = replay("userinfo_with_fallback", tokens, endpoints="auto")
    assert snap.errors.empty
    acme = snap.accounts.iloc[0]
    assert (acme["account_id"], acme["sub"], acme["scope"], acme["default_tzid"]) == (
        "acc_5700a00eb0ccd07000000000",
        "acc_5700a00eb0ccd07000000000",
        "read_events create_event delete_event",
        "Europe/London",
    )
    assert snap.profiles["profile_id"].tolist() == [
        "pro_n23kjnwrw2",
        "pro_fe145c37de",
        "pro_zz01zz01zz",
    ]
    assert snap.profiles["account_id"].notna().all()
    assert snap.calendars["calendar_id"].tolist() == [
        "cal_n23kjnwrw2_jsdjfksd",
        "cal_n23kjnwrw2_sakdnawe",
    ]
    assert snap.calendars["calendar_primary"].tolist() == [True, False]
    assert set(snap.calendars["profile_id"]) == {"pro_n23kjnwrw2"}


def test_pseudonym_is_stable_and_leaves_pseudonyms_alone() -> None:
    first = pseudonym("a-real-looking-token-0123456789")
    assert first == pseudonym("a-real-looking-token-0123456789")
    assert first.startswith("redacted-")
    assert pseudonym(first) == first


SECRET_KEYS = re.compile(r"(access_token|refresh_token|client_secret)")


@pytest.mark.parametrize("path", sorted(CASSETTES.glob("*.yaml")), ids=lambda p: p.name)
def test_cassettes_hold_no_secret(path: Path) -> None:
    data = yaml.safe_load(path.read_text())
    for interaction in data["interactions"]:
        request, response = interaction["request"], interaction["response"]
        for header in request["headers"].get("Authorization", []):
            assert re.fullmatch(r"Bearer redacted-[0-9a-z]{1,12}", header), header
        for body in (request["body"], response["body"]["string"]):
            _assert_scrubbed(body)
    assert not re.search(r"Bearer (?!redacted-|realm=)\S{8,}", path.read_text())


def _assert_scrubbed(body: str | None) -> None:
    if not body or not SECRET_KEYS.search(body):
        return
    for key, value in json.loads(body).items():
        if SECRET_KEYS.fullmatch(key):
            assert str(value).startswith("redacted-"), key
