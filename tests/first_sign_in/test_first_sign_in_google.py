"""First sign-in through whole runs (engine.ops) against the Google sandbox: with
``passwords`` the sandbox signs each account in with the password of the decrypted list and
asks for a change; with ``federated`` no list is written and no change is asked."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyrage
import pytest

from adapters.google.sandbox import GoogleSandbox, SandboxSettings
from engine.hand_over import CSV_HEADER
from engine.testing.memory_source import write_snapshot
from tests.google.test_google_end_to_end import KEY_ENV, settings_for, snapshot


@pytest.fixture
def sandbox() -> Iterator[GoogleSandbox]:
    with GoogleSandbox(settings=SandboxSettings()) as running:
        yield running


def write_config(workdir: Path, sb: GoogleSandbox, sign_in: str, key: Any) -> Path:
    lines = [
        "[journal]",
        'path = "ess.db"',
        "",
        "[tenants.alpha]",
        'source = { type = "memory", path = "snapshot.json" }',
        f'first_sign_in = "{sign_in}"',
        f'hand_over = {{ staff = "Karin Rektor", public_key = "{key.to_public()}", '
        'folder = "lists" }',
        "",
        "[tenants.alpha.targets.google]",
        *(f"{k} = {json.dumps(v)}" for k, v in settings_for(sb).items()),
    ]
    path = workdir / "ess.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    write_snapshot(snapshot(), workdir / "snapshot.json")
    return path


async def run(config: Path) -> Any:
    from engine.ops import Ops

    ops = await Ops.open(config, actor="test")
    try:
        return await ops.sync("alpha")
    finally:
        await ops.close()


def pupils(sb: GoogleSandbox) -> list[dict[str, Any]]:
    return [u for u in sb.state()["users"] if not u.get("isAdmin")]


@pytest.mark.parametrize("mode", ["passwords", "federated"])
async def test_google_first_sign_in(
    mode: str,
    sandbox: GoogleSandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    staff_key: pyrage.x25519.Identity,
) -> None:
    monkeypatch.setenv(KEY_ENV, Path(sandbox.info.key_file).read_text())
    result = await run(write_config(tmp_path, sandbox, mode, staff_key))
    assert result.status == "succeeded", result
    users = pupils(sandbox)
    assert users
    if mode == "federated":
        assert not (tmp_path / "lists").exists()
        assert not any(u["changePasswordAtNextLogin"] for u in users)
        return
    rows = []
    for path in (tmp_path / "lists").glob("*.csv.age"):
        text = pyrage.decrypt(path.read_bytes(), [staff_key]).decode("utf-8-sig")
        rows += [
            dict(zip(CSV_HEADER, r, strict=True)) for r in list(csv.reader(io.StringIO(text)))[1:]
        ]
    assert sorted(r["account"] for r in rows) == sorted(u["primaryEmail"] for u in users)
    for row in rows:
        assert sandbox.sign_in(row["account"], row["initial password"]) == "change"
        assert sandbox.sign_in(row["account"], "wrong" + row["initial password"]) == "refused"
    journal = b"".join(p.read_bytes() for p in tmp_path.glob("ess.db*"))
    assert not any(r["initial password"].encode() in journal for r in rows)
