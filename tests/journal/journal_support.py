"""Small builders for the journal contract tests: operations, runs and outcomes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.journal import Journal, OutcomeRow
from engine.plan import Action, Operation, OpStatus

TENANT = "t"
LINK_SPECS = {"class.member": ("class", "user")}


def op(
    seq: int,
    action: Action,
    kind: str,
    key: str,
    *,
    parent: str | None = None,
    attrs: tuple[tuple[str, Any], ...] = (),
    target: str = "ms",
    depends_on: tuple[int, ...] = (),
    label: str = "",
    fingerprint: str = "",
) -> Operation:
    return Operation(
        seq,
        target,
        action,
        kind,
        key,
        parent=parent,
        attrs=attrs,
        fingerprint=fingerprint or f"fp-{key}",
        depends_on=depends_on,
        label=label,
    )


async def new_run(
    j: Journal,
    tenant: str = TENANT,
    *,
    targets: Sequence[str] = ("ms",),
    dry_run: bool = False,
    status: str = "running",
) -> int:
    return await j.create_run(
        tenant, trigger="test", actor="test:eva", dry_run=dry_run, targets=targets, status=status
    )


async def stored_run(
    j: Journal, ops: Sequence[Operation], tenant: str = TENANT
) -> tuple[int, list[Operation]]:
    """A run with these operations stored, pending."""
    run_id = await new_run(j, tenant, targets=sorted({o.target for o in ops}))
    return run_id, await j.store_operations(run_id, tenant, ops)


def outcome(operation: Operation, status: OpStatus, **kw: Any) -> OutcomeRow:
    answered = {OpStatus.DONE: "done", OpStatus.FAILED: "failed", OpStatus.DEAD: "fatal"}
    kw.setdefault("outcome", answered.get(status, ""))
    return OutcomeRow(operation, status, **kw)


async def finish(
    j: Journal, ops: Sequence[Operation], status: OpStatus, tenant: str = TENANT, **kw: Any
) -> None:
    """Record one attempt of each operation ending in ``status``."""
    await j.record_outcomes(None, tenant, [outcome(o, status, **kw) for o in ops], LINK_SPECS)
