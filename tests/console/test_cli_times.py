"""A schedule's times are shown in the tenant's zone, with the zone's name: a cron line
`0 5 * * *` in Europe/Stockholm runs at 05:00 there, whatever the machine's zone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from console.cli import app
from engine.testing.scenario import build_scenario

runner = CliRunner()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_scenario(tmp_path_factory.mktemp("scenario"))


def test_next_run_is_shown_in_the_tenants_zone(
    shared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "America/New_York")  # a machine far from the tenant
    import time

    time.tzset()
    try:
        result = runner.invoke(
            app, ["--config", str(shared), "status", "alpha"], env={"COLUMNS": "200"}
        )
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert result.exit_code == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if "next run" in x)
    assert re.search(r"\d{4}-\d\d-\d\d 05:00:00 Europe/Stockholm", line), line


def test_failures_fit_80_columns_with_the_last_error(shared: Path) -> None:
    result = runner.invoke(
        app, ["--config", str(shared), "failures", "alpha"], env={"COLUMNS": "80"}
    )
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines)
    rows = [line for line in lines if re.match(r"^\d+\s+│", line)]
    assert rows
    table = lines[: next(i for i, x in enumerate(lines) if x.startswith("dead:"))]
    assert len(table) <= 2 + 4 * len(rows)  # a few lines per item, not one word per line
    said = " ".join(" ".join(lines).split())
    assert "503" in said  # the last error is shown
    assert "`ess retry ITEM`" in said
