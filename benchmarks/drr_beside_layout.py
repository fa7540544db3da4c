"""Experiment: why the report's DRRs are not computed in a thread beside the layout.

The report's first build computes 22 C-arm thumbnails (DRRs at every second voxel) that a
plain reportlab peer is handed. On 2 cores, computing them in a worker thread while the
main thread lays the report out looks free. It is not: a DRR is about a thousand small
numpy operations (one slice of a coarse CT each), and every one releases the GIL and must
take it back from a thread that runs Python (reportlab's layout), which CPython hands
over only every ``sys.getswitchinterval()`` (5 ms) — the "convoy effect". So the two
threads mostly take turns instead of running at once.

Times, in one process: the 22 DRRs of the report phantom alone, then the same DRRs in a
worker while another thread runs a pure-Python loop (a stand-in for the layout), and the
loop's pace meanwhile against its pace alone.

Usage::

    python benchmarks/drr_beside_layout.py
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    import blockplan.report.fluoro as report_fluoro
    from blockplan.fluoro.drr import compute_drr
    from blockplan.report.options import ReportOptions
    from tests.report import _factory

    ct = _factory.ct_volume()
    case = _factory.make_case(11, 6, volume=ct)
    seen = []
    original = report_fluoro.compute_drr

    def spy(volume, geometry, options=None):  # type: ignore[no-untyped-def]
        seen.append((geometry, options))
        return original(volume, geometry, options)

    report_fluoro.compute_drr = spy
    for target in case.targets:
        report_fluoro._compute_previews(case, target, ct, ReportOptions())
    report_fluoro.compute_drr = original

    def all_drrs() -> None:
        for geometry, options in seen:
            compute_drr(ct, geometry, options)

    all_drrs()
    start = time.perf_counter()
    all_drrs()
    alone = time.perf_counter() - start

    stop = threading.Event()
    loops = [0]

    def python_work() -> None:  # the main thread's layout, in spirit: Python, no numpy
        while not stop.is_set():
            total = 0
            for i in range(1000):
                total += i
            loops[0] += 1

    worker_time = [0.0]

    def worker() -> None:
        t = time.perf_counter()
        all_drrs()
        worker_time[0] = time.perf_counter() - t

    # the Python loop alone, for its pace
    busy = threading.Thread(target=python_work)
    start = time.perf_counter()
    busy.start()
    time.sleep(0.3)
    stop.set()
    busy.join()
    pace_alone = loops[0] / (time.perf_counter() - start)
    stop.clear()
    loops[0] = 0
    thread = threading.Thread(target=worker)
    busy = threading.Thread(target=python_work)
    start = time.perf_counter()
    thread.start()
    busy.start()
    thread.join()
    stop.set()
    busy.join()
    pace_beside = loops[0] / (time.perf_counter() - start)
    print(f"{len(seen)} DRRs alone: {alone:.3f} s")
    print(
        f"{len(seen)} DRRs in a worker beside a Python loop: {worker_time[0]:.3f} s "
        f"({worker_time[0] / alone:.1f}× longer; switch interval "
        f"{sys.getswitchinterval() * 1000:.0f} ms); the loop meanwhile ran at "
        f"{pace_beside / pace_alone:.0%} of its pace alone"
    )


if __name__ == "__main__":
    main()
