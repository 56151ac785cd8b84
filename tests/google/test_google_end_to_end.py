"""Whole runs through the engine's public API (engine.ops.Ops) against the Google sandbox over
HTTPS, with the memory source double reading a snapshot file: a full sync equals the desired
state, a second run writes nothing, and a teacher who leaves leaves every course owned."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from adapters.google.config import GoogleConfig
from adapters.google.mapping import desired_state
from adapters.google.sandbox import GoogleSandbox
from adapters.kit.schoolyear import SchoolYear
from engine.model import (
    Group,
    GroupType,
    MemberRole,
    Membership,
    Person,
    School,
    SchoolRole,
    SchoolRoleType,
    Snapshot,
)
from engine.roster import RosterPolicy

S1 = "5c1a0000-0000-4000-8000-000000000001"
G1, G2 = "9a000000-0000-4000-8000-00000000000a", "9a000000-0000-4000-8000-00000000000b"
T1, T2 = "7e000000-0000-4000-8000-000000000001", "7e000000-0000-4000-8000-000000000002"
KEY_ENV = "ESS_TEST_GOOGLE_KEY"


def pid(n: int) -> str:
    return f"d0000000-0000-4000-8000-{n:012d}"


def today() -> date:
    return datetime.now(UTC).date()  # the day a run maps the snapshot on


THIS_YEAR = SchoolYear.of(today())


def snapshot(
    *,
    teachers: tuple[str, ...] = (T1, T2),
    extra_pupils: int = 0,
    groups: tuple[str, str] = (G1, G2),
    start: date | None = None,
    end: date | None = None,
) -> Snapshot:
    """One school, two teachers who both teach 7A, five pupils (two namesakes) and
    ``extra_pupils`` more, in two groups of this school year."""
    start = start or THIS_YEAR.first_day
    end = end or THIS_YEAR.last_day
    g1, g2 = groups
    schools = {S1: School(S1, "Norrskolan", "12345678")}
    persons = {T1: Person(T1, "Åsa", "Öberg"), T2: Person(T2, "Per", "Lind")}
    names = [("Anna", "Svensson"), ("Anna", "Svensson"), ("Björn", "Ek"), ("Cecilia", "Ås")]
    names.append(("David", "Berg"))
    names += [("Elev", f"Nummer{i}") for i in range(extra_pupils)]
    for i, (given, family) in enumerate(names, start=1):
        persons[pid(i)] = Person(pid(i), given, family)
    by_id = {
        g1: Group(g1, "7A", GroupType.KLASS, S1, start=start, end=end),
        g2: Group(g2, "MA7", GroupType.UNDERVISNING, S1, start=start, end=end, subject="MA"),
    }
    memberships = [Membership(g1, t, MemberRole.MENTOR) for t in teachers]
    memberships += [Membership(g2, t, MemberRole.TEACHER) for t in teachers[-1:]]
    roles = [SchoolRole(S1, t, SchoolRoleType.TEACHER) for t in teachers]
    for i in range(1, len(names) + 1):
        memberships.append(Membership(g1, pid(i), MemberRole.STUDENT))
        if i <= 3:
            memberships.append(Membership(g2, pid(i), MemberRole.STUDENT))
        roles.append(SchoolRole(S1, pid(i), SchoolRoleType.STUDENT, school_year=7))
    return Snapshot(
        schools,
        persons,
        by_id,
        tuple(memberships),
        tuple(roles),
        as_of=today(),
        source="test",
    )


def settings_for(sb: GoogleSandbox, **overrides: Any) -> dict[str, Any]:
    info = sb.info
    return {
        "type": "google",
        "domain": info.domain,
        "service_account_key": f"env:{KEY_ENV}",
        "admin_subjects": list(info.admin_subjects[:1]),
        "root_url": info.root_url,
        "batch_url": info.batch_url,
        "verify": info.ca_path,
        "timeout_s": 5.0,
        "consistency_window_s": 0.5,
    } | overrides


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)
    return json.dumps(str(value))


def write_config(workdir: Path, sb: GoogleSandbox, **target: Any) -> None:
    lines = [
        "[journal]",
        'path = "ess.db"',
        "",
        "[tenants.alpha]",
        'source = { type = "memory", path = "snapshot.json" }',
        "",
        "[tenants.alpha.targets.google]",
        *(f"{k} = {_toml(v)}" for k, v in settings_for(sb, **target).items()),
    ]
    (workdir / "ess.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def put(workdir: Path, snap: Snapshot) -> None:
    from engine.testing.memory_source import write_snapshot

    write_snapshot(snap, workdir / "snapshot.json")


async def sync(workdir: Path) -> Any:
    from engine.ops import Ops

    ops = await Ops.open(workdir / "ess.toml", actor="test")
    try:
        return await ops.sync("alpha")
    finally:
        await ops.close()


def assert_matches_desired(sb: GoogleSandbox, snap: Snapshot, *, archived: int = 0) -> None:
    """The sandbox holds exactly what the mapping wants: one account per person with a role,
    one course per group with its alias, owner, teachers and students."""
    config = GoogleConfig.model_validate(settings_for(sb))
    want = desired_state(snap, config, RosterPolicy())
    state = sb.state()
    users = {  # suspended leavers wait out their grace period
        u["primaryEmail"]: u for u in state["users"] if not u.get("isAdmin") and not u["suspended"]
    }
    email = {k: dict(o.attrs)["primaryEmail"] for k, o in want.objects["user"].items()}
    assert set(users) == set(email.values())  # no duplicate, none missing
    for key, obj in want.objects["user"].items():
        attrs, user = dict(obj.attrs), users[email[key]]
        assert user["orgUnitPath"] == attrs["orgUnitPath"]
        assert user["name"]["givenName"] == attrs["givenName"]
        assert not user["suspended"]
    courses = {c["aliases"][0]: c for c in state["courses"] if c["courseState"] != "ARCHIVED"}
    assert len(courses) == len(want.objects["course"])
    assert len(state["courses"]) == len(courses) + archived  # no duplicate course
    for key, obj in want.objects["course"].items():
        attrs = dict(obj.attrs)
        course = courses[attrs["alias"]]
        assert course["name"] == attrs["name"]
        assert course["ownerEmail"] == email[attrs["owner"]]
        teachers = {email[c] for p, c in want.links["course.teacher"] if p == key}
        students = {email[c] for p, c in want.links["course.student"] if p == key}
        assert set(course["teachers"]) == teachers
        assert set(course["students"]) == students


async def test_full_sync_equals_desired_and_a_second_run_writes_nothing(
    sandbox: GoogleSandbox, workdir: Path
) -> None:
    snap = snapshot()
    put(workdir, snap)
    first = await sync(workdir)
    assert first.status == "succeeded", (first.error, first.counts)
    assert_matches_desired(sandbox, snap)
    emails = sorted(u["primaryEmail"] for u in sandbox.state()["users"])
    assert "anna.svensson@" + sandbox.info.domain in emails
    assert "anna.svensson2@" + sandbox.info.domain in emails  # namesakes kept apart
    assert any(c["name"] == f"7A {THIS_YEAR.short}" for c in sandbox.state()["courses"])

    sandbox.reset_stats()
    second = await sync(workdir)
    assert second.status == "succeeded"
    assert second.counts.get("planned", 0) == 0
    assert sandbox.stats().write_calls == 0  # nothing changed, nothing sent
    assert_matches_desired(sandbox, snap)

    # next term: a new pupil in 7A, and pupil 3 leaves the maths group
    newcomer = Person(pid(50), "Nora", "Ny")
    nxt = replace(
        snap,
        persons={**snap.persons, newcomer.id: newcomer},
        memberships=(
            *(m for m in snap.memberships if not (m.group_id == G2 and m.person_id == pid(3))),
            Membership(G1, newcomer.id, MemberRole.STUDENT),
        ),
        school_roles=(*snap.school_roles, SchoolRole(S1, newcomer.id, SchoolRoleType.STUDENT)),
    )
    put(workdir, nxt)
    sandbox.reset_stats()
    third = await sync(workdir)
    assert third.status == "succeeded", (third.error, third.counts)
    assert third.counts["planned"] == 3  # the account, its place in 7A, pupil 3 out of MA7
    assert sandbox.stats().write_calls == 3  # one insert, one student add, one removal
    assert_matches_desired(sandbox, nxt)


async def test_a_teacher_who_leaves_hands_every_course_to_a_co_teacher(
    sandbox: GoogleSandbox, workdir: Path
) -> None:
    put(workdir, snapshot())
    await sync(workdir)
    domain = sandbox.info.domain
    owned = {c["aliases"][0]: c["ownerEmail"] for c in sandbox.state()["courses"]}
    assert owned[f"d:{G1}"] == f"asa.oberg@{domain}"  # the lowest source id owns 7A

    left = snapshot(teachers=(T2,))
    put(workdir, left)
    result = await sync(workdir)
    assert result.status == "succeeded", (result.error, result.counts)
    state = sandbox.state()
    for course in state["courses"]:
        assert course["ownerEmail"] == f"per.lind@{domain}"
        assert course["courseState"] == "ACTIVE"
    leaver = next(u for u in state["users"] if u["primaryEmail"] == f"asa.oberg@{domain}")
    assert leaver["suspended"]  # suspended, not deleted: the grace period runs
    assert_matches_desired(sandbox, left)


async def test_a_year_rollover_archives_last_years_courses_and_creates_next_years(
    sandbox: GoogleSandbox, workdir: Path
) -> None:
    last_year = SchoolYear.of(THIS_YEAR.first_day - timedelta(days=1))
    old = snapshot(start=last_year.first_day, end=today() - timedelta(days=1))
    # the old groups are current while last year's run happens: map them as of then
    put(workdir, snapshot(start=last_year.first_day, end=THIS_YEAR.last_day))
    assert (await sync(workdir)).status == "succeeded"
    renamed = [c["name"] for c in sandbox.state()["courses"]]
    assert len(renamed) == 2

    new_groups = ("9b000000-0000-4000-8000-00000000000a", "9b000000-0000-4000-8000-00000000000b")
    nxt = snapshot(groups=new_groups)
    assert old.groups.keys().isdisjoint(nxt.groups.keys())
    put(workdir, nxt)
    result = await sync(workdir)
    assert result.status == "succeeded", (result.error, result.counts)
    courses = sandbox.state()["courses"]
    archived = {c["aliases"][0] for c in courses if c["courseState"] == "ARCHIVED"}
    active = {c["aliases"][0]: c for c in courses if c["courseState"] == "ACTIVE"}
    assert archived == {f"d:{G1}", f"d:{G2}"}  # archived, never deleted
    assert set(active) == {f"d:{g}" for g in new_groups}
    names = [c["name"] for c in courses]
    assert len(set(names)) == len(names) == 4  # no name collides with last year's
    assert_matches_desired(sandbox, nxt, archived=2)


async def test_faults_and_throttling_converge_without_duplicates(
    sandbox: GoogleSandbox, workdir: Path
) -> None:
    settings = sandbox.settings
    settings.fault_rate = 0.1
    settings.fault_kinds = ("5xx", "applied_5xx", "timeout")
    settings.timeout_hang_s = 1.0
    settings.seed = 7
    settings.time_scale = 0.05  # every quota window 3 s instead of 60
    settings.classroom_per_user_per_min = 40  # so that the run takes more than one window
    write_config(
        workdir,
        sandbox,
        classroom_per_user_per_min=40,
        quota_window_s=3.0,
        timeout_s=3.0,
    )
    snap = snapshot(extra_pupils=30)
    put(workdir, snap)
    summary = await sync(workdir)
    if summary.status != "succeeded":  # an item that ran out of attempts: the next run ends it
        summary = await sync(workdir)
    assert summary.status == "succeeded", (summary.error, summary.counts)
    stats = sandbox.stats()
    assert stats.faults_injected > 0
    assert stats.calls > 40  # more than one quota window's worth: the run was paced
    assert stats.early_retries == 0  # nothing sent before its Retry-After
    assert_matches_desired(sandbox, snap)  # one account each, one course per group


async def test_truncated_source_is_held_by_the_guard(sandbox: GoogleSandbox, workdir: Path) -> None:
    snap = snapshot(extra_pupils=40)
    put(workdir, snap)
    assert (await sync(workdir)).status == "succeeded"
    keep = {k for k in snap.persons if not k.startswith("d0000000-0000-4000-8000-0000000000")}
    keep |= {pid(i) for i in range(1, 6)}
    truncated = replace(
        snap,
        persons={k: p for k, p in snap.persons.items() if k in keep},
        memberships=tuple(m for m in snap.memberships if m.person_id in keep),
        school_roles=tuple(r for r in snap.school_roles if r.person_id in keep),
    )
    put(workdir, truncated)
    sandbox.reset_stats()
    held = await sync(workdir)
    assert held.status == "held"
    assert sandbox.stats().write_calls == 0
    assert [u for u in sandbox.state()["users"] if u["suspended"]] == []


async def test_drift_is_repaired(sandbox: GoogleSandbox, workdir: Path) -> None:
    from adapters.google import calls
    from adapters.google.target import GoogleTarget
    from engine.config import TenantPolicy
    from engine.secrets import SecretResolver

    snap = snapshot()
    put(workdir, snap)
    assert (await sync(workdir)).status == "succeeded"
    domain = sandbox.info.domain
    # an administrator's hands: a pupil taken out of 7A, the course renamed, an account moved
    hands = GoogleTarget.from_config(
        "google",
        settings_for(sandbox),
        TenantPolicy(),
        SecretResolver(environ={KEY_ENV: Path(sandbox.info.key_file).read_text()}),
    )
    try:
        client = hands.client
        for call in (
            calls.remove_member(f"d:{G1}", "students", f"bjorn.ek@{domain}"),
            calls.patch_course(f"d:{G1}", {"name": "Tagen av någon"}),
            calls.patch_user(f"david.berg@{domain}", {"orgUnitPath": "/"}),
        ):
            assert (await client.call(call)).ok
    finally:
        await hands.aclose()
    repaired = await sync(workdir)
    assert repaired.status == "succeeded", (repaired.error, repaired.counts)
    assert repaired.counts.get("planned", 0) == 3  # the membership, the course, the account
    assert_matches_desired(sandbox, snap)
