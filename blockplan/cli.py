"""The ``blockplan`` command line.

Subcommands live in the module of the stage they belong to and are loaded lazily, so
``blockplan --help`` stays fast. Errors of blockplan reach the user as one line and a
non-zero exit status, never as a traceback.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from blockplan import __version__
from blockplan.errors import BlockplanError

# name -> "module:attribute" of a click command; each must work when listed here.
_COMMANDS: dict[str, str] = {
    "archive": "blockplan.archive.cli:archive",
    "export": "blockplan.archive.cli:export",
    "fluoro": "blockplan.fluoro.cli:fluoro",
    "view": "blockplan._cli_view:view",
    "demo": "blockplan._cli_demo:demo",
    "case": "blockplan.case.cli:case",
    "config": "blockplan._cli_config:config",
    "outcomes": "blockplan.outcomes.cli:outcomes",
    "series": "blockplan.io.cli:series",
    "report": "blockplan.report.cli:report",
}


class ErrorReportingGroup(click.Group):
    """A click group that reports a `BlockplanError` as one line and exits with status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BlockplanError as err:
            click.echo(f"blockplan: error: {err}", err=True)
            sys.exit(2)


class _LazyGroup(ErrorReportingGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attr)
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="blockplan")
def main() -> None:
    """Plan, record and adjudicate diagnostic nerve blocks.

    Decision support, not a medical device.
    """
