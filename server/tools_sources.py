"""Moving a tenant to another source over MCP: ``rekey_source`` (a dry run by default) and
the holds it leaves, listed (status toolset) and released (operations toolset).

The same ops facade as ``ess source rekey|holds|release``, so the same tiers, elevations,
lease and audit apply; only the dry run is open to every tier, as with ``start_sync``.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, ConfigDict, Field

from server.annotations import read_only, write
from server.models import CommandOut, from_view
from server.runtime import Runtime, ops_errors

MAX_SHOWN = 500
TENANTS = "Call list_tenants to see the tenant ids."


class _Out(BaseModel):
    model_config = ConfigDict(extra="ignore")


class SourceHoldOut(_Out):
    record_type: str
    key: str = Field(description="The record's id, as release_source_holds takes it.")
    reason: str
    held_at: datetime
    actor: str


class SourceHoldList(_Out):
    holds: list[SourceHoldOut] = Field(description="Oldest first.")
    next_steps: str


class RekeyRecordOut(_Out):
    record_type: str
    old_id: str
    label: str = Field(description="The record's name; a protected identity is masked.")
    reason: Literal["unmatched", "ambiguous", "clash"]
    message: str
    fix: str


class RekeyOut(_Out):
    tenant: str
    dry_run: bool
    old_counts: dict[str, int] = Field(description="What the old source holds.")
    new_counts: dict[str, int] = Field(description="What the new source(s) hold.")
    matched: dict[str, int] = Field(description="Per record type: old records matched.")
    moving: dict[str, int] = Field(description="Per record type: matched records whose id changes.")
    new_only: dict[str, int] = Field(
        description="Per record type: new records no old one matched (the next run creates them)."
    )
    not_moved: dict[str, int] = Field(
        description="Old records that keep their old id, by reason: unmatched and ambiguous "
        "ones are held (never removed); a clash stops a real rekey."
    )
    records: list[RekeyRecordOut] = Field(description="The old records not moved, up to limit.")
    moved: dict[str, int] = Field(
        default_factory=dict, description="After a real rekey: journal rows moved, per table."
    )
    note: str | None = None
    actor: str = Field(description="The actor recorded in the audit log.")
    next_steps: str


def _next_steps(out: RekeyOut) -> str:
    clashes = out.not_moved.get("clash", 0)
    held = sum(out.not_moved.values()) - clashes
    t = out.tenant
    if out.dry_run and clashes:
        return (
            f"Dry run: nothing changed. {clashes} clash(es) would stop the rekey: the new "
            "source uses an old record's id for another record; show the user the records and "
            "their fix, and do not apply."
        )
    if out.dry_run:
        return (
            "Dry run: nothing changed. Show the user the counts"
            + (
                f" and the {held} record(s) that would be held (each says how to make it match)"
                if held
                else ""
            )
            + f"; call rekey_source(tenant={t!r}, dry_run=false) only if the user wants the "
            "journal moved to the new ids."
        )
    return (
        f"The journal now uses the new source's ids. Next: start_sync(tenant={t!r}) (a dry run) "
        "should plan no create and no removal for what matched"
        + (f"; list_source_holds(tenant={t!r}) shows the {held} held record(s)" if held else "")
        + "."
    )


def register(mcp: MCPServer[Any], rt: Runtime, served: frozenset[str]) -> None:
    if "status" in served:
        _register_reads(mcp, rt)
    if "operations" in served:
        _register_writes(mcp, rt)


def _register_reads(mcp: MCPServer[Any], rt: Runtime) -> None:
    @mcp.tool(annotations=read_only("List source holds"))
    async def list_source_holds(
        tenant: Annotated[str, Field(description="Tenant id.")],
    ) -> SourceHoldList:
        """List the records no run removes until an operator releases them: those a move to
        another source (rekey_source) could not match to a record of the new source.

        Use it after a rekey, or when a leaver's account is not being suspended.
        Next: release_source_holds(tenant, records) once a record has truly left.
        Example: list_source_holds(tenant="alpha")
        """
        with ops_errors(TENANTS):
            rows = await rt.ops.source_holds(tenant)
        return SourceHoldList(
            holds=[from_view(SourceHoldOut, h) for h in rows],
            next_steps=(
                "Each held record keeps its objects in the targets. Release one with "
                f"release_source_holds(tenant={tenant!r}, records=['TYPE:ID']) only once the "
                "user confirms it has truly left; the next run then retires it."
                if rows
                else "Nothing is held."
            ),
        )


def _register_writes(mcp: MCPServer[Any], rt: Runtime) -> None:
    @mcp.tool(
        annotations=write("Rekey source", destructive=True, idempotent=False, reaches_targets=True)
    )
    async def rekey_source(
        tenant: Annotated[str, Field(description="Tenant id.")],
        ctx: Context,
        dry_run: Annotated[
            bool,
            Field(description="true (the default) only matches and changes nothing; false moves."),
        ] = True,
        limit: Annotated[
            int, Field(ge=1, le=MAX_SHOWN, description=f"Records not moved to list, 1-{MAX_SHOWN}.")
        ] = 50,
    ) -> RekeyOut:
        """Move a tenant from its old source ([tenants.ID.rekey] from) to its source now: match
        each old school, person and group to the new source's by the configured keys and move
        the journal to the new ids, so the targets see no removal and no create.

        By default a dry run: it reads both sources and reports, per record type, how many
        matched, how many change id, how many are new, and each old record that cannot be
        moved (unmatched or ambiguous: held, never removed; clash: stops the rekey). Show the
        user the dry run first; call with dry_run=false only when the user asks. A real rekey
        takes the tenant's lease and needs what any write needs under the tenant's support
        tier (see tenant_status).
        Next: start_sync(tenant) as a dry run; list_source_holds(tenant).
        Example: rekey_source(tenant="alpha") then rekey_source(tenant="alpha", dry_run=false)
        """
        ops, actor = await rt.writer(ctx)
        with ops_errors(TENANTS):
            report = await ops.source_rekey(tenant, dry_run=dry_run)
        by_reason = Counter(r.reason for r in report.unmatched)
        shown = report.unmatched[:limit]
        out = from_view(
            RekeyOut,
            report,
            not_moved={r: by_reason.get(r, 0) for r in ("unmatched", "ambiguous", "clash")},
            records=[from_view(RekeyRecordOut, r).model_dump() for r in shown],
            note=(
                f"Showing {len(shown)} of {len(report.unmatched)} records not moved; raise limit."
                if len(shown) < len(report.unmatched)
                else None
            ),
            actor=actor,
            next_steps="",
        )
        return out.model_copy(update={"next_steps": _next_steps(out)})

    @mcp.tool(
        annotations=write(
            "Release source holds", destructive=True, idempotent=True, reaches_targets=False
        )
    )
    async def release_source_holds(
        tenant: Annotated[str, Field(description="Tenant id.")],
        ctx: Context,
        records: Annotated[
            list[str] | None,
            Field(
                max_length=500,
                description="Held records as TYPE:ID (person:..., group:..., school:...), "
                "from list_source_holds.",
            ),
        ] = None,
        release_all: Annotated[
            bool, Field(description="Release every hold of the tenant instead.")
        ] = False,
    ) -> CommandOut:
        """Release holds a rekey left: the next run retires (suspends, archives, removes the
        links of) what the source no longer lists, as for any leaver.

        Only after the user has confirmed that the records truly left. Name the records or
        give release_all=true, not both. The tenant's support tier must allow it.
        Next: start_sync(tenant) as a dry run to see what the next run would retire.
        Example: release_source_holds(tenant="alpha", records=["person:4f1c..."])
        """
        if bool(records) == release_all:
            raise ToolError("Name the held records (records=['TYPE:ID']) or give release_all=true.")
        keys: list[tuple[str, str]] | None = None
        if records:
            keys = []
            for n, record in enumerate(records):
                rtype, sep, key = record.partition(":")
                if not sep or rtype not in ("person", "group", "school") or not key:
                    raise ToolError(
                        f"records[{n}] is not TYPE:ID with TYPE one of person, group, school. "
                        "Call list_source_holds to see the held records."
                    )
                keys.append((rtype, key))
        ops, actor = await rt.writer(ctx)
        with ops_errors(TENANTS):
            result = await ops.source_release(tenant, keys)
        return from_view(CommandOut, result, actor=actor)
