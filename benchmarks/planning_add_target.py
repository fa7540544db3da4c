"""Benchmark: add a target in the Planning widget and refresh the table (issue 6).

Target: ≤ 50 ms per added target on the sample study (a physician clicks; the target,
its level and side, the autosave, the layers and the table must follow at once).

Peer: bare napari adding one point to a Points layer and redrawing, in the same viewer and
run. The ratio shows what blockplan's work (level assignment, validated case edit,
SQLite autosave with audit entry, trajectory metrics of every planned path, layer and
table refresh) costs over the minimum napari needs to show a click.

Run: ``.venv/bin/python benchmarks/planning_add_target.py [--repeat N]`` (starts Xvfb when
no display is set). Prints a Markdown table; add it to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _ensure_display() -> subprocess.Popen[bytes] | None:
    if os.environ.get("DISPLAY"):
        return None
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        raise SystemExit("no DISPLAY and no Xvfb: install xvfb (make test does)")
    proc = subprocess.Popen([xvfb, ":87", "-screen", "0", "1600x1000x24", "-nolisten", "tcp"])
    os.environ["DISPLAY"] = ":87"
    time.sleep(1.0)
    return proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    xvfb = _ensure_display()
    try:
        run(args.repeat)
    finally:
        if xvfb is not None:
            xvfb.terminate()


def run(repeat: int) -> None:
    import napari
    import numpy as np
    from qtpy.QtWidgets import QApplication

    from blockplan.case.store import CaseStore
    from napari_blockplan._convert import lps_to_world
    from napari_blockplan._workspace import workspace_for

    truth = json.loads((REPO / "sample_dicom" / "truth.json").read_text())
    tmp = Path(tempfile.mkdtemp(prefix="bp-bench-"))
    viewer = napari.Viewer(show=True)
    viewer.open(str(REPO / "sample_dicom"), plugin="blockplan")  # loads in a worker
    ws = workspace_for(viewer)
    while len(ws.volumes()) < 4:
        QApplication.processEvents()
        time.sleep(0.01)
    ws.use_store(CaseStore(tmp / "cases.sqlite3"))
    _dock, widget = viewer.window.add_plugin_dock_widget("blockplan", "Planning")
    centres = {**truth["vertebrae"], **truth["discs"]}
    while (name := widget._proposed_level()) in centres:
        widget.add_level_at(lps_to_world(centres[name]["center_lps"]))
    import sys

    sys.path.insert(0, str(REPO))
    from tests.planning.test_sample_study import _deepest_point

    with np.load(REPO / "sample_dicom" / truth["scar"]["mask_file"]) as npz:
        seed = _deepest_point(npz["mask"].astype(bool), npz["affine"])
    widget.grow_scar_at(lps_to_world(seed))  # the scar, so path metrics include clearance
    while widget.proposal.proposal is None:  # grown in a worker, then accepted
        QApplication.processEvents()
        time.sleep(0.01)
    widget.proposal.accept()
    for t in truth["targets"]:  # the planned targets, each with its path and metrics
        widget.block_type.setCurrentIndex(widget.block_type.findData(t["block_type"]))
        target = widget.add_target_at(lps_to_world(t["target_lps"]))
        widget.set_entry_at(lps_to_world(t["entry_lps"]), target_id=target.id)
    app = QApplication.instance()
    app.processEvents()

    base = np.asarray(truth["targets"][0]["target_lps"])
    widget.block_type.setCurrentIndex(widget.block_type.findData("snrb"))
    ours: list[float] = []
    for n in range(repeat):
        world = lps_to_world(base + np.array([0.0, 0.0, -1.0 - 0.5 * n]))
        t0 = time.perf_counter()
        widget.add_target_at(world)
        app.processEvents()
        ours.append(time.perf_counter() - t0)

    peer_layer = viewer.add_points(np.empty((0, 3)), ndim=3, name="peer", size=5)
    peer: list[float] = []
    for n in range(repeat):
        world = lps_to_world(base + np.array([0.0, 0.0, -1.0 - 0.5 * n]))
        t0 = time.perf_counter()
        peer_layer.add(world[None])
        app.processEvents()
        peer.append(time.perf_counter() - t0)

    rows = len(ws.case.targets)
    med, p95 = statistics.median(ours) * 1000, sorted(ours)[int(0.95 * len(ours))] * 1000
    pmed = statistics.median(peer) * 1000
    print(
        f"add target + refresh table ({rows} targets, {len(ws.case.trajectories)} paths "
        f"with bone/scar/landmark metrics, a {ws.case.scar_regions[0].volume_ml:.2f} mL scar, "
        "SQLite autosave)"
    )
    print(
        "| measurement | median ms | p95 ms | peer (napari Points.add) median ms | ratio "
        "| ≤ 50 ms |"
    )
    print("|---|---:|---:|---:|---:|---|")
    print(
        f"| add target, autosave, refresh layers and table | {med:.1f} | {p95:.1f} | "
        f"{pmed:.2f} | {med / pmed:.1f}× | {'yes' if med <= 50 else 'NO'} |"
    )
    viewer.close()


if __name__ == "__main__":
    main()
