"""Benchmark: the case store's worklist, list and summary queries against their 50 ms budget.

Fills an SQLite case store (in a temporary folder) with ``--cases`` synthetic cases of
``--procedures`` procedures each (every procedure with an 11-point pain diary; four cases
per patient, each on its own study; synthetic names with accents, patient IDs, study
dates over two years), then times, in one process:

* worklist searches (`CaseStore.worklist`, newest first, at most 100 entries): one name
  word, two name words in either order, free text over name/ID/title, a month of study
  dates, a name word within a date range, and the unfiltered worklist;
* ``cases_for_study``: the cases of a study (what the GUI offers to reopen);
* ``list a patient's cases``: ``CaseStore.list_cases(patient_id=...)`` for random patients;
* ``one case's summary``: ``CaseStore.summary(case_id)`` for random cases;
* (informational) saving one edit of a case, as the plugin's autosave does.

Peer: the same rows read with the standard library's ``sqlite3`` module and a hand-written
``SELECT`` doing the equivalent query on the same file (search words folded beforehand,
``instr(search_text, ?) > 0``) — the floor any ORM-free code would hit. A second reference
shows what the summary columns save: loading and validating the whole case
(``CaseStore.load``) to count its items.

Prints a markdown table (median and 95th percentile of ``--repeat`` calls, ratio of the
medians to the raw ``sqlite3`` peer, and whether the 50 ms budget holds); with
``--results FILE`` appends it, dated, under "## case store and worklist (issues 5, 13)".

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

from blockplan.case._text import search_words
from blockplan.case.model import (
    Case,
    DiaryEntry,
    Injection,
    PainDiary,
    PatientInfo,
    PatientPoint,
    Procedure,
    StudyRef,
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


FAMILY = (
    "MÜLLER", "Müller", "Muller", "GARCÍA", "Núñez", "Ødegård", "Nowak", "Kowalski", "Rossi",
    "Dubois", "Lefèvre", "Smith", "Jones", "Hansen", "Johansson", "Svensson", "Novák", "Horváth",
    "Papadopoulos", "Yılmaz", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner",
    "Becker", "Schulz", "Hoffmann", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder",
    "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange",
)  # fmt: skip
GIVEN = (
    "Hans", "Anna", "José", "María", "Zoë", "Jürgen", "Léa", "Søren", "Ana", "Piotr", "Eva",
    "Kai", "Lena", "Jan", "Ida", "Ole", "Noor", "Emre", "Chloé", "Luca", "Mia", "Tomás",
)  # fmt: skip
TITLES = ("L5 radicular pain", "facet work-up", "SIJ pain", "axial back pain", "re-evaluation")
FIRST_STUDY = dt.date(2024, 1, 1)


def _patient(i: int) -> str:
    return f"SYN{i // CASES_PER_PATIENT:06d}"


def _identity(i: int) -> tuple[PatientInfo, StudyRef]:
    k = i // CASES_PER_PATIENT
    name = f"{FAMILY[k % len(FAMILY)]}^{GIVEN[(k // len(FAMILY)) % len(GIVEN)]}^{k}"
    patient = PatientInfo(patient_id=_patient(i), patient_name=name)
    study = StudyRef(
        study_instance_uid=f"2.25.{1000 + i}",
        study_date=FIRST_STUDY + dt.timedelta(days=(i * 7919) % 730),
    )
    return patient, study


def _fill(store: CaseStore, n_cases: int, n_procedures: int) -> tuple[list[str], float]:
    template = _template(n_procedures)
    ids = [uuid.UUID(int=random.getrandbits(128)).hex for _ in range(n_cases)]
    # model_copy skips validation: only valid values (id, title, patient, study) change
    cases = []
    for i in range(n_cases):
        patient, study = _identity(i)
        cases.append(
            template.model_copy(
                update={
                    "case_id": ids[i],
                    "title": f"{TITLES[i % len(TITLES)]} {i}",
                    "patient": patient,
                    "study": study,
                }
            )
        )
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
_RAW_WORKLIST = (
    _RAW_COLUMNS + ", patient_name, patient_id, birth_date, study_date, study_instance_uid"
)
_ORDER = "ORDER BY updated_at DESC, case_id LIMIT 100"


def _raw_search(
    raw: sqlite3.Connection,
    text: str = "",
    name: str = "",
    dates: tuple[dt.date, dt.date] | None = None,
) -> list[Any]:
    """What `CaseStore.worklist` does, as a hand-written SELECT (words folded beforehand)."""
    where: list[str] = []
    params: list[Any] = []
    for word in search_words(text):
        where.append("instr(search_text, ?) > 0")
        params.append(word)
    for word in search_words(name):
        where.append("instr(search_text, ?) > 0 AND instr(patient_name_folded, ?) > 0")
        params += [word, word]
    if dates is not None:
        where.append("study_date >= ? AND study_date <= ?")
        params += [dates[0].isoformat(), dates[1].isoformat()]
    clause = f"WHERE {' AND '.join(where)} " if where else ""
    return raw.execute(f"SELECT {_RAW_WORKLIST} FROM cases {clause}{_ORDER}", params).fetchall()


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
        assert len(store.list_cases(patient_id=patients[0])) == CASES_PER_PATIENT

        raw = sqlite3.connect(path)

        def raw_list(patient_id: str) -> list[Any]:
            return raw.execute(
                f"SELECT {_RAW_COLUMNS} FROM cases WHERE patient_id = ? "
                "ORDER BY updated_at DESC, case_id",
                (patient_id,),
            ).fetchall()

        def raw_summary(case_id: str) -> Any:
            return raw.execute(
                f"SELECT {_RAW_COLUMNS} FROM cases WHERE case_id = ?", (case_id,)
            ).fetchone()

        def raw_study(uid: str) -> list[Any]:
            return raw.execute(
                f"SELECT {_RAW_WORKLIST} FROM cases WHERE study_instance_uid = ? "
                "ORDER BY updated_at DESC, case_id",
                (uid,),
            ).fetchall()

        # search inputs, as a clinician types them (random patients; accents dropped or not)
        people = [_identity(rng.randrange(n_cases)) for _ in range(repeat)]
        one_word = [p.patient_name.split("^")[0].lower()[:4] for p, _ in people]
        two_words = [
            f"{p.patient_name.split('^')[1]} {p.patient_name.split('^')[0]}" for p, _ in people
        ]
        free = [
            f"{p.patient_id[-4:]} {t}" for (p, _), t in zip(people, rng.choices(TITLES, k=repeat))
        ]
        months = []
        for _ in range(repeat):
            start = FIRST_STUDY + dt.timedelta(days=rng.randrange(700))
            months.append((start, start + dt.timedelta(days=30)))
        name_in_range = list(zip(one_word, months, strict=True))
        studies = [s.study_instance_uid for _, s in people]
        # same answers from both sides (same rows, same order)
        for probe in range(5):
            ours = [e.case_id for e in store.worklist(two_words[probe])]
            theirs = [r[0] for r in _raw_search(raw, two_words[probe])]
            assert ours == theirs and ours, (probe, len(ours), len(theirs))
            ours = [
                e.case_id
                for e in store.worklist(patient_name=one_word[probe], study_date=months[probe])
            ]
            theirs = [r[0] for r in _raw_search(raw, name=one_word[probe], dates=months[probe])]
            assert ours == theirs, probe

        rows: list[tuple[str, tuple[float, float], tuple[float, float]]] = [
            (
                "worklist: one name word (`müll`-like prefix of a family name)",
                _time(lambda w: store.worklist(w), one_word),
                _time(lambda w: _raw_search(raw, w), one_word),
            ),
            (
                "worklist: given and family name, either order",
                _time(lambda w: store.worklist(w), two_words),
                _time(lambda w: _raw_search(raw, w), two_words),
            ),
            (
                "worklist: free text, ID digits + title words",
                _time(lambda w: store.worklist(w), free),
                _time(lambda w: _raw_search(raw, w), free),
            ),
            (
                "worklist: study dates of one month",
                _time(lambda m: store.worklist(study_date=m), months),
                _time(lambda m: _raw_search(raw, dates=m), months),
            ),
            (
                "worklist: name word within a month",
                _time(lambda a: store.worklist(patient_name=a[0], study_date=a[1]), name_in_range),
                _time(lambda a: _raw_search(raw, name=a[0], dates=a[1]), name_in_range),
            ),
            (
                "worklist: unfiltered (newest 100)",
                _time(lambda _: store.worklist(), list(range(repeat))),
                _time(lambda _: _raw_search(raw), list(range(repeat))),
            ),
            (
                "cases of a study (reopen)",
                _time(store.cases_for_study, studies),
                _time(raw_study, studies),
            ),
            (
                "list a patient's cases",
                _time(lambda p: store.list_cases(patient_id=p), patients),
                _time(raw_list, patients),
            ),
            (
                "one case's summary",
                _time(store.summary, case_ids),
                _time(raw_summary, case_ids),
            ),
        ]
        load_full = _time(store.load, case_ids[: max(20, repeat // 5)])
        summary_raw = rows[-1][2]
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
        verdict = "yes" if ours[1] <= BUDGET_S else "**no**"
        return (
            f"| {name} | {ours[0] * 1e3:.3f} | {ours[1] * 1e3:.3f} | {peer[0] * 1e3:.3f} "
            f"| {ours[0] / peer[0]:.1f}× | {verdict} |"
        )

    today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    lines = [
        "## case store and worklist (issues 5, 13)",
        "",
        f"{today}; `python benchmarks/case_store.py --cases {n_cases} "
        f"--procedures {n_procedures} --repeat {repeat}`; {platform.machine()}, "
        f"{os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f} at the end: shared "
        f"with other jobs), Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}.",
        "",
        f"Store: SQLite (WAL, synchronous=FULL), {n_cases} cases of {n_procedures} procedures "
        f"(11-point diaries), {n_patients} patients × {CASES_PER_PATIENT} cases, each on its "
        f"own study (dates over two years), synthetic accented names; {size_mb:.1f} MB; "
        f"filled in {fill_s:.1f} s (transactions of 1000); opened (migrations) in "
        f"{open_s * 1e3:.0f} ms.",
        "Peer: the equivalent SELECT through the standard library's `sqlite3` on the same "
        "file (search words folded beforehand; same rows in the same order, checked).",
        "",
        "| query | median ms | p95 ms | peer (raw sqlite3) median ms | ratio | p95 ≤ 50 ms |",
        "|---|---:|---:|---:|---:|---|",
        *(row(name, ours, peer) for name, ours, peer in rows),
        row("summary by loading the whole case (reference)", load_full, summary_raw),
        "",
        f"Saving one edit (what the napari plugin does on every change: compare-and-swap "
        f"update + audit entry, one fsync'd transaction): median {autosave[0] * 1e3:.2f} ms, "
        f"p95 {autosave[1] * 1e3:.2f} ms.",
        "",
        "Worklist searches walk the index (updated_at, search_text) newest first, test each "
        "word on the index entry (a substring cannot seek a B-tree), read only matching rows "
        "and stop after 100; a search matching few cases walks the whole index. Case "
        "documents live in their own table, so no list or search reads them. The summary "
        "columns (counts, last procedure) are written with each version; the last row is "
        "what a summary would cost without them. The ratio is the price of SQLAlchemy Core, "
        "a connection from the pool, a transaction per call and building result objects "
        "over a bare cursor.",
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
