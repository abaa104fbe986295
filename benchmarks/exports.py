"""Exports of a 5,000-token snapshot: to_excel against a plain openpyxl write-only dump of
the same frames (its peer) and against to_csv, side by side.

    python -m benchmarks.exports [--tokens 5000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from openpyxl import Workbook

import cronofy_frames as cf
from cronofy_frames import sandbox


def snapshot(tokens: int) -> cf.Snapshot:
    """A loaded sandbox snapshot of ``tokens`` tokens (no rate limit)."""
    with sandbox.serve(accounts=tokens, seed=3, rate_limit=None) as sb:
        pairs = [cf.Token(a.access_token, a.base_url, a.label) for a in sb.accounts]
        return cf.load(pairs, progress=False, rate_limits=None, max_workers=16)


def plain_dump(snap: cf.Snapshot, path: Path) -> None:
    """The peer: every frame appended row by row in write-only mode, nothing else."""
    book = Workbook(write_only=True)
    for name, df in snap.frames().items():
        sheet = book.create_sheet(name)
        sheet.append(list(df.columns))
        zoned = [c for c in df.columns if isinstance(df[c].dtype, pd.DatetimeTZDtype)]
        plain = df.assign(**{c: df[c].dt.tz_localize(None) for c in zoned}).astype(object)
        for row in plain.where(plain.notna(), None).itertuples(index=False, name=None):
            sheet.append(list(row))
    book.save(path)


def best_of(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=5000)
    args = parser.parse_args()
    snap = snapshot(args.tokens)
    rows = sum(len(df) for df in snap.frames().values())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        excel = best_of(3, lambda: snap.to_excel(folder / "a.xlsx"))
        plain = best_of(3, lambda: plain_dump(snap, folder / "b.xlsx"))
        csv = best_of(3, lambda: snap.to_csv(folder / "csv"))
    print(f"exports of {args.tokens:,} tokens ({rows:,} rows in four frames), best of 3")
    print(f"{'writer':<34}{'seconds':>9}{'vs plain dump':>15}")
    for name, seconds in (
        ("to_excel (text cells, escapes)", excel),
        ("plain write-only dump (peer)", plain),
        ("to_csv", csv),
    ):
        print(f"{name:<34}{seconds:>9.2f}{seconds / plain:>14.2f}x")


if __name__ == "__main__":
    main()
