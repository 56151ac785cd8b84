"""The console's entry points turn a bad configuration into a clear message, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.tui.__main__ import main
from console.tui.app import run_console


def test_missing_config_is_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_console(tmp_path / "nope.toml", read_only=True, actor="console:test")
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "nope.toml" in err and "not found" in err and "Traceback" not in err


def test_module_entry_reports_a_bad_key_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "ess.toml"
    config.write_text("[console]\nrefresh_seconds = -1\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main(["--config", str(config), "--read-only"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "console.refresh_seconds" in err and "line 2" in err


def test_the_console_acts_as_console_not_as_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The console's actions are audited as console:<OS user>, never as the command line's;
    --actor only adds a note beside the user (docs/privacy.md: a typed name proves nothing)."""
    from typer.testing import CliRunner

    import console.tui.app as tui_app
    from console.cli import app

    seen: list[str] = []
    monkeypatch.setattr(
        tui_app, "run_console", lambda config, *, read_only, actor: seen.append(actor)
    )
    runner = CliRunner()
    assert runner.invoke(app, ["--config", str(tmp_path / "ess.toml"), "console"]).exit_code == 0
    assert runner.invoke(app, ["--actor", "cli:eva", "console"]).exit_code == 0
    assert seen[0].startswith("console:") and not seen[0].startswith("console:cli")
    assert seen[1].startswith("console:") and seen[1].endswith("[note: cli:eva]")
