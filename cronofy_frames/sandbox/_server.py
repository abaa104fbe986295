"""HTTP/1.1 servers, one per data center, answering like the Cronofy API.

Each response (status line, headers and body) is written with one ``send`` and
sockets use TCP_NODELAY, so keep-alive clients never wait on delayed ACKs.
Requests are logged at DEBUG with method, path and status only: never a header.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import random
import socket
import threading
import urllib.parse
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from . import _hostile as hostile
from ._config import Faults
from ._data import Account
from ._state import RefreshError, World

log = logging.getLogger("cronofy_frames.sandbox")

HTML_ERROR = (
    "<html><head><title>{code} {reason}</title></head><body><h1>{code} {reason}</h1></body></html>"
)
JSON_TYPE = "application/json; charset=utf-8"
SLOPPY_JSON_TYPE = "application/json; charset utf-8"  # as in Cronofy's SDK fixtures
UNPROCESSABLE = json.dumps(
    {"errors": {"tzid": [{"key": "errors.invalid_tzid", "description": "tzid is not valid"}]}}
).encode()
HOSTILE_GET = ("redirect", "nested", "huge", "gzip_bomb", "drip", "echo")
DISCARD = "http://127.0.0.1:9"  # where redirects go unless redirect_to says otherwise
STATS_PATH = "/_sandbox/stats"  # request counts for benchmarks and tests; never rate limited


class SandboxHTTPServer(ThreadingHTTPServer):
    """A threaded server bound to one data center of a shared ``World``."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(
        self, address: tuple[str, int], world: World, dc: str, stopping: threading.Event
    ) -> None:
        self.world = world
        self.dc = dc
        self.stopping = stopping
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, SandboxHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Break every open keep-alive connection so its thread ends now."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class SandboxHandler(BaseHTTPRequestHandler):
    """Routes one request; all state lives in the server's ``World``."""

    protocol_version = "HTTP/1.1"
    server_version = "cronofy-frames-sandbox"
    disable_nagle_algorithm = True
    server: SandboxHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        return  # request lines are logged by _send, without headers or queries

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        path = urllib.parse.urlsplit(self.path).path
        body = self._read_body()
        world, dc = self.server.world, self.server.dc
        if path == STATS_PATH:
            self._send(200, json.dumps(world.stats()).encode(), JSON_TYPE)
            return
        if self._pause(world.faults.latency, world.faults.jitter):
            return
        if dc in world.faults.down:
            self._error(503, html=True)
        elif (wait := world.admit(dc)) is not None:
            self._too_many(wait, force_header=random.random() < world.faults.retry_after)
        elif method == "POST" and path == "/oauth/token":
            self._token(body)
        elif method == "GET" and path in ROUTES:
            self._api(path)
        else:
            self._send(404, b"", "text/plain")

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _pause(self, seconds: float, jitter: float = 0.0) -> bool:
        """Sleep, waking early when the sandbox stops; True if it stopped."""
        if jitter:
            seconds += random.uniform(0, jitter)
        return seconds > 0 and self.server.stopping.wait(seconds)

    def _api(self, path: str) -> None:
        world, dc = self.server.world, self.server.dc
        token = _bearer(self.headers.get("Authorization", ""))
        account = world.authenticate(token, dc) if token else None
        if account is None:
            self._send(401, b"", "text/plain", extra={"WWW-Authenticate": 'Bearer realm="Cronofy"'})
            return
        world.requests[(dc, path)] += 1
        if path == "/v1/userinfo" and dc in world.userinfo_status:
            self._send(world.userinfo_status[dc], b"", "text/plain")
            return
        if path == "/v1/userinfo" and account.index in world.userinfo_forbidden:
            self._send(403, b"", "text/plain")  # this token lacks the scope: its own answer
            return
        rng = world.draw(token, path)
        if self._fault(rng):
            return
        payload = ROUTES[path](account)
        sloppy = rng.random() < world.faults.sloppy_content_type
        self._send(200, json.dumps(payload).encode(), SLOPPY_JSON_TYPE if sloppy else JSON_TYPE)

    def _fault(self, rng: Any) -> bool:
        """Apply at most one drawn fault to this request; True if it answered."""
        f, roll = self.server.world.faults, rng.random()
        for name, probability in _fault_table(f):
            if roll < probability:
                return self._apply(name, rng)
            roll -= probability
        return False

    def _apply(self, name: str, rng: Any) -> bool:
        f = self.server.world.faults
        if name == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif name in ("http_429", "burst_429"):
            if name == "burst_429":
                self.server.world.start_burst(self.server.dc)
            self._too_many(
                f.burst_seconds if name == "burst_429" else 1.0,
                force_header=rng.random() < f.retry_after,
            )
        elif name == "http_422":
            self._send(422, self._unprocessable(), JSON_TYPE)
        elif name.startswith("http_5"):
            code = int(name[5:])
            self._error(code, html=code != 500)
        elif name == "slow":
            return self._pause(f.slow_seconds)
        elif name in ("malformed", "truncated"):
            self._broken(truncated=name == "truncated")
        else:
            self._hostile(name)
        return True

    def _hostile(self, name: str) -> None:
        f = self.server.world.faults
        self.close_connection = True  # a hostile answer is never followed by another
        if name == "redirect":
            self._raw(hostile.redirect(f.redirect_to or DISCARD, self.path))
        elif name == "nested":
            self._raw(hostile.nested())
        elif name == "huge":
            self._raw(hostile.huge_head(f.huge_bytes))
            self._raw_pieces(b" " * (1 << 20), f.huge_bytes)
        elif name == "gzip_bomb":
            self._raw(hostile.gzip_bomb(f.huge_bytes * hostile.BOMB_RATIO))
        elif name == "drip":
            body = json.dumps(_profiles(self.server.world.account(0))).encode()
            self._drip(hostile.raw(200, "OK", body, JSON_TYPE))
        else:  # echo
            self._raw(hostile.echo(self.headers.get("Authorization", "")))

    def _raw(self, data: bytes) -> None:
        try:
            self.wfile.write(data)
        except OSError:
            self.close_connection = True

    def _raw_pieces(self, piece: bytes, size: int) -> None:
        sent = 0
        with contextlib.suppress(OSError):
            while sent < size and not self.server.stopping.is_set():
                chunk = piece[: size - sent]
                self.wfile.write(chunk)
                sent += len(chunk)

    def _drip(self, data: bytes) -> None:
        """Send ``data`` a byte at a time, ``drip_seconds`` apart."""
        with contextlib.suppress(OSError):
            for i in range(len(data)):
                self.wfile.write(data[i : i + 1])
                if self._pause(self.server.world.faults.drip_seconds):
                    return

    def _broken(self, truncated: bool) -> None:
        body = b'{"profiles": [{"provider_name": "goo' if truncated else b"<html>It works!</html>"
        self._send(200, body, JSON_TYPE)

    def _unprocessable(self) -> bytes:
        """Cronofy's 422 body; with ``echo`` on, a proxy's copy that also names the
        request's token (as sent and lowercased) as a field and as an error key."""
        if not self.server.world.faults.echo:
            return UNPROCESSABLE
        secret = _bearer(self.headers.get("Authorization", ""))
        errors = json.loads(UNPROCESSABLE)["errors"]
        for name in (secret, secret.lower()):
            errors[name] = [{"key": name, "description": name}]
        errors["tzid"].append({"key": secret.lower()})
        return json.dumps({"errors": errors}).encode()

    def _too_many(self, wait: float, force_header: bool) -> None:
        self.server.world.requests[(self.server.dc, "429")] += 1
        extra = {}
        if self.server.world.faults.bad_retry_after:
            extra["Retry-After"] = self.server.world.faults.bad_retry_after
        elif force_header:
            extra["Retry-After"] = str(max(1, math.ceil(wait)))
        self._send(429, b"", "text/plain", extra=extra)

    def _error(self, code: int, html: bool) -> None:
        reason = HTTPStatus(code).phrase
        if html:
            self._send(code, HTML_ERROR.format(code=code, reason=reason).encode(), "text/html")
        else:
            self._send(code, b"", "text/plain")

    def _token(self, body: bytes) -> None:
        form = _form(body, self.headers.get("Content-Type", ""))
        world = self.server.world
        world.requests[(self.server.dc, "/oauth/token")] += 1
        if form.get("grant_type") != "refresh_token":
            self._send(400, b'{"error": "unsupported_grant_type"}', JSON_TYPE)
            return
        rng = world.draw(form.get("refresh_token", ""), "/oauth/token")
        if self._pause(world.faults.refresh_delay) or self._token_fault(rng, body):
            return
        try:
            grant = world.refresh(
                self.server.dc,
                form.get("client_id", ""),
                form.get("client_secret", ""),
                form.get("refresh_token", ""),
            )
        except RefreshError as exc:
            self._send(exc.status, json.dumps({"error": exc.error}).encode(), JSON_TYPE)
            return
        if rng.random() < world.faults.refresh_malformed:
            self._raw(hostile.malformed_refresh(grant.refresh_token, grant.expires_in, rng))
            return
        payload = {
            "token_type": "bearer",
            "access_token": grant.access_token,
            "expires_in": grant.expires_in,
            "refresh_token": grant.refresh_token,
            "scope": grant.scope,
        }
        self._send(
            200,
            json.dumps(payload).encode(),
            JSON_TYPE,
            extra={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    def _token_fault(self, rng: Any, body: bytes) -> bool:
        """A hostile answer from the token endpoint before any refresh; True if sent."""
        f = self.server.world.faults
        if rng.random() < f.refresh_429:
            self._too_many(1.0, force_header=True)
        elif rng.random() < f.refresh_redirect:
            self._raw(hostile.redirect(f.redirect_to or DISCARD, self.path))
        elif rng.random() < f.refresh_echo:
            self._raw(hostile.echo(body.decode("utf-8", "replace")))
        else:
            return False
        return True

    def _send(
        self, code: int, body: bytes, content_type: str, extra: dict[str, str] | None = None
    ) -> None:
        reason = HTTPStatus(code).phrase
        lines = [
            f"HTTP/1.1 {code} {reason}",
            f"Date: {formatdate(usegmt=True)}",
            f"Server: {self.server_version}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}",
        ]
        lines += [f"{k}: {v}" for k, v in (extra or {}).items()]
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            self.wfile.write(head + body)
        except OSError:
            self.close_connection = True
        log.debug("%s %s %s -> %d", self.server.dc, self.command, self.path.split("?")[0], code)


def _fault_table(f: Faults) -> list[tuple[str, float]]:
    """The per-request faults and their probabilities, in the order they are drawn."""
    return [
        ("drop", f.drop),
        ("http_429", f.http_429),
        ("burst_429", f.burst_429),
        ("http_500", f.http_500),
        ("http_502", f.http_502),
        ("http_503", f.http_503),
        ("http_504", f.http_504),
        ("http_422", f.http_422),
        ("slow", f.slow),
        ("malformed", f.malformed),
        ("truncated", f.truncated),
        *((name, getattr(f, name)) for name in HOSTILE_GET),
    ]


def _bearer(header: str) -> str:
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _form(body: bytes, content_type: str) -> dict[str, str]:
    text = body.decode("utf-8", "replace")
    if "json" in content_type:
        try:
            data = json.loads(text)
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    return {k: v[0] for k, v in urllib.parse.parse_qs(text).items()}


def _profiles(account: Account) -> dict[str, Any]:
    return {"profiles": [p.as_json(with_calendars=False) for p in account.profiles]}


def _account(account: Account) -> dict[str, Any]:
    return {
        "account": {
            "account_id": account.account_id,
            "email": account.email,
            "name": account.name,
            "scope": account.scope,
            "default_tzid": account.default_tzid,
        },
        "sub": account.account_id,
    }


def _userinfo(account: Account) -> dict[str, Any]:
    """As Cronofy shows each account type: a person, a service account (no profiles
    key), an application calendar (no email, its own id beside ``sub``); a share of
    service accounts in the older flat shape (no ``cronofy.data``) that Cronofy's
    omniauth gem still reads."""
    out: dict[str, Any] = {"sub": account.account_id}
    if account.flat:
        key = f"cronofy.service_account.{account.flat}"
        value = account.domain if account.flat == "domain" else account.email
        return {**out, "cronofy.type": account.kind, key: value}
    if account.email is not None:
        out["email"] = account.email
    if account.name is not None:
        out["name"] = account.name
    out["zoneinfo"] = account.default_tzid
    out["cronofy.type"] = account.kind
    authorization = {"scope": account.userinfo_scope, "status": "active"}
    data: dict[str, Any] = {"authorization": authorization}
    if account.kind == "service_account":
        authorization["delegated_scope"] = "read_account list_calendars read_events"
        data["service_account"] = {"provider_name": "google", "domain": account.domain}
        out["cronofy.data"] = data
        return out
    if account.kind == "application_calendar":
        out["application_calendar_id"] = f"app-calendar-{account.index}"
        data["application_calendar"] = {"application_calendar_id": out["application_calendar_id"]}
    data["profiles"] = [p.as_json(with_calendars=True) for p in account.profiles]
    if account.conferencing:
        data["conferencing_profiles"] = [c.as_json() for c in account.conferencing]
    out["cronofy.data"] = data
    return out


ROUTES = {"/v1/profiles": _profiles, "/v1/account": _account, "/v1/userinfo": _userinfo}
