"""The command line: help, version, and every listed subcommand answers --help."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from blockplan import __version__
from blockplan.cli import _COMMANDS, main


def test_help_lists_every_subcommand() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in _COMMANDS:
        assert name in result.output


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output
    assert __version__ != "0.0.0+unknown"


@pytest.mark.parametrize("name", sorted(_COMMANDS))
def test_subcommand_help(name: str) -> None:
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_unknown_subcommand_fails() -> None:
    result = CliRunner().invoke(main, ["frobnicate"])
    assert result.exit_code != 0


def test_view_without_display_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    result = CliRunner().invoke(main, ["view"])
    assert result.exit_code == 2
    assert "no display" in result.output
    assert "blockplan demo" in result.output
    assert "Traceback" not in result.output


def test_console_script_installed() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "blockplan", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert __version__ in out.stdout
