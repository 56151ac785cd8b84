"""``ess agent run``, ``ess agent status`` and a bad agent config, from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from console.cli import app
from engine.testing.builder import tiny_snapshot
from engine.testing.snapshot_io import write_snapshot
from tests.hosted_agent.conftest import KEYS, Hosted, free_port
from tests.hosted_agent.test_agent_ingest import hosted_config

AGENT_TOML = """\
[agent]
name = "alpha-agent"
tenant = "alpha"
url = "{url}"
key = "env:ALPHA_AGENT_KEY"
civic_key = "env:CIVIC_KEY"
ca = "{ca}"
state = "agent-state.json"
retries = 1

[source]
type = "memory"
path = "local.json"
"""


def agent_folder(tmp: Path, url: str, ca: Path) -> Path:
    folder = tmp / "onsite"
    folder.mkdir()
    write_snapshot(tiny_snapshot(), folder / "local.json")
    (folder / "agent.toml").write_text(AGENT_TOML.format(url=url, ca=ca), encoding="utf-8")
    return folder / "agent.toml"


def test_agent_uploads_once_and_the_hosted_side_shows_its_status(hosted: Hosted) -> None:
    runner = CliRunner()
    config = agent_folder(hosted.folder, hosted.url, hosted.ca)
    done = runner.invoke(app, ["agent", "run", "--once", str(config)], env=KEYS)
    assert done.exit_code == 0, done.output
    assert "uploaded" in done.output and "persons 68" in done.output

    ess_toml = hosted_config(hosted.folder / "hosted", hosted.inbox)
    shown = runner.invoke(app, ["--config", str(ess_toml), "agent", "status", "--json"])
    assert shown.exit_code == 0, shown.output
    (status,) = json.loads(shown.output)
    assert status["tenant"] == "alpha" and status["agent"] == "alpha-agent"
    assert status["version"] and status["stale"] is False


def test_status_of_a_tenant_whose_agent_never_uploaded_is_stale(tmp_path: Path) -> None:
    ess_toml = hosted_config(tmp_path / "hosted", tmp_path / "inbox")
    shown = CliRunner().invoke(app, ["--config", str(ess_toml), "agent", "status"])
    assert shown.exit_code == 1
    assert "alpha: no upload yet (STALE)" in shown.output


def test_a_bad_agent_config_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(
        AGENT_TOML.format(url="http://plain.example", ca="ca.pem").replace(
            'key = "env:ALPHA_AGENT_KEY"', 'key = "hunter2"'
        ),
        encoding="utf-8",
    )
    done = CliRunner().invoke(app, ["agent", "run", "--once", str(config)], env=KEYS)
    assert done.exit_code == 2
    assert "agent.url" in done.output and "https://" in done.output
    assert "agent.key" in done.output and "hunter2" not in done.output


def test_a_ca_bundle_that_does_not_load_is_a_config_error(tmp_path: Path) -> None:
    config = agent_folder(tmp_path, f"https://127.0.0.1:{free_port()}", tmp_path / "none.pem")
    (tmp_path / "none.pem").write_text("not a certificate")
    done = CliRunner().invoke(app, ["agent", "run", "--once", str(config)], env=KEYS)
    assert done.exit_code == 2, done.output
    assert "agent.ca: cannot load the CA bundle" in done.output


def test_an_unreachable_ingest_exits_6(hosted: Hosted, tmp_path: Path) -> None:
    config = agent_folder(tmp_path, f"https://127.0.0.1:{free_port()}", hosted.ca)
    done = CliRunner().invoke(app, ["agent", "run", "--once", str(config)], env=KEYS)
    assert done.exit_code == 6, done.output
    assert "cannot be reached" in done.output
