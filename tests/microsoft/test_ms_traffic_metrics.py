"""Per-target 429s and retries in /metrics: a run against a Microsoft sandbox that throttles
shows in ``ess_target_http_throttled_total`` exactly the 429s the sandbox sent (inside $batch
answers too), labelled by tenant and target, beside the requests and retries its client made."""

from __future__ import annotations

import json
import re

import pytest
from ms_support import SECRET_ENV, settings_for

from adapters.microsoft.sandbox import MicrosoftSandbox
from adapters.microsoft.sandbox.server import DOMAIN
from engine.monitoring import Monitor, TrafficLedger
from engine.ops import Ops
from engine.testing.builder import tiny_snapshot
from tests.conftest import Workdir


def sample(text: str, name: str, target: str) -> float:
    m = re.search(rf'^{name}\{{target="{target}",tenant="alpha"\}} (\S+)$', text, re.M)
    assert m is not None, f"{name} for {target} not in /metrics"
    return float(m.group(1))


async def test_the_429s_and_retries_a_run_met_are_in_the_metrics(
    workdir: Workdir, ms_sandbox: MicrosoftSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    import engine.runner

    ledger = TrafficLedger()
    monkeypatch.setattr(engine.runner, "TRAFFIC", ledger)  # this test's own process ledger
    monkeypatch.setenv(SECRET_ENV, ms_sandbox.info.client_secret)
    workdir.source(tiny_snapshot(schools=1, pupils=8, teachers=1, protected_share=0.0))
    ms = settings_for(
        ms_sandbox.info, domain=DOMAIN, create_teams=False, write_limit=3000, write_window_s=1.0
    )
    lines = "\n".join(f"{k} = {json.dumps(v)}" for k, v in ms.items())
    workdir.config.write_text(
        workdir.config.read_text(encoding="utf-8") + f"\n[tenants.alpha.targets.m365]\n{lines}\n",
        encoding="utf-8",
    )
    ms_sandbox.settings.directory_write_limit = 8  # far under what the client was told
    ms_sandbox.settings.directory_write_window_s = 1.0
    ms_sandbox.reset_stats()
    async with await Ops.open(workdir.config, actor="test") as ops:
        run = await ops.sync("alpha")
        assert run.status == "succeeded", run
        monitor = Monitor(
            ops.journal, workdir.journal, process="test", missed_run_margin_s=60, traffic=ledger
        )
        await monitor.refresh()
        text = monitor.metrics_text().decode()
    sent_429 = ms_sandbox.stats().throttled
    assert sent_429 > 0  # the sandbox did throttle the run
    assert sample(text, "ess_target_http_throttled_total", "m365") == sent_429
    # HTTP requests on the wire: each $batch envelope once (the sandbox counts inner ones too)
    assert 0 < sample(text, "ess_target_http_requests_total", "m365") < ms_sandbox.stats().requests
    # every throttled part was sent again in a later round (the run succeeded)
    assert sample(text, "ess_target_http_retries_total", "m365") >= sent_429
    assert 'target="mem"' not in text  # a target without HTTP adds nothing
