"""The service's request id of each answer, carried from the transport to the attempt record.

A support ticket with a vendor needs the id the service gave the failing request (Graph's
``request-id``). The adapters' one transport (``adapters.kit.http``) notes the id of every answer
here; the executor collects what one batch's requests noted and gives each failed operation its
id. Answers are told apart by operation when the adapter applies an operation inside
:func:`operation` (its requests then count for that operation alone); a batch of one operation
needs no such help. Context variables carry this through the adapter's tasks without passing
anything down: a task copies its context, and the collector in it is shared.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass
class Answers:
    """The request ids one batch's answers carried: (operations' seqs, status, id); the seqs
    are empty for an answer sent outside :func:`operation`."""

    seen: list[tuple[frozenset[int], int, str]] = field(default_factory=list)

    def for_operation(self, seq: int, *, alone: bool) -> str | None:
        """The id of the answer that tells most about operation ``seq``: its last error, else
        its last answer. ``alone``: the batch held only this operation, so every answer is
        its own."""
        mine = [(status, rid) for ops, status, rid in self.seen if alone or seq in ops]
        errors = [rid for status, rid in mine if status >= 400]
        if errors:
            return errors[-1]
        return mine[-1][1] if mine else None


_answers: ContextVar[Answers | None] = ContextVar("ess_request_answers", default=None)
_operation: ContextVar[frozenset[int]] = ContextVar("ess_request_operation", default=frozenset())


@contextmanager
def collecting() -> Iterator[Answers]:
    """Collect the request ids of the answers within (the executor, around one batch)."""
    answers = Answers()
    token = _answers.set(answers)
    try:
        yield answers
    finally:
        _answers.reset(token)


@contextmanager
def operation(*seqs: int) -> Iterator[None]:
    """The requests sent within are for these operations (an adapter, around one operation,
    or around the operations one request carries together)."""
    token = _operation.set(frozenset(seqs))
    try:
        yield
    finally:
        _operation.reset(token)


def note(status: int, request_id: str | None) -> None:
    """An answer arrived with this id (the transport, for every answer); none collects: no-op."""
    answers = _answers.get()
    if answers is not None and request_id:
        answers.seen.append((_operation.get(), status, request_id[:200]))
