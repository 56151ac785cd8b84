"""Every listing command with --json, and the exit codes, on a real journal made by real runs.

The scenario (engine.testing.scenario) has alpha (bronze; a partial run with failed, dead and
blocked items and findings), beta (silver; a held plan) and gamma (gold; never run).
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


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One scenario for the read-only tests."""
    return build_scenario(tmp_path_factory.mktemp("scenario"))


@pytest.fixture
def fresh(tmp_path: Path) -> Path:
    """A scenario of its own, for a test that changes it."""
    return build_scenario(tmp_path / "scenario")


def ess(config: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--config", str(config), "--actor", "cli:tester", *args])
    return result.exit_code, result.stdout, result.stderr


def ess_json(config: Path, *args: str) -> Any:
    code, out, err = ess(config, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def latest_run(config: Path, tenant: str) -> dict[str, Any]:
    runs: list[dict[str, Any]] = ess_json(config, "runs", tenant)
    return runs[0]


def test_status_lists_every_tenant(shared: Path) -> None:
    rows = ess_json(shared, "status")
    health = {r["id"]: r["health"] for r in rows}
    assert set(health) == {"alpha", "beta", "gamma"}
    assert health["beta"] == "held"
    assert health["gamma"] == "never_run"
    assert {r["id"]: r["tier"] for r in rows} == {
        "alpha": "bronze",
        "beta": "silver",
        "gamma": "gold",
    }


def test_status_of_one_tenant_shows_its_config(shared: Path) -> None:
    detail = ess_json(shared, "status", "alpha")
    assert detail["health"]["id"] == "alpha"
    assert detail["config"]["source"]["type"] == "memory"
    assert detail["schedule"] == "0 5 * * *"


def test_table_output_names_the_tenants(shared: Path) -> None:
    code, out, _ = ess(shared, "status")
    assert code == 0
    for tenant in ("alpha", "beta", "gamma"):
        assert tenant in out


def test_runs_newest_first(shared: Path) -> None:
    runs = ess_json(shared, "runs", "alpha")
    assert len(runs) >= 2
    assert [r["id"] for r in runs] == sorted((r["id"] for r in runs), reverse=True)
    assert runs[0]["status"] == "partial"
    assert ess_json(shared, "runs", "alpha", "--limit", "1") == runs[:1]


def test_show_run(shared: Path) -> None:
    run = latest_run(shared, "alpha")
    detail = ess_json(shared, "show", str(run["id"]))
    assert detail["summary"]["id"] == run["id"]
    statuses = {c["status"] for c in detail["operations"]}
    assert {"failed", "dead", "blocked"} & statuses
    code, out, _ = ess(shared, "show", str(run["id"]))
    assert code == 0
    assert f"run #{run['id']} of alpha" in out


def test_failures_are_open_items_only(shared: Path) -> None:
    rows = ess_json(shared, "failures")
    assert rows
    assert {r["status"] for r in rows} <= {"failed", "dead", "blocked"}
    assert {r["tenant"] for r in rows} == {"alpha"}
    assert ess_json(shared, "failures", "gamma") == []


def test_findings(shared: Path) -> None:
    rows = ess_json(shared, "findings", "alpha")
    assert rows
    assert all(r["tenant"] == "alpha" and r["code"] and r["severity"] for r in rows)
    run = latest_run(shared, "alpha")
    assert ess_json(shared, "findings", "alpha", "--run", str(run["id"])) == rows


def test_logs_of_a_run(shared: Path) -> None:
    run = latest_run(shared, "alpha")
    events = ess_json(shared, "logs", str(run["id"]))
    assert events
    assert all(e["run_id"] == run["id"] for e in events)
    errors = ess_json(shared, "logs", str(run["id"]), "--level", "error")
    assert errors
    assert all(e["level"] == "error" for e in errors)


def test_search_and_explain(shared: Path) -> None:
    failing = next(r for r in ess_json(shared, "failures") if r["kind"] == "user")
    hits = ess_json(shared, "search", failing["key"], "--tenant", "alpha")
    assert any(h["key"] == failing["key"] for h in hits)
    ex = ess_json(shared, "explain", "alpha", "person", failing["key"])
    assert ex["key"] == failing["key"]
    assert ex["summary"]


def test_audit_and_elevations(shared: Path) -> None:
    rows = ess_json(shared, "audit", "list")
    assert any(a["actor"] == "scenario:setup" for a in rows)
    elevations = ess_json(shared, "elevation", "list", "beta")
    assert elevations
    assert elevations[0]["tenant"] == "beta"


def test_unknown_tenant_and_run_are_2(shared: Path) -> None:
    code, out, err = ess(shared, "runs", "nowhere", "--json")
    assert code == 2
    assert out == ""
    assert "nowhere" in err
    assert "Traceback" not in err
    assert ess(shared, "show", "999999")[0] == 2


def test_bad_config_is_2(tmp_path: Path) -> None:
    code, _, err = ess(tmp_path / "missing.toml", "status")
    assert code == 2
    assert "ess init" in err
    bad = tmp_path / "ess.toml"
    bad.write_text('[tenants.a]\ntier = "tin"\nsource = { type = "memory" }\n', encoding="utf-8")
    code, _, err = ess(bad, "status")
    assert code == 2
    assert f"{bad}:2: tenants.a.tier:" in err


def test_gold_tenant_refuses_without_an_approved_elevation(fresh: Path) -> None:
    code, _, err = ess(fresh, "sync", "gamma")
    assert code == 3
    assert err.startswith("refused: ")

    elevation = ess_json(fresh, "elevate", "gamma", "--reason", "first sync")
    assert elevation["status"] == "pending_approval"
    assert ess(fresh, "sync", "gamma")[0] == 3
    key = fresh.parent / "rektor.pem"
    code, public, err = ess(fresh, "approver", "keygen", str(key))
    assert code == 0, err
    assert ess(fresh, "approver", "add", "gamma", "rektor", public.strip())[0] == 0
    challenge = fresh.parent / "challenge.txt"
    code, text, err = ess(fresh, "elevation", "challenge", str(elevation["id"]))
    assert code == 0, err
    challenge.write_text(text, encoding="utf-8")
    code, signature, err = ess(fresh, "approver", "sign", "--key", str(key), str(challenge))
    assert code == 0, err
    approved = ess_json(
        fresh,
        "elevation",
        "approve",
        str(elevation["id"]),
        "--approver",
        "rektor",
        "--signature",
        signature.strip(),
    )
    assert approved["status"] == "active"
    assert ess(fresh, "sync", "gamma", "--json")[0] == 0


def test_held_plan_is_5_and_reject_drops_it(fresh: Path) -> None:
    code, out, _ = ess(fresh, "sync", "beta")
    assert code == 5
    held = latest_run(fresh, "beta")
    assert held["status"] == "held"
    assert f"ess approve {held['id']}" in out

    code, _, err = ess(fresh, "reject", str(held["id"]), "--reason", "source was truncated")
    assert code == 0, err
    assert latest_run(fresh, "beta")["status"] == "rejected"


def test_partial_run_is_1_and_retry_by_run(fresh: Path) -> None:
    code, out, _ = ess(fresh, "sync", "alpha")
    assert code == 1
    run = latest_run(fresh, "alpha")
    assert f"ess retry --run {run['id']}" in out
    code, out, err = ess(fresh, "retry", "--run", str(run["id"]), "--json")
    assert code == 1, err  # the target still refuses those items
    result = json.loads(out)
    assert result["ok"] is False
    assert result["run_id"] is not None


def test_scheduler_once_runs_the_scheduled_tenants(fresh: Path) -> None:
    before = {t: len(ess_json(fresh, "runs", t)) for t in ("alpha", "beta")}
    code, out, _ = ess(fresh, "scheduler", "--once")
    assert code == 1  # gamma is gold: its scheduled run is refused without an elevation
    assert "gamma" in out
    assert len(ess_json(fresh, "runs", "alpha")) == before["alpha"] + 1
    assert len(ess_json(fresh, "runs", "beta")) == before["beta"]  # beta has no schedule


def test_source_check_counts_and_findings(shared: Path) -> None:
    code, out, _ = ess(shared, "source", "check", "alpha", "--json")
    assert code == 1  # alpha's source has a blocking finding
    check = json.loads(out)
    assert check["tenant"] == "alpha"
    assert check["counts"]["persons"] > 0
    assert any(f["severity"] == "blocking" for f in check["findings"])


def test_no_personnummer_reaches_any_output(shared: Path) -> None:
    from engine.testing.snapshot_io import read_snapshot

    civic = {
        p.civic_no
        for p in read_snapshot(shared.parent / "alpha.json").persons.values()
        if p.civic_no
    }
    assert civic
    person = next(r for r in ess_json(shared, "failures") if r["kind"] == "user")["key"]
    run = str(latest_run(shared, "alpha")["id"])
    commands = [
        ("status",),
        ("status", "alpha"),
        ("runs", "alpha"),
        ("show", run),
        ("failures",),
        ("findings", "alpha"),
        ("logs", run),
        ("search", person),
        ("audit", "list"),
        ("explain", "alpha", "person", person),
    ]
    for args in commands:
        for extra in ((), ("--json",)):
            _, out, err = ess(shared, *args, *extra)
            shown = out + err
            assert not [c for c in civic if c in shown or c[2:] in shown], args


def test_approve_applies_a_held_plan(fresh: Path) -> None:
    held = latest_run(fresh, "beta")
    assert held["status"] == "held"
    code, out, err = ess(fresh, "approve", str(held["id"]), "-r", "leavers confirmed", "--json")
    assert code == 0, err
    applied = json.loads(out)["run"]
    assert applied["status"] == "succeeded"
    assert applied["counts"]["done"] > 0
    assert any(
        a["action"] == "approve" and a["actor"].endswith("[note: cli:tester]")
        for a in ess_json(fresh, "audit", "list")
    )
