"""An archive or export killed mid-write, or a copy of one killed mid-way, is never taken
for a complete archive; the re-run works and leaves nothing of the killed one behind.

Each kill is a real ``blockplan`` writer process stopped with SIGKILL at a point the test
chooses (`tests._killed`).
"""

from __future__ import annotations

import json
import pickle
import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from blockplan.archive import verify_archive
from blockplan.archive.bundle import ArchiveObjects, write_archive
from blockplan.archive.jobs import archive_folder
from blockplan.archive.versions import archived_objects
from blockplan.case.casefile import save_case_file
from blockplan.case.model import Case
from blockplan.cli import main
from blockplan.errors import ArchiveError
from tests._killed import PAUSE, KilledChild
from tests.archive._factory import Study

# write_archive in a child, paused (then killed) right after it wrote the file argv[3]
WRITER = f"""
import os, pickle, sys
from pathlib import Path
import blockplan.archive.bundle as bundle
objects = pickle.loads(Path(sys.argv[1]).read_bytes())
real_write = bundle._write
def write(folder, name, data):
    entry = real_write(folder, name, data)
    if name == sys.argv[3]:
        {PAUSE}
    return entry
bundle._write = write
bundle.write_archive(objects, sys.argv[2], deidentified=sys.argv[4] == "export")
"""

# a copy of a complete archive folder, file by file with manifest.json first or last
# (argv[4]) as a file manager or `cp -r` may go, killed after it copied argv[3]
COPIER = f"""
import json, os, shutil, sys
from pathlib import Path
src, dst = Path(sys.argv[1]), Path(sys.argv[2])
dst.mkdir()
files = [e["name"] for e in json.loads((src / "manifest.json").read_text())["files"]]
names = ["manifest.json", *files] if sys.argv[4] == "first" else [*files, "manifest.json"]
for name in names:
    shutil.copyfile(src / name, dst / name)
    if name == sys.argv[3]:
        {PAUSE}
"""

# `blockplan archive ARGS`, killed once the folder is written, before the archived version
# is recorded with the case (the next version's InstanceNumber and predecessors)
ARCHIVER = f"""
import os, sys
import blockplan.archive.versions as versions
def record_version(*args, **kwargs):
    {PAUSE}
versions.record_version = record_version
from blockplan.cli import main
main(["archive", *sys.argv[1:]], prog_name="blockplan")
"""


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _assert_private(folder: Path) -> None:
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


@pytest.mark.parametrize("kind", ["archive", "export"])
def test_killed_mid_write_leaves_no_archive_and_the_rerun_cleans_up(
    kind: str, objects: ArchiveObjects, tmp_path: Path
) -> None:
    pickled = tmp_path / "objects.pickle"
    pickled.write_bytes(pickle.dumps(objects))
    clinic = tmp_path / "clinic"
    clinic.mkdir()
    target = clinic / "R-1"
    KilledChild(WRITER, str(pickled), str(target), "plan-sr.dcm", kind).kill_when_paused()

    # killed after two of the files: no folder of that name, so nothing can take the
    # half-written one for an archive; what the child wrote is in a hidden folder, private
    assert not target.exists()
    (abandoned,) = _leftovers(clinic)
    assert abandoned.startswith(".R-1.") and abandoned.endswith(".tmp")
    _assert_private(clinic / abandoned)
    assert sorted(p.name for p in (clinic / abandoned).iterdir()) == [
        "plan-sr.dcm",
        "report-encapsulated.dcm",
        "report.pdf",
    ]

    # the physician runs it again: complete, private, and the killed writer's copy of the
    # report and case is gone (not left beside the archive forever)
    written = write_archive(objects, target, deidentified=kind == "export")
    assert verify_archive(written) == []
    _assert_private(written)
    assert _leftovers(clinic) == []


def test_a_copy_killed_mid_way_is_not_taken_for_the_archive(
    objects: ArchiveObjects, tmp_path: Path
) -> None:
    complete = write_archive(objects, tmp_path / "archive")
    copy = tmp_path / "usb-stick" / "archive"
    copy.parent.mkdir()
    KilledChild(COPIER, str(complete), str(copy), "report.pdf", "first").kill_when_paused()
    assert sorted(p.name for p in copy.iterdir()) == ["manifest.json", "report.pdf"]

    # its manifest names this very report, but the copy is incomplete: never "already
    # archived there", and never written over
    with pytest.raises(ArchiveError) as refused:
        write_archive(objects, copy)
    message = str(refused.value)
    assert "already archived" not in message
    assert f"{copy}: holds an incomplete or damaged archive" in message
    assert "report-encapsulated.dcm: missing" in message
    assert "was writing or copying it interrupted?" in message
    assert "remove it or move it away, then archive again" in message
    assert sorted(p.name for p in copy.iterdir()) == ["manifest.json", "report.pdf"]

    shutil.rmtree(copy)
    assert verify_archive(write_archive(objects, copy)) == []

    # a copy that goes manifest.json last, killed before it: part of an archive, not the
    # clinic's archive folder to write another archive into
    late = tmp_path / "share" / "archive"
    late.parent.mkdir()
    KilledChild(COPIER, str(complete), str(late), "plan-sr.dcm", "last").kill_when_paused()
    assert archive_folder(late, "R-2") == late
    missing = r"incomplete or damaged archive \(manifest.json: missing\)"
    with pytest.raises(ArchiveError, match=missing):
        write_archive(objects, late)


def _report(case_file: Path, study: Study, out: Path, date: str) -> None:
    result = CliRunner().invoke(
        main,
        ["report", str(case_file), "-o", str(out), "--study", str(study.folder), "--date", date],
    )
    assert result.exit_code == 0, result.output


def test_archive_killed_before_recording_its_version_is_recorded_by_the_rerun(
    case: Case, study: Study, tmp_path: Path
) -> None:
    case_file = save_case_file(case, tmp_path / "case.blockplan.json")
    clinic = tmp_path / "clinic"
    clinic.mkdir()
    args = ["archive", str(case_file), "--images", str(study.folder), "--to", str(clinic)]
    _report(case_file, study, tmp_path / "v1.pdf", "2026-03-02T15:30:00+01:00")
    KilledChild(ARCHIVER, *args[1:]).kill_when_paused()
    (first,) = clinic.iterdir()
    assert verify_archive(first) == []  # the folder was complete when the kill came
    assert archived_objects(case.case_id) == []

    # the physician runs it again: already there, nothing written — and now recorded
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 2
    assert "this report is already archived there" in again.output
    assert {o.instance_number for o in archived_objects(case.case_id)} == {1}

    # so the next report version is the next instance, superseding the first
    _report(case_file, study, tmp_path / "v2.pdf", "2026-03-09T10:00:00+01:00")
    second = CliRunner().invoke(main, [*args, "--json"])
    assert second.exit_code == 0, second.output
    assert json.loads(second.output)["instance_number"] == 2
