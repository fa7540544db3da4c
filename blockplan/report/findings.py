"""What the report says about pain sources: a small view-model of the evidence ledger.

The report renders `ReportFindings`, never the outcomes engine's results directly, so its
layout does not depend on how adjudication is computed; it shares the engine's vocabulary
(`~blockplan.outcomes.Status`, `~blockplan.outcomes.SourceKey`). `findings_from_ledger`
is the one place that turns a `blockplan.outcomes.Ledger` into findings.

Wording follows shared/DOMAIN.md §5: *excluded* means "not supported as a pain source
under <profile>", never "ruled out". Decision support, not a medical device.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from blockplan.outcomes.adjudication import STRUCTURE_NAMES, SourceKey
from blockplan.outcomes.evidence import STATUS_ORDER, Status

if TYPE_CHECKING:
    from blockplan.outcomes.adjudication import BlockResult
    from blockplan.outcomes.evidence import SourceEvidence
    from blockplan.outcomes.ledger import Ledger

__all__ = [
    "BlockFinding",
    "BlockFlag",
    "CurvePoint",
    "ReportFindings",
    "SourceFinding",
    "Suggestion",
    "findings_from_ledger",
    "structure_label",
]

_STRUCTURE_LABELS: dict[str, str] = {s.value: name for s, name in STRUCTURE_NAMES.items()}


def structure_label(structure: str) -> str:
    """Readable name of a `~blockplan.case.vocab.Structure` value (``"nerve root"``)."""
    return _STRUCTURE_LABELS.get(structure, structure.replace("_", " "))


@dataclass(frozen=True, slots=True)
class BlockFlag:
    """A validity flag on a block (shared/DOMAIN.md §4).

    Attributes
    ----------
    code
        Flag code, e.g. ``"sedation"``, ``"over_volume"``.
    message
        One sentence for the reader, e.g. ``"0.8 mL per branch exceeds the 0.5 mL cap"``.
    severity
        ``"invalid"``: the block is not diagnostic; ``"warning"``: shown, still counted;
        ``"review"``: the block needs the physician's review before it counts.
    """

    code: str
    message: str
    severity: Literal["invalid", "warning", "review"] = "invalid"


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """One diary point of a block.

    Attributes
    ----------
    minutes
        Minutes after the block.
    nrs
        Pain 0–10, None when missing.
    relief_pct
        Relief in % of the baseline (None when missing or the baseline is 0).
    patient_relief_pct
        The patient's own estimate of relief (%), if recorded.
    """

    minutes: int
    nrs: int | None = None
    relief_pct: float | None = None
    patient_relief_pct: float | None = None


@dataclass(frozen=True, slots=True)
class BlockFinding:
    """How one block (procedure) was read under the profile.

    Attributes
    ----------
    number
        1-based chronological number of the block ("block 2" in the ledger's wording).
    procedure_id
        `~blockplan.case.model.Procedure` id.
    performed_at
        When the block was done (time-zone aware).
    block_type
        `~blockplan.case.vocab.BlockType` value.
    agents
        Agents that decide the block (``"lidocaine"``, ``"saline"``, …).
    sites
        The sites the block tested.
    verdict
        ``"positive"``, ``"negative"``, ``"placebo response"``, ``"no placebo response"``,
        ``"not diagnostic"``, ``"pending"`` or ``"not applicable"``.
    threshold_pct
        Relief threshold of the profile (%), drawn on the diary chart.
    role
        ``"anaesthetic"`` or ``"control"`` (saline).
    baseline_nrs
        Pain before the block (NRS), None without a diary.
    curve
        Diary points in time order.
    peak_relief_pct, onset_min, duration_min
        Peak relief (%), onset and duration (minutes after the block) at the threshold.
    sustained
        Relief stayed at or above the threshold for the profile's minimum span.
    agent_window_min
        Expected duration window of the agent (minutes), if the profile has one.
    duration_consistent
        Duration inside that window (None when not assessed).
    movements_possible
        Previously painful movements became possible (sacroiliac joint), if recorded.
    flags
        Validity flags.
    reasons
        Why the verdict, in words.
    verdict_detail
        The verdict with what a pending block awaits or why it needs review
        (``"pending: NRS at 15, 30 min"``); empty to show ``verdict`` alone.
    profile
        ``"<name> v<version>"`` of the profile that decided.
    missing_min, diary_final
        Diary points the profile still needs, and whether the diary counts as final.
    provisional
        For a pending or needs-review block: what the rules alone give (not counted).
    """

    number: int
    procedure_id: str
    performed_at: dt.datetime
    block_type: str
    agents: tuple[str, ...]
    sites: tuple[SourceKey, ...]
    verdict: str
    threshold_pct: float
    role: Literal["anaesthetic", "control"] = "anaesthetic"
    baseline_nrs: int | None = None
    curve: tuple[CurvePoint, ...] = ()
    peak_relief_pct: float | None = None
    onset_min: int | None = None
    duration_min: int | None = None
    sustained: bool = False
    agent_window_min: tuple[int, int] | None = None
    duration_consistent: bool | None = None
    movements_possible: bool | None = None
    flags: tuple[BlockFlag, ...] = ()
    reasons: tuple[str, ...] = ()
    verdict_detail: str = ""
    profile: str = ""
    missing_min: tuple[int, ...] = ()
    diary_final: bool | None = None
    provisional: str = ""


@dataclass(frozen=True, slots=True)
class SourceFinding:
    """The ledger entry of one candidate pain source.

    A source is one site, or several when a block covered several sites at once (a
    bilateral block supports "L4-L5 left + right facet joint", not either side alone).

    Attributes
    ----------
    sites
        The sites of the source (at least one).
    status
        Its ledger status (a status value given as text is converted).
    label
        Display label; default built from the sites.
    status_text
        The status in words with the profile, e.g. "not supported as a pain source under
        strict-dual-80 v1.0.0".
    reasons
        Why the status.
    blocks
        Numbers of every block the profile adjudicates that tested this source.
    therapeutic, not_adjudicated
        Numbers of the blocks that reached this source but that the profile does not
        adjudicate: therapeutic injections, and others (never evidence; see
        `blockplan.outcomes.why_and_blocks`).
    settle
        What would settle an open source (empty when settled).
    """

    sites: tuple[SourceKey, ...]
    status: Status
    label: str = ""
    status_text: str = ""
    reasons: tuple[str, ...] = ()
    blocks: tuple[int, ...] = ()
    therapeutic: tuple[int, ...] = ()
    not_adjudicated: tuple[int, ...] = ()
    settle: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))

    @property
    def display_label(self) -> str:
        """`label`, or one built from the sites (``"L4-L5 left + right facet joint"``)."""
        if self.label:
            return self.label
        if len(self.sites) == 1:
            return self.sites[0].short_label
        first = self.sites[0]
        if all(k.level == first.level and k.structure == first.structure for k in self.sites):
            sides = " + ".join(k.side or "–" for k in self.sites)
            return " ".join(p for p in (first.level, sides, structure_label(first.structure)) if p)
        return " + ".join(k.short_label for k in self.sites)

    @property
    def is_group(self) -> bool:
        """True for a source made of several sites."""
        return len(self.sites) > 1


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A reevaluation suggestion (decision support, with its citation).

    Attributes
    ----------
    text
        What to consider, e.g. "consider candidacy for radiofrequency ablation".
    condition
        The rule's condition in words, e.g. "confirmed facet joint source".
    citation
        Where the rule comes from.
    sources
        Labels of the sources it concerns (empty for case-wide suggestions).
    profile
        ``"<name> v<version>"`` of the profile whose statuses it rests on.
    """

    text: str
    condition: str = ""
    citation: str = ""
    sources: tuple[str, ...] = ()
    profile: str = ""


@dataclass(frozen=True, slots=True)
class ReportFindings:
    """Everything the report says about pain sources, blocks and next steps.

    Attributes
    ----------
    profile_name, profile_version
        The adjudication profile that decided (printed in the report).
    profile_title
        Its human-readable title.
    threshold_pct
        The profile's relief threshold (%).
    min_sustained_min
        Minimum span of relief at the threshold for a block to count as sustained (min).
    confirmation
        The profile's confirmation rule in words (e.g. "dual").
    sources
        Candidate pain sources, ranked (most support first).
    blocks
        Every block of the case, chronological.
    suggestions
        Reevaluation suggestions.
    profile_citations
        What the profile rests on.
    pairs
        Comparative pairs, in words.
    notes
        Case-wide remarks of the adjudication.
    disclaimer
        The decision-support statement printed with the findings.
    """

    profile_name: str
    profile_version: str
    profile_title: str = ""
    threshold_pct: float = 50.0
    min_sustained_min: int = 30
    confirmation: str = ""
    sources: tuple[SourceFinding, ...] = ()
    blocks: tuple[BlockFinding, ...] = ()
    suggestions: tuple[Suggestion, ...] = ()
    profile_citations: tuple[str, ...] = ()
    pairs: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    disclaimer: str = (
        "Decision support, not a medical device: statuses apply the named profile's rules "
        "to the recorded blocks; the treating physician decides."
    )

    @property
    def profile_label(self) -> str:
        """``"<name> v<version>"``."""
        return f"{self.profile_name} v{self.profile_version}"

    def block_by_procedure(self, procedure_id: str) -> BlockFinding | None:
        """The finding of a procedure's block, None when the findings do not mention it."""
        return next((b for b in self.blocks if b.procedure_id == procedure_id), None)

    def ranked_sources(self) -> tuple[SourceFinding, ...]:
        """Sources ordered by status (most support first, `~blockplan.outcomes.STATUS_ORDER`),
        keeping the ledger's order within a status."""
        order = {s: n for n, s in enumerate(STATUS_ORDER)}
        return tuple(sorted(self.sources, key=lambda s: order[s.status]))


_SEVERITIES: dict[str, Literal["invalid", "warning", "review"]] = {
    "invalid": "invalid",
    "warning": "warning",
    "review": "review",
}


def _block_finding(b: BlockResult, threshold_pct: float) -> BlockFinding:
    """One adjudicated block, in the report's terms."""
    run = b.run
    return BlockFinding(
        number=b.number,
        procedure_id=b.procedure_id,
        performed_at=b.performed_at,
        block_type=b.block_type.value,
        agents=tuple(a.value for a in b.agents),
        sites=b.sites,
        verdict=b.verdict.text,
        threshold_pct=threshold_pct,
        role="control" if b.role.value == "control" else "anaesthetic",
        baseline_nrs=b.baseline_nrs,
        curve=tuple(
            CurvePoint(p.minutes, p.nrs, p.relief_pct, p.patient_relief_pct) for p in b.curve
        ),
        peak_relief_pct=b.peak_relief_pct,
        onset_min=None if run is None else run.onset_min,
        duration_min=None if run is None else run.duration_min,
        sustained=False if run is None else run.sustained,
        agent_window_min=b.agent_window_min,
        duration_consistent=b.duration_consistent,
        movements_possible=b.movements_possible,
        flags=tuple(
            BlockFlag(f.code.value, f.message, _SEVERITIES[f.severity.value]) for f in b.flags
        ),
        reasons=b.reasons,
        verdict_detail=b.short_verdict,
        profile=b.profile,
        missing_min=b.missing_min,
        diary_final=b.diary_final,
        provisional=b.provisional.text if b.provisional is not None else "",
    )


def _source_finding(s: SourceEvidence) -> SourceFinding:
    """One ledger source, in the report's terms."""
    return SourceFinding(
        sites=s.sites,
        status=s.status,
        label=s.label,
        status_text=s.status_text,
        reasons=s.reasons,
        blocks=s.blocks,
        therapeutic=s.therapeutic,
        not_adjudicated=s.not_adjudicated,
        settle=s.settle,
    )


def findings_from_ledger(ledger: Ledger) -> ReportFindings:
    """Turn an evidence ledger of `blockplan.outcomes` into report findings.

    Parameters
    ----------
    ledger
        The result of `blockplan.outcomes.build_ledger`.

    Returns
    -------
    ReportFindings
        Sources in the ledger's rank order, blocks in chronological order.
    """
    suggestions = tuple(
        Suggestion(
            text=g.text,
            condition=g.condition,
            citation=g.citation,
            sources=g.sources,
            profile=g.profile,
        )
        for g in ledger.suggestions
    )
    return ReportFindings(
        profile_name=ledger.profile_name,
        profile_version=ledger.profile_version,
        profile_title=ledger.profile_title,
        threshold_pct=ledger.threshold_pct,
        min_sustained_min=ledger.min_sustained_min,
        confirmation=ledger.confirmation.value.replace("_", " "),
        sources=tuple(_source_finding(s) for s in ledger.sources),
        blocks=tuple(_block_finding(b, ledger.threshold_pct) for b in ledger.blocks),
        suggestions=suggestions,
        profile_citations=ledger.profile_citations,
        pairs=tuple(p.reason for p in ledger.pairs),
        notes=ledger.notes,
        disclaimer=ledger.disclaimer,
    )
