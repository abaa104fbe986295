"""``python -m cronofy_frames`` runs the command line."""

from .cli import console

console()
