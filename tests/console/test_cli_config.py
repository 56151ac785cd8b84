"""`ess init` and `ess config check`: every problem named with its file, line and key."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from console.cli import app

runner = CliRunner()

ADAPTERS = ("adapters.ss12000.source", "adapters.microsoft.target")


def _adapters_missing() -> list[str]:
    missing = []
    for name in ADAPTERS:
        try:
            if importlib.util.find_spec(name) is None:
                missing.append(name)
        except ModuleNotFoundError:
            missing.append(name)
    return missing


def needs_adapters(fn: Any) -> Any:
    """The adapters ship with ESS: a missing one fails the test, it is not a reason to skip."""
    return fn


GOOD = """\
[journal]
path = "ess.db"

[tenants.north]
name = "North"
tier = "silver"
schedule = "0 6 * * *"

[tenants.north.source]
type = "ss12000"
path = "data"

[tenants.north.targets.microsoft]
type = "microsoft"
tenant_id = "t1"
client_id = "c1"
client_secret = "env:NORTH_SECRET"
domain = "north.example"
"""


def check(path: Path, *extra: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--config", str(path), "config", "check", *extra])
    return result.exit_code, result.stdout, result.stderr


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ess.toml"
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


@needs_adapters
def test_a_good_file_is_clean(tmp_path: Path) -> None:
    code, out, _ = check(write(tmp_path, GOOD))
    assert code == 0, out
    assert "ok (1 tenant(s): north)" in out


def test_unknown_key_is_named_with_its_line(tmp_path: Path) -> None:
    text = GOOD.replace('tier = "silver"', 'tier = "silver"\nteir = "gold"')
    path = write(tmp_path, text)
    code, out, err = check(path)
    assert code == 1
    n = line_of(text, "teir")
    assert f"{path}:{n}: tenants.north.teir: unknown key" in out
    assert "problem(s)" in err


def test_bad_cron_and_bad_tier_are_both_reported(tmp_path: Path) -> None:
    text = GOOD.replace('tier = "silver"', 'tier = "platinum"').replace(
        '"0 6 * * *"', '"every morning"'
    )
    path = write(tmp_path, text)
    code, out, _ = check(path)
    assert code == 1
    assert f"{path}:{line_of(text, 'platinum')}: tenants.north.tier:" in out
    assert f"{path}:{line_of(text, 'every morning')}: tenants.north.schedule:" in out
    assert "not a cron expression" in out


def test_literal_secret_is_refused_without_printing_it(tmp_path: Path) -> None:
    text = GOOD.replace('"env:NORTH_SECRET"', '"hunter2-very-secret"')
    path = write(tmp_path, text)
    code, out, err = check(path)
    assert code == 1
    n = line_of(text, "hunter2")
    assert f"{path}:{n}: tenants.north.targets.microsoft.client_secret: " in out
    assert "must be a reference" in out
    assert "hunter2" not in out + err
    assert out.count("client_secret") == 1  # the engine's and the adapter's report are merged


def test_literal_mcp_token_is_refused(tmp_path: Path) -> None:
    text = GOOD + '\n[mcp]\ntoken = "abc"\n'
    code, out, _ = check(write(tmp_path, text))
    assert code == 1
    assert "mcp.token: a secret must be a reference" in out


def test_unknown_adapter_type_lists_the_installed_ones(tmp_path: Path) -> None:
    text = GOOD.replace('type = "ss12000"', 'type = "extens-xml"')
    path = write(tmp_path, text)
    code, out, _ = check(path)
    assert code == 1
    n = line_of(text, "extens-xml")
    assert f"{path}:{n}: tenants.north.source.type: no ess.sources plugin named 'extens-xml'" in out
    assert "installed: " in out


@needs_adapters
def test_adapter_table_errors_come_from_the_adapter_model(tmp_path: Path) -> None:
    text = GOOD.replace('path = "data"', 'path = "data"\npage_size = 0\npage_sise = 5')
    path = write(tmp_path, text)
    code, out, _ = check(path)
    assert code == 1
    assert f"{path}:{line_of(text, 'page_size')}: tenants.north.source.page_size:" in out
    typo = line_of(text, "page_sise")
    assert f"{path}:{typo}: tenants.north.source.page_sise: unknown key" in out


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[journal]\npath = \n")
    code, out, _ = check(path)
    assert code == 1
    assert f"{path}:2: (syntax):" in out


def test_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    code, out, _ = check(tmp_path / "nope.toml")
    assert code == 1
    assert "ess init" in out


def test_json_lists_problems_as_data(tmp_path: Path) -> None:
    text = GOOD.replace('tier = "silver"', 'tier = "platinum"')
    code, out, _ = check(write(tmp_path, text), "--json")
    assert code == 1
    doc = json.loads(out)
    assert doc["ok"] is False
    keys = {p["key"]: p["line"] for p in doc["problems"]}
    assert keys["tenants.north.tier"] == line_of(text, "platinum")


def test_config_comes_from_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('tier = "silver"', 'tier = "tin"'))
    result = runner.invoke(app, ["config", "check"], env={"ESS_CONFIG": str(path)})
    assert result.exit_code == 1
    assert f"{path}:" in result.stdout


def test_init_writes_a_starter_and_never_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "site"
    first = runner.invoke(app, ["init", "--dir", str(target)])
    assert first.exit_code == 0, first.output
    written = (target / "ess.toml").read_text(encoding="utf-8")
    assert "[tenants.example.source]" in written
    assert 'client_secret = "env:' in written
    assert "sync example --dry-run" in first.stdout

    (target / "ess.toml").write_text("# mine\n", encoding="utf-8")
    again = runner.invoke(app, ["init", "--dir", str(target)])
    assert again.exit_code == 2
    assert "--force" in again.stderr
    assert (target / "ess.toml").read_text(encoding="utf-8") == "# mine\n"

    forced = runner.invoke(app, ["init", "--dir", str(target), "--force"])
    assert forced.exit_code == 0
    assert (target / "ess.toml").read_text(encoding="utf-8") == written


def test_init_output_passes_the_engine_checks(tmp_path: Path) -> None:
    runner.invoke(app, ["init", "--dir", str(tmp_path)])
    code, out, _ = check(tmp_path / "ess.toml")
    not_about_plugins = [line for line in out.splitlines() if "plugin" not in line]
    assert code == 0 or not_about_plugins == [], out


@needs_adapters
def test_init_output_passes_config_check(tmp_path: Path) -> None:
    runner.invoke(app, ["init", "--dir", str(tmp_path)])
    code, out, _ = check(tmp_path / "ess.toml")
    assert code == 0, out
