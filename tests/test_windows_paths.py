"""The modules a Windows server runs for the unattended features make no POSIX-only call:
no signals, fcntl, resource, pwd or grp imported at module level, no fork, setsid or kill of a
process group. (``ess service install`` on Linux reads pwd inside the Linux-only step.)"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = [
    "engine/journal/upkeep.py",
    "engine/notify/channels.py",
    "engine/notify/courier.py",
    "engine/notify/messages.py",
    "engine/notify/send.py",
    "engine/monitoring.py",
    "engine/scheduler.py",
    "console/cli_journal.py",
    "console/cli_notify.py",
    "console/cli_scheduler.py",
    "console/cli_service.py",
    "console/service.py",
]
POSIX_MODULES = {"signal", "fcntl", "resource", "pwd", "grp", "termios"}
POSIX_CALLS = {"fork", "forkpty", "setsid", "killpg", "getuid", "setuid", "chown", "lchown"}


@pytest.mark.parametrize("module", MODULES)
def test_no_posix_only_call(module: str) -> None:
    tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
    for node in tree.body:  # module level: runs on import, on every OS
        if isinstance(node, ast.Import):
            names = {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names = {(node.module or "").split(".")[0]}
        else:
            continue
        assert not names & POSIX_MODULES, f"{module}:{node.lineno} imports {names}"
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        ):
            assert node.attr not in POSIX_CALLS, f"{module}:{node.lineno} calls os.{node.attr}"


def test_the_check_finds_a_posix_only_call(tmp_path: Path) -> None:
    """The scan above would notice the calls it is about."""
    tree = ast.parse("import fcntl\nimport os\nos.fork()\n")
    imported = {a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names}
    called = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert imported & POSIX_MODULES and called & POSIX_CALLS
