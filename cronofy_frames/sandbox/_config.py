"""Configuration objects of the sandbox: rate limits and fault injection."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from ._data import DC_IDS

PROBABILITY_FAULTS = (
    "http_429",
    "burst_429",
    "http_500",
    "http_502",
    "http_503",
    "http_504",
    "slow",
    "drop",
    "malformed",
    "truncated",
    "retry_after",
    "redirect",
    "nested",
    "huge",
    "gzip_bomb",
    "drip",
    "echo",
    "refresh_429",
    "refresh_redirect",
    "refresh_echo",
    "refresh_malformed",
    "http_422",
    "sloppy_content_type",
)
FRACTION_FAULTS = ("expired", "revoked")
SECONDS_FAULTS = (
    "latency",
    "jitter",
    "slow_seconds",
    "burst_seconds",
    "drip_seconds",
    "refresh_delay",
)
TEXT_FAULTS = ("redirect_to", "bad_retry_after")
HOSTILE_FAULTS = PROBABILITY_FAULTS[11:21]  # what a broken or hostile proxy in front may do


@dataclass(frozen=True)
class RateLimit:
    """An application's request budget on one data center (Cronofy's documented default)."""

    per_second: int = 50
    per_minute: int = 500

    def __post_init__(self) -> None:
        if self.per_second < 1 or self.per_minute < 1:
            raise ValueError(
                f"rate limits must be positive, got {self.per_second}/{self.per_minute}"
            )


@dataclass(frozen=True)
class Faults:
    """What can go wrong, and how often; all off by default.

    Probabilities (0..1) are drawn per request from the seed, the token and the
    number of that token's earlier requests, so a run is reproducible whatever the
    thread interleaving. ``expired`` and ``revoked`` are fractions of accounts.
    ``down`` lists data-center ids that answer 503 to everything. Faults other than
    ``latency``, ``jitter``, ``down`` and the ``refresh_*`` ones touch GET endpoints only.

    The hostile side, what a broken or hostile proxy in front of the API may send:
    ``redirect`` (a 307 to ``redirect_to``, by default another data center's port),
    ``nested`` (JSON nested 100,000 deep), ``huge`` (a 200 of ``huge_bytes``),
    ``gzip_bomb`` (a gzip body that inflates to ``huge_bytes`` x 10), ``drip`` (status,
    headers and body one byte every ``drip_seconds``), ``echo`` (a 400 whose reason
    phrase, content type and body echo the request's Authorization header).
    ``bad_retry_after`` is the Retry-After of every 429 (``"inf"``, ``"-5"``, ``"nan"``,
    ``"1e308"``, ``"soon"``...). On ``POST /oauth/token``: ``refresh_429``,
    ``refresh_redirect``, ``refresh_echo`` (a 400 whose body echoes the request body,
    client secret included), ``refresh_malformed`` (the pair is rotated, but the answer's
    access token has spaces, non-ASCII characters or is missing) and ``refresh_delay``
    (seconds before the token endpoint answers).

    Sloppy edges seen in Cronofy's SDK fixtures: ``http_422`` (a 422 with Cronofy's
    ``{"errors": {field: [{"key", "description"}]}}`` body; with ``echo`` on, the body
    also names the request's token as a field and a key) and ``sloppy_content_type``
    (a 200 served as ``application/json; charset utf-8``, without the ``=``).
    """

    latency: float = 0.0
    jitter: float = 0.0
    http_429: float = 0.0
    burst_429: float = 0.0
    burst_seconds: float = 1.0
    retry_after: float = 0.0
    http_500: float = 0.0
    http_502: float = 0.0
    http_503: float = 0.0
    http_504: float = 0.0
    slow: float = 0.0
    slow_seconds: float = 5.0
    drop: float = 0.0
    malformed: float = 0.0
    truncated: float = 0.0
    expired: float = 0.0
    revoked: float = 0.0
    down: tuple[str, ...] = ()
    redirect: float = 0.0
    redirect_to: str = ""
    nested: float = 0.0
    huge: float = 0.0
    huge_bytes: int = 20_000_000
    gzip_bomb: float = 0.0
    drip: float = 0.0
    drip_seconds: float = 0.2
    echo: float = 0.0
    bad_retry_after: str = ""
    refresh_429: float = 0.0
    refresh_redirect: float = 0.0
    refresh_echo: float = 0.0
    refresh_malformed: float = 0.0
    refresh_delay: float = 0.0
    http_422: float = 0.0
    sloppy_content_type: float = 0.0

    def __post_init__(self) -> None:
        for name in PROBABILITY_FAULTS + FRACTION_FAULTS:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"fault {name}={value!r} must be between 0 and 1")
        for name in SECONDS_FAULTS:
            if getattr(self, name) < 0:
                raise ValueError(f"fault {name}={getattr(self, name)!r} must not be negative")
        unknown = [dc for dc in self.down if dc not in DC_IDS]
        if unknown:
            raise ValueError(f"fault down={unknown[0]!r}: not a data center ({', '.join(DC_IDS)})")

    @classmethod
    def parse(cls, items: list[str]) -> Faults:
        """Build from ``NAME=VALUE`` strings, as the command line gives them."""
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {}
        for item in items:
            name, sep, raw = item.partition("=")
            if not sep or name not in known:
                raise ValueError(f"unknown fault {item!r}; known: {', '.join(sorted(known))}")
            values[name] = _parse_value(name, raw)
        return cls(**values)


def _parse_value(name: str, raw: str) -> Any:
    if name in TEXT_FAULTS:
        return raw
    if name == "huge_bytes":
        return int(float(raw))
    if name == "down":
        return tuple(part.strip().lower() for part in raw.split(",") if part.strip())
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"fault {name}={raw!r} needs a number") from None
