"""What changed between two snapshots: last week's audit against this week's.

changes = cf.diff(old, new)
changes.newly_disconnected    # profiles connected before, disconnected now
changes.conferencing_disconnected  # the same for conferencing profiles (Zoom, GoTo ...)
changes.tokens_died           # tokens that loaded before and are refused now, for good
changes.not_checked           # tokens that loaded before and could not be asked now
changes.checked_again         # tokens that could not be asked before and loaded now
changes.moved_to_graph        # Office 365 profiles that left Exchange Web Services for Graph
print(changes)                # a short summary

"Could not ask" is never "gone", and "asked at last" is never "new": a token that
failed transiently in the new snapshot (rate_limited, server_error, timeout,
connection, bad_response, or unfinished) is ``not_checked``, not dead, and its profiles
are neither removed nor disconnected; a token that could not be asked last time and
loaded now is ``checked_again``, not recovered, and its profiles are not ``added``
(they were there, unseen). ``tokens_recovered`` are tokens that were dead.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import pandas as pd

from . import schema
from .health import connection_health
from .snapshot import Snapshot

__all__ = ["SnapshotDiff", "diff"]

KEY = ["token_label", "profile_id"]
NOT_CHECKED = ("retry", "unfinished")  # outcomes that say nothing about the token
PROFILE_COLUMNS = [*KEY, "account_id", "profile_name", "provider_service", "profile_relink_url"]
CONFERENCING_COLUMNS = [*KEY, "account_id", "profile_name", "provider_name", "profile_relink_url"]


@dataclass
class SnapshotDiff:
    """The changes from one snapshot to the next, each a DataFrame."""

    newly_disconnected: pd.DataFrame
    reconnected: pd.DataFrame
    added_profiles: pd.DataFrame
    removed_profiles: pd.DataFrame
    tokens_died: pd.DataFrame
    tokens_recovered: pd.DataFrame
    scope_changed: pd.DataFrame
    not_checked: pd.DataFrame
    checked_again: pd.DataFrame
    conferencing_disconnected: pd.DataFrame
    conferencing_reconnected: pd.DataFrame
    moved_to_graph: pd.DataFrame  # Office 365 profiles on EWS before, on Microsoft Graph now

    @property
    def empty(self) -> bool:
        """Whether nothing changed."""
        return all(getattr(self, f.name).empty for f in fields(self))

    def __str__(self) -> str:
        lines = [
            f"{f.name.replace('_', ' '):20s} {len(getattr(self, f.name))}" for f in fields(self)
        ]
        return "\n".join(lines)


def diff(old: Snapshot, new: Snapshot) -> SnapshotDiff:
    """Profiles newly disconnected, reconnected, added, removed; tokens that died or came
    back; accounts whose scope changed; conferencing profiles disconnected or reconnected.
    Profiles are matched by token label and profile id."""
    before, after = _profiles(old.profiles), _profiles(new.profiles)
    unknown = _not_checked(new)  # tokens the new snapshot could not ask
    unseen = _not_checked(old)  # tokens the old one could not ask: their profiles not new
    down, up = _flips(before, after, PROFILE_COLUMNS)
    conferencing = _flips(
        _profiles(old.conferencing, CONFERENCING_COLUMNS),
        _profiles(new.conferencing, CONFERENCING_COLUMNS),
        CONFERENCING_COLUMNS,
    )
    return SnapshotDiff(
        newly_disconnected=down,
        reconnected=up,
        added_profiles=_pick(_only_in(after[~after["token_label"].isin(unseen)], before)),
        removed_profiles=_pick(_only_in(before[~before["token_label"].isin(unknown)], after)),
        **_token_changes(old, new),
        scope_changed=_scope_changes(old, new),
        conferencing_disconnected=conferencing[0],
        conferencing_reconnected=conferencing[1],
        moved_to_graph=_moved_to_graph(old.profiles, new.profiles),
    )


def _moved_to_graph(old: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Profiles whose ``provider_protocol`` went from Exchange Web Services to Graph."""
    columns = [*KEY, "provider_protocol"]
    both = old[columns].merge(new[columns], on=KEY, how="inner", suffixes=("_old", ""))
    was = both["provider_protocol_old"].eq("exchange_web_services").fillna(False)
    now = both["provider_protocol"].eq("graph_api").fillna(False)
    moved = both[(was & now).astype(bool)][KEY]
    return moved.merge(new[PROFILE_COLUMNS], on=KEY, how="left").reset_index(drop=True)


def _flips(
    before: pd.DataFrame, after: pd.DataFrame, columns: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(newly disconnected, reconnected): profiles in both whose flag went each way."""
    both = before.merge(after, on=KEY, how="inner", suffixes=("_old", ""))
    was, now = _known(both["profile_connected_old"]), _known(both["profile_connected"])
    return (
        _pick(both[was.eq(True) & now.eq(False)], columns),
        _pick(both[was.eq(False) & now.eq(True)], columns),
    )


def _not_checked(snap: Snapshot) -> set[str]:
    tokens = connection_health(snap).tokens
    return set(tokens.loc[tokens["outcome"].isin(NOT_CHECKED), "token_label"])


def _known(flags: pd.Series) -> pd.Series:
    """True, False, or the string "unknown" for a missing flag (which never matches)."""
    return flags.astype(object).where(flags.notna(), "unknown")


def _profiles(frame: pd.DataFrame, columns: list[str] = PROFILE_COLUMNS) -> pd.DataFrame:
    return frame[[*columns, "profile_connected"]]


def _pick(frame: pd.DataFrame, columns: list[str] = PROFILE_COLUMNS) -> pd.DataFrame:
    return frame[columns].reset_index(drop=True)


def _only_in(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    marked = left.merge(right[KEY], on=KEY, how="left", indicator=True)
    return marked[marked["_merge"] == "left_only"]


def _token_changes(old: Snapshot, new: Snapshot) -> dict[str, pd.DataFrame]:
    columns = ["token_label", "data_center", "status", "outcome"]
    before = connection_health(old).tokens[columns]
    after = connection_health(new).tokens[columns]
    both = before.merge(after, on="token_label", suffixes=("_old", ""))
    was, now = both["outcome_old"], both["outcome"]
    keep = ["token_label", "data_center", "status_old", "status"]

    def where(rows: pd.Series) -> pd.DataFrame:
        return both[rows][keep].reset_index(drop=True)

    return {
        "tokens_died": where((was == "ok") & (now == "dead")),
        "tokens_recovered": where((was == "dead") & (now == "ok")),
        "not_checked": where((was == "ok") & now.isin(NOT_CHECKED)),
        "checked_again": where(was.isin(NOT_CHECKED) & (now == "ok")),
    }


def _scope_changes(old: Snapshot, new: Snapshot) -> pd.DataFrame:
    columns = ["token_label", "account_id", "scope"]
    both = old.accounts[columns].merge(
        new.accounts[columns], on=["token_label", "account_id"], suffixes=("_old", "")
    )
    changed = both[both["scope_old"].fillna("") != both["scope"].fillna("")].copy()
    old_sets = changed["scope_old"].fillna("").str.split().map(set)
    new_sets = changed["scope"].fillna("").str.split().map(set)
    changed["added"] = [" ".join(sorted(n - o)) for o, n in zip(old_sets, new_sets, strict=True)]
    changed["removed"] = [" ".join(sorted(o - n)) for o, n in zip(old_sets, new_sets, strict=True)]
    return changed.astype({"added": schema.STRING, "removed": schema.STRING}).reset_index(drop=True)
