"""``blockplan demo``: the demo case and its report on the synthetic sample study."""

from __future__ import annotations

from pathlib import Path

import click


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

    written = run_demo(out_dir, sample_dir=sample_dir)
    click.echo(f"demo case (synthetic, profile {DEMO_PROFILE}): {written['case'].resolve()}")
    click.echo(f"report (PDF/A-2b): {written['report'].resolve()}")
