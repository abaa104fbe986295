"""The sandbox's mutable state: tokens, refreshes, rate-limit windows, fault draws.

One ``World`` serves all six data centers; it is shared by every server thread and
guards its dictionaries with one lock. Tokens carry the account index and a
generation, signed with a key derived from the seed, so no table of 100,000 tokens
is ever built: only accounts that were refreshed or changed have entries.
"""

from __future__ import annotations

import collections
import datetime
import functools
import hashlib
import hmac
import random
import threading
import time
from dataclasses import dataclass

from ._config import Faults, RateLimit
from ._data import DC_IDS, Account, generate_account


@dataclass(frozen=True)
class Grant:
    """A successful refresh: the new pair and its lifetime."""

    access_token: str
    refresh_token: str
    expires_in: int
    scope: str


class RefreshError(Exception):
    """A refresh the token endpoint refuses: ``status`` 400 (invalid_grant) or 401."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


class World:
    """Accounts, tokens and limits of one sandbox run."""

    def __init__(
        self,
        *,
        accounts: int,
        seed: int,
        faults: Faults,
        rate_limit: RateLimit | None,
        token_ttl: float | None,
        rotate_refresh_tokens: bool,
        userinfo_status: dict[str, int] | None = None,
    ) -> None:
        if accounts < 0:
            raise ValueError(f"accounts must not be negative, got {accounts}")
        self.size = accounts
        self.seed = seed
        self.faults = faults
        self.rate_limit = rate_limit
        self.token_ttl = token_ttl
        self.rotate = rotate_refresh_tokens
        self.userinfo_status = dict(userinfo_status or {})
        for dc, status in self.userinfo_status.items():
            if dc not in DC_IDS or status not in (402, 403, 404):
                raise ValueError(
                    f"userinfo_status {dc}={status}: want a data center and 402/403/404"
                )
        self._key = hashlib.sha256(f"cronofy-frames-sandbox:{seed}".encode()).digest()
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._access_gen: dict[int, int] = {}
        self._issued: dict[int, float] = {}
        self._refresh_gen: dict[int, int] = {}
        self._connected: dict[tuple[int, int], bool] = {}
        self._scopes: dict[int, str] = {}
        self._revoked: set[int] = set()
        self._protocols: dict[tuple[int, int], str] = {}  # a profile moved to Graph, say
        self.userinfo_forbidden: set[int] = set()  # accounts whose token lacks the scope
        self._attempts: collections.Counter[str] = collections.Counter()
        self._limiters = {dc: _Window() for dc in DC_IDS}
        self._bursts: dict[str, float] = {}
        self.account = functools.lru_cache(maxsize=8192)(self._account)
        self.requests: collections.Counter[tuple[str, str]] = collections.Counter()
        self.clock = datetime.datetime(2026, 1, 5, 6, 0, tzinfo=datetime.UTC)  # simulated
        self.steps = 0

    # -- accounts -------------------------------------------------------------

    def _account(self, index: int) -> Account:
        account = generate_account(self.seed, index)
        for j, profile in enumerate(account.profiles):
            override = self._connected.get((index, j))
            if override is not None:
                profile.connected = override
                profile.initial_sync_required = profile.initial_sync_required and override
            if (index, j) in self._protocols:
                profile.protocol = self._protocols[(index, j)]
                profile.migration_url = (
                    "" if profile.protocol == "graph_api" else profile.migration_url
                )
        for j, conferencing in enumerate(account.conferencing):
            conferencing.connected = self._connected.get((index, -1 - j), conferencing.connected)
        if index in self._scopes:  # granted anew: both endpoints show the same scope
            account.scope = account.userinfo_scope = self._scopes[index]
        return account

    def set_profile_connected(self, index: int, profile: int, connected: bool) -> None:
        """Connect or disconnect profile ``profile`` of account ``index`` from now on."""
        with self._lock:
            self._connected[(index, profile)] = connected
            self.account.cache_clear()

    def set_protocol(self, index: int, profile: int, protocol: str) -> None:
        """Move profile ``profile`` of account ``index`` to another Office 365 protocol
        (``graph_api``: its owner followed the migration link) from now on."""
        with self._lock:
            self._protocols[(index, profile)] = protocol
            self.account.cache_clear()

    def advance(self, days: float = 7.0, churn: float = 0.05) -> datetime.datetime:
        """Simulated time moves on ``days`` (from 2026-01-05 06:00 UTC), and about
        ``churn`` of the profiles are touched: a connected one disconnects, a
        disconnected one is relinked half the time, drawn from the seed and the step (reproducible).
        The new simulated time, for the snapshot taken now (see ``cf.snapshot_folder``)."""
        with self._lock:
            self.clock += datetime.timedelta(days=days)
            self.steps += 1
            rng = random.Random(f"{self.seed}:advance:{self.steps}")
        for index in range(self.size):
            for j, profile in enumerate(self.account(index).profiles):
                if rng.random() >= churn:
                    continue
                if profile.connected:
                    self.set_profile_connected(index, j, False)
                elif rng.random() < 0.5:  # half of the broken ones get relinked
                    self.set_profile_connected(index, j, True)
        return self.clock

    def set_conferencing_connected(self, index: int, profile: int, connected: bool) -> None:
        """Connect or disconnect conferencing profile ``profile`` of account ``index``."""
        with self._lock:
            self._connected[(index, -1 - profile)] = connected
            self.account.cache_clear()

    def set_scope(self, index: int, scope: str) -> None:
        """Grant account ``index`` this (space-separated) scope from now on."""
        with self._lock:
            self._scopes[index] = scope
            self.account.cache_clear()

    def revoke(self, index: int) -> None:
        """Revoke account ``index``'s authorization now: its tokens get 401, refresh 400."""
        with self._lock:
            self._revoked.add(index)

    def client_credentials(self, dc: str) -> tuple[str, str]:
        """The (client_id, client_secret) of the data center's application."""
        return f"sbx_client_{dc}", f"sbx_secret_{dc}_{self._mac('client', dc)}"

    def _mac(self, *parts: object) -> str:
        msg = ":".join(str(p) for p in parts).encode()
        return hmac.new(self._key, msg, hashlib.sha256).hexdigest()[:24]

    def _fraction(self, what: str, index: int, fraction: float) -> bool:
        return fraction > 0 and random.Random(f"{self.seed}:{what}:{index}").random() < fraction

    def expired_at_start(self, index: int) -> bool:
        """Whether account ``index``'s first access token had expired when the sandbox started."""
        return self._fraction("expired", index, self.faults.expired)

    def is_revoked(self, index: int) -> bool:
        """Whether account ``index``'s authorization was revoked (refresh fails)."""
        return index in self._revoked or self._fraction("revoked", index, self.faults.revoked)

    # -- tokens ---------------------------------------------------------------

    def _token(self, kind: str, index: int, gen: int) -> str:
        return f"sbx{kind}_{index:x}_{gen}_{self._mac(kind, index, gen)}"

    def tokens(self, index: int) -> tuple[str, str]:
        """The current (access_token, refresh_token) of account ``index``."""
        with self._lock:
            return (
                self._token("at", index, self._access_gen.get(index, 0)),
                self._token("rt", index, self._refresh_gen.get(index, 0)),
            )

    def _parse(self, kind: str, token: str) -> tuple[int, int] | None:
        parts = token.split("_")
        if len(parts) != 4 or parts[0] != f"sbx{kind}":
            return None
        try:
            index, gen = int(parts[1], 16), int(parts[2])
        except ValueError:
            return None
        if not 0 <= index < self.size or not hmac.compare_digest(
            parts[3], self._mac(kind, index, gen)
        ):
            return None
        return index, gen

    def authenticate(self, token: str, dc: str) -> Account | None:
        """The account whose live access token this is on data center ``dc``, else None."""
        parsed = self._parse("at", token)
        if parsed is None or self.is_revoked(parsed[0]):
            return None
        index, gen = parsed
        with self._lock:
            current = self._access_gen.get(index, 0)
            issued = self._issued.get(index)
        if gen != current or self._expired(index, issued):
            return None
        account = self.account(index)
        return account if account.data_center == dc else None

    def _expired(self, index: int, issued: float | None) -> bool:
        if issued is None:
            if self.expired_at_start(index):
                return True
            issued = self._started
        return self.token_ttl is not None and time.monotonic() - issued >= self.token_ttl

    def refresh(self, dc: str, client_id: str, client_secret: str, refresh_token: str) -> Grant:
        """Exchange a refresh token for a new pair, as POST /oauth/token does."""
        want_id, want_secret = self.client_credentials(dc)
        if not (
            hmac.compare_digest(client_id, want_id)
            and hmac.compare_digest(client_secret, want_secret)
        ):
            raise RefreshError(401, "invalid_client")
        parsed = self._parse("rt", refresh_token)
        if (
            parsed is None
            or self.is_revoked(parsed[0])
            or self.account(parsed[0]).data_center != dc
        ):
            raise RefreshError(400, "invalid_grant")
        index, gen = parsed
        with self._lock:
            if gen != self._refresh_gen.get(index, 0):
                raise RefreshError(400, "invalid_grant")
            self._access_gen[index] = self._access_gen.get(index, 0) + 1
            self._issued[index] = time.monotonic()
            if self.rotate:
                self._refresh_gen[index] = gen + 1
        access, refresh = self.tokens(index)
        ttl = 3600 if self.token_ttl is None else max(1, int(self.token_ttl))
        return Grant(access, refresh, ttl, self.account(index).scope)

    def stats(self) -> dict[str, dict[str, int]]:
        """Requests served so far by data center and path ("429" counts refusals)."""
        out: dict[str, dict[str, int]] = {dc: {} for dc in DC_IDS}
        for (dc, path), n in list(self.requests.items()):
            out[dc][path] = n
        return out

    # -- limits and faults ----------------------------------------------------

    def admit(self, dc: str) -> float | None:
        """Count a request on ``dc``; None if within the limit, else seconds to wait."""
        with self._lock:
            burst_end = self._bursts.get(dc, 0.0)
        now = time.monotonic()
        if now < burst_end:
            return burst_end - now
        if self.rate_limit is None:
            return None
        return self._limiters[dc].admit(self.rate_limit, now)

    def start_burst(self, dc: str) -> None:
        """Answer every request on ``dc`` with 429 for ``faults.burst_seconds``."""
        with self._lock:
            self._bursts[dc] = time.monotonic() + self.faults.burst_seconds

    def draw(self, token: str, path: str) -> random.Random:
        """A random source for this token's next request to ``path``, reproducible by seed."""
        key = f"{token}:{path}"
        with self._lock:
            self._attempts[key] += 1
            n = self._attempts[key]
        return random.Random(f"{self.seed}:{key}:{n}")


class _Window:
    """Sliding one-second and one-minute windows of admitted request times."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._times: collections.deque[float] = collections.deque()

    def admit(self, limit: RateLimit, now: float) -> float | None:
        with self._lock:
            times = self._times
            while times and now - times[0] >= 60.0:
                times.popleft()
            if len(times) >= limit.per_minute:
                return 60.0 - (now - times[0])
            if len(times) >= limit.per_second:
                first_in_second = times[len(times) - limit.per_second]
                if now - first_in_second < 1.0:
                    return 1.0 - (now - first_in_second)
            times.append(now)
            return None
