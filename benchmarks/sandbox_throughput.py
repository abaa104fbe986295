"""How many requests per second the sandbox serves here, with no latency and no rate limit.

The sandbox runs as its own process (``cronofy-frames sandbox``), the clients in this
one over keep-alive connections, so the two do not share a GIL. The sandbox must not
be what limits the client benchmarks: the target is well over 1,000 requests/s.

    python -m benchmarks.sandbox_throughput [--seconds 3]
"""

from __future__ import annotations

import argparse
import http.client
import threading
import time

from benchmarks._common import start_sandbox

TARGET = 1000.0


def client_loop(row: dict[str, str], until: float, counts: list[int]) -> None:
    host, port = row["data_center"].removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    headers = {"Authorization": f"Bearer {row['access_token']}"}
    n = 0
    while time.perf_counter() < until:
        conn.request("GET", "/v1/userinfo", headers=headers)
        response = conn.getresponse()
        response.read()
        n += response.status == 200
    counts.append(n)
    conn.close()


def measure(rows: list[dict[str, str]], threads: int, seconds: float) -> float:
    counts: list[int] = []
    until = time.perf_counter() + seconds
    workers = [
        threading.Thread(target=client_loop, args=(rows[i % len(rows)], until, counts))
        for i in range(threads)
    ]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(counts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    sandbox = start_sandbox(64, "--no-rate-limit")
    try:
        print(f"{'client threads':>14}  {'requests/s':>10}  {'vs 1,000/s target':>17}")
        for threads in (1, 4, 16):
            rps = measure(sandbox.tokens, threads, args.seconds)
            print(f"{threads:>14}  {rps:>10.0f}  {rps / TARGET:>16.1f}x")
    finally:
        sandbox.close()


if __name__ == "__main__":
    main()
