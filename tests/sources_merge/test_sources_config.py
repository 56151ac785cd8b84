"""ess.toml: one source or several per tenant, and the rekey table; bad forms named."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.cli_config import check_file
from engine.config import ConfigError, load

HEAD = '[journal]\npath = "ess.db"\n\n'


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "ess.toml"
    path.write_text(HEAD + body, encoding="utf-8")
    return path


def test_the_single_source_form_is_the_one_source_with_no_key(tmp_path: Path) -> None:
    cfg = load(write(tmp_path, '[tenants.a.source]\ntype = "ims"\npath = "x.xml"\n'))
    tenant = cfg.tenant("a")
    assert tenant.source_tables() == {"": {"type": "ims", "path": "x.xml"}}
    assert tenant.source_entry("").on_error == "hold"
    assert tenant.source_type() == "ims"


def test_several_sources_keep_their_order_and_engine_keys(tmp_path: Path) -> None:
    body = (
        '[tenants.a.sources.gy]\ntype = "ims"\npath = "gy.xml"\nschools = ["22222222"]\n'
        'on_error = "stop"\n\n[tenants.a.sources.grund]\ntype = "ss12000"\npath = "grund"\n'
    )
    tenant = load(write(tmp_path, body)).tenant("a")
    assert list(tenant.source_tables()) == ["gy", "grund"]
    assert tenant.source_tables()["gy"] == {"type": "ims", "path": "gy.xml"}
    assert tenant.source_entry("gy").schools == ("22222222",)
    assert tenant.source_entry("gy").on_error == "stop"
    assert tenant.source_type() == "ims+ss12000"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('[tenants.a]\nname = "A"\n', "a tenant needs a source"),
        (
            '[tenants.a.source]\ntype = "ims"\n[tenants.a.sources.b]\ntype = "ims"\n',
            "not both",
        ),
        ('[tenants.a.sources.b]\ntype = "ims"\non_error = "ignore"\n', "on_error"),
        ('[tenants.a.source]\ntype = "ims"\n[tenants.a.rekey]\nmatch = {}\n', "from"),
        (
            '[tenants.a.source]\ntype = "ims"\n[tenants.a.rekey]\nfrom = { type = "ims" }\n'
            'match = { persons = ["shoe_size"] }\n',
            "persons",
        ),
    ],
)
def test_a_bad_source_form_is_named(tmp_path: Path, body: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(write(tmp_path, body))
    assert says in str(caught.value)


def test_config_check_reads_each_source_table_and_the_old_one(tmp_path: Path) -> None:
    body = (
        '[tenants.a.sources.gy]\ntype = "ims"\npath = "gy.xml"\nschools = ["1"]\ncolour = 1\n\n'
        '[tenants.a.sources.grund]\ntype = "nosuch"\n\n'
        '[tenants.a.rekey]\nfrom = { type = "ims", path = "old.xml", size = 3 }\n'
    )
    problems = {p.key: p.message for p in check_file(write(tmp_path, body))}
    assert "unknown key" in problems["tenants.a.sources.gy.colour"]
    assert "tenants.a.sources.gy.schools" not in problems  # the engine's key, not the adapter's
    assert "nosuch" in problems["tenants.a.sources.grund.type"]
    assert "unknown key" in problems["tenants.a.rekey.from.size"]
