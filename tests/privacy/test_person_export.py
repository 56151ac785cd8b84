"""``ess person export``: everything ESS holds about one person, found by source id, account
name or personnummer (through its keyed hash); the personnummer is neither printed nor kept."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import orjson
from typer.testing import CliRunner

from console.cli import app
from engine.civic_hash import KeyedCivicHash
from engine.ops import Ops
from engine.secrets import Secret
from engine.testing.builder import tiny_snapshot
from tests.conftest import Workdir

KEY = "a key for the tests, long enough"
CIVIC = "200112240122"


def _setup(workdir: Workdir) -> tuple[Path, str, str]:
    config = workdir.write()
    (workdir.path / "civic.key").write_text(KEY + "\n", encoding="utf-8")
    config.write_text(
        config.read_text() + '\n[privacy]\ncivic_key = "file:civic.key"\n', encoding="utf-8"
    )
    snap = workdir.source(tiny_snapshot(protected_share=0.0))
    person = next(p for p in snap.persons.values() if p.eppns)

    async def sync() -> None:
        async with await Ops.open(config, actor="test") as ops:
            await ops.sync("alpha")

    asyncio.run(sync())
    # the source's cache as an SS 12000 read leaves it: the number only as its keyed hash
    hashed = KeyedCivicHash(Secret("file:civic.key", KEY))(CIVIC)
    body = {"id": person.id, "givenName": person.given_name, "civicNo": {"value": hashed}}
    with sqlite3.connect(workdir.journal) as db:
        db.execute(
            "INSERT INTO source_records VALUES ('alpha', 'persons', ?, ?)",
            (person.id, orjson.dumps(body)),
        )
    return config, person.id, person.eppns[0]


def test_a_person_is_found_by_id_account_name_or_personnummer(workdir: Workdir) -> None:
    config, pid, eppn = _setup(workdir)
    runner = CliRunner()
    answers = {}
    for how, key in (("id", pid), ("account", eppn), ("personnummer", CIVIC)):
        result = runner.invoke(app, ["--config", str(config), "person", "export", "alpha", key])
        assert result.exit_code == 0, result.output
        assert CIVIC not in result.stdout and "hmac-sha256" not in result.stdout
        answers[how] = json.loads(result.stdout)
    assert {a["key"] for a in answers.values()} == {pid}
    assert answers["personnummer"]["found_by"].startswith("personnummer")
    export = answers["id"]
    assert export["cached_record"]["givenName"]
    assert export["explanation"]["observed"]  # what the target holds of them
    with sqlite3.connect(workdir.journal) as db:
        exports = db.execute("SELECT detail FROM audit WHERE action='person_export'").fetchall()
    assert len(exports) == 3
    assert not any(CIVIC in d for (d,) in exports)


def test_an_unknown_personnummer_is_not_found_and_not_echoed(workdir: Workdir) -> None:
    config, _, _ = _setup(workdir)
    other = "199001011239"
    result = CliRunner().invoke(app, ["--config", str(config), "person", "export", "alpha", other])
    assert result.exit_code == 2
    assert other not in result.output and "not found" in result.output
