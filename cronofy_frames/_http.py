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
import re
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


IDENTIFIER = re.compile(r"[a-z][a-z_.]{0,39}")  # no digit, no capital: never a token


def error_keys(payload: Any, secrets: Iterable[str]) -> list[str]:
    """``field: key`` of a 422 body ``{"errors": {field: [{"key", "description"}]}}``,
    sorted; only names made of lowercase letters, ``_`` and ``.`` (at most 40), and no
    part of a secret in any case."""
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if not isinstance(errors, dict):
        return []
    hidden = [s.lower() for s in secrets if s]

    def safe(name: object) -> bool:
        return (
            isinstance(name, str)
            and IDENTIFIER.fullmatch(name) is not None
            and not any(name in s for s in hidden)
        )

    found = set()
    for field, entries in list(errors.items())[:20]:
        if not safe(field):
            continue
        keys = (
            [e.get("key") for e in entries if isinstance(e, dict)]
            if isinstance(entries, list)
            else []
        )
        found |= {f"{field}: {key}" for key in keys[:5] if safe(key)} or {field}
    return sorted(found)


def retry_after_seconds(value: str | None, cap: float) -> float | None:
    """``Retry-After`` as seconds within ``[0, cap]``; None when absent or unreadable.

    Seconds (``"3"``, ``"2.5"``) or an HTTP date. Negative values count as 0, infinite
    or huge ones as ``cap``; ``nan`` and garbage as absent (the caller backs off on its
    own). Never raises.
    """
    text = (value or "").strip()[:64]
    if not text:
        return None
    seconds: float | None
    try:
        seconds = float(text)
    except ValueError:
        seconds = _from_date(text)
    if seconds is None or math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), float(cap))


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
