"""``ess notify test`` and ``ess notify send`` on real channels, and the channel tables of
ess.toml refused with a clear message naming the key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from console.cli import app
from tests.conftest import Workdir
from tests.notify.peers import Mailbox, Receiver, serve_receiver, serve_smtp
from tests.notify.test_notify_delivery import SMTP_PASSWORD, email, webhook, with_channels

runner = CliRunner()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve_receiver()


@pytest.fixture
def mailbox(tmp_path: Path) -> Iterator[Mailbox]:
    yield from serve_smtp(tmp_path, SMTP_PASSWORD)


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESS_TEST_SIGNING_KEY", "k")
    monkeypatch.setenv("ESS_TEST_SMTP_PASSWORD", SMTP_PASSWORD)


def ess(workdir: Workdir, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["--config", str(workdir.config), *args])


def test_notify_test_reaches_each_channel_and_is_audited(
    workdir: Workdir, receiver: Receiver, mailbox: Mailbox
) -> None:
    with_channels(workdir, webhook(receiver) + email(mailbox))
    result = ess(workdir, "notify", "test", "alpha")
    assert result.exit_code == 0, result.output
    assert "hook (webhook): ok" in result.output and "it-desk (email): ok" in result.output
    (request,) = receiver.requests
    assert orjson.loads(request.body)["event"] == "test"
    (mail,) = mailbox.mails
    assert mail["Subject"] == "[ESS] Alpha kommun: test notification"
    audit = json.loads(ess(workdir, "audit", "list", "alpha", "--json").output)
    assert any(a["action"] == "notify_test" for a in audit)


def test_notify_test_exits_1_naming_the_channel_that_failed(
    workdir: Workdir, receiver: Receiver
) -> None:
    with_channels(workdir, webhook(receiver, "good") + webhook(receiver, "bad"))
    receiver.script = [200, 502]
    result = ess(workdir, "notify", "test", "alpha", "--json")
    assert result.exit_code == 1
    answers = {a["channel"]: a for a in json.loads(result.output)}
    assert answers["good"]["ok"] is True
    assert answers["bad"] == {
        **answers["bad"],
        "ok": False,
        "error": "the receiver answered HTTP 502",
    }


def test_notify_test_without_channels_says_how_to_add_one(workdir: Workdir) -> None:
    result = ess(workdir, "notify", "test", "alpha")
    assert result.exit_code == 2
    assert "has no notification channels; add a [[tenants.alpha.notify]] table" in result.output


def test_notify_send_delivers_a_held_plan_now(workdir: Workdir, receiver: Receiver) -> None:
    from engine.testing.builder import tiny_snapshot
    from tests.engine.test_sync import drop_persons

    with_channels(workdir, webhook(receiver))
    assert ess(workdir, "sync", "alpha").exit_code == 0
    workdir.source(drop_persons(tiny_snapshot(), 0.5))
    assert ess(workdir, "sync", "alpha").exit_code == 5  # held
    assert receiver.requests == []
    sent = ess(workdir, "notify", "send")
    assert sent.exit_code == 0, sent.output
    assert "1 delivered, 0 failed" in sent.output
    assert orjson.loads(receiver.requests[0].body)["event"] == "plan_held"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            'name = "a"\ntype = "webhook"\nurl = "http://hooks.example/x"\nsigning_key = "env:K"',
            "a webhook URL must be https://",
        ),
        (
            'name = "a"\ntype = "webhook"\nurl = "https://hooks.example/x"\nsigning_key = "abc"',
            "a secret must be a reference",
        ),
        ('name = "a"\ntype = "teams"\nurl = "https://x.webhook.office.com/abc"', "a secret must"),
        (
            'name = "a"\ntype = "email"\nhost = "smtp.example"\nsecurity = "none"\n'
            'from = "a@b.se"\nto = ["c@d.se"]',
            'security = "none" is allowed only to a relay on this machine',
        ),
        (
            'name = "a"\ntype = "email"\nhost = "smtp.example"\nusername = "u"\n'
            'from = "a@b.se"\nto = ["c@d.se"]',
            "username and password go together",
        ),
        ('name = "a"\ntype = "pager"', "tenants.alpha.notify.0"),
    ],
)
def test_a_bad_channel_is_named_and_no_value_echoed(
    workdir: Workdir, table: str, message: str
) -> None:
    with_channels(workdir, "[[tenants.alpha.notify]]\n" + table + "\n")
    result = ess(workdir, "config", "check")
    assert result.exit_code == 1, result.output  # config check: problems found
    assert message in result.output
    assert "tenants.alpha.notify" in result.output
    assert "abc" not in result.output  # a literal secret is never shown back


def test_two_channels_of_one_name_are_refused(workdir: Workdir, receiver: Receiver) -> None:
    with_channels(workdir, webhook(receiver, "x") + webhook(receiver, "x"))
    result = ess(workdir, "config", "check")
    assert result.exit_code == 1
    assert "channel names must differ; repeated: x" in result.output
