"""The evidence ledger: candidate pain sources, their status, and what would settle them.

`build_ledger` is a pure function of a case and a profile: switching the profile
recomputes every verdict, pair and status (shared/DOMAIN.md §5).

Sources and attribution
-----------------------
Evidence is kept per ``(level, side, structure)`` site. A block that covered several sites
at once (a bilateral injection, or several levels in one session) anaesthetised all of
them, so:

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

Statuses per confirmation rule
------------------------------
Common to every rule: a source outside the profile's structures is *indeterminate*; a
saline control reaching the threshold (placebo response) makes it *indeterminate*; a pair
whose class casts doubt (discordant when the profile says so; concordant-prolonged when a
comparative profile does not count it) makes it *indeterminate*. Then, with *P* the valid
positives and *N* the valid negatives:

- ``single``: *P* and no *N* → confirmed; *N* only → excluded; both or neither →
  indeterminate.
- ``dual``: *P* on ≥ 2 separate days (counted on one and the same set of sites) and no
  *N* → confirmed; otherwise *P* and no *N* → probable; *N* only → excluded; mixed or none
  → indeterminate.
- ``comparative``: with pairs — every pair counting positive, no negative pair and no *N* →
  confirmed; negative pairs only (no positive outside them) → excluded; else
  indeterminate. Without pairs — *P* only → probable (awaiting the complementary agent);
  *N* only → excluded; else indeterminate.
- ``placebo_controlled``: as comparative, but confirmation also needs a saline control on
  the same source without placebo response, on a day other than both anaesthetic blocks;
  without it → probable.

*Excluded* always reads "not supported as a pain source under <profile>", never
"ruled out".

Decision support, not a medical device.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from blockplan.case.model import Case
from blockplan.case.vocab import BlockType, Structure
from blockplan.outcomes.adjudication import (
    STRUCTURE_NAMES,
    BlockResult,
    BlockRole,
    ComparativePair,
    PairClass,
    SourceKey,
    Verdict,
    adjudicate,
    comparative_pairs,
    expand_sites,
    sites_label,
)
from blockplan.outcomes.evidence import SourceEvidence, Status
from blockplan.outcomes.profiles import Acting, ConfirmationRule, Profile, load_profile
from blockplan.outcomes.reevaluation import Suggestion, reevaluation_suggestions

__all__ = ["DISCLAIMER", "Ledger", "build_ledger"]

DISCLAIMER = (
    "Decision support, not a medical device: statuses apply the named profile's rules to the "
    "recorded blocks; the treating physician decides."
)

Sites = frozenset[SourceKey]
_OPEN = (Status.PROBABLE, Status.INDETERMINATE)


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


# --- helpers --------------------------------------------------------------------------
def _numbers(blocks: Iterable[BlockResult]) -> tuple[int, ...]:
    return tuple(sorted(b.number for b in blocks))


def _refs(blocks: Sequence[BlockResult]) -> str:
    return ", ".join(f"block {b.number}" for b in sorted(blocks, key=lambda b: b.number))


def _summary(block: BlockResult) -> str:
    first = block.reasons[-1] if block.verdict is Verdict.NEGATIVE else block.reasons[0]
    return f"{block.label}: {block.verdict.text} — {first}" if block.reasons else block.label


def _first_block_text(sites: Sites, profile: Profile) -> str:
    structures = {k.structure for k in sites}
    if len(structures) != 1:
        return "a diagnostic block of each site separately"
    structure = next(iter(structures))
    block_type = {
        Structure.FACET_JOINT: BlockType.MEDIAL_BRANCH,
        Structure.NERVE_ROOT: BlockType.SELECTIVE_NERVE_ROOT,
        Structure.SACROILIAC_JOINT: BlockType.SACROILIAC_JOINT,
    }.get(structure)
    if structure is Structure.DISC:
        return (
            "provocative discography (not adjudicated by this engine: positive is concordant "
            "pain ≥ 7/10 at < 50 psi with a painless control disc)"
        )
    if block_type is None:
        return (
            f"no diagnostic block tests the {STRUCTURE_NAMES[structure]} here; consider a "
            "selective nerve root block"
        )
    if block_type not in profile.diagnostic_block_types:
        return f"a diagnostic block of the {STRUCTURE_NAMES[structure]}"
    cap = profile.volume_caps.get(block_type)
    volume = f", volume {cap.describe()}" if cap else ""
    agent = {
        ConfirmationRule.COMPARATIVE: "lidocaine or bupivacaine",
        ConfirmationRule.PLACEBO_CONTROLLED: "lidocaine or bupivacaine",
    }.get(profile.confirmation, "a local anaesthetic")
    names = {
        BlockType.MEDIAL_BRANCH: "medial branch block",
        BlockType.SELECTIVE_NERVE_ROOT: "selective nerve root block",
        BlockType.SACROILIAC_JOINT: "sacroiliac joint block",
    }
    text = f"a diagnostic {names[block_type]} with {agent} (no sedation, no steroid{volume})"
    if block_type is BlockType.SACROILIAC_JOINT and profile.sij_requires_movements:
        text += ", recording whether previously painful movements become possible"
    return text


def _complement(blocks: Sequence[BlockResult], profile: Profile) -> str:
    acting = {
        profile.agents[b.single_agent].acting
        for b in blocks
        if b.single_agent is not None and b.single_agent in profile.agents
    }
    if acting == {Acting.SHORT}:
        return "a bupivacaine block of the same site on another day"
    if acting == {Acting.LONG}:
        return "a lidocaine block of the same site on another day"
    return "a lidocaine and a bupivacaine block of the same site on separate days"


def _no_evidence_settle(
    sites: Sites,
    label: str,
    shared: Sequence[BlockResult],
    not_diag: Sequence[BlockResult],
    pending: Sequence[BlockResult],
    profile: Profile,
) -> list[str]:
    settle: list[str] = []
    if pending:
        settle.append(f"complete the record of {_refs(pending)} (pain diary, movements)")
    for block in not_diag:
        codes = sorted({f.code.value.replace("_", " ") for f in block.flags})
        why = ", ".join(codes) or "undefined relief"
        settle.append(f"repeat block {block.number} without what made it not diagnostic ({why})")
    if shared:
        settle.append(
            f"a block of {label} alone: relief after {_refs(shared)} cannot be attributed "
            "to one of the sites it covered"
        )
    if not settle:
        settle.append(_first_block_text(sites, profile))
    return settle


# --- one source -----------------------------------------------------------------------
def _evaluate(
    sites: Sites,
    blocks: Sequence[BlockResult],
    pairs: Sequence[ComparativePair],
    profile: Profile,
) -> SourceEvidence:
    ordered = tuple(sorted(sites, key=lambda k: k.sort_key))
    label = sites_label(ordered)
    in_scope = all(profile.covers(k.structure) for k in sites)
    relevant = [b for b in blocks if b.verdict is not Verdict.NOT_APPLICABLE]
    anaesthetic = [b for b in relevant if b.role is BlockRole.ANAESTHETIC]
    positives = [b for b in anaesthetic if b.verdict is Verdict.POSITIVE and b.site_set <= sites]
    negatives = [b for b in anaesthetic if b.verdict is Verdict.NEGATIVE and sites <= b.site_set]
    shared = [
        b
        for b in anaesthetic
        if b.verdict is Verdict.POSITIVE and b.site_set & sites and not b.site_set <= sites
    ]
    controls = [
        b for b in relevant if b.role is BlockRole.CONTROL and b.is_valid and b.site_set & sites
    ]
    placebo = [b for b in controls if b.verdict is Verdict.PLACEBO_RESPONSE]
    not_diag = [b for b in relevant if b.verdict is Verdict.NOT_DIAGNOSTIC and b.site_set & sites]
    pending = [b for b in relevant if b.verdict is Verdict.PENDING and b.site_set & sites]
    own_pairs = [p for p in pairs if frozenset(p.sites) == sites]
    # Reproducibility counts days on one and the same set of sites: a left and a right
    # positive on two days do not confirm the pair of sides under the dual rule.
    days = max(
        (
            len({b.day for b in positives if b.site_set == x})
            for x in {b.site_set for b in positives}
        ),
        default=0,
    )

    reasons: list[str] = []
    settle: list[str] = []
    status: Status

    def no_evidence() -> Status:
        if shared:
            reasons.append(
                f"tested only together with other sites ({_refs(shared)}): that relief "
                "cannot be attributed to this source"
            )
        else:
            reasons.append("no valid diagnostic block tested this source")
        settle.extend(_no_evidence_settle(sites, label, shared, not_diag, pending, profile))
        return Status.INDETERMINATE

    def mixed() -> Status:
        reasons.append(
            f"positive ({_refs(positives)}) and negative ({_refs(negatives)}) blocks disagree"
        )
        settle.append(
            "a further valid block on another day under standard conditions (no sedation, "
            "no steroid, diagnostic volume)"
        )
        return Status.INDETERMINATE

    doubt = [p for p in own_pairs if p.doubt]
    if not in_scope:
        covered = ", ".join(STRUCTURE_NAMES[s] for s in profile.structures or ())
        reasons.append(f"{profile.label} adjudicates only {covered}")
        settle.append("adjudicate under a profile that covers this structure")
        status = Status.INDETERMINATE
    elif placebo:
        reasons.append(f"saline control reached the threshold (placebo response): {_refs(placebo)}")
        settle.append(
            "blinded, controlled blocks on separate days; consider psychosocial assessment "
            "(a placebo response makes anaesthetic relief uninterpretable)"
        )
        status = Status.INDETERMINATE
    elif doubt:
        reasons.extend(p.reason for p in doubt)
        if any(p.pair_class is PairClass.DISCORDANT for p in doubt):
            settle.append(
                "repeat the lidocaine and bupivacaine blocks blinded on separate days, or add "
                "a saline control on another day (placebo-controlled profile)"
            )
        else:
            settle.append(
                "a saline control block of the same site on another day "
                "(placebo-controlled profile)"
            )
        status = Status.INDETERMINATE
    elif profile.confirmation is ConfirmationRule.SINGLE:
        if positives and not negatives:
            reasons.append(f"valid positive {_refs(positives)} and no valid negative block")
            status = Status.CONFIRMED
        elif negatives and not positives:
            reasons.append(f"valid negative {_refs(negatives)} and no valid positive block")
            status = Status.EXCLUDED
        elif positives:
            status = mixed()
        else:
            status = no_evidence()
    elif profile.confirmation is ConfirmationRule.DUAL:
        if positives and not negatives:
            if days >= 2:
                reasons.append(
                    f"valid positive blocks on {days} separate days ({_refs(positives)}) and no "
                    "valid negative block"
                )
                status = Status.CONFIRMED
            else:
                reasons.append(
                    f"valid positive {_refs(positives)} on one day; confirmation needs positive "
                    "blocks of the same site(s) on two separate days"
                )
                consistent = (
                    ", relief lasting as expected for its agent"
                    if profile.require_duration_consistent_with_agent
                    else ""
                )
                settle.append(
                    f"a second block of the same site on another day (same or another local "
                    f"anaesthetic) with relief ≥ {profile.threshold_pct:g} % sustained"
                    f"{consistent}"
                )
                status = Status.PROBABLE
        elif negatives and not positives:
            reasons.append(f"valid negative {_refs(negatives)} and no valid positive block")
            status = Status.EXCLUDED
        elif positives:
            status = mixed()
        else:
            status = no_evidence()
    else:
        placebo_rule = profile.confirmation is ConfirmationRule.PLACEBO_CONTROLLED
        if own_pairs:
            counted = [p for p in own_pairs if p.counts_positive]
            negative_pairs = [p for p in own_pairs if p.pair_class is PairClass.NEGATIVE]
            paired = {n for p in own_pairs for n in p.blocks}
            unpaired_positive = [b for b in positives if b.number not in paired]
            reasons.extend(p.reason for p in own_pairs)
            if counted and not negative_pairs and not negatives:
                if placebo_rule:
                    day_of = {b.number: b.day for b in blocks}
                    clean = [c for c in controls if c.verdict is Verdict.NO_PLACEBO_RESPONSE]
                    ok = any(
                        c.site_set == sites
                        and c.day not in (day_of[p.short_block], day_of[p.long_block])
                        for c in clean
                        for p in counted
                    )
                    if ok:
                        reasons.append(
                            f"no placebo response to saline ({_refs(clean)}) on a separate day"
                        )
                        status = Status.CONFIRMED
                    else:
                        reasons.append("relief with both anaesthetics; no saline control yet")
                        settle.append("a saline control block of the same site on another day")
                        status = Status.PROBABLE
                else:
                    status = Status.CONFIRMED
            elif negative_pairs and not counted and not unpaired_positive:
                status = Status.EXCLUDED
            else:
                settle.append(
                    "a further comparative pair (lidocaine, bupivacaine) on separate days"
                )
                status = Status.INDETERMINATE
        elif positives and not negatives:
            reasons.append(
                f"valid positive {_refs(positives)}; the comparative block with the other agent "
                "is missing"
            )
            settle.append(_complement(positives, profile))
            if placebo_rule:
                settle.append("then a saline control block of the same site on another day")
            status = Status.PROBABLE
        elif negatives and not positives:
            reasons.append(f"valid negative {_refs(negatives)} and no valid positive block")
            status = Status.EXCLUDED
        elif positives:
            status = mixed()
        else:
            status = no_evidence()

    reasons.extend(_summary(b) for b in [*positives, *negatives])
    discordant_noted = [
        p for p in own_pairs if p.pair_class is PairClass.DISCORDANT and not p.doubt
    ]
    for pair in discordant_noted:
        reasons.append(f"discordant pair noted; each block stands alone: {pair.reason}")
    if shared and status is not Status.INDETERMINATE:
        reasons.append(f"{_refs(shared)} also covered other sites (not attributed here)")
    best_peak = max((b.peak_relief_pct or 0.0 for b in positives), default=0.0)
    return SourceEvidence(
        sites=ordered,
        label=label,
        status=status,
        status_text=status.describe(profile.label),
        supporting=_numbers(positives),
        against=_numbers(negatives),
        shared=_numbers(shared),
        controls=_numbers(controls),
        placebo_responses=_numbers(placebo),
        not_diagnostic=_numbers(not_diag),
        pending=_numbers(pending),
        pairs=tuple(own_pairs),
        positive_days=days,
        in_scope=in_scope,
        reasons=tuple(dict.fromkeys(reasons)),
        settle=tuple(dict.fromkeys(settle)) if status in _OPEN else (),
        strength=(days, len(positives), -len(negatives), best_peak),
    )


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
        suggestions=reevaluation_suggestions(case, sources, blocks),
        notes=tuple(_notes(blocks, sources)),
    )
