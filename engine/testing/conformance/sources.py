"""The source side of the conformance suite: the same synthetic municipality, read through any
source, gives the same snapshot.

A ``SourceHarness`` makes the municipality (the SS 12000 sample generator's, fixed by seed, size
and date) in its source's own format (served by a sandbox, written to a folder, exported as
files) and reads it through the source. The case compares every harness's snapshot with the
reference harness's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from typing import Protocol

from engine.model import Snapshot
from engine.testing.conformance.harness import ConformanceFailure


@dataclass(frozen=True)
class MunicipalitySpec:
    """Which synthetic municipality: every harness renders the same one."""

    pupils: int = 120
    seed: int = 7
    as_of: date = date(2025, 9, 1)


class SourceHarness(Protocol):
    """One source under the conformance suite."""

    name: str
    inapplicable: Mapping[str, str]
    """Case name -> why it cannot apply to this source; the suite skips it with that reason."""

    async def read(self, spec: MunicipalitySpec) -> Snapshot:
        """Make the municipality in this source's format and read it through the source."""
        ...


def snapshot_differences(a: Snapshot, b: Snapshot) -> list[str]:
    """How two snapshots of one municipality differ, by record id (never a personnummer)."""
    out: list[str] = []
    for what, left, right in (
        ("school", a.schools, b.schools),
        ("person", a.persons, b.persons),
        ("group", a.groups, b.groups),
    ):
        out += [f"{what} {k}: only in the first" for k in sorted(set(left) - set(right))]
        out += [f"{what} {k}: only in the second" for k in sorted(set(right) - set(left))]
        for k in sorted(set(left) & set(right)):
            if left[k] != right[k]:
                names = [
                    f.name
                    for f in fields(left[k])
                    if getattr(left[k], f.name) != getattr(right[k], f.name)
                ]
                out.append(f"{what} {k}: differs in {', '.join(names)}")
    for what, xs, ys in (
        ("membership", a.memberships, b.memberships),
        ("school role", a.school_roles, b.school_roles),
    ):
        only_a, only_b = set(xs) - set(ys), set(ys) - set(xs)
        if only_a or only_b or len(xs) != len(ys):
            out.append(
                f"{what}s: {len(only_a)} only in the first, {len(only_b)} only in the second, "
                f"{len(xs)} against {len(ys)} in all"
            )
    return out


async def same_snapshot(
    reference: SourceHarness, other: SourceHarness, spec: MunicipalitySpec
) -> None:
    """The case: ``other`` reads the municipality exactly as ``reference`` does."""
    want, got = await reference.read(spec), await other.read(spec)
    if not want.persons:
        raise ConformanceFailure(f"{reference.name} read an empty municipality")
    diff = snapshot_differences(want, got)
    if diff:
        raise ConformanceFailure(
            f"the same municipality gives the same snapshot: {other.name} differs from "
            f"{reference.name} in {len(diff)} way(s): " + "; ".join(diff[:12])
        )
