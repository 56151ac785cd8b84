"""The target against the sandbox, driven like the executor drives it: a full sync equals the
desired state, a second run writes nothing, adoption, replication delay, class teams, the end
of a class, leavers, drift, and the check after a crash."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from ms_support import (
    G_KLASS,
    G_UND,
    S1,
    T1,
    T2,
    build_target,
    by_external,
    drive,
    pid,
    small_snapshot,
)

from adapters.microsoft.sandbox import MicrosoftSandbox
from adapters.microsoft.target import MicrosoftTarget
from engine.config import TenantPolicy
from engine.plan import Action, Operation
from engine.target import OutcomeKind, TargetContext


async def test_full_sync_equals_desired_state(
    ms_sandbox: MicrosoftSandbox, ms_target: MicrosoftTarget
) -> None:
    snap = small_snapshot()
    result = await drive(ms_target, snap)
    assert not result.by_kind(OutcomeKind.FAILED)
    state = ms_sandbox.state()
    users = {u["userPrincipalName"]: u for u in state["users"]}
    assert set(users) == {
        "asa.oberg@skola.example",
        "per.lind@skola.example",
        "anna.svensson@skola.example",
        "anna.svensson2@skola.example",
        "bjorn.ek@skola.example",
        "cecilia.as@skola.example",
        "david.berg@skola.example",
    }  # the protected pupil is excluded by default
    teacher = users["asa.oberg@skola.example"]
    assert teacher["primaryRole"] == "teacher"
    assert teacher["teacher"] == {"externalId": T1}
    assert users["bjorn.ek@skola.example"]["student"] == {"externalId": pid(3)}
    ids = {
        u["teacher"]["externalId"] if "teacher" in u else u["student"]["externalId"]: u["id"]
        for u in state["users"]
    }
    classes = by_external(state)
    assert set(classes) == {G_KLASS, G_UND}  # the mentor group is not a selected type
    klass = classes[G_KLASS]
    assert klass["displayName"] == "7A 2024/25"
    assert klass["education"]["term"]["displayName"] == "2024/25"
    assert sorted(klass["owners"]) == [ids[T1]]
    assert sorted(klass["members"]) == sorted(ids[k] for k in (T1, *(pid(i) for i in range(1, 6))))
    und = classes[G_UND]
    assert sorted(und["owners"]) == [ids[T2]]
    assert sorted(und["members"]) == sorted(ids[k] for k in (T2, *(pid(i) for i in range(1, 5))))
    assert all(g["hasTeam"] for g in classes.values())
    assert {t["template"] for t in state["teams"]} == {"educationClass"}
    schools = {s["externalId"]: s for s in state["schools"]}
    assert schools[S1]["schoolNumber"] == "12345678"
    assert sorted(schools[S1]["users"]) == sorted(ids.values())
    assert sorted(schools[S1]["classes"]) == sorted(g["id"] for g in classes.values())
    # a personnummer never reaches Graph, in any property
    dumped = json.dumps(state)
    for person in snap.persons.values():
        assert person.civic_no is not None
        assert person.civic_no not in dumped
    # the second run plans nothing and writes nothing
    ms_sandbox.reset_stats()
    again = await drive(ms_target, snap, result.observed)
    assert again.planned == 0
    assert ms_sandbox.stats().write_requests == 0


async def test_existing_account_is_adopted_not_duplicated(
    ms_sandbox: MicrosoftSandbox, ms_target: MicrosoftTarget
) -> None:
    client = ms_target.client
    existing = await client.send(
        "POST",
        "users",
        json={
            "accountEnabled": True,
            "displayName": "Björn Ek (IT)",
            "mailNickname": "bjorn.ek",
            "userPrincipalName": "bjorn.ek@skola.example",
            "passwordProfile": {"password": "Sandbox-Pass-1"},
        },
    )
    assert existing.status == 201
    result = await drive(ms_target, small_snapshot())
    adopted = [
        (op, o)
        for op, o in result.outcomes
        if op.kind == "user" and op.key == pid(3) and o.kind is OutcomeKind.DONE
    ]
    assert adopted[-1][1].adopted
    assert adopted[-1][1].target_id == existing.body["id"]
    state = ms_sandbox.state()
    matching = [u for u in state["users"] if u["userPrincipalName"] == "bjorn.ek@skola.example"]
    assert len(matching) == 1
    assert matching[0]["student"] == {"externalId": pid(3)}
    assert matching[0]["displayName"] == "Björn Ek"


async def test_adopt_by_employee_id(ms_sandbox: MicrosoftSandbox) -> None:
    target = build_target(ms_sandbox.info, match_on="employeeId")
    try:
        existing = await target.client.send(
            "POST",
            "users",
            json={
                "accountEnabled": True,
                "displayName": "P Lind",
                "mailNickname": "plind",
                "userPrincipalName": "plind@skola.example",
                "employeeId": T2,
                "passwordProfile": {"password": "Sandbox-Pass-1"},
            },
        )
        await drive(target, small_snapshot())
        state = ms_sandbox.state()
        lind = [u for u in state["users"] if u.get("employeeId") == T2]
        assert [u["id"] for u in lind] == [existing.body["id"]]
        assert not any(u["userPrincipalName"] == "per.lind@skola.example" for u in state["users"])
        created = next(
            u for u in state["users"] if u["userPrincipalName"] == "asa.oberg@skola.example"
        )
        assert created["employeeId"] == T1  # new accounts carry the match key
    finally:
        await target.aclose()


async def test_replication_delay_is_retried_not_failed(
    ms_sandbox: MicrosoftSandbox, ms_target: MicrosoftTarget
) -> None:
    ms_sandbox.settings.propagation_delay_s = 0.6
    ms_sandbox.settings.team_min_group_age_s = 1.0
    result = await drive(ms_target, small_snapshot())
    reasons = {o.reason for _, o in result.by_kind(OutcomeKind.RETRY)}
    assert "not_visible" in reasons
    young = [o for op, o in result.by_kind(OutcomeKind.RETRY) if o.reason == "group_too_young"]
    assert young
    assert all(o.retry_after and o.retry_after > 0 for o in young)
    assert not result.by_kind(OutcomeKind.FAILED)
    assert all(
        op_status == OutcomeKind.DONE for op_status in (o.kind for o in result.final.values())
    )
    classes = by_external(ms_sandbox.state())
    assert all(g["hasTeam"] for g in classes.values())
    assert sorted(len(g["owners"]) for g in classes.values()) == [1, 1]


async def test_team_creation_polls_the_async_operation(
    ms_sandbox: MicrosoftSandbox, ms_target: MicrosoftTarget
) -> None:
    ms_sandbox.settings.team_operation_delay_s = 0.4
    result = await drive(ms_target, small_snapshot())
    teams = [(op, o) for op, o in result.outcomes if op.kind == "team"]
    assert {o.kind for _, o in teams} == {OutcomeKind.DONE}
    state = ms_sandbox.state()
    assert all(t["ready"] for t in state["teams"])  # done only once the operation succeeded


async def test_class_end_archives_the_team_and_keeps_the_class(
    ms_sandbox: MicrosoftSandbox, ms_target: MicrosoftTarget
) -> None:
    snap = small_snapshot()
    first = await drive(ms_target, snap)
    ended = replace(snap.groups[G_UND], end=date(2024, 12, 20))
    later = replace(snap, groups={**snap.groups, G_UND: ended}, as_of=date(2025, 1, 10))
    second = await drive(ms_target, later, first.observed)
    actions = {(op.kind, op.action) for op, _ in second.outcomes}
    assert ("team", Action.ARCHIVE) in actions
    state = ms_sandbox.state()
    und = by_external(state)[G_UND]
    team = next(t for t in state["teams"] if t["id"] == und["id"])
    assert team["isArchived"]
    assert len(und["members"]) == 5  # an archived class keeps its members
    assert not next(t for t in state["teams"] if t["id"] != und["id"])["isArchived"]


async def test_leaver_is_disabled_then_deleted_after_grace(
    ms_sandbox: MicrosoftSandbox,
) -> None:
    target = build_target(ms_sandbox.info)
    target.policy = TenantPolicy(suspend_grace_days=30)
    try:
        snap = small_snapshot()
        first = await drive(target, snap)
        leaver = pid(4)
        gone = replace(
            snap,
            persons={k: p for k, p in snap.persons.items() if k != leaver},
            memberships=tuple(m for m in snap.memberships if m.person_id != leaver),
            school_roles=tuple(r for r in snap.school_roles if r.person_id != leaver),
        )
        now = datetime.now(UTC)
        second = await drive(target, gone, first.observed, now=now)
        uid = first.observed.objects["user"][leaver].target_id
        user = next(u for u in ms_sandbox.state()["users"] if u["id"] == uid)
        assert user["accountEnabled"] is False
        assert any(op.action is Action.SUSPEND for op, _ in second.outcomes)
        third = await drive(target, gone, second.observed, now=now + timedelta(days=10))
        assert third.planned == 0  # within the grace period nothing happens
        fourth = await drive(target, gone, second.observed, now=now + timedelta(days=31))
        assert any(op.action is Action.DELETE and op.kind == "user" for op, _ in fourth.outcomes)
        assert uid not in {u["id"] for u in ms_sandbox.state()["users"]}
    finally:
        await target.aclose()


async def test_drift_is_seen_and_repaired(
    ms_sandbox: MicrosoftSandbox, ms_target: MicrosoftTarget
) -> None:
    snap = small_snapshot()
    first = await drive(ms_target, snap)
    klass = by_external(ms_sandbox.state())[G_KLASS]
    student = first.observed.objects["user"][pid(1)].target_id
    assert student is not None
    ms_sandbox.remove_member(klass["id"], student)
    ms_sandbox.rename_group(klass["id"], "Renamed by hand")
    second = await drive(ms_target, snap, first.observed)
    assert any("drift" in msg for _, msg in second.events)
    assert {(op.kind, op.action) for op, _ in second.outcomes} == {
        ("class", Action.UPDATE),
        ("class.member", Action.LINK),
    }
    repaired = by_external(ms_sandbox.state())[G_KLASS]
    assert repaired["displayName"] == "7A 2024/25"
    assert student in repaired["members"]


async def test_drift_report_only_writes_nothing(ms_sandbox: MicrosoftSandbox) -> None:
    target = build_target(ms_sandbox.info)
    target.policy = TenantPolicy(drift="report")
    try:
        snap = small_snapshot()
        first = await drive(target, snap)
        klass = by_external(ms_sandbox.state())[G_KLASS]
        ms_sandbox.rename_group(klass["id"], "Renamed by hand")
        ms_sandbox.reset_stats()
        second = await drive(target, snap, first.observed)
        assert second.planned == 0
        assert ms_sandbox.stats().write_requests == 0
        assert any(level == "warning" and "renamed" in msg for level, msg in second.events)
    finally:
        await target.aclose()


async def test_the_target_reports_drift_and_leaves_the_policy_to_the_runner(
    ms_sandbox: MicrosoftSandbox,
) -> None:
    target = build_target(ms_sandbox.info, TenantPolicy(drift="report"))
    try:
        assert target.reads_drift
        first = await drive(target, small_snapshot())
        klass = by_external(ms_sandbox.state())[G_KLASS]
        ms_sandbox.rename_group(klass["id"], "Renamed by hand")
        events: list[tuple[str, str]] = []
        ctx = TargetContext("t", 2, emit=lambda level, msg: events.append((level, msg)))
        refreshed = await target.refresh(first.observed, ctx)
        # under "report" too, the refresh says what is there: the runner decides what to do
        seen = refreshed.objects["class"][G_KLASS]
        assert dict(seen.attrs)["displayName"] == "Renamed by hand"
        assert seen.fingerprint != first.observed.objects["class"][G_KLASS].fingerprint
        assert any("renamed" in msg for _, msg in events)
        assert not any("report" in msg for _, msg in events)
    finally:
        await target.aclose()


async def test_verify_after_a_crash_finds_what_was_applied(
    ms_sandbox: MicrosoftSandbox, ms_target: MicrosoftTarget
) -> None:
    snap = small_snapshot()
    first = await drive(ms_target, snap)
    desired = ms_target.desired(snap)
    observed = first.observed
    ctx = TargetContext(
        "t",
        2,
        lambda kind, key: (
            observed.objects.get(kind, {}).get(key).target_id  # type: ignore[union-attr]
            if key in observed.objects.get(kind, {})
            else None
        ),
    )
    klass = desired.objects["class"][G_KLASS]
    create = Operation(1, "microsoft", Action.CREATE, "class", G_KLASS, attrs=klass.attrs)
    found = await ms_target.read_back(create, ctx)
    assert found is not None
    assert found.target_id == observed.objects["class"][G_KLASS].target_id
    user = desired.objects["user"][pid(2)]
    found_user = await ms_target.read_back(
        Operation(2, "microsoft", Action.CREATE, "user", pid(2), attrs=user.attrs), ctx
    )
    assert found_user is not None
    assert found_user.target_id == observed.objects["user"][pid(2)].target_id
    never = replace(
        klass, attrs=tuple((k, "never-made" if k == "externalId" else v) for k, v in klass.attrs)
    )
    missing = Operation(3, "microsoft", Action.CREATE, "class", "never-made", attrs=never.attrs)
    assert await ms_target.read_back(missing, ctx) is None
    linked = Operation(4, "microsoft", Action.LINK, "class.teacher", T1, parent=G_KLASS)
    assert await ms_target.read_back(linked, ctx) is not None
    not_linked = Operation(5, "microsoft", Action.LINK, "class.member", pid(5), parent=G_UND)
    assert await ms_target.read_back(not_linked, ctx) is None
    team = Operation(6, "microsoft", Action.CREATE, "team", G_KLASS)
    assert await ms_target.read_back(team, ctx) is not None
