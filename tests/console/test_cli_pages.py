"""Honest counts on the command line: a list cut at --limit says "N of M" and how to page on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from console.cli import app
from engine.testing.scenario import build_scenario

runner = CliRunner()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_scenario(tmp_path_factory.mktemp("scenario"))


def ess(config: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--config", str(config), "--actor", "cli:tester", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(("command", "what"), [("findings", "findings"), ("failures", "items")])
def test_a_cut_list_says_n_of_m_and_pages_on(shared: Path, command: str, what: str) -> None:
    code, out, err = ess(shared, command, "alpha", "--json")
    assert code == 0, err
    everything = json.loads(out)
    total = len(everything)
    assert total >= 2
    assert "showing" not in err  # the whole list: nothing to say

    code, out, err = ess(shared, command, "alpha", "--limit", "1")
    assert code == 0, err
    assert f"showing {what} 1-1 of {total}; `--offset 1` shows the next page" in out

    code, out, err = ess(shared, command, "alpha", "--limit", "1", "--json")
    assert code == 0, err
    assert json.loads(out) == everything[:1]  # stdout stays one document
    assert f"of {total}" in err

    code, out, err = ess(shared, command, "alpha", "--offset", "1", "--json")
    assert code == 0, err
    assert json.loads(out) == everything[1:]
    assert f"showing {what} 2-{total} of {total}" in err
    assert "next page" not in err


def test_source_check_shows_no_id_column_of_zeros(shared: Path) -> None:
    """A source check stores nothing, so its findings have no id to show; stored ones do."""
    result = runner.invoke(
        app, ["--config", str(shared), "source", "check", "alpha"], env={"COLUMNS": "200"}
    )
    header = next(line for line in result.stdout.splitlines() if "severity" in line)
    assert header.split()[0] == "severity"
    result = runner.invoke(
        app, ["--config", str(shared), "findings", "alpha"], env={"COLUMNS": "200"}
    )
    header = next(line for line in result.stdout.splitlines() if "severity" in line)
    assert header.split()[0] == "id"


def test_search_puts_the_exact_name_first_and_tells_groups_apart(shared: Path) -> None:
    groups = [
        h
        for h in json.loads(ess(shared, "search", "g-", "--tenant", "alpha", "--json")[1])
        if h["record_type"] == "group"
    ]
    assert groups
    name = groups[-1]["label"]
    hits = json.loads(ess(shared, "search", name, "--tenant", "alpha", "--json")[1])
    assert hits[0]["label"] == name
    assert "/" in hits[0]["detail"]  # the school year, e.g. "class at Norra skolan, 2026/27"
