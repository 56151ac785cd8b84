"""The shipped example configuration stays valid as the keys change."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from console.cli import app

ROOT = Path(__file__).resolve().parents[1]


def test_ess_toml_example_passes_config_check() -> None:
    result = CliRunner().invoke(
        app, ["--config", str(ROOT / "ess.toml.example"), "config", "check"]
    )
    assert result.exit_code == 0, result.output
    assert "2 tenant(s): nacka, friskolan" in result.output


def test_a_typo_in_the_example_is_named_with_its_line(tmp_path: Path) -> None:
    text = (ROOT / "ess.toml.example").read_text(encoding="utf-8")
    bad = tmp_path / "ess.toml"
    bad.write_text(text.replace("full_read_days = 7", "full_read_dayz = 7"), encoding="utf-8")
    result = CliRunner().invoke(app, ["--config", str(bad), "config", "check"])
    assert result.exit_code == 1  # a check that found problems (docs/cli.md)
    line = next(i for i, ln in enumerate(bad.read_text().splitlines(), 1) if "full_read_dayz" in ln)
    assert f"{bad}:{line}: tenants.nacka.source.full_read_dayz" in result.output
