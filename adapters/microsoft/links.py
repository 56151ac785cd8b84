"""Memberships: class members and teachers by bulk bind, school users and classes by $ref.

Students are group members; teachers are owners and members (the docs ask for both). Adding
uses ``PATCH /groups/{id}`` with ``members@odata.bind`` / ``owners@odata.bind``: at most 20
references per request, all or nothing, one directory write. When a bind is refused because
some reference is already there, the class's current members and owners are read: those
read there are done, and only the missing ones are sent again. "Already there" is never taken
on Graph's word: an answer that says so leaves the link in doubt, and it is read back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from engine.plan import Action, Operation
from engine.target import Outcome

from .client import PageError
from .errors import GraphResponse, Verdict, classify
from .runtime import Runtime

MAX_BINDS = 20
T = TypeVar("T")
BIND_LINKS = frozenset({"class.member", "class.teacher"})


def is_bind(op: Operation) -> bool:
    return op.action is Action.LINK and op.kind in BIND_LINKS


def refs_of(op: Operation) -> list[str]:
    """The relations one link operation adds: members, plus owners for a teacher."""
    return ["members", "owners"] if op.kind == "class.teacher" else ["members"]


def bind_requests(ops: Sequence[Operation]) -> int:
    """How many bind PATCHes a set of link operations of one class needs."""
    return len(chunk_ops(list(ops)))


def chunk_ops(ops: list[Operation]) -> list[list[Operation]]:
    """Operations in chunks of at most 20 references, a teacher's two never split."""
    return chunk_by(ops, lambda op: len(refs_of(op)))


def chunk_by(items: list[T], size_of: Callable[[T], int]) -> list[list[T]]:
    """Items in order, in chunks whose sizes add up to at most 20 references."""
    chunks: list[list[T]] = []
    size = 0
    for item in items:
        n = size_of(item)
        if not chunks or size + n > MAX_BINDS:
            chunks.append([])
            size = 0
        chunks[-1].append(item)
        size += n
    return chunks


@dataclass
class _Ref:
    op: Operation
    user_id: str


# adding class members and teachers ---------------------------------------------------------


async def apply_binds(rt: Runtime, ops: Sequence[Operation]) -> dict[int, Outcome]:
    """Outcomes by seq for link ops of one class (all with the same parent)."""
    out: dict[int, Outcome] = {}
    parent = ops[0].parent or ""
    cid = rt.target_id("class", parent, ops[0].parent_target_id)
    todo: list[_Ref] = []
    for op in ops:
        if (op.kind, parent, op.key) in rt.memory.bound:  # the class's team creation bound it
            out[op.seq] = Outcome.done()
            continue
        uid = rt.target_id("user", op.key, op.target_id)
        if cid is None or uid is None:
            out[op.seq] = _unknown(op, cid is None)
            continue
        todo.append(_Ref(op, uid))
    if not todo or cid is None:
        return out
    done = await bind(rt, cid, todo)
    out.update(done)
    for r in todo:  # so that the class's team, made meanwhile, does not bind them again
        if done[r.op.seq].kind.value == "done":
            rt.memory.link_bound(r.op.kind, parent)
    return out


async def bind(rt: Runtime, cid: str, refs: list[_Ref]) -> dict[int, Outcome]:
    """Bind in chunks of 20 (chained, one envelope); recover from 'already there' by reading
    what the class has and sending only what is missing."""
    out: dict[int, Outcome] = {}
    chunks = chunk_ops([r.op for r in refs])
    by_seq = {r.op.seq: r for r in refs}
    url = f"groups/{cid}"
    calls = [("PATCH", url, _bind_body(rt, [by_seq[o.seq] for o in ch]), 1) for ch in chunks]
    answers = await rt.calls.call_many(calls, chain=True)
    retry_existing: list[_Ref] = []
    split: list[_Ref] = []
    for ch, resp in zip(chunks, answers, strict=True):
        c = classify(resp, "PATCH", url, fresh=True)
        if c.verdict is Verdict.OK:
            for op in ch:
                out[op.seq] = Outcome.done()
        elif c.verdict is Verdict.EXISTS or resp.status == 424:
            retry_existing.extend(by_seq[o.seq] for o in ch)
        elif c.verdict is Verdict.RETRY and c.reason == "not_visible" and resp.status == 400:
            # one reference not replicated yet sinks the whole request: after a first retry,
            # send the references one by one so the visible ones get in
            if min(o.attempts for o in ch) >= 2:
                split.extend(by_seq[o.seq] for o in ch)
            else:
                for op in ch:
                    out[op.seq] = rt.outcome(op, resp, "PATCH", url, fresh=True)
        else:
            for op in ch:
                out[op.seq] = rt.outcome(op, resp, "PATCH", url, fresh=True, adds=True)
    if retry_existing:
        out.update(await _bind_missing(rt, cid, retry_existing))
    if split:
        out.update(await _bind_one_by_one(rt, cid, split))
    return out


def _bind_body(rt: Runtime, refs: list[_Ref]) -> dict[str, list[str]]:
    body: dict[str, list[str]] = {}
    for r in refs:
        for rel in refs_of(r.op):
            body.setdefault(f"{rel}@odata.bind", []).append(
                rt.client.ref("directoryObjects", r.user_id)
            )
    return body


async def current_relations(rt: Runtime, cid: str) -> dict[str, set[str]]:
    """Ids of a group's members and owners (raises PageError)."""
    out: dict[str, set[str]] = {}
    for rel in ("members", "owners"):
        out[rel] = {
            str(item["id"])
            async for item in rt.client.pages(f"groups/{cid}/{rel}?$select=id&$top=999")
        }
    return out


async def _bind_missing(rt: Runtime, cid: str, refs: list[_Ref]) -> dict[int, Outcome]:
    try:
        have = await current_relations(rt, cid)
    except PageError as exc:
        return {r.op.seq: rt.outcome(r.op, exc.resp, "GET", exc.url, fresh=True) for r in refs}
    out: dict[int, Outcome] = {}
    missing: list[_Ref] = []
    for r in refs:
        if all(r.user_id in have[rel] for rel in refs_of(r.op)):
            out[r.op.seq] = Outcome.done(adopted=True)
        else:
            missing.append(r)
    if not missing:
        return out
    body_refs: list[tuple[_Ref, list[str]]] = [
        (r, [rel for rel in refs_of(r.op) if r.user_id not in have[rel]]) for r in missing
    ]
    chunks = chunk_by(body_refs, lambda item: len(item[1]))
    url = f"groups/{cid}"
    calls = []
    for ch in chunks:
        body: dict[str, list[str]] = {}
        for r, rels in ch:
            for rel in rels:
                body.setdefault(f"{rel}@odata.bind", []).append(
                    rt.client.ref("directoryObjects", r.user_id)
                )
        calls.append(("PATCH", url, body, 1))
    answers = await rt.calls.call_many(calls, chain=True)
    for ch, resp in zip(chunks, answers, strict=True):
        for r, _ in ch:
            out[r.op.seq] = rt.outcome(r.op, resp, "PATCH", url, fresh=True, adds=True)
    return out


async def _bind_one_by_one(rt: Runtime, cid: str, refs: list[_Ref]) -> dict[int, Outcome]:
    out: dict[int, Outcome] = {}
    for r in refs:
        calls = [
            (
                "POST",
                f"groups/{cid}/{rel}/$ref",
                {"@odata.id": rt.client.ref("directoryObjects", r.user_id)},
                1,
            )
            for rel in refs_of(r.op)
        ]
        out[r.op.seq] = _combine(
            rt, r.op, await rt.calls.call_many(calls, chain=False), [c[1] for c in calls], "POST"
        )
    return out


# school links and removals -----------------------------------------------------------------


async def apply_link(rt: Runtime, op: Operation) -> Outcome:
    """One link or unlink that is not a class bind."""
    pkind, ckind = op.kind.split(".", 1)
    ckind = {"member": "user", "teacher": "user"}.get(ckind, ckind)
    pid = rt.target_id(pkind, op.parent or "", op.parent_target_id)
    cid = rt.target_id(ckind, op.key, op.target_id)
    if pid is None or cid is None:
        if op.action is Action.UNLINK:
            return Outcome.done()  # an object ESS has no id for carries no link ESS made
        return _unknown(op, pid is None)
    if op.action is Action.LINK:
        if op.kind == "class.member" or op.kind == "class.teacher":
            res = await apply_binds(rt, [op])
            return res[op.seq]
        nav = "users" if ckind == "user" else "classes"
        coll = "education/users" if ckind == "user" else "education/classes"
        url = f"education/schools/{pid}/{nav}/$ref"
        resp = await rt.calls.call("POST", url, {"@odata.id": rt.client.ref(coll, cid)})
        return rt.outcome(op, resp, "POST", url, fresh=True)
    # UNLINK
    if op.kind == "school.user":
        urls = [f"education/schools/{pid}/users/{cid}/$ref"]
    elif op.kind == "school.class":
        urls = [f"education/schools/{pid}/classes/{cid}/$ref"]
    elif op.kind == "class.member":
        if rt.memory.is_desired_link("class.teacher", op.parent or "", op.key):
            return Outcome.done()  # now a teacher of the class: stays a member
        urls = [f"groups/{pid}/members/{cid}/$ref"]
    else:  # class.teacher
        urls = [f"groups/{pid}/owners/{cid}/$ref"]
        if not rt.memory.is_desired_link("class.member", op.parent or "", op.key):
            urls.append(f"groups/{pid}/members/{cid}/$ref")
    answers = await rt.calls.call_many([("DELETE", u, None, 1) for u in urls], chain=False)
    return _combine(rt, op, answers, urls, "DELETE")


def _combine(
    rt: Runtime, op: Operation, answers: list[GraphResponse], urls: list[str], method: str
) -> Outcome:
    """One outcome for several requests of one operation: the worst of them."""
    outcomes = [rt.outcome(op, resp, method, url) for resp, url in zip(answers, urls, strict=True)]
    order = {"fatal": 0, "failed": 1, "in_doubt": 2, "retry": 3, "done": 4}
    return min(outcomes, key=lambda o: order[o.kind.value])


def _unknown(op: Operation, parent: bool) -> Outcome:
    which = f"{op.kind.split('.')[0]} {op.parent}" if parent else f"{op.kind} member {op.key}"
    return Outcome.retry("not_ready", f"no Microsoft 365 id known yet for {which}")
