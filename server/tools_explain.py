"""The explain toolset: find a person or group, and trace one record from source to target."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from server.annotations import read_only
from server.models import (
    ExplanationOut,
    FindingOut,
    OperationOut,
    SearchHitOut,
    SearchResult,
    from_view,
)
from server.runtime import Runtime, ops_errors
from server.scrub import scrub

SEARCH_CAP = 200

Query = Annotated[
    str,
    Field(min_length=2, max_length=200, description="Name, user name, email or source id."),
]
TenantFilter = Annotated[str | None, Field(description="Tenant id; omit to search every tenant.")]
SearchLimit = Annotated[int, Field(ge=1, le=50, description="At most 50.")]


def register(mcp: MCPServer[Any], rt: Runtime) -> None:
    async def search(record_type: str, query: str, tenant: str | None, limit: int) -> SearchResult:
        with ops_errors("Check the tenant id with list_tenants, or change the query."):
            rows = await rt.ops.search(query, tenant_id=tenant, limit=SEARCH_CAP)
        hits = [h for h in rows if h.record_type == record_type]
        page = hits[:limit]
        cut = len(hits) > limit or len(rows) >= SEARCH_CAP
        return SearchResult(
            hits=[from_view(SearchHitOut, h) for h in page],
            note=(
                f"Showing {len(page)} matches; there may be more. Give a longer query or a "
                "tenant to narrow."
                if cut
                else (None if page else "No match. Try part of the name, or the user name.")
            ),
        )

    @mcp.tool(annotations=read_only("Find person"))
    async def find_person(
        query: Query, tenant: TenantFilter = None, limit: SearchLimit = 10
    ) -> SearchResult:
        """Find pupils and staff by name, user name (eduPersonPrincipalName), email or source id.

        Use it for questions like "where is Alva Berg, and why has she no account?". Each hit
        gives the tenant, the source id (`key`), a label (protected identities are masked) and
        the person's id in each target (null when not created there).
        Next: explain_record(tenant, record_type="person", key) for the full story.
        Example: find_person(query="alva berg", tenant="alpha")
        """
        return await search("person", query, tenant, limit)

    @mcp.tool(annotations=read_only("Find group"))
    async def find_group(
        query: Query, tenant: TenantFilter = None, limit: SearchLimit = 10
    ) -> SearchResult:
        """Find classes and teaching groups by name or source id.

        Use it to check whether a class has its Team or Classroom. Each hit gives the tenant,
        the source id (`key`), the group type and the group's id in each target.
        Next: explain_record(tenant, record_type="group", key).
        Example: find_group(query="7A", tenant="alpha")
        """
        return await search("group", query, tenant, limit)

    @mcp.tool(annotations=read_only("Explain record"))
    async def explain_record(
        tenant: Annotated[str, Field(description="Tenant id.")],
        record_type: Annotated[
            Literal["person", "group", "school"], Field(description="What kind of record.")
        ],
        key: Annotated[str, Field(description="Source id, from find_person or find_group.")],
    ) -> ExplanationOut:
        """Trace one record from the source to each target: the source record (redacted), its
        findings, the desired state per target, what ESS last observed there (target id and
        state), and every operation on it with its status.

        Use it to answer "why is this pupil missing from Teams?" or "why was this account
        suspended?"; `summary` gives the short answer.
        Next: for failed operations, retry_items or skip_items (operations toolset); for
        findings, fix the record in the student administration system.
        Example: explain_record(tenant="alpha", record_type="person", key="3f6c...")
        """
        with ops_errors("Use find_person or find_group to get the tenant and key."):
            ex = await rt.ops.explain(tenant, record_type, key)
        return ExplanationOut(
            tenant=ex.tenant,
            record_type=ex.record_type,
            key=ex.key,
            label=scrub(ex.label),
            source_record=scrub(ex.source_record),
            findings=[from_view(FindingOut, f) for f in ex.findings],
            desired=scrub(ex.desired),
            observed=scrub(ex.observed),
            operations=[from_view(OperationOut, o) for o in ex.operations],
            summary=scrub(ex.summary),
        )
