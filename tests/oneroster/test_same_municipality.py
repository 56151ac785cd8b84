"""The same municipality through every source: ``ess sample generate`` in the formats
``ss12000``, ``ims`` and ``oneroster-csv`` from one seed, read by the SS 12000, IMS and
OneRoster sources, give the same snapshot: the same schools, persons, groups, memberships and
roles. And so after a year has passed."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from oneroster_helpers import NoCache
from typer.testing import CliRunner

from console.cli import app
from engine.model import Snapshot
from engine.plugins import load
from engine.secrets import SecretResolver
from engine.source import SourceContext

runner = CliRunner()
FORMATS = {"ss12000": "ss12000", "ims": "ims", "oneroster-csv": "oneroster"}


def ess(*args: str) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stdout + result.stderr
    return result.stdout


def read(source_type: str, folder: Path, day: date) -> Snapshot:
    settings: dict[str, Any] = {"type": source_type, "path": str(folder)}
    if source_type == "ss12000":
        settings["parallel_read"] = False
    source = load("ess.sources", source_type).from_config(settings, SecretResolver())
    got = asyncio.run(source.read(SourceContext("t", NoCache(), day), full=True))
    assert not got.findings, got.findings[:3]
    snap: Snapshot = got.snapshot
    return snap


def same(a: Snapshot, b: Snapshot) -> None:
    assert a.counts() == b.counts()
    assert a.schools == b.schools
    assert a.persons == b.persons
    assert a.groups == b.groups
    assert sorted(a.memberships) == sorted(b.memberships)
    assert sorted(a.school_roles, key=repr) == sorted(b.school_roles, key=repr)


@pytest.mark.slow
def test_every_source_reads_the_same_municipality_now_and_a_year_on(tmp_path: Path) -> None:
    folders = {fmt: tmp_path / fmt for fmt in FORMATS}
    for fmt, folder in folders.items():
        ess("sample", "generate", "--format", fmt, "--out", str(folder), "--seed", "7",
            "--size", "150", "--as-of", "2025-09-15")  # fmt: skip
    day = date(2025, 9, 15)
    base = read("ss12000", folders["ss12000"], day)
    assert base.counts()["persons"] > 150
    for fmt, source_type in FORMATS.items():
        same(read(source_type, folders[fmt], day), base)
    for fmt, folder in folders.items():
        ess("sample", "advance", str(folder), "--format", fmt, "--kind", "year",
            "--as-of", "2026-08-20")  # fmt: skip
    day = date(2026, 8, 20)
    later = read("ss12000", folders["ss12000"], day)
    assert later.persons != base.persons
    for fmt, source_type in FORMATS.items():
        same(read(source_type, folders[fmt], day), later)
