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
from blockplan.outcomes.adjudication import BlockResult, BlockRole
from blockplan.outcomes.evidence import SourceEvidence, Status

__all__ = ["REEVALUATION_RULES", "Suggestion", "reevaluation_suggestions"]


class Suggestion(BaseModel):
    """One reevaluation suggestion.

    Attributes
    ----------
    rule : str
        Identifier of the rule (a key of `REEVALUATION_RULES`).
    condition : str
        The rule's condition in words.
    text : str
        The suggestion.
    citation : str
        Where the rule comes from (``(verify)`` marks a secondary source).
    sources : tuple of str
        Labels of the ledger sources it concerns (empty for case-wide suggestions).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: str
    condition: str
    text: str
    citation: str
    sources: tuple[str, ...] = ()


REEVALUATION_RULES: dict[str, tuple[str, str, str]] = {
    "facet_rfa": (
        "confirmed facet joint source",
        "consider candidacy for radiofrequency ablation of the medial branches",
        "Cohen SP, et al. ASRA multisociety consensus on lumbar facet joint pain. "
        "Reg Anesth Pain Med 2020;45:424-467",
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
        "nothing confirmed or probable after at least one valid diagnostic block",
        "consider re-imaging (MRI with gadolinium / CT), psychosocial screening, and "
        "reconsidering the diagnosis",
        "Christelis N, et al. Persistent spinal pain syndrome. Pain Med 2021;22:807; "
        "Sebaaly A, et al. 2018 (causes of pain after spine surgery) (verify)",
    ),
}
"""Rule id → (condition, suggestion, citation)."""


def _suggest(rule: str, sources: Sequence[str] = ()) -> Suggestion:
    condition, text, citation = REEVALUATION_RULES[rule]
    return Suggestion(
        rule=rule, condition=condition, text=text, citation=citation, sources=tuple(sources)
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


def reevaluation_suggestions(
    case: Case, sources: Sequence[SourceEvidence], blocks: Sequence[BlockResult]
) -> tuple[Suggestion, ...]:
    """Reevaluation suggestions for a ranked ledger.

    Parameters
    ----------
    case : Case
        For scar regions (scar around a confirmed root).
    sources : sequence of SourceEvidence
        The ledger's sources.
    blocks : sequence of BlockResult
        The ledger's blocks (to know whether any valid block was done).

    Returns
    -------
    tuple of Suggestion
    """
    confirmed = [s for s in sources if s.status is Status.CONFIRMED]
    suggestions: list[Suggestion] = []
    facet = [
        s.label for s in confirmed if all(k.structure is Structure.FACET_JOINT for k in s.sites)
    ]
    if facet:
        suggestions.append(_suggest("facet_rfa", facet))
    scar = _scar_levels(case)
    roots = [s for s in confirmed if all(k.structure is Structure.NERVE_ROOT for k in s.sites)]
    with_scar = [s.label for s in roots if any(k.level in scar for k in s.sites if k.level)]
    without = [s.label for s in roots if s.label not in with_scar]
    if with_scar:
        suggestions.append(_suggest("radicular_scar", with_scar))
    if without:
        suggestions.append(_suggest("radicular_imaging", without))
    tested = any(b.role is BlockRole.ANAESTHETIC and b.is_valid for b in blocks)
    settled = any(s.status in (Status.CONFIRMED, Status.PROBABLE) for s in sources)
    if tested and not settled:
        suggestions.append(_suggest("nothing_confirmed"))
    return tuple(suggestions)
