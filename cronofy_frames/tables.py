"""A table people can work with in a notebook, whatever its size (the ``notebook`` extra).

    from cronofy_frames.tables import FrameTable
    FrameTable(snap.profiles)     # search, filters, sort, pages, counts

Searching, filtering and sorting run in pandas on the kernel, over every row; only the
page shown goes to the browser, as escaped HTML. So 100,000 profiles cost the browser
what 50 do, the widget count never changes, and nothing is fetched from a CDN. (A
client-side grid such as itables sends every row to the browser, or only a sample of
them: its search then misses rows.) Links are clickable only when they are ``https`` on
a Cronofy app host (:func:`safe_link`); anything else is text.
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urlsplit

import ipywidgets as w
import pandas as pd

from .data_centers import DATA_CENTERS

__all__ = ["FILTER_COLUMNS", "FrameTable", "cell", "html_table", "safe_link"]

PAGE_ROWS = 50
FILTER_COLUMNS = ("data_center", "provider_service", "access_mode", "profile_connected", "kind")
ALL = "(all)"
APP_HOSTS = frozenset(dc.app_host for dc in DATA_CENTERS)


# A link is clickable only when the whole text is https on one of Cronofy's app hosts,
# then "/" at once, then a path of characters no parser reads two ways: no backslash,
# no "@", no white space, no control or format character (a browser and Python's
# urlsplit then see the same host; "https://:@evil.test\\@app.cronofy.com/" is text).
# The query may hold "@": Cronofy's own relink links do ("?email=jane@example.com"),
# and once the host is followed by "/" nothing after it can change the host.
_APP_LINK = re.compile(
    r"https://(?:" + "|".join(re.escape(h) for h in sorted(APP_HOSTS)) + r")"
    r"/[A-Za-z0-9._~!$&'()*+,;=:%/-]*(?:[?#][A-Za-z0-9._~!$&'()*+,;=:%/?#@-]*)?"
)


def safe_link(value: object) -> str:
    """A cell as HTML: an ``<a>`` when the whole text is a Cronofy app link by the strict
    rule above, else escaped text."""
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return ""
    text = str(value)
    quoted = html.escape(text, quote=True)
    if _APP_LINK.fullmatch(text) is None or urlsplit(text).hostname not in APP_HOSTS:
        return quoted
    return f'<a href="{quoted}" target="_blank" rel="noopener noreferrer">{quoted}</a>'


class FrameTable:
    """A paged view of a DataFrame with a search box over all rows, filters for the
    columns people filter on, a sort column and counts of what is shown."""

    def __init__(self, frame: pd.DataFrame, page_rows: int = PAGE_ROWS) -> None:
        self.page_rows = page_rows
        self.search = w.Text(placeholder="search every row", layout=w.Layout(width="260px"))
        self.sort = w.Dropdown(description="Sort by", layout=w.Layout(width="260px"))
        self.descending = w.Checkbox(description="descending", indent=False)
        self.filters: dict[str, w.Dropdown] = {}
        self.filter_box = w.HBox()
        self.previous = w.Button(description="Previous", icon="arrow-left")
        self.next = w.Button(description="Next", icon="arrow-right")
        self.counts = w.HTML()
        self.body = w.HTML(layout=w.Layout(overflow="auto"))
        self.page = 0
        for control in (self.search, self.sort, self.descending):
            control.observe(lambda _: self._first_page(), names="value")
        self.previous.on_click(lambda _: self._turn(-1))
        self.next.on_click(lambda _: self._turn(1))
        self.widget = w.VBox(
            [
                w.HBox([self.search, self.sort, self.descending]),
                self.filter_box,
                w.HBox([self.previous, self.next, self.counts]),
                self.body,
            ]
        )
        self.show(frame)

    def show(self, frame: pd.DataFrame) -> None:
        """Show another frame (the same widgets, filters rebuilt from its values)."""
        self.frame = frame.reset_index(drop=True)
        self._text = self._search_text(self.frame)
        self.sort.options = [("(load order)", ""), *((c, c) for c in self.frame.columns)]
        self._build_filters()
        self._first_page()

    @staticmethod
    def _search_text(frame: pd.DataFrame) -> pd.Series:
        """Each row's text, lowercased, for the search (built once per frame)."""
        if frame.empty or not len(frame.columns):
            return pd.Series([], dtype=object)
        columns = [
            frame[c].astype(object).where(frame[c].notna(), "").astype(str) for c in frame.columns
        ]
        rest = pd.concat(columns[1:], axis=1) if len(columns) > 1 else None
        joined = columns[0].str.cat(rest, sep=" ") if rest is not None else columns[0]
        return joined.str.lower()

    def _build_filters(self) -> None:
        """One dropdown per filter column, made once: a frame without the column hides it."""
        if not self.filters:
            for column in FILTER_COLUMNS:
                dropdown = w.Dropdown(
                    description=column,
                    style={"description_width": "initial"},
                    layout=w.Layout(width="auto"),
                )
                dropdown.observe(lambda _: self._first_page(), names="value")
                self.filters[column] = dropdown
            self.filter_box.children = list(self.filters.values())
        for column, dropdown in self.filters.items():
            present = column in self.frame.columns
            values = sorted({str(v) for v in self.frame[column].astype(object)}) if present else []
            dropdown.options, dropdown.value = [ALL, *values], ALL
            dropdown.layout.display = "" if present else "none"

    def visible(self) -> pd.DataFrame:
        """The rows that pass the search and the filters, sorted."""
        keep = pd.Series(True, index=self.frame.index)
        needle = self.search.value.strip().lower()
        if needle:
            keep &= self._text.str.contains(needle, regex=False).to_numpy()
        for column, dropdown in self.filters.items():
            if dropdown.value != ALL and column in self.frame.columns:
                keep &= self.frame[column].astype(object).astype(str) == dropdown.value
        rows = self.frame[keep]
        if self.sort.value:
            rows = rows.sort_values(
                self.sort.value, ascending=not self.descending.value, kind="stable"
            )
        return rows

    def _first_page(self) -> None:
        self.page = 0
        self._render()

    def _turn(self, step: int) -> None:
        self.page += step
        self._render()

    def _render(self) -> None:
        rows = self.visible()
        pages = max(1, -(-len(rows) // self.page_rows))
        self.page = min(max(self.page, 0), pages - 1)
        start = self.page * self.page_rows
        shown = rows.iloc[start : start + self.page_rows]
        self.previous.disabled, self.next.disabled = self.page == 0, self.page >= pages - 1
        first = start + 1 if len(shown) else 0
        self.counts.value = (
            f"rows {first:,}-{start + len(shown):,} of {len(rows):,} shown"
            f" (of {len(self.frame):,}), page {self.page + 1:,} of {pages:,}"
        )
        self.body.value = html_table(shown)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


STYLE = (
    "<style>"
    ".cf-scroll{overflow-x:auto;transform:rotateX(180deg)}"  # the scroll bar on top
    ".cf-scroll>table{transform:rotateX(180deg)}"
    ".cf-table{border-collapse:collapse;font-size:12px}"
    ".cf-table th,.cf-table td{padding:2px 8px;text-align:left;white-space:nowrap;"
    "max-width:28em;overflow:hidden;text-overflow:ellipsis;border-bottom:1px solid #ddd}"
    ".cf-table td.num{text-align:right}"
    ".cf-table a{color:#1565c0;text-decoration:underline}"
    "</style>"
)


def cell(value: object) -> tuple[str, bool]:
    """How a value shows in a table, as escaped HTML, and whether it is a number: blank
    for missing, times to the second (UTC), whole numbers with thousands separators,
    Cronofy relink URLs as links (:func:`safe_link`)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return "", False
    if isinstance(value, float) and pd.isna(value):
        return "", False
    if isinstance(value, pd.Timestamp):
        return html.escape(value.strftime("%Y-%m-%d %H:%M:%S")), False
    if isinstance(value, bool):
        return str(value), False
    if isinstance(value, int):
        return f"{value:,}", True
    if isinstance(value, float):
        return (f"{value:,.0f}" if value.is_integer() else f"{value:,.1f}"), True
    return safe_link(value), False


def html_table(rows: pd.DataFrame) -> str:
    """Rows as an HTML table (every cell escaped and formatted by :func:`cell`), in a box
    that scrolls sideways with its scroll bar on top."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in rows.columns)
    lines = []
    for record in rows.astype(object).itertuples(index=False):
        cells = [cell(v) for v in record]
        tds = "".join(f'<td class="num">{t}</td>' if n else f"<td>{t}</td>" for t, n in cells)
        lines.append(f"<tr>{tds}</tr>")
    table = f'<table class="cf-table"><thead><tr>{head}</tr></thead><tbody>{"".join(lines)}'
    return f'{STYLE}<div class="cf-scroll">{table}</tbody></table></div>'
