"""The School Data Sync v2.1 feed as a target: one object per CSV row, the set delivered
whole once per run.

The planner diffs rows: the journal's mirror holds the rows last delivered, so a run with no
change plans nothing and delivers nothing, and a run's operations (``ess show RUN``) are
exactly what changed in the files. ``whole_set`` has the executor hand every operation of the
run to :meth:`SdsTarget.apply` in one batch; apply lays them over the last delivered set (kept
in the configured folder) and delivers the result, so each delivery is a complete set, the
same files every time (SDS deactivates the records of a file that is missing).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

from engine.config import TenantPolicy
from engine.model import Snapshot
from engine.plan import Action, Operation
from engine.roster import RosterPolicy
from engine.secrets import SecretResolver
from engine.target import (
    Batch,
    DesiredObject,
    DesiredState,
    KindSpec,
    ObservedState,
    Outcome,
    RateLimit,
    TargetBase,
    TargetContext,
    attrs_dict,
    attrs_of,
    desired_object,
)

from .columns import CLASS, ENROLLMENT, FILES, ORG, ROLE, USER
from .config import SdsConfig
from .delivery import Delivery, DeliveryProblem, FolderDelivery, UploadDelivery
from .files import write_set
from .folder import SetFolder, Tables
from .graph import GraphClient
from .mapping import build_rows, refs_of
from .rules import check


def kind_specs(grace_days: int) -> tuple[KindSpec, ...]:
    """One kind per file. A row that leaves the set is ``suspend``: SDS treats a record
    missing from the files as inactive, not deleted; after the grace period the journal
    forgets it (the delete changes no file)."""
    return tuple(
        KindSpec(spec.kind, rank, retire="suspend", grace_days=grace_days)
        for rank, spec in enumerate(FILES, 1)
    )


PUTS = frozenset({Action.CREATE, Action.UPDATE, Action.RESTORE})


class _Waiting(Mapping[str, frozenset[str]]):
    """Rows kept as last delivered: those SDS's rules refused, those that point at a refused
    row or at a record the source refused, or every row when the set is held. Which mirror rows
    point at what is known only once the mirror is loaded (:meth:`SdsTarget.refresh`, after
    :meth:`SdsTarget.desired`), so the keys are worked out when the planner first asks."""

    def __init__(
        self,
        target: SdsTarget,
        refused: Mapping[str, set[str]],
        held: Mapping[str, frozenset[str]],
        everything: bool,
    ) -> None:
        self._target, self._refused, self._held, self._everything = (
            target,
            refused,
            held,
            everything,
        )
        self._keys: dict[str, frozenset[str]] | None = None

    def _work_out(self) -> dict[str, frozenset[str]]:
        if self._keys is not None:
            return self._keys
        mirror = self._target.mirror
        out: dict[str, set[str]] = {k: set(v) for k, v in self._refused.items()}
        if self._everything:
            for kind, table in mirror.objects.items():
                out.setdefault(kind, set()).update(table)
        else:
            out_of = {k: set(v) | set(self._held.get(k, ())) for k, v in out.items()}
            for kind, ids in self._held.items():
                out_of.setdefault(kind, set()).update(ids)
            for kind in (ORG, CLASS, ROLE, ENROLLMENT):  # referencing kinds, referenced first
                for key, row in mirror.objects.get(kind, {}).items():
                    refs = refs_of(kind, attrs_dict(row.attrs))
                    if any(ref in out_of.get(rk, ()) for rk, ref in refs):
                        out.setdefault(kind, set()).add(key)
                        out_of.setdefault(kind, set()).add(key)
        self._keys = {k: frozenset(v) for k, v in out.items() if v}
        return self._keys

    def __getitem__(self, kind: str) -> frozenset[str]:
        return self._work_out()[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(self._work_out())

    def __len__(self) -> int:
        return len(self._work_out())

    def __bool__(self) -> bool:
        return bool(self._refused) or bool(self._held) or self._everything


class SdsTarget(TargetBase):
    """Writes the SDS v2.1 CSV set and delivers it to a folder or to SDS's data connector."""

    config_model: ClassVar[type[Any]] = SdsConfig
    record_types: ClassVar[Mapping[str, str]] = {ORG: "school", USER: "person", CLASS: "group"}
    whole_set: ClassVar[bool] = True
    relation_kinds: ClassVar[frozenset[str]] = frozenset({ROLE, ENROLLMENT})
    kinds = kind_specs(30)
    links = ()
    rate_limit = RateLimit(writes=1, per_seconds=1.0, max_concurrency=1)

    def __init__(self, name: str, config: SdsConfig, policy: Any, delivery: Delivery) -> None:
        self.name = name
        self.config = config
        self.policy = RosterPolicy.of(policy)
        self.kinds = kind_specs(int(getattr(policy, "suspend_grace_days", 30)))
        self.delivery = delivery
        self.mirror = ObservedState({}, {})
        self._mirrored = False
        self._reading = asyncio.Lock()
        self._read: Tables | None = None  # the last set as read back for look-ups
        self._asked = -math.inf  # when a look-up last asked SDS about a pending validation

    @classmethod
    def tenant_files(cls, settings: Mapping[str, Any], base_dir: Path) -> tuple[Path, ...]:
        """The delivery folder: the delivered sets, and the copy of what SDS accepted."""
        folder = Path(str(settings.get("folder", ""))).expanduser()
        if not str(settings.get("folder", "")).strip():
            return ()
        return (folder if folder.is_absolute() else base_dir / folder,)

    @classmethod
    def from_config(
        cls, name: str, settings: Mapping[str, Any], policy: TenantPolicy, secrets: SecretResolver
    ) -> Self:
        config = SdsConfig.model_validate(dict(settings))
        root = config.folder.expanduser()
        if not root.is_absolute():  # relative to the ess.toml, as secret files are
            root = secrets.base_dir / root
            config = config.model_copy(update={"folder": root})
        folder = SetFolder(root)
        delivery: Delivery
        if config.delivery == "upload":
            secret = secrets.resolve(config.client_secret or "")
            delivery = UploadDelivery(folder, GraphClient(config, secret))
        else:
            delivery = FolderDelivery(folder)
        return cls(name, config, policy, delivery)

    def desired(self, snapshot: Snapshot) -> DesiredState:
        rows = build_rows(snapshot, self.config, self.policy)
        checked = check(rows, self.config.max_rows_per_file)
        refused_ids = snapshot.refused
        held = {
            USER: refused_ids.persons,
            CLASS: refused_ids.groups,
            ORG: refused_ids.schools,
        }
        held = {k: v for k, v in held.items() if v}
        objects: dict[str, dict[str, DesiredObject]] = {k: {} for k in (s.kind for s in FILES)}
        if not checked.held:
            for kind, table in checked.rows.by_kind.items():
                labels = checked.rows.labels
                objects[kind] = {
                    key: desired_object(kind, key, attrs_of(row), labels.get((kind, key), key))
                    for key, row in table.items()
                }
        waiting = _Waiting(self, checked.refused, held, checked.held)
        return DesiredState(objects, {}, tuple(checked.findings), waiting if waiting else {})

    async def refresh(self, observed: ObservedState, ctx: TargetContext) -> ObservedState:
        """Nothing is read from SDS (a file feed is read by nobody but SDS); the mirror is
        kept to work out the rows that wait and, should the folder be lost, to rebuild the set
        from."""
        self.mirror = observed
        self._mirrored = True
        return observed

    async def _base(self, ctx: TargetContext) -> Tables:
        last = await self.delivery.last()
        if last is not None:
            return last
        if self._mirrored:
            if any(self.mirror.objects.values()):
                ctx.emit(
                    "warning",
                    f"sds: no delivered set in {self.config.folder}; the set is rebuilt from "
                    "the journal's record of what was delivered",
                )
            return {
                kind: {
                    key: {k: str(v) for k, v in o.attrs}
                    for key, o in table.items()
                    if o.suspended_at is None
                }
                for kind, table in self.mirror.objects.items()
            }
        if any(True for _ in ctx.ids):
            raise DeliveryProblem(
                Outcome.fatal(
                    "set_missing",
                    f"sds: the last delivered set is missing from {self.config.folder}; start a "
                    "new run (it rebuilds the set from the journal) rather than resume this one",
                )
            )
        return {}

    def batches(self, ready: Sequence[Operation]) -> Sequence[Batch]:
        """Every operation of the run in one batch: one set, delivered once."""
        return [Batch(tuple(ready), 1)] if ready else []

    async def apply(self, batch: Batch, ctx: TargetContext) -> Sequence[Outcome]:
        ops = batch.operations
        try:
            base = await self._base(ctx)
            tables = {spec.kind: dict(base.get(spec.kind, {})) for spec in FILES}
            for op in ops:
                if op.action in PUTS:
                    tables[op.kind][op.key] = {k: str(v) for k, v in op.attrs}
                else:
                    tables[op.kind].pop(op.key, None)
            before, after = write_set(base), write_set(tables)
            if after.digest != before.digest:
                self._read = None
                await self.delivery.deliver(after, ctx.run_id, ctx.emit)
        except DeliveryProblem as problem:
            return [problem.outcome] * len(ops)
        return [Outcome.done(op.key) for op in ops]

    async def read_back(self, op: Operation, ctx: TargetContext) -> Outcome | None:
        """Was the operation delivered? Settle a delivery left in doubt, then look for the row
        in the last delivered set."""
        async with self._reading:  # one settle and one read of the set for many look-ups
            try:
                now = time.monotonic()
                settled = None
                if now - self._asked >= self.config.poll_interval_s:  # one poll for many ops
                    self._asked = now
                    settled = await self.delivery.settle(ctx.emit)
                if settled or self._read is None:
                    self._read = (await self.delivery.last()) or {}
                if self.delivery.unsettled():
                    return Outcome.retry("validating", "sds: the last set's validation is not over")
            except DeliveryProblem as problem:
                return problem.outcome
            last = self._read
        row = last.get(op.kind, {}).get(op.key)
        if op.action in PUTS:
            wanted = {k: str(v) for k, v in op.attrs}
            return Outcome.done(op.key, adopted=True) if row == wanted else None
        return Outcome.done(op.key) if row is None else None

    async def aclose(self) -> None:
        await self.delivery.aclose()
