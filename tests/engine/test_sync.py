"""Whole runs through the ops facade against the memory doubles, on real SQLite files."""

from __future__ import annotations

import orjson
import pytest

from engine.config import TenantPolicy
from engine.ops import Ops, OpsError
from engine.testing.builder import drop_persons, next_term, tiny_snapshot
from engine.testing.memory_target import MemoryTarget, MemoryTargetConfig
from tests.conftest import Workdir


def target_view(w: Workdir):  # type: ignore[no-untyped-def]
    t = MemoryTarget("mem", MemoryTargetConfig(state=w.target_state), TenantPolicy(), w.path)
    return t, t.as_desired_view()


def desired_view(w: Workdir, snap):  # type: ignore[no-untyped-def]
    t = MemoryTarget("mem", MemoryTargetConfig(state=w.target_state), TenantPolicy(), w.path)
    d = t.desired(snap)
    objects = {
        k: {key: orjson.loads(orjson.dumps(o.attrs)) for key, o in v.items()}
        for k, v in d.objects.items()
    }
    return objects, {k: set(v) for k, v in d.links.items()}


async def test_first_run_reaches_desired_state_and_second_plans_nothing(workdir: Workdir) -> None:
    snap = tiny_snapshot()
    async with await Ops.open(workdir.config, actor="test") as ops:
        first = await ops.sync("alpha")
        assert first.status == "succeeded"
        assert first.counts["done"] == first.counts["planned"] > 0
        second = await ops.sync("alpha")
        assert second.status == "succeeded"
        assert second.counts["planned"] == 0
    _, (objects, links) = target_view(workdir)
    want_objects, want_links = desired_view(workdir, snap)
    assert {k: v for k, v in objects.items() if v} == {k: v for k, v in want_objects.items() if v}
    assert {k: v for k, v in links.items() if v} == {k: v for k, v in want_links.items() if v}


async def test_next_term_syncs_exactly_the_differences(workdir: Workdir) -> None:
    snap = tiny_snapshot()
    async with await Ops.open(workdir.config, actor="test") as ops:
        await ops.sync("alpha")
        later = workdir.source(next_term(snap))
        run = await ops.sync("alpha")
        assert run.status == "succeeded"
        assert 0 < run.counts["planned"] < 20
        assert (await ops.sync("alpha")).counts["planned"] == 0
    _, (objects, links) = target_view(workdir)
    want_objects, want_links = desired_view(workdir, later)
    assert objects["user"] == want_objects["user"]
    assert links["group.member"] == want_links["group.member"]


async def test_dry_run_applies_nothing(workdir: Workdir) -> None:
    async with await Ops.open(workdir.config, actor="test") as ops:
        run = await ops.sync("alpha", dry_run=True)
        assert run.dry_run and run.status == "succeeded" and run.counts["planned"] > 0
        assert await ops.operations(run.id) == []
    assert not workdir.target_state.exists()


async def test_guard_holds_a_truncated_source_and_applies_nothing(workdir: Workdir) -> None:
    snap = tiny_snapshot()
    async with await Ops.open(workdir.config, actor="test") as ops:
        await ops.sync("alpha")
        before = workdir.target_state.read_bytes()
        workdir.source(drop_persons(snap, 0.5))
        held = await ops.sync("alpha")
        assert held.status == "held"
        assert workdir.target_state.read_bytes() == before
        plans = await ops.held_plans("alpha")
        assert [p.run_id for p in plans] == [held.id]
        assert any("user" in r for r in plans[0].reasons)
        assert plans[0].would_remove["suspend user"] > 0
        # rejected: nothing applied, the plan's items cancelled
        result = await ops.reject(held.id, reason="the export was cut short")
        assert result.ok
        assert workdir.target_state.read_bytes() == before
        assert (await ops.run(held.id)).summary.status == "rejected"


async def test_guard_holds_an_empty_source(workdir: Workdir) -> None:
    snap = tiny_snapshot()
    async with await Ops.open(workdir.config, actor="test") as ops:
        await ops.sync("alpha")
        before = workdir.target_state.read_bytes()
        workdir.source(snap.without(persons=set(snap.persons), groups=set(snap.groups)))
        held = await ops.sync("alpha")
        assert held.status == "held"
        assert workdir.target_state.read_bytes() == before


async def test_approved_plan_is_applied(workdir: Workdir) -> None:
    snap = tiny_snapshot()
    async with await Ops.open(workdir.config, actor="test") as ops:
        await ops.sync("alpha")
        smaller = workdir.source(drop_persons(snap, 0.5))
        held = await ops.sync("alpha")
        approved = await ops.approve(held.id, reason="pupils really left")
        assert approved.status == "succeeded"
        assert (await ops.sync("alpha")).counts["planned"] == 0
    _, (objects, _links) = target_view(workdir)
    want, _ = desired_view(workdir, smaller)
    assert objects["user"] == want["user"]


async def test_failures_are_items_with_reasons_and_blocked_dependants(workdir: Workdir) -> None:
    snap = tiny_snapshot()
    klass = next(g for g in snap.groups.values() if g.group_type.value == "Klass")
    pupil = next(
        p
        for p in snap.persons
        if any(r.person_id == p and r.role.value == "student" for r in snap.school_roles)
        and not snap.persons[p].is_protected
    )
    workdir.write(target=f'flaky_keys = ["{klass.id}"]\nreject_keys = ["{pupil}"]')
    async with await Ops.open(workdir.config, actor="test") as ops:
        run = await ops.sync("alpha")
        assert run.status == "partial"
        failures = await ops.failures("alpha")
        by_status = {f.status for f in failures}
        assert by_status == {"failed", "dead", "blocked"}
        flaky = next(f for f in failures if f.status == "failed")
        assert flaky.key == klass.id and flaky.attempts == 3 and flaky.reason == "server_error"
        dead = next(f for f in failures if f.status == "dead")
        assert dead.key == pupil and "fix the record" in dead.advice
        detail = await ops.operation(flaky.id)
        assert len(detail.attempts) == 3
        # the rest of the run went on
        assert run.counts["done"] > 0
        # skip the dead one: the next run does not try it again
        await ops.skip([dead.id], reason="data error reported to the school")
    workdir.write(target=f'flaky_keys = ["{klass.id}"]')
    async with await Ops.open(workdir.config, actor="test") as ops:
        nxt = await ops.sync("alpha")
        ops_next = await ops.operations(nxt.id)
        assert not [o for o in ops_next if pupil in (o.key, o.parent)]
    # the flaky group heals: a later run creates it and fills it
    workdir.write()
    async with await Ops.open(workdir.config, actor="test") as ops:
        healed = await ops.sync("alpha")
        assert healed.status == "succeeded"
        assert await ops.failures("alpha") == []


async def test_tenant_level_error_stops_the_run_with_one_message(workdir: Workdir) -> None:
    workdir.write(target="fatal = true")
    async with await Ops.open(workdir.config, actor="test") as ops:
        run = await ops.sync("alpha")
        assert run.status == "failed"
        assert run.error is not None and "permission" in run.error
        assert run.counts.get("done", 0) == 0


async def test_unreadable_source_fails_the_run_and_applies_nothing(workdir: Workdir) -> None:
    workdir.snapshot_path.write_text("{not json")
    async with await Ops.open(workdir.config, actor="test") as ops:
        run = await ops.sync("alpha")
        assert run.status == "failed"
        assert "not a snapshot" in (run.error or "")
    assert not workdir.target_state.exists()


async def test_unknown_target_is_refused(workdir: Workdir) -> None:
    async with await Ops.open(workdir.config, actor="test") as ops:
        with pytest.raises(OpsError, match="unknown target"):
            await ops.sync("alpha", targets=["google"])


async def test_search_explain_and_no_personnummer(workdir: Workdir) -> None:
    snap = tiny_snapshot()
    person = next(p for p in snap.persons.values() if not p.is_protected)
    async with await Ops.open(workdir.config, actor="test") as ops:
        await ops.sync("alpha")
        hits = await ops.search(person.eppns[0])
        assert [h.key for h in hits] == [person.id]
        assert hits[0].targets["mem:user"]
        exp = await ops.explain("alpha", "person", person.id)
        assert exp.source_record and exp.source_record["givenName"] == person.given_name
        assert "mem" in exp.observed
        blob = repr(exp) + repr(hits)
        for p in snap.persons.values():
            assert p.civic_no and p.civic_no not in blob
        with pytest.raises(OpsError, match="personnummer"):
            await ops.search(person.civic_no or "")


async def test_protected_identity_is_masked_and_excluded_by_default(workdir: Workdir) -> None:
    snap = tiny_snapshot(protected_share=0.3)
    workdir.source(snap)
    protected = [p for p in snap.persons.values() if p.is_protected]
    assert protected
    async with await Ops.open(workdir.config, actor="test") as ops:
        await ops.sync("alpha")
        hits = await ops.search(protected[0].id)
        assert hits and protected[0].family_name not in hits[0].label
    _, (objects, _links) = target_view(workdir)
    assert not set(objects["user"]) & {p.id for p in protected}
