"""Pain-diary arithmetic: relief %, onset, duration and sustained relief.

Implements shared/DOMAIN.md §3 exactly:

- relief % at time *t* = 100 × (NRS_baseline − NRS_t) / NRS_baseline; undefined (``None``)
  when the baseline is 0; negative when pain got worse;
- for a threshold *T*: **onset** is the first diary time with relief ≥ *T*; **duration** is
  the last diary time of the run of consecutive diary points at or above *T* that starts at
  onset (minutes from the block); the block is **sustained** at *T* when that run spans at
  least ``min_sustained_min`` minutes (duration − onset ≥ 30 by default);
- no interpolation between diary points; peak relief is the maximum over the diary.

Diary points and missing points
-------------------------------
The points of a diary are the union of the profile's scheduled times
(``Profile.diary_times_min``) and the times the patient actually recorded. A scheduled time
without an entry, or an entry whose NRS is empty, is a **missing point**. A missing point is
not evidence of relief, so it **ends the run** (it does not bridge two recorded points).
Only the run that starts at onset counts: relief that dips below *T* and recovers later
does not extend the run (the run ends at the dip); the later recovery is reported, not
counted.

All times are minutes after the block; relief is in percent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from blockplan.case.model import PainDiary

__all__ = [
    "DEFAULT_DIARY_TIMES_MIN",
    "RELIEF_TOLERANCE_PCT",
    "ReliefPoint",
    "ReliefRun",
    "RunEnd",
    "peak_relief",
    "relief_curve",
    "relief_pct",
    "relief_run",
]

DEFAULT_DIARY_TIMES_MIN: tuple[int, ...] = (0, 15, 30, 60, 120, 180, 240, 300, 360, 480, 1440)
"""Default diary schedule (minutes after the block), shared/DOMAIN.md §3."""

RELIEF_TOLERANCE_PCT = 1e-9
"""Tolerance for comparing a computed relief % with a threshold (floating point only)."""


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ReliefPoint(_Result):
    """One diary point: NRS and relief at ``minutes`` after the block.

    Attributes
    ----------
    minutes : int
        Minutes after the block.
    nrs : int or None
        Pain 0–10; None when the point is missing.
    relief_pct : float or None
        Relief in % of the baseline; None when the NRS is missing or the baseline is 0.
    patient_relief_pct : float or None
        The patient's own estimate of relief (%), shown beside the computed relief; it is
        not used for adjudication.
    scheduled : bool
        The time is on the profile's diary schedule.
    recorded : bool
        The patient recorded an entry at this time (possibly without an NRS).
    """

    minutes: int
    nrs: int | None
    relief_pct: float | None
    patient_relief_pct: float | None = None
    scheduled: bool = True
    recorded: bool = True

    @property
    def missing(self) -> bool:
        """True when no relief is known at this point."""
        return self.relief_pct is None


class RunEnd(StrEnum):
    """Why the run of relief at or above the threshold ended."""

    BELOW_THRESHOLD = "below_threshold"
    MISSING_POINT = "missing_point"
    END_OF_DIARY = "end_of_diary"


class ReliefRun(_Result):
    """The run of diary points at or above a threshold that starts at onset.

    Attributes
    ----------
    threshold_pct : float
        The threshold *T* (%).
    min_sustained_min : int
        Minimum span (minutes) for the run to count as sustained.
    onset_min : int or None
        First diary time with relief ≥ *T*; None when relief never reached *T*.
    duration_min : int or None
        Last diary time of the run that starts at onset (minutes from the block).
    sustained : bool
        ``duration_min − onset_min ≥ min_sustained_min``.
    ended_by : RunEnd or None
        What ended the run (None when relief never reached *T*).
    ended_at_min : int or None
        The diary time that ended the run (None at the end of the diary).
    recovered_at_min : int or None
        First diary time after the run at which relief was again ≥ *T* (not counted).
    """

    threshold_pct: float
    min_sustained_min: int
    onset_min: int | None
    duration_min: int | None
    sustained: bool
    ended_by: RunEnd | None = None
    ended_at_min: int | None = None
    recovered_at_min: int | None = None

    @property
    def reached(self) -> bool:
        """True when relief reached the threshold at least once."""
        return self.onset_min is not None

    @property
    def span_min(self) -> int | None:
        """``duration_min − onset_min`` (minutes), None when the threshold was never reached."""
        if self.onset_min is None or self.duration_min is None:
            return None
        return self.duration_min - self.onset_min


def relief_pct(baseline_nrs: int, nrs: int | None) -> float | None:
    """Relief (%) of ``nrs`` against ``baseline_nrs``.

    Parameters
    ----------
    baseline_nrs : int
        Pain before the block, NRS 0–10.
    nrs : int or None
        Pain at a diary time, NRS 0–10, or None when not recorded.

    Returns
    -------
    float or None
        ``100 × (baseline − nrs) / baseline``; negative when pain got worse; None when the
        NRS is missing or the baseline is 0 (relief is undefined without index pain).
    """
    if nrs is None or baseline_nrs == 0:
        return None
    return 100.0 * (baseline_nrs - nrs) / baseline_nrs


def relief_curve(
    diary: PainDiary, schedule_min: Iterable[int] = DEFAULT_DIARY_TIMES_MIN
) -> tuple[ReliefPoint, ...]:
    """Relief at every diary point: the scheduled times and the recorded times, in order.

    Parameters
    ----------
    diary : PainDiary
        The block's diary.
    schedule_min : iterable of int
        The profile's diary schedule (minutes after the block). A scheduled time without an
        entry becomes a missing point.

    Returns
    -------
    tuple of ReliefPoint
        Sorted by time; no interpolation.
    """
    scheduled = set(schedule_min)
    by_time = {e.minutes: e for e in diary.entries}
    points: list[ReliefPoint] = []
    for minutes in sorted(scheduled | set(by_time)):
        entry = by_time.get(minutes)
        if entry is None:
            points.append(
                ReliefPoint(
                    minutes=minutes, nrs=None, relief_pct=None, scheduled=True, recorded=False
                )
            )
            continue
        points.append(
            ReliefPoint(
                minutes=minutes,
                nrs=entry.nrs,
                relief_pct=relief_pct(diary.baseline_nrs, entry.nrs),
                patient_relief_pct=entry.patient_relief_pct,
                scheduled=minutes in scheduled,
                recorded=True,
            )
        )
    return tuple(points)


def _at_or_above(point: ReliefPoint, threshold_pct: float) -> bool:
    return point.relief_pct is not None and (
        point.relief_pct >= threshold_pct - RELIEF_TOLERANCE_PCT
    )


def relief_run(
    curve: Sequence[ReliefPoint], threshold_pct: float, min_sustained_min: int = 30
) -> ReliefRun:
    """Onset, duration and sustained relief at ``threshold_pct`` (DOMAIN §3).

    Parameters
    ----------
    curve : sequence of ReliefPoint
        Diary points sorted by time (see `relief_curve`).
    threshold_pct : float
        Threshold *T* (%).
    min_sustained_min : int
        Minimum ``duration − onset`` (minutes) for sustained relief.

    Returns
    -------
    ReliefRun
        A missing point ends the run; only the run that starts at onset counts.
    """
    points = sorted(curve, key=lambda p: p.minutes)
    start = next((n for n, p in enumerate(points) if _at_or_above(p, threshold_pct)), None)
    if start is None:
        return ReliefRun(
            threshold_pct=threshold_pct,
            min_sustained_min=min_sustained_min,
            onset_min=None,
            duration_min=None,
            sustained=False,
        )
    last = start
    ended_by = RunEnd.END_OF_DIARY
    ended_at: int | None = None
    for n in range(start + 1, len(points)):
        point = points[n]
        if _at_or_above(point, threshold_pct):
            last = n
            continue
        ended_by = RunEnd.MISSING_POINT if point.missing else RunEnd.BELOW_THRESHOLD
        ended_at = point.minutes
        break
    recovered = next(
        (p.minutes for p in points[last + 1 :] if _at_or_above(p, threshold_pct)), None
    )
    onset, duration = points[start].minutes, points[last].minutes
    return ReliefRun(
        threshold_pct=threshold_pct,
        min_sustained_min=min_sustained_min,
        onset_min=onset,
        duration_min=duration,
        sustained=duration - onset >= min_sustained_min,
        ended_by=ended_by,
        ended_at_min=ended_at,
        recovered_at_min=recovered,
    )


def peak_relief(curve: Iterable[ReliefPoint]) -> float | None:
    """Maximum relief (%) over the diary, None when no relief is defined."""
    values = [p.relief_pct for p in curve if p.relief_pct is not None]
    return max(values) if values else None
