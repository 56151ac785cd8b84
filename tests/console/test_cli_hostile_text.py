"""Names from the source may hold terminal escapes, bidirectional overrides, NUL or rich
markup: `ess search` and `ess explain` show them written out, never raw and never as markup.

The name travels for real: a snapshot file and `ess sync` into the journal. A run removes
control characters from what it reads (engine.sanitize), so the journal then holds the name
cleaned; the journal of an older release still holds it raw, and that is planted back here (the
index, the mirror and the operations' labels), so what the front end shows is what is tested.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from console.cli import app
from engine.model import Protection, Snapshot
from engine.testing.builder import tiny_snapshot
from tests.conftest import Workdir

runner = CliRunner()

HOSTILE = "Eve\x1b[31mil\u202eNUL\x00[red]x"
SHOWN = ("\\x1b[31mil", "\\u202e", "\\x00", "[red]x")
RAW = ("\x1b", "\u202e", "\x00")


def ess(config: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(
        app,
        ["--config", str(config), "--actor", "cli:tester", *args],
        env={"COLUMNS": "300"},  # wide enough that no cell is folded
    )
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def hostile(workdir: Workdir) -> tuple[Workdir, str]:
    """A synced tenant one of whose pupils has :data:`HOSTILE` as family name; returns her id."""
    snap = workdir.source(workdir_snapshot(workdir))
    pid = next(p.id for p in snap.persons.values() if p.family_name == HOSTILE)
    code, _, err = ess(workdir.config, "sync", "alpha")
    assert code == 0, err
    _as_an_older_release_wrote_it(workdir.path / "ess.db")
    return workdir, pid


CLEANED = "".join(c for c in HOSTILE if c not in RAW)


def _as_an_older_release_wrote_it(db: Path) -> None:
    """Put the raw name back where a journal written before the cleaning held it."""
    with sqlite3.connect(db) as conn:
        assert conn.execute(
            "SELECT count(*) FROM snapshot_index WHERE label LIKE ?", (f"%{CLEANED}%",)
        ).fetchone()[0], "the run cleaned the name into the index"
        assert not conn.execute(
            "SELECT count(*) FROM snapshot_index WHERE instr(label, char(27))"
        ).fetchone()[0], "a control character reached the journal"
        for table, columns in (
            ("snapshot_index", ("label", "search", "body")),
            ("mirror", ("label",)),
            ("operations", ("label",)),
        ):
            for column in columns:
                conn.execute(
                    f"UPDATE {table} SET {column} = replace({column}, ?, ?)",
                    (CLEANED, HOSTILE if column != "body" else json.dumps(HOSTILE)[1:-1]),
                )


def workdir_snapshot(workdir: Workdir) -> Snapshot:
    snap = tiny_snapshot()
    first = next(p for p in snap.persons.values() if p.protection is Protection.NONE)
    persons = dict(snap.persons)
    persons[first.id] = replace(first, given_name="Zyxo", family_name=HOSTILE)
    return replace(snap, persons=persons)


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def assert_shown_escaped(text: str) -> None:
    for raw in RAW:
        assert raw not in text
    for shown in SHOWN:
        assert shown in text, f"{shown!r} not in the output"


def test_search_shows_control_characters_and_markup_as_written(
    hostile: tuple[Workdir, str],
) -> None:
    workdir, _ = hostile
    code, out, err = ess(workdir.config, "search", "Zyxo")
    assert code == 0, err
    assert "Zyxo" in out
    assert_shown_escaped(out)


def test_explain_shows_control_characters_and_markup_as_written(
    hostile: tuple[Workdir, str],
) -> None:
    workdir, pid = hostile
    code, out, err = ess(workdir.config, "explain", "alpha", "person", pid)
    assert code == 0, err
    assert "Zyxo" in out
    assert_shown_escaped(out)


def test_json_keeps_the_data_but_no_raw_control_character(hostile: tuple[Workdir, str]) -> None:
    workdir, pid = hostile
    for args in (("search", "Zyxo"), ("explain", "alpha", "person", pid)):
        code, out, err = ess(workdir.config, *args, "--json")
        assert code == 0, err
        assert not any(raw in out for raw in RAW)
        assert any(HOSTILE in text for text in strings(json.loads(out)))  # the data, unchanged
