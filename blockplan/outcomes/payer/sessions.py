"""Sessions and spinal regions as payer rules count them.

A payer counts *sessions* — everything done on one date of service — per spinal
*region*. The case model (schema 3) records procedures, not sessions, so
`group_sessions` is the one place that says what a session is; when the case model gets
session records, only it changes.

Decision support, not a coverage decision.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from blockplan.case.model import Case, Procedure
from blockplan.case.vocab import BlockType

__all__ = ["Session", "group_sessions", "months_before", "spinal_region"]


@dataclass(frozen=True, slots=True)
class Session:
    """The procedures performed on one date (the local date of ``performed_at``)."""

    date: dt.date
    procedures: tuple[Procedure, ...]

    def of_types(self, block_types: tuple[BlockType, ...]) -> tuple[Procedure, ...]:
        """The session's procedures of these block types."""
        return tuple(p for p in self.procedures if p.block_type in block_types)


def group_sessions(case: Case) -> tuple[Session, ...]:
    """The case's sessions, oldest first: the procedures performed on one date.

    The date is the local calendar date of ``performed_at`` (in the time zone it was
    recorded with), as for "separate days" in the adjudication. This is the one function
    that defines a session; it will read the case's session records once the case model
    holds them.
    """
    by_date: dict[dt.date, list[Procedure]] = defaultdict(list)
    for proc in sorted(case.procedures, key=lambda p: p.performed_at):
        by_date[proc.performed_at.date()].append(proc)
    return tuple(Session(date=d, procedures=tuple(ps)) for d, ps in sorted(by_date.items()))


def spinal_region(level: str | None, regions: Mapping[str, tuple[str, ...]]) -> str | None:
    """The region of a vertebra or segment (a segment: of its lower vertebra), or None.

    ``regions`` maps a region name to vertebra letters, e.g.
    ``{"cervical/thoracic": ("C", "T"), "lumbar/sacral": ("L", "S")}``: ``"T12-L1"`` →
    lumbar/sacral, ``"L5-S1"`` → lumbar/sacral, ``"C7-T1"`` → cervical/thoracic.
    """
    if not level:
        return None
    lower = level.split("-")[-1]
    return next((name for name, letters in regions.items() if lower[:1] in letters), None)


def months_before(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` calendar months earlier (the month's last day if shorter)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has at least 28 days")
