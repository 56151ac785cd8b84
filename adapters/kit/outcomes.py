"""What an answer's status alone says about an operation, for every target.

Two things every target decides the same way, whatever its service's error bodies say: a 429
was refused before the service did anything (send it again after its Retry-After), and an error
or a timeout says nothing of whether the service carried the request out. A request that is
safe to send twice may simply be sent again; one that is not (a POST that makes an object or
adds a reference) may have taken effect, so its operation is in doubt and the executor reads it
back first. The rest of an answer (conflicts, refused data, permissions) is the adapter's to
read from its service's error bodies.
"""

from __future__ import annotations

from engine.target import Outcome

THROTTLED = 429
UNANSWERED_STATUS = frozenset({408, 500, 502, 503, 504})
"""Errors and timeouts (a client's own time-out answered as 504) that say nothing of whether the
service carried the request out: unlike a 429, which is refused before anything is done."""
SAFE_TO_RESEND = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
"""Methods whose request, sent twice, leaves a REST service as sent once (a PATCH sets values).
A POST creates or adds: sent twice it may make two objects."""


def unanswered_write(status: int, method: str, *, resendable: bool | None = None) -> bool:
    """A request not safe to send twice that got an error or a timeout instead of an answer:
    it may have taken effect. ``resendable`` overrides what the method says, for a request
    whose method hides what it does (Graph adds members with a PATCH)."""
    if resendable is None:
        resendable = method.upper() in SAFE_TO_RESEND
    return not resendable and status in UNANSWERED_STATUS


def status_outcome(
    status: int, method: str, *, where: str, retry_after: float | None = None
) -> Outcome | None:
    """The outcome the status alone decides, or ``None`` when the adapter must read the body:
    a 429 is a retry after its Retry-After; an error or timeout is in doubt for a request not
    safe to send twice, else a retry."""
    if status == THROTTLED:
        return Outcome.retry("throttled", f"{where}: throttled", retry_after)
    if status in UNANSWERED_STATUS:
        reason = "timeout" if status in (408, 504) else "server_error"
        message = f"{where}: answered {status}"
        if unanswered_write(status, method):
            return Outcome.in_doubt(reason, message)
        return Outcome.retry(reason, message, retry_after)
    return None
