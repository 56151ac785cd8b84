"""``ess journal delete-tenant --former-config``: a tenant's files outside the journal, each
kind made where ESS puts it (the agent's uploads in the ingest's inbox folder, the encrypted
first-sign-in lists, an SDS delivery folder), are removed with its rows and listed; another
tenant's files in the same folders are kept; what ESS cannot reach is said. Without the former
config nothing outside the journal is touched, and the output says so. ``export-tenant`` lists
a tenant's files."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pyrage
from typer.testing import CliRunner

from console.cli import app
from engine.first_sign_in import HandOverConfig, Issued
from engine.hand_over import write_lists
from engine.ops import Ops

GONE, KEPT = "lovsta", "norby"
runner = CliRunner()


def tenant_table(tid: str, public_key: str) -> str:
    return f"""
[tenants.{tid}]
name = "{tid} kommun"
hand_over = {{ staff = "Karin Rektor", public_key = "{public_key}", folder = "lists" }}

[tenants.{tid}.source]
type = "agent"
inbox = "inbox"

[tenants.{tid}.targets.sds]
type = "sds"
folder = "sds-{tid}"
"""


def write_config(path: Path, tenants: tuple[str, ...], public_key: str) -> Path:
    body = "".join(tenant_table(t, public_key) for t in tenants)
    path.write_text('[journal]\npath = "ess.db"\n' + body, encoding="utf-8")
    return path


def make_files(folder: Path, tid: str, public_key: str) -> list[Path]:
    """One of each kind of file the tenant leaves outside the journal."""
    inbox = folder / "inbox"
    (inbox / "tenants" / tid).mkdir(parents=True)
    (inbox / "tenants" / tid / "latest.snap").write_bytes(b"snapshot of " + tid.encode())
    (inbox / "tenants" / tid / "latest.json").write_text(json.dumps({"tenant": tid}))
    (inbox / "partial").mkdir(exist_ok=True)
    note = inbox / "partial" / f"up-{tid}.json"
    note.write_text(json.dumps({"tenant": tid, "agent": f"agent-{tid}"}))
    note.with_suffix(".part").write_bytes(b"half an upload")
    issued = [Issued("sds", "p1", "Saga K", f"saga@{tid}.example", "pw-1234")]
    config = HandOverConfig(staff="Karin Rektor", public_key=public_key, folder="lists")
    handed = write_lists(tid, "run1", issued, {"p1": "7A"}, config, folder / "lists")
    sds = folder / f"sds-{tid}" / "sets" / "s1"
    sds.mkdir(parents=True)
    (sds / "users.csv").write_text("username\nsaga\n")
    return [
        inbox / "tenants" / tid,
        note,
        note.with_suffix(".part"),
        *handed[0].files,
        folder / f"sds-{tid}",
    ]


def ess(config: Path, *args: str) -> tuple[int, str]:
    r = runner.invoke(app, ["--config", str(config), *args])
    return r.exit_code, r.output


def test_delete_tenant_removes_its_files_outside_the_journal_and_keeps_the_others(
    tmp_path: Path,
) -> None:
    public_key = str(pyrage.x25519.Identity.generate().to_public())
    former = write_config(tmp_path / "ess-before.toml", (GONE, KEPT), public_key)
    config = tmp_path / "ess.toml"
    config.write_text(former.read_text(encoding="utf-8"), encoding="utf-8")

    async def register() -> None:  # the journal learns of both tenants
        async with await Ops.open(config, actor="test:eva"):
            pass

    asyncio.run(register())
    gone_files = make_files(tmp_path, GONE, public_key)
    kept_files = make_files(tmp_path, KEPT, public_key)
    assert all(p.exists() for p in gone_files + kept_files)

    # export-tenant while it is configured: its files are listed, not copied
    rc, out = ess(config, "journal", "export-tenant", GONE, str(tmp_path / "export.json"))
    assert rc == 0, out
    listed = json.loads((tmp_path / "export.json").read_text())["files"]["found"]
    assert sorted(listed) == sorted(str(p) for p in gone_files)

    write_config(config, (KEPT,), public_key)
    rc, out = ess(config, "journal", "delete-tenant", GONE, "--yes", "--former-config", str(former))
    assert rc == 0, out
    for path in gone_files:
        assert not path.exists(), path
        assert f"removed {path}" in out
    assert all(p.exists() for p in kept_files)
    assert "not reached: the on-site agent's own machine" in out


def test_without_the_former_config_nothing_outside_the_journal_is_touched(
    tmp_path: Path,
) -> None:
    public_key = str(pyrage.x25519.Identity.generate().to_public())
    config = write_config(tmp_path / "ess.toml", (GONE, KEPT), public_key)

    async def register() -> None:
        async with await Ops.open(config, actor="test:eva"):
            pass

    asyncio.run(register())
    gone_files = make_files(tmp_path, GONE, public_key)
    write_config(config, (KEPT,), public_key)
    # a former config that never held the tenant is refused before anything is removed
    rc, out = ess(config, "journal", "delete-tenant", GONE, "--yes", "--former-config", str(config))
    assert rc != 0 and f"holds no [tenants.{GONE}]" in out, out
    assert all(p.exists() for p in gone_files)
    rc, out = ess(config, "journal", "delete-tenant", GONE, "--yes", "--json")
    assert rc == 0, out  # the rows were still there to delete
    done = json.loads(out)
    assert done["files_removed"] == [] and "--former-config" in done["files_not_reached"][0]
    assert all(p.exists() for p in gone_files)
