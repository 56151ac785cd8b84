"""No personnummer at rest: a journal written by a whole demo holds none, nor does what the
demo and the command line print; a journal from before holds its civic numbers hashed in place
after it is opened (or, without a key, not at all, with a full read to bring them back)."""

from __future__ import annotations

import io
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from rich.console import Console
from typer.testing import CliRunner

from adapters.ss12000.records import decode_record
from adapters.ss12000.sample.generate import generate
from console.cli import app
from console.demo import run_demo
from engine.civic_hash import KeyedCivicHash
from engine.display import PERSONNUMMER
from engine.journal import SqliteJournal
from engine.plugins import DemoOptions
from engine.secrets import Secret

KEYED = KeyedCivicHash(Secret("env:TEST_CIVIC_KEY", "a key for the tests, long enough"))
CIVIC = "200112240129"
HASHES = re.compile(r"hmac-sha256[a-z-]*:[0-9a-f]{64}")


def _dump(db: Path) -> str:
    """Every value of every row of every table of the journal as text (blobs decoded)."""
    out: list[str] = []
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in conn.execute(f"SELECT * FROM {table}"):
                out.extend(
                    v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in row
                )
    return "\n".join(out)


def _personnummer_in(text: str) -> list[str]:
    return PERSONNUMMER.findall(HASHES.sub(" ", text))


@pytest.mark.slow
def test_a_demo_leaves_no_personnummer_and_no_key_in_the_journal_or_the_output(
    tmp_path: Path,
) -> None:
    workdir = tmp_path / "demo"
    out = io.StringIO()
    code = run_demo(workdir, console=False, out=Console(file=out, width=120))
    assert code == 0, out.getvalue()
    options = DemoOptions(workdir=workdir)
    dataset = generate(options.size, options.seed, datetime.now(UTC).date() - timedelta(days=7))
    civic = {
        p["civicNo"]["value"]
        for p in dataset.entities["persons"]
        if isinstance(p.get("civicNo"), dict)
    }
    assert len(civic) > 100
    key = (workdir / "secrets" / "civic-key").read_text().strip()
    config = str(workdir / "ess.toml")
    runner = CliRunner()
    printed = [out.getvalue()]
    person = next(p for p in dataset.entities["persons"] if isinstance(p.get("civicNo"), dict))
    for args in (
        ["runs", "demo"],
        ["show", "2"],
        ["logs", "1"],
        ["findings", "demo"],
        ["audit", "list", "demo"],
        ["status"],
        ["search", person["familyName"]],
        ["explain", "demo", "person", person["id"]],
    ):
        result = runner.invoke(app, ["--config", config, *args])
        assert result.exit_code == 0, (args, result.output)
        printed.append(result.output)
    journal = _dump(workdir / "ess.db")
    assert "hmac-sha256:" in journal  # matching still has what it needs
    for text in (journal, *printed):
        assert not [c for c in civic if c in text]
        assert not _personnummer_in(text)
        assert key not in text


async def _journal_at_3_with(db: Path, rows: list[tuple[str, str, str, bytes]]) -> None:
    j = await SqliteJournal.open(db, civic_hash=KEYED)
    await j.close()
    with sqlite3.connect(db) as conn:
        conn.executemany("INSERT INTO source_records VALUES (?, ?, ?, ?)", rows)
        conn.execute(
            "INSERT INTO source_state VALUES ('t', '2025-09-01T00:00:00Z', '2025-09-01T00:00:00Z')"
        )
        conn.execute("PRAGMA user_version=3")


PERSON = orjson.dumps(
    {
        "id": "p1",
        "givenName": "Alva",
        "familyName": "Berg",
        "civicNo": {"value": CIVIC},
        "externalIdentifiers": [{"value": "20011224-0129", "context": "urn:old"}],
    }
)
GROUP = orjson.dumps({"id": "g1", "displayName": "7A", "groupType": "Klass"})
ROWS = [("t", "persons", "p1", PERSON), ("t", "groups", "g1", GROUP)]


async def test_an_old_journal_has_its_civic_numbers_hashed_in_place(tmp_path: Path) -> None:
    db = tmp_path / "ess.db"
    await _journal_at_3_with(db, ROWS)
    j = await SqliteJournal.open(db, civic_hash=KEYED)
    cached = await j.source_cache("t").load()
    await j.close()
    assert cached.checkpoint == "2025-09-01T00:00:00Z"  # the next read may stay incremental
    person = decode_record(cached.records["persons"]["p1"], "persons")
    assert person.civic_no.value == KEYED(CIVIC)
    assert cached.records["groups"]["g1"] == GROUP  # a record without one is untouched
    text = _dump(db)
    assert not _personnummer_in(text)
    assert "20011224" not in text
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] >= 4


async def test_without_a_key_the_old_cache_loses_them_and_the_next_read_is_full(
    tmp_path: Path,
) -> None:
    db = tmp_path / "ess.db"
    await _journal_at_3_with(db, ROWS)
    j = await SqliteJournal.open(db)
    cached = await j.source_cache("t").load()
    await j.close()
    assert "p1" not in cached.records.get("persons", {})
    assert cached.records["groups"]["g1"] == GROUP
    assert cached.checkpoint is None  # a full read brings the person back
    assert "2001122" not in _dump(db)
