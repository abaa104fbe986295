"""What the notebook shows of a snapshot: the headline, the health tables, the relink
list, the connection plots and a searchable table per frame (ipywidgets).

Plots are drawn on a ``matplotlib.figure.Figure`` with its own Agg canvas and shown as
inline PNGs: no widget, no CDN, and the kernel's matplotlib backend is never touched (a
notebook's own ``cf.plot_connections`` cells keep showing their plots).
"""

from __future__ import annotations

import base64
import html
import io

import ipywidgets as w
import pandas as pd

from .health import HealthReport, connection_health, plot_connections
from .snapshot import Snapshot
from .tables import FrameTable, html_table

__all__ = ["ResultsView", "health_html", "plots_html"]

PLOTS_BY = ("provider_service", "access_mode", "data_center")


class ResultsView:
    """The headline, the health view and a tab of tables, filled by :meth:`show`."""

    def __init__(self) -> None:
        self.summary = w.HTML()
        self.health = w.HTML()
        self.tabs = w.Tab()
        self.tables: dict[str, FrameTable] = {}
        self.widget = w.VBox([self.summary, self.health, self.tabs])

    def show(self, snap: Snapshot) -> None:
        """Show a snapshot (the same widgets every load: tables are re-filled)."""
        report = connection_health(snap)
        done = "" if snap.complete else f" (stopped: {len(snap.unfinished):,} not loaded)"
        self.summary.value = f"<pre>{html.escape(report.headline() + done)}</pre>"
        self.health.value = health_html(report, snap)
        frames = {
            "Profiles": snap.profiles,
            "Accounts": snap.accounts,
            "Calendars": snap.calendars,
            "Conferencing": snap.conferencing,
            "Errors": snap.errors,
            "Health": report.tokens,
            "To relink": report.relink,  # all of them, searchable, as every frame
            "On EWS": report.ews,  # Office 365 profiles to move to Microsoft Graph
        }
        for title, frame in frames.items():
            self._table(title, frame)
        self.tabs.children = [self.tables[t].widget for t in frames]
        for n, title in enumerate(frames):
            self.tabs.set_title(n, f"{title} ({len(frames[title]):,})")

    def _table(self, title: str, frame: pd.DataFrame) -> None:
        if title in self.tables:
            self.tables[title].show(frame)
        else:
            self.tables[title] = FrameTable(frame)


GLOSSARY = (
    "<p><small><b>ok</b>: loaded. <b>retry</b>: failed this time (rate limit, server, "
    "network, an odd answer): load again. <b>dead</b>: refused for good (revoked, no "
    "refresh possible, plan, scope): the customer must authorize again. "
    "<b>unfinished</b>: not checked (the load was stopped). <b>type_unknown</b>: tokens "
    "that failed before their account type could be read. <b>initial_sync</b>: profiles "
    "whose first sync is still running. <b>disconnected_pct</b>: disconnected profiles as "
    "a percentage of all.</small></p>"
)


def health_html(report: HealthReport, snap: Snapshot) -> str:
    """The summary tables (with what their words mean), how many profiles to relink (the
    whole list is the *To relink* tab) and the plots, as one HTML value."""
    parts = []
    for title, table in report.tables().items():
        parts.append(f"<h4>{html.escape(title.capitalize())}</h4>{html_table(table)}")
    parts.append(GLOSSARY)
    parts.append(
        f"<h4>To relink: {len(report.relink):,} profiles</h4>"
        "<p>Every one, with its link, is in the <b>To relink</b> tab below (search it, "
        "page through it, export it with the snapshot).</p>"
    )
    if len(report.ews):
        parts.append(
            f"<h4>On Exchange Web Services: {len(report.ews):,} Office 365 profiles</h4>"
            "<p>Microsoft blocks EWS for Exchange Online from 1 October 2026: these profiles "
            "stop syncing. The <b>On EWS</b> tab lists each with the link its owner follows "
            "to re-authorize through Microsoft Graph.</p>"
        )
    parts.append(plots_html(snap))
    return "".join(parts)


def plots_html(snap: Snapshot) -> str:
    """The connection plots as inline PNGs, each on its own Figure and Agg canvas (the
    global backend untouched); "" without matplotlib or without profiles."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return ""
    if snap.profiles.empty:
        return ""
    images = []
    for by in PLOTS_BY:
        figure = Figure(figsize=(7, 4))
        FigureCanvasAgg(figure)
        plot_connections(snap, by=by, ax=figure.subplots())
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", bbox_inches="tight", dpi=80)
        data = base64.b64encode(buffer.getvalue()).decode()
        images.append(f'<img alt="profiles by {by}" src="data:image/png;base64,{data}">')
    return "".join(images)
