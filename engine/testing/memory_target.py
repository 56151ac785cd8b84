"""A target double on :class:`TargetBase` that can inject faults.

Faults come as a service's do: errors before the write (``fault_rate``), errors and timeouts
after it (``applied_fault_rate``, ``applied_timeout_rate``), timeouts before it
(``timeout_rate``), throttling, and a replication delay (``visibility_s``: a fresh object is
not found by a look-up for that long). Like an adapter, it cannot tell an error before the
write from one after it: a create answered with a 5xx or a timeout is in doubt.

Its state lives in a JSON file (``state = "target.json"``) written after every batch, so that a
process killed mid-run and restarted sees what really happened: the crash tests rely on it. It
counts how often each object was created, so a duplicate create is visible, and how many 429s
it sent and how many writes came again before their Retry-After ran out (``throttles``).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import orjson
from pydantic import BaseModel, ConfigDict, Field

from engine.config import TenantPolicy
from engine.findings import Finding, Severity
from engine.links import LinkSet
from engine.model import MemberRole, Snapshot
from engine.plan import Action, Operation
from engine.redact import person_label
from engine.secrets import SecretResolver
from engine.target import (
    DRIFTED,
    Batch,
    DesiredObject,
    DesiredState,
    KindSpec,
    LinkSpec,
    MirrorObject,
    ObservedState,
    Outcome,
    RateLimit,
    TargetBase,
    TargetContext,
    attrs_of,
)


class MemoryTargetConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    type: str = "memory"
    state: Path = Path("memory-target.json")
    fault_rate: float = Field(0.0, ge=0, le=1)  # share of ops answered "retry: server_error"
    applied_fault_rate: float = Field(0.0, ge=0, le=1)  # applied, then answered with an error
    timeout_rate: float = Field(0.0, ge=0, le=1)  # no answer in time, not applied
    applied_timeout_rate: float = Field(0.0, ge=0, le=1)  # applied, then no answer in time
    lost_answer_keys: tuple[str, ...] = ()  # the first write of these is applied, then times out
    visibility_s: float = Field(0.0, ge=0, le=60)  # a fresh object stays hidden from look-ups
    throttle_rate: float = Field(0.0, ge=0, le=1)  # share answered 429 with retry_after
    retry_after_s: float = 0.05
    reject_keys: tuple[str, ...] = ()  # refused as bad data (dead items)
    flaky_keys: tuple[str, ...] = ()  # always transient errors (failed items)
    fatal: bool = False  # every op answered with a tenant-level error
    seed: int = 0
    batch_size: int = Field(20, ge=1, le=1000)
    writes_per_window: int = 100_000
    window_s: float = 1.0
    max_concurrency: int = 4
    latency_s: float = Field(0.0, ge=0, le=10)  # per batch, to make runs overlap in tests
    # A target without natural-key idempotency: a second create makes a duplicate. The crash
    # tests use it to prove that the executor checks before it re-sends.
    duplicate_creates: bool = False


class MemoryTarget(TargetBase):
    """Schools, users and groups with members and teachers, kept in a JSON file."""

    config_model: ClassVar[type[Any]] = MemoryTargetConfig
    record_types: ClassVar[Mapping[str, str]] = {
        "school": "school",
        "user": "person",
        "group": "group",
        "school.user": "person",
        "group.member": "person",
        "group.teacher": "person",
    }
    reads_drift: ClassVar[bool] = True
    # generous: a JSON file takes anything, but a name of a megabyte is a mistake all the same
    field_limits: ClassVar[Mapping[str, Mapping[str, int]]] = {
        "person": {"given_name": 1000, "family_name": 1000, "middle_name": 1000, "emails": 1000},
        "group": {"name": 1000, "subject": 1000},
        "school": {"name": 1000, "school_unit_code": 1000},
    }

    def __init__(
        self, name: str, cfg: MemoryTargetConfig, policy: TenantPolicy, base_dir: Path
    ) -> None:
        self.name = name
        self.cfg = cfg
        self.policy = policy
        self.path = cfg.state if cfg.state.is_absolute() else base_dir / cfg.state
        self.kinds = (
            KindSpec("school", 1, "delete"),
            KindSpec("user", 2, "suspend", grace_days=policy.suspend_grace_days),
            KindSpec("group", 3, policy.class_end),
        )
        self.links = (
            LinkSpec("school.user", "school", "user", 1),
            LinkSpec("group.member", "group", "user", 2),
            LinkSpec("group.teacher", "group", "user", 3),
        )
        self.rate_limit = RateLimit(cfg.writes_per_window, cfg.window_s, cfg.max_concurrency)
        # counted from when a request is sent, so it covers the request's own time too
        self.consistency_window_s = (
            cfg.visibility_s + cfg.latency_s + 0.2 if cfg.visibility_s else 0.0
        )
        self._rng = random.Random(cfg.seed)
        self.state = self._load()

    @classmethod
    def from_config(
        cls, name: str, settings: Mapping[str, Any], policy: TenantPolicy, secrets: SecretResolver
    ) -> MemoryTarget:
        return cls(
            name, MemoryTargetConfig.model_validate(dict(settings)), policy, secrets.base_dir
        )

    # ------------------------------------------------------------------ state file
    def _load(self) -> dict[str, Any]:
        if self.path.exists():
            data: dict[str, Any] = orjson.loads(self.path.read_bytes())
            data.setdefault("lost", [])
            data.setdefault("throttles", {"sent": 0, "early": 0, "until": {}})
            return data
        return {
            "objects": {},
            "links": {},
            "creations": {},
            "next_id": 1,
            "writes": 0,
            "lost": [],
            "throttles": {"sent": 0, "early": 0, "until": {}},
        }

    def _save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_bytes(orjson.dumps(self.state))
        os.replace(tmp, self.path)

    def objects(self, kind: str) -> dict[str, dict[str, Any]]:
        table: dict[str, dict[str, Any]] = self.state["objects"].setdefault(kind, {})
        return table

    def link_set(self, kind: str) -> set[tuple[str, str]]:
        return {(p, c) for p, c in self.state["links"].get(kind, [])}

    # ------------------------------------------------------------------ desired
    def desired(self, snapshot: Snapshot) -> DesiredState:
        pol = self.policy
        users: dict[str, DesiredObject] = {}
        schools = {
            s.id: DesiredObject(
                "school", s.id, attrs_of({"name": s.name, "code": s.school_unit_code}), s.name
            )
            for s in snapshot.schools.values()
        }
        school_user: set[tuple[str, str]] = set()
        roles: dict[str, str] = {}
        for r in snapshot.current_school_roles():
            p = snapshot.persons.get(r.person_id)
            if p is None or (p.is_protected and pol.protected_identity == "exclude"):
                continue
            if r.school_id in schools:
                school_user.add((r.school_id, p.id))
            roles.setdefault(p.id, "student" if r.role.value == "student" else "teacher")
        findings: list[Finding] = []
        for pid, role in roles.items():
            p = snapshot.persons[pid]
            masked = p.is_protected and pol.protected_identity == "mask"
            name = person_label(p, pol.protected_identity) if masked else p.display_name
            users[pid] = DesiredObject(
                "user",
                pid,
                attrs_of({"name": name, "login": p.eppns[0] if p.eppns else "", "role": role}),
                person_label(p, pol.protected_identity),
            )
        types = set(pol.group_types)
        groups = {
            g.id: DesiredObject(
                "group", g.id, attrs_of({"name": g.name, "type": g.group_type.value}), g.name
            )
            for g in snapshot.groups.values()
            if g.group_type.value in types
            and g.school_id in schools
            and (g.end is None or g.end >= snapshot.as_of)
        }
        member: set[tuple[str, str]] = set()
        teacher: set[tuple[str, str]] = set()
        for m in snapshot.current_memberships():
            if m.group_id in groups and m.person_id in users:
                (member if m.role is MemberRole.STUDENT else teacher).add((m.group_id, m.person_id))
        return DesiredState(
            {"school": schools, "user": users, "group": groups},
            {
                "school.user": LinkSet(school_user),
                "group.member": LinkSet(member),
                "group.teacher": LinkSet(teacher),
            },
            tuple(findings),
        )

    # ------------------------------------------------------------------ observed
    async def refresh(self, observed: ObservedState, ctx: TargetContext) -> ObservedState:
        """Drift: objects removed, changed or suspended and links changed by hand in the target
        are seen."""
        self.state = self._load()
        now = datetime.now(UTC)
        objects: dict[str, dict[str, MirrorObject]] = {}
        for kind, table in observed.objects.items():
            live = self.objects(kind)
            objects[kind] = {}
            for key, o in table.items():
                obj = live.get(key)
                if obj is None:
                    continue
                fp = o.fingerprint if obj.get("attrs") == _jsonable(o.attrs) else DRIFTED
                # suspended by hand while the mirror says active: it is suspended from now
                suspended_at = (o.suspended_at or now) if obj.get("suspended") else None
                objects[kind][key] = MirrorObject(
                    kind,
                    key,
                    obj["id"],
                    fp,
                    o.attrs,
                    suspended_at,
                    bool(obj.get("archived")),
                    o.label,
                )
        links = {}
        managed = {k: set(t) for k, t in objects.items()}
        for spec in self.links:
            have = self.link_set(spec.name)
            links[spec.name] = LinkSet(
                (p, c)
                for p, c in have
                if p in managed.get(spec.parent_kind, ()) and c in managed.get(spec.child_kind, ())
            )
        return ObservedState(objects, links)

    # ------------------------------------------------------------------ apply
    def batches(self, ready: Sequence[Operation]) -> Sequence[Batch]:
        n = self.cfg.batch_size
        return [
            Batch(tuple(ready[i : i + n]), min(n, len(ready) - i)) for i in range(0, len(ready), n)
        ]

    async def apply(self, batch: Batch, ctx: TargetContext) -> Sequence[Outcome]:
        if self.cfg.latency_s:
            import asyncio

            await asyncio.sleep(self.cfg.latency_s)
        self.state = self._load()
        out = [self._apply_one(op, ctx) for op in batch.operations]
        self._save()
        return out

    def _apply_one(self, op: Operation, ctx: TargetContext) -> Outcome:
        cfg = self.cfg
        if cfg.fatal:
            return Outcome.fatal(
                "permission",
                f"{self.name}: the app lacks permission to write; "
                "grant it in the target's admin centre",
            )
        if op.key in cfg.reject_keys or (op.parent and op.parent in cfg.reject_keys):
            f = Finding(
                "memory.rejected",
                Severity.BLOCKING,
                "person",
                op.key,
                f"{self.name} refused {op.describe()}",
                "fix the record in the source",
            )
            return Outcome.failed("invalid_data", f"{self.name} refused the data", f)
        if op.key in cfg.flaky_keys:
            return Outcome.retry("server_error", "the service keeps answering 503")
        roll = self._rng.random()
        throttles = self.state["throttles"]
        if cfg.throttle_rate or throttles["until"]:  # only a throttling target pays for this
            now, mark = time.time(), f"{op.action.value} {op.kind} {op.parent or ''}/{op.key}"
            if now < throttles["until"].pop(mark, 0.0):
                throttles["early"] += 1  # sent again before the Retry-After it was given ran out
            if roll < cfg.throttle_rate:
                throttles["sent"] += 1
                throttles["until"][mark] = now + cfg.retry_after_s
                return Outcome.retry("throttled", "429 Too Many Requests", cfg.retry_after_s)
        roll -= cfg.throttle_rate
        if roll < cfg.fault_rate:
            return self._unanswered(op, "server_error", "500 Internal Server Error")
        if roll - cfg.fault_rate < cfg.timeout_rate:
            return self._unanswered(op, "timeout", "no answer in time")
        lost = op.key in cfg.lost_answer_keys and op.key not in self.state["lost"]
        outcome = self._effect(op, ctx)
        self.state["writes"] += 1
        if lost:
            self.state["lost"].append(op.key)
            return self._unanswered(op, "timeout", "no answer in time (it was applied)")
        roll = self._rng.random()
        if roll < cfg.applied_fault_rate:
            return self._unanswered(op, "server_error", "502 (it was applied)")
        if roll - cfg.applied_fault_rate < cfg.applied_timeout_rate:
            return self._unanswered(op, "timeout", "no answer in time (it was applied)")
        return outcome

    @staticmethod
    def _unanswered(op: Operation, reason: str, message: str) -> Outcome:
        """An error or timeout says nothing of whether the write took effect: a create, which
        makes a second object when sent twice, is in doubt; anything else may simply be sent
        again."""
        if op.action is Action.CREATE:
            return Outcome.in_doubt(reason, message)
        return Outcome.retry(reason, message)

    def _effect(self, op: Operation, ctx: TargetContext) -> Outcome:
        if op.is_link:
            links = self.state["links"].setdefault(op.kind, [])
            pair = [op.parent, op.key]
            if op.action is Action.LINK:
                if pair not in links:
                    links.append(pair)
            elif pair in links:
                links.remove(pair)
            return Outcome.done()
        table = self.objects(op.kind)
        obj = table.get(op.key)
        if op.action is Action.CREATE:
            if obj is not None and self.cfg.duplicate_creates:
                key = f"{op.kind}:{op.key}"
                self.state["creations"][key] = self.state["creations"].get(key, 0) + 1
                return Outcome.done(obj["id"])
            if obj is not None:  # natural key: adopt what a lost response already created
                obj["attrs"] = _jsonable(op.attrs)
                return Outcome.done(obj["id"], adopted=True)
            tid = f"m-{op.kind}-{self.state['next_id']}"
            self.state["next_id"] += 1
            table[op.key] = {"id": tid, "attrs": _jsonable(op.attrs), "made": time.time()}
            key = f"{op.kind}:{op.key}"
            self.state["creations"][key] = self.state["creations"].get(key, 0) + 1
            return Outcome.done(tid)
        if obj is None:
            if op.action is Action.DELETE:
                return Outcome.done(adopted=True)
            return Outcome.retry("not_visible", f"{op.kind} {op.key} not found yet")
        if op.action in (Action.UPDATE, Action.RESTORE):
            obj["attrs"] = _jsonable(op.attrs)
            obj.pop("suspended", None)
            obj.pop("archived", None)
        elif op.action is Action.SUSPEND:
            obj["suspended"] = True
        elif op.action is Action.ARCHIVE:
            obj["archived"] = True
        elif op.action is Action.DELETE:
            del table[op.key]
            for spec in self.links:
                pairs = self.state["links"].get(spec.name, [])
                if spec.parent_kind == op.kind:
                    pairs[:] = [p for p in pairs if p[0] != op.key]
                if spec.child_kind == op.kind:
                    pairs[:] = [p for p in pairs if p[1] != op.key]
        return Outcome.done(obj["id"])

    async def read_back(self, op: Operation, ctx: TargetContext) -> Outcome | None:
        """Find the operation's effect by natural key; a fresh object stays hidden for
        ``visibility_s``, as a replicated service's would."""
        self.state = self._load()
        if op.is_link:
            present = [op.parent, op.key] in self.state["links"].get(op.kind, [])
            return Outcome.done() if present == (op.action is Action.LINK) else None
        obj = self.objects(op.kind).get(op.key)
        if op.action is Action.DELETE:
            return Outcome.done() if obj is None else None
        if obj is None or time.time() < float(obj.get("made", 0.0)) + self.cfg.visibility_s:
            return None
        if op.action is Action.SUSPEND:
            return Outcome.done(obj["id"]) if obj.get("suspended") else None
        if op.action is Action.ARCHIVE:
            return Outcome.done(obj["id"]) if obj.get("archived") else None
        return Outcome.done(obj["id"]) if obj["attrs"] == _jsonable(op.attrs) else None

    async def move_keys(self, ids: Mapping[str, Mapping[str, str]]) -> None:
        """Its state is keyed by ESS's keys (a natural key), so a rekey renames them there."""
        self.state = self._load()

        def moved(rtype: str | None, key: str) -> str:
            return ids.get(rtype, {}).get(key, key) if rtype else key

        for kind, table in list(self.state["objects"].items()):
            rtype = self.record_types.get(kind)
            self.state["objects"][kind] = {moved(rtype, k): v for k, v in table.items()}
            self.state["creations"] = {
                (f"{kind}:{moved(rtype, c[len(kind) + 1 :])}" if c.startswith(f"{kind}:") else c): n
                for c, n in self.state["creations"].items()
            }
        for spec in self.links:
            parent = self.record_types.get(spec.parent_kind)
            child = self.record_types.get(spec.child_kind)
            self.state["links"][spec.name] = [
                [moved(parent, p), moved(child, c)]
                for p, c in self.state["links"].get(spec.name, [])
            ]
        self._save()

    async def aclose(self) -> None:
        return None

    # ------------------------------------------------------------------ inspection for tests
    def as_desired_view(self) -> tuple[dict[str, dict[str, Any]], dict[str, set[tuple[str, str]]]]:
        """(kind -> key -> attrs of live, unsuspended objects, link kind -> pairs)."""
        state = self._load()
        objects = {
            kind: {
                k: v["attrs"]
                for k, v in table.items()
                if not v.get("suspended") and not v.get("archived")
            }
            for kind, table in state["objects"].items()
        }
        links = {k: {(p, c) for p, c in v} for k, v in state["links"].items()}
        return objects, links


def _jsonable(attrs: Any) -> Any:
    return orjson.loads(orjson.dumps(attrs))
