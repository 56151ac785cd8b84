"""The CLI as an engineer limited by ``[operators.ACCOUNT]`` (the OS account the command runs
as, as in the audit): the lists show their tenants, a command on another tenant is refused
with a message that says why and exit code 3, another tenant's run is "not found", and a copy
of the whole journal is not theirs to take."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from typer.testing import CliRunner

from console.cli import app as cli
from engine.ops import Ops
from tests.conftest import Workdir
from tests.hosted_scope.scope_support import ME, OTHER, SERVED, Rows, config_text, fill_two


def _filled(config: Path) -> Rows:
    async def go() -> Rows:
        async with await Ops.open(config, actor="test:setup") as ops:
            return await fill_two(ops.journal)

    return asyncio.run(go())


def ess(config: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    return result.exit_code, result.output


def test_an_operator_limited_to_alpha(workdir: Workdir, tmp_path: Path) -> None:
    workdir.config.write_text(
        config_text(f'[operators."{ME}"]\ntenants = ["alpha"]\n'), encoding="utf-8"
    )
    other = _filled(workdir.config)
    code, out = ess(workdir.config, "status", "--json")
    assert code == 0, out
    assert [t["id"] for t in json.loads(out)] == [SERVED]
    code, out = ess(workdir.config, "runs", OTHER)
    assert code == 3
    assert f"refused: tenant beta is not among the tenants operator {ME} may serve" in out
    assert "Traceback" not in out
    code, out = ess(workdir.config, "sync", OTHER, "--dry-run")
    assert code == 3 and "refused" in out
    code, out = ess(workdir.config, "show", str(other.run))
    assert code == 2 and f"not found: no run {other.run};" in out and OTHER not in out
    code, out = ess(workdir.config, "failures", "--json")
    assert code == 0 and {i["tenant"] for i in json.loads(out)} == {SERVED}
    code, out = ess(workdir.config, "journal", "backup", str(tmp_path / "copy.db"))
    assert code == 3 and "copies every tenant's rows" in out
    assert not (tmp_path / "copy.db").exists()
    code, out = ess(workdir.config, "audit", "list", OTHER)
    assert code == 3
