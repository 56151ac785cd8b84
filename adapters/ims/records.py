"""The raw records of an IMS Enterprise file, as the parser hands them to the mapping.

They hold text as the file gave it (dates too): the mapping judges it and makes findings,
so a parser never refuses a record for its content, only a file for its form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

ADD, UPDATE, DELETE = "1", "2", "3"
"""IMS ``recstatus``: add, update, delete (no attribute: add or update)."""


@dataclass(frozen=True, slots=True)
class Where:
    """The file and line a record starts on, for findings a support engineer can follow."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file} line {self.line}"


@dataclass(frozen=True, slots=True, repr=False)
class RawPerson:
    id: str
    recstatus: str
    where: Where
    given: str = ""
    family: str = ""
    middle: str = ""
    full_name: str = ""  # <fn>, used when <n> leaves a name out
    civic_no: str | None = None  # userid PID: kept for identity matching only
    eppns: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    privacy: str = ""
    privacy_level: str = ""
    external_ids: tuple[tuple[str, str], ...] = ()

    def __repr__(self) -> str:  # never the personnummer, never a name
        return f"RawPerson({self.id!r} at {self.where})"


@dataclass(frozen=True, slots=True)
class RawGroup:
    id: str
    recstatus: str
    where: Where
    type_value: str = ""
    sub_type: str = ""
    name: str = ""
    begin: str = ""
    end: str = ""
    school_types: tuple[str, ...] = ()
    municipality_code: str = ""
    school_unit_code: str = ""
    course_code: str = ""


class RawMember(NamedTuple):
    """One role of one member (a person or a group) in one group (``<membership>``).

    A tuple, and its place kept as the file's name (one string shared by all its records)
    and a line rather than a :class:`Where`: a large municipality has some two million of
    these, and a tuple is several times quicker to make than a frozen dataclass."""

    group_id: str
    member_id: str
    member_is_group: bool
    role_type: str
    recstatus: str
    file: str
    line: int
    status: str = ""
    begin: str = ""
    end: str = ""
    school_year: str = ""
    sub_role: str = ""

    @property
    def where(self) -> Where:
        return Where(self.file, self.line)

    @property
    def key(self) -> tuple[str, str, str, str]:
        """A role of a member in a group; a second title (subrole) is a second role."""
        return (self.group_id, self.member_id, self.role_type, self.sub_role)


@dataclass(frozen=True, slots=True)
class FileHead:
    """What a file's ``<properties>`` say: whether it is complete or a delta."""

    type: str = ""
    datetime: str = ""

    @property
    def kind(self) -> str:
        """``complete`` (takes the place of everything read before it), ``delta`` or
        ``unknown`` (no type, or one ESS does not know)."""
        kind = self.type.strip().lower()
        if kind in COMPLETE_TYPES:
            return "complete"
        if kind in DELTA_TYPES:
            return "delta"
        return "unknown"


COMPLETE_TYPES = frozenset({"complete", "completeorganization", "full", "municipalorganization"})
DELTA_TYPES = frozenset({"delta", "deltaorganization"})
