"""POST {api host}/oauth/token with grant_type=refresh_token.

Retried only after a 429, which the server sends before doing anything: after any other
failure a repeated exchange could spend a rotated refresh token. Failures become
``refresh_failed`` with a message that holds neither the client secret nor either token
(pycronofy's issue #109 is what this avoids).
"""

from __future__ import annotations

import requests

from ._exceptions import RequestFailed
from .credentials import ClientCredentials, Token

ENDPOINT = "/oauth/token"


def exchange_refresh_token(
    session: requests.Session, token: Token, client: ClientCredentials, timeout: float
) -> tuple[str, str | None]:
    """The new (access_token, refresh_token); the refresh token is None if none came back."""
    body = {
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "grant_type": "refresh_token",
        "refresh_token": token.refresh_token,
    }
    try:
        response = session.post(token.base_url + ENDPOINT, json=body, timeout=timeout)
    except requests.RequestException as exc:
        kind = (
            "no answer within the timeout"
            if isinstance(exc, requests.Timeout)
            else "connection failed"
        )
        raise _failed(f"{kind}", None) from None
    if response.status_code == 429:
        raise RefreshRateLimited(_retry_after(response))
    if response.status_code != 200:
        raise _failed(_why(response), response.status_code)
    try:
        payload = response.json()
        access, refresh = payload["access_token"], payload.get("refresh_token")
    except (ValueError, KeyError, TypeError, AttributeError):
        raise _failed("the answer is not the documented JSON", 200) from None
    if (
        not isinstance(access, str)
        or not access
        or not (refresh is None or isinstance(refresh, str))
    ):
        raise _failed("the answer holds no usable access token", 200)
    return access, refresh or None


class RefreshRateLimited(RequestFailed):
    """429 on the token endpoint: refused before it was processed, so safe to try again."""

    def __init__(self, retry_after: float | None) -> None:
        super().__init__(
            "rate_limited",
            f"POST {ENDPOINT}: HTTP 429 Too Many Requests",
            endpoint=ENDPOINT,
            status_code=429,
        )
        self.retry_after = retry_after


def _retry_after(response: requests.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None


def _why(response: requests.Response) -> str:
    try:
        error = str(response.json().get("error", ""))[:40]
    except (ValueError, AttributeError):
        error = ""
    if response.status_code == 400:
        return (
            f"the refresh token was refused ({error or 'HTTP 400'}): a new authorization is needed"
        )
    if response.status_code == 401:
        return "the data center's client credentials were refused (HTTP 401)"
    return f"HTTP {response.status_code}" + (f" ({error})" if error else "")


def _failed(why: str, status: int | None) -> RequestFailed:
    return RequestFailed(
        "refresh_failed", f"POST {ENDPOINT}: {why}", endpoint=ENDPOINT, status_code=status
    )
