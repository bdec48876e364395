"""A click group whose sub-commands load on first use (click's documented ``LazyGroup``
pattern): the group knows each command's module and one-line help, imports the module only
when the command is run or its own help shown, and lists every command in ``--help``
without importing any."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, NamedTuple

import click


class Lazy(NamedTuple):
    """Where a command is defined and what ``dagwright --help`` says of it."""

    module: str
    attribute: str
    # the first paragraph of the command's help; tests/test_cli_startup.py checks that it
    # is the command's own
    summary: str


class LazyGroup(click.Group):
    """A group whose ``lazy`` commands are imported when first asked for by name."""

    def __init__(self, *args: Any, lazy: Mapping[str, Lazy], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name, loaded or not, sorted (as click lists them)."""
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command called ``cmd_name``, its module imported on first use."""
        if cmd_name not in self.commands and cmd_name in self.lazy:
            where = self.lazy[cmd_name]
            command = getattr(importlib.import_module(where.module), where.attribute)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """The command ``args`` name; for a name that is none, every command is loaded first,
        as click suggests close names from the loaded ones (``No such command 'rn'. (Did you
        mean one of: 'run', 'runs'?)``)."""
        if args and self.get_command(ctx, args[0]) is None:
            for name in self.lazy:
                self.get_command(ctx, name)
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands section of ``--help``, as click writes it, from each summary for a
        command not loaded (so listing them imports none)."""
        commands = []
        for name in self.list_commands(ctx):
            command = self.commands.get(name)
            if command is None:  # as click shortens a command's help for this line
                command = click.Command(name, help=self.lazy[name].summary)
            if not command.hidden:
                commands.append((name, command))
        if commands:
            limit = formatter.width - 6 - max(len(name) for name, _ in commands)
            rows = [(name, command.get_short_help_str(limit)) for name, command in commands]
            with formatter.section("Commands"):
                formatter.write_dl(rows)
