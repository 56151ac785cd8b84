"""The in-doubt look-up: did an operation take effect? Read back by natural key.

Asked by the executor before it sends again an operation in doubt (a create that met a 5xx or
a timeout, an "already exists" answer, an item in flight when a run stopped). ``DONE`` means
read back and found; ``None`` means not found (a fresh object may still be hidden: the executor
waits out the target's consistency window before it sends a create again); a ``RETRY``
outcome means Graph could not be read, so nothing is known.
"""

from __future__ import annotations

from typing import Any

from engine.plan import Action, Operation
from engine.target import Outcome

from .errors import GraphResponse
from .objects import LookupFailed, lookup
from .payloads import CLASS_SELECT, attrs, odata_literal
from .runtime import Runtime

NATURAL_KEYS = {
    "school": ("education/schools", "externalId"),
    "class": ("education/classes", "externalId"),
    "user": ("education/users", "userPrincipalName"),
}
PATHS = {"school": "education/schools", "class": "education/classes", "user": "users"}


async def read_back_operation(rt: Runtime, op: Operation) -> Outcome | None:
    try:
        if op.is_link:
            return await _verify_link(rt, op)
        if op.kind == "team":
            return await _verify_team(rt, op)
        return await _verify_object(rt, op)
    except LookupFailed as exc:
        return Outcome.retry("lookup_failed", f"the look-up answered {exc.resp.status}")


async def _verify_object(rt: Runtime, op: Operation) -> Outcome | None:
    tid = rt.target_id(op.kind, op.key, op.target_id)
    if op.action is Action.CREATE or (op.action is Action.RESTORE and tid is None):
        found = await _by_natural_key(rt, op)
        return Outcome.done(str(found["id"]), adopted=True) if found else None
    if tid is None:
        return None
    if op.action is Action.DELETE:
        resp = await rt.calls.call("GET", f"{PATHS[op.kind]}/{tid}?$select=id")
        return Outcome.done(tid) if resp.status == 404 else _unread(resp)
    if op.action is Action.SUSPEND and op.kind == "user":
        resp = await rt.calls.call("GET", f"users/{tid}?$select=id,accountEnabled")
        if resp.ok and isinstance(resp.body, dict) and resp.body.get("accountEnabled") is False:
            return Outcome.done(tid)
        return _unread(resp)
    if op.action is Action.ARCHIVE and op.kind == "class":
        return Outcome.done(tid)  # archiving a class writes nothing
    return None  # updates and restores are simply applied again


async def _by_natural_key(rt: Runtime, op: Operation) -> dict[str, Any] | None:
    collection, prop = NATURAL_KEYS[op.kind]
    value = attrs(op).get(prop)
    if not value:
        return None
    select = CLASS_SELECT if op.kind == "class" else "id"
    found: dict[str, Any] | None = await lookup(rt, collection, prop, str(value), select)
    return found


def _unread(resp: GraphResponse) -> Outcome | None:
    """``None`` (not done) when Graph answered, a retry when it could not be read."""
    if resp.ok or resp.status in (400, 404):
        return None
    return Outcome.retry("lookup_failed", f"the look-up answered {resp.status}")


async def _verify_team(rt: Runtime, op: Operation) -> Outcome | None:
    cid = rt.target_id("class", op.key, op.target_id)
    if cid is None:
        return None
    resp = await rt.calls.call("GET", f"teams/{cid}")
    if op.action is Action.CREATE:
        return Outcome.done(cid, adopted=True) if resp.ok else _unread(resp)
    if op.action in (Action.ARCHIVE, Action.RESTORE) and resp.ok and isinstance(resp.body, dict):
        archived = bool(resp.body.get("isArchived"))
        return Outcome.done(cid) if archived == (op.action is Action.ARCHIVE) else None
    if op.action in (Action.UPDATE, Action.DELETE, Action.SUSPEND):
        return Outcome.done(cid)
    return None


async def _verify_link(rt: Runtime, op: Operation) -> Outcome | None:
    pkind, ckind = op.kind.split(".", 1)
    ckind = "user" if ckind in ("member", "teacher") else ckind
    pid = rt.target_id(pkind, op.parent or "", op.parent_target_id)
    cid = rt.target_id(ckind, op.key, op.target_id)
    if pid is None or cid is None:
        return None
    if op.kind == "school.user":
        urls = [f"education/schools/{pid}/users"]
    elif op.kind == "school.class":
        urls = [f"education/schools/{pid}/classes"]
    elif op.kind == "class.member":
        urls = [f"groups/{pid}/members"]
    else:
        urls = [f"groups/{pid}/members", f"groups/{pid}/owners"]
    present = []
    for url in urls:
        resp = await rt.calls.call(
            "GET", f"{url}?$filter=id%20eq%20{odata_literal(cid)}&$select=id"
        )
        if not resp.ok or not isinstance(resp.body, dict):
            return _unread(resp)
        present.append(bool(resp.body.get("value")))
    if op.action is Action.LINK:
        return Outcome.done(adopted=True) if all(present) else None
    if op.kind == "class.teacher":  # the owner link is what a teacher removal takes away
        return Outcome.done() if not present[-1] else None
    return Outcome.done() if not any(present) else None
