"""runner.read_sources: every source read, a source's own rules judged on its records only,
and a failed read held or stopping per ``on_error``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, ClassVar

import pytest

from engine.config import TenantConfig
from engine.findings import Severity
from engine.model import Person, School, SchoolRole, SchoolRoleType, Snapshot
from engine.rules import Facts, Hits, Rule
from engine.runner import read_sources, source_rules
from engine.source import Source, SourceContext, SourceError, SourceRead

DAY = date(2026, 11, 2)


def _needs_code(facts: Facts) -> Hits:
    for s in facts.snap.schools.values():
        if not s.school_unit_code:
            yield s.id, f"school unit {s.name} has no skolenhetskod"


NEEDS_CODE = Rule("test.code", Severity.BLOCKING, "school", "Add the code.", _needs_code, "strict")


class Stub:
    """A source that answers with a fixed snapshot, or fails."""

    config_model: ClassVar[type[Any]] = dict
    rules: Sequence[Rule] = ()

    def __init__(self, snap: Snapshot | None, rules: Sequence[Rule] = ()) -> None:
        self.snap, self.rules = snap, rules

    async def read(self, ctx: SourceContext, *, full: bool = False) -> SourceRead:
        if self.snap is None:
            raise SourceError("export.xml line 3: not well-formed")
        return SourceRead(self.snap)

    async def aclose(self) -> None:
        return None


def school_snap(school: School, pid: str) -> Snapshot:
    person = Person(pid, "Eva", pid)
    role = SchoolRole(school.id, pid, SchoolRoleType.STUDENT)
    return Snapshot({school.id: school}, {pid: person}, {}, (), (role,), DAY)


def tenant(on_error: str = "hold") -> TenantConfig:
    return TenantConfig.model_validate(
        {"sources": {"strict": {"type": "x"}, "lax": {"type": "y", "on_error": on_error}}}
    )


def context(key: str) -> SourceContext:
    from engine.rekey import NoCache

    return SourceContext(tenant="t", cache=NoCache(), today=DAY)


async def test_a_sources_rules_judge_only_its_own_records() -> None:
    strict = Stub(school_snap(School("s1", "Kodlös A", None), "p1"), (NEEDS_CODE,))
    lax = Stub(school_snap(School("s2", "Kodlös B", None), "p2"))
    sources: Mapping[str, Source] = {"strict": strict, "lax": lax}
    merged = await read_sources(sources, tenant(), context, full=True, today=DAY)
    assert [(f.code, f.record_id) for f in merged.findings] == [("test.code", "s1")]
    assert source_rules(sources) == ()  # not run again on the merged snapshot
    assert source_rules({"strict": strict}) == (NEEDS_CODE,)


async def test_a_failed_source_is_held_or_stops_the_read() -> None:
    ok = Stub(school_snap(School("s1", "A", "1"), "p1"))
    sources: Mapping[str, Source] = {"strict": ok, "lax": Stub(None)}
    merged = await read_sources(sources, tenant(), context, full=True, today=DAY)
    assert merged.failed == ("lax",) and merged.hold_removals
    assert set(merged.snapshot.persons) == {"p1"}
    with pytest.raises(SourceError, match=r"^lax: export\.xml line 3"):
        await read_sources(sources, tenant("stop"), context, full=True, today=DAY)
    with pytest.raises(SourceError, match="no source could be read"):
        await read_sources(
            {"strict": Stub(None), "lax": Stub(None)}, tenant(), context, full=True, today=DAY
        )
