"""`ess audit TENANT`, the form of the previous release, still lists that tenant's audit log for
one release, with a note that says what replaces it; `ess audit` alone lists every tenant's."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from console.cli import app
from tests.conftest import Workdir


def test_the_old_form_still_lists_with_a_deprecation_note(workdir: Workdir) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["--config", str(workdir.config), "sync", "alpha"]).exit_code == 0
    old = runner.invoke(app, ["--config", str(workdir.config), "audit", "alpha", "--json"])
    new = runner.invoke(app, ["--config", str(workdir.config), "audit", "list", "alpha", "--json"])
    assert old.exit_code == 0 and new.exit_code == 0
    assert "deprecated" in old.stderr and "ess audit list TENANT" in old.stderr
    assert "deprecated" not in new.stderr
    assert json.loads(old.stdout) == json.loads(new.stdout)
    assert any(row["action"] == "sync" for row in json.loads(old.stdout))
    everyone = runner.invoke(app, ["--config", str(workdir.config), "audit", "--json"])
    assert everyone.exit_code == 0 and json.loads(everyone.stdout)


def test_an_unknown_tenant_is_a_usage_error(workdir: Workdir) -> None:
    result = CliRunner().invoke(app, ["--config", str(workdir.config), "audit", "list", "nosuch"])
    assert result.exit_code == 2
