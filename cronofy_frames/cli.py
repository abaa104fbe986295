"""``cronofy-frames``: the command line, a thin face over the public API.

Exit status: 0 when all went well, 1 when some tokens failed (their errors are in
errors.csv and the rest of the data is written), 2 for bad input (including a
refreshed-pairs file that cannot be written), 3 when a refreshed pair could not be
appended to it mid-load (it went to the fallback file named), 130 when interrupted
(Ctrl-C), 143 when terminated (SIGTERM). Output fits 100 columns.
Errors go to stderr, one line each.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import re
import signal
import sys
import textwrap
import threading
import unicodedata
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NoReturn, TextIO

import pandas as pd

from . import RateLimit, RefreshedPairsNotSaved
from .credentials import ClientCredentials, Token, normalize_credentials, refreshable
from .diff import diff
from .export import FORMATS
from .folder_load import PartsFolder, RunOutcome, load_to_folder
from .health import connection_health, scope_audit
from .history import TREND_BY, read_history
from .loader import LoadOptions, describe_floor, load, time_floor
from .snapshot import Tally, folder_time, read_snapshot, snapshot_folder, unfinished_folders
from .token_store import (
    RefreshedTokenWriter,
    check_private_file,
    credentials_from_csv,
    read_tokens,
    refreshed_path,
)

DEFAULTS = LoadOptions  # the loaders' defaults, named once in _config
LIMIT = RateLimit()  # Cronofy's documented default per application

USAGE = """\
usage: cronofy-frames COMMAND [options]

commands:
  load      load profiles, accounts and calendars for the tokens in a CSV into a folder
  health    print the connection-health report of a folder written by load
  diff      what changed between two folders written by load (last week's and this one)
  trend     per snapshot of a history folder (load --history): tokens, failures, profiles
  chronic   profiles disconnected, and tokens failing, for weeks in a history folder
  demo      start the local sandbox, load all its tokens and print the health report
  sandbox   run the local Cronofy-compatible API server (six data centers on 127.0.0.1)

'cronofy-frames COMMAND --help' explains each command."""

LOAD_HELP = """\
Load calendar profiles, accounts and calendars for every token in TOKENS (a CSV with
an access_token column and optional label, data_center, refresh_token columns) and
write profiles.csv, accounts.csv, calendars.csv, conferencing.csv, errors.csv,
roster.json and snapshot.json into --out. Finished
work is written in chunks as it arrives: after Ctrl-C or a crash, rerun with --resume
to go on without fetching finished tokens again. Tokens refreshed on the way are
appended, as each refresh happens, to --save-refreshed (default TOKENS.refreshed.csv,
readable by you only); the next run applies a stored pair only over the very pair
it replaced, for the same label, data center and sandbox URL. A refreshed-pairs file
that cannot be written is refused before any request; if an append fails mid-load (a
full disk), refreshing stops, the pair goes to a fallback file (named on stderr, read
back beside the file) and the tokens that needed a refresh are left for --resume.
Failed tokens are listed after the counts (a screenful; all of them in errors.csv).
Exit status 0: all tokens loaded; 1: some failed (see errors.csv); 2: bad input;
3: refreshed pairs could not be appended (see the fallback file); 130: interrupted
(Ctrl-C); 143: terminated (SIGTERM). Both keep finished work for --resume."""


_ESCAPES = re.compile(  # CSI (ESC [ or 0x9b), OSC (ESC ] ... BEL or ST), any other ESC x
    r"\x1b\[[0-?]*[ -/]*[@-~]?|\x9b[0-?]*[ -/]*[@-~]?|\x1b\][^\x07\x1b]*(\x07|\x1b\\)?|\x1b.?"
)


def terminal_safe(text: str) -> str:
    """``text`` without escape sequences, and with every other control or format
    character (carriage return, bidi overrides, zero-width...) but newline and tab
    shown as ``?``: data from the API never drives the terminal."""
    text = _ESCAPES.sub("", text)
    return "".join(
        "?" if unicodedata.category(c) in ("Cc", "Cf") and c not in "\n\t" else c for c in text
    )


def say(*parts: object, file: TextIO | None = None) -> None:
    """``print`` for anything that holds data: through :func:`terminal_safe` (nothing at
    all for empty text)."""
    if not any(str(p) for p in parts):
        return
    print(terminal_safe(" ".join(str(p) for p in parts)), file=file or sys.stdout)


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to a sub-command; returns the process exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "sandbox":
        from .sandbox.cli import main as sandbox_main

        return sandbox_main(rest)
    if command not in COMMANDS:
        say(f"error: unknown command {command!r} (try 'cronofy-frames --help')", file=sys.stderr)
        return 2
    try:
        return COMMANDS[command](rest)
    except KeyboardInterrupt:  # outside a load (which keeps its work and returns 130)
        print("interrupted", file=sys.stderr)
        return 143 if TERMINATED.is_set() else 130


TERMINATED = threading.Event()  # set by SIGTERM (the program's, see console)


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM is a Ctrl-C: finished work kept, the --resume hint, then exit 143."""
    TERMINATED.set()
    raise KeyboardInterrupt


def console() -> NoReturn:
    """The ``cronofy-frames`` program: :func:`main`, then exit with its status. SIGTERM
    (a scheduler stopping the job) ends a load as Ctrl-C does, with exit status 143.
    After an interrupt, further ones are ignored while the process ends (worker threads
    finish their last request, bounded by the timeout), so no traceback is printed."""
    signal.signal(signal.SIGTERM, _terminate)
    status = main()
    if status in (130, 143):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.exit(status)


def _load_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cronofy-frames load", description=LOAD_HELP)
    p.add_argument("tokens", metavar="TOKENS", help="CSV of tokens")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", metavar="DIR", help="folder for the files")
    where.add_argument(
        "--history",
        metavar="DIR",
        help="a history folder: the snapshot goes to DIR/<UTC time>/ (Parquet unless "
        "--format says otherwise), never over an earlier one; see 'cronofy-frames trend'",
    )
    p.add_argument(
        "--credentials",
        metavar="FILE",
        help="CSV of data_center,client_id,client_secret (needed to refresh)",
    )
    p.add_argument("--save-refreshed", metavar="FILE", help="where refreshed tokens are appended")
    p.add_argument("--resume", action="store_true", help="go on with an interrupted run in --out")
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULTS.timeout,
        help=f"seconds one attempt of a request may take (default {DEFAULTS.timeout:g})",
    )
    p.add_argument(
        "--max-workers",
        type=int,
        default=DEFAULTS.max_workers,
        help=f"requests in flight per data center (default {DEFAULTS.max_workers})",
    )
    p.add_argument(
        "--retries",
        type=int,
        default=DEFAULTS.retries,
        help=f"retries per request (default {DEFAULTS.retries})",
    )
    limit = f"{LIMIT.per_second}/{LIMIT.per_minute}"
    p.add_argument(
        "--rate-limit",
        default=limit,
        metavar="PER_SECOND/PER_MINUTE",
        help=f"your application's limit on every data center (default {limit})",
    )
    p.add_argument(
        "--no-rate-limit",
        action="store_true",
        help="no client-side limit (for a sandbox without one)",
    )
    p.add_argument(
        "--endpoints",
        choices=("auto", "documented"),
        default="auto",
        help="auto: one /v1/userinfo request per token where allowed (default)",
    )
    p.add_argument(
        "--exact-scopes",
        action="store_true",
        help="with auto: also GET /v1/account for tokens whose userinfo scope is a "
        "simplified scope (read_write ...), so the scope column is fine-grained",
    )
    p.add_argument(
        "--format", choices=FORMATS, help="file format (default csv; parquet with --history)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def _options(args: argparse.Namespace) -> LoadOptions:
    second, _, minute = args.rate_limit.partition("/")
    try:
        limit = RateLimit(int(second), int(minute))
    except ValueError:
        raise ValueError(
            f"--rate-limit {args.rate_limit!r}: want PER_SECOND/PER_MINUTE, "
            f"e.g. {LIMIT.per_second}/{LIMIT.per_minute}"
        ) from None
    options = LoadOptions(
        credentials=credentials_from_csv(args.credentials) if args.credentials else None,
        timeout=args.timeout,
        max_workers=args.max_workers,
        retries=args.retries,
        progress=not args.no_progress,
        errors="ignore",
        rate_limits=None if args.no_rate_limit else limit,
        endpoints=args.endpoints,
        exact_scopes=args.exact_scopes,
    )
    options.transport_config()  # --timeout -3 and the like: refused before any folder
    return options


def load_command(argv: Sequence[str]) -> int:
    """``cronofy-frames load``."""
    args = _parse(_load_parser(), argv)
    saved = Path(args.save_refreshed or refreshed_path(args.tokens))
    try:
        options = _options(args)
        check_private_file(saved)  # a link or another user's file: refused before anything
        read = read_tokens(args.tokens, saved)
        if read.note():
            say(read.note(), file=sys.stderr)
        store = _store(read.tokens, options, saved)  # refused here, before any request
        if options.credentials is None and any(t.refresh_token for t in read.tokens):
            _warn_no_credentials(args.tokens)
        out, when = _destination(args)
        if options.progress:  # said with the progress bar, before it starts
            _say_floor(read.tokens, options, out if args.resume else None)
        fmt = args.format or ("parquet" if args.history else "csv")
        with warnings.catch_warnings():  # said once, by _report, from the outcome
            warnings.simplefilter("ignore", RefreshedPairsNotSaved)
            warnings.simplefilter("ignore", RuntimeWarning)
            outcome = load_to_folder(
                read.tokens,
                out,
                options,
                resume=args.resume,
                refreshed=store,
                fmt=fmt,
                taken_at=when,
            )
    except (ValueError, OSError) as exc:
        return _fail(exc)
    except KeyboardInterrupt:  # outside the fan-out (which hands a Ctrl-C over itself)
        where = args.out or args.history
        say(
            f"interrupted: finished work is kept in {where}; rerun the same command with "
            "--resume to go on",
            file=sys.stderr,
        )
        return 143 if TERMINATED.is_set() else 130
    return _report(outcome, saved, out / f"errors.{fmt}")


def _say_floor(tokens: list[Token], options: LoadOptions, resumed: Path | None) -> None:
    """What the rate limits allow for the tokens this run will load (with --resume:
    those an earlier run did not finish)."""
    done = PartsFolder(resumed).done_labels() if resumed is not None else set()
    left = [t for t in tokens if t.label not in done]
    floor = time_floor(left, rate_limits=options.rate_limits, endpoints=options.endpoints)
    if done:
        print(
            f"rate limits: {len(done):,} tokens already done, {len(left):,} left", file=sys.stderr
        )
    for line in describe_floor(floor):
        print(f"rate limits: {line}", file=sys.stderr)


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """The arguments; an option the command does not know is named first (with the one
    it most likely meant), before what a required option misses."""
    known = {s for action in parser._actions for s in action.option_strings}
    for word in argv:
        name = word.split("=", 1)[0]
        if name.startswith("--") and name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            parser.error(f"unknown option {name}{hint}")
    return parser.parse_args(argv)


def _warn_no_credentials(tokens_csv: str) -> None:
    say(
        "warning: no --credentials: an expired token cannot be refreshed and will be "
        "'unauthorized' (give the CSV of data_center,client_id,client_secret of your "
        f"Cronofy application for the tokens of {tokens_csv})",
        file=sys.stderr,
    )


def _store(tokens: list[Token], options: LoadOptions, path: Path) -> RefreshedTokenWriter | None:
    """The refreshed-pairs file, opened now (a ValueError naming it when it cannot be
    created or appended), when some token can be refreshed with the credentials given."""
    if not refreshable(tokens, normalize_credentials(options.credentials)):
        return None
    return RefreshedTokenWriter(path)


def _destination(args: argparse.Namespace) -> tuple[Path, pd.Timestamp | None]:
    """``--out``, or with ``--history`` a new snapshot folder named by the time now (with
    ``--resume``: the newest folder an interrupted run left unfinished) and that time."""
    if args.history is None:
        return Path(args.out), None
    root = Path(args.history)
    if args.resume:
        unfinished = unfinished_folders(root)
        if unfinished:
            return unfinished[-1], folder_time(unfinished[-1])
    when = pd.Timestamp.now(tz="UTC").floor("s")
    return snapshot_folder(root, when), when


def _report(outcome: RunOutcome, saved: Path, errors_file: Path) -> int:
    say(summary(len(outcome.tokens), outcome.tally, outcome.errors))
    say(failures(outcome.errors, errors_file))
    if outcome.refreshed:
        print(
            f"{outcome.refreshed} tokens were refreshed: their new pairs are in {saved}",
            file=sys.stderr,
        )
    if outcome.pairs_refused:
        return _pairs_refused(outcome, saved)
    if not outcome.complete:
        print(
            f"interrupted: {len(outcome.unfinished):,} tokens not finished (finished work is "
            "kept); rerun the same command with --resume to go on",
            file=sys.stderr,
        )
        return 143 if TERMINATED.is_set() else 130
    say(wrote(outcome.written))
    return 1 if not outcome.errors.empty else 0


def _pairs_refused(outcome: RunOutcome, saved: Path) -> int:
    """Exit status 3, after saying loudly where the refused pairs are."""
    where = (
        f"they were written to {outcome.unsaved}"
        + ("" if outcome.unsaved.parent == saved.parent else f" (move it beside {saved})")
        if outcome.unsaved is not None
        else "no fallback file could be written either: they are lost when this ends"
    )
    say(
        f"error: refreshed pairs could not be appended to {saved} (a full disk?): {where}. "
        f"Refreshing stopped; {len(outcome.unfinished)} tokens were left unfinished: "
        "make room, then rerun with --resume",
        file=sys.stderr,
    )
    return 3


SCREENFUL = 20  # failed tokens listed on the terminal; the rest are in the errors file
WIDTH = 100  # what the commands print fits this many columns
_ENDPOINT = re.compile(r"^(GET|POST) /\S+: ")


def failures(errors: pd.DataFrame, where: Path) -> str:
    """The failed tokens (label, data center, kind, the whole reason, wrapped), a
    screenful at most, and where all of them are; "" when none failed."""
    errors = errors.drop_duplicates("token_label")
    if errors.empty:
        return ""
    shown = errors.head(SCREENFUL)
    heads = [
        f"{t}  {dc}  {k}"
        for t, dc, k in zip(
            shown["token_label"], shown["data_center"], shown["kind"].astype(str), strict=True
        )
    ]
    indent = min(max(map(len, heads)) + 2, WIDTH // 2)
    lines = []
    for head, message in zip(heads, shown["message"], strict=True):
        reason = _ENDPOINT.sub("", str(message))
        wrapped = textwrap.wrap(reason, WIDTH - indent) or [""]
        lines.append(f"{head:<{indent}}{wrapped[0]}")
        lines += [" " * indent + more for more in wrapped[1:]]
    rest = len(errors) - len(shown)
    more = f"... and {rest:,} more; every" if rest else "Every"
    tail = f"{more} error is in {where}"
    if len(tail) > WIDTH:  # a long path on a line of its own
        tail = f"{more} error is in\n  {where}"
    return "\nfailed tokens:\n" + "\n".join(lines) + f"\n{tail}"


def _fail(exc: BaseException) -> int:
    say(f"error: {exc}", file=sys.stderr)
    return 2


def summary(tokens: int, tally: Tally, errors: pd.DataFrame) -> str:
    """A few lines on a load: tokens, accounts, profiles, disconnected, errors by kind."""
    failed = errors["token_label"].nunique()
    kinds = errors["kind"].value_counts()
    by_kind = ", ".join(f"{k}={n}" for k, n in kinds.items() if n) or "none"
    t = tally
    return "\n".join(
        [
            f"tokens        {tokens} ({failed} with errors)",
            f"accounts      {t.accounts}",
            f"profiles      {t.profiles} ({t.disconnected} disconnected, "
            f"{t.syncing} in initial sync)",
            f"calendars     {t.calendars}",
            f"conferencing  {t.conferencing}",
            f"errors        {by_kind}",
        ]
    )


def health_command(argv: Sequence[str]) -> int:
    """``cronofy-frames health DIR``."""
    p = argparse.ArgumentParser(
        prog="cronofy-frames health",
        description="Print the connection-health report of a folder written by "
        "'cronofy-frames load' (or Snapshot.to_csv / to_parquet): tokens by status, "
        "profiles to relink, totals by data center and provider service. Exit status 1 "
        "when some tokens failed.",
    )
    p.add_argument("folder", metavar="DIR")
    p.add_argument(
        "--scopes",
        metavar="'SCOPE ...'",
        help="also list accounts lacking any of these scopes (space-separated)",
    )
    args = p.parse_args(argv)
    try:
        snap = read_snapshot(args.folder)
        with _said_warnings():  # an undocumented scope name: one warning line
            audit = scope_audit(snap, args.scopes) if args.scopes else None
    except (ValueError, OSError) as exc:
        return _fail(exc)
    report = connection_health(snap)
    say(report)
    if audit is not None:
        say(f"\naccounts lacking a scope ({len(audit)}):")
        for line in scope_lines(audit):
            say(line)
    return 1 if (report.tokens["status"] != "ok").any() else 0


def scope_lines(audit: pd.DataFrame) -> list[str]:
    """The scope audit as lines, in its order (missing first, then by label), unpadded:
    label, account id, then what is missing or which shorthand makes it unverifiable."""
    lines = []
    for row in audit.to_dict("records"):
        if row["status"] == "missing":
            what = f"missing {row['missing']}"
        else:
            what = f"unverifiable ({row['shorthands']}): {row['unverified']}"
        account = row["account_id"] if isinstance(row["account_id"], str) else "-"
        lines.append(f"{row['token_label']}  {account}  {what}")
    return lines


def diff_command(argv: Sequence[str]) -> int:
    """``cronofy-frames diff OLD NEW``."""
    p = argparse.ArgumentParser(
        prog="cronofy-frames diff",
        description="What changed from the folder OLD to the folder NEW (both written by "
        "'cronofy-frames load'): profiles newly disconnected, reconnected, added, removed; "
        "tokens that died or came back; accounts whose scope changed.",
    )
    p.add_argument("old", metavar="OLD")
    p.add_argument("new", metavar="NEW")
    args = p.parse_args(argv)
    try:
        changes = diff(read_snapshot(args.old), read_snapshot(args.new))
    except (ValueError, OSError) as exc:
        return _fail(exc)
    say(changes)
    for name in ("newly_disconnected", "tokens_died", "scope_changed"):
        frame = getattr(changes, name)
        if len(frame):
            say(f"\n{name.replace('_', ' ')}:\n{frame.to_string(index=False, line_width=WIDTH)}")
    return 0


def demo_command(argv: Sequence[str]) -> int:
    """``cronofy-frames demo``: the sandbox, loaded end to end, and its health report."""
    p = argparse.ArgumentParser(
        prog="cronofy-frames demo",
        description="Start the built-in sandbox (a few expired and revoked tokens, some "
        "503s), load every token, print the health report and write the CSV files.",
    )
    p.add_argument("--accounts", type=int, default=200, help="sandbox accounts (default 200)")
    p.add_argument("--out", default="demo-out", metavar="DIR", help="folder (default demo-out)")
    args = p.parse_args(argv)
    if args.accounts < 1:
        return _fail(ValueError(f"--accounts must be positive, got {args.accounts}"))
    from . import sandbox

    faults = sandbox.Faults(expired=0.08, revoked=0.02, http_503=0.02, latency=0.01)
    with sandbox.serve(accounts=args.accounts, seed=7, faults=faults) as sb:
        tokens = [
            Token(a.access_token, a.data_center, a.label, a.refresh_token, base_url=a.base_url)
            for a in sb.accounts
        ]
        creds = {url: ClientCredentials(*pair) for url, pair in sb.credentials_by_url.items()}
        snap = load(tokens, credentials=creds, errors="ignore")
    try:
        paths = snap.to_csv(args.out)
    except OSError as exc:
        return _fail(exc)
    say(summary(len(snap.tokens), Tally.of(snap), snap.errors))
    say(failures(snap.errors, Path(args.out) / "errors.csv"))
    say(f"\n{connection_health(snap)}")
    say("\n" + textwrap.fill(INJECTED, WIDTH))
    say(f"\n{wrote(paths)}")
    return 0


INJECTED = (
    "The sandbox failed on purpose, to show what a real audit meets: 8% of its tokens "
    "expired (refreshed with the client credentials: they load), 2% revoked "
    "(refresh_failed: a customer must authorize again), and 2% of requests answered 503 "
    "(retried; a token whose retries all failed is server_error: load it again)."
)


def wrote(paths: list[Path]) -> str:
    """ "wrote 7 files to FOLDER: profiles.csv, ...", wrapped to 100 columns."""
    folders = {str(p.parent) for p in paths}
    if len(folders) != 1:
        return textwrap.fill("wrote " + ", ".join(map(str, paths)), WIDTH)
    names = ", ".join(p.name for p in paths)
    return textwrap.fill(f"wrote {len(paths)} files to {folders.pop()}: {names}", WIDTH)


def trend_command(argv: Sequence[str]) -> int:
    """``cronofy-frames trend DIR``."""
    p = argparse.ArgumentParser(
        prog="cronofy-frames trend",
        description="Per snapshot of the history folder DIR (written by 'cronofy-frames "
        "load --history DIR'): tokens ok and failed by kind, profiles connected, "
        "disconnected and in initial sync, and the percentage disconnected. Exit status 0 "
        "when the report is printed, 2 for bad input.",
    )
    p.add_argument("folder", metavar="DIR")
    p.add_argument("--by", choices=TREND_BY, help="one line per snapshot and value of this column")
    args = p.parse_args(argv)
    try:
        with _said_warnings():
            table = read_history(args.folder).trend(args.by)
    except (ValueError, OSError, ImportError) as exc:
        return _fail(exc)
    table["snapshot_at"] = table["snapshot_at"].dt.strftime("%Y-%m-%d %H:%M:%S")
    say(table.to_string(index=False, line_width=WIDTH))
    return 0


def chronic_command(argv: Sequence[str]) -> int:
    """``cronofy-frames chronic DIR``."""
    p = argparse.ArgumentParser(
        prog="cronofy-frames chronic",
        description="Profiles (calendar and conferencing) disconnected, and tokens "
        "failing, in every snapshot of the history folder DIR taken within --weeks weeks "
        "before the newest (at least two snapshots), with since when and the newest "
        "relink URL. Exit status 0 when the report is printed, 2 for bad input.",
    )
    p.add_argument("folder", metavar="DIR")
    p.add_argument("--weeks", type=int, default=4, help="how long (default 4)")
    args = p.parse_args(argv)
    try:
        with _said_warnings():
            history = read_history(args.folder)
        found = history.chronic(args.weeks)
    except (ValueError, OSError, ImportError) as exc:
        return _fail(exc)
    _warn_short_history(history.snapshots["taken_at"], args.weeks)
    say(found)
    for title, frame in (("profiles", found.profiles), ("tokens", found.tokens)):
        if len(frame):
            shown = frame.assign(since=frame["since"].dt.strftime("%Y-%m-%d %H:%M:%S"))
            say(f"\n{title}:\n{shown.to_string(index=False, line_width=WIDTH)}")
    return 0


@contextlib.contextmanager
def _said_warnings() -> Iterator[None]:
    """Warnings raised inside as one ``warning:`` line each on stderr (through
    ``say``: a folder name's escape sequences never reach the terminal)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for warning in caught:
        say(f"warning: {warning.message}", file=sys.stderr)


def _warn_short_history(taken: pd.Series, weeks: int) -> None:
    """A history that spans less than the window cannot show a problem that long."""
    span = taken.max() - taken.min() if len(taken) else pd.Timedelta(0)
    if span < pd.Timedelta(weeks=weeks):
        say(
            f"warning: the history spans {span.days} days ({len(taken)} snapshots), less "
            f"than --weeks {weeks}: what is listed has lasted that long at most",
            file=sys.stderr,
        )


COMMANDS = {
    "load": load_command,
    "health": health_command,
    "diff": diff_command,
    "trend": trend_command,
    "chronic": chronic_command,
    "demo": demo_command,
}
