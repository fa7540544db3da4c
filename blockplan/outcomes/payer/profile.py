"""Payer-documentation profiles: versioned, cited checklists loaded from JSON data files.

A payer profile names the coverage document it reads (e.g. a CMS Local Coverage
Determination), its revision date, and the documentation checks derived from it, each
with its own citation. Figures that could not be confirmed in the coverage text itself
carry ``"verify": true`` and print "(verify)". The shipped profiles live in
``blockplan/outcomes/payer_profiles/<name>.json``; any file with the same fields can be
loaded by path. The engine is `blockplan.outcomes.payer.checklist.evaluate_checklist`.

Decision support, not a coverage decision.
"""

from __future__ import annotations

import json
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from blockplan.case.vocab import BlockType, Guidance
from blockplan.errors import ProfileError
from blockplan.outcomes.adjudication import BLOCK_NAMES
from blockplan.outcomes.profiles import Citation
from blockplan.strict_json import loads_strict

__all__ = [
    "PAYER_PROFILE_FORMAT_VERSION",
    "CheckKind",
    "CheckSpec",
    "CoverageDocument",
    "DiagnosticBlocksCheck",
    "DisabilityScaleCheck",
    "ImagingGuidanceCheck",
    "LevelLimit",
    "LevelsPerSessionCheck",
    "NotInCaseCheck",
    "PainScoresCheck",
    "PayerProfile",
    "SessionsPerPeriodCheck",
    "list_payer_profiles",
    "load_payer_profile",
]

PAYER_PROFILE_FORMAT_VERSION: Final = 1
"""Version of the payer-profile file format this release reads."""

_PACKAGE = "blockplan.outcomes"
_FOLDER = "payer_profiles"


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


class CheckKind(StrEnum):
    """What a check reads from the case."""

    DIAGNOSTIC_BLOCKS = "diagnostic_blocks"
    """Enough positive diagnostic blocks (under a named adjudication profile) per site."""
    LEVELS_PER_SESSION = "levels_per_session"
    """At most N levels per block type, spinal region and session."""
    SESSIONS_PER_PERIOD = "sessions_per_period"
    """At most N sessions per spinal region in any rolling period of M months."""
    IMAGING_GUIDANCE = "imaging_guidance"
    """Each procedure under an allowed imaging guidance, documented by saved images."""
    PAIN_SCORES = "pain_scores"
    """Each procedure with a baseline NRS and at least one NRS after it."""
    DISABILITY_SCALE = "disability_scale"
    """A disability scale (ODI) recorded on or before the first session."""
    NOT_IN_CASE = "not_in_case"
    """A documentation element the case model cannot hold: always *not recorded*."""


class _Check(_Data):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)
    title: str = Field(min_length=3)
    """What is checked, as the billing office reads it."""
    citation: Citation


class DiagnosticBlocksCheck(_Check):
    """``min_blocks`` positive blocks of ``block_types`` on separate session dates per site.

    A block is positive when `blockplan.outcomes.adjudicate` gives it *positive* under
    ``criteria_profile``, whose threshold must equal ``min_relief_pct`` and which must
    require a duration consistent with the agent when ``duration_consistent_with_agent``.
    """

    kind: Literal[CheckKind.DIAGNOSTIC_BLOCKS]
    block_types: tuple[BlockType, ...] = Field(min_length=1)
    min_blocks: int = Field(ge=1, le=10)
    min_relief_pct: float = Field(gt=0, le=100)
    duration_consistent_with_agent: bool
    criteria_profile: str = Field(min_length=1)


class LevelLimit(_Data):
    """At most ``max_levels`` distinct levels of these block types together (those billed
    with one code family) per region and session."""

    block_types: tuple[BlockType, ...] = Field(min_length=1)
    max_levels: int = Field(ge=1, le=10)

    @property
    def label(self) -> str:
        """E.g. ``"medial branch block or facet intra-articular block"``."""
        return " or ".join(BLOCK_NAMES[b] for b in self.block_types)


class LevelsPerSessionCheck(_Check):
    """Each limit: at most N distinct levels per region and session (sides at one level
    count once: a bilateral level is one level)."""

    kind: Literal[CheckKind.LEVELS_PER_SESSION]
    limits: tuple[LevelLimit, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _each_type_once(self) -> Self:
        types = [b for limit in self.limits for b in limit.block_types]
        if len(set(types)) != len(types):
            raise ValueError("limits: a block type may appear in one limit only")
        return self

    @property
    def block_types(self) -> tuple[BlockType, ...]:
        """Every block type the limits cover."""
        return tuple(b for limit in self.limits for b in limit.block_types)


class SessionsPerPeriodCheck(_Check):
    """At most ``max_sessions`` sessions with a block of ``block_types`` per spinal region
    in any rolling ``period_months``."""

    kind: Literal[CheckKind.SESSIONS_PER_PERIOD]
    block_types: tuple[BlockType, ...] = Field(min_length=1)
    max_sessions: int = Field(ge=1, le=50)
    period_months: int = Field(default=12, ge=1, le=60)


class ImagingGuidanceCheck(_Check):
    """Each procedure under one of ``allowed`` guidance, with ≥ ``min_images`` saved."""

    kind: Literal[CheckKind.IMAGING_GUIDANCE]
    allowed: tuple[Guidance, ...] = Field(min_length=1)
    min_images: int = Field(default=1, ge=1, le=20)


class PainScoresCheck(_Check):
    """Each procedure with a diary: baseline NRS and at least one NRS after the block."""

    kind: Literal[CheckKind.PAIN_SCORES]


class DisabilityScaleCheck(_Check):
    """An ODI recorded on or before the date of the first session in scope."""

    kind: Literal[CheckKind.DISABILITY_SCALE]


class NotInCaseCheck(_Check):
    """An element the case model has no field for (e.g. pain duration, failed
    conservative care): listed so the clinic documents it elsewhere."""

    kind: Literal[CheckKind.NOT_IN_CASE]
    note: str = "The case has no field for this; document it in the clinical record."
    """Printed as the item's reason."""


CheckSpec = Annotated[
    DiagnosticBlocksCheck
    | LevelsPerSessionCheck
    | SessionsPerPeriodCheck
    | ImagingGuidanceCheck
    | PainScoresCheck
    | DisabilityScaleCheck
    | NotInCaseCheck,
    Field(discriminator="kind"),
]
"""One documentation check of a payer profile."""


class CoverageDocument(_Data):
    """The coverage text a profile reads: id, title, contractor, dates as seen."""

    id: str = Field(min_length=2, max_length=32)
    title: str = Field(min_length=3)
    contractor: str = ""
    revision_effective: str = ""
    """Revision effective date as seen in the text (ISO date), or empty when not seen."""
    related: tuple[str, ...] = ()
    """Sibling LCDs and billing-and-coding articles with the same rules."""
    verify: bool = False
    """True when the text of ``id`` itself could not be read (figures from siblings or
    secondary sources)."""

    @property
    def label(self) -> str:
        """``"L38773 Facet Joint Interventions for Pain Management (revision 2024-07-07)"``."""
        revision = (
            f" (revision effective {self.revision_effective})" if self.revision_effective else ""
        )
        return f"{self.id} {self.title}{revision}{' (verify)' if self.verify else ''}"


class PayerProfile(_Data):
    """A named, versioned payer-documentation profile.

    Attributes
    ----------
    format_version : int
        File format version (1).
    name, version, title : str
        Identity printed on the checklist and in the report.
    summary : str
        One paragraph in plain words.
    document : CoverageDocument
        The coverage text the checks read.
    block_types : tuple of BlockType
        Procedures in the profile's scope (the sessions it counts).
    regions : dict
        Spinal region name → the vertebra letters it holds (``"lumbar/sacral": ["L", "S"]``);
        a segment belongs to the region of its lower vertebra.
    region_citation : Citation
        Why the regions are cut this way.
    checks : tuple of CheckSpec
        The documentation checks, in print order.
    citations : tuple of Citation
        Sources of the profile as a whole.
    """

    format_version: Literal[1] = PAYER_PROFILE_FORMAT_VERSION
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)
    version: str = Field(pattern=r"^[0-9]+\.[0-9]+(\.[0-9]+)?$")
    title: str = Field(min_length=3)
    summary: str = ""
    document: CoverageDocument
    block_types: tuple[BlockType, ...] = Field(min_length=1)
    regions: dict[str, tuple[str, ...]] = Field(min_length=1)
    region_citation: Citation
    checks: tuple[CheckSpec, ...] = Field(min_length=1)
    citations: tuple[Citation, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        ids = [c.id for c in self.checks]
        if len(set(ids)) != len(ids):
            raise ValueError("checks: ids must be unique")
        letters = [x for group in self.regions.values() for x in group]
        if len(set(letters)) != len(letters):
            raise ValueError("regions: a vertebra letter may belong to one region only")
        if not set(letters) <= {"C", "T", "L", "S"}:
            raise ValueError("regions: letters must be C, T, L or S")
        return self

    @property
    def label(self) -> str:
        """``"name vVERSION"``, as printed on the checklist."""
        return f"{self.name} v{self.version}"


# --- loading --------------------------------------------------------------------------
def _shipped_dir() -> Path:
    return Path(str(resources.files(_PACKAGE).joinpath(_FOLDER)))


def list_payer_profiles() -> tuple[str, ...]:
    """Names of the shipped payer profiles, sorted."""
    return tuple(sorted(p.stem for p in _shipped_dir().glob("*.json")))


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _from_file(path: Path) -> PayerProfile:
    try:
        data = loads_strict(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ProfileError(f"payer profile {path}: cannot be read ({err.strerror})") from err
    except json.JSONDecodeError as err:
        raise ProfileError(
            f"payer profile {path}: not valid JSON at line {err.lineno} column {err.colno} "
            f"({err.msg})"
        ) from err
    try:
        return PayerProfile.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(
            f"field {_field_path(e['loc'])!r}: {e['msg']}" for e in err.errors()[:5]
        )
        raise ProfileError(
            f"payer profile {path}: {problems} — fix the file or compare it with a shipped "
            "one (blockplan/outcomes/payer_profiles/)"
        ) from err


def load_payer_profile(name_or_path: str | Path) -> PayerProfile:
    """Load a shipped payer profile by name, or any payer-profile file by path.

    Raises
    ------
    ProfileError
        The name is unknown, or the file is unreadable or invalid (file and field named).
    """
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or text.endswith(".json") or "/" in text:
        return _from_file(Path(text))
    path = _shipped_dir() / f"{text}.json"
    if not path.is_file():
        raise ProfileError(
            f"no shipped payer profile named {text!r}; available: "
            f"{', '.join(list_payer_profiles())} (or give the path of a payer-profile JSON file)"
        )
    profile = _from_file(path)
    if profile.name != text:
        raise ProfileError(
            f"payer profile {path}: field 'name' is {profile.name!r} but the file is named "
            f"{text!r}; the name inside a shipped profile must match its file name"
        )
    return profile
