"""The notebook's pickers: data center, tokens and client credentials (ipywidgets).

Secrets never stay in widget state (which a saved notebook stores): the password fields
are cleared the moment they are read, an uploaded CSV is dropped from the upload widget
once read, the token list shows labels, data centers and the last four characters only,
and client secrets show masked. Nothing here sends a request.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import ipywidgets as w

from ._redact import mask
from .credentials import Token, normalize_credentials, refreshable, unique_tokens
from .data_centers import DATA_CENTERS, resolve
from .token_store import (
    StoreRead,
    apply_refreshed,
    credentials_from_csv_text,
    credentials_from_env,
    read_tokens,
    refreshed_path,
    tokens_from_csv_text,
    tokens_from_env,
)

__all__ = ["CredentialsBox", "DataCenterPicker", "TokenPicker", "message"]

CUSTOM = "custom"
UPLOAD_LIMIT = 10 * 2**20  # tornado's WebSocketHandler max_message_size, which Jupyter keeps
LABELS = {"description_width": "100px"}


def message(box: w.HTML, text: str, ok: bool = False) -> None:
    """Show ``text`` in ``box``, escaped, red (or green when ``ok``); "" clears it."""
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
        self.environ: Mapping[str, str] = environ if environ is not None else os.environ
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
        wide = w.Layout(width="auto")  # the whole label, never "Remove all ma…"
        self.remove_selected = w.Button(description="Remove selected", icon="trash", layout=wide)
        self.remove_matching = w.Button(
            description="Remove all matching", icon="trash", layout=wide
        )
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
            message(self.message, f"Not added: {exc}")
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
            message(self.message, f"Not added: {item['name']} is not UTF-8 (byte {exc.start})")
            return
        # An upload has no folder: its refreshed pairs are kept in the notebook's folder,
        # and a stored pair found there by the file's name is applied only over the very
        # pair it replaced (same label, data center and sandbox URL), never by label alone.
        source = Path(Path(str(item["name"])).name)
        try:
            read = apply_refreshed(tokens_from_csv_text(text, item["name"]), refreshed_path(source))
        except ValueError as exc:  # it names the file and the row
            message(self.message, f"Not added: {exc}")
            return
        self._add_from_csv(read, source)

    def _add_from_path(self) -> None:
        source = Path(self.path.value.strip())
        try:
            read = read_tokens(source)
        except ValueError as exc:  # it names the file (and the row)
            message(self.message, f"Not added: {exc}")
            return
        self._add_from_csv(read, source)

    def _add_from_csv(self, read: StoreRead, source: Path) -> None:
        tokens = read.tokens
        if not self.add_tokens(tokens, where=str(source)):
            return
        self.sources.update(dict.fromkeys((t.label for t in tokens), source))
        if read.note():
            message(
                self.message,
                f"{len(tokens):,} added ({read.note()}); {len(self.tokens):,} in all.",
                ok=not read.ignored and not read.skipped,
            )

    def _add_from_env(self) -> None:
        try:
            tokens = tokens_from_env(environ=self.environ)
        except ValueError as exc:
            message(self.message, str(exc))
            return
        if not tokens:
            message(self.message, "No CRONOFY_ACCESS_TOKEN… variables in the environment.")
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
            message(self.message, f"Not added: {exc}")
            return False
        if self.replace.value:
            self.sources = {}
        self.tokens = merged
        message(self.message, f"{len(tokens):,} added; {len(self.tokens):,} in all.", ok=True)
        self._refilter()
        return True

    def clear(self) -> None:
        """Empty the list."""
        self.tokens, self.sources = [], {}
        message(self.message, "The list is empty.", ok=True)
        self._refilter()

    def remove(self, *labels: str) -> None:
        """Remove the tokens with these labels."""
        gone = set(labels)
        self.tokens = [t for t in self.tokens if t.label not in gone]
        for label in gone:
            self.sources.pop(label, None)
        self._refilter()

    def set_credentials(self, credentials: Mapping[str, Any]) -> None:
        """The client credentials the summary counts refreshable tokens with."""
        self.credentials = credentials
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
    token and client credentials for the place its requests go: its data center, or
    the sandbox URL it is bound to)."""
    if not tokens:
        return "<i>No tokens yet.</i>"
    can = {t.label for t in refreshable(tokens, normalize_credentials(credentials))}
    counts: dict[str, list[int]] = {}
    for t in tokens:
        row = counts.setdefault(t.data_center, [0, 0, 0])
        row[0] += 1
        row[1] += bool(t.refresh_token)
        row[2] += t.label in can
    head = "<tr><th>data center</th><th>tokens</th><th>with refresh token</th>"
    head += "<th>refreshable (client credentials)</th></tr>"
    body = "".join(
        f"<tr><td>{html.escape(dc)}</td><td>{a:,}</td><td>{b:,}</td><td>{c:,}</td></tr>"
        for dc, (a, b, c) in sorted(counts.items())
    )
    return f"<table>{head}{body}</table>"


class CredentialsBox:
    """Client credentials per data center (or sandbox URL): given, from an uploaded CSV
    (``data_center,client_id,client_secret``, dropped from the widget at once) or from
    the environment (``CRONOFY_CLIENT_ID_UK``...); shown masked. ``on_change`` is called
    with the credentials after each change."""

    def __init__(
        self,
        credentials: Mapping[str, Any] | None,
        environ: Mapping[str, str],
        on_change: Callable[[dict[str, Any]], object],
    ) -> None:
        self.credentials: dict[str, Any] = dict(credentials or {})
        self.environ = environ
        self.on_change = on_change
        self.upload = w.FileUpload(accept=".csv", description="Credentials CSV")
        self.from_env = w.Button(description="Credentials from environment", icon="download")
        self.view = w.HTML()
        self.message = w.HTML()
        self.upload.observe(lambda _: self._uploaded(), names="value")
        self.from_env.on_click(lambda _: self._from_env())
        self.widget = w.VBox([w.HBox([self.upload, self.from_env]), self.view, self.message])
        self._changed()

    def _uploaded(self) -> None:
        files = self.upload.value
        if not files:
            return
        self.upload.value = ()  # the secret must not stay in widget state
        item = files[0]
        try:
            text = bytes(item["content"]).decode("utf-8-sig")
            self.credentials.update(credentials_from_csv_text(text, str(item["name"])))
        except (UnicodeDecodeError, ValueError) as exc:
            message(self.message, f"Credentials not read: {exc}")
            return
        self._changed()

    def _from_env(self) -> None:
        try:
            found = credentials_from_env(environ=self.environ)
        except ValueError as exc:
            message(self.message, f"Credentials not read: {exc}")
            return
        if not found:
            message(self.message, "No CRONOFY_CLIENT_ID… variables in the environment.")
        self.credentials.update(found)
        self._changed()

    def _changed(self) -> None:
        self.view.value = _credentials_html(self.credentials)
        self.on_change(self.credentials)


def _credentials_html(credentials: Mapping[str, Any]) -> str:
    if not credentials:
        return "<i>No client credentials: expired tokens cannot be refreshed.</i>"
    shown = [
        f"{html.escape(key)}: {html.escape(c.client_id)} / secret "
        f"{html.escape(mask(c.client_secret))}"
        for key, c in normalize_credentials(credentials).items()
    ]
    return "Client credentials: " + "; ".join(shown)
