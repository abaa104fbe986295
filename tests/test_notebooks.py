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
