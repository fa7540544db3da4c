"""Plain-text rendering of a ledger (for the CLI and plain-text reports).

Decision support, not a medical device.
"""

from __future__ import annotations

from collections.abc import Sequence

from blockplan.outcomes.adjudication import BlockResult
from blockplan.outcomes.diary import ReliefPoint
from blockplan.outcomes.evidence import shown_status_text
from blockplan.outcomes.ledger import Ledger
from blockplan.outcomes.scores import OdiChange, OdiScore, PgicScore, odi_number

__all__ = ["ledger_to_text"]

_MARKS = (
    ("supporting", "+"),
    ("against", "−"),
    ("shared", "*"),
    ("controls", "~"),
    ("not_diagnostic", "!"),
    ("pending", "?"),
    ("review", "^"),
    ("therapeutic", "†"),
    ("not_adjudicated", "°"),
)
_LEGEND = (
    "blocks: +N positive, −N negative, *N positive that also covered other sites, "
    "~N saline control, !N not diagnostic, ?N pending, ^N needs review, "
    "†N therapeutic injection and °N not adjudicated under this profile (neither is evidence)"
)


def _point(p: ReliefPoint) -> str:
    if p.nrs is None:
        return f"{p.minutes}′ –"
    relief = "" if p.relief_pct is None else f" ({p.relief_pct:.0f} %)"
    return f"{p.minutes}′ {p.nrs}{relief}"


def _completeness(block: BlockResult) -> str | None:
    """Whether the diary counts as final and which points the profile still needs."""
    if block.diary_final is None:
        return None
    text = "diary final" if block.diary_final else "diary not final"
    if block.missing_min:
        text += f"; missing: {', '.join(str(m) for m in block.missing_min)} min"
    return text


def _block_lines(block: BlockResult) -> list[str]:
    verdict = block.verdict.text.upper()
    under = f" under {block.profile}" if block.profile else ""
    lines = [f"  {block.label} — {verdict}{under}"]
    lines.append("    sites: " + "; ".join(k.label for k in block.sites))
    if block.evidence_set != block.site_set:  # done in a sitting with other blocks
        together = sorted(block.evidence_set, key=lambda k: k.sort_key)
        lines.append(
            "    session sites (relief supports only these together): "
            + "; ".join(k.label for k in together)
        )
    if block.baseline_nrs is not None:
        facts = [f"baseline NRS {block.baseline_nrs}"]
        if block.peak_relief_pct is not None:
            facts.append(f"peak relief {block.peak_relief_pct:.0f} %")
        run = block.run
        if run is not None and run.reached:
            facts.append(f"onset {run.onset_min} min")
            facts.append(f"duration {run.duration_min} min")
            facts.append("sustained" if run.sustained else "not sustained")
        if block.agent_window_min is not None:
            low, high = block.agent_window_min
            facts.append(f"agent window {low}–{high} min")
        if block.movements_possible is not None:
            facts.append(
                "movements possible" if block.movements_possible else "movements not possible"
            )
        lines.append("    " + "; ".join(facts))
    if block.curve:
        lines.append("    diary (min NRS (relief)): " + " · ".join(_point(p) for p in block.curve))
    completeness = _completeness(block)
    if completeness:
        lines.append(f"    {completeness}")
    if block.awaiting:
        lines.append(f"    awaiting: {block.awaiting}")
    if block.provisional is not None:
        lines.append(f"    on the points recorded the rules alone read: {block.provisional.text}")
    lines.extend(f"    flag {f.text}" for f in block.flags)
    lines.extend(f"    - {reason}" for reason in block.reasons)
    return lines


def _scores_lines(
    odi: Sequence[OdiScore], changes: Sequence[OdiChange], pgic: Sequence[PgicScore]
) -> list[str]:
    lines: list[str] = []
    for score in odi:
        when = score.recorded_on.isoformat() if score.recorded_on else "–"
        if score.percent is None:
            lines.append(f"  ODI {when}: not scored — {score.reason}")
        else:
            lines.append(
                f"  ODI {when}: {odi_number(score.percent)} % ({score.band}; "
                f"{score.answered}/10 items)"
            )
    lines.extend(f"  {c.from_date} → {c.to_date}: {c.text}" for c in changes)
    lines.extend(f"  PGIC {p.recorded_on}: {p.score} — {p.label}" for p in pgic)
    return lines


def _header_lines(ledger: Ledger) -> list[str]:
    return [
        "blockplan outcomes — decision support, not a medical device",
        f"profile: {ledger.profile_label} — {ledger.profile_title}",
        f"rule: relief ≥ {ledger.threshold_pct:g} % sustained ≥ {ledger.min_sustained_min} min; "
        f"confirmation: {ledger.confirmation.value.replace('_', '-')}",
        f"case: {ledger.case_id}",
    ]


def _source_lines(ledger: Ledger) -> list[str]:
    """The ranked table of sources, then each source's reasons and what would settle it."""
    lines = ["PAIN SOURCES (ranked)"]
    width = max([len(s.label) for s in ledger.sources] + [6])
    shown = [shown_status_text(s) for s in ledger.sources]  # the panel's and report's words
    status_width = max([len(text) for text in shown] + [6])
    lines.append(f"  {'#':>2}  {'source':<{width}}  {'status':<{status_width}}  blocks")
    for n, (source, status) in enumerate(zip(ledger.sources, shown, strict=True), start=1):
        marks = " ".join(
            f"{mark}{number}" for attr, mark in _MARKS for number in getattr(source, attr)
        )
        lines.append(f"  {n:>2}  {source.label:<{width}}  {status:<{status_width}}  {marks or '–'}")
    lines.append(f"  ({_LEGEND})")
    lines.append("")
    for n, source in enumerate(ledger.sources, start=1):
        lines.append(f"  {n}. {source.label}: {source.status_text}")
        lines.extend(f"     - {reason}" for reason in dict.fromkeys(source.reasons))
        lines.extend(f"     what would settle it: {text}" for text in source.settle)
    return lines


def _suggestion_lines(ledger: Ledger) -> list[str]:
    lines = ["SUGGESTIONS (decision support)"]
    if not ledger.suggestions:
        lines.append("  none")
    for s in ledger.suggestions:
        about = f" [{'; '.join(s.sources)}]" if s.sources else ""
        lines.append(f"  - {s.text}{about}")
        lines.append(f"    rule: {s.condition}; source: {s.citation}")
    return lines


def ledger_to_text(
    ledger: Ledger,
    *,
    odi: Sequence[OdiScore] = (),
    odi_changes: Sequence[OdiChange] = (),
    pgic: Sequence[PgicScore] = (),
) -> str:
    """The ledger as plain text: header, ranked sources, block details, suggestions.

    Parameters
    ----------
    ledger : Ledger
    odi, odi_changes, pgic : sequences, optional
        Scores to append (see `blockplan.outcomes.scores`).
    """
    lines = [*_header_lines(ledger), "", *_source_lines(ledger), "", "BLOCKS"]
    if not ledger.blocks:
        lines.append("  no blocks recorded")
    for block in ledger.blocks:
        lines.extend(_block_lines(block))
    if ledger.pairs:
        lines += ["", "COMPARATIVE PAIRS"]
        lines.extend(f"  - {p.reason}" for p in ledger.pairs)
    lines += ["", *_suggestion_lines(ledger)]
    if ledger.notes:
        lines += ["", "NOTES"]
        lines.extend(f"  - {note}" for note in ledger.notes)
    score_lines = _scores_lines(odi, odi_changes, pgic)
    if score_lines:
        lines += ["", "SCORES", *score_lines]
    lines += ["", "PROFILE SOURCES"]
    lines.extend(f"  - {c}" for c in ledger.profile_citations)
    lines += ["", ledger.disclaimer]
    return "\n".join(lines) + "\n"
