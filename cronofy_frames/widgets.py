"""Notebook pickers and the load panel (ipywidgets: the ``notebook`` extra).

    from cronofy_frames.widgets import TokenPicker, LoadPanel
    picker = TokenPicker()          # paste tokens without putting them in the notebook
    LoadPanel(picker)               # Load, progress, tables, health, CSV / Parquet export

Secrets never stay in widget state (which a saved notebook stores): the password
fields are cleared the moment they are read, an uploaded CSV is dropped from the
upload widget once read, and the list of tokens shows labels, data centers and the
last four characters only. The widgets call the public loaders, never HTTP.
"""

from __future__ import annotations

import base64
import html
import io
import os
import threading
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import ipywidgets as w
import pandas as pd

from ._exceptions import RefreshedPairsNotSaved
from ._redact import mask
from .credentials import Token, normalize_credentials, refreshable, unique_tokens
from .data_centers import DATA_CENTERS, resolve
from .health import HealthReport, connection_health, plot_connections
from .loader import (
    ProgressCounts,
    Snapshot,
    chain_refresh,
    describe_floor,
    keep_unsaved,
    load,
    time_floor,
)
from .tables import FrameTable, html_table
from .token_store import (
    RefreshedTokenWriter,
    StoreRead,
    apply_refreshed,
    credentials_from_csv_text,
    credentials_from_env,
    read_tokens,
    refreshed_path,
    refreshed_writer,
    tokens_from_csv_text,
    tokens_from_env,
)

__all__ = ["DataCenterPicker", "LoadPanel", "TokenPicker"]

CUSTOM = "custom"
UPLOAD_LIMIT = 10 * 2**20  # tornado's WebSocketHandler max_message_size, which Jupyter keeps
LABELS = {"description_width": "100px"}


def _message(box: w.HTML, text: str, ok: bool = False) -> None:
    color = "#2e7d32" if ok else "#c62828"
    box.value = f'<span style="color:{color}">{html.escape(text)}</span>' if text else ""


class DataCenterPicker:
    """One of the six data centers (id, country, host: no emoji, which some browsers
    show as empty boxes), or a custom base URL for a sandbox."""

    def __init__(self, value: str = "us") -> None:
        options = [(f"{dc.id} — {dc.country} ({dc.api_host})", dc.id) for dc in DATA_CENTERS]
        self.dropdown = w.Dropdown(
            options=[*options, ("Custom URL (sandbox) …", CUSTOM)],
            description="Data center",
            style=LABELS,
            layout=w.Layout(width="420px"),
        )
        self.url = w.Text(
            placeholder="http://127.0.0.1:8123",
            description="URL",
            style=LABELS,
            layout=w.Layout(display="none"),
        )
        self.dropdown.observe(self._toggle, names="value")
        self.widget = w.VBox([self.dropdown, self.url])
        self.value = value

    def _toggle(self, change: Mapping[str, Any]) -> None:
        self.url.layout.display = "" if change["new"] == CUSTOM else "none"

    @property
    def value(self) -> str:
        """The chosen id, or the custom URL as typed."""
        return self.url.value.strip() if self.dropdown.value == CUSTOM else str(self.dropdown.value)

    @value.setter
    def value(self, value: str) -> None:
        key = resolve(value).route
        if key in {dc.id for dc in DATA_CENTERS}:
            self.dropdown.value = key
        else:
            self.dropdown.value, self.url.value = CUSTOM, key

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


class TokenPicker:
    """Add tokens by hand, from an uploaded CSV, a CSV on the notebook server or the
    environment; see them summed up by data center and in a searchable, paged list.

    ``tokens`` is the list to load. The widget count is the same for 10 tokens or
    50,000: the list is one multiple-choice box holding a page of labels. Bad input shows
    one message naming the file and row. With **Replace** ticked, a new file or set of
    tokens replaces the list instead of adding to it; **Clear** empties it. Tokens read
    from a CSV get the stored pairs of the refreshed-pairs file beside it applied (only
    over the very pairs they replaced; an upload looks in the notebook's folder), and
    ``sources`` remembers that CSV for each label, so that a ``LoadPanel`` appends their
    refreshed pairs there. ``credentials`` (set by a ``LoadPanel``) lets the summary
    count the tokens that can be refreshed.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ
        self.tokens: list[Token] = []
        self.sources: dict[str, Path] = {}  # label -> the tokens CSV it came from
        self.credentials: Mapping[str, Any] = {}
        self._view: list[int] = []  # positions in ``tokens`` that match the search
        self.page = 0
        self._build_entry()
        self._build_list()
        self.widget = w.VBox([self.entry, self.message, self.summary, self.list_box])

    def _build_entry(self) -> None:
        self.access = w.Password(
            description="Access token", placeholder="paste it here", style=LABELS
        )
        self.refresh = w.Password(description="Refresh token", placeholder="optional", style=LABELS)
        self.label = w.Text(description="Label", placeholder="e.g. acme (optional)", style=LABELS)
        self.data_center = DataCenterPicker()
        self.add_button = w.Button(description="Add", button_style="primary", icon="plus")
        self.upload = w.FileUpload(accept=".csv", description="CSV")
        self.env_button = w.Button(description="From environment", icon="download")
        self.path = w.Text(
            description="CSV path", placeholder="tokens.csv on the notebook server", style=LABELS
        )
        self.path_button = w.Button(description="Read file", icon="folder-open")
        self.upload_note = w.HTML(
            f"<small>Uploads travel through the notebook server's websocket, which refuses "
            f"messages over {UPLOAD_LIMIT // 2**20} MiB (tornado's default) without a word: "
            "for a larger file, type its path on the server below.</small>"
        )
        self.replace = w.Checkbox(description="Replace the list", indent=False)
        self.clear_button = w.Button(description="Clear", icon="times")
        self.message = w.HTML()
        self.add_button.on_click(lambda _: self._add_typed())
        self.env_button.on_click(lambda _: self._add_from_env())
        self.path_button.on_click(lambda _: self._add_from_path())
        self.clear_button.on_click(lambda _: self.clear())
        self.upload.observe(lambda _: self._add_uploaded(), names="value")
        self.entry = w.VBox(
            [
                self.access,
                self.refresh,
                self.label,
                self.data_center.widget,
                w.HBox([self.add_button, self.upload, self.env_button]),
                self.upload_note,
                w.HBox([self.path, self.path_button]),
                w.HBox([self.replace, self.clear_button]),
            ]
        )

    def _build_list(self) -> None:
        self.summary = w.HTML()
        self.search = w.Text(placeholder="search labels, data centers, last 4 characters")
        self.listing = w.SelectMultiple(rows=10, layout=w.Layout(width="520px"))
        self.previous = w.Button(description="Previous", icon="arrow-left")
        self.next = w.Button(description="Next", icon="arrow-right")
        self.page_label = w.HTML()
        self.remove_selected = w.Button(description="Remove selected", icon="trash")
        self.remove_matching = w.Button(description="Remove all matching", icon="trash")
        self.search.observe(lambda _: self._refilter(), names="value")
        self.previous.on_click(lambda _: self._turn(-1))
        self.next.on_click(lambda _: self._turn(1))
        self.remove_selected.on_click(lambda _: self.remove(*self.listing.value))
        self.remove_matching.on_click(lambda _: self.remove(*self.matching()))
        self.list_box = w.VBox(
            [
                self.search,
                self.listing,
                w.HBox([self.previous, self.next, self.page_label]),
                w.HBox([self.remove_selected, self.remove_matching]),
            ]
        )
        self._refilter()

    def _take_secrets(self) -> tuple[str, str]:
        access, refresh = self.access.value, self.refresh.value
        self.access.value = self.refresh.value = ""  # never left in widget state
        return access, refresh

    def _add_typed(self) -> None:
        access, refresh = self._take_secrets()
        try:
            token = Token(
                access, self.data_center.value, self.label.value.strip() or None, refresh or None
            )
        except ValueError as exc:
            _message(self.message, f"Not added: {exc}")
            return
        if self.add_tokens([token]):
            self.label.value = ""

    def _add_uploaded(self) -> None:
        files = self.upload.value
        if not files:
            return
        self.upload.value = ()  # the file's content must not stay in widget state
        item = files[0]
        try:
            text = bytes(item["content"]).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            _message(self.message, f"Not added: {item['name']} is not UTF-8 (byte {exc.start})")
            return
        # An upload has no folder: its refreshed pairs are kept in the notebook's folder,
        # and a stored pair found there by the file's name is applied only over the very
        # pair it replaced (same label, data center and sandbox URL), never by label alone.
        source = Path(Path(str(item["name"])).name)
        try:
            read = apply_refreshed(tokens_from_csv_text(text, item["name"]), refreshed_path(source))
        except ValueError as exc:  # it names the file and the row
            _message(self.message, f"Not added: {exc}")
            return
        self._add_from_csv(read, source)

    def _add_from_path(self) -> None:
        source = Path(self.path.value.strip())
        try:
            read = read_tokens(source)
        except ValueError as exc:  # it names the file (and the row)
            _message(self.message, f"Not added: {exc}")
            return
        self._add_from_csv(read, source)

    def _add_from_csv(self, read: StoreRead, source: Path) -> None:
        tokens = read.tokens
        if not self.add_tokens(tokens, where=str(source)):
            return
        self.sources.update(dict.fromkeys((t.label for t in tokens), source))
        if read.note():
            _message(
                self.message,
                f"{len(tokens):,} added ({read.note()}); {len(self.tokens):,} in all.",
                ok=not read.ignored and not read.skipped,
            )

    def _add_from_env(self) -> None:
        try:
            tokens = tokens_from_env(
                environ=self._environ if self._environ is not None else os.environ
            )
        except ValueError as exc:
            _message(self.message, str(exc))
            return
        if not tokens:
            _message(self.message, "No CRONOFY_ACCESS_TOKEN… variables in the environment.")
            return
        self.add_tokens(tokens)

    def add_tokens(self, tokens: list[Token], where: str = "the new tokens") -> bool:
        """Add tokens (or, with Replace ticked, put them in place of the list). A label
        or token already in the list is refused with one message naming ``where`` and
        the row; True if added."""
        kept = [] if self.replace.value else self.tokens
        clash = _first_clash(kept, tokens, where)
        try:
            if clash:
                raise ValueError(clash)
            merged = unique_tokens([*kept, *tokens])
        except ValueError as exc:
            _message(self.message, f"Not added: {exc}")
            return False
        if self.replace.value:
            self.sources = {}
        self.tokens = merged
        _message(self.message, f"{len(tokens)} added; {len(self.tokens)} in all.", ok=True)
        self._refilter()
        return True

    def clear(self) -> None:
        """Empty the list."""
        self.tokens, self.sources = [], {}
        _message(self.message, "The list is empty.", ok=True)
        self._refilter()

    def remove(self, *labels: str) -> None:
        """Remove the tokens with these labels."""
        gone = set(labels)
        self.tokens = [t for t in self.tokens if t.label not in gone]
        for label in gone:
            self.sources.pop(label, None)
        self._refilter()

    def matching(self) -> list[str]:
        """The labels of every token the search matches (all pages)."""
        return [self.tokens[i].label for i in self._view]

    def _refilter(self) -> None:
        needle = self.search.value.strip().lower()
        self._view = [
            i for i, t in enumerate(self.tokens) if not needle or needle in _line(t).lower()
        ]
        self.page = 0
        self._show_page()
        self.summary.value = _summary_html(self.tokens, self.credentials)

    def _turn(self, step: int) -> None:
        self.page += step
        self._show_page()

    def _show_page(self) -> None:
        pages = max(1, -(-len(self._view) // LIST_ROWS))
        self.page = min(max(self.page, 0), pages - 1)
        chosen = self._view[self.page * LIST_ROWS : (self.page + 1) * LIST_ROWS]
        self.listing.value = ()
        self.listing.options = [(_line(self.tokens[i]), self.tokens[i].label) for i in chosen]
        self.previous.disabled, self.next.disabled = self.page == 0, self.page >= pages - 1
        self.page_label.value = (
            f"{len(self._view):,} of {len(self.tokens):,} tokens match; "
            f"page {self.page + 1:,} of {pages:,}"
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


LIST_ROWS = 100  # labels per page of the token list


def _line(token: Token) -> str:
    """How a token shows in the list: label, data center, last four characters."""
    return f"{token.label} · {token.data_center} · {mask(token.access_token)}"


def _first_clash(kept: list[Token], new: list[Token], where: str) -> str | None:
    """A message naming the first new token whose label is already in the list."""
    if not kept:
        return None
    labels = {t.label for t in kept}
    for n, token in enumerate(new):
        if token.label in labels:
            return (
                f"{where}, token {n + 1} (label {token.label!r}) is already in the list: "
                "tick Replace to use the new tokens instead, or Clear the list first"
            )
    return None


def _summary_html(tokens: list[Token], credentials: Mapping[str, Any]) -> str:
    """Tokens by data center: how many, with a refresh token, refreshable (a refresh
    token and client credentials for that data center)."""
    if not tokens:
        return "<i>No tokens yet.</i>"
    known = {resolve(str(key)).route for key in credentials}
    counts: dict[str, list[int]] = {}
    for t in tokens:
        row = counts.setdefault(t.data_center, [0, 0, 0])
        row[0] += 1
        if t.refresh_token:
            row[1] += 1
            row[2] += t.data_center in known
    head = "<tr><th>data center</th><th>tokens</th><th>with refresh token</th>"
    head += "<th>refreshable (client credentials)</th></tr>"
    body = "".join(
        f"<tr><td>{html.escape(dc)}</td><td>{a:,}</td><td>{b:,}</td><td>{c:,}</td></tr>"
        for dc, (a, b, c) in sorted(counts.items())
    )
    return f"<table>{head}{body}</table>"


class LoadPanel:
    """Load a TokenPicker's tokens in the background; then the health view and tables.

    **Load** starts the load on a thread, so the kernel stays free: the panel says up
    front what the rate limits allow ("us: 2,505 tokens at 500/min, at least 5 min"),
    then shows progress and counts down; **Stop** ends the load as Ctrl-C does, keeping
    what finished and every refreshed token. A second Load while one runs is refused.
    ``wait()`` returns the snapshot (for scripts and tests). Client credentials come from
    ``credentials`` (per data center), an uploaded CSV (``data_center,client_id,
    client_secret``) or the environment, and show masked. The other keyword options go
    to ``cf.load``. ``snapshot`` holds the last load's result.
    """

    def __init__(
        self, picker: TokenPicker, credentials: Mapping[str, Any] | None = None, **options: Any
    ) -> None:
        self.picker = picker
        self.credentials: dict[str, Any] = dict(credentials or {})
        self.options = options
        self.snapshot: Snapshot | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._floor_seconds = 0.0
        self._build()
        self._show_credentials()

    def _build(self) -> None:
        self.load_button = w.Button(description="Load", button_style="success", icon="play")
        self.stop_button = w.Button(description="Stop", icon="stop", disabled=True)
        self.creds_upload = w.FileUpload(accept=".csv", description="Credentials CSV")
        self.creds_env = w.Button(description="Credentials from environment", icon="download")
        self.creds_view = w.HTML()
        self.plan = w.HTML()
        self.bar = w.IntProgress(min=0, max=1, layout=w.Layout(width="420px"))
        self.status = w.HTML()
        self.summary = w.HTML()
        self.health = w.HTML()
        self.tabs = w.Tab()
        self.tables: dict[str, FrameTable] = {}
        self.folder = w.Text(value="cronofy-export", description="Folder")
        self.csv_button = w.Button(description="Export CSV", icon="file", disabled=True)
        self.parquet_button = w.Button(description="Export Parquet", icon="file", disabled=True)
        self.message = w.HTML()
        self.load_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())
        self.creds_upload.observe(lambda _: self._credentials_uploaded(), names="value")
        self.creds_env.on_click(lambda _: self._credentials_from_env())
        self.csv_button.on_click(lambda _: self.export("csv"))
        self.parquet_button.on_click(lambda _: self.export("parquet"))
        self.widget = w.VBox(
            [
                self.picker.widget,
                w.HBox([self.creds_upload, self.creds_env]),
                self.creds_view,
                w.HBox([self.load_button, self.stop_button]),
                self.plan,
                w.HBox([self.bar, self.status]),
                self.summary,
                self.health,
                self.tabs,
                w.HBox([self.folder, self.csv_button, self.parquet_button]),
                self.message,
            ]
        )

    # -- credentials ------------------------------------------------------------

    def _credentials_uploaded(self) -> None:
        files = self.creds_upload.value
        if not files:
            return
        self.creds_upload.value = ()  # the secret must not stay in widget state
        item = files[0]
        try:
            text = bytes(item["content"]).decode("utf-8-sig")
            self.credentials.update(credentials_from_csv_text(text, str(item["name"])))
        except (UnicodeDecodeError, ValueError) as exc:
            _message(self.message, f"Credentials not read: {exc}")
            return
        self._show_credentials()

    def _credentials_from_env(self) -> None:
        environ = self.picker._environ if self.picker._environ is not None else os.environ
        try:
            found = credentials_from_env(environ=environ)
        except ValueError as exc:
            _message(self.message, f"Credentials not read: {exc}")
            return
        if not found:
            _message(self.message, "No CRONOFY_CLIENT_ID… variables in the environment.")
        self.credentials.update(found)
        self._show_credentials()

    def _show_credentials(self) -> None:
        self.picker.credentials = self.credentials
        self.picker._refilter()
        if not self.credentials:
            self.creds_view.value = (
                "<i>No client credentials: expired tokens cannot be refreshed.</i>"
            )
            return
        shown = [
            f"{html.escape(key)}: {html.escape(c.client_id)} / secret "
            f"{html.escape(mask(c.client_secret))}"
            for key, c in normalize_credentials(self.credentials).items()
        ]
        self.creds_view.value = "Client credentials: " + "; ".join(shown)

    # -- loading ---------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether a load is under way."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> bool:
        """Start loading the picker's tokens in the background (the Load button);
        False (with a message) if there is nothing to load or a load already runs."""
        if self.running:
            _message(self.message, "A load is already running: wait for it, or press Stop.")
            return False
        if not self.picker.tokens:
            _message(self.message, "Add at least one token first.")
            return False
        tokens = list(self.picker.tokens)
        try:
            floor = time_floor(tokens, **self._load_options())
            stores = self._stores(tokens)
        except ValueError as exc:  # a refreshed-pairs file that cannot be written, say
            _message(self.message, f"Not loaded: {exc}")
            return False
        self._before(tokens, floor)
        self._thread = threading.Thread(
            target=self._run, args=(tokens, stores), name="cronofy-panel", daemon=True
        )
        self._thread.start()
        return True

    def _load_options(self) -> dict[str, Any]:
        return {**self.options, "credentials": self.credentials, "errors": "ignore"}

    def _stores(self, tokens: list[Token]) -> dict[Path, RefreshedTokenWriter]:
        """The refreshed-pairs files of the CSVs of the tokens that can be refreshed,
        opened now: one that cannot be written is a ValueError, and no load starts."""
        labels = {t.label for t in refreshable(tokens, normalize_credentials(self.credentials))}
        sources = {src for lbl, src in self.picker.sources.items() if lbl in labels}
        return {source: refreshed_writer(source) for source in sorted(sources)}

    def _before(self, tokens: list[Token], floor: pd.DataFrame) -> None:
        self._stop.clear()
        self._floor_seconds = float(floor["seconds"].max()) if len(floor) else 0.0
        lines = describe_floor(floor)
        self.plan.value = "<br>".join(html.escape(line) for line in lines)
        self.bar.max, self.bar.value = max(1, len(tokens)), 0
        self.status.value = ""
        self.load_button.disabled, self.stop_button.disabled = True, False
        _message(self.message, "")

    def _run(self, tokens: list[Token], stores: dict[Path, RefreshedTokenWriter]) -> None:
        snap = None
        try:
            options = {
                **self._load_options(),
                "progress": False,
                "stop": self._stop,
                "on_progress": self._progress,
                "on_refresh": self._keeper(stores),
            }
            snap = load(tokens, **options)
        except Exception as exc:  # shown, never lost in a thread
            _message(self.message, f"Load failed: {exc}")
        finally:
            self._close_stores(stores)
            self.load_button.disabled, self.stop_button.disabled = False, True
        if snap is not None:
            now = {t.label: t for t in snap.tokens}  # refreshed pairs, for the next load
            self.picker.tokens = [now.get(t.label, t) for t in self.picker.tokens]
            self.snapshot = snap
            try:
                self._show(snap)
            except Exception as exc:  # the snapshot is kept; only the view failed
                _message(self.message, f"Loaded, but the tables could not be shown: {exc}")

    def _close_stores(self, stores: dict[Path, RefreshedTokenWriter]) -> None:
        """Close the refreshed-pairs files; pairs a full disk refused went to a fallback
        file, which the message names (loudly: the panel's own warning)."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RefreshedPairsNotSaved)
            keep_unsaved(*stores.values())
        said = [str(c.message) for c in caught if issubclass(c.category, RefreshedPairsNotSaved)]
        if said:
            _message(self.message, "Refreshing stopped: " + " ".join(said))

    def _progress(self, counts: ProgressCounts) -> None:
        self.bar.value = counts.done
        left = self._floor_seconds * (1 - counts.done / max(1, counts.total))
        self.status.value = html.escape(
            f"{counts.done:,} of {counts.total:,} ({counts.ok:,} ok, {counts.failed:,} failed,"
            f" {counts.waiting} waiting for the rate limit); at least {left:.0f} s left"
        )

    def stop(self) -> None:
        """End the running load, keeping what finished and every refreshed token."""
        self._stop.set()
        self.stop_button.disabled = True

    def wait(self, timeout: float | None = None) -> Snapshot | None:
        """Wait for the running load (if any) to end; the last snapshot."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.snapshot

    def load_and_wait(self) -> Snapshot | None:
        """Load and wait: ``start()`` then ``wait()`` (for scripts and *Run all*)."""
        if not self.start():
            return None
        return self.wait()

    def run(self) -> Snapshot | None:
        """Deprecated name of :meth:`load_and_wait`."""
        warnings.warn(
            "LoadPanel.run is deprecated: use LoadPanel.load_and_wait",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.load_and_wait()

    def _keeper(self, stores: dict[Path, RefreshedTokenWriter]) -> Callable[[Token], None]:
        """``on_refresh`` for a load: each new pair goes to the refreshed-pairs file of
        the CSV its token came from (if any), then to the caller's ``on_refresh``."""
        sources, callback = self.picker.sources, self.options.get("on_refresh")

        def keep(token: Token) -> None:
            source = sources.get(token.label)
            store = stores.get(source) if source is not None else None
            each = chain_refresh(store, callback)
            if each is not None:
                each(token)

        return keep

    # -- results ---------------------------------------------------------------

    def _show(self, snap: Snapshot) -> None:
        report = connection_health(snap)
        done = "" if snap.complete else f" (stopped: {len(snap.unfinished):,} not loaded)"
        self.summary.value = f"<pre>{html.escape(report.headline() + done)}</pre>"
        self.health.value = _health_view(report, snap)
        tables = {
            "Profiles": snap.profiles,
            "Accounts": snap.accounts,
            "Calendars": snap.calendars,
            "Conferencing": snap.conferencing,
            "Errors": snap.errors,
            "Health": report.tokens,
        }
        for title, frame in tables.items():
            if title in self.tables:
                self.tables[title].show(frame)
            else:
                self.tables[title] = FrameTable(frame)
        self.tabs.children = [self.tables[t].widget for t in tables]
        for n, title in enumerate(tables):
            self.tabs.set_title(n, f"{title} ({len(tables[title]):,})")
        self.csv_button.disabled = self.parquet_button.disabled = False

    def export(self, fmt: str) -> list[Path]:
        """Write the last snapshot to the folder field as CSV or Parquet; the paths."""
        if self.snapshot is None:
            return []
        writer: Callable[[str], list[Path]] = (
            self.snapshot.to_csv if fmt == "csv" else self.snapshot.to_parquet
        )
        try:
            paths = writer(self.folder.value)
        except (OSError, ImportError, ValueError) as exc:
            _message(self.message, str(exc))
            return []
        _message(self.message, f"Wrote {len(paths)} files to {self.folder.value}", ok=True)
        return paths

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def _health_view(report: HealthReport, snap: Snapshot) -> str:
    """The summary tables, the relink list (links only to Cronofy's app hosts) and the
    plots, as one HTML value (the same widget every load)."""
    parts = []
    for title, table in report.tables().items():
        parts.append(f"<h4>{html.escape(title.capitalize())}</h4>{table.to_html(index=False)}")
    relink = report.relink[["token_label", "kind", "provider_name", "profile_relink_url"]]
    parts.append(f"<h4>To relink ({len(relink):,})</h4>{html_table(relink.head(500))}")
    parts.append(_plots_html(snap))
    return "".join(parts)


def _plots_html(snap: Snapshot) -> str:
    """The connection plots as inline PNGs (no widget, no CDN); empty without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return ""
    images = []
    for by in ("provider_service", "access_mode", "data_center"):
        if snap.profiles.empty:
            break
        ax = plot_connections(snap, by=by)
        buffer = io.BytesIO()
        ax.figure.savefig(buffer, format="png", bbox_inches="tight", dpi=80)
        plt.close(ax.figure)
        data = base64.b64encode(buffer.getvalue()).decode()
        images.append(f'<img alt="profiles by {by}" src="data:image/png;base64,{data}">')
    return "".join(images)
