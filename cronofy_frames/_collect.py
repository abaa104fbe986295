"""From finished results to frames, and the hand-over of a Ctrl-C: the hardest part of a load.

``Collector`` turns results into typed frames a chunk at a time (``CHUNK_TOKENS`` tokens,
or every ``CHUNK_SECONDS``), so memory stays bounded; ``consume`` drives it from the
fan-out. A Ctrl-C (or a notebook's stop button) can land in two places, and both end
in the same state: no finished result is lost, nothing new starts.

    main thread                                  FanOut (a generator in the same thread)
    consume ── next(results) ──────────────────> waits on the results queue
      │   KeyboardInterrupt lands in the fan ──> sets stop, drains results for GRACE s,
      │                                          then ends (interrupted = True)
      │   KeyboardInterrupt lands in consume
      │   (while a chunk is built or handed on)
      └─> after_interrupt: throws it into the fan, which does the same; the results
          it still yields are collected as usual
    a second Ctrl-C: consume stops collecting at once (the fan has already stopped)

The chunk being built when a Ctrl-C lands is kept before its ``on_chunk`` callback
runs, so the callback may be interrupted without losing it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from . import _config, schema
from ._exceptions import LoadFailed, RequestFailed
from ._fanout import FanOut, Result, over_limit

__all__ = ["CHUNK_SECONDS", "CHUNK_TOKENS", "Collector", "consume"]

CHUNK_TOKENS = 1000  # finished tokens turned into DataFrames at a time
CHUNK_SECONDS = 10.0  # and at least this often, while tokens finish
Frames = dict[str, pd.DataFrame]


class Collector:
    """Turns finished results into typed frames, a chunk at a time."""

    def __init__(
        self,
        on_chunk: Callable[[dict[str, pd.DataFrame]], object] | None,
        keep: bool,
        max_rows: int = _config.MAX_ROWS,
    ) -> None:
        self.on_chunk = on_chunk
        self.keep = keep
        self.max_rows = max_rows  # rows the load holds in memory (when it keeps them)
        self.held = 0
        self.rows: dict[str, list[Mapping[str, Any]]] = {name: [] for name in schema.FRAMES}
        self.chunks: dict[str, list[pd.DataFrame]] = {name: [] for name in schema.FRAMES}
        self.pending = 0
        self.flushed_at = time.monotonic()

    def add(self, result: Result) -> None:
        """Take one token's rows; build a chunk when enough have come or time has passed.
        A token whose rows would take the load past ``max_rows`` is one error row."""
        rows = sum(len(getattr(result.rows, name)) for name in schema.FRAMES)
        if self.keep and self.held + rows > self.max_rows:
            why = f"its {rows:,} rows would take the load past {self.max_rows:,} (max_rows)"
            result, rows = over_limit(result, why), 1
        self.held += rows if self.keep else 0
        for name in schema.FRAMES:
            self.rows[name] += getattr(result.rows, name)
        self.pending += 1
        stale = time.monotonic() - self.flushed_at >= CHUNK_SECONDS
        if self.pending >= CHUNK_TOKENS or stale:
            self.flush()

    def flush(self) -> None:
        """Turn the rows so far into a chunk of typed frames, keep it, hand it on."""
        chunk = {
            name: schema.to_frame(schema.SCHEMAS[name], rows) for name, rows in self.rows.items()
        }
        self.rows = {name: [] for name in schema.FRAMES}
        self.pending, self.flushed_at = 0, time.monotonic()
        for name, frame in chunk.items():
            if len(frame) and self.keep:
                self.chunks[name].append(frame)
        if self.on_chunk is not None:  # after keeping the chunk: the callback may be interrupted
            self.on_chunk(chunk)

    def frames(self, labels: list[str]) -> Frames:
        """Every kept chunk, frame by frame, with rows in the order of ``labels`` (the
        order the tokens were given in)."""
        self.flush()
        kept = any(self.chunks.values())
        order = {label: n for n, label in enumerate(labels)} if kept else {}
        return {name: _in_order(self.chunks[name], name, order) for name in schema.FRAMES}


def _in_order(chunks: list[pd.DataFrame], name: str, order: dict[str, int]) -> pd.DataFrame:
    if not chunks:
        return schema.empty(schema.SCHEMAS[name])
    frame = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
    keys = frame["token_label"].map(order).to_numpy()
    return frame.iloc[np.argsort(keys, kind="stable")].reset_index(drop=True)


def consume(fan: FanOut, collector: Collector, raise_first: bool) -> None:
    """Collect every result; a Ctrl-C that lands here, not in the fan, is handed to it."""
    results: Generator[Result, None, None] = iter(fan)
    while True:
        try:
            for result in results:
                if result.failed and raise_first:
                    raise _load_failed(result)
                collector.add(result)
            return
        except KeyboardInterrupt:
            if fan.interrupted:
                return  # a second Ctrl-C: stop harvesting
            results = after_interrupt(results)


def after_interrupt(results: Generator[Result, None, None]) -> Generator[Result, None, None]:
    """Throw the Ctrl-C into the fan-out, then go on with whatever it still yields."""
    try:
        first = results.throw(KeyboardInterrupt())
    except StopIteration:
        return
    yield first
    yield from results


def _load_failed(result: Result) -> LoadFailed:
    first = result.rows.errors[0]
    failure = RequestFailed(
        first["kind"],
        first["message"],
        endpoint=first["endpoint"],
        status_code=first["status_code"],
        attempts=first["attempts"],
    )
    return LoadFailed(first["token_label"], first["data_center"], failure)
