"""The frame contract (columns, dtypes, empty frames) and tolerant parsing of bodies."""

from __future__ import annotations

import pandas as pd
import pytest

import cronofy_frames as cf
from cronofy_frames import schema
from cronofy_frames._endpoints import parse_account, parse_profiles

PROFILE_COLUMNS = [
    "token_label",
    "data_center",
    "account_id",
    "profile_id",
    "profile_name",
    "provider_name",
    "provider_service",
    "profile_connected",
    "profile_initial_sync_required",
    "profile_relink_url",
    "fetched_at",
    "access_mode",
    "provider_protocol",
    "graph_api_migration_url",
]
ACCOUNT_COLUMNS = [
    "token_label",
    "data_center",
    "account_id",
    "sub",
    "email",
    "name",
    "scope",
    "default_tzid",
    "fetched_at",
    "account_type",
    "scope_source",
    "domain",
    "delegated_scope",
]
CONFERENCING_COLUMNS = [
    "token_label",
    "data_center",
    "account_id",
    "provider_name",
    "profile_id",
    "profile_name",
    "profile_connected",
    "profile_relink_url",
    "fetched_at",
]
ERROR_COLUMNS = [
    "token_label",
    "data_center",
    "endpoint",
    "kind",
    "status_code",
    "message",
    "attempts",
    "fetched_at",
]


@pytest.mark.parametrize(
    ("frame", "columns"),
    [
        (schema.PROFILES, PROFILE_COLUMNS),
        (schema.ACCOUNTS, ACCOUNT_COLUMNS),
        (schema.ERRORS, ERROR_COLUMNS),
        (schema.CONFERENCING, CONFERENCING_COLUMNS),
    ],
)
def test_columns_are_exactly_the_design(frame: schema.Schema, columns: list[str]) -> None:
    assert list(frame) == columns


def test_empty_frames_keep_every_column_and_dtype() -> None:
    df = schema.empty(schema.PROFILES)
    assert len(df) == 0
    assert list(df.columns) == PROFILE_COLUMNS
    assert str(df["profile_connected"].dtype) == "boolean"
    assert df["profile_id"].dtype == pd.StringDtype("python")
    assert str(df["fetched_at"].dtype) == "datetime64[ns, UTC]"
    errors = schema.empty(schema.ERRORS)
    assert str(errors["status_code"].dtype) == "Int64"
    assert list(errors["kind"].cat.categories) == list(cf.ERROR_KINDS)


def test_parse_profiles_keeps_unknown_providers_and_missing_relink_as_na() -> None:
    body = {
        "profiles": [
            {
                "provider_name": "zoho",
                "provider_service": "zoho_calendar_2031",
                "profile_id": "pro_1",
                "profile_name": "a@b.c",
                "profile_connected": True,
                "profile_initial_sync_required": False,
                "brand_new_field": [1, 2],
            },
            {
                "provider_name": "exchange",
                "provider_service": "office365",
                "profile_id": "pro_2",
                "profile_connected": False,
                "profile_relink_url": "https://app.cronofy.com/relink/x",
            },
        ],
        "extra": True,
    }
    rows = parse_profiles(body)
    assert rows[0]["provider_service"] == "zoho_calendar_2031"
    assert rows[0]["profile_relink_url"] is None
    assert rows[1]["profile_name"] is None
    assert rows[1]["profile_initial_sync_required"] is None
    frame = schema.to_frame(
        schema.PROFILES,
        [
            {
                "token_label": "t",
                "data_center": "us",
                "account_id": None,
                "fetched_at": pd.Timestamp.now(tz="UTC"),
                "access_mode": "unknown",
                **r,
            }
            for r in rows
        ],
    )
    assert frame["provider_name"].tolist() == ["zoho", "exchange"]
    assert frame["profile_relink_url"].isna().tolist() == [True, False]


def test_parse_account_tolerates_null_and_missing() -> None:
    row = parse_account(
        {"account": {"account_id": "acc_x", "email": "svc-user", "name": None}, "sub": "acc_x"}
    )
    assert row == {
        "account_id": "acc_x",
        "sub": "acc_x",
        "email": "svc-user",
        "name": None,
        "scope": None,
        "default_tzid": None,
        "account_type": "account",  # /v1/account does not say: every answer is an account
        "scope_source": "account",
        "domain": None,
        "delegated_scope": None,
    }


@pytest.mark.parametrize("body", [None, [], {"profiles": None}, {"profiles": [1]}, "x"])
def test_wrong_profile_shapes_are_bad_responses(body: object) -> None:
    with pytest.raises(cf.RequestFailed) as info:
        parse_profiles(body)
    assert info.value.kind == "bad_response"


@pytest.mark.parametrize("body", [None, {}, {"account": "acc"}, [1]])
def test_wrong_account_shapes_are_bad_responses(body: object) -> None:
    with pytest.raises(cf.RequestFailed) as info:
        parse_account(body)
    assert info.value.kind == "bad_response"


def test_apply_dtypes_restores_types_and_keeps_extra_columns() -> None:
    raw = pd.DataFrame(
        {c: ["x"] for c in ACCOUNT_COLUMNS} | {"fetched_at": ["2026-01-01T00:00:00Z"], "note": [1]}
    )
    typed = schema.apply_dtypes(schema.ACCOUNTS, raw)
    assert list(typed.columns) == [*ACCOUNT_COLUMNS, "note"]
    assert str(typed["fetched_at"].dtype) == "datetime64[ns, UTC]"
    with pytest.raises(ValueError, match="lacks column"):
        schema.apply_dtypes(schema.ACCOUNTS, raw.drop(columns="sub"))


def test_a_file_written_before_the_later_columns_reads_with_them_missing() -> None:
    old = [c for c in ACCOUNT_COLUMNS if c not in schema.LATER_COLUMNS]
    raw = pd.DataFrame({c: ["x"] for c in old} | {"fetched_at": ["2026-01-01T00:00:00Z"]})
    typed = schema.apply_dtypes(schema.ACCOUNTS, raw)
    assert list(typed.columns) == ACCOUNT_COLUMNS
    assert typed[["account_type", "scope_source", "domain"]].isna().all().all()
    assert typed["account_type"].dtype == schema.STRING
