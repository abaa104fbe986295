"""The sandbox over real HTTP: endpoints, fields, tokens, rate limits and faults."""

from __future__ import annotations

import http.client
import json
import logging
import re
import time

import pytest
import requests

from cronofy_frames import sandbox
from cronofy_frames.sandbox import Faults, RateLimit, Sandbox, SandboxAccount, SandboxOptions

PROFILE_KEYS = {
    "provider_name",
    "provider_service",
    "profile_id",
    "profile_name",
    "profile_connected",
    "profile_initial_sync_required",
}
CALENDAR_KEYS = {
    "calendar_id",
    "calendar_name",
    "calendar_readonly",
    "calendar_deleted",
    "calendar_primary",
    "calendar_integrated_conferencing_available",
    "calendar_attachments_available",
    "permission_level",
}


SANDBOX: SandboxOptions = {"accounts": 400, "seed": 3, "rate_limit": None}


def get(
    account: SandboxAccount,
    path: str,
    token: str | None = None,
    base: str | None = None,
    timeout: float = 5,
) -> requests.Response:
    headers = {"Authorization": f"Bearer {token or account.access_token}"}
    return requests.get(f"{base or account.base_url}{path}", headers=headers, timeout=timeout)


def refresh(
    sb: Sandbox,
    account: SandboxAccount,
    refresh_token: str | None = None,
    form: bool = False,
    secret: str | None = None,
) -> requests.Response:
    client_id, client_secret = sb.credentials[account.data_center]
    body = {
        "client_id": client_id,
        "client_secret": secret or client_secret,
        "grant_type": "refresh_token",
        "refresh_token": refresh_token or account.refresh_token,
    }
    url = f"{account.base_url}/oauth/token"
    return (
        requests.post(url, data=body, timeout=5)
        if form
        else requests.post(url, json=body, timeout=5)
    )


def test_profiles_are_exactly_as_documented(sb: Sandbox) -> None:
    relinks = []
    for account in sb.accounts[:150]:
        r = get(account, "/v1/profiles")
        assert r.status_code == 200
        assert r.headers["Content-Type"] == "application/json; charset=utf-8"
        for p in r.json()["profiles"]:
            assert PROFILE_KEYS <= set(p) <= PROFILE_KEYS | {"profile_relink_url"}
            assert isinstance(p["profile_connected"], bool)
            assert isinstance(p["profile_initial_sync_required"], bool)
            assert re.fullmatch(r"[a-z0-9_]+", p["provider_name"] + p["provider_service"])
            assert p["profile_id"].startswith("pro_")
            assert p["profile_id"].isascii()
            assert ("profile_relink_url" in p) == (not p["profile_connected"])
            relinks += [p["profile_relink_url"]] if "profile_relink_url" in p else []
    assert relinks
    assert len(set(relinks)) == len(relinks)


def test_account_is_exactly_as_documented(sb: Sandbox) -> None:
    for account in sb.accounts[:60]:
        body = get(account, "/v1/account").json()
        assert set(body) == {"account", "sub"}
        acc = body["account"]
        assert set(acc) == {"account_id", "email", "name", "scope", "default_tzid"}
        assert re.fullmatch(r"(acc|ser|apc)_[0-9a-z]{24}", acc["account_id"])
        assert body["sub"] == acc["account_id"] == account.account_id
        assert acc["name"] is None or isinstance(acc["name"], str)
        assert acc["scope"]
        assert "/" in acc["default_tzid"]


def test_userinfo_holds_account_and_profiles_with_calendars(sb: Sandbox) -> None:
    kinds = set()
    for account in sb.accounts[:60]:
        info = get(account, "/v1/userinfo").json()
        acc = get(account, "/v1/account").json()["account"]
        profiles = get(account, "/v1/profiles").json()["profiles"]
        truth = sb.world.account(account.index)
        kinds.add(info["cronofy.type"])
        assert info["cronofy.type"] == truth.kind
        assert info["sub"] == acc["account_id"]
        if truth.flat:  # the older flat answer: sub, type, and domain or username
            key = f"cronofy.service_account.{truth.flat}"
            assert set(info) == {"sub", "cronofy.type", key}
            continue
        assert info["zoneinfo"] == acc["default_tzid"]
        assert info.get("email") == acc["email"]
        assert info.get("name") == acc["name"]
        data = info["cronofy.data"]
        assert data["authorization"]["scope"] == truth.userinfo_scope
        assert data["authorization"]["status"] == "active"
        if truth.kind == "service_account":
            assert "profiles" not in data
            assert profiles == []
            assert data["service_account"]["domain"] == truth.domain
            continue
        for full, short in zip(data["profiles"], profiles, strict=True):
            calendars = full.pop("profile_calendars")
            protocol = full.pop("provider_protocol", None)  # userinfo only, Office 365 only
            migration = full.pop("graph_api_migration_url", None)
            assert full == short
            assert (protocol is not None) == (full["provider_service"] == "office365")
            assert (migration is not None) == (protocol == "exchange_web_services")
            assert calendars
            assert all(set(c) == CALENDAR_KEYS for c in calendars)
    assert "account" in kinds


def test_userinfo_shows_a_shorthand_where_account_shows_fine_grained_scopes(sb: Sandbox) -> None:
    shown = 0
    for account in sb.accounts[:60]:
        truth = sb.world.account(account.index)
        if truth.userinfo_scope == truth.scope:
            continue
        info = get(account, "/v1/userinfo").json()
        acc = get(account, "/v1/account").json()["account"]
        assert info["cronofy.data"]["authorization"]["scope"] == truth.userinfo_scope
        assert " " not in truth.userinfo_scope
        assert acc["scope"] == truth.scope
        shown += 1
    assert shown


def test_generated_data_is_realistic() -> None:
    with sandbox.serve(accounts=3000, seed=11) as big:
        accounts = [big.world.account(i) for i in range(3000)]
    profiles = [p for a in accounts for p in a.profiles]
    services = {p.provider_service for p in profiles}
    assert {"gsuite", "office365", "icloud", "outlook_com"} <= services
    assert {"zoho"} <= {p.provider_name for p in profiles}  # a provider clients never heard of
    disconnected = sum(not p.connected for p in profiles) / len(profiles)
    assert 0.01 < disconnected < 0.1
    assert any(p.initial_sync_required for p in profiles)
    assert any(not a.profiles for a in accounts)
    assert any(len(a.profiles) >= 3 for a in accounts)
    assert any(a.name is None for a in accounts)
    assert any(a.name == "" for a in accounts)
    assert any("@" not in a.email for a in accounts)
    assert len({a.default_tzid for a in accounts}) > 5
    assert len({a.scope for a in accounts}) > 3
    assert {a.data_center for a in accounts} == {"us", "uk", "de", "au", "ca", "sg"}


def test_a_hundred_thousand_accounts_are_generated_lazily() -> None:
    with sandbox.serve(accounts=100_000, seed=1) as big:
        assert big.world.account.cache_info().currsize == 0
        last = big.accounts[-1]
        assert last.index == 99_999
        assert get(last, "/v1/account").status_code == 200
        assert big.world.account.cache_info().currsize == 1


def test_same_seed_gives_same_data_and_tokens() -> None:
    with sandbox.serve(accounts=5, seed=42) as a, sandbox.serve(accounts=5, seed=42) as b:
        assert [x.access_token for x in a.accounts] == [x.access_token for x in b.accounts]
        assert (
            get(a.accounts[2], "/v1/profiles").json() == get(b.accounts[2], "/v1/profiles").json()
        )


def test_token_works_only_on_its_own_data_center(sb: Sandbox) -> None:
    account = sb.accounts[0]
    for dc, url in sb.base_urls.items():
        expected = 200 if dc == account.data_center else 401
        assert get(account, "/v1/account", base=url).status_code == expected


def test_unknown_and_missing_tokens_get_401(sb: Sandbox) -> None:
    account = sb.accounts[1]
    assert get(account, "/v1/account", token="sbxat_1_0_deadbeef").status_code == 401
    assert requests.get(f"{account.base_url}/v1/account", timeout=5).status_code == 401


@pytest.mark.parametrize("form", [False, True])
def test_refresh_rotates_tokens_and_retires_old_ones(form: bool) -> None:
    with sandbox.serve(accounts=3, seed=5) as s:
        account = s.accounts[0]
        r = refresh(s, account, form=form)
        assert r.status_code == 200
        assert r.headers["Cache-Control"] == "no-store"
        grant = r.json()
        assert grant["token_type"] == "bearer"
        assert grant["expires_in"] == 3600
        assert grant["refresh_token"] != account.refresh_token
        assert get(account, "/v1/account").status_code == 401
        assert get(account, "/v1/account", token=grant["access_token"]).status_code == 200
        assert refresh(s, account).json() == {"error": "invalid_grant"}
        assert refresh(s, account, refresh_token=grant["refresh_token"]).status_code == 200


def test_refresh_without_rotation_returns_the_same_refresh_token() -> None:
    with sandbox.serve(accounts=2, seed=5, rotate_refresh_tokens=False) as s:
        account = s.accounts[0]
        assert refresh(s, account).json()["refresh_token"] == account.refresh_token
        assert refresh(s, account).status_code == 200


def test_refresh_rejects_wrong_client_and_unknown_token(sb: Sandbox) -> None:
    account = sb.accounts[2]
    assert refresh(sb, account, secret="wrong").status_code == 401
    bad = refresh(sb, account, refresh_token="sbxrt_2_0_0000")
    assert bad.status_code == 400
    assert bad.json() == {"error": "invalid_grant"}


def test_access_tokens_expire_after_their_ttl() -> None:
    with sandbox.serve(accounts=2, seed=5, token_ttl=0.3) as s:
        account = s.accounts[0]
        assert get(account, "/v1/account").status_code == 200
        time.sleep(0.4)  # the TTL itself is what is under test
        assert get(account, "/v1/account").status_code == 401
        grant = refresh(s, account).json()
        assert get(account, "/v1/account", token=grant["access_token"]).status_code == 200


def test_rate_limit_answers_429_past_fifty_in_a_second() -> None:
    with sandbox.serve(accounts=1, seed=5, rate_limit=RateLimit()) as s:
        account, session = s.accounts[0], requests.Session()
        headers = {"Authorization": f"Bearer {account.access_token}"}
        codes = [
            session.get(f"{account.base_url}/v1/account", headers=headers).status_code
            for _ in range(60)
        ]
        assert codes.count(200) == 50
        assert codes.count(429) == 10
        assert codes[:50] == [200] * 50


def test_rate_limit_per_minute_and_per_data_center() -> None:
    with sandbox.serve(accounts=40, seed=5, rate_limit=RateLimit(1000, 20)) as s:
        first = s.accounts[0]
        other = next(a for a in s.accounts if a.data_center != first.data_center)
        codes = [get(first, "/v1/account").status_code for _ in range(25)]
        assert codes.count(200) == 20
        assert get(other, "/v1/account").status_code == 200


def test_rate_limited_429_carries_retry_after_when_asked() -> None:
    with sandbox.serve(
        accounts=1, seed=5, rate_limit=RateLimit(1, 60), faults=Faults(retry_after=1.0)
    ) as s:
        account = s.accounts[0]
        assert get(account, "/v1/account").status_code == 200
        r = get(account, "/v1/account")
        assert r.status_code == 429
        assert r.headers["Retry-After"] == "1"


@pytest.mark.parametrize(
    ("fault", "status", "html"),
    [
        ("http_500", 500, False),
        ("http_502", 502, True),
        ("http_503", 503, True),
        ("http_504", 504, True),
        ("http_429", 429, False),
    ],
)
def test_status_faults(fault: str, status: int, html: bool) -> None:
    with sandbox.serve(accounts=1, seed=5, faults=Faults.parse([f"{fault}=1"])) as s:
        r = get(s.accounts[0], "/v1/profiles")
        assert r.status_code == status
        assert ("<html>" in r.text) == html


def test_429_burst_holds_the_whole_data_center() -> None:
    faults = Faults(burst_429=1.0, burst_seconds=30)
    with sandbox.serve(accounts=60, seed=5, faults=faults) as s:
        first = s.accounts[0]
        same = next(a for a in s.accounts[1:] if a.data_center == first.data_center)
        assert get(first, "/v1/account").status_code == 429
        assert get(same, "/v1/account", token=same.access_token + "x").status_code == 429


@pytest.mark.parametrize("fault", ["malformed", "truncated"])
def test_broken_bodies_come_with_200(fault: str) -> None:
    with sandbox.serve(accounts=1, seed=5, faults=Faults.parse([f"{fault}=1"])) as s:
        r = get(s.accounts[0], "/v1/profiles")
        assert r.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(r.text)


def test_dropped_connection() -> None:
    with (
        sandbox.serve(accounts=1, seed=5, faults=Faults(drop=1.0)) as s,
        pytest.raises(requests.ConnectionError),
    ):
        get(s.accounts[0], "/v1/profiles")


def test_slow_response_passes_the_client_timeout() -> None:
    with (
        sandbox.serve(accounts=1, seed=5, faults=Faults(slow=1.0, slow_seconds=5)) as s,
        pytest.raises(requests.ReadTimeout),
    ):
        get(s.accounts[0], "/v1/profiles", timeout=0.2)


def test_latency_delays_every_response() -> None:
    with sandbox.serve(accounts=1, seed=5, faults=Faults(latency=0.2)) as s:
        started = time.monotonic()
        assert get(s.accounts[0], "/v1/account").status_code == 200
        assert time.monotonic() - started >= 0.2


def test_expired_tokens_refresh_and_revoked_tokens_do_not() -> None:
    with sandbox.serve(accounts=2, seed=5, faults=Faults(expired=1.0)) as s:
        account = s.accounts[0]
        assert get(account, "/v1/account").status_code == 401
        grant = refresh(s, account).json()
        assert get(account, "/v1/account", token=grant["access_token"]).status_code == 200
    with sandbox.serve(accounts=2, seed=5, faults=Faults(revoked=1.0)) as s:
        account = s.accounts[0]
        assert get(account, "/v1/account").status_code == 401
        assert refresh(s, account).json() == {"error": "invalid_grant"}


def test_a_data_center_that_is_down_answers_503_html() -> None:
    with sandbox.serve(accounts=50, seed=5, faults=Faults(down=("uk",))) as s:
        for account in s.accounts[:20]:
            r = get(account, "/v1/account")
            assert r.status_code == (503 if account.data_center == "uk" else 200)


def test_faults_are_reproducible_by_seed() -> None:
    def codes(seed: int) -> list[int]:
        with sandbox.serve(accounts=1, seed=seed, faults=Faults(http_503=0.5)) as s:
            return [get(s.accounts[0], "/v1/account").status_code for _ in range(30)]

    first = codes(9)
    assert first == codes(9)
    assert {200, 503} <= set(first)


def test_fault_config_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match=r"http_500=2\.0"):
        Faults(http_500=2.0)
    with pytest.raises(ValueError, match="'eu'"):
        Faults(down=("eu",))
    with pytest.raises(ValueError, match="unknown fault 'bogus=1'"):
        Faults.parse(["bogus=1"])


def test_keep_alive_reuses_one_connection(sb: Sandbox) -> None:
    account = sb.accounts[0]
    host, port = account.base_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    headers = {"Authorization": f"Bearer {account.access_token}"}
    socks = []
    for _ in range(3):
        conn.request("GET", "/v1/account", headers=headers)
        assert conn.getresponse().read()
        socks.append(conn.sock)
    assert socks[0] is not None
    assert socks.count(socks[0]) == 3
    conn.close()


def test_sandbox_logs_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG), sandbox.serve(accounts=2, seed=5) as s:
        account = s.accounts[0]
        grant = refresh(s, account).json()
        get(account, "/v1/account", token=grant["access_token"])
        secrets = [
            account.access_token,
            account.refresh_token,
            grant["access_token"],
            grant["refresh_token"],
            s.credentials[account.data_center][1],
        ]
    assert caplog.records
    assert not [r for r in caplog.records for x in secrets if x in r.getMessage()]


def test_unknown_path_is_404(sb: Sandbox) -> None:
    assert get(sb.accounts[0], "/v1/nothing").status_code == 404


def test_stats_endpoint_counts_requests_and_429s() -> None:
    with sandbox.serve(accounts=3, seed=5, rate_limit=RateLimit(1, 60)) as s:
        account = s.accounts[0]
        get(account, "/v1/userinfo")
        get(account, "/v1/userinfo")
        stats = requests.get(f"{account.base_url}/_sandbox/stats", timeout=5).json()
    assert stats[account.data_center] == {"/v1/userinfo": 1, "429": 1}
    assert set(stats) == {"us", "uk", "de", "au", "ca", "sg"}
