"""Accounts that exist in the Directory before ESS (made by hand or by another tool) are adopted
by the configured ``match_key``, put right, and never duplicated; an address held by another
person's account is a conflict, and that account is left alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from adapters.google.config import GoogleConfig
from adapters.google.mapping import desired_state
from adapters.google.sandbox import GoogleSandbox
from engine.roster import RosterPolicy
from tests.google.test_google_end_to_end import (
    assert_matches_desired,
    put,
    settings_for,
    snapshot,
    sync,
    write_config,
)


def wanted_user(sb: GoogleSandbox, key: str) -> dict[str, Any]:
    config = GoogleConfig.model_validate(settings_for(sb))
    return dict(desired_state(snapshot(), config, RosterPolicy()).objects["user"][key].attrs)


def seed(sb: GoogleSandbox, email: str, external_id: str | None, **extra: Any) -> str:
    """An account made by hand in the root org unit; returns its id."""
    body: dict[str, Any] = {
        "primaryEmail": email,
        "name": {"givenName": "Hand", "familyName": "Made"},
        "orgUnitPath": "/",
        **extra,
    }
    if external_id:
        body["externalIds"] = [{"type": "organization", "value": external_id}]
    return str(sb.directory._insert_user(body)["id"])


def account(sb: GoogleSandbox, uid: str) -> dict[str, Any]:
    user = sb.directory.user(uid)
    assert user is not None
    return user


async def test_an_account_holding_the_address_is_adopted_and_put_right(
    sandbox: GoogleSandbox, workdir: Path
) -> None:
    snap = snapshot()
    key = sorted(k for k in snap.persons if k.startswith("d0"))[2]  # Björn Ek
    want = wanted_user(sandbox, key)
    uid = seed(sandbox, want["primaryEmail"], None, suspended=True)
    put(workdir, snap)
    run = await sync(workdir)
    assert run.status == "succeeded", (run.error, run.counts)
    adopted = account(sandbox, uid)  # the same account, not a second
    assert adopted["name"]["givenName"] == want["givenName"]
    assert adopted["orgUnitPath"] == want["orgUnitPath"]
    assert not adopted["suspended"]
    assert {"type": "organization", "value": key} in adopted["externalIds"]
    assert_matches_desired(sandbox, snap)
    course = next(c for c in sandbox.state()["courses"] if c["name"].startswith("7A"))
    assert want["primaryEmail"] in course["students"]  # the roster uses the adopted account
    again = await sync(workdir)
    assert again.counts.get("planned", 0) == 0


async def test_by_external_id_an_account_with_another_address_is_adopted(
    sandbox: GoogleSandbox, workdir: Path
) -> None:
    write_config(workdir, sandbox, match_key="externalId")
    snap = snapshot()
    key = sorted(k for k in snap.persons if k.startswith("d0"))[2]
    other = f"b.ek.old@{sandbox.info.domain}"
    uid = seed(sandbox, other, key)
    put(workdir, snap)
    run = await sync(workdir)
    assert run.status == "succeeded", (run.error, run.counts)
    users = [u for u in sandbox.state()["users"] if not u["isAdmin"]]
    carrying = [u for u in users if {"type": "organization", "value": key} in u["externalIds"]]
    assert [u["id"] for u in carrying] == [uid]  # adopted: no second account for the person
    assert carrying[0]["primaryEmail"] == other  # the address people know stays
    assert carrying[0]["orgUnitPath"] == wanted_user(sandbox, key)["orgUnitPath"]
    course = next(c for c in sandbox.state()["courses"] if c["name"].startswith("7A"))
    assert other in course["students"]
    assert len(users) == len(snap.persons)


async def test_an_address_held_by_another_persons_account_is_a_conflict_left_alone(
    sandbox: GoogleSandbox, workdir: Path
) -> None:
    snap = snapshot()
    key = sorted(k for k in snap.persons if k.startswith("d0"))[2]
    email = wanted_user(sandbox, key)["primaryEmail"]
    uid = seed(sandbox, email, "someone-else")
    put(workdir, snap)
    run = await sync(workdir)
    assert run.status == "partial"
    assert run.counts.get("dead") == 1  # that account, and its course memberships wait
    held = account(sandbox, uid)
    assert held["orgUnitPath"] == "/"  # not taken over
    assert held["name"]["givenName"] == "Hand"
    assert held["externalIds"] == [{"type": "organization", "value": "someone-else"}]
    others = [u for u in sandbox.state()["users"] if u["primaryEmail"] == email]
    assert len(others) == 1
    from engine.ops import Ops

    async with await Ops.open(workdir / "ess.toml", actor="test") as ops:
        messages = [e.message for e in await ops.events(run.id, contains="another person")]
    assert messages, "the conflict is not in the run log"


def test_match_on_is_read_as_the_earlier_name_of_match_key(sandbox: GoogleSandbox) -> None:
    old = GoogleConfig.model_validate(settings_for(sandbox, match_on="externalId"))
    assert old.match_key == "externalId"
    with pytest.raises(ValidationError, match="match_on and match_key disagree"):
        GoogleConfig.model_validate(
            settings_for(sandbox, match_on="externalId", match_key="primaryEmail")
        )
