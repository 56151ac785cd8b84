"""``ess service``: the systemd unit (checked with ``systemd-analyze verify``), the Windows
task XML, and the system commands each step runs. systemctl, useradd and schtasks cannot be run
in a test (no init system, no Windows); a recorder stands in for them and for the platform."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from console import cli_service, service
from console.cli import app
from tests.conftest import Workdir

NS = {"t": service.TASK_NS}


class Recorder:
    """Answers each system command with success and keeps it."""

    def __init__(self) -> None:
        self.commands: list[list[str]] = []

    def __call__(self, command: Sequence[str]) -> subprocess.CompletedProcess[str]:
        self.commands.append(list(command))
        return subprocess.CompletedProcess(list(command), 0, "active\n", "")


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    r = Recorder()
    monkeypatch.setattr(service, "run", r)
    return r


def ess(workdir: Workdir, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["--config", str(workdir.config), *args])


def test_the_unit_is_hardened_and_passes_systemd_analyze_verify(
    workdir: Workdir, tmp_path: Path, recorder: Recorder
) -> None:
    units = tmp_path / "units"
    units.mkdir()
    result = ess(workdir, "service", "install", "--no-enable", "--unit-dir", str(units))
    assert result.exit_code == 0, result.output
    assert recorder.commands == []  # --no-enable changes nothing but the file
    unit = (units / "ess.service").read_text(encoding="utf-8")
    lines = set(unit.splitlines())
    config = workdir.config.resolve()
    assert f"ExecStart={service.ess_executable(False)} --config {config} scheduler" in lines
    for line in (
        "User=ess",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
        f"ReadWritePaths={workdir.journal.resolve().parent}",
        "StandardOutput=journal",
        "WantedBy=multi-user.target",
    ):
        assert line in lines, line
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian package: systemd)")
    verified = subprocess.run(
        [analyze, "verify", str(units / "ess.service")], capture_output=True, text=True
    )
    assert verified.returncode == 0, verified.stderr
    again = ess(workdir, "service", "install", "--no-enable", "--unit-dir", str(units))
    assert again.exit_code == 2 and "exists; pass --force" in again.output


def test_install_makes_the_user_gives_it_the_journal_and_enables_the_unit(
    workdir: Workdir, tmp_path: Path, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_service, "_user_exists", lambda user: False)
    monkeypatch.setattr(cli_service.os, "geteuid", lambda: 0, raising=False)
    result = ess(workdir, "service", "install", "--unit-dir", str(tmp_path), "--user", "ess-sync")
    assert result.exit_code == 0, result.output
    journal_dir = str(workdir.journal.resolve().parent)
    assert recorder.commands == [
        ["useradd", "--system", "--user-group", "--no-create-home",
         "--shell", "/usr/sbin/nologin", "ess-sync"],
        ["chown", "-R", "ess-sync:ess-sync", journal_dir],
        ["systemctl", "daemon-reload"],
        ["systemctl", "enable", "--now", "ess.service"],
    ]  # fmt: skip
    assert "User=ess-sync" in (tmp_path / "ess.service").read_text(encoding="utf-8")

    removed = ess(workdir, "service", "uninstall", "--unit-dir", str(tmp_path))
    assert removed.exit_code == 0, removed.output
    assert not (tmp_path / "ess.service").exists()
    assert recorder.commands[-2:] == [
        ["systemctl", "disable", "--now", "ess.service"],
        ["systemctl", "daemon-reload"],
    ]


def test_install_without_root_is_refused_before_writing(
    workdir: Workdir, tmp_path: Path, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_service.os, "geteuid", lambda: 1000, raising=False)
    result = ess(workdir, "service", "install", "--unit-dir", str(tmp_path))
    assert result.exit_code == 2
    assert "needs root" in result.output
    assert not (tmp_path / "ess.service").exists() and recorder.commands == []


def test_the_windows_task_runs_the_scheduler_as_the_service_account(
    workdir: Workdir, tmp_path: Path, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "is_windows", lambda: True)
    xml = tmp_path / "task.xml"
    result = ess(
        workdir, "service", "install", "--windows", "--account", r"SKOLA\svc-ess", "--out", str(xml)
    )
    assert result.exit_code == 0, result.output
    assert rf'schtasks /Create /TN "ess" /XML "{xml}" /RU "SKOLA\svc-ess" /RP *' in result.output
    assert recorder.commands == []  # the password prompt is the administrator's, not ESS's
    raw = xml.read_bytes()
    assert raw.startswith(b"\xff\xfe")  # UTF-16 with its byte order mark, as schtasks reads
    task = ET.fromstring(raw.decode("utf-16"))
    assert task.tag == f"{{{service.TASK_NS}}}Task" and task.get("version") == "1.2"
    principal = task.find("t:Principals/t:Principal", NS)
    assert principal is not None
    assert principal.findtext("t:UserId", namespaces=NS) == r"SKOLA\svc-ess"
    assert principal.findtext("t:LogonType", namespaces=NS) == "Password"  # batch logon
    assert task.find("t:Triggers/t:BootTrigger", NS) is not None
    assert task.findtext("t:Settings/t:ExecutionTimeLimit", namespaces=NS) == "PT0S"
    assert task.findtext("t:Settings/t:MultipleInstancesPolicy", namespaces=NS) == "IgnoreNew"
    exec_ = task.find("t:Actions/t:Exec", NS)
    assert exec_ is not None
    config = workdir.config.resolve()
    log = config.parent / "logs" / "ess.log"
    assert exec_.findtext("t:Command", namespaces=NS) == service.ess_executable(True)
    assert exec_.findtext("t:Arguments", namespaces=NS) == (
        f'--config "{config}" scheduler --log-file "{log}"'
    )
    assert log.parent.is_dir()  # the task keeps no output: its log folder is made

    status = ess(workdir, "service", "status")
    assert status.exit_code == 0
    assert recorder.commands[-1] == ["schtasks", "/Query", "/TN", "ess", "/FO", "LIST", "/V"]
    ess(workdir, "service", "uninstall")
    assert recorder.commands[-1] == ["schtasks", "/Delete", "/TN", "ess", "/F"]


def test_windows_needs_an_account(workdir: Workdir) -> None:
    result = ess(workdir, "service", "install", "--windows")
    assert result.exit_code == 2
    assert r"--windows needs --account DOMAIN\name" in result.output
