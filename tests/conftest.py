"""Fixtures shared by the tests (helpers to import are in ``tests/helpers.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cronofy_frames import sandbox
from cronofy_frames.sandbox import Sandbox


@pytest.fixture(scope="module")
def sb(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """One sandbox for the whole module, started with the module's ``SANDBOX`` options."""
    options: sandbox.SandboxOptions = getattr(request.module, "SANDBOX", sandbox.SandboxOptions())
    with sandbox.serve(**options) as running:
        yield running
