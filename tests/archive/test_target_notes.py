"""A target's notes: the same words, line for line, in the case, the report and the SR.

The notes are printed under the target's row of the report's targets table (after "Notes
on <target name>:", each line of the notes a line of the PDF) and written as a TEXT
Comment (DCM 121106) of the target's measurement group in the SR, read back whole.
"""

from __future__ import annotations

import io

from pydicom.dataset import Dataset
from pypdf import PdfReader

from blockplan.archive import read_sr, validate_dataset
from blockplan.archive.bundle import build_archive
from blockplan.archive.coding import PRIVATE_SCHEME
from blockplan.archive.sr import _groups, _tracking_text
from blockplan.case.model import Case
from blockplan.planning.target_label import MAX_TARGET_NOTES_CHARS, set_target_notes
from blockplan.planning.wording import target_names
from tests.archive._factory import Study, metrics_for
from tests.archive.test_objects import needs_dciodvfy, reread

NOTES = "prior laminectomy at L4 left: from lateral\npatient prefers no sedation & <no> contrast"


def pdf_text(pdf: bytes) -> str:
    """The report's text as pypdf extracts it, pages joined by line breaks."""
    return "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages)


def notes_in_report(pdf: bytes, case: Case, target_id: str) -> bool:
    """True when the report prints the target's notes whole under "Notes on <name>:", each
    line of the notes a line of the PDF."""
    name = target_names(case.targets)[target_id]
    return f"Notes on {name}:\n{case.target(target_id).notes}\n" in pdf_text(pdf)


def sr_notes(sr: Dataset) -> dict[str, str]:
    """Target id → the TEXT Comment of its group in the SR (targets with notes only)."""
    out: dict[str, str] = {}
    for group in _groups(sr.ContentSequence):
        tracking = _tracking_text(group)
        if tracking.startswith("target:"):
            for item in group.ContentSequence:
                if (
                    item.get("ValueType") == "TEXT"
                    and item.ConceptNameCodeSequence[0].CodeValue == "121106"
                ):
                    out[tracking.split()[0][len("target:") :]] = str(item.TextValue)
    return out


@needs_dciodvfy
def test_target_notes_read_the_same_in_the_report_and_the_sr(study: Study, case: Case) -> None:
    second = case.targets[1]
    noted = set_target_notes(case, second.id, NOTES)
    objects = build_archive(noted, study.headers, volume=study.volume, metrics=metrics_for(noted))
    sr = reread(objects.sr)

    assert noted.target(second.id).notes == NOTES
    assert notes_in_report(objects.pdf, noted, second.id)
    assert sr_notes(sr) == {second.id: NOTES}  # the target without notes has none
    assert pdf_text(objects.pdf).count("Notes on ") == 1
    plan = read_sr(sr)
    assert {t.id: t.notes for t in plan.targets} == {
        t.id: (NOTES if t.id == second.id else "") for t in case.targets
    }
    result = validate_dataset(sr)
    assert result.errors == (), result.errors
    assert all(PRIVATE_SCHEME in w for w in result.warnings), result.warnings


def test_the_longest_notes_are_written_whole(study: Study, case: Case) -> None:
    """Notes of the longest length accepted, over many lines: the SR holds all of them."""
    text = "\n".join(f"line {n} " + "x" * 40 for n in range(60))[:MAX_TARGET_NOTES_CHARS]
    noted = set_target_notes(case, case.targets[0].id, text)
    objects = build_archive(noted, study.headers, volume=study.volume, metrics=metrics_for(noted))
    assert sr_notes(reread(objects.sr)) == {case.targets[0].id: text}
