"""Every default of a load, named once (the httpx way): the loaders, the transport and
the command line (its defaults and ``--help`` text) all read them from here."""

from __future__ import annotations

__all__ = [
    "BACKOFF_FACTOR",
    "BACKOFF_JITTER",
    "BACKOFF_MAX",
    "MAX_CALENDARS",
    "MAX_CONFERENCING",
    "MAX_OBJECTS",
    "MAX_PROFILES",
    "MAX_RESPONSE_BYTES",
    "MAX_ROWS",
    "MAX_WORKERS",
    "PER_MINUTE",
    "PER_SECOND",
    "RETRIES",
    "RETRY_AFTER_MAX",
    "TIMEOUT",
]

TIMEOUT = 30.0  # seconds one attempt of a request may take in all
MAX_WORKERS = 8  # requests in flight per data center
RETRIES = 4  # retries per GET (and per 429 on the token endpoint)
RETRY_AFTER_MAX = 60.0  # the cap on any Retry-After, in seconds
MAX_RESPONSE_BYTES = 10 * 1024 * 1024  # the cap on a decoded answer
# What one answer may expand into: far above anything real (an account has a handful of
# profiles, a profile tens of calendars), so that bytes cannot become millions of rows
MAX_OBJECTS = 100_000  # JSON objects in one answer, counted before it is decoded
MAX_PROFILES = 1_000  # calendar profiles of one account
MAX_CALENDARS = 1_000  # calendars of one profile
MAX_CONFERENCING = 100  # conferencing profiles of one account
MAX_ROWS = 10_000_000  # rows one load holds in memory (all frames together)
BACKOFF_FACTOR = 0.5  # seconds before the second attempt; doubled each time after
BACKOFF_JITTER = 0.25  # seconds of random extra on each backoff
BACKOFF_MAX = 20.0  # the longest backoff, in seconds
PER_SECOND = 50  # Cronofy's documented default limit per application and data center
PER_MINUTE = 500
