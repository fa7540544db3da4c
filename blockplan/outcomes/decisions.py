"""The decision steps of the evidence ledger: one short, named step per situation.

`gather_evidence` sorts the blocks that bear on one candidate source by what they say
(`SourceBlocks`). The steps below then run in this order, and the first that applies
decides (see ``_evaluate`` in `blockplan.outcomes.ledger`):

1. `out_of_profile_scope` — the profile does not adjudicate the source's structure;
2. `placebo_response` — a saline control reached the threshold;
3. `doubtful_pair` — a comparative pair whose class the profile says makes the source
   indeterminate (``pair_classes``: discordant under every profile but
   asra-2020-single; concordant-prolonged under comparative);
4. `blocks_to_review` — a block on the source needs the physician's review, or a pair's
   class puts the source up for review (concordant-prolonged under strict-dual-80);
5. `blocks_pending` — a block on the source awaits data (an incomplete diary);
6. the profile's confirmation rule (`CONFIRMATION_STEPS`): `decide_single`,
   `decide_dual`, `decide_comparative` or `decide_placebo_controlled`. When the positive
   evidence does not decide, each falls back on `negative_mixed_or_none`: `negative_only`,
   `mixed_results` or `no_valid_evidence`.

Steps 4 and 5 also say what the other blocks alone would give (step 6 without the blocks
under review or pending), so nothing is scored silently. Every step returns a `Decision`:
the status, why, and what would settle an open source. The reasons do not repeat the
profile: the ledger names it once per source (`SourceEvidence.status_text`), and the
screen and the report name it once above the reasons. `block_notes` adds the reasons
every status carries after its own.

Statuses per confirmation rule
------------------------------
With *P* the valid positives and *N* the valid negatives on the source:

- ``single``: *P* and no *N* → confirmed; *N* only → excluded; both or neither →
  indeterminate.
- any rule: a block that needs review → needs review; else a pending block → pending.
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
"ruled out". Decision support, not a medical device.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from blockplan.case.vocab import BlockType, Structure
from blockplan.outcomes.adjudication import (
    BLOCK_NAMES,
    STRUCTURE_NAMES,
    BlockResult,
    BlockRole,
    ComparativePair,
    PairClass,
    SourceKey,
    Verdict,
    sites_label,
)
from blockplan.outcomes.evidence import Status
from blockplan.outcomes.numbering import numbered_block, numbered_blocks
from blockplan.outcomes.profiles import Acting, ConfirmationRule, PairEffect, Profile, Severity

__all__ = [
    "CONFIRMATION_STEPS",
    "Decision",
    "SourceBlocks",
    "awaiting_complementary_agent",
    "block_notes",
    "blocks_pending",
    "blocks_to_review",
    "decide_comparative",
    "decide_dual",
    "decide_pairs",
    "decide_placebo_controlled",
    "decide_single",
    "doubtful_pair",
    "gather_evidence",
    "mixed_results",
    "negative_cover",
    "negative_mixed_or_none",
    "negative_only",
    "no_valid_evidence",
    "out_of_profile_scope",
    "placebo_response",
    "positive_days",
    "saline_control",
]

Sites = frozenset[SourceKey]


# --- what the steps read and return ---------------------------------------------------
@dataclass(frozen=True, slots=True)
class SourceBlocks:
    """The blocks that bear on one candidate source, sorted by what they say.

    Formally, for the source *S* and a block that tested the sites *X* in a sitting that
    anaesthetised the sites *Y* ⊇ *X* (*Y* = *X* for a block done alone): a valid positive
    supports *S* when *Y* ⊆ *S*; a valid negative counts against *S* when *S* lies inside
    the sites of the sitting's valid negative blocks (`negative_cover`); a positive with
    *Y* overlapping *S* but not inside it is *shared*; saline controls,
    not-diagnostic and pending blocks concern *S* when *X* and *S* overlap; pairs concern
    *S* when both blocks tested exactly *S*.

    Attributes
    ----------
    sites : tuple of SourceKey
        The source's sites, sorted.
    label : str
        The source in words.
    in_scope : bool
        The profile adjudicates every structure of the source.
    positives, negatives : tuple of BlockResult
        Valid positive anaesthetic blocks that tested only sites of the source; valid
        negative anaesthetic blocks that tested every site of it.
    shared : tuple of BlockResult
        Positive anaesthetic blocks that also covered other sites (not attributable).
    controls : tuple of BlockResult
        Valid saline controls on the source; ``placebo`` those that reached the threshold.
    not_diagnostic, pending : tuple of BlockResult
        Blocks on the source that count as no evidence, or await data.
    review : tuple of BlockResult
        Blocks on the source that need the physician's review.
    pairs : tuple of ComparativePair
        Comparative pairs on exactly this source.
    positive_days : int
        Most distinct days with positives on one and the same set of sites.
    not_adjudicated : tuple of BlockResult
        Blocks on the source the profile does not adjudicate (e.g. a therapeutic
        transforaminal epidural injection): named in the reasons, never evidence.
    profile_label : str
        ``"name vVERSION"`` of the profile (named once per source by the ledger's
        status text, not by each reason).
    """

    sites: tuple[SourceKey, ...]
    label: str
    profile_label: str = ""
    in_scope: bool = True
    positives: tuple[BlockResult, ...] = ()
    negatives: tuple[BlockResult, ...] = ()
    shared: tuple[BlockResult, ...] = ()
    controls: tuple[BlockResult, ...] = ()
    placebo: tuple[BlockResult, ...] = ()
    not_diagnostic: tuple[BlockResult, ...] = ()
    pending: tuple[BlockResult, ...] = ()
    review: tuple[BlockResult, ...] = ()
    pairs: tuple[ComparativePair, ...] = ()
    positive_days: int = 0
    not_adjudicated: tuple[BlockResult, ...] = ()

    @property
    def site_set(self) -> Sites:
        """The sites as a set."""
        return frozenset(self.sites)

    @property
    def positive_only(self) -> bool:
        """Valid positives and no valid negative."""
        return bool(self.positives) and not self.negatives


@dataclass(frozen=True, slots=True)
class Decision:
    """What one step decided about a source.

    Attributes
    ----------
    status : Status
    reasons : tuple of str
        Why, in words (without the profile: the status text names it).
    settle : tuple of str
        What would settle the source (kept only while it is open).
    """

    status: Status
    reasons: tuple[str, ...] = ()
    settle: tuple[str, ...] = ()


# --- wording helpers ------------------------------------------------------------------
def _refs(blocks: Iterable[BlockResult]) -> str:
    return numbered_blocks(sorted(b.number for b in blocks))


def _summary(block: BlockResult) -> str:
    first = block.reasons[-1] if block.verdict is Verdict.NEGATIVE else block.reasons[0]
    text = f"{block.label}: {block.verdict.text}"
    return f"{text} — {first}" if block.reasons else text


_FIRST_BLOCK_TYPES = {
    Structure.FACET_JOINT: BlockType.MEDIAL_BRANCH,
    Structure.NERVE_ROOT: BlockType.SELECTIVE_NERVE_ROOT,
    Structure.SACROILIAC_JOINT: BlockType.SACROILIAC_JOINT,
}


def _first_block_text(sites: Iterable[SourceKey], profile: Profile) -> str:
    """The diagnostic block that would test an untested source under the profile."""
    structures = {k.structure for k in sites}
    if len(structures) != 1:
        return "a diagnostic block of each site separately"
    structure = next(iter(structures))
    block_type = _FIRST_BLOCK_TYPES.get(structure)
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
    comparative = (ConfirmationRule.COMPARATIVE, ConfirmationRule.PLACEBO_CONTROLLED)
    agent = (
        "lidocaine or bupivacaine" if profile.confirmation in comparative else "a local anaesthetic"
    )
    text = f"a diagnostic {BLOCK_NAMES[block_type]} with {agent} (no sedation, no steroid{volume})"
    if block_type is BlockType.SACROILIAC_JOINT and profile.sij_requires_movements:
        text += ", recording whether previously painful movements become possible"
    return text


def _complement(blocks: Sequence[BlockResult], profile: Profile) -> str:
    """The comparative block still missing after the positives ``blocks``."""
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


# --- gathering the evidence -----------------------------------------------------------
def positive_days(positives: Sequence[BlockResult]) -> int:
    """Most distinct days with a positive block on one and the same set of sites.

    Reproducibility counts days on one set of sites: a left and a right positive on two
    days do not confirm the pair of sides under the dual rule.
    """
    site_sets = {b.evidence_set for b in positives}
    return max(
        (len({b.day for b in positives if b.evidence_set == x}) for x in site_sets), default=0
    )


def negative_cover(blocks: Iterable[BlockResult]) -> dict[str, Sites]:
    """Per sitting, the sites its valid negative anaesthetic blocks covered together.

    No relief after a sitting counts against every site its valid negative blocks
    anaesthetised and against every set of them (a bilateral negative: each side and the
    pair; an SNRB and an MBB negative in one sitting: each and both).
    """
    cover: dict[str, Sites] = {}
    for b in blocks:
        if b.role is BlockRole.ANAESTHETIC and b.verdict is Verdict.NEGATIVE:
            cover[b.session_key] = cover.get(b.session_key, frozenset()) | b.site_set
    return cover


def gather_evidence(
    sites: Sites,
    blocks: Sequence[BlockResult],
    pairs: Sequence[ComparativePair],
    profile: Profile,
) -> SourceBlocks:
    """Sort the adjudicated blocks and pairs of a case by what they say about ``sites``.

    Parameters
    ----------
    sites : frozenset of SourceKey
        The candidate source.
    blocks : sequence of BlockResult
        Every block of the case, adjudicated under ``profile``.
    pairs : sequence of ComparativePair
        Every comparative pair of the case.
    profile : Profile

    Returns
    -------
    SourceBlocks
        Blocks that are not applicable under the profile are left out.
    """
    relevant = [b for b in blocks if b.verdict is not Verdict.NOT_APPLICABLE]
    anaesthetic = [b for b in relevant if b.role is BlockRole.ANAESTHETIC]
    touching = [b for b in relevant if b.site_set & sites]
    positives = tuple(
        b for b in anaesthetic if b.verdict is Verdict.POSITIVE and b.evidence_set <= sites
    )
    against = negative_cover(anaesthetic)
    controls = tuple(b for b in touching if b.role is BlockRole.CONTROL and b.is_valid)
    ordered = tuple(sorted(sites, key=lambda k: k.sort_key))
    return SourceBlocks(
        sites=ordered,
        label=sites_label(ordered),
        profile_label=profile.label,
        in_scope=all(profile.covers(k.structure) for k in sites),
        positives=positives,
        negatives=tuple(
            b
            for b in anaesthetic
            if b.verdict is Verdict.NEGATIVE and sites <= against[b.session_key]
        ),
        shared=tuple(
            b
            for b in anaesthetic
            if b.verdict is Verdict.POSITIVE
            and b.evidence_set & sites
            and not b.evidence_set <= sites
        ),
        controls=controls,
        placebo=tuple(c for c in controls if c.verdict is Verdict.PLACEBO_RESPONSE),
        not_diagnostic=tuple(b for b in touching if b.verdict is Verdict.NOT_DIAGNOSTIC),
        pending=tuple(b for b in touching if b.verdict is Verdict.PENDING),
        review=tuple(b for b in touching if b.verdict is Verdict.NEEDS_REVIEW),
        pairs=tuple(p for p in pairs if frozenset(p.sites) == sites),
        positive_days=positive_days(positives),
        not_adjudicated=tuple(
            b for b in blocks if b.verdict is Verdict.NOT_APPLICABLE and b.site_set & sites
        ),
    )


# --- steps common to every profile ----------------------------------------------------
def out_of_profile_scope(evidence: SourceBlocks, profile: Profile) -> Decision | None:
    """Indeterminate when the profile does not adjudicate the source's structure."""
    if evidence.in_scope:
        return None
    covered = ", ".join(STRUCTURE_NAMES[s] for s in profile.structures or ())
    return Decision(
        Status.INDETERMINATE,
        (f"{profile.label} adjudicates only {covered}",),
        ("adjudicate under a profile that covers this structure",),
    )


def placebo_response(evidence: SourceBlocks) -> Decision | None:
    """Indeterminate when a saline control reached the threshold (every profile)."""
    if not evidence.placebo:
        return None
    refs = _refs(evidence.placebo)
    return Decision(
        Status.INDETERMINATE,
        (f"saline control reached the threshold (placebo response): {refs}",),
        (
            "blinded, controlled blocks on separate days; consider psychosocial assessment "
            "(a placebo response makes anaesthetic relief uninterpretable)",
        ),
    )


def doubtful_pair(evidence: SourceBlocks) -> Decision | None:
    """Indeterminate when the profile says a comparative pair's class makes the source
    indeterminate (``pair.effect``: discordant, or concordant-prolonged under comparative)."""
    doubt = [p for p in evidence.pairs if p.effect is PairEffect.INDETERMINATE]
    if not doubt:
        return None
    if any(p.pair_class is PairClass.DISCORDANT for p in doubt):
        settle = (
            "repeat the lidocaine and bupivacaine blocks blinded on separate days, or add "
            "a saline control on another day (placebo-controlled profile)"
        )
    else:
        settle = (
            "a saline control block of the same site on another day (placebo-controlled profile)"
        )
    return Decision(Status.INDETERMINATE, tuple(p.reason for p in doubt), (settle,))


def _without_them(rest: Decision) -> str:
    """What the other blocks alone give, e.g. ``"the other blocks alone: probable"``."""
    first = rest.reasons[0] if rest.reasons else ""
    return f"the other blocks alone: {rest.status.text}" + (f" ({first})" if first else "")


def blocks_to_review(evidence: SourceBlocks, rest: Decision) -> Decision | None:
    """Needs review when a block on the source needs the physician's review, or a pair's
    class puts the source up for review; ``rest`` is what the other blocks alone give."""
    ev = evidence
    pairs = [p for p in ev.pairs if p.effect is PairEffect.NEEDS_REVIEW]
    if not ev.review and not pairs:
        return None
    reasons = [p.reason for p in pairs]
    for block in ev.review:
        why = "; ".join(block.review_reasons) or "a reading to review"
        reasons.append(f"{numbered_block(block.number)} needs review: {why}")
    settle = [
        f"the physician reviews {numbered_block(b.number)} "
        "(its reading is not counted until then); "
        "if in doubt, repeat it on another day under standard conditions"
        for b in ev.review
    ]
    if pairs:
        settle.append(
            "the physician reviews the pair's prolonged relief; a saline control on another "
            "day (placebo-controlled profile) can settle it"
        )
    return Decision(Status.NEEDS_REVIEW, (*reasons, _without_them(rest)), tuple(settle))


def blocks_pending(evidence: SourceBlocks, rest: Decision) -> Decision | None:
    """Pending when a block on the source awaits data (no diary, an incomplete diary, or
    movements not recorded); ``rest`` is what the other blocks alone give."""
    ev = evidence
    if not ev.pending:
        return None
    reasons = [
        f"{numbered_block(b.number)} is pending: {b.awaiting or 'its record is incomplete'}"
        for b in ev.pending
    ]
    settle = tuple(
        f"complete the record of {numbered_block(b.number)} "
        f"({b.awaiting or 'pain diary, movements'})"
        for b in ev.pending
    )
    return Decision(Status.PENDING, (*reasons, _without_them(rest)), settle)


def negative_only(evidence: SourceBlocks) -> Decision:
    """Excluded: valid negatives and no valid positive."""
    return Decision(
        Status.EXCLUDED,
        (f"valid negative {_refs(evidence.negatives)} and no valid positive block",),
    )


def mixed_results(evidence: SourceBlocks) -> Decision:
    """Indeterminate: valid positive and valid negative blocks disagree."""
    ev = evidence
    text = f"positive ({_refs(ev.positives)}) and negative ({_refs(ev.negatives)}) blocks disagree"
    return Decision(
        Status.INDETERMINATE,
        (text,),
        (
            "a further valid block on another day under standard conditions (no sedation, "
            "no steroid, diagnostic volume)",
        ),
    )


def no_valid_evidence(evidence: SourceBlocks, profile: Profile) -> Decision:
    """Indeterminate: no valid block tested the source alone (or none at all).

    What would settle it: complete pending records, repeat not-diagnostic blocks without
    what invalidated them, test the source alone after a shared block — or, when nothing
    was tried, the first diagnostic block the profile accepts.
    """
    ev = evidence
    settle: list[str] = []
    if ev.pending:
        settle.append(f"complete the record of {_refs(ev.pending)} (pain diary, movements)")
    for block in ev.not_diagnostic:
        invalid = [f for f in block.flags if f.severity is Severity.INVALID]
        codes = sorted({f.code.value.replace("_", " ") for f in invalid})
        why = ", ".join(codes) or "undefined relief"
        settle.append(
            f"repeat {numbered_block(block.number)} without what made it not diagnostic ({why})"
        )
    if ev.shared:
        settle.append(
            f"a block of {ev.label} alone: relief after {_refs(ev.shared)} cannot be attributed "
            "to one of the sites it covered"
        )
        reason = (
            f"tested only together with other sites ({_refs(ev.shared)}): that relief "
            "cannot be attributed to this source"
        )
    else:
        reason = "no valid diagnostic block tested this source"
    reasons = [reason]
    for block in ev.not_adjudicated:  # reached the site, but is no evidence either way
        reasons.append(
            f"{numbered_block(block.number)} ({BLOCK_NAMES[block.block_type]}) reached it but "
            "is not a diagnostic block under this profile"
        )
    if not settle:
        settle.append(_first_block_text(ev.sites, profile))
    return Decision(Status.INDETERMINATE, tuple(reasons), tuple(settle))


def negative_mixed_or_none(evidence: SourceBlocks, profile: Profile) -> Decision:
    """When positives alone do not decide: negatives only → excluded; both → mixed; none →
    no valid evidence."""
    if evidence.negatives and not evidence.positives:
        return negative_only(evidence)
    if evidence.positives:
        return mixed_results(evidence)
    return no_valid_evidence(evidence, profile)


# --- one step per confirmation rule ---------------------------------------------------
def decide_single(evidence: SourceBlocks, profile: Profile) -> Decision:
    """``single`` (asra-2020-single): a valid positive and no valid negative confirms."""
    if not evidence.positive_only:
        return negative_mixed_or_none(evidence, profile)
    text = f"valid positive {_refs(evidence.positives)} and no valid negative block"
    return Decision(Status.CONFIRMED, (text,))


def decide_dual(evidence: SourceBlocks, profile: Profile) -> Decision:
    """``dual`` (strict-dual-80): valid positives on two separate days confirm; one day is
    probable."""
    ev = evidence
    if not ev.positive_only:
        return negative_mixed_or_none(ev, profile)
    if ev.positive_days >= 2:
        text = (
            f"valid positive blocks on {ev.positive_days} separate days "
            f"({_refs(ev.positives)}) and no valid negative block"
        )
        return Decision(Status.CONFIRMED, (text,))
    consistent = (
        ", relief lasting as expected for its agent"
        if profile.require_duration_consistent_with_agent
        else ""
    )
    text = (
        f"valid positive {_refs(ev.positives)} on one day; confirmation needs positive "
        "blocks of the same site(s) on two separate days"
    )
    return Decision(
        Status.PROBABLE,
        (text,),
        (
            "a second block of the same site on another day (same or another local "
            f"anaesthetic) with relief ≥ {profile.threshold_pct:g} % sustained{consistent}",
        ),
    )


def awaiting_complementary_agent(evidence: SourceBlocks, profile: Profile) -> Decision:
    """Comparative rules before any pair: positives alone are probable, awaiting the block
    with the other agent (and, placebo-controlled, a saline control)."""
    if not evidence.positive_only:
        return negative_mixed_or_none(evidence, profile)
    settle = [_complement(evidence.positives, profile)]
    if profile.confirmation is ConfirmationRule.PLACEBO_CONTROLLED:
        settle.append("then a saline control block of the same site on another day")
    text = (
        f"valid positive {_refs(evidence.positives)}; the comparative block with the "
        "other agent is missing"
    )
    return Decision(Status.PROBABLE, (text,), tuple(settle))


def decide_pairs(evidence: SourceBlocks) -> Decision:
    """The comparative pairs on the source decide (the pair reasons come first).

    A pair counting positive, none counting negative and no valid negative → confirmed;
    pairs counting negative only, with no positive outside them → excluded; else
    indeterminate.
    """
    ev = evidence
    counted = [p for p in ev.pairs if p.effect is PairEffect.COUNTS_POSITIVE]
    negative_pairs = [p for p in ev.pairs if p.effect is PairEffect.COUNTS_NEGATIVE]
    paired = {n for p in ev.pairs for n in p.blocks}
    unpaired_positive = [b for b in ev.positives if b.number not in paired]
    reasons = tuple(p.reason for p in ev.pairs)
    if counted and not negative_pairs and not ev.negatives:
        return Decision(Status.CONFIRMED, reasons)
    if negative_pairs and not counted and not unpaired_positive:
        return Decision(Status.EXCLUDED, reasons)
    return Decision(
        Status.INDETERMINATE,
        reasons,
        ("a further comparative pair (lidocaine, bupivacaine) on separate days",),
    )


def _why_saline_does_not_count(evidence: SourceBlocks, days: set[dt.date]) -> str:
    """Why no saline control confirms: none given, or each given one and why it does not
    count (another day is needed, other sites, no diary yet, not diagnostic)."""
    ev = evidence
    others = (
        b for b in (*ev.pending, *ev.not_diagnostic, *ev.review) if b.role is BlockRole.CONTROL
    )
    given = sorted({*ev.controls, *others}, key=lambda b: b.number)
    if not given:
        return "relief with both anaesthetics; no saline control yet"
    why = []
    for c in given:
        if c.verdict is not Verdict.NO_PLACEBO_RESPONSE:
            why.append(f"saline control {numbered_block(c.number)} is {c.verdict.text}")
        elif c.evidence_set != ev.site_set:
            why.append(f"saline control {numbered_block(c.number)} also covered other sites")
        elif c.day in days:
            why.append(
                f"saline control {numbered_block(c.number)} was on the day of an anaesthetic block "
                "of the pair"
            )
    return (
        "relief with both anaesthetics; "
        + "; ".join(why)
        + " (a saline control counts on this source alone, on a day of its own)"
    )


def saline_control(evidence: SourceBlocks, by_pairs: Decision) -> Decision:
    """Placebo-controlled: pairs that confirm need a saline control of the same source
    without placebo response, on a day other than both anaesthetic blocks of a pair."""
    ev = evidence
    day_of = {b.number: b.day for b in ev.positives}
    clean = [c for c in ev.controls if c.verdict is Verdict.NO_PLACEBO_RESPONSE]
    counting = [p for p in ev.pairs if p.counts_positive]
    separate = any(
        c.evidence_set == ev.site_set
        and c.day not in (day_of.get(p.short_block), day_of.get(p.long_block))
        for c in clean
        for p in counting
    )
    if separate:
        saline = f"no placebo response to saline ({_refs(clean)}) on a separate day"
        return Decision(Status.CONFIRMED, (*by_pairs.reasons, saline))
    days = {day_of[n] for p in counting for n in p.blocks if n in day_of}
    return Decision(
        Status.PROBABLE,
        (*by_pairs.reasons, _why_saline_does_not_count(ev, days)),
        ("a saline control block of the same site on another day",),
    )


def decide_comparative(evidence: SourceBlocks, profile: Profile) -> Decision:
    """``comparative``: a concordant lidocaine/bupivacaine pair on separate days confirms."""
    if not evidence.pairs:
        return awaiting_complementary_agent(evidence, profile)
    return decide_pairs(evidence)


def decide_placebo_controlled(evidence: SourceBlocks, profile: Profile) -> Decision:
    """``placebo_controlled``: relief with both anaesthetics and none with saline, on
    separate days, confirms."""
    if not evidence.pairs:
        return awaiting_complementary_agent(evidence, profile)
    by_pairs = decide_pairs(evidence)
    if by_pairs.status is not Status.CONFIRMED:
        return by_pairs
    return saline_control(evidence, by_pairs)


CONFIRMATION_STEPS: dict[ConfirmationRule, Callable[[SourceBlocks, Profile], Decision]] = {
    ConfirmationRule.SINGLE: decide_single,
    ConfirmationRule.DUAL: decide_dual,
    ConfirmationRule.COMPARATIVE: decide_comparative,
    ConfirmationRule.PLACEBO_CONTROLLED: decide_placebo_controlled,
}
"""The decision step of each confirmation rule."""


# --- what every status carries after its own reasons ----------------------------------
def block_notes(evidence: SourceBlocks, status: Status) -> tuple[str, ...]:
    """Each positive and negative block in one line; discordant pairs that did not decide
    (each block stands alone); and, unless indeterminate, blocks shared with other sites."""
    ev = evidence
    notes = [_summary(b) for b in (*ev.positives, *ev.negatives)]
    notes.extend(
        f"discordant pair noted; each block stands alone: {p.reason}"
        for p in ev.pairs
        if p.pair_class is PairClass.DISCORDANT and p.effect is PairEffect.NOTED
    )
    if ev.shared and status is not Status.INDETERMINATE:
        notes.append(f"{_refs(ev.shared)} also covered other sites (not attributed here)")
    return tuple(notes)
