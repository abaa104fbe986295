"""_fanout.TokenRunner and _collect.Collector over a fake transport: what one token's
answers become (rows, or exactly one error row of the right kind), and bugs told apart
from bad answers. The unit layer below the sandbox: no sockets, no threads."""

from __future__ import annotations

import logging

import pytest

from cronofy_frames._collect import Collector
from cronofy_frames._exceptions import RequestFailed
from cronofy_frames._fanout import Result, TokenRunner, Want
from tests.fakes import ACCOUNT_ID, FakeTransport, profile, state, userinfo

AUTO = Want(profiles=True, accounts=True, endpoints="auto", exact_scopes=False)
DOCUMENTED = Want(profiles=True, accounts=True, endpoints="documented", exact_scopes=False)


def run(answers: dict[str, object], want: Want = AUTO) -> tuple[FakeTransport, Result]:
    transport = FakeTransport(answers)
    return transport, TokenRunner(transport, want)(state())


def test_one_userinfo_answer_becomes_an_account_and_its_profiles() -> None:
    transport, result = run({"/v1/userinfo": userinfo(profile(1), profile(2, connected=False))})
    rows = result.rows
    assert transport.asked == [("acme", "/v1/userinfo")]
    assert [a["account_id"] for a in rows.accounts] == [ACCOUNT_ID]
    assert [p["profile_connected"] for p in rows.profiles] == [True, False]
    assert rows.errors == []


def test_the_documented_endpoints_serve_when_asked() -> None:
    account = {"account": {"account_id": ACCOUNT_ID, "scope": "read_events"}, "sub": ACCOUNT_ID}
    transport, result = run(
        {"/v1/account": account, "/v1/profiles": {"profiles": [profile(3)]}}, DOCUMENTED
    )
    rows = result.rows
    assert [p for _, p in transport.asked] == ["/v1/account", "/v1/profiles"]
    assert len(rows.accounts) == len(rows.profiles) == 1


def test_a_request_failure_is_one_error_row_of_its_kind() -> None:
    failure = RequestFailed("locked", "GET /v1/userinfo: HTTP 423", endpoint="/v1/userinfo")
    _, result = run({"/v1/userinfo": failure})
    errors = result.rows.errors
    assert [(e["kind"], e["endpoint"]) for e in errors] == [("locked", "/v1/userinfo")]


@pytest.mark.parametrize("answer", [[], "text", {"sub": 3}, {"cronofy.data": []}])
def test_an_answer_of_the_wrong_shape_is_a_bad_response_row(answer: object) -> None:
    _, result = run({"/v1/userinfo": answer})
    assert [e["kind"] for e in result.rows.errors] == ["bad_response"]


def test_a_bug_is_an_internal_error_row_and_a_logged_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """What an old requests without ``get_connection_with_tls_context`` did to every
    token: an AttributeError, once reported as the server's bad_response."""
    secret_text = AttributeError("server said: at_secret_from_the_wire")
    with caplog.at_level(logging.ERROR, logger="cronofy_frames"):
        _, result = run({"/v1/userinfo": secret_text})
    (error,) = result.rows.errors
    assert error["kind"] == "internal_error"
    assert error["message"] == "internal error (AttributeError)"
    (record,) = caplog.records
    assert record.levelname == "ERROR"
    assert "Traceback (most recent call last)" in record.getMessage()
    assert "fakes.py" in record.getMessage()  # where it happened ...
    assert "at_secret_from_the_wire" not in record.getMessage()  # ... never what it said


def test_a_decoding_error_stays_the_answers_fault(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="cronofy_frames"):
        _, result = run({"/v1/userinfo": UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad")})
    assert [e["kind"] for e in result.rows.errors] == ["bad_response"]
    assert caplog.records == []


def test_the_collector_types_every_frame_and_keeps_token_order() -> None:
    runner = TokenRunner(FakeTransport({"/v1/userinfo": userinfo(profile(1))}), AUTO)
    collector = Collector(None, keep=True)
    for label in ("b", "a", "c"):
        collector.add(runner(state(label)))
    frames = collector.frames(["a", "b", "c"])
    assert frames["profiles"]["token_label"].tolist() == ["a", "b", "c"]
    assert str(frames["profiles"]["profile_connected"].dtype) == "boolean"
    assert frames["errors"].empty
    assert list(frames["errors"].columns)[:3] == ["token_label", "data_center", "endpoint"]
