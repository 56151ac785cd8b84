"""The same municipality through every source: ``ess sample generate --format ims`` writes
the synthetic municipality the SS 12000 sample makes, as a Tieto v12 export that validates
against Tieto's XSD, and the IMS source reads it back to the very snapshot the SS 12000
source reads; ``ess sample advance`` adds delta exports that keep it so."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from ims_helpers import read_path
from lxml import etree
from typer.testing import CliRunner

from adapters.kit.sample_snapshot import read_seed
from console.cli import app
from engine.model import Snapshot

XSD = Path(__file__).parent / "tieto" / "tieto-edu-organization-v12.xsd"  # MIT, Tieto
runner = CliRunner()


def _xsd() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


def ess(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout + result.stderr


def assert_same(a: Snapshot, b: Snapshot) -> None:
    assert a.counts() == b.counts()
    assert a.schools == b.schools
    assert a.persons == b.persons
    assert a.groups == b.groups
    assert sorted(a.memberships) == sorted(b.memberships)
    assert sorted(a.school_roles, key=repr) == sorted(b.school_roles, key=repr)
    assert a.refused == b.refused


def assert_valid(folder: Path) -> None:
    schema = _xsd()
    files = sorted(folder.glob("*.xml"))
    assert files
    for f in files:
        ok = schema.validate(etree.parse(str(f)))
        assert ok, f"{f.name}: {schema.error_log.last_error}"


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ims") / "sample"
    code, shown = ess(
        "sample", "generate", "--format", "ims", "--out", str(out), "--as-of", "2025-09-15"
    )
    assert code == 0, shown
    return out


def test_the_sample_is_a_complete_export_that_validates_against_tietos_xsd(sample: Path) -> None:
    assert [p.name for p in sorted(sample.glob("*.xml"))] == ["0001-complete.xml"]
    assert_valid(sample)


def test_the_ims_source_reads_the_same_municipality_as_the_ss12000_source(sample: Path) -> None:
    day = date(2025, 9, 15)
    expected = read_seed(sample, day)
    assert expected.counts()["persons"] > 100 and expected.counts()["memberships"] > 1000
    read = read_path(sample, day)
    assert read.findings == ()
    assert_same(read.snapshot, expected)


def test_advancing_adds_deltas_that_read_to_the_advanced_municipality(
    tmp_path: Path,
) -> None:
    out = tmp_path / "sample"
    code, shown = ess(
        "sample", "generate", "--format", "ims", "--out", str(out), "--as-of", "2025-09-15"
    )
    assert code == 0, shown
    for kind, day in (("term", "2026-01-15"), ("year", "2026-08-20")):
        code, shown = ess(
            "sample", "advance", str(out), "--format", "ims", "--kind", kind, "--as-of", day
        )
        assert code == 0, shown
        assert "deleted" in shown  # a delta says what it adds, updates and deletes
        expected = read_seed(out, date.fromisoformat(day))
        read = read_path(out, date.fromisoformat(day))
        assert read.findings == ()
        assert read.stats["deletes"] > 0
        assert_same(read.snapshot, expected)
    assert [p.name for p in sorted(out.glob("*.xml"))] == [
        "0001-complete.xml",
        "0002-delta.xml",
        "0003-delta.xml",
    ]
    assert_valid(out)


def test_advancing_a_folder_that_is_no_ims_sample_is_a_clear_error(tmp_path: Path) -> None:
    code, shown = ess("sample", "advance", str(tmp_path), "--format", "ims")
    assert code != 0
    assert "is not a folder made by `ess sample generate --format ims`" in shown
    assert "Traceback" not in shown


def test_source_check_reads_an_ims_export_named_in_ess_toml(sample: Path, tmp_path: Path) -> None:
    config = tmp_path / "ess.toml"
    config.write_text(
        f"""
[journal]
path = "{tmp_path / "ess.db"}"

[tenants.north]
name = "North"

[tenants.north.source]
type = "ims"
path = "{sample}"

[tenants.north.targets.memory]
type = "memory"
""",
        encoding="utf-8",
    )
    code, shown = ess("--config", str(config), "config", "check")
    assert code == 0, shown
    code, shown = ess("--config", str(config), "source", "check", "north", "--json")
    assert code == 0, shown
    check = json.loads(shown)
    assert check["mode"] == "folder"
    assert check["counts"] == read_seed(sample).counts()


def test_an_unknown_key_in_the_ims_source_table_is_named(tmp_path: Path) -> None:
    config = tmp_path / "ess.toml"
    config.write_text(
        """
[journal]
path = "ess.db"

[tenants.north]
name = "North"

[tenants.north.source]
type = "ims"
path = "export"
pth = "typo"

[tenants.north.targets.memory]
type = "memory"
""",
        encoding="utf-8",
    )
    code, shown = ess("--config", str(config), "config", "check")
    assert code != 0
    assert "pth" in shown and "unknown key" in shown and "Traceback" not in shown
