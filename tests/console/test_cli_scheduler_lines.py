"""``ess scheduler`` under a service manager: structured lines, not a live table, when stdout
is no terminal; and the same lines in a rotating log file."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from console.cli import app
from tests.conftest import Workdir

LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} level=(INFO|WARNING|ERROR) "
    r'event=\w+ tenant=[\w-]+ msg="[^"\n]*"$'
)


def scheduled(workdir: Workdir) -> None:
    text = workdir.config.read_text().replace(
        'tier = "bronze"\n', 'tier = "bronze"\nschedule = "0 3 * * *"\n'
    )
    workdir.config.write_text(text, encoding="utf-8")


def test_lines_not_a_table_when_stdout_is_no_terminal(workdir: Workdir, tmp_path: Path) -> None:
    scheduled(workdir)
    log = tmp_path / "logs" / "ess.log"
    log.parent.mkdir()
    result = CliRunner().invoke(
        app, ["--config", str(workdir.config), "scheduler", "--once", "--log-file", str(log)]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines and all(LINE.match(line) for line in lines), lines
    assert any('event=started tenant=alpha msg="alpha: scheduled run"' in x for x in lines)
    assert any(
        re.search(r'event=finished tenant=alpha msg="alpha: run \d+ succeeded"', x) for x in lines
    )
    assert "─" not in result.stdout and "tenant  " not in result.stdout  # no table
    assert log.read_text(encoding="utf-8").splitlines() == lines


def test_a_log_file_that_cannot_be_written_is_named(workdir: Workdir, tmp_path: Path) -> None:
    scheduled(workdir)
    where = tmp_path / "no" / "such" / "ess.log"
    result = CliRunner().invoke(
        app, ["--config", str(workdir.config), "scheduler", "--once", "--log-file", str(where)]
    )
    assert result.exit_code == 2
    assert f"cannot write the log file {where}" in result.output
