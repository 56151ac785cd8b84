"""A gold elevation is approved only by the customer approver's signature. An operator with root
on the ESS host (ess.toml, the journal, the command line) but not the approver's private key
cannot approve: not by naming the approver, not with a key of their own, not by writing the
approval into the journal, not with the approver's signature of another elevation."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from console.cli import app
from tests.conftest import Workdir

runner = CliRunner()
ANNA = "anna.rektor@kommun.se"


def ess(config: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--config", str(config), *args])
    return result.exit_code, result.stdout + result.stderr


@pytest.fixture
def gold(workdir: Workdir, tmp_path: Path) -> tuple[Path, Path]:
    """A gold tenant with Anna enrolled; her private key lives apart, as on her own machine."""
    config = workdir.write(tier="gold")
    annas_machine = tmp_path / "annas-laptop"
    annas_machine.mkdir()
    key = annas_machine / "anna.pem"
    code, public = ess(config, "approver", "keygen", str(key))
    assert code == 0, public
    assert ess(config, "approver", "add", "alpha", ANNA, public.strip())[0] == 0
    return config, key


def _elevate(config: Path) -> str:
    code, out = ess(config, "elevate", "alpha", "--reason", "repair the leavers", "--json")
    assert code == 0, out
    return out.split('"id": ', 1)[1].split(",", 1)[0]


def _challenge(config: Path, elevation: str, where: Path) -> Path:
    code, text = ess(config, "elevation", "challenge", elevation)
    assert code == 0, text
    assert f"elevation: {elevation}\n" in text and "tenant: alpha\n" in text
    path = where / f"challenge-{elevation}.txt"
    path.write_text(text, encoding="utf-8")
    return path


def _sign(config: Path, key: Path, challenge: Path) -> str:
    code, out = ess(config, "approver", "sign", "--key", str(key), str(challenge))
    assert code == 0, out
    return out.strip()


def test_the_approvers_signature_approves(gold: tuple[Path, Path], tmp_path: Path) -> None:
    config, key = gold
    elevation = _elevate(config)
    assert ess(config, "sync", "alpha")[0] == 3
    signature = _sign(config, key, _challenge(config, elevation, tmp_path))
    code, out = ess(
        config, "elevation", "approve", elevation, "--approver", ANNA, "--signature", signature
    )
    assert code == 0, out
    assert ess(config, "sync", "alpha")[0] == 0
    code, out = ess(config, "audit", "list", "alpha", "--json")
    assert '"action": "approver"' in out and "(signature verified)" in out


def test_root_without_the_private_key_cannot_approve(
    gold: tuple[Path, Path], tmp_path: Path
) -> None:
    config, annas_key = gold
    first = _elevate(config)
    annas_signature = _sign(config, annas_key, _challenge(config, first, tmp_path))
    elevation = _elevate(config)
    challenge = _challenge(config, elevation, tmp_path)

    # 1. naming the approver, with anything for a signature
    for signature in ("", "bm90IGEgc2lnbmF0dXJl", annas_signature):  # the last: another id's
        code, out = ess(
            config, "elevation", "approve", elevation, "--approver", ANNA, "--signature", signature
        )
        assert code == 3, out
    # 2. a key of the operator's own, signing as Anna
    own = tmp_path / "root.pem"
    assert ess(config, "approver", "keygen", str(own))[0] == 0
    code, out = ess(
        config,
        "elevation",
        "approve",
        elevation,
        "--approver",
        ANNA,
        "--signature",
        _sign(config, own, challenge),
    )
    assert code == 3, out
    # 3. the approval written straight into the journal, the signature of another copied along
    with sqlite3.connect(config.parent / "ess.db") as db:
        db.execute(
            "UPDATE elevations SET approved_by=?, approved_at=created_at, approval_signature=? "
            "WHERE id=?",
            (ANNA, annas_signature, int(elevation)),
        )
    code, out = ess(config, "sync", "alpha")
    assert code == 3, out
    code, out = ess(config, "elevation", "list", "alpha", "--json")
    assert '"status": "active"' not in out
    # every refused attempt is in the audit log
    code, out = ess(config, "audit", "list", "alpha", "--json")
    assert out.count('"action": "approve_elevation"') == 4
