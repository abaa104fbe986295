"""Connection health from a Snapshot: who must relink, which tokens are dead, who lacks a scope.

report = cf.connection_health(snap)
report.tokens               # one row per token: status, outcome (ok, retry, dead), account
                            # type, profile and conferencing counts, relink URLs
report.by_data_center       # totals per data center (tokens by account type too)
report.by_account_type      # people, service accounts, application calendars
report.by_provider_service  # totals per provider service
report.by_access_mode       # profiles by read_write, free_busy, no_access, unknown
report.relink               # one row per link to send: calendar and conferencing profiles
cf.scope_audit(snap, "read_events create_event")   # accounts missing (or unverifiable)
cf.plot_connections(snap, by="access_mode")        # matplotlib (notebook extra)
"""

from __future__ import annotations

import textwrap
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from . import schema
from ._exceptions import PERMANENT_KINDS
from .snapshot import Snapshot
from .vocabulary import shorthands, undocumented_scopes

__all__ = [
    "HealthReport",
    "UndocumentedScopeWarning",
    "connection_health",
    "plain_label",
    "plot_connections",
    "scope_audit",
]

COUNTS = ["profiles", "connected", "disconnected", "initial_sync"]
# How each account type is counted in the tables (other types Cronofy adds keep their name).
TYPE_COLUMNS = {
    "account": "people",
    "service_account": "service_accounts",
    "application_calendar": "application_calendars",
}
TEXT_WIDTH = 100  # the report as text fits this many columns
UNKNOWN_TYPE = "type_unknown"  # tokens that failed before their type was seen
OTHER_TYPES = "other_types"  # tokens of a type Cronofy added after this was written
PLOT_BY = ("provider_service", "data_center", "provider_name", "access_mode")


class UndocumentedScopeWarning(UserWarning):
    """A scope name asked for is not one Cronofy documents (a typo such as ``read_event``)."""


@dataclass
class HealthReport:
    """The health tables of one snapshot."""

    tokens: pd.DataFrame
    by_data_center: pd.DataFrame
    by_provider_service: pd.DataFrame
    by_account_type: pd.DataFrame
    by_access_mode: pd.DataFrame
    relink: pd.DataFrame
    ews: pd.DataFrame  # Office 365 profiles still on Exchange Web Services, with their links

    @property
    def needs_attention(self) -> pd.DataFrame:
        """Tokens that failed, or have a disconnected calendar or conferencing profile."""
        t = self.tokens
        broken = (t["disconnected"] > 0) | (t["conferencing_disconnected"] > 0)
        return t[(t["status"] != "ok") | broken]

    def __str__(self) -> str:
        """The report as text that fits 100 columns (wide tables wrap)."""
        lines = [*textwrap.wrap(self.headline(), TEXT_WIDTH), ""]
        for title, table in self.tables().items():
            lines += [f"{title}:", table.to_string(index=False, line_width=TEXT_WIDTH), ""]
        if len(self.relink):
            lines += [f"to relink ({len(self.relink)}):", *relink_lines(self.relink)]
        if len(self.ews):
            lines += ["", *textwrap.wrap(EWS_NOTE.format(n=len(self.ews)), TEXT_WIDTH)]
            lines += relink_lines(self.ews, EWS_COLUMNS)
        return "\n".join(lines).rstrip()

    def headline(self) -> str:
        """One line: tokens by outcome and account type, profiles to relink."""
        t = self.tokens
        retry, dead = t[t["outcome"] == "retry"], t[t["outcome"] == "dead"]
        failed = f"{len(retry) + len(dead):,} failed"
        groups = [
            f"{len(group):,} {name}: {_counts(group['status'])}"
            for name, group in (("to retry", retry), ("dead", dead))
            if len(group)
        ]
        if groups:
            failed += f" ({'; '.join(groups)})"
        unfinished = int((t["outcome"] == "unfinished").sum())
        if unfinished:
            failed += f", {unfinished:,} not checked (the load was stopped: load them again)"
        types = _counts(t["account_type"].fillna(UNKNOWN_TYPE).map(_type_column))
        return (
            f"{len(t):,} tokens ({types}): {int((t['outcome'] == 'ok').sum()):,} ok, {failed}; "
            f"{int(t['disconnected'].sum()):,} disconnected profiles, "
            f"{int(t['initial_sync'].sum()):,} in initial sync, "
            f"{int(t['conferencing_disconnected'].sum()):,} disconnected conferencing profiles"
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        """The summary tables by title, in the order the report shows them."""
        return {
            "by data center": self.by_data_center,
            "by account type": self.by_account_type,
            "by provider service": self.by_provider_service,
            "by access mode": self.by_access_mode,
        }

    def _repr_html_(self) -> str:
        parts = [f"<pre>{_escape(self.headline())}</pre>"]
        for title, table in self.tables().items():
            parts += [f"<h4>{title.capitalize()}</h4>", table.to_html(index=False)]
        parts += ["<h4>Needs attention</h4>", self.needs_attention.to_html(index=False)]
        return "".join(parts)


RELINK_COLUMNS = ["token_label", "kind", "provider_name", "profile_relink_url"]
EWS_COLUMNS = ["token_label", "data_center", "profile_name", "graph_api_migration_url"]
EWS = "exchange_web_services"
EWS_NOTE = (
    "on Exchange Web Services ({n:,} Office 365 profiles): Microsoft blocks EWS for "
    "Exchange Online from 1 October 2026 and these stop syncing; send each owner the "
    "link to re-authorize through Microsoft Graph:"
)


def relink_lines(relink: pd.DataFrame, columns: list[str] = RELINK_COLUMNS) -> list[str]:
    """The relink list (or the EWS list) as lines: label, what and where, then the URL,
    whole (a cut URL is no link), on the same line when it fits in 100 columns, else on
    the next."""
    lines = []
    for row in relink[columns].itertuples(index=False):
        head = "  ".join(str(v) if pd.notna(v) else "-" for v in row[:3])
        url = str(row[3]) if pd.notna(row[3]) else "-"
        together = f"{head}  {url}"
        lines += [together] if len(together) <= TEXT_WIDTH else [head, f"    {url}"]
    return lines


def plain_label(value: object) -> str:
    """A value as a matplotlib label shows it literally: ``$`` escaped (else a value
    such as ``$\\foo$`` is parsed as mathtext and can fail the whole plot), missing
    as ``(none)``."""
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return "(none)"
    return str(value).replace("$", r"\$")


def _type_column(account_type: str) -> str:
    """The column a type is counted in. A type Cronofy adds later is counted in
    ``other_types`` (its name stays a value, in ``by_account_type``): a value never
    becomes a column name, so ``"tokens"`` or ``"data_center"`` cannot collide."""
    if account_type == UNKNOWN_TYPE:
        return UNKNOWN_TYPE
    return TYPE_COLUMNS.get(account_type, OTHER_TYPES)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _counts(values: pd.Series) -> str:
    counts = values.value_counts()
    return ", ".join(f"{k}={n:,}" for k, n in counts.items() if n) or "none"


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
    forbidden, payment_required, locked, not_found); ``retry`` for one that failed but
    may well be fine (rate_limited, server_error, timeout, connection, bad_response,
    unprocessable, internal_error); ``unfinished`` for one the load never got to (it was
    stopped): not checked, so neither ok nor failed."""
    if status in ("ok", "unfinished"):
        return status
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
    """One row per token (dead and unfinished ones too), and totals by data center,
    account type, provider service and access mode; the relink list."""
    tokens = _token_table(snap)
    return HealthReport(
        tokens,
        _by_data_center(tokens),
        _by_profile_column(snap.profiles, "provider_service"),
        _by_account_type(tokens),
        _by_profile_column(snap.profiles, "access_mode"),
        _relink(snap),
        _ews(snap.profiles),
    )


def _ews(profiles: pd.DataFrame) -> pd.DataFrame:
    """Office 365 profiles still on Exchange Web Services, with the link that moves each
    to Microsoft Graph, sorted by label."""
    columns = ["token_label", "data_center", "account_id", "profile_id", "profile_name"]
    columns += ["provider_service", "profile_connected", "graph_api_migration_url"]
    on_ews = profiles[_on_ews(profiles)]
    return (
        on_ews[columns]
        .sort_values(["token_label", "profile_id"], kind="stable")
        .reset_index(drop=True)
    )


def _on_ews(profiles: pd.DataFrame) -> pd.Series:
    return profiles["provider_protocol"].eq(EWS).fillna(False).astype(bool)


def _token_table(snap: Snapshot) -> pd.DataFrame:
    roster = _roster(snap)
    accounts = snap.accounts.drop_duplicates("token_label").set_index("token_label")
    counts = _profile_counts(snap.profiles, "token_label")
    p = snap.profiles
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
    table.insert(6, "account_type", labels.map(accounts["account_type"]).astype(schema.STRING))
    for column in COUNTS:
        table[column] = labels.map(counts[column]).fillna(0).astype("Int64")
    table["providers"] = labels.map(services.agg(_joined)).astype(schema.STRING)
    table["relink_urls"] = _relink_urls(p, labels)
    ews = labels.map(p[_on_ews(p)].groupby("token_label").size()).fillna(0).astype("Int64")
    return _with_conferencing(table, snap.conferencing).assign(ews_profiles=ews)


def _with_conferencing(table: pd.DataFrame, conferencing: pd.DataFrame) -> pd.DataFrame:
    """Conferencing profiles per token: how many, how many disconnected, relink URLs."""
    labels, c = table["token_label"], conferencing
    down = c[c["profile_connected"].eq(False)]
    table["conferencing"] = labels.map(c.groupby("token_label").size()).fillna(0)
    table["conferencing_disconnected"] = labels.map(down.groupby("token_label").size()).fillna(0)
    table = table.astype({"conferencing": "Int64", "conferencing_disconnected": "Int64"})
    table["conferencing_relink_urls"] = _relink_urls(c, labels)
    return table


def _relink_urls(profiles: pd.DataFrame, labels: pd.Series) -> pd.Series:
    """Each token's relink URLs (calendar or conferencing profiles), space-separated."""
    links = profiles[profiles["profile_relink_url"].notna()]
    joined = links.groupby("token_label")["profile_relink_url"].agg(_joined)
    return labels.map(joined).astype(schema.STRING)


def _relink(snap: Snapshot) -> pd.DataFrame:
    """One row per relink URL (calendar and conferencing profiles), sorted by label."""
    columns = ["token_label", "data_center", "account_id", "provider_name", "profile_id"]
    columns += ["profile_name", "profile_relink_url"]
    parts = [
        frame.loc[frame["profile_relink_url"].notna(), columns].assign(kind=kind)
        for kind, frame in (("calendar", snap.profiles), ("conferencing", snap.conferencing))
    ]
    both = pd.concat(parts, ignore_index=True).astype({"kind": schema.STRING})
    both = both[["token_label", "kind", *columns[1:]]]
    return both.sort_values(["token_label", "kind", "profile_id"], kind="stable").reset_index(
        drop=True
    )


def _joined(values: Iterable[Any]) -> str:
    return " ".join(sorted({str(v) for v in values if pd.notna(v)}))


def _outcomes(tokens: pd.DataFrame) -> pd.DataFrame:
    return tokens.assign(
        tokens=1,
        ok=(tokens["outcome"] == "ok").astype(int),
        failed=tokens["outcome"].isin(["retry", "dead"]).astype(int),
        retry=(tokens["outcome"] == "retry").astype(int),
        dead=(tokens["outcome"] == "dead").astype(int),
        unfinished=(tokens["outcome"] == "unfinished").astype(int),
    )


OUTCOMES = ["tokens", "ok", "failed", "retry", "dead", "unfinished"]


def _by_data_center(tokens: pd.DataFrame) -> pd.DataFrame:
    """Totals per data center, with a count of tokens per account type."""
    table = _outcomes(tokens).groupby("data_center")[[*OUTCOMES, *COUNTS, "ews_profiles"]].sum()
    types = tokens["account_type"].fillna(UNKNOWN_TYPE).map(_type_column)
    by_type = pd.crosstab(tokens["data_center"], types)
    for column in TYPE_COLUMNS.values():
        if column not in by_type.columns:
            by_type[column] = 0
    known = [*TYPE_COLUMNS.values()]
    by_type = by_type[known + sorted(c for c in by_type.columns if c not in known)]
    table = table.join(by_type).fillna(0)
    return _with_share(table.astype({c: int for c in by_type.columns}).reset_index())


def _by_account_type(tokens: pd.DataFrame) -> pd.DataFrame:
    """Totals per account type (``type_unknown`` for tokens that failed before it was seen)."""
    typed = _outcomes(tokens).assign(account_type=tokens["account_type"].fillna(UNKNOWN_TYPE))
    table = typed.groupby("account_type")[[*OUTCOMES, *COUNTS, "conferencing_disconnected"]].sum()
    return _with_share(table.sort_values("tokens", ascending=False).reset_index())


def _by_profile_column(profiles: pd.DataFrame, key: str) -> pd.DataFrame:
    table = _profile_counts(profiles, key).reset_index()
    accounts = profiles.groupby(key, dropna=False)["token_label"].nunique()
    table.insert(1, "accounts", table[key].map(accounts).fillna(0).astype(int))
    return _with_share(table.sort_values("profiles", ascending=False).reset_index(drop=True))


def _with_share(table: pd.DataFrame) -> pd.DataFrame:
    share = table["disconnected"] / table["profiles"].where(table["profiles"] > 0)
    table["disconnected_pct"] = (share * 100).round(1)
    return table


def scope_audit(snap: Snapshot, required: str | Iterable[str]) -> pd.DataFrame:
    """Accounts whose scope lacks any of ``required`` (a space-separated string or a list).

    ``status`` is ``missing`` (``missing`` names the scopes) or ``unverifiable``: the
    account's scope holds a simplified scope (``read_write`` ...) whose expansion is not
    documented, so whether it grants the others cannot be known: ``unverified`` names
    them and ``shorthands`` the simplified scopes; such an account is never said to be
    missing anything. Load with ``exact_scopes=True`` or ``endpoints="documented"`` for
    the fine-grained scopes. Rows come sorted: missing before unverifiable, then by
    label. Warns (``UndocumentedScopeWarning``) about names Cronofy does not document.
    """
    wanted = set(required.split() if isinstance(required, str) else required)
    if not wanted or not all(isinstance(s, str) and s and " " not in s for s in wanted):
        raise ValueError(f"required scopes must be non-empty names, got {required!r}")
    unknown = undocumented_scopes(wanted)
    if unknown:
        warnings.warn(
            f"scope name(s) {', '.join(unknown)} are not documented by Cronofy: check the "
            "spelling (every account would be reported as missing them)",
            UndocumentedScopeWarning,
            stacklevel=2,
        )
    a = snap.accounts
    verdicts = pd.DataFrame(
        [_verdict(wanted, scope) for scope in a["scope"].fillna("")],
        columns=["status", "missing", "unverified", "shorthands"],
        index=a.index,
        dtype=object,
    ).astype(schema.STRING)
    out = a[["token_label", "data_center", "account_id", "email", "scope"]].join(verdicts)
    out = out[out["status"] != "ok"]
    order = out["status"].map({"missing": 0, "unverifiable": 1})
    out = out.assign(_order=order).sort_values(["_order", "token_label"], kind="stable")
    return out.drop(columns="_order").reset_index(drop=True)


def _verdict(wanted: set[str], scope: str) -> tuple[str, str | None, str | None, str | None]:
    """(status, missing, unverified, shorthands) for one account's scope."""
    lacking = " ".join(sorted(wanted - set(scope.split())))
    if not lacking:
        return "ok", None, None, None
    held = shorthands(scope)
    if held:
        return "unverifiable", None, lacking, " ".join(held)
    return "missing", lacking, None, None


def plot_connections(snap: Snapshot, by: str = "provider_service", ax: Any = None) -> Any:
    """A stacked bar chart of connected / disconnected profiles by ``by``; the Axes."""
    if by not in PLOT_BY:
        raise ValueError(f"by must be one of {', '.join(PLOT_BY)}, got {by!r}")
    counts = _profile_counts(snap.profiles, by)[["connected", "disconnected"]]
    counts = counts.sort_values("connected", ascending=True)
    counts.index = [plain_label(v) for v in counts.index]  # data, never mathtext
    if ax is None:
        import matplotlib.pyplot as plt  # the notebook extra; only without an Axes given

        _, ax = plt.subplots(figsize=(7, 0.4 * len(counts) + 1.5))
    counts.plot.barh(stacked=True, ax=ax, color=["#3a7d44", "#d1495b"])
    ax.set_xlabel("profiles")
    ax.set_ylabel(by.replace("_", " "))
    ax.set_title(f"Calendar profiles by {by.replace('_', ' ')}")
    return ax
