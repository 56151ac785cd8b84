"""Prompts: guided procedures an assistant can start from."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from pydantic import Field


def register(mcp: MCPServer[Any], toolsets: frozenset[str]) -> None:
    @mcp.prompt(title="Troubleshoot a tenant")
    def troubleshoot_tenant(
        tenant: Annotated[str, Field(description="Tenant id, as list_tenants shows it.")],
    ) -> str:
        """Walk through a tenant's health, last runs, failures, findings and held plans, and
        propose fixes."""
        steps = [
            f"1. Call tenant_status(tenant={tenant!r}) and read its health, last run and actions.",
            f"2. Call list_runs(tenant={tenant!r}, limit=5); for the latest run that is not"
            " succeeded, call get_run(run_id).",
            f"3. If failed items are open, call list_failures(tenant={tenant!r}) and group them"
            " by reason; for a few typical ones call explain_record.",
            f"4. Call list_findings(tenant={tenant!r}, severity='blocking'): these records are"
            " left out until fixed in the student administration system.",
            f"5. If the tenant is held, call list_held_plans(tenant={tenant!r}) and judge whether"
            " the removals are real (end of term) or a sign of a truncated source.",
        ]
        if "logs" in toolsets:
            steps.append(
                "6. For errors you cannot explain, call search_run_log(run_id, level='error')."
            )
        if "operations" in toolsets:
            steps.append(
                "7. Propose actions (retry_items, skip_items, approve_plan, reject_plan,"
                " start_sync with dry_run=true first) and ask the user before any write."
            )
        else:
            steps.append(
                "7. This server is read-only: propose actions for a support engineer to take in"
                " the ESS console."
            )
        return (
            f"Troubleshoot the ESS tenant {tenant!r}. Work through these steps with the ESS"
            " tools, then answer with: the state in one sentence, the causes found, and the"
            " actions you propose, most important first.\n\n"
            + "\n".join(steps)
            + "\n\nNever ask for or repeat personal identity numbers; refer to people by the"
            " labels the tools give."
        )
