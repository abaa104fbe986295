"""Connection health from a Snapshot: who must relink, which tokens are dead, who lacks a scope.

report = cf.connection_health(snap)
report.tokens               # one row per token: status, outcome (ok, retry, dead),
                            # profile counts, relink URLs
report.by_data_center       # totals per data center
report.by_provider_service  # totals per provider service
cf.scope_audit(snap, "read_events create_event")   # accounts missing any of them
cf.plot_connections(snap, by="provider_service")   # matplotlib (notebook extra)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from . import schema
from ._exceptions import PERMANENT_KINDS
from .loader import Snapshot

__all__ = ["HealthReport", "connection_health", "plot_connections", "scope_audit"]

COUNTS = ["profiles", "connected", "disconnected", "initial_sync"]


@dataclass
class HealthReport:
    """The health tables of one snapshot."""

    tokens: pd.DataFrame
    by_data_center: pd.DataFrame
    by_provider_service: pd.DataFrame

    @property
    def needs_attention(self) -> pd.DataFrame:
        """Tokens that failed, or have a disconnected profile."""
        t = self.tokens
        return t[(t["status"] != "ok") | (t["disconnected"] > 0)]

    def __str__(self) -> str:
        t = self.tokens
        retry, dead = t[t["outcome"] == "retry"], t[t["outcome"] == "dead"]
        failed = f"{len(retry) + len(dead)} failed"
        if len(retry) + len(dead):
            failed += (
                f" ({len(retry)} to retry: {_counts(retry['status'])}; "
                f"{len(dead)} dead: {_counts(dead['status'])})"
            )
        lines = [
            f"{len(t)} tokens: {int((t['outcome'] == 'ok').sum())} ok, {failed}; "
            f"{int(t['disconnected'].sum())} disconnected profiles, "
            f"{int(t['initial_sync'].sum())} in initial sync",
            "",
            "by data center:",
            self.by_data_center.to_string(index=False),
            "",
            "by provider service:",
            self.by_provider_service.to_string(index=False),
        ]
        relink = t[t["disconnected"] > 0][["token_label", "account_id", "relink_urls"]]
        if len(relink):
            lines += ["", "to relink:", relink.to_string(index=False)]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        parts = [
            f"<pre>{_escape(str(self).split(chr(10))[0])}</pre>",
            "<h4>By data center</h4>",
            self.by_data_center.to_html(index=False),
            "<h4>By provider service</h4>",
            self.by_provider_service.to_html(index=False),
            "<h4>Needs attention</h4>",
            self.needs_attention.to_html(index=False),
        ]
        return "".join(parts)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _counts(values: pd.Series) -> str:
    counts = values.value_counts()
    return ", ".join(f"{k}={n}" for k, n in counts.items() if n) or "none"


def _roster(snap: Snapshot) -> pd.DataFrame:
    """Every token of the snapshot, in order: label and data center."""
    roster = snap.roster()
    if roster:
        labels, centers = zip(*roster, strict=True)
        return pd.DataFrame({"token_label": labels, "data_center": centers}, dtype=schema.STRING)
    seen = pd.concat(
        [
            snap.accounts[["token_label", "data_center"]],
            snap.errors[["token_label", "data_center"]],
        ],
        ignore_index=True,
    )
    return seen.drop_duplicates("token_label").reset_index(drop=True)


def outcome(status: str) -> str:
    """``ok``; ``dead`` for a token refused for good (unauthorized, refresh_failed,
    forbidden, payment_required, locked, not_found); ``retry`` for one that could not be
    checked this time (rate_limited, server_error, timeout, connection, bad_response,
    unfinished): it may well be fine."""
    if status == "ok":
        return "ok"
    return "dead" if status in PERMANENT_KINDS else "retry"


def _status(snap: Snapshot, labels: pd.Series) -> pd.Series:
    """ "ok", the kind of the token's first error, or "unfinished"."""
    first = snap.errors.drop_duplicates("token_label")
    kinds = dict(zip(first["token_label"], first["kind"].astype(str), strict=True))
    unfinished = set(snap.unfinished)
    status = ["unfinished" if label in unfinished else kinds.get(label, "ok") for label in labels]
    return pd.Series(status, index=labels.index, dtype=schema.STRING)


def _profile_counts(profiles: pd.DataFrame, key: str) -> pd.DataFrame:
    connected = profiles["profile_connected"].fillna(False).astype(bool)
    frame = pd.DataFrame(
        {
            key: profiles[key],
            "profiles": 1,
            "connected": connected.astype(int),
            "disconnected": (~connected).astype(int),
            "initial_sync": profiles["profile_initial_sync_required"].fillna(False).astype(int),
        }
    )
    return frame.groupby(key, dropna=False).sum()


def connection_health(snap: Snapshot) -> HealthReport:
    """One row per token (dead and unfinished ones too), and totals by data center and service."""
    tokens = _token_table(snap)
    return HealthReport(tokens, _by_data_center(tokens), _by_service(snap.profiles))


def _token_table(snap: Snapshot) -> pd.DataFrame:
    roster = _roster(snap)
    accounts = snap.accounts.drop_duplicates("token_label").set_index("token_label")
    counts = _profile_counts(snap.profiles, "token_label")
    p = snap.profiles
    relink = p[p["profile_relink_url"].notna()].groupby("token_label")["profile_relink_url"]
    services = p.groupby("token_label")["provider_service"]
    labels = roster["token_label"]
    table = pd.DataFrame(
        {
            "token_label": labels,
            "data_center": roster["data_center"],
            "account_id": labels.map(accounts["account_id"]).astype(schema.STRING),
            "email": labels.map(accounts["email"]).astype(schema.STRING),
            "status": _status(snap, labels),
        }
    )
    table.insert(5, "outcome", table["status"].map(outcome).astype(schema.STRING))
    for column in COUNTS:
        table[column] = labels.map(counts[column]).fillna(0).astype("Int64")
    table["providers"] = labels.map(services.agg(_joined)).astype(schema.STRING)
    table["relink_urls"] = labels.map(relink.agg(_joined)).astype(schema.STRING)
    return table


def _joined(values: Iterable[Any]) -> str:
    return " ".join(sorted({str(v) for v in values if pd.notna(v)}))


def _by_data_center(tokens: pd.DataFrame) -> pd.DataFrame:
    grouped = tokens.assign(
        tokens=1,
        ok=(tokens["outcome"] == "ok").astype(int),
        failed=(tokens["outcome"] != "ok").astype(int),
        retry=(tokens["outcome"] == "retry").astype(int),
        dead=(tokens["outcome"] == "dead").astype(int),
    )
    table = grouped.groupby("data_center")[
        ["tokens", "ok", "failed", "retry", "dead", *COUNTS]
    ].sum()
    return _with_share(table.reset_index())


def _by_service(profiles: pd.DataFrame) -> pd.DataFrame:
    table = _profile_counts(profiles, "provider_service").reset_index()
    accounts = profiles.groupby("provider_service", dropna=False)["account_id"].nunique()
    table.insert(1, "accounts", table["provider_service"].map(accounts).fillna(0).astype(int))
    return _with_share(table.sort_values("profiles", ascending=False).reset_index(drop=True))


def _with_share(table: pd.DataFrame) -> pd.DataFrame:
    share = table["disconnected"] / table["profiles"].where(table["profiles"] > 0)
    table["disconnected_pct"] = (share * 100).round(1)
    return table


def scope_audit(snap: Snapshot, required: str | Iterable[str]) -> pd.DataFrame:
    """Accounts whose scope lacks any of ``required`` (a space-separated string or a list)."""
    wanted = set(required.split() if isinstance(required, str) else required)
    if not wanted or not all(isinstance(s, str) and s and " " not in s for s in wanted):
        raise ValueError(f"required scopes must be non-empty names, got {required!r}")
    a = snap.accounts
    granted = a["scope"].fillna("").str.split()
    missing = granted.map(lambda have: " ".join(sorted(wanted - set(have))))
    out = a[["token_label", "data_center", "account_id", "email", "scope"]].assign(
        missing=missing.astype(schema.STRING)
    )
    return out[out["missing"] != ""].reset_index(drop=True)


def plot_connections(snap: Snapshot, by: str = "provider_service", ax: Any = None) -> Any:
    """A stacked bar chart of connected / disconnected profiles by ``by``; the Axes."""
    if by not in ("provider_service", "data_center", "provider_name"):
        raise ValueError(f"by must be provider_service, data_center or provider_name, got {by!r}")
    import matplotlib.pyplot as plt  # the notebook extra

    counts = _profile_counts(snap.profiles, by)[["connected", "disconnected"]]
    counts = counts.sort_values("connected", ascending=True)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.4 * len(counts) + 1.5))
    counts.plot.barh(stacked=True, ax=ax, color=["#3a7d44", "#d1495b"])
    ax.set_xlabel("profiles")
    ax.set_ylabel(by.replace("_", " "))
    ax.set_title(f"Calendar profiles by {by.replace('_', ' ')}")
    return ax
