"""A year of weekly audits: trend and chronic through the engine against ``pd.concat``.

52 snapshots of 100,000 tokens (about 130,000 profiles each) are generated once, as
Parquet, and cached under the temporary folder. Each way runs in its own process, so its
peak memory is its own: ``cf.read_history`` (DuckDB over the files where they lie; and
SQLite over pandas, the fallback, on the first 8 snapshots only) against reading every
file with ``pd.read_parquet`` and ``pd.concat``, then grouping. Printed side by side:
seconds and peak memory, as ratios to the concat way.

    python -m benchmarks.history [--snapshots 52] [--tokens 100000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import cronofy_frames as cf
from benchmarks._common import table
from cronofy_frames import schema

START = pd.Timestamp("2025-11-24T06:00:00Z")
SERVICES = np.array(["gsuite", "office365", "google", "exchange", "icloud", "outlook_com"])
MODES = np.array(["read_write", "free_busy", "no_access"])
CENTERS = np.array(["us", "uk", "de", "au", "ca", "sg"])


def cache(snapshots: int, tokens: int) -> Path:
    """The history folder, generated on first use."""
    root = Path(tempfile.gettempdir()) / f"cronofy-history-bench-v2-{snapshots}-{tokens}"
    if (root / "done").exists():
        return root
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    owner = rng.integers(0, tokens, size=int(tokens * 1.3))
    owner.sort()
    down = rng.random(owner.size) < 0.05  # the chronically disconnected, from the start
    for n in range(snapshots):
        when = START + pd.Timedelta(weeks=n)
        churn = rng.random(owner.size) < 0.03
        connected = ~(down | churn)
        write_snapshot(root, when, owner, connected, tokens, rng)
    (root / "done").write_text("ok")
    return root


def write_snapshot(
    root: Path,
    when: pd.Timestamp,
    owner: np.ndarray,
    connected: np.ndarray,
    tokens: int,
    rng: np.random.Generator,
) -> None:
    folder = cf.snapshot_folder(root, when)
    labels = np.char.add("acct-", np.char.zfill(owner.astype(str), 6))
    n = owner.size
    profiles = pd.DataFrame(
        {
            "token_label": labels,
            "data_center": CENTERS[owner % 6],
            "account_id": np.char.add("acc_", owner.astype(str)),
            "profile_id": np.char.add("pro_", np.arange(n).astype(str)),
            "profile_name": np.char.add(labels, "@example.com"),
            "provider_name": "google",
            "provider_service": SERVICES[np.arange(n) % 6],
            "profile_connected": connected,
            "profile_initial_sync_required": False,
            "profile_relink_url": pd.Series(
                np.char.add("https://app.cronofy.com/relink/", np.arange(n).astype(str))
            ).where(~connected),
            "fetched_at": when,
            "access_mode": MODES[np.arange(n) % 3],
        }
    )
    failed = rng.choice(tokens, size=tokens // 100, replace=False)
    errors = pd.DataFrame(
        {
            "token_label": np.char.add("acct-", np.char.zfill(failed.astype(str), 6)),
            "data_center": CENTERS[failed % 6],
            "endpoint": "/v1/userinfo",
            "kind": "unauthorized",
            "status_code": 401,
            "message": "GET /v1/userinfo: 401",
            "attempts": 1,
            "fetched_at": when,
        }
    )
    frames = {
        "profiles": schema.apply_dtypes(schema.PROFILES, profiles),
        "errors": schema.apply_dtypes(schema.ERRORS, errors),
    }
    snap = cf.Snapshot.from_frames(
        frames, roster=[(f"acct-{i:06d}", str(CENTERS[i % 6])) for i in range(tokens)]
    )
    snap.taken_at = when
    snap.to_parquet(folder)


def engine_way(root: Path, engine: str, limit: int | None) -> None:
    entries = cf.read_history(root, engine="duckdb").entries[:limit]
    history = cf.History(root, entries, engine)
    history.trend("provider_service")
    history.chronic(weeks=4)


def concat_way(root: Path, limit: int | None) -> None:
    folders = sorted(p for p in root.iterdir() if p.is_dir())[:limit]
    frames = []
    for folder in folders:
        when = json.loads((folder / "snapshot.json").read_text())["taken_at"]
        frames.append(pd.read_parquet(folder / "profiles.parquet").assign(snapshot_at=when))
    every = pd.concat(frames, ignore_index=True)
    every["disconnected"] = ~every["profile_connected"].fillna(False).astype(bool)
    every.groupby(["snapshot_at", "provider_service"])[["disconnected"]].sum()
    last = sorted(every["snapshot_at"].unique())[-5:]
    recent = every[every["snapshot_at"].isin(last) & every["disconnected"]]
    counts = recent.groupby(["token_label", "profile_id"])["snapshot_at"].nunique()
    counts[counts == len(last)]


def one(way: str, root: Path, limit: int | None) -> None:
    """Run one way in this process; print seconds and peak memory (MiB) as JSON."""
    began = time.perf_counter()
    if way == "concat":
        concat_way(root, limit)
    else:
        engine_way(root, way, limit)
    seconds = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak": peak}))


def measure(way: str, root: Path, limit: int | None) -> dict[str, float]:
    args = [sys.executable, "-m", "benchmarks.history", "--one", way, "--root", str(root)]
    if limit is not None:
        args += ["--limit", str(limit)]
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshots", type=int, default=52)
    parser.add_argument("--tokens", type=int, default=100_000)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args.one, Path(args.root), args.limit)
        return
    began = time.perf_counter()
    root = cache(args.snapshots, args.tokens)
    print(
        f"history of {args.snapshots} snapshots x {args.tokens:,} tokens at {root} "
        f"(ready in {time.perf_counter() - began:.0f} s)"
    )
    rows = []
    for label, way, limit in (
        ("pd.concat of every file", "concat", None),
        ("cf.read_history (DuckDB)", "duckdb", None),
        ("pd.concat, first 8 snapshots", "concat", 8),
        ("cf.read_history (pandas + SQLite), first 8", "pandas", 8),
    ):
        rows.append((label, limit, measure(way, root, limit)))
    base = {None: rows[0][2], 8: rows[2][2]}
    print("trend by provider_service + chronic(weeks=4); each way in its own process")
    print(
        table(
            ["way", "seconds", "peak MiB", "time vs concat", "memory vs concat"],
            [
                [
                    label,
                    f"{r['seconds']:.1f}",
                    f"{r['peak']:.0f}",
                    f"{r['seconds'] / base[limit]['seconds']:.2f}x",
                    f"{r['peak'] / base[limit]['peak']:.2f}x",
                ]
                for label, limit, r in rows
            ],
        )
    )


if __name__ == "__main__":
    main()
