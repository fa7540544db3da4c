"""kill -9 at random moments of a writer that saves continuously: nothing committed is lost.

After every kill the store (or file) must open, hold a valid case at a version at least
as new as the last one the writer reported committed, and — for the store — an audit
trail with exactly one entry per version (case row and audit entry commit together); for
the file, at most the killed writer's own temporary is left beside it (each write removes
those of writers killed before it), and the next write leaves nothing but the file.
"""

from __future__ import annotations

import os
import random
import re
import select
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from blockplan.case.casefile import load_case_file, save_case_file
from blockplan.case.store import CaseStore
from blockplan.errors import CaseNotFoundError
from tests.case._crash_writer import CASE_ID
from tests.case.conftest import PgServer, _drop_pg_database, _new_pg_database

REPO = Path(__file__).resolve().parents[2]
KILLS = 60
LINE_TIMEOUT_S = 60.0
TEMPORARY = re.compile(r"^\.case\.blockplan\.json\.[^/]+\.tmp$")


class _Writer:
    def __init__(self, mode: str, target: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.case._crash_writer", mode, target],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        self._buffer = b""

    def _line(self) -> str:
        assert self.proc.stdout is not None
        while b"\n" not in self._buffer:
            ready, _, _ = select.select([self.proc.stdout], [], [], LINE_TIMEOUT_S)
            if not ready:
                raise AssertionError("crash writer stopped answering")
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise AssertionError(f"crash writer exited ({self.proc.wait()})")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()

    def kill_after(self, delay_s: float) -> list[int]:
        """Let a child save for ``delay_s``, kill -9 it; the versions it reported."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{delay_s}\n".encode())
        self.proc.stdin.flush()
        committed = []
        while (line := self._line()) != "killed":
            word, _, number = line.partition(" ")
            assert word == "committed", line
            committed.append(int(number))
        return committed

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def _check_store(url: str, reported: int, sqlite_path: Path | None) -> int:
    with CaseStore(url) as store:
        try:
            case, version = store.load(CASE_ID)
        except CaseNotFoundError:
            assert reported == 0, "a reported commit was lost"
            return 0
        assert version >= reported, f"stored version {version} < reported {reported}"
        assert case.title == f"v{version}"
        trail = store.audit(CASE_ID)
        assert [e.version for e in trail] == list(range(1, version + 1))
    if sqlite_path is not None:
        with sqlite3.connect(sqlite_path) as raw:
            assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        raw.close()
        for name in (sqlite_path, Path(f"{sqlite_path}-wal"), Path(f"{sqlite_path}-shm")):
            if name.exists():
                assert stat.S_IMODE(name.stat().st_mode) == 0o600, name
    return version


def _check_temporaries(path: Path) -> None:
    """At most the killed child's own temporary is left: hidden, private (a write removes
    the temporaries of writers killed before it, `remove_abandoned_temporaries`)."""
    leftovers = [p for p in path.parent.iterdir() if p != path]
    assert len(leftovers) <= 1, f"abandoned temporaries pile up: {sorted(leftovers)}"
    for leftover in leftovers:
        assert TEMPORARY.match(leftover.name), leftover.name
        assert stat.S_IMODE(leftover.stat().st_mode) == 0o600


def _check_file(path: Path, reported: int) -> int:
    _check_temporaries(path)
    if not path.exists():
        assert reported == 0, "a reported write was lost"
        return 0
    case = load_case_file(path)
    version = int(case.title[1:])
    assert version >= reported, f"file holds save {version} < reported {reported}"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return version


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres), "file"]
)
def test_kill_9_mid_save_never_loses_a_commit(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    seed = 20261203  # fixed: the same kill delays in every run (the suite is deterministic)
    rng = random.Random(seed)
    database = None
    sqlite_path: Path | None = None
    if backend == "sqlite":
        sqlite_path = tmp_path / "cases.sqlite3"
        target = f"sqlite:///{sqlite_path}"
    elif backend == "postgresql":
        server: PgServer = request.getfixturevalue("pg_server")
        database = _new_pg_database(server)
        target = server.url(database)
    else:
        target = str(tmp_path / "case.blockplan.json")
    writer = _Writer("file" if backend == "file" else "store", target)
    reported = stored = productive = 0
    longest = 0.05  # s; grows when a busy machine lets a child commit nothing in time
    try:
        for kill in range(KILLS):
            committed = writer.kill_after(rng.uniform(0.0, longest))
            reported = max([reported, *committed])
            productive += bool(committed)
            longest = max(0.05, longest * 0.9) if committed else min(1.0, longest * 1.3)
            try:
                if backend == "file":
                    stored = _check_file(Path(target), reported)
                else:
                    stored = _check_store(target, reported, sqlite_path)
            except AssertionError as err:
                raise AssertionError(f"after kill {kill + 1} (seed {seed}): {err}") from err
    finally:
        writer.close()
        if database is not None:
            _drop_pg_database(request.getfixturevalue("pg_server"), database)
    # most kills must have hit a child that was saving, not one still starting up
    assert productive >= KILLS // 3, f"only {productive} of {KILLS} children committed"
    assert stored >= reported
    if backend == "file":  # the next write removes what the last kill left: nothing but it
        path = Path(target)
        case = load_case_file(path)
        save_case_file(case.evolve(title=f"v{stored + 1}"), path)
        assert list(tmp_path.iterdir()) == [path]
        assert load_case_file(path).title == f"v{stored + 1}"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
