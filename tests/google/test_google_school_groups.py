"""Directory groups per school and role (``school_groups = true``), end to end through the
engine against the sandbox: made with their members, members added and removed in Directory
batches as pupils come and go, renamed with their school, a second run writes nothing, members
changed and groups deleted by hand put right (or only reported, per the drift policy), and
with the setting off (the default) no group is made at all."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from adapters.google import calls
from adapters.google.config import GoogleConfig
from adapters.google.mapping import desired_state
from adapters.google.sandbox import GoogleSandbox
from adapters.google.target import GoogleTarget
from engine.config import TenantPolicy
from engine.model import Snapshot
from engine.ops import Ops
from engine.roster import RosterPolicy
from engine.secrets import SecretResolver
from tests.google.test_google_end_to_end import (
    KEY_ENV,
    S1,
    T1,
    T2,
    put,
    settings_for,
    snapshot,
    sync,
)
from tests.google.test_google_end_to_end import write_config as configure

STUDENTS = "norrskolan.elever@skola.example"
STAFF = "norrskolan.personal@skola.example"


def emails(sb: GoogleSandbox, snap: Snapshot) -> dict[str, str]:
    config = GoogleConfig.model_validate(settings_for(sb))
    want = desired_state(snap, config, RosterPolicy())
    return {k: str(dict(o.attrs)["primaryEmail"]) for k, o in want.objects["user"].items()}


def groups(sb: GoogleSandbox) -> dict[str, dict[str, Any]]:
    return {g["email"]: g for g in sb.state()["groups"]}


async def test_school_groups_hold_each_schools_students_and_staff(
    sandbox: GoogleSandbox, workdir: Path
) -> None:
    # org units by school code, so that renaming the school moves no account
    configure(workdir, sandbox, school_groups=True, org_unit_template="{school_code}/{role}")
    snap = snapshot(extra_pupils=45)
    put(workdir, snap)
    first = await sync(workdir)
    assert first.status == "succeeded", (first.error, first.counts)
    mail = emails(sandbox, snap)
    held = groups(sandbox)
    assert set(held) == {STUDENTS, STAFF}
    assert held[STUDENTS]["name"] == "Norrskolan Elever"
    assert held[STAFF]["members"] == sorted([mail[T1], mail[T2]])
    pupils = sorted(v for k, v in mail.items() if k not in (T1, T2))
    assert held[STUDENTS]["members"] == pupils and len(pupils) == 50

    sandbox.reset_stats()
    assert (await sync(workdir)).counts.get("planned", 0) == 0
    assert sandbox.stats().write_calls == 0

    # a term later: two pupils leave, the school is renamed
    leavers = sorted(k for k in snap.persons if k not in (T1, T2))[-2:]
    school = replace(snap.schools[S1], name="Norrskolan Öst")
    later = replace(snap.without(persons=set(leavers)), schools={S1: school})
    put(workdir, later)
    sandbox.reset_stats()
    second = await sync(workdir)
    assert second.status == "succeeded", (second.held_reasons, second.counts)
    held = groups(sandbox)
    renamed = "norrskolan-ost.elever@skola.example"
    assert set(held) == {renamed, "norrskolan-ost.personal@skola.example"}
    assert held[renamed]["name"] == "Norrskolan Öst Elever"
    assert STUDENTS in held[renamed]["aliases"]  # mail to the old address still arrives
    assert held[renamed]["members"] == sorted(set(pupils) - {mail[k] for k in leavers})
    stats = sandbox.stats()
    # the two removals travel in one Directory batch with the other account changes
    assert stats.batch_requests >= 1 and stats.http_requests < stats.calls


async def test_no_groups_unless_asked_for(sandbox: GoogleSandbox, workdir: Path) -> None:
    put(workdir, snapshot())
    assert (await sync(workdir)).status == "succeeded"
    assert sandbox.state()["groups"] == []


async def test_a_group_made_by_hand_with_the_address_is_adopted(
    sandbox: GoogleSandbox, workdir: Path
) -> None:
    configure(workdir, sandbox, school_groups=True)
    made = sandbox.groups.insert_raw(STAFF, "Lärare på Norrskolan")
    put(workdir, snapshot())
    run = await sync(workdir)
    assert run.status == "succeeded", (run.error, run.counts)
    held = groups(sandbox)
    assert held[STAFF]["id"] == made  # the same group, not a second
    assert len(held[STAFF]["members"]) == 2


async def _by_hand(sandbox: GoogleSandbox, *changes: calls.ApiCall) -> None:
    """An administrator's changes in the Admin console, sent through a client of its own."""
    hands = GoogleTarget.from_config(
        "google",
        settings_for(sandbox, school_groups=True),
        TenantPolicy(),
        SecretResolver(environ={KEY_ENV: Path(sandbox.info.key_file).read_text()}),
    )
    try:
        for call in changes:
            assert (await hands.client.call(call)).ok, call
    finally:
        await hands.aclose()


async def _members_changed_by_hand(sandbox: GoogleSandbox, workdir: Path) -> tuple[str, str]:
    """Sync, then take a pupil out of the students' group and put a teacher in it by hand;
    returns (the pupil's address, the teacher's)."""
    snap = snapshot()
    put(workdir, snap)
    assert (await sync(workdir)).status == "succeeded"
    mail = emails(sandbox, snap)
    pupil = sorted(v for k, v in mail.items() if k not in (T1, T2))[0]
    await _by_hand(
        sandbox,
        calls.delete_group_member(STUDENTS, pupil),
        calls.insert_group_member(STUDENTS, mail[T1]),
    )
    held = groups(sandbox)[STUDENTS]["members"]
    assert pupil not in held and mail[T1] in held
    return pupil, mail[T1]


async def test_group_members_changed_by_hand_are_put_right(
    sandbox: GoogleSandbox, workdir: Path
) -> None:
    configure(workdir, sandbox, school_groups=True)
    pupil, teacher = await _members_changed_by_hand(sandbox, workdir)
    sandbox.reset_stats()
    repaired = await sync(workdir)
    assert repaired.status == "succeeded", (repaired.error, repaired.counts)
    assert repaired.counts.get("planned", 0) == 2  # the pupil back, the teacher out
    assert sandbox.stats().write_calls == 2
    held = groups(sandbox)
    assert pupil in held[STUDENTS]["members"] and teacher not in held[STUDENTS]["members"]
    assert teacher in held[STAFF]["members"]  # the group the teacher belongs in is untouched

    sandbox.reset_stats()
    again = await sync(workdir)
    assert again.counts.get("planned", 0) == 0
    assert sandbox.stats().write_calls == 0


async def test_group_members_changed_by_hand_are_only_reported_when_the_policy_says_so(
    sandbox: GoogleSandbox, workdir: Path
) -> None:
    configure(workdir, sandbox, school_groups=True)
    config = workdir / "ess.toml"
    config.write_text(
        config.read_text() + '\n[tenants.alpha.policy]\ndrift = "report"\n', encoding="utf-8"
    )
    pupil, teacher = await _members_changed_by_hand(sandbox, workdir)
    sandbox.reset_stats()
    async with await Ops.open(workdir / "ess.toml", actor="test") as ops:
        run = await ops.sync("alpha")
        log = " ".join(e.message for e in await ops.events(run.id))
    assert run.status == "succeeded", (run.error, run.counts)
    assert "1 school group member(s) removed, 1 school group member(s) added" in log
    assert 'policy drift = "report"' in log
    assert sandbox.stats().write_calls == 0
    held = groups(sandbox)[STUDENTS]["members"]
    assert pupil not in held and teacher in held


async def test_a_school_group_deleted_by_hand_is_made_again_with_its_members(
    sandbox: GoogleSandbox, workdir: Path
) -> None:
    configure(workdir, sandbox, school_groups=True)
    snap = snapshot()
    put(workdir, snap)
    assert (await sync(workdir)).status == "succeeded"
    before = groups(sandbox)[STAFF]
    await _by_hand(sandbox, calls.delete_group(STAFF))
    repaired = await sync(workdir)
    assert repaired.status == "succeeded", (repaired.error, repaired.counts)
    after = groups(sandbox)[STAFF]
    assert after["id"] != before["id"] and after["members"] == before["members"]
