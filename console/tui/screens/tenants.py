"""Tenants: every tenant's health at a glance, trouble first (the facade sorts)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.widgets import Static

from console.tui import fmt
from console.tui.actions import Target, bindings, unavailable
from console.tui.screens.base import ConsoleScreen
from console.tui.widgets.table import Row, RowTable
from engine.views import TenantHealth

COLUMNS = (
    "Tenant",
    "Health",
    "Tier",
    "Last run",
    "Age",
    "Counts",
    "Next run",
    "Failed",
    "Held",
    "Findings",
    "Elevation",
)

TIER_COLOURS = {"bronze": "#c8a27a", "silver": "#b8c4d0", "gold": "#e0c060"}


def tenant_row(t: TenantHealth, now: datetime) -> Row:
    run = t.last_run
    last = Text("never", style=fmt.DIM) if run is None else fmt.status(run.status)
    if run is not None:
        last = Text.assemble(f"#{run.id} ", last)
    findings = Text()
    if t.blocking_findings:
        findings.append(f"{t.blocking_findings} blocking", style=fmt.BAD)
    if t.warning_findings:
        findings.append((" " if findings else "") + f"{t.warning_findings} warn", style=fmt.WARN)
    return Row(
        t.id,
        (
            Text(t.id, style="bold"),
            fmt.status(t.health),
            Text(t.tier, style=TIER_COLOURS.get(t.tier, "")),
            last,
            fmt.age(run.started_at, now) if run else "-",
            fmt.counts(run.counts, ("done", "failed", "dead", "blocked")) if run else "-",
            fmt.age(t.next_run, now),
            Text(str(t.failed_items), style=fmt.BAD if t.failed_items else fmt.DIM),
            Text(str(t.held_plans), style=fmt.HELD if t.held_plans else fmt.DIM),
            findings or Text("-", style=fmt.DIM),
            fmt.elevation(t.elevation, now),
        ),
    )


class TenantsScreen(ConsoleScreen):
    CRUMB = "Tenants"
    ABOUT = (
        "Every tenant's last run, next scheduled run, open failed items, held plans, findings, "
        "support tier and elevation. Tenants in trouble come first. Enter opens a tenant."
    )
    ACTIONS = ("sync", "dry_run", "elevate", "logs", "copy_id")
    BINDINGS: ClassVar[list[BindingType]] = bindings(*ACTIONS)

    def compose_body(self) -> ComposeResult:
        yield Static(id="summary")
        yield RowTable(
            COLUMNS,
            empty="no tenants in the configuration",
            id="tenants",
            optional=("Elevation", "Tier", "Next run", "Findings"),
        )

    async def load(self) -> None:
        tenants = await self.console.load_tenants()
        now = self.console.now()
        self.query_one("#tenants", RowTable).set_rows(tenant_row(t, now) for t in tenants)
        trouble = {h: sum(1 for t in tenants if t.health == h) for h in ("failing", "held")}
        line = Text(f"{len(tenants)} tenants", style="bold")
        for health, n in trouble.items():
            if n:
                line.append("  ·  ")
                line.append(f"{n} {health}", style=fmt.STATUS_COLOURS[health])
        active = [t for t in tenants if t.elevation and t.elevation.status == "active"]
        for t in active:
            assert t.elevation is not None
            line.append("  ·  ")
            line.append(
                f"elevated: {t.id} until {fmt.clock_time(t.elevation.expires_at)}", style=fmt.OK
            )
        self.query_one("#summary", Static).update(line)

    def open_row(self, table_id: str, key: str) -> None:
        from console.tui.screens.tenant import TenantScreen

        self.app.push_screen(TenantScreen(key))

    def context_tenant(self) -> str | None:
        return self.selected()

    def target(self, action: str) -> Target:
        tid = self.selected()
        if tid is None:
            return unavailable("no tenant selected")
        health = self.console.health.get(tid)
        if action == "sync":
            targets = ", ".join(health.targets) if health else ""
            return Target(tenant=tid, summary=f"Sync tenant {tid} now (targets: {targets}).")
        if action == "dry_run":
            return Target(tenant=tid, summary=f"Plan tenant {tid} without applying anything.")
        if action == "elevate":
            return self.console.elevation_target(tid)
        if action == "logs":
            if health is None or health.last_run is None:
                return unavailable(f"{tid} has never run")
            return Target(tenant=tid, run_id=health.last_run.id)
        if action == "copy_id":
            return Target(tenant=tid, text=tid)
        return unavailable("not on this screen")
