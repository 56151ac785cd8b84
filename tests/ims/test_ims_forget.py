"""``ess person forget`` with an IMS source read over HTTPS with deltas: the kept documents
(a complete export and the deltas after it) held a leaver's record, name and hashed
personnummer after the delta that removed them; forget now removes the person from them too,
leaves every journal table without a trace of them, and the next read still works. While the
documents still list the person, forget is refused and nothing is removed."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from adapters.ims.cache import ENTITY, kept
from adapters.ims.sandbox import ImsSandbox
from adapters.ims.source import ImsSource
from adapters.ims.writer import write_complete, write_delta
from engine.cache_forget import CachePlan, plan_cache_forget
from engine.civic_hash import KeyedCivicHash
from engine.config import TenantConfig
from engine.journal import SqliteJournal
from engine.ops import Ops, PolicyRefused
from engine.secrets import Secret
from engine.source import CacheForget
from engine.testing.builder import tiny_snapshot

CONFIG = """\
[journal]
path = "ess.db"

[privacy]
civic_key = "env:ESS_TEST_IMS_FORGET_CIVIC"

[tenants.alpha]
name = "Alpha kommun"

[tenants.alpha.source]
type = "ims"
urls = ["{url}"]
delta_url = "{delta_url}"
api_key = "env:{key_env}"
client_cert = "{cert}"
verify = "{ca}"

[tenants.alpha.policy]
max_attempts = 2
retry_base_s = 0.01
retry_max_s = 0.05
suspend_grace_days = 0

[tenants.alpha.targets.mem]
type = "memory"
state = "target.json"
"""
CIVIC_KEY = "a-civic-key-for-the-forget-tests"
KEY_ENV = "ESS_TEST_IMS_FORGET_KEY"


def journal_values(db_path: Path) -> Iterator[tuple[str, str, str]]:
    """(table, column, text) of every value of every table of the journal."""
    with closing(sqlite3.connect(db_path)) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            cur = db.execute(f'SELECT * FROM "{table}"')
            columns = [d[0] for d in cur.description]
            for row in cur:
                for column, value in zip(columns, row, strict=True):
                    if isinstance(value, bytes):
                        value = value.decode("utf-8", "replace")
                    yield table, column, str(value)


def traces(db_path: Path, needles: list[str]) -> list[tuple[str, str, str]]:
    return [
        (table, column, text)
        for table, column, text in journal_values(db_path)
        for needle in needles
        if needle in text
    ]


async def test_a_leaver_is_forgotten_inside_the_kept_ims_documents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESS_TEST_IMS_FORGET_CIVIC", CIVIC_KEY)
    async with ImsSandbox(size="120", seed=7) as sandbox:
        info = sandbox.info
        monkeypatch.setenv(KEY_ENV, info.api_key)
        (tmp_path / "ess.toml").write_text(
            CONFIG.format(
                url=info.urls[0],
                delta_url=info.delta_url,
                key_env=KEY_ENV,
                cert=info.client_cert,
                ca=info.ca_cert,
            ),
            encoding="utf-8",
        )
        pupils = sorted(
            {r.person_id for r in sandbox.snapshot.school_roles if r.role.value == "student"}
        )
        persons = sandbox.snapshot.persons
        leaver = next(persons[p] for p in pupils if persons[p].eppns)
        needles = [leaver.id, leaver.display_name, leaver.eppns[0]]
        async with await Ops.open(tmp_path / "ess.toml", actor="test:ims") as ops:
            assert (await ops.sync("alpha")).status == "succeeded"
            # still listed: refused, nothing removed
            with pytest.raises(PolicyRefused):
                await ops.person_forget("alpha", leaver.id)
            sandbox.remove_persons([leaver.id])
            for _ in range(2):  # the delta removes them; the account is suspended, then deleted
                done = await ops.sync("alpha")
                assert done.status == "succeeded", done.error
            found = {t for t, _, _ in traces(tmp_path / "ess.db", needles)}
            assert "source_records" in found  # the kept documents still hold them
            gone = await ops.person_forget("alpha", leaver.id)
            assert gone.removed["source cache documents rewritten"] >= 1
            left = traces(tmp_path / "ess.db", needles)
            assert left == [], (leaver.id, left[:2])
            # the cache still reads: the next run is incremental and changes nothing
            again = await ops.sync("alpha")
            assert again.status == "succeeded", again.error
        with closing(sqlite3.connect(tmp_path / "ess.db")) as db:
            modes = [m for (m,) in db.execute("SELECT source_mode FROM runs ORDER BY id")]
        assert modes[-1] == "incremental"


def test_the_hook_removes_the_hashed_personnummer_and_keeps_the_rest(tmp_path: Path) -> None:
    civic_hash = KeyedCivicHash(Secret("ref", CIVIC_KEY))
    before = tiny_snapshot(protected_share=0.0)
    leaver = next(p for p in before.persons.values() if p.civic_no)
    assert leaver.civic_no is not None
    after = before.without(persons=[leaver.id])
    write_complete(before, tmp_path / "complete.xml")
    write_delta(before, after, tmp_path / "delta.xml")
    docs = {
        "c00000": kept((tmp_path / "complete.xml").read_bytes(), civic_hash),
        "d00001": kept((tmp_path / "delta.xml").read_bytes(), civic_hash),
    }
    hashed = civic_hash(leaver.civic_no).encode()
    assert all(hashed in body for body in docs.values())
    # while only the complete export is kept, it still lists them: held, nothing rewritten
    held = ImsSource.forget_cached({ENTITY: {"c00000": docs["c00000"]}}, leaver.id)
    assert held.held and not held.upserts
    gone = ImsSource.forget_cached({ENTITY: docs}, leaver.id)
    assert not gone.held and set(gone.upserts[ENTITY]) == {"c00000", "d00001"}
    rewritten = {**docs, **gone.upserts[ENTITY]}
    for body in rewritten.values():
        assert hashed not in body and leaver.id.encode() not in body
        assert leaver.eppns[0].encode() not in body
    # the rewritten documents give the same persons as before, the leaver aside
    again = ImsSource.forget_cached({ENTITY: rewritten}, next(iter(after.persons)))
    assert again.held  # another person is still listed by the rewritten documents
    assert ImsSource.forget_cached({ENTITY: rewritten}, "never-listed") == CacheForget()


async def test_a_cache_without_the_hook_that_names_them_refuses_forget(tmp_path: Path) -> None:
    """A source whose cached records name the person outside its person rows, and that
    declares no way to remove them: forget is refused, and nothing is written."""
    journal = await SqliteJournal.open(tmp_path / "journal.db")
    try:
        tenant = TenantConfig(source={"type": "ss12000"})
        await journal.save_source(
            "alpha",
            upserts={"duties": {"d1": b'{"person": {"id": "gone-1"}}'}},
            deletes={},
            checkpoint="c",
            full=True,
        )
        plan = await plan_cache_forget(journal, "alpha", tenant, "gone-1")
        assert "keeps duties records that still name them" in plan.held
        assert not plan.rewrites
        # a person row under that id: the journal's own check speaks instead
        await journal.save_source(
            "alpha", upserts={"persons": {"gone-1": b"{}"}}, deletes={}, checkpoint="c", full=False
        )
        assert (await plan_cache_forget(journal, "alpha", tenant, "gone-1")).held == ""
        assert (await plan_cache_forget(journal, "alpha", tenant, "other")) == CachePlan()
    finally:
        await journal.close()
