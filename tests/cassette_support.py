"""vcrpy set-up: secrets become stable pseudonyms before recording and before matching.

vcrpy runs ``before_record_request`` on recorded and incoming requests alike, so the
pseudonym function must leave an already-replaced value unchanged: replaying with
the pseudonyms themselves as tokens then matches what was recorded.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import vcr

CASSETTES = Path(__file__).resolve().parent.parent / "cassettes"
PREFIX = "redacted-"
SECRET_FIELDS = ("client_secret", "refresh_token", "access_token")


def pseudonym(secret: str) -> str:
    """``redacted-`` + 8 hex digits of the secret's hash; a pseudonym is returned unchanged."""
    if secret.startswith(PREFIX):
        return secret
    return PREFIX + hashlib.sha256(secret.encode()).hexdigest()[:8]


def _scrub_json(raw: bytes | str | None) -> bytes | str | None:
    if not raw:
        return raw
    try:
        data = json.loads(raw)
    except ValueError:
        return raw
    if not isinstance(data, dict):
        return raw
    for name in SECRET_FIELDS:
        if isinstance(data.get(name), str):
            data[name] = pseudonym(data[name])
    text = json.dumps(data)
    return text.encode() if isinstance(raw, bytes) else text


def scrub_request(request: Any) -> Any:
    """The request with its bearer token and secret body fields replaced by pseudonyms."""
    request = copy.deepcopy(request)
    header = request.headers.get("Authorization")
    if header and header.lower().startswith("bearer "):
        request.headers["Authorization"] = "Bearer " + pseudonym(header[7:].strip())
    request.body = _scrub_json(request.body)
    return request


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    """The response with any token in its JSON body replaced by a pseudonym."""
    response = copy.deepcopy(response)
    response["body"]["string"] = _scrub_json(response["body"]["string"])
    return response


def authorization(r1: Any, r2: Any) -> None:
    """Matcher: the same (pseudonymous) bearer token."""
    assert r1.headers.get("Authorization") == r2.headers.get("Authorization")


def json_body(r1: Any, r2: Any) -> None:
    """Matcher: equal JSON bodies (or both empty)."""
    assert (json.loads(r1.body) if r1.body else None) == (json.loads(r2.body) if r2.body else None)


def recorder(sent: list[Any] | None = None) -> vcr.VCR:
    """Replay only, unless ``CRONOFY_RECORD=1`` (then new interactions are recorded).

    ``sent`` collects every request the client makes, as scrubbed for matching.
    """
    mode = "new_episodes" if os.environ.get("CRONOFY_RECORD") == "1" else "none"

    def scrub_and_keep(request: Any) -> Any:
        scrubbed = scrub_request(request)
        if sent is not None:
            sent.append(scrubbed)
        return scrubbed

    v = vcr.VCR(
        cassette_library_dir=str(CASSETTES),
        record_mode=mode,
        before_record_request=scrub_and_keep,
        before_record_response=scrub_response,
        match_on=[
            "method",
            "scheme",
            "host",
            "port",
            "path",
            "query",
            "authorization",
            "json_body",
        ],
        decode_compressed_response=True,
    )
    v.register_matcher("authorization", authorization)
    v.register_matcher("json_body", json_body)
    return v
