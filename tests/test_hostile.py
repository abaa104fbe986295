"""Trust under attack, over real HTTP on 127.0.0.1: crafted token sheets, a hostile proxy
in front of the API, and the user's own environment. Each test fails without its defence."""

from __future__ import annotations

import _thread
import csv
import io
import signal
import subprocess
import sys
import threading
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import cronofy_frames as cf
from cronofy_frames import sandbox
from cronofy_frames.loader import LoadOptions
from cronofy_frames.sandbox import Faults, Sandbox
from cronofy_frames.sandbox._hostile import bomb
from cronofy_frames.token_store import tokens_from_csv_text
from tests.helpers import load_args, tokens_of
from tests.recorder import recording

ACCESS = "tok_abcdefghijklmnopqrstuvwxyz012345"
LIVENESS_SECONDS = 60  # a hang guard: an unbounded wait would run for minutes


def quiet(tokens: Any, **options: Any) -> cf.Snapshot:
    """``cf.load`` without progress bar or warning."""
    return cf.load(tokens, progress=False, errors="ignore", **options)


def within_liveness(load: Callable[[], cf.Snapshot]) -> cf.Snapshot:
    """Run ``load`` in a thread; fail if it is still running after the liveness bound."""
    result: list[cf.Snapshot] = []
    thread = threading.Thread(target=lambda: result.append(load()), daemon=True)
    thread.start()
    thread.join(LIVENESS_SECONDS)
    assert not thread.is_alive(), "the load did not end"
    return result[0]


def accounted_once(snap: cf.Snapshot, tokens: list[cf.Token]) -> None:
    loaded, failed = set(snap.accounts["token_label"]), set(snap.errors["token_label"])
    assert not loaded & failed
    assert loaded | failed == {t.label for t in tokens}


def refreshes(sb: Sandbox) -> int:
    return sum(n for (_, path), n in sb.world.requests.items() if path == "/oauth/token")


def wait_for(condition: Callable[[], bool], seconds: float = 30) -> None:
    """Block until ``condition()`` holds (checked every 10 ms), failing after ``seconds``."""
    done = threading.Event()
    for _ in range(int(seconds * 100)):
        if condition():
            return
        done.wait(0.01)
    raise AssertionError("the condition never held")


# -- where a token may go ------------------------------------------------------

READ_TWO_WAYS = [
    "http://:@evil.test\\@127.0.0.1:8123",
    "http://evil.test\\@127.0.0.1:8123",
    "http://evil.test#@127.0.0.1:8123",
    "http://127.0.0.1:8123@evil.test",
    "http://user:pw@127.0.0.1:8123",
    "https://api.cronofy.com@evil.test",
    "https://api.cronofy.com\\@evil.test",
    "http://127.0.0.1:8123/v1",
    "http://127.0.0.1:8123?x=1",
    "http://127.0.0.1:8123#top",
    "http://127.0.0.1:8123\n",
    " http://127.0.0.1:8123",
    "http://127.0.0.1 :8123",
    "http://127.0.0.1:8123\x00",
    "http://127.0.0.1%2f@evil.test",
    "http://127.0.0.1:99999",
]


@pytest.mark.parametrize("value", READ_TWO_WAYS)
def test_a_url_that_could_be_read_two_ways_is_refused_before_any_request(value: str) -> None:
    with pytest.raises(ValueError, match="data center"):
        cf.Token(ACCESS, value)
    sheet = io.StringIO()
    csv.writer(sheet).writerows([["label", "data_center", "access_token"], ["a", value, ACCESS]])
    with pytest.raises(ValueError, match="row 2, column data_center") as info:
        tokens_from_csv_text(sheet.getvalue(), "sheet.csv")
    assert ACCESS not in str(info.value)


def test_requests_are_built_from_the_parsed_parts() -> None:
    with recording() as server:
        port = server.url.rsplit(":", 1)[1]
        token = cf.Token(ACCESS, f"HTTP://127.0.0.1:{port}/", "acme")
        assert token.api_url == f"http://127.0.0.1:{port}"
        quiet(token, retries=0)
    method, path, headers, _ = server.requests[0]
    assert (method, path, headers["Host"]) == ("GET", "/v1/userinfo", f"127.0.0.1:{port}")
    assert headers["Authorization"] == f"Bearer {ACCESS}"


def test_get_redirects_are_never_followed() -> None:
    with (
        recording() as elsewhere,
        sandbox.serve(
            accounts=6,
            seed=3,
            rate_limit=None,
            faults=Faults(redirect=1.0, redirect_to=elsewhere.url),
        ) as sb,
    ):
        snap = quiet(tokens_of(sb), credentials=sb.credentials_by_url)
    assert elsewhere.requests == []
    assert snap.accounts.empty
    assert set(snap.errors["kind"]) == {"bad_response"}
    assert set(snap.errors["status_code"]) == {307}


def test_a_refresh_redirect_never_resends_the_client_secret() -> None:
    faults = Faults(expired=1.0, refresh_redirect=1.0, redirect_to="")
    with recording() as elsewhere:
        faults = Faults(expired=1.0, refresh_redirect=1.0, redirect_to=elsewhere.url)
        with sandbox.serve(accounts=4, seed=3, rate_limit=None, faults=faults) as sb:
            snap = quiet(tokens_of(sb), credentials=sb.credentials_by_url)
    assert elsewhere.requests == []
    assert set(snap.errors["endpoint"]) == {"/oauth/token"}
    assert set(snap.errors["kind"]) == {"bad_response"}
    assert set(snap.errors["status_code"]) == {307}


def test_a_netrc_default_entry_does_not_replace_the_bearer_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / ".netrc"
    netrc.write_text("default login someone password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HOME", str(tmp_path))
    handed: list[cf.Token] = []
    with sandbox.serve(accounts=12, seed=5, rate_limit=None) as sb:
        snap = quiet(tokens_of(sb), credentials=sb.credentials_by_url, on_refresh=handed.append)
        assert refreshes(sb) == 0
    assert snap.errors.empty
    assert len(snap.accounts) == 12
    assert handed == []


def test_proxy_variables_are_honoured_once_per_data_center(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    with recording(status=502, body=b"") as proxy, sandbox.serve(accounts=3, seed=5) as sb:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        through = quiet(tokens_of(sb), retries=0)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        direct = quiet(tokens_of(sb), retries=0)
    assert set(through.errors["status_code"]) == {502}
    targets = {path for _, path, _, _ in proxy.requests}
    assert len(proxy.requests) == 3
    assert all(t.startswith("http://127.0.0.1:") and t.endswith("/v1/userinfo") for t in targets)
    assert direct.errors.empty
    assert len(direct.accounts) == 3


# -- a rotated refresh token is never lost -------------------------------------


def test_an_interrupt_waits_for_the_refresh_in_flight() -> None:
    returned = threading.Event()
    handed: list[tuple[cf.Token, bool]] = []
    faults = Faults(expired=1.0, refresh_delay=1.5)
    with sandbox.serve(accounts=1, seed=8, rate_limit=None, faults=faults) as sb:
        token = tokens_of(sb)[0]

        def interrupt() -> None:
            wait_for(lambda: refreshes(sb) >= 1)
            _thread.interrupt_main()  # Ctrl-C while the refresh is in flight

        threading.Thread(target=interrupt, daemon=True).start()
        with pytest.warns(cf.LoadWarning, match="interrupted"):
            snap = quiet(
                [token],
                credentials=sb.credentials_by_url,
                on_refresh=lambda t: handed.append((t, returned.is_set())),
            )
        returned.set()
        current = sb.world.tokens(0)
    assert [(t.refresh_token, late) for t, late in handed] == [(current[1], False)]
    assert (snap.tokens[0].access_token, snap.tokens[0].refresh_token) == current
    assert snap.tokens[0].refresh_token != token.refresh_token


@pytest.mark.slow  # a subprocess or a soak: make quick skips it
def test_a_second_ctrl_c_in_the_cli_keeps_the_refreshed_pair(tmp_path: Path) -> None:
    faults = Faults(expired=1.0, refresh_delay=2.0)
    with sandbox.serve(accounts=1, seed=8, rate_limit=None, faults=faults) as sb:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cronofy_frames", *load_args(sb, tmp_path, tmp_path / "out")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_for(lambda: refreshes(sb) >= 1)
        for _ in range(3):  # Ctrl-C, and again while the refresh is still in flight
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(0.3)
                break
            except subprocess.TimeoutExpired:
                continue
        _, err = proc.communicate(timeout=LIVENESS_SECONDS)
        current = sb.world.tokens(0)
    assert proc.returncode == 130
    assert "Traceback" not in err
    rows = list(csv.DictReader((tmp_path / "tokens.csv.refreshed.csv").open()))
    assert (rows[-1]["access_token"], rows[-1]["refresh_token"]) == tuple(current)


def test_a_malformed_refresh_answer_keeps_the_rotated_refresh_token() -> None:
    faults = Faults(expired=1.0, refresh_malformed=1.0)
    handed: list[cf.Token] = []
    with sandbox.serve(accounts=9, seed=9, rate_limit=None, faults=faults) as sb:
        tokens = tokens_of(sb)
        snap = quiet(tokens, credentials=sb.credentials_by_url, on_refresh=handed.append)
        rotated = {t.label: sb.world.tokens(i)[1] for i, t in enumerate(tokens)}
        sb.world.faults = Faults(expired=1.0)  # the proxy behaves again
        again = quiet(snap.tokens, credentials=sb.credentials_by_url)
    assert set(snap.errors["kind"]) == {"refresh_failed"}
    assert snap.errors["message"].str.contains("new refresh token was kept").all()
    assert {t.label: t.refresh_token for t in handed} == rotated
    assert {t.label: t.refresh_token for t in snap.tokens} == rotated
    assert [t.access_token for t in snap.tokens] == [t.access_token for t in tokens]
    assert again.errors.empty
    assert len(again.accounts) == 9


# -- every token accounted for, whatever the server sends ------------------------


@pytest.mark.parametrize("fault", ["nested", "huge", "gzip_bomb", "echo", "redirect"])
def test_a_hostile_answer_costs_one_token_a_bad_response(fault: str) -> None:
    faults = Faults(**{fault: 0.5}, huge_bytes=11_000_000)
    with sandbox.serve(accounts=12, seed=31, rate_limit=None, faults=faults) as sb:
        tokens = tokens_of(sb)
        snap = quiet(tokens, retries=0)
    accounted_once(snap, tokens)
    assert len(snap.accounts)
    assert len(snap.errors)
    assert set(snap.errors["kind"]) == {"bad_response"}


def test_a_gzip_bomb_costs_bounded_memory() -> None:
    faults = Faults(gzip_bomb=1.0, huge_bytes=11_000_000)
    bomb(faults.huge_bytes * 10)  # built before measuring: the server's side, not the client's
    with sandbox.serve(accounts=3, seed=4, rate_limit=None, faults=faults) as sb:
        tokens = tokens_of(sb)
        tracemalloc.start()
        try:
            snap = quiet(tokens, retries=0)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert set(snap.errors["kind"]) == {"bad_response"}
    assert snap.errors["message"].str.contains("larger than the 10,485,760-byte cap").all()
    assert peak < 64 * 2**20  # the bomb inflates to 110 MB a token


def test_the_body_cap_is_configurable() -> None:
    with sandbox.serve(accounts=3, seed=4, rate_limit=None) as sb:
        tight = quiet(tokens_of(sb), max_response_bytes=64)
        roomy = quiet(tokens_of(sb), max_response_bytes=1_000_000)
    assert set(tight.errors["kind"]) == {"bad_response"}
    assert roomy.errors.empty


def test_a_drip_fed_answer_is_bounded_by_the_timeout() -> None:
    faults = Faults(drip=1.0, drip_seconds=0.05)  # about a minute per answer
    with sandbox.serve(accounts=2, seed=4, rate_limit=None, faults=faults) as sb:
        snap = within_liveness(lambda: quiet(tokens_of(sb), timeout=0.5, retries=1))
    assert set(snap.errors["kind"]) == {"timeout"}
    assert set(snap.errors["attempts"]) == {2}


BAD_RETRY_AFTER = ["inf", "1e308", "-5", "nan", "soon", "9" * 40]


@pytest.mark.parametrize("value", BAD_RETRY_AFTER)
def test_bad_retry_after_on_a_get_is_capped_and_attempts_are_true(value: str) -> None:
    faults = Faults(http_429=1.0, bad_retry_after=value)
    with sandbox.serve(accounts=2, seed=4, rate_limit=None, faults=faults) as sb:
        snap = within_liveness(
            lambda: quiet(tokens_of(sb), retries=2, retry_after_max=0.2, rate_limits=None)
        )
    assert set(snap.errors["kind"]) == {"rate_limited"}
    assert set(snap.errors["attempts"]) == {3}


@pytest.mark.parametrize("value", BAD_RETRY_AFTER)
def test_bad_retry_after_on_a_refresh_is_capped_and_attempts_are_true(value: str) -> None:
    faults = Faults(expired=1.0, refresh_429=1.0, bad_retry_after=value)
    with sandbox.serve(accounts=2, seed=4, rate_limit=None, faults=faults) as sb:
        snap = within_liveness(
            lambda: quiet(
                tokens_of(sb),
                credentials=sb.credentials_by_url,
                retries=2,
                retry_after_max=0.2,
                rate_limits=None,  # no limiter: no minute of patience (tested on its own)
            )
        )
    assert set(snap.errors["endpoint"]) == {"/oauth/token"}
    assert set(snap.errors["kind"]) == {"rate_limited"}
    assert set(snap.errors["attempts"]) == {3}


def test_a_token_that_cannot_go_in_a_header_is_refused_naming_label_and_row() -> None:
    snowman = "\u2603" * 24
    with pytest.raises(ValueError, match=r"token 'snow', access_token: .*non-ASCII") as info:
        cf.Token(snowman, label="snow")
    assert snowman not in str(info.value)
    text = f"label,access_token\nok,{ACCESS}\nsnow,{snowman}\nbell,a\x07b\n"
    with pytest.raises(ValueError, match=r"sheet\.csv row 3, column access_token") as info:
        tokens_from_csv_text(text, "sheet.csv")
    assert snowman not in str(info.value)
    with pytest.raises(ValueError, match="control"):
        cf.Token("abc\x07def")


# -- no secret in any message ------------------------------------------------------


def test_a_shifted_csv_row_names_file_row_and_column_never_the_token(tmp_path: Path) -> None:
    sheet = tmp_path / "tokens.csv"
    refresh = "rt_abcdefghijklmnopqrstuvwxyz0123"
    sheet.write_text(f"label,data_center,access_token,refresh_token\nacme,{ACCESS},{refresh}\n")
    with pytest.raises(ValueError, match="unknown data center") as info:
        cf.tokens_from_csv(sheet)
    message = str(info.value)
    assert f"{sheet} row 2, column data_center" in message
    assert ACCESS not in message
    assert refresh not in message


def test_echoing_proxies_never_put_a_secret_into_the_errors() -> None:
    faults = Faults(echo=0.5, expired=0.5, refresh_echo=1.0)
    with sandbox.serve(accounts=16, seed=12, rate_limit=None, faults=faults) as sb:
        tokens = tokens_of(sb)
        with pytest.warns(cf.LoadWarning) as caught:
            snap = cf.load(tokens, credentials=sb.credentials_by_url, progress=False)
        secrets = {t.access_token for t in tokens} | {t.refresh_token or "" for t in tokens}
        secrets |= {secret for _, secret in sb.credentials.values()}
    assert {"bad_response", "refresh_failed"} <= set(snap.errors["kind"])
    shown = snap.errors.to_csv() + "".join(str(w.message) for w in caught)
    assert not [s for s in secrets if s in shown]
    refused = snap.errors[snap.errors["kind"] == "refresh_failed"]["message"]
    assert refused.str.fullmatch(
        r"POST /oauth/token: the refresh token was refused \(HTTP 400\).*"
    ).all()


def test_a_known_oauth_error_code_is_named() -> None:
    with sandbox.serve(accounts=4, seed=12, rate_limit=None, faults=Faults(revoked=1.0)) as sb:
        snap = quiet(tokens_of(sb), credentials=sb.credentials_by_url)
    assert snap.errors["message"].str.contains(r"\(invalid_grant\)").all()


def test_load_options_repr_hides_client_secrets() -> None:
    secret = "sec_abcdefghijklmnopqrstuvwxyz"
    options = LoadOptions(
        credentials={"uk": ("client", secret), "de": cf.ClientCredentials("client", secret)}
    )
    assert secret not in repr(options)
    assert "…wxyz" in repr(options)
