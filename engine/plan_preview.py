"""What a dry run shows of its plan: each operation, and for an update its attribute changes
old → new (old as the mirror last knew the object), for a create the values it would send.

Values of a protected identity are never shown, and a secret-like attribute (a password) shows
as ``***``; the run log keeps these lines, so they obey the same rules as the rest of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from engine.display import scrub_personnummer, visible
from engine.plan import Action, Operation, Plan
from engine.redact import MASKED
from engine.target import ObservedState

PREVIEW_LIMIT = 500
"""Operations a dry run lists item by item; past it the log says how many more there are."""
PREFIX = "would "
"""How each preview line of the run log starts (the command line picks them out by it)."""
SECRET = re.compile(r"password|secret|token", re.IGNORECASE)
WIDTH = 80


def preview(
    plan: Plan, observed: ObservedState, masked: frozenset[str], limit: int
) -> Iterator[str]:
    """Lines for the first ``limit`` operations of ``plan``."""
    for op in plan.operations[: max(0, limit)]:
        yield PREFIX + line(plan.target, op, observed, masked)


def line(target: str, op: Operation, observed: ObservedState, masked: frozenset[str]) -> str:
    what = f"{op.action.value} {op.kind} {op.label or op.key}"
    if op.parent is not None and not op.label:
        what += f" (in {op.parent})"
    what = f"{what} on {target}"
    if op.key in masked or (op.parent is not None and op.parent in masked):
        return f"{what}: a protected identity, values not shown"
    new = dict(op.attrs)
    if op.action is Action.UPDATE:
        known = observed.objects.get(op.kind, {}).get(op.key)
        old = dict(known.attrs) if known is not None else {}
        changes = [
            f"{k}: {_value(k, old.get(k))} → {_value(k, v)}"
            for k, v in sorted(new.items())
            if old.get(k) != v
        ]
        return f"{what}: " + ("; ".join(changes) if changes else "no attribute change")
    if op.action is Action.CREATE and new:
        return f"{what}: " + ", ".join(f"{k}={_value(k, v)}" for k, v in sorted(new.items()))
    return what


def _value(name: str, value: Any) -> str:
    if value is None:
        return "(none)"
    if SECRET.search(name):
        return MASKED
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_value(k, v)}" for k, v in sorted(value.items())) + "}"
    text = visible(scrub_personnummer(str(value)), newlines=False)
    text = text if len(text) <= WIDTH else text[: WIDTH - 1] + "…"
    return repr(text) if isinstance(value, str) else text
