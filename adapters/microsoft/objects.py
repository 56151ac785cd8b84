"""Schools, users and classes: create (or adopt), update, restore, suspend, archive, delete.

Creates are idempotent through natural keys: a school is looked up by externalId before it is
created (Graph does not keep school externalIds unique), a user or class that collides on
userPrincipalName or mailNickname is looked up and adopted when it is ours, or when the tenant
matches existing accounts on that attribute. A create answered with a 5xx or a timeout is in
doubt: it is never sent again here, and the executor reads it back (``read_back``) before it
may be. A class takes a nickname variant only when the group holding the nickname has been
read and is proven not to be this class.
"""

from __future__ import annotations

from typing import Any

from engine.plan import Action, Operation
from engine.target import Outcome

from .errors import GraphResponse, Verdict, classify
from .payloads import (
    CLASS_SELECT,
    USER_SELECT,
    attrs,
    class_create_body,
    class_update_body,
    filter_url,
    license_body,
    school_body,
    user_create_body,
    user_directory_body,
    user_match,
    user_update_body,
)
from .runtime import Runtime, failed

MAX_NAME_VARIANTS = 5


async def apply_object(rt: Runtime, op: Operation) -> Outcome:
    if op.kind == "school":
        return await _school(rt, op)
    if op.kind == "user":
        return await _user(rt, op)
    if op.kind == "class":
        return await _class(rt, op)
    return failed(op, "unknown_kind", f"no such object kind {op.kind!r}")


async def lookup(rt: Runtime, collection: str, prop: str, value: str, select: str) -> Any:
    """The first object whose ``prop`` equals ``value``; None when none (yet) visible.

    Raises :class:`LookupFailed` when Graph refused the query.
    """
    url = filter_url(collection, prop, value, select)
    resp = await rt.calls.call("GET", url)
    if not resp.ok:
        raise LookupFailed(resp, url)
    items = resp.body.get("value", []) if isinstance(resp.body, dict) else []
    return items[0] if items else None


class LookupFailed(Exception):
    def __init__(self, resp: GraphResponse, url: str) -> None:
        super().__init__(url)
        self.resp = resp
        self.url = url


def _lookup_failed(rt: Runtime, op: Operation, exc: LookupFailed) -> Outcome:
    out = rt.outcome(op, exc.resp, "GET", exc.url)
    if out.kind.value in ("done", "in_doubt"):  # a GET refused with an "exists" text
        return Outcome.retry("lookup_failed", f"look-up answered {exc.resp.status}")
    return out


def _tid(rt: Runtime, op: Operation) -> str | None:
    return rt.target_id(op.kind, op.key, op.target_id)


# schools -----------------------------------------------------------------------------------


async def _school(rt: Runtime, op: Operation) -> Outcome:
    a = attrs(op)
    if op.action is Action.CREATE or (op.action is Action.RESTORE and not _tid(rt, op)):
        try:
            found = await lookup(rt, "education/schools", "externalId", a["externalId"], "id")
        except LookupFailed as exc:
            return _lookup_failed(rt, op, exc)
        if found:
            return await _patch(
                rt,
                op,
                f"education/schools/{found['id']}",
                school_body(a, create=False),
                found["id"],
                adopted=True,
            )
        resp = await rt.calls.call("POST", "education/schools", school_body(a, create=True))
        return _created(rt, op, resp, "POST", "education/schools")
    tid = _tid(rt, op)
    if tid is None:
        return _no_id(op)
    if op.action in (Action.UPDATE, Action.RESTORE):
        return await _patch(rt, op, f"education/schools/{tid}", school_body(a, create=False), tid)
    if op.action is Action.DELETE:
        return await _delete(rt, op, f"education/schools/{tid}", tid)
    return Outcome.done(tid)  # suspend/archive: a school has no such state in Graph


# users -------------------------------------------------------------------------------------


async def _user(rt: Runtime, op: Operation) -> Outcome:
    a = attrs(op)
    if op.action is Action.CREATE or (op.action is Action.RESTORE and not _tid(rt, op)):
        return await _create_user(rt, op, a)
    tid = _tid(rt, op)
    if tid is None:
        return _no_id(op)
    if op.action in (Action.UPDATE, Action.RESTORE):
        out = await _patch(rt, op, f"education/users/{tid}", user_update_body(a), tid)
        if out.kind.value == "done" and op.action is Action.RESTORE:
            return await _after_create(rt, op, a, tid, adopted=False, licence=True)
        return out
    if op.action is Action.SUSPEND:
        return await _patch(rt, op, f"users/{tid}", {"accountEnabled": False}, tid)
    if op.action is Action.DELETE:
        return await _delete(rt, op, f"users/{tid}", tid)
    return Outcome.done(tid)


async def _create_user(rt: Runtime, op: Operation, a: dict[str, Any]) -> Outcome:
    match_on = rt.config.match_on
    match = user_match(a, match_on)
    retrying = op.attempts > 1
    try:
        if match is not None and (match_on != "userPrincipalName" or retrying):
            found = await lookup(rt, "users", match[0], match[1], USER_SELECT)
            if found:
                return await _adopt_user(rt, op, a, found["id"])
    except LookupFailed as exc:
        return _lookup_failed(rt, op, exc)

    base_local, _, domain = a["userPrincipalName"].rpartition("@")
    initial = rt.ctx.passwords.initial()
    for variant in range(1, MAX_NAME_VARIANTS + 1):
        body = user_create_body(a, initial)
        if variant > 1:
            body["userPrincipalName"] = f"{base_local}{variant}@{domain}"
            body["mailNickname"] = f"{a['mailNickname']}{variant}"
        resp = await rt.calls.call("POST", "education/users", body)
        c = classify(resp, "POST", "education/users")
        if c.verdict is Verdict.OK:
            uid = str(resp.body["id"])
            if variant > 1:
                rt.ctx.emit(
                    "info",
                    f"user {op.label or op.key}: account name taken by another "
                    f"account, created as {body['userPrincipalName']}",
                )
            rt.ctx.passwords.created(
                op.target, op.key, op.label or op.key, body["userPrincipalName"], initial
            )
            return await _after_create(rt, op, a, uid, adopted=False, licence=True)
        if c.verdict is not Verdict.EXISTS:
            return rt.outcome(op, resp, "POST", "education/users")
        # The name is taken: ours from an earlier attempt, a matched account, or someone else.
        try:
            found = await lookup(
                rt,
                "education/users",
                "userPrincipalName",
                body["userPrincipalName"],
                "id,student,teacher",
            )
        except LookupFailed as exc:
            return _lookup_failed(rt, op, exc)
        if found is None:
            return Outcome.retry(
                "not_visible", "the account name is taken by an object not visible yet"
            )
        if (variant == 1 and match_on == "userPrincipalName") or _carries(found, op.key):
            return await _adopt_user(rt, op, a, str(found["id"]))
    return failed(
        op,
        "name_taken",
        f"{a['userPrincipalName']} and {MAX_NAME_VARIANTS - 1} "
        "variants are taken by other accounts",
        fix="change upn_template, or remove the other accounts",
    )


def _carries(found: dict[str, Any], key: str) -> bool:
    """Does an existing account carry this record's source id (created by us earlier)?"""
    for role in ("student", "teacher"):
        block = found.get(role)
        if isinstance(block, dict) and block.get("externalId") == key:
            return True
    return False


async def _adopt_user(rt: Runtime, op: Operation, a: dict[str, Any], uid: str) -> Outcome:
    out = await _patch(rt, op, f"education/users/{uid}", user_update_body(a), uid, adopted=True)
    if out.kind.value != "done":
        return out
    return await _after_create(rt, op, a, uid, adopted=True, licence=True)


async def _after_create(
    rt: Runtime, op: Operation, a: dict[str, Any], uid: str, *, adopted: bool, licence: bool
) -> Outcome:
    """Properties only /users takes, and the licence, once the account exists."""
    extra = user_directory_body(a)
    if extra:
        resp = await rt.calls.call("PATCH", f"users/{uid}", extra)
        if not resp.ok:
            return _partial(rt, op, resp, "PATCH", f"users/{uid}")
    sku = a.get("licenseSku")
    if licence and sku:
        url = f"users/{uid}/assignLicense"
        resp = await rt.calls.call("POST", url, license_body(str(sku)))
        if not resp.ok:
            return _partial(rt, op, resp, "POST", url)
    return Outcome.done(uid, adopted=adopted)


def _partial(rt: Runtime, op: Operation, resp: GraphResponse, method: str, url: str) -> Outcome:
    """The account exists but a follow-up failed: retry (the retry adopts it and goes on)."""
    out = rt.outcome(op, resp, method, url, fresh=True)
    if out.kind.value == "done":
        return out
    if out.kind.value == "failed":
        return out
    return Outcome.retry(
        out.reason or "follow_up", f"account created; {out.message}", out.retry_after
    )


# classes -----------------------------------------------------------------------------------


async def _class(rt: Runtime, op: Operation) -> Outcome:
    a = attrs(op)
    if op.action is Action.CREATE or (op.action is Action.RESTORE and not _tid(rt, op)):
        return await _create_class(rt, op, a)
    tid = _tid(rt, op)
    if tid is None:
        return _no_id(op)
    if op.action in (Action.UPDATE, Action.RESTORE):
        return await _patch(rt, op, f"education/classes/{tid}", class_update_body(a), tid)
    if op.action is Action.DELETE:
        return await _delete(rt, op, f"education/classes/{tid}", tid)
    # ARCHIVE: the class group stays as it is, with its members; its team is archived.
    return Outcome.done(tid)


async def _create_class(rt: Runtime, op: Operation, a: dict[str, Any]) -> Outcome:
    if op.attempts > 1:
        try:
            found = await lookup(
                rt, "education/classes", "externalId", a["externalId"], CLASS_SELECT
            )
        except LookupFailed as exc:
            return _lookup_failed(rt, op, exc)
        if found:
            return Outcome.done(str(found["id"]), adopted=True)
    nickname = a["mailNickname"]
    for variant in range(1, MAX_NAME_VARIANTS + 1):
        nick = nickname if variant == 1 else f"{nickname[:60]}-{variant}"
        resp = await rt.calls.call("POST", "education/classes", class_create_body(a, nick))
        c = classify(resp, "POST", "education/classes")
        if c.verdict is Verdict.OK:
            rt.memory.class_created(op.key)
            return Outcome.done(str(resp.body["id"]))
        if c.verdict is not Verdict.EXISTS:
            return rt.outcome(op, resp, "POST", "education/classes")
        try:
            ours = await lookup(
                rt, "education/classes", "externalId", a["externalId"], CLASS_SELECT
            )
            if ours:
                return Outcome.done(str(ours["id"]), adopted=True)
            holder = await _nickname_holder(rt, nick, a["externalId"])
        except LookupFailed as exc:
            return _lookup_failed(rt, op, exc)
        if holder is not None:
            return holder
        rt.ctx.emit(
            "info",
            f"class {op.label or op.key}: mailNickname {nick} belongs to "
            "another group; trying a variant",
        )
    return failed(
        op,
        "name_taken",
        f"mailNickname {nickname} and {MAX_NAME_VARIANTS - 1} variants belong to other groups",
        fix="change class_mail_template",
    )


async def _nickname_holder(rt: Runtime, nick: str, external_id: str) -> Outcome | None:
    """Who holds a taken nickname. ``None`` only when the holder was read and is proven not this
    class: another class (its externalId differs) or a group that is no class. Our own copy
    (a create in doubt, or one that replication hides from the externalId look-up) is adopted
    once readable; until then the create waits. Never a variant on a guess."""
    group = await lookup(rt, "groups", "mailNickname", nick, "id,creationOptions")
    if group is None:
        return Outcome.retry(
            "not_visible", "the class nickname is taken by an object not visible yet"
        )
    gid = str(group["id"])
    url = f"education/classes/{gid}?$select=id,externalId"
    resp = await rt.calls.call("GET", url)
    if resp.ok and isinstance(resp.body, dict):
        if resp.body.get("externalId") == external_id:
            return Outcome.done(gid, adopted=True)  # ours, read back
        return None  # another class
    options = group.get("creationOptions")
    if (
        resp.status in (400, 404)
        and isinstance(options, list)
        and "classAssignments" not in options
    ):
        return None  # a group that says it is no class: not ours
    return Outcome.retry(
        "not_visible", "the group holding the class nickname cannot be read as a class yet"
    )


# shared ------------------------------------------------------------------------------------


def _created(rt: Runtime, op: Operation, resp: GraphResponse, method: str, url: str) -> Outcome:
    if resp.ok and isinstance(resp.body, dict) and resp.body.get("id"):
        return Outcome.done(str(resp.body["id"]))
    return rt.outcome(op, resp, method, url)


async def _patch(
    rt: Runtime, op: Operation, url: str, body: dict[str, Any], tid: str, *, adopted: bool = False
) -> Outcome:
    if not body:
        return Outcome.done(tid, adopted=adopted)
    resp = await rt.calls.call("PATCH", url, body)
    if resp.ok:
        return Outcome.done(tid, adopted=adopted)
    return rt.outcome(op, resp, "PATCH", url, target_id=tid)


async def _delete(rt: Runtime, op: Operation, url: str, tid: str) -> Outcome:
    resp = await rt.calls.call("DELETE", url)
    return rt.outcome(op, resp, "DELETE", url, target_id=tid)


def _no_id(op: Operation) -> Outcome:
    return failed(
        op,
        "unknown_target_id",
        "ESS has no Microsoft 365 id for this object; "
        "it may have been created outside ESS or removed from the journal",
        fix="run a full sync so ESS looks the object up again",
    )
