"""Benchmark: oblique and gantry-tilted series prepared for napari (issue 16 point 6).

Target: the displayed array ≤ 1.2× the source's bytes and ≤ 1 s per 100 slices.

blockplan: `napari_blockplan._convert.display_volume` — the isotropic world-aligned grid at
the finest spacing (a scar is painted on it), in the stored type. Peer (the straightforward
approach): SimpleITK `Resample` onto the same grid, float32. Same inputs, same process,
alternating; medians.

Inputs: the sample study's 12° oblique T1 MR (36 × 256², uint16); a synthetic 58-slice
512² int16 CT with a 20° gantry tilt (sheared); a synthetic 3° oblique 100-slice 512² CT.

Run: ``.venv/bin/python benchmarks/display_oblique.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "plugins"))

from blockplan.io import ImageVolume, discover, load_series  # noqa: E402
from napari_blockplan._convert import display_volume  # noqa: E402


def _synthetic(n: int, rows: int, tilt_deg: float, sheared: bool) -> ImageVolume:
    rng = np.random.default_rng(0)
    arr = rng.integers(-1000, 1500, size=(n, rows, rows), dtype=np.int16)
    t = np.radians(tilt_deg)
    aff = np.eye(4)
    aff[:3, 0] = (0.7, 0.0, 0.0)
    if sheared:  # gantry tilt: rows tilted, slices stepped along z
        aff[:3, 1] = (0.0, 0.7 * np.cos(t), 0.7 * np.sin(t))
        aff[:3, 2] = (0.0, 0.0, 3.0)
    else:  # a plain oblique: the whole grid rotated about x
        aff[:3, 1] = (0.0, 0.7 * np.cos(t), 0.7 * np.sin(t))
        aff[:3, 2] = (0.0, -1.0 * np.sin(t), 1.0 * np.cos(t))
    return ImageVolume(arr, aff, "1.2.3", "CT", "1.2.3.4")


def _peer(volume: ImageVolume) -> np.ndarray:
    """SimpleITK: isotropic finest-spacing bounding-box grid, linear, float32."""
    img = sitk.GetImageFromArray(volume.array.astype(np.float32))
    spacing = np.linalg.norm(volume.affine[:3, :3], axis=0)
    img.SetSpacing([float(s) for s in spacing])
    img.SetDirection([float(v) for v in (volume.affine[:3, :3] / spacing).ravel()])
    img.SetOrigin([float(v) for v in volume.affine[:3, 3]])
    k, j, i = volume.array.shape
    corners = np.array([[a, b, c, 1] for a in (0, i - 1) for b in (0, j - 1) for c in (0, k - 1)])
    lps = (corners @ volume.affine.T)[:, :3]
    lo, hi = lps.min(axis=0), lps.max(axis=0)
    step = float(spacing.min())
    size = [int(np.ceil((h - low) / step)) + 1 for low, h in zip(lo, hi, strict=True)]
    out = sitk.Resample(
        img,
        size,
        sitk.Transform(),
        sitk.sitkLinear,
        lo.tolist(),
        [step] * 3,
        np.eye(3).ravel().tolist(),
        -1024.0,
        sitk.sitkFloat32,
    )
    return sitk.GetArrayViewFromImage(out)


def _time(fn: Any, volume: ImageVolume, repeat: int) -> tuple[float, int]:
    took, nbytes = [], 0
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn(volume)
        took.append(time.perf_counter() - t)
        nbytes = int(np.asarray(out).nbytes)
    return statistics.median(took), nbytes


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    mr = load_series(
        next(s for s in discover(REPO / "sample_dicom").series if s.series_number == 4)
    )
    inputs = {
        "sample T1 MR, 12° oblique, 36 × 256²": mr,
        "CT 58 × 512², 20° gantry tilt": _synthetic(58, 512, 20.0, sheared=True),
        "CT 100 × 512², 3° oblique": _synthetic(100, 512, 3.0, sheared=False),
    }
    print(
        "| series | source MiB | blockplan s | blockplan MiB (× source) | peer s | peer MiB |",
        end="",
    )
    print(" time ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, vol in inputs.items():
        ours_s, ours_b = _time(lambda v: display_volume(v)[0].array, vol, args.repeat)
        peer_s, peer_b = _time(_peer, vol, args.repeat)
        src = vol.array.nbytes
        print(
            f"| {name} | {src / 2**20:.1f} | {ours_s:.2f} | {ours_b / 2**20:.1f} "
            f"({ours_b / src:.2f}×) | {peer_s:.2f} | {peer_b / 2**20:.1f} "
            f"| {ours_s / peer_s:.2f}× |"
        )


if __name__ == "__main__":
    main()
