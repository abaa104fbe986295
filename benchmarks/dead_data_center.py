"""A dead data center beside a healthy one: 1,000 tokens on a server that accepts
connections and never answers, 1,000 on a healthy sandbox (another process).

Prints, side by side: the healthy tokens' time alone and beside the dead ones (ratio:
they finish as if alone), and how long the dead ones took to be accounted for, in
timeouts (a bound that does not grow with their number), with the connections the dead
server saw. Run: ``python -m benchmarks.dead_data_center [--tokens 1000] [--timeout 2]``.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

import cronofy_frames as cf
from benchmarks._common import start_sandbox
from cronofy_frames.sandbox import Silent


def timed(tokens: list[cf.Token], timeout: float) -> tuple[cf.Snapshot, float, float]:
    """The snapshot, the seconds it took, and when its last healthy token was loaded."""
    began, wall = time.perf_counter(), pd.Timestamp.now(tz="UTC")
    snap = cf.load(tokens, progress=False, errors="ignore", timeout=timeout, rate_limits=None)
    healthy = (snap.accounts["fetched_at"].max() - wall).total_seconds()
    return snap, time.perf_counter() - began, healthy


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--tokens", type=int, default=1000)
    p.add_argument("--timeout", type=float, default=2.0)
    args = p.parse_args()
    sb = start_sandbox(args.tokens, "--no-rate-limit")
    try:
        healthy = [cf.Token(t["access_token"], t["data_center"], t["label"]) for t in sb.tokens]
        _, alone, _ = timed(healthy, args.timeout)
        silent = Silent()
        dead = [cf.Token(f"at_dead_{n:014d}", silent.url, f"dead-{n}") for n in range(args.tokens)]
        snap, both, beside = timed([*dead, *healthy], args.timeout)
    finally:
        sb.close()
    ok = len(snap.accounts)
    not_sent = int((snap.errors["attempts"] == 0).sum())
    print(f"healthy tokens alone:            {alone:7.2f} s  ({args.tokens:,} tokens)")
    print(
        f"healthy beside {args.tokens:,} dead ones: {beside:7.2f} s  (ratio {beside / alone:.2f}x)"
    )
    print(f"dead tokens accounted for:       {both:7.2f} s  ({both / args.timeout:.1f} timeouts)")
    print(f"loaded {ok:,}; dead: {len(snap.errors):,} errors, {not_sent:,} never sent; "
          f"the dead server saw {len(silent.accepted)} connections")  # fmt: skip


if __name__ == "__main__":
    main()
