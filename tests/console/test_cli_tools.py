"""`ess sample`, `ess sandbox` (as a real process), and the lazily imported front ends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from console.cli import app
from engine.plugins import PluginError
from engine.plugins import load as load_plugin

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


def plugin_or_skip(group: str, name: str) -> None:
    """Every plugin this project ships must load; a missing one is a broken install."""
    try:
        load_plugin(group, name)
    except PluginError as exc:
        pytest.fail(f"{group} plugin {name} is not available: {exc}")


def test_sample_generate_writes_a_folder_and_counts(tmp_path: Path) -> None:
    plugin_or_skip("ess.samples", "ss12000")
    out = tmp_path / "sample"
    args = ["sample", "generate", "--size", "small", "--seed", "7", "--out", str(out)]
    result = runner.invoke(app, [*args, "--as-of", "2025-09-01", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["out"] == str(out)
    assert doc["counts"]
    assert all(n >= 0 for n in doc["counts"].values())
    assert any(out.iterdir())

    table = runner.invoke(app, ["sample", "advance", str(out), "--kind", "term"])
    assert table.exit_code == 0, table.output
    assert f"advanced {out} by a term" in table.stdout


def test_sample_refuses_bad_input_with_2(tmp_path: Path) -> None:
    plugin_or_skip("ess.samples", "ss12000")
    bad_size = runner.invoke(app, ["sample", "generate", "--size", "huge", "--out", str(tmp_path)])
    assert bad_size.exit_code == 2
    assert "--size" in bad_size.stderr
    bad_date = runner.invoke(
        app, ["sample", "generate", "--out", str(tmp_path), "--as-of", "autumn"]
    )
    assert bad_date.exit_code == 2
    assert "--as-of" in bad_date.stderr
    no_folder = runner.invoke(app, ["sample", "advance", str(tmp_path / "none")])
    assert no_folder.exit_code == 2
    unknown = runner.invoke(app, ["sample", "generate", "--out", str(tmp_path), "--format", "x"])
    assert unknown.exit_code == 2
    assert "installed: ims, oneroster-csv, ss12000" in unknown.stderr


def test_unknown_sandbox_lists_the_installed_ones() -> None:
    result = runner.invoke(app, ["sandbox", "nowhere"])
    assert result.exit_code == 2
    assert "no sandbox named 'nowhere'; installed: " in result.stderr
    assert "microsoft" in result.stderr


def test_mcp_token_must_be_a_reference() -> None:
    result = runner.invoke(app, ["mcp", "--http", "--token", "s3cret-literal"])
    assert result.exit_code == 2
    assert "must be a reference" in result.stderr
    assert "s3cret-literal" not in result.output


def start_sandbox(name: str, *extra: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """`ess sandbox NAME --json` as a real process, and the banner it printed."""
    plugin_or_skip("ess.sandboxes", name)
    cmd = [sys.executable, "-m", "console.cli", "sandbox", name, "--json", "--port", "0", *extra]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    try:
        banner = json.loads(line)
    except ValueError:
        proc.kill()
        proc.wait()
        pytest.fail(f"no JSON banner from the {name} sandbox: {line!r}")
    assert isinstance(banner, dict)
    return proc, banner


def stop(proc: subprocess.Popen[str], how: signal.Signals) -> tuple[str, str]:
    try:
        proc.send_signal(how)
        return proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize(
    ("name", "how"),
    [("ss12000", signal.SIGINT), ("microsoft", signal.SIGINT), ("microsoft", signal.SIGTERM)],
)
def test_sandbox_json_prints_one_line_and_stops_cleanly(
    name: str, how: signal.Signals, tmp_path: Path
) -> None:
    proc, banner = start_sandbox(name, "--state-dir", str(tmp_path))
    assert banner
    rest, err = stop(proc, how)
    assert proc.returncode == 0, err
    assert rest.strip() == ""
    assert "Traceback" not in err


def test_the_starter_config_syncs_against_the_sandboxes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert runner.invoke(app, ["init", "--dir", str(tmp_path)]).exit_code == 0
    ss, ss_info = start_sandbox("ss12000")
    ms, ms_info = start_sandbox("microsoft", "--state-dir", str(tmp_path / "sandbox/microsoft"))
    try:
        config = tmp_path / "ess.toml"
        text = config.read_text(encoding="utf-8")
        # the starter names the ids the sandbox has with its default seed
        assert f'tenant_id = "{ms_info["tenant_id"]}"' in text
        assert f'client_id = "{ms_info["client_id"]}"' in text
        assert f'client_id = "{ss_info["client_id"]}"' in text
        ss_root = ss_info["base_url"].rsplit("/", 1)[0]
        ms_root = ms_info["graph_url"].rsplit("/", 1)[0]
        text = text.replace("http://127.0.0.1:8400", ss_root)
        text = text.replace("https://127.0.0.1:8401", ms_root)
        config.write_text(text, encoding="utf-8")
        monkeypatch.setenv("ESS_SS12000_SECRET", ss_info["client_secret"])
        monkeypatch.setenv("ESS_MICROSOFT_SECRET", ms_info["client_secret"])
        result = runner.invoke(
            app, ["--config", str(config), "sync", "example", "--dry-run", "--json"]
        )
        assert result.exit_code == 0, result.output
        run = json.loads(result.stdout)["run"]
        assert run["status"] == "succeeded"
        assert run["counts"]["planned"] > 0
    finally:
        stop(ss, signal.SIGINT)
        stop(ms, signal.SIGINT)
