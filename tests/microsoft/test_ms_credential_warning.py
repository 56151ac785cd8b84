"""Credential expiry told ahead: the app's client secret, as Graph reports its end date, ends
within a channel's ``expiry_days``: the scheduler's courier queues one ``credential_expiring``
notice a day for it, and it reaches the channel with the command that shows it; a secret far
from its end says nothing. Over real HTTPS (the sandbox) and HTTP (the receiver)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from ms_support import SECRET_ENV, settings_for

from adapters.microsoft.sandbox import MicrosoftSandbox
from adapters.microsoft.sandbox.server import DOMAIN
from engine.ops import Ops
from tests.conftest import Workdir
from tests.notify.peers import Receiver, serve_receiver
from tests.notify.test_notify_delivery import deliver, webhook, with_channels


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve_receiver()


async def test_a_secret_near_its_end_is_told_once_a_day(
    workdir: Workdir,
    ms_sandbox: MicrosoftSandbox,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SECRET_ENV, ms_sandbox.info.client_secret)
    monkeypatch.setenv("ESS_TEST_SIGNING_KEY", "k3y-for-the-receiver")
    ms = settings_for(ms_sandbox.info, domain=DOMAIN)
    lines = "\n".join(f"{k} = {json.dumps(v)}" for k, v in ms.items())
    workdir.config.write_text(
        workdir.config.read_text(encoding="utf-8") + f"\n[tenants.alpha.targets.m365]\n{lines}\n",
        encoding="utf-8",
    )
    with_channels(workdir, webhook(receiver, "it", "expiry_days = 14"))
    async with await Ops.open(workdir.config, actor="test") as ops:
        assert await ops.send_credential_warnings() == []  # 365 days left: nothing to say
        ms_sandbox.settings.client_secret_days = 9.5
        assert await ops.send_credential_warnings() == []  # asked within the hour: not again
        ops._credentials_asked = None  # an hour later
        (queued,) = await ops.send_credential_warnings()
        assert queued.startswith("m365: client secret 'ESS sync' of the app expires ")
        assert "(in 9 days)" in queued
        later = datetime.now(UTC) + timedelta(hours=2)
        assert await ops.send_credential_warnings(later) == []  # told today already
        tomorrow = datetime.now(UTC) + timedelta(days=1, hours=1)
        assert len(await ops.send_credential_warnings(tomorrow)) == 1
    assert (await deliver(workdir)).delivered == 2
    first = orjson.loads(receiver.requests[0].body)
    assert first["event"] == "credential_expiring"
    assert first["command"] == "ess target check alpha"
    facts = {f["name"]: f["value"] for f in first["facts"]}
    assert "create a new client secret" in facts["credential"]
    assert ms_sandbox.info.client_secret not in receiver.requests[0].body.decode()
