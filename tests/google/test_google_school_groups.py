"""Directory groups per school and role (``school_groups = true``), end to end through the
engine against the sandbox: made with their members, members added and removed in Directory
batches as pupils come and go, renamed with their school, a second run writes nothing, and
with the setting off (the default) no group is made at all."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from adapters.google.config import GoogleConfig
from adapters.google.mapping import desired_state
from adapters.google.sandbox import GoogleSandbox
from engine.model import Snapshot
from engine.roster import RosterPolicy
from tests.google.test_google_end_to_end import S1, T1, T2, put, settings_for, snapshot, sync
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
