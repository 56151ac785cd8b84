"""What one ``apply`` call works with, and what the target remembers between calls of a run."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from adapters.kit.outcomes import unanswered_write
from engine.findings import Finding, Severity
from engine.links import EMPTY_LINKS
from engine.plan import Operation
from engine.target import DesiredState, Outcome, TargetContext

from .batch import Coalescer
from .client import GraphClient
from .config import MicrosoftConfig
from .errors import Classified, GraphResponse, Verdict, classify

ORIGIN = "microsoft"
RECORD_TYPES = {
    "school": "school",
    "user": "person",
    "class": "group",
    "team": "group",
    "school.user": "school_role",
    "school.class": "group",
    "class.member": "membership",
    "class.teacher": "membership",
}


@dataclass
class Memory:
    """Facts a run learns that later operations of the same run need."""

    desired: DesiredState | None = None
    # (link, parent, child) binds a team's creation made, which its link operations then skip
    bound: set[tuple[str, str, str]] = field(default_factory=set)
    owned: set[str] = field(default_factory=set)  # classes with a teacher bound as owner
    linked: set[str] = field(default_factory=set)  # classes whose link operations bound some
    created_classes: dict[str, float] = field(default_factory=dict)  # class key -> monotonic

    def class_teachers(self, class_key: str) -> list[str]:
        if self.desired is None:
            return []
        return list(self.desired.links.get("class.teacher", EMPTY_LINKS).children(class_key))

    def class_students(self, class_key: str) -> list[str]:
        if self.desired is None:
            return []
        return list(self.desired.links.get("class.member", EMPTY_LINKS).children(class_key))

    def is_desired_link(self, link: str, parent: str, child: str) -> bool:
        if self.desired is None:
            return False
        return (parent, child) in self.desired.links.get(link, EMPTY_LINKS)

    def team_bound(self, link: str, parent: str, child: str) -> None:
        """A team's creation bound this; the link operation will find it done."""
        self.bound.add((link, parent, child))
        if link == "class.teacher":
            self.owned.add(parent)

    def link_bound(self, link: str, parent: str) -> None:
        """Link operations bound members of this class (the team must not bind them again)."""
        self.linked.add(parent)
        if link == "class.teacher":
            self.owned.add(parent)

    def class_created(self, class_key: str) -> None:
        self.created_classes[class_key] = time.monotonic()


@dataclass
class Runtime:
    config: MicrosoftConfig
    client: GraphClient
    ctx: TargetContext
    calls: Coalescer
    memory: Memory

    def target_id(self, kind: str, key: str, known: str | None = None) -> str | None:
        return known or self.ctx.target_ids(kind, key)

    def outcome(
        self,
        op: Operation,
        resp: GraphResponse,
        method: str,
        url: str,
        *,
        target_id: str | None = None,
        fresh: bool = False,
        adds: bool = False,
    ) -> Outcome:
        """The outcome of one answer for one operation; a POST (or a request that ``adds``,
        such as a PATCH binding members) that met a 5xx or a timeout is in doubt (it may have
        taken effect), never simply retried."""
        c = classify(resp, method, url, fresh=fresh)
        if unanswered_write(resp.status, method, resendable=False if adds else None):
            return Outcome.in_doubt(c.reason, f"{method} {url.split('?', 1)[0]}: {c.message}")
        return outcome_of(op, c, target_id)


def outcome_of(op: Operation, c: Classified, target_id: str | None = None) -> Outcome:
    if c.verdict is Verdict.OK or c.verdict is Verdict.GONE:
        return Outcome.done(target_id)
    if c.verdict is Verdict.EXISTS:
        # Graph says it is there already: believed only once read back (the executor does)
        return Outcome.in_doubt(c.reason, f"Graph answered that it exists: {c.message}")
    if c.verdict is Verdict.RETRY:
        return Outcome.retry(c.reason, c.message, c.retry_after)
    if c.verdict is Verdict.FATAL:
        return Outcome.fatal(c.reason, c.message)
    return failed(op, c.reason, c.message)


def failed(op: Operation, reason: str, message: str, fix: str = "") -> Outcome:
    """A refusal only a change to the data fixes: an outcome with a finding on the record."""
    record = RECORD_TYPES.get(op.kind, op.kind)
    record_id = f"{op.parent}/{op.key}" if op.parent else op.key
    finding = Finding(
        code=f"microsoft_{reason}",
        severity=Severity.WARNING,
        record_type=record,
        record_id=record_id,
        message=f"Microsoft 365 refused to {op.action.value} {op.kind} "
        f"{op.label or record_id}: {message}",
        fix=fix
        or "correct the record in the student administration system, or the naming "
        "templates in the tenant's configuration, then sync again",
        origin=ORIGIN,
    )
    return Outcome.failed(reason, message, finding)
