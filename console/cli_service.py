"""``ess service install | uninstall | status``: ESS's scheduler as a service.

Linux: a hardened systemd unit run by a dedicated system user, logging to journald. Windows: a
Task Scheduler task run at boot by a service account with "Log on as a batch job"; ESS writes
the task and prints the ``schtasks`` command, which asks for the account's password itself, so
ESS never sees it.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from console import service
from console.cli_common import out, state
from console.cli_errors import CliError, ExitCode
from engine.config import load

NameOpt = Annotated[str, typer.Option("--name", help="The unit (Linux) or task (Windows) name.")]
UnitDirOpt = Annotated[Path, typer.Option("--unit-dir", help="Where the systemd unit is written.")]
WindowsOpt = Annotated[
    bool, typer.Option("--windows", help="A Windows Task Scheduler task instead of systemd.")
]


def _say(line: str) -> None:
    out().print(line, soft_wrap=True)


def _must(command: Sequence[str]) -> str:
    done = service.run(command)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise CliError(
            f"`{shlex.join(command)}` failed ({done.returncode})"
            + (f": {detail[-1]}" if detail else ""),
            ExitCode.PARTIAL,
        )
    return done.stdout


def _plan(ctx: typer.Context, windows: bool) -> service.ServicePlan:
    cfg = load(state(ctx).config)
    config = cfg.path.resolve()
    return service.ServicePlan(
        ess=service.ess_executable(windows),
        config=str(config),
        workdir=str(config.parent),
        journal_dir=str(cfg.journal_path.resolve().parent),
        log_file=service.task_log_file(config) if windows else None,
    )


def _user_exists(user: str) -> bool:
    import pwd  # POSIX only: reached on Linux alone

    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


def install(
    ctx: typer.Context,
    windows: WindowsOpt = False,
    user: Annotated[str, typer.Option("--user", help="Linux: the service's user.")] = "ess",
    account: Annotated[
        str | None, typer.Option("--account", help=r"Windows: the service account, DOMAIN\name.")
    ] = None,
    name: NameOpt = "ess",
    unit_dir: UnitDirOpt = Path("/etc/systemd/system"),
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Windows: where the task XML is written.")
    ] = None,
    no_enable: Annotated[
        bool, typer.Option("--no-enable", help="Linux: write the unit, change nothing else.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file.")] = False,
) -> None:
    """Install `ess scheduler` as a service (systemd, or with --windows a scheduled task)."""
    plan = _plan(ctx, windows)
    if windows:
        if not account:
            raise CliError(r"--windows needs --account DOMAIN\name (the service account)")
        target = out_file or Path(plan.workdir) / "ess-task.xml"
        if target.exists() and not force:
            raise CliError(f"{target} exists; pass --force to replace it")
        if plan.log_file:
            Path(plan.log_file).parent.mkdir(parents=True, exist_ok=True)
        target.write_text(service.windows_task(plan, account), encoding="utf-16")
        _say(f"wrote the task {target}")
        _say("register it (asks for the account's password; ESS never sees it):")
        _say(f'  schtasks /Create /TN "{name}" /XML "{target}" /RU "{account}" /RP *')
        _say(f'  schtasks /Run /TN "{name}"')
        return
    unit = unit_dir / f"{name}.service"
    if unit.exists() and not force:
        raise CliError(f"{unit} exists; pass --force to replace it, or `ess service uninstall`")
    if not unit_dir.is_dir():
        raise CliError(f"the folder {unit_dir} does not exist (is this a systemd system?)")
    if not no_enable and hasattr(os, "geteuid") and os.geteuid() != 0:
        raise CliError("installing a service needs root: run it with sudo, or pass --no-enable")
    try:
        unit.write_text(service.systemd_unit(plan, user), encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {unit}: {exc.strerror}") from None
    _say(f"wrote the unit {unit}")
    if no_enable:
        _say(f"next: create the user {user}, give it {plan.journal_dir}, then")
        _say(f"  systemctl daemon-reload && systemctl enable --now {name}")
        return
    if not _user_exists(user):
        _must(["useradd", "--system", "--user-group", "--no-create-home",
               "--shell", "/usr/sbin/nologin", user])  # fmt: skip
        _say(f"created the system user {user}")
    _must(["chown", "-R", f"{user}:{user}", plan.journal_dir])
    _must(["systemctl", "daemon-reload"])
    _must(["systemctl", "enable", "--now", f"{name}.service"])
    _say(f"enabled and started {name}; follow it with: journalctl -u {name} -f")


def uninstall(
    ctx: typer.Context,
    windows: WindowsOpt = False,
    name: NameOpt = "ess",
    unit_dir: UnitDirOpt = Path("/etc/systemd/system"),
) -> None:
    """Stop and remove the service (the journal and configuration stay)."""
    if windows or service.is_windows():
        _must(["schtasks", "/Delete", "/TN", name, "/F"])
        _say(f"removed the task {name}")
        return
    unit = unit_dir / f"{name}.service"
    if not unit.exists():
        raise CliError(f"there is no unit {unit}")
    _must(["systemctl", "disable", "--now", f"{name}.service"])
    unit.unlink()
    _must(["systemctl", "daemon-reload"])
    _say(f"removed {unit}; the journal and ess.toml are kept")


def status(ctx: typer.Context, windows: WindowsOpt = False, name: NameOpt = "ess") -> None:
    """Whether the service runs; exit 1 when it does not."""
    if windows or service.is_windows():
        done = service.run(["schtasks", "/Query", "/TN", name, "/FO", "LIST", "/V"])
    else:
        done = service.run(["systemctl", "status", f"{name}.service", "--no-pager", "--lines=5"])
    typer.echo((done.stdout or done.stderr).rstrip())
    if done.returncode != 0:
        raise typer.Exit(int(ExitCode.PARTIAL))


def register(service_app: typer.Typer) -> None:
    service_app.command()(install)
    service_app.command()(uninstall)
    service_app.command()(status)
