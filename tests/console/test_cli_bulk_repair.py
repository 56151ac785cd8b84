"""Repairing many items at once: a run's open failures, however many were handled one by one.

On the scenario's alpha (a partial run with failed, dead and blocked items), real runs of the
engine against the memory target.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


def ess_json(config: Path, *args: str) -> Any:
    code, out, err = ess(config, *args, "--json")
    assert code in (0, 1), err
    return json.loads(out)


def test_retry_run_after_one_item_was_retried_alone(fresh: Path) -> None:
    run = ess_json(fresh, "runs", "alpha")[0]
    assert run["status"] == "partial"
    open_before = [f for f in ess_json(fresh, "failures", "alpha") if f["run_id"] == run["id"]]
    assert len(open_before) >= 2
    alone = open_before[0]["id"]

    code, _, err = ess(fresh, "retry", str(alone))
    assert code in (0, 1), err

    code, out, err = ess(fresh, "retry", "--run", str(run["id"]), "--json")
    assert "not open failures" not in err
    assert code in (0, 1), err
    result = json.loads(out)
    assert result["run_id"] is not None  # a retry run was made, with the rest of the run
    retried = ess_json(fresh, "show", str(result["run_id"]))
    assert retried["summary"]["counts"]["planned"] >= len(open_before) - 1

    # the run's items are now all replaced: a second retry of the run says there is none left
    code, out, err = ess(fresh, "retry", "--run", str(run["id"]))
    assert code == 0, err
    assert "no open failed items" in out


def test_a_retried_item_is_no_longer_an_open_failure(fresh: Path) -> None:
    run = ess_json(fresh, "runs", "alpha")[0]
    first = next(f for f in ess_json(fresh, "failures", "alpha") if f["run_id"] == run["id"])
    ess(fresh, "retry", str(first["id"]))
    detail = ess_json(fresh, "show", str(run["id"]))
    assert detail["summary"]["id"] == run["id"]
    still_open = [f["id"] for f in ess_json(fresh, "failures", "alpha")]
    assert first["id"] not in still_open
    code, _, err = ess(fresh, "retry", str(first["id"]))
    assert code != 0
    assert "not open failures" in err


def test_failures_grouped_by_cause_and_skipped_as_a_group(fresh: Path) -> None:
    items = ess_json(fresh, "failures", "alpha")
    causes = ess_json(fresh, "failures", "alpha", "--by-cause")
    assert sum(c["count"] for c in causes) == len(items)
    assert [c["count"] for c in causes] == sorted((c["count"] for c in causes), reverse=True)
    for c in causes:
        mine = [i for i in items if i["id"] in c["item_ids"]]
        assert len(mine) == c["count"]
        assert {(i["target"], i["action"], i["kind"], i["status"], i["reason"]) for i in mine} == {
            (c["target"], c["action"], c["kind"], c["status"], c["reason"])
        }
    dead = next(c for c in causes if c["status"] == "dead")
    code, out, err = ess(
        fresh, "skip", "--tenant", "alpha", "--cause", dead["key"], "--reason", "school fixes it"
    )
    assert code == 0, err
    assert f"skipped {dead['count']} item(s)" in out
    left = {i["id"] for i in ess_json(fresh, "failures", "alpha")}
    assert not left & set(dead["item_ids"])
    assert dead["key"] not in {c["key"] for c in ess_json(fresh, "failures", "alpha", "--by-cause")}


def test_retry_by_cause_and_an_unknown_cause(fresh: Path) -> None:
    causes = ess_json(fresh, "failures", "alpha", "--by-cause")
    failed = next(c for c in causes if c["status"] == "failed")
    code, out, err = ess(fresh, "retry", "--tenant", "alpha", "--cause", failed["key"], "--json")
    assert code in (0, 1), err
    result = json.loads(out)
    assert result["run_id"] is not None
    retried = ess_json(fresh, "show", str(result["run_id"]))
    assert retried["summary"]["counts"]["planned"] >= failed["count"]

    code, _, err = ess(fresh, "retry", "--tenant", "alpha", "--cause", "nosuch/cause")
    assert code == 2
    assert "no open failures of cause 'nosuch/cause'" in err
    code, _, err = ess(fresh, "retry", "--cause", failed["key"])
    assert code == 2 and "--tenant" in err
