"""Throughput at the API's own limit: pycronofy in a loop, pycronofy in threads, cronofy_frames.

Each client runs against a fresh sandbox process (same seed, so the same tokens) that
enforces Cronofy's documented limits (50 requests/s and 500/min per data center) with
50 ms of latency. Printed side by side: wall time, tokens completed and lost, 429s
received, requests per token, and wall time over the floor: the least time the rate
limits allow for the minimal number of requests (one per token), plus one latency.
A second table: client CPU per token with no latency and no limit, beside a minimal
urllib3 keep-alive loop and a plain requests.Session loop over the same tokens.

A third table: what exact scopes cost. Simplified scopes (``read_write`` ...) make
userinfo's scope unverifiable; ``exact_scopes=True`` adds one /v1/account request for
those tokens only, ``endpoints="documented"`` two requests for every token. Printed:
requests per token and the floor the default limits put on 10,000 tokens that way.

    python -m benchmarks.throughput [--tokens 600] [--latency 0.05] [--cpu-only] [--scopes-only]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pycronofy
import requests
import urllib3

import cronofy_frames as cf
from benchmarks._common import SandboxProcess, start_sandbox, table
from cronofy_frames._ratelimit import floor_seconds

Row = dict[str, str]


@dataclass
class Outcome:
    """One client's run."""

    name: str
    wall: float
    cpu: float
    completed: int
    lost: int
    stats: Counter[str]

    @property
    def requests(self) -> int:
        return sum(n for path, n in self.stats.items() if path != "429")


def pycronofy_token(row: Row) -> list[dict[str, Any]]:
    """What a pycronofy user writes: list_profiles() and account() for one token."""
    client = pycronofy.Client(access_token=row["access_token"])
    client.request_handler.base_url = row["data_center"]
    account = client.account()
    return [
        {**p, "account_id": account["account_id"], "label": row["label"]}
        for p in client.list_profiles()
    ]


def pycronofy_loop(rows: list[Row]) -> tuple[int, int]:
    frames, lost = [], 0
    for row in rows:
        try:
            frames += pycronofy_token(row)
        except pycronofy.exceptions.PyCronofyRequestError:
            lost += 1
    pd.DataFrame(frames)
    return len(rows) - lost, lost


def pycronofy_threads(rows: list[Row], threads: int = 16) -> tuple[int, int]:
    def one(row: Row) -> list[dict[str, Any]] | None:
        try:
            return pycronofy_token(row)
        except pycronofy.exceptions.PyCronofyRequestError:
            return None

    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(one, rows))
    pd.DataFrame([p for r in results if r for p in r])
    return sum(r is not None for r in results), sum(r is None for r in results)


def frames_client(sandbox: SandboxProcess, limited: bool) -> Callable[[list[Row]], tuple[int, int]]:
    def run(rows: list[Row]) -> tuple[int, int]:
        tokens = [
            cf.Token(r["access_token"], r["data_center"], r["label"], r["refresh_token"])
            for r in rows
        ]
        snap = cf.load(
            tokens,
            credentials=sandbox.credentials,
            progress=False,
            errors="ignore",
            rate_limits=cf.RateLimit() if limited else None,
        )
        return len(snap.accounts), len(rows) - len(snap.accounts)

    return run


def measure(
    name: str,
    accounts: int,
    sandbox_args: list[str],
    client: Callable[[SandboxProcess], Callable[[list[Row]], tuple[int, int]]],
) -> Outcome:
    sandbox = start_sandbox(accounts, *sandbox_args)
    try:
        before = sandbox.stats()
        wall, cpu = time.perf_counter(), time.process_time()
        completed, lost = client(sandbox)(sandbox.tokens)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        stats = sandbox.stats()
        stats.subtract(before)
        return Outcome(name, wall, cpu, completed, lost, stats)
    finally:
        sandbox.close()


def floor(rows: list[Row], latency: float) -> float:
    per_dc = Counter(r["data_center"] for r in rows)
    return max(floor_seconds(n, cf.RateLimit()) for n in per_dc.values()) + latency


Client = Callable[[SandboxProcess], Callable[[list[Row]], tuple[int, int]]]
CLIENTS: list[tuple[str, Client]] = [
    ("pycronofy loop", lambda s: pycronofy_loop),
    ("pycronofy 16 threads", lambda s: pycronofy_threads),
    ("cronofy_frames", lambda s: frames_client(s, limited=True)),
]


def throughput(tokens: int, latency: float, only_frames: bool) -> None:
    chosen = CLIENTS[2:] if only_frames else CLIENTS
    args = ["--fault", f"latency={latency}"]
    runs = [measure(name, tokens, args, client) for name, client in chosen]
    sandbox = start_sandbox(tokens, "--no-rate-limit")
    best = floor(sandbox.tokens, latency)
    sandbox.close()
    print(
        f"{tokens} tokens over 6 data centers, limits 50/s and 500/min each, "
        f"{latency * 1000:.0f} ms latency; floor {best:.2f} s"
    )
    loop = None if only_frames else runs[0].wall
    print(
        table(
            [
                "client",
                "wall s",
                "completed",
                "lost",
                "429s",
                "requests/token",
                "wall/floor",
                "vs loop",
            ],
            [
                [
                    o.name,
                    f"{o.wall:.2f}",
                    o.completed,
                    o.lost,
                    o.stats["429"],
                    f"{o.requests / tokens:.2f}",
                    f"{o.wall / best:.2f}x",
                    "-" if loop is None else f"{loop / o.wall:.1f}x",
                ]
                for o in runs
            ],
        )
    )


def urllib3_loop(rows: list[Row]) -> tuple[int, int]:
    """The least a client can do: one keep-alive pool, GET /v1/userinfo, json.loads."""
    pool = urllib3.PoolManager(maxsize=1)
    done = 0
    for row in rows:
        answer = pool.request(
            "GET",
            row["data_center"] + "/v1/userinfo",
            headers={"Authorization": f"Bearer {row['access_token']}"},
        )
        done += answer.status == 200 and "sub" in json.loads(answer.data)
    return done, len(rows) - done


def requests_loop(rows: list[Row]) -> tuple[int, int]:
    """What a requests user writes: one Session, GET /v1/userinfo, .json()."""
    session = requests.Session()
    done = 0
    for row in rows:
        answer = session.get(
            row["data_center"] + "/v1/userinfo",
            headers={"Authorization": f"Bearer {row['access_token']}"},
            timeout=30,
        )
        done += answer.status_code == 200 and "sub" in answer.json()
    return done, len(rows) - done


REPEATS = 3


def cpu_per_token(tokens: int) -> None:
    """Client CPU per token with no latency and no limit, beside the minimal loops."""
    clients: list[tuple[str, Client]] = [
        ("urllib3 keep-alive loop", lambda s: urllib3_loop),
        ("requests.Session loop", lambda s: requests_loop),
        ("pycronofy loop (2 requests)", lambda s: pycronofy_loop),
        ("cronofy_frames", lambda s: frames_client(s, limited=False)),
    ]
    runs = [
        min(
            (measure(name, tokens, ["--no-rate-limit"], client) for _ in range(REPEATS)),
            key=lambda o: o.cpu,
        )
        for name, client in clients
    ]
    print(
        f"\nclient CPU per token, {tokens} tokens, no latency, no rate limit "
        f"(best of {REPEATS} runs each: the sandbox shares the 2 cores)"
    )
    base = runs[0].cpu / tokens
    print(
        table(
            ["client", "requests", "CPU ms/token", "vs urllib3 loop"],
            [
                [
                    o.name,
                    o.requests,
                    f"{o.cpu / tokens * 1000:.3f}",
                    f"{(o.cpu / tokens) / base:.2f}x",
                ]
                for o in runs
            ],
        )
    )


def scope_cost(tokens: int) -> None:
    """Requests per token, and the floor on 10,000 tokens under the default limits, of
    the three ways to get an account's scope."""
    ways: list[tuple[str, dict[str, Any]]] = [
        ("auto (userinfo)", {}),
        ("auto + exact_scopes", {"exact_scopes": True}),
        ("documented", {"endpoints": "documented"}),
    ]
    rows = []
    for name, options in ways:
        sandbox = start_sandbox(tokens, "--no-rate-limit")
        try:
            before = sandbox.stats()
            cf.load(
                [cf.Token(r["access_token"], r["data_center"], r["label"]) for r in sandbox.tokens],
                progress=False,
                errors="ignore",
                rate_limits=None,
                **options,
            )
            stats = sandbox.stats()
            stats.subtract(before)
        finally:
            sandbox.close()
        per_token = sum(n for path, n in stats.items() if path != "429") / tokens
        busiest = 0.5 * 10_000 * per_token  # us holds half the tokens
        rows.append(
            [name, f"{per_token:.2f}", f"{floor_seconds(round(busiest), cf.RateLimit()) / 60:.1f}"]
        )
    print(f"\nexact scopes, {tokens} tokens: requests per token, and minutes the default limits")
    print("(500/min per data center) take at least for 10,000 tokens that way")
    print(table(["scopes from", "requests/token", "min for 10,000 tokens"], rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=600)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--cpu-tokens", type=int, default=3000, help="tokens for the CPU table")
    parser.add_argument("--cpu-only", action="store_true", help="only the CPU table")
    parser.add_argument("--scopes-only", action="store_true", help="only the exact-scopes table")
    parser.add_argument(
        "--only-frames",
        action="store_true",
        help="run cronofy_frames alone (for runs the pycronofy loop would take ages on)",
    )
    args = parser.parse_args()
    if args.cpu_only:
        cpu_per_token(args.cpu_tokens)
        return
    if args.scopes_only:
        scope_cost(args.cpu_tokens)
        return
    throughput(args.tokens, args.latency, args.only_frames)
    if not args.only_frames:
        cpu_per_token(args.cpu_tokens)
    scope_cost(args.cpu_tokens)


if __name__ == "__main__":
    main()
