"""The load panel: loads a TokenPicker's tokens on a background thread, and exports.

    from cronofy_frames.widgets import TokenPicker, LoadPanel
    picker = TokenPicker()
    panel = LoadPanel(picker)       # Load, Stop, progress; then health, tables, export

The panel calls the public loaders, never HTTP, and changes no global state.
"""

from __future__ import annotations

import html
import threading
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import ipywidgets as w
import pandas as pd

from ._exceptions import RefreshedPairsNotSaved
from .credentials import Token, normalize_credentials, refreshable
from .loader import (
    ProgressCounts,
    chain_refresh,
    describe_floor,
    duration,
    keep_unsaved,
    load,
    time_floor,
)
from .picker import CredentialsBox, TokenPicker, message
from .snapshot import Snapshot
from .token_store import RefreshedTokenWriter, refreshed_writer
from .views import ResultsView

__all__ = ["LoadPanel"]


class LoadPanel:
    """Load a TokenPicker's tokens in the background; then the health view and tables.

    **Load** starts the load on a thread, so the kernel stays free: the panel says up
    front what the rate limits allow ("us: 2,505 tokens at 500/min, at least 5 min"),
    then shows progress and counts down; **Stop** ends the load as Ctrl-C does, keeping
    what finished and every refreshed token. A second Load while one runs is refused.
    ``wait()`` returns the snapshot (for scripts and tests). The panel runs the load
    and the exports; its parts do the rest: the picker (tokens), a ``CredentialsBox``
    (client credentials: given per data center, uploaded or from the environment, shown
    masked) and a ``ResultsView`` (headline, health, plots, tables). The other keyword
    options go to ``cf.load``. ``snapshot`` holds the last load's result.
    """

    def __init__(
        self, picker: TokenPicker, credentials: Mapping[str, Any] | None = None, **options: Any
    ) -> None:
        self.picker = picker
        self.options = options
        self.snapshot: Snapshot | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.keys = CredentialsBox(credentials, picker.environ, picker.set_credentials)
        self.results = ResultsView()
        self._build()

    @property
    def credentials(self) -> dict[str, Any]:
        """The client credentials loads use (given, uploaded or from the environment)."""
        return self.keys.credentials

    def _build(self) -> None:
        self.load_button = w.Button(description="Load", button_style="success", icon="play")
        self.stop_button = w.Button(description="Stop", icon="stop", disabled=True)
        self.plan = w.HTML()
        self.bar = w.IntProgress(min=0, max=1, layout=w.Layout(width="420px"))
        self.status = w.HTML()
        self.folder = w.Text(value="cronofy-export", description="Folder")
        self.csv_button = w.Button(description="Export CSV", icon="file", disabled=True)
        self.parquet_button = w.Button(description="Export Parquet", icon="file", disabled=True)
        self.message = w.HTML()
        # the parts' widgets under the names the panel always had
        self.creds_upload, self.creds_view = self.keys.upload, self.keys.view
        self.summary, self.health = self.results.summary, self.results.health
        self.tabs, self.tables = self.results.tabs, self.results.tables
        self.load_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())
        self.csv_button.on_click(lambda _: self.export("csv"))
        self.parquet_button.on_click(lambda _: self.export("parquet"))
        self.widget = w.VBox(
            [
                self.picker.widget,
                self.keys.widget,
                w.HBox([self.load_button, self.stop_button]),
                self.plan,
                w.HBox([self.bar, self.status]),
                self.results.widget,
                w.HBox([self.folder, self.csv_button, self.parquet_button]),
                self.message,
            ]
        )

    # -- loading ---------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether a load is under way."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> bool:
        """Start loading the picker's tokens in the background (the Load button);
        False (with a message) if there is nothing to load or a load already runs."""
        if self.running:
            message(self.message, "A load is already running: wait for it, or press Stop.")
            return False
        if not self.picker.tokens:
            message(self.message, "Add at least one token first.")
            return False
        tokens = list(self.picker.tokens)
        try:
            floor = time_floor(tokens, **self._load_options())
            stores = self._stores(tokens)
        except ValueError as exc:  # a refreshed-pairs file that cannot be written, say
            message(self.message, f"Not loaded: {exc}")
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
        lines = describe_floor(floor)
        self.plan.value = "<br>".join(html.escape(line) for line in lines)
        self.bar.max, self.bar.value = max(1, len(tokens)), 0
        self.status.value = ""
        self.load_button.disabled, self.stop_button.disabled = True, False
        message(self.message, "")

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
            message(self.message, f"Load failed: {exc}")
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
                message(self.message, f"Loaded, but the tables could not be shown: {exc}")

    def _close_stores(self, stores: dict[Path, RefreshedTokenWriter]) -> None:
        """Close the refreshed-pairs files; pairs a full disk refused went to a fallback
        file, which the message names (loudly: the panel's own warning)."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RefreshedPairsNotSaved)
            keep_unsaved(*stores.values())
        said = [str(c.message) for c in caught if issubclass(c.category, RefreshedPairsNotSaved)]
        if said:
            message(self.message, "Refreshing stopped: " + " ".join(said))

    def _progress(self, counts: ProgressCounts) -> None:
        """Four times a second: the counts, and the least time left under each data
        center's rate-limit budget for the tokens not checked yet."""
        self.bar.value = counts.done
        self.status.value = html.escape(
            f"{counts.done:,} of {counts.total:,} checked ({counts.ok:,} ok, "
            f"{counts.failed:,} failed; {counts.left:,} to go, {counts.waiting:,} waiting "
            f"for the rate limit); at least {duration(counts.seconds_left)} left"
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
        self.results.show(snap)
        self.csv_button.disabled = self.parquet_button.disabled = False

    def export(self, fmt: str) -> list[Path]:
        """Write the last snapshot as CSV or Parquet into ``{folder}/{fmt}`` (one folder
        per format: a folder's ``snapshot.json`` names one); the paths. The message
        gives the folder's full path (the kernel's working folder is not the user's)."""
        if self.snapshot is None:
            return []
        target = (Path(self.folder.value).expanduser() / fmt).resolve()
        writer: Callable[[Path], list[Path]] = (
            self.snapshot.to_csv if fmt == "csv" else self.snapshot.to_parquet
        )
        try:
            paths = writer(target)
        except (OSError, ImportError, ValueError) as exc:
            message(self.message, str(exc))
            return []
        message(self.message, f"Wrote {len(paths):,} files to {target}", ok=True)
        return paths

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)
