"""What ``ess service`` writes: a systemd unit for Linux, a Task Scheduler task for Windows.

Both run ``ess scheduler`` from this installation, as a dedicated account, with the
configuration given by absolute path. Under systemd its lines go to journald; Task Scheduler
keeps no output, so the task also writes a rotating log file beside the configuration.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

TASK_NS = "http://schemas.microsoft.com/windows/2004/02/mit/task"
Runner = Callable[[Sequence[str]], subprocess.CompletedProcess[str]]


def run(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Run a system command (systemctl, useradd, schtasks), its output captured."""
    return subprocess.run(list(command), capture_output=True, text=True, check=False)


def is_windows() -> bool:
    return sys.platform == "win32"


@dataclass(frozen=True)
class ServicePlan:
    """Where things are, for the unit or the task."""

    ess: str  # the ess executable of this installation
    config: str  # absolute
    workdir: str  # the configuration's folder
    journal_dir: str  # written by the service: the only writable path under systemd
    log_file: str | None = None


def ess_executable(windows: bool) -> str:
    """The ``ess`` script beside this Python (a virtual environment's bin or Scripts)."""
    here = Path(sys.executable).parent
    return str(here / ("ess.exe" if windows else "ess"))


def systemd_unit(plan: ServicePlan, user: str) -> str:
    """A hardened unit: its own user, read-only system, private /tmp, one writable folder."""
    return f"""[Unit]
Description=ESS: school data sync (scheduler)
Documentation=file://{plan.workdir}
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User={user}
Group={user}
ExecStart={plan.ess} --config {plan.config} scheduler
WorkingDirectory={plan.workdir}
EnvironmentFile=-{plan.workdir}/ess.env
Restart=on-failure
RestartSec=30
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
LockPersonality=yes
ReadWritePaths={plan.journal_dir}
StandardOutput=journal
StandardError=journal
SyslogIdentifier=ess

[Install]
WantedBy=multi-user.target
"""


def windows_task(plan: ServicePlan, account: str) -> str:
    """A Task Scheduler 1.2 task: at boot, as ``account`` with a stored password (the
    account needs "Log on as a batch job"), restarted on failure, never stopped for time."""
    log = f' --log-file "{plan.log_file}"' if plan.log_file else ""
    arguments = f'--config "{plan.config}" scheduler{log}'
    return f"""<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="{TASK_NS}">
  <RegistrationInfo>
    <Description>ESS: school data sync (scheduler)</Description>
    <URI>\\ESS</URI>
  </RegistrationInfo>
  <Triggers>
    <BootTrigger>
      <Enabled>true</Enabled>
    </BootTrigger>
  </Triggers>
  <Principals>
    <Principal id="Author">
      <UserId>{escape(account)}</UserId>
      <LogonType>Password</LogonType>
      <RunLevel>LeastPrivilege</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <AllowHardTerminate>true</AllowHardTerminate>
    <StartWhenAvailable>true</StartWhenAvailable>
    <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>
    <AllowStartOnDemand>true</AllowStartOnDemand>
    <Enabled>true</Enabled>
    <Hidden>false</Hidden>
    <RunOnlyIfIdle>false</RunOnlyIfIdle>
    <WakeToRun>false</WakeToRun>
    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>
    <Priority>7</Priority>
    <RestartOnFailure>
      <Interval>PT5M</Interval>
      <Count>999</Count>
    </RestartOnFailure>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>{escape(plan.ess)}</Command>
      <Arguments>{escape(arguments)}</Arguments>
      <WorkingDirectory>{escape(plan.workdir)}</WorkingDirectory>
    </Exec>
  </Actions>
</Task>
"""


def task_log_file(config: Path) -> str:
    """The task's log file: ``logs/ess.log`` beside the configuration (on this machine's
    path flavour, so on the Windows server a Windows path)."""
    return str(config.parent / "logs" / "ess.log")
