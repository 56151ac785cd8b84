"""Data-quality findings: what a support engineer needs to fix a record in the source system."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """A blocking finding keeps its record out of the run; a warning only reports."""

    BLOCKING = "blocking"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem with one record.

    ``record_id`` is the source's id for the record, never a personnummer; ``message`` says what
    is wrong in words a support engineer understands and ``fix`` what to change in the source.
    """

    code: str
    severity: Severity
    record_type: str  # "school", "person", "group", "membership", "school_role", "source"
    record_id: str
    message: str
    fix: str = ""
    origin: str = ""  # which source or target raised it

    @property
    def blocking(self) -> bool:
        return self.severity is Severity.BLOCKING


def group_without_teacher(
    what: str, group_id: str, group_name: str, consequence: str, fix: str, origin: str
) -> Finding:
    """The warning that group ``group_id`` has no teacher, so the ``what`` a target makes of
    it (code ``{what}_without_teacher``) waits: ``consequence`` says how, ``fix`` what to
    change in the source."""
    return Finding(
        code=f"{what}_without_teacher",
        severity=Severity.WARNING,
        record_type="group",
        record_id=group_id,
        message=f"group {group_name!r} has no teacher; {consequence}",
        fix=fix,
        origin=origin,
    )
