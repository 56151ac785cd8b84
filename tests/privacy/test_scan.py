"""The scan: after a full sync from an SS 12000 source (a small municipality on the sandbox)
that was killed half-way and recovered, and a pupil given a protected identity, nothing ESS
wrote or showed holds a personnummer, that pupil's real name or account name, or a secret: not
the journal file, not the scheduler's log file, not the command line, the console (Pilot) or
the MCP server's answers."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.types import Implementation
from typer.testing import CliRunner

from adapters.ss12000.sample.dataset import Dataset
from adapters.ss12000.sample.generate import generate
from adapters.ss12000.sandbox import SS12000Sandbox
from console.cli import app as cli
from console.tui.app import ConsoleApp
from console.tui.screens.logs import LogsScreen
from console.tui.screens.search import SearchScreen
from engine.display import PERSONNUMMER
from engine.ops import Ops
from server.app import build_server
from tests.console.console_support import screen_text, settle

ROOT = Path(__file__).resolve().parents[2]
HASHES = re.compile(r"hmac-sha256[a-z-]*:[0-9a-f]{64}")
CIVIC_KEY = "civic key of the scan, long enough"
MCP_TOKEN = "mcp-token-of-the-scan-0123456789"


def journal_text(db: Path) -> str:
    out: list[str] = []
    with sqlite3.connect(db) as conn:
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'"):
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                out += [
                    v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in row
                ]
    return "\n".join(out)


def write_config(folder: Path, sandbox: SS12000Sandbox) -> Path:
    info = sandbox.info
    (folder / "civic.key").write_text(CIVIC_KEY, encoding="utf-8")
    (folder / "ss12000.secret").write_text(info.client_secret, encoding="utf-8")
    (folder / "mcp.token").write_text(MCP_TOKEN, encoding="utf-8")
    config = folder / "ess.toml"
    config.write_text(
        f"""
[journal]
path = "ess.db"

[privacy]
civic_key = "file:civic.key"

[mcp.tokens.scan]
token = "file:mcp.token"

[tenants.scan]
name = "Scan kommun"
schedule = "* * * * *"

[tenants.scan.source]
type = "ss12000"
profile = "{info.profile}"
base_url = "{info.base_url}"
token_url = "{info.token_url}"
client_id = "{info.client_id}"
client_secret = "file:ss12000.secret"

[tenants.scan.targets.mem]
type = "memory"
state = "target.json"
batch_size = 10
""",
        encoding="utf-8",
    )
    return config


def protect(sandbox: SS12000Sandbox, person_id: str) -> None:
    """The source gives one pupil a protected identity now (the sandbox serves the change with
    a fresh modified time, as a registry update would come)."""
    old: Dataset = sandbox.dataset
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    persons = [
        {**p, "securityMarking": "Skyddad folkbokföring", "meta": {**p["meta"], "modified": stamp}}
        if p["id"] == person_id
        else p
        for p in old.entities["persons"]
    ]
    # the sandbox has no public call for one record's change: set what it serves and publish
    sandbox._served.dataset = Dataset(
        {**old.entities, "persons": persons}, old.deletions, old.manifest
    )
    sandbox._publish()


def crashed_then_resumed(config: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ESS_CRASH_AT": "after_mark:2"}
    script = [sys.executable, str(ROOT / "tests/engine/sync_once.py"), str(config), "scan"]
    crashed = subprocess.run(script, env=env, capture_output=True, text=True, timeout=120)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    del env["ESS_CRASH_AT"]
    again = subprocess.run(script, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert again.stdout.split()[1] == "succeeded", again.stdout


def test_nothing_written_or_shown_holds_a_personnummer_a_protected_name_or_a_secret(
    tmp_path: Path,
) -> None:
    dataset = generate(30, 11, datetime.now(UTC).date() - timedelta(days=7))
    civic = {p["civicNo"]["value"] for p in dataset.entities["persons"] if p.get("civicNo")}
    assert len(civic) > 25
    with SS12000Sandbox(dataset) as sandbox:
        client_secret = sandbox.start().client_secret
        config = write_config(tmp_path, sandbox)
        crashed_then_resumed(config)
        with sqlite3.connect(tmp_path / "ess.db") as db:
            assert "was interrupted; resuming" in "\n".join(
                r[0] for r in db.execute("SELECT message FROM events")
            )
            synced = {r[0] for r in db.execute("SELECT key FROM mirror WHERE kind='user'")}
        pupil = next(
            p
            for p in dataset.entities["persons"]
            if p["id"] in synced and p.get("eduPersonPrincipalNames") and p.get("civicNo")
        )
        protect(sandbox, pupil["id"])
        runner = CliRunner()
        base = ["--config", str(config)]
        log_file = tmp_path / "scheduler.log"
        result = runner.invoke(cli, [*base, "scheduler", "--once", "--log-file", str(log_file)])
        assert result.exit_code == 0, result.output
        printed = [result.output, log_file.read_text(encoding="utf-8")]
        for args in (
            ["status"],
            ["runs", "scan"],
            *(["show", str(n)] for n in (1, 2, 3)),
            *(["logs", str(n)] for n in (1, 2, 3)),
            ["findings", "scan"],
            ["failures", "scan"],
            ["audit", "list"],
            ["search", pupil["familyName"]],
            ["explain", "scan", "person", pupil["id"]],
            ["explain", "scan", "person", pupil["id"], "--json"],
            ["config", "check"],
        ):
            r = runner.invoke(cli, [*base, *args])
            assert r.exit_code in (0, 1), (args, r.output)
            printed.append(r.output)
        printed += asyncio.run(console_and_mcp(config, pupil))
    real = [f"{pupil['givenName']} {pupil['familyName']}", *pupil["eduPersonPrincipalNames"]]
    secrets = [CIVIC_KEY, MCP_TOKEN, client_secret]
    journal = journal_text(tmp_path / "ess.db")
    assert "hmac-sha256" in journal  # matching still has what it needs
    for where, text in [("journal", journal), *((f"output {i}", t) for i, t in enumerate(printed))]:
        assert not [c for c in civic if c in text], where
        assert not PERSONNUMMER.findall(HASHES.sub(" ", text)), where
        if where != "journal":  # the journal keeps old lines as written; the views mask them
            assert not [n for n in real if n.casefold() in text.casefold()], where
        assert not [s for s in secrets if s in text], where


async def console_and_mcp(config: Path, pupil: dict[str, Any]) -> list[str]:
    shown: list[str] = []
    async with await Ops.open(config, actor="test", read_only=True) as ops:
        app = ConsoleApp(ops, refresh_seconds=0)
        async with app.run_test(size=(160, 50)) as pilot:
            await settle(pilot)
            shown.append(screen_text(app))
            app.run_command("tenant scan")
            await settle(pilot)
            shown.append(screen_text(app))
            for run_id in (1, 2, 3):
                app.push_screen(LogsScreen(run_id))
                await settle(pilot)
                shown.append(screen_text(app))
            app.push_screen(SearchScreen(pupil["familyName"]))
            await settle(pilot)
            shown.append(screen_text(app))
        server = build_server(ops, allow_writes=False, toolsets=None)
        async with Client(server, client_info=Implementation(name="scan", version="1")) as c:
            calls: list[tuple[str, dict[str, Any]]] = [
                ("list_tenants", {}),
                ("tenant_status", {"tenant": "scan"}),
                ("list_runs", {"tenant": "scan"}),
                ("list_findings", {"tenant": "scan"}),
                ("find_person", {"query": pupil["familyName"]}),
                ("explain_record", {"tenant": "scan", "record_type": "person", "key": pupil["id"]}),
                *(("search_run_log", {"run_id": n, "limit": 200}) for n in (1, 2, 3)),
            ]
            for name, args in calls:
                result = await c.call_tool(name, args)
                assert not result.is_error, (name, result.content)
                shown.append(json.dumps(result.model_dump(mode="json"), ensure_ascii=False))
    return shown
