"""A SCIM answer as the engine's outcome of one operation, by status and ``scimType``
(RFC 7644 §3.12): retry (429, 5xx, 412 after a re-read), adopt (409 ``uniqueness`` on a
create: the caller reads the holder back), fix-the-data (400 ``invalidValue``, ``mutability``,
``invalidSyntax``, a 409 on an update: a finding on the record) and tenant-level (401, 403,
501: the run stops)."""

from __future__ import annotations

from adapters.kit.http import NoAnswer
from adapters.kit.outcomes import status_outcome
from engine.target import Outcome

from .client import Answer

FIX_DATA = {
    "invalidValue": "the service refused a value",
    "mutability": "the service does not let this attribute change",
    "invalidSyntax": "the service could not read the resource",
    "uniqueness": "another resource in the service already holds this value",
    "invalidPath": "the service does not know an attribute ESS sends",
    "noTarget": "the service has no such attribute or value",
    "tooMany": "the service would return too many results",
    "invalidFilter": "the service refused a filter",
}


def is_adoptable(answer: Answer) -> bool:
    """A create refused because the object exists (409, ``uniqueness`` or no scimType)."""
    return answer.status == 409 and answer.scim_type in ("", "uniqueness")


def classify(answer: Answer, method: str, where: str, target_id: str | None = None) -> Outcome:
    """What ``answer`` to one request says about its operation."""
    if answer.ok:
        return Outcome.done(target_id or _id(answer))
    decided = status_outcome(answer.status, method, where=where, retry_after=answer.retry_after)
    if decided is not None:
        return decided
    text = f"{where}: answered {answer.status}"
    if answer.scim_type:
        text += f" {answer.scim_type}"
    if answer.detail:
        text += f": {answer.detail}"
    if answer.status == 412:
        return Outcome.retry("conflict", text + " (changed since it was read; read again)")
    if answer.status == 501:
        return Outcome.fatal("unsupported", text + " (the service does not support this)")
    if answer.status == 404:
        return Outcome.failed("not_found", text + " (the object is gone from the service)")
    if answer.status == 413:
        return Outcome.failed("too_large", text + " (the request is larger than the service takes)")
    meaning = FIX_DATA.get(answer.scim_type)
    if meaning:
        return Outcome.failed(answer.scim_type, f"{text} ({meaning})")
    return Outcome.failed(f"http_{answer.status}", text)


def no_answer(error: NoAnswer, *, creates: bool) -> Outcome:
    """No answer: a create that may have arrived is in doubt (read back first); anything
    else is sent again."""
    if creates and error.may_have_arrived:
        return Outcome.in_doubt(error.kind, str(error))
    return Outcome.retry(error.kind, str(error))


def _id(answer: Answer) -> str | None:
    body = answer.body
    if isinstance(body, dict) and isinstance(body.get("id"), str):
        return str(body["id"])
    return None
