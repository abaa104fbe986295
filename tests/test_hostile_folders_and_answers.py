"""Hostile answers and a history folder handed over (#23), over real HTTP and real files:
422 field names as a side channel, Retry-After games, one token's endless 429s, values
that look like structure, and history folders built to break a report."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import cronofy_frames as cf
from cronofy_frames import _transport
from cronofy_frames._http import retry_after_seconds
from tests.helpers import cli
from tests.snapshots import every_case

Answer = Callable[[str], tuple[int, dict[str, str], bytes]]  # token -> status, headers, body


@pytest.fixture
def server() -> Iterator[Callable[[Answer], tuple[str, dict[str, int]]]]:
    """A server on 127.0.0.1 answering GETs with ``answer(token)``; its URL and the
    number of requests each token sent."""
    servers: list[ThreadingHTTPServer] = []

    def start(answer: Answer) -> tuple[str, dict[str, int]]:
        seen: dict[str, int] = {}
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                with lock:
                    seen[token] = seen.get(token, 0) + 1
                status, headers, body = answer(token)
                self.send_response(status)
                for key, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}", seen

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def userinfo(n: int) -> bytes:
    return json.dumps(
        {
            "sub": f"acc_{n:024d}",
            "cronofy.type": "account",
            "cronofy.data": {"authorization": {"scope": "read_events"}, "profiles": []},
        }
    ).encode()


JSON = {"Content-Type": "application/json"}


def test_a_422s_field_names_cannot_spell_a_token_back(server: Callable[..., Any]) -> None:
    """The names pass a 'no part of the token' test, yet spell its hex as letters: only
    names Cronofy documents are quoted; the others are counted."""
    secret = "at_0123456789abcdef0123"
    spelled = secret.translate(str.maketrans("0123456789", "ghijklmnop"))
    body = {"errors": {"tzid": [{"key": "errors.invalid_tzid"}]}}
    body["errors"].update({f"{spelled[i : i + 4]}": [{"key": "x"}] for i in range(3, 23, 4)})
    url, _ = server(lambda token: (422, JSON, json.dumps(body).encode()))
    snap = cf.load([cf.Token(secret, url, "acme")], progress=False, errors="ignore", retries=0)
    (message,) = snap.errors["message"]
    assert "tzid: errors.invalid_tzid" in message
    names = {spelled[i : i + 4] for i in range(3, 23, 4)}
    assert f"{len(names)} other names not shown" in message
    assert not any(spelled[i : i + 4] in message for i in range(3, 23, 4))


@pytest.mark.parametrize("value", ["-5", "0", "nan", "soon", "Wed, 21 Oct 2015 07:28:00 GMT"])
def test_a_retry_after_that_asks_for_no_wait_is_no_retry_after(value: str) -> None:
    assert retry_after_seconds(value, 60) is None  # the client backs off: 1, 2, 4 ... 16 s
    assert retry_after_seconds("3", 60) == 3.0


def test_one_tokens_endless_429s_end_by_its_own_patience(
    server: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Others' successes on the same data center never reset one request's patience;
    the error row's attempts are what the server saw."""
    monkeypatch.setattr(_transport, "PATIENCE", 2.0)  # the minute, shortened for the test
    stuck = "at_stuck_000000000000"

    def answer(token: str) -> tuple[int, dict[str, str], bytes]:
        if token == stuck:
            return 429, {"Retry-After": "-5"}, b""
        return 200, JSON, userinfo(len(token))

    url, seen = server(answer)
    tokens = [cf.Token(stuck, url, "stuck")]
    tokens += [cf.Token(f"at_ok_{n:016d}", url, f"ok-{n}") for n in range(40)]
    snap = cf.load(tokens, progress=False, errors="ignore", retries=1, max_workers=2)
    (row,) = snap.errors.itertuples()
    assert row.token_label == "stuck"
    assert row.kind == "rate_limited"
    assert row.attempts == seen[stuck]  # what was sent, no more, no less
    assert seen[stuck] <= 8  # backed off 1, 2, 4 s, not six times a second
    assert len(snap.accounts) == 40


def test_an_account_type_named_like_a_column_breaks_no_report(tmp_path: Path) -> None:
    snap = every_case()
    types = snap.accounts["account_type"].astype(object)
    odd: list[Any] = ["tokens", "disconnected", "data_center", *types[3:]]
    snap.accounts["account_type"] = pd.Series(odd, dtype="string").to_numpy()
    snap.to_csv(tmp_path / "odd")
    done = cli("health", str(tmp_path / "odd"))
    assert done.returncode == 1, done.stderr  # some tokens failed: the report is printed
    assert "Traceback" not in done.stderr
    assert "other_types=3" in done.stdout
    by_type = cf.connection_health(snap).by_account_type
    assert {"tokens", "disconnected", "data_center"} <= set(by_type["account_type"])


def test_a_provider_value_in_mathtext_is_plotted_as_text() -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    snap = every_case()
    services = snap.profiles["provider_service"].astype(object)
    services.iloc[0] = r"$\foo$"
    snap.profiles["provider_service"] = services.astype("string")
    ax = cf.plot_connections(snap, by="provider_service")
    ax.figure.canvas.draw()  # mathtext would raise here
    assert r"\$\foo\$" in [t.get_text() for t in ax.get_yticklabels()]


# -- a history folder handed over ------------------------------------------------------


def week(n: int) -> pd.Timestamp:
    return pd.Timestamp("2026-01-05T06:00:00Z") + pd.Timedelta(weeks=n)


def write(root: Path, n: int, fmt: str = "parquet", name: str | None = None) -> Path:
    snap = every_case()
    snap.taken_at = week(n)
    folder = root / (name or week(n).strftime("%Y-%m-%dT%H-%M-%SZ"))
    (snap.to_parquet if fmt == "parquet" else snap.to_csv)(folder)
    return folder


@pytest.mark.parametrize("engine", ["duckdb", "pandas"])
def test_a_folder_named_like_a_glob_counts_once(tmp_path: Path, engine: str) -> None:
    write(tmp_path, 0, name="*")
    write(tmp_path, 1)
    history = cf.read_history(tmp_path, engine=engine)
    profiles = history.frame("profiles", columns=["profile_id"])
    assert len(profiles) == 2 * len(every_case().profiles)  # each snapshot once


def test_bad_folders_are_skipped_with_one_warning_naming_them(tmp_path: Path) -> None:
    write(tmp_path, 0)
    write(tmp_path, 1)
    nested = write(tmp_path, 2, name="nested")
    (nested / "snapshot.json").write_text("[" * 100_000)
    future = write(tmp_path, 3, name="future")
    meta = json.loads((future / "snapshot.json").read_text())
    (future / "snapshot.json").write_text(
        json.dumps({**meta, "taken_at": "2099-01-01T00:00:00+00:00"})
    )
    cut = write(tmp_path, 4, name="cut")
    data = (cut / "profiles.parquet").read_bytes()
    (cut / "profiles.parquet").write_bytes(data[: len(data) // 2])
    cased = write(tmp_path, 5, "csv", name="cased\x1b[31m")
    text = (cased / "profiles.csv").read_text()
    (cased / "profiles.csv").write_text(text.replace("profile_connected", "PROFILE_CONNECTED", 1))
    with pytest.warns(cf.HistoryWarning, match="skipped 4 folders") as said:
        history = cf.read_history(tmp_path)
    message = str(said[0].message)
    for name in ("nested", "future", "cut", "cased"):
        assert repr(name)[:-1] in message
    assert len(history.snapshots) == 2
    assert history.snapshots["taken_at"].max() <= pd.Timestamp.now(tz="UTC")  # never 2099
    assert len(history.trend()) == 2
    done = cli("trend", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("warning: skipped 4 folders") == 1
    assert "\x1b" not in done.stderr  # the folder name's escape sequence dropped


def test_both_engines_read_an_empty_string_in_a_csv_snapshot_alike(tmp_path: Path) -> None:
    write(tmp_path, 0, "csv")
    frames = [
        cf.read_history(tmp_path, engine=engine).frame("profiles", columns=["profile_name"])
        for engine in ("duckdb", "pandas")
    ]
    names = [f["profile_name"].tolist() for f in frames]
    assert names[0] == names[1]
    assert "" in names[0]  # the blank name stays blank, not missing


# -- what an answer may expand into ------------------------------------------------------


def amplifier(profiles: int) -> bytes:
    """A userinfo answer of ``profiles`` empty objects: ~3 bytes a row, gzipped to nothing."""
    head = b'{"sub": "acc_000000000000000000000000", "cronofy.data": {"profiles": ['
    return head + b",".join([b"{}"] * profiles) + b"]}}"


def test_bytes_never_become_millions_of_rows(server: Callable[..., Any]) -> None:
    """Three tokens answering 10 MiB of ``{},{},...`` (3.5 million profiles each, which
    once cost 5.2 GiB) end as one bad_response each, in bounded memory."""
    import gzip
    import tracemalloc

    body = gzip.compress(amplifier(3_400_000), 9)
    gz = {**JSON, "Content-Encoding": "gzip"}
    url, _ = server(lambda token: (200, gz, body))
    tokens = [cf.Token(f"at_amp_{n:014d}", url, f"amp-{n}") for n in range(3)]
    tracemalloc.start()
    try:
        snap = cf.load(tokens, progress=False, errors="ignore", retries=0, max_workers=3)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(snap.errors) == 3
    assert snap.errors["message"].str.contains(r"JSON objects in one answer \(max_objects\)").all()
    assert snap.profiles.empty
    assert peak < 160 * 2**20  # three 10 MiB bodies at most, never the rows they could be


@pytest.mark.parametrize(
    ("option", "answer", "named"),
    [
        ("max_profiles", {"profiles": [{}] * 5}, "5 profiles of one account"),
        (
            "max_calendars",
            {"profiles": [{"profile_id": "pro_1", "profile_calendars": [{}] * 5}]},
            "5 calendars of one profile",
        ),
        (
            "max_conferencing",
            {"profiles": [], "conferencing_profiles": [{}] * 5},
            "5 conferencing profiles",
        ),
    ],
)
def test_each_bound_is_named_when_an_answer_goes_past_it(
    server: Callable[..., Any], option: str, answer: dict[str, Any], named: str
) -> None:
    body = json.dumps({"sub": "acc_" + "1" * 24, "cronofy.data": answer}).encode()
    url, _ = server(lambda token: (200, JSON, body))
    ok = cf.load([cf.Token("at_bound_0000000000", url, "a")], progress=False, **{option: 5})
    assert ok.errors.empty  # at the limit: fine
    snap = cf.load(
        [cf.Token("at_bound_0000000000", url, "a")], progress=False, errors="ignore", **{option: 4}
    )
    (message,) = snap.errors["message"]
    assert f"{named}, over the limit of 4 ({option})" in message


def test_a_load_holds_at_most_max_rows(server: Callable[..., Any]) -> None:
    body = json.dumps(
        {"sub": "acc_" + "2" * 24, "cronofy.data": {"profiles": [{"profile_id": "p"}] * 9}}
    ).encode()
    url, _ = server(lambda token: (200, JSON, body))
    tokens = [cf.Token(f"at_rows_{n:012d}", url, f"r{n}") for n in range(5)]
    snap = cf.load(tokens, progress=False, errors="ignore", max_rows=25, max_workers=1)
    assert len(snap.accounts) + len(snap.profiles) <= 25
    assert len(snap.accounts) == 2  # 10 rows each: the third would pass 25
    assert snap.errors["message"].str.contains("past 25 (max_rows)", regex=False).all()
    assert len(snap.errors) == 3


# -- time bounded after Stop -----------------------------------------------------------


DRIP = {"drip": 1.0, "drip_seconds": 1.0}  # a byte a second: an answer never ends


def test_a_stopped_load_returns_only_when_its_workers_have(tmp_path: Path) -> None:
    """The deadline watchdog lives until the last worker returns, so a worker reading a
    drip-fed answer when the load is stopped is cut at its deadline, not left reading."""
    from cronofy_frames import sandbox
    from tests.helpers import tokens_of

    stop = threading.Event()
    with sandbox.serve(accounts=4, seed=4, rate_limit=None, faults=sandbox.Faults(**DRIP)) as sb:
        timer = threading.Timer(0.5, stop.set)
        timer.start()
        snap = cf.load(tokens_of(sb), progress=False, errors="ignore", timeout=2, stop=stop)
        timer.cancel()
        workers = [t for t in threading.enumerate() if t.name.startswith("cronofy-")]
    alive = [t.name for t in workers if t.name != "cronofy-deadlines"]  # the watchdog ends after
    assert alive == []  # every worker has returned when load() does
    assert len(snap.unfinished) + len(snap.errors) >= 1


@pytest.mark.slow  # a subprocess against a server that never finishes an answer
def test_the_cli_ends_within_its_timeout_after_ctrl_c(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    from cronofy_frames import sandbox
    from tests.helpers import load_args

    with sandbox.serve(accounts=4, seed=4, rate_limit=None, faults=sandbox.Faults(**DRIP)) as sb:
        args = load_args(sb, tmp_path, tmp_path / "out", "--timeout", "3")
        proc = subprocess.Popen(
            [sys.executable, "-m", "cronofy_frames", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        while sum(sb.world.requests.values()) < 1:  # the first answer is being dripped
            assert proc.poll() is None
            threading.Event().wait(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=3 + 2 + 10)  # timeout + 2 s, and slack for CI
    assert proc.returncode == 130
    assert "Traceback" not in err


# -- a dead data center -------------------------------------------------------------------


def test_a_dead_data_center_costs_a_bounded_number_of_requests_not_one_per_token() -> None:
    """60 tokens on a data center that never answers, beside 30 on a healthy one: the
    dead one's breaker trips after a few attempts without an answer; its other tokens
    are not sent (connection, 0 attempts); the healthy data center loads every token."""
    from cronofy_frames import sandbox
    from tests.helpers import tokens_of

    silent = sandbox.Silent()
    try:
        with sandbox.serve(accounts=30, seed=6, rate_limit=None) as healthy:
            dead = [cf.Token(f"at_dead_{n:014d}", silent.url, f"dead-{n}") for n in range(60)]
            snap = cf.load(
                [*dead, *tokens_of(healthy)], progress=False, errors="ignore", timeout=1, retries=4
            )
    finally:
        silent.close()
    from cronofy_frames._breaker import PROBES, TRIP

    assert len(snap.accounts) == 30  # the healthy data center: every token
    errors = snap.errors.set_index("token_label")
    assert len(errors) == 60
    assert set(errors["kind"]) <= {"timeout", "connection"}
    not_sent = errors[errors["attempts"] == 0]
    assert len(not_sent) >= 60 - (TRIP + PROBES + 8)  # most were never sent
    assert not_sent["message"].str.contains("circuit is open", regex=False).all()
    assert len(silent.accepted) <= TRIP + PROBES + 8  # not 60 tokens x 5 attempts
