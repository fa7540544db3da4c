"""Benchmark: one 512 × 512 C-arm preview (DRR) from the sample CT, against a reference.

Budget (issue 20): one 512² DRR ≤ 1 s on this 2-core machine, peak memory ≤ 1.5× the CT
volume. The sample study's CT (series 2, 256 × 256 × 246 int16, 0.7 × 0.7 × 1.0 mm) and
three views of the demo case's first target (bull's-eye 40° oblique, AP with the endplates
squared, true lateral), each computed by:

* **blockplan** — `blockplan.fluoro.drr.compute_drr` (Joseph's method with a shear–warp
  factorisation over the CT slices, numpy, slices read in place);
* **reference** — the straightforward way with SimpleITK: resample the CT (trilinear,
  ITK's multithreaded resampler) onto one 512² plane of the ray grid per 0.7 mm of depth
  (each plane perpendicular to the central ray, scaled by its magnification) and sum the
  attenuation along the rays.

Then the time the napari dock needs when a target moves (its two previews at 384², the
plan drawn; the panel's budget is one second).

Prints, per view, the median of ``--repeat`` runs (after one warm-up), the peak memory
above the baseline while one DRR runs (the process's resident high-water mark, reset
before each run through ``/proc/self/clear_refs``; Linux), as a multiple of the CT's
bytes, and how far the two images differ. GPU libraries (DiffDRR, DeepDRR) are the
speed anchors for this task (milliseconds per DRR on a GPU); clinics' planning PCs and
the machines blockplan runs on have no GPU, which is why the CPU path is what counts.

Usage::

    python benchmarks/drr.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from blockplan.demo import build_demo_case
from blockplan.fluoro.drr import DEFAULT_MU_WATER_PER_MM, compute_drr
from blockplan.fluoro.geometry import CArmGeometry
from blockplan.fluoro.views import ViewKind, target_views
from blockplan.io import ImageVolume, discover, load_series

SAMPLE = Path(__file__).resolve().parents[1] / "sample_dicom"
BUDGET_S = 1.0
BUDGET_MEMORY = 1.5


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _peak_bytes(fn: Callable[[], Any]) -> int:
    """Resident memory high-water mark above the resident size before ``fn`` ran (freed
    heap memory is first returned to the system, so that reusing it is counted)."""
    import ctypes
    import gc

    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    before = _status_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    fn()
    return (_status_kb("VmHWM") - before) * 1024


def reference_drr(ct: ImageVolume, g: CArmGeometry, step_mm: float = 0.7) -> npt.NDArray[Any]:
    """Resample the CT onto each depth plane of the ray grid with SimpleITK and sum."""
    import SimpleITK as sitk

    img = sitk.GetImageFromArray(ct.array)
    img.SetSpacing(ct.spacing)
    img.SetOrigin(tuple(float(v) for v in ct.affine[:3, 3]))
    img.SetDirection(tuple(float(v) for v in ct.direction.ravel()))
    det = g.detector
    corners = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)], float)
    corners *= np.array([ct.shape[2], ct.shape[1], ct.shape[0]]) - 1
    depth = (ct.index_to_lps(corners) - g.source_lps) @ g.beam
    rf = sitk.ResampleImageFilter()
    rf.SetInterpolator(sitk.sitkLinear)
    rf.SetDefaultPixelValue(-1000.0)
    rf.SetOutputPixelType(sitk.sitkFloat32)
    rf.SetSize((det.columns, det.rows, 1))
    rf.SetOutputDirection(tuple(np.column_stack([g.right, g.down, g.beam]).ravel()))
    acc = np.zeros((det.rows, det.columns), np.float32)
    c0, r0 = g.principal_point
    for s in np.arange(depth.min() + step_mm / 2, depth.max(), step_mm):
        pitch = det.pixel_mm * s / det.source_detector_mm
        origin = g.source_lps + s * g.beam - c0 * pitch * g.right - r0 * pitch * g.down
        rf.SetOutputSpacing((pitch, pitch, 1.0))
        rf.SetOutputOrigin(tuple(float(v) for v in origin))
        out = rf.Execute(img)  # keep the image alive while its array view is read
        plane = sitk.GetArrayViewFromImage(out)[0]
        acc += np.maximum(plane, -1000.0) + 1000.0
    rays = g.ray_directions(np.arange(det.columns)[None, :], np.arange(det.rows)[:, None])
    per_plane_mm = step_mm / (rays @ g.beam)  # ray length between two depth planes
    result: npt.NDArray[Any] = acc * per_plane_mm * (DEFAULT_MU_WATER_PER_MM / 1000.0)
    return result


def _median_s(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    ct = load_series(next(s for s in discover(SAMPLE).series if s.modality == "CT"))
    case = build_demo_case(SAMPLE)
    kinds = [ViewKind.BULLSEYE, ViewKind.AP, ViewKind.LATERAL]
    views = target_views(case, case.targets[0].id, kinds=kinds)
    print(f"CT {ct.shape} {ct.array.dtype}, {ct.array.nbytes / 2**20:.1f} MiB; 512 × 512 DRR")
    print(
        "| view | blockplan s | reference s | blockplan / reference | blockplan peak × CT "
        "| reference peak × CT | mean abs diff / mean | ≤ 1 s and ≤ 1.5× |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for view in views:
        print(_row(ct, view, args.repeat))
    print()
    print(_dock_update(ct, case, args.repeat))


def _dock_update(ct: ImageVolume, case: Any, repeat: int) -> str:
    """What the napari dock computes when a target moves: its bull's-eye and progression
    previews at 384² with the plan drawn (`fluoro_preview`), first quick (every second
    voxel), then at full quality."""
    from blockplan.fluoro.drr import DrrOptions
    from blockplan.fluoro.geometry import DetectorSpec
    from blockplan.fluoro.preview import fluoro_preview

    detector = DetectorSpec(columns=384, rows=384, pixel_mm=0.8)
    tid = case.targets[0].id

    def both(step: int) -> None:
        for kind in (ViewKind.BULLSEYE, ViewKind.PROGRESSION):
            fluoro_preview(
                case, ct, tid, kind, detector=detector, options=DrrOptions(voxel_step=step)
            )

    quick = _median_s(lambda: both(2), repeat)
    full = _median_s(lambda: both(1), repeat)
    return (
        "Dock update (bull's-eye + progression at 384², plan drawn): quick preview "
        f"{quick:.3f} s, full quality {full:.3f} s (medians; budget 1 s to the first)."
    )


def _row(ct: ImageVolume, view: Any, repeat: int) -> str:
    g = view.geometry
    ours = _median_s(lambda: compute_drr(ct, g), repeat)
    peer = _median_s(lambda: reference_drr(ct, g), max(1, repeat // 2))
    mem_ours = _peak_bytes(lambda: compute_drr(ct, g)) / ct.array.nbytes
    mem_peer = _peak_bytes(lambda: reference_drr(ct, g)) / ct.array.nbytes
    a, b = compute_drr(ct, g), reference_drr(ct, g)
    diff = float(np.mean(np.abs(a - b)) / np.mean(b))
    ok = "yes" if ours <= BUDGET_S and mem_ours <= BUDGET_MEMORY else "no"
    return (
        f"| {view.kind.value} ({view.c_arm}) | {ours:.3f} | {peer:.3f} | "
        f"{ours / peer:.2f} | {mem_ours:.2f} | {mem_peer:.2f} | {diff:.3%} | {ok} |"
    )


if __name__ == "__main__":
    main()
