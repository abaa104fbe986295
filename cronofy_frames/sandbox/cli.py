"""``cronofy-frames sandbox``: run the local Cronofy-compatible server until interrupted."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from . import Faults, RateLimit, Sandbox, start

DESCRIPTION = """\
Serve a Cronofy-compatible API for six data centers on 127.0.0.1, one port each.
Prints '<id> <base url>' per data center, writes the tokens and credentials CSVs,
prints 'ready', and serves until interrupted (Ctrl-C)."""

FAULT_HELP = """\
fault NAME=VALUE, repeatable. Probabilities per request (0..1): http_429, burst_429,
http_500, http_502, http_503, http_504, slow, drop, malformed, truncated, retry_after
(share of 429s with a Retry-After header). Fractions of accounts: expired, revoked.
Seconds: latency, jitter, slow_seconds, burst_seconds. down=uk,sg: data centers that
answer 503 to everything. Hostile (a broken or hostile proxy): redirect (redirect_to=URL),
nested, huge (huge_bytes=N), gzip_bomb, drip (drip_seconds), echo, bad_retry_after=TEXT;
on the token endpoint refresh_429, refresh_redirect, refresh_echo, refresh_malformed and
refresh_delay (seconds)."""


def build_parser(prog: str = "cronofy-frames sandbox") -> argparse.ArgumentParser:
    """The sandbox's argument parser."""
    p = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    p.add_argument("--accounts", type=int, default=100, help="number of accounts (default 100)")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated data (default 0)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument(
        "--port",
        type=int,
        default=0,
        help="port of 'us'; the others take the next five (default: free ports)",
    )
    p.add_argument(
        "--tokens-out", metavar="FILE", help="write label,data_center,access_token,refresh_token"
    )
    p.add_argument(
        "--credentials-out", metavar="FILE", help="write data_center,client_id,client_secret"
    )
    p.add_argument(
        "--rate-limit",
        default="50/500",
        metavar="PER_SECOND/PER_MINUTE",
        help="per data center (default 50/500, Cronofy's documented default)",
    )
    p.add_argument("--no-rate-limit", action="store_true", help="turn rate limiting off")
    p.add_argument(
        "--token-ttl", type=float, metavar="SECONDS", help="access tokens expire after this"
    )
    p.add_argument("--no-rotate", action="store_true", help="keep the refresh token on refresh")
    p.add_argument("--fault", action="append", default=[], metavar="NAME=VALUE", help=FAULT_HELP)
    return p


def _rate_limit(args: argparse.Namespace) -> RateLimit | None:
    if args.no_rate_limit:
        return None
    second, sep, minute = args.rate_limit.partition("/")
    try:
        return RateLimit(int(second), int(minute or 0) if sep else int(second) * 60)
    except ValueError as exc:
        raise ValueError(f"--rate-limit {args.rate_limit!r}: {exc}") from None


def _check(args: argparse.Namespace) -> None:
    if args.accounts < 0:
        raise ValueError(f"--accounts must not be negative, got {args.accounts}")
    if args.token_ttl is not None and args.token_ttl <= 0:
        raise ValueError(f"--token-ttl must be positive, got {args.token_ttl}")


def open_sandbox(args: argparse.Namespace) -> Sandbox:
    """Validate the options and start the servers; ValueError or OSError on bad input."""
    _check(args)
    faults, limit = Faults.parse(args.fault), _rate_limit(args)
    try:
        return start(
            accounts=args.accounts,
            seed=args.seed,
            host=args.host,
            port=args.port,
            faults=faults,
            rate_limit=limit,
            token_ttl=args.token_ttl,
            rotate_refresh_tokens=not args.no_rotate,
        )
    except OSError as exc:
        where = f"port {args.port}" if args.port else f"host {args.host}"
        raise OSError(f"cannot listen on {where}: {exc.strerror or exc}") from None


def main(argv: Sequence[str] | None = None, prog: str = "cronofy-frames sandbox") -> int:
    """Run the sandbox until SIGINT or SIGTERM; 2 on bad options."""
    args = build_parser(prog).parse_args(argv)
    try:
        sandbox = open_sandbox(args)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stop = _stop_on_sigterm()  # before "ready": whoever reads it may send SIGTERM at once
    try:
        for dc, url in sandbox.base_urls.items():
            print(dc, url)
        if args.tokens_out:
            sandbox.write_tokens_csv(args.tokens_out)
        if args.credentials_out:
            sandbox.write_credentials_csv(args.credentials_out)
        print("ready", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        sandbox.close()
    return 0


def _stop_on_sigterm() -> threading.Event:
    """An event SIGTERM sets (SIGINT raises KeyboardInterrupt as usual)."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    return stop
