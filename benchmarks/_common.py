"""Shared by the benchmarks: a sandbox in its own process, its tokens, its counters."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import tempfile
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class SandboxProcess:
    """A running ``cronofy-frames sandbox`` and what it wrote."""

    proc: subprocess.Popen[str]
    urls: dict[str, str]
    tokens: list[dict[str, str]]
    credentials: dict[str, tuple[str, str]]

    def stats(self) -> Counter[str]:
        """Requests by path (and "429"), summed over the data centers (one world serves all)."""
        url = self.urls["us"]
        with urllib.request.urlopen(f"{url}/_sandbox/stats", timeout=10) as r:  # noqa: S310
            data: dict[str, dict[str, int]] = json.load(r)
        total: Counter[str] = Counter()
        for counts in data.values():
            total.update(counts)
        return total

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)


def start_sandbox(accounts: int, *extra: str) -> SandboxProcess:
    """Start the sandbox as a separate process (the client gets the GIL to itself)."""
    folder = Path(tempfile.mkdtemp(prefix="cf-bench-"))
    tokens, creds = folder / "tokens.csv", folder / "creds.csv"
    cmd = [
        sys.executable,
        "-m",
        "cronofy_frames",
        "sandbox",
        "--accounts",
        str(accounts),
        "--seed",
        "42",
        "--tokens-out",
        str(tokens),
        "--credentials-out",
        str(creds),
        *extra,
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    urls: dict[str, str] = {}
    for line in proc.stdout:
        if line.strip() == "ready":
            break
        dc, url = line.split()
        urls[dc] = url
    # the CSV names each data center by id with the sandbox's URL as base_url; the
    # benchmarks' loops need the URL, so it stands in the data_center column here
    rows = [{**r, "data_center": r.pop("base_url")} for r in csv.DictReader(tokens.open())]
    pairs = {
        r["data_center"]: (r["client_id"], r["client_secret"]) for r in csv.DictReader(creds.open())
    }
    return SandboxProcess(proc, urls, rows, pairs)


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A plain text table, right-aligned."""
    cells = [[str(c) for c in row] for row in [headers, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells)
