"""Search finds a record by what the target knows it by: its object id in the target and the
sign-in name the target was given, first; and tells two classes of one name apart."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from console.cli import app

runner = CliRunner()


def search(config: Path, text: str) -> list[dict[str, object]]:
    result = runner.invoke(app, ["--config", str(config), "search", text, "--json"])
    assert result.exit_code == 0, result.stderr
    return list(json.loads(result.stdout))


def test_object_id_and_sign_in_name_find_the_person(scenario_config: Path) -> None:
    with sqlite3.connect(scenario_config.parent / "ess.db") as db:
        key, target_id, attrs = db.execute(
            "SELECT key, target_id, attrs FROM mirror WHERE tenant='alpha' AND kind='user' "
            "ORDER BY key LIMIT 1"
        ).fetchone()
        # the target's sign-in name, made unlike anything the source holds
        login = dict(json.loads(attrs))["login"]
        moved = "x" + login
        db.execute(
            "UPDATE mirror SET attrs = replace(attrs, ?, ?) WHERE key = ?", (login, moved, key)
        )
    by_id = search(scenario_config, target_id)
    assert by_id and by_id[0]["key"] == key
    by_login = search(scenario_config, moved.upper())
    assert by_login and by_login[0]["key"] == key
    assert search(scenario_config, "x" + moved) == []  # a whole value, not any text in it


def test_classes_of_one_name_differ_by_school_and_year(scenario_config: Path) -> None:
    hits = [h for h in search(scenario_config, "9A") if h["record_type"] == "group"]
    assert hits and hits[0]["label"] == "9A"  # the exact name first
    assert all(" at " in str(h["detail"]) and "/" in str(h["detail"]) for h in hits)
