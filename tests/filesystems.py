"""Real file systems for the token store's tests: a small tmpfs (to fill up), a
read-only one, and commands run as a second user (``setpriv``). Each needs root, which
CI has; elsewhere the tests that use them are skipped with the reason."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

NOBODY = 65534
PAGE = 4096  # tmpfs hands out whole pages


def _need_root(what: str) -> None:
    if os.geteuid() != 0:
        pytest.skip(f"{what} needs root (CI runs as root)")


@contextlib.contextmanager
def tmpfs(size: str = "256k") -> Iterator[Path]:
    """A fresh tmpfs of ``size`` mounted on a new folder (0755), unmounted afterwards."""
    _need_root("mounting a small file system")
    folder = Path(tempfile.mkdtemp(prefix="cf-fs-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        folder.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
        folder.rmdir()


def make_read_only(folder: Path) -> None:
    """Remount a :func:`tmpfs` read-only: nothing can be created in it, even by root."""
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)


def fill_up(folder: Path, leave_pages: int = 1) -> None:
    """Fill ``folder``'s file system with page-sized files, then free ``leave_pages``."""
    fillers: list[Path] = []
    with contextlib.suppress(OSError):
        while True:
            path = folder / f".filler-{len(fillers)}"
            fillers.append(path)
            path.write_bytes(b"\0" * PAGE)
    for path in fillers[-1 - leave_pages :]:
        path.unlink(missing_ok=True)


def free_space(folder: Path) -> None:
    """Remove what :func:`fill_up` wrote."""
    for path in folder.glob(".filler-*"):
        path.unlink()


def shared_folder(mode: int = 0o755) -> Path:
    """A new folder outside pytest's private ones (0700), so a second user can reach it."""
    folder = Path(tempfile.mkdtemp(prefix="cf-shared-"))
    folder.chmod(mode)
    return folder


def remove(folder: Path) -> None:
    """Remove a :func:`shared_folder` and everything in it."""
    shutil.rmtree(folder, ignore_errors=True)


def _setpriv() -> list[str]:
    _need_root("running as a second user")
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed")
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


def as_nobody_shell(command: str) -> subprocess.CompletedProcess[str]:
    """``sh -c COMMAND`` run as the user nobody (a second uid), output captured."""
    return subprocess.run(
        [*_setpriv(), "sh", "-c", command], capture_output=True, text=True, check=False
    )


def as_nobody(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` run as the user nobody, output captured; skipped where that user
    cannot import the package (a checkout in a folder only root may read)."""
    command = _setpriv()
    env = {**os.environ, "HOME": "/nonexistent"}
    probe = subprocess.run(
        [*command, sys.executable, "-c", "import cronofy_frames"],
        capture_output=True,
        check=False,
        env=env,
    )
    if probe.returncode != 0:
        pytest.skip("this checkout or interpreter cannot be read by another user here")
    return subprocess.run(
        [*command, sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )
