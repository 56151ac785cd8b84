"""Graph's request-id of a failed answer reaches the item: the attempt record, the failures and
the item's attempts, as a support ticket with Microsoft needs it."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from pathlib import Path

import pytest
from ms_support import SECRET_ENV, small_snapshot
from test_end_to_end import put_snapshot, sync, write_config
from typer.testing import CliRunner

from adapters.microsoft.sandbox import MicrosoftSandbox
from adapters.microsoft.target import MicrosoftTarget
from console.cli import app
from engine import request_ids
from engine.ops import Ops
from engine.plan import Action, Operation
from engine.target import OutcomeKind, TargetContext


def is_uuid(value: str | None) -> bool:
    try:
        return value is not None and str(uuid.UUID(value)) == value
    except ValueError:
        return False


async def test_a_refused_licence_keeps_graphs_request_id(
    ms_sandbox: MicrosoftSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, ms_sandbox.info.client_secret)
    # the sandbox refuses an assignment of a SKU that is not a GUID with 400, as Entra does
    config = write_config(tmp_path, ms_sandbox, target={"student_license_sku": "gold"})
    put_snapshot(tmp_path, small_snapshot())
    await sync(config)
    async with await Ops.open(config, actor="test") as ops:
        failed = await ops.failures("alpha", limit=1000)
        licences = [o for o in failed if o.status == "dead"]
        assert licences, [(o.kind, o.status, o.last_error) for o in failed]
        ids = [o.request_id for o in licences]
        assert all(is_uuid(i) for i in ids), ids
        assert len(set(ids)) == len(ids)  # each answer its own id, not the $batch envelope's
        detail = await ops.operation(licences[0].id)
        assert detail.attempts[-1].request_id == licences[0].request_id
    done = await _done_items(config)
    assert done and all(o.request_id is None for o in done)  # kept for failures only

    # the command line shows it, and both exports carry it
    base = ["--config", str(config), "failures", "alpha"]
    shown = await ess(*base, "--limit", "1000")
    assert "(request-id" in shown and ids[0][:8] in shown  # the table may fold the rest
    rows = list(csv.DictReader(io.StringIO(await ess(*base, "--csv"))))
    assert {r["request_id"] for r in rows if r["status"] == "dead"} == set(ids)
    as_json = json.loads(await ess(*base, "--json", "--limit", "1000"))
    assert {r["request_id"] for r in as_json if r["status"] == "dead"} == set(ids)


async def ess(*args: str) -> str:
    """The command line, in a thread of its own (it runs its own event loop)."""
    result = await asyncio.to_thread(CliRunner().invoke, app, list(args), env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.stderr
    return result.stdout


async def _done_items(config: Path) -> list[object]:
    async with await Ops.open(config, actor="test") as ops:
        run = (await ops.runs("alpha", limit=1))[0]
        return list(await ops.operations(run.id, status="done", limit=20))


async def test_binds_sent_together_share_their_requests_id(
    ms_sandbox: MicrosoftSandbox, ms_target: MicrosoftTarget
) -> None:
    client = ms_target.client
    users = []
    for i in range(4):
        body = {
            "accountEnabled": True,
            "displayName": f"R {i}",
            "mailNickname": f"r{i}",
            "userPrincipalName": f"r{i}@skola.example",
            "passwordProfile": {"password": "Sandbox-Pass-1"},
        }
        users.append((await client.send("POST", "users", json=body)).body["id"])
    classes = {}
    for name in ("ra", "rb"):
        made = await client.send(
            "POST",
            "education/classes",
            json={"displayName": name, "mailNickname": f"c-{name}", "externalId": name},
        )
        classes[name] = made.body["id"]
    ids = {f"u{i}": u for i, u in enumerate(users)} | {f"class:{k}": v for k, v in classes.items()}
    ctx = TargetContext(
        "t", 1, lambda kind, key: ids.get(f"class:{key}" if kind == "class" else key)
    )
    ops = [
        Operation(
            seq=i + 1,
            target="microsoft",
            action=Action.LINK,
            kind="class.member",
            key=f"u{i}",
            parent="ra" if i < 2 else "rb",
            attempts=1,
        )
        for i in range(4)
    ]
    ms_sandbox.settings.fault_rate = 1.0
    ms_sandbox.settings.fault_kinds = ("5xx",)
    try:
        with request_ids.collecting() as answers:
            outcomes = await ms_target.apply(ms_target.batches(ops)[0], ctx)
    finally:
        ms_sandbox.settings.fault_rate = 0.0
    assert all(o.kind is not OutcomeKind.DONE for o in outcomes)
    got = [answers.for_operation(op.seq, alone=False) for op in ops]
    assert all(is_uuid(g) for g in got), got
    assert got[0] == got[1] and got[2] == got[3]  # one PATCH binds each class's members
    assert got[0] != got[2]
