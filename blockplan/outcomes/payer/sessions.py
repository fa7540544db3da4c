"""Sessions and spinal regions as payer rules count them.

A payer counts *sessions* per spinal *region*, and a payer's session is a date of service:
"all procedures performed on a single calendar day" (the wording of the MAC pain
management LCDs, verify per LCD). `group_sessions` builds them from the case's session
records (`Case.sessions`, the one definition of a sitting): the sittings of one local date
make one payer session, and a sitting never spans two dates.

Decision support, not a coverage decision.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from blockplan.case.model import BlockSession, Case, Procedure
from blockplan.case.vocab import BlockType

__all__ = ["Session", "group_sessions", "months_before", "spinal_region"]


@dataclass(frozen=True, slots=True)
class Session:
    """A date of service: the recorded sittings of one local date and their procedures."""

    date: dt.date
    procedures: tuple[Procedure, ...]
    sittings: tuple[str, ...] = ()
    """The ``session_id`` of each sitting of that date, oldest first."""

    def of_types(self, block_types: tuple[BlockType, ...]) -> tuple[Procedure, ...]:
        """The session's procedures of these block types."""
        return tuple(p for p in self.procedures if p.block_type in block_types)


def group_sessions(case: Case) -> tuple[Session, ...]:
    """The case's payer sessions, oldest first: its recorded sittings (`Case.sessions`)
    grouped by local date (the date of ``performed_at`` in the time zone it was recorded
    with, as for "separate days" in the adjudication)."""
    by_date: dict[dt.date, list[BlockSession]] = defaultdict(list)
    for sitting in case.sessions:
        by_date[sitting.date].append(sitting)
    return tuple(
        Session(
            date=day,
            procedures=tuple(p for s in sittings for p in s.procedures),
            sittings=tuple(s.session_id for s in sittings),
        )
        for day, sittings in sorted(by_date.items())
    )


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
