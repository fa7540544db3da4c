"""Coded concepts of the archive objects: SNOMED CT and DICOM where they exist, else ours.

Standard codes come from pydicom's code dictionary (``pydicom.sr.codedict.codes``, DICOM
PS3.16 as pydicom 3.0 ships it), so only concepts that PS3.16 itself uses are taken from
SNOMED CT (SCT) or DICOM (DCM). Written with a standard code:

* structures: sacroiliac joint (SCT 39723000); a disc at a motion segment that CID 7604
  "Intervertebral Disc" lists (C2/C3 … L5/S1, e.g. SCT 84020006 "L4/L5 disc"); the
  thecal sac as "Dura mater" (SCT 18545000); artery;
* levels: the vertebrae C1–L5 (CID 7603) and the disc levels C2/C3 … L5/S1 (CID 1003);
* concept names: Target (DCM 112162), Instrument Approach, Topographical modifier,
  Laterality, Procedure Code (DCM 121023, the block type's name) and the adjudication
  profile as TID 4019 Algorithm Name / Algorithm Version (DCM 111001 / 111003);
* values: Positive / Negative (CID 250) for a block's verdict, Indeterminate (SCT
  82334004) for a pain source's status, Left / Right / Bilateral / Midline, Cranial /
  Caudal, Yes / No / Not Evaluated.

PS3.16 has no concept — checked against every SCT, DCM and LN concept pydicom holds —
for a spinal nerve root (only "Nerve"), a zygapophysial (facet) joint (only "Joint"), the
epidural space, an individual sacral vertebra (S1–S5: only "Sacrum" as a whole), L6, the
C1-C2, L5-L6 and L6-S1 segments, a block type or approach as blockplan defines them, the
C-arm angles as the physician sets them (DCM 112011/112012 Positioner Primary/Secondary
Angle are signed RAO/LAO and caudal/cranial angles, not an oblique from the straight AP view
with its side named), a path's clearances (DCM 121206 "Distance" is never negative; a clearance is
when the path passes through the structure) and the evidence ledger's statuses and
verdicts other than those above. These use the private coding scheme ``99BLOCKPLAN``
(PS3.16 §8.2: a designator beginning with "99" is private), declared in every object's
CodingSchemeIdentificationSequence. dciodvfy warns once per private code item
("Unrecognized defined term <99BLOCKPLAN>") — it checks the designator, not context groups.

Tables (value → code) are data: `STRUCTURE_CODES` (with `structure_code` for discs),
`BLOCK_TYPE_CODES`, `APPROACH_CODES`, `SIDE_CODES`, `STATUS_CODES`, `VERDICT_CODES`,
`level_code`. `PRIVATE_CODES` lists every private code still written, with its meaning;
the README prints the same table. `LEGACY_PRIVATE_CODES` lists private codes of earlier
versions that now have a standard code: reading goes the other way (`structure_from_code`,
…) and accepts both, and the code values alone, so SRs already archived and a PACS that
rewrites code meanings do not break reading.
"""

from __future__ import annotations

import itertools
from typing import TypeVar

from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from blockplan.case.vocab import (
    Approach,
    BlockType,
    Laterality,
    SpinalLevel,
    Structure,
    parse_level,
)
from blockplan.outcomes.adjudication import Verdict
from blockplan.outcomes.evidence import UNTESTED, Status
from blockplan.planning.wording import STRAIGHT_AP

__all__ = [
    "APPROACH_CODES",
    "BLOCK_TYPE_CODES",
    "DISC_CODES",
    "LANDMARK_CODES",
    "LEGACY_PRIVATE_CODES",
    "PRIVATE_CODES",
    "PRIVATE_SCHEME",
    "SIDE_CODES",
    "STANDARD_CONCEPTS",
    "STATUS_CODES",
    "STRUCTURE_CODES",
    "UNTESTED_STATUS_CODE",
    "VERDICT_CODES",
    "CodeLike",
    "approach_from_code",
    "block_type_from_code",
    "code_value_and_scheme",
    "coding_scheme_identification",
    "concept",
    "concept_keys",
    "landmark_kind_from_code",
    "level_code",
    "level_from_code",
    "private",
    "same_code",
    "side_from_code",
    "status_from_code",
    "status_key_code",
    "status_key_from_code",
    "structure_code",
    "structure_from_code",
    "verdict_from_code",
]

K = TypeVar("K")

PRIVATE_SCHEME = "99BLOCKPLAN"
"""Coding scheme designator of blockplan's private codes."""

PRIVATE_SCHEME_NAME = "blockplan private codes"
PRIVATE_SCHEME_ORGANIZATION = "blockplan project"

PRIVATE_CODES: dict[str, str] = {
    # structures without a standard code in PS3.16
    "NERVE-ROOT": "Spinal nerve root",
    "FACET-JOINT": "Zygapophysial (facet) joint",
    "DISC": "Intervertebral disc",
    "EPIDURAL-SPACE": "Epidural space",
    # block types
    "BLK-MBB": "Medial branch block",
    "BLK-FACET-IA": "Facet joint intra-articular injection",
    "BLK-SNRB": "Selective nerve root block",
    "BLK-TFESI": "Transforaminal epidural injection",
    "BLK-ILESI": "Interlaminar epidural injection",
    "BLK-CAUDAL": "Caudal epidural injection",
    "BLK-SIJ": "Sacroiliac joint injection",
    "BLK-DISCO": "Provocative discography",
    # approaches
    "APP-SUBPEDICULAR": "Subpedicular (safe triangle) approach",
    "APP-RETRODISCAL": "Retrodiscal (Kambin triangle) approach",
    "APP-INFRANEURAL": "Infraneural approach",
    "APP-EXTRAFORAM": "Extraforaminal approach",
    "APP-INTERLAMINAR": "Interlaminar approach",
    "APP-CAUDAL": "Caudal (sacral hiatus) approach",
    "APP-POST-OBLIQUE": "Posterior oblique approach",
    "APP-POSTERIOR": "Posterior approach",
    "APP-OTHER": "Other approach",
    # concept names
    "TRAJECTORY": "Planned needle trajectory",
    "OBLIQUE": f"C-arm oblique angle from {STRAIGHT_AP}",
    "OBLIQUE-SIDE": "C-arm oblique side",
    "TILT": "C-arm cranio-caudal tilt",
    "TILT-DIR": "C-arm tilt direction",
    "CLEAR-LANDMARK": "Clearance to nearest marked structure",
    "CLEAR-SCAR": "Distance to nearest scar voxel",
    "CLEAR-STRUCTURE": "Nearest marked structure",
    "CLEAR-OF-KIND": "Clearance to the nearest marked structure of its kind",
    "CLEAR-BONE": "Clearance of the needle shaft to bone on CT",
    "PATH-SAFE": "Planned path passes the safety checks",
    "STRUCT-OTHER": "Other marked structure",
    "PLAN": "Diagnostic spinal nerve block planning",
    "NO-TILT": "No tilt",
    # the value is kept for the SRs already archived; the meaning names the view as the
    # screen does (`blockplan.planning.wording.STRAIGHT_AP`), and it reads back as "midline"
    "TRUE-PA": f"{STRAIGHT_AP[0].upper()}{STRAIGHT_AP[1:]} (no oblique)",
    # the evidence ledger (decision support; statuses and verdicts under a named profile)
    "PAIN-SOURCE": "Candidate pain source",
    "DIAG-BLOCK": "Diagnostic block",
    "LEDGER-STATUS": "Pain-source status under the adjudication profile",
    "BLOCK-VERDICT": "Block verdict under the adjudication profile",
    "MISSING-POINT": "Missing pain diary time point",
    "S-CONFIRMED": "Confirmed pain source",
    "S-PROBABLE": "Probable pain source, awaiting confirmation",
    "S-NEEDS-REVIEW": "Needs the physician's review before it counts",
    "S-PENDING": "Pending: a block's record is incomplete",
    "S-EXCLUDED": "Not supported as a pain source",
    "V-PLACEBO-RESP": "Placebo response to saline control",
    "V-NO-PLACEBO": "No placebo response to saline control",
    "V-NOT-DIAGNOSTIC": "Not diagnostic (validity flag)",
    "V-PENDING": "Pending: record incomplete",
    "V-NEEDS-REVIEW": "Needs the physician's review",
    "V-NOT-APPLICABLE": "Not adjudicated under the profile",
}
"""Every private code written today: value → meaning (values ≤ 16 characters, meanings ≤
64). Only what PS3.16 has no concept for (see the module docstring)."""

LEGACY_PRIVATE_CODES: dict[str, str] = {
    "TARGET": "Injection target",
    "BLOCK-TYPE": "Planned block type",
    "APPROACH": "Needle approach",
    "SPINAL-LEVEL": "Spinal level",
    "CLEAR-LEVEL": "Level of nearest marked structure",
    "CLEAR-SIDE": "Side of nearest marked structure",
    "PROFILE": "Adjudication profile",
    "S-INDETERMINATE": "Indeterminate: the blocks so far do not decide",
    "V-POSITIVE": "Positive block",
    "V-NEGATIVE": "Negative block",
    "THECAL-SAC": "Thecal sac",
}
"""Private codes of earlier versions that now have a standard code: read, never written."""


def private(value: str) -> Code:
    """The private code ``value`` of scheme `PRIVATE_SCHEME` (written or legacy)."""
    meaning = PRIVATE_CODES.get(value) or LEGACY_PRIVATE_CODES[value]
    return Code(value, PRIVATE_SCHEME, meaning)


STANDARD_CONCEPTS: dict[str, Code] = {
    "TARGET": codes.DCM.Target,  # finding type of a target group
    "APPROACH": codes.DCM.InstrumentApproach,
    "SPINAL-LEVEL": codes.SCT.TopographicalModifier,
    "CLEAR-LEVEL": codes.SCT.TopographicalModifier,
    "CLEAR-SIDE": codes.SCT.Laterality,
    "BLOCK-TYPE": codes.DCM.ProcedureCode,
}
"""Concepts written with a standard code (DICOM PS3.16, via pydicom) instead of the private
one of the same key; readers accept both (files written before)."""


def concept(name: str) -> Code:
    """The code written for concept ``name``: standard when PS3.16 has one, else private."""
    return STANDARD_CONCEPTS.get(name) or private(name)


def concept_keys(code: CodeLike) -> list[str]:
    """The concept keys a code stands for (a private key, or the keys of a standard code)."""
    value, scheme = code_value_and_scheme(code)
    if scheme == PRIVATE_SCHEME:
        return [value]
    return [
        k for k, c in STANDARD_CONCEPTS.items() if (c.value, c.scheme_designator) == (value, scheme)
    ]


def coding_scheme_identification() -> Dataset:
    """The CodingSchemeIdentificationSequence item that declares `PRIVATE_SCHEME`."""
    item = Dataset()
    item.CodingSchemeDesignator = PRIVATE_SCHEME
    item.CodingSchemeName = PRIVATE_SCHEME_NAME
    item.CodingSchemeResponsibleOrganization = PRIVATE_SCHEME_ORGANIZATION
    return item


STRUCTURE_CODES: dict[Structure, Code] = {
    Structure.NERVE_ROOT: private("NERVE-ROOT"),
    Structure.FACET_JOINT: private("FACET-JOINT"),
    Structure.DISC: private("DISC"),
    Structure.SACROILIAC_JOINT: codes.SCT.SacroiliacJoint,
    Structure.EPIDURAL_SPACE: private("EPIDURAL-SPACE"),
}

BLOCK_TYPE_CODES: dict[BlockType, Code] = {
    BlockType.MEDIAL_BRANCH: private("BLK-MBB"),
    BlockType.FACET_INTRAARTICULAR: private("BLK-FACET-IA"),
    BlockType.SELECTIVE_NERVE_ROOT: private("BLK-SNRB"),
    BlockType.TRANSFORAMINAL_EPIDURAL: private("BLK-TFESI"),
    BlockType.INTERLAMINAR_EPIDURAL: private("BLK-ILESI"),
    BlockType.CAUDAL_EPIDURAL: private("BLK-CAUDAL"),
    BlockType.SACROILIAC_JOINT: private("BLK-SIJ"),
    BlockType.DISCOGRAPHY: private("BLK-DISCO"),
}

APPROACH_CODES: dict[Approach, Code] = {
    Approach.SUBPEDICULAR: private("APP-SUBPEDICULAR"),
    Approach.RETRODISCAL: private("APP-RETRODISCAL"),
    Approach.INFRANEURAL: private("APP-INFRANEURAL"),
    Approach.EXTRAFORAMINAL: private("APP-EXTRAFORAM"),
    Approach.INTERLAMINAR: private("APP-INTERLAMINAR"),
    Approach.CAUDAL: private("APP-CAUDAL"),
    Approach.POSTERIOR_OBLIQUE: private("APP-POST-OBLIQUE"),
    Approach.POSTERIOR: private("APP-POSTERIOR"),
    Approach.OTHER: private("APP-OTHER"),
}

LANDMARK_CODES: dict[str, Code] = {
    "nerve_root": private("NERVE-ROOT"),
    "thecal_sac": codes.SCT.DuraMater,
    "artery": codes.SCT.Artery,
    "other": private("STRUCT-OTHER"),
}
"""Kind of a marked structure (`~blockplan.case.model.Landmark.kind`) → code. The thecal
sac is the spinal dural sac: SNOMED "Dura mater" (18545000, CID 7151), the structure whose
puncture its clearance guards against (PS3.16 has no "thecal sac")."""

_LEGACY_LANDMARKS = {"thecal_sac": private("THECAL-SAC")}

SIDE_CODES: dict[Laterality, Code] = {
    Laterality.LEFT: codes.SCT.Left,
    Laterality.RIGHT: codes.SCT.Right,
    Laterality.BILATERAL: codes.SCT.Bilateral,
    Laterality.MIDLINE: codes.SCT.Midline,
}


def _status_private(status: Status) -> Code:
    return private(f"S-{status.value.upper().replace('_', '-')}")


STATUS_CODES: dict[Status, Code] = {
    s: codes.SCT.Indeterminate if s is Status.INDETERMINATE else _status_private(s) for s in Status
}
"""Ledger status → code (`blockplan.outcomes.Status`): SNOMED "Indeterminate", else private."""

UNTESTED_STATUS_CODE: Code = codes.SCT.NotPerformed
"""The status of a source no diagnostic block has tested (`~blockplan.outcomes.shown_status`
is None — "no diagnostic block yet"; its ledger status is indeterminate): SNOMED CT "Not
performed" (262008008), written instead of "Indeterminate" so that the SR states what the
report and the Outcomes panel show. SRs written before read such a source as
indeterminate."""


def status_key_code(key: str) -> Code:
    """The code of a `~blockplan.outcomes.shown_status_key` (a status value or
    ``"untested"``)."""
    return UNTESTED_STATUS_CODE if key == UNTESTED else STATUS_CODES[Status(key)]


def status_key_from_code(code: CodeLike) -> str:
    """Inverse of `status_key_code`: a status value or ``"untested"``."""
    if same_code(code, UNTESTED_STATUS_CODE):
        return UNTESTED
    return status_from_code(code).value


_VERDICT_VALUES = {
    Verdict.PLACEBO_RESPONSE: "V-PLACEBO-RESP",
    Verdict.NO_PLACEBO_RESPONSE: "V-NO-PLACEBO",
}
_STANDARD_VERDICTS = {Verdict.POSITIVE: codes.SCT.Positive, Verdict.NEGATIVE: codes.SCT.Negative}


def _verdict_private(verdict: Verdict) -> Code:
    return private(_VERDICT_VALUES.get(verdict, f"V-{verdict.value.upper().replace('_', '-')}"))


VERDICT_CODES: dict[Verdict, Code] = {
    v: _STANDARD_VERDICTS.get(v) or _verdict_private(v) for v in Verdict
}
"""Block verdict → code (`blockplan.outcomes.Verdict`): Positive / Negative of CID 250
"Positive/Negative", else private."""

_LEGACY_STATUS = {Status.INDETERMINATE: _status_private(Status.INDETERMINATE)}
_LEGACY_VERDICTS = {v: _verdict_private(v) for v in _STANDARD_VERDICTS}


def _disc_name(segment: str) -> str:
    upper, lower = segment.split("-")
    return f"{upper}{lower}Disc"


def _segments() -> list[str]:
    names = [lv.value for lv in SpinalLevel]
    return [f"{a}-{b}" for a, b in itertools.pairwise(names)] + ["L5-S1"]


DISC_CODES: dict[str, Code] = {
    seg: code
    for seg in _segments()
    if isinstance(code := getattr(codes.SCT, _disc_name(seg), None), Code)
}
"""Motion segment → its disc in CID 7604 "Intervertebral Disc" (``"L4-L5"`` → SCT
84020006 "L4/L5 disc"); C2-C3 to L5-S1."""


def structure_code(structure: Structure, level: str | None = None) -> Code:
    """The code of a targeted structure at ``level``: a disc at a segment of `DISC_CODES`
    is that disc (SCT), every other structure its `STRUCTURE_CODES` entry."""
    if structure is Structure.DISC and level:
        try:
            disc = DISC_CODES.get(parse_level(level))
        except ValueError:
            disc = None
        if disc is not None:
            return disc
    return STRUCTURE_CODES[structure]


def _level_name(level: str) -> str:
    # "L4-L5" -> "L4L5Disc" level concept; "L5" -> "L5Vertebra"
    if "-" in level:
        upper, lower = level.split("-")
        return f"LevelOf{upper}{lower}IntervertebralDisc"
    return f"{level}Vertebra"


def level_code(level: str) -> Code:
    """The code of a spinal level (``"L5"`` or ``"L4-L5"``).

    A vertebra maps to its SNOMED CT vertebra concept (``L5 vertebra``), a motion
    segment to SNOMED's "Level of L4/L5 intervertebral disc", which names the level
    without claiming the disc is the structure. Levels without a concept in PS3.16
    (S1–S5, L6, C1-C2, L5-L6, L6-S1) use the private code ``LEVEL-<level>``.
    """
    level = parse_level(level)
    code = getattr(codes.SCT, _level_name(level), None)
    if isinstance(code, Code):
        return code
    return Code(f"LEVEL-{level}", PRIVATE_SCHEME, f"Spinal level {level}")


CodeLike = Code | Dataset
"""A code as pydicom writes it (`Code`) or as it is read from a file: a code item
(``CodeValue``, ``CodingSchemeDesignator``) or highdicom's `CodedConcept` (a `Dataset`)."""


def code_value_and_scheme(code: CodeLike) -> tuple[str, str]:
    """The value and scheme designator of a code, however it is held."""
    if isinstance(code, Code):
        return str(code.value), str(code.scheme_designator)
    return str(code.get("CodeValue", "")), str(code.get("CodingSchemeDesignator", ""))


def same_code(a: CodeLike, b: Code) -> bool:
    """True when ``a`` (a Code, CodedConcept or code item) has b's value and scheme."""
    return code_value_and_scheme(a) == (b.value, b.scheme_designator)


def _lookup(
    table: dict[K, Code], code: CodeLike, what: str, legacy: dict[K, Code] | None = None
) -> K:
    for key, known in [*table.items(), *(legacy or {}).items()]:
        if same_code(code, known):
            return key
    value, scheme = code_value_and_scheme(code)
    raise ValueError(f"unknown {what} code ({value}, {scheme or '?'})")


def structure_from_code(code: CodeLike) -> Structure:
    """Inverse of `structure_code`: any disc of `DISC_CODES` is `Structure.DISC`
    (ValueError for an unknown code)."""
    if any(same_code(code, disc) for disc in DISC_CODES.values()):
        return Structure.DISC
    return _lookup(STRUCTURE_CODES, code, "structure")


def block_type_from_code(code: CodeLike) -> BlockType:
    """Inverse of `BLOCK_TYPE_CODES`."""
    return _lookup(BLOCK_TYPE_CODES, code, "block type")


def approach_from_code(code: CodeLike) -> Approach:
    """Inverse of `APPROACH_CODES`."""
    return _lookup(APPROACH_CODES, code, "approach")


def landmark_kind_from_code(code: CodeLike) -> str:
    """Inverse of `LANDMARK_CODES`; also reads the private ``THECAL-SAC`` of earlier
    versions."""
    return _lookup(LANDMARK_CODES, code, "marked structure", _LEGACY_LANDMARKS)


def side_from_code(code: CodeLike) -> Laterality:
    """Inverse of `SIDE_CODES`."""
    return _lookup(SIDE_CODES, code, "laterality")


def status_from_code(code: CodeLike) -> Status:
    """Inverse of `STATUS_CODES`; also reads the private ``S-INDETERMINATE`` of earlier
    versions."""
    return _lookup(STATUS_CODES, code, "ledger status", _LEGACY_STATUS)


def verdict_from_code(code: CodeLike) -> Verdict:
    """Inverse of `VERDICT_CODES`; also reads the private ``V-POSITIVE`` / ``V-NEGATIVE``
    of earlier versions."""
    return _lookup(VERDICT_CODES, code, "block verdict", _LEGACY_VERDICTS)


def level_from_code(code: CodeLike) -> str:
    """Inverse of `level_code`: the level text (``"L5"``, ``"L4-L5"``)."""
    value, scheme = code_value_and_scheme(code)
    if scheme == PRIVATE_SCHEME and value.startswith("LEVEL-"):
        return parse_level(value.removeprefix("LEVEL-"))
    candidates = [lv.value for lv in SpinalLevel] + _segments()
    for level in candidates:
        try:
            known = level_code(level)
        except ValueError:
            continue
        if known.scheme_designator != PRIVATE_SCHEME and same_code(code, known):
            return level
    raise ValueError(f"unknown spinal level code ({value}, {scheme})")
