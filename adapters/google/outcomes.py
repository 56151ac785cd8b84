"""A Google answer as the engine's :class:`~engine.target.Outcome` of one operation.

The engine owns every retry of a write and what happens to a write in doubt
(docs/architecture.md, "Writes in doubt" and "Who retries what"); this only says which one it
is. A create answered 5xx or not at all may have taken effect: IN_DOUBT, read back by its
natural key (the ``d:`` alias of a course, the primary email of a user) before it is sent
again. Any other write answered 5xx is safe to send again (a patch, a delete, a roster add
whose 409 would mean done): RETRY.
"""

from __future__ import annotations

from adapters.kit.http import NoAnswer
from engine.target import Outcome

from .client import Answer
from .errors import Kind


def outcome(answer: Answer, *, creates: bool, target_id: str | None = None) -> Outcome:
    """The outcome of an operation whose (last) call got ``answer``. ``creates``: the call
    makes a new object, so a 5xx leaves it in doubt."""
    verdict = answer.verdict
    text = verdict.describe()
    match verdict.kind:
        case Kind.OK:
            return Outcome.done(target_id or _id(answer))
        case Kind.ADOPT:
            return Outcome.done(target_id or _id(answer), adopted=True)
        case Kind.RETRY if answer.status >= 500 and creates:
            return Outcome.in_doubt("server_error", text)
        case Kind.RETRY:
            reason = "throttled" if answer.status in (429, 403) else "not_visible"
            reason = "server_error" if answer.status >= 500 else reason
            return Outcome.retry(reason, text)
        case Kind.FIX_DATA:
            return Outcome.failed(verdict.code or "refused", text)
        case Kind.TENANT:
            return Outcome.fatal(verdict.code or "tenant", text)
        case Kind.NOT_FOUND:
            return Outcome.failed("not_found", text)
        case _:
            return Outcome.failed(verdict.code or f"http_{answer.status}", text)


def no_answer(error: NoAnswer, *, creates: bool) -> Outcome:
    """No answer at all: a create that may have arrived is in doubt; anything else is sent
    again."""
    if creates and error.may_have_arrived:
        return Outcome.in_doubt(error.kind, str(error))
    return Outcome.retry(error.kind, str(error))


def _id(answer: Answer) -> str | None:
    body = answer.body
    if isinstance(body, dict):
        for key in ("id", "userId", "alias"):
            if isinstance(body.get(key), str):
                return str(body[key])
    return None
