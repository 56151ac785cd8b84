"""Support tiers, elevations and read-only mode: who may write, and when.

bronze: write actions any time. silver: only while an elevation (time-boxed, with a reason) is
active for the tenant. gold: only while an elevation that a customer approver has approved is
active. Read-only mode refuses every write. A dry run changes no target and is never refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from engine.journal.protocol import ElevationRecord
from engine.views import Decision, ElevationView


def elevation_view(row: ElevationRecord, now: datetime | None = None) -> ElevationView:
    now = now or datetime.now(UTC)
    if row.revoked:
        status = "revoked"
    elif row.expires_at <= now:
        status = "expired"
    elif row.needs_approval and not row.approved_by:
        status = "pending_approval"
    else:
        status = "active"
    return ElevationView(
        id=row.id,
        tenant=row.tenant,
        actor=row.actor,
        reason=row.reason,
        created_at=row.created_at,
        expires_at=row.expires_at,
        status=status,  # type: ignore[arg-type]
        approved_by=row.approved_by,
    )


def active_elevation(elevations: Sequence[ElevationView]) -> ElevationView | None:
    live = [e for e in elevations if e.status == "active"]
    return max(live, key=lambda e: e.expires_at) if live else None


def decide(
    *, read_only: bool, tier: str, elevations: Sequence[ElevationView], dry_run: bool = False
) -> Decision:
    if dry_run:
        return Decision(True)
    if read_only:
        return Decision(False, "read-only mode: this session may look but not change anything")
    if tier == "bronze":
        return Decision(True)
    active = active_elevation(elevations)
    if active is not None:
        return Decision(
            True, f"elevation {active.id} by {active.actor} until {active.expires_at:%H:%M} UTC"
        )
    if tier == "silver":
        return Decision(
            False,
            "silver tenant: activate an elevation with a reason first "
            "(ess elevate TENANT --reason ...)",
        )
    pending = [e for e in elevations if e.status == "pending_approval"]
    if pending:
        return Decision(
            False, f"gold tenant: elevation {pending[0].id} waits for the customer's approval"
        )
    return Decision(
        False,
        "gold tenant: request an elevation and have the customer approve it "
        "(ess elevate TENANT --reason ..., then ess elevation approve ID)",
    )
