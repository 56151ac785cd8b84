"""A pupil who is synced with their real name, then given a protected identity: what every
front end's test of masking starts from."""

from __future__ import annotations

from dataclasses import replace

from engine.model import Person, Protection
from engine.ops import Ops
from engine.testing.builder import tiny_snapshot
from tests.conftest import Workdir


async def protected_after_sync(workdir: Workdir) -> Person:
    """Sync a small municipality, protect one pupil who has an account and classes, sync
    again (default policy: suspended, removed from classes); returns the pupil as they were."""
    workdir.write()
    snap = workdir.source(tiny_snapshot(protected_share=0.0))
    members = {m.person_id for m in snap.memberships}
    person = next(p for p in snap.persons.values() if p.id in members and p.eppns)
    async with await Ops.open(workdir.config, actor="test") as ops:
        first = await ops.sync("alpha")
        assert first.status == "succeeded"
        persons = dict(snap.persons)
        persons[person.id] = replace(person, protection=Protection.PROTECTED_REGISTRATION)
        workdir.source(replace(snap, persons=persons))
        second = await ops.sync("alpha")
        assert second.status == "succeeded"
    return person


def names_of(person: Person) -> list[str]:
    """What must never be shown of them once protected: names, account names, addresses."""
    return [person.family_name, person.display_name, *person.eppns, *person.emails]
