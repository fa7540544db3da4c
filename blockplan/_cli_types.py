"""Click parameter types shared by the commands.

`RegularFile`: a file named on the command line to be read must be a regular file. It
is checked with ``stat`` before anything opens it: opening a FIFO waits for a writer
forever, a device or socket is never what was meant. `ProfileRef` applies the same check
to a profile given by path (a name is left to the profile loader).
"""

from __future__ import annotations

import os
import stat
from typing import TYPE_CHECKING, Any

import click

__all__ = ["ProfileRef", "RegularFile", "require_regular_files"]

if TYPE_CHECKING:  # generic in click ≥ 8.5 only
    _AnyParamType = click.ParamType[Any, Any]
    _TextParamType = click.ParamType[str, Any]
else:
    _AnyParamType = _TextParamType = click.ParamType


class RegularFile(click.Path):
    """An existing, readable regular file (FIFOs, devices, sockets and folders refused)."""

    name = "file"

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("exists", True)
        kwargs.update(file_okay=True, dir_okay=False)
        super().__init__(**kwargs)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        path = super().convert(value, param, ctx)
        if self.exists and not (value == "-" and self.allow_dash):
            _check_regular(os.fsdecode(path), self, param, ctx)
        return path


def _check_regular(
    path: str, kind: _AnyParamType, param: click.Parameter | None, ctx: click.Context | None
) -> None:
    try:
        mode = os.stat(path).st_mode
    except OSError as err:
        kind.fail(f"{path!r}: cannot be read ({err.strerror})", param, ctx)
    if not stat.S_ISREG(mode):
        what = "a FIFO" if stat.S_ISFIFO(mode) else "not a regular file"
        kind.fail(f"{path!r} is {what}; give a regular file", param, ctx)


class ProfileRef(_TextParamType):
    """A profile name, or a path (ends in .json or holds a /): then a regular file."""

    name = "profile"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = os.fsdecode(value) if isinstance(value, bytes | os.PathLike) else str(value)
        if text.endswith(".json") or "/" in text or "\\" in text:
            if not os.path.lexists(text):
                self.fail(f"profile file {text!r} does not exist", param, ctx)
            _check_regular(text, self, param, ctx)
        return text


def require_regular_files(command: click.Command) -> None:
    """Give every parameter of ``command`` (and its subcommands) that names an existing
    file to read (``click.Path(exists=True, dir_okay=False)``) the `RegularFile` check."""
    for param in command.params:
        kind = param.type
        if _reads_a_file(kind) and not isinstance(kind, RegularFile):
            assert isinstance(kind, click.Path)
            param.type = RegularFile(
                readable=kind.readable,
                writable=kind.writable,
                executable=kind.executable,
                resolve_path=kind.resolve_path,
                allow_dash=kind.allow_dash,
                path_type=kind.type,
            )
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            require_regular_files(sub)


def _reads_a_file(kind: _AnyParamType) -> bool:
    return isinstance(kind, click.Path) and kind.exists and kind.file_okay and not kind.dir_okay
