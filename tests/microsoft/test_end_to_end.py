"""Whole runs through the engine's public API (engine.ops.Ops) against the Microsoft sandbox,
with the memory source double reading a snapshot file.

Full sync equals the desired state; a second run writes nothing; the next term writes exactly
the differences; 10% faults plus throttling converge with no duplicate and no early retry;
drift is repaired; a truncated source is held by the guard.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from ms_support import (
    G_KLASS,
    G_UND,
    S1,
    SECRET_ENV,
    by_external,
    current_snapshot,
    pid,
    settings_for,
)

from adapters.microsoft.config import MicrosoftConfig
from adapters.microsoft.mapping import desired_state
from adapters.microsoft.sandbox import MicrosoftSandbox
from engine.model import MemberRole, Membership, Person, SchoolRole, SchoolRoleType, Snapshot
from engine.roster import RosterPolicy


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))


def write_config(
    workdir: Path,
    sb: MicrosoftSandbox,
    *,
    target: dict[str, Any] | None = None,
    policy: str = "",
) -> Path:
    settings = settings_for(sb.info, **(target or {}))
    lines = [
        "[journal]",
        'path = "ess.db"',
        "",
        "[tenants.alpha]",
        'source = { type = "memory", path = "snapshot.json" }',
        "",
        "[tenants.alpha.targets.microsoft]",
        *(f"{k} = {_toml_value(v)}" for k, v in settings.items()),
        "",
        "[tenants.alpha.policy]",
        policy,
    ]
    path = workdir / "ess.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def put_snapshot(workdir: Path, snap: Snapshot) -> None:
    from engine.testing.memory_source import write_snapshot

    write_snapshot(snap, workdir / "snapshot.json")


async def sync(config: Path) -> Any:
    from engine.ops import Ops

    ops = await Ops.open(config, actor="test")
    try:
        return await ops.sync("alpha")
    finally:
        await ops.close()


def assert_matches_desired(sb: MicrosoftSandbox, snap: Snapshot) -> None:
    """The sandbox holds exactly what the mapping wants: users, classes, members, owners."""
    cfg = MicrosoftConfig.model_validate(
        {"tenant_id": "t", "client_id": "c", "client_secret": "env:X", "domain": "skola.example"}
    )
    want = desired_state(snap, cfg, RosterPolicy())
    state = sb.state()
    by_source = {}
    for u in state["users"]:
        block = u.get("student") or u.get("teacher")
        by_source[block["externalId"]] = u
    assert set(by_source) == set(want.objects["user"])
    assert len(state["users"]) == len(want.objects["user"])  # no duplicate accounts
    for key, obj in want.objects["user"].items():
        assert by_source[key]["userPrincipalName"] == dict(obj.attrs)["userPrincipalName"]
    ids = {k: u["id"] for k, u in by_source.items()}
    classes = by_external(state)
    assert set(classes) == set(want.objects["class"])
    for key, group in classes.items():
        teachers = {ids[c] for p, c in want.links["class.teacher"] if p == key}
        students = {ids[c] for p, c in want.links["class.member"] if p == key}
        assert set(group["owners"]) == teachers
        assert set(group["members"]) == teachers | students
        assert group["hasTeam"]
    school = next(s for s in state["schools"] if s["externalId"] == S1)
    assert set(school["users"]) == {ids[c] for p, c in want.links["school.user"] if p == S1}
    dumped = json.dumps(state)
    for person in snap.persons.values():
        assert person.civic_no is None or person.civic_no not in dumped


@pytest.fixture
def workdir(tmp_path: Path, ms_sandbox: MicrosoftSandbox, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(SECRET_ENV, ms_sandbox.info.client_secret)
    return tmp_path


def today() -> Any:
    return datetime.now(UTC).date()


async def test_full_sync_then_nothing_then_exactly_the_next_terms_changes(
    ms_sandbox: MicrosoftSandbox, workdir: Path
) -> None:
    config = write_config(workdir, ms_sandbox)
    snap = current_snapshot(today())
    put_snapshot(workdir, snap)
    first = await sync(config)
    assert first.status == "succeeded", first
    assert_matches_desired(ms_sandbox, snap)
    # teams are made while memberships are bound: nothing is bound twice (which Graph answers
    # with 400 "already exist"), and nothing else is refused either
    refused = {s: n for s, n in ms_sandbox.stats().by_status.items() if 400 <= s < 500}
    assert set(refused) <= {404}, refused  # 404: a fresh object not visible yet

    ms_sandbox.reset_stats()
    second = await sync(config)
    assert second.status == "succeeded"
    assert second.counts.get("planned", 0) == 0
    assert ms_sandbox.stats().write_requests == 0

    # next term: a new pupil in 7A, and pupil 3 leaves the maths group
    newcomer = Person(pid(50), "Nora", "Ny", civic_no="201305051234")
    nxt = replace(
        snap,
        persons={**snap.persons, newcomer.id: newcomer},
        memberships=(
            *(m for m in snap.memberships if not (m.group_id == G_UND and m.person_id == pid(3))),
            Membership(G_KLASS, newcomer.id, MemberRole.STUDENT),
        ),
        school_roles=(*snap.school_roles, SchoolRole(S1, newcomer.id, SchoolRoleType.STUDENT)),
    )
    put_snapshot(workdir, nxt)
    ms_sandbox.reset_stats()
    third = await sync(config)
    assert third.status == "succeeded"
    assert third.counts["planned"] == 4  # user, school link, class bind, removal
    # one create, one school $ref, one bind PATCH, one member removal
    assert ms_sandbox.stats().write_requests == 4
    assert_matches_desired(ms_sandbox, nxt)


async def test_faults_and_throttling_converge_without_duplicates(
    ms_sandbox: MicrosoftSandbox, workdir: Path
) -> None:
    settings = ms_sandbox.settings
    settings.fault_rate = 0.1
    settings.fault_kinds = ("5xx", "applied_5xx", "timeout")
    settings.timeout_hang_s = 1.0
    settings.seed = 11
    settings.directory_write_limit = 50  # the published limit, scaled down for a quick test
    settings.directory_write_window_s = 2.0
    config = write_config(
        workdir, ms_sandbox, target={"write_limit": 50, "write_window_s": 2.0, "timeout_s": 3.0}
    )
    snap = current_snapshot(today(), extra_pupils=25)
    put_snapshot(workdir, snap)
    summary = await sync(config)
    if summary.status != "succeeded":  # an item that ran out of attempts: the next run ends it
        summary = await sync(config)
    assert summary.status == "succeeded", summary
    stats = ms_sandbox.stats()
    assert stats.faults_injected > 0
    assert stats.write_requests > 50  # more than one window: the run was paced
    assert stats.early_retries == 0
    assert stats.throttled <= stats.requests // 100
    assert_matches_desired(ms_sandbox, snap)


async def test_drift_is_repaired(ms_sandbox: MicrosoftSandbox, workdir: Path) -> None:
    config = write_config(workdir, ms_sandbox)
    snap = current_snapshot(today())
    put_snapshot(workdir, snap)
    assert (await sync(config)).status == "succeeded"
    state = ms_sandbox.state()
    klass = by_external(state)[G_KLASS]
    pupil = next(
        u["id"] for u in state["users"] if (u.get("student") or {}).get("externalId") == pid(2)
    )
    ms_sandbox.remove_member(klass["id"], pupil)
    ms_sandbox.rename_group(klass["id"], "Tagen av någon")
    repaired = await sync(config)
    assert repaired.status == "succeeded"
    assert repaired.counts.get("planned", 0) == 2
    assert_matches_desired(ms_sandbox, snap)
    assert by_external(ms_sandbox.state())[G_KLASS]["displayName"].startswith("7A ")


async def test_truncated_source_is_held_by_the_guard(
    ms_sandbox: MicrosoftSandbox, workdir: Path
) -> None:
    config = write_config(workdir, ms_sandbox)
    snap = current_snapshot(today(), extra_pupils=40)
    put_snapshot(workdir, snap)
    assert (await sync(config)).status == "succeeded"
    keep = {k for k in snap.persons if not k.startswith("d0000000-0000-4000-8000-0000000001")}
    truncated = replace(
        snap,
        persons={k: p for k, p in snap.persons.items() if k in keep},
        memberships=tuple(m for m in snap.memberships if m.person_id in keep),
        school_roles=tuple(r for r in snap.school_roles if r.person_id in keep),
    )
    put_snapshot(workdir, truncated)
    ms_sandbox.reset_stats()
    held = await sync(config)
    assert held.status == "held"
    assert ms_sandbox.stats().write_requests == 0
    accounts = [u for u in ms_sandbox.state()["users"] if u.get("accountEnabled") is False]
    assert accounts == []


async def test_each_operation_leads_to_its_source_record(
    ms_sandbox: MicrosoftSandbox, workdir: Path
) -> None:
    """The target says which source record each kind stands for: a class's school link leads
    to the group, a member link to the person, a team to its group."""
    from engine.ops import Ops

    config = write_config(workdir, ms_sandbox)
    snap = current_snapshot(today())
    put_snapshot(workdir, snap)
    async with await Ops.open(config, actor="test") as ops:
        run = await ops.sync("alpha")
        assert run.status == "succeeded"
        items = await ops.operations(run.id, limit=10_000)
        want = {
            "school": "school",
            "user": "person",
            "class": "group",
            "team": "group",
            "school.user": "person",
            "school.class": "group",
            "class.member": "person",
            "class.teacher": "person",
        }
        seen = set()
        for kind, record_type in want.items():
            item = next(o for o in items if o.kind == kind)
            detail = await ops.operation(item.id)
            assert (detail.record_type, detail.record_key) == (record_type, item.key)
            assert detail.source_record is not None, kind
            seen.add(kind)
        assert seen == {o.kind for o in items}


async def test_a_finding_of_the_targets_mapping_reaches_the_journal(
    ms_sandbox: MicrosoftSandbox, workdir: Path
) -> None:
    """A class without a teacher gets no team (it needs an owner): the mapping's finding is
    listed with the source's, counted in the run and shown when the class is explained."""
    from engine.ops import Ops

    config = write_config(workdir, ms_sandbox)
    snap = current_snapshot(today())
    teachers = {
        m.person_id
        for m in snap.memberships
        if m.group_id == G_KLASS and m.role is not MemberRole.STUDENT
    }
    assert teachers
    kept = tuple(
        m
        for m in snap.memberships
        if not (m.group_id == G_KLASS and m.role is not MemberRole.STUDENT)
    )
    put_snapshot(workdir, replace(snap, memberships=kept))
    async with await Ops.open(config, actor="test") as ops:
        run = await ops.sync("alpha")
        found = await ops.findings("alpha")
        assert [(f.code, f.record_id) for f in found if f.code == "class_without_teacher"] == [
            ("class_without_teacher", G_KLASS)
        ]
        assert run.counts.get("findings_warning", 0) >= 1
        explained = await ops.explain("alpha", "group", G_KLASS)
        assert "class_without_teacher" in {f.code for f in explained.findings}
