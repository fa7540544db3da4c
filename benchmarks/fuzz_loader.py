"""Benchmark (long run): mutation fuzzing of blockplan.io discover + load_series (issue 16).

Runs ``--mutants`` mutants of ``--seed`` (the engine of the in-suite fuzz test,
``tests/io/_fuzz.py``: truncation, byte flips, zeroed runs, inserted bytes, lying
headers, NaN/inf rescale, broken geometry, corrupted fragments, short codestreams
re-wrapped whole, over every transfer syntax the loader decodes and enhanced
multi-frame) in child processes, each mutant under a watchdog of ``--budget`` seconds.
A child that dies is restarted after the mutant that killed it. Counts:

* ``hang``: the watchdog ended the child (mutant over its budget);
* ``crash``: the child died of a signal (abort, segfault) or exited otherwise;
* ``uncaught``: an exception other than ``BlockplanError`` left discover/load_series;
* ``silent``: damage a loader can detect loaded without anything naming the file
  (values differ from the pristine ones, non-finite values, non-orthogonal axes);
* ``memory``: the child's peak RSS passed ``--memory-mib``;
* ``loaded`` / ``refused``: fine.

Goal: 0 hangs, 0 crashes, 0 uncaught, 0 silent, 0 memory. Prints a markdown table.

Usage::

    python benchmarks/fuzz_loader.py [--mutants 10000] [--seed 2026] [--budget 10]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def _child(
    seed: int, first: int, last: int, budget: float, max_gib: float
) -> tuple[list[dict[str, Any]], int, str, int | None]:
    """Run mutants first..last-1 in one child; (results, return code, stderr tail,
    index of the mutant running when the child ended abnormally)."""
    env = {**os.environ, "BLOCKPLAN_MAX_SERIES_GIB": str(max_gib)}
    run = subprocess.run(
        [sys.executable, "-m", "tests.io._fuzz", str(seed), str(first), str(last), str(budget)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    results: list[dict[str, Any]] = []
    running: int | None = None
    for line in run.stdout.splitlines():
        if not line.startswith("{"):
            continue
        item = json.loads(line)
        if "start" in item:
            running = item["start"]
        else:
            results.append(item)
            running = None
    return results, run.returncode, run.stderr[-600:], running


def fuzz(args: argparse.Namespace) -> tuple[Counter[str], list[dict[str, Any]], float]:
    """All mutants; the outcome counts, the bad cases and the wall time."""
    counts: Counter[str] = Counter()
    bad: list[dict[str, Any]] = []
    start = time.perf_counter()
    first = 0
    while first < args.mutants:
        last = min(args.mutants, first + args.chunk)
        results, code, err, running = _child(args.seed, first, last, args.budget, args.max_gib)
        for r in results:
            outcome = r["outcome"]
            if r["maxrss_mib"] > args.memory_mib:
                outcome = "memory"
            counts[outcome] += 1
            if outcome not in ("loaded", "refused"):
                bad.append(r)
        if code == 0 or running is None:
            first = last
            continue
        if "Timeout" in err:
            kind = "hang"
        elif code < 0:
            kind = f"crash ({signal.Signals(-code).name})"
        else:
            kind = f"crash (exit {code})"
        counts[kind.split(" ")[0]] += 1
        bad.append({"index": running, "outcome": kind, "detail": err[-300:]})
        first = running + 1
        print(f"mutant {running}: {kind}", file=sys.stderr)
    return counts, bad, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--budget", type=float, default=10.0, help="seconds per mutant")
    parser.add_argument("--chunk", type=int, default=1000, help="mutants per child")
    parser.add_argument("--max-gib", type=float, default=2.0, help="BLOCKPLAN_MAX_SERIES_GIB")
    parser.add_argument("--memory-mib", type=float, default=1024.0, help="peak RSS limit")
    args = parser.parse_args()
    counts, bad, wall = fuzz(args)
    total = sum(counts.values())
    print("| seed | mutants | s | loaded | refused | hang | crash | uncaught | silent | memory |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    keys = ("loaded", "refused", "hang", "crash", "uncaught", "silent", "memory")
    cells = " | ".join(str(counts[k]) for k in keys)
    print(f"| {args.seed} | {total} | {wall:.0f} | {cells} |")
    for b in bad[:20]:
        note = b.get("note", "")
        print(
            f"- mutant {b['index']} {b.get('base', '')} {b.get('kind', '')} {note}: "
            f"{b['outcome']} {str(b.get('detail', ''))[:160]}"
        )


if __name__ == "__main__":
    main()
