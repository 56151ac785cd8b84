"""A dry run lists its planned operations item by item, an update with its attribute changes
old → new, after saying first that the guard would hold it; a protected identity's values are
never shown."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from typer.testing import CliRunner

from console.cli import app
from engine.testing.snapshot_io import read_snapshot, write_snapshot

runner = CliRunner()


def ess(config: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--config", str(config), *args], env={"COLUMNS": "200"})
    return result.exit_code, result.stdout


def test_an_update_shows_old_and_new(scenario_config: Path) -> None:
    source = scenario_config.parent / "alpha.json"
    snap = read_snapshot(source)
    person = next(p for p in sorted(snap.persons.values(), key=lambda p: p.id) if p.given_name)
    renamed = replace(person, given_name="Zelda")
    write_snapshot(replace(snap, persons={**snap.persons, person.id: renamed}), source)
    code, out = ess(scenario_config, "sync", "alpha", "--dry-run")
    assert code in (0, 3), out
    old_name, new_name = person.display_name, renamed.display_name
    wanted = [line for line in out.splitlines() if line.startswith("would update user")]
    assert any(f"'{old_name}' → '{new_name}'" in line for line in wanted), out[:2000]
    code, raw = ess(scenario_config, "sync", "alpha", "--dry-run", "--json")
    planned = json.loads(raw)["planned_operations"]
    assert any(f"'{old_name}' → '{new_name}'" in line for line in planned)


def test_a_held_dry_run_says_so_first_then_lists_and_hides_protected(
    scenario_config: Path,
) -> None:
    code, out = ess(scenario_config, "sync", "beta", "--dry-run")
    assert code == 5
    lines = out.splitlines()
    assert lines[0].startswith("A real run would be held by the guard")
    listed = [line for line in lines if line.startswith("would ")]
    first = lines.index(listed[0])
    assert listed and lines[first : first + len(listed)] == listed  # one list, after the warning
    assert any("Skyddad identitet" in line for line in listed)  # masked, by pseudonym
