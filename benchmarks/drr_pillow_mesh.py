"""Benchmark: one DRR's slice resampling as a single Pillow MESH transform against the numpy
slice loop (issue 18 performance).

About 100 slices of 37 × 100 are resampled onto a 33 × 100 grid each and summed (the
shapes of a report thumbnail's DRR): Pillow does all of them in one C call over a mosaic of
the slices (`Image.transform(MESH, BILINEAR)` on a float32 image, then one sum); numpy
slice by slice, as `blockplan.fluoro.drr` does (two 1-D interpolations and the sum).
Random values: the timing is compared, not the image. Prints the median of ``--repeat``
rounds of 20 DRRs each and the ratio.

Usage::

    python benchmarks/drr_pillow_mesh.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
from PIL import Image

SLICES, ROWS, COLS = 100, 37, 100  # the slices along the beam, each ROWS × COLS
GRID_ROWS, GRID_COLS = 33, 100  # the reference grid each slice is resampled onto


def _pillow(mosaic: np.ndarray) -> Callable[[], np.ndarray]:
    image = Image.fromarray(mosaic, mode="F")
    mesh = []
    for k in range(SLICES):
        scale = 0.9 + 0.2 * k / SLICES  # each slice its own magnification, as in a cone beam
        box = (0, k * GRID_ROWS, GRID_COLS, (k + 1) * GRID_ROWS)
        x0, x1 = 1.0, 1.0 + GRID_COLS * scale * 0.95
        y0, y1 = k * ROWS + 1.0, k * ROWS + 1.0 + GRID_ROWS * scale
        mesh.append((box, (x0, y0, x0, y1, x1, y1, x1, y0)))

    def run() -> np.ndarray:
        out = image.transform(
            (GRID_COLS, SLICES * GRID_ROWS),
            Image.Transform.MESH,
            mesh,
            Image.Resampling.BILINEAR,
        )
        summed: np.ndarray = np.asarray(out).reshape(SLICES, GRID_ROWS, GRID_COLS).sum(0)
        return summed

    return run


def _numpy(mosaic: np.ndarray) -> Callable[[], np.ndarray]:
    slices = mosaic.reshape(SLICES, ROWS, COLS)
    lower = np.minimum((np.arange(GRID_COLS) * 0.95).astype(np.intp), COLS - 2)
    upper = lower + 1
    weight = (np.arange(GRID_COLS) * 0.95 % 1).astype(np.float32)
    row_lower = np.minimum(np.arange(GRID_ROWS), ROWS - 2)
    row_upper = row_lower + 1
    row_weight = np.full((GRID_ROWS, 1), 0.3, np.float32)

    def run() -> np.ndarray:
        acc = np.zeros((GRID_ROWS, GRID_COLS), np.float32)
        for part in slices:
            t = part[:, lower]
            t += (part[:, upper] - t) * weight
            lo = t[row_lower]
            lo += (t[row_upper] - lo) * row_weight
            acc += lo
        return acc

    return run


def _ms_per_drr(fn: Callable[[], np.ndarray], rounds: int = 20) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        fn()
    return (time.perf_counter() - start) / rounds * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    mosaic = np.random.default_rng(0).random((SLICES * ROWS, COLS), dtype=np.float32)
    pillow, numpy_loop = _pillow(mosaic), _numpy(mosaic)
    times: dict[str, list[float]] = {"pillow": [], "numpy": []}
    for _ in range(args.repeat):  # taking turns, so that load hits both alike
        times["pillow"].append(_ms_per_drr(pillow))
        times["numpy"].append(_ms_per_drr(numpy_loop))
    p, n = (statistics.median(times[k]) for k in ("pillow", "numpy"))
    print("| resampling of one thumbnail DRR | median ms |")
    print("|---|---:|")
    print(f"| Pillow MESH, one call | {p:.2f} |")
    print(f"| numpy slice loop (blockplan) | {n:.2f} |")
    print(f"ratio Pillow / numpy: {p / n:.2f}x")


if __name__ == "__main__":
    main()
