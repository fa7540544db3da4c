"""``blockplan demo``: the demo case and its report on the synthetic sample study."""

from __future__ import annotations

import os
from pathlib import Path

import click

from blockplan._cli_progress import tty_progress
from blockplan.errors import BlockplanError


@click.command()
@click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("blockplan-demo"),
    show_default=True,
    help="Folder to write the demo case file and report into.",
)
@click.option(
    "--sample",
    "sample_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Sample study folder (default: the checkout's sample_dicom/ or a generated copy).",
)
def demo(out_dir: Path, sample_dir: Path | None) -> None:
    """Build the demo case on the synthetic sample study and write its report.

    Everything is synthetic (patient PHANTOM^LUMBAR); the report is decision support,
    not a medical device.
    """
    from blockplan.demo import DEMO_PROFILE, run_demo

    _check_writable(out_dir)
    progress = tty_progress("generating the sample study (once, about 2 minutes)")
    written = run_demo(out_dir, sample_dir=sample_dir, progress=progress)
    click.echo(f"demo case (synthetic, profile {DEMO_PROFILE}): {written['case'].resolve()}")
    click.echo(f"report (PDF/A-2b): {written['report'].resolve()}")


def _check_writable(out_dir: Path) -> None:
    """Create ``out_dir`` (mode 0700) or say in one line why it cannot be written."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as err:
        raise BlockplanError(
            f"demo: cannot create the folder {out_dir} ({err.strerror or type(err).__name__}); "
            "choose a writable folder with -o"
        ) from err
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise BlockplanError(
            f"demo: the folder {out_dir} is not writable; choose a writable folder with -o"
        )
