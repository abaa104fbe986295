"""cronofy_frames: Cronofy calendar profiles and accounts as typed pandas DataFrames."""

from ._version import __version__

__all__ = ["__version__"]
