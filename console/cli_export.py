"""CSV exports of findings and failures, for the school that must fix the data.

An export is whole (every page, never the first 200), one row per record, with the fix or the
advice in words. A cell that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``)
starts with an apostrophe, and control characters are written out: the values come from the
source and the targets, and the file is opened by people.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TypeVar

from engine.display import visible
from engine.views import FindingView, OperationView

T = TypeVar("T")
PAGE = 1000
FORMULA = ("=", "+", "-", "@", "\t", "\r")

FINDING_COLUMNS = ("severity", "code", "record_type", "record_id", "label", "message", "fix")
FAILURE_COLUMNS = (
    "item",
    "run",
    "tenant",
    "target",
    "action",
    "kind",
    "label",
    "status",
    "tries",
    "reason",
    "last_error",
    "request_id",
    "advice",
)


async def every_page(read: Callable[[int, int], Awaitable[list[T]]]) -> list[T]:
    """All rows of a paged query."""
    rows: list[T] = []
    while True:
        page = await read(PAGE, len(rows))
        rows += page
        if len(page) < PAGE:
            return rows


def cell(value: object) -> str:
    text = visible("" if value is None else str(value), newlines=False)
    return "'" + text if text.startswith(FORMULA) else text


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([cell(v) for v in row] for row in rows)
    return buffer.getvalue()


def findings_csv(rows: Sequence[FindingView]) -> str:
    """Blocking first, then by code and record, so one kind of problem reads as a block."""
    ordered = sorted(rows, key=lambda f: (f.severity != "blocking", f.code, f.label, f.record_id))
    return to_csv(
        FINDING_COLUMNS,
        (
            (f.severity, f.code, f.record_type, f.record_id, f.label, f.message, f.fix)
            for f in ordered
        ),
    )


def failures_csv(rows: Sequence[OperationView]) -> str:
    return to_csv(
        FAILURE_COLUMNS,
        (
            (
                o.id,
                o.run_id,
                o.tenant,
                o.target,
                o.action,
                o.kind,
                o.label,
                o.status,
                o.attempts,
                o.reason,
                o.last_error,
                o.request_id or "",
                o.advice,
            )
            for o in rows
        ),
    )
