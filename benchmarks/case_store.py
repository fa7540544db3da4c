"""Benchmark: the case store's list and summary queries against their 50 ms budget.

Fills an SQLite case store (in a temporary folder) with ``--cases`` synthetic cases of
``--procedures`` procedures each (every procedure with an 11-point pain diary; four cases
per patient), then times, in one process:

* ``list a patient's cases``: ``CaseStore.list_cases(patient_id=...)`` for random patients;
* ``one case's summary``: ``CaseStore.summary(case_id)`` for random cases;
* (informational) saving one edit of a case, as the plugin's autosave does.

Peer: the same rows read with the standard library's ``sqlite3`` module and a hand-written
``SELECT`` on the same file (patient key precomputed) — the floor any ORM-free code would
hit. A second reference shows what the summary columns save: loading and validating the
whole case (``CaseStore.load``) to count its items.

Prints a markdown table (median and 95th percentile of ``--repeat`` calls, ratio of the
medians to the raw ``sqlite3`` peer, and whether the 50 ms budget holds); with
``--results FILE`` appends it, dated, under "## case store (issue 5)".

Usage::

    python benchmarks/case_store.py [--cases 10000] [--procedures 5] [--repeat 300]
        [--results benchmarks/RESULTS.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from blockplan.case.model import (
    Case,
    DiaryEntry,
    Injection,
    PainDiary,
    PatientInfo,
    PatientPoint,
    Procedure,
    Target,
)
from blockplan.case.store import CaseStore
from blockplan.case.vocab import Agent, BlockType, Laterality, Structure

BUDGET_S = 0.050
CASES_PER_PATIENT = 4
FRAME = "1.2.826.0.1.3680043.8.498.77"
MINUTES = (0, 15, 30, 60, 120, 180, 240, 300, 360, 480, 1440)


def _template(n_procedures: int) -> Case:
    target = Target(
        id="t1",
        level="L5",
        side=Laterality.RIGHT,
        structure=Structure.NERVE_ROOT,
        block_type=BlockType.SELECTIVE_NERVE_ROOT,
        position=PatientPoint(lps=(12.5, 40.0, 110.0), frame_of_reference_uid=FRAME),
    )
    start = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    procedures = tuple(
        Procedure(
            id=f"p{k}",
            performed_at=start + dt.timedelta(days=10 * k),
            block_type=BlockType.SELECTIVE_NERVE_ROOT,
            injections=(
                Injection(
                    target_id="t1",
                    level="L5",
                    side=Laterality.RIGHT,
                    agent=Agent.LIDOCAINE,
                    volume_ml=0.5,
                ),
            ),
            diary=PainDiary(
                baseline_nrs=7,
                entries=tuple(DiaryEntry(minutes=m, nrs=2 + m // 300) for m in MINUTES),
            ),
        )
        for k in range(n_procedures)
    )
    return Case(title="synthetic", targets=(target,), procedures=procedures)


def _patient(i: int) -> str:
    return f"SYN{i // CASES_PER_PATIENT:06d}"


def _fill(store: CaseStore, n_cases: int, n_procedures: int) -> tuple[list[str], float]:
    template = _template(n_procedures)
    ids = [uuid.UUID(int=random.getrandbits(128)).hex for _ in range(n_cases)]
    # model_copy skips validation: only valid values (a fresh id, a title, a patient) change
    cases = [
        template.model_copy(
            update={
                "case_id": ids[i],
                "title": f"synthetic case {i}",
                "patient": PatientInfo(patient_id=_patient(i)),
            }
        )
        for i in range(n_cases)
    ]
    t0 = time.perf_counter()
    for start in range(0, n_cases, 1000):
        store.create_many(cases[start : start + 1000], "benchmark", action="import")
    return ids, time.perf_counter() - t0


def _time(call: Callable[[Any], Any], args: list[Any]) -> tuple[float, float]:
    for a in args[:10]:  # warm caches
        call(a)
    samples = []
    for a in args:
        t0 = time.perf_counter()
        call(a)
        samples.append(time.perf_counter() - t0)
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))]


_RAW_COLUMNS = (
    "case_id, title, version, created_at, updated_at, n_levels, n_scar_regions, n_targets, "
    "n_trajectories, n_procedures, n_diaries, last_procedure_at"
)


def run(n_cases: int, n_procedures: int, repeat: int) -> str:
    """Run the benchmark; return the markdown section."""
    rng = random.Random(5)
    random.seed(5)
    with tempfile.TemporaryDirectory(prefix="blockplan-bench-") as folder:
        path = Path(folder) / "cases.sqlite3"
        t0 = time.perf_counter()
        store = CaseStore(path)
        open_s = time.perf_counter() - t0
        ids, fill_s = _fill(store, n_cases, n_procedures)
        n_patients = (n_cases + CASES_PER_PATIENT - 1) // CASES_PER_PATIENT
        patients = [_patient(rng.randrange(n_cases)) for _ in range(repeat)]
        case_ids = [rng.choice(ids) for _ in range(repeat)]
        keys = [store.patient_key(p) for p in patients]
        assert len(store.list_cases(patient_id=patients[0])) == CASES_PER_PATIENT

        raw = sqlite3.connect(path)

        def raw_list(key: str) -> list[Any]:
            return raw.execute(
                f"SELECT {_RAW_COLUMNS} FROM cases WHERE patient_key = ? "
                "ORDER BY updated_at DESC, case_id",
                (key,),
            ).fetchall()

        def raw_summary(case_id: str) -> Any:
            return raw.execute(
                f"SELECT {_RAW_COLUMNS} FROM cases WHERE case_id = ?", (case_id,)
            ).fetchone()

        list_store = _time(lambda p: store.list_cases(patient_id=p), patients)
        list_raw = _time(raw_list, keys)
        summary_store = _time(store.summary, case_ids)
        summary_raw = _time(raw_summary, case_ids)
        load_full = _time(store.load, case_ids[: max(20, repeat // 5)])
        edited, version = store.load(case_ids[0])
        versions = [version]

        def save(k: int) -> None:
            new = edited.model_copy(update={"title": f"edit {k}"})
            versions.append(store.save(new, versions[-1], "benchmark", summary="title"))

        autosave = _time(save, list(range(100)))
        raw.close()
        store.close()
        size_mb = sum(p.stat().st_size for p in Path(folder).iterdir()) / 1e6

    def row(name: str, ours: tuple[float, float], peer: tuple[float, float]) -> str:
        verdict = "yes" if ours[0] <= BUDGET_S else "**no**"
        return (
            f"| {name} | {ours[0] * 1e3:.3f} | {ours[1] * 1e3:.3f} | {peer[0] * 1e3:.3f} "
            f"| {ours[0] / peer[0]:.1f}× | {verdict} |"
        )

    today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    lines = [
        "## case store (issue 5)",
        "",
        f"{today}; `python benchmarks/case_store.py --cases {n_cases} "
        f"--procedures {n_procedures} --repeat {repeat}`; {platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}.",
        "",
        f"Store: SQLite (WAL, synchronous=FULL), {n_cases} cases of {n_procedures} procedures "
        f"(11-point diaries), {n_patients} patients × {CASES_PER_PATIENT} cases, "
        f"{size_mb:.1f} MB; filled in {fill_s:.1f} s (transactions of 1000); "
        f"opened (migrations) in {open_s * 1e3:.0f} ms.",
        "Peer: the same SELECT through the standard library's `sqlite3` on the same file.",
        "",
        "| query | median ms | p95 ms | peer (raw sqlite3) median ms | ratio | ≤ 50 ms |",
        "|---|---:|---:|---:|---:|---|",
        row("list a patient's cases", list_store, list_raw),
        row("one case's summary", summary_store, summary_raw),
        row("summary by loading the whole case (reference)", load_full, summary_raw),
        "",
        f"Saving one edit (what the napari plugin does on every change: compare-and-swap "
        f"update + audit entry, one fsync'd transaction): median {autosave[0] * 1e3:.2f} ms, "
        f"p95 {autosave[1] * 1e3:.2f} ms.",
        "",
        "The summary columns (counts, last procedure) are written with each version, so "
        "neither query reads a case document; the last row is what a summary would cost "
        "without them. The ratio is the price of SQLAlchemy Core, a connection from the "
        "pool and a transaction per call over a bare cursor.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--procedures", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--results", type=Path, default=None, help="append the table here")
    args = parser.parse_args()
    section = run(args.cases, args.procedures, args.repeat)
    print(section)
    if args.results is not None:
        exists = args.results.exists()
        with args.results.open("a", encoding="utf-8") as fh:
            if not exists:
                fh.write("# Benchmark results\n\n")
            fh.write("\n" + section)


if __name__ == "__main__":
    main()
