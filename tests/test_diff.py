"""cf.diff on two sandbox runs with changes injected between them, and on hand-built edges."""

from __future__ import annotations

import cronofy_frames as cf
from cronofy_frames import sandbox
from cronofy_frames.sandbox._state import World
from tests.helpers import tokens_of
from tests.snapshots import every_case

QUIET = {"progress": False, "errors": "ignore"}


def first_profile(world: World, want_connected: bool, skip: set[int]) -> tuple[int, int]:
    for i in range(world.size):
        if i in skip:
            continue
        for j, p in enumerate(world.account(i).profiles):
            if p.connected == want_connected:
                return i, j
    raise AssertionError("no such profile")


def test_diff_of_two_sandbox_runs_finds_every_injected_change() -> None:
    with sandbox.serve(accounts=120, seed=17, rate_limit=None) as s:
        w = s.world
        tokens = tokens_of(s)
        broken = [
            cf.Token("not-a-valid-token-000", t.data_center, t.label)
            if t.label == "sbx-000005"
            else t
            for t in tokens
        ]
        old = cf.load(broken, credentials=s.credentials_by_url, **QUIET)
        gone_i, gone_j = first_profile(w, True, {5})
        back_i, back_j = first_profile(w, False, {5, gone_i})
        w.set_profile_connected(gone_i, gone_j, False)
        w.set_profile_connected(back_i, back_j, True)
        w.revoke(7)
        w.set_scope(9, "read_free_busy")
        new = cf.load(tokens, credentials=s.credentials_by_url, **QUIET)
        gone_pid = w.account(gone_i).profiles[gone_j].profile_id
        back_pid = w.account(back_i).profiles[back_j].profile_id
        old_scope = old.accounts.set_index("token_label").loc["sbx-000009", "scope"]
    changes = cf.diff(old, new)
    assert changes.newly_disconnected["profile_id"].tolist() == [gone_pid]
    assert changes.newly_disconnected["profile_relink_url"].notna().all()
    assert changes.reconnected["profile_id"].tolist() == [back_pid]
    assert changes.tokens_died["token_label"].tolist() == ["sbx-000007"]
    assert changes.tokens_died["status"].tolist() == ["refresh_failed"]
    assert changes.tokens_recovered["token_label"].tolist() == ["sbx-000005"]
    assert changes.tokens_recovered["status_old"].tolist() == ["unauthorized"]
    scope = changes.scope_changed.set_index("token_label")
    assert list(scope.index) == ["sbx-000009"]
    assert scope.loc["sbx-000009", "added"] == (
        "read_free_busy" if "read_free_busy" not in old_scope.split() else ""
    )
    assert set(scope.loc["sbx-000009", "removed"].split()) == set(old_scope.split()) - {
        "read_free_busy"
    }
    died_profiles = set(old.profiles[old.profiles["token_label"] == "sbx-000007"]["profile_id"])
    recovered = set(new.profiles[new.profiles["token_label"] == "sbx-000005"]["profile_id"])
    assert set(changes.removed_profiles["profile_id"]) == died_profiles
    assert set(changes.added_profiles["profile_id"]) == recovered


def test_diff_of_a_snapshot_with_itself_is_empty() -> None:
    changes = cf.diff(every_case(), every_case())
    assert changes.empty
    assert str(changes).splitlines()[0].split() == ["newly", "disconnected", "0"]


def test_unknown_connection_state_is_never_a_change() -> None:
    old, new = every_case(), every_case()
    flags = new.profiles["profile_connected"].copy()
    flags[new.profiles["profile_id"] == "pro_c"] = None  # was False: now unknown
    new.profiles["profile_connected"] = flags
    changes = cf.diff(old, new)
    assert changes.reconnected.empty
    assert changes.newly_disconnected.empty


def test_diff_of_empty_snapshots() -> None:
    empty = cf.load([], progress=False)
    changes = cf.diff(empty, empty)
    assert changes.empty
    assert list(changes.added_profiles.columns)[:2] == ["token_label", "profile_id"]
    assert changes.scope_changed.empty
