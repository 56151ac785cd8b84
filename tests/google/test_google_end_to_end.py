"""Whole runs through the engine's public API (engine.ops.Ops) against the Google sandbox over
HTTPS, with the memory source double reading a snapshot file: a full sync equals the desired
state, a second run writes nothing, and a teacher who leaves leaves every course owned."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from adapters.google.config import GoogleConfig
from adapters.google.mapping import desired_state
from adapters.google.sandbox import GoogleSandbox, SandboxSettings
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


def snapshot(*, teachers: tuple[str, ...] = (T1, T2)) -> Snapshot:
    """One school, two teachers who both teach 7A, five pupils (two namesakes)."""
    start, end = date(2026, 8, 17), date(2027, 6, 11)
    schools = {S1: School(S1, "Norrskolan", "12345678")}
    persons = {T1: Person(T1, "Åsa", "Öberg"), T2: Person(T2, "Per", "Lind")}
    names = [("Anna", "Svensson"), ("Anna", "Svensson"), ("Björn", "Ek"), ("Cecilia", "Ås")]
    names.append(("David", "Berg"))
    for i, (given, family) in enumerate(names, start=1):
        persons[pid(i)] = Person(pid(i), given, family)
    groups = {
        G1: Group(G1, "7A", GroupType.KLASS, S1, start=start, end=end),
        G2: Group(G2, "MA7", GroupType.UNDERVISNING, S1, start=start, end=end, subject="MA"),
    }
    memberships = [Membership(G1, t, MemberRole.MENTOR) for t in teachers]
    memberships += [Membership(G2, t, MemberRole.TEACHER) for t in teachers[-1:]]
    roles = [SchoolRole(S1, t, SchoolRoleType.TEACHER) for t in teachers]
    for i in range(1, len(names) + 1):
        memberships.append(Membership(G1, pid(i), MemberRole.STUDENT))
        if i <= 3:
            memberships.append(Membership(G2, pid(i), MemberRole.STUDENT))
        roles.append(SchoolRole(S1, pid(i), SchoolRoleType.STUDENT, school_year=7))
    return Snapshot(
        schools,
        persons,
        groups,
        tuple(memberships),
        tuple(roles),
        as_of=date(2026, 9, 1),
        source="test",
    )


@pytest.fixture
def sandbox() -> Iterator[GoogleSandbox]:
    with GoogleSandbox(settings=SandboxSettings()) as running:
        yield running


def settings_for(sb: GoogleSandbox) -> dict[str, Any]:
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
    }


def _toml(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)
    return json.dumps(str(value))


@pytest.fixture
def workdir(tmp_path: Path, sandbox: GoogleSandbox, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(KEY_ENV, Path(sandbox.info.key_file).read_text())
    lines = [
        "[journal]",
        'path = "ess.db"',
        "",
        "[tenants.alpha]",
        'source = { type = "memory", path = "snapshot.json" }',
        "",
        "[tenants.alpha.targets.google]",
        *(f"{k} = {_toml(v)}" for k, v in settings_for(sandbox).items()),
    ]
    (tmp_path / "ess.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path


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


def assert_matches_desired(sb: GoogleSandbox, snap: Snapshot) -> None:
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
    courses = {c["aliases"][0]: c for c in state["courses"]}
    assert len(courses) == len(state["courses"]) == len(want.objects["course"])
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
    assert any(c["name"] == "7A 2627" for c in sandbox.state()["courses"])

    sandbox.reset_stats()
    second = await sync(workdir)
    assert second.status == "succeeded"
    assert sandbox.stats().write_calls == 0  # nothing changed, nothing sent
    assert_matches_desired(sandbox, snap)


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
