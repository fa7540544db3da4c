"""The signed report is kept with its case before it is written (`write_signed_report`).

``blockplan report`` killed between its two steps — keeping the report with the case and
writing the physician's file — must never leave a new file on disk that a later archive
would not send: the case's latest kept report is the new one, and no new file is there.
The kill is a real process stopped with SIGKILL at a point the test chooses
(`tests._killed`): at the first rename after either step completed, whichever order the
command takes. ``blockplan report`` and the Report panel's Save PDF… both go through the
one function (the panel's part: tests/plugin/test_trial_report_case.py).
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

import blockplan.report.kept as kept_module
from blockplan.case.casefile import save_case_file
from blockplan.cli import main
from blockplan.errors import ReportError
from blockplan.report.kept import kept_reports, latest_kept_report, write_signed_report
from tests._killed import PAUSE, KilledChild
from tests.case._factory import make_case

CASE_ID = "dead0000dead0000dead0000dead0000"
FIRST = "2026-03-02T15:30:00+01:00"
SECOND = "2026-03-09T10:00:00+01:00"

# `blockplan report CASE -o FILE --date SECOND`, killed at the first rename that follows
# either of its two steps: the report kept (the kept index renamed into place) or FILE
# written (renamed into place) — the moment between them, in whichever order they run
REPORTER = f"""
import os, sys
real, out, done = os.replace, os.path.abspath(sys.argv[2]), []
def replace(src, dst, *args, **kwargs):
    if done:
        {PAUSE}
    real(src, dst, *args, **kwargs)
    if os.fspath(dst) == out or os.fspath(dst).endswith("index.json"):
        done.append(dst)
os.replace = replace
from blockplan.cli import main
main(["report", sys.argv[1], "-o", sys.argv[2], "--date", "{SECOND}", "--author", "Dr. A"],
     prog_name="blockplan")
"""


def _report(case_file: Path, out: Path, date: str) -> str:
    result = CliRunner().invoke(
        main, ["report", str(case_file), "-o", str(out), "--date", date, "--author", "Dr. A"]
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_report_killed_between_keeping_and_writing_keeps_the_new_one(tmp_path: Path) -> None:
    case = make_case(case_id=CASE_ID)
    case_file = save_case_file(case, tmp_path / "case.blockplan.json")
    first = tmp_path / "first.pdf"
    _report(case_file, first, FIRST)  # the report written and signed last week
    assert latest_kept_report(case) == first.read_bytes()

    second = tmp_path / "second.pdf"
    KilledChild(REPORTER, str(case_file), str(second)).kill_when_paused()

    # the new report is the case's latest kept one (a later archive sends it); no new
    # report file is on disk (its fsynced temporary only: hidden, private)
    kept = kept_reports(CASE_ID)
    assert len(kept) == 2
    new = latest_kept_report(case)
    assert new is not None and new != first.read_bytes()
    assert not second.exists()
    assert sorted(p.name for p in tmp_path.glob("*.pdf")) == ["first.pdf"]
    (temporary,) = (p for p in tmp_path.iterdir() if p.name.startswith(".second.pdf."))
    assert temporary.read_bytes() == new
    assert stat.S_IMODE(temporary.stat().st_mode) == 0o600

    # written again: the very report kept (not kept twice), the killed write's temporary gone
    output = _report(case_file, second, SECOND)
    assert output.startswith(f"wrote {second} (report {kept[1].report_id}, kept with case")
    assert second.read_bytes() == new
    assert kept_reports(CASE_ID) == kept
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".second.pdf.")]


def test_an_unwritable_file_is_said_and_the_report_is_kept(tmp_path: Path) -> None:
    case = make_case(case_id=CASE_ID)
    case_file = save_case_file(case, tmp_path / "case.blockplan.json")
    out = tmp_path / "gone" / "report.pdf"
    result = CliRunner().invoke(
        main, ["report", str(case_file), "-o", str(out), "--date", FIRST, "--author", "Dr. A"]
    )
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    (kept,) = kept_reports(CASE_ID)
    assert result.output.strip().endswith(
        f"{out}: cannot write the report (No such file or directory); check that the folder "
        "exists and is writable, or choose another file — the report is kept with the case "
        f"all the same (report {kept.report_id}: a later archive sends it)"
    )
    assert not out.parent.exists()
    # the same bytes written elsewhere: kept once, the file private
    pdf = kept.path.read_bytes()
    written, again = write_signed_report(case, pdf, tmp_path / "report.pdf")
    assert (written.read_bytes(), again, kept_reports(CASE_ID)) == (pdf, kept, [kept])
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    index = json.loads((kept.path.parent / "index.json").read_text(encoding="utf-8"))
    assert [e["file"] for e in index] == [kept.path.name]


def test_a_report_of_another_case_is_neither_kept_nor_written(tmp_path: Path) -> None:
    case = make_case(case_id=CASE_ID)
    case_file = save_case_file(case, tmp_path / "case.blockplan.json")
    _report(case_file, tmp_path / "mine.pdf", FIRST)
    other = make_case(case_id="beef0000beef0000beef0000beef0000", patient_id="OTHER-7")
    out = tmp_path / "other.pdf"
    with pytest.raises(ReportError):
        write_signed_report(other, (tmp_path / "mine.pdf").read_bytes(), out)
    assert not out.exists()
    assert kept_reports(other.case_id) == []


def test_the_cli_writes_through_the_one_function(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, bytes, Path]] = []
    real = kept_module.write_signed_report

    def spy(case, pdf, path):  # type: ignore[no-untyped-def]
        calls.append((case.case_id, pdf, Path(path)))
        return real(case, pdf, path)

    monkeypatch.setattr(kept_module, "write_signed_report", spy)
    case_file = save_case_file(make_case(case_id=CASE_ID), tmp_path / "case.blockplan.json")
    out = tmp_path / "report.pdf"
    _report(case_file, out, FIRST)
    assert calls == [(CASE_ID, out.read_bytes(), out)]
