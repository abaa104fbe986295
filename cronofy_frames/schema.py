"""Column order and dtypes of every frame, in one place; rows become DataFrames only here.

Text and ids are ``string`` (python storage, ``pd.NA`` for missing, the same whether
or not pyarrow is installed), flags ``boolean``, counts and status codes ``Int64``,
times tz-aware UTC. Provider values are plain strings, so any value survives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._exceptions import ERROR_KINDS

__all__ = [
    "ACCOUNTS",
    "CALENDARS",
    "CONFERENCING",
    "ERRORS",
    "PROFILES",
    "SCHEMAS",
    "apply_column",
    "apply_dtypes",
    "empty",
    "to_frame",
]

STRING = pd.StringDtype("python")
BOOLEAN = pd.BooleanDtype()
INT = pd.Int64Dtype()
UTC = pd.DatetimeTZDtype("ns", "UTC")
KIND = pd.CategoricalDtype(list(ERROR_KINDS))

Schema = dict[str, Any]

PROFILES: Schema = {
    "token_label": STRING,
    "data_center": STRING,
    "account_id": STRING,
    "profile_id": STRING,
    "profile_name": STRING,
    "provider_name": STRING,
    "provider_service": STRING,
    "profile_connected": BOOLEAN,
    "profile_initial_sync_required": BOOLEAN,
    "profile_relink_url": STRING,
    "fetched_at": UTC,
    "access_mode": STRING,  # read_write, free_busy, no_access or unknown (see vocabulary)
    "provider_protocol": STRING,  # Office 365, userinfo only: exchange_web_services, graph_api
    "graph_api_migration_url": STRING,  # with exchange_web_services: re-authorize via Graph
}
ACCOUNTS: Schema = {
    "token_label": STRING,
    "data_center": STRING,
    "account_id": STRING,
    "sub": STRING,
    "email": STRING,
    "name": STRING,
    "scope": STRING,
    "default_tzid": STRING,
    "fetched_at": UTC,
    "account_type": STRING,  # cronofy.type verbatim; "account" from /v1/account
    "scope_source": STRING,  # "account" or "userinfo"
    "domain": STRING,
    "delegated_scope": STRING,
}
CONFERENCING: Schema = {
    "token_label": STRING,
    "data_center": STRING,
    "account_id": STRING,
    "provider_name": STRING,
    "profile_id": STRING,
    "profile_name": STRING,
    "profile_connected": BOOLEAN,
    "profile_relink_url": STRING,
    "fetched_at": UTC,
}
ERRORS: Schema = {
    "token_label": STRING,
    "data_center": STRING,
    "endpoint": STRING,
    "kind": KIND,
    "status_code": INT,
    "message": STRING,
    "attempts": INT,
    "fetched_at": UTC,
}
CALENDARS: Schema = {
    "token_label": STRING,
    "data_center": STRING,
    "account_id": STRING,
    "profile_id": STRING,
    "calendar_id": STRING,
    "calendar_name": STRING,
    "calendar_readonly": BOOLEAN,
    "calendar_deleted": BOOLEAN,
    "calendar_primary": BOOLEAN,
    "permission_level": STRING,
    "calendar_integrated_conferencing_available": BOOLEAN,
    "calendar_attachments_available": BOOLEAN,
    "fetched_at": UTC,
}
FRAMES = ("profiles", "accounts", "calendars", "conferencing", "errors")  # in order
SCHEMAS: dict[str, Schema] = {
    "profiles": PROFILES,
    "accounts": ACCOUNTS,
    "errors": ERRORS,
    "calendars": CALENDARS,
    "conferencing": CONFERENCING,
}
# Columns added after files were first written: missing from an older file, they are NA.
LATER_COLUMNS = frozenset(
    {
        "access_mode",
        "account_type",
        "scope_source",
        "domain",
        "delegated_scope",
        "provider_protocol",
        "graph_api_migration_url",
    }
)


def to_frame(schema: Schema, rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Rows (mappings holding at least the schema's columns) as a typed frame."""
    columns = {name: _column([row[name] for row in rows], dtype) for name, dtype in schema.items()}
    return pd.DataFrame(columns, index=pd.RangeIndex(len(rows)))


def _column(values: list[Any], dtype: Any) -> pd.Series:
    if dtype is UTC:
        return pd.Series(_utc(values))
    series: pd.Series = pd.Series(values, dtype=dtype)
    return series


def _utc(values: list[Any]) -> pd.Index:
    """Times as UTC: nanoseconds since the epoch (as the loader stamps rows, converted in
    one step) or anything ``DatetimeIndex`` takes (ten times faster than ``Series``)."""
    if values and all(type(v) is int for v in values):
        return pd.DatetimeIndex(np.array(values, dtype="datetime64[ns]")).tz_localize("UTC")
    return pd.DatetimeIndex(values, tz="UTC").astype(UTC)


def empty(schema: Schema) -> pd.DataFrame:
    """A frame with no rows and every column with its dtype."""
    return to_frame(schema, [])


def apply_dtypes(schema: Schema, df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with the schema's columns first, in order and with their dtypes."""
    missing = [c for c in schema if c not in df.columns and c not in LATER_COLUMNS]
    if missing:
        raise ValueError(f"frame lacks column(s) {missing}")
    extra = [c for c in df.columns if c not in schema]
    typed = {name: apply_column(_get(df, name), dtype) for name, dtype in schema.items()}
    return pd.DataFrame({**typed, **{c: df[c] for c in extra}}, index=df.index)


def _get(df: pd.DataFrame, name: str) -> pd.Series:
    """The column, or all-NA for a column added after the file was written."""
    if name in df.columns:
        return df[name]
    return pd.Series(pd.NA, index=df.index, dtype=object)


def apply_column(column: pd.Series, dtype: Any) -> pd.Series:
    """One column with ``dtype`` (times from text; flags from booleans or 0/1, with
    None or NaN for missing)."""
    if dtype is UTC and not isinstance(column.dtype, pd.DatetimeTZDtype):
        return pd.to_datetime(column, utc=True).astype(UTC)
    return column.astype(dtype)
