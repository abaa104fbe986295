"""The notebook layer (ipywidgets: the ``notebook`` extra), imported from here:

    from cronofy_frames.widgets import TokenPicker, LoadPanel
    picker = TokenPicker()          # paste tokens without putting them in the notebook
    LoadPanel(picker)               # Load, progress, tables, health, CSV / Parquet export

It lives in small modules: ``picker.py`` (data center, tokens, client credentials),
``panel.py`` (the background load and the exports), ``views.py`` (headline, health,
plots, tables) and ``tables.py`` (a searchable, paged table). Secrets never stay in
widget state; the widgets call the public loaders, never HTTP, and never change global
state (matplotlib's backend included).
"""

from __future__ import annotations

from .panel import LoadPanel
from .picker import CredentialsBox, DataCenterPicker, TokenPicker
from .views import ResultsView

__all__ = ["CredentialsBox", "DataCenterPicker", "LoadPanel", "ResultsView", "TokenPicker"]
