"""The progress bar, and stopping a long load without losing the finished work."""

from __future__ import annotations

import _thread
import re
import threading
import warnings

import pandas as pd
import pytest

import cronofy_frames as cf
from cronofy_frames import _collect, loader, sandbox
from cronofy_frames._fanout import Want
from cronofy_frames.sandbox import Faults
from tests.helpers import tokens_of


def test_progress_bar_counts_tokens_ok_failed_and_waiting(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with sandbox.serve(accounts=30, seed=2, rate_limit=None, faults=Faults(revoked=0.3)) as s:
        snap = cf.load(tokens_of(s), credentials=s.credentials_by_url, errors="ignore")
    err = capsys.readouterr().err
    counts = [(int(a), int(b)) for a, b in re.findall(r"(\d+)/(\d+) \[", err)]
    assert counts
    assert counts[-1] == (30, 30)
    assert all(a <= b == 30 for a, b in counts)
    failed = snap.errors["token_label"].nunique()
    assert f"failed={failed}" in err
    assert f"ok={30 - failed}" in err
    assert "waiting=" in err


def test_progress_false_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with sandbox.serve(accounts=5, seed=2, rate_limit=None) as s:
        cf.load(tokens_of(s), progress=False)
    assert capsys.readouterr().err == ""


def test_interrupt_keeps_finished_work_and_lists_the_rest() -> None:
    faults = Faults(expired=1.0, latency=0.02)
    refreshed: list[cf.Token] = []

    def on_refresh(token: cf.Token) -> None:
        refreshed.append(token)
        if len(refreshed) == 10:
            _thread.interrupt_main()  # as Ctrl-C or a notebook's stop button would

    with (
        sandbox.serve(accounts=300, seed=2, rate_limit=None, faults=faults) as s,
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        toks = tokens_of(s)
        snap = cf.load(
            toks,
            credentials=s.credentials_by_url,
            on_refresh=on_refresh,
            max_workers=2,
            progress=False,
        )
    assert not snap.complete
    assert snap.unfinished
    done = set(snap.accounts["token_label"]) | set(snap.errors["token_label"])
    assert len(done) >= 10
    assert not done & set(snap.unfinished)
    assert done | set(snap.unfinished) == {t.label for t in toks}
    assert len(snap.accounts) == len(done)  # every finished token loaded
    messages = [str(w.message) for w in caught if issubclass(w.category, cf.LoadWarning)]
    assert any("interrupted" in m and "snapshot.unfinished" in m for m in messages)
    by_label = {t.label: t for t in snap.tokens}
    assert all(by_label[t.label].access_token == t.access_token for t in refreshed[:10])


def test_interrupt_while_frames_are_built_still_keeps_the_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_collect, "CHUNK_TOKENS", 5)
    chunks: list[int] = []

    def on_chunk(frames: dict[str, pd.DataFrame]) -> None:
        chunks.append(len(frames["accounts"]))
        if len(chunks) == 2:
            _thread.interrupt_main()  # lands in the caller's code, not in the fan-out

    with sandbox.serve(accounts=200, seed=2, rate_limit=None, faults=Faults(latency=0.02)) as s:
        toks = tokens_of(s)
        opts = loader.LoadOptions(progress=False, max_workers=1)
        snap = loader.take_snapshot(
            toks, opts, Want(profiles=True, accounts=True), on_chunk=on_chunk
        )
    assert snap.unfinished
    assert len(snap.accounts) >= 10
    assert set(snap.accounts["token_label"]) | set(snap.unfinished) == {t.label for t in toks}


def test_workers_wait_while_the_loading_thread_is_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    """Backpressure: results waiting for the loading thread never pass ``BACKLOG``, so
    memory does not grow with the token count while a chunk is being written."""
    from cronofy_frames import _fanout
    from cronofy_frames._fanout import FanOut, Progress, Result
    from cronofy_frames._oauth import TokenState

    monkeypatch.setattr(_fanout, "BACKLOG", 5)
    calls: list[str] = []
    blocked = threading.Event()

    class Room(threading.Semaphore):
        def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
            got = super().acquire(blocking, timeout)
            if not got:
                blocked.set()  # a worker found the backlog full and waited
            return got

    def runner(state: TokenState) -> Result:
        calls.append(state.token.label)
        return Result(state)

    states = [TokenState(cf.Token(f"access_{i:06d}_value", "us", f"t{i}")) for i in range(50)]
    progress = Progress([s.token.route for s in states], False, lambda: 0)
    fan = FanOut(runner, states, 1, threading.Event(), progress)
    fan._room = Room(5)
    results = iter(fan)
    next(results)
    assert blocked.wait(10)
    assert len(calls) <= 1 + 5 + 1  # taken, waiting, and the one the worker holds
    assert len(list(results)) == 49
