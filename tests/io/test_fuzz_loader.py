"""Mutation fuzzing of discover + load_series (issue 16), in a bounded child process.

200 mutants of seed 16 (deterministic: same files, same damage every run) run in one
child process (`tests.io._fuzz`), which prints one line per mutant. A mutant that
crashes the child (abort, panic) or runs past its 20 s budget (the child's watchdog
ends it) fails the test naming the mutant. The long run is ``benchmarks/fuzz_loader.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from tests.io._fuzz import BASES, COMPRESSED

REPO = Path(__file__).resolve().parents[2]
SEED, MUTANTS, BUDGET_S = 16, 200, 20


def test_two_hundred_mutants_never_crash_hang_escape_or_load_silently() -> None:
    env = {**os.environ, "BLOCKPLAN_MAX_SERIES_GIB": "0.25"}
    run = subprocess.run(
        [sys.executable, "-m", "tests.io._fuzz", str(SEED), "0", str(MUTANTS), str(BUDGET_S)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    started = [x["start"] for x in lines if "start" in x]
    results = [x for x in lines if "outcome" in x]
    assert run.returncode == 0, (
        f"child ended with {run.returncode} during mutant {started[-1] if started else None} "
        f"(crash, or over its {BUDGET_S} s budget): {run.stderr[-2000:]}"
    )
    assert len(results) == MUTANTS
    outcomes = Counter(x["outcome"] for x in results)
    bad = [x for x in results if x["outcome"] not in ("loaded", "refused")]
    assert not bad, bad[:5]  # no exception but BlockplanError; nothing wrong loaded unnamed
    assert outcomes["loaded"] > 20 and outcomes["refused"] > 20  # the run did both
    # memory bounded: bombs claiming gigabytes were refused before allocating
    assert max(x["maxrss_mib"] for x in results) < 1024
    # truncated compressed slices were among them (and none loaded unnamed: see `bad`)
    compressed = {n for n, t in BASES.items() if t in COMPRESSED}
    cut = [x for x in results if x["base"] in compressed and x["kind"] in ("truncate", "rewrap")]
    assert len(cut) >= 15
