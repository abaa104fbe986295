"""What arrives over HTTP, read without trusting it: bodies, JSON and ``Retry-After``.

- A body is read up to a size cap, counted after decoding, so a huge answer or a gzip
  bomb costs one token a ``bad_response``, never gigabytes of memory.
- JSON that cannot be decoded, however it fails (nested a million deep included), is
  ``None`` to the caller, never an exception that could end a batch.
- ``Retry-After``, from a GET or from the token endpoint, is one number of seconds in
  ``[0, cap]`` or ``None``: negative, ``nan``, ``inf``, huge and garbage values included.
- Nothing that comes from the server (reason phrase, content type, body text) is ever
  put into a message: a proxy can echo a secret into any of them. The one exception,
  the field names and error keys of a 422, pass only as short identifiers of
  lowercase letters that are no part of the token's secrets.
"""

from __future__ import annotations

import email.utils
import json
import math
import time
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

import urllib3

__all__ = [
    "BodyTooLarge",
    "decode_json",
    "error_keys",
    "phrase",
    "read_body",
    "retry_after_seconds",
]


class BodyTooLarge(Exception):
    """The answer's body is over the cap (its declared length, or what arrived)."""

    def __init__(self, cap: int) -> None:
        super().__init__(f"the answer is larger than the {cap:,}-byte cap")
        self.cap = cap


def read_body(response: urllib3.BaseHTTPResponse, cap: int) -> bytes:
    """The decoded body of a streamed response, at most ``cap`` bytes; ``BodyTooLarge``
    past that (the connection is then closed, not reused)."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > cap:  # declared too large: refused unread
        response.close()
        raise BodyTooLarge(cap)
    body = response.read(cap + 1, decode_content=True)  # decoded, never past cap + 1
    if len(body) > cap:
        response.close()
        raise BodyTooLarge(cap)
    response.release_conn()  # the whole body was read: the connection is reused
    return body


def decode_json(body: bytes) -> Any:
    """The JSON value of ``body``, or None when it is not JSON (of any depth or shape).

    Bytes are decoded as the JSON standard says (UTF-8, or a UTF-16/32 byte order), so
    a malformed ``Content-Type`` does not matter.
    """
    try:
        return json.loads(body)
    except (ValueError, RecursionError, MemoryError):
        return None


# What a 422's field names and error keys may be to be quoted: the names Cronofy's API
# reference uses for its request fields and its error keys. Anything else is counted,
# never quoted: a hostile server could spell a token in "names" that look harmless.
FIELDS = frozenset(
    {
        "account_id", "calendar_id", "client_id", "code", "description", "email", "end",
        "event_id", "from", "grant_type", "location", "name", "profile_id", "query",
        "redirect_uri", "scope", "start", "state", "sub", "summary", "to", "tzid",
    }
)  # fmt: skip
KEYS = frozenset(
    {
        "errors.blank", "errors.inclusion", "errors.invalid", "errors.invalid_date",
        "errors.invalid_time", "errors.invalid_tzid", "errors.not_found",
        "errors.not_permitted", "errors.required", "errors.too_long", "errors.too_short",
        "errors.unknown",
    }
)  # fmt: skip


def error_keys(payload: Any, secrets: Iterable[str] = ()) -> list[str]:
    """``field: key`` of a 422 body ``{"errors": {field: [{"key", "description"}]}}``,
    sorted, for the field names and keys Cronofy documents (:data:`FIELDS`,
    :data:`KEYS`) and no part of a secret; how many others there were, as one item."""
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if not isinstance(errors, dict):
        return []
    hidden = [s.lower() for s in secrets if s]

    def known(name: object, vocabulary: frozenset[str]) -> bool:
        return name in vocabulary and not any(str(name) in s for s in hidden)

    found, other = set(), 0
    for field, entries in list(errors.items())[:50]:
        if not known(field, FIELDS):
            other += 1
            continue
        keys = (
            [e.get("key") for e in entries if isinstance(e, dict)]
            if isinstance(entries, list)
            else []
        )
        shown = {f"{field}: {key}" for key in keys[:5] if known(key, KEYS)}
        other += sum(1 for key in keys[:5] if not known(key, KEYS))
        found |= shown or {field}
    tail = [f"{other} other name{'s' if other != 1 else ''} not shown"] if other else []
    return [*sorted(found), *tail]


def retry_after_seconds(value: str | None, cap: float) -> float | None:
    """``Retry-After`` as seconds within ``(0, cap]``; None when absent or unusable.

    Seconds (``"3"``, ``"2.5"``) or an HTTP date. Infinite or huge values count as
    ``cap``; negative, zero, ``nan``, a date in the past and garbage as absent: the
    caller then backs off on its own (1, 2, 4 ... 16 s), so a server cannot make it
    retry at once, over and over. Never raises.
    """
    text = (value or "").strip()[:64]
    if not text:
        return None
    seconds: float | None
    try:
        seconds = float(text)
    except ValueError:
        seconds = _from_date(text)
    if seconds is None or math.isnan(seconds) or seconds <= 0:
        return None
    return min(seconds, float(cap))


def _from_date(text: str) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    try:
        return when.timestamp() - time.time()
    except (OverflowError, OSError, ValueError):
        return None


def phrase(status: int) -> str:
    """The standard reason phrase of ``status`` (never the one the server sent)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
