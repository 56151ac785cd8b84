"""The ``ess`` command line: run, watch and repair syncs from a shell or a script.

Every command goes through the ops facade (``engine.ops``); errors become exit codes in one
place (:class:`console.cli_errors.EssGroup`), documented in docs/cli.md.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated

import typer

from console import (
    cli_agent,
    cli_approver,
    cli_audit,
    cli_config,
    cli_journal,
    cli_notify,
    cli_password,
    cli_person,
    cli_queries,
    cli_runs,
    cli_scheduler,
    cli_service,
    cli_source,
    cli_target,
    cli_tools,
    cli_worker,
)
from console.cli_common import CliState, default_actor
from console.cli_help import ReadableGroup
from engine.config import CONFIG_ENV, DEFAULT_CONFIG

app = typer.Typer(
    name="ess",
    cls=ReadableGroup,
    help="ESS keeps Microsoft 365 for Education and Google Workspace for Education "
    "in step with the school administration system.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, pwsh)
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
config_app = typer.Typer(name="config", help="Check ess.toml.", no_args_is_help=True)
source_app = typer.Typer(
    name="source",
    help="Look at a tenant's sources; move it to another (rekey).",
    no_args_is_help=True,
)
sample_app = typer.Typer(
    name="sample", help="Sample data in a source format.", no_args_is_help=True
)
journal_app = typer.Typer(
    name="journal", help="Back up and check the journal.", no_args_is_help=True
)
notify_app = typer.Typer(
    name="notify", help="Notifications of held plans and failed runs.", no_args_is_help=True
)
service_app = typer.Typer(
    name="service", help="Run the scheduler as a service.", no_args_is_help=True
)
target_app = typer.Typer(
    name="target", help="Check a tenant's targets before a run.", no_args_is_help=True
)
agent_app = typer.Typer(
    name="agent",
    help="The on-site agent: upload the local source to the hosted ESS; agents' status.",
    no_args_is_help=True,
)
elevation_app = typer.Typer(
    name="elevation", help="Time-boxed elevations of support rights.", no_args_is_help=True
)


def _version() -> str:
    try:
        return version("ess")
    except PackageNotFoundError:
        return "unknown"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"ess {_version()}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    config: Annotated[
        Path,
        typer.Option(
            "--config", "-c", envvar=CONFIG_ENV, help="The configuration file.", dir_okay=False
        ),
    ] = Path(DEFAULT_CONFIG),
    actor: Annotated[
        str | None,
        typer.Option(
            "--actor",
            help="A note for the audit log beside the OS user who acts (e.g. a ticket).",
        ),
    ] = None,
    _version_flag: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and stop."
        ),
    ] = False,
) -> None:
    """Options that apply to every command."""
    ctx.obj = CliState(config=config, actor=default_actor(actor), note=actor)


cli_config.register(app, config_app)
cli_runs.register(app, elevation_app, source_app)
cli_source.register(source_app)
cli_queries.register(app)
cli_audit.register(app)
cli_approver.register(app)
cli_person.register(app)
cli_password.register(app)
cli_scheduler.register(app)
cli_tools.register(app, sample_app)
cli_journal.register(journal_app)
cli_notify.register(notify_app)
cli_service.register(service_app)
cli_target.register(target_app)
cli_agent.register(app, agent_app)
cli_worker.register(app)
app.add_typer(config_app)
app.add_typer(source_app)
app.add_typer(target_app)
app.add_typer(sample_app)
app.add_typer(elevation_app)
app.add_typer(journal_app)
app.add_typer(notify_app)
app.add_typer(service_app)
app.add_typer(agent_app)


def main() -> None:
    """Console script entry point (``ess``)."""
    app()


if __name__ == "__main__":
    main()
