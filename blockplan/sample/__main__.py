"""``python -m blockplan.sample OUT_DIR [--seed N]``: write the synthetic sample study."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from blockplan._cli_progress import tty_progress
from blockplan.sample.study import DEFAULT_SEED, generate_sample_study


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m blockplan.sample",
        description="Write the synthetic post-operative lumbar spine study (CT, T2 "
        "sagittal, T1 post-gadolinium axial without and with fat suppression) and its "
        "ground truth. SYNTHETIC - not patient data.",
    )
    parser.add_argument("out_dir", type=Path, help="folder to write (e.g. sample_dicom)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="noise and UID seed")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    progress = tty_progress("generating the sample study")
    out = generate_sample_study(args.out_dir, seed=args.seed, progress=progress)
    print(f"wrote {out} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
