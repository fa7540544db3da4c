"""Benchmark: how long napari's GUI thread stalls while blockplan opens, loads, grows scar
and builds the report, and how soon the first image is on screen (issue 14, points 2 and 6).

Targets: the GUI thread never stalls longer than 200 ms during open, load, grow or report
on the sample study; the first image of a 400-slice CT on screen ≤ 0.3 s after the series
is chosen.

A **tick monitor** measures stalls: a 10 ms ``QTimer`` on the GUI thread records when it
fires; a timer cannot fire while the thread is busy, so the longest gap between two ticks
inside a phase is the longest stall of that phase. "On screen" is the first paint of the
canvas after the layer exists. Every scenario starts with the window shown and a
2-second pause (*launch idle*: the physician looks for the study; blockplan makes its spare
layers in it, and its stalls are reported, not in the budget). Scenarios, each in a fresh
process (same imports, same page cache), one after the other in one run:

* ``blockplan-sample`` — napari with blockplan's docks (``launch_viewer``), the sample
  study opened through napari's open path with blockplan's reader, then the levels
  marked, seed mode entered (Shift-G), a scar proposal grown from the scar's deepest
  point and accepted (Accept clicked), and the report built in the Report panel. Phases:
  open (to the first image drawn), load (to all four series complete), levels, seed mode
  (the proposal's hidden layer made), grow (click to proposal drawn, Accept), report
  (Build clicked to preview shown). A phase ends when the GUI thread ticks again.
* ``napari-sample`` — the peer: a plain napari viewer opening the same sample series with
  its builtin reader (imageio). Only series 4 (uncompressed T1) is readable by it; the
  others are JPEG-LS / RLE compressed, which it refuses (reported).
* ``blockplan-ct400-browser`` — a synthetic 400-slice 512² CT (the generator of
  ``load_series.py``), found by the Study browser, then Load clicked (the series chosen):
  first image on screen, the whole series, stalls.
* ``blockplan-ct400-open`` — the same CT through napari's open path with blockplan's
  reader (the folder chosen: the series are found first).
* ``napari-ct400`` — the peer: plain napari opening the same CT with its builtin reader.

Run: ``xvfb-run -a .venv/bin/python benchmarks/gui_stalls.py [--slices 400] [--keep DIR]``.
With ``BP_WATCHDOG=1`` each scenario also prints stack samples of the GUI thread taken
while it has not ticked for > 100 ms (``STALL <phase>: cpu N % <stack> || <other
threads>``: N, the share of the last 20 ms the GUI thread ran on a CPU — far below 100 %,
it waited for the GIL or a CPU; run one scenario with ``--scenario NAME --ct DIR`` to see
them). The GUI thread's CPU time per phase is printed
beside the stalls: on a shared machine the stalls include waiting for a CPU, the CPU time
does not; so is the time spent in full garbage collections (any thread: the GIL is held).
Prints a Markdown table for RESULTS.md with the machine's load average.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import itertools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_dicom"
TICK_MS = 10
SCENARIOS = (
    "blockplan-sample",
    "napari-sample",
    "blockplan-ct400-browser",
    "blockplan-ct400-open",
    "napari-ct400",
)


# --- the monitor ------------------------------------------------------------------------
class Monitor:
    """GUI-thread ticks, canvas paints and named phases (perf_counter seconds)."""

    def __init__(self, viewer: Any) -> None:
        from qtpy.QtCore import QEvent, QObject, Qt, QTimer

        self.ticks: list[float] = []
        self.paints: list[float] = []
        self.phases: dict[str, tuple[float, float]] = {}
        self.cpu: dict[str, float] = {}
        """GUI-thread CPU seconds per phase (what other processes' load does not inflate)."""
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(lambda: self.ticks.append(time.perf_counter()))
        self.inserted: list[tuple[float, Any]] = []
        """Layers added — or shown: a spare made at launch is adopted, never inserted."""
        viewer.layers.events.inserted.connect(self._on_inserted)
        for layer in viewer.layers:
            layer.events.visible.connect(self._on_visible)
        paints = self.paints

        class _Paints(QObject):
            def eventFilter(self, obj: Any, event: Any) -> bool:
                if event.type() == QEvent.Type.Paint:
                    paints.append(time.perf_counter())
                return False

        self._filter = _Paints()
        # the canvas widget: the one private attribute (as tests/plugin/_gui.py)
        viewer.window._qt_viewer.canvas.native.installEventFilter(self._filter)
        self.timer.start()
        self.samples: list[tuple[float, str]] = []
        self.full_collections: list[tuple[float, float]] = []
        """(start, seconds) of every full garbage collection, in any thread: the GIL is
        held throughout, so the GUI thread stalls for as long."""
        started: dict[int, float] = {}

        def on_gc(stage: str, info: dict[str, int]) -> None:
            if info["generation"] != 2:
                return
            if stage == "start":
                started[threading.get_ident()] = time.perf_counter()
            elif threading.get_ident() in started:
                t0 = started.pop(threading.get_ident())
                self.full_collections.append((t0, time.perf_counter() - t0))

        gc.callbacks.append(on_gc)
        if os.environ.get("BP_WATCHDOG"):
            threading.Thread(target=self._watch, daemon=True).start()

    def _on_inserted(self, event: Any) -> None:
        self.inserted.append((time.perf_counter(), event.value))
        event.value.events.visible.connect(self._on_visible)

    def _on_visible(self, event: Any) -> None:
        if event.source.visible:
            self.inserted.append((time.perf_counter(), event.source))

    def _watch(self) -> None:
        """Stack samples of the GUI thread while it has not ticked for > 100 ms, each with
        the share of the last 20 ms the GUI thread ran on a CPU (``cpu 100 %``: busy;
        far less: waiting — for the GIL held by a worker, or for a CPU)."""
        main = threading.main_thread().ident
        clock = time.pthread_getcpuclockid(main or 0)
        last_wall, last_cpu = time.perf_counter(), time.clock_gettime(clock)
        while True:
            time.sleep(0.02)
            wall, cpu = time.perf_counter(), time.clock_gettime(clock)
            share = (cpu - last_cpu) / max(wall - last_wall, 1e-6)
            last_wall, last_cpu = wall, cpu
            if not self.ticks or wall - self.ticks[-1] < 0.1:
                continue
            frame = sys._current_frames().get(main or 0)
            stack = traceback.extract_stack(frame) if frame is not None else []
            where = " < ".join(
                f"{Path(f.filename).stem}:{f.lineno} {f.name}"
                for f in reversed(stack)
                if "site-packages" not in f.filename or "napari" in f.filename
            )
            others = " | ".join(
                _top(f)
                for ident, f in sys._current_frames().items()
                if ident not in (main, threading.get_ident())
            )
            self.samples.append(
                (time.perf_counter(), f"cpu {100 * share:3.0f} % {where[:600]} || {others}")
            )

    def full_gc_ms(self, name: str) -> float:
        """Milliseconds of full garbage collection that started inside a phase."""
        start, end = self.phases[name]
        return 1000 * sum(d for t, d in self.full_collections if start <= t <= end)

    def stall_samples(self, name: str) -> list[str]:
        """The watchdog's stack samples inside a phase (with ``BP_WATCHDOG=1``)."""
        start, end = self.phases[name]
        return [w for t, w in self.samples if start <= t <= end]

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start, cpu = time.perf_counter(), time.thread_time()
        yield
        # the phase ends when the GUI thread ticks again: a stall it started is its own,
        # not the next phase's
        done = time.perf_counter()
        _wait(lambda: self.ticks[-1] > done)
        self.phases[name] = (start, time.perf_counter())
        self.cpu[name] = time.thread_time() - cpu

    def longest_stall_ms(self, name: str) -> float:
        """The longest gap between ticks overlapping the phase."""
        start, end = self.phases[name]
        times = [t for t in self.ticks if t <= end]
        before = [t for t in times if t < start]
        inside = [t for t in times if t >= start]
        edges = before[-1:] + inside
        if len(edges) < 2:
            return (end - start) * 1000
        gaps = [b - a for a, b in itertools.pairwise(edges)]
        gaps.append(end - edges[-1])
        return max(gaps) * 1000

    def first_paint_after(self, t: float) -> float | None:
        return next((p for p in self.paints if p >= t), None)


def _top(frame: Any) -> str:
    """Where another thread is: its innermost frames of our code or napari's."""
    stack = [
        f"{Path(f.filename).stem}:{f.lineno} {f.name}"
        for f in reversed(traceback.extract_stack(frame))
    ]
    return " < ".join(stack[:4])


def _wait(cond: Callable[[], bool], timeout: float = 300.0) -> None:
    """Run the event loop until ``cond()`` (never sleeping the GUI thread itself)."""
    from qtpy.QtTest import QTest

    end = time.perf_counter() + timeout
    while not cond():
        if time.perf_counter() > end:
            raise SystemExit("timed out waiting")
        QTest.qWait(5)


def _drawn(mon: Monitor, since: float, timeout: float = 2.0) -> float:
    """Let the canvas draw what changed since ``since``; the time of that paint (or of
    ``since`` when nothing needed drawing, e.g. a hidden layer)."""
    from qtpy.QtTest import QTest

    end = time.perf_counter() + timeout
    while mon.first_paint_after(since) is None and time.perf_counter() < end:
        QTest.qWait(5)
    return mon.first_paint_after(since) or since


def _first_image(mon: Monitor, viewer: Any, t0: float) -> float:
    """Seconds from ``t0`` to the first paint after the first image layer was added."""
    _wait(lambda: _shown_loading(viewer))
    added = min(t for t, layer in mon.inserted if t >= t0)
    return _drawn(mon, added, timeout=30.0) - t0


# --- scenarios (each in its own process) -----------------------------------------------
def _images(viewer: Any) -> list[Any]:
    return [lay for lay in viewer.layers if "blockplan_volume" in lay.metadata]


def _shown_loading(viewer: Any) -> bool:
    from napari_blockplan._reader import LOADING_KEY

    return any(
        LOADING_KEY in lay.metadata or "blockplan_volume" in lay.metadata for lay in viewer.layers
    )


def blockplan_sample(mon: Monitor, viewer: Any, tmp: Path) -> dict[str, Any]:
    import json as _json

    import numpy as np
    from qtpy.QtCore import Qt
    from qtpy.QtTest import QTest

    from blockplan.case.store import CaseStore
    from napari_blockplan._convert import lps_to_world
    from napari_blockplan._workspace import workspace_for

    sys.path.insert(0, str(REPO))
    from tests.planning.test_sample_study import _deepest_point

    ws = workspace_for(viewer)
    ws.use_store(CaseStore(tmp / "cases.sqlite3"))
    docks = {title.split(" (")[0]: w for title, w in viewer.window.dock_widgets.items()}
    planning = docks["Planning"]
    report = docks["Report"]
    truth = _json.loads((SAMPLE / "truth.json").read_text())
    centres = {**truth["vertebrae"], **truth["discs"]}
    # the benchmark's own work before any phase: not a stall of blockplan's
    with np.load(SAMPLE / truth["scar"]["mask_file"]) as npz:
        seed = _deepest_point(npz["mask"].astype(bool), npz["affine"])
    QTest.qWait(100)
    out: dict[str, Any] = {}
    with mon.phase("open"):
        t0 = time.perf_counter()
        viewer.open(str(SAMPLE), plugin="blockplan")
        out["first image s"] = _first_image(mon, viewer, t0)
    with mon.phase("load"):
        _wait(lambda: len(ws.volumes()) == 4)
        out["all 4 series s"] = _drawn(mon, time.perf_counter()) - t0
    with mon.phase("levels"):
        for name in ("L4", "L4-L5", "L5", "L5-S1", "S1"):
            planning.next_level.setCurrentText(name)
            planning.add_level_at(lps_to_world(centres[name]["center_lps"]))
            QTest.qWait(20)
    with mon.phase("seed mode"):  # Shift-G: the proposal's (hidden) layer is made now
        planning.set_mode("seed")
        QTest.qWait(50)
    with mon.phase("grow"):
        t1 = time.perf_counter()
        planning.grow_scar_at(lps_to_world(seed))
        _wait(lambda: planning.proposal.proposal is not None)
        out["proposal shown s"] = _drawn(mon, time.perf_counter()) - t1
        t_accept = time.perf_counter()
        QTest.mouseClick(planning.proposal.accept_button, Qt.MouseButton.LeftButton)
        out["accept s"] = _drawn(mon, t_accept) - t_accept
    with mon.phase("report"):
        t2 = time.perf_counter()
        QTest.mouseClick(report.build_button, Qt.MouseButton.LeftButton)
        _wait(lambda: report.pdf is not None)
        QTest.qWait(100)  # the preview shown
        out["report s"] = time.perf_counter() - t2
    return out


def napari_sample(mon: Monitor, viewer: Any, tmp: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"readable": [], "refused": []}
    with mon.phase("open"):
        t0 = time.perf_counter()
        for folder in sorted(p for p in SAMPLE.iterdir() if p.is_dir()):
            try:
                viewer.open(str(folder), plugin="napari")
                out["readable"].append(folder.name)
            except Exception as err:
                out["refused"].append(f"{folder.name} ({type(err).__name__})")
        added = [t for t, _layer in mon.inserted if t >= t0]
        out["first image s"] = _drawn(mon, min(added)) - t0 if added else float("nan")
    mon.phases["load"], mon.cpu["load"] = mon.phases["open"], mon.cpu["open"]
    return out


def blockplan_ct400_browser(mon: Monitor, viewer: Any, tmp: Path, ct: Path) -> dict[str, Any]:
    from qtpy.QtCore import Qt
    from qtpy.QtTest import QTest

    docks = {title.split(" (")[0]: w for title, w in viewer.window.dock_widgets.items()}
    browser = docks["Study browser"]
    out: dict[str, Any] = {}
    with mon.phase("scan"):
        t0 = time.perf_counter()
        browser.scan(ct)
        _wait(lambda: not browser.busy)
        out["series found s"] = time.perf_counter() - t0
    with mon.phase("open"):
        t1 = time.perf_counter()
        QTest.mouseClick(browser.load_button, Qt.MouseButton.LeftButton)  # the series chosen
        out["first image s"] = _first_image(mon, viewer, t1)
    with mon.phase("load"):
        _wait(lambda: len(_images(viewer)) == 1 and not browser.busy)
        out["whole series s"] = _drawn(mon, time.perf_counter()) - t1
    return out


def blockplan_ct400_open(mon: Monitor, viewer: Any, tmp: Path, ct: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with mon.phase("open"):
        t0 = time.perf_counter()
        viewer.open(str(ct), plugin="blockplan")
        out["first image s"] = _first_image(mon, viewer, t0)
    with mon.phase("load"):
        _wait(lambda: len(_images(viewer)) == 1)
        out["whole series s"] = _drawn(mon, time.perf_counter()) - t0
    return out


def napari_ct400(mon: Monitor, viewer: Any, tmp: Path, ct: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with mon.phase("open"):
        t0 = time.perf_counter()
        viewer.open(str(ct), plugin="napari")
        added = min(t for t, _layer in mon.inserted if t >= t0)
        out["first image s"] = _drawn(mon, added) - t0
        out["whole series s"] = out["first image s"]
    mon.phases["load"], mon.cpu["load"] = mon.phases["open"], mon.cpu["open"]
    return out


LAUNCH_IDLE_MS = 2000
"""From the window shown to the study chosen: the physician looks at the window (a
shorter pause than anyone takes to pick a study). blockplan makes its spare layers in it
(`_launch._spares_while_idle`); its stalls are reported as the *launch idle* phase."""


def run_scenario(name: str, ct: Path) -> dict[str, Any]:
    import napari
    from qtpy.QtTest import QTest

    tmp = Path(tempfile.mkdtemp(prefix="bp-stalls-"))
    os.environ["XDG_DATA_HOME"] = str(tmp / "data")  # never the user's store or settings
    os.environ["XDG_CONFIG_HOME"] = str(tmp / "config")
    os.environ["BLOCKPLAN_DB"] = str(tmp / "cases.sqlite3")
    if name.startswith("blockplan"):
        from napari_blockplan._launch import launch_viewer

        viewer = launch_viewer(None, run=False)
    else:
        viewer = napari.Viewer(title="napari")
    mon = Monitor(viewer)
    with mon.phase("launch idle"):  # the window shown; the physician looks for the study
        QTest.qWait(LAUNCH_IDLE_MS)
    load_before = os.getloadavg()[0]
    if name == "blockplan-sample":
        out = blockplan_sample(mon, viewer, tmp)
    elif name == "napari-sample":
        out = napari_sample(mon, viewer, tmp)
    elif name == "blockplan-ct400-browser":
        out = blockplan_ct400_browser(mon, viewer, tmp, ct)
    elif name == "blockplan-ct400-open":
        out = blockplan_ct400_open(mon, viewer, tmp, ct)
    else:
        out = napari_ct400(mon, viewer, tmp, ct)
    out["stalls ms"] = {p: round(mon.longest_stall_ms(p)) for p in mon.phases}
    out["gui cpu ms"] = {p: round(1000 * mon.cpu[p]) for p in mon.phases}
    out["full gc ms"] = {p: round(mon.full_gc_ms(p)) for p in mon.phases}
    out["load average"] = [load_before, os.getloadavg()[0]]
    if os.environ.get("BP_WATCHDOG"):
        for p in mon.phases:
            for where in mon.stall_samples(p):
                print(f"STALL {p}: {where}", file=sys.stderr)
    viewer.close()
    shutil.rmtree(tmp, ignore_errors=True)
    return out


# --- driver ---------------------------------------------------------------------------
def _ensure_display() -> subprocess.Popen[bytes] | None:
    if os.environ.get("DISPLAY"):
        return None
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        raise SystemExit("no DISPLAY and no Xvfb: run under xvfb-run")
    proc = subprocess.Popen([xvfb, ":89", "-screen", "0", "1600x1000x24", "-nolisten", "tcp"])
    os.environ["DISPLAY"] = ":89"
    time.sleep(1.0)
    return proc


def _make_ct(root: Path, slices: int) -> Path:
    sys.path.insert(0, str(REPO / "benchmarks"))
    from load_series import _write_one  # the 400-slice synthetic CT of load_series.py
    from pydicom.uid import generate_uid

    folder = root / "ct"
    folder.mkdir(parents=True, exist_ok=True)
    ids = (generate_uid(), generate_uid(), generate_uid())
    from concurrent.futures import ProcessPoolExecutor

    jobs = [(str(folder), k, 512, *ids, "uncompressed") for k in range(slices)]
    with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
        list(pool.map(_write_one, jobs, chunksize=16))
    return folder


def _table(runs: dict[str, list[dict[str, Any]]]) -> str:
    """Median (and range) over the runs of each scenario."""
    rows = [
        "| scenario | phase | longest GUI stall ms, median (min–max) | ≤ 200 ms "
        "| GUI-thread CPU ms, median | full GC ms, median |",
        "|---|---|---:|---|---:|---:|",
    ]
    for name, results in runs.items():
        for phase in results[0]["stalls ms"]:
            ms = [r["stalls ms"][phase] for r in results]
            med = statistics.median(ms)
            cpu = statistics.median(r["gui cpu ms"][phase] for r in results)
            full = statistics.median(r.get("full gc ms", {}).get(phase, 0) for r in results)
            rows.append(
                f"| {name} | {phase} | {med:.0f} ({min(ms)}–{max(ms)}) | "
                f"{'yes' if med <= 200 else 'no'} | {cpu:.0f} | {full:.0f} |"
            )
    rows += ["", "| scenario | timings s, median (min–max) |", "|---|---|"]
    for name, results in runs.items():
        keys = [k for k in results[0] if k.endswith(" s")]
        times = ", ".join(
            f"{k[:-2]} {statistics.median(r[k] for r in results):.2f} "
            f"({min(r[k] for r in results):.2f}–{max(r[k] for r in results):.2f})"
            for k in keys
        )
        extra = ""
        if "refused" in results[0]:
            extra = f"; reads {results[0]['readable']}, refuses {results[0]['refused']}"
        loads = [x for r in results for x in r["load average"]]
        rows.append(f"| {name} | {times}{extra}; load avg {min(loads):.1f}–{max(loads):.1f} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--slices", type=int, default=400)
    parser.add_argument("--repeat", type=int, default=3, help="runs of every scenario")
    parser.add_argument("--keep", type=Path, help="folder to keep the generated CT in")
    parser.add_argument("--scenario", choices=SCENARIOS, help=argparse.SUPPRESS)
    parser.add_argument("--ct", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--only", nargs="*", choices=SCENARIOS, help="run these scenarios")
    args = parser.parse_args()
    if args.scenario:
        print(json.dumps(run_scenario(args.scenario, args.ct)))
        return
    xvfb = _ensure_display()
    root = args.keep or Path(tempfile.mkdtemp(prefix="bp-ct400-"))
    ct = root / "ct"
    if not ct.is_dir() or len(list(ct.iterdir())) != args.slices:
        shutil.rmtree(ct, ignore_errors=True)
        ct = _make_ct(root, args.slices)
    runs: dict[str, list[dict[str, Any]]] = {}
    try:
        for _ in range(args.repeat):  # alternating: every scenario once per round
            for name in args.only or SCENARIOS:
                runs.setdefault(name, []).append(_run(name, ct))
    finally:
        if xvfb is not None:
            xvfb.terminate()
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    print(
        f"{dt.date.today()}; `python benchmarks/gui_stalls.py --slices {args.slices} "
        f"--repeat {args.repeat}`; {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}\n"
    )
    print(_table(runs))


def _run(name: str, ct: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--scenario", name, "--ct", str(ct)],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not lines:  # (a crash in napari's teardown after the result is printed is harmless)
        print(proc.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"{name} failed")
    result: dict[str, Any] = json.loads(lines[-1])
    print(name, result, file=sys.stderr)
    return result


if __name__ == "__main__":
    main()
