"""The sandbox's hostile answers: what a broken or hostile proxy in front of the API sends.

Each function builds one answer as raw bytes (status line, headers and body), so it can
be anything a real proxy could put on the wire: a redirect elsewhere, JSON nested past
any parser's recursion limit, a body too large to hold, a gzip bomb, a reason phrase
and body that echo the request's secrets, a refresh answer that rotated the pair but
mangled the access token.
"""

from __future__ import annotations

import functools
import gzip
import json
import random
from email.utils import formatdate

JSON_TYPE = "application/json; charset=utf-8"
NEST_DEPTH = 100_000
MANGLED = {"spaces": "not a usable token", "non_ascii": "t\u00f6ken\u2603"}  # access tokens
BOMB_RATIO = 10  # the gzip bomb inflates to this many times huge_bytes


def raw(
    code: int, reason: str, body: bytes, content_type: str, extra: dict[str, str] | None = None
) -> bytes:
    """One HTTP/1.1 answer, headers taken as they are (latin-1, no checking), after which
    the sandbox closes the connection."""
    lines = [
        f"HTTP/1.1 {code} {reason}",
        f"Date: {formatdate(usegmt=True)}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    lines += [f"{k}: {v}" for k, v in (extra or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace") + body


def redirect(target: str, path: str) -> bytes:
    """A 307 to the same path elsewhere: a client that follows it re-sends its secrets."""
    return raw(307, "Temporary Redirect", b"", "text/plain", {"Location": target + path})


def nested() -> bytes:
    """A 200 whose JSON is nested far past any recursion limit."""
    body = b'{"profiles": ' + b"[" * NEST_DEPTH + b"]" * NEST_DEPTH + b"}"
    return raw(200, "OK", body, JSON_TYPE)


def huge_head(size: int) -> bytes:
    """The head of a 200 with a body of ``size`` bytes (sent after it in pieces)."""
    return raw(200, "OK", b"", JSON_TYPE).replace(
        b"Content-Length: 0", f"Content-Length: {size}".encode()
    )


@functools.cache
def bomb(size: int) -> bytes:
    """A gzip body that inflates to ``size`` bytes of JSON-looking padding."""
    return gzip.compress(b'{"profiles": [], "pad": "' + b" " * size + b'"}', compresslevel=9)


def gzip_bomb(size: int) -> bytes:
    """A 200 with ``Content-Encoding: gzip`` that inflates to ``size`` bytes."""
    return raw(200, "OK", bomb(size), JSON_TYPE, {"Content-Encoding": "gzip"})


def echo(secret: str) -> bytes:
    """A 400 whose reason phrase, content type and body echo ``secret`` (from the request)."""
    body = json.dumps({"error": secret, "error_description": f"bad request: {secret}"}).encode()
    return raw(400, f"Bad {secret}", body, f"application/json; {secret}")


def malformed_refresh(refresh_token: str, expires_in: int, rng: random.Random) -> bytes:
    """A 200 from the token endpoint with a new refresh token but an unusable access token."""
    payload: dict[str, object] = {
        "token_type": "bearer",
        "expires_in": expires_in,
        "refresh_token": refresh_token,
    }
    kind = rng.choice((*MANGLED, "missing"))
    if kind in MANGLED:
        payload["access_token"] = MANGLED[kind]
    return raw(200, "OK", json.dumps(payload).encode(), JSON_TYPE, {"Cache-Control": "no-store"})
