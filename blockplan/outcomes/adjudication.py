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

import dataclasses
import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from blockplan.case.model import BlockSession, Case, Injection, PainDiary, Procedure
from blockplan.case.vocab import (
    BLOCK_ABBREVIATIONS,
    BLOCK_NAMES,
    Agent,
    BlockType,
    Laterality,
    Structure,
    level_index,
)
from blockplan.outcomes.diary import (
    ReliefPoint,
    ReliefRun,
    RunEnd,
    peak_relief,
    relief_curve,
    relief_run,
)
from blockplan.outcomes.numbering import numbered_block
from blockplan.outcomes.profiles import (
    Acting,
    FlagCode,
    PairClass,
    PairEffect,
    PlaceboCriterion,
    Profile,
    ReviewCode,
    Severity,
    VolumeCap,
)

__all__ = [
    "BLOCK_NAMES",
    "MISSING_POINTS_LABEL",
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
    "diary_is_final",
    "expand_sites",
    "injection_sites",
    "missing_diary_points",
    "missing_points_words",
    "review_flags",
    "session_sites",
    "sites_label",
    "validity_flags",
]


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
        """E.g. ``"L4-L5, right, facet joint"``; ``–`` for the level of a sacroiliac joint
        and the side of a disc (they have none), ``level unassigned`` for a structure whose
        level is not known yet (a target placed before the level markers)."""
        side = self.side.value if self.side is not None else "–"
        level = self.level or ("–" if self.structure in _LEVELLESS else "level unassigned")
        return f"{level}, {side}, {STRUCTURE_NAMES[self.structure]}"

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


def session_sites(case: Case, session: BlockSession) -> tuple[SourceKey, ...]:
    """The sites a sitting anaesthetised: those of every anaesthetic injection of its blocks
    (of every injection when none was anaesthetic), sorted.

    Relief after the sitting supports only this set (shared/DOMAIN.md §9), as relief after
    a bilateral block supports only the pair of sides.
    """
    pairs = [(p, i) for p in session.procedures for i in p.injections]
    deciding = [(p, i) for p, i in pairs if i.agent.is_anaesthetic] or pairs
    return _sorted_sites(s for p, i in deciding for s in injection_sites(case, p, i))


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
    """The record is incomplete: no diary, a diary that is not final with missing points
    that could change the verdict (``missing_min``), or movements not recorded."""
    NEEDS_REVIEW = "needs_review"
    """A reading the physician reviews before it counts (shared/DOMAIN.md §9): prolonged or
    dip-and-recover relief, a low baseline, an unusual volume, or a missing point that
    decides a final diary. ``provisional`` holds what the rules alone would say."""
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
    """A validity flag or a reading to review, with the severity the profile gives it."""

    code: FlagCode | ReviewCode
    severity: Severity
    message: str

    @property
    def text(self) -> str:
        """``"<severity>: <message>"``."""
        return f"{self.severity.value}: {self.message}"


MISSING_POINTS_LABEL = "missing diary points"
"""How the panel, the report and their readers name diary times without an NRS."""


def missing_points_words(missing_min: Sequence[int], diary_final: bool | None) -> str:
    """The missing diary times of a block in words, e.g. ``"60, 120 min (diary final)"``
    (`MISSING_POINTS_LABEL` names them): the Outcomes panel and the report print this."""
    when = ", ".join(str(m) for m in missing_min)
    return f"{when} min (diary {'final' if diary_final else 'not final'})"


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
        Validity flags and readings to review, each with its severity.
    verdict : Verdict
    reasons : tuple of str
        Why, in words.
    profile : str
        ``"name vVERSION"`` of the profile that decided.
    diary_final : bool or None
        The diary counts as final (`diary_is_final`); None without a diary.
    missing_min : tuple of int
        Diary times without an NRS that the profile needs (`missing_diary_points`).
    awaiting : str
        What a pending block waits for, in words (``"NRS at 15, 30 min"``).
    provisional : Verdict or None
        For a pending or needs-review block: what the rules give on the points recorded so
        far, before completion or review (not counted).
    session_id : str
        The sitting the block was done in (`Procedure.session_id`).
    session_sites : tuple of SourceKey
        Sites anaesthetised by every block of that sitting (`session_sites`); relief after
        it supports only this set. Equal to ``sites`` for a block done alone.
    """

    number: int
    procedure_id: str
    session_id: str = ""
    session_sites: tuple[SourceKey, ...] = ()
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
    profile: str = ""
    diary_final: bool | None = None
    missing_min: tuple[int, ...] = ()
    awaiting: str = ""
    provisional: Verdict | None = None

    @property
    def verdict_text(self) -> str:
        """The verdict naming the profile, e.g. ``"needs review under strict-dual-80 v1.1.0"``."""
        return f"{self.verdict.text} under {self.profile}" if self.profile else self.verdict.text

    @property
    def short_verdict(self) -> str:
        """The verdict with what a pending block awaits or why it needs review, e.g.
        ``"pending: NRS at 15, 30 min"`` or ``"needs review: prolonged relief"``."""
        if self.verdict is Verdict.PENDING and self.awaiting:
            return f"pending: {self.awaiting}"
        if self.verdict is Verdict.NEEDS_REVIEW:
            codes = dict.fromkeys(
                f.code.value.replace("_", " ") for f in self.flags if f.severity is Severity.REVIEW
            )
            return f"needs review: {', '.join(codes)}" if codes else self.verdict.text
        return self.verdict.text

    @property
    def missing_points_text(self) -> str:
        """The diary times the profile needs that have no NRS, as the report prints them,
        e.g. ``"missing diary points: 60 min (diary final)"``; "" when none is missing.

        Shown beside every verdict, also one the gap does not change: a missing point is
        neither relief nor its absence (DOMAIN §9).
        """
        if not self.missing_min:
            return ""
        return f"{MISSING_POINTS_LABEL}: {missing_points_words(self.missing_min, self.diary_final)}"

    @property
    def review_reasons(self) -> tuple[str, ...]:
        """Messages of the flags that put the block up for review."""
        return tuple(f.message for f in self.flags if f.severity is Severity.REVIEW)

    @property
    def day(self) -> dt.date:
        """Local calendar date of the block ("separate days" compare these)."""
        return self.performed_at.date()

    @property
    def site_set(self) -> frozenset[SourceKey]:
        """The tested sites as a set."""
        return frozenset(self.sites)

    @property
    def evidence_set(self) -> frozenset[SourceKey]:
        """The sites the relief after this block is evidence about: every site anaesthetised
        in its sitting (its own sites when it was done alone)."""
        return frozenset(self.session_sites) | self.site_set

    @property
    def session_key(self) -> str:
        """The block's sitting (its procedure id when the session is not known)."""
        return self.session_id or self.procedure_id

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
    def list_line(self) -> str:
        """One line of a block list, the verdict right after the block's number, e.g.
        ``"Block #1 — positive · 2026-04-07 09:00 · SNRB L5 right nerve root · lidocaine"``.

        The verdict comes first because it is what the list is read for: a list narrower
        than the line cuts its end (the sites and the agent), never the verdict.
        """
        sites = " + ".join(k.short_label for k in self.sites) or "site not recorded"
        when = self.performed_at.strftime("%Y-%m-%d %H:%M")
        what = f"{BLOCK_ABBREVIATIONS[self.block_type]} {sites}"
        name = numbered_block(self.number, capitalised=True)
        return f"{name} — {self.short_verdict} · {when} · {what} · {self.agent_label}"

    @property
    def label(self) -> str:
        """E.g. ``"block #2 (2026-03-15, medial branch block, lidocaine)"``."""
        what = f"{self.day.isoformat()}, {BLOCK_NAMES[self.block_type]}, {self.agent_label}"
        return f"{numbered_block(self.number)} ({what})"


# --- validity flags -------------------------------------------------------------------
def _over(value: float, cap: VolumeCap) -> bool:
    if cap.limit_allowed:
        return value > cap.max_ml + _VOLUME_TOLERANCE_ML
    return value >= cap.max_ml - _VOLUME_TOLERANCE_ML


def _site_volumes(
    case: Case, procedure: Procedure, per_branch: bool
) -> list[tuple[SourceKey, list[float]]]:
    """Per site (sorted): each injection's volume and, for several injections, their sum
    last (mL; per branch when asked)."""
    per_site: dict[SourceKey, list[Injection]] = defaultdict(list)
    for injection in procedure.injections:
        for site in injection_sites(case, procedure, injection):
            per_site[site].append(injection)
    result: list[tuple[SourceKey, list[float]]] = []
    for site in sorted(per_site, key=lambda k: k.sort_key):
        injections = per_site[site]
        volumes = [i.volume_per_branch_ml if per_branch else i.volume_ml for i in injections]
        if len(injections) > 1:
            total = sum(i.volume_ml for i in injections)
            branches = sum(i.branches for i in injections)
            volumes.append(total / branches if per_branch else total)
        result.append((site, volumes))
    return result


def _volume_messages(case: Case, procedure: Procedure, cap: VolumeCap) -> list[str]:
    name = BLOCK_NAMES[procedure.block_type]
    unit = " per branch" if cap.per_branch else ""
    messages: list[str] = []
    for site, volumes in _site_volumes(case, procedure, cap.per_branch):
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


def _unusual_volume_messages(case: Case, procedure: Procedure, profile: Profile) -> list[str]:
    """Volumes outside the usual range but not over the cap (the cap has its own flag)."""
    usual = profile.usual_volume_ml.get(procedure.block_type)
    if usual is None:
        return []
    cap = profile.volume_caps.get(procedure.block_type)
    name, messages = BLOCK_NAMES[procedure.block_type], []
    for site, volumes in _site_volumes(case, procedure, usual.per_branch):
        total = volumes[-1]
        if cap is not None and cap.per_branch == usual.per_branch and _over(max(volumes), cap):
            continue
        if usual.contains(total):
            continue
        where = "below" if total < usual.min_ml else "above"
        unit = " per branch" if usual.per_branch else ""
        messages.append(
            f"{total:.2f} mL{unit} at {site.label} is {where} the usual {usual.describe()} "
            f"for a {name}: "
            + (
                "too little may not reach the target (a false-negative block)"
                if where == "below"
                else "more may spread beyond the target (a false-positive block)"
            )
        )
    return messages


def review_flags(case: Case, procedure: Procedure, profile: Profile) -> tuple[Flag, ...]:
    """Facts of the record the physician reviews before the block counts (DOMAIN §9).

    A baseline NRS above 0 and below ``profile.low_baseline_nrs`` (a 50 % change is then
    one or two NRS points), and an injectate volume outside the block type's usual range
    (``profile.usual_volume_ml``) but not over its cap. Each carries the severity the
    profile gives it (`Profile.review_severity`).
    """
    flags: list[Flag] = []
    diary = procedure.diary
    if diary is not None and 0 < diary.baseline_nrs < profile.low_baseline_nrs:
        change = diary.baseline_nrs / 2
        flags.append(
            Flag(
                code=ReviewCode.LOW_BASELINE,
                severity=profile.review_severity(ReviewCode.LOW_BASELINE),
                message=(
                    f"baseline NRS {diary.baseline_nrs}/10 is below "
                    f"{profile.low_baseline_nrs}/10: 50 % relief is a change of only "
                    f"{change:g} NRS point{'s' if change != 1 else ''}"
                ),
            )
        )
    severity = profile.review_severity(ReviewCode.VOLUME_OUTSIDE_USUAL_RANGE)
    flags.extend(
        Flag(code=ReviewCode.VOLUME_OUTSIDE_USUAL_RANGE, severity=severity, message=m)
        for m in _unusual_volume_messages(case, procedure, profile)
    )
    return tuple(flags)


def diary_is_final(diary: PainDiary, profile: Profile, agents: Sequence[Agent] = ()) -> bool:
    """True when the diary counts as closed: the physician closed it as final
    (`PainDiary.closed_as_final`), or an NRS is recorded at or after the end of the agents'
    duration window (`Profile.window_end_min`) or at the last scheduled time.

    A diary that is not final and misses points that could change the verdict leaves its
    block *pending*; in a final diary such points put the block up for review.
    """
    if diary.closed_as_final:
        return True
    end = min(profile.window_end_min(tuple(agents)), profile.diary_times_min[-1])
    return any(e.nrs is not None and e.minutes >= end for e in diary.entries)


def missing_diary_points(
    curve: Sequence[ReliefPoint], final: bool, window_end_min: int
) -> tuple[int, ...]:
    """Diary times without an NRS that the profile needs (minutes after the block).

    For a diary that is not final: every missing point up to the end of the agent's window
    (``window_end_min``). For a final diary: the gaps, i.e. missing points before the last
    recorded NRS.
    """
    recorded = [p.minutes for p in curve if p.nrs is not None]
    limit = max(recorded, default=-1) - 1 if final else window_end_min
    return tuple(p.minutes for p in curve if p.nrs is None and p.minutes <= limit)


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
    window_end: int
    final: bool
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Reading:
    """A verdict with its reasons; ``POSITIVE`` from a check means "passes, go on"."""

    verdict: Verdict
    reasons: tuple[str, ...]
    duration_consistent: bool | None = None
    flags: tuple[Flag, ...] = ()
    missing_min: tuple[int, ...] = ()
    awaiting: str = ""
    provisional: Verdict | None = None


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
        flags=validity_flags(case, procedure, profile) + review_flags(case, procedure, profile),
        diary=diary,
        curve=curve,
        peak=peak_relief(curve),
        run=relief_run(curve, profile.threshold_pct, profile.min_sustained_min)
        if diary is not None
        else None,
        window=_agent_window(agents, profile) if role is BlockRole.ANAESTHETIC else None,
        window_end=profile.window_end_min(agents),
        final=diary is not None and diary_is_final(diary, profile, agents),
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


def _minutes(times: Iterable[int]) -> str:
    return ", ".join(str(t) for t in times) + " min"


def _diary_not_readable(facts: _BlockFacts) -> _Reading | None:
    """Pending without a diary or any NRS after the block; not diagnostic at baseline 0."""
    if facts.diary is None or facts.run is None:
        return _Reading(Verdict.PENDING, ("no pain diary recorded yet",), awaiting="pain diary")
    if facts.diary.baseline_nrs == 0:
        return _Reading(
            Verdict.NOT_DIAGNOSTIC, ("relief is undefined with baseline NRS 0 (no index pain)",)
        )
    if facts.peak is None:
        missing = missing_diary_points(facts.curve, False, facts.window_end)
        return _Reading(
            Verdict.PENDING,
            (f"no NRS recorded after the block yet (missing: {_minutes(missing)})",),
            missing_min=missing,
            awaiting=f"NRS at {_minutes(missing)}",
        )
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
        awaiting = "whether previously painful movements became possible"
        return _Reading(Verdict.PENDING, (text,), awaiting=awaiting)
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
            return _Reading(check.verdict, tuple(reasons), consistent, awaiting=check.awaiting)
    return _Reading(Verdict.POSITIVE, tuple(reasons), consistent)


# --- incomplete diaries and readings to review (shared/DOMAIN.md §9) -------------------
_MAX_FILLED_POINTS = 8
"""Beyond this many missing points, they are taken to decide (checking every way of
filling them would cost 2ⁿ readings)."""


def _rules_reading(facts: _BlockFacts, profile: Profile) -> _Reading:
    """The profile's rules on the recorded points: a saline control or an anaesthetic block."""
    read = _saline_control if facts.role is BlockRole.CONTROL else _anaesthetic_block
    return read(facts, profile)


def _relieved_at(facts: _BlockFacts, profile: Profile, minutes: Iterable[int]) -> _BlockFacts:
    """The facts as if the diary had shown full relief at ``minutes`` (missing points)."""
    at = set(minutes)
    curve = tuple(
        p.model_copy(update={"nrs": 0, "relief_pct": 100.0}) if p.minutes in at else p
        for p in facts.curve
    )
    run = relief_run(curve, profile.threshold_pct, profile.min_sustained_min)
    return dataclasses.replace(facts, curve=curve, run=run, peak=peak_relief(curve))


def _missing_points_decide(
    facts: _BlockFacts, profile: Profile, missing: Sequence[int], verdict: Verdict
) -> bool:
    """True when some way of filling the missing points (each with relief or without)
    would change the verdict. A verdict depends only on which points reach the threshold,
    so trying full relief or none at each point covers every possible value."""
    if len(missing) > _MAX_FILLED_POINTS:
        return True
    for count in range(1, len(missing) + 1):
        for chosen in itertools.combinations(missing, count):
            filled = _relieved_at(facts, profile, chosen)
            if _rules_reading(filled, profile).verdict is not verdict:
                return True
    return False


def _pending_diary(facts: _BlockFacts, missing: tuple[int, ...], rules: _Reading) -> _Reading:
    """Pending: a diary that is not final lacks points that could change the verdict."""
    when = _minutes(missing)
    return _Reading(
        Verdict.PENDING,
        (
            f"diary incomplete: no NRS at {when}; a missing point is not evidence of relief "
            "or of its absence",
            f"on the points recorded so far the block reads {rules.verdict.text} (not counted)",
            f"the diary counts as final once an NRS is recorded at or after {facts.window_end} "
            "min or at the last scheduled time, or when the physician closes it as final",
        ),
        missing_min=missing,
        awaiting=f"NRS at {when}",
        provisional=rules.verdict,
    )


def _reading_flags(
    facts: _BlockFacts, profile: Profile, rules: _Reading, gaps: tuple[int, ...]
) -> tuple[Flag, ...]:
    """Readings to review: missing points that decide a final diary, relief beyond the
    agent's window, and a dip-and-recover that decides the block."""
    run, flags = facts.run, []
    assert run is not None

    def add(code: ReviewCode, message: str) -> None:
        flags.append(Flag(code=code, severity=profile.review_severity(code), message=message))

    if gaps:
        add(
            ReviewCode.MISSING_POINT_DECIDES,
            f"no NRS at {_minutes(gaps)} in a diary that counts as final, and those points "
            f"decide the block (it reads {rules.verdict.text} without them)",
        )
    high = facts.window[1] if facts.window is not None else None
    if high is not None and run.duration_min is not None and run.duration_min > high:
        names, (low, _) = " + ".join(a.value for a in facts.agents), facts.window or (0, 0)
        add(
            ReviewCode.PROLONGED_RELIEF,
            f"relief ≥ {_pct(profile.threshold_pct)} lasted to {run.duration_min} min, beyond "
            f"the {low}–{high} min expected for {names} (prolonged relief is not a negative)",
        )
    dipped = rules.verdict in (Verdict.NEGATIVE, Verdict.NO_PLACEBO_RESPONSE)
    if dipped and not gaps and run.recovered_at_min is not None:
        how = "had no NRS" if run.ended_by is RunEnd.MISSING_POINT else "dipped below it"
        add(
            ReviewCode.DIP_AND_RECOVER,
            f"relief ≥ {_pct(profile.threshold_pct)} from {run.onset_min} min {how} at "
            f"{run.ended_at_min} min and recovered at {run.recovered_at_min} min: only the "
            f"run that starts at onset counts, which makes the block {rules.verdict.text}",
        )
    return tuple(flags)


def _read_diary(facts: _BlockFacts, profile: Profile) -> _Reading:
    """The rules' reading, unless missing points decide it (pending while the diary is not
    final) or a reading or fact of the record needs the physician's review."""
    rules = _rules_reading(facts, profile)
    missing = missing_diary_points(facts.curve, facts.final, facts.window_end)
    decides = _missing_points_decide(facts, profile, missing, rules.verdict)
    if decides and not facts.final:
        return _pending_diary(facts, missing, rules)
    if rules.verdict is Verdict.PENDING:
        return rules
    flags = _reading_flags(facts, profile, rules, missing if decides else ())
    to_review = [f for f in (*facts.flags, *flags) if f.severity is Severity.REVIEW]
    if not to_review:
        return dataclasses.replace(rules, flags=flags, missing_min=missing)
    return _Reading(
        Verdict.NEEDS_REVIEW,
        (
            *rules.reasons,
            *(f"needs review: {f.message}" for f in to_review),
            f"not counted under {profile.label} until the physician reviews it (the rules "
            f"alone read it {rules.verdict.text})",
        ),
        rules.duration_consistent,
        flags=flags,
        missing_min=missing,
        provisional=rules.verdict,
    )


def _session_of(
    case: Case, procedure: Procedure
) -> tuple[str, tuple[SourceKey, ...], tuple[str, ...]]:
    """The block's session id, the sites its sitting anaesthetised, and a note when other
    blocks were done in the same sitting (relief then supports only the set)."""
    try:
        session = case.session_of(procedure.id)
    except KeyError:  # a procedure not (yet) in the case: a session of its own
        return procedure.session_id, (), ()
    together = session_sites(case, session)
    others = [p for p in session.procedures if p.id != procedure.id]
    if not others:
        return session.session_id, together, ()
    names = "; ".join(dict.fromkeys(BLOCK_NAMES[p.block_type] for p in others))
    note = (
        f"done in one session with another block ({names}): relief after the session "
        f"supports only the set of its sites ({sites_label(together)}), not one of them alone"
    )
    return session.session_id, together, (note,)


def adjudicate_block(
    case: Case, procedure: Procedure, profile: Profile, number: int = 1
) -> BlockResult:
    """Adjudicate one procedure as a diagnostic block under ``profile``.

    In order: outside the profile (not applicable), invalidating flags (not diagnostic),
    a diary that cannot be read (pending, or not diagnostic at baseline 0), then a saline
    control (placebo response or not) or an anaesthetic block (positive or negative) —
    *pending* instead when the diary is not final (`diary_is_final`) and its missing points
    could change that verdict, and *needs review* when a flag or reading with severity
    ``review`` applies (shared/DOMAIN.md §9).

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
    reading = reading or _diary_not_readable(facts) or _read_diary(facts, profile)
    diary = facts.diary
    session_id, together, session_note = _session_of(case, procedure)
    return BlockResult(
        number=number,
        procedure_id=procedure.id,
        session_id=session_id,
        session_sites=together,
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
        flags=(*facts.flags, *reading.flags),
        verdict=reading.verdict,
        reasons=(*session_note, *facts.notes, *reading.reasons),
        profile=profile.label,
        diary_final=facts.final if diary is not None else None,
        missing_min=reading.missing_min,
        awaiting=reading.awaiting,
        provisional=reading.provisional,
    )


def adjudicate(case: Case, profile: Profile) -> tuple[BlockResult, ...]:
    """Adjudicate every procedure of ``case`` under ``profile``, in chronological order."""
    procedures = sorted(case.procedures, key=lambda p: (p.performed_at, p.id))
    return tuple(
        adjudicate_block(case, p, profile, number=n) for n, p in enumerate(procedures, start=1)
    )


# --- comparative pairs ----------------------------------------------------------------
class ComparativePair(_Result):
    """A short- and a long-acting block on the same sites on separate days.

    The class comes from the two relief runs (`classify_pair`), independent of each
    block's verdict; ``effect`` is what the profile does with that class
    (`Profile.pair_classes`), and ``reason`` says both, naming the profile.
    """

    short_block: int
    long_block: int
    short_agent: Agent
    long_agent: Agent
    sites: tuple[SourceKey, ...]
    pair_class: PairClass
    effect: PairEffect
    profile: str
    reason: str

    @property
    def blocks(self) -> tuple[int, int]:
        """Numbers of the two blocks."""
        return (self.short_block, self.long_block)

    @property
    def counts_positive(self) -> bool:
        """The profile counts the pair as positive evidence."""
        return self.effect is PairEffect.COUNTS_POSITIVE

    @property
    def doubt(self) -> bool:
        """The pair itself makes the source indeterminate under the profile."""
        return self.effect is PairEffect.INDETERMINATE


def _acting(block: BlockResult, profile: Profile) -> Acting | None:
    agent = block.single_agent
    if agent is None or agent not in profile.agents:
        return None
    return profile.agents[agent].acting


def classify_pair(short: BlockResult, long: BlockResult, profile: Profile) -> PairClass:
    """Class of a pair from the two relief runs: ``short`` with the short-acting, ``long``
    with the long-acting agent (shared/DOMAIN.md §4).

    Either run not sustained at the profile's threshold → negative. Both sustained: the
    short-acting relief lasting as long or longer → discordant; both durations beyond their
    agents' windows → concordant-prolonged; else concordant. The blocks' verdicts are not
    used: a duration outside the agent's window is what the class is about.
    """
    if short.run is None or long.run is None or not (short.run.sustained and long.run.sustained):
        return PairClass.NEGATIVE
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
        run = b.run
        if run is not None and run.sustained:
            return f"{b.agent_label} ({numbered_block(b.number)}) relief to {run.duration_min} min"
        return f"{b.agent_label} ({numbered_block(b.number)}) relief not sustained"

    text = f"{part(short)}, {part(long)}: {cls.text}"
    if cls is PairClass.CONCORDANT_PROLONGED:
        text += " (both beyond their windows, the long-acting agent still longer)"
    return f"{text} — {profile.pair_effect(cls).text}"


_PAIRABLE = frozenset({Verdict.POSITIVE, Verdict.NEGATIVE, Verdict.NEEDS_REVIEW})
"""Verdicts of blocks whose relief runs can be compared: read diaries, valid records
(a block that needs review is still compared; a pending one is not)."""


def comparative_pairs(
    blocks: Sequence[BlockResult], profile: Profile
) -> tuple[ComparativePair, ...]:
    """Every short-/long-acting pair of anaesthetic blocks on the same sites.

    A pair needs two anaesthetic blocks with one agent each (one short-, one long-acting
    under the profile), read diaries (positive, negative or needs review: not pending, not
    diagnostic or not applicable), the same set of sites — of their sittings
    (`BlockResult.evidence_set`) — and separate days; two sittings make one pair.
    """
    usable = [
        b
        for b in blocks
        if b.role is BlockRole.ANAESTHETIC
        and b.verdict in _PAIRABLE
        and _acting(b, profile) is not None
    ]
    shorts = [b for b in usable if _acting(b, profile) is Acting.SHORT]
    longs = [b for b in usable if _acting(b, profile) is Acting.LONG]
    pairs: list[ComparativePair] = []
    seen: set[tuple[str, str]] = set()
    for s in shorts:
        for lg in longs:
            if s.evidence_set != lg.evidence_set or s.day == lg.day:
                continue
            if (s.session_key, lg.session_key) in seen:
                continue  # two sittings are one comparison, however many blocks each held
            seen.add((s.session_key, lg.session_key))
            cls = classify_pair(s, lg, profile)
            assert s.single_agent is not None and lg.single_agent is not None
            pairs.append(
                ComparativePair(
                    short_block=s.number,
                    long_block=lg.number,
                    short_agent=s.single_agent,
                    long_agent=lg.single_agent,
                    sites=_sorted_sites(s.evidence_set),
                    pair_class=cls,
                    effect=profile.pair_effect(cls),
                    profile=profile.label,
                    reason=_pair_reason(s, lg, cls, profile),
                )
            )
    return tuple(pairs)
