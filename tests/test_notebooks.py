"""The committed notebooks: valid, saved without outputs, widget state or secrets.

They are executed top to bottom by ``pytest --nbmake notebooks`` (``make test``)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.slow  # make quick skips it

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
SECRETISH = re.compile(r"sbx(at|rt)_[0-9a-f]+_\d+_[0-9a-f]{8,}|Bearer \S{12,}|client_secret")


def test_the_three_notebooks_are_there() -> None:
    assert [p.name for p in NOTEBOOKS] == [
        "audit_export.ipynb",
        "connection_health.ipynb",
        "trends.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_saved_clean(path: Path) -> None:
    book = nbformat.read(path, as_version=4)
    nbformat.validate(book)
    code = [c for c in book.cells if c.cell_type == "code"]
    assert code
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert "widgets" not in book.metadata  # ipywidgets saves its state here
    assert not SECRETISH.search(path.read_text())
    markdown = [c for c in book.cells if c.cell_type == "markdown"]
    assert len(markdown) >= len(code) // 2  # prose between the steps


HEALTH = Path(__file__).resolve().parent.parent / "notebooks" / "connection_health.ipynb"


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> nbformat.NotebookNode:
    """connection_health.ipynb run top to bottom, as *Run all* does."""
    from nbclient import NotebookClient

    book = nbformat.read(HEALTH, as_version=4)
    folder = tmp_path_factory.mktemp("run")
    NotebookClient(book, timeout=300, resources={"metadata": {"path": str(folder)}}).execute()
    return book  # type: ignore[no-any-return]


def test_every_plot_cell_shows_its_plot(executed: nbformat.NotebookNode) -> None:
    plots = [c for c in executed.cells if c.cell_type == "code" and "plot_connections" in c.source]
    assert len(plots) == 3
    for cell in plots:
        kinds = {k for out in cell.outputs for k in out.get("data", {})}
        assert "image/png" in kinds, cell.source


def test_the_notebook_shows_no_warning(executed: nbformat.NotebookNode) -> None:
    said = [
        out.get("text", "")
        for c in executed.cells
        if c.cell_type == "code"
        for out in c.outputs
        if out.get("name") == "stderr"
    ]
    assert not [s for s in said if "Warning" in s], said


def test_the_relink_table_holds_every_profile_to_relink(
    executed: nbformat.NotebookNode,
) -> None:
    import cronofy_frames as cf
    from cronofy_frames import sandbox

    faults = sandbox.Faults(expired=0.05, revoked=0.02)  # the notebook's own sandbox
    with sandbox.serve(accounts=150, seed=7, faults=faults, rate_limit=None) as sb:
        tokens = [
            cf.Token(a.access_token, a.data_center, a.label, a.refresh_token, base_url=a.base_url)
            for a in sb.accounts
        ]
        snap = cf.load(tokens, credentials=sb.credentials_by_url, progress=False, errors="ignore")
    total = len(cf.connection_health(snap).relink)
    state = str(executed.metadata.get("widgets", {}))
    assert total > 0
    assert f"of {total:,} shown (of {total:,})" in state


def test_the_notebooks_panel_keeps_cronofys_limit_for_tokens_added_later() -> None:
    """The shipped setup cells, run as they are; then tokens of a server that enforces
    Cronofy's 50/s and 500/min are added, as an upload adds them: none is rate_limited."""
    import cronofy_frames as cf
    from cronofy_frames import sandbox
    from tests.helpers import tokens_of

    book = nbformat.read(HEALTH, as_version=4)
    setup = [c.source for c in book.cells if c.cell_type == "code"][:2]
    scope: dict[str, object] = {"__name__": "notebook"}
    for source in setup:
        code = source.rstrip().removesuffix("panel")  # the last line only displays it
        exec(compile(code, "cell", "exec"), scope)  # noqa: S102 (the shipped cells, run as they are)
    strict_limit = cf.RateLimit(50, 500)
    try:
        with sandbox.serve(accounts=160, seed=3, rate_limit=strict_limit) as strict:
            later = [
                cf.Token(t.access_token, t.api_url, f"up-{t.label}") for t in tokens_of(strict)
            ]
            scope["picker"].add_tokens(later)  # type: ignore[attr-defined]
            snap = scope["panel"].load_and_wait()  # type: ignore[attr-defined]
    finally:
        scope["sb"].close()  # type: ignore[attr-defined]
    assert snap is not None
    assert len(snap.accounts) + snap.errors["token_label"].nunique() == 310
    assert "rate_limited" not in set(snap.errors["kind"])
