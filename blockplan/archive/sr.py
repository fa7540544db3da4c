"""The plan as a DICOM Comprehensive 3D SR measurement report (TID 1500), and back.

Content (one Measurement Group per item, all under "Imaging Measurements"):

* **Target** — TID 1410 group: Tracking Identifier ``target:<id> <name>`` (the target's
  name, `blockplan.planning.wording.target_name`, e.g. ``T5 · L5 left SNRB``, whose number
  is the target's own and is read back with it; followed by
  `` | <label>`` when the physician gave the target a label), Finding
  (99BLOCKPLAN ``TARGET``), Finding Site = the structure (SNOMED CT "Sacroiliac joint"
  or a private code) with Laterality (SNOMED Left/Right/Bilateral) or topographical
  modifier Midline, qualitative evaluations *Spinal level* (SNOMED vertebra or "Level
  of L4/L5 intervertebral disc", else private), *Planned block type* and *Needle
  approach*, the point as SCOORD3D POINT in the frame of reference, and the physician's
  notes on the target (when there are any) as a TEXT Comment (DCM 121106), whole.
* **Trajectory** — TID 1410 group: ``trajectory:<id> target:<target id> <name>``,
  SCOORD3D POLYLINE entry → target, measurements Path length (DCM 121211, mm), Needle
  Length (DCM 111467, mm, the suggested needle), C-arm oblique and tilt (deg, private
  names, with side and direction as qualitative evaluations), clearance to the nearest
  marked structure, to the nearest marked structure of each kind (``CLEAR-OF-KIND``, one
  per kind, each with its Finding Site: the structure, its laterality and its level as
  topographical modifier), of the shaft to bone on the CT (``CLEAR-BONE``) and distance to
  scar (mm, private names), and the safety verdict ``PATH-SAFE``: SNOMED Yes (safe), No
  (unsafe) or Not Evaluated (not assessed, `blockplan.planning.SafetyVerdict`).
* **Scar** — TID 1411 group per scar region (total) and per level: Referenced Segment
  (the SEG segment), Finding SNOMED "Scar tissue", Finding Site "Vertebral canal",
  Volume (SNOMED 118565006) in UCUM ``ml``; per-level groups carry the level as a
  qualitative evaluation (the part of the segment at that level).

* **Ledger** (decision support) — a TID 1501 group per pain source of the evidence ledger
  (``source:<label>``, Finding 99BLOCKPLAN ``PAIN-SOURCE``, its sites as Finding Sites,
  qualitative evaluations *Pain-source status* (``S-CONFIRMED`` … ``S-PENDING``,
  ``S-NEEDS-REVIEW``; SNOMED "Indeterminate"; SNOMED "Not performed" for a source no
  diagnostic block has tested — "no diagnostic block yet" in the report and the Outcomes
  panel, `blockplan.outcomes.shown_status`) and
  *Adjudication profile* (the profile name and version), and per
  block (``block:<number> <procedure id>``, Finding ``DIAG-BLOCK``) its *Block verdict*
  and, for a pending block or one whose missing points decide it, each *Missing pain
  diary time point* in minutes. The reasons in words are in the report PDF.

* **Interpolated series** — when the case records that the series the plan was made on
  was resampled onto regular spacing (`blockplan.case.SeriesRef.interpolated`), a TEXT
  Comment in TID 1500's *Qualitative Evaluations* container says so in the words of
  `blockplan.io.volume.interpolated_statement` (its mark is the napari layer's and the
  report captions').

Tracking UIDs are derived from the case id and item id, so re-archiving a case keeps
them (PACS can follow a target across reports). Free-text notes other than a target's
are not written.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code
from pydicom.valuerep import DA, TM

from blockplan.archive._common import (
    MANUFACTURER,
    derived_uid,
    new_uid,
    redact,
    software_version,
    with_type2,
)
from blockplan.archive.coding import (
    APPROACH_CODES,
    BLOCK_TYPE_CODES,
    LANDMARK_CODES,
    PRIVATE_SCHEME,
    SIDE_CODES,
    VERDICT_CODES,
    approach_from_code,
    block_type_from_code,
    coding_scheme_identification,
    concept,
    concept_keys,
    landmark_kind_from_code,
    level_code,
    level_from_code,
    private,
    same_code,
    side_from_code,
    status_key_code,
    status_key_from_code,
    structure_code,
    structure_from_code,
    verdict_from_code,
)
from blockplan.case.model import Case, PatientPoint, ScarRegion, Target, Trajectory
from blockplan.case.vocab import Laterality
from blockplan.errors import ArchiveError
from blockplan.io.volume import interpolated_statement
from blockplan.outcomes.adjudication import BlockResult, SourceKey, Verdict
from blockplan.outcomes.evidence import SourceEvidence, shown_status_key
from blockplan.outcomes.ledger import Ledger
from blockplan.planning.paths import own_root_label
from blockplan.planning.trajectory import (
    SafetyVerdict,
    TrajectoryMetrics,
    unchecked_structures,
)
from blockplan.planning.wording import ClosestStructure, PathWords, path_words, target_names

__all__ = [
    "ArchivedPlan",
    "TrajectoryMeasurements",
    "build_measurement_report",
    "measurements_from",
    "read_sr",
    "read_sr_targets",
]

MM = Code("mm", "UCUM", "millimeter")
DEG = Code("deg", "UCUM", "degree")
ML = Code("ml", "UCUM", "milliliter")
MIN = Code("min", "UCUM", "minute")

_DEVICE_UID = derived_uid("blockplan device observer")


# --- measurements in ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TrajectoryMeasurements:
    """What the SR holds about a planned path (mm and degrees); None when not measured.

    ``oblique_side`` is the side the image intensifier rotates towards (``left``,
    ``right`` or ``midline`` for the straight AP view, code ``TRUE-PA``); ``tilt_direction``
    ``cranial``, ``caudal`` or ``none`` (see `blockplan.planning.wording`).
    ``landmark_clearance_mm`` is the clearance to the nearest marked structure (negative
    when the path passes through it), named by ``clearance_kind``, ``clearance_level`` and
    ``clearance_side``;
    ``structures`` the nearest marked structure of each kind as ``(clearance mm, kind,
    level, side)``; ``bone_clearance_mm`` the shaft's clearance to bone on the CT;
    ``verdict`` the safety verdict of the planning core.
    """

    path_length_mm: float | None = None
    needle_length_mm: float | None = None
    oblique_deg: float | None = None
    oblique_side: str | None = None
    tilt_deg: float | None = None
    tilt_direction: str | None = None
    landmark_clearance_mm: float | None = None
    clearance_kind: str | None = None
    clearance_level: str | None = None
    clearance_side: str | None = None
    scar_distance_mm: float | None = None
    structures: tuple[ClosestStructure, ...] = ()
    bone_clearance_mm: float | None = None
    verdict: SafetyVerdict | None = None
    own_root: str | None = None

    @property
    def safe(self) -> bool | None:
        """True only for the verdict *safe*; None when the SR holds no verdict."""
        return None if self.verdict is None else self.verdict is SafetyVerdict.SAFE

    def words(self) -> PathWords | None:
        """The path in the words of the planning screen and the report (None when the SR
        lacks a measurement those words need).

        What the path was not checked against (for a *not assessed* verdict) follows from
        the structures held, with their clearances (one beyond the assessment reach does not
        count), and whether a bone clearance is
        (`blockplan.planning.unchecked_structures`, the rule the planning core applied).
        """
        values = (self.path_length_mm, self.oblique_deg, self.oblique_side, self.tilt_deg)
        if any(v is None for v in values) or self.tilt_direction is None or self.verdict is None:
            return None
        closest = None
        if self.landmark_clearance_mm is not None and self.clearance_kind is not None:
            closest = (
                self.landmark_clearance_mm,
                self.clearance_kind,
                self.clearance_level,
                self.clearance_side,
            )
        return path_words(
            path_length_mm=float(self.path_length_mm or 0.0),
            needle_mm=self.needle_length_mm,
            oblique_deg=float(self.oblique_deg or 0.0),
            oblique_side=str(self.oblique_side),
            tilt_deg=float(self.tilt_deg or 0.0),
            tilt_direction=self.tilt_direction,
            closest=closest,
            structures=self.structures,
            bone_clearance_mm=self.bone_clearance_mm,
            scar_distance_mm=self.scar_distance_mm,
            verdict=self.verdict,
            unchecked=unchecked_structures(
                self.structures, ct_given=self.bone_clearance_mm is not None
            ),
            own_root=self.own_root,
        )


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def measurements_from(
    metrics: TrajectoryMetrics | TrajectoryMeasurements,
) -> TrajectoryMeasurements:
    """The SR content of a path measured by the planning core (`measure_paths`)."""
    if isinstance(metrics, TrajectoryMeasurements):
        return metrics
    closest = metrics.closest_landmark
    return TrajectoryMeasurements(
        path_length_mm=metrics.path_length_mm,
        needle_length_mm=metrics.suggested_needle_mm,
        oblique_deg=metrics.oblique_deg,
        oblique_side=metrics.oblique_side.value,
        tilt_deg=metrics.tilt_deg,
        tilt_direction=metrics.tilt_direction.value,
        landmark_clearance_mm=None if closest is None else closest.distance_mm,
        clearance_kind=None if closest is None else closest.kind,
        clearance_level=None if closest is None else closest.level,
        clearance_side=None if closest is None or closest.side is None else closest.side.value,
        scar_distance_mm=_finite(metrics.scar_distance_mm),
        structures=tuple(
            (c.distance_mm, c.kind, c.level, None if c.side is None else c.side.value)
            for c in metrics.nearest_structures
        ),
        bone_clearance_mm=metrics.bone_clearance_mm,  # +inf: no bone on the CT (kept as such)
        verdict=metrics.verdict,
    )


# --- building ------------------------------------------------------------------------------
def _tracking_uid(*parts: str) -> str:
    return derived_uid("blockplan", *parts)


def _tracking(identifier: str, *uid_parts: str) -> hd.sr.TrackingIdentifier:
    return hd.sr.TrackingIdentifier(uid=_tracking_uid(*uid_parts), identifier=identifier)


def _finding_site(structure_code: Code, side: Laterality | None) -> hd.sr.FindingSite:
    if side is None:
        return hd.sr.FindingSite(anatomic_location=structure_code)
    if side is Laterality.MIDLINE:
        return hd.sr.FindingSite(
            anatomic_location=structure_code, topographical_modifier=codes.SCT.Midline
        )
    return hd.sr.FindingSite(anatomic_location=structure_code, laterality=SIDE_CODES[side])


def _qual(name: str, value: Code) -> hd.sr.QualitativeEvaluation:
    return hd.sr.QualitativeEvaluation(name=concept(name), value=value)


def _target_tracking(target: Target, name: str) -> str:
    """``target:<id> <name>``, then `` | <label>`` when the target has a label."""
    label = f" | {target.label}" if target.label else ""
    return f"target:{target.id} {name}{label}"


def _target_group(
    case: Case, target: Target, name: str
) -> hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations:
    qualitative = [_qual("BLOCK-TYPE", BLOCK_TYPE_CODES[target.block_type])]
    if target.level:
        qualitative.append(_qual("SPINAL-LEVEL", level_code(target.level)))
    if target.approach is not None:
        qualitative.append(_qual("APPROACH", APPROACH_CODES[target.approach]))
    group = hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=_tracking(
            _target_tracking(target, name), case.case_id, "target", target.id
        ),
        referenced_region=hd.sr.ImageRegion3D(
            graphic_type=hd.sr.GraphicTypeValues3D.POINT,
            graphic_data=np.array([target.position.lps], dtype=np.float64),
            frame_of_reference_uid=target.position.frame_of_reference_uid,
        ),
        finding_type=concept("TARGET"),
        finding_sites=[_finding_site(structure_code(target.structure, target.level), target.side)],
        qualitative_evaluations=qualitative,
    )
    if target.notes:
        group[0].ContentSequence.append(_target_notes_item(target.notes))
    return group


def _target_notes_item(notes: str) -> hd.sr.TextContentItem:
    """The physician's notes on a target: a TEXT qualitative evaluation of its group (TID
    1410), Comment (DCM 121106), the whole text as stored (UT; line breaks as LF)."""
    return hd.sr.TextContentItem(
        name=codes.DCM.Comment,
        value=notes,
        relationship_type=hd.sr.RelationshipTypeValues.CONTAINS,
    )


def _target_notes(group: Dataset) -> str:
    """The notes written by `_target_notes_item` ("" when the group holds none)."""
    items = [i for i in _child(group, codes.DCM.Comment) if i.get("ValueType") == "TEXT"]
    return str(items[0].TextValue) if items else ""


def _side_value(text: str | None) -> Code | None:
    if text is None:
        return None
    text = text.lower()
    if text in ("left", "right"):
        return SIDE_CODES[Laterality(text)]
    if text in ("midline", "none", "pa"):
        return private("TRUE-PA")
    return None


def _tilt_value(text: str | None) -> Code | None:
    if text is None:
        return None
    return {"cranial": codes.SCT.Cranial, "caudal": codes.SCT.Caudal}.get(
        text.lower(), private("NO-TILT") if text.lower() == "none" else None
    )


_VERDICT_CODES: dict[SafetyVerdict, Code] = {
    SafetyVerdict.SAFE: codes.SCT.Yes,
    SafetyVerdict.UNSAFE: codes.SCT.No,
    SafetyVerdict.NOT_ASSESSED: codes.SCT.NotEvaluated,
}
"""The safety verdict as the value of ``PATH-SAFE``."""


def _structure_clearance(c: ClosestStructure) -> hd.sr.Measurement | None:
    """``CLEAR-OF-KIND`` (mm) with the structure, its side and level as Finding Site."""
    distance, kind, level, side = c
    if kind not in LANDMARK_CODES:
        return None
    site = hd.sr.FindingSite(
        anatomic_location=LANDMARK_CODES[kind],
        laterality=SIDE_CODES[Laterality(side)] if side in ("left", "right", "bilateral") else None,
        topographical_modifier=level_code(level) if level else None,
    )
    return hd.sr.Measurement(
        name=private("CLEAR-OF-KIND"), value=distance, unit=MM, finding_sites=[site]
    )


_NO_VALUE_BEYOND = codes.DCM.PositiveInfinity
"""CID 42 "Numeric Value Qualifier": a distance with nothing to measure it to (the bone
clearance of a path on a CT with no bone near it — "no bone on the CT")."""


def _number(name: Code, value: float, unit: Code) -> hd.sr.Measurement:
    """A measurement; +∞ qualified Positive Infinity (its value emptied by `_finish`, as no
    decimal string can hold it)."""
    if math.isinf(value) and value > 0:
        return hd.sr.Measurement(name=name, value=0.0, unit=unit, qualifier=_NO_VALUE_BEYOND)
    return hd.sr.Measurement(name=name, value=value, unit=unit)


def _empty_infinite_values(items: Iterable[Dataset]) -> None:
    """Every NUM item qualified Positive Infinity loses its placeholder value: an empty
    Measured Value Sequence with the qualifier as the reason (DICOM PS3.3 C.18.1;
    highdicom builds a NUM item only with a value)."""
    for item in items:
        qualifiers = item.get("NumericValueQualifierCodeSequence", [])
        if item.get("ValueType") == "NUM" and any(
            same_code(q, _NO_VALUE_BEYOND) for q in qualifiers
        ):
            item.MeasuredValueSequence = []
        _empty_infinite_values(item.get("ContentSequence", []))


def _path_measurements(m: TrajectoryMeasurements, path_mm: float) -> list[hd.sr.Measurement]:
    """Path length, needle, C-arm angles and every clearance the SR holds of a path."""
    measurements = [hd.sr.Measurement(name=codes.DCM.PathLength, value=path_mm, unit=MM)]
    numbers = (
        (codes.DCM.NeedleLength, m.needle_length_mm, MM),
        (private("OBLIQUE"), m.oblique_deg, DEG),
        (private("TILT"), m.tilt_deg, DEG),
        (private("CLEAR-LANDMARK"), m.landmark_clearance_mm, MM),
        (private("CLEAR-BONE"), m.bone_clearance_mm, MM),
        (private("CLEAR-SCAR"), m.scar_distance_mm, MM),
    )
    for name, value, unit in numbers:
        if value is not None:
            measurements.append(_number(name, value, unit))
    for c in m.structures:
        item = _structure_clearance(c)
        if item is not None:
            measurements.append(item)
    return measurements


def _trajectory_group(
    case: Case, traj: Trajectory, target: Target, m: TrajectoryMeasurements, name: str
) -> hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations:
    entry = np.asarray(traj.entry.lps, dtype=np.float64)
    tip = np.asarray(target.position.lps, dtype=np.float64)
    path = m.path_length_mm if m.path_length_mm is not None else float(np.linalg.norm(tip - entry))
    measurements = _path_measurements(m, path)
    qualitative = []
    side = _side_value(m.oblique_side)
    if side is not None and m.oblique_deg is not None:
        qualitative.append(_qual("OBLIQUE-SIDE", side))
    tilt = _tilt_value(m.tilt_direction)
    if tilt is not None and m.tilt_deg is not None:
        qualitative.append(_qual("TILT-DIR", tilt))
    if m.landmark_clearance_mm is not None and m.clearance_kind in LANDMARK_CODES:
        qualitative.append(_qual("CLEAR-STRUCTURE", LANDMARK_CODES[m.clearance_kind]))
        if m.clearance_level:
            qualitative.append(_qual("CLEAR-LEVEL", level_code(m.clearance_level)))
        if m.clearance_side:
            qualitative.append(_qual("CLEAR-SIDE", SIDE_CODES[Laterality(m.clearance_side)]))
    if m.verdict is not None:
        qualitative.append(_qual("PATH-SAFE", _VERDICT_CODES[m.verdict]))
    if traj.entry.frame_of_reference_uid != target.position.frame_of_reference_uid:
        raise ArchiveError(
            f"trajectory {traj.id}: entry and target lie in different frames of reference "
            f"({traj.entry.frame_of_reference_uid} vs "
            f"{target.position.frame_of_reference_uid}); plan both on one series"
        )
    return hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=_tracking(
            f"trajectory:{traj.id} target:{target.id} {name}", case.case_id, "trajectory", traj.id
        ),
        referenced_region=hd.sr.ImageRegion3D(
            graphic_type=hd.sr.GraphicTypeValues3D.POLYLINE,
            graphic_data=np.stack([entry, tip]),
            frame_of_reference_uid=traj.entry.frame_of_reference_uid,
        ),
        finding_type=private("TRAJECTORY"),
        finding_sites=[_finding_site(structure_code(target.structure, target.level), target.side)],
        measurements=measurements,
        qualitative_evaluations=qualitative or None,
    )


def _scar_groups(
    case: Case, region: ScarRegion, seg: Dataset, segment_number: int
) -> list[hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations]:
    refs = seg.get("ReferencedSeriesSequence") or [seg]
    source_series = str(refs[0].SeriesInstanceUID)

    def group(
        tracking: str, volume: float, level: str | None
    ) -> hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations:
        return hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=_tracking(tracking, case.case_id, "scar", region.id, level or ""),
            referenced_segment=hd.sr.ReferencedSegment(
                sop_class_uid=seg.SOPClassUID,
                sop_instance_uid=seg.SOPInstanceUID,
                segment_number=segment_number,
                source_series=hd.sr.SourceSeriesForSegmentation(source_series),
            ),
            finding_type=codes.SCT.ScarTissue,
            finding_sites=[hd.sr.FindingSite(anatomic_location=codes.SCT.VertebralCanal)],
            measurements=[hd.sr.Measurement(name=codes.SCT.Volume, value=volume, unit=ML)],
            qualitative_evaluations=(
                [_qual("SPINAL-LEVEL", level_code(level))] if level is not None else None
            ),
        )

    groups = [group(f"scar:{region.id}", region.volume_ml, None)]
    for level, volume in sorted(region.volume_ml_per_level.items()):
        groups.append(group(f"scar:{region.id} level:{level}", float(volume), level))
    return groups


def _profile_algorithm(ledger: Ledger) -> hd.sr.AlgorithmIdentification:
    """The adjudication profile as TID 4019 Algorithm Identification: Algorithm Name (DCM
    111001) and Algorithm Version (DCM 111003), e.g. ``asra-2020-single`` / ``1.1.0``."""
    return hd.sr.AlgorithmIdentification(name=ledger.profile_name, version=ledger.profile_version)


def _site_content(
    sites: Sequence[SourceKey],
) -> tuple[list[hd.sr.FindingSite], list[hd.sr.QualitativeEvaluation]]:
    """Finding sites (structure with laterality) and a spinal-level evaluation per level."""
    found = [_finding_site(structure_code(k.structure, k.level), k.side) for k in sites]
    levels = dict.fromkeys(k.level for k in sites if k.level)
    return found, [_qual("SPINAL-LEVEL", level_code(level)) for level in levels]


def _source_group(
    case: Case, source: SourceEvidence, profile: hd.sr.AlgorithmIdentification
) -> hd.sr.MeasurementsAndQualitativeEvaluations:
    sites, levels = _site_content(source.sites)
    return hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=_tracking(
            f"source:{source.label}", case.case_id, "source", source.label
        ),
        finding_type=private("PAIN-SOURCE"),
        algorithm_id=profile,
        finding_sites=sites,
        # the status the report and the Outcomes panel show ("Not performed": no diagnostic
        # block yet, where the ledger's status is indeterminate)
        qualitative_evaluations=[
            _qual("LEDGER-STATUS", status_key_code(shown_status_key(source))),
            *levels,
        ],
    )


def _block_group(
    case: Case, block: BlockResult, profile: hd.sr.AlgorithmIdentification
) -> hd.sr.MeasurementsAndQualitativeEvaluations:
    sites, levels = _site_content(block.sites)
    missing = block.missing_min if block.verdict in _AWAITING else ()
    return hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=_tracking(
            f"block:{block.number} {block.procedure_id}", case.case_id, "block", block.procedure_id
        ),
        finding_type=private("DIAG-BLOCK"),
        algorithm_id=profile,
        finding_sites=sites,
        measurements=[
            hd.sr.Measurement(name=private("MISSING-POINT"), value=float(m), unit=MIN)
            for m in missing
        ]
        or None,
        qualitative_evaluations=[
            _qual("BLOCK-VERDICT", VERDICT_CODES[block.verdict]),
            _qual("BLOCK-TYPE", BLOCK_TYPE_CODES[block.block_type]),
            *levels,
        ],
    )


_AWAITING = (Verdict.PENDING, Verdict.NEEDS_REVIEW)
"""Verdicts whose missing diary points the SR lists."""


def _ledger_groups(case: Case, ledger: Ledger) -> list[Any]:
    """A group per ledger source (ranked) and per block (chronological)."""
    profile = _profile_algorithm(ledger)
    groups: list[Any] = [_source_group(case, s, profile) for s in ledger.sources]
    groups.extend(_block_group(case, b, profile) for b in ledger.blocks)
    return groups


def build_measurement_report(
    case: Case,
    source_images: Sequence[Dataset],
    *,
    ledger: Ledger | None = None,
    metrics: Mapping[str, TrajectoryMetrics | TrajectoryMeasurements] | None = None,
    seg: Dataset | None = None,
    segment_numbers: Mapping[str, int] | None = None,
    series_instance_uid: str | None = None,
    sop_instance_uid: str | None = None,
    series_number: int = 9902,
    instance_number: int = 1,
    series_description: str = "blockplan plan",
    content_datetime: dt.datetime | None = None,
    previous_versions: Sequence[Dataset] = (),
) -> Dataset:
    """A Comprehensive 3D SR (TID 1500) of the case's targets, trajectories and scar.

    Parameters
    ----------
    case
        The case; every target and trajectory is written, and each scar region that
        has a segment in ``seg``.
    source_images
        Headers of the images the plan was made on (evidence; patient and study are
        copied from the first).
    ledger
        The evidence ledger (`blockplan.outcomes.build_ledger`) whose source statuses,
        block verdicts and missing diary points are written; none when not given.
    metrics
        Target id (or trajectory id) → the path measured by the planning core
        (`blockplan.planning.measure_paths`) or `TrajectoryMeasurements`; a path without
        metrics is written with its length only.
    seg, segment_numbers
        The scar SEG and region id → segment number (from `~blockplan.archive.seg.SegBuild`);
        by default the segment whose TrackingID is ``scar:<region id>``.
    series_instance_uid, sop_instance_uid, series_number, instance_number, series_description
        Identity of the new SR series and instance.
    content_datetime
        ContentDate/Time (default: now).
    previous_versions
        Earlier SR versions of the case (their UIDs): PredecessorDocumentsSequence.

    Returns
    -------
    pydicom.dataset.Dataset
        The SR instance (highdicom ``Comprehensive3DSR``).

    Raises
    ------
    ArchiveError
        When the case holds nothing to report or highdicom refuses the content.
    """
    if not source_images:
        raise ArchiveError("no source image headers given; the SR must reference its images")
    source_images = with_type2(source_images)
    groups = _plan_groups(case, metrics or {})
    if ledger is not None:
        groups.extend(_ledger_groups(case, ledger))
    evidence = list(source_images)
    if seg is not None:
        groups.extend(_all_scar_groups(case, seg, segment_numbers))
        evidence.append(seg)
    if not groups:
        raise ArchiveError(
            f"case {case.case_id}: no target, trajectory or scar to report; "
            "plan at least one target first"
        )
    sr = _comprehensive_sr(
        case,
        groups,
        evidence,
        series_instance_uid=series_instance_uid or new_uid(),
        sop_instance_uid=sop_instance_uid or new_uid(),
        series_number=series_number,
        instance_number=instance_number,
        series_description=series_description,
        previous_versions=previous_versions,
    )
    _finish(sr, content_datetime or dt.datetime.now().astimezone())
    return sr


def _all_scar_groups(
    case: Case, seg: Dataset, segment_numbers: Mapping[str, int] | None
) -> list[hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations]:
    """The measurement groups of every scar region that has a segment in ``seg``."""
    numbers = _scar_segment_numbers(seg, segment_numbers)
    return [
        group
        for region in case.scar_regions
        if region.id in numbers
        for group in _scar_groups(case, region, seg, numbers[region.id])
    ]


def _comprehensive_sr(
    case: Case,
    groups: list[Any],
    evidence: list[Dataset],
    *,
    series_instance_uid: str,
    sop_instance_uid: str,
    series_number: int,
    instance_number: int,
    series_description: str,
    previous_versions: Sequence[Dataset] = (),
) -> hd.sr.Comprehensive3DSR:
    """The TID 1500 measurement report of ``groups`` as a complete Comprehensive 3D SR;
    highdicom's refusal becomes an `ArchiveError` naming the case."""
    observer = _observer()
    try:
        report = hd.sr.MeasurementReport(
            observation_context=hd.sr.ObservationContext(observer_device_context=observer),
            procedure_reported=private("PLAN"),
            imaging_measurements=groups,
        )
        _add_statements(report, _interpolated_statements(case, evidence))
        return hd.sr.Comprehensive3DSR(
            evidence=evidence,
            content=report,
            series_instance_uid=series_instance_uid,
            series_number=series_number,
            sop_instance_uid=sop_instance_uid,
            instance_number=instance_number,
            manufacturer=MANUFACTURER,
            is_complete=True,
            series_description=series_description,
            previous_versions=list(previous_versions) or None,
        )
    except (ValueError, TypeError) as err:
        raise ArchiveError(
            f"case {case.case_id}: highdicom refused the SR content ({redact(str(err), evidence)})"
        ) from err


_QUALITATIVE_EVALUATIONS = Code("C0034375", "UMLS", "Qualitative Evaluations")


def _interpolated_statements(case: Case, evidence: Sequence[Dataset]) -> list[str]:
    """`interpolated_statement` of each evidence series the case records as resampled
    onto regular spacing (`SeriesRef.interpolated`)."""
    uids = {str(ds.get("SeriesInstanceUID", "")) for ds in evidence}
    refs = case.study.series if case.study is not None else ()
    out: list[str] = []
    for ref in refs:
        if ref.interpolated and ref.series_instance_uid in uids:
            number = f" series {ref.series_number}" if ref.series_number is not None else ""
            desc = f" ({ref.description})" if ref.description else ""
            out.append(interpolated_statement(f"{ref.modality}{number}{desc}"))
    return out


def _add_statements(report: hd.sr.MeasurementReport, texts: Sequence[str]) -> None:
    """TEXT Comments in TID 1500's Qualitative Evaluations container (row 12)."""
    if not texts:
        return
    container = hd.sr.ContainerContentItem(
        name=_QUALITATIVE_EVALUATIONS,
        relationship_type=hd.sr.RelationshipTypeValues.CONTAINS,
    )
    container.ContentSequence = hd.sr.ContentSequence(
        [
            hd.sr.TextContentItem(
                name=codes.DCM.Comment,
                value=text,
                relationship_type=hd.sr.RelationshipTypeValues.CONTAINS,
            )
            for text in texts
        ]
    )
    report[0].ContentSequence.append(container)


def _plan_groups(
    case: Case, metrics: Mapping[str, TrajectoryMetrics | TrajectoryMeasurements]
) -> list[Any]:
    """A measurement group per target, then per trajectory (with its measured path)."""
    names = target_names(case.targets)
    groups: list[Any] = [_target_group(case, t, names[t.id]) for t in case.targets]
    for traj in case.trajectories:
        target = case.target(traj.target_id)
        measured = _trajectory_measurements(metrics, traj)
        groups.append(_trajectory_group(case, traj, target, measured, names[target.id]))
    return groups


def _trajectory_measurements(
    metrics: Mapping[str, TrajectoryMetrics | TrajectoryMeasurements], traj: Trajectory
) -> TrajectoryMeasurements:
    """The path's metrics, looked up by its target id first, then by its own id; none
    found gives empty measurements (the path is written with its length only)."""
    raw = metrics.get(traj.target_id, metrics.get(traj.id))
    return TrajectoryMeasurements() if raw is None else measurements_from(raw)


def _scar_segment_numbers(
    seg: Dataset, segment_numbers: Mapping[str, int] | None
) -> dict[str, int]:
    """Region id → segment number: as given, or else from TrackingIDs ``scar:<region id>``."""
    numbers = dict(segment_numbers or {})
    if not numbers:
        for desc in seg.SegmentSequence:
            tracking = str(desc.get("TrackingID", ""))
            if tracking.startswith("scar:"):
                numbers[tracking[5:]] = int(desc.SegmentNumber)
    return numbers


def _observer() -> hd.sr.ObserverContext:
    """The observer of every blockplan SR: blockplan itself, as a device."""
    return hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=_DEVICE_UID,
            name=MANUFACTURER,
            manufacturer_name=MANUFACTURER,
            model_name=MANUFACTURER,
        ),
    )


def _finish(sr: Dataset, when: dt.datetime) -> None:
    """Software version, content date/time, UTF-8 text (target names hold "·", labels
    any letter), and blockplan's private coding scheme declared."""
    sr.SpecificCharacterSet = "ISO_IR 192"
    sr.SoftwareVersions = software_version()
    sr.ContentDate = DA(when.strftime("%Y%m%d"))
    sr.ContentTime = TM(when.strftime("%H%M%S"))
    schemes: list[Dataset] = list(sr.get("CodingSchemeIdentificationSequence", []))
    if not any(s.get("CodingSchemeDesignator") == PRIVATE_SCHEME for s in schemes):
        schemes.append(coding_scheme_identification())
    sr.CodingSchemeIdentificationSequence = schemes  # pydicom makes it a Sequence
    _empty_infinite_values(sr.get("ContentSequence", []))


# --- reading -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ArchivedPlan:
    """What `read_sr` recovers from a blockplan SR.

    Attributes
    ----------
    targets, trajectories
        Case items with their original ids (positions in LPS mm).
    measurements
        Trajectory id → its archived numbers.
    scar_volume_ml
        Scar region id → total volume (mL).
    scar_volume_ml_per_level
        Scar region id → level → volume (mL).
    profile
        ``"<name> v<version>"`` of the profile that decided the ledger ("" without one).
    source_statuses
        Pain-source label → its status as shown (`~blockplan.outcomes.shown_status_key`):
        a ledger status value (``"confirmed"``, ``"pending"``, …) or ``"untested"`` (no
        diagnostic block yet; the ledger's status is indeterminate).
    block_verdicts
        Block number → verdict value (``"positive"``, ``"needs_review"``, …).
    missing_min
        Block number → missing diary points (minutes) of a pending or needs-review block.
    statements
        The Comments of the Qualitative Evaluations container (e.g. that the planning
        series was interpolated).
    """

    targets: tuple[Target, ...] = ()
    trajectories: tuple[Trajectory, ...] = ()
    measurements: dict[str, TrajectoryMeasurements] = field(default_factory=dict)
    scar_volume_ml: dict[str, float] = field(default_factory=dict)
    scar_volume_ml_per_level: dict[str, dict[str, float]] = field(default_factory=dict)
    profile: str = ""
    source_statuses: dict[str, str] = field(default_factory=dict)
    block_verdicts: dict[int, str] = field(default_factory=dict)
    missing_min: dict[int, tuple[int, ...]] = field(default_factory=dict)
    statements: tuple[str, ...] = ()


_NAME_TRACKING = Code("112039", "DCM", "Tracking Identifier")
_NAME_FINDING = Code("121071", "DCM", "Finding")
_NAME_SITE = Code("363698007", "SCT", "Finding Site")
_NAME_LATERALITY = Code("272741003", "SCT", "Laterality")
_NAME_TOPO = Code("106233006", "SCT", "Topographical modifier")
_NAME_REGION = Code("111030", "DCM", "Image Region")
_NAME_GROUP = Code("125007", "DCM", "Measurement Group")


def _name(item: Dataset) -> Dataset | None:
    seq = item.get("ConceptNameCodeSequence")
    return seq[0] if seq else None


def _is(item: Dataset, code: Code) -> bool:
    name = _name(item)
    return name is not None and same_code(name, code)


def _code_value(item: Dataset) -> Dataset:
    result: Dataset = item.ConceptCodeSequence[0]
    return result


def _groups(content: Sequence[Dataset]) -> list[Dataset]:
    out: list[Dataset] = []
    for item in content:
        if item.get("ValueType") == "CONTAINER" and _is(item, _NAME_GROUP):
            out.append(item)
        elif "ContentSequence" in item:
            out.extend(_groups(item.ContentSequence))
    return out


def _child(group: Dataset, code: Code) -> list[Dataset]:
    return [i for i in group.get("ContentSequence", []) if _is(i, code)]


def _scoord(group: Dataset) -> tuple[str, np.ndarray, str]:
    for item in group.get("ContentSequence", []):
        if item.get("ValueType") == "SCOORD3D":
            data = np.asarray([float(v) for v in item.GraphicData]).reshape(-1, 3)
            return str(item.GraphicType), data, str(item.ReferencedFrameOfReferenceUID)
    raise ValueError("no SCOORD3D region")


def _qualitative(group: Dataset) -> dict[str, Dataset]:
    out: dict[str, Dataset] = {}
    for item in group.get("ContentSequence", []):
        name = _name(item)
        if item.get("ValueType") == "CODE" and name is not None:
            for key in concept_keys(name):
                out[key] = _code_value(item)
    return out


def _numbers(group: Dataset) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    for item in group.get("ContentSequence", []):
        if item.get("ValueType") != "NUM":
            continue
        name = _name(item)
        if name is None:
            continue
        key = (str(name.CodeValue), str(name.CodingSchemeDesignator))
        if item.get("MeasuredValueSequence"):
            out[key] = float(item.MeasuredValueSequence[0].NumericValue)
        elif any(
            same_code(q, _NO_VALUE_BEYOND)
            for q in item.get("NumericValueQualifierCodeSequence", [])
        ):
            out[key] = math.inf
    return out


def _site(group: Dataset) -> tuple[Dataset | None, Laterality | None]:
    for item in _child(group, _NAME_SITE):
        structure = _code_value(item)
        side = None
        for mod in item.get("ContentSequence", []):
            if _is(mod, _NAME_LATERALITY):
                side = side_from_code(_code_value(mod))
            elif _is(mod, _NAME_TOPO) and same_code(_code_value(mod), codes.SCT.Midline):
                side = Laterality.MIDLINE
        return structure, side
    return None, None


def _tracking_text(group: Dataset) -> str:
    items = _child(group, _NAME_TRACKING)
    return str(items[0].TextValue) if items else ""


def read_sr(sr: Dataset) -> ArchivedPlan:
    """Targets, trajectories, their measurements and scar volumes of a blockplan SR.

    Groups that blockplan did not write (other tracking identifiers) are skipped.

    Raises
    ------
    ArchiveError
        When ``sr`` is not an SR document or a blockplan group is malformed.
    """
    if "ContentSequence" not in sr:
        raise ArchiveError(
            f"SOPInstanceUID {sr.get('SOPInstanceUID', '?')}: not an SR document "
            "(no ContentSequence)"
        )
    targets: list[Target] = []
    trajectories: list[Trajectory] = []
    measurements: dict[str, TrajectoryMeasurements] = {}
    scar_total: dict[str, float] = {}
    scar_levels: dict[str, dict[str, float]] = {}
    ledger = _ArchivedLedger()
    for group in _groups(sr.ContentSequence):
        tracking = _tracking_text(group)
        try:
            if tracking.startswith(("source:", "block:")):
                ledger.read(group, tracking)
            elif tracking.startswith("target:"):
                targets.append(_read_target(group, tracking))
            elif tracking.startswith("trajectory:"):
                traj, m = _read_trajectory(group, tracking)
                trajectories.append(traj)
                measurements[traj.id] = m
            elif tracking.startswith("scar:"):
                parts = tracking.split()
                region_id = parts[0][5:]
                volume = _numbers(group).get((codes.SCT.Volume.value, "SCT"))
                if volume is None:
                    continue
                if len(parts) > 1 and parts[1].startswith("level:"):
                    scar_levels.setdefault(region_id, {})[parts[1][6:]] = volume
                else:
                    scar_total[region_id] = volume
        except (ValueError, KeyError, AttributeError, IndexError) as err:
            raise ArchiveError(
                f"SR {sr.get('SOPInstanceUID', '?')}: measurement group {tracking!r} is "
                f"malformed ({err})"
            ) from err
    by_id = {t.id: t for t in targets}
    for traj in trajectories:  # the root each root block aims at, from its target
        target = by_id.get(traj.target_id)
        if target is not None and traj.id in measurements:
            own = own_root_label(target)
            measurements[traj.id] = replace(measurements[traj.id], own_root=own)
    return ArchivedPlan(
        targets=tuple(targets),
        trajectories=tuple(trajectories),
        measurements=measurements,
        scar_volume_ml=scar_total,
        scar_volume_ml_per_level=scar_levels,
        profile=ledger.profile,
        source_statuses=ledger.statuses,
        block_verdicts=ledger.verdicts,
        missing_min=ledger.missing,
        statements=_statements(sr.ContentSequence),
    )


def _statements(content: Sequence[Dataset]) -> tuple[str, ...]:
    """TEXT items of the report's Qualitative Evaluations container."""
    for item in content:
        if item.get("ValueType") == "CONTAINER" and _is(item, _QUALITATIVE_EVALUATIONS):
            return tuple(
                str(i.TextValue) for i in item.ContentSequence if i.get("ValueType") == "TEXT"
            )
        if "ContentSequence" in item and item.get("ValueType") == "CONTAINER":
            found = _statements(item.ContentSequence)
            if found:
                return found
    return ()


@dataclass
class _ArchivedLedger:
    """The ledger groups of an SR as they are read."""

    profile: str = ""
    statuses: dict[str, str] = field(default_factory=dict)
    verdicts: dict[int, str] = field(default_factory=dict)
    missing: dict[int, tuple[int, ...]] = field(default_factory=dict)

    def read(self, group: Dataset, tracking: str) -> None:
        values = _qualitative(group)
        self.profile = _profile_of(group, values)
        if tracking.startswith("source:"):
            self.statuses[tracking[7:]] = status_key_from_code(values["LEDGER-STATUS"])
            return
        number = int(tracking[6:].split()[0])
        self.verdicts[number] = verdict_from_code(values["BLOCK-VERDICT"]).value
        points = [
            int(float(item.MeasuredValueSequence[0].NumericValue))
            for item in _child(group, private("MISSING-POINT"))
            if item.get("MeasuredValueSequence")
        ]
        if points:
            self.missing[number] = tuple(points)


def _profile_of(group: Dataset, values: Mapping[str, Dataset]) -> str:
    """``"<name> v<version>"`` from the group's Algorithm Name and Version (TID 4019), or
    from the private ``PROFILE`` code of SRs written before."""
    name = _child(group, codes.DCM.AlgorithmName)
    version = _child(group, codes.DCM.AlgorithmVersion)
    if name and version:
        return f"{name[0].TextValue} v{version[0].TextValue}"
    return str(values["PROFILE"].CodeMeaning)


def _xyz(row: np.ndarray) -> tuple[float, float, float]:
    return float(row[0]), float(row[1]), float(row[2])


_NAME_PREFIX = re.compile(r"^T(\d+) · ")


def _number_of(rest: str) -> int | None:
    """The target's own number from its name after ``target:<id>`` (``"T3 · …"`` → 3);
    None when no name is written (SRs of blockplan 0.1): the case numbers it."""
    found = _NAME_PREFIX.match(rest)
    return int(found.group(1)) if found and int(found.group(1)) > 0 else None


def _label_of(rest: str) -> str:
    """The physician's label in the text after ``target:<id>``: after `` | `` when a name
    precedes it; none when the text is a name alone; else all of it (SRs of blockplan
    0.1, whose identifier held the label only)."""
    name, bar, label = rest.partition(" | ")
    if bar:
        return label
    return "" if _NAME_PREFIX.match(name) else rest


def _read_target(group: Dataset, tracking: str) -> Target:
    head, _, rest = tracking.partition(" ")
    label = _label_of(rest)
    graphic, data, for_uid = _scoord(group)
    if graphic != "POINT":
        raise ValueError(f"target region is {graphic}, expected POINT")
    structure, side = _site(group)
    if structure is None:
        raise ValueError("target has no finding site (the targeted structure)")
    qual = _qualitative(group)
    level = level_from_code(qual["SPINAL-LEVEL"]) if "SPINAL-LEVEL" in qual else None
    return Target(
        id=head[len("target:") :],
        number=_number_of(rest),
        label=label,
        notes=_target_notes(group),
        level=level,
        side=side if side is not None else Laterality.MIDLINE,
        structure=structure_from_code(structure),
        block_type=block_type_from_code(qual["BLOCK-TYPE"]),
        approach=approach_from_code(qual["APPROACH"]) if "APPROACH" in qual else None,
        position=PatientPoint(lps=_xyz(data[0]), frame_of_reference_uid=for_uid),
    )


def _read_trajectory(group: Dataset, tracking: str) -> tuple[Trajectory, TrajectoryMeasurements]:
    parts = tracking.split()
    traj_id = parts[0][len("trajectory:") :]
    target_id = parts[1][len("target:") :]
    graphic, data, for_uid = _scoord(group)
    if graphic != "POLYLINE" or len(data) < 2:
        raise ValueError(f"trajectory region is {graphic} of {len(data)} points")
    nums = _numbers(group)
    qual = _qualitative(group)

    def num(code: Code) -> float | None:
        return nums.get((code.value, code.scheme_designator))

    side = qual.get("OBLIQUE-SIDE")
    tilt = qual.get("TILT-DIR")
    side_text = None
    if side is not None:
        side_text = "midline" if same_code(side, private("TRUE-PA")) else side_from_code(side).value
    tilt_text = None
    if tilt is not None:
        tilt_text = (
            "cranial"
            if same_code(tilt, codes.SCT.Cranial)
            else "caudal"
            if same_code(tilt, codes.SCT.Caudal)
            else "none"
        )
    kind = qual.get("CLEAR-STRUCTURE")
    level = qual.get("CLEAR-LEVEL")
    clear_side = qual.get("CLEAR-SIDE")
    safe = qual.get("PATH-SAFE")
    verdict = None
    if safe is not None:
        verdict = next(v for v, code in _VERDICT_CODES.items() if same_code(safe, code))
    m = TrajectoryMeasurements(
        clearance_kind=None if kind is None else landmark_kind_from_code(kind),
        clearance_level=None if level is None else level_from_code(level),
        clearance_side=None if clear_side is None else side_from_code(clear_side).value,
        verdict=verdict,
        path_length_mm=num(codes.DCM.PathLength),
        needle_length_mm=num(codes.DCM.NeedleLength),
        oblique_deg=num(private("OBLIQUE")),
        oblique_side=side_text,
        tilt_deg=num(private("TILT")),
        tilt_direction=tilt_text,
        landmark_clearance_mm=num(private("CLEAR-LANDMARK")),
        scar_distance_mm=num(private("CLEAR-SCAR")),
        structures=_structure_clearances(group),
        bone_clearance_mm=num(private("CLEAR-BONE")),
    )
    traj = Trajectory(
        id=traj_id,
        target_id=target_id,
        entry=PatientPoint(lps=_xyz(data[0]), frame_of_reference_uid=for_uid),
    )
    return traj, m


def _structure_clearances(group: Dataset) -> tuple[ClosestStructure, ...]:
    """Every ``CLEAR-OF-KIND`` of a trajectory group: (mm, kind, level, side)."""
    out: list[ClosestStructure] = []
    for item in _child(group, private("CLEAR-OF-KIND")):
        if not item.get("MeasuredValueSequence"):
            continue
        value = float(item.MeasuredValueSequence[0].NumericValue)
        for site in _child(item, _NAME_SITE):
            side = level = None
            for mod in site.get("ContentSequence", []):
                if _is(mod, _NAME_LATERALITY):
                    side = side_from_code(_code_value(mod)).value
                elif _is(mod, _NAME_TOPO):
                    level = level_from_code(_code_value(mod))
            out.append((value, landmark_kind_from_code(_code_value(site)), level, side))
    return tuple(out)


def read_sr_targets(sr: Dataset) -> list[Target]:
    """The targets of a blockplan SR (see `read_sr`)."""
    return list(read_sr(sr).targets)
