"""The loaders against the sandbox over real HTTP: frames, refreshes, retries, faults."""

from __future__ import annotations

import threading
import warnings
from typing import Any

import pandas as pd
import pytest
import requests
import urllib3
from urllib3.util.retry import RequestHistory

import cronofy_frames as cf
from cronofy_frames import sandbox
from cronofy_frames._transport import CappedRetry, TokenState, Transport, TransportConfig
from cronofy_frames.credentials import normalize_credentials
from cronofy_frames.loader import LoadKwargs
from cronofy_frames.sandbox import Faults, RateLimit, Sandbox, SandboxOptions
from tests.helpers import tokens_of

QUIET: LoadKwargs = {"progress": False, "errors": "ignore"}


def quiet(tokens: Any, **options: Any) -> cf.Snapshot:
    """``cf.load`` without progress bar or warning."""
    return cf.load(tokens, progress=False, errors="ignore", **options)


SANDBOX: SandboxOptions = {"accounts": 120, "seed": 21, "rate_limit": None}


def labels(df: pd.DataFrame) -> set[str]:
    return set(df["token_label"])


def test_frames_match_the_sandbox_across_six_data_centers(sb: Sandbox) -> None:
    snap = cf.load(tokens_of(sb), credentials=sb.credentials_by_url, progress=False)
    assert snap.errors.empty
    assert len(snap.accounts) == 120
    assert snap.accounts["data_center"].nunique() == 6
    for row in snap.accounts.itertuples():
        truth = sb.world.account(int(row.token_label[4:]))
        if truth.flat:  # a service account's older flat answer: fidelity tests cover it
            assert (row.account_id, row.account_type) == (truth.account_id, truth.kind)
            continue
        email = row.email if pd.notna(row.email) else None  # none for an application calendar
        assert (row.account_id, row.sub, email, row.scope, row.default_tzid) == (
            truth.account_id,
            truth.account_id,
            truth.email,
            truth.userinfo_scope,  # userinfo may show a simplified scope (read_write ...)
            truth.default_tzid,
        )
        assert row.account_type == truth.kind
        assert (row.name if pd.notna(row.name) else None) == truth.name
        assert row.data_center == sb.base_urls[truth.data_center]
    expected = [
        (
            f"sbx-{a.index:06d}",
            a.account_id,
            p.profile_id,
            p.provider_service,
            p.connected,
            p.initial_sync_required,
            None if p.connected else p.relink_url,
        )
        for a in map(sb.world.account, range(120))
        for p in a.profiles
    ]
    got = [
        (
            r.token_label,
            r.account_id,
            r.profile_id,
            r.provider_service,
            r.profile_connected,
            r.profile_initial_sync_required,
            r.profile_relink_url if pd.notna(r.profile_relink_url) else None,
        )
        for r in snap.profiles.itertuples()
    ]
    assert got == expected
    assert "zoho" in set(snap.profiles["provider_name"]) or len(expected) < 150


def test_load_profiles_and_accounts_return_typed_frames(sb: Sandbox) -> None:
    profiles = cf.load_profiles(tokens_of(sb, 10), **QUIET)
    accounts = cf.load_accounts(tokens_of(sb, 10), **QUIET)
    assert list(profiles.columns)[:3] == ["token_label", "data_center", "account_id"]
    assert str(profiles["profile_connected"].dtype) == "boolean"
    assert profiles["account_id"].notna().all()
    assert len(accounts) == 10
    assert profiles.attrs["errors"].empty
    assert accounts.attrs["errors"].empty


def test_no_tokens_gives_empty_typed_frames() -> None:
    snap = cf.load([], progress=False)
    assert snap.profiles.empty
    assert list(snap.profiles.columns)[10:] == [
        "fetched_at",
        "access_mode",
        "provider_protocol",
        "graph_api_migration_url",
    ]
    assert snap.conferencing.empty
    assert list(snap.conferencing.columns)[-1] == "fetched_at"
    assert str(snap.accounts["fetched_at"].dtype) == "datetime64[ns, UTC]"


def test_expired_tokens_refresh_rotate_and_are_handed_back() -> None:
    with sandbox.serve(accounts=30, seed=4, rate_limit=None, faults=Faults(expired=1.0)) as s:
        before = tokens_of(s)
        seen: list[cf.Token] = []
        snap = cf.load(
            before, credentials=s.credentials_by_url, on_refresh=seen.append, progress=False
        )
        assert snap.errors.empty
        assert len(snap.accounts) == 30
        assert sorted(t.label for t in seen) == [t.label for t in before]
        assert [t.label for t in snap.tokens] == [t.label for t in before]
        for old, new in zip(before, snap.tokens, strict=True):
            assert new.refresh_token != old.refresh_token  # rotated, and kept
            assert new.access_token == s.world.tokens(int(new.label[4:]))[0]
        refreshes = sum(n for (dc, path), n in s.world.requests.items() if path == "/oauth/token")
        assert refreshes == 30


def test_many_threads_seeing_401_refresh_once() -> None:
    with sandbox.serve(accounts=2, seed=4, rate_limit=None, faults=Faults(expired=1.0)) as s:
        token = tokens_of(s, 1)[0]
        transport = Transport(TransportConfig(), normalize_credentials(s.credentials_by_url))
        state, barrier, bodies = TokenState(token), threading.Barrier(8), []

        def worker() -> None:
            barrier.wait()
            bodies.append(transport.get_json(state, "/v1/account"))

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        transport.close()
        dc = s.accounts[0].data_center
        assert s.world.requests[(dc, "/oauth/token")] == 1
        assert len(bodies) == 8
        assert state.refreshed
        assert {b["sub"] for b in bodies} == {s.accounts[0].account_id}


def test_dead_tokens_become_errors_of_the_right_kind() -> None:
    with sandbox.serve(accounts=8, seed=4, rate_limit=None, faults=Faults(revoked=1.0)) as s:
        toks = tokens_of(s)
        no_refresh = cf.Token(toks[1].access_token, toks[1].data_center, "no-refresh")
        snap = quiet([toks[0], no_refresh], credentials=s.credentials_by_url)
        by_label = snap.errors.set_index("token_label")
        assert by_label.loc["sbx-000000", "kind"] == "refresh_failed"
        assert by_label.loc["sbx-000000", "status_code"] == 400
        assert "invalid_grant" in by_label.loc["sbx-000000", "message"]
        assert by_label.loc["no-refresh", "kind"] == "unauthorized"
        assert "no refresh token" in by_label.loc["no-refresh", "message"]
        assert len(snap.errors) == 2  # a dead token is not tried on the second endpoint


def test_refresh_needs_the_data_centers_credentials() -> None:
    with sandbox.serve(accounts=4, seed=4, rate_limit=None, faults=Faults(expired=1.0)) as s:
        token = tokens_of(s, 1)[0]
        missing = quiet(token).errors.iloc[0]
        assert missing["kind"] == "unauthorized"
        assert f"no client credentials for data center {token.data_center!r}" in missing["message"]
        wrong = quiet(token, credentials={token.data_center: ("sbx_client_x", "nope")})
        assert wrong.errors.iloc[0]["kind"] == "refresh_failed"
        assert "client credentials were refused" in wrong.errors.iloc[0]["message"]


def test_429s_slow_the_data_center_down_and_are_retried_until_they_pass() -> None:
    # the client believes the documented 50/s; this server allows 15/s
    with sandbox.serve(accounts=60, seed=4, rate_limit=RateLimit(15, 100_000)) as s:
        snap = quiet(tokens_of(s), max_workers=16)
        assert s.world.requests[("us", "429")] > 0
        assert snap.errors.empty
        assert len(snap.accounts) == 60


def test_client_limits_matching_the_server_get_no_429_and_one_request_per_token() -> None:
    limit = cf.RateLimit(per_second=10, per_minute=1000)
    with sandbox.serve(accounts=60, seed=4, rate_limit=RateLimit(10, 1000)) as s:
        snap = quiet(tokens_of(s), max_workers=16, rate_limits=limit)
        assert snap.errors.empty
        assert not [k for k in s.world.requests if k[1] == "429"]
        assert sum(s.world.requests.values()) == 60
        assert set(path for _, path in s.world.requests) == {"/v1/userinfo"}


@pytest.mark.slow  # a subprocess or a soak: make quick skips it
def test_server_errors_are_retried_then_reported_with_attempts() -> None:
    with sandbox.serve(accounts=30, seed=4, rate_limit=None, faults=Faults(http_503=0.3)) as s:
        snap = quiet(tokens_of(s), retries=4)
        assert snap.errors.empty
        assert len(snap.accounts) == 30
        assert sum(s.world.requests.values()) > 30
    with sandbox.serve(accounts=1, seed=4, rate_limit=None, faults=Faults(http_502=1.0)) as s:
        err = quiet(tokens_of(s), retries=1, endpoints="documented").errors
        assert err["kind"].tolist() == ["server_error"]  # one row per failed token ...
        assert err["endpoint"].tolist() == ["/v1/account"]
        assert err["status_code"].tolist() == [502]
        assert err["attempts"].tolist() == [2]
        assert "GET /v1/profiles: HTTP 502" in err["message"].iloc[0]  # ... telling both


@pytest.mark.parametrize(
    ("faults", "kind"),
    [
        (Faults(slow=1.0, slow_seconds=3), "timeout"),
        (Faults(drop=1.0), "connection"),
        (Faults(malformed=1.0), "bad_response"),
        (Faults(truncated=1.0), "bad_response"),
    ],
)
def test_faults_become_errors_of_their_kind(faults: Faults, kind: str) -> None:
    with sandbox.serve(accounts=2, seed=4, rate_limit=None, faults=faults) as s:
        snap = quiet(tokens_of(s), timeout=0.3, retries=1)
        assert set(snap.errors["kind"]) == {kind}
        assert len(snap.errors) == 2
        assert snap.accounts.empty


def test_unreachable_data_center_is_a_connection_error() -> None:
    token = cf.Token("some_token_value", "http://127.0.0.1:9", "nowhere")
    err = quiet(token, retries=0).errors
    assert err["kind"].tolist() == ["connection"]


@pytest.mark.slow  # a subprocess or a soak: make quick skips it
def test_no_token_is_dropped_or_counted_twice_under_faults() -> None:
    faults = Faults(http_503=0.2, drop=0.05, malformed=0.05, expired=0.2, revoked=0.05)
    with sandbox.serve(accounts=150, seed=6, rate_limit=None, faults=faults) as s:
        toks = tokens_of(s)
        snap = quiet(toks, credentials=s.credentials_by_url, retries=2)
    assert snap.accounts["token_label"].is_unique
    account_errors = snap.errors[snap.errors["endpoint"].isin(["/v1/userinfo", "/oauth/token"])]
    assert labels(snap.accounts) | labels(account_errors) == {t.label for t in toks}
    assert not labels(snap.accounts) & labels(account_errors)
    assert not snap.errors.empty
    assert len(snap.accounts) > 100


def test_load_profiles_warns_once_with_counts_and_keeps_errors() -> None:
    with sandbox.serve(accounts=10, seed=4, rate_limit=None, faults=Faults(revoked=0.5)) as s:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            df = cf.load_profiles(tokens_of(s), credentials=s.credentials_by_url, progress=False)
        failed = df.attrs["errors"]["token_label"].nunique()
    ours = [w for w in caught if issubclass(w.category, cf.LoadWarning)]
    assert len(ours) == 1
    assert failed > 0
    assert f"{failed} of 10 tokens failed (refresh_failed={failed})" in str(ours[0].message)


def test_errors_raise_raises_one_exception_naming_the_token() -> None:
    with sandbox.serve(accounts=3, seed=4, rate_limit=None, faults=Faults(revoked=1.0)) as s:
        toks = tokens_of(s)
        with pytest.raises(cf.LoadFailed) as info:
            cf.load_accounts(toks, credentials=s.credentials_by_url, errors="raise", progress=False)
    assert info.value.kind == "refresh_failed"
    assert info.value.label.startswith("sbx-")
    text = str(info.value)
    assert not [t for t in toks for x in (t.access_token, t.refresh_token or "") if x in text]


def test_two_loads_at_once_do_not_interfere() -> None:
    with (
        sandbox.serve(accounts=40, seed=1, rate_limit=None) as a,
        sandbox.serve(accounts=40, seed=2, rate_limit=None, faults=Faults(expired=1.0)) as b,
    ):
        alone = [quiet(tokens_of(a)), quiet(tokens_of(b))]
        together: list[cf.Snapshot] = [alone[0], alone[0]]

        def run(n: int, s: Sandbox) -> None:
            together[n] = quiet(tokens_of(s), credentials=s.credentials_by_url)

        threads = [threading.Thread(target=run, args=(n, s)) for n, s in enumerate((a, b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    pd.testing.assert_frame_equal(
        together[0].accounts.drop(columns="fetched_at"),
        alone[0].accounts.drop(columns="fetched_at"),
    )
    assert len(alone[1].errors) == 40
    assert together[1].errors.empty
    assert len(together[1].accounts) == 40


def test_requests_carry_user_agent_bearer_and_timeout(sb: Sandbox) -> None:
    transport = Transport(TransportConfig(timeout=7.0), {})
    token = tokens_of(sb, 1)[0]
    session = transport.session(token)
    assert session.headers["User-Agent"] == f"cronofy-frames/{cf.__version__}"
    assert session is transport.session(token)  # one per thread
    assert token.api_url + "/" in session.adapters  # an adapter per data center
    other: list[requests.Session] = []
    t = threading.Thread(target=lambda: other.append(transport.session(token)))
    t.start()
    t.join()
    assert other[0] is not session
    transport.close()


def test_retry_after_is_honoured_but_capped() -> None:
    retry = CappedRetry(total=3, respect_retry_after_header=True)
    retry.retry_after_cap = 5.0
    retry = retry.new()  # the cap survives urllib3's copies
    long = urllib3.HTTPResponse(status=429, headers={"Retry-After": "3600"})
    short = urllib3.HTTPResponse(status=429, headers={"Retry-After": "2"})
    assert retry.get_retry_after(long) == 5.0
    assert retry.get_retry_after(short) == 2.0
    assert retry.get_retry_after(urllib3.HTTPResponse(status=429)) is None


def test_backoff_grows_exponentially_with_bounded_jitter() -> None:
    retry = CappedRetry(total=10, backoff_factor=0.5, backoff_max=3.0, backoff_jitter=0.25)
    assert retry.get_backoff_time() == 0.0
    for errors, base in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 3.0), (6, 3.0)]:
        retry.history = tuple(RequestHistory("GET", "/", None, 503, None) for _ in range(errors))
        assert base <= retry.get_backoff_time() <= base + 0.25


# What the README names as differing between endpoints="auto" and "documented".
MODE_DEPENDENT = ["scope", "scope_source", "account_type", "domain", "delegated_scope"]
USERINFO_ONLY = ["provider_protocol", "graph_api_migration_url"]
FLAT_ANSWER = ["email", "name", "default_tzid"]  # a service account's flat userinfo lacks them


def test_frames_are_identical_through_userinfo_and_the_documented_endpoints() -> None:
    with sandbox.serve(accounts=80, seed=13, rate_limit=None) as s:
        auto = quiet(tokens_of(s))
        documented = quiet(tokens_of(s), endpoints="documented")
        exact = quiet(tokens_of(s), exact_scopes=True)
        assert sum(n for (_, p), n in s.world.requests.items() if p == "/v1/userinfo") == 160
    pd.testing.assert_frame_equal(
        auto.profiles.drop(columns=["fetched_at", *USERINFO_ONLY]),
        documented.profiles.drop(columns=["fetched_at", *USERINFO_ONLY]),
    )
    assert documented.profiles[USERINFO_ONLY].isna().all().all()
    assert auto.profiles["provider_protocol"].notna().any()
    flat = auto.accounts["account_id"].str.startswith("ser_") & auto.accounts["default_tzid"].isna()
    pd.testing.assert_frame_equal(
        auto.accounts[~flat].drop(columns=["fetched_at", *MODE_DEPENDENT]),
        documented.accounts[~flat].drop(columns=["fetched_at", *MODE_DEPENDENT]),
    )
    pd.testing.assert_frame_equal(
        auto.accounts[flat].drop(columns=["fetched_at", *MODE_DEPENDENT, *FLAT_ANSWER]),
        documented.accounts[flat].drop(columns=["fetched_at", *MODE_DEPENDENT, *FLAT_ANSWER]),
    )
    pd.testing.assert_series_equal(exact.accounts["scope"], documented.accounts["scope"])
    assert (auto.accounts["scope"] != documented.accounts["scope"]).any()  # shorthands
    assert set(documented.accounts["account_type"]) == {"account"}
    assert {"service_account", "application_calendar"} <= set(auto.accounts["account_type"])
    assert len(auto.calendars) > len(auto.profiles)
    assert documented.calendars.empty
    assert len(auto.conferencing)
    assert documented.conferencing.empty


def test_userinfo_refused_falls_back_per_data_center_and_is_remembered() -> None:
    with sandbox.serve(accounts=60, seed=13, rate_limit=None, userinfo_status={"us": 402}) as s:
        snap = quiet(tokens_of(s), max_workers=1)
        us_tokens = sum(1 for a in s.accounts if a.data_center == "us")
        requests_by = s.world.requests
        assert snap.errors.empty
        assert len(snap.accounts) == 60
        assert requests_by[("us", "/v1/userinfo")] == 1  # remembered after the first 402
        assert requests_by[("us", "/v1/account")] == us_tokens
        assert requests_by[("us", "/v1/profiles")] == us_tokens
        assert requests_by[("uk", "/v1/account")] == 0


def test_calendars_match_the_sandbox(sb: Sandbox) -> None:
    snap = quiet(tokens_of(sb, 20))
    expected = [
        (a.account_id, p.profile_id, c["calendar_id"], c["calendar_primary"])
        for a in map(sb.world.account, range(20))
        for p in a.profiles
        for c in p.calendars
    ]
    got = [
        (r.account_id, r.profile_id, r.calendar_id, r.calendar_primary)
        for r in snap.calendars.itertuples()
    ]
    assert got == expected
    assert list(snap.calendars.columns)[:5] == [
        "token_label",
        "data_center",
        "account_id",
        "profile_id",
        "calendar_id",
    ]


def test_load_accounts_uses_one_account_request_per_token() -> None:
    with sandbox.serve(accounts=12, seed=13, rate_limit=None) as s:
        df = cf.load_accounts(tokens_of(s), progress=False)
        assert len(df) == 12
        assert {p for _, p in s.world.requests} == {"/v1/account"}


def test_a_refresh_refused_with_429_is_tried_again() -> None:
    # one request a second: the refresh right after the 401 is refused with 429 first
    faults = Faults(expired=1.0, retry_after=1.0)
    with sandbox.serve(accounts=1, seed=4, rate_limit=RateLimit(1, 100), faults=faults) as s:
        seen: list[cf.Token] = []
        snap = quiet(
            tokens_of(s), credentials=s.credentials_by_url, on_refresh=seen.append, rate_limits=None
        )
        dc = s.accounts[0].data_center
        assert s.world.requests[(dc, "429")] >= 1
        assert s.world.requests[(dc, "/oauth/token")] == 1  # processed once: nothing spent twice
    assert snap.errors.empty
    assert len(snap.accounts) == 1
    assert len(seen) == 1


def test_frames_with_attached_errors_concatenate_and_filter() -> None:
    faults = Faults(revoked=0.5)
    with sandbox.serve(accounts=12, seed=4, rate_limit=None, faults=faults) as s:
        first = cf.load_profiles(
            tokens_of(s, 6), credentials=s.credentials_by_url, progress=False, errors="ignore"
        )
        second = cf.load_profiles(
            tokens_of(s)[6:], credentials=s.credentials_by_url, progress=False, errors="ignore"
        )
    errors = first.attrs["errors"]
    assert isinstance(errors, pd.DataFrame)
    assert len(errors) > 0
    assert (errors["kind"] == "refresh_failed").all()  # columns compare as usual
    both = pd.concat([first, second], ignore_index=True)  # raised with a plain DataFrame
    assert len(both) == len(first) + len(second)
    connected = first[first["profile_connected"]]
    assert connected.attrs["errors"] is errors  # carried along, not copied
