"""The evidence ledger: candidate pain sources, their status, and what would settle them.

`build_ledger` is a pure function of a case and a profile: switching the profile
recomputes every verdict, pair and status (shared/DOMAIN.md §5).

Sources and attribution
-----------------------
Evidence is kept per ``(level, side, structure)`` site. A block that covered several sites
at once (a bilateral injection, or several levels), or several blocks done in one sitting
(`Procedure.session_id`: e.g. an SNRB and an MBB), anaesthetised all of them, so:

- a **positive** result says the pain generator is *among* those sites. It supports the
  source made of that set of sites (e.g. ``L4-L5, left + right, facet joint``) and any
  larger set, but *not* a single one of its sites: relief after a bilateral block cannot be
  attributed to one side. The single sites list it under ``shared``.
- a **negative** result says none of the sites relieved the pain, so it counts against
  every site it covered and every set of them.

Formally, for a source *S* (a set of sites) and a block that tested the sites *X*: a valid
positive supports *S* when *X* ⊆ *S*; a valid negative counts against *S* when *S* ⊆ *X*;
a saline control concerns *S* when *X* and *S* overlap; comparative pairs concern *S* when
both blocks tested exactly *S*. Sources are the sets and single sites of every diagnostic
block and every planned target.

How a source gets its status
----------------------------
`blockplan.outcomes.decisions` holds the decision steps, one per situation, each with the
rule it applies: out of the profile's scope, placebo response, doubtful comparative pair,
a block to review, a pending block, then the profile's confirmation rule (single, dual,
comparative, placebo-controlled). ``_evaluate`` runs them in that order for each source;
the first that applies decides.

Decision support, not a medical device.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from blockplan.case.model import Case
from blockplan.case.vocab import THERAPEUTIC_BLOCK_TYPES
from blockplan.case.wording import unnamed_joint_text
from blockplan.outcomes.adjudication import (
    BlockResult,
    ComparativePair,
    SourceKey,
    Verdict,
    adjudicate,
    comparative_pairs,
    expand_sites,
    sites_label,
)
from blockplan.outcomes.decisions import (
    CONFIRMATION_STEPS,
    Decision,
    SourceBlocks,
    block_notes,
    blocks_pending,
    blocks_to_review,
    doubtful_pair,
    gather_evidence,
    out_of_profile_scope,
    placebo_response,
)
from blockplan.outcomes.evidence import (
    OPEN_STATUSES,
    SourceEvidence,
    describe_untested,
    shown_status,
)
from blockplan.outcomes.profiles import ConfirmationRule, Profile, load_profile
from blockplan.outcomes.reevaluation import (
    Suggestion,
    reevaluation_suggestions,
    waiting_notes,
)

__all__ = ["DISCLAIMER", "Ledger", "build_ledger"]

DISCLAIMER = (
    "Decision support, not a medical device: statuses apply the named profile's rules to the "
    "recorded blocks; the treating physician decides."
)

Sites = frozenset[SourceKey]


class Ledger(BaseModel):
    """The evidence ledger of a case under one profile.

    Attributes
    ----------
    case_id : str
    profile_name, profile_version, profile_title : str
        The profile that decided (printed on every report).
    profile_citations : tuple of str
    threshold_pct : float
    min_sustained_min : int
    confirmation : ConfirmationRule
    disclaimer : str
    sources : tuple of SourceEvidence
        Ranked: confirmed, probable, indeterminate, excluded; then by strength.
    blocks : tuple of BlockResult
        Every procedure, chronological, with its verdict under the profile.
    pairs : tuple of ComparativePair
    suggestions : tuple of Suggestion
        Reevaluation suggestions (decision support, each with its rule and citation).
    notes : tuple of str
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    case_id: str
    profile_name: str
    profile_version: str
    profile_title: str
    profile_citations: tuple[str, ...]
    threshold_pct: float
    min_sustained_min: int
    confirmation: ConfirmationRule
    disclaimer: str = DISCLAIMER
    sources: tuple[SourceEvidence, ...]
    blocks: tuple[BlockResult, ...]
    pairs: tuple[ComparativePair, ...] = ()
    suggestions: tuple[Suggestion, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def profile_label(self) -> str:
        """``"name vVERSION"``."""
        return f"{self.profile_name} v{self.profile_version}"

    def source(self, *sites: SourceKey) -> SourceEvidence:
        """The source made of exactly ``sites`` (KeyError if the ledger has none)."""
        wanted = frozenset(sites)
        for source in self.sources:
            if frozenset(source.sites) == wanted:
                return source
        raise KeyError(sites_label(sorted(wanted, key=lambda k: k.sort_key)))

    def block(self, number: int) -> BlockResult:
        """The block with this chronological number (KeyError if absent)."""
        for block in self.blocks:
            if block.number == number:
                return block
        raise KeyError(number)


# --- one source -----------------------------------------------------------------------
def _evaluate(
    sites: Sites,
    blocks: Sequence[BlockResult],
    pairs: Sequence[ComparativePair],
    profile: Profile,
) -> SourceEvidence:
    """The status of one source: gather its evidence, then the first step that applies."""
    evidence = gather_evidence(sites, blocks, pairs, profile)
    rule = CONFIRMATION_STEPS[profile.confirmation](evidence, profile)
    decision = (
        out_of_profile_scope(evidence, profile)
        or placebo_response(evidence)
        or doubtful_pair(evidence)
        or blocks_to_review(evidence, rule)
        or blocks_pending(evidence, rule)
        or rule
    )
    return _source_evidence(evidence, decision, profile)


def _numbers(blocks: Iterable[BlockResult]) -> tuple[int, ...]:
    return tuple(sorted(b.number for b in blocks))


def _is_therapeutic(block: BlockResult) -> bool:
    return block.block_type in THERAPEUTIC_BLOCK_TYPES


def _source_evidence(
    evidence: SourceBlocks, decision: Decision, profile: Profile
) -> SourceEvidence:
    """The ledger entry: the decision with its block notes, and every block referenced."""
    ev, status = evidence, decision.status
    unnamed = (unnamed_joint_text(k.level, k.structure) for k in ev.sites)
    reasons = (*decision.reasons, *block_notes(ev, status), *(u for u in unnamed if u))
    best_peak = max((b.peak_relief_pct or 0.0 for b in ev.positives), default=0.0)
    source = SourceEvidence(
        sites=ev.sites,
        label=ev.label,
        status=status,
        status_text=status.describe(profile.label),
        supporting=_numbers(ev.positives),
        against=_numbers(ev.negatives),
        shared=_numbers(ev.shared),
        controls=_numbers(ev.controls),
        placebo_responses=_numbers(ev.placebo),
        not_diagnostic=_numbers(ev.not_diagnostic),
        pending=_numbers(ev.pending),
        review=_numbers(ev.review),
        therapeutic=_numbers(b for b in ev.not_adjudicated if _is_therapeutic(b)),
        not_adjudicated=_numbers(b for b in ev.not_adjudicated if not _is_therapeutic(b)),
        pairs=ev.pairs,
        positive_days=ev.positive_days,
        in_scope=ev.in_scope,
        reasons=tuple(dict.fromkeys(reasons)),
        settle=tuple(dict.fromkeys(decision.settle)) if status in OPEN_STATUSES else (),
        strength=(ev.positive_days, len(ev.positives), -len(ev.negatives), best_peak),
    )
    if shown_status(source) is None:  # shown as "no diagnostic block yet" everywhere
        return source.model_copy(update={"status_text": describe_untested(profile.label)})
    return source


# --- the ledger -----------------------------------------------------------------------
def _candidates(case: Case, blocks: Sequence[BlockResult], profile: Profile) -> set[Sites]:
    candidates: set[Sites] = set()

    def add(sites: Iterable[SourceKey]) -> None:
        group = frozenset(sites)
        if not group:
            return
        candidates.add(group)
        candidates.update(frozenset({k}) for k in group)

    for block in blocks:
        if block.block_type in profile.diagnostic_block_types:
            add(block.sites)
            add(block.evidence_set)
    for target in case.targets:
        add(expand_sites(target.structure, target.level, target.side))
    return candidates


def _rank_key(source: SourceEvidence) -> tuple[object, ...]:
    days, count, negative, peak = source.strength
    return (
        -source.status.rank,
        -days,
        -count,
        -negative,
        -peak,
        len(source.sites),
        [k.sort_key for k in source.sites],
    )


def _notes(blocks: Sequence[BlockResult], sources: Sequence[SourceEvidence]) -> list[str]:
    notes: list[str] = []
    for block in blocks:
        if block.verdict is Verdict.NOT_APPLICABLE:
            notes.append(f"{block.label}: not applicable — {block.reasons[-1]}")
    if any(s.is_group for s in sources):
        notes.append(
            "a block that covered several sites (bilateral, or several levels) supports only "
            "that set of sites: its relief cannot be attributed to one of them; a negative "
            "result counts against each site it covered"
        )
    if any(b.evidence_set != b.site_set for b in blocks):
        notes.append(
            "blocks done in one session (e.g. a nerve root block and a medial branch block in "
            "one sitting) are separate records, but the relief after the session supports only "
            "the set of their sites: neither is confirmed on its own until separate blocks on "
            "separate days tell them apart"
        )
    return notes


def build_ledger(case: Case, profile: Profile | str | Path) -> Ledger:
    """Adjudicate every block of ``case`` under ``profile`` and build the evidence ledger.

    Pure: the same case and profile always give the same ledger, and switching the profile
    recomputes everything.

    Parameters
    ----------
    case : Case
    profile : Profile, str or Path
        A profile, or a shipped profile name or profile file path for `load_profile`.

    Returns
    -------
    Ledger
        Ranked sources with their blocks, per-block details, comparative pairs,
        reevaluation suggestions and notes.
    """
    if not isinstance(profile, Profile):
        profile = load_profile(profile)
    blocks = adjudicate(case, profile)
    pairs = comparative_pairs(blocks, profile)
    evidence = [_evaluate(s, blocks, pairs, profile) for s in _candidates(case, blocks, profile)]
    sources = tuple(sorted(evidence, key=_rank_key))
    return Ledger(
        case_id=case.case_id,
        profile_name=profile.name,
        profile_version=profile.version,
        profile_title=profile.title,
        profile_citations=tuple(str(c) for c in profile.citations),
        threshold_pct=profile.threshold_pct,
        min_sustained_min=profile.min_sustained_min,
        confirmation=profile.confirmation,
        sources=sources,
        blocks=blocks,
        pairs=pairs,
        suggestions=reevaluation_suggestions(case, sources, blocks, profile),
        notes=tuple(_notes(blocks, sources)) + waiting_notes(case, sources, blocks, profile),
    )
