"""The ``blockplan`` command line.

Subcommands are loaded lazily: ``blockplan --help``, ``--version`` and a mistyped command
import click and this module only (the one-line summaries below stand in for the
commands' docstrings), and each command imports what it uses when it runs. Errors of
blockplan reach the user as one line and a non-zero exit status, never as a traceback.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from blockplan.errors import (
    EXIT_BAD_INPUT,
    EXIT_PACS_UNAVAILABLE,
    BlockplanError,
    PacsUnavailableError,
)

# name -> "module:attribute" of a click command; each must work when listed here.
_COMMANDS: dict[str, str] = {
    "archive": "blockplan._cli_archive:archive",
    "export": "blockplan._cli_archive:export",
    "fluoro": "blockplan._cli_fluoro:fluoro",
    "view": "blockplan._cli_view:view",
    "demo": "blockplan._cli_demo:demo",
    "case": "blockplan._cli_case:case",
    "config": "blockplan._cli_config:config",
    "outcomes": "blockplan._cli_outcomes:outcomes",
    "series": "blockplan._cli_series:series",
    "levels": "blockplan._cli_levels:levels",
    "report": "blockplan._cli_report:report",
}

# name -> the line `blockplan --help` shows (a test checks each against the command's help)
_SHORT_HELP: dict[str, str] = {
    "archive": "Archive CASE_FILE: report PDF, Encapsulated PDF, SR, SEG and the case file.",
    "export": "Export CASE_FILE to a folder; with --deidentify, de-identified (see the README).",
    "view": "Open napari with the blockplan dock widgets and, if given, the study at PATH.",
    "demo": "Build the demo case on the synthetic sample study and write its report.",
    "case": "Cases in the store: list, show, export to a file, import from files.",
    "config": "Clinician settings: clinician name, clinic, archive destination, AE title, profile.",
    "outcomes": "Print the evidence ledger of CASE under a profile (decision support).",
    "series": "List every image series under PATH (file, folder or DICOMDIR), headers only.",
    "fluoro": "Write the C-arm preview (a DRR from the case's CT) of one view of one target.",
    "levels": (
        "Propose vertebral body and disc centres on the lumbar CT (or sagittal MR) under PATH."
    ),
    "report": "Write the PDF/A-2b report of CASE (a blockplan case file) to FILE.pdf.",
}


class ErrorReportingGroup(click.Group):
    """A click group that reports a `BlockplanError` as one line and exits non-zero.

    Status 2 for bad input, 3 for an unreachable or refusing PACS (retry later).
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BlockplanError as err:
            click.echo(f"blockplan: error: {err}", err=True)
            unavailable = isinstance(err, PacsUnavailableError)
            sys.exit(EXIT_PACS_UNAVAILABLE if unavailable else EXIT_BAD_INPUT)
        except OSError as err:  # a file or folder the command could not read or write
            click.echo(f"blockplan: error: {_os_error_line(err)}", err=True)
            sys.exit(2)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except BaseException as err:  # unforeseen (incl. a Rust panic): one line
            if isinstance(err, SystemExit | KeyboardInterrupt | GeneratorExit):
                raise
            if os.environ.get("BLOCKPLAN_DEBUG"):
                raise
            click.echo(
                f"blockplan: internal error ({type(err).__name__}); please report it with "
                "the command you ran (BLOCKPLAN_DEBUG=1 shows the traceback)",
                err=True,
            )
            sys.exit(70)


def _os_error_line(err: OSError) -> str:
    """One line for an operating-system error: which file, why, what to do."""
    where = err.filename if err.filename is not None else "a file"
    why = err.strerror or type(err).__name__
    return f"{where}: {why}; check the path and its permissions (or free disk space)"


class _LazyGroup(ErrorReportingGroup):
    def invoke(self, ctx: click.Context) -> Any:
        from blockplan._cli_quiet import native_stderr_quiet

        with native_stderr_quiet():
            return super().invoke(ctx)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``--help`` from `_SHORT_HELP`, importing no command."""
        rows = [(name, _SHORT_HELP[name]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)  # one added in code (tests), or None
        module_name, attr = target.split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attr)
        from blockplan._cli_types import require_regular_files

        require_regular_files(command)  # a FIFO given as a file must not hang the command
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="blockplan", prog_name="blockplan")  # looked up when asked
def main() -> None:
    """Plan, record and adjudicate diagnostic nerve blocks.

    Decision support, not a medical device.
    """
