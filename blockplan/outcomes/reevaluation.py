"""Reevaluation suggestions from the ledger (each with its rule and citation).

Each suggestion carries the rule that produced it and its citation. They are decision
support — prompts for the physician, not orders — and never appear without the profile
that produced the statuses they rest on.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from blockplan.case.model import Case
from blockplan.case.vocab import Structure, parse_level
from blockplan.outcomes.adjudication import (
    BlockResult,
    BlockRole,
    SourceKey,
    Verdict,
    expand_sites,
    sites_label,
)
from blockplan.outcomes.evidence import SourceEvidence, Status
from blockplan.outcomes.numbering import numbered_blocks
from blockplan.outcomes.profiles import Profile

__all__ = [
    "REEVALUATION_RULES",
    "Suggestion",
    "reevaluation_suggestions",
    "waiting_notes",
    "workup_still_open",
]


class Suggestion(BaseModel):
    """One reevaluation suggestion.

    Attributes
    ----------
    rule : str
        Identifier of the rule (a key of `REEVALUATION_RULES`).
    condition : str
        The rule's condition in words, without the profile: the profile is named once, in
        `profile` (the report and the Outcomes panel print it once above the suggestions),
        as the ledger's reasons do.
    text : str
        The suggestion.
    citation : str
        Where the rule comes from (``(verify)`` marks a secondary source).
    sources : tuple of str
        Labels of the ledger sources (or sites) it concerns (empty for case-wide ones).
    profile : str
        ``"name vVERSION"`` of the profile whose statuses it rests on.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: str
    condition: str
    text: str
    citation: str
    sources: tuple[str, ...] = ()
    profile: str = ""


REEVALUATION_RULES: dict[str, tuple[str, str, str]] = {
    "facet_rfa": (
        "confirmed facet joint source",
        "consider candidacy for radiofrequency ablation of the medial branches",
        "Cohen SP, et al. ASRA multisociety consensus on lumbar facet joint pain. "
        "Reg Anesth Pain Med 2020;45:424-467",
    ),
    "sij_rfa": (
        "confirmed sacroiliac joint source",
        "consider candidacy for radiofrequency ablation of the sacral lateral branches; the "
        "evidence is weaker than for facet joints, and no treatment of sacroiliac joint pain "
        "after spine surgery is established",
        "Cohen SP, et al. Randomized placebo-controlled study evaluating lateral branch "
        "radiofrequency denervation for sacroiliac joint pain. Anesthesiology 2008;109:279-288; "
        "Patel N, et al. Pain Med 2012;13:383-398 (verify)",
    ),
    "radicular_scar": (
        "confirmed radicular (nerve root) source with scar around the root",
        "consider targeted therapy of the root, and a spinal cord stimulation trial if "
        "neuropathic pain stays refractory (trial success: ≥ 50 % relief during activity with "
        "stable or reduced analgesics; psychosocial screening first)",
        "Christelis N, et al. Persistent spinal pain syndrome. Pain Med 2021;22:807; "
        "ASRA Pain Medicine consensus guidance on spinal cord stimulation, 2023 (verify)",
    ),
    "radicular_imaging": (
        "confirmed radicular (nerve root) source, no scar recorded at its level",
        "correlate with gadolinium-enhanced MRI (scar enhances homogeneously and surrounds the "
        "root; recurrent disc enhances only at its rim, ~96 % accurate) before targeted therapy",
        "Hueftle MG, et al. Lumbar spine: postoperative MR imaging with Gd-DTPA. "
        "Radiology 1988;167:817-824 (verify)",
    ),
    "nothing_confirmed": (
        "nothing confirmed or probable after an adequate work-up (no block pending or to "
        "review, every planned target tested, enough valid blocks)",
        "consider re-imaging (MRI with gadolinium / CT), psychosocial screening, and "
        "reconsidering the diagnosis",
        "Christelis N, et al. Persistent spinal pain syndrome. Pain Med 2021;22:807; "
        "Sebaaly A, et al. 2018 (causes of pain after spine surgery) (verify)",
    ),
}
"""Rule id → (condition, suggestion, citation)."""


def _suggest(rule: str, profile: Profile, sources: Sequence[str] = ()) -> Suggestion:
    condition, text, citation = REEVALUATION_RULES[rule]
    return Suggestion(
        rule=rule,
        condition=condition,
        text=text,
        citation=citation,
        sources=tuple(sources),
        profile=profile.label,
    )


def _scar_levels(case: Case) -> set[str]:
    """Vertebrae and segments with a scar volume recorded (> 0 mL)."""
    levels: set[str] = set()
    for region in case.scar_regions:
        for key, volume in region.volume_ml_per_level.items():
            if volume <= 0:
                continue
            try:
                level = parse_level(key)
            except ValueError:
                continue
            levels.add(level)
            levels.update(level.split("-"))
    return levels


def _excluded_sites(sources: Sequence[SourceEvidence]) -> set[SourceKey]:
    """Sites whose own single-site source is not supported as a pain source."""
    return {s.sites[0] for s in sources if len(s.sites) == 1 and s.status is Status.EXCLUDED}


def _confirmed_sites(sources: Sequence[SourceEvidence], structure: Structure) -> list[str]:
    """Confirmed sources of one structure, without the sites excluded on their own.

    A bilateral positive confirms the pair of sides; when one side is then not supported
    on its own, only the other side is named ("L4-L5 left facet joint, of the confirmed
    L4-L5, left + right, facet joint; right not supported").
    """
    excluded = _excluded_sites(sources)
    labels: list[str] = []
    for s in sources:
        if s.status is not Status.CONFIRMED or any(k.structure is not structure for k in s.sites):
            continue
        kept = [k for k in s.sites if k not in excluded]
        if not kept:
            continue
        label = sites_label(kept)
        if len(kept) < len(s.sites):
            dropped = ", ".join(k.short_label for k in s.sites if k in excluded)
            label += f" (of the confirmed {s.label}; {dropped} not supported)"
        labels.append(label)
    return list(dict.fromkeys(labels))


def _root_suggestions(
    case: Case, sources: Sequence[SourceEvidence], profile: Profile
) -> list[Suggestion]:
    """Targeted therapy / SCS for a confirmed root with scar, imaging without."""
    scar = _scar_levels(case)
    roots = [
        s
        for s in sources
        if s.status is Status.CONFIRMED
        and all(k.structure is Structure.NERVE_ROOT for k in s.sites)
    ]
    with_scar = [s.label for s in roots if any(k.level in scar for k in s.sites if k.level)]
    without = [s.label for s in roots if s.label not in with_scar]
    found: list[Suggestion] = []
    if with_scar:
        found.append(_suggest("radicular_scar", profile, with_scar))
    if without:
        found.append(_suggest("radicular_imaging", profile, without))
    return found


def workup_still_open(
    case: Case,
    sources: Sequence[SourceEvidence],
    blocks: Sequence[BlockResult],
    profile: Profile,
) -> tuple[str, ...]:
    """Why the diagnostic work-up is not over yet (empty when it is, shared/DOMAIN.md §9).

    Open while a block is pending or needs review, a source is probable, a planned target
    has no valid block, or fewer than ``profile.workup_min_valid_blocks`` valid anaesthetic
    blocks were done.
    """
    why: list[str] = []
    for verdict, words in ((Verdict.PENDING, "pending"), (Verdict.NEEDS_REVIEW, "to review")):
        numbers = [b.number for b in blocks if b.verdict is verdict]
        if numbers:
            why.append(f"{numbered_blocks(numbers)} {words}")
    probable = [s.label for s in sources if s.status is Status.PROBABLE]
    if probable:
        why.append(f"probable: {'; '.join(probable)}")
    by_sites = {frozenset(s.sites): s for s in sources}
    untested = []
    for target in case.targets:
        source = by_sites.get(frozenset(expand_sites(target.structure, target.level, target.side)))
        if source is None or not (source.supporting or source.against or source.shared):
            untested.append(target.label)
    if untested:
        why.append(f"planned target not tested yet: {'; '.join(dict.fromkeys(untested))}")
    valid = sum(1 for b in blocks if b.role is BlockRole.ANAESTHETIC and b.is_valid)
    if valid < profile.workup_min_valid_blocks:
        why.append(
            f"{valid} of the {profile.workup_min_valid_blocks} valid diagnostic blocks this "
            "profile wants before suggesting them"
        )
    return tuple(why)


def _nothing_settled(sources: Sequence[SourceEvidence], blocks: Sequence[BlockResult]) -> bool:
    """A valid anaesthetic block was done and no source is confirmed or probable."""
    tested = any(b.role is BlockRole.ANAESTHETIC and b.is_valid for b in blocks)
    settled = any(s.status in (Status.CONFIRMED, Status.PROBABLE) for s in sources)
    return tested and not settled


def reevaluation_suggestions(
    case: Case,
    sources: Sequence[SourceEvidence],
    blocks: Sequence[BlockResult],
    profile: Profile,
) -> tuple[Suggestion, ...]:
    """Reevaluation suggestions for a ranked ledger, each naming ``profile``.

    Parameters
    ----------
    case : Case
        For scar regions (scar around a confirmed root) and planned targets.
    sources : sequence of SourceEvidence
        The ledger's sources.
    blocks : sequence of BlockResult
        The ledger's blocks.
    profile : Profile
        The profile that decided the statuses.

    Returns
    -------
    tuple of Suggestion
        "Nothing confirmed" (re-imaging, psychosocial screening) only once the work-up is
        over (`workup_still_open` is empty).
    """
    suggestions: list[Suggestion] = []
    facet = _confirmed_sites(sources, Structure.FACET_JOINT)
    if facet:
        suggestions.append(_suggest("facet_rfa", profile, facet))
    sij = _confirmed_sites(sources, Structure.SACROILIAC_JOINT)
    if sij:
        suggestions.append(_suggest("sij_rfa", profile, sij))
    suggestions.extend(_root_suggestions(case, sources, profile))
    if _nothing_settled(sources, blocks) and not workup_still_open(case, sources, blocks, profile):
        suggestions.append(_suggest("nothing_confirmed", profile))
    return tuple(suggestions)


def waiting_notes(
    case: Case,
    sources: Sequence[SourceEvidence],
    blocks: Sequence[BlockResult],
    profile: Profile,
) -> tuple[str, ...]:
    """A note when "nothing confirmed" suggestions wait for the work-up, saying why."""
    if not _nothing_settled(sources, blocks):
        return ()
    why = workup_still_open(case, sources, blocks, profile)
    if not why:
        return ()
    return (
        "re-imaging and psychosocial screening are not suggested yet: the work-up is still "
        f"open ({'; '.join(why)})",
    )
