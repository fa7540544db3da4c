"""A case save and a ``case export`` killed at their most awkward moment: the case reopens
with the last saved state, the old file stays whole, nothing half-written is ever visible.

Each kill is a real process stopped with SIGKILL at a point the test chooses
(`tests._killed`): inside the store's write transaction after the case row was swapped,
and after ``case export`` wrote and fsynced its temporary file, just before the rename.
"""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

from click.testing import CliRunner

from blockplan.case.casefile import load_case_file, save_case_file
from blockplan.case.store import CaseStore
from blockplan.cli import main
from tests._killed import PAUSE, KilledChild
from tests.case._factory import make_case

CASE_ID = "dead0000dead0000dead0000dead0000"

# a save of version argv[2] + 1, killed inside its transaction: the case row and document
# are updated, the ledger summaries written, the audit entry and the commit not yet
SAVER = f"""
import os, sys
import blockplan.case.store as store_module
from blockplan.case.store import CaseStore
real = store_module._write_summaries
def write_summaries(*args, **kwargs):
    real(*args, **kwargs)
    {PAUSE}
store_module._write_summaries = write_summaries
store = CaseStore(sys.argv[1])
case, version = store.load("{CASE_ID}")
assert version == int(sys.argv[2])
store.save(case.evolve(title="killed mid-commit"), version, "dr-a", summary="lost")
"""

# `blockplan case export --force`, killed after its new file was written and fsynced,
# just before the rename over the old one
EXPORTER = f"""
import os, sys
real = os.replace
def replace(src, dst, *args, **kwargs):
    if os.fspath(dst).endswith(sys.argv[2]):
        {PAUSE}
    return real(src, dst, *args, **kwargs)
os.replace = replace
from blockplan.cli import main
main(["case", "export", "{CASE_ID}", "-o", sys.argv[2], "--force", "--db", sys.argv[1],
      "--user", "dr-a"], prog_name="blockplan")
"""

# `blockplan case import FILES`, killed inside its one transaction once every case row,
# document, audit entry and summary is inserted, before the commit
IMPORTER = f"""
import os, sys
import blockplan.case.store as store_module
real = store_module._write_summaries
def write_summaries(*args, **kwargs):
    real(*args, **kwargs)
    {PAUSE}
store_module._write_summaries = write_summaries
from blockplan.cli import main
main(["case", "import", "--db", sys.argv[1], "--user", "dr-a", *sys.argv[2:]],
     prog_name="blockplan")
"""

# the first open of a new store, killed once the schema is created, before its commit
OPENER = f"""
import os, sys
import blockplan.case.store as store_module
real = store_module._upgrade
def upgrade(*args, **kwargs):
    real(*args, **kwargs)
    {PAUSE}
store_module._upgrade = upgrade
store_module.CaseStore(sys.argv[1])
"""


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_killed_mid_commit_reopens_at_the_last_saved_version(store_url: str) -> None:
    with CaseStore(store_url) as store:
        version = store.create(make_case(case_id=CASE_ID, title="v1"), "dr-a")
        case, _ = store.load(CASE_ID)
        version = store.save(case.evolve(title="v2"), version, "dr-a", summary="v2")

    KilledChild(SAVER, store_url, str(version)).kill_when_paused()

    # reopened (a new process would do the same): the last saved state, its audit trail
    # one entry per version, and the store takes the next save as if nothing happened
    with CaseStore(store_url) as store:
        case, stored = store.load(CASE_ID)
        assert (stored, case.title) == (2, "v2")
        assert [e.version for e in store.audit(CASE_ID)] == [1, 2]
        assert store.save(case.evolve(title="v3"), stored, "dr-b", summary="after") == 3
        assert store.load(CASE_ID)[0].title == "v3"
    if store_url.startswith("sqlite"):
        path = Path(store_url.removeprefix("sqlite:///"))
        with sqlite3.connect(path) as raw:
            assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        raw.close()
        assert _mode(path) == 0o600
        assert _mode(path.parent) == 0o700


def test_killed_case_export_keeps_the_old_file_and_the_rerun_cleans_up(tmp_path: Path) -> None:
    db = tmp_path / "cases.sqlite3"
    out = tmp_path / "exports" / "case.blockplan.json"
    out.parent.mkdir()
    with CaseStore(db) as store:
        version = store.create(make_case(case_id=CASE_ID, title="v1"), "dr-a")
    export = ["case", "export", CASE_ID, "-o", str(out), "--force", "--db", str(db)]
    assert CliRunner().invoke(main, [*export, "--user", "dr-a"]).exit_code == 0
    with CaseStore(db) as store:
        case, _ = store.load(CASE_ID)
        store.save(case.evolve(title="v2"), version, "dr-a", summary="v2")

    KilledChild(EXPORTER, str(db), str(out)).kill_when_paused()

    # the old file is whole and private; the killed export's file is hidden (never found
    # as a case by *.blockplan.json) and private; no export was recorded
    assert load_case_file(out).title == "v1"
    assert _mode(out) == 0o600
    assert list(out.parent.glob("*.blockplan.json")) == [out]
    (temporary,) = (p for p in out.parent.iterdir() if p != out)
    assert temporary.name.startswith(".case.blockplan.json.")
    assert _mode(temporary) == 0o600
    with CaseStore(db) as store:
        assert [e.action for e in store.audit(CASE_ID)] == ["create", "export", "edit"]

    # run again: the new version, recorded, and the killed export's copy of the case gone
    result = CliRunner().invoke(main, [*export, "--user", "dr-a"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"exported case {CASE_ID} version 2 to ")
    assert load_case_file(out).title == "v2"
    assert _mode(out) == 0o600
    assert list(out.parent.iterdir()) == [out]


def test_killed_import_and_first_open_store_nothing_and_the_rerun_works(
    store_url: str, tmp_path: Path
) -> None:
    KilledChild(OPENER, store_url).kill_when_paused()
    files = [
        save_case_file(
            make_case(case_id=f"{n}" * 32, title=f"c{n}"), tmp_path / f"{n}.blockplan.json"
        )
        for n in (1, 2, 3)
    ]
    KilledChild(IMPORTER, store_url, *map(str, files)).kill_when_paused()
    with CaseStore(store_url) as store:  # opens (the schema made again), holds no case
        assert store.list_cases() == []
    result = CliRunner().invoke(
        main, ["case", "import", "--db", store_url, "--user", "dr-a", *map(str, files)]
    )
    assert result.exit_code == 0, result.output
    with CaseStore(store_url) as store:
        assert sorted(s.title for s in store.list_cases()) == ["c1", "c2", "c3"]
