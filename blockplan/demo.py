"""The demo case on the synthetic sample study (what ``make run`` shows without a display).

`build_demo_case` turns the sample study's ground truth (``truth.json``) into a planned
case — level markers, roots and thecal sac, the scar, the truth targets with their
needle entries — and adds a synthetic but clinically coherent block history:

1. left L5 selective nerve root block with lidocaine (relief ≥ 80 % for 60 min),
2. right L4–L5 medial branch blocks with lidocaine (25 % relief: negative),
3. left L5 selective nerve root block with bupivacaine on another day (relief ≥ 80 % for
   180 min: a concordant comparative pair),
4. a right L5 transforaminal epidural with steroid under sedation (therapeutic; shown,
   flagged, not evidence),

plus ODI and PGIC entries. The patient and study are those recorded in the sample's CT
headers (`blockplan.io.study_identity`), as for a case started from images. Everything is
synthetic; the patient is ``PHANTOM^LUMBAR``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from blockplan.case import (
    Agent,
    Approach,
    BlockType,
    Case,
    Complication,
    Contrast,
    ContrastPattern,
    DiaryEntry,
    Guidance,
    Injection,
    Landmark,
    Laterality,
    LevelMarker,
    MaskGrid,
    Needle,
    Note,
    OdiEntry,
    PainDiary,
    PatientInfo,
    PatientPoint,
    PgicEntry,
    Procedure,
    ScarRegion,
    Sedation,
    SeriesRef,
    Steroid,
    Structure,
    StudyRef,
    Target,
    Trajectory,
)
from blockplan.errors import BlockplanError

__all__ = ["DEMO_CASE_ID", "DEMO_PROFILE", "build_demo_case", "run_demo"]

DEMO_CASE_ID = "demo-phantom-lumbar-0001"
DEMO_PROFILE = "comparative"
_TZ = dt.timezone(dt.timedelta(hours=1))
_CREATED = dt.datetime(2026, 3, 20, 8, 30, tzinfo=_TZ)

_APPROACHES = {
    "subpedicular": Approach.SUBPEDICULAR,
    "retrodiscal": Approach.RETRODISCAL,
    "infraneural": Approach.INFRANEURAL,
    "posterior oblique": Approach.POSTERIOR_OBLIQUE,
    "extraforaminal": Approach.EXTRAFORAMINAL,
}
_STRUCTURES = {"medial_branch": Structure.FACET_JOINT}


def _point(lps: Any, frame: str) -> PatientPoint:
    x, y, z = (float(v) for v in lps)
    return PatientPoint(lps=(x, y, z), frame_of_reference_uid=frame)


def _approach(text: str) -> Approach | None:
    for key, value in _APPROACHES.items():
        if text.lower().startswith(key):
            return value
    return None


DIARY_MINUTES = (0, 15, 30, 60, 120, 180, 240, 300, 360, 480, 1440)
"""The default diary schedule (shared/DOMAIN.md §3) the demo diaries are recorded on."""


def _diary(baseline: int, nrs: tuple[int, ...], movements: bool | None = None) -> PainDiary:
    """A provoked-baseline diary with one NRS per `DIARY_MINUTES` time."""
    if len(nrs) != len(DIARY_MINUTES):
        raise ValueError(f"demo diary needs {len(DIARY_MINUTES)} NRS values, got {len(nrs)}")
    return PainDiary(
        baseline_nrs=baseline,
        baseline_provoked=True,
        entries=tuple(DiaryEntry(minutes=m, nrs=n) for m, n in zip(DIARY_MINUTES, nrs)),
        movements_possible=movements,
    )


def build_demo_case(sample_dir: Path) -> Case:
    """The demo case on the sample study in ``sample_dir`` (reads ``truth.json``)."""
    truth = _read_truth(sample_dir)
    frame = truth["frame_of_reference_uid"]
    targets, trajectories = _targets_and_trajectories(truth, frame)
    case = Case(
        case_id=DEMO_CASE_ID,
        title="Demo: persistent left L5 radicular pain after L4-L5 decompression",
        created_at=_CREATED,
        patient=PatientInfo(
            patient_id=truth["patient"]["id"],
            patient_name=truth["patient"]["name"],
            sex="O",
        ),
        study=_study_ref(truth, frame),
        indication=(
            "Persistent left leg pain (L5 distribution) and right axial low back pain after "
            "left L4-L5 laminotomy and discectomy (PSPS type 2)."
        ),
        diagnosis_codes=("M96.1", "M54.16"),
        profile_name=DEMO_PROFILE,
        levels=_level_markers(truth, frame),
        landmarks=_landmarks(truth, frame),
        scar_regions=(_scar_region(sample_dir, truth, frame),),
        targets=tuple(targets),
        trajectories=tuple(trajectories),
        procedures=_procedures(targets),
        odi=_odi_entries(),
        pgic=(PgicEntry(recorded_on=dt.date(2026, 5, 19), score=3),),
        notes=(
            Note(
                at=_CREATED,
                author="Dr. Demo (synthetic)",
                text="SYNTHETIC demo case on a phantom study; no patient data.",
            ),
        ),
    )
    ct_folder = next(s["folder"] for s in truth["series"] if s["modality"] == "CT")
    return _with_image_identity(case, sample_dir / ct_folder)


def _with_image_identity(case: Case, series_folder: Path) -> Case:
    """The case with the patient and study the sample's images record (header only)."""
    from blockplan.case.identity import adopt_identity
    from blockplan.io import study_identity

    return adopt_identity(case, study_identity(series_folder))


def _odi_entries() -> tuple[OdiEntry, ...]:
    """The demo's ODI questionnaires: before the blocks and after them."""
    return (
        OdiEntry(recorded_on=dt.date(2026, 3, 20), items=(3, 2, 3, 3, 2, 3, 2, 2, 2, 2)),
        OdiEntry(recorded_on=dt.date(2026, 5, 19), items=(2, 1, 2, 2, 1, 2, 1, 1, None, 1)),
    )


def _read_truth(sample_dir: Path) -> dict[str, Any]:
    """The sample study's ``truth.json``; an unreadable one says how to get it back."""
    truth_path = sample_dir / "truth.json"
    try:
        truth: dict[str, Any] = json.loads(truth_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise BlockplanError(
            f"{truth_path}: cannot read the sample study's ground truth "
            f"({type(err).__name__}); point --sample at the blockplan sample study or "
            "regenerate it with: python -m blockplan.sample DIR"
        ) from err
    return truth


def _study_ref(truth: dict[str, Any], frame: str) -> StudyRef:
    """The sample study and every series in it."""
    return StudyRef(
        study_instance_uid=truth["study_instance_uid"],
        study_date=dt.date(2026, 3, 15),
        description="Synthetic post-operative lumbar spine",
        series=tuple(
            SeriesRef(
                series_instance_uid=s["series_instance_uid"],
                modality=s["modality"],
                series_number=s["series_number"],
                description=s["series_description"],
                frame_of_reference_uid=frame,
            )
            for s in truth["series"]
        ),
    )


def _level_markers(truth: dict[str, Any], frame: str) -> tuple[LevelMarker, ...]:
    """A level marker at every vertebral body centre, then at every disc centre."""
    levels = [
        LevelMarker(id=f"lv-{name}", level=name, position=_point(v["center_lps"], frame))
        for name, v in truth["vertebrae"].items()
    ]
    levels += [
        LevelMarker(id=f"lv-{name}", level=name, position=_point(v["center_lps"], frame))
        for name, v in truth["discs"].items()
    ]
    return tuple(levels)


def _landmarks(truth: dict[str, Any], frame: str) -> tuple[Landmark, ...]:
    """Every nerve root at its foramen, then the thecal sac at every level."""
    landmarks = [
        Landmark(
            id=f"root-{r['root']}-{r['side']}",
            kind="nerve_root",
            level=r["root"],
            side=Laterality(r["side"]),
            position=_point(r["foramen_lps"], frame),
            radius_mm=float(r["radius_mm"]),
        )
        for r in truth["nerve_roots"]
    ]
    landmarks += [
        Landmark(
            id=f"sac-{name}",
            kind="thecal_sac",
            level=name,
            side=Laterality.MIDLINE,
            position=_point(p, frame),
            radius_mm=6.0,
        )
        for name, p in truth["thecal_sac_centerline"].items()
    ]
    return tuple(landmarks)


def _scar_region(sample_dir: Path, truth: dict[str, Any], frame: str) -> ScarRegion:
    """The truth scar mask, on the CT series' grid, with its per-level volumes."""
    scar_info = truth["scar"]
    ct_info = next(s for s in truth["series"] if s["modality"] == "CT")
    with np.load(sample_dir / scar_info["mask_file"]) as npz:
        mask = npz["mask"].astype(bool)
        affine = npz["affine"]
    grid = MaskGrid.model_validate(
        {
            "shape": [int(n) for n in mask.shape],
            "affine": np.asarray(affine, dtype=float).tolist(),
            "frame_of_reference_uid": frame,
            "series_instance_uid": ct_info["series_instance_uid"],
        }
    )
    return ScarRegion.from_mask(
        mask,
        grid,
        id="scar-1",
        label="epidural scar around the left L5 root",
        method="manual",
        volume_ml_per_level={k: float(v) for k, v in scar_info["volume_ml_by_level"].items()},
    )


def _targets_and_trajectories(
    truth: dict[str, Any], frame: str
) -> tuple[list[Target], list[Trajectory]]:
    """The truth targets (``t1``, ``t2``, …) and a path from each one's skin entry."""
    targets: list[Target] = []
    trajectories: list[Trajectory] = []
    for n, t in enumerate(truth["targets"], start=1):
        target = Target(
            id=f"t{n}",
            label=t["name"],
            level=t["level"],
            side=Laterality(t["side"]),
            structure=_STRUCTURES.get(t["structure"]) or Structure(t["structure"]),
            block_type=BlockType(t["block_type"]),
            approach=_approach(t["approach"]),
            position=_point(t["target_lps"], frame),
            notes=t.get("note", ""),
        )
        targets.append(target)
        trajectories.append(
            Trajectory(id=f"p{n}", target_id=target.id, entry=_point(t["entry_lps"], frame))
        )
    return targets, trajectories


def _find(targets: list[Target], block: BlockType, side: str) -> list[Target]:
    """The targets planned for ``block`` on ``side``."""
    return [t for t in targets if t.block_type is block and t.side.value == side]


def _procedures(targets: list[Target]) -> tuple[Procedure, ...]:
    """The demo's four blocks, in the order they were done (see the module docs)."""
    snrb_left = _find(targets, BlockType.SELECTIVE_NERVE_ROOT, "left")[0]
    return (
        _left_l5_snrb(
            snrb_left,
            dt.datetime(2026, 4, 7, 9, 0, tzinfo=_TZ),
            Agent.LIDOCAINE,
            2.0,
            _diary(8, (1, 1, 0, 1, 3, 6, 7, 8, 8, 8, 8)),
            "b1",
        ),
        _right_medial_branch_blocks(_find(targets, BlockType.MEDIAL_BRANCH, "right")),
        _left_l5_snrb(
            snrb_left,
            dt.datetime(2026, 4, 21, 9, 0, tzinfo=_TZ),
            Agent.BUPIVACAINE,
            0.5,
            _diary(8, (1, 1, 0, 0, 1, 1, 3, 5, 7, 8, 8)),
            "b3",
        ),
        _right_l5_tfesi(_find(targets, BlockType.TRANSFORAMINAL_EPIDURAL, "right")[0]),
    )


def _left_l5_snrb(
    target: Target, day: dt.datetime, agent: Agent, pct: float, diary: PainDiary, pid: str
) -> Procedure:
    """A diagnostic left L5 selective nerve root block (0.5 mL, contrast along the root)."""
    return Procedure(
        id=pid,
        performed_at=day,
        operator="Dr. Demo (synthetic)",
        block_type=BlockType.SELECTIVE_NERVE_ROOT,
        approach=target.approach,
        guidance=Guidance.FLUOROSCOPY,
        indication="left L5 radicular pain after L4-L5 decompression",
        index_pain="left buttock and lateral leg pain to the dorsum of the foot",
        injections=(
            Injection.at_target(target, agent=agent, concentration_pct=pct, volume_ml=0.5),
        ),
        contrast=Contrast(agent="iohexol 300", volume_ml=0.3, pattern=ContrastPattern.ALONG_ROOT),
        needle=Needle(gauge=22, length_mm=127, tip="curved", type="Quincke spinal"),
        complications=(Complication.NONE,),
        images_saved=3,
        diary=diary,
        interpretation="concordant pain reproduction on contact with the root",
    )


def _right_medial_branch_blocks(targets: list[Target]) -> Procedure:
    """Right L4-L5 medial branch blocks with lidocaine (25 % relief: negative)."""
    return Procedure(
        id="b2",
        performed_at=dt.datetime(2026, 4, 7, 10, 0, tzinfo=_TZ),
        operator="Dr. Demo (synthetic)",
        block_type=BlockType.MEDIAL_BRANCH,
        approach=Approach.POSTERIOR_OBLIQUE,
        guidance=Guidance.FLUOROSCOPY,
        indication="right axial low back pain",
        index_pain="right low back pain on extension and rotation",
        injections=tuple(
            Injection.at_target(t, agent=Agent.LIDOCAINE, concentration_pct=2.0, volume_ml=0.5)
            for t in targets
        ),
        contrast=Contrast(agent="iohexol 300", volume_ml=0.2, pattern=ContrastPattern.NEITHER),
        needle=Needle(gauge=22, length_mm=89, tip="straight", type="Quincke spinal"),
        complications=(Complication.NONE,),
        diary=_diary(4, (3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4)),
    )


def _right_l5_tfesi(target: Target) -> Procedure:
    """A therapeutic right L5 transforaminal epidural with steroid under sedation."""
    return Procedure(
        id="b4",
        performed_at=dt.datetime(2026, 5, 5, 9, 0, tzinfo=_TZ),
        operator="Dr. Demo (synthetic)",
        block_type=BlockType.TRANSFORAMINAL_EPIDURAL,
        approach=target.approach,
        guidance=Guidance.FLUOROSCOPY,
        indication="right L5 radicular symptoms",
        index_pain="right leg pain in the L5 distribution",
        injections=(
            Injection.at_target(
                target, agent=Agent.LIDOCAINE, concentration_pct=1.0, volume_ml=2.0
            ),
        ),
        contrast=Contrast(
            agent="iohexol 300",
            volume_ml=1.0,
            pattern=ContrastPattern.EPIDURAL,
            intravascular_uptake=True,
            dsa_used=False,
        ),
        steroid=Steroid(name="dexamethasone", dose_mg=4.0, particulate=False),
        sedation=Sedation(drug="midazolam", dose="1 mg IV"),
        needle=Needle(gauge=22, length_mm=127, tip="curved", type="Quincke spinal"),
        complications=(Complication.VASOVAGAL,),
        complication_notes="brief vasovagal reaction, resolved lying flat",
        diary=_diary(6, (2, 2, 2, 3, 4, 5, 6, 6, 6, 6, 5)),
        notes="therapeutic injection under sedation; not a diagnostic block",
    )


def run_demo(
    out_dir: Path,
    *,
    sample_dir: Path | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> dict[str, Path]:
    """Build the demo case and write what blockplan produces for it into ``out_dir``.

    ``progress`` follows the sample study's generation, when an installed wheel has to
    generate it (`blockplan.sample.locate.sample_study_path`).
    Returns the paths written, by kind (``"case"``, ``"report"``).
    """
    from blockplan.case.casefile import save_case_file
    from blockplan.sample.locate import sample_study_path

    sample = sample_dir or sample_study_path(progress)
    case = build_demo_case(sample)
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    written: dict[str, Path] = {}
    case_path = out_dir / "demo-case.blockplan.json"
    save_case_file(case, case_path)
    written["case"] = case_path
    written.update(_write_report(case, sample, out_dir))
    return written


def _write_report(case: Case, sample: Path, out_dir: Path) -> dict[str, Path]:
    from blockplan.io import load_path
    from blockplan.outcomes import build_ledger
    from blockplan.report import ReportOptions, write_report

    volumes = load_path(sample)
    ledger = build_ledger(case, case.profile_name)
    path = out_dir / "demo-report.pdf"
    options = ReportOptions(
        clinic_name="blockplan demo clinic (synthetic)",
        author="Dr. Demo (synthetic)",
        created_at=dt.datetime(2026, 5, 19, 12, 0, tzinfo=_TZ),
    )
    write_report(case, path, volumes=volumes, ledger=ledger, options=options)
    return {"report": path}
