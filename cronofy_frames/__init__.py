"""cronofy_frames: Cronofy calendar profiles and accounts as typed pandas DataFrames.

import cronofy_frames as cf

tokens = cf.tokens_from_csv("tokens.csv")   # with the newest refreshed pairs applied
snap = cf.load(tokens, credentials={"uk": cf.ClientCredentials("ID", "SECRET")},
               on_refresh=cf.refreshed_writer("tokens.csv"))
snap.profiles, snap.accounts, snap.errors, snap.tokens
"""

from ._exceptions import (
    ERROR_KINDS,
    CronofyFramesError,
    LoadFailed,
    PairNotSaved,
    RefreshedPairsIgnored,
    RefreshedPairsNotSaved,
    RefreshedTokensApplied,
    RequestFailed,
    UnknownShapeWarning,
)
from ._ratelimit import RateLimit
from ._version import __version__
from .credentials import ClientCredentials, Token
from .data_centers import DATA_CENTERS, DataCenter
from .diff import SnapshotDiff, diff
from .folder_load import RunOutcome, load_to_folder
from .health import (
    HealthReport,
    UndocumentedScopeWarning,
    connection_health,
    plot_connections,
    scope_audit,
)
from .history import (
    Chronic,
    History,
    HistoryWarning,
    plot_trend,
    read_history,
)
from .loader import (
    LoadOptions,
    LoadWarning,
    ProgressCounts,
    load,
    load_accounts,
    load_profiles,
    time_floor,
)
from .snapshot import Snapshot, read_snapshot, snapshot_folder
from .token_store import (
    credentials_from_csv,
    credentials_from_env,
    refreshed_file,
    refreshed_writer,
    tokens_from_csv,
    tokens_from_env,
    tokens_from_frame,
    tokens_to_csv,
)
from .vocabulary import ACCESS_MODES, access_mode

__all__ = [
    "ACCESS_MODES",
    "DATA_CENTERS",
    "ERROR_KINDS",
    "Chronic",
    "ClientCredentials",
    "CronofyFramesError",
    "DataCenter",
    "HealthReport",
    "History",
    "HistoryWarning",
    "LoadFailed",
    "LoadOptions",
    "LoadWarning",
    "PairNotSaved",
    "ProgressCounts",
    "RateLimit",
    "RefreshedPairsIgnored",
    "RefreshedPairsNotSaved",
    "RefreshedTokensApplied",
    "RequestFailed",
    "RunOutcome",
    "Snapshot",
    "SnapshotDiff",
    "Token",
    "UndocumentedScopeWarning",
    "UnknownShapeWarning",
    "__version__",
    "access_mode",
    "connection_health",
    "credentials_from_csv",
    "credentials_from_env",
    "diff",
    "load",
    "load_accounts",
    "load_profiles",
    "load_to_folder",
    "plot_connections",
    "plot_trend",
    "read_history",
    "read_snapshot",
    "refreshed_file",
    "refreshed_writer",
    "scope_audit",
    "snapshot_folder",
    "time_floor",
    "tokens_from_csv",
    "tokens_from_env",
    "tokens_from_frame",
    "tokens_to_csv",
]
