"""The README's promise "a rotated refresh token is never lost, and a token only ever
goes where its owner meant", where the token store meets the rest: a folder that cannot
be written, a disk that fills up mid-load, an upload that meets another file's pairs,
a line cut short by a crash, a shared folder, and messages about files full of tokens."""

from __future__ import annotations

import csv
import html
import json
import os
import secrets
import shutil
import stat
import threading
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import cronofy_frames as cf
from cronofy_frames import sandbox, token_store
from cronofy_frames.sandbox import Faults, Sandbox
from cronofy_frames.widgets import LoadPanel, TokenPicker
from tests.filesystems import (
    NOBODY,
    as_nobody,
    as_nobody_shell,
    fill_up,
    free_space,
    make_read_only,
    remove,
    shared_folder,
    tmpfs,
)
from tests.helpers import cli, uploaded

EXPIRED = Faults(expired=1.0)  # every token needs a refresh, which rotates its pair


def requests_to(sb: Sandbox) -> int:
    return sum(sb.world.requests.values())


def current_pairs(sb: Sandbox) -> dict[str, tuple[str, str]]:
    return {a.label: sb.world.tokens(a.index) for a in sb.accounts}


def pairs_of(tokens: list[cf.Token]) -> dict[str, tuple[str, str | None]]:
    return {t.label: (t.access_token, t.refresh_token) for t in tokens}


# -- 1. refused before the first request ----------------------------------------------


@pytest.fixture
def read_only_tokens() -> Iterator[tuple[Sandbox, Path]]:
    """A sandbox whose tokens all need a refresh, and its tokens CSV in a read-only folder."""
    with sandbox.serve(accounts=6, seed=31, rate_limit=None, faults=EXPIRED) as sb, tmpfs() as fs:
        sb.write_tokens_csv(fs / "tokens.csv")
        make_read_only(fs)
        yield sb, fs / "tokens.csv"


def test_the_library_refuses_an_unwritable_refreshed_file_before_any_request(
    read_only_tokens: tuple[Sandbox, Path],
) -> None:
    sb, path = read_only_tokens
    with pytest.raises(ValueError, match=r"tokens\.csv\.refreshed\.csv.*Read-only file system"):
        cf.load(path, credentials=sb.credentials_by_url, progress=False)
    with pytest.raises(ValueError, match="cannot write the refreshed-pairs file"):
        cf.refreshed_writer(path)
    assert requests_to(sb) == 0


def test_without_credentials_nothing_can_be_refreshed_so_no_file_is_needed(
    read_only_tokens: tuple[Sandbox, Path],
) -> None:
    _, path = read_only_tokens
    snap = cf.load(path, progress=False, errors="ignore")
    assert set(snap.errors["kind"]) == {"unauthorized"}  # expired, and no way to refresh
    assert not (path.parent / "tokens.csv.refreshed.csv").exists()


def test_the_panel_refuses_to_load_when_the_refreshed_file_cannot_be_written(
    read_only_tokens: tuple[Sandbox, Path],
) -> None:
    sb, path = read_only_tokens
    picker = TokenPicker()
    picker.path.value = str(path)
    picker.path_button.click()
    panel = LoadPanel(picker, credentials=sb.credentials_by_url, progress=False)
    assert panel.start() is False
    assert not panel.running
    assert "Not loaded" in panel.message.value
    assert "tokens.csv.refreshed.csv" in panel.message.value
    assert requests_to(sb) == 0


def test_the_cli_refuses_a_read_only_folder_with_one_line_before_any_request(
    read_only_tokens: tuple[Sandbox, Path], tmp_path: Path
) -> None:
    sb, path = read_only_tokens
    sb.write_credentials_csv(tmp_path / "creds.csv")
    done = cli(
        "load", str(path), "--out", str(tmp_path / "out"), "--credentials",
        str(tmp_path / "creds.csv"), "--no-progress",
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: cannot write the refreshed-pairs file")
    assert "tokens.csv.refreshed.csv" in done.stderr
    assert requests_to(sb) == 0
    assert not (tmp_path / "out").exists()


def test_the_cli_refuses_a_folder_another_user_cannot_write(tmp_path: Path) -> None:
    folder, out = shared_folder(0o755), shared_folder(0o777)  # root's; nobody may only read
    try:
        with sandbox.serve(accounts=4, seed=32, rate_limit=None, faults=EXPIRED) as sb:
            sb.write_tokens_csv(folder / "tokens.csv")
            sb.write_credentials_csv(folder / "creds.csv")
            for name in ("tokens.csv", "creds.csv"):
                (folder / name).chmod(0o644)
            done = as_nobody(
                "-m",
                "cronofy_frames",
                "load",
                str(folder / "tokens.csv"),
                "--out",
                str(out / "result"),
                "--credentials",
                str(folder / "creds.csv"),
                "--no-progress",
            )
            sent = requests_to(sb)
    finally:
        remove(folder)
        remove(out)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: cannot write the refreshed-pairs file")
    assert "tokens.csv.refreshed.csv" in done.stderr
    assert "Permission denied" in done.stderr
    assert sent == 0
    assert not (out / "result").exists()


# -- 1. a disk that fills up mid-load: no pair is lost ----------------------------------


@pytest.mark.slow  # a subprocess or a soak: make quick skips it
def test_a_full_disk_mid_load_loses_no_pair_and_a_resume_finishes(tmp_path: Path) -> None:
    """The soak of the store: 120 tokens that all rotate their pair, the refreshed file
    on a tmpfs with one free page. The CLI stops refreshing, keeps what it cannot write
    in a fallback file, exits 3; after room is made, --resume finishes with every pair."""
    with sandbox.serve(accounts=120, seed=33, rate_limit=None, faults=EXPIRED) as sb, tmpfs() as fs:
        sb.write_tokens_csv(fs / "tokens.csv")
        sb.write_credentials_csv(tmp_path / "creds.csv")
        fill_up(fs, leave_pages=1)
        args = ["load", str(fs / "tokens.csv"), "--credentials", str(tmp_path / "creds.csv")]
        first = cli(*args, "--out", str(tmp_path / "out"), "--no-progress")
        stored = list(csv.DictReader((fs / "tokens.csv.refreshed.csv").open()))
        fallbacks = list((tmp_path / "out").glob("tokens.csv.refreshed.csv.unsaved-*.csv"))
        free_space(fs)
        for fallback in fallbacks:  # as the message says: move it beside the file
            shutil.move(fallback, fs / fallback.name)
        second = cli(*args, "--out", str(tmp_path / "out"), "--no-progress", "--resume")
        with pytest.warns(cf.RefreshedTokensApplied):
            final = cf.tokens_from_csv(fs / "tokens.csv")
        now = current_pairs(sb)
    assert first.returncode == 3, first.stderr
    assert "could not be appended" in first.stderr
    assert "--resume" in first.stderr
    assert 0 < len(stored) < 120  # the file took some pairs, then the disk was full
    assert len(fallbacks) == 1
    assert second.returncode == 0, second.stderr
    assert pairs_of(final) == now  # every rotated pair is on disk: none lost
    assert "invalid_grant" not in second.stdout


def test_a_full_disk_in_a_script_warns_and_keeps_the_pairs_in_memory() -> None:
    with sandbox.serve(accounts=60, seed=34, rate_limit=None, faults=EXPIRED) as sb, tmpfs() as fs:
        sb.write_tokens_csv(fs / "tokens.csv")
        fill_up(fs, leave_pages=1)
        with (
            pytest.warns(cf.RefreshedPairsNotSaved, match="could not be appended"),
            pytest.warns(RuntimeWarning, match="no further token is refreshed"),
        ):
            snap = cf.load(
                fs / "tokens.csv",
                credentials=sb.credentials_by_url,
                progress=False,
                errors="ignore",
            )
        now = current_pairs(sb)
    refreshed = [t for t in snap.tokens if t.replaces is not None]
    assert refreshed  # refreshed before the disk said no
    assert all(now[t.label] == (t.access_token, t.refresh_token) for t in refreshed)
    assert snap.unfinished  # the rest needed a refresh: left for a rerun, not failed
    assert "refresh_failed" not in set(snap.errors["kind"])


def test_the_panel_says_so_when_the_disk_fills_up(monkeypatch: pytest.MonkeyPatch) -> None:
    with sandbox.serve(accounts=30, seed=35, rate_limit=None, faults=EXPIRED) as sb, tmpfs() as fs:
        sb.write_tokens_csv(fs / "tokens.csv")
        picker = TokenPicker()
        picker.path.value = str(fs / "tokens.csv")
        picker.path_button.click()
        fill_up(fs, leave_pages=1)
        seen: list[cf.Token] = []
        panel = LoadPanel(picker, credentials=sb.credentials_by_url, on_refresh=seen.append)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            snap = panel.load_and_wait()
        now = current_pairs(sb)
    assert snap is not None
    assert "Refreshing stopped" in panel.message.value
    assert "could not be appended" in panel.message.value
    assert seen  # the caller's on_refresh still got the pair the file refused
    assert all(now[t.label] == (t.access_token, t.refresh_token) for t in seen)
    held = pairs_of(picker.tokens)
    assert all(held[t.label] == (t.access_token, t.refresh_token) for t in seen)


# -- 2. a pair belongs to one token in one place --------------------------------------


class Listener:
    """A server on a loopback port that someone else owns: it records every token it is
    sent, refuses every GET, and grants its own pair to every refresh."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                listener.seen.append(self.headers.get("Authorization", ""))
                self._answer(401, {})

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                listener.seen.append(body.decode())
                n = len(listener.seen)
                pair = {"access_token": f"listener_at_{n}", "refresh_token": f"listener_rt_{n}"}
                self._answer(200, {"token_type": "bearer", "expires_in": 3600, **pair})

            def _answer(self, status: int, payload: dict[str, object]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_an_upload_never_sends_the_folders_pairs_to_another_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The notebook folder holds tokens.csv and its refreshed pairs. A handed-over CSV of
    the same name points the same labels at a loopback port someone else listens on.
    Uploaded, its tokens keep their own pairs; loaded, the listener never sees a real
    token; and the pairs it hands out never replace the real ones."""
    monkeypatch.chdir(tmp_path)
    listener = Listener()
    try:
        with sandbox.serve(accounts=5, seed=36, rate_limit=None, faults=EXPIRED) as sb:
            sb.write_tokens_csv(tmp_path / "tokens.csv")
            cf.load(tmp_path / "tokens.csv", credentials=sb.credentials_by_url, progress=False)
            real = current_pairs(sb)
            handed = "label,data_center,access_token,refresh_token,base_url\n" + "".join(
                f"{a.label},{a.data_center},handed_at_{n:04d}xxxx,handed_rt_{n:04d}xxxx,"
                f"{listener.url}\n"
                for n, a in enumerate(sb.accounts)
            )
            picker = TokenPicker()
            picker.upload.value = uploaded(handed, "tokens.csv")
            kept = pairs_of(picker.tokens)
            message = picker.message.value
            creds = {listener.url: cf.ClientCredentials("listener-id", "listener-secret")}
            LoadPanel(picker, credentials=creds, progress=False).load_and_wait()
            with pytest.warns(cf.RefreshedTokensApplied, match="ignored 5 stored pairs"):
                again = cf.tokens_from_csv(tmp_path / "tokens.csv")
            after = cf.load(again, credentials=sb.credentials_by_url, progress=False)
    finally:
        listener.close()
    assert all(pair[0].startswith("handed_at_") for pair in kept.values())
    assert "ignored 5 stored pairs" in message
    sent = " ".join(listener.seen)
    assert listener.seen  # the handed tokens did go to the place their CSV names ...
    assert not [s for pair in real.values() for s in pair if s in sent]  # ... no real one
    assert pairs_of(again) == real  # the listener's pairs were not applied to the real CSV
    assert after.errors.empty


def test_a_pair_applies_only_over_the_pair_it_replaced(tmp_path: Path) -> None:
    """Label, data center, sandbox URL and the replaced pair must all match; a chain of
    refreshes is followed to the newest pair."""
    path = tmp_path / "tokens.csv"
    first = cf.Token("at_first_0000000000", "uk", "acme", "rt_first_0000000000")
    cf.tokens_to_csv([first], path)
    second = first.with_pair("at_second_000000000", "rt_second_000000000")
    third = second.with_pair("at_third_0000000000", "rt_third_0000000000")
    elsewhere = cf.Token("at_first_0000000000", "de", "acme", "rt_first_0000000000")
    with cf.refreshed_writer(path) as store:
        store(second)
        store(third)
        store(elsewhere.with_pair("at_de_00000000000000", "rt_de_00000000000000"))  # de, not uk
        store(
            cf.Token("at_other_0000000000", "uk", "acme", "rt_other_000000000").with_pair(
                "at_fork_00000000000", "rt_fork_00000000000"
            )
        )  # over a pair this CSV never held
    with pytest.warns(cf.RefreshedTokensApplied) as said:
        (token,) = cf.tokens_from_csv(path)
    assert (token.access_token, token.refresh_token) == (
        "at_third_0000000000",
        "rt_third_0000000000",
    )
    assert "ignored 2 stored pairs" in str(said[0].message)


def test_an_upload_applies_a_pair_only_when_it_replaced_the_very_pair_uploaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    mine = cf.Token("at_mine_00000000000", "uk", "acme", "rt_mine_00000000000")
    cf.tokens_to_csv([mine], tmp_path / "tokens.csv")
    with cf.refreshed_writer(tmp_path / "tokens.csv") as store:
        store(mine.with_pair("at_mine_new_0000000", "rt_mine_new_0000000"))
    picker = TokenPicker()
    picker.upload.value = uploaded((tmp_path / "tokens.csv").read_text(), "tokens.csv")
    other = TokenPicker()
    theirs = "label,data_center,access_token,refresh_token\nacme,uk,at_theirs_000000000,rt_x\n"
    other.upload.value = uploaded(theirs, "tokens.csv")
    assert picker.tokens[0].access_token == "at_mine_new_0000000"  # the very pair: applied
    assert other.tokens[0].access_token == "at_theirs_000000000"  # another pair: never
    assert "ignored 1 stored pairs" in other.message.value


def test_an_older_refreshed_file_applies_by_label_only_to_its_own_csv_read_by_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files written before pairs recorded what they replaced still apply, by label and
    data center, when their own CSV is read by its path; never to an upload or a token
    bound to a sandbox URL."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tokens.csv").write_text(
        "label,data_center,access_token,refresh_token,base_url\n"
        "acme,uk,at_old_000000000000,rt_old_000000000000,\n"
        "box,uk,at_box_000000000000,rt_box_000000000000,http://127.0.0.1:9\n"
    )
    (tmp_path / "tokens.csv.refreshed.csv").write_text(
        "label,data_center,access_token,refresh_token\r\n"
        "acme,uk,at_new_000000000000,rt_new_000000000000\r\n"
        "box,uk,at_real_00000000000,rt_real_00000000000\r\n"
    )
    with pytest.warns(cf.RefreshedTokensApplied):
        by_path = pairs_of(cf.tokens_from_csv(tmp_path / "tokens.csv"))
    picker = TokenPicker()
    picker.upload.value = uploaded((tmp_path / "tokens.csv").read_text(), "tokens.csv")
    assert by_path["acme"] == ("at_new_000000000000", "rt_new_000000000000")
    assert by_path["box"] == ("at_box_000000000000", "rt_box_000000000000")
    assert pairs_of(picker.tokens)["acme"] == ("at_old_000000000000", "rt_old_000000000000")
    with cf.refreshed_writer(tmp_path / "tokens.csv") as store:  # upgraded in place, kept
        store(
            cf.Token("at_new_000000000000", "uk", "acme", "rt_new_000000000000").with_pair(
                "at_newer_0000000000", "rt_newer_0000000000"
            )
        )
    with pytest.warns(cf.RefreshedTokensApplied):
        upgraded = pairs_of(cf.tokens_from_csv(tmp_path / "tokens.csv"))
    assert upgraded["acme"] == ("at_newer_0000000000", "rt_newer_0000000000")


# -- 3. appends that survive crashes -------------------------------------------------------


def test_a_line_cut_short_by_a_crash_never_swallows_the_next_pair(tmp_path: Path) -> None:
    with sandbox.serve(accounts=4, seed=37, rate_limit=None, faults=EXPIRED) as sb:
        sb.write_tokens_csv(tmp_path / "tokens.csv")
        before = pairs_of(token_store.tokens_from_csv_text((tmp_path / "tokens.csv").read_text()))
        saved = tmp_path / "tokens.csv.refreshed.csv"
        cf.load(tmp_path / "tokens.csv", credentials=sb.credentials_by_url, progress=False)
        whole = saved.read_bytes()
        saved.write_bytes(whole[: len(whole) - 30])  # a crash cut the last line mid-token
        with pytest.warns(cf.RefreshedTokensApplied, match="skipped 1 incomplete"):
            read = {t.label: t for t in cf.tokens_from_csv(tmp_path / "tokens.csv")}
        last = list(csv.DictReader(whole.decode().splitlines()))[-1]["label"]
        cut = next(a for a in sb.accounts if a.label == last)
        assert pairs_of(list(read.values()))[cut.label] == before[cut.label]  # cut: not used
        other = next(t for t in read.values() if t.label != cut.label)
        with cf.refreshed_writer(tmp_path / "tokens.csv") as store:  # the next append
            store(other.with_pair("at_next_00000000000", "rt_next_00000000000"))
        with pytest.warns(cf.RefreshedTokensApplied, match="skipped 1 incomplete"):
            fixed = {t.label: t for t in cf.tokens_from_csv(tmp_path / "tokens.csv")}
    text = saved.read_bytes()
    assert text.count(b"\r\n") == len(text.splitlines())  # every line whole, CRLF
    assert pairs_of([fixed[other.label]])[other.label] == (
        "at_next_00000000000",
        "rt_next_00000000000",
    )
    assert pairs_of([fixed[cut.label]])[cut.label] == before[cut.label]


def test_each_pair_is_one_write_of_one_whole_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[bytes] = []
    real_write = os.write

    def recording(fd: int, data: bytes) -> int:
        writes.append(bytes(data))
        return real_write(fd, data)

    store = cf.refreshed_writer(tmp_path / "tokens.csv")
    monkeypatch.setattr(os, "write", recording)
    token = cf.Token("at_0000000000000000", "uk", "a\rb\nc", "rt_0000000000000000")
    store(token.with_pair("at_1111111111111111", "rt_1111111111111111"))
    store.close()
    assert len(writes) == 1
    assert writes[0].endswith(b"\r\n")
    assert b'"a\rb\nc"' in writes[0]  # a line end inside a field is quoted


# -- 4. tokens_to_csv and every secret-bearing file --------------------------------------


def test_tokens_to_csv_never_writes_through_a_temporary_file_another_user_made() -> None:
    folder = shared_folder(0o777)  # a shared, group- and world-writable folder
    try:
        planted = as_nobody_shell(f"umask 0 && touch {folder / '.tokens.csv.tmp'}")  # 0666
        assert planted.returncode == 0, planted.stderr
        path = cf.tokens_to_csv(
            [cf.Token("at_0000000000000000", "uk", "acme")], folder / "tokens.csv"
        )
        left = sorted(p.name for p in folder.iterdir())
        theirs = (folder / ".tokens.csv.tmp").read_bytes()
        info = path.stat()
    finally:
        remove(folder)
    assert theirs == b""  # never written through
    assert left == [".tokens.csv.tmp", "tokens.csv"]  # no temporary left behind
    assert stat.S_IMODE(info.st_mode) == 0o600
    assert info.st_uid == os.getuid()


def test_a_temporary_name_taken_by_a_link_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = iter(["fixed0000000000", "fresh0000000000"])
    monkeypatch.setattr(secrets, "token_hex", lambda _: next(names))
    target = tmp_path / "elsewhere"
    target.write_text("untouched")
    (tmp_path / ".tokens.csv.fixed0000000000.tmp").symlink_to(target)
    cf.tokens_to_csv([cf.Token("at_0000000000000000", "uk", "acme")], tmp_path / "tokens.csv")
    assert target.read_text() == "untouched"
    assert not (tmp_path / ".tokens.csv.fresh0000000000.tmp").exists()
    assert "acme" in (tmp_path / "tokens.csv").read_text()


def test_tokens_to_csv_refuses_another_users_file(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give the file to another user")
    path = tmp_path / "tokens.csv"
    path.write_text("")
    os.chown(path, NOBODY, NOBODY)
    with pytest.raises(ValueError, match="belongs to another user"):
        cf.tokens_to_csv([cf.Token("at_0000000000000000", "uk", "acme")], path)
    assert path.read_text() == ""


def test_a_label_with_a_lone_cr_survives_a_round_trip(tmp_path: Path) -> None:
    tokens = [
        cf.Token("at_0000000000000000", "uk", "a\rb", "rt_0000000000000000"),
        cf.Token("at_1111111111111111", "de", "c\nd"),
        cf.Token("at_2222222222222222", "au", 'e,"f'),
    ]
    path = cf.tokens_to_csv(tokens, tmp_path / "tokens.csv")
    assert path.read_bytes().count(b"\r\n") == 4  # CRLF after each record
    assert cf.tokens_from_csv(path) == tokens


# -- 5. what a message may quote ------------------------------------------------------------


HEADERLESS = "acme,uk,sbxat_SECRETACCESS0000000000,sbxrt_SECRETREFRESH00000000\n"


def test_a_tokens_csv_without_its_header_row_is_never_quoted(tmp_path: Path) -> None:
    path = tmp_path / "tokens.csv"
    path.write_text(HEADERLESS)
    with pytest.raises(ValueError, match="no 'access_token' column") as raised:
        cf.tokens_from_csv(path)
    done = cli("load", str(path), "--out", str(tmp_path / "out"))
    picker = TokenPicker()
    picker.path.value = str(path)
    picker.path_button.click()
    uploaded_picker = TokenPicker()
    uploaded_picker.upload.value = uploaded(HEADERLESS)
    widgets = [html.unescape(p.message.value) for p in (picker, uploaded_picker)]
    said = [str(raised.value), done.stderr, *widgets]
    for text in said:
        assert "SECRET" not in text
        assert "column 3 (28 characters)" in text
        assert "no 'access_token' column" in text
    assert done.returncode == 2


def test_known_column_names_are_quoted_and_nothing_else() -> None:
    header = ["label", "Data_Center", "sbxat_SECRETACCESS0000000000"]
    assert token_store.describe_header(header) == (
        "'label', 'data_center', column 3 (28 characters)"
    )


@pytest.mark.parametrize(
    "value",
    [
        "https://api-uk.cronofy.com/oauth/token?refresh_token=SECRET",
        "http://127.0.0.1:8123 SECRET",
        "https://SECRETSECRET.example.com",
        "api-uk.cronofy.com/SECRET",
    ],
)
def test_a_value_that_merely_starts_like_a_url_is_not_quoted(value: str) -> None:
    with pytest.raises(ValueError, match="data center") as raised:
        cf.Token("at_0000000000000000", value, "acme")
    assert "SECRET" not in str(raised.value)
    assert f"a value of {len(value)} characters" in str(raised.value)


@pytest.mark.parametrize(
    "value", ["eu", "api-eu.cronofy.com", "https://api-eu.cronofy.com", "http://10.0.0.1:80"]
)
def test_a_whole_id_host_or_url_is_quoted(value: str) -> None:
    with pytest.raises(ValueError, match="data center") as raised:
        cf.Token("at_0000000000000000", value, "acme")
    quoted = repr(value) in str(raised.value)
    assert quoted == (value != "http://10.0.0.1:80")  # not loopback, not Cronofy: its length


# -- 6. one owner ------------------------------------------------------------------------------


def test_every_reader_and_writer_of_tokens_lives_in_the_token_store() -> None:
    for name in (
        "tokens_from_csv",
        "tokens_from_frame",
        "tokens_from_env",
        "credentials_from_csv",
        "credentials_from_env",
        "tokens_to_csv",
        "refreshed_writer",
    ):
        assert getattr(cf, name).__module__ == "cronofy_frames.token_store", name
    source = Path(cf.credentials.__file__).read_text()
    assert "import csv" not in source
    assert "open(" not in source
