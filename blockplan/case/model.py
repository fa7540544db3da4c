"""The case: one patient's plan and outcomes, validated on construction.

Every model is an immutable pydantic model (``frozen=True``, unknown fields forbidden).
An edit makes a new object (``case.model_copy(update=...)`` or the helpers on `Case`),
so an invalid case never exists. Coordinates are DICOM patient coordinates (LPS, mm)
together with the FrameOfReferenceUID they belong to — never voxel indices.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Self

import numpy as np
import numpy.typing as npt
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from blockplan.case.vocab import (
    Agent,
    Approach,
    BlockType,
    Complication,
    ContrastPattern,
    Guidance,
    Laterality,
    Structure,
    TransitionalVertebra,
    parse_level,
)

__all__ = [
    "CASE_SCHEMA_VERSION",
    "BlockSession",
    "Case",
    "Contrast",
    "DiaryEntry",
    "Injection",
    "Landmark",
    "LevelChange",
    "LevelMarker",
    "MaskGrid",
    "Needle",
    "Note",
    "OdiEntry",
    "PainDiary",
    "PatientInfo",
    "PatientPoint",
    "PgicEntry",
    "Procedure",
    "ScarRegion",
    "Sedation",
    "SeriesRef",
    "Steroid",
    "StudyRef",
    "Target",
    "Trajectory",
    "group_by_session",
    "new_id",
]

CASE_SCHEMA_VERSION = 6
"""Version of the case file format written by this release.

2: study time, referring physician and institution in `StudyRef`; complications
``[]`` means *not recorded* and ``["none"]`` records that none occurred;
``complication_notes``, ``index_pain`` and the needle's ``type`` in `Procedure`.
3: a target's unconfirmed level change (`Target.level_change`) and the case's
transitional vertebra (`Case.transitional_vertebra`).
4: sessions — procedures done in one sitting share `Procedure.session_id` (`Case.sessions`);
a diary the physician closed as final (`PainDiary.closed_as_final`).
5: a series the plan was made on resampled onto regular spacing (`SeriesRef.interpolated`).
6: targets keep the number given at placement (`Target.number`); the case keeps the highest
number it has given (`Case.last_target_number`), so a deleted target's number is never
given again.
"""

Level = Annotated[str, AfterValidator(parse_level)]
"""A vertebra (``"L5"``) or motion segment (``"L4-L5"``), normalised."""

Uid = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9]+(\.[0-9]+)*$")]
"""A DICOM UID."""

Nrs = Annotated[int, Field(ge=0, le=10)]
"""Numeric rating scale of pain, 0 (none) to 10 (worst imaginable)."""


def new_id() -> str:
    """A fresh random identifier for a case item."""
    return uuid.uuid4().hex[:12]


class _Model(BaseModel):
    # allow_inf_nan=False: JSON (the case file, the store) cannot represent NaN or ±inf.
    model_config = ConfigDict(
        frozen=True, extra="forbid", validate_default=True, allow_inf_nan=False
    )


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        raise ValueError("date-time must carry a time zone (e.g. 2026-03-15T09:30:00+01:00)")
    offset = value.utcoffset()
    if offset is not None and offset.total_seconds() % 60:
        # ISO 8601 offsets are ±hh:mm; a seconds part would be lost in the case file.
        raise ValueError("time-zone offset must be whole minutes (e.g. +01:00)")
    return value


AwareDatetime = Annotated[dt.datetime, AfterValidator(_aware)]


# --- geometry -------------------------------------------------------------------------
class PatientPoint(_Model):
    """A point in DICOM patient coordinates (LPS, mm) of one frame of reference."""

    lps: tuple[float, float, float]
    frame_of_reference_uid: Uid

    @field_validator("lps")
    @classmethod
    def _finite(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        if not all(np.isfinite(v)):
            raise ValueError("coordinates must be finite numbers (mm)")
        return v

    def as_array(self) -> npt.NDArray[np.float64]:
        """The point as a float64 array ``[x, y, z]`` in LPS mm."""
        return np.asarray(self.lps, dtype=np.float64)


class MaskGrid(_Model):
    """The voxel grid a mask lives on: shape ``(k, j, i)`` and the (i, j, k, 1) → LPS affine."""

    shape: tuple[int, int, int]
    affine: tuple[tuple[float, float, float, float], ...]
    frame_of_reference_uid: Uid
    series_instance_uid: Uid

    @field_validator("affine")
    @classmethod
    def _affine_4x4(cls, v: tuple[tuple[float, ...], ...]) -> tuple[tuple[float, ...], ...]:
        a = np.asarray(v, dtype=np.float64)
        if a.shape != (4, 4) or not np.allclose(a[3], [0, 0, 0, 1]):
            raise ValueError("affine must be 4×4 with last row (0, 0, 0, 1)")
        if abs(np.linalg.det(a[:3, :3])) < 1e-9:
            raise ValueError("affine is singular")
        return v

    def affine_array(self) -> npt.NDArray[np.float64]:
        """The affine as a 4×4 float64 array."""
        return np.asarray(self.affine, dtype=np.float64)

    def voxel_volume_ml(self) -> float:
        """Volume of one voxel in mL."""
        return float(abs(np.linalg.det(self.affine_array()[:3, :3])) / 1000.0)


def encode_mask_rle(mask: npt.NDArray[np.bool_]) -> tuple[int, ...]:
    """Run lengths of a boolean mask in C order, starting with a run of False."""
    flat = np.ascontiguousarray(mask, dtype=bool).ravel()
    change = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    bounds = np.concatenate(([0], change, [flat.size]))
    runs = np.diff(bounds)
    if flat.size and flat[0]:
        runs = np.concatenate(([0], runs))
    return tuple(int(r) for r in runs)


def decode_mask_rle(runs: tuple[int, ...], shape: tuple[int, int, int]) -> npt.NDArray[np.bool_]:
    """Inverse of `encode_mask_rle`."""
    values = np.arange(len(runs)) % 2 == 1
    flat = np.repeat(values, runs)
    return flat.reshape(shape)


# --- study ----------------------------------------------------------------------------
class PatientInfo(_Model):
    """Patient identity as recorded in the images. Identifying: never logged.

    ``patient_name`` is a DICOM person name (``"FAMILY^GIVEN^MIDDLE^PREFIX^SUFFIX"``).
    ``repr`` hides every value.
    """

    patient_id: str = Field(default="", max_length=64, repr=False)
    patient_name: str = Field(default="", max_length=324, repr=False)
    birth_date: dt.date | None = Field(default=None, repr=False)
    sex: Literal["F", "M", "O", ""] = Field(default="", repr=False)

    @property
    def is_empty(self) -> bool:
        """True when no identity is recorded (a case not yet started from images)."""
        return not (self.patient_id or self.patient_name or self.birth_date or self.sex)


class SeriesRef(_Model):
    """A series of the study that the case refers to.

    ``interpolated``: the plan was made on the series resampled onto regular spacing (a
    missing slice or irregular spacing, `blockplan.io.ImageVolume.is_interpolated`); a
    rebuilt report loads it so again and every output says so.
    """

    series_instance_uid: Uid
    modality: str = ""
    series_number: int | None = None
    description: str = ""
    frame_of_reference_uid: Uid | None = None
    interpolated: bool = False


class StudyRef(_Model):
    """The imaging study the plan is made on, as recorded in its images.

    ``study_date`` and ``study_time`` are the scanner's local date and time (DICOM
    StudyDate, StudyTime carry no time zone). ``referring_physician`` is a DICOM person
    name. Accession number, referring physician and institution may identify the patient:
    never logged.
    """

    study_instance_uid: Uid
    study_date: dt.date | None = None
    study_time: dt.time | None = None
    accession_number: str = Field(default="", max_length=64, repr=False)
    referring_physician: str = Field(default="", max_length=324, repr=False)
    institution: str = Field(default="", max_length=324, repr=False)
    description: str = Field(default="", repr=False)
    series: tuple[SeriesRef, ...] = ()

    @field_validator("study_time")
    @classmethod
    def _local_time(cls, v: dt.time | None) -> dt.time | None:
        if v is not None and v.tzinfo is not None:
            raise ValueError("study time is the scanner's local time, without a time zone")
        return v


# --- planning -------------------------------------------------------------------------
class LevelMarker(_Model):
    """A vertebral body or disc centre marked by the physician."""

    id: str = Field(default_factory=new_id)
    level: Level
    position: PatientPoint

    @property
    def kind(self) -> Literal["vertebral_body", "disc"]:
        """``"disc"`` for a segment marker (``"L4-L5"``), else ``"vertebral_body"``."""
        return "disc" if "-" in self.level else "vertebral_body"


class Landmark(_Model):
    """An anatomical structure to keep the needle away from, marked as a sphere.

    A nerve root at a foramen or a point on the thecal sac is marked by its centre and
    an approximate radius (mm); clearance from a needle path is measured to the
    sphere's surface.
    """

    id: str = Field(default_factory=new_id)
    kind: Literal["nerve_root", "thecal_sac", "artery", "other"]
    level: Level | None = None
    side: Laterality | None = None
    position: PatientPoint
    radius_mm: float = Field(default=0.0, ge=0, le=30)


class ScarRegion(_Model):
    """Epidural scar painted or grown on one series, stored as a run-length-encoded mask."""

    id: str = Field(default_factory=new_id)
    label: str = "epidural scar"
    grid: MaskGrid
    rle: tuple[int, ...]
    method: Literal["manual", "region_grow", "imported"] = "manual"
    volume_ml_per_level: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _rle_matches_grid(self) -> Self:
        total = int(np.prod(self.grid.shape))
        if sum(self.rle) != total or any(r < 0 for r in self.rle):
            raise ValueError(
                f"scar mask run lengths cover {sum(self.rle)} voxels; grid has {total}"
            )
        return self

    @classmethod
    def from_mask(cls, mask: npt.NDArray[np.bool_], grid: MaskGrid, **kw: object) -> ScarRegion:
        """Build from a boolean array of shape ``grid.shape``."""
        if tuple(mask.shape) != tuple(grid.shape):
            raise ValueError(f"mask shape {mask.shape} differs from grid shape {grid.shape}")
        return cls(grid=grid, rle=encode_mask_rle(mask), **kw)  # type: ignore[arg-type]

    def mask(self) -> npt.NDArray[np.bool_]:
        """The mask as a boolean array ``[k, j, i]``."""
        return decode_mask_rle(self.rle, self.grid.shape)

    @property
    def voxel_count(self) -> int:
        """Number of voxels in the scar."""
        return int(sum(self.rle[1::2]))

    @property
    def volume_ml(self) -> float:
        """Total scar volume in mL."""
        return self.voxel_count * self.grid.voxel_volume_ml()


class LevelChange(_Model):
    """The level and side a target had before the level markers changed them.

    Kept on the target (`Target.level_change`) until the physician confirms the new
    level and side; ``level`` None: the target had no level yet (placed before levels).
    """

    level: Level | None = None
    side: Laterality


class Target(_Model):
    """A candidate injection target.

    ``number`` is the target's own number (its name "T3 · …", `blockplan.planning.wording
    .target_name`): given once, when the target joins a case (`Case` gives the next one),
    and kept through every edit; None only for a target not yet in a case.
    ``level_change`` is set when an edit of the level markers changed the target's level
    or side (what it was before); None when the physician has confirmed them (or nothing
    changed since the target was placed).
    """

    id: str = Field(default_factory=new_id)
    number: int | None = Field(default=None, ge=1)
    label: str = ""
    level: Level | None = None
    side: Laterality
    structure: Structure
    block_type: BlockType
    approach: Approach | None = None
    position: PatientPoint
    notes: str = ""
    level_change: LevelChange | None = None


class Trajectory(_Model):
    """A straight needle path from a skin entry point to a target."""

    id: str = Field(default_factory=new_id)
    target_id: str
    entry: PatientPoint


# --- procedures and outcomes ----------------------------------------------------------
class Injection(_Model):
    """Agent delivered at one target / level / side during a procedure."""

    target_id: str | None = None
    level: Level | None = None
    side: Laterality
    structure: Structure | None = None
    agent: Agent
    concentration_pct: float | None = Field(default=None, ge=0, le=10)
    volume_ml: float = Field(ge=0, le=50)
    branches: int = Field(default=1, ge=1, le=4)
    """Medial branches covered by this injection's volume (for per-branch volume caps)."""

    @classmethod
    def at_target(
        cls,
        target: Target,
        *,
        agent: Agent,
        volume_ml: float,
        concentration_pct: float | None = None,
        branches: int = 1,
    ) -> Injection:
        """An injection at a planned target: level, side and structure are the target's."""
        return cls(
            target_id=target.id,
            level=target.level,
            side=target.side,
            structure=target.structure,
            agent=agent,
            concentration_pct=concentration_pct,
            volume_ml=volume_ml,
            branches=branches,
        )

    @property
    def volume_per_branch_ml(self) -> float:
        """Volume per medial branch (mL)."""
        return self.volume_ml / self.branches


class Contrast(_Model):
    """Contrast given before the agent."""

    agent: str = ""
    volume_ml: float = Field(default=0.0, ge=0, le=50)
    pattern: ContrastPattern = ContrastPattern.NOT_USED
    intravascular_uptake: bool = False
    dsa_used: bool = False


class Steroid(_Model):
    """Corticosteroid added to the injectate."""

    name: str
    dose_mg: float = Field(ge=0)
    particulate: bool = False


class Sedation(_Model):
    """Sedation given (any sedation makes a block non-diagnostic under shipped profiles)."""

    drug: str
    dose: str = ""


class Needle(_Model):
    """Needle used: gauge, length (mm), tip and type."""

    gauge: int | None = Field(default=None, ge=10, le=30)
    length_mm: float | None = Field(default=None, gt=0, le=300)
    tip: str = ""
    """Tip shape, e.g. ``"curved"``, ``"straight bevel"``, ``"blunt"``."""
    type: str = ""
    """Needle type, e.g. ``"spinal (Quincke)"``, ``"Whitacre"``, ``"Tuohy"``, ``"Chiba"``."""

    @property
    def is_empty(self) -> bool:
        """True when nothing about the needle was recorded."""
        return not (self.gauge or self.length_mm or self.tip or self.type)


class DiaryEntry(_Model):
    """Pain at a time after the block."""

    minutes: int = Field(ge=0, le=60 * 24 * 14)
    nrs: Nrs | None = None
    patient_relief_pct: float | None = Field(default=None, ge=-100, le=100)


class PainDiary(_Model):
    """Pain diary of one block: baseline NRS and NRS at times after it."""

    baseline_nrs: Nrs
    baseline_provoked: bool = False
    entries: tuple[DiaryEntry, ...] = ()
    movements_possible: bool | None = None
    """Previously painful movements became possible (required for SIJ under some profiles)."""
    closed_as_final: bool = False
    """The physician closed the diary as final: no more points will be recorded, so a
    missing point no longer leaves the block pending (shared/DOMAIN.md §9)."""

    @field_validator("entries")
    @classmethod
    def _sorted_unique(cls, v: tuple[DiaryEntry, ...]) -> tuple[DiaryEntry, ...]:
        times = [e.minutes for e in v]
        if len(set(times)) != len(times):
            raise ValueError("diary times must be unique")
        return tuple(sorted(v, key=lambda e: e.minutes))


class Procedure(_Model):
    """One block: its type, sites and agents (shared/DOMAIN.md §6); one of a session's.

    Attributes
    ----------
    session_id
        The sitting the block was done in. Blocks done in one sitting (e.g. an SNRB and an
        MBB) are separate procedures with the same ``session_id``; relief after the
        sitting supports only the set of their sites (`Case.sessions`). A new procedure is
        a session of its own.
    performed_at
        Date and time with time zone.
    operator
        Physician who performed the block.
    block_type, approach, guidance
        What was done and under which imaging.
    indication
        Why this block (e.g. "left L5 radicular pain after L4-L5 decompression").
    index_pain
        The pain the block is meant to relieve, as the patient presents it (site, what
        provokes it); the diary rates this pain.
    injections
        Agent, concentration and volume per target / level / side.
    contrast, steroid, sedation, needle
        Contrast (agent, volume, pattern, intravascular uptake, DSA), corticosteroid
        (particulate?), sedation (drug, dose), needle (gauge, length, tip, type).
    complications
        ``()``: **not recorded**; ``(Complication.NONE,)``: recorded, none occurred;
        otherwise the complications that occurred (``none`` cannot be combined with
        others; each at most once).
    complication_notes
        Free text about the complications (what "other" was, treatment, outcome).
    images_saved
        Number of images saved from the procedure (fluoroscopy/CT).
    diary
        The pain diary after the block.
    interpretation, next_step, notes
        The physician's reading of the block, the plan that follows, anything else.
    """

    id: str = Field(default_factory=new_id)
    session_id: str = Field(default_factory=new_id, min_length=1, max_length=64)
    performed_at: AwareDatetime
    operator: str = ""
    block_type: BlockType
    approach: Approach | None = None
    guidance: Guidance = Guidance.FLUOROSCOPY
    indication: str = ""
    index_pain: str = ""
    injections: tuple[Injection, ...] = Field(min_length=1)
    contrast: Contrast = Field(default_factory=Contrast)
    steroid: Steroid | None = None
    sedation: Sedation | None = None
    needle: Needle = Field(default_factory=Needle)
    complications: tuple[Complication, ...] = ()
    complication_notes: str = ""
    images_saved: int = Field(default=0, ge=0)
    diary: PainDiary | None = None
    interpretation: str = ""
    next_step: str = ""
    notes: str = ""

    @field_validator("complications")
    @classmethod
    def _complications(cls, v: tuple[Complication, ...]) -> tuple[Complication, ...]:
        if len(set(v)) != len(v):
            raise ValueError("each complication at most once")
        if Complication.NONE in v and len(v) > 1:
            raise ValueError("'none' cannot be recorded together with a complication")
        return v

    @property
    def agents(self) -> frozenset[Agent]:
        """Agents injected in this procedure."""
        return frozenset(i.agent for i in self.injections)

    @property
    def complications_recorded(self) -> bool:
        """True when complications were documented (``none`` counts as documented)."""
        return bool(self.complications)

    @property
    def complications_occurred(self) -> tuple[Complication, ...]:
        """The complications that occurred (empty for ``none`` and for not recorded)."""
        return tuple(c for c in self.complications if c is not Complication.NONE)


class OdiEntry(_Model):
    """Oswestry Disability Index answers: 10 items scored 0–5, None when unanswered."""

    recorded_on: dt.date
    items: tuple[int | None, ...] = Field(min_length=10, max_length=10)

    @field_validator("items")
    @classmethod
    def _item_range(cls, v: tuple[int | None, ...]) -> tuple[int | None, ...]:
        for n, item in enumerate(v, start=1):
            if item is not None and not 0 <= item <= 5:
                raise ValueError(f"ODI item {n} must be 0–5 or empty; got {item}")
        return v


class PgicEntry(_Model):
    """Patient Global Impression of Change: 1 very much improved … 7 very much worse."""

    recorded_on: dt.date
    score: int = Field(ge=1, le=7)


class Note(_Model):
    """A free-text note."""

    at: AwareDatetime
    author: str = ""
    text: str


# --- sessions -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class BlockSession:
    """One sitting: the procedures that share a ``session_id``, oldest first.

    Relief after a sitting supports only the set of sites its blocks tested, as for a
    bilateral block (`blockplan.outcomes.ledger`). Every procedure of a session is on one
    local date (`Case` refuses a session that spans two).
    """

    session_id: str
    procedures: tuple[Procedure, ...]

    @property
    def performed_at(self) -> dt.datetime:
        """When the first block of the session was done (time-zone aware)."""
        return self.procedures[0].performed_at

    @property
    def date(self) -> dt.date:
        """The local calendar date of the session."""
        return self.performed_at.date()

    @property
    def is_multi_block(self) -> bool:
        """True when the sitting holds several blocks."""
        return len(self.procedures) > 1

    @property
    def diary(self) -> PainDiary | None:
        """The sitting's diary: the one its blocks record (None when none is recorded, or
        when blocks record different ones, e.g. for different index pains)."""
        found = [p.diary for p in self.procedures if p.diary is not None]
        return found[0] if found and all(d == found[0] for d in found) else None


def group_by_session(procedures: Iterable[Procedure]) -> tuple[BlockSession, ...]:
    """The procedures grouped by ``session_id``: sessions oldest first, each in time order.

    The one definition of a session (`Case.sessions`, the adjudication and the payer
    checks read it).
    """
    by_id: dict[str, list[Procedure]] = {}
    for proc in sorted(procedures, key=lambda p: (p.performed_at, p.id)):
        by_id.setdefault(proc.session_id, []).append(proc)
    return tuple(BlockSession(session_id=k, procedures=tuple(v)) for k, v in by_id.items())


def _check_sessions(procedures: Iterable[Procedure]) -> None:
    for session in group_by_session(procedures):
        dates = sorted({p.performed_at.date() for p in session.procedures})
        if len(dates) > 1:
            raise ValueError(
                f"session {session.session_id}: its blocks are on {len(dates)} dates "
                f"({dates[0].isoformat()} … {dates[-1].isoformat()}); a session is one sitting "
                "on one date: give the later blocks their own session"
            )


# --- the case -------------------------------------------------------------------------
def _target_number(item: Any) -> Any:
    """The ``number`` of a target given as a `Target` or as its JSON dict (None: none)."""
    if isinstance(item, Target):
        return item.number
    return item.get("number") if isinstance(item, dict) else None


def _numbered(item: Any, number: int) -> Any:
    if isinstance(item, Target):
        return item.model_copy(update={"number": number})
    return {**item, "number": number}


def _number_targets(data: Any) -> Any:
    """Give every target without a number the next one: one more than the highest number
    the case has given (``last_target_number``, or the highest a target holds if higher).

    Numbers are never given again: a deleted T3 leaves ``last_target_number`` at 3 (or
    more), so the next target placed is T4. Runs before validation, on a case's raw data
    (targets as dicts from JSON, or `Target` objects from an edit); anything malformed is
    left for validation to refuse, naming the field.
    """
    if not isinstance(data, dict):
        return data
    targets = data.get("targets") or ()
    given = data.get("last_target_number", 0)
    if not isinstance(targets, list | tuple) or type(given) is not int:
        return data
    held = [n for n in map(_target_number, targets) if type(n) is int]
    last = max([given, *held])
    numbered = []
    for item in targets:
        if _target_number(item) is None and isinstance(item, Target | dict):
            last += 1
            item = _numbered(item, last)
        numbered.append(item)
    return {**data, "targets": tuple(numbered), "last_target_number": last}


class Case(_Model):
    """One patient's plan and outcomes.

    ``last_target_number``: the highest target number the case has given (0: none yet).
    It never goes down: a target added without a number gets the one after it, so a
    deleted target's number is not given to another (`Target.number`).
    """

    schema_version: Literal[6] = 6
    case_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    title: str = ""
    created_at: AwareDatetime = Field(default_factory=lambda: dt.datetime.now(dt.UTC))
    patient: PatientInfo = Field(default_factory=PatientInfo)
    study: StudyRef | None = None
    indication: str = ""
    diagnosis_codes: tuple[str, ...] = ()
    profile_name: str = "asra-2020-single"
    levels: tuple[LevelMarker, ...] = ()
    transitional_vertebra: TransitionalVertebra | None = None
    """Lumbosacral transitional anatomy the physician noted (None: none noted)."""
    landmarks: tuple[Landmark, ...] = ()
    scar_regions: tuple[ScarRegion, ...] = ()
    targets: tuple[Target, ...] = ()
    last_target_number: int = Field(default=0, ge=0)
    trajectories: tuple[Trajectory, ...] = ()
    procedures: tuple[Procedure, ...] = ()
    odi: tuple[OdiEntry, ...] = ()
    pgic: tuple[PgicEntry, ...] = ()
    notes: tuple[Note, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _give_target_numbers(cls, data: Any) -> Any:
        return _number_targets(data)

    @model_validator(mode="after")
    def _references_resolve(self) -> Self:
        for name in (
            "levels",
            "landmarks",
            "scar_regions",
            "targets",
            "trajectories",
            "procedures",
        ):
            ids = [item.id for item in getattr(self, name)]
            if len(set(ids)) != len(ids):
                raise ValueError(f"{name}: ids must be unique")
        numbers = [t.number for t in self.targets]
        if len(set(numbers)) != len(numbers):
            raise ValueError("targets: numbers must be unique (each target keeps its own)")
        target_ids = {t.id for t in self.targets}
        for traj in self.trajectories:
            if traj.target_id not in target_ids:
                raise ValueError(f"trajectory {traj.id} refers to unknown target {traj.target_id}")
        for proc in self.procedures:
            for inj in proc.injections:
                if inj.target_id is not None and inj.target_id not in target_ids:
                    raise ValueError(
                        f"procedure {proc.id} injection refers to unknown target {inj.target_id}"
                    )
        _check_sessions(self.procedures)
        return self

    @property
    def display_name(self) -> str:
        """How a physician names this case on screen: its title, else the id's first eight
        characters (as in the exported file's name) — never the 32-character id."""
        return f"case “{self.title}”" if self.title else f"case {self.case_id[:8]}"

    @property
    def sessions(self) -> tuple[BlockSession, ...]:
        """The case's sittings, oldest first (`group_by_session`)."""
        return group_by_session(self.procedures)

    def session_of(self, procedure_id: str) -> BlockSession:
        """The session a procedure belongs to (KeyError if no such procedure)."""
        for session in self.sessions:
            if any(p.id == procedure_id for p in session.procedures):
                return session
        raise KeyError(procedure_id)

    def with_session_diary(self, procedure_id: str, diary: PainDiary | None) -> Case:
        """A new case with ``diary`` on the procedure and on every other block of its
        session that held the same diary as it (one sitting, one diary of the index pain;
        a block whose diary differs — e.g. another index pain — keeps its own)."""
        session = self.session_of(procedure_id)
        old = next(p.diary for p in session.procedures if p.id == procedure_id)
        changed = {
            p.id: p.model_copy(update={"diary": diary})
            for p in session.procedures
            if p.id == procedure_id or p.diary == old
        }
        procs = tuple(changed.get(p.id, p) for p in self.procedures)
        return self.evolve(procedures=procs)

    # -- look-ups ----------------------------------------------------------------------
    def target(self, target_id: str) -> Target:
        """The target with this id (KeyError if absent)."""
        for t in self.targets:
            if t.id == target_id:
                return t
        raise KeyError(target_id)

    def trajectory_for(self, target_id: str) -> Trajectory | None:
        """The trajectory planned for a target, if any."""
        return next((t for t in self.trajectories if t.target_id == target_id), None)

    def procedures_injecting(self, target_id: str) -> tuple[str, ...]:
        """Ids of the recorded procedures with an injection at a target: while there is
        one, the target cannot be removed (the record needs it; `remove_item` refuses)."""
        return tuple(
            p.id for p in self.procedures if any(i.target_id == target_id for i in p.injections)
        )

    # -- edits (each returns a new, validated case) -------------------------------------
    def replace_item(self, collection: str, item: BaseModel) -> Case:
        """Insert or replace (by ``id``) an item of ``collection`` (e.g. ``"targets"``)."""
        items = list(getattr(self, collection))
        item_id = getattr(item, "id")  # noqa: B009
        for n, old in enumerate(items):
            if old.id == item_id:
                items[n] = item
                break
        else:
            items.append(item)
        return self.evolve(**{collection: tuple(items)})

    def remove_item(self, collection: str, item_id: str) -> Case:
        """Remove an item by id (and trajectories of a removed target)."""
        items = tuple(i for i in getattr(self, collection) if i.id != item_id)
        changes: dict[str, object] = {collection: items}
        if collection == "targets":
            changes["trajectories"] = tuple(t for t in self.trajectories if t.target_id != item_id)
        return self.evolve(**changes)

    def keeping_target_numbers_of(self, other: Case) -> Case:
        """This case, with ``other``'s count of given target numbers when it is higher.

        For undo and redo: going back to an earlier state brings back its targets, never
        its count, so a number given since (to a target now undone) is not given again.
        """
        if other.last_target_number <= self.last_target_number:
            return self
        return self.evolve(last_target_number=other.last_target_number)

    def evolve(self, **changes: object) -> Case:
        """A new case with ``changes`` applied and everything validated again."""
        data = self.model_dump(mode="python")
        for key, value in changes.items():
            data[key] = value
        return Case.model_validate(data)
