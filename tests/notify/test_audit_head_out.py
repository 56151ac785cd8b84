"""The audit log's head leaves the host: the scheduler puts it in the outbox of every tenant
with a channel that takes ``audit_head``, once per ``audit_head_hours``; the message carries the
head and the command that checks the log against it; an approver key enrolled or removed is told
to the customer's channels (``approver_changed``). Over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from typer.testing import CliRunner

from console.cli import app
from engine import approval
from engine.audit_chain import AuditHead
from engine.journal import SqliteJournal
from engine.ops import Ops
from tests.conftest import Workdir
from tests.notify.peers import Receiver, serve_receiver
from tests.notify.test_notify_delivery import deliver, webhook, with_channels

runner = CliRunner()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve_receiver()


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESS_TEST_SIGNING_KEY", "k3y-for-the-receiver")


def events(receiver: Receiver) -> list[dict[str, object]]:
    return [orjson.loads(r.body) for r in receiver.requests]


def facts(message: dict[str, object]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in message["facts"]}  # type: ignore[attr-defined, index]


def test_the_head_is_sent_once_a_period_and_verifies_the_log(
    workdir: Workdir, receiver: Receiver
) -> None:
    with_channels(workdir, webhook(receiver, "customer"))
    with_channels(workdir, webhook(receiver, "ops", 'events = ["plan_held"]'))

    async def send() -> AuditHead:
        async with await Ops.open(workdir.config, actor="test") as ops:
            await ops.sync("alpha")
            head = await ops.audit_head()
            assert head is not None
            assert await ops.send_audit_head() == ["alpha"]
            assert await ops.send_audit_head() == []  # not again within the period
            assert (await deliver(workdir)).delivered == 1  # "ops" does not take audit_head
            later = datetime.now(UTC) + timedelta(hours=25)
            assert await ops.send_audit_head(later) == ["alpha"]
            return head

    head = asyncio.run(send())
    (sent,) = events(receiver)
    assert sent["event"] == "audit_head"
    assert facts(sent)["head"] == str(head)
    assert sent["command"] == f"ess audit verify --head {head}"
    base = ["--config", str(workdir.config)]
    result = runner.invoke(app, [*base, "audit", "head"])
    assert result.exit_code == 0 and "last sent out:" in result.stderr
    assert ":" in result.stdout and "last sent" not in result.stdout  # the head alone
    result = runner.invoke(app, [*base, "audit", "verify", "--head", str(head)])
    assert result.exit_code == 0, result.output
    # a rewrite of the log up to the head that left the host is found
    with sqlite3.connect(workdir.journal) as db:
        db.execute("DELETE FROM audit WHERE id=?", (head.id,))
    result = runner.invoke(app, [*base, "audit", "verify", "--head", str(head)])
    assert result.exit_code == 1 and "BROKEN" in result.output


def test_the_scheduler_sends_the_head_on_its_pass(workdir: Workdir, receiver: Receiver) -> None:
    with_channels(workdir, webhook(receiver, "customer", 'events = ["audit_head"]'))
    result = runner.invoke(app, ["--config", str(workdir.config), "sync", "alpha"])
    assert result.exit_code == 0, result.output  # an audit row: the log has a head
    result = runner.invoke(app, ["--config", str(workdir.config), "scheduler", "--once"])
    assert result.exit_code == 0, result.output
    (sent,) = events(receiver)
    assert sent["event"] == "audit_head" and ":" in facts(sent)["head"]


async def test_an_approver_key_enrolled_or_removed_is_told(
    workdir: Workdir, receiver: Receiver
) -> None:
    workdir.write(tier="gold")
    with_channels(workdir, webhook(receiver, "customer", 'events = ["approver_changed"]'))
    _, public = approval.new_private_key()
    async with await Ops.open(workdir.config, actor="cli:root") as ops:
        await ops.add_approver("alpha", "Rektor Anna", public)
        await ops.remove_approver("alpha", "Rektor Anna")
    assert (await deliver(workdir)).delivered == 2
    enrolled, removed = events(receiver)
    assert enrolled["event"] == removed["event"] == "approver_changed"
    key = approval.public_key_text(approval.public_key(public))
    assert facts(enrolled)["change"] == f"approver Rektor Anna enrolled with key {key} by cli:root"
    assert facts(removed)["change"] == "approver Rektor Anna removed by cli:root"
    assert removed["command"] == "ess approver list alpha"


async def test_a_notice_keeps_its_detail_in_the_journal(workdir: Workdir) -> None:
    journal = await SqliteJournal.open(workdir.journal)
    try:
        assert await journal.last_notice_at("alpha", "audit_head") is None
        nid = await journal.add_notice("alpha", "audit_head", "7:" + "a" * 64)
        (notice,) = await journal.open_notices()
        assert (notice.id, notice.kind, notice.detail) == (nid, "audit_head", "7:" + "a" * 64)
        assert await journal.last_notice_at("alpha", "audit_head") == notice.created_at
    finally:
        await journal.close()


async def test_a_journal_from_before_gets_the_detail_column_and_keeps_its_notices(
    workdir: Workdir,
) -> None:
    from engine.journal.schema import MIGRATIONS, _notice_detail

    journal = await SqliteJournal.open(workdir.journal)
    await journal.close()
    with sqlite3.connect(workdir.journal) as db:  # as the release before this step left it
        db.execute("ALTER TABLE notices DROP COLUMN detail")
        db.execute(
            "INSERT INTO notices(tenant, kind, run_id, created_at) "
            "VALUES ('alpha', 'run_failed', 1, '2026-11-02T06:00:00.000+00:00')"
        )
        # the version before the detail step; the later steps run again, harmlessly
        db.execute(f"PRAGMA user_version={MIGRATIONS.index(_notice_detail)}")
    journal = await SqliteJournal.open(workdir.journal)
    try:
        (old,) = await journal.open_notices()
        assert (old.kind, old.run_id, old.detail) == ("run_failed", 1, "")
    finally:
        await journal.close()
    with sqlite3.connect(workdir.journal) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
