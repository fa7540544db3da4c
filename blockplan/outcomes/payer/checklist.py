"""The payer-documentation checklist: one engine for every payer profile.

`evaluate_checklist` reads a case under a `PayerProfile` and returns one item per check
(per facet site for the diagnostic-block check, per spinal region for session counts),
each *met*, *not met* or *not recorded*, with the reason in words and the citation. The
report, the ``blockplan outcomes --payer`` command and the JSON output all print these
items; none re-derives them.

Decision support — not a coverage decision: the checklist says which documentation the
case records, never whether a payer will pay.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict

from blockplan.case.model import Case, Procedure
from blockplan.case.vocab import BlockType, Guidance
from blockplan.errors import ProfileError
from blockplan.outcomes.adjudication import (
    BLOCK_NAMES,
    BlockResult,
    SourceKey,
    Verdict,
    adjudicate,
    injection_sites,
)
from blockplan.outcomes.payer.profile import (
    CheckSpec,
    DiagnosticBlocksCheck,
    DisabilityScaleCheck,
    ImagingGuidanceCheck,
    LevelLimit,
    LevelsPerSessionCheck,
    NotInCaseCheck,
    PainScoresCheck,
    PayerProfile,
    SessionsPerPeriodCheck,
    load_payer_profile,
)
from blockplan.outcomes.payer.sessions import (
    Session,
    group_sessions,
    months_before,
    spinal_region,
)
from blockplan.outcomes.profiles import Profile, load_profile

__all__ = [
    "CHECKLIST_DISCLAIMER",
    "CHECKLIST_HEADING",
    "ChecklistItem",
    "ItemStatus",
    "PayerChecklist",
    "checklist_to_text",
    "evaluate_checklist",
]

CHECKLIST_DISCLAIMER: Final = "decision support — not a coverage decision"
CHECKLIST_HEADING: Final = f"Payer documentation checklist ({CHECKLIST_DISCLAIMER})"


class ItemStatus(StrEnum):
    """Status of one checklist item."""

    MET = "met"
    NOT_MET = "not_met"
    NOT_RECORDED = "not_recorded"

    @property
    def text(self) -> str:
        """``"met"``, ``"not met"``, ``"not recorded"``."""
        return self.value.replace("_", " ")


_WORST = (ItemStatus.NOT_MET, ItemStatus.NOT_RECORDED, ItemStatus.MET)


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ChecklistItem(_Result):
    """One checked documentation element."""

    check_id: str
    title: str
    subject: str = ""
    """What the item is about when a check gives several items (a site, a region)."""
    status: ItemStatus
    reason: str
    citation: str

    @property
    def text(self) -> str:
        """The item in one line, as the CLI and the report print it."""
        subject = f" — {self.subject}" if self.subject else ""
        return f"{self.status.text.upper()}: {self.title}{subject}. {self.reason}"


class PayerChecklist(_Result):
    """The checklist of a case under one payer profile."""

    profile_name: str
    profile_version: str
    profile_title: str
    document: str
    disclaimer: str = CHECKLIST_DISCLAIMER
    sessions_in_scope: int
    items: tuple[ChecklistItem, ...]

    @property
    def profile_label(self) -> str:
        """``"name vVERSION"``."""
        return f"{self.profile_name} v{self.profile_version}"

    @property
    def intro(self) -> str:
        """The sentence that names the profile, its source and what the checklist is not."""
        return (
            f"Checked under {self.profile_label} ({self.profile_title}; {self.document}): "
            f"{self.sessions_in_scope} session(s) in scope. It lists which documentation "
            "elements the case records; it is not a coverage decision, and figures marked "
            "(verify) were not confirmed in the coverage text itself."
        )


# --- helpers --------------------------------------------------------------------------
def _guidance_text(guidance: Guidance) -> str:
    return "CT" if guidance is Guidance.CT else guidance.value


def _proc_label(proc: Procedure) -> str:
    return f"{proc.performed_at.date().isoformat()} {BLOCK_NAMES[proc.block_type]}"


def _worst(statuses: Iterable[ItemStatus]) -> ItemStatus:
    found = set(statuses)
    return next((s for s in _WORST if s in found), ItemStatus.MET)


def _item(check: CheckSpec, status: ItemStatus, reason: str, subject: str = "") -> ChecklistItem:
    return ChecklistItem(
        check_id=check.id,
        title=check.title,
        subject=subject,
        status=status,
        reason=reason,
        citation=str(check.citation),
    )


def _nothing_in_scope(check: CheckSpec, what: str) -> ChecklistItem:
    return _item(check, ItemStatus.NOT_RECORDED, f"No {what} is recorded in this case.")


def _types_text(block_types: Iterable[BlockType]) -> str:
    return ", ".join(BLOCK_NAMES[b] for b in block_types)


def _regions_of(case: Case, proc: Procedure, profile: PayerProfile) -> dict[str | None, set[str]]:
    """Region → levels an in-scope procedure treated (region None: level not recorded)."""
    out: dict[str | None, set[str]] = defaultdict(set)
    for inj in proc.injections:
        for site in injection_sites(case, proc, inj):
            out[spinal_region(site.level, profile.regions)].add(site.level or "")
    return out


# --- diagnostic blocks before RFA ------------------------------------------------------
def _criteria(check: DiagnosticBlocksCheck) -> Profile:
    """The adjudication profile that reads each block, checked against the payer figure."""
    crit = load_profile(check.criteria_profile)
    if abs(crit.threshold_pct - check.min_relief_pct) > 1e-9 or (
        check.duration_consistent_with_agent and not crit.require_duration_consistent_with_agent
    ):
        raise ProfileError(
            f"payer check {check.id!r}: criteria profile {crit.label} reads blocks at "
            f"{crit.threshold_pct:g} % (agent duration required: "
            f"{crit.require_duration_consistent_with_agent}); the check needs "
            f"{check.min_relief_pct:g} % (agent duration required: "
            f"{check.duration_consistent_with_agent}) — name a matching profile"
        )
    return crit


def _block_note(b: BlockResult, crit: Profile) -> str:
    peak = "–" if b.peak_relief_pct is None else f"{b.peak_relief_pct:.0f} %"
    run = ""
    if b.onset_min is not None and b.duration_min is not None:
        run = f", ≥ {crit.threshold_pct:g} % from {b.onset_min} to {b.duration_min} min"
    window = ""
    if b.agent_window_min is not None:
        window = f" (agent window {b.agent_window_min[0]}–{b.agent_window_min[1]} min)"
    return (
        f"{b.day.isoformat()} {b.agent_label}: {b.short_verdict} under {crit.label}, "
        f"peak {peak}{run}{window}"
    )


def _site_item(
    check: DiagnosticBlocksCheck,
    site: SourceKey,
    blocks: Sequence[BlockResult],
    crit: Profile,
    session_of: Mapping[str, dt.date],
) -> ChecklistItem:
    """Positive blocks count once per session (`group_sessions`), whatever the agents."""
    positive = {session_of[b.procedure_id] for b in blocks if b.verdict is Verdict.POSITIVE}
    pending = {session_of[b.procedure_id] for b in blocks if b.verdict is Verdict.PENDING}
    positive_days, pending_days = sorted(positive), pending - positive
    n, need = len(positive_days), check.min_blocks
    notes = "; ".join(_block_note(b, crit) for b in blocks)
    if n >= need:
        status, head = ItemStatus.MET, f"{n} positive on separate dates (≥ {need} needed)"
    elif n + len(pending_days) >= need:
        status = ItemStatus.NOT_RECORDED
        head = f"{n} positive, {len(pending_days)} with an incomplete diary ({need} needed)"
    else:
        status, head = ItemStatus.NOT_MET, f"Only {n} positive on separate dates ({need} needed)"
    return _item(check, status, f"{head}: {notes}.", subject=site.label)


def _diagnostic_blocks(
    case: Case, profile: PayerProfile, check: DiagnosticBlocksCheck, sessions: Sequence[Session]
) -> list[ChecklistItem]:
    crit = _criteria(check)
    blocks = [b for b in adjudicate(case, crit) if b.block_type in check.block_types]
    if not blocks:
        return [_nothing_in_scope(check, _types_text(check.block_types))]
    by_site: dict[SourceKey, list[BlockResult]] = defaultdict(list)
    for b in blocks:
        for site in b.sites:
            by_site[site].append(b)
    session_of = {p.id: s.date for s in sessions for p in s.procedures}
    return [
        _site_item(check, site, by_site[site], crit, session_of)
        for site in sorted(by_site, key=lambda k: k.sort_key)
    ]


# --- levels per session ----------------------------------------------------------------
def _session_levels(
    case: Case, profile: PayerProfile, session: Session, limit: LevelLimit
) -> dict[str | None, set[str]]:
    """Region → levels the session treated with the limit's block types (None: unknown)."""
    levels: dict[str | None, set[str]] = defaultdict(set)
    for proc in session.of_types(limit.block_types):
        for region, found in _regions_of(case, proc, profile).items():
            levels[region] |= found
    return levels


def _levels_per_session(
    case: Case, profile: PayerProfile, check: LevelsPerSessionCheck, sessions: Sequence[Session]
) -> list[ChecklistItem]:
    over: list[str] = []
    unrecorded: list[str] = []
    checked = sum(len(s.of_types(check.block_types)) for s in sessions)
    if not checked:
        return [_nothing_in_scope(check, _types_text(check.block_types))]
    for session, limit in ((s, lim) for s in sessions for lim in check.limits):
        levels = _session_levels(case, profile, session, limit)
        for region, found in sorted(levels.items(), key=lambda kv: str(kv[0])):
            if region is None:
                unrecorded.append(f"{session.date.isoformat()} {limit.label}")
            elif len(found) > limit.max_levels:
                over.append(
                    f"{session.date.isoformat()} {region}: {len(found)} levels of "
                    f"{limit.label} ({', '.join(sorted(found))}; limit {limit.max_levels})"
                )
    if over:
        return [_item(check, ItemStatus.NOT_MET, f"{'; '.join(over)}.")]
    if unrecorded:
        reason = f"Level not recorded: {'; '.join(unrecorded)}."
        return [_item(check, ItemStatus.NOT_RECORDED, reason)]
    limits = "; ".join(f"{lim.label} {lim.max_levels}" for lim in check.limits)
    return [_item(check, ItemStatus.MET, f"{checked} procedure(s) within the limits ({limits}).")]


# --- sessions per rolling period --------------------------------------------------------
def _region_item(
    check: SessionsPerPeriodCheck, region: str, dates: Sequence[dt.date]
) -> ChecklistItem:
    worst, first, last = 0, dates[0], dates[0]
    for day in dates:
        start = months_before(day, check.period_months)
        inside = [d for d in dates if start < d <= day]
        if len(inside) > worst:
            worst, first, last = len(inside), inside[0], day
    span = f"{first.isoformat()} to {last.isoformat()}"
    limit = f"limit {check.max_sessions} per rolling {check.period_months} months"
    if worst > check.max_sessions:
        return _item(
            check, ItemStatus.NOT_MET, f"{worst} sessions from {span} ({limit}).", subject=region
        )
    text = f"{len(dates)} session(s); at most {worst} in any rolling {check.period_months} months"
    return _item(check, ItemStatus.MET, f"{text} ({limit}).", subject=region)


def _sessions_per_period(
    case: Case, profile: PayerProfile, check: SessionsPerPeriodCheck, sessions: Sequence[Session]
) -> list[ChecklistItem]:
    dates: dict[str, list[dt.date]] = defaultdict(list)
    unrecorded: list[str] = []
    for session in sessions:
        regions: set[str | None] = set()
        for proc in session.of_types(check.block_types):
            regions |= set(_regions_of(case, proc, profile))
        for region in regions:
            if region is None:
                unrecorded.append(session.date.isoformat())
            else:
                dates[region].append(session.date)
    if not dates and not unrecorded:
        return [_nothing_in_scope(check, _types_text(check.block_types))]
    items = [_region_item(check, region, dates[region]) for region in sorted(dates)]
    if unrecorded:
        reason = f"Level (so region) not recorded for the session(s) of {', '.join(unrecorded)}."
        items.append(_item(check, ItemStatus.NOT_RECORDED, reason, subject="region unknown"))
    return items


# --- per-procedure documentation -------------------------------------------------------
def _in_scope(sessions: Sequence[Session], profile: PayerProfile) -> list[Procedure]:
    return [p for s in sessions for p in s.of_types(profile.block_types)]


def _guidance_status(proc: Procedure, check: ImagingGuidanceCheck) -> tuple[ItemStatus, str]:
    guidance = getattr(proc, "guidance", None)
    label = _proc_label(proc)
    if guidance is None:
        return ItemStatus.NOT_RECORDED, f"{label}: guidance not recorded"
    if guidance not in check.allowed:
        return ItemStatus.NOT_MET, f"{label}: {_guidance_text(guidance)} guidance"
    if proc.images_saved == 0:
        return (
            ItemStatus.NOT_RECORDED,
            f"{label}: {_guidance_text(guidance)}, but no saved image documents it",
        )
    if proc.images_saved < check.min_images:
        return (
            ItemStatus.NOT_MET,
            f"{label}: {proc.images_saved} image(s) saved, {check.min_images} needed",
        )
    return (
        ItemStatus.MET,
        f"{label}: {_guidance_text(guidance)}, {proc.images_saved} image(s) saved",
    )


def _imaging_guidance(
    case: Case, profile: PayerProfile, check: ImagingGuidanceCheck, sessions: Sequence[Session]
) -> list[ChecklistItem]:
    procs = _in_scope(sessions, profile)
    if not procs:
        return [_nothing_in_scope(check, _types_text(profile.block_types))]
    found = [_guidance_status(p, check) for p in procs]
    status = _worst(s for s, _ in found)
    notes = [text for s, text in found if s is status]
    allowed = " or ".join(_guidance_text(g) for g in check.allowed)
    needed = f"{allowed}, ≥ {check.min_images} saved image(s)"
    if status is ItemStatus.MET:
        reason = f"All {len(procs)} procedure(s) under {needed}."
    else:
        reason = f"{'; '.join(notes)} (needed: {needed})."
    return [_item(check, status, reason)]


def _pain_scores(
    case: Case, profile: PayerProfile, check: PainScoresCheck, sessions: Sequence[Session]
) -> list[ChecklistItem]:
    procs = _in_scope(sessions, profile)
    if not procs:
        return [_nothing_in_scope(check, _types_text(profile.block_types))]
    missing = [
        _proc_label(p)
        for p in procs
        if p.diary is None or not any(e.nrs is not None for e in p.diary.entries)
    ]
    if missing:
        reason = f"No diary with a baseline and a post-block NRS for {'; '.join(missing)}."
        return [_item(check, ItemStatus.NOT_RECORDED, reason)]
    reason = f"Baseline and post-block NRS recorded for all {len(procs)} procedure(s)."
    return [_item(check, ItemStatus.MET, reason)]


def _disability_scale(
    case: Case, profile: PayerProfile, check: DisabilityScaleCheck, sessions: Sequence[Session]
) -> list[ChecklistItem]:
    dates = [s.date for s in sessions if s.of_types(profile.block_types)]
    if not dates:
        return [_nothing_in_scope(check, _types_text(profile.block_types))]
    odi = sorted(e.recorded_on for e in case.odi)
    baseline = [d for d in odi if d <= dates[0]]
    if baseline:
        first = dates[0].isoformat()
        reason = f"ODI recorded on {baseline[-1].isoformat()}, before the first session ({first})."
        return [_item(check, ItemStatus.MET, reason)]
    later = f" (first ODI {odi[0].isoformat()})" if odi else ""
    reason = f"No ODI on or before the first session ({dates[0].isoformat()}){later}."
    return [_item(check, ItemStatus.NOT_RECORDED, reason)]


def _not_in_case(
    case: Case, profile: PayerProfile, check: NotInCaseCheck, sessions: Sequence[Session]
) -> list[ChecklistItem]:
    return [_item(check, ItemStatus.NOT_RECORDED, check.note)]


_Evaluator = Callable[[Case, PayerProfile, CheckSpec, Sequence[Session]], list[ChecklistItem]]
_EVALUATORS: dict[type, _Evaluator] = {
    DiagnosticBlocksCheck: _diagnostic_blocks,  # type: ignore[dict-item]
    LevelsPerSessionCheck: _levels_per_session,  # type: ignore[dict-item]
    SessionsPerPeriodCheck: _sessions_per_period,  # type: ignore[dict-item]
    ImagingGuidanceCheck: _imaging_guidance,  # type: ignore[dict-item]
    PainScoresCheck: _pain_scores,  # type: ignore[dict-item]
    DisabilityScaleCheck: _disability_scale,  # type: ignore[dict-item]
    NotInCaseCheck: _not_in_case,  # type: ignore[dict-item]
}


def evaluate_checklist(case: Case, profile: PayerProfile | str | Path) -> PayerChecklist:
    """The payer-documentation checklist of a case under a payer profile.

    Parameters
    ----------
    case
        The case (its procedures, diaries, ODI entries).
    profile
        A `PayerProfile`, a shipped payer-profile name or a payer-profile file path.

    Returns
    -------
    PayerChecklist
        One item per check (per site or region where the check says so), each met / not
        met / not recorded with its reason and citation. Decision support — not a coverage
        decision.

    Raises
    ------
    ProfileError
        The profile cannot be loaded, or a check names an adjudication profile that does
        not read blocks at the check's figure.
    """
    prof = profile if isinstance(profile, PayerProfile) else load_payer_profile(profile)
    sessions = group_sessions(case)
    items: list[ChecklistItem] = []
    for check in prof.checks:
        items += _EVALUATORS[type(check)](case, prof, check, sessions)
    return PayerChecklist(
        profile_name=prof.name,
        profile_version=prof.version,
        profile_title=prof.title,
        document=prof.document.label,
        sessions_in_scope=sum(1 for s in sessions if s.of_types(prof.block_types)),
        items=tuple(items),
    )


def checklist_to_text(checklist: PayerChecklist) -> str:
    """The checklist as plain text: heading, intro, then each item and its source."""
    lines = [CHECKLIST_HEADING, checklist.intro, ""]
    for item in checklist.items:
        lines.append(f"- {item.text}")
        lines.append(f"  Source: {item.citation}")
    return "\n".join(lines) + "\n"
