"""Benchmark: relaunch napari and reopen a stored case with all its layers (issue 13).

Target: ≤ 3 s from a new viewer to the case reopened with every blockplan layer drawn, on
the sample study.

Measured, in one process, alternating, after one warm-up of each (imports, page cache):

* **blockplan** — `launch_viewer` (napari viewer with every blockplan dock widget, as
  ``blockplan view``), the sample study through ``viewer.open_sample`` (blockplan's reader:
  4 series with their identity), then the stored demo case reopened through the Case
  panel's offer (the "Reopen" button, a real click) until every blockplan layer (levels,
  landmarks, targets, trajectories, scar) holds the case and the canvas has been drawn.
* **peer** — a plain napari viewer and the same ``open_sample`` load, drawn, with no
  blockplan widget and no case.
* **as `blockplan view sample_dicom`** — the study loading in the background through the
  Study browser, the reopen offer appearing, Reopen clicked, until drawn (reported, not
  compared: its load is asynchronous).

The store holds the demo case among ``--cases`` synthetic cases (a clinic's worklist). The
worklist search is timed from the GUI too: text typed into the Case panel's search field,
until the rows are shown (the 150 ms typing pause excluded and reported apart).

Run: ``xvfb-run -a .venv/bin/python benchmarks/relaunch.py [--repeat N] [--cases N]``
(starts Xvfb itself when no display is set). Prints a Markdown table for RESULTS.md. Uses a
temporary store and settings folder, never the user's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_dicom"


def _ensure_display() -> subprocess.Popen[bytes] | None:
    if os.environ.get("DISPLAY"):
        return None
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        raise SystemExit("no DISPLAY and no Xvfb: install xvfb (make test does)")
    proc = subprocess.Popen([xvfb, ":88", "-screen", "0", "1600x1000x24", "-nolisten", "tcp"])
    os.environ["DISPLAY"] = ":88"
    time.sleep(1.0)
    return proc


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cases", type=int, default=10000, help="cases in the store")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bp-relaunch-"))
    os.environ["XDG_DATA_HOME"] = str(home / "data")
    os.environ["XDG_CONFIG_HOME"] = str(home / "config")
    os.environ["BLOCKPLAN_DB"] = str(home / "cases.sqlite3")
    xvfb = _ensure_display()
    try:
        run(args.repeat, args.cases)
    finally:
        if xvfb is not None:
            xvfb.terminate()
        shutil.rmtree(home, ignore_errors=True)


def _fill_store(n: int) -> str:
    """The demo case among ``n`` synthetic cases; returns the demo case id."""
    from blockplan.case import Case, PatientInfo, StudyRef
    from blockplan.case.store import CaseStore
    from blockplan.demo import build_demo_case

    families = ("SYNTHA", "SYNTHB", "SYNTHC", "MÜLLERSYNTH", "SYNTHD", "SYNTHE")
    start = dt.date(2025, 1, 1)
    with CaseStore() as store:
        batch: list[Case] = []
        for k in range(n):
            batch.append(
                Case(
                    title=f"Synthetic work-up {k}",
                    patient=PatientInfo(
                        patient_id=f"SYN{k // 4:06d}",
                        patient_name=f"{families[k % len(families)]}^GIVEN{k // 4}",
                    ),
                    study=StudyRef(
                        study_instance_uid=f"2.25.{10_000 + k}",
                        study_date=start + dt.timedelta(days=k % 700),
                    ),
                )
            )
            if len(batch) == 1000:
                store.create_many(batch, "benchmark")
                batch = []
        if batch:
            store.create_many(batch, "benchmark")
        demo = build_demo_case(SAMPLE)
        store.create(demo, "benchmark")
    return demo.case_id


def _wait(app: Any, done: Callable[[], bool], timeout_s: float = 120.0) -> None:
    end = time.perf_counter() + timeout_s
    while not done():
        if time.perf_counter() > end:
            raise SystemExit("timed out waiting for the viewer")
        app.processEvents()
        time.sleep(0.001)


def _drawn(viewer: Any) -> None:
    """Draw the canvas now (what the physician sees), like a screenshot does."""
    viewer.screenshot(canvas_only=True, flash=False)


def _case_layers_hold(viewer: Any, case: Any) -> bool:
    from napari_blockplan._layers import layer_for

    want = {
        "levels": len(case.levels),
        "landmarks": len(case.landmarks),
        "targets": len(case.targets),
        "trajectories": len(case.trajectories),
    }
    for role, n in want.items():
        layer = layer_for(viewer, role)
        if layer is None or len(layer.data) != n:
            return False
    scar = layer_for(viewer, "scar")
    return scar is not None and bool(scar.data.any())


def _blockplan(app: Any, demo_id: str) -> dict[str, float]:
    from blockplan.case.store import CaseStore
    from napari_blockplan._launch import launch_viewer

    demo, _v = CaseStore().load(demo_id)
    t0 = time.perf_counter()
    viewer = launch_viewer(None, run=False)
    panel = viewer.window.dock_widgets["Cases (blockplan)"]
    app.processEvents()
    t1 = time.perf_counter()
    viewer.open_sample("blockplan", "lumbar_postop")
    app.processEvents()
    t2 = time.perf_counter()
    _wait(app, panel.offer.isVisible)
    panel.reopen_button.click()
    _wait(app, lambda: _case_layers_hold(viewer, demo))
    _drawn(viewer)
    t3 = time.perf_counter()
    assert panel.ws.case.case_id == demo_id
    search = _search(app, panel)
    viewer.close()
    app.processEvents()
    return {"viewer": t1 - t0, "study": t2 - t1, "case": t3 - t2, "total": t3 - t0, **search}


def _search(app: Any, panel: Any) -> dict[str, float]:
    """Enter a search in the Case panel; time from the typing pause to the rows shown."""
    out: dict[str, float] = {}
    # typed a moment after the reopen, as a physician can: within ~0.3 s of it the GUI thread
    # is still drawing the reopened case and delivers the rows late (101–201 ms, not 23–31)
    settle = time.perf_counter() + float(os.environ.get("BP_SETTLE", "1.0"))
    _wait(app, lambda: time.perf_counter() > settle)
    for label, text in (("search_name", "müllersynth given12"), ("search_id", "SYN000123")):
        _wait(app, lambda: not panel.searching)
        panel.search_edit.clear()
        _wait(app, lambda: not panel.searching)
        panel.search_edit.setText(text)  # as typed (QTest cannot type "ü")
        t0 = time.perf_counter()
        panel.search()  # as the typing pause's timer does
        _wait(app, lambda: not panel.searching)
        out[label] = time.perf_counter() - t0
        if panel.table.rowCount() == 0:
            raise SystemExit(f"search {label} found nothing")
    return out


def _peer(app: Any) -> dict[str, float]:
    import napari

    t0 = time.perf_counter()
    viewer = napari.Viewer(show=True)
    app.processEvents()
    t1 = time.perf_counter()
    viewer.open_sample("blockplan", "lumbar_postop")
    app.processEvents()
    _drawn(viewer)
    t2 = time.perf_counter()
    viewer.close()
    app.processEvents()
    return {"viewer": t1 - t0, "study": t2 - t1, "total": t2 - t0}


def _as_view_command(app: Any) -> float:
    from napari_blockplan._launch import launch_viewer

    t0 = time.perf_counter()
    viewer = launch_viewer(SAMPLE, run=False)
    panel = viewer.window.dock_widgets["Cases (blockplan)"]
    _wait(app, lambda: panel.offer.isVisible() and len(panel.ws.volumes()) == 4)
    panel.reopen_button.click()
    _wait(app, lambda: _case_layers_hold(viewer, panel.ws.case))
    _drawn(viewer)
    took = time.perf_counter() - t0
    viewer.close()
    app.processEvents()
    return took


def run(repeat: int, n_cases: int) -> None:
    import napari
    from qtpy.QtWidgets import QApplication

    sys.path.insert(0, str(REPO))
    t = time.perf_counter()
    demo_id = _fill_store(n_cases)
    fill_s = time.perf_counter() - t
    napari.Viewer(show=False).close()  # creates the QApplication (napari's own)
    app = QApplication.instance()
    assert app is not None
    _peer(app)  # warm-up: imports, reader, GL, page cache
    _blockplan(app, demo_id)
    ours: list[dict[str, float]] = []
    peers: list[dict[str, float]] = []
    for _ in range(repeat):
        peers.append(_peer(app))
        ours.append(_blockplan(app, demo_id))
    view = [_as_view_command(app) for _ in range(max(1, repeat // 2))]

    def med(rows: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    ratios = [o["total"] / p["total"] for o, p in zip(ours, peers, strict=True)]
    print(
        f"store: {n_cases} synthetic cases + the demo case (filled in {fill_s:.1f} s); "
        f"{repeat} alternating runs after one warm-up each; medians"
    )
    print()
    print("| run | viewer + docks s | study load s | case reopened, drawn s | total s | ≤ 3 s |")
    print("|---|---:|---:|---:|---:|---|")
    total = med(ours, "total")
    print(
        f"| blockplan: launch_viewer + open_sample + Reopen (demo case) | "
        f"{med(ours, 'viewer'):.2f} | {med(ours, 'study'):.2f} | {med(ours, 'case'):.2f} | "
        f"{total:.2f} | {'yes' if total <= 3 else 'NO'} |"
    )
    print(
        f"| peer: napari.Viewer + open_sample | {med(peers, 'viewer'):.2f} | "
        f"{med(peers, 'study'):.2f} | – | {med(peers, 'total'):.2f} | |"
    )
    print(
        f"| as `blockplan view sample_dicom` (background load, offer, Reopen) | | | | "
        f"{statistics.median(view):.2f} | {'yes' if statistics.median(view) <= 3 else 'NO'} |"
    )
    print()
    print(f"ratio blockplan / peer (median of per-run ratios): {statistics.median(ratios):.2f}×")
    print(
        f"worklist search from the GUI over {n_cases + 1} cases, typed "
        f"{os.environ.get('BP_SETTLE', '1.0')} s after the reopen (after the 150 ms typing "
        f"pause, until the rows are shown): name words {med(ours, 'search_name') * 1000:.0f} ms, "
        f"patient ID {med(ours, 'search_id') * 1000:.0f} ms (medians)"
    )


if __name__ == "__main__":
    main()
