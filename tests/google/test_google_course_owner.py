"""A course whose owner's account this run has not made (its create failed or is in doubt)
waits for it without a call: Classroom would answer NOT_FOUND, which is asked again for 13 s
before it counts."""

from __future__ import annotations

from adapters.google.mapping import COURSE, USER
from adapters.google.sandbox import GoogleSandbox
from engine.plan import Action, Operation
from engine.target import Batch, OutcomeKind, TargetContext
from tests.google.test_google_org_units import create, target_for


def course(owner: str) -> Operation:
    attrs = {"alias": "d:g-1", "name": "MA7 26/27", "owner": owner, "section": "Ekskolan"}
    return Operation(9, "google", Action.CREATE, COURSE, "g-1", attrs=tuple(attrs.items()))


async def test_a_course_waits_for_its_owners_account(sandbox: GoogleSandbox) -> None:
    target = target_for(sandbox)
    ctx = TargetContext.with_ids("alpha", 1, {})
    try:
        sandbox.reset_stats()
        waiting = await target.apply(Batch((course("p-1"),)), ctx)
        assert waiting[0].kind is OutcomeKind.RETRY
        assert waiting[0].reason == "owner_not_made"
        assert sandbox.stats().classroom_calls == 0  # nothing sent to be refused
        made = await target.apply(Batch((create(1, sandbox.info.domain, "/ESS/A/Personal"),)), ctx)
        ctx.learn(USER, "p-1", made[0].target_id)
        created = await target.apply(Batch((course("p-1"),)), ctx)
    finally:
        await target.aclose()
    assert created[0].kind is OutcomeKind.DONE
    assert [c["ownerEmail"] for c in sandbox.state()["courses"]] == [f"elev1@{sandbox.info.domain}"]
