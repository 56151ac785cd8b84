"""Org units are made once even when batches of accounts are applied side by side, and a unit
someone else made meanwhile is used, not a reason to refuse the accounts that go in it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from adapters.google.mapping import USER
from adapters.google.sandbox import GoogleSandbox
from adapters.google.target import GoogleTarget
from engine.config import TenantPolicy
from engine.plan import Action, Operation
from engine.secrets import SecretResolver
from engine.target import Batch, OutcomeKind, TargetContext
from tests.google.test_google_end_to_end import KEY_ENV, settings_for


def create(n: int, domain: str, ou: str) -> Operation:
    attrs = {
        "primaryEmail": f"elev{n}@{domain}",
        "givenName": "Elev",
        "familyName": f"Nummer{n}",
        "orgUnitPath": ou,
        "externalId": f"p-{n}",
        "role": "student",
    }
    return Operation(n, "google", Action.CREATE, USER, f"p-{n}", attrs=tuple(attrs.items()))


def target_for(sb: GoogleSandbox) -> GoogleTarget:
    env = {KEY_ENV: Path(sb.info.key_file).read_text()}
    return GoogleTarget.from_config(
        "google", settings_for(sb), TenantPolicy(), SecretResolver(environ=env)
    )


async def test_batches_side_by_side_make_each_org_unit_once(sandbox: GoogleSandbox) -> None:
    domain = sandbox.info.domain
    target = target_for(sandbox)
    ctx = TargetContext.with_ids("alpha", 1, {})
    try:
        batches = [
            Batch(tuple(create(10 * b + i, domain, "/ESS/Ekskolan/Elever") for i in range(3)))
            for b in range(4)
        ]
        results = await asyncio.gather(*(target.apply(b, ctx) for b in batches))
    finally:
        await target.aclose()
    outcomes = [o for r in results for o in r]
    assert [o.kind for o in outcomes] == [OutcomeKind.DONE] * 12, outcomes
    state = sandbox.state()
    assert {"/ESS", "/ESS/Ekskolan", "/ESS/Ekskolan/Elever"} <= set(state["orgunits"])
    placed = [u for u in state["users"] if u["orgUnitPath"] == "/ESS/Ekskolan/Elever"]
    assert len(placed) == 12


async def test_a_unit_made_meanwhile_by_someone_else_is_used(sandbox: GoogleSandbox) -> None:
    domain = sandbox.info.domain
    target = target_for(sandbox)
    ctx = TargetContext.with_ids("alpha", 1, {})
    try:
        first = await target.apply(Batch((create(1, domain, "/ESS/Ekskolan/Elever"),)), ctx)
        assert first[0].kind is OutcomeKind.DONE
        # after ESS read the org units, an administrator makes a school's unit by hand
        sandbox.directory.orgunits["/ESS/Vastskolan"] = sandbox.directory._orgunit(
            "/ESS/Vastskolan", "Vastskolan", "/ESS"
        )
        second = await target.apply(Batch((create(2, domain, "/ESS/Vastskolan/Elever"),)), ctx)
    finally:
        await target.aclose()
    assert second[0].kind is OutcomeKind.DONE, second
    assert "/ESS/Vastskolan/Elever" in sandbox.state()["orgunits"]  # made below the hand's
