"""The console app: navigation (`:` views, drill-down, back), auto-refresh, actions under policy.

Every read and write goes through :class:`engine.ops.Ops`. Policy is the facade's: the app asks
:meth:`Ops.can` to grey out what is refused and shows why; the command checks again anyway.
Long work runs in workers; a failure is notified and logged, never raised out of the app.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import ClassVar, TypeVar

from textual import work
from textual.actions import parse as parse_action
from textual.app import App
from textual.binding import Binding, BindingType
from textual.filter import LineFilter
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen
from textual.worker import WorkType

from console.tui import fmt
from console.tui.actions import ACTIONS, Target, unavailable
from console.tui.commands import ConsoleCommands
from console.tui.screens.base import ConsoleScreen
from console.tui.theme import CALM
from console.tui.widgets.dialogs import ConfirmDialog, ElevationDialog
from console.tui.widgets.help import HelpScreen, KeyHelp, key_display
from console.tui.widgets.visible import VisibleControls
from engine.ops import Ops, OpsError, WriteAction
from engine.views import Decision, HeldPlanView, OperationView, RunSummary, TenantHealth

T = TypeVar("T")

WRITES: tuple[WriteAction, ...] = ("sync", "retry", "skip", "approve", "reject")
READ_ONLY_REASON = "the console is read-only (started with --read-only)"

GENERIC_HELP = {
    "open": "Drill down into the selected row",
    "filter": "Show only rows holding a text (esc clears)",
    "back": "Close the filter or command bar, else go back one screen",
    "command_bar": "Go to a view: :tenants :runs :failures :logs :approvals :search",
    "help": "This help",
    "pause": "Pause or resume auto-refresh",
    "refresh": "Refresh now",
    "quit": "Leave the console",
    "tab": "Switch to tab N",
    "cycle": "Previous or next tab",
    "more": "Load the next page of a list that says N of M",
    "mark": "Mark or unmark the item (r and k then act on every marked item)",
    "mark_cause": "Mark every loaded item failing for the same cause as this one",
    "mark_all": "Mark every item shown (after / : every item holding the text)",
    "unmark": "Clear every mark",
}


_VISIBLE = VisibleControls()


class ConsoleApp(App[None]):
    """Operations console over one :class:`Ops` facade."""

    CSS_PATH = "console.tcss"
    TITLE = "ESS console"
    COMMANDS: ClassVar = App.COMMANDS | {ConsoleCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("colon", "command_bar", "Views", key_display=":", id="ess.command"),
        Binding("question_mark", "help", "Help", key_display="?", id="ess.help"),
        Binding("p", "pause", "Pause", id="ess.pause"),
        Binding("ctrl+r", "refresh", "Refresh", show=False, id="ess.refresh"),
        Binding("q", "quit", "Quit", show=False, id="ess.quit"),
    ]

    def __init__(
        self,
        ops: Ops,
        *,
        read_only: bool = False,
        refresh_seconds: float = 5.0,
        clock: fmt.Clock | None = None,
        watch_seconds: float = 1.0,
    ) -> None:
        super().__init__()
        self.ops = ops
        self.read_only = read_only or bool(getattr(ops, "read_only", False))
        self.refresh_seconds = refresh_seconds
        self.watch_seconds = watch_seconds
        self.marker: str | None = None  # the journal's change marker when last looked at
        self.clock = clock or fmt.system_clock
        self.paused = False
        self.health: dict[str, TenantHealth] = {}
        self.decisions: dict[tuple[WriteAction, str], Decision] = {}
        self._asking: set[str] = set()
        self.notices: list[tuple[str, str, str]] = []  # (severity, title, message), oldest first
        self.asking = 0  # dialogs an action is waiting on (tests settle around them)

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Textual's filters, and :class:`VisibleControls` for every line any widget draws."""
        return [*super().get_line_filters(), _VISIBLE]

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Show a toast and keep it in :attr:`notices` (toasts vanish; the record does not)."""
        self.notices.append((severity, title, message))
        self.log.info(f"[{severity}] {title}: {message}")
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    # ----- start-up and refresh -----
    def on_mount(self) -> None:
        from console.tui.screens.tenants import TenantsScreen

        self.register_theme(CALM)
        self.theme = CALM.name
        self.push_screen(TenantsScreen())
        watch: WorkType[bool] = self.check_changes  # a method, never a coroutine left unawaited
        self.run_worker(watch, group="watch", exit_on_error=False)
        if self.refresh_seconds > 0:
            self.set_interval(self.refresh_seconds, self.tick)
        if self.watch_seconds > 0:
            self.set_interval(self.watch_seconds, self.look_for_changes)

    def now(self) -> datetime:
        return self.clock()

    def console_screen(self) -> ConsoleScreen | None:
        for screen in reversed(self.screen_stack):
            if isinstance(screen, ConsoleScreen):
                return screen
        return None

    def tick(self) -> None:
        """The clock moved: reload the view in front if it shows ages or durations (not under
        a dialog). A change in the journal is caught sooner, by :meth:`look_for_changes`."""
        if self.paused or not isinstance(self.screen, ConsoleScreen):
            return
        if self.screen.CLOCK:
            self.screen.reload()

    def look_for_changes(self) -> None:
        """Look at the journal's change marker (cheap: no table is read)."""
        if not self.paused:
            watch: WorkType[bool] = self.check_changes  # replaced before it starts: no coroutine
            self.run_worker(watch, group="watch", exclusive=True, exit_on_error=False)

    async def check_changes(self) -> bool:
        """Reload the view in front and the policy answers when anything was committed to the
        journal since the last look, by anyone: this console, another one, the CLI, the
        scheduler or the MCP server. Views below reload when they come back to the front."""
        try:
            marker = await self.ops.change_marker()
        except Exception as exc:  # the next look tries again; a load shows the error itself
            self.log.warning(f"could not read the journal's change marker: {exc}")
            return False
        if marker == self.marker:
            return False
        first, self.marker = self.marker is None, marker
        if first:  # the screens load on mount; this only sets the starting point
            return False
        screen = self.screen
        if isinstance(screen, ConsoleScreen):
            screen.reload()
        known = sorted({tenant for _, tenant in self.decisions})
        if known:
            self._run_fetch(known)
        return True

    def action_refresh(self) -> None:
        screen = self.console_screen()
        if screen is not None:
            screen.reload()

    def action_pause(self) -> None:
        self.paused = not self.paused
        self.notify("Auto-refresh paused (p resumes)" if self.paused else "Auto-refresh resumed")
        screen = self.console_screen()
        if screen is not None:
            screen.update_topbar()

    async def load_tenants(self) -> list[TenantHealth]:
        tenants = await self.ops.tenants()
        self.health = {t.id: t for t in tenants}
        return tenants

    def remember(self, health: TenantHealth) -> None:
        self.health[health.id] = health

    def report_error(self, message: str, exc: BaseException) -> None:
        """Show a failure to the user and in the log; the console carries on."""
        self.log.error(f"{message}: {type(exc).__name__}: {exc}")
        if isinstance(exc, OpsError):
            self.notify(str(exc), title=message, severity="warning")
        else:
            self.notify(f"{type(exc).__name__}: {exc}", title=message, severity="error")

    # ----- navigation -----
    def go_back(self) -> None:
        if len(self.screen_stack) > 2:
            self.pop_screen()
        else:
            self.notify("This is the first screen; q leaves the console.")

    def switch_to(self, screen: ConsoleScreen | None) -> None:
        """A `:` view replaces everything above the tenants list, as k9s does."""
        while len(self.screen_stack) > 2:
            self.pop_screen()
        if screen is not None:
            self.push_screen(screen)

    def action_command_bar(self) -> None:
        screen = self.console_screen()
        if screen is not None and screen is self.screen:
            screen.open_command_bar()

    def run_command(self, text: str, origin: ConsoleScreen | None = None) -> None:
        """Carry out a `:` command such as ``runs alpha``, ``logs 12`` or ``search anna``."""
        from console.tui.screens.agents import AgentsScreen
        from console.tui.screens.approvals import ApprovalsScreen
        from console.tui.screens.failures import FailuresScreen
        from console.tui.screens.item import ItemScreen
        from console.tui.screens.run import RunScreen
        from console.tui.screens.runs import RunsScreen
        from console.tui.screens.search import SearchScreen
        from console.tui.screens.tenant import TenantScreen

        origin = origin or self.console_screen()
        parts = text.strip().lstrip(":").split(maxsplit=1)
        if not parts:
            return
        cmd, arg = parts[0].lower(), (parts[1].strip() if len(parts) > 1 else "")
        scope = origin.scope_tenant() if origin else None
        if cmd in ("tenants", "t", "tenant"):
            if not arg:
                self.switch_to(None)
            elif arg in self.health:
                self.switch_to(TenantScreen(arg))
            else:
                known = ", ".join(sorted(self.health)) or "none"
                self.notify(f"No tenant {arg!r} (tenants: {known})", severity="warning")
        elif cmd in ("runs", "r"):
            self.switch_to(RunsScreen(arg or scope))
        elif cmd in ("failures", "f", "failed"):
            self.switch_to(FailuresScreen(arg or scope))
        elif cmd in ("approvals", "a", "held"):
            self.switch_to(ApprovalsScreen())
        elif cmd in ("agents", "agent"):
            self.switch_to(AgentsScreen())
        elif cmd in ("search", "s", "find"):
            self.switch_to(SearchScreen(arg))
        elif cmd in ("logs", "l", "log", "run", "item", "op"):
            number = self._number(cmd, arg)
            if arg and number is None:
                return
            if cmd in ("item", "op"):
                if number is None:
                    self.notify(":item needs an item number, e.g. :item 42", severity="warning")
                else:
                    self.push_screen(ItemScreen(number))
                return
            run_id = number if number is not None else self._context_run(origin)
            if run_id is None:
                self.notify(f"No run in view: type :{cmd} RUN_NUMBER", severity="warning")
            elif cmd == "run":
                self.push_screen(RunScreen(run_id))
            else:
                from console.tui.screens.logs import LogsScreen

                self.push_screen(LogsScreen(run_id))
        elif cmd in ("help", "h"):
            self.action_help()
        elif cmd in ("quit", "q"):
            self.exit()
        else:
            self.notify(
                f"Unknown command {cmd!r}: try :tenants :runs :failures :logs :approvals "
                ":agents :search",
                severity="warning",
            )

    def _number(self, cmd: str, arg: str) -> int | None:
        if not arg:
            return None
        if arg.lstrip("#").isdigit():
            return int(arg.lstrip("#"))
        self.notify(f":{cmd} takes a number, not {arg!r}", severity="warning")
        return None

    def _context_run(self, origin: ConsoleScreen | None) -> int | None:
        if origin is None:
            return None
        run = origin.context_run()
        if run is not None:
            return run
        tenant = origin.context_tenant()
        health = self.health.get(tenant) if tenant else None
        if health is None:
            health = next((t for t in self.health.values() if t.last_run), None)
        return health.last_run.id if health and health.last_run else None

    # ----- help -----
    def action_help(self) -> None:
        screen = self.console_screen()
        if screen is None or screen is not self.screen:
            return
        keys: list[KeyHelp] = []
        seen: set[tuple[str, str, tuple[object, ...]]] = set()
        for _, binding in [*screen._bindings, *self._bindings]:
            _, name, params = parse_action(binding.action)
            if name == "refused" or (binding.key, name, params) in seen:
                continue
            if name != "do" and name not in GENERIC_HELP and not binding.show:
                continue
            seen.add((binding.key, name, params))
            if name == "do" and params:
                action = str(params[0])
                spec = ACTIONS[action]
                target = screen.target(action)
                state = self.action_state(action, target)
                keys.append(
                    KeyHelp(
                        spec.key,
                        spec.label,
                        spec.help,
                        state is not None,
                        self.refusal(action, target) if state is None else "",
                    )
                )
            else:
                about = GENERIC_HELP.get(name) or binding.tooltip or binding.description
                keys.append(KeyHelp(key_display(binding), binding.description or name, about, True))
        keys.append(KeyHelp("ctrl+p", "Palette", "Search views, tenants and these actions", True))
        self.push_screen(HelpScreen(screen.crumb(), screen.ABOUT, keys))

    # ----- policy -----
    def action_state(self, name: str, target: Target) -> bool | None:
        """True: allowed; None: shown but off (the reason is in :meth:`refusal`)."""
        if target.unavailable:
            return None
        spec = ACTIONS[name]
        if name == "elevate" and self.read_only:
            return None
        if spec.write is None:
            return True
        if self.read_only:
            return None
        if not target.tenant:
            return True
        decision = self.decisions.get((spec.write, target.tenant))
        if decision is None:
            self._ask_policy(target.tenant)
            return True
        return True if decision.allowed else None

    def refusal(self, name: str, target: Target) -> str:
        if target.unavailable:
            return target.unavailable
        spec = ACTIONS[name]
        if self.read_only and (spec.write or name == "elevate"):
            return READ_ONLY_REASON
        if spec.write and target.tenant:
            decision = self.decisions.get((spec.write, target.tenant))
            if decision is not None and not decision.allowed:
                return decision.reason
        return ""

    def _ask_policy(self, tenant: str) -> None:
        if tenant in self._asking:
            return
        self._asking.add(tenant)
        self._run_fetch([tenant])

    def _run_fetch(self, tenants: list[str]) -> None:
        """Ask policy in a worker that makes its coroutine only when it starts (an app closed
        before then leaves none unawaited)."""
        fetch: WorkType[None] = partial(self._fetch_decisions, tenants)
        self.run_worker(fetch, group="policy", exit_on_error=False)

    async def _fetch_decisions(self, tenants: list[str]) -> None:
        try:
            for tenant in tenants:
                for write in WRITES:
                    self.decisions[(write, tenant)] = await self.ops.can(write, tenant)
        except Exception as exc:
            self.report_error("Could not check the policy", exc)
        finally:
            self._asking.difference_update(tenants)
        screen = self.console_screen()
        if screen is not None:
            screen.refresh_bindings()

    # ----- targets the screens hand over -----
    def elevation_target(self, tenant: str) -> Target:
        health = self.health.get(tenant)
        if health is None:
            return unavailable("tenant not loaded yet")
        if health.tier == "bronze":
            return unavailable("bronze tenants need no elevation")
        ev = health.elevation
        if ev is not None and ev.status == "active":
            return unavailable(f"elevation #{ev.id} is active {fmt.age(ev.expires_at, self.now())}")
        if ev is not None and ev.status == "pending_approval":
            return unavailable(f"elevation #{ev.id} waits for the customer's approval")
        return Target(tenant=tenant, summary=f"Ask for an elevation on {tenant}.")

    def item_target(
        self, action: str, op: OperationView, *, record: tuple[str, str] | None = None
    ) -> Target:
        if action == "explain":
            rtype, rkey = record or ("", "")
            return Target(tenant=op.tenant, op_ids=(op.id,), record_type=rtype, record_key=rkey)
        verb = "retried" if action == "retry" else "skipped"
        if op.superseded and op.status in fmt.PROBLEM_STATUSES:
            return unavailable(
                f"item {op.id} was tried again in a later run (or skipped); look there"
            )
        if op.status not in fmt.PROBLEM_STATUSES:
            return unavailable(f"item {op.id} is {op.status}; only failed items can be {verb}")
        head = "Retry" if action == "retry" else "Skip"
        summary = (
            f"{head} 1 {op.status} item of run {op.run_id} in tenant {op.tenant}:\n"
            f"{op.action} {op.kind} {op.label!r} on {op.target} (item {op.id})."
        )
        if action == "retry" and op.status == "dead":
            summary += "\nThe target refused it before: unless the data was fixed it fails again."
        if action == "skip":
            summary += "\nESS stops trying it until its source record changes."
        return Target(tenant=op.tenant, op_ids=(op.id,), run_id=op.run_id, summary=summary)

    def run_retry_target(
        self, run: RunSummary, open_failures: int | None = None, *, action: str = "retry_run"
    ) -> Target:
        """Retry (or skip) all of a run; ``open_failures`` (the run's detail counts them now)
        wins over the counts the run ended with, which an item retried or skipped since leaves
        behind. The action counts the open failures again before it asks."""
        n = sum(run.counts.get(s, 0) for s in fmt.PROBLEM_STATUSES)
        if open_failures is not None:
            n = open_failures
            if n == 0:
                return unavailable(f"run {run.id} has no open failed items")
        if n == 0:
            return unavailable(f"run {run.id} has no failed items")
        head = "Retry" if action == "retry_run" else "Skip"
        return Target(
            tenant=run.tenant,
            run_id=run.id,
            summary=f"{head} {n} failed items of run {run.id} in tenant {run.tenant}.",
        )

    def items_target(self, action: str, items: Sequence[OperationView]) -> Target:
        """Retry or skip marked items: the open failures among them, of one tenant."""
        tenants = sorted({o.tenant for o in items})
        if len(tenants) > 1:
            return unavailable(
                f"the marked items belong to {len(tenants)} tenants ({', '.join(tenants)}); "
                "mark one tenant's items at a time"
            )
        chosen = [o for o in items if o.open]
        if not chosen:
            return unavailable(f"none of the {len(items)} marked items is an open failure")
        head = "Retry" if action == "retry" else "Skip"
        runs = sorted({o.run_id for o in chosen})
        where = f"run {runs[0]}" if len(runs) == 1 else f"{len(runs)} runs"
        lines = [f"{head} {len(chosen)} marked items of {where} in tenant {tenants[0]}:"]
        causes: dict[tuple[str, str, str, str, str], int] = {}
        for o in chosen:
            causes[fmt.cause(o)] = causes.get(fmt.cause(o), 0) + 1
        for cause, n in sorted(causes.items(), key=lambda c: -c[1])[:4]:
            lines.append(f"  {n} × {' '.join(cause)}")
        if len(causes) > 4:
            lines.append(f"  and {len(causes) - 4} more causes")
        left = len(items) - len(chosen)
        if left:
            lines.append(f"{left} marked items are not open failures and are left out.")
        if action == "skip":
            lines.append("ESS stops trying them until their source records change.")
        return Target(
            tenant=tenants[0], op_ids=tuple(o.id for o in chosen), summary="\n".join(lines)
        )

    def held_target(
        self, action: str, tenant: str, run_id: int, plan: HeldPlanView | None = None
    ) -> Target:
        if action == "approve":
            summary = f"Approve the held plan of run {run_id} in tenant {tenant}: apply it now."
            if plan is not None:
                summary = (
                    f"Approve the held plan of run {run_id} in tenant {tenant}: apply "
                    f"{plan.total_operations} operations, among them {fmt.removals(plan)}."
                )
        else:
            summary = (
                f"Reject the held plan of run {run_id} in tenant {tenant}: nothing of it is "
                "applied and the plan is closed."
            )
        return Target(tenant=tenant, run_id=run_id, summary=summary)

    # ----- actions -----
    def trigger(self, name: str, target: Target) -> None:
        """Run an action from a key or the palette; a refused one is explained, not hidden."""
        spec = ACTIONS[name]
        if target.unavailable:
            self.notify(
                target.unavailable, title=f"{spec.label}: not available", severity="warning"
            )
            return
        if name == "logs" and target.run_id is not None:
            from console.tui.screens.logs import LogsScreen

            self.push_screen(LogsScreen(target.run_id))
            return
        if name == "copy_id":
            self.copy_to_clipboard(target.text)
            self.notify(f"Copied {target.summary or target.text} ({target.text})")
            return
        self.perform(name, target)

    @work(group="action", exit_on_error=False)
    async def perform(self, name: str, target: Target) -> None:
        spec = ACTIONS[name]
        try:
            await self._perform(name, target)
        except OpsError as exc:
            self.report_error(f"{spec.label} refused", exc)
        except Exception as exc:
            self.report_error(f"{spec.label} failed", exc)
        finally:
            self.action_refresh()

    async def _perform(self, name: str, target: Target) -> None:
        spec = ACTIONS[name]
        tenant = target.tenant or ""
        if name == "explain":
            await self._explain(target)
            return
        if name == "elevate":
            if self.read_only:
                self.notify(READ_ONLY_REASON, title="Elevate refused", severity="warning")
                return
            await self._elevate(tenant, "")
            return
        if name == "dry_run":
            self.notify(f"Planning {tenant}; nothing is applied.", title="Dry run started")
            run = await self.ops.sync(tenant, dry_run=True, trigger="console")
            self._announce(f"Dry run of {tenant}", run)
            return
        assert spec.write is not None
        if not await self._allowed(name, spec.write, tenant):
            return
        op_ids = target.op_ids
        summary = target.summary
        if name in ("retry_run", "skip_run") and target.run_id is not None:
            op_ids = await self._open_problems(target.run_id)
            if not op_ids:
                self.notify(f"Run {target.run_id} has no open failed items.")
                return
            head = "Retry" if name == "retry_run" else "Skip"
            summary = (
                f"{head} {len(op_ids)} failed items of run {target.run_id} in tenant {tenant}."
            )
            if name == "skip_run":
                summary += "\nESS stops trying them until their source records change."
        if name == "approve" and target.run_id is not None:
            plans = {p.run_id: p for p in await self.ops.held_plans(tenant)}
            if target.run_id in plans:
                plan = plans[target.run_id]
                summary = self.held_target("approve", tenant, target.run_id, plan).summary
        answer = await self.ask(
            ConfirmDialog(
                f"{spec.label}?",
                summary + self._elevation_note(tenant),
                confirm_label=spec.label,
                ask_reason=name in ("approve", "reject"),
                need_reason=name in ("skip", "skip_run"),
                danger=name in ("approve", "reject", "skip", "skip_run"),
            )
        )
        if answer is None:
            self.notify("Nothing was changed.", title=f"{spec.label} cancelled")
            return
        if name == "retry_run" and target.run_id is not None:
            result = await self.ops.retry_run(target.run_id)
            self._result(spec.label, result.ok, result.message)
        elif name == "retry":
            result = await self.ops.retry(op_ids)
            self._result(spec.label, result.ok, result.message)
        elif name in ("skip", "skip_run"):
            result = await self.ops.skip(op_ids, reason=answer.reason)
            self._result(spec.label, result.ok, result.message)
        elif name == "reject" and target.run_id is not None:
            result = await self.ops.reject(target.run_id, reason=answer.reason)
            self._result(spec.label, result.ok, result.message)
        elif name == "approve" and target.run_id is not None:
            self.notify(f"Applying the plan of run {target.run_id}…", title="Approved")
            run = await self.ops.approve(target.run_id, reason=answer.reason)
            self._announce(f"Approved plan of {tenant}", run)
        elif name == "sync":
            self.notify(f"Sync of {tenant} started.", title="Sync")
            run = await self.ops.sync(tenant, trigger="console")
            self._announce(f"Sync of {tenant}", run)
        if name in ("retry", "skip") and len(op_ids) > 1:
            self._clear_marks()

    def _clear_marks(self) -> None:
        """After a bulk action its marks are spent (rows that stay, e.g. in a run, unmark)."""
        screen = self.console_screen()
        if screen is not None:
            screen.action_unmark()

    async def ask(self, dialog: ModalScreen[T]) -> T | None:
        """Show a dialog from an action worker and wait for the answer."""
        self.asking += 1
        try:
            return await self.push_screen_wait(dialog)
        finally:
            self.asking -= 1

    def _announce(self, what: str, run: RunSummary) -> None:
        keys = ("planned", "done", "failed", "dead", "blocked")
        good = run.status in ("succeeded", "running")
        self.notify(
            f"run {run.id} {run.status}: {fmt.counts(run.counts, keys)}",
            title=what,
            severity="information" if good else "warning",
        )

    def _result(self, label: str, ok: bool, message: str) -> None:
        title = label if ok else f"{label}: not done"
        self.notify(message, title=title, severity="information" if ok else "warning")

    def _elevation_note(self, tenant: str) -> str:
        health = self.health.get(tenant)
        ev = health.elevation if health else None
        if ev is not None and ev.status == "active":
            ends = fmt.age(ev.expires_at, self.now())
            return f"\n\nUnder elevation #{ev.id} ({ev.reason}), ends {ends}."
        return ""

    async def _open_problems(self, run_id: int) -> tuple[int, ...]:
        return tuple(o.id for o in await self.ops.open_failures(run_id))

    async def _allowed(self, name: str, write: WriteAction, tenant: str) -> bool:
        """Ask the facade; offer an elevation where the tier wants one. Refusals are notified."""
        label = ACTIONS[name].label
        if self.read_only:
            self.notify(READ_ONLY_REASON, title=f"{label} refused", severity="warning")
            return False
        decision = await self.ops.can(write, tenant)
        self.decisions[(write, tenant)] = decision
        if decision.allowed:
            return True
        if tenant not in self.health:
            await self.load_tenants()
        health = self.health.get(tenant)
        if health is not None and health.tier in ("silver", "gold"):
            ev = health.elevation
            if ev is not None and ev.status == "pending_approval":
                self.notify(
                    f"{decision.reason}\nElevation #{ev.id} asked by {ev.actor} waits for the "
                    "customer's approval.",
                    title=f"{label} refused",
                    severity="warning",
                )
                return False
            if ev is None or ev.status != "active":
                if not await self._elevate(tenant, decision.reason):
                    return False
                decision = await self.ops.can(write, tenant)
                self.decisions[(write, tenant)] = decision
                if decision.allowed:
                    return True
        self.notify(decision.reason, title=f"{label} refused", severity="warning")
        return False

    async def _elevate(self, tenant: str, refusal: str) -> bool:
        """Ask for an elevation; True when it is active now (silver), False while it waits."""
        health = self.health.get(tenant)
        if health is None or health.tier == "bronze":
            self.notify(f"{tenant} needs no elevation: its tier allows writes.")
            return False
        request = await self.ask(
            ElevationDialog(tenant, health.tier, refusal or f"{tenant} is a {health.tier} tenant.")
        )
        if request is None:
            self.notify("No elevation was asked for; nothing was changed.", title="Cancelled")
            return False
        ev = await self.ops.elevate(tenant, reason=request.reason, minutes=request.minutes)
        await self.load_tenants()
        await self._fetch_decisions([tenant])
        if ev.status == "active":
            self.notify(
                f"Elevation #{ev.id} on {tenant} is active until {fmt.clock_time(ev.expires_at)}.",
                title="Elevated",
            )
            return True
        self.notify(
            f"Elevation #{ev.id} on {tenant} waits for the customer's approval; writes stay "
            "refused until it is approved.",
            title="Elevation requested",
            severity="warning",
        )
        return False

    async def _explain(self, target: Target) -> None:
        from console.tui.screens.explain import ExplainScreen

        rtype, rkey = target.record_type, target.record_key
        if not rtype and target.op_ids:
            detail = await self.ops.operation(target.op_ids[0])
            rtype, rkey = detail.record_type, detail.record_key
        if not rtype or target.tenant is None:
            self.notify("Nothing to explain here.", severity="warning")
            return
        await self.push_screen(ExplainScreen(target.tenant, rtype, rkey))


def run_console(config_path: Path | None, *, read_only: bool, actor: str) -> None:
    """Open the facade on ``config_path``, run the console until quit, close the facade."""
    from engine.config import ConfigError, load

    try:
        loaded = load(config_path)
    except ConfigError as exc:
        print(f"ess console: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    settings = loaded.config.console
    read_only = read_only or settings.read_only

    async def main() -> None:
        ops = await Ops.open(loaded.path, actor=actor, read_only=read_only)
        try:
            app = ConsoleApp(ops, read_only=read_only, refresh_seconds=settings.refresh_seconds)
            await app.run_async()
        finally:
            await ops.close()

    try:
        asyncio.run(main())
    except OpsError as exc:
        print(f"ess console: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
