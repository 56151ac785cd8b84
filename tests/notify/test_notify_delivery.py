"""Notifications end to end: a run's held, failed or partial end reaches each channel of the
tenant through the journal's outbox, over real HTTP and SMTP on loopback; a receiver that
fails gets the same message again later, and a process that ends before delivering loses
nothing."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from engine import approval
from engine.config import load
from engine.journal import SqliteJournal
from engine.notify.courier import deliver_due
from engine.ops import Ops
from engine.testing.builder import tiny_snapshot
from tests.conftest import Workdir
from tests.engine.test_fingerprint_upgrade import pupils
from tests.engine.test_sync import drop_persons
from tests.notify.peers import Mailbox, Receiver, serve_receiver, serve_smtp

ROOT = Path(__file__).resolve().parents[2]
SIGNING_KEY = "k3y-for-the-receiver"
SMTP_PASSWORD = "smtp-pass-123"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve_receiver()


@pytest.fixture
def mailbox(tmp_path: Path) -> Iterator[Mailbox]:
    yield from serve_smtp(tmp_path, SMTP_PASSWORD)


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESS_TEST_SIGNING_KEY", SIGNING_KEY)
    monkeypatch.setenv("ESS_TEST_SMTP_PASSWORD", SMTP_PASSWORD)


def with_channels(workdir: Workdir, channels: str) -> None:
    workdir.config.write_text(workdir.config.read_text() + "\n" + channels, encoding="utf-8")


def webhook(receiver: Receiver, name: str = "hook", extra: str = "") -> str:
    return f"""
[[tenants.alpha.notify]]
name = "{name}"
type = "webhook"
url = "{receiver.url}"
signing_key = "env:ESS_TEST_SIGNING_KEY"
{extra}
"""


def email(box: Mailbox, password: str = "env:ESS_TEST_SMTP_PASSWORD") -> str:
    return f"""
[[tenants.alpha.notify]]
name = "it-desk"
type = "email"
host = "127.0.0.1"
port = {box.port}
security = "starttls"
ca_file = "{box.ca_file}"
username = "ess"
password = "{password}"
from = "ess@kommun.example"
to = ["it@kommun.example", "skola@kommun.example"]
"""


def hook_table(kind: str) -> str:
    """A Teams or Slack channel whose URL is in ESS_TEST_<KIND>_URL."""
    return (
        f'[[tenants.alpha.notify]]\nname = "{kind}"\ntype = "{kind}"\n'
        f'url = "env:ESS_TEST_{kind.upper()}_URL"\n'
    )


async def held_run(workdir: Workdir) -> int:
    """A real run the guard holds: half the pupils vanish from the source after a first sync."""
    snap = tiny_snapshot()
    async with await Ops.open(workdir.config, actor="test:notify") as ops:
        await ops.sync("alpha")
        workdir.source(drop_persons(snap, 0.5))
        held = await ops.sync("alpha")
    assert held.status == "held"
    return held.id


async def deliver(workdir: Workdir, now: datetime | None = None):  # type: ignore[no-untyped-def]
    journal = await SqliteJournal.open(workdir.journal)
    try:
        return await deliver_due(journal, load(workdir.config), now=now)
    finally:
        await journal.close()


async def open_notices(workdir: Workdir) -> int:
    journal = await SqliteJournal.open(workdir.journal)
    try:
        return len(await journal.open_notices())
    finally:
        await journal.close()


def sync_in_a_process(workdir: Workdir) -> subprocess.CompletedProcess[str]:
    """One sync in a process of its own, which ends without delivering a notification."""
    return subprocess.run(
        [sys.executable, str(ROOT / "tests/engine/sync_once.py"), str(workdir.config), "alpha"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def verify(received_headers: dict[str, str], body: bytes) -> None:
    """What a receiver does: recompute the HMAC over "<t>.<body>" with the shared key."""
    parts = dict(p.split("=", 1) for p in received_headers["ess-signature"].split(","))
    mac = hmac.new(SIGNING_KEY.encode(), parts["t"].encode() + b"." + body, hashlib.sha256)
    assert hmac.compare_digest(parts["v1"], mac.hexdigest())


async def test_a_held_plan_reaches_a_signed_webhook_and_an_email(
    workdir: Workdir, receiver: Receiver, mailbox: Mailbox
) -> None:
    with_channels(workdir, webhook(receiver) + email(mailbox))
    run_id = await held_run(workdir)
    report = await deliver(workdir)
    assert (report.delivered, report.failed) == (2, 0)

    (request,) = receiver.requests
    verify(request.headers, request.body)
    document = orjson.loads(request.body)
    assert document["event"] == "plan_held" and document["run"] == run_id
    assert document["command"].startswith(f"ess approve {run_id}")
    facts = {f["name"]: f["value"] for f in document["facts"]}
    assert int(facts["planned operations"]) > 0 and "held because" in facts
    assert request.headers["ess-delivery"] == document["id"]
    assert document["id"].startswith("ess.alpha.") and document["id"].endswith(".hook")
    assert request.headers["ess-event"] == "plan_held"

    (mail,) = mailbox.mails
    assert mailbox.logins == ["ess"]  # logged in, after STARTTLS (the server requires it)
    assert mail["Subject"] == "[ESS] Alpha kommun (alpha): a plan is held for approval"
    assert mail["To"] == "it@kommun.example, skola@kommun.example"
    assert mail["Message-ID"].endswith(".it-desk@kommun.example>")
    assert f"ess approve {run_id}" in mail.get_payload()
    # settled on both channels: a second pass sends nothing again
    assert await open_notices(workdir) == 0
    assert (await deliver(workdir)).delivered == 0
    assert len(receiver.requests) == 1 and len(mailbox.mails) == 1


async def test_a_receiver_that_fails_gets_the_same_message_after_a_backoff(
    workdir: Workdir, receiver: Receiver
) -> None:
    with_channels(workdir, webhook(receiver))
    await held_run(workdir)
    receiver.script = [500, 503]
    now = datetime.now(UTC)
    first = await deliver(workdir, now)
    assert (first.delivered, first.failed) == (0, 1)
    soon = await deliver(workdir, now + timedelta(seconds=1))  # its retry time has not come
    assert (soon.delivered, soon.failed, soon.waiting) == (0, 0, 1)
    assert len(receiver.requests) == 1
    second = await deliver(workdir, now + timedelta(minutes=2))
    assert second.failed == 1
    third = await deliver(workdir, now + timedelta(hours=2))
    assert third.delivered == 1
    assert len(receiver.requests) == 3
    # one idempotency key for every attempt, so the receiver can drop a repeat
    assert len({r.headers["ess-delivery"] for r in receiver.requests}) == 1
    assert len({r.body for r in receiver.requests}) == 1
    for r in receiver.requests:
        verify(r.headers, r.body)
    assert await open_notices(workdir) == 0


async def test_the_failure_kept_names_the_status_never_the_secret_url(
    workdir: Workdir, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESS_TEST_TEAMS_URL", receiver.url + "?sig=s3cr3t-token")
    with_channels(workdir, hook_table("teams"))
    await held_run(workdir)
    receiver.script = [500]
    await deliver(workdir)
    journal = await SqliteJournal.open(workdir.journal)
    try:
        (notice,) = await journal.open_notices()
        (state,) = await journal.deliveries(notice.id)
    finally:
        await journal.close()
    assert state.last_error == "the receiver answered HTTP 500"
    assert "s3cr3t" not in state.last_error
    assert receiver.requests[0].path.endswith("sig=s3cr3t-token")


async def test_teams_and_slack_get_their_own_card_formats(
    workdir: Workdir, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESS_TEST_TEAMS_URL", receiver.url + "/teams")
    monkeypatch.setenv("ESS_TEST_SLACK_URL", receiver.url + "/slack")
    with_channels(workdir, hook_table("teams") + hook_table("slack"))
    run_id = await held_run(workdir)
    assert (await deliver(workdir)).delivered == 2
    by_path = {r.path.rsplit("/", 1)[1]: orjson.loads(r.body) for r in receiver.requests}
    card = by_path["teams"]["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    blocks = card["content"]["body"]
    assert card["content"]["type"] == "AdaptiveCard"
    assert blocks[0]["text"].endswith("a plan is held for approval")
    assert any(b["type"] == "FactSet" for b in blocks)
    assert blocks[-1]["text"].startswith(f"ess approve {run_id}")
    slack = by_path["slack"]
    assert slack["text"].endswith("a plan is held for approval")  # the plain fallback
    assert slack["blocks"][0]["type"] == "header"
    assert f"ess approve {run_id}" in slack["blocks"][-1]["text"]["text"]


async def test_a_notice_outlives_the_process_that_wrote_it(
    workdir: Workdir, receiver: Receiver
) -> None:
    """The run happens in a process that ends without delivering anything; the notice was
    written with the run's status, so a later process delivers it."""
    with_channels(workdir, webhook(receiver))
    workdir.source(tiny_snapshot())
    first = await asyncio.to_thread(sync_in_a_process, workdir)
    assert first.returncode == 0
    workdir.source(drop_persons(tiny_snapshot(), 0.5))
    held = await asyncio.to_thread(sync_in_a_process, workdir)
    assert held.stdout.split()[1] == "held", held.stdout + held.stderr
    assert receiver.requests == []  # nobody delivered yet
    assert (await deliver(workdir)).delivered == 1
    assert orjson.loads(receiver.requests[0].body)["run"] == int(held.stdout.split()[0])


async def test_a_failed_run_and_failed_items_over_the_threshold(
    workdir: Workdir, receiver: Receiver
) -> None:
    refused = pupils(tiny_snapshot())[:3]
    workdir.write(target="reject_keys = [" + ", ".join(f'"{p}"' for p in refused) + "]")
    with_channels(
        workdir,
        webhook(receiver, "few", 'events = ["failed_items"]\nfailed_items_min = 1')
        + webhook(
            receiver, "many", 'events = ["failed_items", "run_failed"]\nfailed_items_min = 50'
        ),
    )
    async with await Ops.open(workdir.config, actor="test:notify") as ops:
        partial = await ops.sync("alpha")
        assert partial.status == "partial"
        workdir.snapshot_path.unlink()  # the source cannot be read: the run fails
        failed = await ops.sync("alpha")
        assert failed.status == "failed"
    await deliver(workdir)
    got = [
        (r.headers["ess-delivery"].rsplit(".", 1)[1], orjson.loads(r.body))
        for r in receiver.requests
    ]
    assert [(channel, d["event"], d["run"]) for channel, d in got] == [
        ("few", "failed_items", partial.id),  # "many" wants 50 failed items: not this run
        ("many", "run_failed", failed.id),
    ]
    facts = {f["name"]: f["value"] for f in got[0][1]["facts"]}
    assert int(facts["dead items"]) >= 3
    assert await open_notices(workdir) == 0


async def test_a_wrong_smtp_password_is_named_and_retried(
    workdir: Workdir, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ESS_TEST_SMTP_PASSWORD", "wrong")
    with_channels(workdir, email(mailbox))
    await held_run(workdir)
    report = await deliver(workdir)
    assert report.failed == 1 and mailbox.mails == []
    journal = await SqliteJournal.open(workdir.journal)
    try:
        (notice,) = await journal.open_notices()
        (state,) = await journal.deliveries(notice.id)
    finally:
        await journal.close()
    assert state.last_error == f"127.0.0.1:{mailbox.port} refused the login (535)"
    monkeypatch.setenv("ESS_TEST_SMTP_PASSWORD", SMTP_PASSWORD)  # fixed: the retry goes through
    assert (await deliver(workdir, datetime.now(UTC) + timedelta(hours=1))).delivered == 1
    assert len(mailbox.mails) == 1


async def test_an_elevation_requested_and_approved_is_told(
    workdir: Workdir, receiver: Receiver
) -> None:
    workdir.write(tier="gold")
    with_channels(workdir, webhook(receiver, "support", 'events = ["elevation_requested"]'))
    with_channels(workdir, webhook(receiver, "all"))
    async with await Ops.open(workdir.config, actor="support:eva") as ops:
        private, public = approval.new_private_key()
        await ops.add_approver("alpha", "Rektor Anna", public)
        elevation = await ops.elevate("alpha", reason="year-end rollover", minutes=90)
        # the key's enrolment goes to "all" too (approver_changed), before the request
        assert (await deliver(workdir)).delivered == 3
        signed = approval.sign(private, await ops.elevation_challenge(elevation.id))
        await ops.approve_elevation(elevation.id, approver="Rektor Anna", signature=signed)
    assert (await deliver(workdir)).delivered == 1  # "support" wants requests only
    got = [
        (r.headers["ess-delivery"].rsplit(".", 1)[1], orjson.loads(r.body))
        for r in receiver.requests
    ]
    assert [(c, d["event"]) for c, d in got] == [
        ("all", "approver_changed"),
        ("support", "elevation_requested"),
        ("all", "elevation_requested"),
        ("all", "elevation_approved"),
    ]
    got = got[1:]
    requested = got[0][1]
    assert requested["command"] == f"ess elevation approve {elevation.id} --approver 'NAME'"
    facts = {f["name"]: f["value"] for f in requested["facts"]}
    assert facts["asked by"] == "support:eva" and facts["reason"] == "year-end rollover"
    assert {f["name"]: f["value"] for f in got[2][1]["facts"]}["approved by"] == "Rektor Anna"
