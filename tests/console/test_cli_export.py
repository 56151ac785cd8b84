"""CSV exports of findings and failures: whole (no page cut), with the fix or advice, and safe
to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from console.cli import app
from console.cli_export import FAILURE_COLUMNS, FINDING_COLUMNS, cell
from engine.testing.scenario import build_scenario

runner = CliRunner()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_scenario(tmp_path_factory.mktemp("scenario"))


def ess(config: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--config", str(config), *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("command", "columns", "id_of"),
    [
        ("findings", FINDING_COLUMNS, lambda r: r["record_id"]),
        ("failures", FAILURE_COLUMNS, lambda r: str(r["id"])),
    ],
)
def test_an_export_has_every_row_with_its_fix(
    shared: Path, command: str, columns: tuple[str, ...], id_of: object
) -> None:
    code, out, err = ess(shared, command, "alpha", "--json")
    assert code == 0, err
    rows = json.loads(out)
    code, out, err = ess(shared, command, "alpha", "--csv", "--limit", "1")  # --limit is no cap
    assert code == 0, err
    got = list(csv.DictReader(io.StringIO(out)))
    assert tuple(got[0]) == columns
    key = "record_id" if command == "findings" else "item"
    assert sorted(r[key] for r in got) == sorted(id_of(r) for r in rows)  # type: ignore[operator]
    text = "fix" if command == "findings" else "advice"
    assert all(r[text] for r in got if r.get("status") != "blocked")


def test_a_cell_a_spreadsheet_would_run_is_defused() -> None:
    assert cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert cell("+46 70") == "'+46 70"
    assert cell("-1") == "'-1"
    assert cell("@SUM(A1)") == "'@SUM(A1)"
    assert cell("Anna\x1b[31m") == "Anna\\x1b[31m"
    assert cell("9A") == "9A"
    assert cell(None) == ""
