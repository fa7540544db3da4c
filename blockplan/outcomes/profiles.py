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
from typing import Annotated, Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from blockplan.case.vocab import Agent, BlockType, Structure
from blockplan.errors import ProfileError
from blockplan.outcomes.diary import DEFAULT_DIARY_TIMES_MIN

__all__ = [
    "PROFILE_FORMAT_VERSION",
    "Acting",
    "AgentWindow",
    "Citation",
    "ConfirmationRule",
    "FlagCode",
    "PlaceboCriterion",
    "Profile",
    "Severity",
    "VolumeCap",
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


class FlagCode(StrEnum):
    """Validity flags of a block (shared/DOMAIN.md §4)."""

    SEDATION = "sedation"
    OVER_VOLUME = "over_volume"
    STEROID = "steroid"
    BASELINE_NRS_ZERO = "baseline_nrs_zero"
    INTRAVASCULAR_WITHOUT_DSA = "intravascular_without_dsa"


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
    concordant_prolonged_counts_positive : bool
        A concordant-prolonged comparative pair counts as positive.
    discordant_pair_makes_indeterminate : bool
        A discordant lidocaine/bupivacaine pair makes the source indeterminate.
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
    concordant_prolonged_counts_positive: bool = False
    discordant_pair_makes_indeterminate: bool = True
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
        return self

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
        data = json.loads(text)
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
