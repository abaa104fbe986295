"""The notebook layer at scale, kernel side: the token picker and the table widget.

Printed side by side, as ratios: adding 50,000 tokens to ``TokenPicker`` (and removing
ten of them one at a time) against reading the same rows with ``cf.tokens_from_frame``,
the widgets live before and after; and building ``FrameTable`` over 100,000 profile
rows (plus a search and a filter over all of them) against building the frame itself
with ``pd.DataFrame``.

    python -m benchmarks.notebook_scale [--tokens 50000] [--rows 100000]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import ipywidgets.widgets.widget as registry
import pandas as pd

import cronofy_frames as cf
from benchmarks._common import table
from cronofy_frames.tables import FrameTable
from cronofy_frames.widgets import TokenPicker

CENTERS = ["us", "uk", "de", "au", "ca", "sg"]


def timed(work: Callable[[], object]) -> float:
    began = time.perf_counter()
    work()
    return time.perf_counter() - began


def token_rows(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "label": [f"acct-{i:06d}" for i in range(n)],
            "data_center": [CENTERS[i % 6] for i in range(n)],
            "access_token": [f"access_token_value_{i:08d}" for i in range(n)],
            "refresh_token": [f"refresh_token_value_{i:08d}" for i in range(n)],
        }
    )


def picker(n: int) -> list[list[str]]:
    rows = token_rows(n)
    read = timed(lambda: cf.tokens_from_frame(rows))
    tokens = cf.tokens_from_frame(rows)
    picker = TokenPicker()
    before = len(registry._instances)
    add = timed(lambda: picker.add_tokens(tokens))

    def remove_ten() -> None:
        for i in range(0, n, n // 10):
            picker.remove(f"acct-{i:06d}")

    remove = timed(remove_ten) / 10
    after = len(registry._instances)
    return [
        [f"tokens_from_frame, {n:,} rows", f"{read:.3f}", "1.00x", "-"],
        [
            f"TokenPicker.add_tokens, {n:,}",
            f"{add:.3f}",
            f"{add / read:.2f}x",
            f"{before} -> {after}",
        ],
        ["TokenPicker.remove, one token", f"{remove:.3f}", f"{remove / read:.2f}x", f"{after}"],
    ]


def frame_table(n: int) -> list[list[str]]:
    data = {
        "token_label": [f"sbx-{i:06d}" for i in range(n)],
        "data_center": [CENTERS[i % 6] for i in range(n)],
        "provider_service": ["gsuite", "office365", "icloud", "zoho_calendar"] * (n // 4),
        "profile_connected": [i % 10 != 0 for i in range(n)],
        "profile_relink_url": [f"https://app.cronofy.com/relink/pro_{i}" for i in range(n)],
    }
    build = timed(lambda: pd.DataFrame(data).astype("string"))
    frame = pd.DataFrame(data).astype({"token_label": "string", "profile_connected": "boolean"})
    widget: list[FrameTable] = []
    make = timed(lambda: widget.append(FrameTable(frame)))
    search = timed(lambda: setattr(widget[0].search, "value", f"sbx-{n - 7:06d}"))
    filtered = timed(lambda: setattr(widget[0].filters["data_center"], "value", "uk"))
    return [
        [f"pd.DataFrame, {n:,} rows", f"{build:.3f}", "1.00x", "-"],
        [f"FrameTable({n:,} rows)", f"{make:.3f}", f"{make / build:.2f}x", "-"],
        ["a search over every row", f"{search:.3f}", f"{search / build:.2f}x", "-"],
        ["a filter over every row", f"{filtered:.3f}", f"{filtered / build:.2f}x", "-"],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=50_000)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    headers = ["step", "seconds", "vs first row", "live widgets"]
    print(f"token picker, {args.tokens:,} tokens")
    print(table(headers, picker(args.tokens)))
    print(f"\ntable widget, {args.rows:,} profile rows (one page of 50 goes to the browser)")
    print(table(headers, frame_table(args.rows)))


if __name__ == "__main__":
    main()
