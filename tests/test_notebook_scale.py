"""The notebook layer at our users' scale: 50,000 tokens in the picker, 100,000 rows in a
table, loads in the background with Stop, and a second Load refused."""

from __future__ import annotations

import threading

import ipywidgets.widgets.widget as widget_registry
import pandas as pd
import pytest

import cronofy_frames as cf
from cronofy_frames import sandbox
from cronofy_frames.tables import FrameTable, safe_link
from cronofy_frames.widgets import LoadPanel, TokenPicker
from tests.helpers import tokens_of, uploaded

pytestmark = pytest.mark.slow  # make quick skips it


def many(n: int, prefix: str = "t") -> list[cf.Token]:
    centers = ["us", "uk", "de", "au", "ca", "sg"]
    return [
        cf.Token(f"access_token_{prefix}_{i:06d}", centers[i % 6], f"{prefix}-{i:06d}", "rt_x")
        for i in range(n)
    ]


def live_widgets() -> int:
    return len(widget_registry._instances)


def test_the_widget_count_is_the_same_for_100_and_50000_tokens() -> None:
    small, big = TokenPicker(), TokenPicker()
    before = live_widgets()
    small.add_tokens(many(100))
    after_small = live_widgets()
    big.add_tokens(many(50_000))
    after_big = live_widgets()
    assert after_small == before
    assert after_big == before
    assert len(big.tokens) == 50_000
    assert "50,000 of 50,000 tokens match" in big.page_label.value
    assert len(big.listing.options) == 100  # one page


def test_removing_tokens_one_at_a_time_creates_and_leaks_no_widget() -> None:
    picker = TokenPicker()
    picker.add_tokens(many(5_000))
    before = live_widgets()
    for label in ("t-000000", "t-002500", "t-004999"):
        picker.remove(label)
    assert live_widgets() == before
    assert len(picker.tokens) == 4_997


def test_search_and_paging_find_a_token_far_past_the_first_page() -> None:
    picker = TokenPicker()
    picker.add_tokens(many(50_000))
    picker.next.click()
    assert picker.listing.options[0][1] == "t-000100"
    picker.search.value = "t-049321"
    assert [label for _, label in picker.listing.options] == ["t-049321"]
    picker.search.value = "· sg ·"
    assert len(picker.matching()) == 50_000 // 6
    picker.remove_matching.click()
    assert all(t.data_center != "sg" for t in picker.tokens)
    assert len(picker.tokens) == 50_000 - 50_000 // 6


def test_summary_counts_tokens_refresh_tokens_and_refreshable_by_data_center() -> None:
    picker = TokenPicker()
    picker.credentials = {"uk": ("id", "secret")}
    picker.add_tokens([*many(12), cf.Token("no_refresh_token_value", "uk", "bare")])
    html = picker.summary.value
    assert "<td>uk</td><td>3</td><td>2</td><td>2</td>" in html  # "bare" has no refresh token
    assert "<td>us</td><td>2</td><td>2</td><td>0</td>" in html  # no client credentials


def test_replace_and_clear_and_a_clash_names_the_file_and_row() -> None:
    picker = TokenPicker()
    picker.add_tokens(many(10))
    text = "label,data_center,access_token\nnew,us,fresh_token_value_1\nt-000003,uk,other_value_2\n"
    picker.upload.value = uploaded(text, "mine.csv")
    assert "mine.csv, token 2 (label &#x27;t-000003&#x27;)" in picker.message.value
    assert len(picker.tokens) == 10
    picker.replace.value = True
    assert picker.add_tokens(many(3, "r"))
    assert [t.label for t in picker.tokens] == ["r-000000", "r-000001", "r-000002"]
    picker.clear_button.click()
    assert picker.tokens == []


def test_a_table_of_100000_rows_searches_filters_sorts_and_pages_every_row() -> None:
    n = 100_000
    frame = pd.DataFrame(
        {
            "token_label": pd.array([f"sbx-{i:06d}" for i in range(n)], dtype="string"),
            "data_center": pd.array(["us", "uk", "de", "au"] * (n // 4), dtype="string"),
            "profile_connected": pd.array([i % 10 != 0 for i in range(n)], dtype="boolean"),
        }
    )
    before = live_widgets()
    table = FrameTable(frame)
    created = live_widgets() - before
    table.search.value = "sbx-093217"
    assert "sbx-093217" in table.body.value
    assert "of 1 shown" in table.counts.value
    table.search.value = ""
    table.filters["profile_connected"].value = "False"
    table.filters["data_center"].value = "us"
    assert "of 5,000 shown (of 100,000)" in table.counts.value  # i a multiple of 20
    table.sort.value, table.descending.value = "token_label", True
    assert table.visible()["token_label"].iloc[0] == "sbx-099980"
    table.next.click()
    assert "page 2 of 100" in table.counts.value
    table.show(frame.head(10))
    assert live_widgets() - before == created  # old filter widgets were closed


def test_links_are_clickable_only_on_cronofy_app_hosts() -> None:
    assert safe_link("https://app-uk.cronofy.com/relink/x").startswith("<a href=")
    for bad in (
        "javascript:alert(1)",
        "http://app.cronofy.com/relink",
        "https://app.cronofy.com.evil.test/x",
        "https://user@app.cronofy.com/x",
        '<img src=x onerror="alert(1)">',
    ):
        assert "<a " not in safe_link(bad)
        assert "<img" not in safe_link(bad)


def test_time_floor_says_what_the_rate_limits_allow() -> None:
    tokens = [cf.Token(f"access_value_{i:05d}", "us", f"u{i}") for i in range(2505)]
    floor = cf.time_floor(tokens)
    assert floor.loc[0, ["data_center", "tokens", "requests", "per_minute"]].tolist() == [
        "us",
        2505,
        2505,
        500,
    ]
    assert cf.loader.describe_floor(floor) == [
        "us: 2,505 tokens at 500/min (Cronofy's documented limit), at least 5 min 0 s"
    ]
    unlimited = cf.time_floor(tokens, rate_limits=None)  # None never unlimits Cronofy
    assert unlimited.loc[0, "per_minute"] == 500


SLOW = sandbox.Faults(latency=0.05, expired=0.5)


def test_stop_keeps_finished_work_and_refreshed_tokens_and_a_second_load_is_refused() -> None:
    with sandbox.serve(accounts=300, seed=41, rate_limit=None, faults=SLOW) as s:
        picker = TokenPicker()
        picker.add_tokens(tokens_of(s))
        refreshed: list[cf.Token] = []
        enough = threading.Event()

        def seen(token: cf.Token) -> None:
            refreshed.append(token)
            if len(refreshed) >= 5:
                enough.set()

        panel = LoadPanel(picker, credentials=s.credentials_by_url, max_workers=2, on_refresh=seen)
        assert panel.start()
        assert not panel.start()  # a second Load while one runs
        assert "already running" in panel.message.value
        assert enough.wait(60)
        panel.stop_button.click()
        snap = panel.wait(60)
    assert snap is not None
    assert not panel.running
    assert snap.unfinished  # stopped before the end
    assert 0 < len(snap.accounts) < 300
    now = {t.label: t for t in picker.tokens}
    for token in refreshed:  # every rotated pair is in the picker for the next load
        assert now[token.label] == token
    assert "stopped" in panel.summary.value


def test_panel_credentials_from_an_upload_show_masked_and_never_stay() -> None:
    picker = TokenPicker()
    panel = LoadPanel(picker)
    secret = "client_secret_SENTINEL_4321"
    text = f"data_center,client_id,client_secret\nuk,my-client,{secret}\n"
    panel.creds_upload.value = uploaded(text, "creds.csv")
    assert panel.creds_upload.value == ()
    assert "uk: my-client / secret …4321" in panel.creds_view.value
    assert secret not in panel.creds_view.value
    state = str(widget_registry.Widget.get_manager_state(drop_defaults=False))
    assert secret not in state


@pytest.mark.parametrize("count", [1, 3])
def test_panel_loads_in_the_background_and_wait_returns_the_snapshot(count: int) -> None:
    with sandbox.serve(accounts=count, seed=41, rate_limit=None) as s:
        picker = TokenPicker()
        picker.add_tokens(tokens_of(s))
        panel = LoadPanel(picker, credentials=s.credentials_by_url)
        assert panel.start()
        snap = panel.wait(60)
    assert snap is not None
    assert len(snap.accounts) == count
    assert panel.bar.value == count
