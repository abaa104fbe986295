"""A local Cronofy-compatible API server: six data centers on 127.0.0.1.

The other side of the wire for demos, notebooks, tests and benchmarks, like
stripe-mock is for Stripe. It shares no code with the client side of the package.

    from cronofy_frames import sandbox

    with sandbox.serve(accounts=100, seed=7) as sb:
        sb.base_urls["uk"]          # "http://127.0.0.1:PORT"
        sb.accounts[0]              # SandboxAccount(label, data_center, base_url, tokens...)
        sb.credentials["uk"]        # ("sbx_client_uk", "sbx_secret_uk_...")
"""

from __future__ import annotations

import contextlib
import csv
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict, Unpack, overload

from ._config import Faults, RateLimit
from ._data import DC_IDS
from ._server import SandboxHTTPServer
from ._silent import Silent
from ._state import World

POLL_SECONDS = 0.05  # how soon close() is noticed by each server loop
DEFAULT_RATE_LIMIT = RateLimit()  # 50/s and 500/min, as Cronofy documents

__all__ = [
    "Faults",
    "RateLimit",
    "Sandbox",
    "SandboxAccount",
    "SandboxOptions",
    "Silent",
    "serve",
    "start",
]


@dataclass(frozen=True)
class SandboxAccount:
    """A sandbox account as a user of the toolkit sees it: a label and its tokens."""

    index: int
    label: str
    data_center: str
    base_url: str
    account_id: str
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)


class _Accounts(Sequence[SandboxAccount]):
    """The accounts of a running sandbox, built on access (100,000 cost nothing)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox

    def __len__(self) -> int:
        return self._sandbox.world.size

    @overload
    def __getitem__(self, i: int) -> SandboxAccount: ...
    @overload
    def __getitem__(self, i: slice) -> list[SandboxAccount]: ...

    def __getitem__(self, i: int | slice) -> SandboxAccount | list[SandboxAccount]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if not -len(self) <= i < len(self):
            raise IndexError(f"account {i} out of range (sandbox has {len(self)})")
        i %= len(self)
        account = self._sandbox.world.account(i)
        access, refresh = self._sandbox.world.tokens(i)
        dc = account.data_center
        return SandboxAccount(
            i, f"sbx-{i:06d}", dc, self._sandbox.base_urls[dc], account.account_id, access, refresh
        )


class Sandbox:
    """A running sandbox: base URLs, accounts, client credentials and the world's state."""

    def __init__(
        self, world: World, servers: dict[str, SandboxHTTPServer], stopping: threading.Event
    ) -> None:
        self.world = world
        self._servers = servers
        self._stopping = stopping
        self.base_urls: dict[str, str] = {
            dc: f"http://{_host(s.server_address[0])}:{s.server_address[1]}"
            for dc, s in servers.items()
        }
        self.accounts: Sequence[SandboxAccount] = _Accounts(self)
        self.credentials: dict[str, tuple[str, str]] = {
            dc: world.client_credentials(dc) for dc in DC_IDS
        }

    def __repr__(self) -> str:
        return (
            f"<Sandbox accounts={self.world.size} seed={self.world.seed} us={self.base_urls['us']}>"
        )

    @property
    def credentials_by_url(self) -> dict[str, tuple[str, str]]:
        """The client credentials keyed by base URL, as the sandbox's tokens name data centers."""
        return {self.base_urls[dc]: pair for dc, pair in self.credentials.items()}

    def write_tokens_csv(self, path: str | Path) -> None:
        """Write ``label,data_center,access_token,refresh_token,base_url``: the id of the
        data center each token stands for, and this sandbox's URL for it as an override."""
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["label", "data_center", "access_token", "refresh_token", "base_url"])
            for a in self.accounts:
                writer.writerow(
                    [a.label, a.data_center, a.access_token, a.refresh_token, a.base_url]
                )

    def write_credentials_csv(self, path: str | Path) -> None:
        """Write ``data_center,client_id,client_secret`` (base URL as data center)."""
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["data_center", "client_id", "client_secret"])
            for url, (client_id, secret) in self.credentials_by_url.items():
                writer.writerow([url, client_id, secret])

    def close(self) -> None:
        """Stop all six servers and break their open connections."""
        self._stopping.set()
        stoppers = [threading.Thread(target=s.shutdown) for s in self._servers.values()]
        for thread in stoppers:
            thread.start()
        for thread in stoppers:
            thread.join()
        for server in self._servers.values():
            server.close_connections()
            server.server_close()


def _host(address: str | bytes | bytearray) -> str:
    text = address.decode() if isinstance(address, bytes | bytearray) else address
    return f"[{text}]" if ":" in text else text


def start(
    *,
    accounts: int = 100,
    seed: int = 0,
    host: str = "127.0.0.1",
    port: int = 0,
    faults: Faults | None = None,
    rate_limit: RateLimit | None = DEFAULT_RATE_LIMIT,
    token_ttl: float | None = None,
    rotate_refresh_tokens: bool = True,
    userinfo_status: dict[str, int] | None = None,
) -> Sandbox:
    """Start the six servers in background threads; call ``close()`` when done.

    ``port=0`` picks free ports; any other port gives ``us`` that port and the other
    data centers the next five, in the order us, uk, de, au, ca, sg.
    ``userinfo_status`` maps data centers whose plan lacks /v1/userinfo to the status
    it answers there (402, 403 or 404). ``world.requests`` counts requests by
    (data center, path), with 429s it sent under (data center, "429").
    """
    if port < 0 or port > 65535 - len(DC_IDS):
        raise ValueError(f"port {port} is out of range")
    world = World(
        accounts=accounts,
        seed=seed,
        faults=faults or Faults(),
        rate_limit=rate_limit,
        token_ttl=token_ttl,
        rotate_refresh_tokens=rotate_refresh_tokens,
        userinfo_status=userinfo_status,
    )
    stopping = threading.Event()
    servers: dict[str, SandboxHTTPServer] = {}
    try:
        for n, dc in enumerate(DC_IDS):
            servers[dc] = SandboxHTTPServer((host, port + n if port else 0), world, dc, stopping)
    except OSError:
        for server in servers.values():
            server.server_close()
        raise
    for dc, server in servers.items():
        threading.Thread(
            target=server.serve_forever, args=(POLL_SECONDS,), name=f"sandbox-{dc}", daemon=True
        ).start()
    return Sandbox(world, servers, stopping)


class SandboxOptions(TypedDict, total=False):
    """The keyword options of :func:`start` and :func:`serve`."""

    accounts: int
    seed: int
    host: str
    port: int
    faults: Faults | None
    rate_limit: RateLimit | None
    token_ttl: float | None
    rotate_refresh_tokens: bool
    userinfo_status: dict[str, int] | None


@contextlib.contextmanager
def serve(**options: Unpack[SandboxOptions]) -> Iterator[Sandbox]:
    """Run a sandbox for the ``with`` block; the options are those of :func:`start`."""
    sandbox = start(**options)
    try:
        yield sandbox
    finally:
        sandbox.close()
