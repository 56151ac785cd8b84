"""A dry run tells the truth about the guard: it says first that a real run would be held, and
why, exits 5 (held or would be held), and never counts as the tenant's last run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from console.cli import app
from engine.testing.scenario import build_scenario

runner = CliRunner()


@pytest.fixture
def fresh(tmp_path: Path) -> Path:
    return build_scenario(tmp_path / "scenario")


def ess(config: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--config", str(config), "--actor", "cli:tester", *args])
    return result.exit_code, result.stdout, result.stderr


def test_dry_run_of_a_plan_the_guard_would_hold(fresh: Path) -> None:
    code, out, err = ess(fresh, "status", "beta", "--json")
    assert code == 0, err
    last_real = json.loads(out)["health"]["last_run"]
    assert last_real["status"] == "held"

    code, out, err = ess(fresh, "sync", "beta", "--dry-run", "--json")
    assert code == 5, err
    run = json.loads(out)["run"]
    assert run["dry_run"] is True
    assert run["held_reasons"]

    code, out, err = ess(fresh, "sync", "beta", "--dry-run")
    assert code == 5, out + err
    said = " ".join(out.split())  # as one line, however the terminal wrapped it
    assert said.startswith(
        "A real run would be held by the guard: " + "; ".join(run["held_reasons"]).strip()
    )
    assert "dry run, a real run would be held" in said
    assert "succeeded" not in said

    # the dry runs are listed as such, and the tenant's last run is still the held one
    code, out, err = ess(fresh, "status", "beta", "--json")
    health = json.loads(out)["health"]
    assert health["last_run"]["id"] == last_real["id"]
    assert health["health"] == "held"
    code, out, _ = ess(fresh, "runs", "beta", "--json")
    newest = json.loads(out)[0]
    assert newest["dry_run"] is True
    assert newest["held_reasons"] == run["held_reasons"]


def test_dry_run_that_a_real_run_would_not_hold_exits_0(fresh: Path) -> None:
    code, out, err = ess(fresh, "sync", "alpha", "--dry-run", "--json")
    assert code == 0, err
    run = json.loads(out)["run"]
    assert run["dry_run"] is True
    assert run["held_reasons"] == []
