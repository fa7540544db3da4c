"""Adjudicate each block of a case under a profile.

One engine, every rule from the `Profile`: validity flags (shared/DOMAIN.md §4), the
block's verdict, and the comparative pairs of short- and long-acting blocks.

Evidence key of a block
-----------------------
A block tests a set of *sites* — atomic ``(level, side, structure)`` keys:

- an injection with ``target_id`` takes the target's level, side and structure;
- otherwise the injection's own level and side, and its ``structure`` or, when that is
  empty, the procedure's ``block_type.structure``;
- a sacroiliac joint has no level (``(–, right, SIJ)``) and a disc no side
  (``(L4-L5, –, disc)``);
- a **bilateral** injection tests *both* sides: it yields the left and the right site.

A block that tested several sites (bilateral, or several levels in one session) is
evidence about that *set*: relief after it cannot be attributed to one of its sites (see
`blockplan.outcomes.ledger`). For an anaesthetic block the sites are those of its
anaesthetic injections; saline injected in the same session is ignored (and noted).

Decision support, not a medical device.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from blockplan.case.model import Case, Injection, PainDiary, Procedure
from blockplan.case.vocab import Agent, BlockType, Laterality, Structure, level_index
from blockplan.outcomes.diary import (
    ReliefPoint,
    ReliefRun,
    RunEnd,
    peak_relief,
    relief_curve,
    relief_run,
)
from blockplan.outcomes.profiles import (
    Acting,
    ConfirmationRule,
    FlagCode,
    PlaceboCriterion,
    Profile,
    Severity,
    VolumeCap,
)

__all__ = [
    "BLOCK_NAMES",
    "STRUCTURE_NAMES",
    "BlockResult",
    "BlockRole",
    "ComparativePair",
    "Flag",
    "PairClass",
    "SourceKey",
    "Verdict",
    "adjudicate",
    "adjudicate_block",
    "classify_pair",
    "comparative_pairs",
    "expand_sites",
    "injection_sites",
    "sites_label",
    "validity_flags",
]

BLOCK_NAMES: dict[BlockType, str] = {
    BlockType.MEDIAL_BRANCH: "medial branch block",
    BlockType.FACET_INTRAARTICULAR: "facet intra-articular block",
    BlockType.SELECTIVE_NERVE_ROOT: "selective nerve root block",
    BlockType.TRANSFORAMINAL_EPIDURAL: "transforaminal epidural injection",
    BlockType.INTERLAMINAR_EPIDURAL: "interlaminar epidural injection",
    BlockType.CAUDAL_EPIDURAL: "caudal epidural injection",
    BlockType.SACROILIAC_JOINT: "sacroiliac joint block",
    BlockType.DISCOGRAPHY: "provocative discography",
}
"""Human names of block types, for reasons and reports."""

STRUCTURE_NAMES: dict[Structure, str] = {
    Structure.NERVE_ROOT: "nerve root",
    Structure.FACET_JOINT: "facet joint",
    Structure.DISC: "disc",
    Structure.SACROILIAC_JOINT: "sacroiliac joint",
    Structure.EPIDURAL_SPACE: "epidural space",
}
"""Human names of structures."""

_VOLUME_TOLERANCE_ML = 1e-9
_SIDELESS = frozenset({Structure.DISC})
_LEVELLESS = frozenset({Structure.SACROILIAC_JOINT})
_SIDE_ORDER = {None: 0, Laterality.LEFT: 1, Laterality.RIGHT: 2, Laterality.MIDLINE: 3}
_STRUCTURE_ORDER = {s: n for n, s in enumerate(Structure)}


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _pct(value: float) -> str:
    return f"{value:.0f} %"


# --- evidence keys --------------------------------------------------------------------
class SourceKey(_Result):
    """One candidate pain source: ``(level, side, structure)``.

    ``level`` is None for a sacroiliac joint (or when unknown); ``side`` is None for a disc.
    ``side`` is never ``bilateral``: a bilateral injection yields a left and a right key.
    """

    structure: Structure
    level: str | None = None
    side: Laterality | None = None

    @property
    def label(self) -> str:
        """E.g. ``"L4-L5, right, facet joint"``; ``–`` for no level or side."""
        side = self.side.value if self.side is not None else "–"
        return f"{self.level or '–'}, {side}, {STRUCTURE_NAMES[self.structure]}"

    @property
    def short_label(self) -> str:
        """Compact wording for running text and reports, e.g. ``"L5 right nerve root"``,
        ``"right sacroiliac joint"``, ``"L4-L5 disc"`` (a midline side is not named)."""
        side = "" if self.side in (None, Laterality.MIDLINE) else str(self.side)
        return " ".join(p for p in (self.level or "", side, STRUCTURE_NAMES[self.structure]) if p)

    @property
    def sort_key(self) -> tuple[int, int, int]:
        """Order: structure, then level from the top, then side."""
        level = -1 if self.level is None else level_index(self.level.split("-")[0])
        return (_STRUCTURE_ORDER[self.structure], level, _SIDE_ORDER[self.side])


def expand_sites(
    structure: Structure, level: str | None, side: Laterality
) -> tuple[SourceKey, ...]:
    """Sites of a (structure, level, side): no level for an SIJ, no side for a disc, and a
    left and a right site for ``bilateral``."""
    if structure in _LEVELLESS:
        level = None
    if structure in _SIDELESS:
        return (SourceKey(structure=structure, level=level, side=None),)
    if side is Laterality.BILATERAL:
        return tuple(
            SourceKey(structure=structure, level=level, side=s)
            for s in (Laterality.LEFT, Laterality.RIGHT)
        )
    return (SourceKey(structure=structure, level=level, side=side),)


"""Former private name of `expand_sites`, still imported by `blockplan.outcomes.targets`."""


def injection_sites(
    case: Case, procedure: Procedure, injection: Injection
) -> tuple[SourceKey, ...]:
    """The sites (evidence keys) an injection tested; two for a bilateral injection.

    The target's level/side/structure when ``target_id`` is set, else the injection's level
    and side with its structure or the procedure's ``block_type.structure``.
    """
    if injection.target_id is not None:
        target = case.target(injection.target_id)
        return expand_sites(target.structure, target.level, target.side)
    structure = injection.structure or procedure.block_type.structure
    return expand_sites(structure, injection.level, injection.side)


def _sorted_sites(sites: Iterable[SourceKey]) -> tuple[SourceKey, ...]:
    return tuple(sorted(set(sites), key=lambda k: k.sort_key))


def sites_label(sites: Sequence[SourceKey]) -> str:
    """Label of a set of sites, e.g. ``"L4-L5, left + right, facet joint"``."""
    if len(sites) == 1:
        return sites[0].label
    structures = {k.structure for k in sites}
    levels = {k.level for k in sites}
    if len(structures) == 1 and len(levels) == 1:
        sides = " + ".join(k.side.value if k.side else "–" for k in sites)
        only = sites[0]
        return f"{only.level or '–'}, {sides}, {STRUCTURE_NAMES[only.structure]}"
    return " + ".join(f"({k.label})" for k in sites)


# --- results --------------------------------------------------------------------------
class BlockRole(StrEnum):
    """What a block is for."""

    ANAESTHETIC = "anaesthetic"
    CONTROL = "control"
    """Saline only: a placebo control."""


class Verdict(StrEnum):
    """Outcome of one block under a profile."""

    POSITIVE = "positive"
    NEGATIVE = "negative"
    PLACEBO_RESPONSE = "placebo_response"
    """A saline control reached the threshold."""
    NO_PLACEBO_RESPONSE = "no_placebo_response"
    NOT_DIAGNOSTIC = "not_diagnostic"
    """A validity flag (or undefined relief) makes the block count as no evidence."""
    PENDING = "pending"
    """The record is incomplete (no diary, no NRS, movements not recorded)."""
    NOT_APPLICABLE = "not_applicable"
    """Not a diagnostic block type, or a structure outside the profile's scope."""

    @property
    def text(self) -> str:
        """Human wording."""
        return self.value.replace("_", " ")


_VALID = frozenset(
    {Verdict.POSITIVE, Verdict.NEGATIVE, Verdict.PLACEBO_RESPONSE, Verdict.NO_PLACEBO_RESPONSE}
)


class Flag(_Result):
    """A validity flag raised on a block, with the severity the profile gives it."""

    code: FlagCode
    severity: Severity
    message: str

    @property
    def text(self) -> str:
        """``"<severity>: <message>"``."""
        return f"{self.severity.value}: {self.message}"


class BlockResult(_Result):
    """One block adjudicated under one profile — everything the report needs.

    Attributes
    ----------
    number : int
        1-based chronological number of the block in the case.
    procedure_id : str
        The procedure's id.
    performed_at : datetime
        When the block was done (time-zone aware); ``day`` is its local date.
    block_type : BlockType
    role : BlockRole
        Anaesthetic block or saline control.
    agents : tuple of Agent
        Agents that decide the block (anaesthetics, or saline for a control).
    sites : tuple of SourceKey
        Sites the block tested (sorted).
    baseline_nrs : int or None
    curve : tuple of ReliefPoint
        Relief at every diary point (scheduled and recorded).
    peak_relief_pct : float or None
    run : ReliefRun or None
        Onset, duration, sustained relief at the profile's threshold.
    agent_window_min : tuple of int or None
        Expected duration window for the agent(s) (the envelope for a mixture).
    duration_consistent : bool or None
        Duration inside ``agent_window_min`` (None when not assessed).
    movements_possible : bool or None
        From the diary (sacroiliac joint).
    flags : tuple of Flag
    verdict : Verdict
    reasons : tuple of str
        Why, in words.
    """

    number: int
    procedure_id: str
    performed_at: dt.datetime
    block_type: BlockType
    role: BlockRole
    agents: tuple[Agent, ...]
    sites: tuple[SourceKey, ...]
    baseline_nrs: int | None = None
    curve: tuple[ReliefPoint, ...] = ()
    peak_relief_pct: float | None = None
    run: ReliefRun | None = None
    agent_window_min: tuple[int, int] | None = None
    duration_consistent: bool | None = None
    movements_possible: bool | None = None
    flags: tuple[Flag, ...] = ()
    verdict: Verdict
    reasons: tuple[str, ...] = ()

    @property
    def day(self) -> dt.date:
        """Local calendar date of the block ("separate days" compare these)."""
        return self.performed_at.date()

    @property
    def site_set(self) -> frozenset[SourceKey]:
        """The tested sites as a set."""
        return frozenset(self.sites)

    @property
    def onset_min(self) -> int | None:
        """Onset of relief at the profile's threshold (minutes), None without one."""
        return None if self.run is None else self.run.onset_min

    @property
    def duration_min(self) -> int | None:
        """Duration of the run at the threshold that starts at onset (minutes), or None."""
        return None if self.run is None else self.run.duration_min

    @property
    def is_valid(self) -> bool:
        """True when the block is evidence (adjudicated positive/negative or a valid control)."""
        return self.verdict in _VALID

    @property
    def agent_label(self) -> str:
        """E.g. ``"lidocaine"`` or ``"lidocaine + bupivacaine"``."""
        return " + ".join(a.value for a in self.agents) or "–"

    @property
    def single_agent(self) -> Agent | None:
        """The agent when exactly one decides the block, else None."""
        return self.agents[0] if len(self.agents) == 1 else None

    @property
    def label(self) -> str:
        """E.g. ``"block 2 (2026-03-15, medial branch block, lidocaine)"``."""
        return (
            f"block {self.number} ({self.day.isoformat()}, {BLOCK_NAMES[self.block_type]}, "
            f"{self.agent_label})"
        )


# --- validity flags -------------------------------------------------------------------
def _over(value: float, cap: VolumeCap) -> bool:
    if cap.limit_allowed:
        return value > cap.max_ml + _VOLUME_TOLERANCE_ML
    return value >= cap.max_ml - _VOLUME_TOLERANCE_ML


def _volume_messages(case: Case, procedure: Procedure, cap: VolumeCap) -> list[str]:
    name = BLOCK_NAMES[procedure.block_type]
    unit = " per branch" if cap.per_branch else ""
    messages: list[str] = []
    per_site: dict[SourceKey, list[Injection]] = defaultdict(list)
    for injection in procedure.injections:
        for site in injection_sites(case, procedure, injection):
            per_site[site].append(injection)
    for site in sorted(per_site, key=lambda k: k.sort_key):
        injections = per_site[site]
        volumes = [i.volume_per_branch_ml if cap.per_branch else i.volume_ml for i in injections]
        if len(injections) > 1:
            total = sum(i.volume_ml for i in injections)
            branches = sum(i.branches for i in injections)
            volumes.append(total / branches if cap.per_branch else total)
        worst = max(volumes)
        if _over(worst, cap):
            messages.append(
                f"{worst:.2f} mL{unit} at {site.label} is over the diagnostic cap for a "
                f"{name} ({cap.describe()}): spread to neighbouring structures makes the "
                "block non-selective"
            )
    return messages


def validity_flags(case: Case, procedure: Procedure, profile: Profile) -> tuple[Flag, ...]:
    """Validity flags of a procedure with the severity ``profile`` gives each.

    Sedation; injectate over the profile's volume cap for the block type (per injection
    and summed per site); steroid in a diagnostic block; baseline NRS 0; intravascular
    contrast uptake seen without digital subtraction.
    """
    flags: list[Flag] = []

    def add(code: FlagCode, message: str) -> None:
        flags.append(Flag(code=code, severity=profile.severity(code), message=message))

    if procedure.sedation is not None:
        add(
            FlagCode.SEDATION,
            f"sedation given ({procedure.sedation.drug}): false-positive responses rise "
            "from 54 % to 70 % with sedation (Cohen 2014)",
        )
    cap = profile.volume_caps.get(procedure.block_type)
    if cap is not None:
        for message in _volume_messages(case, procedure, cap):
            add(FlagCode.OVER_VOLUME, message)
    if procedure.steroid is not None:
        add(
            FlagCode.STEROID,
            f"steroid ({procedure.steroid.name}) in the injectate: a diagnostic block is "
            "local anaesthetic only",
        )
    if procedure.diary is not None and procedure.diary.baseline_nrs == 0:
        add(
            FlagCode.BASELINE_NRS_ZERO,
            "baseline NRS 0: the index pain was not present, so relief cannot be measured",
        )
    if procedure.contrast.intravascular_uptake and not procedure.contrast.dsa_used:
        add(
            FlagCode.INTRAVASCULAR_WITHOUT_DSA,
            "intravascular contrast uptake seen without digital subtraction: part of the "
            "injectate may have gone intravascular (risk of a false-negative block)",
        )
    return tuple(flags)


# --- one block ------------------------------------------------------------------------
def _agent_window(agents: Sequence[Agent], profile: Profile) -> tuple[int, int] | None:
    windows = [profile.agents[a].window_min for a in agents if a in profile.agents]
    if not windows or len(windows) != len(agents):
        return None
    return (min(w[0] for w in windows), max(w[1] for w in windows))


def _negative_reasons(run: ReliefRun, peak: float | None, profile: Profile) -> list[str]:
    threshold = _pct(profile.threshold_pct)
    if not run.reached:
        peak_text = "no relief" if peak is None else f"peak relief {_pct(peak)}"
        return [f"{peak_text} stays below the {threshold} threshold"]
    reasons = [
        f"relief ≥ {threshold} from {run.onset_min} to {run.duration_min} min spans "
        f"{run.span_min} min, less than the {profile.min_sustained_min} min required"
    ]
    if run.ended_by is RunEnd.MISSING_POINT:
        reasons.append(
            f"the run ended at a missing diary point ({run.ended_at_min} min): a missing "
            "point is not evidence of relief — if relief continued, the diary is incomplete"
        )
    if run.recovered_at_min is not None:
        reasons.append(
            f"relief reached {threshold} again at {run.recovered_at_min} min after a dip; "
            "not counted, because the run must start at onset"
        )
    return reasons


@dataclass(frozen=True, slots=True)
class _BlockFacts:
    """What a procedure says before it is read against the profile's rules."""

    block_type: BlockType
    role: BlockRole
    agents: tuple[Agent, ...]
    sites: tuple[SourceKey, ...]
    flags: tuple[Flag, ...]
    diary: PainDiary | None
    curve: tuple[ReliefPoint, ...]
    peak: float | None
    run: ReliefRun | None
    window: tuple[int, int] | None
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Reading:
    """A verdict with its reasons; ``POSITIVE`` from a check means "passes, go on"."""

    verdict: Verdict
    reasons: tuple[str, ...]
    duration_consistent: bool | None = None


def _block_facts(case: Case, procedure: Procedure, profile: Profile) -> _BlockFacts:
    """Role, deciding agents and sites, flags, relief curve and run of a procedure.

    The anaesthetic injections decide a block; saline alone makes it a control.
    """
    anaesthetic = [i for i in procedure.injections if i.agent.is_anaesthetic]
    role = BlockRole.ANAESTHETIC if anaesthetic else BlockRole.CONTROL
    deciding = anaesthetic or list(procedure.injections)
    agents = tuple(sorted({i.agent for i in deciding}, key=list(Agent).index))
    diary = procedure.diary
    curve = relief_curve(diary, profile.diary_times_min) if diary is not None else ()
    mixed = bool(anaesthetic) and len(anaesthetic) != len(procedure.injections)
    return _BlockFacts(
        block_type=procedure.block_type,
        role=role,
        agents=agents,
        sites=_sorted_sites(s for i in deciding for s in injection_sites(case, procedure, i)),
        flags=validity_flags(case, procedure, profile),
        diary=diary,
        curve=curve,
        peak=peak_relief(curve),
        run=relief_run(curve, profile.threshold_pct, profile.min_sustained_min)
        if diary is not None
        else None,
        window=_agent_window(agents, profile) if role is BlockRole.ANAESTHETIC else None,
        notes=("saline injected in the same session is ignored",) if mixed else (),
    )


def _outside_profile(facts: _BlockFacts, profile: Profile) -> _Reading | None:
    """Not applicable: a block type or structure the profile does not adjudicate."""
    if facts.block_type not in profile.diagnostic_block_types:
        return _Reading(
            Verdict.NOT_APPLICABLE,
            (
                f"a {BLOCK_NAMES[facts.block_type]} is not adjudicated as a diagnostic block "
                f"under {profile.label}",
            ),
        )
    outside = sorted({s.structure for s in facts.sites if not profile.covers(s.structure)})
    if not outside:
        return None
    covered = ", ".join(STRUCTURE_NAMES[s] for s in profile.structures or ())
    tested = ", ".join(STRUCTURE_NAMES[s] for s in outside)
    return _Reading(
        Verdict.NOT_APPLICABLE,
        (f"{profile.label} adjudicates only {covered}; this block tested {tested}",),
    )


def _invalidated(facts: _BlockFacts, profile: Profile) -> _Reading | None:
    """Not diagnostic: a validity flag the profile treats as invalidating."""
    invalid = [f for f in facts.flags if f.severity is Severity.INVALID]
    if not invalid:
        return None
    return _Reading(
        Verdict.NOT_DIAGNOSTIC,
        (
            *(f.message for f in invalid),
            f"not diagnostic under {profile.label}: counts as no evidence",
        ),
    )


def _diary_not_readable(facts: _BlockFacts) -> _Reading | None:
    """Pending without a diary or any NRS after the block; not diagnostic at baseline 0."""
    if facts.diary is None or facts.run is None:
        return _Reading(Verdict.PENDING, ("no pain diary recorded yet",))
    if facts.diary.baseline_nrs == 0:
        return _Reading(
            Verdict.NOT_DIAGNOSTIC, ("relief is undefined with baseline NRS 0 (no index pain)",)
        )
    if facts.peak is None:
        return _Reading(Verdict.PENDING, ("no NRS recorded after the block",))
    return None


def _saline_control(facts: _BlockFacts, profile: Profile) -> _Reading:
    """Placebo response when saline relief meets the profile's placebo criterion."""
    run, peak = facts.run, facts.peak
    assert run is not None and peak is not None
    threshold = _pct(profile.threshold_pct)
    responded = (
        run.reached
        if profile.placebo_response is PlaceboCriterion.REACHES_THRESHOLD
        else run.sustained
    )
    if responded:
        return _Reading(
            Verdict.PLACEBO_RESPONSE,
            (
                f"saline control reached {threshold} relief at {run.onset_min} min "
                f"(peak {_pct(peak)}): placebo response",
            ),
        )
    return _Reading(
        Verdict.NO_PLACEBO_RESPONSE,
        (f"saline control: peak relief {_pct(peak)}, no placebo response at {threshold}",),
    )


def _duration_for_agent(facts: _BlockFacts, profile: Profile) -> _Reading | None:
    """When the profile asks for it: relief must last as long as the agent's window."""
    if not profile.require_duration_consistent_with_agent:
        return None
    assert facts.run is not None and facts.run.duration_min is not None
    duration = facts.run.duration_min
    if facts.window is None:
        names = "/".join(a.value for a in facts.agents)
        return _Reading(
            Verdict.NOT_DIAGNOSTIC, (f"{profile.label} has no duration window for {names}",)
        )
    low, high = facts.window
    consistent = low <= duration <= high
    names, span = " + ".join(a.value for a in facts.agents), f"{low}–{high} min"
    if not consistent:
        return _Reading(
            Verdict.NEGATIVE,
            (f"relief lasted to {duration} min, outside the {span} expected for {names}",),
            consistent,
        )
    return _Reading(Verdict.POSITIVE, (f"duration consistent with {names} ({span})",), True)


def _sij_movements(facts: _BlockFacts, profile: Profile) -> _Reading | None:
    """When the profile asks for it: previously painful movements possible after an SIJ block."""
    tests_sij = any(s.structure is Structure.SACROILIAC_JOINT for s in facts.sites)
    if not (profile.sij_requires_movements and tests_sij):
        return None
    assert facts.diary is not None
    if facts.diary.movements_possible is None:
        text = "sacroiliac joint: record whether previously painful movements became possible"
        return _Reading(Verdict.PENDING, (text,))
    if not facts.diary.movements_possible:
        text = "sacroiliac joint: previously painful movements did not become possible"
        return _Reading(Verdict.NEGATIVE, (text,))
    return _Reading(
        Verdict.POSITIVE, ("sacroiliac joint: previously painful movements became possible",)
    )


def _anaesthetic_block(facts: _BlockFacts, profile: Profile) -> _Reading:
    """Positive when relief is sustained at the threshold and every further check passes."""
    run, peak = facts.run, facts.peak
    assert run is not None and peak is not None
    if not run.sustained:
        return _Reading(Verdict.NEGATIVE, tuple(_negative_reasons(run, peak, profile)))
    reasons = [
        f"relief ≥ {_pct(profile.threshold_pct)} from {run.onset_min} to {run.duration_min} min "
        f"(sustained {run.span_min} min ≥ {profile.min_sustained_min} min; peak {_pct(peak)})"
    ]
    duration = _duration_for_agent(facts, profile)
    consistent = None if duration is None else duration.duration_consistent
    for check in (duration, _sij_movements(facts, profile)):
        if check is None:
            continue
        reasons.extend(check.reasons)
        if check.verdict is not Verdict.POSITIVE:
            return _Reading(check.verdict, tuple(reasons), consistent)
    return _Reading(Verdict.POSITIVE, tuple(reasons), consistent)


def adjudicate_block(
    case: Case, procedure: Procedure, profile: Profile, number: int = 1
) -> BlockResult:
    """Adjudicate one procedure as a diagnostic block under ``profile``.

    In order: outside the profile (not applicable), invalidating flags (not diagnostic),
    a diary that cannot be read (pending, or not diagnostic at baseline 0), then a saline
    control (placebo response or not) or an anaesthetic block (positive or negative).

    Parameters
    ----------
    case : Case
        The case (for targets).
    procedure : Procedure
        The block.
    profile : Profile
        The rules.
    number : int
        Chronological number of the block in the case, for labels.

    Returns
    -------
    BlockResult
        Verdict, relief curve, onset/duration, flags and reasons.
    """
    facts = _block_facts(case, procedure, profile)
    reading = _outside_profile(facts, profile) or _invalidated(facts, profile)
    reading = reading or _diary_not_readable(facts)
    if reading is None:
        read = _saline_control if facts.role is BlockRole.CONTROL else _anaesthetic_block
        reading = read(facts, profile)
    diary = facts.diary
    return BlockResult(
        number=number,
        procedure_id=procedure.id,
        performed_at=procedure.performed_at,
        block_type=procedure.block_type,
        role=facts.role,
        agents=facts.agents,
        sites=facts.sites,
        baseline_nrs=diary.baseline_nrs if diary is not None else None,
        curve=facts.curve,
        peak_relief_pct=facts.peak,
        run=facts.run,
        agent_window_min=facts.window,
        duration_consistent=reading.duration_consistent,
        movements_possible=diary.movements_possible if diary is not None else None,
        flags=facts.flags,
        verdict=reading.verdict,
        reasons=(*facts.notes, *reading.reasons),
    )


def adjudicate(case: Case, profile: Profile) -> tuple[BlockResult, ...]:
    """Adjudicate every procedure of ``case`` under ``profile``, in chronological order."""
    procedures = sorted(case.procedures, key=lambda p: (p.performed_at, p.id))
    return tuple(
        adjudicate_block(case, p, profile, number=n) for n, p in enumerate(procedures, start=1)
    )


# --- comparative pairs ----------------------------------------------------------------
class PairClass(StrEnum):
    """Class of a short-/long-acting pair of blocks on the same sites (DOMAIN §4)."""

    CONCORDANT = "concordant"
    """Both positive, the long-acting agent lasts longer."""
    CONCORDANT_PROLONGED = "concordant_prolonged"
    """Both positive, both longer than their windows, the long-acting agent still longer."""
    DISCORDANT = "discordant"
    """Both positive, the short-acting agent lasts as long or longer."""
    NEGATIVE = "negative"
    """Either block fails."""

    @property
    def text(self) -> str:
        """Human wording."""
        return self.value.replace("_", "-")


class ComparativePair(_Result):
    """A short- and a long-acting block on the same sites on separate days.

    ``counts_positive`` is True for a concordant pair (and a concordant-prolonged one when
    the profile counts it); ``doubt`` is True when the pair itself makes the source
    indeterminate under the profile (discordant, or concordant-prolonged not counted).
    """

    short_block: int
    long_block: int
    short_agent: Agent
    long_agent: Agent
    sites: tuple[SourceKey, ...]
    pair_class: PairClass
    counts_positive: bool
    doubt: bool
    reason: str

    @property
    def blocks(self) -> tuple[int, int]:
        """Numbers of the two blocks."""
        return (self.short_block, self.long_block)


def _acting(block: BlockResult, profile: Profile) -> Acting | None:
    agent = block.single_agent
    if agent is None or agent not in profile.agents:
        return None
    return profile.agents[agent].acting


def classify_pair(short: BlockResult, long: BlockResult, profile: Profile) -> PairClass:
    """Class of a pair: ``short`` with the short-acting, ``long`` with the long-acting agent.

    Either verdict negative → negative. Both positive: short lasting as long or longer →
    discordant; both durations beyond their windows → concordant-prolonged; else
    concordant. Durations are the last diary time of each block's run (DOMAIN §3).
    """
    if short.verdict is not Verdict.POSITIVE or long.verdict is not Verdict.POSITIVE:
        return PairClass.NEGATIVE
    assert short.run is not None and long.run is not None
    d_short, d_long = short.run.duration_min, long.run.duration_min
    assert d_short is not None and d_long is not None
    if d_short >= d_long:
        return PairClass.DISCORDANT
    a_short, a_long = short.single_agent, long.single_agent
    assert a_short is not None and a_long is not None
    if d_short > profile.agents[a_short].window_min[1] and (
        d_long > profile.agents[a_long].window_min[1]
    ):
        return PairClass.CONCORDANT_PROLONGED
    return PairClass.CONCORDANT


def _pair_reason(short: BlockResult, long: BlockResult, cls: PairClass, profile: Profile) -> str:
    def part(b: BlockResult) -> str:
        if b.verdict is Verdict.POSITIVE and b.run is not None:
            return f"{b.agent_label} (block {b.number}) relief to {b.run.duration_min} min"
        return f"{b.agent_label} (block {b.number}) {b.verdict.text}"

    text = f"{part(short)}, {part(long)}: {cls.text}"
    if cls is PairClass.CONCORDANT_PROLONGED:
        counted = "counts" if profile.concordant_prolonged_counts_positive else "does not count"
        text += f" (both beyond their windows; {counted} as positive under {profile.label})"
    return text


def comparative_pairs(
    blocks: Sequence[BlockResult], profile: Profile
) -> tuple[ComparativePair, ...]:
    """Every short-/long-acting pair of valid anaesthetic blocks on the same sites.

    A pair needs two valid anaesthetic blocks with one agent each (one short-, one
    long-acting under the profile), the same set of sites, and separate days.
    """
    usable = [
        b
        for b in blocks
        if b.role is BlockRole.ANAESTHETIC
        and b.verdict in (Verdict.POSITIVE, Verdict.NEGATIVE)
        and _acting(b, profile) is not None
    ]
    shorts = [b for b in usable if _acting(b, profile) is Acting.SHORT]
    longs = [b for b in usable if _acting(b, profile) is Acting.LONG]
    comparative = profile.confirmation in (
        ConfirmationRule.COMPARATIVE,
        ConfirmationRule.PLACEBO_CONTROLLED,
    )
    pairs: list[ComparativePair] = []
    for s in shorts:
        for lg in longs:
            if s.site_set != lg.site_set or s.day == lg.day:
                continue
            cls = classify_pair(s, lg, profile)
            prolonged = cls is PairClass.CONCORDANT_PROLONGED
            counts = cls is PairClass.CONCORDANT or (
                prolonged and profile.concordant_prolonged_counts_positive
            )
            doubt = (
                cls is PairClass.DISCORDANT and profile.discordant_pair_makes_indeterminate
            ) or (prolonged and comparative and not counts)
            assert s.single_agent is not None and lg.single_agent is not None
            pairs.append(
                ComparativePair(
                    short_block=s.number,
                    long_block=lg.number,
                    short_agent=s.single_agent,
                    long_agent=lg.single_agent,
                    sites=s.sites,
                    pair_class=cls,
                    counts_positive=counts,
                    doubt=doubt,
                    reason=_pair_reason(s, lg, cls, profile),
                )
            )
    return tuple(pairs)
