"""Hosted on PostgreSQL: ``[journal] url`` opens it and the ops facade answers on it as on
SQLite; ``ess journal migrate`` moves an on-site journal there and every view answers the same.

Runs go through engine.ops against the memory doubles; the PostgreSQL server is the session's
own (tests/pg_cluster.py)."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import Result
from mcp import Client
from mcp.types import Implementation
from typer.testing import CliRunner

from console.cli import app
from engine.journal import SqliteJournal
from engine.journal.postgres_schema import PG_MIGRATIONS
from engine.ops import ConfigurationError, Ops, journal_backup
from engine.testing.builder import drop_persons, next_term, tiny_snapshot
from server.app import build_server
from tests.conftest import Workdir

runner = CliRunner()
COMPAT = Path(__file__).parents[1] / "compat" / "release_0_1" / "journal"


async def ess(config: Path, *args: str) -> Result:
    """The command line, in a thread (it runs its own event loop)."""
    return await asyncio.to_thread(runner.invoke, app, ["--config", str(config), *args])


def hosted_config(workdir: Workdir, url: str, *, password: str | None = None) -> Path:
    """ess-hosted.toml: the workdir's configuration with its journal on PostgreSQL."""
    text = workdir.config.read_text(encoding="utf-8")
    journal = f'[journal]\nurl = "{url}"\n' + (f'password = "{password}"\n' if password else "")
    hosted = workdir.path / "ess-hosted.toml"
    hosted.write_text(text.replace('[journal]\npath = "ess.db"\n', journal), encoding="utf-8")
    return hosted


async def history(config: Path) -> None:
    """A journal with a bit of everything: runs that failed in part and were retried, a held
    plan rejected and one approved, skips, findings, events, audit rows."""
    snap = tiny_snapshot()
    async with await Ops.open(config, actor="test:eva") as ops:
        first = await ops.sync("alpha")
        assert first.status in ("succeeded", "partial")
        await ops.retry_run(first.id)
        Workdir(config.parent).source(next_term(snap))
        await ops.sync("alpha")
        Workdir(config.parent).source(drop_persons(next_term(snap), 0.5))
        held = await ops.sync("alpha")
        assert held.status == "held"
        await ops.reject(held.id, reason="the export was cut short")
        held = await ops.sync("alpha")
        assert held.status == "held"
        await ops.approve(held.id, reason="the pupils left")
        await ops.sync("alpha", dry_run=True)


async def views(config: Path) -> dict[str, Any]:
    """What the console, CLI and MCP show, read through the ops facade."""
    async with await Ops.open(config, actor="test:eva") as ops:
        seen: dict[str, Any] = {
            "tenants": await ops.tenants(),
            "tenant": await ops.tenant("alpha"),
            "runs": await ops.runs("alpha", limit=100),
            "held": await ops.held_plans(),
            "failures": await ops.failures("alpha"),
            "causes": await ops.failure_causes("alpha"),
            "audit": await ops.audit(limit=1000),
            "audit_alpha": await ops.audit("alpha", limit=1000),
            "head": await ops.audit_head(),
            "elevations": await ops.elevations(),
            "search": await ops.search("al", tenant_id="alpha"),
            "search_any": await ops.search("SAGA"),
        }
        for run in seen["runs"]:
            seen[f"run {run.id}"] = await ops.run(run.id)
            seen[f"operations {run.id}"] = await ops.operations(run.id, limit=10_000)
            seen[f"events {run.id}"] = await ops.events(run.id)
            seen[f"findings {run.id}"] = await ops.findings("alpha", run_id=run.id)
            seen[f"warnings {run.id}"] = await ops.events(run.id, level="warning")
            seen[f"contains {run.id}"] = await ops.events(run.id, contains="PLAN")
        for op in seen[f"operations {seen['runs'][0].id}"][:5]:
            seen[f"operation {op.id}"] = await ops.operation(op.id)
        hits = seen["search"][:3]
        for hit in hits:
            seen[f"explain {hit.key}"] = await ops.explain("alpha", hit.record_type, hit.key)
    return seen


async def verify(config: Path) -> Any:
    async with await Ops.open(config, actor="test:eva") as ops:
        return await ops.verify_audit()


async def test_the_ops_facade_works_on_a_postgres_journal(workdir: Workdir, pg_dsn: str) -> None:
    hosted = hosted_config(workdir, pg_dsn)
    await history(hosted)
    seen = await views(hosted) | {"verify": await verify(hosted)}
    statuses = [r.status for r in seen["runs"]]
    assert statuses.count("rejected") == 1 and statuses.count("succeeded") == 4
    assert seen["verify"].ok and seen["verify"].checked >= 4
    assert any(len(seen[k]) for k in seen if k.startswith("operations "))
    assert any(seen[k] for k in seen if k.startswith("events "))


async def test_a_moved_journal_answers_every_view_the_same(
    workdir: Workdir, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    workdir.write(target="fault_rate = 0.3\nseed = 7\n", max_attempts=1)
    await history(workdir.config)
    before = await views(workdir.config)
    assert any(before["failures"]) or any(before["causes"])  # some trouble to move too

    moved = await ess(workdir.config, "journal", "migrate", "--to", pg_dsn, "--json")
    assert moved.exit_code == 0, moved.output
    report = json.loads(moved.output)
    assert report["rows"]["runs"] == len(before["runs"])
    assert report["rows"]["audit"] >= 5 and report["shifted"] == {}
    assert report["audit_rows_checked"] == report["rows"]["audit"]

    after = await views(hosted_config(workdir, pg_dsn))
    assert after.keys() == before.keys()
    for key in before:
        assert after[key] == before[key], key
    verdict = await verify(hosted_config(workdir, pg_dsn))
    assert verdict.ok and verdict.checked == report["rows"]["audit"]

    # a second move of the same installation is refused whole: nothing is written twice
    again = await ess(workdir.config, "journal", "migrate", "--to", pg_dsn)
    assert again.exit_code == 2 and "already holds tenant(s) alpha" in again.output
    assert "Traceback" not in again.output
    async with await Ops.open(hosted_config(workdir, pg_dsn), actor="test:eva") as ops:
        assert len(await ops.runs("alpha", limit=1000)) == len(before["runs"])


async def test_a_second_installation_moves_in_beside_the_first(
    make_workdir: Any, pg_dsn: str
) -> None:
    """Ids are moved past the database's own and the audit chain runs on over both."""
    one, two = make_workdir("one"), make_workdir("two")
    for w, tenant in ((one, "alpha"), (two, "beta")):
        w.write()
        w.config.write_text(
            w.config.read_text(encoding="utf-8").replace("tenants.alpha", f"tenants.{tenant}"),
            encoding="utf-8",
        )
        w.source(tiny_snapshot())
        async with await Ops.open(w.config, actor="test:eva") as ops:
            await ops.sync(tenant)
            await ops.sync(tenant)
    for w in (one, two):
        moved = await ess(w.config, "journal", "migrate", "--to", pg_dsn, "--json")
        assert moved.exit_code == 0, moved.output
    report = json.loads(moved.output)
    assert report["shifted"]["runs"] == 2 and report["shifted"]["operations"] > 0
    async with await Ops.open(hosted_config(two, pg_dsn), actor="test:eva") as ops:
        runs = await ops.runs("beta", limit=10)
        assert [r.id for r in runs] == [4, 3]
        assert {r.tenant for r in runs} == {"beta"}
        assert len(await ops.operations(3, limit=10_000)) > 0
        verdict = await ops.verify_audit()
        assert verdict.ok, verdict.problem


async def test_the_password_is_a_secret_reference_and_never_shown(
    workdir: Workdir, pg_dsn: str
) -> None:
    bad = hosted_config(workdir, pg_dsn.replace("postgresql:///", "postgresql://ess:hunter2@/"))
    listed = await ess(bad, "runs", "alpha")
    assert listed.exit_code == 2 and "hunter2" not in listed.output
    assert "secret reference" in listed.output
    missing = hosted_config(workdir, pg_dsn, password="env:ESS_TEST_NO_SUCH_VAR")
    listed = await ess(missing, "runs", "alpha")
    assert listed.exit_code == 2 and "ESS_TEST_NO_SUCH_VAR" in listed.output
    assert "Traceback" not in listed.output


async def test_an_unreachable_database_is_named_without_a_traceback(workdir: Workdir) -> None:
    hosted = hosted_config(workdir, "postgresql://ess@127.0.0.1:9/ess?connect_timeout=2")
    listed = await ess(hosted, "runs", "alpha")
    assert listed.exit_code == 2, listed.output
    assert "cannot reach the journal database postgresql://ess@127.0.0.1:9/ess" in listed.output
    assert "Traceback" not in listed.output
    with pytest.raises(ConfigurationError, match="pg_dump"):
        await journal_backup(workdir.path / "x.db", hosted)


async def test_export_and_delete_a_tenant_from_the_command_line(
    workdir: Workdir, pg_dsn: str
) -> None:
    hosted = hosted_config(workdir, pg_dsn)
    assert (await ess(hosted, "sync", "alpha")).exit_code == 0
    dest = workdir.path / "alpha.json"
    exported = await ess(hosted, "journal", "export-tenant", "alpha", str(dest))
    assert exported.exit_code == 0, exported.output
    assert dest.stat().st_mode & 0o777 == 0o600
    document = json.loads(dest.read_text(encoding="utf-8"))
    assert document["tenant"] == "alpha" and len(document["tables"]["runs"]["rows"]) == 1
    again = await ess(hosted, "journal", "export-tenant", "alpha", str(dest))
    assert again.exit_code == 2 and "exists" in again.output

    refused = await ess(hosted, "journal", "delete-tenant", "alpha", "--yes")
    assert refused.exit_code == 1 and "still in" in refused.output
    # the tenant leaves ess.toml; then its rows go
    text = hosted.read_text(encoding="utf-8").replace("tenants.alpha", "tenants.beta")
    hosted.write_text(text, encoding="utf-8")
    deleted = await ess(hosted, "journal", "delete-tenant", "alpha", "--yes", "--json")
    assert deleted.exit_code == 0, deleted.output
    assert json.loads(deleted.output)["rows"]["runs"] == 1
    gone = await ess(hosted, "journal", "export-tenant", "alpha", str(workdir.path / "b.json"))
    assert gone.exit_code == 2 and "nothing of tenant 'alpha'" in gone.output


async def test_a_release_0_1_journal_moves_and_its_file_is_left_as_it_was(
    tmp_path: Path, pg_dsn: str
) -> None:
    """An on-site journal of an older schema moves whole; the file is not migrated."""
    install = tmp_path / "install"
    shutil.copytree(COMPAT, install)
    before = (install / "ess.db").read_bytes()
    moved = await ess(install / "ess.toml", "journal", "migrate", "--to", pg_dsn, "--json")
    assert moved.exit_code == 0, moved.output
    assert (install / "ess.db").read_bytes() == before  # still release 0.1's schema 2
    assert sqlite3.connect(install / "ess.db").execute("PRAGMA user_version").fetchone() == (2,)

    hosted = install / "ess-hosted.toml"
    hosted.write_text(
        (install / "ess.toml")
        .read_text(encoding="utf-8")
        .replace('[journal]\npath = "ess.db"\n', f'[journal]\nurl = "{pg_dsn}"\n'),
        encoding="utf-8",
    )

    async def seen(config: Path) -> dict[str, Any]:
        async with await Ops.open(config, actor="test:compat") as ops:
            out: dict[str, Any] = {"tenants": await ops.tenants(), "held": await ops.held_plans()}
            for tenant in ("alpha", "beta", "gamma"):
                out[tenant] = await ops.runs(tenant)
                out[f"{tenant} failures"] = await ops.failures(tenant)
                out[f"{tenant} findings"] = await ops.findings(tenant)
                for run in out[tenant]:
                    out[f"run {run.id}"] = await ops.run(run.id)
                    out[f"operations {run.id}"] = await ops.operations(run.id, limit=10_000)
            out["search"] = await ops.search("DR 9A")
            return out

    on_postgres = await seen(hosted)
    assert any(h.key == "g-11-new-drama" for h in on_postgres["search"])
    assert on_postgres == await seen(install / "ess.toml")  # the file, upgraded as it opens


async def test_journal_check_reads_a_hosted_journal_without_changing_it(
    workdir: Workdir, pg_dsn: str
) -> None:
    hosted = hosted_config(workdir, pg_dsn)
    empty = await ess(hosted, "journal", "check")
    assert empty.exit_code == 2 and "is empty, not an ESS journal yet" in empty.output
    assert (await ess(hosted, "sync", "alpha")).exit_code == 0
    checked = await ess(hosted, "journal", "check", "--json")
    assert checked.exit_code == 0, checked.output
    found = json.loads(checked.output)
    assert found["ok"] is True and found["schema_version"] == found["supported_version"] == len(
        PG_MIGRATIONS
    )
    assert found["path"].startswith("postgresql://") and found["size_bytes"] > 0


def test_the_journal_url_is_checked_where_it_is_written(workdir: Workdir) -> None:
    for url, problem in (
        ("mysql://ess@db/ess", "must be a PostgreSQL URL"),
        ("postgresql://ess:s3cret@db/ess", "holds a password"),
        ("postgresql://db/ess?password=s3cret", "holds a password"),
    ):
        hosted = hosted_config(workdir, url)
        checked = runner.invoke(app, ["--config", str(hosted), "config", "check"])
        assert checked.exit_code == 1, checked.output  # `config check` found a problem
        assert "journal.url" in checked.output and problem in checked.output
        assert "s3cret" not in checked.output
    literal = hosted_config(workdir, "postgresql://ess@db/ess", password="s3cret")
    checked = runner.invoke(app, ["--config", str(literal), "config", "check"])
    assert checked.exit_code == 1 and "journal.password" in checked.output
    assert "s3cret" not in checked.output


async def test_a_move_waits_for_the_on_site_run_to_end(workdir: Workdir, pg_dsn: str) -> None:
    async with await Ops.open(workdir.config, actor="test:eva") as ops:
        await ops.sync("alpha")
    journal = await SqliteJournal.open(workdir.journal)
    try:
        lease = await journal.acquire_lease("alpha", "scheduler", ttl=60)
        refused = await ess(workdir.config, "journal", "migrate", "--to", pg_dsn)
        assert refused.exit_code == 2, refused.output
        assert "a run is in progress on-site for alpha (scheduler)" in refused.output
        await journal.release_lease(lease)
    finally:
        await journal.close()
    with psycopg.connect(pg_dsn) as conn:  # nothing was written, not even the schema
        assert conn.execute("SELECT to_regclass('public.runs')").fetchone() == (None,)
    assert (await ess(workdir.config, "journal", "migrate", "--to", pg_dsn)).exit_code == 0


async def test_the_mcp_server_answers_from_a_postgres_journal(
    workdir: Workdir, pg_dsn: str
) -> None:
    hosted = hosted_config(workdir, pg_dsn)
    assert (await ess(hosted, "sync", "alpha")).exit_code == 0
    async with await Ops.open(hosted, actor="mcp:test") as ops:
        server = build_server(ops, allow_writes=False, toolsets=None)
        info = Implementation(name="test-client", version="1")
        async with Client(server, client_info=info) as client:
            answer = await client.call_tool("list_runs", {"tenant": "alpha", "limit": 5})
            assert not answer.is_error, answer.content
            runs = (answer.structured_content or {})["runs"]
            assert [r["status"] for r in runs] == ["succeeded"]
            tenants = await client.call_tool("list_tenants", {})
            assert not tenants.is_error and "alpha" in str(tenants.structured_content)
