"""`cronofy-frames sandbox` as a user runs it: a subprocess, its output and files."""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from cronofy_frames.cli import main

DCS = ["us", "uk", "de", "au", "ca", "sg"]


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cronofy_frames", "sandbox", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_sandbox_command_prints_urls_writes_csvs_and_serves(tmp_path: Path) -> None:
    tokens, creds = tmp_path / "tokens.csv", tmp_path / "creds.csv"
    proc = start(
        "--accounts",
        "12",
        "--seed",
        "4",
        "--tokens-out",
        str(tokens),
        "--credentials-out",
        str(creds),
    )
    assert proc.stdout is not None
    lines = [proc.stdout.readline().strip() for _ in range(7)]
    try:
        assert lines[-1] == "ready"
        urls = dict(line.split(" ") for line in lines[:6])
        assert list(urls) == DCS
        assert all(u.startswith("http://127.0.0.1:") for u in urls.values())
        rows = list(csv.DictReader(tokens.open()))
        assert len(rows) == 12
        header = ["label", "data_center", "access_token", "refresh_token", "base_url"]
        assert list(rows[0]) == header
        assert all(urls[r["data_center"]] == r["base_url"] for r in rows)  # id, and its URL
        cred_rows = list(csv.DictReader(creds.open()))
        assert [r["data_center"] for r in cred_rows] == list(urls.values())
        r = requests.get(
            f"{rows[0]['base_url']}/v1/account",
            timeout=5,
            headers={"Authorization": f"Bearer {rows[0]['access_token']}"},
        )
        assert r.status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0


def six_free_ports() -> int:
    """A base port below the ephemeral range whose next five ports are free too."""
    for base in range(20_000 + os.getpid() % 5_000, 30_000, 7):
        socks = [socket.socket() for _ in range(6)]
        try:
            for n, sock in enumerate(socks):
                sock.bind(("127.0.0.1", base + n))
            return base
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise AssertionError("no six free ports between 20000 and 30000")


def test_sandbox_command_takes_a_base_port() -> None:
    port = six_free_ports()
    proc = start("--accounts", "1", "--port", str(port))
    out = proc.stdout
    assert out is not None
    lines = [out.readline().strip() for _ in range(7)]
    proc.terminate()
    proc.wait(timeout=10)
    assert lines[:2] == [f"us http://127.0.0.1:{port}", f"uk http://127.0.0.1:{port + 1}"]
    assert lines[-1] == "ready"
    assert proc.returncode == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--accounts", "-1"], "--accounts must not be negative, got -1"),
        (["--fault", "bogus=1"], "unknown fault 'bogus=1'"),
        (["--fault", "http_503=lots"], "fault http_503='lots' needs a number"),
        (["--rate-limit", "0/10"], "rate limits must be positive"),
    ],
)
def test_bad_options_exit_2_with_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sandbox", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert message in err
    assert "Traceback" not in err


def test_port_in_use_exits_2_with_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = start("--port", str(port))
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 2
    assert err.strip() == f"error: cannot listen on port {port}: Address already in use"
