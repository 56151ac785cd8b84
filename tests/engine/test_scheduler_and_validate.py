"""The scheduler's timing and the model-level data-quality findings."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from engine.config import load
from engine.model import MemberRole, Membership
from engine.scheduler import SchedulerEvent, next_run, run_scheduler, schedule_table
from engine.testing.builder import tiny_snapshot
from engine.validate import blocked_ids, validate
from tests.conftest import Workdir


def test_next_run_follows_the_tenants_time_zone() -> None:
    # 05:00 in Stockholm is 04:00 UTC in winter and 03:00 UTC in summer
    winter = next_run("0 5 * * *", "Europe/Stockholm", datetime(2026, 11, 26, 12, tzinfo=UTC))
    summer = next_run("0 5 * * *", "Europe/Stockholm", datetime(2026, 6, 1, 12, tzinfo=UTC))
    assert (winter.hour, winter.day) == (4, 27)
    assert (summer.hour, summer.day) == (3, 2)


async def test_scheduler_once_runs_every_scheduled_tenant(workdir: Workdir) -> None:
    text = workdir.config.read_text().replace(
        'tier = "bronze"', 'tier = "bronze"\nschedule = "*/5 * * * *"'
    )
    workdir.config.write_text(text)
    table = schedule_table(load(workdir.config))
    assert [e.tenant for e in table] == ["alpha"]
    events: list[SchedulerEvent] = []
    await run_scheduler(workdir.config, once=True, on_event=events.append)
    assert [e.kind for e in events] == ["started", "finished"]
    assert "succeeded" in events[-1].message


def test_validation_findings_name_records_and_block_them() -> None:
    snap = tiny_snapshot()
    p1, p2 = sorted(snap.persons)[:2]
    persons = dict(snap.persons)
    persons[p2] = replace(persons[p2], eppns=persons[p1].eppns)
    gid = sorted(snap.groups)[0]
    groups = dict(snap.groups)
    groups[gid] = replace(groups[gid], start=date(2027, 1, 1), end=date(2026, 1, 1))
    extra = (Membership(gid, "nobody", MemberRole.STUDENT),)
    bad = replace(snap, persons=persons, groups=groups, memberships=snap.memberships + extra)
    findings = validate(bad)
    codes = {f.code for f in findings}
    assert {"person.duplicate_eppn", "group.dates", "membership.dangling"} <= codes
    _schools, ppl, grps = blocked_ids(findings)
    assert {p1, p2} <= ppl and gid in grps
    text = " ".join(f.message + f.fix for f in findings)
    for p in snap.persons.values():
        assert p.civic_no not in text
    assert not [f for f in validate(snap) if f.blocking]


def test_persons_without_a_role_are_reported_in_id_order() -> None:
    """The same snapshot gives its findings in the same order in every process (a set's order
    follows the string hash, which changes from process to process)."""
    snap = tiny_snapshot(pupils=40)
    gone = sorted(snap.persons)[::-1][:30]  # thirty persons lose every school role
    roles = tuple(r for r in snap.school_roles if r.person_id not in set(gone))
    findings = validate(replace(snap, school_roles=roles))
    no_role = [f.record_id for f in findings if f.code == "person.no_role"]
    assert sorted(no_role) == sorted(gone)
    assert no_role == sorted(gone)


def test_pupils_off_the_roll_and_groups_without_a_teacher_are_reported() -> None:
    snap = tiny_snapshot()
    assert not [
        f for f in validate(snap) if f.code in ("membership.not_at_school", "group.no_teacher")
    ]
    students = MemberRole.STUDENT
    taught = sorted({m.group_id for m in snap.memberships if m.role is not students})
    off_roll_group, untaught = taught[0], taught[1]
    pupil = min(
        m.person_id for m in snap.memberships if m.group_id == off_roll_group and m.role is students
    )
    school = snap.groups[off_roll_group].school_id
    roles = tuple(r for r in snap.school_roles if (r.person_id, r.school_id) != (pupil, school))
    memberships = tuple(
        m for m in snap.memberships if not (m.group_id == untaught and m.role is not students)
    )
    findings = validate(replace(snap, school_roles=roles, memberships=memberships))
    off_roll = {
        (f.record_id, f.severity.value) for f in findings if f.code == "membership.not_at_school"
    }
    assert off_roll and {rid for rid, _ in off_roll} == {pupil}
    assert {sev for _, sev in off_roll} == {"warning"}
    no_teacher = [f.record_id for f in findings if f.code == "group.no_teacher"]
    assert no_teacher == [untaught]
    assert not blocked_ids(findings)[1]  # warnings keep nobody out
