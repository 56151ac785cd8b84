"""Run log lines and findings written before a person became protected name them as they were
then; once protected, every front end (the facade, the command line, the console, the MCP
server) shows only the pseudonym in those old lines. The journal keeps the lines as written:
a front end never shows them unmasked."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from dataclasses import asdict, replace

from mcp import Client
from mcp.types import Implementation
from typer.testing import CliRunner

from console.cli import app as cli
from console.tui.app import ConsoleApp
from console.tui.screens.logs import LogsScreen
from engine.model import Person, Protection
from engine.ops import Ops
from engine.redact import pseudonym
from engine.testing.builder import tiny_snapshot
from server.app import build_server
from tests.conftest import Workdir
from tests.console.console_support import screen_text, settle


def protect_after_a_refused_run(workdir: Workdir) -> Person:
    """Run 1: the target refuses one pupil (its error lines name them); a target's message
    quoting their account name and a finding naming them are in that run too. Then they
    become protected and run 2 suspends them."""
    snap = tiny_snapshot(protected_share=0.0)
    members = {m.person_id for m in snap.memberships}
    person = next(p for p in snap.persons.values() if p.id in members and p.eppns)
    workdir.write(target=f'reject_keys = ["{person.id}"]')
    workdir.source(snap)

    async def runs() -> None:
        async with await Ops.open(workdir.config, actor="test") as ops:
            await ops.sync("alpha")
            with sqlite3.connect(workdir.journal) as db:
                db.execute(
                    "INSERT INTO events(tenant, run_id, at, level, message) VALUES "
                    "('alpha', 1, '2026-11-02T06:00:00.000+00:00', 'error', ?)",
                    (f"the service answered: {person.eppns[0]} is already taken",),
                )
                db.execute(  # a data finding of that run, as a source check writes them
                    "INSERT INTO findings(run_id, tenant, code, severity, record_type, "
                    "record_id, label, message, fix) VALUES (1, 'alpha', 'person.name_long', "
                    "'warning', 'person', ?, ?, ?, '')",
                    (person.id, person.display_name, f"{person.display_name} is too long"),
                )
            persons = dict(snap.persons)
            persons[person.id] = replace(person, protection=Protection.PROTECTED_REGISTRATION)
            workdir.source(replace(snap, persons=persons))
            await ops.sync("alpha")

    asyncio.run(runs())
    return person


def leaks(text: str, person: Person) -> list[str]:
    return [n for n in (person.display_name, person.eppns[0]) if n.casefold() in text.casefold()]


def test_old_lines_show_only_the_pseudonym_everywhere(workdir: Workdir) -> None:
    person = protect_after_a_refused_run(workdir)
    with sqlite3.connect(workdir.journal) as db:
        stored = "\n".join(r[0] for r in db.execute("SELECT message FROM events WHERE run_id=1"))
    assert person.display_name in stored and person.eppns[0] in stored  # as written then
    shown: dict[str, str] = {}

    async def facade_console_and_mcp() -> None:
        async with await Ops.open(workdir.config, actor="test") as ops:
            events = await ops.events(1)
            detail = await ops.run(1)
            findings = await ops.findings("alpha", run_id=1)
            explain = await ops.explain("alpha", "person", person.id)
            assert await ops.events(1, contains=person.display_name) == []
            shown["facade"] = json.dumps(
                [asdict(e) for e in events]
                + [asdict(e) for e in detail.timeline]
                + [asdict(f) for f in findings]
                + [asdict(f) for f in explain.findings],
                default=str,
                ensure_ascii=False,
            )
            assert any(pseudonym(person.id) in e.message for e in events)
            assert any(f.label == pseudonym(person.id) for f in findings)
            app = ConsoleApp(ops, refresh_seconds=0)
            async with app.run_test(size=(200, 60)) as pilot:
                await settle(pilot)
                app.push_screen(LogsScreen(1))
                await settle(pilot)
                shown["console"] = screen_text(app)
            server = build_server(ops, allow_writes=False, toolsets=None)
            async with Client(server, client_info=Implementation(name="t", version="1")) as c:
                log = await c.call_tool("search_run_log", {"run_id": 1, "limit": 200})
                res = await c.read_resource("ess://runs/1/log")
            shown["mcp"] = json.dumps(
                [log.model_dump(mode="json"), res.model_dump(mode="json")], ensure_ascii=False
            )

    asyncio.run(facade_console_and_mcp())
    runner = CliRunner()
    base = ["--config", str(workdir.config)]
    out = [runner.invoke(cli, [*base, *args]) for args in (["logs", "1"], ["show", "1"])]
    assert all(r.exit_code == 0 for r in out), [r.output for r in out]
    shown["cli"] = "\n".join(r.output for r in out)
    assert pseudonym(person.id) in shown["cli"]
    assert {where: leaks(text, person) for where, text in shown.items()} == {w: [] for w in shown}
