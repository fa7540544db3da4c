"""Patient-reported scores: Oswestry Disability Index (ODI) and PGIC.

ODI (shared/DOMAIN.md §3): 10 items scored 0–5; ODI % = 100 × sum / (5 × items answered).
Fairbank & Pynsent (Spine 2000;25:2940–2953) allow for unanswered sections by scoring over
the sections answered; this module accepts up to 2 unanswered items and refuses the score
(``percent=None`` with a reason) when fewer than 8 of 10 items are answered.

Bands: 0–20 minimal, 21–40 moderate, 41–60 severe, 61–80 crippled, 81–100 bed-bound. With
missing items the percentage can fall between two integer bands (e.g. 20.5 %); each band
includes its upper bound, so 20.0 is minimal and 20.5 is moderate.

A change of at least `MIC_ODI_POINTS` (10) points is flagged as the minimal important
change (≈ 10 points; Ostelo et al., Spine 2008;33:90–94, verify).

Every view prints an ODI figure through `odi_number`, always with one decimal (47.5 → 38.0
is "-9.5 points", below the MIC: the change printed is the one compared).

Decision support, not a medical device.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from blockplan.case.model import OdiEntry, PgicEntry

__all__ = [
    "MIC_ODI_POINTS",
    "MIN_ODI_ITEMS",
    "ODI_BANDS",
    "ODI_CITATION",
    "PGIC_LABELS",
    "OdiChange",
    "OdiCourseEntry",
    "OdiScore",
    "PgicScore",
    "odi_band",
    "odi_changes",
    "odi_course",
    "odi_number",
    "pgic_label",
    "score_odi",
    "score_pgic",
]

ODI_ITEMS = 10
MIN_ODI_ITEMS = 8
"""Fewest answered ODI items for a score (at most 2 missing)."""
MIC_ODI_POINTS = 10.0
"""Minimal important change of the ODI, in percentage points."""
ODI_CITATION = (
    "Fairbank JCT, Pynsent PB. The Oswestry Disability Index. Spine 2000;25:2940-2953 "
    "(missing sections: score over the sections answered)"
)
MIC_CITATION = "Ostelo RW, et al. Spine 2008;33:90-94 (≈ 10 points; verify)"

ODI_BANDS: tuple[tuple[float, str], ...] = (
    (20.0, "minimal"),
    (40.0, "moderate"),
    (60.0, "severe"),
    (80.0, "crippled"),
    (100.0, "bed-bound"),
)
"""Upper bound (inclusive, %) and name of each ODI band."""

PGIC_LABELS: dict[int, str] = {
    1: "very much improved",
    2: "much improved",
    3: "minimally improved",
    4: "no change",
    5: "minimally worse",
    6: "much worse",
    7: "very much worse",
}
"""Patient Global Impression of Change, 1–7."""


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OdiScore(_Result):
    """A scored ODI questionnaire.

    ``percent`` and ``band`` are None, with ``reason`` saying why, when too few items were
    answered.
    """

    recorded_on: dt.date | None = None
    percent: float | None
    answered: int
    band: str | None = None
    reason: str | None = None


class OdiChange(_Result):
    """Change of ODI between two dates (negative points = less disability).

    ``change_points`` is rounded to one decimal — the number printed — and ``meaningful``
    compares that rounded number with `MIC_ODI_POINTS`, so the words always agree with the
    figure (a change of −9.5 prints as "−9.5 points" and is below the MIC).
    """

    from_date: dt.date
    to_date: dt.date
    from_pct: float
    to_pct: float
    change_points: float
    meaningful: bool
    direction: Literal["improved", "worse", "unchanged"]
    text: str

    @property
    def short_text(self) -> str:
        """E.g. ``"-9.5 points, improved; below the 10-point MIC"`` (report, viewer)."""
        note = "meaningful (≥ 10 points)" if self.meaningful else "below the 10-point MIC"
        return f"{odi_number(self.change_points, sign=True)} points, {self.direction}; {note}"


def odi_number(value: float, *, sign: bool = False) -> str:
    """An ODI percentage or change as every view prints it (report, Outcomes panel, CLI):
    always one decimal, so figures beside each other read alike (``"47.5"``, ``"38.0"``,
    ``"-9.5"``; ``"+12.0"`` with ``sign``; ``"0.0"``, never ``"-0.0"``)."""
    text = f"{value:+.1f}" if sign else f"{value:.1f}"
    return "0.0" if text in ("+0.0", "-0.0") else text


class PgicScore(_Result):
    """A PGIC answer with its label."""

    recorded_on: dt.date
    score: int
    label: str


def odi_band(percent: float) -> str:
    """ODI band of a percentage 0–100 (each band includes its upper bound)."""
    if not 0.0 <= percent <= 100.0:
        raise ValueError(f"ODI percentage must be 0–100; got {percent}")
    for upper, name in ODI_BANDS:
        if percent <= upper:
            return name
    raise AssertionError("unreachable")  # pragma: no cover


def score_odi(entry: OdiEntry | Sequence[int | None]) -> OdiScore:
    """Score an ODI questionnaire.

    Parameters
    ----------
    entry : OdiEntry or sequence of int or None
        Ten items scored 0–5, None when unanswered.

    Returns
    -------
    OdiScore
        ``percent = 100 × sum / (5 × answered)``; refused (None, with a reason) when fewer
        than 8 items are answered.
    """
    recorded_on = entry.recorded_on if isinstance(entry, OdiEntry) else None
    items = tuple(entry.items if isinstance(entry, OdiEntry) else entry)
    if len(items) != ODI_ITEMS:
        raise ValueError(f"the ODI has {ODI_ITEMS} items; got {len(items)}")
    answered = [i for i in items if i is not None]
    for item in answered:
        if not 0 <= item <= 5:
            raise ValueError(f"ODI items are scored 0–5; got {item}")
    if len(answered) < MIN_ODI_ITEMS:
        return OdiScore(
            recorded_on=recorded_on,
            percent=None,
            answered=len(answered),
            reason=(
                f"only {len(answered)} of {ODI_ITEMS} items answered; at least {MIN_ODI_ITEMS} "
                "are needed to score the ODI over the items answered (Fairbank & Pynsent 2000)"
            ),
        )
    percent = 100.0 * sum(answered) / (5 * len(answered))
    return OdiScore(
        recorded_on=recorded_on, percent=percent, answered=len(answered), band=odi_band(percent)
    )


def odi_changes(entries: Iterable[OdiEntry]) -> tuple[OdiChange, ...]:
    """Changes between consecutive scorable ODI entries, then first → last when > 2.

    Entries that cannot be scored (fewer than 8 items) are skipped. ``meaningful`` flags a
    change of at least `MIC_ODI_POINTS` points.
    """
    scored = [
        (e.recorded_on, s.percent)
        for e in sorted(entries, key=lambda e: e.recorded_on)
        if (s := score_odi(e)).percent is not None
    ]
    steps = list(itertools.pairwise(scored))
    if len(scored) > 2:
        steps.append((scored[0], scored[-1]))
    changes: list[OdiChange] = []
    for (d0, p0), (d1, p1) in steps:
        assert p0 is not None and p1 is not None
        changes.append(_change(d0, p0, d1, p1))
    return tuple(changes)


class OdiCourseEntry(_Result):
    """One ODI questionnaire in the course of a case: its score and change from the first.

    ``change_from_first`` is None for the first scorable entry and for entries that cannot
    be scored.
    """

    recorded_on: dt.date
    score: OdiScore
    change_from_first: OdiChange | None = None


def _change(d0: dt.date, p0: float, d1: dt.date, p1: float) -> OdiChange:
    delta = round(p1 - p0, 1) + 0.0  # the printed figure decides (+ 0.0: no "-0.0")
    meaningful = abs(delta) >= MIC_ODI_POINTS
    direction: Literal["improved", "worse", "unchanged"] = (
        "improved" if delta < 0 else "worse" if delta > 0 else "unchanged"
    )
    note = "meaningful change (≥ 10 points)" if meaningful else "below the 10-point MIC"
    return OdiChange(
        from_date=d0,
        to_date=d1,
        from_pct=p0,
        to_pct=p1,
        change_points=delta,
        meaningful=meaningful,
        direction=direction,
        text=(
            f"ODI {odi_number(p0)} % → {odi_number(p1)} % "
            f"({odi_number(delta, sign=True)} points, {direction}; {note})"
        ),
    )


def odi_course(entries: Iterable[OdiEntry]) -> tuple[OdiCourseEntry, ...]:
    """Every ODI entry by date, scored, with its change from the first scorable entry.

    ``meaningful`` on a change flags at least `MIC_ODI_POINTS` (10) points.
    """
    course: list[OdiCourseEntry] = []
    first: tuple[dt.date, float] | None = None
    for entry in sorted(entries, key=lambda e: e.recorded_on):
        scored = score_odi(entry)
        change = None
        if scored.percent is not None:
            if first is None:
                first = (entry.recorded_on, scored.percent)
            else:
                change = _change(first[0], first[1], entry.recorded_on, scored.percent)
        course.append(
            OdiCourseEntry(recorded_on=entry.recorded_on, score=scored, change_from_first=change)
        )
    return tuple(course)


def pgic_label(score: int) -> str:
    """Label of a PGIC score 1–7 (1 very much improved … 7 very much worse)."""
    try:
        return PGIC_LABELS[score]
    except KeyError as err:
        raise ValueError(f"PGIC is scored 1–7; got {score}") from err


def score_pgic(entries: Iterable[PgicEntry]) -> tuple[PgicScore, ...]:
    """PGIC entries with their labels, by date."""
    return tuple(
        PgicScore(recorded_on=e.recorded_on, score=e.score, label=pgic_label(e.score))
        for e in sorted(entries, key=lambda e: e.recorded_on)
    )
