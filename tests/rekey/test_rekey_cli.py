"""``ess source holds`` and ``ess source release``: listing and releasing what a rekey held,
with bad input named."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from engine.journal import KeyMoves, SqliteJournal
from tests.rekey.rekey_support import IMS, ess, write_config


def _held(tmp_path: Path) -> Path:
    config = write_config(tmp_path, IMS.format(path=tmp_path / "export.xml"))

    async def hold() -> None:
        j = await SqliteJournal.open(tmp_path / "ess.db")
        try:
            holds = (("person", "p-1", "unmatched"), ("group", "g-7a", "ambiguous"))
            await j.move_source_ids("lovsta", KeyMoves({}, {}, {}, holds), "cli:eva")
        finally:
            await j.close()

    asyncio.run(hold())
    return config


def test_holds_are_listed_and_released_one_by_one_or_all(tmp_path: Path) -> None:
    config = _held(tmp_path)
    code, shown = ess("--config", str(config), "source", "holds", "lovsta", "--json")
    assert code == 0, shown
    assert sorted((h["record_type"], h["key"]) for h in json.loads(shown)) == [
        ("group", "g-7a"),
        ("person", "p-1"),
    ]
    code, shown = ess("--config", str(config), "source", "release", "lovsta", "person:p-1")
    assert code == 0 and "released 1 hold(s)" in shown, shown
    code, shown = ess("--config", str(config), "source", "release", "lovsta", "person:p-1")
    assert code == 1 and "released 0 hold(s)" in shown, shown  # it was not held any more
    code, shown = ess("--config", str(config), "source", "release", "lovsta", "--all")
    assert code == 0 and "released 1 hold(s)" in shown, shown
    code, shown = ess("--config", str(config), "source", "holds", "lovsta")
    assert code == 0 and "no held records" in shown
    code, shown = ess("--config", str(config), "audit", "lovsta")
    assert "source_release" in shown


def test_release_names_bad_input(tmp_path: Path) -> None:
    config = _held(tmp_path)
    code, shown = ess("--config", str(config), "source", "release", "lovsta")
    assert code == 2 and "--all" in shown
    code, shown = ess("--config", str(config), "source", "release", "lovsta", "pupil:p-1")
    assert code == 2 and "TYPE:ID" in shown
    code, shown = ess("--config", str(config), "source", "release", "lovsta", "p-1", "--all")
    assert code == 2
    assert "Traceback" not in shown
