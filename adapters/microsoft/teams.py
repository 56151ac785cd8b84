"""Class teams: created from the class group with the educationClass template, archived when
the class ends.

``POST /teams`` answers 202 with a Location to poll: a first look after 5 s, then every
``team_poll_interval_s`` (Microsoft asks for more than 30 s between polls). The group needs an
owner first, so a new class gets its teachers bound as owners and members here (filling the
rest of that request with students); the link operations then find those done. Teams are made
in a lane of their own while link operations run, so a class whose teachers a link operation
has bound already is not bound again, and one whose students are being bound gets its
teachers alone. A group too young to become a team answers 404: the operation is rescheduled with
a Retry-After rather than failed. So is a class without an owner yet (its teacher's record
refused at the source, not yet made, or made by a run that stopped, which this process does not
know of): the team waits for its owner, and is planned again by the next run if it is still
waiting when its tries run out; it is never refused as bad data.
"""

from __future__ import annotations

import asyncio
import itertools
import time

from engine.plan import Action, Operation
from engine.target import Outcome

from .errors import GraphResponse, Verdict, classify
from .links import MAX_BINDS, _Ref, bind
from .runtime import Runtime

TEMPLATE = "https://graph.microsoft.com/v1.0/teamsTemplates('educationClass')"
_STAND_IN = itertools.count(1)
FIRST_POLL_S = 5.0


async def apply_team(rt: Runtime, op: Operation) -> Outcome:
    cid = rt.target_id("class", op.key, op.target_id)
    if op.action in (Action.UPDATE, Action.SUSPEND, Action.DELETE):
        # nothing to change on a team; deleting the class group removes its team
        return Outcome.done(cid)
    if cid is None:
        return Outcome.retry("not_ready", f"no Microsoft 365 id known yet for class {op.key}")
    if op.action is Action.ARCHIVE:
        return await _archive(rt, op, cid, archive=True)
    if op.action is Action.RESTORE:
        return await _archive(rt, op, cid, archive=False)
    return await _create(rt, op, cid)


async def _create(rt: Runtime, op: Operation, cid: str) -> Outcome:
    if op.key in rt.memory.created_classes and not _owners_bound(rt, op.key):
        bound = await _bind_owners(rt, op, cid)
        if bound is not None:
            return bound
    for attempt in (1, 2):
        resp = await _post_team(rt, cid)
        if resp.status == 202:
            return await _wait(rt, op, cid, resp, "createTeam")
        c = classify(resp, "POST", "teams", fresh=True)
        if c.verdict is Verdict.EXISTS:  # "already provisioned": believed once read back
            found = await rt.calls.call("GET", f"teams/{cid}?$select=id")
            if found.ok:
                return Outcome.done(cid, adopted=True)
            return Outcome.in_doubt("exists", "Graph says the team exists; it cannot be read yet")
        if resp.status == 404 or c.reason == "not_visible":
            wait = resp.retry_after or rt.config.team_retry_s * max(1, op.attempts)
            return Outcome.retry(
                "group_too_young",
                "the class group cannot become a team yet (replication)",
                retry_after=wait,
            )
        if "owner" in resp.error_message.lower() and attempt == 1:
            bound = await _bind_owners(rt, op, cid)
            if bound is not None:
                return bound
            continue
        if "owner" in resp.error_message.lower():
            return _wait_for_owner(rt, op, "the class has no owner yet, so no team can be made")
        return rt.outcome(op, resp, "POST", "teams", target_id=cid)
    return Outcome.retry("no_owner", "the class's owners are not visible yet")


def _wait_for_owner(rt: Runtime, op: Operation, message: str) -> Outcome:
    """A team whose class has no owner waits for one (a retry, later each time), never dead."""
    return Outcome.retry(
        "no_owner",
        message + "; it waits for a teacher (give the group one in the student administration "
        "system if it has none)",
        retry_after=rt.config.team_retry_s * max(1, op.attempts),
    )


def _owners_bound(rt: Runtime, class_key: str) -> bool:
    """Whether this run has bound a teacher of the class (as owner), here or as a link."""
    return class_key in rt.memory.owned


async def _bind_owners(rt: Runtime, op: Operation, cid: str) -> Outcome | None:
    """Make the class's teachers owners (and members), filling the request with students.

    Returns an outcome for the team when it cannot go on, else None.
    """
    teachers = rt.memory.class_teachers(op.key)
    if not teachers:
        return _wait_for_owner(rt, op, "no teacher of the class is known to this run yet")
    refs: list[_Ref] = []
    size = 0
    # students fill the request, unless the class's link operations have begun binding
    students = [] if op.key in rt.memory.linked else rt.memory.class_students(op.key)
    for link, keys in (("class.teacher", teachers), ("class.member", students)):
        for key in keys:
            uid = rt.target_id("user", key)
            n = 2 if link == "class.teacher" else 1
            if uid is None or size + n > MAX_BINDS:
                continue
            refs.append(_Ref(_link_op(op, link, key), uid))
            size += n
    if not any(r.op.kind == "class.teacher" for r in refs):
        return Outcome.retry("not_ready", "the class's teachers have no Microsoft 365 id yet")
    results = await bind(rt, cid, refs)
    if not all(o.kind.value == "done" for o in results.values()):
        # students not replicated yet must not hold the team back: teachers alone
        refs = [r for r in refs if r.op.kind == "class.teacher"]
        results = await bind(rt, cid, refs)
    for r in refs:
        if results[r.op.seq].kind.value == "done":
            rt.memory.team_bound(r.op.kind, op.key, r.op.key)
    if not _owners_bound(rt, op.key):
        worst = next(o for o in results.values() if o.kind.value != "done")
        return Outcome.retry(worst.reason or "owner_bind", worst.message, worst.retry_after)
    return None


def _link_op(team_op: Operation, link: str, child: str) -> Operation:
    """A stand-in link operation, numbered apart from the plan's, for the bind helpers."""
    return Operation(
        seq=-next(_STAND_IN),
        target=team_op.target,
        action=Action.LINK,
        kind=link,
        key=child,
        parent=team_op.key,
        attempts=team_op.attempts,
    )


async def _post_team(rt: Runtime, cid: str) -> GraphResponse:
    body = {
        "template@odata.bind": TEMPLATE,
        "group@odata.bind": f"https://graph.microsoft.com/v1.0/groups('{cid}')",
    }
    return await rt.client.send("POST", "teams", json=body, write_units=0, team_create=True)


async def _archive(rt: Runtime, op: Operation, cid: str, *, archive: bool) -> Outcome:
    verb = "archive" if archive else "unarchive"
    url = f"teams/{cid}/{verb}"
    resp = await rt.client.send("POST", url, write_units=0)
    if resp.status == 202:
        return await _wait(rt, op, cid, resp, f"{verb}Team")
    if resp.status == 404 and archive:
        return Outcome.done(cid)  # no team: nothing to archive
    return rt.outcome(op, resp, "POST", url, target_id=cid)


async def _wait(
    rt: Runtime, op: Operation, cid: str, accepted: GraphResponse, what: str
) -> Outcome:
    """Poll the teamsAsyncOperation until it succeeds, fails or the wait runs out."""
    location = accepted.header("Location")
    if not location:
        return Outcome.done(cid)  # accepted with nothing to follow: Graph made it synchronously
    interval = rt.config.team_poll_interval_s
    wait = min(FIRST_POLL_S, interval)  # a first look soon; then as Microsoft asks between polls
    deadline = time.monotonic() + rt.config.team_poll_timeout_s
    while time.monotonic() < deadline:
        await asyncio.sleep(max(wait, accepted.retry_after or 0.0))
        wait = interval
        resp = await rt.client.send("GET", location)
        if not resp.ok:
            c = classify(resp, "GET", location, fresh=True)
            if c.verdict is Verdict.FATAL:
                return Outcome.fatal(c.reason, c.message)
            continue
        status = str((resp.body or {}).get("status", ""))
        if status == "succeeded":
            return Outcome.done(cid)
        if status == "failed":
            error = (resp.body or {}).get("error") or {}
            return Outcome.retry(
                "team_operation_failed", f"{what} failed: {error.get('message', 'no detail')}"
            )
    return Outcome.retry(
        "team_operation_slow",
        f"{what} did not finish within {rt.config.team_poll_timeout_s:.0f} s; it is checked again",
    )
