"""cronofy_frames: Cronofy calendar profiles and accounts as typed pandas DataFrames.

import cronofy_frames as cf

tokens = cf.tokens_from_csv("tokens.csv")
snap = cf.load(tokens, credentials={"uk": cf.ClientCredentials("ID", "SECRET")})
snap.profiles, snap.accounts, snap.errors, snap.tokens
"""

from ._exceptions import ERROR_KINDS, CronofyFramesError, LoadFailed, RequestFailed
from ._ratelimit import RateLimit
from ._version import __version__
from .credentials import (
    ClientCredentials,
    Token,
    credentials_from_csv,
    tokens_from_csv,
    tokens_from_env,
    tokens_from_frame,
)
from .data_centers import DATA_CENTERS, DataCenter
from .loader import LoadOptions, LoadWarning, Snapshot, load, load_accounts, load_profiles

__all__ = [
    "DATA_CENTERS",
    "ERROR_KINDS",
    "ClientCredentials",
    "CronofyFramesError",
    "DataCenter",
    "LoadFailed",
    "LoadOptions",
    "LoadWarning",
    "RateLimit",
    "RequestFailed",
    "Snapshot",
    "Token",
    "__version__",
    "credentials_from_csv",
    "load",
    "load_accounts",
    "load_profiles",
    "tokens_from_csv",
    "tokens_from_env",
    "tokens_from_frame",
]
