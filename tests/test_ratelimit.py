"""The client-side rate limiter, on a simulated clock: windows, 429 slow-down, recovery."""

from __future__ import annotations

import threading

import pytest

import cronofy_frames as cf
from cronofy_frames._ratelimit import JITTER, POLL, Interrupted, RateLimiter, floor_seconds


class SimulatedTime(threading.Event):
    """A stop event whose ``wait`` advances a simulated clock instead of sleeping."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    def wait(self, timeout: float | None = None) -> bool:
        self.now += timeout or 0.0
        return self.is_set()


def send_times(limit: cf.RateLimit, count: int) -> tuple[SimulatedTime, list[float]]:
    sim = SimulatedTime()
    limiter = RateLimiter(limit, sim, sim.clock)
    times = []
    for _ in range(count):
        limiter.acquire()
        times.append(sim.now)
    return sim, times


def most_in_window(times: list[float], window: float) -> int:
    return max(sum(1 for t in times if start <= t < start + window) for start in times)


def test_no_window_ever_holds_more_than_its_limit() -> None:
    _, times = send_times(cf.RateLimit(per_second=50, per_minute=500), 1200)
    assert most_in_window(times, 1.0) == 50
    assert most_in_window(times, 60.0) == 500


def test_sends_go_out_as_fast_as_the_limits_allow() -> None:
    limit = cf.RateLimit(per_second=50, per_minute=500)
    _, times = send_times(limit, 1200)
    elapsed = times[-1] - times[0]
    assert floor_seconds(1200, limit) <= elapsed <= floor_seconds(1200, limit) * 1.05


def test_floor_seconds() -> None:
    limit = cf.RateLimit()
    assert [floor_seconds(n, limit) for n in (0, 1, 50, 51, 500, 501, 1001)] == [
        0.0,
        0.0,
        0.0,
        1.0,
        9.0,
        60.0,
        120.0,
    ]


def test_a_429_halves_the_pace_holds_and_recovers_gradually() -> None:
    sim = SimulatedTime()
    limiter = RateLimiter(cf.RateLimit(per_second=40, per_minute=10_000), sim, sim.clock)
    limiter.acquire()
    limiter.throttle(retry_after=2.0)
    start = sim.now
    limiter.acquire()
    assert sim.now - start == pytest.approx(2.0)  # held for Retry-After
    times = [sim.now]
    for _ in range(200):
        limiter.acquire()
        times.append(sim.now)
    first_second = sum(1 for t in times if t < times[0] + 1.0)
    assert first_second == 20  # half the pace right after the 429
    assert most_in_window(times, 1.0) == 40  # and the full pace again later
    assert times[-1] - times[0] > 200 / 40  # which took a while
    assert limiter.throttled == 1


def test_throttle_without_retry_after_holds_one_second() -> None:
    sim = SimulatedTime()
    limiter = RateLimiter(cf.RateLimit(), sim, sim.clock)
    limiter.throttle(None)
    limiter.acquire()
    assert sim.now == pytest.approx(1001.0)


def test_stop_interrupts_a_waiting_acquire() -> None:
    sim = SimulatedTime()
    limiter = RateLimiter(cf.RateLimit(per_second=1, per_minute=10), sim, sim.clock)
    limiter.acquire()
    sim.set()
    with pytest.raises(Interrupted):
        limiter.acquire()


@pytest.mark.parametrize("bad", [0, -5, 1.5, True, "50"])
def test_rate_limit_rejects_nonsense(bad: object) -> None:
    with pytest.raises(ValueError, match="per_second must be a positive integer"):
        cf.RateLimit(per_second=bad)


def test_rate_limits_option_names_its_bad_value() -> None:
    token = cf.Token("some_token_value", "http://127.0.0.1:9")
    with pytest.raises(ValueError, match="'eu'"):
        cf.load(token, rate_limits={"eu": cf.RateLimit()}, progress=False)
    with pytest.raises(ValueError, match="rate_limits values must be RateLimit"):
        cf.load(token, rate_limits={"uk": 50}, progress=False)  # type: ignore[dict-item]


def test_a_request_holds_its_window_from_its_answer_not_its_send() -> None:
    sim = SimulatedTime()
    limiter = RateLimiter(cf.RateLimit(per_second=1, per_minute=100), sim, sim.clock)
    limiter.acquire()
    sim.now += 0.5  # the answer takes half a second: the server counted it in between
    limiter.complete()
    limiter.acquire()
    assert sim.now == pytest.approx(1000.5 + 1.0 + JITTER)


def test_a_window_full_of_requests_in_flight_waits_for_their_answers() -> None:
    sim = SimulatedTime()
    limiter = RateLimiter(cf.RateLimit(per_second=1, per_minute=100), sim, sim.clock)
    other = threading.Thread(target=limiter.acquire)  # sent, and never answered here
    other.start()
    other.join()
    sim.set()  # the poll for an answer is then interrupted instead of looping
    with pytest.raises(Interrupted):
        limiter.acquire()
    assert sim.now == pytest.approx(1000.0 + POLL)


# -- a limit turned off is off only where it was turned off (#21) -----------------------


def test_none_turns_off_only_a_sandboxs_limit_never_cronofys() -> None:
    from cronofy_frames._ratelimit import DEFAULT_RATE_LIMIT as DEFAULT
    from cronofy_frames._transport import limit_for

    mine, other = "http://127.0.0.1:8123", "http://127.0.0.1:9000"
    assert limit_for(None, "us") == DEFAULT  # a real data center keeps the documented limit
    assert limit_for(None, mine) is None
    only_mine = {mine: None}
    assert limit_for(only_mine, mine) is None
    assert limit_for(only_mine, other) == DEFAULT  # a sandbox added later: limited
    assert limit_for(only_mine, "uk") == DEFAULT
    assert limit_for({"uk": None}, "uk") == DEFAULT
    raised = cf.RateLimit(100, 1000)
    assert limit_for({"uk": raised}, "uk") == raised  # raised with numbers: as given


def test_the_count_down_comes_from_the_limiters_budget() -> None:
    sim = SimulatedTime()
    limiter = RateLimiter(cf.RateLimit(10, 30), sim, sim.clock)
    assert limiter.seconds_for(30) == floor_seconds(30, cf.RateLimit(10, 30))
    for _ in range(30):  # the minute's budget spent
        limiter.acquire()
        limiter.complete()
    spent = limiter.seconds_for(1)
    assert 55 < spent <= 61 + JITTER  # the next send waits for the oldest to age out
    sim.now += 30
    assert limiter.seconds_for(1) == pytest.approx(spent - 30)


def test_tokens_added_later_to_a_panel_built_for_its_own_sandbox_keep_the_limit() -> None:
    """The notebook's panel turns the limit off for its own sandbox only; tokens of
    another server added later (here a sandbox enforcing Cronofy's 50/s and 500/min)
    are loaded under the documented limit: not one is rate_limited."""
    from cronofy_frames import sandbox
    from cronofy_frames.widgets import LoadPanel, TokenPicker
    from tests.helpers import tokens_of

    with (
        sandbox.serve(accounts=3, seed=1, rate_limit=None) as own,
        sandbox.serve(accounts=160, seed=2, rate_limit=cf.RateLimit(50, 500)) as strict,
    ):
        picker = TokenPicker()
        picker.add_tokens(tokens_of(own))
        mine = {url: None for url in own.credentials_by_url}
        panel = LoadPanel(picker, rate_limits=mine, retries=0, progress=False)
        later = [cf.Token(t.access_token, t.api_url, f"later-{t.label}") for t in tokens_of(strict)]
        picker.add_tokens(later)  # uploaded later
        snap = panel.load_and_wait()
        plan = panel.plan.value
    assert snap is not None
    assert "rate_limited" not in set(snap.errors["kind"])
    assert len(snap.accounts) == 163
    assert "no client-side limit: turned off for this sandbox" in plan
    assert "at 500/min (Cronofy&#x27;s documented limit)" in plan
