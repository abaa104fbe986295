"""Sandbox tokens carry the id of the data center they stand for, with the sandbox's
loopback URL as an override: frames show ``us``, ``uk``...; requests never leave for
Cronofy; the override's rate limit and client credentials are its own."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

import cronofy_frames as cf
from cronofy_frames import sandbox
from cronofy_frames.cli import main
from cronofy_frames.sandbox import Faults, Sandbox, SandboxOptions
from tests.helpers import load_args

SANDBOX: SandboxOptions = {"accounts": 24, "seed": 5, "rate_limit": None}


def bound(sb: Sandbox) -> list[cf.Token]:
    return [
        cf.Token(a.access_token, a.data_center, a.label, a.refresh_token, base_url=a.base_url)
        for a in sb.accounts
    ]


def test_a_bound_token_shows_its_id_and_goes_to_its_url() -> None:
    token = cf.Token("access_value_123", "UK", "x", base_url="http://127.0.0.1:8123/")
    assert (token.data_center, token.base_url, token.route) == (
        "uk",
        "http://127.0.0.1:8123",
        "http://127.0.0.1:8123",
    )
    assert token.base_url == "http://127.0.0.1:8123"
    with pytest.warns(DeprecationWarning, match="Token.base_url"):
        assert token.override == "http://127.0.0.1:8123"
    assert token.with_pair("new_access_4567", "r").base_url == "http://127.0.0.1:8123"
    assert "base_url='http://127.0.0.1:8123'" in repr(token)
    assert token != cf.Token("access_value_123", "uk", "x")  # not the real uk token


@pytest.mark.parametrize(
    ("data_center", "base_url", "problem"),
    [
        ("uk", "https://api-uk.cronofy.com", "must be a loopback sandbox URL"),
        ("uk", "http://10.0.0.1:80", "loopback"),
        ("http://127.0.0.1:9", "http://127.0.0.1:8123", "needs one of"),
        ("uk", "http://127.0.0.1:8123/path", "scheme://host[:port]"),
    ],
)
def test_an_override_that_is_not_loopback_or_not_for_an_id_is_refused(
    data_center: str, base_url: str, problem: str
) -> None:
    with pytest.raises(ValueError, match="base_url: ") as info:
        cf.Token("access_value_123", data_center, "x", base_url=base_url)
    assert problem in str(info.value)


def test_frames_of_bound_tokens_show_ids(sb: Sandbox) -> None:
    snap = cf.load(bound(sb), credentials=sb.credentials_by_url, progress=False)
    assert snap.errors.empty
    truth = {a.label: a.data_center for a in sb.accounts}
    for frame in (snap.accounts, snap.profiles):
        assert set(frame["data_center"]) <= set(truth.values())
        assert all(truth[r.token_label] == r.data_center for r in frame.itertuples())
    health = cf.connection_health(snap).by_data_center
    assert set(health["data_center"]) <= {"us", "uk", "de", "au", "ca", "sg"}


def test_the_real_data_centers_client_secret_never_goes_to_a_loopback_url() -> None:
    with sandbox.serve(accounts=6, seed=5, rate_limit=None, faults=Faults(expired=1.0)) as s:
        real = {dc: ("real-client", f"real-secret-{dc}") for dc in s.credentials}
        snap = cf.load(bound(s), credentials=real, progress=False, errors="ignore")
        posts = sum(n for (_, path), n in s.world.requests.items() if path == "/oauth/token")
    assert posts == 0
    assert set(snap.errors["kind"]) == {"unauthorized"}
    assert snap.errors["message"].str.contains("no client credentials").all()


def test_a_bound_token_whose_sandbox_is_gone_fails_and_never_falls_back() -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    token = cf.Token("access_value_123", "us", "gone", base_url=f"http://127.0.0.1:{port}")
    snap = cf.load([token], progress=False, errors="ignore", retries=0, timeout=2)
    assert snap.errors["kind"].tolist() == ["connection"]
    assert snap.errors["data_center"].tolist() == ["us"]


def test_the_sandbox_tokens_csv_loads_with_ids_in_python_and_from_the_cli(
    sb: Sandbox, tmp_path: Path
) -> None:
    sb.write_tokens_csv(tmp_path / "tokens.csv")
    tokens = cf.tokens_from_csv(tmp_path / "tokens.csv")
    assert {t.data_center for t in tokens} <= {"us", "uk", "de", "au", "ca", "sg"}
    assert all(t.base_url.startswith("http://127.0.0.1:") for t in tokens)
    assert main(load_args(sb, tmp_path, tmp_path / "out")) == 0
    back = cf.read_snapshot(tmp_path / "out")
    assert set(back.accounts["data_center"]) <= {"us", "uk", "de", "au", "ca", "sg"}
    assert len(back.accounts) == 24
    cf.tokens_to_csv(tokens, tmp_path / "copy.csv")
    again = cf.tokens_from_csv(tmp_path / "copy.csv")
    assert [(t.data_center, t.base_url) for t in again] == [
        (t.data_center, t.base_url) for t in tokens
    ]
