"""A writer to be killed: ``python -m tests.case._crash_writer MODE TARGET``.

MODE is ``store`` (TARGET: a store URL) or ``file`` (TARGET: a case file path).
The process imports everything once, then for each line ``DELAY_SECONDS`` read from
stdin forks a child that saves continuously — printing ``committed N`` after each
commit returned — and kills it with SIGKILL after the delay, then prints ``killed``.
Forking keeps ≥ 50 kills cheap: no interpreter start-up per kill.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import sys
import time

from blockplan.case.casefile import load_case_file, save_case_file
from blockplan.case.model import Case, Note
from blockplan.case.store import CaseStore
from blockplan.errors import CaseNotFoundError
from tests.case._factory import make_case

CASE_ID = "c0ffee00c0ffee00c0ffee00c0ffee00"


def _say(text: str) -> None:
    os.write(1, (text + "\n").encode())  # one write < PIPE_BUF: never interleaved


def _next(case: Case, n: int) -> Case:
    note = Note(at=dt.datetime.now(dt.UTC), author="writer", text=f"save {n}")
    return case.evolve(title=f"v{n}", notes=(*case.notes[-20:], note))


def _write_store(url: str) -> None:
    store = CaseStore(url)
    try:
        case, version = store.load(CASE_ID)
    except CaseNotFoundError:
        case = make_case(n_procedures=5, case_id=CASE_ID, title="v1")
        version = store.create(case, "writer")
    _say(f"committed {version}")
    while True:
        case = _next(case, version + 1)
        version = store.save(case, version, "writer", summary=f"save {version + 1}")
        _say(f"committed {version}")


def _write_file(path: str) -> None:
    if os.path.exists(path):
        case = load_case_file(path)  # continue from what the last child left
        n = int(case.title[1:])
    else:
        case = make_case(n_procedures=5, case_id=CASE_ID)
        n = 0
    while True:
        n += 1
        case = _next(case, n)
        save_case_file(case, path)
        _say(f"committed {n}")


def _preload(target: str) -> None:
    """Import what a child would import lazily, so its time goes to saving."""
    import alembic.command
    import alembic.config
    import alembic.script

    del alembic
    if target.startswith("postgresql"):
        import psycopg
        import sqlalchemy.dialects.postgresql.psycopg

        del psycopg, sqlalchemy


def main() -> None:
    mode, target = sys.argv[1], sys.argv[2]
    _preload(target)
    work = _write_store if mode == "store" else _write_file
    for line in sys.stdin:
        delay = float(line)
        pid = os.fork()
        if pid == 0:  # the child writes until killed
            try:
                work(target)
            finally:
                os._exit(3)
        time.sleep(delay)
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        _say("killed" if killed else f"exited {status}")


if __name__ == "__main__":
    main()
