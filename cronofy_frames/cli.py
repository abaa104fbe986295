"""``cronofy-frames``: the command line, a thin face over the public API."""

from __future__ import annotations

import sys
from collections.abc import Sequence

USAGE = """\
usage: cronofy-frames COMMAND [options]

commands:
  sandbox   run the local Cronofy-compatible API server (six data centers on 127.0.0.1)

'cronofy-frames COMMAND --help' explains each command."""


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to a sub-command; returns the process exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "sandbox":
        from .sandbox.cli import main as sandbox_main

        return sandbox_main(rest)
    print(f"error: unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2
