"""A fake transport for the unit layer below the sandbox: path -> a canned answer (the
decoded JSON) or a failure to raise. No sockets, no threads: what the runner, the
collector and the parsers make of an answer, in microseconds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cronofy_frames as cf
from cronofy_frames._oauth import TokenState

ACCOUNT_ID = "acc_5700a00eb0ccd07000000000"


def userinfo(*profiles: dict[str, Any], scope: str = "read_events") -> dict[str, Any]:
    """A /v1/userinfo answer of an ordinary account with ``profiles``."""
    return {
        "sub": ACCOUNT_ID,
        "email": "jane@example.com",
        "name": "Jane",
        "zoneinfo": "Europe/London",
        "cronofy.type": "account",
        "cronofy.data": {
            "authorization": {"scope": scope, "status": "active"},
            "profiles": list(profiles),
        },
    }


def profile(n: int = 1, connected: bool = True, **extra: Any) -> dict[str, Any]:
    """One calendar profile as userinfo and /v1/profiles send it."""
    return {
        "provider_name": "google",
        "provider_service": "gsuite",
        "profile_id": f"pro_{n:010d}",
        "profile_name": f"user{n}@example.com",
        "profile_connected": connected,
        "profile_initial_sync_required": False,
        **extra,
    }


class FakeTransport:
    """``get_json`` from canned answers by path (an exception instance is raised);
    ``asked`` records (label, path) in order."""

    def __init__(self, answers: Mapping[str, object]) -> None:
        self.answers = dict(answers)
        self.asked: list[tuple[str, str]] = []

    def get_json(self, state: TokenState, path: str) -> Any:
        self.asked.append((state.token.label, path))
        answer = self.answers.get(path, KeyError(path))
        if isinstance(answer, BaseException):
            raise answer
        return answer


def state(label: str = "acme", data_center: str = "uk") -> TokenState:
    """The live state of one token, as a load keeps it."""
    return TokenState(cf.Token(f"at_{label}_0000000000000000", data_center, label))
