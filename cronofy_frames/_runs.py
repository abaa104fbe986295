"""Long loads into a folder: written in chunks as they finish, resumable after a crash.

    run_to_folder(tokens, "out/", options, resume=True, refreshed="tokens.refreshed.csv")

Finished chunks go to ``out/.parts``; a rerun with ``resume`` skips their tokens. The
refreshed-tokens file gets each new pair the moment it arrives, and its latest pairs
replace the input's on the next run, so a rotated refresh token is never used twice.
Memory stays bounded: chunks are not kept once written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ._fanout import Want
from .credentials import Token
from .export import PartsFolder, ensure_folder
from .loader import LoadOptions, Snapshot, run
from .token_store import RefreshedTokenWriter

__all__ = ["RunOutcome", "run_to_folder"]


@dataclass
class RunOutcome:
    """What a folder run did: the merged snapshot, files written, tokens refreshed."""

    snapshot: Snapshot
    written: list[Path]
    refreshed: int
    skipped: int


def run_to_folder(
    tokens: list[Token],
    out: str | Path,
    options: LoadOptions,
    *,
    resume: bool,
    refreshed: Path,
    fmt: str = "csv",
) -> RunOutcome:
    """Load every token (not finished by an earlier run if ``resume``) into ``out``."""
    ensure_folder(out)  # an unusable output folder fails before any request
    parts = PartsFolder(out)
    done = parts.done_labels()
    if done and not resume:
        raise ValueError(f"{out} holds an unfinished run: pass --resume, or remove {parts.folder}")
    todo = [t for t in tokens if t.label not in done]
    writer = RefreshedTokenWriter(refreshed)
    opts = LoadOptions(**{**options.__dict__, "on_refresh": writer})
    try:
        snap = run(
            todo,
            opts,
            Want(profiles=True, accounts=True, endpoints=opts.endpoints),
            on_chunk=parts.write,
            keep=False,
        )
    finally:
        writer.close()
    after = {t.label: t for t in snap.tokens}  # this run's tokens, refreshed pairs included
    frames = parts.merged()
    merged = Snapshot(
        frames["profiles"],
        frames["accounts"],
        frames["errors"],
        [after.get(t.label, t) for t in tokens],
        frames["calendars"],
        snap.unfinished,
    )
    written: list[Path] = []
    if snap.complete:
        written = merged.to_parquet(out) if fmt == "parquet" else merged.to_csv(out)
        parts.remove()
    return RunOutcome(merged, written, writer.count, len(tokens) - len(todo))
