"""Benchmark: the blockplan command line as whole processes, against dcm2niix.

Each command runs as a fresh process (start-up, imports and work, as a user or a script
meets them), side by side with the peer in the same run, alternating, ``--repeat`` times;
the table shows medians of wall time and the ratio blockplan / dcm2niix, and the same for
CPU time (user + system of the child process: on a shared machine the wall time also counts
the time a process waits for a core, the CPU time only its own work):

* ``blockplan --help`` (target ≤ 0.3 s) against ``dcm2niix -h``;
* ``blockplan series DIR`` (every series listed from the headers; target ≤ 1.0×) against
  ``dcm2niix -z n`` converting the same folder to NIfTI;
* a whole-process load (``python -c`` running ``discover`` + ``load_series``; target
  ≤ 1.5×) against the same dcm2niix conversion.

and, in a table of their own, ``blockplan GROUP --help`` for every command group that
used to import its stage (``case``, ``case list``, ``archive``, ``export``, ``fluoro``,
``levels``; target ≤ 0.3 s each) against ``dcm2niix -h``. ``--help-only`` runs that
table alone (no data generated).

DIR is a synthetic 400-slice 512² int16 CT series, uncompressed (the generator of
``load_series.py``).

Usage::

    python benchmarks/cli_startup.py [--slices 400] [--size 512] [--repeat 5] [--keep DIR]
                                     [--help-only]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
LOAD = (
    "import sys\n"
    "from blockplan.io import discover, load_series\n"
    "found = discover(sys.argv[1])\n"
    "volume = load_series(found.series[0])\n"
    "assert volume.array.shape[0] == int(sys.argv[2])\n"
)


def _generator() -> object:
    spec = importlib.util.spec_from_file_location("bench_load_series", HERE / "load_series.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_load_series"] = module  # picklable for the process pool
    spec.loader.exec_module(module)
    return module


def generate(folder: Path, slices: int, size: int) -> None:
    """The uncompressed synthetic CT series of ``load_series.py``."""
    from pydicom.uid import generate_uid

    gen = _generator()
    folder.mkdir(parents=True, exist_ok=True)
    ids = (generate_uid(), generate_uid(), generate_uid())
    jobs = [(str(folder), k, size, *ids, "uncompressed") for k in range(slices)]
    with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
        list(pool.map(gen._write_one, jobs, chunksize=16))  # type: ignore[attr-defined]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time(cmd: list[str], out_dir: Path | None = None) -> tuple[float, float]:
    """(wall s, CPU s) of one run of ``cmd``."""
    if out_dir is not None:
        shutil.rmtree(out_dir, ignore_errors=True)
        out_dir.mkdir()
    cpu, start = _cpu(), time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, _cpu() - cpu


Row = tuple[str, str, float, float, float, float]


def run(folder: Path, slices: int, repeat: int, scratch: Path) -> list[Row]:
    nifti = scratch / "nifti"
    peer_convert = ["dcm2niix", "-z", "n", "-o", str(nifti), str(folder)]
    pairs = {
        "`blockplan --help`": ([str(BIN / "blockplan"), "--help"], ["dcm2niix", "-h"], None),
        f"`blockplan series` ({slices} slices)": (
            [str(BIN / "blockplan"), "series", str(folder)],
            peer_convert,
            nifti,
        ),
        f"whole-process load ({slices} slices)": (
            [sys.executable, "-c", LOAD, str(folder), str(slices)],
            peer_convert,
            nifti,
        ),
    }
    times: dict[str, tuple[list[tuple[float, float]], list[tuple[float, float]]]] = {
        k: ([], []) for k in pairs
    }
    for _ in range(repeat):
        for name, (ours, peer, out) in pairs.items():
            times[name][0].append(_time(ours))
            times[name][1].append(_time(peer, out))
    rows = []
    for name, (ours_t, peer_t) in times.items():
        walls = [statistics.median(t[0] for t in runs) for runs in (ours_t, peer_t)]
        cpus = [statistics.median(t[1] for t in runs) for runs in (ours_t, peer_t)]
        rows.append((name, pairs[name][1][0], walls[0], walls[1], cpus[0], cpus[1]))
    return rows


HELP_GROUPS = (
    ("case",),
    ("case", "list"),
    ("archive",),
    ("export",),
    ("fluoro",),
    ("levels",),
)
HELP_TARGET_S = 0.3


def help_rows(repeat: int) -> list[Row]:
    """``blockplan GROUP --help`` of each group, alternating with ``dcm2niix -h``."""
    peer = ["dcm2niix", "-h"]
    ours: dict[str, list[float]] = {" ".join(g): [] for g in HELP_GROUPS}
    theirs: list[float] = []
    for _ in range(repeat):
        for group in HELP_GROUPS:
            ours[" ".join(group)].append(_time([str(BIN / "blockplan"), *group, "--help"]))
            theirs.append(_time(peer))
    peer_s = statistics.median(theirs)
    return [
        (f"`blockplan {name} --help`", "dcm2niix", statistics.median(t), peer_s)
        for name, t in ours.items()
    ]


def print_help_rows(repeat: int) -> None:
    print("| command | peer | blockplan s | peer s | ratio | ≤ 0.3 s |")
    print("|---|---|---:|---:|---:|---|")
    for name, peer, ours, theirs in help_rows(repeat):
        ok = "yes" if ours <= HELP_TARGET_S else "NO"
        print(f"| {name} | {peer} -h | {ours:.3f} | {theirs:.3f} | {ours / theirs:.1f}× | {ok} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slices", type=int, default=400)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", type=Path, default=None, help="generate into / reuse this folder")
    parser.add_argument("--help-only", action="store_true", help="only the GROUP --help table")
    args = parser.parse_args()
    if shutil.which("dcm2niix") is None:
        sys.exit("dcm2niix is not installed (apt-get install dcm2niix)")
    print_help_rows(args.repeat)
    if args.help_only:
        return
    print()
    scratch = Path(tempfile.mkdtemp(prefix="blockplan-cli-bench-"))
    try:
        folder = args.keep or scratch / "ct"
        if not (folder.is_dir() and any(folder.iterdir())):
            generate(folder, args.slices, args.size)
        print(
            "| command | peer | blockplan s | peer s | ratio "
            "| blockplan CPU s | peer CPU s | CPU ratio |"
        )
        print("|---|---|---:|---:|---:|---:|---:|---:|")
        for name, peer, ours, theirs, ours_cpu, peer_cpu in run(
            folder, args.slices, args.repeat, scratch
        ):
            print(
                f"| {name} | {peer} | {ours:.2f} | {theirs:.2f} | {ours / theirs:.2f}× "
                f"| {ours_cpu:.2f} | {peer_cpu:.2f} | {ours_cpu / max(peer_cpu, 1e-3):.2f}× |"
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
