"""snapshot.py: the folder format (an integer ``format``, the roster in its own file,
older formats read as today's), the one counter, folder naming and unfinished runs, and
an analysis layer that does not import the HTTP stack."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pandas as pd
import pytest

import cronofy_frames as cf
from cronofy_frames import snapshot
from cronofy_frames.snapshot import FORMAT, Tally, read_meta
from tests.snapshots import every_case

PACKAGE = Path(cf.__file__).parent
HTTP = {"loader", "_transport", "_oauth", "_fanout", "_endpoints", "_http", "_deadline"}


def test_a_folder_records_an_integer_format_and_its_roster_in_a_file(tmp_path: Path) -> None:
    snap = every_case()
    snap.to_csv(tmp_path)
    meta = json.loads((tmp_path / "snapshot.json").read_text())
    roster = json.loads((tmp_path / "roster.json").read_text())
    assert (meta["format"], meta["files"]) == (FORMAT, "csv")
    assert isinstance(meta["format"], int)
    assert "roster" not in meta
    assert [tuple(r) for r in roster] == snap.roster()
    assert meta["cronofy_frames"] == cf.__version__


def test_a_format_1_folder_reads_as_today(tmp_path: Path) -> None:
    snap = every_case()
    snap.to_csv(tmp_path)
    meta = json.loads((tmp_path / "snapshot.json").read_text())
    roster = json.loads((tmp_path / "roster.json").read_text())
    (tmp_path / "roster.json").unlink()
    del meta["files"]
    meta.pop("counts")
    old = {**meta, "format": "csv", "cronofy_frames": "0.1.0", "roster": roster}
    (tmp_path / "snapshot.json").write_text(json.dumps(old))
    back = cf.read_snapshot(tmp_path)
    read = read_meta(tmp_path)
    assert (read.format, read.files) == (1, "csv")
    assert back.roster() == snap.roster()
    pd.testing.assert_frame_equal(back.profiles, snap.profiles)
    history = cf.read_history(tmp_path)
    assert history.snapshots["tokens"].tolist() == [len(snap.roster())]


def test_one_counter_behind_the_snapshot_the_folder_and_the_history(tmp_path: Path) -> None:
    snap = every_case()
    snap.to_parquet(tmp_path / "one")
    counts = snap.counts()
    tally = Tally.of(snap)
    assert counts == tally.counts(len(snap.roster()), len(snap.unfinished))
    assert counts["failed"] == snap.errors["token_label"].nunique()
    row = cf.read_history(tmp_path).snapshots.iloc[0]
    assert {k: int(row[k]) for k in counts} == counts


def test_folders_are_named_by_time_and_never_reused(tmp_path: Path) -> None:
    when = pd.Timestamp("2026-11-23T06:00:00Z")
    folder = cf.snapshot_folder(tmp_path, when)
    assert folder.name == "2026-11-23T06-00-00Z"
    assert snapshot.folder_time(folder) == when
    with pytest.raises(FileExistsError):
        cf.snapshot_folder(tmp_path, when)


def test_unfinished_runs_are_folders_with_parts_and_no_metadata(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        (tmp_path / name / snapshot.PARTS).mkdir(parents=True)
    (tmp_path / "b" / "snapshot.json").write_text("{}")
    (tmp_path / "d").mkdir()
    assert snapshot.unfinished_folders(tmp_path) == [tmp_path / "a", tmp_path / "c"]
    assert snapshot.unfinished_folders(tmp_path / "missing") == []


def test_metadata_that_is_not_a_snapshots_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "snapshot.json").write_text("[" * 100_000)
    with pytest.raises(ValueError, match="not valid JSON"):
        read_meta(tmp_path)
    (tmp_path / "snapshot.json").write_text('{"format": 2, "files": "xml"}')
    with pytest.raises(ValueError, match="unknown format"):
        read_meta(tmp_path)


def test_the_old_import_path_of_snapshot_still_works() -> None:
    from cronofy_frames.loader import Snapshot

    assert Snapshot is cf.Snapshot


def _imports(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
    return found


def _reach(module: str) -> set[str]:
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name in seen or not (PACKAGE / f"{name}.py").exists():
            continue
        seen.add(name)
        todo.extend(_imports(name))
    return seen | {m for n in seen for m in _imports(n)}


@pytest.mark.parametrize("module", ["snapshot", "health", "diff", "history", "export"])
def test_the_analysis_layer_imports_no_http(module: str) -> None:
    reached = _reach(module)
    assert not reached & HTTP, sorted(reached & HTTP)
    assert "requests" not in reached
    assert "urllib3" not in reached
