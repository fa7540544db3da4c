"""Adjudication profiles: versioned, cited rule sets loaded from JSON data files.

A profile holds every number and switch the adjudication engine uses — threshold,
minimum sustained span, diary schedule, agent duration windows, the confirmation rule,
validity flags and their severity, volume caps per block type — so that clinical rules are
data, not code (shared/DOMAIN.md §4). The shipped profiles live in
``blockplan/outcomes/profiles/<name>.json``; any other file with the same fields can be
loaded by path. Reports print the profile's name and version.

Decision support, not a medical device.
"""

from __future__ import annotations

import json
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from blockplan.case.vocab import Agent, BlockType, Structure
from blockplan.errors import ProfileError
from blockplan.outcomes.diary import DEFAULT_DIARY_TIMES_MIN
from blockplan.strict_json import loads_strict

__all__ = [
    "PROFILE_FORMAT_VERSION",
    "Acting",
    "AgentWindow",
    "Citation",
    "ConfirmationRule",
    "FlagCode",
    "PairClass",
    "PairEffect",
    "PlaceboCriterion",
    "Profile",
    "ReviewCode",
    "Severity",
    "VolumeCap",
    "VolumeRange",
    "list_profiles",
    "load_profile",
    "profile_path",
]

PROFILE_FORMAT_VERSION: Final = 1
"""Version of the profile file format this release reads."""

_PACKAGE = "blockplan.outcomes"
_FOLDER = "profiles"


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


class Acting(StrEnum):
    """Duration class of a local anaesthetic, for comparative blocks."""

    SHORT = "short"
    LONG = "long"


class Severity(StrEnum):
    """What a validity flag does to a block."""

    INVALID = "invalid"
    """The block is shown and flagged but is not diagnostic (counts as no evidence)."""
    WARNING = "warning"
    """The block is shown with the warning and still adjudicated."""
    REVIEW = "review"
    """The block is shown with the reason and *needs review*: the physician looks at it
    before it counts (never scored silently, shared/DOMAIN.md §9)."""


class FlagCode(StrEnum):
    """Validity flags of a block (shared/DOMAIN.md §4)."""

    SEDATION = "sedation"
    OVER_VOLUME = "over_volume"
    STEROID = "steroid"
    BASELINE_NRS_ZERO = "baseline_nrs_zero"
    INTRAVASCULAR_WITHOUT_DSA = "intravascular_without_dsa"


class ReviewCode(StrEnum):
    """Readings to review rather than score silently (shared/DOMAIN.md §9)."""

    PROLONGED_RELIEF = "prolonged_relief"
    """Relief at the threshold lasted beyond the end of the agent's window."""
    DIP_AND_RECOVER = "dip_and_recover"
    """Relief dipped below the threshold and recovered, and the dip decides the block."""
    LOW_BASELINE = "low_baseline"
    """Baseline NRS below ``Profile.low_baseline_nrs`` (but above 0)."""
    VOLUME_OUTSIDE_USUAL_RANGE = "volume_outside_usual_range"
    """Injectate outside the block type's usual range (``Profile.usual_volume_ml``) but not
    over the cap."""
    MISSING_POINT_DECIDES = "missing_point_decides"
    """In a diary that counts as final, a missing point inside it could change the verdict."""


class PairClass(StrEnum):
    """Class of a short-/long-acting pair of blocks on the same sites (DOMAIN §4), from the
    two relief runs themselves."""

    CONCORDANT = "concordant"
    """Both sustained at the threshold, the long-acting agent lasts longer."""
    CONCORDANT_PROLONGED = "concordant_prolonged"
    """Both sustained, both longer than their windows, the long-acting agent still longer."""
    DISCORDANT = "discordant"
    """Both sustained, the short-acting agent lasts as long or longer."""
    NEGATIVE = "negative"
    """Either block's relief is not sustained at the threshold."""

    @property
    def text(self) -> str:
        """Human wording."""
        return self.value.replace("_", "-")


class PairEffect(StrEnum):
    """What a profile does with a pair of a given class (``Profile.pair_classes``)."""

    COUNTS_POSITIVE = "counts_positive"
    """The pair is positive evidence (comparative rules: it confirms)."""
    COUNTS_NEGATIVE = "counts_negative"
    """The pair is negative evidence (comparative rules: it excludes)."""
    INDETERMINATE = "indeterminate"
    """The pair makes the source indeterminate."""
    NEEDS_REVIEW = "needs_review"
    """The pair puts the source up for the physician's review."""
    NOTED = "noted"
    """The pair is noted; each block stands alone."""

    @property
    def text(self) -> str:
        """What the effect does, e.g. ``"counts as positive"`` (the ledger, the screen and
        the report name the profile once, above the pairs)."""
        return {
            PairEffect.COUNTS_POSITIVE: "counts as positive",
            PairEffect.COUNTS_NEGATIVE: "counts as negative",
            PairEffect.INDETERMINATE: "makes the source indeterminate",
            PairEffect.NEEDS_REVIEW: "needs the physician's review",
            PairEffect.NOTED: "noted; each block stands alone",
        }[self]

    def describe(self, profile_label: str) -> str:
        """What the effect does, naming the profile (``"counts as positive under X"``)."""
        return f"{self.text} under {profile_label}"


class ConfirmationRule(StrEnum):
    """How valid blocks on a source become a ledger status (shared/DOMAIN.md §5)."""

    SINGLE = "single"
    """One valid positive and no valid negative confirms."""
    DUAL = "dual"
    """Valid positives on two separate days confirm; one is *probable*."""
    COMPARATIVE = "comparative"
    """A concordant short-/long-acting pair on separate days confirms."""
    PLACEBO_CONTROLLED = "placebo_controlled"
    """Relief with both anaesthetics and none with saline, on separate days, confirms."""


class PlaceboCriterion(StrEnum):
    """When a saline control counts as a placebo response."""

    REACHES_THRESHOLD = "reaches_threshold"
    """Any diary point at or above the threshold (the conservative reading)."""
    SUSTAINED = "sustained"
    """Relief sustained at the threshold, as for a positive block."""


class Citation(_Data):
    """A source a profile rests on. ``verify`` marks a figure taken from a secondary source."""

    text: str = Field(min_length=3)
    verify: bool = False
    note: str = ""

    def __str__(self) -> str:
        return f"{self.text} (verify)" if self.verify else self.text


class AgentWindow(_Data):
    """Expected duration of relief for a local anaesthetic (minutes after the block)."""

    window_min: tuple[Annotated[int, Field(ge=0)], Annotated[int, Field(ge=0)]]
    acting: Acting
    citation: Citation | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        low, high = self.window_min
        if low > high:
            raise ValueError(f"window_min must be [low, high] with low ≤ high; got {low}–{high}")
        return self

    def contains(self, minutes: int) -> bool:
        """True when ``minutes`` lies inside the window (bounds included)."""
        low, high = self.window_min
        return low <= minutes <= high


class VolumeCap(_Data):
    """Largest diagnostic injectate volume for a block type (shared/DOMAIN.md §2).

    ``limit_allowed`` says whether a volume equal to ``max_ml`` is still diagnostic
    (MBB ≤ 0.5 mL per branch: yes; facet intra-articular < 1.5 mL: no).
    """

    max_ml: float = Field(gt=0, le=50)
    per_branch: bool = False
    limit_allowed: bool = True

    def describe(self) -> str:
        """The cap as text, e.g. ``"≤ 0.5 mL per branch"``."""
        relation = "≤" if self.limit_allowed else "<"
        unit = " per branch" if self.per_branch else ""
        return f"{relation} {self.max_ml:g} mL{unit}"


class VolumeRange(_Data):
    """The usual diagnostic injectate volume of a block type (mL; per branch for a medial
    branch block). Outside it (but not over the cap) a block needs review."""

    min_ml: float = Field(ge=0, le=50)
    max_ml: float = Field(gt=0, le=50)
    per_branch: bool = False
    citation: Citation | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min_ml > self.max_ml:
            raise ValueError(f"min_ml must not exceed max_ml; got {self.min_ml}–{self.max_ml}")
        return self

    def contains(self, volume_ml: float) -> bool:
        """True when ``volume_ml`` lies inside the range (bounds included)."""
        return self.min_ml - 1e-9 <= volume_ml <= self.max_ml + 1e-9

    def describe(self) -> str:
        """The range as text, e.g. ``"0.3–0.75 mL"``."""
        unit = " per branch" if self.per_branch else ""
        return f"{self.min_ml:g}–{self.max_ml:g} mL{unit}"


def _default_review() -> dict[ReviewCode, Severity]:
    return dict.fromkeys(ReviewCode, Severity.REVIEW)


_LEGACY_PAIR_FIELDS = (
    "concordant_prolonged_counts_positive",
    "discordant_pair_makes_indeterminate",
)


def _legacy_pair_classes(data: dict[str, Any]) -> dict[str, str]:
    """``pair_classes`` of a format-1 file that still uses the two former pair switches."""
    prolonged = bool(data.pop(_LEGACY_PAIR_FIELDS[0], False))
    discordant = bool(data.pop(_LEGACY_PAIR_FIELDS[1], True))
    comparative = data.get("confirmation") in ("comparative", "placebo_controlled")
    noted, positive = PairEffect.NOTED.value, PairEffect.COUNTS_POSITIVE.value
    return {
        "concordant": positive if comparative else noted,
        "concordant_prolonged": (
            positive if prolonged else PairEffect.INDETERMINATE.value if comparative else noted
        ),
        "discordant": PairEffect.INDETERMINATE.value if discordant else noted,
        "negative": PairEffect.COUNTS_NEGATIVE.value if comparative else noted,
    }


def _default_flags() -> dict[FlagCode, Severity]:
    return {
        FlagCode.SEDATION: Severity.INVALID,
        FlagCode.OVER_VOLUME: Severity.INVALID,
        FlagCode.STEROID: Severity.INVALID,
        FlagCode.BASELINE_NRS_ZERO: Severity.INVALID,
        FlagCode.INTRAVASCULAR_WITHOUT_DSA: Severity.WARNING,
    }


class Profile(_Data):
    """A named, versioned adjudication profile.

    Attributes
    ----------
    format_version : int
        File format version (1).
    name, version, title : str
        Identity printed on every report (``name`` is lower-case with dashes).
    summary : str
        One paragraph in plain words.
    citations : tuple of Citation
        Sources; at least one.
    threshold_pct : float
        Relief threshold *T* (%).
    min_sustained_min : int
        Minimum ``duration − onset`` (minutes) for sustained relief.
    diary_times_min : tuple of int
        Diary schedule (minutes after the block); a scheduled time without an NRS is a
        missing point.
    agents : dict
        Duration window and acting class of each local anaesthetic.
    require_duration_consistent_with_agent : bool
        A positive block's duration must lie inside its agent's window.
    confirmation : ConfirmationRule
        How valid blocks on a source become a ledger status.
    pair_classes : dict
        What the profile does with a short-/long-acting pair of each `PairClass`
        (`PairEffect`). Files that still give the former switches
        ``concordant_prolonged_counts_positive`` / ``discordant_pair_makes_indeterminate``
        are read into this table.
    sij_requires_movements : bool
        A sacroiliac-joint block is positive only when previously painful movements became
        possible.
    placebo_response : PlaceboCriterion
        When a saline control counts as a placebo response.
    diagnostic_block_types : tuple of BlockType
        Block types adjudicated as diagnostic; others are shown as not applicable.
    structures : tuple of Structure or None
        Structures the profile adjudicates; None for all.
    flags : dict
        Severity of every validity flag.
    volume_caps : dict
        Diagnostic volume cap per block type.
    review : dict
        Severity of each reading to review (`ReviewCode`): ``review`` makes the block
        *needs review*, ``warning`` shows it and still counts the block.
    low_baseline_nrs : int
        A baseline NRS above 0 and below this needs review (a 50 % change is then one or
        two NRS points).
    usual_volume_ml : dict
        Usual diagnostic volume range per block type; outside it a block needs review.
    workup_min_valid_blocks : int
        Valid anaesthetic blocks needed before "nothing confirmed" suggestions (re-imaging,
        psychosocial screening) may appear.
    """

    format_version: Literal[1] = PROFILE_FORMAT_VERSION
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)
    version: str = Field(pattern=r"^[0-9]+\.[0-9]+(\.[0-9]+)?$")
    title: str = Field(min_length=3)
    summary: str = ""
    citations: tuple[Citation, ...] = Field(min_length=1)
    threshold_pct: float = Field(gt=0, le=100)
    min_sustained_min: int = Field(default=30, ge=0, le=60 * 24 * 14)
    diary_times_min: tuple[Annotated[int, Field(ge=0, le=60 * 24 * 14)], ...] = (
        DEFAULT_DIARY_TIMES_MIN
    )
    agents: dict[Agent, AgentWindow]
    require_duration_consistent_with_agent: bool = False
    confirmation: ConfirmationRule
    pair_classes: dict[PairClass, PairEffect]
    sij_requires_movements: bool = False
    placebo_response: PlaceboCriterion = PlaceboCriterion.REACHES_THRESHOLD
    diagnostic_block_types: tuple[BlockType, ...] = (
        BlockType.MEDIAL_BRANCH,
        BlockType.FACET_INTRAARTICULAR,
        BlockType.SELECTIVE_NERVE_ROOT,
        BlockType.SACROILIAC_JOINT,
    )
    structures: tuple[Structure, ...] | None = None
    flags: dict[FlagCode, Severity] = Field(default_factory=_default_flags)
    volume_caps: dict[BlockType, VolumeCap] = Field(default_factory=dict)
    review: dict[ReviewCode, Severity] = Field(default_factory=_default_review)
    low_baseline_nrs: int = Field(default=4, ge=0, le=10)
    usual_volume_ml: dict[BlockType, VolumeRange] = Field(default_factory=dict)
    workup_min_valid_blocks: int = Field(default=2, ge=1, le=20)

    @model_validator(mode="before")
    @classmethod
    def _former_pair_switches(cls, data: Any) -> Any:
        """Read the two former pair switches of format-1 files into ``pair_classes``."""
        if not isinstance(data, dict):
            return data
        legacy = [k for k in _LEGACY_PAIR_FIELDS if k in data]
        if legacy and "pair_classes" in data:
            raise ValueError(
                f"give either pair_classes or the former {' / '.join(legacy)}, not both"
            )
        if "pair_classes" not in data:
            data = dict(data)
            data["pair_classes"] = _legacy_pair_classes(data)
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        times = list(self.diary_times_min)
        if times != sorted(set(times)):
            raise ValueError("diary_times_min must be strictly increasing minutes")
        if Agent.SALINE in self.agents:
            raise ValueError("agents: saline is the placebo control and has no duration window")
        for agent in (Agent.LIDOCAINE, Agent.BUPIVACAINE):
            if agent not in self.agents:
                raise ValueError(f"agents: a window for {agent.value} is required")
        missing = [code.value for code in FlagCode if code not in self.flags]
        if missing:
            raise ValueError(f"flags: severity missing for {', '.join(missing)}")
        unclassed = [c.value for c in PairClass if c not in self.pair_classes]
        if unclassed:
            raise ValueError(f"pair_classes: effect missing for {', '.join(unclassed)}")
        return self

    @property
    def concordant_prolonged_counts_positive(self) -> bool:
        """A concordant-prolonged pair counts as positive (from ``pair_classes``)."""
        return self.pair_classes[PairClass.CONCORDANT_PROLONGED] is PairEffect.COUNTS_POSITIVE

    @property
    def discordant_pair_makes_indeterminate(self) -> bool:
        """A discordant pair makes the source indeterminate (from ``pair_classes``)."""
        return self.pair_classes[PairClass.DISCORDANT] is PairEffect.INDETERMINATE

    def pair_effect(self, pair_class: PairClass) -> PairEffect:
        """What this profile does with a pair of ``pair_class``."""
        return self.pair_classes[pair_class]

    def review_severity(self, code: ReviewCode) -> Severity:
        """Severity of a reading to review under this profile (review by default)."""
        return self.review.get(code, Severity.REVIEW)

    def window_end_min(self, agents: tuple[Agent, ...] = ()) -> int:
        """End of the duration window of ``agents`` (the latest end for a mixture); the
        latest end of every agent of the profile when ``agents`` have none (saline)."""
        ends = [self.agents[a].window_min[1] for a in agents if a in self.agents]
        return max(ends) if ends else max(w.window_min[1] for w in self.agents.values())

    @property
    def label(self) -> str:
        """``"name vVERSION"``, as printed on reports."""
        return f"{self.name} v{self.version}"

    def severity(self, code: FlagCode) -> Severity:
        """Severity of a validity flag under this profile."""
        return self.flags[code]

    def covers(self, structure: Structure) -> bool:
        """True when this profile adjudicates blocks of ``structure``."""
        return self.structures is None or structure in self.structures


# --- loading --------------------------------------------------------------------------
def _shipped_dir() -> Path:
    return Path(str(resources.files(_PACKAGE).joinpath(_FOLDER)))


def list_profiles() -> tuple[str, ...]:
    """Names of the shipped profiles, sorted."""
    return tuple(sorted(p.stem for p in _shipped_dir().glob("*.json")))


def profile_path(name: str) -> Path:
    """Path of the shipped profile ``name`` (ProfileError if there is none)."""
    path = _shipped_dir() / f"{name}.json"
    if not path.is_file():
        raise ProfileError(
            f"no shipped profile named {name!r}; available: {', '.join(list_profiles())} "
            "(or give the path of a profile JSON file)"
        )
    return path


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _from_file(path: Path) -> Profile:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ProfileError(f"profile file {path}: cannot be read ({err.strerror})") from err
    try:
        data = loads_strict(text)
    except json.JSONDecodeError as err:
        raise ProfileError(
            f"profile file {path}: not valid JSON at line {err.lineno} column {err.colno} "
            f"({err.msg})"
        ) from err
    try:
        return Profile.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(
            f"field {_field_path(e['loc'])!r}: {e['msg']}" for e in err.errors()[:5]
        )
        raise ProfileError(
            f"profile file {path}: {problems} — fix the file or compare it with a shipped "
            "profile (blockplan/outcomes/profiles/)"
        ) from err


def load_profile(name_or_path: str | Path) -> Profile:
    """Load a shipped profile by name, or any profile file by path.

    Parameters
    ----------
    name_or_path : str or Path
        A shipped profile name (see `list_profiles`) or the path of a profile JSON file.

    Returns
    -------
    Profile

    Raises
    ------
    ProfileError
        The name is unknown, or the file is unreadable or invalid; the message names the
        file and the field.
    """
    if isinstance(name_or_path, Path):
        return _from_file(name_or_path)
    text = str(name_or_path)
    looks_like_path = text.endswith(".json") or "/" in text or "\\" in text
    if looks_like_path:
        return _from_file(Path(text))
    path = profile_path(text)
    profile = _from_file(path)
    if profile.name != text:
        raise ProfileError(
            f"profile file {path}: field 'name' is {profile.name!r} but the file is named "
            f"{text!r}; the name inside a shipped profile must match its file name"
        )
    return profile
