"""ess.toml errors name the key and its line; secrets are references, never values."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import ConfigError, load
from engine.secrets import SecretError, SecretResolver

GOOD = """\
[journal]
path = "ess.db"

[tenants.nacka]
name = "Nacka"
tier = "silver"
schedule = "0 5 * * 1-5"
source = { type = "memory", path = "s.json" }

[tenants.nacka.targets.mem]
type = "memory"
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "ess.toml"
    p.write_text(text, encoding="utf-8")
    return p


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(write(tmp_path, text))
    return [str(p) for p in info.value.problems]


def test_good_config_loads(tmp_path: Path) -> None:
    cfg = load(write(tmp_path, GOOD))
    assert cfg.tenant("nacka").tier == "silver"
    assert cfg.journal_path == tmp_path / "ess.db"


def test_unknown_key_is_named_with_its_line(tmp_path: Path) -> None:
    text = GOOD.replace('tier = "silver"', 'tier = "silver"\nshedule = "0 5 * * *"')
    assert problems(tmp_path, text) == [
        "line 7, tenants.nacka.shedule: unknown key (check the spelling; docs/configuration.md "
        "lists every key)"
    ]


def test_bad_tier_cron_and_timezone(tmp_path: Path) -> None:
    text = GOOD.replace('"silver"', '"platinum"').replace('"0 5 * * 1-5"', '"every day"')
    text = text.replace('name = "Nacka"', 'name = "Nacka"\ntimezone = "Mars/Olympus"')
    got = problems(tmp_path, text)
    assert any(p.startswith("line 7, tenants.nacka.tier") for p in got)
    assert any("tenants.nacka.schedule" in p and "cron" in p for p in got)
    assert any("unknown time zone" in p for p in got)


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    got = problems(tmp_path, GOOD + "\n[tenants.x\n")
    assert got[0].startswith("line 13")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found; create one with `ess init`"):
        load(tmp_path / "nope.toml")


def test_bad_tenant_id(tmp_path: Path) -> None:
    text = GOOD.replace("[tenants.nacka]", "[tenants.Nacka]").replace(
        "[tenants.nacka.targets.mem]", "[tenants.Nacka.targets.mem]"
    )
    assert any("lower-case" in p for p in problems(tmp_path, text))


def test_missing_source_type(tmp_path: Path) -> None:
    got = problems(tmp_path, GOOD.replace('type = "memory", path', "path"))
    assert got == [
        "line 8, tenants.nacka.source: the source table needs a 'type' (for example "
        'type = "ss12000")'
    ]


def test_literal_mcp_token_is_refused(tmp_path: Path) -> None:
    got = problems(tmp_path, GOOD + '\n[mcp]\ntoken = "hunter2"\n')
    assert got == [
        "line 14, mcp.token: a secret must be a reference 'env:NAME' or 'file:PATH', "
        "not a literal value"
    ]
    assert "hunter2" not in " ".join(got)


def test_secret_references_resolve_and_never_print(tmp_path: Path) -> None:
    (tmp_path / "s.txt").write_text("swordfish\n")
    r = SecretResolver(tmp_path, {"GRAPH_SECRET": "tiger"})
    env = r.resolve("env:GRAPH_SECRET")
    f = r.resolve("file:s.txt")
    assert env.reveal() == "tiger" and f.reveal() == "swordfish"
    assert "tiger" not in repr(env) + str(env) and "swordfish" not in f"{f}{f!r}"
    with pytest.raises(SecretError, match="GRAPH_TOKEN"):
        r.resolve("env:GRAPH_TOKEN")
    with pytest.raises(SecretError, match="literal"):
        r.resolve("tiger")
