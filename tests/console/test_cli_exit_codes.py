"""Exit codes scripts rely on, and no traceback for a user error.

Faults that cannot be made on demand against a real journal (a lease held by another process,
an engine bug) come from a stand-in for the ops facade that raises them; the other codes are
checked on real journals here and in test_cli_scenario.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from console.cli import app
from console.cli_errors import CliError, ExitCode, describe
from engine.config import ConfigError, ConfigProblem
from engine.ops import Busy, NotFound, Ops, OpsError, PolicyRefused
from engine.plugins import PluginError
from engine.secrets import SecretError

runner = CliRunner()


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (CliError("bad"), ExitCode.USAGE),
        (ConfigError(Path("ess.toml"), [ConfigProblem("tenants.a.tier", 3, "bad")]), 2),
        (PolicyRefused("silver tenant needs an elevation"), ExitCode.REFUSED),
        (Busy("run 7 holds the lease"), ExitCode.BUSY),
        (NotFound("no tenant 'x'"), ExitCode.USAGE),
        (OpsError("cannot"), ExitCode.PARTIAL),
        (PluginError("no plugin"), ExitCode.USAGE),
        (SecretError("environment variable X is not set"), ExitCode.USAGE),
        (RuntimeError("boom"), ExitCode.PARTIAL),
    ],
)
def test_each_error_class_has_its_code(error: Exception, code: int) -> None:
    got, message = describe(error)
    assert got == code
    assert message


def test_config_error_lists_path_line_key() -> None:
    _, message = describe(
        ConfigError(Path("x/ess.toml"), [ConfigProblem("tenants.a.tier", 3, "bad tier")])
    )
    assert message == "x/ess.toml:3: tenants.a.tier: bad tier"


class StandIn:
    """Answers every call by raising ``error``, or with ``results[name]`` (else ``result``)."""

    def __init__(self, error: Exception | None = None, result: Any = None) -> None:
        self.error = error
        self.result = result
        self.results: dict[str, Any] = {}
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    async def __aenter__(self) -> StandIn:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def close(self) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        async def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args, kwargs))
            if self.error is not None:
                raise self.error
            return self.results.get(name, self.result)

        return call


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> StandIn:
    ops = StandIn()

    async def fake_open(cls: type[Ops], *args: Any, **kwargs: Any) -> StandIn:
        return ops

    monkeypatch.setattr(Ops, "open", classmethod(fake_open))
    monkeypatch.delenv("ESS_DEBUG", raising=False)
    return ops


def test_busy_is_4_with_one_line(stand_in: StandIn) -> None:
    stand_in.error = Busy("run 7 of north holds the lease until 06:10")
    result = runner.invoke(app, ["sync", "north"])
    assert result.exit_code == 4
    assert result.stderr.strip() == "busy: run 7 of north holds the lease until 06:10"
    assert "Traceback" not in result.output


def test_unexpected_error_is_one_line_with_a_hint(stand_in: StandIn) -> None:
    stand_in.error = RuntimeError("journal went away")
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "journal went away" in lines[0]
    assert "ESS_DEBUG=1" in lines[0]


def test_debug_shows_the_real_exception(stand_in: StandIn) -> None:
    stand_in.error = RuntimeError("journal went away")
    result = runner.invoke(app, ["status"], env={"ESS_DEBUG": "1"})
    assert isinstance(result.exception, RuntimeError)


def test_usage_errors_are_2(stand_in: StandIn) -> None:
    assert runner.invoke(app, ["retry"]).exit_code == 2
    assert runner.invoke(app, ["retry", "1", "--run", "3"]).exit_code == 2
    assert runner.invoke(app, ["explain", "north", "teacher", "k"]).exit_code == 2
    assert runner.invoke(app, ["skip", "1", "--reason", "  "]).exit_code == 2
    assert runner.invoke(app, ["runs", "north", "--limit", "0"]).exit_code == 2
    assert stand_in.calls == []


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("ess ")


def test_the_console_script_exits_with_the_code(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "console.cli",
            "--config",
            str(tmp_path / "x.toml"),
            "sandbox",
            "nowhere",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("no sandbox named 'nowhere'")
    assert "Traceback" not in done.stderr


def test_a_run_whose_source_cannot_be_read_is_6(tmp_path: Path) -> None:
    config = tmp_path / "ess.toml"
    config.write_text(
        '[tenants.north]\nsource = { type = "memory", path = "missing.json" }\n', encoding="utf-8"
    )
    result = runner.invoke(app, ["--config", str(config), "sync", "north", "--json"])
    assert result.exit_code == 6
    run = json.loads(result.stdout)["run"]
    assert run["status"] == "failed"
    assert "missing.json" in run["error"]
