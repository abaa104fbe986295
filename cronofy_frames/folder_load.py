"""Long loads into a folder: written in chunks as they finish, resumable after a crash,
merged as a stream.

    outcome = load_to_folder(tokens, "out/", options, resume=True,
                             refreshed=Path("tokens.csv.refreshed.csv"))

Finished chunks go to ``out/.parts``; a rerun with ``resume`` skips their tokens. The
refreshed-tokens file gets each new pair the moment it arrives (and the caller's
``on_refresh`` after it); pairs it refuses (a full disk) go to a fallback file, beside
it or in ``out``, named in ``RunOutcome.unsaved``, and the tokens that then could not
be refreshed stay unfinished for ``resume``. When every token is finished the parts
are merged into the final files one chunk at a time, so memory is bounded by a chunk
and the token list, however many tokens there are.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import schema
from .credentials import Token
from .export import NA, ensure_folder, read_csv_frame, stream_frames, write_csv
from .loader import LoadOptions, chain_refresh, keep_unsaved, take_snapshot
from .snapshot import PARTS, Snapshot, Tally, unfinished_folders, write_meta
from .token_store import RefreshedTokenWriter

__all__ = ["PartsFolder", "RunOutcome", "Tally", "load_to_folder"]


@dataclass
class RunOutcome:
    """What a folder run did: the tokens as they are now, the errors, the counts, the
    files written, how many tokens were refreshed and skipped (finished before), and
    where refreshed pairs went that the refreshed-pairs file refused (``unsaved``:
    the fallback file, or None when none could be written)."""

    tokens: list[Token]
    errors: pd.DataFrame
    unfinished: list[str]
    tally: Tally
    written: list[Path] = field(default_factory=list)
    refreshed: int = 0
    skipped: int = 0
    pairs_refused: bool = False  # the refreshed-pairs file refused a pair (a full disk)
    unsaved: Path | None = None

    @property
    def complete(self) -> bool:
        """Whether every token was finished (and the files written)."""
        return not self.unfinished


class PartsFolder:
    """Chunks of a long load, written as they finish, so a rerun can resume.

    Chunk ``n`` is ``{n}-{frame}.csv`` for each frame, then ``{n}-done.csv`` (the labels
    it finished), each written atomically; a chunk without its done file never counts.
    """

    def __init__(self, out: str | Path) -> None:
        self.folder = Path(out) / PARTS

    unfinished_under = staticmethod(unfinished_folders)  # the name the CLI knew

    def _committed(self) -> list[str]:
        if not self.folder.exists():
            return []
        return sorted(p.name.split("-")[0] for p in self.folder.glob("*-done.csv"))

    def done_labels(self) -> set[str]:
        """Labels of the tokens finished by earlier runs."""
        return {
            label
            for n in self._committed()
            for label in pd.read_csv(
                self.folder / f"{n}-done.csv", dtype=schema.STRING, keep_default_na=False
            )["token_label"]
        }

    def write(self, frames: dict[str, pd.DataFrame]) -> None:
        """Commit one chunk of frames."""
        self.folder.mkdir(parents=True, exist_ok=True)
        n = f"{len(self._committed()):06d}"
        for name in schema.FRAMES:
            write_csv(frames[name], self.folder / f"{n}-{name}.csv", na_rep=NA)
        labels = pd.concat([frames["accounts"]["token_label"], frames["errors"]["token_label"]])
        done = pd.DataFrame({"token_label": labels.drop_duplicates()})
        write_csv(done, self.folder / f"{n}-done.csv")

    def chunks(
        self, name: str, seen: Callable[[str, pd.DataFrame], None]
    ) -> Iterator[pd.DataFrame]:
        """Every committed chunk of one frame, one at a time, each shown to ``seen`` first."""
        for n in self._committed():
            frame = read_csv_frame(self.folder / f"{n}-{name}.csv", name)
            seen(name, frame)
            yield frame

    def remove(self) -> None:
        """Delete the parts once the final files are written."""
        shutil.rmtree(self.folder, ignore_errors=True)


def load_to_folder(
    tokens: list[Token],
    out: str | Path,
    options: LoadOptions,
    *,
    resume: bool,
    refreshed: Path | RefreshedTokenWriter | None,
    fmt: str = "csv",
    taken_at: pd.Timestamp | None = None,
) -> RunOutcome:
    """Load every token (not finished by an earlier run if ``resume``) into ``out``;
    ``refreshed`` is the refreshed-pairs file (a path, or a writer already opened: a
    file that cannot be written is refused before any request); ``taken_at`` (default:
    when this run began) goes into ``snapshot.json``."""
    writer = RefreshedTokenWriter(refreshed) if isinstance(refreshed, Path) else refreshed
    ensure_folder(out)  # an unusable output folder fails before any request
    parts = PartsFolder(out)
    done = parts.done_labels()
    if done and not resume:
        raise ValueError(f"{out} holds an unfinished run: pass --resume, or remove {parts.folder}")
    todo = [t for t in tokens if t.label not in done]
    # the bound method, not the writer: its unsaved pairs are this function's to keep
    # (beside the output), not take_snapshot()'s
    append = writer.__call__ if writer is not None else None
    opts = dataclasses.replace(options, on_refresh=chain_refresh(append, options.on_refresh))
    try:
        snap = take_snapshot(todo, opts, opts.want(), on_chunk=parts.write, keep=False)
    finally:
        refused = writer is not None and writer.error is not None
        unsaved = keep_unsaved(writer, near=Path(out))
    after = {t.label: t for t in snap.tokens}  # this run's tokens, refreshed pairs included
    outcome = RunOutcome(
        [after.get(t.label, t) for t in tokens],
        schema.empty(schema.ERRORS),
        snap.unfinished,
        Tally(),
        refreshed=writer.count if writer is not None else 0,
        skipped=len(tokens) - len(todo),
        pairs_refused=refused,
        unsaved=unsaved[0] if unsaved else None,
    )
    _merge(parts, outcome, out, fmt, taken_at if taken_at is not None else snap.taken_at)
    return outcome


def _merge(
    parts: PartsFolder,
    outcome: RunOutcome,
    out: str | Path,
    fmt: str,
    taken_at: pd.Timestamp | None = None,
) -> None:
    """Count every chunk and keep the errors; once complete, stream them into the files."""
    errors: list[pd.DataFrame] = []

    def seen(name: str, frame: pd.DataFrame) -> None:
        outcome.tally.add(name, frame)
        if name == "errors" and len(frame):
            errors.append(frame)

    chunks = {name: parts.chunks(name, seen) for name in schema.FRAMES}
    if outcome.complete:
        snap = Snapshot.from_frames({}, outcome.tokens)
        snap.taken_at = taken_at
        written = stream_frames(chunks, out, fmt)  # every chunk counted on the way
        meta = snap.meta(outcome.tally.counts(len(outcome.tokens), unfinished=0))
        outcome.written = [*written, *write_meta(meta, snap.roster(), Path(out), fmt)]
        parts.remove()
    else:
        for frames in chunks.values():
            for _ in frames:
                pass
    if errors:
        outcome.errors = pd.concat(errors, ignore_index=True)
