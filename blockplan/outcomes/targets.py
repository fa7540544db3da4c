"""Ledger status of each planned target (what the viewer colours targets by)."""

from __future__ import annotations

from blockplan.case.model import Case, Target
from blockplan.outcomes.adjudication import expand_sites
from blockplan.outcomes.evidence import UNTESTED, shown_status_key
from blockplan.outcomes.ledger import Ledger

__all__ = ["target_status", "target_statuses"]


def target_status(ledger: Ledger, target: Target) -> str:
    """Status of the source a target tests: a `Status` value, or `UNTESTED` (``"untested"``).

    The source is the target's own site set (two sites for a bilateral target), the
    same key the ledger files its blocks under; its status is `shown_status_key`, as the
    report's map and tables and the Outcomes panel show it.
    """
    keys = expand_sites(target.structure, target.level, target.side)
    try:
        source = ledger.source(*keys)
    except KeyError:
        return UNTESTED
    return shown_status_key(source)


def target_statuses(ledger: Ledger, case: Case) -> dict[str, str]:
    """``{target id: status}`` for every target of the case."""
    return {t.id: target_status(ledger, t) for t in case.targets}
