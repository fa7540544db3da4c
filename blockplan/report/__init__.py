"""The report: a PDF/A-2b document of a case, built headless with reportlab.

>>> from blockplan.report import ReportOptions, write_report
>>> opts = ReportOptions(author="Dr A")
>>> write_report(case, "report.pdf", volumes=[ct], options=opts)  # doctest: +SKIP

Contents, in reading order: header (clinic, patient, study, report), the pain-source
findings, a pain-source map, key images (axial plane through each target with trajectory
and scar; sagittal overview with level labels), targets and trajectories, procedures,
pain-diary charts, adjudication details with the profile name and version, reevaluation
suggestions, signature. Every page carries "page x of y", the report id and "decision
support, not a medical device".
"""

from blockplan.report.document import DISCLAIMER, build_report, prepare_report, write_report
from blockplan.report.findings import (
    BlockFinding,
    BlockFlag,
    CurvePoint,
    ReportFindings,
    SourceFinding,
    Suggestion,
    findings_from_ledger,
)
from blockplan.report.options import ReportOptions, derive_report_id

__all__ = [
    "DISCLAIMER",
    "BlockFinding",
    "BlockFlag",
    "CurvePoint",
    "ReportFindings",
    "ReportOptions",
    "SourceFinding",
    "Suggestion",
    "build_report",
    "derive_report_id",
    "findings_from_ledger",
    "prepare_report",
    "write_report",
]
