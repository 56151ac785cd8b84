"""Rich renderings of the ops facade's views for the terminal, and the console they print on.

Every dynamic value goes in as :class:`rich.text.Text`, never as markup, so a name with
brackets in it prints as written, and with its control characters written out (``\x1b``), so
a name cannot move the cursor or recolour the terminal. :class:`SafeConsole` applies the same
rule to everything printed, whatever builds it. The views carry no personnummer and no secret;
this module prints only what they hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console, ConsoleOptions, Group, RenderableType
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from engine.display import visible
from engine.views import (
    AuditView,
    ElevationView,
    EventView,
    Explanation,
    FailureCause,
    FindingView,
    HeldPlanView,
    OperationView,
    RekeyReport,
    RunDetail,
    RunSummary,
    SearchHit,
    SourceCheck,
    SourceHoldView,
    TenantDetail,
    TenantHealth,
)

HEALTH_STYLE = {
    "ok": "green",
    "warning": "yellow",
    "failing": "red",
    "held": "magenta",
    "running": "cyan",
    "never_run": "dim",
}
STATUS_STYLE = {
    "succeeded": "green",
    "done": "green",
    "partial": "yellow",
    "running": "cyan",
    "held": "magenta",
    "failed": "red",
    "dead": "red",
    "blocked": "yellow",
    "rejected": "dim",
    "cancelled": "dim",
    "skipped": "dim",
    "active": "green",
    "pending_approval": "yellow",
    "expired": "dim",
    "revoked": "dim",
    "blocking": "red",
    "error": "red",
    "warning": "yellow",
    "info": "dim",
}
SUMMARY_COLUMNS = ("planned", "done", "failed", "dead", "blocked")


class SafeConsole(Console):
    """A rich console for data: strings are never read as markup, and no control character
    of what is printed reaches the terminal raw (rich's own cursor and colour codes are added
    after this, and are not touched)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("markup", False)
        super().__init__(**kwargs)

    def render(
        self, renderable: RenderableType, options: ConsoleOptions | None = None
    ) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            if segment.control or segment.text.isprintable():
                yield segment
            else:
                yield Segment(visible(segment.text), segment.style, segment.control)


def plain(value: object, style: str = "") -> Text:
    """A value as text: never markup, its control characters written out."""
    return Text(visible(str(value)), style=style)


def when(value: datetime | None) -> str:
    """A timestamp in local time, to the second; '-' when absent."""
    if value is None:
        return "-"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def when_in(value: datetime, zone: str | None = None) -> str:
    """A schedule's time in the tenant's zone, with the zone's name (a cron line is read in
    that zone, so it is shown in it); ``zone`` defaults to the time's own zone."""
    if zone is not None:
        value = value.astimezone(ZoneInfo(zone))
    name = getattr(value.tzinfo, "key", None) or value.strftime("%Z") or "UTC"
    return f"{value.strftime('%Y-%m-%d %H:%M:%S')} {name}"


def styled(value: str) -> Text:
    """A status word in its colour."""
    return Text(value, style=STATUS_STYLE.get(value, ""))


def _table(title: str | None, *columns: str) -> Table:
    table = Table(
        title=title,
        title_justify="left",
        show_edge=False,
        pad_edge=False,
        min_width=len(title) if title else None,
    )
    for c in columns:
        table.add_column(c, overflow="fold")
    return table


def _cell(value: Any) -> Text:
    if isinstance(value, Text):
        return value
    if value is None:
        return Text("-", style="dim")
    return plain(value)


def _row(table: Table, *values: Any) -> None:
    table.add_row(*(_cell(v) for v in values))


def tenants_table(rows: Sequence[TenantHealth]) -> Table:
    table = _table(
        None,
        "tenant",
        "tier",
        "health",
        "last run",
        "next run",
        "failed",
        "held",
        "blocking",
        "warnings",
    )
    for t in rows:
        last = t.last_run
        _row(
            table,
            t.id if not t.name or t.name == t.id else f"{t.id} ({t.name})",
            t.tier,
            Text(t.health, style=HEALTH_STYLE.get(t.health, "")),
            f"#{last.id} {last.status}" if last else None,
            when_in(t.next_run) if t.next_run else None,
            t.failed_items,
            t.held_plans,
            t.blocking_findings,
            t.warning_findings,
        )
    return table


def _pairs(title: str, pairs: Iterable[tuple[str, Any]]) -> Table:
    table = Table(
        title=title, title_justify="left", show_header=False, show_edge=False, min_width=len(title)
    )
    table.add_column("key", style="bold")
    table.add_column("value", overflow="fold")
    for k, v in pairs:
        table.add_row(plain(k), _cell(v))
    return table


def _flatten(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            rows.extend(_flatten(value, name + "."))
        elif isinstance(value, list | tuple):
            rows.append((name, ", ".join(str(v) for v in value) or None))
        elif isinstance(value, Mapping):
            rows.append((name, None))
        else:
            rows.append((name, value))
    return rows


def tenant_detail(detail: TenantDetail) -> RenderableType:
    h = detail.health
    facts = _pairs(
        f"tenant {h.id}",
        [
            ("name", h.name),
            ("tier", h.tier),
            ("health", Text(h.health, style=HEALTH_STYLE.get(h.health, ""))),
            ("source", h.source),
            ("targets", ", ".join(h.targets) or None),
            ("schedule", detail.schedule),
            ("timezone", detail.timezone),
            ("next run", when_in(h.next_run, detail.timezone) if h.next_run else None),
            ("last run", f"#{h.last_run.id} {h.last_run.status}" if h.last_run else None),
            ("failed items", h.failed_items),
            ("held plans", h.held_plans),
            ("findings", f"{h.blocking_findings} blocking, {h.warning_findings} warning"),
            ("elevation", _elevation_line(h.elevation) if h.elevation else None),
            *([("running on", h.running_on)] if h.running_on else []),
        ],
    )
    config = _pairs("configuration (secrets as references)", _flatten(detail.config))
    return Group(facts, Text(""), config)


def _elevation_line(e: ElevationView) -> str:
    return f"#{e.id} {e.status} until {when(e.expires_at)} ({e.actor}: {e.reason})"


def runs_table(rows: Sequence[RunSummary]) -> Table:
    table = _table(None, "run", "status", "trigger", "actor", "started", "took", *SUMMARY_COLUMNS)
    for r in rows:
        took = f"{r.duration_s:.1f}s" if r.duration_s is not None else None
        status = styled(r.status)
        if r.dry_run:
            kind = " (dry run, would be held)" if r.would_be_held else " (dry run)"
            status.append(kind, style="dim")
        _row(
            table,
            r.id,
            status,
            r.trigger,
            r.actor,
            when(r.started_at),
            took,
            *(r.counts.get(c, 0) for c in SUMMARY_COLUMNS),
        )
    return table


def run_summary(summary: RunSummary) -> Table:
    """The end-of-sync table: what was planned and what came of it, with the findings."""
    title = f"run #{summary.id} {summary.tenant}: {summary.status}"
    if summary.would_be_held:
        title = f"run #{summary.id} {summary.tenant}: dry run, a real run would be held"
    elif summary.dry_run:
        title += " (dry run: nothing applied)"
    table = _table(title, "targets", *SUMMARY_COLUMNS, "findings")
    findings = (
        f"{summary.counts.get('findings_blocking', 0)} blocking, "
        f"{summary.counts.get('findings_warning', 0)} warning"
    )
    _row(
        table,
        ", ".join(summary.targets) or None,
        *(summary.counts.get(c, 0) for c in SUMMARY_COLUMNS),
        findings,
    )
    return table


def run_detail(detail: RunDetail) -> RenderableType:
    s = detail.summary
    facts = _pairs(
        f"run #{s.id} of {s.tenant}",
        [
            ("status", styled(s.status)),
            ("dry run", "yes" if s.dry_run else "no"),
            ("trigger", s.trigger),
            ("actor", s.actor),
            *([("running on", s.running_on)] if s.running_on else []),
            ("targets", ", ".join(s.targets) or None),
            ("started", when(s.started_at)),
            ("finished", when(s.finished_at) if s.finished_at else None),
            ("progress", detail.progress.line() if detail.progress else None),
            ("error", s.error),
            ("findings", detail.findings),
            *((f"count {k}", v) for k, v in s.counts.items()),
        ],
    )
    ops = _table("operations", "status", "action", "kind", "count")
    for c in detail.operations:
        _row(ops, styled(c.status), c.action, c.kind, c.count)
    guard = _pairs("guard", _flatten(detail.guard) or [("verdict", "no verdict recorded")])
    timeline = _table("timeline", "at", "level", "message")
    for e in detail.timeline:
        _row(timeline, when(e.at), styled(e.level), e.message)
    return Group(facts, Text(""), ops, Text(""), guard, Text(""), timeline)


STATUS_ADVICE = {
    "dead": "dead: the target refused the data; fix the record in the source system, then "
    "`ess retry ITEM` (or let the next run pick it up)",
    "failed": "failed: kept failing on a passing cause; `ess retry ITEM` once the service is "
    "healthy, `ess skip ITEM --reason ...` if it keeps failing",
    "blocked": "blocked: waits for an item it depends on; retrying that item includes it",
}


def operations_table(rows: Sequence[OperationView], title: str | None = None) -> RenderableType:
    """Items, one or two lines each at 80 columns: what, where it stands and the last error;
    the advice once per status below the table, not once per row."""
    tenants = len({o.tenant for o in rows}) > 1
    table = _table(title)
    table.expand = True
    for column in ("item", "run", *(("tenant",) if tenants else ()), "status", "tries"):
        table.add_column(column, no_wrap=True)
    table.add_column("what", overflow="fold", ratio=3)
    table.add_column("last error", overflow="fold", ratio=2)
    for o in rows:
        what = f"{o.action} {o.kind} {o.label}" + (f" on {o.target}" if o.target else "")
        _row(
            table,
            o.id,
            o.run_id,
            *((o.tenant,) if tenants else ()),
            styled(o.status),
            o.attempts,
            what,
            _last_error(o),
        )
    advice = [STATUS_ADVICE[s] for s in STATUS_ADVICE if any(o.status == s for o in rows)]
    if not advice:
        return table
    return Group(table, Text("\n".join(advice), style="dim"))


def _last_error(o: OperationView) -> str | None:
    """The last error, and the service's request id of its answer for a ticket with the vendor."""
    text = o.last_error or o.reason or ""
    if o.request_id:
        text += f" (request-id {o.request_id})"
    return text or None


def causes_table(rows: Sequence[FailureCause]) -> RenderableType:
    """Open failures grouped by cause: how many, and the key that retries or skips them all."""
    table = _table(None)
    table.expand = True
    table.add_column("count", no_wrap=True, justify="right")
    table.add_column("status", no_wrap=True)
    table.add_column("cause (--cause KEY)", overflow="fold", ratio=2)
    table.add_column("example error", overflow="fold", ratio=2)
    for c in rows:
        _row(table, c.count, styled(c.status), c.key, c.example or None)
    tenant = rows[0].tenant if rows else "TENANT"
    hint = (
        f"`ess retry --tenant {tenant} --cause KEY` retries a cause; "
        f"`ess skip --tenant {tenant} --cause KEY --reason ...` skips it"
    )
    return Group(table, Text(hint, style="dim"))


def findings_table(rows: Sequence[FindingView], title: str | None = None) -> Table:
    """Findings; the id column only for stored ones (a source check stores none, id 0)."""
    stored = any(f.id for f in rows)
    columns = ("severity", "code", "record", "message", "fix")
    table = _table(title, *(("id", *columns) if stored else columns))
    for f in rows:
        record = f"{f.record_type} {f.label or f.record_id}"
        cells = (styled(f.severity), f.code, record, f.message, f.fix or None)
        _row(table, *((f.id, *cells) if stored else cells))
    return table


def held_plan(plan: HeldPlanView) -> RenderableType:
    reasons = Text("\n".join(f"- {r}" for r in plan.reasons) or "- (no reason recorded)")
    removals = _table("would remove", "what", "count")
    for what, n in sorted(plan.would_remove.items(), key=lambda kv: -kv[1]):
        _row(removals, what, n)
    parts: list[RenderableType] = [
        Text(f"run #{plan.run_id} of {plan.tenant} is held for approval", style="bold magenta"),
        Text(f"held at {when(plan.held_at)}; {plan.total_operations} operation(s) planned"),
        Text("why:", style="bold"),
        reasons,
        removals,
    ]
    if plan.examples:
        parts.append(Text("for example: " + ", ".join(plan.examples)))
    return Group(*parts)


def event_line(e: EventView) -> Text:
    line = Text(f"{when(e.at)} ")
    line.append(f"{e.level:<7}", style=STATUS_STYLE.get(e.level, ""))
    line.append(f" {e.message}")
    return line


def search_table(rows: Sequence[SearchHit]) -> Table:
    table = _table(None, "tenant", "type", "key", "label", "detail", "targets")
    for h in rows:
        targets = ", ".join(f"{t}: {tid or 'not created'}" for t, tid in h.targets.items())
        _row(table, h.tenant, h.record_type, h.key, h.label, h.detail, targets or None)
    return table


def explanation(ex: Explanation) -> RenderableType:
    parts: list[RenderableType] = [
        Text(f"{ex.record_type} {ex.label} ({ex.key}) in {ex.tenant}", style="bold"),
        Text(ex.summary),
        Text(""),
    ]
    if ex.source_record is None:
        parts.append(Text("source: the source no longer has this record", style="yellow"))
    else:
        parts.append(_pairs("source record", _flatten(ex.source_record)))
    for title, data in (("desired", ex.desired), ("observed", ex.observed)):
        rows = _flatten(data)
        parts.append(_pairs(title, rows) if rows else Text(f"{title}: nothing", style="dim"))
    if ex.findings:
        parts.append(findings_table(ex.findings, "findings"))
    if ex.operations:
        parts.append(operations_table(ex.operations, "operations"))
    return Group(*parts)


def audit_table(rows: Sequence[AuditView]) -> Table:
    table = _table(None, "id", "at", "actor", "action", "tenant", "allowed", "detail")
    for a in rows:
        allowed = Text("yes", style="green") if a.allowed else Text("refused", style="red")
        _row(table, a.id, when(a.at), a.actor, a.action, a.tenant, allowed, a.detail)
    return table


def elevations_table(rows: Sequence[ElevationView]) -> Table:
    table = _table(None, "id", "tenant", "status", "actor", "reason", "expires", "approved by")
    for e in rows:
        _row(
            table,
            e.id,
            e.tenant,
            styled(e.status),
            e.actor,
            e.reason,
            when(e.expires_at),
            e.approved_by,
        )
    return table


def counts_table(title: str | None, counts: Mapping[str, int]) -> Table:
    table = _table(title, "type", "count")
    for k, v in counts.items():
        _row(table, k, v)
    return table


def source_check(check: SourceCheck) -> RenderableType:
    parts: list[RenderableType] = [
        counts_table(f"source of {check.tenant} ({check.mode} read)", check.counts)
    ]
    if check.stats:
        parts.append(counts_table("read", check.stats))
    if check.findings:
        parts.append(findings_table(check.findings, "findings"))
    else:
        parts.append(Text("no findings", style="green"))
    return Group(*parts)


def rekey_report(report: RekeyReport) -> RenderableType:
    """``ess source rekey``: the mapping per record type, what stays held, what moved."""
    head = (
        f"rekey of {report.tenant} (dry run: nothing changed)"
        if report.dry_run
        else f"rekey of {report.tenant} applied"
    )
    table = _table(head, "record", "old source", "new source", "matched", "id moves", "new only")
    for rtype, plural in (("school", "schools"), ("person", "persons"), ("group", "groups")):
        _row(
            table,
            rtype,
            report.old_counts.get(plural, 0),
            report.new_counts.get(plural, 0),
            report.matched.get(rtype, 0),
            report.moving.get(rtype, 0),
            report.new_only.get(rtype, 0),
        )
    parts: list[RenderableType] = [table]
    if report.unmatched:
        held = _table("kept under their old ids and held", "reason", "record", "message", "fix")
        for u in report.unmatched:
            _row(held, styled(u.reason), f"{u.record_type} {u.label or u.old_id}", u.message, u.fix)
        parts.append(held)
    else:
        parts.append(Text("every old record matched", style="green"))
    if report.moved:
        parts.append(counts_table("journal rows moved", report.moved))
    return Group(*parts)


def holds_table(rows: Sequence[SourceHoldView]) -> Table:
    table = _table("held records", "record", "held at", "by", "reason")
    for h in rows:
        _row(table, f"{h.record_type}:{h.key}", when(h.held_at), h.actor, h.reason)
    return table
