"""What the status alone says: a 429 is sent again, an error or timeout leaves a create in doubt
and lets a request that is safe to send twice be retried; the rest is the adapter's to read."""

from __future__ import annotations

import pytest

from adapters.kit.outcomes import status_outcome, unanswered_write
from engine.target import OutcomeKind


@pytest.mark.parametrize("status", [408, 500, 502, 503, 504])
def test_a_post_without_an_answer_is_in_doubt(status: int) -> None:
    assert unanswered_write(status, "POST")
    outcome = status_outcome(status, "POST", where="POST /users")
    assert outcome is not None and outcome.kind is OutcomeKind.IN_DOUBT
    assert "POST /users" in outcome.message


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_a_request_safe_to_send_twice_is_retried_after_a_5xx(method: str) -> None:
    assert not unanswered_write(503, method)
    outcome = status_outcome(503, method, where="x", retry_after=3.0)
    assert outcome is not None and outcome.kind is OutcomeKind.RETRY
    assert outcome.reason == "server_error" and outcome.retry_after == 3.0


def test_a_throttled_create_is_sent_again_after_its_retry_after() -> None:
    assert not unanswered_write(429, "POST")
    outcome = status_outcome(429, "POST", where="x", retry_after=7.0)
    assert outcome is not None and outcome.kind is OutcomeKind.RETRY
    assert (outcome.reason, outcome.retry_after) == ("throttled", 7.0)


@pytest.mark.parametrize("status", [200, 201, 204, 400, 401, 403, 404, 409])
def test_other_answers_are_left_to_the_adapter(status: int) -> None:
    assert status_outcome(status, "POST", where="x") is None
