"""Every method of the journal protocol answers with what its signature promises: typed records
all the way down, never a database row. The check reads each method's return annotation on
:class:`engine.journal.Journal` and walks the answer against it, field by field."""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from engine.findings import Finding, Severity
from engine.journal import Journal, KeyMoves
from engine.links import LinkSet
from engine.plan import Action, OpStatus, Plan
from engine.target import MirrorObject, ObservedState
from tests.journal.journal_support import TENANT, finish, op, stored_run

Call = Callable[[Journal], Awaitable[Any]]

# One call per method that answers with something, made on the journal that _fill wrote.
CALLS: dict[str, Call] = {
    "acquire_lease": lambda j: j.acquire_lease("fresh", "test", 60),
    "lease_holder": lambda j: j.lease_holder(TENANT),
    "create_run": lambda j: j.create_run(
        "fresh", trigger="test", actor="test", dry_run=False, targets=["ms"]
    ),
    "get_run": lambda j: j.get_run(1),
    "list_runs": lambda j: j.list_runs(None),
    "last_runs": lambda j: j.last_runs(),
    "supersede_held": lambda j: j.supersede_held(TENANT, 1),
    "last_read_run": lambda j: j.last_read_run(TENANT),
    "list_findings": lambda j: j.list_findings(1),
    "finding_counts": lambda j: j.finding_counts(1),
    "store_operations": lambda j: j.store_operations(
        1, "fresh", [op(1, Action.CREATE, "user", "n")]
    ),
    "store_plans": lambda j: j.store_plans(
        1, "fresh", [Plan("gw", objects=(op(1, Action.CREATE, "user", "n", target="gw"),))]
    ),
    "load_operations": lambda j: j.load_operations(1),
    "attempts_of": lambda j: j.attempts_of(1),
    "get_operation": lambda j: j.get_operation(1),
    "get_operations": lambda j: j.get_operations([1, 2, 3]),
    "list_operations": lambda j: j.list_operations(1),
    "operation_counts": lambda j: j.operation_counts(1),
    "status_counts": lambda j: j.status_counts(1),
    "open_trouble": lambda j: j.open_trouble(None),
    "trouble_counts": lambda j: j.trouble_counts(),
    "removal_history": lambda j: j.removal_history(TENANT, 5),
    "operations_for_record": lambda j: j.operations_for_record(TENANT, "u1"),
    "skips": lambda j: j.skips(TENANT, "ms"),
    "load_mirror": lambda j: j.load_mirror(TENANT, "ms"),
    "mirror_for_key": lambda j: j.mirror_for_key(TENANT, "u1"),
    "list_events": lambda j: j.list_events(1),
    "add_elevation": lambda j: j.add_elevation(
        "fresh", "test", "why", datetime.now(UTC) + timedelta(minutes=5), False
    ),
    "list_elevations": lambda j: j.list_elevations(),
    "get_elevation": lambda j: j.get_elevation(1),
    "list_audit": lambda j: j.list_audit(None, 10),
    "open_notices": lambda j: j.open_notices(),
    "run_counts": lambda j: j.run_counts(),
    "deliveries": lambda j: j.deliveries(1),
    "approver_keys": lambda j: j.approver_keys(None),
    "prune": lambda j: j.prune(datetime.now(UTC), datetime.now(UTC) - timedelta(days=1)),
    "remove_approver_key": lambda j: j.remove_approver_key(TENANT, "rektor"),
    "audit_chain": lambda j: j.audit_chain(0, 10),
    "audit_head": lambda j: j.audit_head(),
    "change_marker": lambda j: j.change_marker(),
    "search_mirror": lambda j: j.search_mirror("id-2", None, 10),
    "load_source": lambda j: j.load_source(TENANT),
    "drop_source_caches": lambda j: j.drop_source_caches(TENANT, [TENANT]),
    "source_cache": lambda j: _now(j.source_cache(TENANT)),
    "search_index": lambda j: j.search_index("berg", None, 10),
    "index_record": lambda j: j.index_record(TENANT, "person", "u1"),
    "masked_persons": lambda j: j.masked_persons(TENANT, "Åsa"),
    "source_record": lambda j: j.source_record(TENANT, "persons", "u1"),
    "source_records_holding": lambda j: j.source_records_holding(TENANT, "persons", "{"),
    "move_source_ids": lambda j: j.move_source_ids(TENANT, _MOVES, "test"),
    "source_holds": lambda j: j.source_holds(TENANT),
    "release_holds": lambda j: j.release_holds(TENANT, None),
    "source_aliases": lambda j: j.source_aliases(TENANT),
    "source_owners": lambda j: j.source_owners(TENANT),
    "add_notice": lambda j: j.add_notice(TENANT, "audit_head", "1:ab"),
    "last_notice_at": lambda j: _noticed(j),
    "person_names": lambda j: j.person_names(TENANT, ["u1"]),
    "forget_person": lambda j: j.forget_person(TENANT, "u9", ["Bo"]),
}

_MOVES = KeyMoves(
    kinds={"ms": {"user": "person", "class": "group", "class.member": "person"}},
    parents={"ms": {"class.member": "group"}},
    ids={"person": {"u2": "n2"}},
    holds=(("person", "u9", "unmatched"),),
)


async def _noticed(j: Journal) -> Any:
    await j.add_notice(TENANT, "audit_head", "1:ab")
    return await j.last_notice_at(TENANT, "audit_head")


async def _now(value: Any) -> Any:
    return value


def _methods() -> dict[str, Any]:
    return {
        name: member
        for name, member in vars(Journal).items()
        if inspect.isfunction(member) and not name.startswith("_")
    }


def _returns(name: str) -> Any:
    return typing.get_type_hints(_methods()[name])["return"]


async def _fill(j: Journal) -> None:
    """A journal with something in every table, so that every answer has content to check."""
    lease = await j.acquire_lease(TENANT, "test", 60)
    ops = [
        op(1, Action.CREATE, "user", "u1", attrs=(("roles", ("a", "b")),), label="Åsa"),
        op(2, Action.CREATE, "class", "c1"),
        op(3, Action.LINK, "class.member", "u1", parent="c1", depends_on=(1, 2)),
        op(4, Action.DELETE, "user", "u9"),
    ]
    run_id, stored = await stored_run(j, ops)
    await j.update_run(
        run_id, source_mode="full", counts={"planned": 4}, guard={"held": False, "reasons": []}
    )
    await j.mark_in_flight(lease, stored)
    flying = [s.op for s in await j.load_operations(run_id)]
    await finish(j, flying[:2], OpStatus.DONE, target_id="id")
    await finish(j, flying[2:3], OpStatus.DEAD, reason="bad", message="400")
    await finish(j, flying[3:], OpStatus.DONE)
    await j.update_run(run_id, status="partial", finished=True)
    await j.record_delivery(1, "mail", delivered=False, error="refused", retry_at=datetime.now(UTC))
    await j.create_run(TENANT, trigger="t", actor="a", dry_run=False, targets=[], status="held")
    await j.add_findings(
        run_id, TENANT, [Finding("x.y", Severity.WARNING, "person", "u1", "m")], {"u1": "Åsa"}
    )
    await j.add_skips(TENANT, [stored[2]], "test", "why")
    suspended = MirrorObject("user", "u2", "id-2", "fp", (), datetime.now(UTC), True, "Bo")
    observed = await j.load_mirror(TENANT, "ms")
    objects = {k: dict(v) for k, v in observed.objects.items()}
    objects["user"]["u2"] = suspended
    links = {"class.member": LinkSet([("c1", "u1"), ("c1", "u2")])}
    await j.replace_mirror(TENANT, "ms", ObservedState(objects, links))
    await j.add_events(TENANT, run_id, [("2026-11-03T08:00:00.000+00:00", "info", "hej")])
    await j.add_approval(run_id, "approved", "test", "")
    elevation = await j.add_elevation(
        TENANT, "test", "why", datetime.now(UTC) + timedelta(minutes=5), True
    )
    await j.approve_elevation(elevation, "chef")
    await j.add_audit("test", "sync", TENANT, True, "sync")
    await j.add_approver_key(TENANT, "rektor", "a2V5", "cli:eva")
    await j.add_audit("test", "source_check", None, True, "read")
    await j.save_source(
        TENANT, upserts={"persons": {"u1": b"{}"}}, deletes={}, checkpoint="c", full=True
    )
    await j.replace_index(
        TENANT,
        [
            ("person", "u1", "Åsa Berg", "student", "åsa berg", '{"a":1}'),
            ("person", "u2", "Bo Ek", "student", "bo ek u2", None),
        ],
    )
    await j.move_source_ids(TENANT, KeyMoves({}, {}, {}, (("person", "u8", "unmatched"),)), "t")
    await j.replace_source_aliases(
        TENANT, {("grund", "g1"): "u1"}, {"grund": {"person": {"u1", "u3"}, "group": {"c1"}}}
    )


def test_every_method_that_answers_is_checked() -> None:
    """A method added to the protocol joins the check below, or this fails."""
    answering = {n for n in _methods() if _returns(n) is not type(None)}
    assert answering == set(CALLS)


@pytest.mark.parametrize("method", sorted(CALLS))
async def test_the_answer_is_what_the_protocol_promises(journal: Journal, method: str) -> None:
    await _fill(journal)
    answer = await CALLS[method](journal)
    assert _has_content(answer), f"{method} answered {answer!r}: nothing to check"
    problem = _mismatch(answer, _returns(method), method)
    assert problem is None, problem


def _has_content(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, Sequence | Mapping) and not isinstance(value, str):
        return len(value) > 0
    if isinstance(value, ObservedState):
        return bool(value.objects) and bool(value.links)
    return True


def _mismatch(value: Any, hint: Any, where: str) -> str | None:
    """Why ``value`` is not of the type ``hint``, or None when it is."""
    if hint is Any:
        return None
    if hint is None or hint is type(None):
        return None if value is None else f"{where}: {value!r} is not None"
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        reasons = [_mismatch(value, a, where) for a in args]
        return None if None in reasons else " / ".join(r for r in reasons if r)
    if origin is not None:
        if not isinstance(value, origin):
            return f"{where}: {type(value).__name__} is not a {origin.__name__}"
        if origin in (list, Sequence, set, frozenset):
            return _first(_mismatch(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
        if origin in (dict, Mapping):
            return _first(
                _mismatch(k, args[0], f"{where} key") or _mismatch(v, args[1], f"{where}[{k!r}]")
                for k, v in value.items()
            )
        if origin is tuple:
            if len(args) == 2 and args[1] is Ellipsis:
                return _first(_mismatch(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
            if len(args) != len(value):
                return f"{where}: {len(value)} items, not {len(args)}"
            return _first(
                _mismatch(v, a, f"{where}[{i}]")
                for i, (v, a) in enumerate(zip(value, args, strict=True))
            )
        return None
    if hint is float and type(value) is int:
        return None
    if not isinstance(value, hint):
        return f"{where}: {type(value).__name__} {value!r} is not a {hint.__name__}"
    if not isinstance(value, tuple) and not dataclasses.is_dataclass(value):
        return None
    fields = typing.get_type_hints(type(value))
    names = (
        value._fields if isinstance(value, tuple) else [f.name for f in dataclasses.fields(value)]
    )
    return _first(_mismatch(getattr(value, n), fields[n], f"{where}.{n}") for n in names)


def _first(reasons: Any) -> str | None:
    return next((r for r in reasons if r), None)
