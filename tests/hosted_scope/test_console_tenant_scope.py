"""The console (Pilot) over a real journal, as an engineer limited to alpha: the tenants list,
the runs and failures of every tenant and the search show alpha's rows only; beta cannot be
opened, nor its runs by number."""

from __future__ import annotations

from pathlib import Path

from console.tui.app import ConsoleApp
from console.tui.screens.run import RunScreen
from console.tui.widgets.table import RowTable
from engine.ops import Ops
from engine.tenant_scope import TenantScope
from tests.conftest import Workdir
from tests.console.console_support import notices, screen_text, settle
from tests.hosted_scope.scope_support import ME, OTHER, SERVED, config_text, fill_two


async def test_the_console_shows_and_opens_the_served_tenants_only(workdir: Workdir) -> None:
    workdir.config.write_text(
        config_text(f'[operators."{ME}"]\ntenants = ["alpha"]\n'), encoding="utf-8"
    )
    async with await Ops.open(workdir.config, actor="test:setup", scope=TenantScope()) as setup:
        other = await fill_two(setup.journal)
    async with await Ops.open(Path(workdir.config), actor=f"console:{ME}") as ops:
        app = ConsoleApp(ops, refresh_seconds=0, watch_seconds=0)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            tenants = app.screen.query_one(RowTable)
            assert [r.key for r in tenants.rows_all] == [SERVED]
            assert f"console:{ME} · 1 tenant(s)" in screen_text(app)  # the top bar says so
            for view, table in (("runs", "runs-table"), ("failures", "items-table")):
                app.run_command(view)
                await settle(pilot)
                rows = app.screen.query_one(f"#{table}", RowTable).rows_all
                assert rows and all(OTHER not in r.haystack for r in rows), view
            app.run_command(f"tenant {OTHER}")
            await settle(pilot)
            assert f"No tenant '{OTHER}' (tenants: {SERVED})" in notices(app)
            app.push_screen(RunScreen(other.run))
            await settle(pilot)
            assert f"no run {other.run};" in notices(app)
            assert "beta kommun" not in screen_text(app)
    async with await Ops.open(workdir.config, actor="test", scope=TenantScope()) as everyone:
        refused = [a for a in await everyone.audit(OTHER) if not a.allowed]
    assert [a.action for a in refused] == ["run_lookup"]
    assert refused[0].actor == f"console:{ME}"
