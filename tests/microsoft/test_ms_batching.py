"""Grouping into requests: no $batch over 20, binds of at most 20 references, inner failures
retried alone after their own Retry-After, and pacing under the write limit."""

from __future__ import annotations

from typing import Any

from ms_support import build_target

from adapters.microsoft.batch import Coalescer, SubRequest, chunk, run_requests
from adapters.microsoft.links import chunk_ops
from adapters.microsoft.sandbox import MicrosoftSandbox
from adapters.microsoft.target import MicrosoftTarget
from engine.plan import Action, Operation
from engine.target import OutcomeKind, TargetContext


def link(seq: int, kind: str, parent: str, child: str) -> Operation:
    return Operation(
        seq=seq,
        target="microsoft",
        action=Action.LINK,
        kind=kind,
        key=child,
        parent=parent,
        attempts=1,
    )


def obj(seq: int, kind: str = "user", action: Action = Action.CREATE) -> Operation:
    return Operation(
        seq=seq, target="microsoft", action=action, kind=kind, key=f"k{seq}", attempts=1
    )


def test_batches_never_exceed_twenty_requests(ms_target: MicrosoftTarget) -> None:
    ops = [obj(i) for i in range(1, 48)]
    ops += [link(100 + i, "class.member", f"c{i % 3}", f"u{i}") for i in range(130)]
    ops += [link(300 + i, "class.teacher", "c0", f"t{i}") for i in range(15)]
    ops += [obj(500 + i, "team") for i in range(12)]
    batches = ms_target.batches(ops)
    assert sorted(op.seq for b in batches for op in b.operations) == sorted(o.seq for o in ops)
    for b in batches:
        kinds = {op.kind for op in b.operations}
        if kinds <= {"class.member", "class.teacher"}:
            # one PATCH per chunk of 20 references; at most 20 PATCHes per envelope
            per_class: dict[str, list[Operation]] = {}
            for op in b.operations:
                per_class.setdefault(op.parent or "", []).append(op)
            patches = sum(len(chunk_ops(v)) for v in per_class.values())
            assert patches == b.cost
            assert patches <= 20
        elif kinds == {"team"}:
            assert len(b.operations) <= 100
        else:
            assert len(b.operations) <= 20
            assert b.cost <= 20


def test_bind_chunks_hold_at_most_twenty_references() -> None:
    ops = [link(i, "class.member", "c", f"s{i}") for i in range(25)]
    ops += [link(100 + i, "class.teacher", "c", f"t{i}") for i in range(11)]
    chunks = chunk_ops(ops)
    sizes = [sum(2 if o.kind == "class.teacher" else 1 for o in ch) for ch in chunks]
    assert all(size <= 20 for size in sizes)
    assert sum(sizes) == 25 + 22
    assert len(chunks) == 3  # ceil(47 / 20): nothing wasted beyond a teacher's pair


def test_envelopes_keep_chains_and_the_write_budget() -> None:
    reqs = [SubRequest(str(i), "POST", "/users", {}) for i in range(45)]
    envelopes = chunk(reqs)
    assert [len(e) for e in envelopes] == [20, 20, 5]
    chained = [
        SubRequest("a", "PATCH", "/groups/x", {}),
        SubRequest("b", "PATCH", "/groups/x", {}, ("a",)),
    ]
    envelopes = chunk([*reqs[:19], *chained])
    assert any({r.id for r in e} >= {"a", "b"} for e in envelopes)
    assert all(len(e) <= 20 for e in envelopes)
    assert [len(e) for e in chunk(reqs[:10], 20, max_units=4)] == [4, 4, 2]


async def test_class_of_forty_five_costs_three_patches(
    ms_sandbox: MicrosoftSandbox, ms_target: MicrosoftTarget
) -> None:
    client = ms_target.client
    users = await _users(client, 47)
    cls = await client.send(
        "POST",
        "education/classes",
        json={"displayName": "9B", "mailNickname": "c-9b", "externalId": "g9b"},
    )
    ids = {f"u{i}": u for i, u in enumerate(users)}
    ids["class:g9b"] = cls.body["id"]
    ops = [link(i, "class.member", "g9b", f"u{i}") for i in range(45)]
    ops += [link(100 + i, "class.teacher", "g9b", f"u{45 + i}") for i in range(2)]
    ctx = TargetContext(
        "t", 1, lambda kind, key: ids.get(f"class:{key}" if kind == "class" else key)
    )
    ms_sandbox.reset_stats()
    (batch,) = ms_target.batches(ops)
    outcomes = await ms_target.apply(batch, ctx)
    assert all(o.kind is OutcomeKind.DONE for o in outcomes)
    stats = ms_sandbox.stats()
    assert stats.write_requests == 3 == batch.cost  # ceil((45 + 2 * 2) / 20)
    assert stats.batch_requests == 1
    group = next(g for g in ms_sandbox.state()["groups"] if g["id"] == ids["class:g9b"])
    assert len(group["members"]) == 47
    assert sorted(group["owners"]) == sorted(u for u in users[45:])


async def test_bind_recovers_when_some_members_are_already_there(
    ms_sandbox: MicrosoftSandbox, ms_target: MicrosoftTarget
) -> None:
    client = ms_target.client
    users = await _users(client, 5)
    cls = await client.send(
        "POST",
        "education/classes",
        json={"displayName": "9C", "mailNickname": "c-9c", "externalId": "g9c"},
    )
    cid = cls.body["id"]
    added = await client.send(
        "POST",
        f"groups/{cid}/members/$ref",
        json={"@odata.id": client.ref("directoryObjects", users[1])},
    )
    assert added.status == 204
    ids = {f"u{i}": u for i, u in enumerate(users)} | {"class:g9c": cid}
    ctx = TargetContext(
        "t", 1, lambda kind, key: ids.get(f"class:{key}" if kind == "class" else key)
    )
    ops = [link(i, "class.member", "g9c", f"u{i}") for i in range(5)]
    outcomes = await ms_target.apply(ms_target.batches(ops)[0], ctx)
    assert [o.kind for o in outcomes] == [OutcomeKind.DONE] * 5
    assert outcomes[1].adopted  # it was already there
    group = next(g for g in ms_sandbox.state()["groups"] if g["id"] == cid)
    assert sorted(group["members"]) == sorted(users)


async def test_inner_throttle_is_retried_alone_after_its_retry_after(
    ms_sandbox: MicrosoftSandbox, ms_target: MicrosoftTarget
) -> None:
    client = ms_target.client
    users = await _users(client, 1)
    # someone else spends the rest of the tenant's write budget (3 writes per 2 s)
    ms_sandbox.settings.directory_write_limit = 3
    ms_sandbox.settings.directory_write_window_s = 2.0
    other = build_target(ms_sandbox.info)
    try:
        for i in range(2):
            resp = await other.client.send(
                "POST",
                "education/schools",
                json={"displayName": f"Other {i}"},
                retry_transient=False,
            )
            assert resp.status == 201
    finally:
        await other.aclose()
    ms_sandbox.reset_stats()
    reqs = [
        SubRequest("r1", "GET", f"/users/{users[0]}"),
        SubRequest("w1", "POST", "/education/schools", {"displayName": "Mine"}),
        SubRequest("r2", "GET", "/education/schools"),
    ]
    run = await run_requests(client, reqs)
    assert run.responses["w1"].status == 201
    assert run.responses["r1"].ok
    assert run.responses["r2"].ok
    stats = ms_sandbox.stats()
    assert stats.throttled == 1
    assert stats.early_retries == 0
    # the two reads went once; the write went twice (throttled, then alone)
    assert stats.requests == 1 + 3 + 1
    assert client.writes.held_for == 0


async def test_a_create_that_met_a_5xx_is_handed_back_never_sent_again(
    ms_sandbox: MicrosoftSandbox, ms_target: MicrosoftTarget
) -> None:
    ms_sandbox.settings.fault_rate = 0.3
    ms_sandbox.settings.fault_kinds = ("5xx", "applied_5xx")
    ms_sandbox.settings.seed = 7
    calls = Coalescer(ms_target.client)
    bodies = [_user_body(i) for i in range(20)]
    answers = [await calls.call("POST", "education/users", b) for b in bodies[:1]]
    answers += list(await _gather(calls, bodies[1:]))
    stats = ms_sandbox.stats()
    assert stats.faults_injected > 0
    upns = [u["userPrincipalName"] for u in ms_sandbox.state()["users"]]
    assert len(upns) == len(set(upns))  # a write applied and answered 5xx is never made twice
    # each create went exactly once: a 5xx says nothing of whether it was made, so it goes back
    # to the operation (in doubt) instead of being sent again blind
    assert stats.write_requests == 20
    assert any(a.status >= 500 for a in answers)
    assert {a.status for a in answers} <= {201, 500, 502, 503, 504}
    made = {b["userPrincipalName"] for b, a in zip(bodies, answers, strict=True) if a.ok}
    assert made <= set(upns)  # what was answered 201 is there; a 5xx'd one may be, once


async def _gather(calls: Coalescer, bodies: list[dict[str, Any]]) -> list[Any]:
    import asyncio

    return list(await asyncio.gather(*(calls.call("POST", "education/users", b) for b in bodies)))


def _user_body(i: int) -> dict[str, Any]:
    return {
        "accountEnabled": True,
        "displayName": f"U {i}",
        "mailNickname": f"u{i}",
        "userPrincipalName": f"u{i}@skola.example",
        "passwordProfile": {"password": "Sandbox-Pass-1"},
    }


async def _users(client: Any, n: int) -> list[str]:
    ids = []
    for i in range(n):
        resp = await client.send("POST", "users", json=_user_body(1000 + i))
        assert resp.status == 201
        ids.append(resp.body["id"])
    return ids


async def test_a_member_bind_that_met_a_5xx_is_in_doubt_never_sent_again(
    ms_sandbox: MicrosoftSandbox, ms_target: MicrosoftTarget
) -> None:
    """A PATCH that binds members adds, whatever its method says: sent twice, Graph refuses
    it as existing. After a 5xx it goes back to the operations in doubt; the executor reads
    the members back before anything is sent again."""
    client = ms_target.client
    users = await _users(client, 3)
    cls = await client.send(
        "POST",
        "education/classes",
        json={"displayName": "9D", "mailNickname": "c-9d", "externalId": "g9d"},
    )
    cid = cls.body["id"]
    ids = {f"u{i}": u for i, u in enumerate(users)} | {"class:g9d": cid}
    ctx = TargetContext(
        "t", 1, lambda kind, key: ids.get(f"class:{key}" if kind == "class" else key)
    )
    ops = [link(i, "class.member", "g9d", f"u{i}") for i in range(3)]
    ms_sandbox.settings.fault_rate = 1.0
    ms_sandbox.settings.fault_kinds = ("applied_5xx",)
    ms_sandbox.reset_stats()
    outcomes = await ms_target.apply(ms_target.batches(ops)[0], ctx)
    ms_sandbox.settings.fault_rate = 0.0
    assert ms_sandbox.stats().write_requests == 1  # the bind went once
    assert [o.kind for o in outcomes] == [OutcomeKind.IN_DOUBT] * 3
    group = next(g for g in ms_sandbox.state()["groups"] if g["id"] == cid)
    assert sorted(group["members"]) == sorted(users)  # applied: reading back finds them
    for op in ops:
        found = await ms_target.read_back(op._replace(attempts=1), ctx)
        assert found is not None and found.kind is OutcomeKind.DONE
