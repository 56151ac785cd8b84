"""Bad input is a usage error (exit 2) named clearly, and never audited as allowed."""

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


@pytest.mark.parametrize("dry", [True, False])
def test_an_unknown_target_is_a_usage_error_audited_as_refused(shared: Path, dry: bool) -> None:
    before = len(json.loads(ess(shared, "runs", "alpha", "--json")[1]))
    code, out, err = ess(shared, "sync", "alpha", "--target", "nosuch", *(["--dry-run"] * dry))
    assert code == 2, out + err
    assert "unknown target(s) nosuch" in err
    assert "mem" in err  # the targets the tenant has
    assert len(json.loads(ess(shared, "runs", "alpha", "--json")[1])) == before  # no run
    audit = json.loads(ess(shared, "audit", "alpha", "--json")[1])
    mine = [a for a in audit if "nosuch" in a["detail"]]
    assert mine
    assert not any(a["allowed"] for a in mine)


def test_explain_of_an_unknown_id_is_an_error(shared: Path) -> None:
    code, out, err = ess(shared, "explain", "alpha", "person", "nope")
    assert code == 2, out + err
    assert "no person 'nope' in alpha" in err
    assert "not created yet" not in out


def test_advice_on_the_command_line_names_commands_not_console_keys(shared: Path) -> None:
    rows = json.loads(ess(shared, "failures", "alpha", "--json")[1])
    failed = [r for r in rows if r["status"] == "failed"]
    assert failed
    for r in failed:
        assert f"ess retry {r['id']}" in r["advice"]
        assert f"ess skip {r['id']}" in r["advice"]


@pytest.mark.parametrize(
    ("args", "listed"),
    [
        (("findings", "alpha", "--severity", "critical"), "'blocking', 'warning'"),
        (("logs", "1", "--level", "fatal"), "'debug', 'info', 'warning', 'error'"),
    ],
)
def test_a_filter_value_esss_does_not_know_is_refused_with_the_valid_ones(
    shared: Path, args: tuple[str, ...], listed: str
) -> None:
    code, out, err = ess(shared, *args)
    assert code == 2, out
    assert listed in " ".join(err.split())


async def test_the_facade_refuses_an_unknown_severity_or_level(shared: Path) -> None:
    from engine.ops import NotFound, Ops

    async with await Ops.open(shared, actor="cli:tester") as ops:
        with pytest.raises(NotFound, match="blocking, warning"):
            await ops.findings("alpha", severity="critical")
        with pytest.raises(NotFound, match="debug, info, warning, error"):
            await ops.events(1, level="fatal")


async def test_the_last_attempt_of_a_failed_item_says_failed(shared: Path) -> None:
    from engine.ops import Ops

    async with await Ops.open(shared, actor="cli:tester") as ops:
        failed = [o for o in await ops.failures("alpha") if o.status == "failed"]
        assert failed
        for item in failed:
            outcomes = [a.outcome for a in (await ops.operation(item.id)).attempts]
            assert outcomes, item
            assert outcomes[-1] == "failed", outcomes
            assert set(outcomes[:-1]) <= {"retry", "in_doubt"}
