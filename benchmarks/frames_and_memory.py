"""Frames for 100,000 profiles, and peak memory for 100,000 tokens, beside their peers.

1. Building the profiles frame from 100,000 parsed rows: ``schema.to_frame`` (typed,
   nullable, one pass per column) against what a pandas user writes by hand
   (``pd.DataFrame(rows)`` then ``astype`` to the same dtypes). Time and peak traced
   memory, and their ratio.
2. Peak resident memory of a whole run over N tokens (default 100,000) against the
   sandbox with no rate limit: ``cronofy-frames load`` (chunks written to disk as they
   finish) and ``cf.load`` (every frame kept in memory), each in its own process.

    python benchmarks/frames_and_memory.py [--tokens 100000] [--skip-run]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks._common import SandboxProcess, start_sandbox, table
from cronofy_frames import schema

PROVIDERS = [
    ("google", "gsuite"),
    ("exchange", "office365"),
    ("apple", "icloud"),
    ("zoho", "zoho_calendar"),
]


def profile_rows(n: int) -> list[dict[str, Any]]:
    rng = random.Random(1)
    now = pd.Timestamp.now(tz="UTC")
    rows = []
    for i in range(n):
        provider, service = rng.choice(PROVIDERS)
        connected = rng.random() > 0.04
        rows.append(
            {
                "token_label": f"tok-{i // 2:06d}",
                "data_center": "uk",
                "account_id": f"acc_{i // 2:024d}",
                "profile_id": f"pro_{i:010d}",
                "profile_name": f"user{i}@example.com",
                "provider_name": provider,
                "provider_service": service,
                "profile_connected": connected,
                "profile_initial_sync_required": False,
                "profile_relink_url": None if connected else f"https://app.cronofy.com/relink/{i}",
                "fetched_at": now,
            }
        )
    return rows


def by_hand(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows).astype(schema.PROFILES)


def timed(
    build: Callable[[list[dict[str, Any]]], pd.DataFrame], rows: list[dict[str, Any]]
) -> tuple[float, int]:
    """Best of three untraced runs for the time; one traced run for the peak memory."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        build(rows)
        best = min(best, time.perf_counter() - started)
    tracemalloc.start()
    build(rows)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return best, peak


def frames_benchmark(n: int) -> None:
    rows = profile_rows(n)
    results = [
        (name, *timed(build, rows))
        for name, build in (
            ("pd.DataFrame(rows).astype", by_hand),
            ("schema.to_frame", lambda r: schema.to_frame(schema.PROFILES, r)),
        )
    ]
    base_time, base_peak = results[0][1], results[0][2]
    print(f"profiles frame from {n:,} rows")
    print(
        table(
            ["builder", "seconds", "peak MiB", "time vs by hand", "memory vs by hand"],
            [
                [
                    name,
                    f"{t:.3f}",
                    f"{m / 2**20:.0f}",
                    f"{t / base_time:.2f}x",
                    f"{m / base_peak:.2f}x",
                ]
                for name, t, m in results
            ],
        )
    )


def peak_rss_of(code: str) -> tuple[float, float]:
    """Run ``code`` in a fresh interpreter; its wall time and its own peak RSS in MiB."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code + PRINT_PEAK], check=False, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    return elapsed, float(done.stdout.strip().splitlines()[-1]) / 1024


PRINT_PEAK = """
import resource
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

LOAD_IN_MEMORY = """
import csv, cronofy_frames as cf
rows = list(csv.DictReader(open({tokens!r})))
tokens = [cf.Token(r["access_token"], r["data_center"], r["label"]) for r in rows]
snap = cf.load(tokens, rate_limits=None, progress=False, errors="ignore")
assert len(snap.accounts) == len(tokens), snap
"""

LOAD_TO_FOLDER = """
from cronofy_frames.cli import main
assert main(["load", {tokens!r}, "--out", {out!r}, "--no-progress", "--no-rate-limit"]) == 0
"""


def tokens_csv(sandbox: SandboxProcess, folder: Path) -> Path:
    """The sandbox's tokens as a tokens CSV in ``folder``."""
    tokens = folder / "tokens.csv"
    with tokens.open("w") as fh:
        fh.write("label,data_center,access_token\n")
        fh.writelines(
            f"{r['label']},{r['data_center']},{r['access_token']}\n" for r in sandbox.tokens
        )
    return tokens


def growth_benchmark(small: int, large: int) -> None:
    """Peak memory of ``cronofy-frames load`` at two token counts: bounded by the chunk
    size plus the token list, it should barely grow (target: at most 1.3x)."""
    peaks = []
    for n in (small, large):
        sandbox = start_sandbox(n, "--no-rate-limit")
        folder = Path(tempfile.mkdtemp(prefix="cf-grow-"))
        try:
            code = LOAD_TO_FOLDER.format(
                tokens=str(tokens_csv(sandbox, folder)), out=str(folder / "o")
            )
            peaks.append((n, *peak_rss_of(code)))
        finally:
            sandbox.close()
    print(f"\npeak resident memory of cronofy-frames load, {small:,} against {large:,} tokens")
    base = peaks[0][2]
    print(
        table(
            ["tokens", "seconds", "peak MiB", "vs smallest"],
            [[f"{n:,}", f"{t:.1f}", f"{m:.0f}", f"{m / base:.2f}x"] for n, t, m in peaks],
        )
    )


def memory_benchmark(n: int) -> None:
    sandbox = start_sandbox(n, "--no-rate-limit")
    folder = Path(tempfile.mkdtemp(prefix="cf-mem-"))
    tokens = tokens_csv(sandbox, folder)
    try:
        to_folder = peak_rss_of(LOAD_TO_FOLDER.format(tokens=str(tokens), out=str(folder / "o")))
        in_memory = peak_rss_of(LOAD_IN_MEMORY.format(tokens=str(tokens)))
    finally:
        sandbox.close()
    print(f"\npeak resident memory for {n:,} tokens (sandbox, no rate limit)")
    print(
        table(
            ["run", "seconds", "peak MiB", "vs 1 GiB target"],
            [
                [name, f"{t:.1f}", f"{m:.0f}", f"{m / 1024:.2f}x"]
                for name, (t, m) in (
                    ("cronofy-frames load (chunks to disk)", to_folder),
                    ("cf.load (all frames in memory)", in_memory),
                )
            ],
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=100_000)
    parser.add_argument("--skip-run", action="store_true", help="only the frame-building part")
    parser.add_argument(
        "--growth-only", action="store_true", help="only the 10,000 against 40,000 tokens run"
    )
    args = parser.parse_args()
    if args.growth_only:
        growth_benchmark(10_000, 40_000)
        return
    frames_benchmark(100_000)
    if not args.skip_run:
        growth_benchmark(10_000, 40_000)
        memory_benchmark(args.tokens)


if __name__ == "__main__":
    main()
