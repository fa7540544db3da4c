"""Benchmark: oblique and gantry-tilted series prepared for napari (issue 16 point 6).

Target: the displayed layer ≤ 1.2× the source's bytes and ≤ 1 s per 100 slices.

blockplan: `napari_blockplan._convert.display_volume` — the isotropic world-aligned grid at
the finest spacing (a scar is painted on it), held as a `WorldAlignedView` that resamples
each plane napari asks for, in the stored type. Measured: the time to prepare the layer
data, the bytes allocated while preparing it and showing its middle axial plane
(tracemalloc peak, numpy buffers), and the time napari waits for one axial plane (each
step of the slider). Peer (the
straightforward approach): SimpleITK `Resample` of the whole grid, float32, up front.
Same inputs, same process, alternating; medians.

Inputs: the sample study's 12° oblique T1 MR (36 × 256², uint16); a synthetic 58-slice
512² int16 CT with a 20° gantry tilt (sheared); a synthetic 3° oblique 100-slice 512² CT.

Run: ``.venv/bin/python benchmarks/display_oblique.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tracemalloc
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
    return sitk.GetArrayFromImage(out)  # a numpy copy: what napari would hold


def _time(fn: Any, volume: ImageVolume, repeat: int) -> tuple[float, int]:
    """Median seconds of ``fn(volume)`` and the peak bytes numpy allocated in it."""
    took, peak = [], 0
    for _ in range(repeat):
        tracemalloc.start()
        t = time.perf_counter()
        out = fn(volume)
        took.append(time.perf_counter() - t)
        peak = max(peak, tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        del out
    return statistics.median(took), peak


def _ours(volume: ImageVolume) -> Any:
    """The layer data as napari gets it, and the plane it first shows (the middle one)."""
    data = display_volume(volume)[0].array
    return data, np.asarray(data[data.shape[0] // 2])


def _plane_ms(volume: ImageVolume) -> float:
    """Milliseconds to show one axial plane (median over 20 planes through the grid)."""
    data = display_volume(volume)[0].array
    took = []
    for m in np.linspace(0, data.shape[0] - 1, 20).astype(int):
        t = time.perf_counter()
        np.asarray(data[m])
        took.append(time.perf_counter() - t)
    return 1000 * statistics.median(took)


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
        "| series | source MiB | blockplan prepare + first plane s | blockplan MiB (× source) "
        "| blockplan ms per axial plane shown | peer s | peer MiB (× source) | time ratio |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, vol in inputs.items():
        ours_s, ours_b = _time(_ours, vol, args.repeat)
        plane = statistics.median(_plane_ms(vol) for _ in range(args.repeat))
        peer_s, peer_b = _time(_peer, vol, args.repeat)
        src = vol.array.nbytes
        print(
            f"| {name} | {src / 2**20:.1f} | {ours_s:.3f} | {ours_b / 2**20:.1f} "
            f"({ours_b / src:.2f}×) | {plane:.0f} | {peer_s:.2f} "
            f"| {peer_b / 2**20:.1f} ({peer_b / src:.2f}×) | {ours_s / peer_s:.3f}× |"
        )


if __name__ == "__main__":
    main()
