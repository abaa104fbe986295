"""The official SDK, pycronofy, pointed at the sandbox, gets the documented results."""

from __future__ import annotations

import pycronofy
import pytest

from cronofy_frames.sandbox import Sandbox, SandboxAccount, SandboxOptions

SANDBOX: SandboxOptions = {"accounts": 30, "seed": 8}


def client_for(sb: Sandbox, account: SandboxAccount) -> pycronofy.Client:
    client_id, secret = sb.credentials[account.data_center]
    client = pycronofy.Client(
        client_id=client_id,
        client_secret=secret,
        access_token=account.access_token,
        refresh_token=account.refresh_token,
    )
    client.request_handler.base_url = account.base_url  # the SDK has no other way in
    return client


def test_list_profiles_and_account(sb: Sandbox) -> None:
    for account in sb.accounts[:10]:
        client = client_for(sb, account)
        profiles = client.list_profiles()
        assert isinstance(profiles, list)
        for p in profiles:
            assert {
                "provider_name",
                "provider_service",
                "profile_id",
                "profile_name",
                "profile_connected",
                "profile_initial_sync_required",
            } <= set(p)
        acc = client.account()
        assert acc["account_id"] == account.account_id
        assert set(acc) == {"account_id", "email", "name", "scope", "default_tzid"}


def test_userinfo(sb: Sandbox) -> None:
    account = sb.accounts[3]
    info = client_for(sb, account).userinfo()
    assert info["sub"] == account.account_id
    assert "profiles" in info["cronofy.data"]


def test_refresh_authorization_rotates_and_the_new_token_works(sb: Sandbox) -> None:
    account = sb.accounts[5]
    client = client_for(sb, account)
    result = client.refresh_authorization()
    assert result["refresh_token"] != account.refresh_token
    assert result["access_token"] != account.access_token
    assert client.account()["account_id"] == account.account_id


def test_sdk_raises_on_401_after_rotation(sb: Sandbox) -> None:
    account = sb.accounts[6]
    client_for(sb, account).refresh_authorization()
    with pytest.raises(pycronofy.exceptions.PyCronofyRequestError):
        client_for(sb, account).account()  # the old access token no longer works
