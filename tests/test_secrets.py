"""No secret leaves memory: run everything with known secrets and search every output.

The secrets are the sandbox's access tokens, refresh tokens (before and after refresh)
and client secrets. Searched: frames, reprs, files written (CSV, Parquet, Excel,
snapshot.json), warnings, log records at DEBUG, exception text and tracebacks, the
progress bar, the CLI's output and files, an executed notebook, and widget state.
"""

from __future__ import annotations

import json
import logging
import traceback
import warnings
import zipfile
from pathlib import Path

import ipywidgets as w
import nbformat
import pytest
from nbclient import NotebookClient

import cronofy_frames as cf
from cronofy_frames import sandbox
from cronofy_frames.sandbox import Faults
from cronofy_frames.sandbox._state import World
from cronofy_frames.widgets import LoadPanel, TokenPicker
from tests.helpers import cli, load_args, tokens_of

ROOT = Path(__file__).resolve().parent.parent
FAULTS = Faults(expired=0.4, revoked=0.2, malformed=0.05)


def secrets_of(world: World, generations: int = 3) -> set[str]:
    """Every token the sandbox issued or could issue in a few refreshes, and client secrets."""
    found = {world.client_credentials(dc)[1] for dc in ("us", "uk", "de", "au", "ca", "sg")}
    for i in range(world.size):
        for gen in range(generations):
            found |= {world._token("at", i, gen), world._token("rt", i, gen)}
    return found


def leaks(secrets: set[str], *texts: str) -> list[str]:
    return sorted({s[:12] + "…" for s in secrets for text in texts if s in text})


def all_files(folder: Path) -> str:
    """Every file below ``folder`` as text (Excel unzipped, Parquet as bytes)."""
    parts = []
    for path in sorted(folder.rglob("*")):
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                parts += [z.read(n).decode("utf-8", "replace") for n in z.namelist()]
        elif path.is_file():
            parts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


def test_loaders_exports_warnings_logs_and_progress_hold_no_secret(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    with (
        sandbox.serve(accounts=40, seed=13, rate_limit=None, faults=FAULTS) as s,
        caplog.at_level(logging.DEBUG),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        tokens = tokens_of(s)
        snap = cf.load(tokens, credentials=s.credentials_by_url)  # warns; progress bar on
        profiles = cf.load_profiles(tokens[:10], credentials=s.credentials_by_url)
        with pytest.raises(cf.LoadFailed) as raised:
            cf.load_accounts(
                tokens, credentials=s.credentials_by_url, errors="raise", progress=False
            )
        secrets = secrets_of(s.world)
    snap.to_csv(tmp_path / "csv")
    snap.to_parquet(tmp_path / "parquet")
    snap.to_excel(tmp_path / "book.xlsx")
    report = cf.connection_health(snap)
    texts = [
        repr(snap),
        repr(snap.tokens),
        str(snap.tokens),
        str(report),
        report._repr_html_(),
        snap.profiles.to_csv(),
        snap.accounts.to_csv(),
        snap.errors.to_csv(),
        snap.calendars.to_csv(),
        profiles.to_csv(),
        profiles.attrs["errors"].to_csv(),
        all_files(tmp_path),
        capsys.readouterr().err,
        str(raised.value),
        "".join(traceback.format_exception(raised.value)),
        *(str(m.message) for m in caught),
        *(r.getMessage() for r in caplog.records),
        *(str(r.args) for r in caplog.records),
    ]
    assert snap.tokens != tokens  # refreshes happened, so new secrets were in play
    assert caplog.records  # urllib3 logged at DEBUG
    assert not leaks(secrets, *texts)


def test_the_command_line_holds_no_secret_outside_the_refreshed_tokens_file(
    tmp_path: Path,
) -> None:
    with sandbox.serve(accounts=30, seed=14, rate_limit=None, faults=FAULTS) as s:
        done = cli(*load_args(s, tmp_path, tmp_path / "out", progress=True))
        health = cli("health", str(tmp_path / "out"))
        secrets = secrets_of(s.world)
    assert done.returncode == 1  # revoked tokens failed
    saved = tmp_path / "tokens.csv.refreshed.csv"
    assert leaks(secrets, saved.read_text())  # the one place refreshed tokens must be kept
    assert oct(saved.stat().st_mode & 0o777) == "0o600"
    outputs = [done.stdout, done.stderr, health.stdout, health.stderr, all_files(tmp_path / "out")]
    assert not leaks(secrets, *outputs)


@pytest.mark.slow
def test_an_executed_notebook_and_widget_state_hold_no_secret(tmp_path: Path) -> None:
    book = nbformat.read(ROOT / "notebooks" / "connection_health.ipynb", as_version=4)
    NotebookClient(book, timeout=300, resources={"metadata": {"path": str(tmp_path)}}).execute()
    executed = tmp_path / "executed.ipynb"
    nbformat.write(book, executed)
    # the notebook's sandbox: 150 accounts, seed 7 (see its second code cell)
    kernel_world = World(
        accounts=150,
        seed=7,
        faults=Faults(expired=0.05, revoked=0.02),
        rate_limit=None,
        token_ttl=None,
        rotate_refresh_tokens=True,
    )
    text = executed.read_text()
    assert "150 tokens" in text  # it really ran
    assert not leaks(secrets_of(kernel_world), text)

    with sandbox.serve(accounts=10, seed=15, rate_limit=None, faults=FAULTS) as s:
        picker = TokenPicker()
        picker.add_tokens(tokens_of(s))
        panel = LoadPanel(picker, credentials=s.credentials_by_url, progress=False)
        panel.load_button.click()  # loads in the background
        panel.wait(60)
        state = json.dumps(w.Widget.get_manager_state(drop_defaults=False), default=str)
        secrets = secrets_of(s.world)
    assert panel.snapshot is not None
    assert not leaks(secrets, state)
