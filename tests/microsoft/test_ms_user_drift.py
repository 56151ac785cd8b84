"""Accounts changed by hand in Microsoft 365 are seen and repaired: a disabled account is
enabled again, a deleted one is made again and put back in its classes, and one re-enabled
after ESS suspended it is suspended again."""

from __future__ import annotations

from ms_support import by_external, drive, graph_client, pid, small_snapshot

from adapters.microsoft.sandbox import MicrosoftSandbox
from adapters.microsoft.target import MicrosoftTarget
from engine.plan import Action


async def test_accounts_changed_by_hand_are_repaired(
    ms_sandbox: MicrosoftSandbox, ms_target: MicrosoftTarget
) -> None:
    snap = small_snapshot()
    first = await drive(ms_target, snap)
    users = first.observed.objects["user"]
    disabled, deleted = users[pid(1)].target_id, users[pid(3)].target_id
    with graph_client(ms_sandbox) as client:
        assert client.patch(f"/users/{disabled}", json={"accountEnabled": False}).status_code == 204
        assert client.delete(f"/users/{deleted}").status_code == 204
    second = await drive(ms_target, snap, first.observed)
    assert any("account(s)" in msg for _, msg in second.events)
    done = {(op.kind, op.action, op.key) for op, _ in second.outcomes}
    assert ("user", Action.UPDATE, pid(1)) in done
    assert ("user", Action.CREATE, pid(3)) in done
    assert any(kind == "class.member" and key == pid(3) for kind, _, key in done)
    state = ms_sandbox.state()
    by_id = {u["id"]: u for u in state["users"]}
    assert by_id[disabled]["accountEnabled"] is True
    again = next(u for u in state["users"] if u.get("student", {}).get("externalId") == pid(3))
    assert any(again["id"] in c["members"] for c in by_external(state).values())
    third = await drive(ms_target, snap, second.observed)
    assert third.planned == 0


async def test_a_suspended_account_re_enabled_by_hand_is_suspended_again(
    ms_sandbox: MicrosoftSandbox, ms_target: MicrosoftTarget
) -> None:
    snap = small_snapshot()
    first = await drive(ms_target, snap)
    leaver = pid(3)
    left = snap.without(persons={leaver})
    second = await drive(ms_target, left, first.observed)
    assert ("user", Action.SUSPEND) in {(op.kind, op.action) for op, _ in second.outcomes}
    uid = second.observed.objects["user"][leaver].target_id
    with graph_client(ms_sandbox) as client:
        assert client.patch(f"/users/{uid}", json={"accountEnabled": True}).status_code == 204
    third = await drive(ms_target, left, second.observed)
    assert ("user", Action.SUSPEND, leaver) in {
        (op.kind, op.action, op.key) for op, _ in third.outcomes
    }
    assert {u["id"]: u for u in ms_sandbox.state()["users"]}[uid]["accountEnabled"] is False
