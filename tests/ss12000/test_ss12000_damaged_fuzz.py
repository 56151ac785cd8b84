"""Damaged SS 12000 records, at random (a fixed seed, a bounded number of examples): each
damaged record yields a blocking finding naming it, and none yields a removal in the plan of a
target that holds everything the undamaged data made."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from ss12000_helpers import AS_OF

from adapters.ss12000.mapping import map_records
from adapters.ss12000.sample.generate import generate
from adapters.ss12000.vocabulary import ENTITIES
from engine.config import TenantPolicy
from engine.model import Snapshot
from engine.plan import REMOVALS, Action
from engine.planner import PlanInput, apply_to_observed, held_keys, plan
from engine.target import EMPTY_OBSERVED, ObservedState
from engine.testing.memory_target import MemoryTarget, MemoryTargetConfig
from engine.validate import blocked_ids, validate

DATASET = generate(40, 3, AS_OF)
NOW = datetime(2025, 9, 1, 12, tzinfo=UTC)

# (path to a field, a value it can never take): each damage breaks the schema of its record
Damage = tuple[tuple[str | int, ...], Any]
DAMAGES: dict[str, list[Damage]] = {
    "organisations": [(("displayName",), None), (("startDate",), "not-a-date")],
    "persons": [
        (("givenName",), None),
        (("familyName",), 17),
        (("securityMarking",), "Okänd markering"),
        (("enrolments", 0, "startDate"), "not-a-date"),
        (("enrolments", 0, "schoolType"), "XX"),
        (("emails",), "not a list"),
    ],
    "duties": [
        (("dutyRole",), "Trollkarl"),
        (("startDate",), "not-a-date"),
        (("assignmentRole",), "not a list"),
    ],
    "groups": [
        (("startDate",), "not-a-date"),
        (("groupType",), "Okänd"),
        (("displayName",), None),
        (("groupMemberships", 0, "startDate"), "31/12"),
    ],
    "activities": [
        (("displayName",), None),
        (("startDate",), "not-a-date"),
        (("teachers",), 5),
    ],
}


def damaged(entities: dict[str, list[dict[str, Any]]], entity: str, index: int, how: Damage):
    """A copy of the entities with one record damaged; its id, or None when the record lacks
    the damaged path (nothing was damaged)."""
    path, value = how
    records = entities[entity]
    rec = copy.deepcopy(records[index % len(records)])
    holder: Any = rec
    for step in path[:-1]:
        try:
            holder = holder[step]
        except (KeyError, IndexError, TypeError):
            return None, entities
    if not isinstance(holder, dict):
        return None, entities
    holder[path[-1]] = value
    out = dict(entities)
    out[entity] = [*records]
    out[entity][index % len(records)] = rec
    return rec["id"], out


def run_plan(snap: Snapshot, findings: list[Any], target: MemoryTarget, observed: ObservedState):
    """What a run would plan: validation, blocked records refused, the held keys."""
    every = findings + validate(snap)
    s_ids, p_ids, g_ids = blocked_ids(every)
    kept = snap.refusing(schools=s_ids, persons=p_ids, groups=g_ids)
    held = held_keys(target.record_types, target.kinds, kept.refused)
    desired = target.desired(kept)
    return every, plan(
        PlanInput(target.name, target.kinds, target.links, desired, observed, NOW, {}, held)
    )


def synced(tmp: Path) -> tuple[MemoryTarget, ObservedState]:
    target = MemoryTarget("mem", MemoryTargetConfig(state=tmp / "target.json"), TenantPolicy(), tmp)
    clean = map_records(DATASET.entities, AS_OF)
    _, first = run_plan(clean.snapshot, list(clean.findings), target, EMPTY_OBSERVED)
    observed = apply_to_observed(EMPTY_OBSERVED, first, NOW, target.links)
    _, again = run_plan(clean.snapshot, list(clean.findings), target, observed)
    assert len(again) == 0  # the baseline: synced, nothing more to do
    return target, observed


@seed(12_000)
@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_a_damaged_record_is_a_finding_and_never_a_removal(tmp_path: Path, data: Any) -> None:
    target, observed = synced(tmp_path)
    entity = data.draw(st.sampled_from(ENTITIES))
    index = data.draw(st.integers(min_value=0, max_value=10_000))
    how = data.draw(st.sampled_from(DAMAGES[entity]))
    rid, entities = damaged(DATASET.entities, entity, index, how)
    if rid is None:
        return  # the record has no such field: nothing was damaged
    read = map_records(entities, AS_OF)
    findings, planned = run_plan(read.snapshot, list(read.findings), target, observed)
    assert any(f.blocking and f.record_id == rid for f in findings), (entity, how)
    removals = {
        (op.action.value, op.kind)
        for op in planned.operations
        if op.action in REMOVALS or op.action is Action.UNLINK
    }
    assert not removals, (entity, how, removals)
    assert not [op for op in planned.operations if op.key == rid and op.parent is None]
