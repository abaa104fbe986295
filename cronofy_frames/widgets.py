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

import html
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import ipywidgets as w
import pandas as pd

from ._redact import mask
from .credentials import Token, check_unique, tokens_from_csv_text, tokens_from_env
from .data_centers import DATA_CENTERS, resolve
from .health import connection_health
from .loader import Snapshot, load
from .token_store import (
    RefreshedTokenWriter,
    apply_refreshed,
    read_tokens,
    refreshed_file,
    refreshed_path,
)

__all__ = ["DataCenterPicker", "LoadPanel", "TokenPicker"]

CUSTOM = "custom"
LABELS = {"description_width": "100px"}


def _message(box: w.HTML, text: str, ok: bool = False) -> None:
    color = "#2e7d32" if ok else "#c62828"
    box.value = f'<span style="color:{color}">{html.escape(text)}</span>' if text else ""


class DataCenterPicker:
    """One of the six data centers (flag, country, host), or a custom base URL for a sandbox."""

    def __init__(self, value: str = "us") -> None:
        options = [(f"{dc.flag} {dc.country} — {dc.api_host}", dc.id) for dc in DATA_CENTERS]
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
        key = resolve(value).key
        if key in {dc.id for dc in DATA_CENTERS}:
            self.dropdown.value = key
        else:
            self.dropdown.value, self.url.value = CUSTOM, key

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


class TokenPicker:
    """Add tokens by hand, from an uploaded CSV or from environment variables.

    ``tokens`` is the list to load. Bad input shows a message in the widget. Tokens read
    from a CSV (uploaded, or by its path on the notebook server) get the newest pairs of
    the refreshed-pairs file beside it applied, and ``sources`` remembers that CSV for
    each label, so that a ``LoadPanel`` appends their refreshed pairs there.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ
        self.tokens: list[Token] = []
        self.sources: dict[str, Path] = {}  # label -> the tokens CSV it came from
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
        self.message = w.HTML()
        self.listing = w.VBox(layout=w.Layout(max_height="240px", overflow="auto"))
        self.add_button.on_click(lambda _: self._add_typed())
        self.env_button.on_click(lambda _: self._add_from_env())
        self.path_button.on_click(lambda _: self._add_from_path())
        self.upload.observe(lambda _: self._add_uploaded(), names="value")
        entry = w.VBox(
            [
                self.access,
                self.refresh,
                self.label,
                self.data_center.widget,
                w.HBox([self.add_button, self.upload, self.env_button]),
                w.HBox([self.path, self.path_button]),
            ]
        )
        self.widget = w.VBox([entry, self.message, self.listing])

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
        source = Path(Path(str(item["name"])).name)  # taken to sit in the notebook's folder
        try:
            tokens, applied = apply_refreshed(
                tokens_from_csv_text(text, item["name"]), refreshed_path(source)
            )
        except ValueError as exc:  # it names the file and the row
            _message(self.message, f"Not added: {exc}")
            return
        self._add_from_csv(tokens, applied, source)

    def _add_from_path(self) -> None:
        source = Path(self.path.value.strip())
        try:
            tokens, applied = read_tokens(source)
        except ValueError as exc:  # it names the file (and the row)
            _message(self.message, f"Not added: {exc}")
            return
        self._add_from_csv(tokens, applied, source)

    def _add_from_csv(self, tokens: list[Token], applied: int, source: Path) -> None:
        if not self.add_tokens(tokens):
            return
        self.sources.update(dict.fromkeys((t.label for t in tokens), source))
        if applied:
            note = f"with the newest pairs of {applied} from {refreshed_path(source)}"
            _message(
                self.message, f"{len(tokens)} added, {note}; {len(self.tokens)} in all.", ok=True
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

    def add_tokens(self, tokens: list[Token]) -> bool:
        """Add tokens (a repeated label or token is refused, with a message); True if added."""
        try:
            self.tokens = check_unique([*self.tokens, *tokens])
        except ValueError as exc:
            _message(self.message, f"Not added: {exc}")
            return False
        _message(self.message, f"{len(tokens)} added; {len(self.tokens)} in all.", ok=True)
        self._relist()
        return True

    def remove(self, label: str) -> None:
        """Remove the token with this label."""
        self.tokens = [t for t in self.tokens if t.label != label]
        self._relist()

    def _relist(self) -> None:
        self.listing.children = [self._row(t) for t in self.tokens]

    def _row(self, token: Token) -> w.HBox:
        button = w.Button(description="Remove", icon="trash", layout=w.Layout(width="90px"))
        button.on_click(lambda _: self.remove(token.label))
        text = (
            f"<code>{html.escape(token.label)}</code> · {html.escape(token.data_center)} · "
            f"{html.escape(mask(token.access_token))}"
        )
        return w.HBox([w.HTML(text), button], layout=w.Layout(flex="0 0 auto"))  # no shrinking

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


class LoadPanel:
    """A Load button over a TokenPicker's tokens; then a summary, tables and exports.

    ``credentials`` (per data center) and the other keyword options go to ``cf.load``.
    ``snapshot`` holds the last load's result.
    """

    def __init__(
        self, picker: TokenPicker, credentials: Mapping[str, Any] | None = None, **options: Any
    ) -> None:
        self.picker = picker
        self.credentials = credentials
        self.options = options
        self.snapshot: Snapshot | None = None
        self.load_button = w.Button(description="Load", button_style="success", icon="play")
        self.progress = w.Output()
        self.summary = w.HTML()
        self.tabs = w.Tab()
        self.folder = w.Text(value="cronofy-export", description="Folder")
        self.csv_button = w.Button(description="Export CSV", icon="file", disabled=True)
        self.parquet_button = w.Button(description="Export Parquet", icon="file", disabled=True)
        self.message = w.HTML()
        self.load_button.on_click(lambda _: self.run())
        self.csv_button.on_click(lambda _: self.export("csv"))
        self.parquet_button.on_click(lambda _: self.export("parquet"))
        exports = w.HBox([self.folder, self.csv_button, self.parquet_button])
        self.widget = w.VBox(
            [
                self.picker.widget,
                self.load_button,
                self.progress,
                self.summary,
                self.tabs,
                exports,
                self.message,
            ]
        )

    def run(self) -> Snapshot | None:
        """Load the picker's tokens (the button does this); the snapshot, or None."""
        if not self.picker.tokens:
            _message(self.message, "Add at least one token first.")
            return None
        self.load_button.disabled = True
        _message(self.message, "")
        stores: dict[Path, RefreshedTokenWriter] = {}
        try:
            labels = {t.label for t in self.picker.tokens}
            for source in {src for lbl, src in self.picker.sources.items() if lbl in labels}:
                stores[source] = refreshed_file(source)  # checked before any request
            with self.progress:
                self.progress.clear_output()
                snap = load(
                    self.picker.tokens,
                    credentials=self.credentials,
                    errors="ignore",
                    **{**self.options, "on_refresh": self._keeper(stores)},
                )
        except ValueError as exc:
            _message(self.message, str(exc))
            return None
        finally:
            self.load_button.disabled = False
            for store in stores.values():
                store.close()
        self.picker.tokens = snap.tokens  # refreshed pairs, so the next load uses them
        self._show(snap)
        return snap

    def _keeper(self, stores: dict[Path, RefreshedTokenWriter]) -> Callable[[Token], None]:
        """``on_refresh`` for a load: each new pair goes to the refreshed-pairs file of
        the CSV its token came from (if any), then to the caller's ``on_refresh``."""
        sources, callback = self.picker.sources, self.options.get("on_refresh")

        def keep(token: Token) -> None:
            source = sources.get(token.label)
            if source in stores:
                stores[source](token)
            if callback is not None:
                callback(token)

        return keep

    def _show(self, snap: Snapshot) -> None:
        self.snapshot = snap
        report = connection_health(snap)
        self.summary.value = f"<pre>{html.escape(report.headline())}</pre>"
        tables = {
            "Profiles": snap.profiles,
            "Accounts": snap.accounts,
            "Conferencing": snap.conferencing,
            "Errors": snap.errors,
            "Health": report.tokens,
        }
        self.tabs.children = [_table(df) for df in tables.values()]
        for n, title in enumerate(tables):
            self.tabs.set_title(n, f"{title} ({len(tables[title])})")
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


def _table(df: pd.DataFrame) -> w.HTML:
    shown = df.head(200).to_html(index=False, max_cols=20, na_rep="")
    more = f"<p>… {len(df) - 200} more rows</p>" if len(df) > 200 else ""
    return w.HTML(f'<div style="max-height:360px;overflow:auto">{shown}</div>{more}')
