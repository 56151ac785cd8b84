"""Data-quality rules as a table: the engine's hold for every source, a source adds its own,
and a rule of one standard never fires on a snapshot of another."""

from __future__ import annotations

from dataclasses import replace

from adapters.ss12000.rules import RULES as SS12000_RULES
from adapters.ss12000.source import SS12000Source
from engine.findings import Severity
from engine.rules import Facts, Rule, run_rules
from engine.testing.builder import tiny_snapshot
from engine.testing.memory_source import MemorySource
from engine.validate import RULES, validate


def test_every_rule_has_its_own_code_a_fix_and_a_record_type() -> None:
    codes = [r.code for r in (*RULES, *SS12000_RULES)]
    assert len(codes) == len(set(codes))
    for rule in (*RULES, *SS12000_RULES):
        assert rule.fix and rule.record_type in ("school", "person", "group", "membership")


def test_the_engine_holds_no_rule_of_one_standard() -> None:
    snap = tiny_snapshot()
    schools = {k: replace(s, school_unit_code=None) for k, s in snap.schools.items()}
    findings = validate(replace(snap, schools=schools))
    assert not [f for f in findings if f.record_type == "school"]  # no skolenhetskod asked for
    assert MemorySource.rules == ()


def test_a_source_adds_the_rules_of_its_standard() -> None:
    snap = tiny_snapshot()
    sid = sorted(snap.schools)[0]
    schools = dict(snap.schools)
    schools[sid] = replace(schools[sid], school_unit_code=None)
    findings = validate(replace(snap, schools=schools), rules=SS12000Source.rules)
    about = [f for f in findings if f.record_id == sid]
    assert [(f.code, f.severity, f.origin) for f in about] == [
        ("ss12000.no_school_unit_code", Severity.WARNING, "ss12000")
    ]


def test_a_rule_of_its_own_is_a_few_lines() -> None:
    def long_names(facts: Facts):  # type: ignore[no-untyped-def]
        for g in facts.snap.groups.values():
            if len(g.name) > 3:
                yield g.id, f"group name {g.name!r} is long"

    rule = Rule("test.long_name", Severity.WARNING, "group", "shorten it", long_names, "test")
    snap = tiny_snapshot()
    found = run_rules([rule], snap)
    assert {f.record_id for f in found} == {g.id for g in snap.groups.values() if len(g.name) > 3}
    assert all(f.fix == "shorten it" and f.origin == "test" for f in found)
