"""The ``ess`` command line: run, watch and repair syncs from a shell or a script.

Every command goes through the ops facade (``engine.ops``); errors become exit codes in one
place (:class:`console.cli_errors.EssGroup`), documented in docs/cli.md.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated

import typer

from console import cli_config, cli_queries, cli_runs, cli_scheduler, cli_tools
from console.cli_common import CliState, default_actor
from console.cli_errors import EssGroup
from engine.config import CONFIG_ENV, DEFAULT_CONFIG

app = typer.Typer(
    name="ess",
    cls=EssGroup,
    help="ESS keeps Microsoft 365 for Education and Google Workspace for Education "
    "in step with the school administration system.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
config_app = typer.Typer(name="config", help="Check ess.toml.", no_args_is_help=True)
source_app = typer.Typer(name="source", help="Look at a tenant's source.", no_args_is_help=True)
sample_app = typer.Typer(
    name="sample", help="Sample data in a source format.", no_args_is_help=True
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
        typer.Option("--actor", help="Who acts, for the audit log (default cli:<login user>)."),
    ] = None,
    _version_flag: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and stop."
        ),
    ] = False,
) -> None:
    """Options that apply to every command."""
    ctx.obj = CliState(config=config, actor=actor or default_actor())


cli_config.register(app, config_app)
cli_runs.register(app, elevation_app, source_app)
cli_queries.register(app)
cli_scheduler.register(app)
cli_tools.register(app, sample_app)
app.add_typer(config_app)
app.add_typer(source_app)
app.add_typer(sample_app)
app.add_typer(elevation_app)


def main() -> None:
    """Console script entry point (``ess``)."""
    app()


if __name__ == "__main__":
    main()
