"""Benchmark: the clinic-wide sources list (`blockplan case sources`) against 50 ms.

Fills a case store with ``--cases`` synthetic cases (five kinds, round robin: an SNRB and
an MBB in one positive sitting, an MBB with only its 0-min score (pending), a positive MBB
under strict-dual-80, an MBB without relief, and five positive SNRBs), through
`CaseStore.create_many` — so every case's ledger summary is computed and stored as a save
does — on **SQLite** (a temporary file) and **PostgreSQL** (a throwaway cluster made with
initdb/pg_ctl on loopback, as the store tests make it). Then times, in one process:

* ``CaseStore.sources(profile)`` (first 100 cases, and every case);
* the command ``blockplan case sources --profile P`` run in-process (click's runner: it
  opens the store, queries and prints);
* the peer: the same answer by a raw SQL query on the same tables (``sqlite3`` /
  ``psycopg``, hand-written SELECTs, no SQLAlchemy);
* for reference, what the issue measured: loading and adjudicating every case on the spot
  (timed on a sample, scaled to all cases).

PostgreSQL's statistics are gathered (``ANALYZE``) after the fill, as autovacuum does soon
after a bulk import; without them its planner reads the cases in the wrong order.

Prints a markdown table (median and 95th percentile, ratio of medians to the raw query,
and whether the 50 ms budget holds); ``--results FILE`` appends it, dated, under
"## clinic-wide sources list (issue 15 point 5)".

Usage::

    python benchmarks/case_sources.py [--cases 10000] [--repeat 200] [--backend both]
        [--results benchmarks/RESULTS.md]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import glob
import io
import os
import platform
import pwd
import shutil
import socket
import sqlite3
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from blockplan.case.model import Case, DiaryEntry, Injection, PainDiary, PatientInfo, Procedure
from blockplan.case.store import CaseStore
from blockplan.case.vocab import Agent, BlockType, Laterality
from blockplan.cli import main
from blockplan.outcomes import build_ledger

BUDGET_S = 0.050
PROFILE = "strict-dual-80"
START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
MINUTES = (0, 15, 30, 60, 120)


# --- cases ----------------------------------------------------------------------------
def _block(kind: BlockType, level: str, day: int, nrs: dict[int, int], session: str) -> Procedure:
    return Procedure(
        session_id=session,
        performed_at=START + dt.timedelta(days=day),
        block_type=kind,
        injections=(
            Injection(level=level, side=Laterality.LEFT, agent=Agent.LIDOCAINE, volume_ml=0.5),
        ),
        diary=PainDiary(
            baseline_nrs=8, entries=tuple(DiaryEntry(minutes=m, nrs=v) for m, v in nrs.items())
        ),
    )


def _templates() -> list[Case]:
    relief = dict.fromkeys(MINUTES, 1)
    none = dict.fromkeys(MINUTES, 8)
    snrb, mbb = BlockType.SELECTIVE_NERVE_ROOT, BlockType.MEDIAL_BRANCH
    kinds = [
        (_block(snrb, "L5", 0, relief, "s"), _block(mbb, "L4-L5", 0, relief, "s")),
        (_block(mbb, "L4-L5", 0, {0: 1}, "a"),),
        (_block(mbb, "L4-L5", 0, relief, "a"),),
        (_block(mbb, "L4-L5", 0, none, "a"),),
        tuple(_block(snrb, "L5", 10 * k, relief, f"s{k}") for k in range(5)),
    ]
    return [Case(title="synthetic", procedures=p, profile_name=PROFILE) for p in kinds]


def _cases(n: int) -> list[Case]:
    templates = _templates()
    out = []
    for i in range(n):
        patient = PatientInfo(patient_id=f"SYN{i:06d}", patient_name=f"Synth{i % 977}^Pat^{i}")
        # model_copy skips validation: only valid values (id, patient) change
        out.append(
            templates[i % len(templates)].model_copy(
                update={"case_id": uuid.UUID(int=i + 1).hex, "patient": patient}
            )
        )
    return out


# --- PostgreSQL -----------------------------------------------------------------------
@contextlib.contextmanager
def _postgres() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on loopback; yields its URL."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    if not bins:
        raise SystemExit("PostgreSQL binaries not found (apt-get install postgresql)")
    bindir = Path(bins[-1])
    root = Path(tempfile.mkdtemp(prefix="blockplan-bench-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    data = root / "data"

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, env=env, cwd=root)

    run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8")
    opts = f"-F -p {port} -k {root} -c listen_addresses=127.0.0.1"
    run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-o", opts, "-w", "start")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)


# --- the peer: raw SQL ------------------------------------------------------------------
_PICK = (
    "SELECT c.case_id FROM cases c WHERE EXISTS (SELECT 1 FROM case_ledgers l "
    "WHERE l.case_id = c.case_id AND l.profile_name = {p} AND l.profile_version = {p} "
    "AND l.case_version = c.version AND l.n_listed > 0) "
    "ORDER BY c.patient_name_folded, c.patient_id, c.case_id"
)
_LINES = (
    "SELECT c.case_id, c.title, c.patient_name, c.patient_id, c.birth_date, c.version, "
    "s.status, s.sites FROM cases c JOIN case_sources s ON s.case_id = c.case_id "
    "WHERE s.profile_name = {p} AND c.case_id IN ({ids}) ORDER BY c.case_id, s.position"
)


def _connect(url: str) -> tuple[Any, str]:
    """A raw DB-API connection to the store and its parameter mark."""
    if url.startswith("sqlite"):
        return sqlite3.connect(url.split("///", 1)[1]), "?"
    import psycopg

    conn = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True)
    return conn, "%s"


def _raw_fresh(url: str, version: str) -> Callable[[], list[Any]]:
    """The peer of the command: connect, the two SELECTs (first 100 cases), print, close."""

    def run() -> list[Any]:
        conn, _mark = _connect(url)
        try:
            rows = _raw(url, version, conn)(100)
            for row in rows:
                print(*row, file=io.StringIO())
            return rows
        finally:
            conn.close()

    return run


def _raw(url: str, version: str, conn: Any = None) -> Callable[[int | None], list[Any]]:
    """The sources list as two hand-written SELECTs on a raw DB-API connection."""
    if conn is None:
        conn, mark = _connect(url)
    else:
        mark = "?" if url.startswith("sqlite") else "%s"

    def query(limit: int | None) -> list[Any]:
        pick = _PICK.format(p=mark) + (f" LIMIT {limit}" if limit else "")
        ids = [r[0] for r in conn.execute(pick, (PROFILE, version)).fetchall()]
        out: list[Any] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            sql = _LINES.format(p=mark, ids=", ".join([mark] * len(chunk)))
            out += conn.execute(sql, (PROFILE, *chunk)).fetchall()
        return out

    return query


# --- timing ----------------------------------------------------------------------------
def _time(call: Callable[[], Any], repeat: int) -> tuple[float, float]:
    for _ in range(min(5, repeat)):  # warm caches
        call()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        call()
        samples.append(time.perf_counter() - t0)
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))]


def _bench(url: str, cases: list[Case], repeat: int) -> tuple[list[str], float, float]:
    """Fill the store at ``url`` and time; returns table rows, fill and adjudication secs."""
    with CaseStore(url) as store:
        t0 = time.perf_counter()
        for start in range(0, len(cases), 1000):
            store.create_many(cases[start : start + 1000], "benchmark", action="import")
        fill_s = time.perf_counter() - t0
        if not url.startswith("sqlite"):  # the statistics autovacuum gathers soon after
            with store._engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        first = store.sources(PROFILE)
        version = first.entries[0].profile_version
        raw = _raw(url, version)
        everyone = store.sources(PROFILE, limit=None)
        assert first.not_summarised == 0 and len(first.entries) == 100
        # the same cases and source lines from both sides
        assert {e.case_id for e in everyone.entries} == {r[0] for r in raw(None)}
        assert sum(len(e.sources) for e in everyone.entries) == len(raw(None))
        runner = CliRunner()
        args = ["case", "sources", "--db", url, "--profile", PROFILE]
        assert runner.invoke(main, args).exit_code == 0
        sample = [store.load(c.case_id)[0] for c in cases[:200]]
        t0 = time.perf_counter()
        for case in sample:
            build_ledger(case, PROFILE)
        adjudicate_s = (time.perf_counter() - t0) / len(sample) * len(cases)
        rows = [
            ("`CaseStore.sources(P)` (first 100 cases)", _time(lambda: store.sources(PROFILE),
             repeat), _time(lambda: raw(100), repeat)),
            ("`blockplan case sources --profile P` (in-process; peer: a new raw connection, "
             "the two SELECTs, printed)",
             _time(lambda: runner.invoke(main, args), max(20, repeat // 4)),
             _time(_raw_fresh(url, version), max(20, repeat // 4))),
            (f"`CaseStore.sources(P, limit=None)` (all {len(everyone.entries)} cases)",
             _time(lambda: store.sources(PROFILE, limit=None), max(10, repeat // 10)),
             _time(lambda: raw(None), max(10, repeat // 10))),
        ]  # fmt: skip
    lines = []
    for name, ours, peer in rows:
        verdict = "yes" if ours[0] <= BUDGET_S else "**no**"
        lines.append(
            f"| {name} | {ours[0] * 1e3:.1f} | {ours[1] * 1e3:.1f} | {peer[0] * 1e3:.1f} "
            f"| {ours[0] / peer[0]:.1f}× | {verdict} |"
        )
    return lines, fill_s, adjudicate_s


def run(n_cases: int, repeat: int, backends: list[str]) -> str:
    """Run the benchmark on each backend; return the markdown section."""
    cases = _cases(n_cases)
    out = [
        f"{dt.date.today().isoformat()}, {n_cases} cases, profile {PROFILE}, "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} cores shared (load average {os.getloadavg()[0]:.1f} at the start). "
        "Budget: median ≤ 50 ms. Peer: the same answer by "
        "hand-written SELECTs on a raw DB-API connection (sqlite3 / psycopg).",
        "",
        "| backend | query | median ms | p95 ms | raw SQL median ms | ratio | ≤ 50 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    notes = []
    for backend in backends:
        with contextlib.ExitStack() as stack:
            if backend == "sqlite":
                folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="bp-bench-"))
                url = f"sqlite:///{Path(folder) / 'cases.sqlite3'}"
            else:
                url = stack.enter_context(_postgres())
            lines, fill_s, adjudicate_s = _bench(url, cases, repeat)
        out += [f"| {backend} |{line[1:]}" for line in lines]
        notes.append(
            f"{backend}: storing the {n_cases} cases with their summaries took {fill_s:.0f} s "
            f"(create_many, 1000 per transaction); loading and adjudicating them all on the "
            f"spot instead would take about {adjudicate_s:.0f} s (timed on 200)."
        )
    return "\n".join([*out, "", *notes, ""])


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--results", type=Path, default=None)
    opts = parser.parse_args()
    backends = ["sqlite", "postgresql"] if opts.backend == "both" else [opts.backend]
    section = run(opts.cases, opts.repeat, backends)
    print(section)
    if opts.results is not None:
        heading = "## clinic-wide sources list (issue 15 point 5)"
        text = opts.results.read_text(encoding="utf-8") if opts.results.exists() else ""
        with opts.results.open("a", encoding="utf-8") as f:
            if heading not in text:
                f.write(f"\n{heading}\n\n`python benchmarks/case_sources.py`\n\n")
            f.write(section + "\n")


if __name__ == "__main__":
    main_()
