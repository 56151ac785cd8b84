"""Hostile values from the source, through a whole run against the Microsoft sandbox.

Names past Graph's limits (100,000 characters, ten megabytes) are blocking findings that name
the field, the length and the limit, and nothing past a limit reaches the sandbox; NUL, ESC and
a right-to-left override are removed before anything is sent, with a warning; no finding
message carries the control characters, the overlong name or a personnummer.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from ms_support import G_KLASS, SECRET_ENV, current_snapshot, pid
from test_end_to_end import put_snapshot, sync, write_config

from adapters.microsoft.sandbox import MicrosoftSandbox
from engine.model import Snapshot

LONG = "A" * 100_000
HUGE = "B" * 10_000_000
CONTROLS = ("\x00", "\x1b", "\u202e")


@pytest.fixture
def workdir(tmp_path: Path, ms_sandbox: MicrosoftSandbox, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(SECRET_ENV, ms_sandbox.info.client_secret)
    return tmp_path


def hostile_snapshot() -> Snapshot:
    snap = current_snapshot(datetime.now(UTC).date())
    persons = dict(snap.persons)
    persons[pid(1)] = replace(persons[pid(1)], given_name=LONG)
    persons[pid(2)] = replace(persons[pid(2)], given_name=HUGE)
    persons[pid(3)] = replace(persons[pid(3)], family_name="E\x00k\x1b[31m\u202eevil")
    groups = dict(snap.groups)
    groups[G_KLASS] = replace(groups[G_KLASS], name="7A\x1b " + "x" * 300)
    return replace(snap, persons=persons, groups=groups)


def strings(value: Any) -> list[str]:
    """Every string in a JSON-like value, keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *strings(v))]
    if isinstance(value, list | tuple):
        return [s for v in value for s in strings(v)]
    return []


async def findings_of(config: Path) -> list[Any]:
    from engine.ops import Ops

    ops = await Ops.open(config, actor="test")
    try:
        return await ops.findings("alpha", limit=1000)
    finally:
        await ops.close()


async def test_overlong_and_control_characters_never_reach_graph(
    ms_sandbox: MicrosoftSandbox, workdir: Path
) -> None:
    config = write_config(workdir, ms_sandbox)
    snap = hostile_snapshot()
    put_snapshot(workdir, snap)
    summary = await sync(config)
    assert summary.status == "succeeded", summary

    state = ms_sandbox.state()
    texts = strings(state)
    assert max(map(len, texts)) <= 256
    users = {(u.get("student") or u.get("teacher"))["externalId"]: u for u in state["users"]}
    assert pid(1) not in users  # blocked: its given name is past 64
    assert pid(2) not in users
    assert all(len(u.get("givenName") or "") <= 64 for u in users.values())
    assert users[pid(3)]["surname"] == "Ek[31mevil"  # cleaned, and the account made
    dumped = json.dumps(state, ensure_ascii=False)
    assert not any(c in dumped for c in CONTROLS)
    assert G_KLASS not in {
        g["education"]["externalId"] for g in state["groups"] if g.get("education")
    }

    findings = await findings_of(config)
    too_long = {f.record_id: f for f in findings if f.code == "field.too_long"}
    assert set(too_long) == {pid(1), pid(2), G_KLASS}
    assert all(f.severity == "blocking" for f in too_long.values())
    assert "given name is 100,000 characters long" in too_long[pid(1)].message
    assert "given name is 10,000,000 characters long" in too_long[pid(2)].message
    assert "at most 64" in too_long[pid(1)].message
    assert "at most 256" in too_long[G_KLASS].message
    assert "(it begins '7A xxxx" in too_long[G_KLASS].message  # a group's name is no secret
    assert "it begins" not in too_long[pid(1)].message  # a person's is
    cleaned = [f for f in findings if f.code == "text.control_characters"]
    assert [(f.record_type, f.record_id, f.severity) for f in cleaned] == [
        ("person", pid(3), "warning"),
        ("group", G_KLASS, "warning"),
    ]
    assert "family_name" in cleaned[0].message
    for f in findings:
        assert len(f.label) < 600  # the journal's index holds overlong names cut short
        for text in (f.message, f.fix, f.label):
            assert not any(c in text for c in CONTROLS), f
            assert len(text) < 2_100
            for p in snap.persons.values():
                assert p.civic_no is None or p.civic_no not in text
        assert "A" * 30 not in f.message + f.fix  # never the value itself
