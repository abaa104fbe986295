"""Helpers the tests import: sandbox tokens as the toolkit's Tokens, the CLI as a user runs it."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

import cronofy_frames as cf
from cronofy_frames.sandbox import Sandbox


def tokens_of(sb: Sandbox, count: int | None = None, refresh: bool = True) -> list[cf.Token]:
    """The sandbox's accounts as Tokens (labels ``sbx-000000`` …), with refresh tokens."""
    accounts = sb.accounts[: count if count is not None else len(sb.accounts)]
    return [
        cf.Token(a.access_token, a.base_url, a.label, a.refresh_token if refresh else None)
        for a in accounts
    ]


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m cronofy_frames ARGS`` as a user runs it: output captured, never raising."""
    return subprocess.run(
        [sys.executable, "-m", "cronofy_frames", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def sandbox_files(sb: Sandbox, tmp_path: Path) -> tuple[Path, Path]:
    """The sandbox's tokens and credentials CSVs, written to tmp_path."""
    tokens, creds = tmp_path / "tokens.csv", tmp_path / "creds.csv"
    sb.write_tokens_csv(tokens)
    sb.write_credentials_csv(creds)
    return tokens, creds


def load_args(
    sb: Sandbox, tmp_path: Path, out: Path, *extra: str, progress: bool = False
) -> list[str]:
    """``load`` arguments for the sandbox's tokens and credentials, written to tmp_path."""
    tokens, creds = sandbox_files(sb, tmp_path)
    quiet = [] if progress else ["--no-progress"]
    return ["load", str(tokens), "--out", str(out), "--credentials", str(creds), *quiet, *extra]


def uploaded(text: str, name: str = "tokens.csv") -> tuple[dict[str, Any], ...]:
    """A FileUpload ``value`` holding one file, as the browser sends it."""
    return (
        {
            "name": name,
            "type": "text/csv",
            "size": len(text),
            "content": memoryview(text.encode()),
            "last_modified": dt.datetime.now(dt.UTC),
        },
    )
