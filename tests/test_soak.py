"""Soak: thousands of tokens over the six data centers with every fault on at once,
hostile answers (redirects, deep nesting, huge bodies, gzip bombs, drip feeds, echoes,
refresh 429s and malformed refresh answers) included.

The promise under test: every token is accounted for exactly once, every token that
only needed a refresh ends loaded with its new pair handed back, every dead token is
an error of the right kind, retries are bounded and the run ends.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

import cronofy_frames as cf
from cronofy_frames import sandbox
from cronofy_frames.sandbox import Faults
from tests.helpers import cli, tokens_of

pytestmark = pytest.mark.slow  # make quick skips it

TOKENS = 2400
RETRIES = 4
LIVENESS_SECONDS = 600  # a hang guard, not a speed check: the load ends in about a minute
FAULTS = Faults(
    http_429=0.02,
    burst_429=0.001,
    burst_seconds=0.3,
    retry_after=0.5,
    http_500=0.015,
    http_502=0.015,
    http_503=0.015,
    http_504=0.015,
    slow=0.004,
    slow_seconds=3.0,
    drop=0.015,
    malformed=0.008,
    truncated=0.008,
    expired=0.1,
    revoked=0.03,
    down=("sg",),
    latency=0.002,
    # what a broken or hostile proxy in front of the API sends
    redirect=0.003,
    nested=0.003,
    huge=0.002,
    huge_bytes=11_000_000,
    gzip_bomb=0.002,
    drip=0.002,
    drip_seconds=0.05,
    echo=0.003,
    refresh_429=0.05,
    refresh_malformed=0.03,
    # sloppy edges seen in Cronofy's SDK fixtures
    http_422=0.003,
    sloppy_content_type=0.05,
)


@dataclass
class Soak:
    """One soaked load and what the sandbox knows about it."""

    sb: sandbox.Sandbox
    tokens: list[cf.Token]
    snap: cf.Snapshot
    handed_back: list[cf.Token] = field(default_factory=list)


@pytest.fixture(scope="module")
def soak() -> Iterator[Soak]:
    with sandbox.serve(
        accounts=TOKENS, seed=2026, rate_limit=None, faults=FAULTS, token_ttl=20.0
    ) as sb:
        tokens = tokens_of(sb)
        handed_back: list[cf.Token] = []
        lock = threading.Lock()

        def on_refresh(token: cf.Token) -> None:
            with lock:
                handed_back.append(token)

        result: list[cf.Snapshot] = []
        run = threading.Thread(
            target=lambda: result.append(
                cf.load(
                    tokens,
                    credentials=sb.credentials_by_url,
                    timeout=1.0,
                    retries=RETRIES,
                    max_workers=24,
                    on_refresh=on_refresh,
                    progress=False,
                    errors="ignore",
                    rate_limits=cf.RateLimit(per_second=2000, per_minute=200_000),  # not binding
                )
            )
        )
        run.start()
        run.join(timeout=LIVENESS_SECONDS)
        assert not run.is_alive(), "the soaked load did not end"
        yield Soak(sb, tokens, result[0], handed_back)


def index(label: str) -> int:
    return int(label[4:])


def test_every_token_is_accounted_for_exactly_once(soak: Soak) -> None:
    loaded, failed = set(soak.snap.accounts["token_label"]), set(soak.snap.errors["token_label"])
    assert soak.snap.complete
    assert soak.snap.accounts["token_label"].is_unique
    assert soak.snap.errors["token_label"].is_unique  # one error row per failed token
    assert not loaded & failed
    assert loaded | failed == {t.label for t in soak.tokens}


def test_dead_tokens_are_errors_of_the_right_kind(soak: Soak) -> None:
    errors = soak.snap.errors.set_index("token_label")
    world = soak.sb.world
    for token in soak.tokens:
        i, dc = index(token.label), world.account(index(token.label)).data_center
        if dc == "sg":  # the whole data center is down
            assert errors.loc[token.label, "kind"] == "server_error"
            assert errors.loc[token.label, "attempts"] == RETRIES + 1
        elif world.is_revoked(i):
            assert errors.loc[token.label, "kind"] == "refresh_failed"
            assert errors.loc[token.label, "status_code"] == 400
    kinds = set(errors["kind"])
    assert kinds <= {
        "server_error",
        "refresh_failed",
        "bad_response",
        "timeout",
        "connection",
        "rate_limited",
        "unprocessable",
    }
    assert "unprocessable" in kinds  # the 422s happened, each a row of its own kind


def test_refreshable_tokens_end_loaded_with_their_new_pair_handed_back(soak: Soak) -> None:
    world, errors = soak.sb.world, soak.snap.errors.set_index("token_label")
    after = {t.label: t for t in soak.snap.tokens}
    handed = {t.label: t for t in soak.handed_back}
    assert len(handed) == len(soak.handed_back)  # one refresh per token
    fresh_at_start = [label for label in handed if not world.expired_at_start(index(label))]
    assert len(fresh_at_start) > TOKENS // 20  # tokens expired mid-run, and were refreshed
    kept = set(errors.index[errors["message"].str.contains("new refresh token was kept")])
    assert kept  # malformed refresh answers happened, and their rotated tokens were kept
    for label, token in handed.items():
        i = index(label)
        assert after[label] == token  # snap.tokens holds what on_refresh was handed
        if label in kept:  # the old access token with the rotated refresh token
            assert token.refresh_token == world.tokens(i)[1]
        else:
            assert (token.access_token, token.refresh_token) == world.tokens(i)  # current
    refreshable = [
        t.label
        for t in soak.tokens
        if world.account(index(t.label)).data_center != "sg"
        and not world.is_revoked(index(t.label))
    ]
    transient = {"bad_response", "timeout", "connection", "server_error", "rate_limited"}
    transient.add("unprocessable")  # the sandbox's 422s fall on any token
    for label in refreshable:
        assert label not in errors.index or errors.loc[label, "kind"] in transient or label in kept
    loaded = set(soak.snap.accounts["token_label"])
    served = [label for label in refreshable if label not in kept]
    assert sum(label in loaded for label in served) >= 0.95 * len(served)


def test_retries_are_bounded(soak: Soak) -> None:
    assert soak.snap.errors["attempts"].max() <= RETRIES + 1
    served = sum(n for (_, path), n in soak.sb.world.requests.items() if path == "/v1/userinfo")
    assert served <= TOKENS * (RETRIES + 1) * 2  # at most two rounds: before and after a refresh


def test_the_figures_of_the_soak(soak: Soak) -> None:
    """Not a check: prints the figures the README's Guarantees section quotes."""
    stats = soak.sb.world.stats()
    counts = pd.Series(
        {
            k: sum(v.get(k, 0) for v in stats.values())
            for k in ("/v1/userinfo", "/oauth/token", "429")
        }
    )
    print(
        f"\nsoak: {TOKENS} tokens, loaded {len(soak.snap.accounts)}, "
        f"failed {soak.snap.errors['token_label'].nunique()} "
        f"{soak.snap.errors['kind'].value_counts()[lambda s: s > 0].to_dict()}, "
        f"refreshed {len(soak.handed_back)}, requests {counts.to_dict()}"
    )
    # every loaded token made at least one authenticated userinfo request (a revoked
    # token never authenticates, so the total need not reach TOKENS)
    assert counts["/v1/userinfo"] >= len(soak.snap.accounts)


def test_two_loads_at_once_do_not_mix() -> None:
    faults = Faults(http_503=0.05, expired=0.2, drop=0.02)
    with sandbox.serve(accounts=400, seed=77, rate_limit=None, faults=faults) as sb:
        tokens = tokens_of(sb)
        halves = [tokens[::2], tokens[1::2]]
        results: list[cf.Snapshot | None] = [None, None]

        def run(n: int) -> None:
            results[n] = cf.load(
                halves[n],
                credentials=sb.credentials_by_url,
                progress=False,
                errors="ignore",
                retries=RETRIES,
            )

        threads = [threading.Thread(target=run, args=(n,)) for n in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)  # a liveness bound, not a speed check
        assert not any(t.is_alive() for t in threads)
    for half, snap in zip(halves, results, strict=True):
        assert snap is not None
        own = {t.label for t in half}
        seen = set(snap.accounts["token_label"]) | set(snap.errors["token_label"])
        assert seen == own
        assert {t.label for t in snap.tokens} == own


def us_tokens(sb: sandbox.Sandbox) -> list[cf.Token]:
    """The sandbox's tokens on ``us``, where one application's limits bind."""
    return [t for t in tokens_of(sb) if sb.world.account(index(t.label)).data_center == "us"]


def server_429s(sb: sandbox.Sandbox) -> int:
    return sum(n for (_, path), n in sb.world.requests.items() if path == "429")


def test_two_loads_back_to_back_share_the_applications_limit() -> None:
    """600 requests on one data center within a minute, under Cronofy's default 50/s and
    500/min on both sides: the second load waits for the minute window to drain."""
    with sandbox.serve(accounts=1300, seed=78) as sb:
        us = us_tokens(sb)[:600]
        first = cf.load(us[:300], progress=False, errors="ignore")
        second = cf.load(us[300:], progress=False, errors="ignore")
        refused = server_429s(sb)
    assert first.errors.empty
    assert second.errors.empty
    assert refused == 0  # the shared limiter kept both loads under the limit together


def test_two_loads_at_once_share_the_applications_limit() -> None:
    with sandbox.serve(accounts=1300, seed=79) as sb:
        us = us_tokens(sb)[:600]
        results: list[cf.Snapshot] = []
        runs = [
            threading.Thread(
                target=lambda part=part: results.append(
                    cf.load(part, progress=False, errors="ignore")
                )
            )
            for part in (us[:300], us[300:])
        ]
        for run in runs:
            run.start()
        for run in runs:
            run.join(timeout=LIVENESS_SECONDS)
        refused = server_429s(sb)
    assert len(results) == 2
    assert all(snap.errors.empty for snap in results)
    assert refused == 0


def test_a_second_process_right_after_the_first_is_patient_with_429s(tmp_path: Path) -> None:
    """A fresh process cannot know the window is full: the 429s it meets hold the data
    center until the minute window has drained, and no token is given up."""
    with sandbox.serve(accounts=1300, seed=80) as sb:
        us = us_tokens(sb)[:600]
        for name, part in (("first.csv", us[:300]), ("second.csv", us[300:])):
            cf.tokens_to_csv(part, tmp_path / name)
        runs = [
            cli("load", str(tmp_path / name), "--out", str(tmp_path / name[:-4]), "--no-progress")
            for name in ("first.csv", "second.csv")
        ]
        refused = server_429s(sb)
    assert [run.returncode for run in runs] == [0, 0], runs[1].stdout + runs[1].stderr
    assert refused > 0  # the second process did meet the full window
    assert "rate_limited" not in runs[1].stdout
