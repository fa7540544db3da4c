"""Benchmark: blockplan.planning.evaluate_trajectory against its 5 ms budget.

The planning widget recomputes the trajectory metrics on every edit of an entry or target
point, so one call must stay within 5 ms on a clinical lumbar CT. This builds (in memory)
a 256×256×140 int16 CT of 0.7 × 0.7 × 1.25 mm with a bone slab, a ~7 mL scar mask on the
same grid and six nerve-root landmarks, then times, in one process:

* ``angles only``: no CT, scar or landmarks (length, needle, C-arm angles);
* ``with CT``: plus the bone check (trilinear sampling every 0.5 mm);
* ``full``: CT, one scar mask and six landmarks, for a typical path;
* ``full, long oblique``: the same for a 170 mm oblique path across the volume.

Prints a markdown table of the fastest and median of ``--repeat`` calls and the median's
ratio to the 5 ms budget (below 1 is within budget).

Usage::

    python benchmarks/evaluate_trajectory.py [--repeat 200]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from blockplan.case.model import Landmark, PatientPoint
from blockplan.io.volume import ImageVolume
from blockplan.planning import evaluate_trajectory

BUDGET_S = 0.005
FRAME = "1.2.826.0.1.3680043.8.498.99"


def _setup() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    arr = rng.integers(-100, 200, size=(140, 256, 256), dtype=np.int16)
    arr[:, 100:110, :] = 900  # a bone slab
    aff = np.diag([0.7, 0.7, 1.25, 1.0])
    aff[:3, 3] = (-89.6, -60.0, -87.5)
    ct = ImageVolume(
        array=arr,
        affine=aff,
        frame_of_reference_uid=FRAME,
        modality="CT",
        series_instance_uid="1.2.826.0.1.3680043.8.498.100",
    )
    scar = np.zeros(arr.shape, dtype=bool)
    scar[60:80, 120:140, 110:140] = True
    roots = [
        Landmark(
            kind="nerve_root",
            position=PatientPoint(lps=(15.0 * s, 40.0, z), frame_of_reference_uid=FRAME),
            radius_mm=3.0,
        )
        for s in (-1, 1)
        for z in (-30.0, 0.0, 30.0)
    ]
    return {"ct": ct, "scar_masks": [(scar, aff)], "landmarks": roots}


def _time(
    repeat: int, entry: tuple[float, ...], target: tuple[float, ...], **kw: Any
) -> list[float]:
    evaluate_trajectory(entry, target, **kw)  # warm-up
    out = []
    for n in range(repeat):
        moved = (entry[0] + 0.01 * n, entry[1], entry[2])
        t0 = time.perf_counter()
        evaluate_trajectory(moved, target, **kw)
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    full = _setup()
    typical = ((60.0, 110.0, 20.0), (15.0, 30.0, 0.0))
    oblique = ((80.0, 120.0, 60.0), (-10.0, 0.0, -40.0))
    cases = [
        ("angles only", typical, {}),
        ("with CT", typical, {"ct": full["ct"]}),
        ("full", typical, full),
        ("full, long oblique", oblique, full),
    ]
    print("| case | fastest (ms) | median (ms) | median / 5 ms budget |")
    print("|---|---:|---:|---:|")
    for name, (entry, target), kw in cases:
        times = _time(args.repeat, entry, target, **kw)
        med = float(np.median(times))
        print(f"| {name} | {min(times) * 1e3:.2f} | {med * 1e3:.2f} | {med / BUDGET_S:.2f} |")


if __name__ == "__main__":
    main()
