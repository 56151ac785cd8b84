"""Bad input gets one clear line naming the cause and the file, the documented exit code, and
no traceback: a journal path that is a folder, ess.toml that is nested too deeply or is not
text, a secret file that is not text, and a journal on a disk that fills up during a run.

Each runs `ess` as its own process, as a user would, so that a traceback printed by a thread
after the command ends is seen too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Workdir

ROOT = Path(__file__).resolve().parents[2]


def ess(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "console.cli", "--config", str(config), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200", "ESS_DEBUG": ""},
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def assert_clear(result: subprocess.CompletedProcess[str], code: int, *says: str) -> None:
    shown = result.stdout + result.stderr
    assert result.returncode == code, shown
    assert "Traceback" not in shown and "unexpected error" not in shown, shown
    for text in says:
        assert text in result.stderr, result.stderr


@pytest.mark.parametrize(
    "command", [["status"], ["sync", "alpha"], ["search", "anna"], ["console"], ["mcp"]]
)
def test_a_journal_path_that_is_a_folder(workdir: Workdir, command: list[str]) -> None:
    workdir.journal.mkdir()
    assert_clear(ess(workdir.config, *command), 2, f"{workdir.journal} is a folder")


def test_ess_toml_nested_too_deeply(workdir: Workdir) -> None:
    workdir.config.write_text("a = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    sync = ess(workdir.config, "sync", "alpha")
    assert_clear(sync, 2, str(workdir.config), "nested too deeply")
    assert "RecursionError" not in sync.stderr
    check = ess(workdir.config, "config", "check")
    assert "nested too deeply" in check.stderr + check.stdout
    assert "Traceback" not in check.stderr and "RecursionError" not in check.stderr
    assert check.returncode == 1  # a problem found


@pytest.mark.parametrize("command", [["sync", "alpha"], ["console"], ["mcp"]])
def test_ess_toml_that_is_not_text(workdir: Workdir, command: list[str]) -> None:
    workdir.config.write_bytes(b"\xff\xfe\x00binary")
    assert_clear(ess(workdir.config, *command), 2, str(workdir.config), "not UTF-8 text")


def test_a_secret_file_that_is_not_text(workdir: Workdir) -> None:
    (workdir.path / "secret.bin").write_bytes(b"\xff\xfe\x00")
    workdir.write(
        target='[tenants.alpha.targets.ms]\ntype = "microsoft"\n'
        'tenant_id = "00000000-0000-0000-0000-000000000001"\n'
        'client_id = "00000000-0000-0000-0000-000000000002"\n'
        'domain = "alpha.example"\nclient_secret = "file:secret.bin"\n'
    )
    assert_clear(
        ess(workdir.config, "sync", "alpha", "--target", "ms"), 2, "secret.bin", "not UTF-8 text"
    )


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 300 kB tmpfs: room for the journal's start, not for a run."""
    where = tmp_path / "disk"
    where.mkdir()
    mount = shutil.which("mount")
    if mount is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    made = subprocess.run(
        [mount, "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(where)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_disk_that_fills_up_during_a_run(workdir: Workdir, small_disk: Path) -> None:
    journal = small_disk / "ess.db"
    text = workdir.config.read_text(encoding="utf-8")
    workdir.config.write_text(text.replace('path = "ess.db"', f'path = "{journal}"'), "utf-8")
    assert_clear(ess(workdir.config, "sync", "alpha"), 1, f"disk full writing {journal}")
