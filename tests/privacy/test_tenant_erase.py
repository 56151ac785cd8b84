"""A tenant with two sources, each read over HTTP into a source cache of its own (``TENANT/KEY``)
and the second time incrementally, next to another tenant: once it leaves ess.toml,
``delete-tenant`` leaves not one value anywhere in the journal that names it, the other
tenant's rows stay as they were, and ``export-tenant`` held every one of those rows first. And
one person of such a tenant is found, exported and kept (not forgotten) through those caches."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.ss12000.sample.generate import generate
from adapters.ss12000.sandbox import SandboxInfo, SS12000Sandbox
from engine.ops import Ops, PolicyRefused

GONE, KEPT = "lovsta", "norby"

SOURCE = """
[tenants.{tid}.sources.{key}]
type = "ss12000"
profile = "{info.profile}"
base_url = "{info.base_url}"
token_url = "{info.token_url}"
client_id = "{info.client_id}"
client_secret = "file:ss12000.secret"
"""

TENANT = """
[tenants.{tid}]
name = "{tid} kommun"
{sources}
[tenants.{tid}.targets.mem]
type = "memory"
state = "{tid}-target.json"
batch_size = 100
"""


def write_config(
    folder: Path,
    info: SandboxInfo,
    tenants: tuple[str, ...],
    keys: tuple[str, ...] = ("grund", "gy"),
) -> Path:
    (folder / "civic.key").write_text("civic key of the erase test, long enough", "utf-8")
    (folder / "ss12000.secret").write_text(info.client_secret, encoding="utf-8")
    body = "".join(
        TENANT.format(
            tid=tid,
            sources="".join(SOURCE.format(tid=tid, key=k, info=info) for k in keys),
        )
        for tid in tenants
    )
    config = folder / "ess.toml"
    config.write_text(
        '[journal]\npath = "ess.db"\n\n[privacy]\ncivic_key = "file:civic.key"\n' + body,
        encoding="utf-8",
    )
    return config


def naming(db: Path, text: str) -> list[str]:
    """``table.column`` of every value in the journal file that holds ``text``, whatever the
    table (those of a later schema too), but the audit row recording the deletion itself."""
    found: list[str] = []
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            cur = conn.execute(f'SELECT * FROM "{table}"')
            columns = [d[0] for d in cur.description]
            for row in cur:
                values = dict(zip(columns, row, strict=True))
                if table == "audit" and values.get("action") == "tenant_deleted":
                    continue
                for column, value in values.items():
                    if isinstance(value, bytes):
                        value = value.decode("utf-8", "replace")
                    if isinstance(value, str) and text in value:
                        found.append(f"{table}.{column}")
    return found


async def test_a_deleted_tenant_leaves_nothing_of_its_source_caches(tmp_path: Path) -> None:
    dataset = generate(30, 11, datetime.now(UTC).date() - timedelta(days=7))
    with SS12000Sandbox(dataset) as sandbox:
        info = sandbox.start()
        config = write_config(tmp_path, info, (GONE, KEPT))
        async with await Ops.open(config, actor="test:eva") as ops:
            for tid in (GONE, KEPT):
                first = await ops.sync(tid)
                assert first.status == "succeeded", first.error
                again = await ops.sync(tid)  # each source reads on from its checkpoint
                assert again.status == "succeeded", again.error
    db = tmp_path / "ess.db"
    with sqlite3.connect(db) as conn:
        scopes = {r[0] for r in conn.execute("SELECT tenant FROM source_state")}
        modes = [r[0] for r in conn.execute("SELECT source_mode FROM runs ORDER BY id")]
    assert all("incremental" in str(m) for m in modes[1::2]), modes
    assert {f"{GONE}/grund", f"{GONE}/gy", f"{KEPT}/grund", f"{KEPT}/gy"} <= scopes
    assert "source_records.tenant" in naming(db, f"{GONE}/")

    write_config(tmp_path, info, (KEPT,))  # the tenant leaves ess.toml
    async with await Ops.open(config, actor="test:eva") as ops:
        document = await ops.export_tenant(GONE)
        kept_before = await ops.export_tenant(KEPT)
        cached = {r[0] for r in document["tables"]["source_records"]["rows"]}
        assert cached == {f"{GONE}/grund", f"{GONE}/gy"}
        states = {r[0] for r in document["tables"]["source_state"]["rows"]}
        assert states == {f"{GONE}/grund", f"{GONE}/gy"}
        done = await ops.delete_tenant(GONE)
        assert done.rows["source_records"] == len(document["tables"]["source_records"]["rows"])
        kept_after = await ops.export_tenant(KEPT)
    assert naming(db, GONE) == []
    assert without_exports(kept_after) == without_exports(kept_before)


def without_exports(document: dict[str, Any]) -> dict[str, Any]:
    """The tables of an export but the audit rows of exports (each export is audited)."""
    tables = dict(document["tables"])
    audit = tables["audit"]
    action = audit["columns"].index("action")
    rows = [r for r in audit["rows"] if r[action] != "tenant_export"]
    tables["audit"] = {**audit, "rows": rows}
    return tables


async def test_one_person_of_a_tenant_with_two_sources(tmp_path: Path) -> None:
    """``person export`` by personnummer finds them and their cached record in the sources'
    own caches; ``person forget`` refuses while a source lists them, and says which."""
    dataset = generate(30, 11, datetime.now(UTC).date() - timedelta(days=7))
    pupil = next(p for p in dataset.entities["persons"] if p.get("civicNo"))
    with SS12000Sandbox(dataset) as sandbox:
        config = write_config(tmp_path, sandbox.start(), (KEPT,))
        async with await Ops.open(config, actor="test:eva") as ops:
            assert (await ops.sync(KEPT)).status == "succeeded"
            found = await ops.person_export(KEPT, pupil["civicNo"]["value"])
            assert found.key == pupil["id"] and found.found_by.startswith("personnummer")
            assert found.cached_record is not None
            assert found.cached_record["id"] == pupil["id"]
            with pytest.raises(PolicyRefused, match="the source grund still lists them"):
                await ops.person_forget(KEPT, pupil["id"])


async def test_a_source_removed_from_the_tenant_leaves_no_cache(tmp_path: Path) -> None:
    """A source taken out of ``[tenants.X.sources]``: the next run that reads every source
    left removes the cache the removed one kept, and no other."""
    dataset = generate(30, 11, datetime.now(UTC).date() - timedelta(days=7))
    db = tmp_path / "ess.db"

    def scopes() -> set[str]:
        with sqlite3.connect(db) as conn:
            return {r[0] for r in conn.execute("SELECT DISTINCT tenant FROM source_records")}

    with SS12000Sandbox(dataset) as sandbox:
        info = sandbox.start()
        config = write_config(tmp_path, info, (GONE, KEPT))
        async with await Ops.open(config, actor="test:eva") as ops:
            for tid in (GONE, KEPT):
                assert (await ops.sync(tid)).status == "succeeded"
        assert f"{KEPT}/gy" in scopes()
        write_config(tmp_path, info, (GONE, KEPT), keys=("grund",))
        async with await Ops.open(config, actor="test:eva") as ops:
            run = await ops.sync(KEPT)
            assert run.status == "succeeded", run.error
            lines = [e.message for e in await ops.events(run.id)]
    assert scopes() == {f"{GONE}/grund", f"{GONE}/gy", f"{KEPT}/grund"}
    with sqlite3.connect(db) as conn:
        states = {r[0] for r in conn.execute("SELECT tenant FROM source_state")}
    assert states == {f"{GONE}/grund", f"{GONE}/gy", f"{KEPT}/grund"}
    assert any("cached records of sources no longer configured" in line for line in lines)
