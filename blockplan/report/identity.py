"""Which case a report PDF belongs to, read back from the file itself.

Every report carries in its XMP metadata (Dublin Core ``dc:identifier`` and
``dc:relation``, predefined properties of PDF/A, so no extension schema is needed):

* ``dc:identifier`` — the report id;
* ``urn:blockplan:case:<case id>`` — the case;
* ``urn:blockplan:study:<StudyInstanceUID>`` — the study (empty when the case has none);
* ``urn:blockplan:patient-sha256:<digest>`` — SHA-256 of the case id and the patient id,
  so another patient's report is recognised without writing the patient id into
  metadata (and the digest cannot be linked across cases).

`check_report_for_case` refuses a PDF that is not PDF/A-2 or whose case, study, patient
or report id do not match the case: the report archived must be the one made for it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass

from blockplan.case.model import Case
from blockplan.errors import ReportError

__all__ = [
    "ReportIdentity",
    "case_relations",
    "check_report_for_case",
    "patient_digest",
    "read_report_identity",
]

_CASE, _STUDY, _PATIENT = (
    "urn:blockplan:case:",
    "urn:blockplan:study:",
    "urn:blockplan:patient-sha256:",
)
_REPORT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def patient_digest(case: Case) -> str:
    """SHA-256 (hex) of the case id and patient id: names the patient without revealing it."""
    text = f"blockplan-patient|{case.case_id}|{case.patient.patient_id}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def case_relations(case: Case) -> tuple[str, ...]:
    """The ``dc:relation`` entries a report of ``case`` carries (see the module docs)."""
    study = case.study.study_instance_uid if case.study is not None else ""
    return (f"{_CASE}{case.case_id}", f"{_STUDY}{study}", f"{_PATIENT}{patient_digest(case)}")


@dataclass(frozen=True, slots=True)
class ReportIdentity:
    """What a report PDF says about itself (no patient-identifying value)."""

    report_id: str
    case_id: str
    study_instance_uid: str
    patient_digest: str
    pdfa: str
    created_at: dt.datetime | None


def read_report_identity(pdf: bytes, name: str = "the report") -> ReportIdentity:
    """Read the report id, case, study, patient digest and PDF/A claim of a report PDF.

    Raises
    ------
    ReportError
        When ``pdf`` is not a readable PDF (``name`` says which file).
    """
    import pikepdf

    try:
        with pikepdf.open(io.BytesIO(pdf)) as doc, doc.open_metadata() as meta:
            relations = [str(r) for r in (meta.get("dc:relation") or [])]
            part, level = meta.get("pdfaid:part", ""), meta.get("pdfaid:conformance", "")
            report_id = str(meta.get("dc:identifier", "") or "")
            created = str(meta.get("xmp:CreateDate", "") or "")
    except (pikepdf.PdfError, ValueError, TypeError) as err:
        raise ReportError(
            f"{name}: not a readable PDF ({type(err).__name__}); give the report PDF "
            "blockplan wrote"
        ) from err

    def related(prefix: str) -> str:
        return next((r[len(prefix) :] for r in relations if r.startswith(prefix)), "")

    return ReportIdentity(
        report_id=report_id,
        case_id=related(_CASE),
        study_instance_uid=related(_STUDY),
        patient_digest=related(_PATIENT),
        pdfa=f"{part}{level}".upper(),
        created_at=_parse_date(created),
    )


def _parse_date(text: str) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def check_report_for_case(pdf: bytes, case: Case, name: str = "the report") -> ReportIdentity:
    """Refuse a report PDF that is not PDF/A-2 or not this case's (case, study, patient, id).

    Returns
    -------
    ReportIdentity
        What the report says about itself.

    Raises
    ------
    ReportError
        Naming the file and the field that differs (never its value, when identifying)
        and what to do.
    """
    found = read_report_identity(pdf, name)
    if not found.pdfa.startswith("2"):
        claim = f"PDF/A-{found.pdfa}" if found.pdfa else "no PDF/A claim"
        raise ReportError(
            f"{name}: expected a PDF/A-2 report, found {claim}; give the report blockplan "
            "wrote (blockplan report), not a printed or converted copy"
        )
    expected = read_expected(case)
    for field, label in (
        ("case_id", "case id"),
        ("study_instance_uid", "StudyInstanceUID"),
        ("patient_digest", "patient"),
    ):
        if getattr(found, field) != getattr(expected, field):
            raise ReportError(
                f"{name}: its {label} does not match case {case.case_id} (another "
                "patient's, study's or case's report?); give the report made for this case"
            )
    if not _REPORT_ID.match(found.report_id):
        raise ReportError(
            f"{name}: no valid report id in its metadata (dc:identifier); give the report "
            "blockplan wrote for this case"
        )
    return found


def read_expected(case: Case) -> ReportIdentity:
    """The identity a report of ``case`` must carry (report id and date unknown: empty)."""
    study = case.study.study_instance_uid if case.study is not None else ""
    return ReportIdentity("", case.case_id, study, patient_digest(case), "2B", None)
