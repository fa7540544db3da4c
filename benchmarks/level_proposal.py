"""Benchmark: blockplan's level proposal against a SimpleITK threshold + components pipeline.

The CT: the sample study's series 2 (T12–S1, 246 slices of 256², 0.7 mm pixels, 1 mm
slices) made into a clinical-size 400-slice 512² int16 volume: padded with air to a
358 mm field of view and re-sliced to 400 slices (0.615 mm, nearest slice). Same
anatomy, 8× the voxels.

* ``blockplan``: `blockplan.planning.propose_levels(volume)` — the whole proposal.
* ``simpleitk`` (the peer, a straightforward pipeline that only finds bone pieces):
  ``GetImageFromArray`` → ``BinaryThreshold`` (≥ 200 HU) → ``ConnectedComponent`` →
  ``RelabelComponent`` → ``LabelShapeStatisticsImageFilter`` (centroid of every piece).

The MR row (issue 19 point 2): the sample's sagittal T2 (series 3, 17 slices of 384²,
0.7 mm) made into a clinical-size 20-slice 512² uint16 stack (nearest pixel, 0.525 mm;
slices 3.4 mm), the same anatomy. ``blockplan``: `propose_levels` on it (the MR path);
the peer: the same SimpleITK pipeline with an Otsu threshold instead of 200 HU.

Each runs ``--repeat`` times in this process, alternating; the median is reported with
the ratio blockplan / SimpleITK. Memory is measured in a fresh subprocess per tool: the
growth of the RSS high-water mark (``VmHWM``, reset through ``/proc/self/clear_refs``
just before) while the tool runs, above the process's RSS after the volume was built,
relative to the volume's bytes (reported as 1 + growth / volume bytes). Targets: proposal
≤ 2 s, memory ≤ 1.5× the volume.

Usage::

    python benchmarks/level_proposal.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TARGET_S = 2.0
TARGET_MEMORY = 1.5


def build_volume() -> Any:
    """The 400-slice 512² int16 CT built from the sample study's CT."""
    from blockplan.io import discover, load_series
    from blockplan.io.volume import ImageVolume

    (info,) = [s for s in discover(REPO / "sample_dicom").series if s.series_number == 2]
    ct = load_series(info)
    k = np.rint(np.linspace(0, ct.shape[0] - 1, 400)).astype(np.int64)
    array = np.full((400, 512, 512), -1000, dtype=np.int16)
    array[:, 128:384, 128:384] = ct.array[k]
    affine = ct.affine.copy()
    affine[:3, 3] -= affine[:3, 0] * 128 + affine[:3, 1] * 128
    affine[:3, 2] *= (ct.shape[0] - 1) / 399.0
    return ImageVolume(
        array=array,
        affine=affine,
        frame_of_reference_uid=ct.frame_of_reference_uid,
        modality="CT",
        series_instance_uid=ct.series_instance_uid,
        series_number=2,
    )


def build_mr_volume() -> Any:
    """The 20-slice 512² uint16 sagittal T2 built from the sample study's series 3."""
    from blockplan.io import discover, load_series
    from blockplan.io.volume import ImageVolume

    (info,) = [s for s in discover(REPO / "sample_dicom").series if s.series_number == 3]
    mr = load_series(info)
    k = np.rint(np.linspace(0, mr.shape[0] - 1, 20)).astype(np.int64)
    j = np.rint(np.linspace(0, mr.shape[1] - 1, 512)).astype(np.int64)
    i = np.rint(np.linspace(0, mr.shape[2] - 1, 512)).astype(np.int64)
    array = np.ascontiguousarray(mr.array[k][:, j][:, :, i])
    affine = mr.affine.copy()
    affine[:3, 0] *= (mr.shape[2] - 1) / 511.0
    affine[:3, 1] *= (mr.shape[1] - 1) / 511.0
    affine[:3, 2] *= (mr.shape[0] - 1) / 19.0
    return ImageVolume(
        array=array,
        affine=affine,
        frame_of_reference_uid=mr.frame_of_reference_uid,
        modality="MR",
        series_instance_uid=mr.series_instance_uid,
        series_number=3,
    )


def run_simpleitk_mr(volume: Any) -> int:
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(volume.array)
    tissue = sitk.OtsuThreshold(image, 0, 1)
    labels = sitk.RelabelComponent(sitk.ConnectedComponent(tissue, True), 50)
    stats = sitk.LabelShapeStatisticsImageFilter()
    stats.Execute(labels)
    return len([stats.GetCentroid(n) for n in stats.GetLabels()])


def run_blockplan(volume: Any) -> Any:
    from blockplan.planning.level_proposal import propose_levels

    return propose_levels(volume)


def run_simpleitk(volume: Any) -> int:
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(volume.array)
    bone = sitk.BinaryThreshold(image, 200, 32767, 1, 0)
    labels = sitk.RelabelComponent(sitk.ConnectedComponent(bone, True), 50)
    stats = sitk.LabelShapeStatisticsImageFilter()
    stats.Execute(labels)
    return len([stats.GetCentroid(n) for n in stats.GetLabels()])


def _status_kib(field: str) -> int:
    """``VmRSS`` / ``VmHWM`` of this process from /proc (KiB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


TOOLS = {
    "blockplan": (build_volume, run_blockplan),
    "simpleitk": (build_volume, run_simpleitk),
    "blockplan-mr": (build_mr_volume, run_blockplan),
    "simpleitk-mr": (build_mr_volume, run_simpleitk_mr),
}


def measure_memory(tool: str) -> dict[str, float]:
    """In this (fresh) process: RSS high-water growth while ``tool`` runs, per volume byte."""
    build, run = TOOLS[tool]
    volume = build()
    import SimpleITK  # noqa: F401  (imports are not the tool's memory)

    import blockplan.io.resample
    import blockplan.planning.level_proposal
    import blockplan.planning.level_proposal_mr  # noqa: F401

    Path("/proc/self/clear_refs").write_text("5")  # the high-water mark restarts from now
    before = _status_kib("VmRSS")
    run(volume)
    growth = (_status_kib("VmHWM") - before) * 1024
    return {"growth_bytes": growth, "volume_bytes": volume.array.nbytes}


def _memory(tool: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--memory", tool], capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--memory", choices=list(TOOLS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory:
        print(json.dumps(measure_memory(args.memory)))
        return
    for modality, (bp, peer) in (
        ("CT", ("blockplan", "simpleitk")),
        ("MR", ("blockplan-mr", "simpleitk-mr")),
    ):
        _report(modality, bp, peer, args.repeat)


def _report(modality: str, bp: str, peer: str, repeat: int) -> None:
    """Time ``bp`` against ``peer`` on their volume, alternating, and print the table."""
    build, _run = TOOLS[bp]
    volume = build()
    proposal = run_blockplan(volume)  # warm-up (imports), and the result to report
    TOOLS[peer][1](volume)
    times: dict[str, list[float]] = {bp: [], peer: []}
    for _ in range(repeat):
        for name in (bp, peer):
            t0 = time.perf_counter()
            TOOLS[name][1](volume)
            times[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    mem = {k: _memory(k) for k in times}
    mib = volume.array.nbytes / 2**20
    print(f"{modality} volume: {volume.shape} {volume.array.dtype}, {mib:.0f} MiB")
    print(f"levels proposed: {', '.join(lv.label for lv in proposal.levels) or 'none'}")
    print("| tool | seconds, median (min–max) | ratio | peak memory / volume |")
    print("|---|---|---:|---:|")
    for k, v in times.items():
        total = 1 + mem[k]["growth_bytes"] / mem[k]["volume_bytes"]
        print(
            f"| {k} | {med[k]:.2f} ({min(v):.2f}–{max(v):.2f}) | "
            f"{med[k] / med[peer]:.2f} | {total:.2f}× |"
        )
    total_bp = 1 + mem[bp]["growth_bytes"] / mem[bp]["volume_bytes"]
    ok_t = "met" if med[bp] <= TARGET_S else "NOT met"
    ok_m = "met" if total_bp <= TARGET_MEMORY else "NOT met"
    if modality != "CT":  # issue 19 sets its targets for the 400-slice CT
        growth = mem[bp]["growth_bytes"] / 2**20
        print(f"(targets are set for CT; here {med[bp]:.2f} s, {growth:.0f} MiB above the volume)")
        return
    print(f"target ≤ {TARGET_S} s: {ok_t}; memory ≤ {TARGET_MEMORY}× the volume: {ok_m}")


if __name__ == "__main__":
    main()
