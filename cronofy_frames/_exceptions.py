"""Exceptions and the token store's warnings. Bad input raises the built-in
``ValueError``; the rest of the tree:

    CronofyFramesError
     ├── RequestFailed        one token's request failed; ``kind`` is an errors-frame kind
     │    └── LoadFailed      raised by a loader with ``errors="raise"``
     └── PairNotSaved         a refreshed pair could not be appended to its file (the
                              load then stops refreshing; the pair is kept in memory)

    UserWarning
     ├── RefreshedTokensApplied   reading a tokens CSV applied newer stored pairs
     ├── RefreshedPairsIgnored    stored pairs that belong to no token read were ignored
     ├── RefreshedPairsNotSaved   refreshed pairs went to a fallback file (or nowhere)
     └── UnknownShapeWarning      userinfo answers of no documented shape, kept as known

Messages name the token's label, data center, endpoint and status, never a secret,
and no exception keeps a request object (whose headers hold the token).
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "ERROR_KINDS",
    "PERMANENT_KINDS",
    "CronofyFramesError",
    "ErrorKind",
    "LoadFailed",
    "PairNotSaved",
    "RefreshedPairsIgnored",
    "RefreshedPairsNotSaved",
    "RefreshedTokensApplied",
    "RequestFailed",
    "UnknownShapeWarning",
]

ErrorKind = Literal[
    "unauthorized",  # 401 and no refresh was possible, or still 401 after one
    "refresh_failed",  # POST /oauth/token refused (invalid_grant, wrong client) or failed
    "forbidden",  # 403: the token lacks the scope
    "payment_required",  # 402: the plan lacks the feature
    "locked",  # 423: the account's credentials are unavailable
    "not_found",  # 404
    "unprocessable",  # 422: the request was refused as invalid (its field keys are named)
    "rate_limited",  # 429 after every retry
    "server_error",  # 5xx after every retry
    "timeout",  # no answer within the timeout, after every retry
    "connection",  # could not connect, or the connection broke, after every retry
    "bad_response",  # an answer that is not the documented JSON (or another status)
    "internal_error",  # a bug in this toolkit or a dependency (logged with its traceback)
]
ERROR_KINDS: tuple[ErrorKind, ...] = get_args(ErrorKind)

# What a failure says about the token. Permanent: the token itself is refused ("dead").
# Every other kind means the token could not be checked this time ("retry").
PERMANENT_KINDS: frozenset[ErrorKind] = frozenset(
    {"unauthorized", "refresh_failed", "forbidden", "payment_required", "locked", "not_found"}
)


class CronofyFramesError(Exception):
    """Base of the package's own exceptions."""


class RequestFailed(CronofyFramesError):
    """A request for one token failed for good (after retries and any refresh)."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        endpoint: str,
        status_code: int | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.endpoint = endpoint
        self.status_code = status_code
        self.attempts = attempts


class LoadFailed(RequestFailed):
    """The first failure of a load run with ``errors="raise"``, naming the token's label."""

    def __init__(self, label: str, data_center: str, failure: RequestFailed) -> None:
        super().__init__(
            failure.kind,
            f"token {label!r} ({data_center}): {failure.message}",
            endpoint=failure.endpoint,
            status_code=failure.status_code,
            attempts=failure.attempts,
        )
        self.label = label
        self.data_center = data_center


class PairNotSaved(CronofyFramesError):
    """A refreshed pair could not be appended to its refreshed-pairs file (a full disk):
    the pair is kept in memory and the load stops refreshing. The message names the
    token's label and the file, never a secret."""


class RefreshedTokensApplied(UserWarning):
    """Reading a tokens CSV applied newer pairs from the refreshed-pairs file beside it."""


class RefreshedPairsIgnored(UserWarning):
    """Stored pairs of a refreshed-pairs file were not applied: they belong to another
    label, data center or sandbox, or are not over the pair the token holds; or lines
    were cut short or damaged."""


class RefreshedPairsNotSaved(UserWarning):
    """Refreshed pairs could not be appended to their file: the warning names the
    fallback file they were written to (or says none could be written)."""


class UnknownShapeWarning(UserWarning):
    """Some /v1/userinfo answers had a usable ``sub`` but no documented shape (a type
    Cronofy added later, say): their accounts rows hold what was known, no profiles."""
