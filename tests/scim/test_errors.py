"""SCIM answers by status and scimType: retry, adopt, fix the data, or stop the tenant."""

from __future__ import annotations

import pytest

from adapters.kit.http import NoAnswer
from adapters.scim.client import Answer
from adapters.scim.errors import classify, is_adoptable, no_answer
from engine.target import OutcomeKind


def _err(status: int, scim_type: str = "", detail: str = "") -> Answer:
    body = {"status": str(status), "scimType": scim_type, "detail": detail}
    return Answer(status, body, retry_after=3.0 if status == 429 else None)


@pytest.mark.parametrize(
    ("answer", "method", "kind", "reason"),
    [
        (Answer(201, {"id": "abc"}), "POST", OutcomeKind.DONE, ""),
        (_err(429), "PATCH", OutcomeKind.RETRY, "throttled"),
        (_err(503), "POST", OutcomeKind.IN_DOUBT, "server_error"),
        (_err(503), "PATCH", OutcomeKind.RETRY, "server_error"),
        (_err(504), "POST", OutcomeKind.IN_DOUBT, "timeout"),
        (_err(412), "PATCH", OutcomeKind.RETRY, "conflict"),
        (_err(400, "invalidValue", "bad userName"), "POST", OutcomeKind.FAILED, "invalidValue"),
        (_err(400, "mutability"), "PATCH", OutcomeKind.FAILED, "mutability"),
        (_err(409, "uniqueness"), "PATCH", OutcomeKind.FAILED, "uniqueness"),
        (_err(404), "PATCH", OutcomeKind.FAILED, "not_found"),
        (_err(413), "POST", OutcomeKind.FAILED, "too_large"),
        (_err(501), "PATCH", OutcomeKind.FATAL, "unsupported"),
    ],
)
def test_answers_are_classified(
    answer: Answer, method: str, kind: OutcomeKind, reason: str
) -> None:
    outcome = classify(answer, method, f"{method} /Users/x")
    assert outcome.kind is kind
    assert outcome.reason == reason
    if kind is OutcomeKind.DONE:
        assert outcome.target_id == "abc"
    if answer.status == 429:
        assert outcome.retry_after == 3.0


def test_a_uniqueness_conflict_on_a_create_is_adopted_and_others_are_not() -> None:
    assert is_adoptable(_err(409, "uniqueness"))
    assert is_adoptable(_err(409))
    assert not is_adoptable(_err(409, "mutability"))
    assert not is_adoptable(_err(400, "uniqueness"))


def test_no_answer_puts_only_a_create_that_may_have_arrived_in_doubt() -> None:
    timeout = NoAnswer("timeout", "POST /Users", 1, TimeoutError())
    unreachable = NoAnswer("unreachable", "POST /Users", 3, OSError())
    assert no_answer(timeout, creates=True).kind is OutcomeKind.IN_DOUBT
    assert no_answer(timeout, creates=False).kind is OutcomeKind.RETRY
    assert no_answer(unreachable, creates=True).kind is OutcomeKind.RETRY
