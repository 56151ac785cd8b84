"""Help a person reads: each value named for what it takes (``TENANT``, ``N``,
``blocking|warning``) instead of typer's ``{tenant}``, ``<list[str]>`` and ``<int range>``,
valid values listed, and no reStructuredText double backticks in the text."""

from __future__ import annotations

from typing import Any, get_args

from typer.core import TyperArgument, TyperGroup, TyperOption

from console.cli_errors import EssGroup


class _Argument(TyperArgument):
    """An argument shown by its metavar alone: ``TENANT``, ``[OP_IDS]...``, no ``{tenant}``."""

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        if not self.required:
            name = f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")

    def display_type_rich(self, ctx: Any) -> str | None:
        return None  # the metavar says it


def metavar(param: TyperArgument | TyperOption) -> str:
    """What a value is called in help: the valid values of a choice, an argument's name in
    capitals, N for an option's number, FILE for a path, else the option's name in capitals."""
    desc = param.type_descriptor
    if desc.choices is not None:
        return "|".join(str(getattr(c, "value", c)) for c in desc.choices)
    if isinstance(param, TyperArgument):
        return (param.name or "value").upper()
    annotation = desc.annotation
    if desc.is_list and get_args(annotation):
        annotation = get_args(annotation)[0]
    if annotation is int:
        return "N"  # a range, if any, is in the help text
    if annotation is float:
        return "NUMBER"
    if desc.is_path:
        return desc.path_type.upper()
    names = [n for n in getattr(param, "opts", ()) if n.startswith("--")]
    name = names[0][2:] if names else (param.name or "value")
    return name.replace("-", "_").upper()


def make_readable(command: Any) -> None:
    """Give every parameter of ``command`` and its subcommands a readable metavar, once."""
    if getattr(command, "_ess_readable", False):
        return
    command._ess_readable = True
    if command.help:
        command.help = command.help.replace("``", "`")
    for param in command.params:
        if isinstance(param, TyperArgument):
            if param.metavar is None:
                param.metavar = metavar(param)
            if type(param) is TyperArgument:
                param.__class__ = _Argument  # the same argument, shown without typer's braces
        elif isinstance(param, TyperOption):
            if not param.is_flag and not param.count and param.metavar is None:
                param.metavar = metavar(param)
            if param.help:
                param.help = param.help.replace("``", "`")
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            make_readable(sub)


class ReadableGroup(EssGroup):
    """The top-level group: its commands' help is made readable before it is shown or run."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            make_readable(command)
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        make_readable(self)
        super().format_help(ctx, formatter)
