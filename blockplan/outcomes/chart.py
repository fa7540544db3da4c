"""The diary chart of one block, defined once: what is plotted, where, on which axes.

`diary_chart_spec` turns a block's diary into a `DiaryChartSpec` in data units (minutes,
relief % or NRS). The report draws it with reportlab (`blockplan.report.charts`) and the
Outcomes widget with matplotlib; neither decides what the chart shows.

The chart (shared/DOMAIN.md §3): relief (%) against time after the block on a
square-root time axis (`DiaryChartSpec.time_axis`), so the first hour and the next day
both stay readable; the profile's threshold as a line; the run at or above the threshold
that starts at onset shaded from onset to duration; the patient's own relief estimate as
open squares; missing diary points marked by a dotted vertical line and breaking the line
(never interpolated, never drawn where a value would be read); a right axis giving the NRS
that each relief height means. When the baseline NRS is 0, relief is undefined and NRS is
plotted instead (no threshold, no run).

This module draws nothing and imports no plotting library.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, Protocol

__all__ = [
    "DIARY_CHART_COLOURS",
    "NO_DIARY",
    "TIME_TICKS_MIN",
    "AxisTick",
    "DiaryBlock",
    "DiaryChartSpec",
    "DiaryPoint",
    "diary_chart_spec",
]

TIME_TICKS_MIN: tuple[int, ...] = (0, 15, 30, 60, 120, 240, 480, 1440, 2880, 4320, 10080)
"""Candidate ticks of the time axis (minutes); the axis ends at the first one that holds
every diary point (at least 60 min)."""

NO_DIARY = "no diary recorded"
"""What the chart of a block without diary points says."""

DIARY_CHART_COLOURS: Mapping[str, str] = MappingProxyType(
    {
        "ink": "#222222",
        "grid": "#DDDDDD",
        "muted": "#6B6B6B",
        "line": "#0072B2",
        "patient": "#6B6B6B",
        "threshold": "#D55E00",
        "missing": "#D55E00",
        "run": "#FBE3CF",
    }
)
"""Colours (hex sRGB) of the chart's parts: axes and text (``ink``, ``grid``, ``muted``),
the computed relief or NRS (``line``), the patient's own estimate (``patient``), the
threshold, missing-point marks and the shaded run."""


class DiaryPoint(Protocol):
    """One diary point as the chart reads it (a `ReliefPoint` or a report `CurvePoint`)."""

    @property
    def minutes(self) -> int: ...
    @property
    def nrs(self) -> int | None: ...
    @property
    def relief_pct(self) -> float | None: ...
    @property
    def patient_relief_pct(self) -> float | None: ...


class DiaryBlock(Protocol):
    """A block as the chart reads it (a `BlockResult` or a report `BlockFinding`)."""

    @property
    def curve(self) -> Sequence[DiaryPoint]: ...
    @property
    def baseline_nrs(self) -> int | None: ...
    @property
    def onset_min(self) -> int | None: ...
    @property
    def duration_min(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class AxisTick:
    """A tick at ``value`` (data units of its axis); ``label`` is empty for a bare tick."""

    value: float
    label: str = ""


Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class DiaryChartSpec:
    """Everything a diary chart shows, in data units (x in minutes after the block).

    Attributes
    ----------
    quantity : {"relief", "nrs"} or None
        What the y axis shows; None when the block has no diary (`message` says so).
    message : str
        Text shown in place of the plot (`NO_DIARY`), empty otherwise.
    time_max_min : int
        The time axis runs from 0 to this many minutes.
    time_ticks : tuple of AxisTick
        Ticks of the time axis (minutes) with their labels ("15", "4 h", "1 d").
    time_title : str
    y_limits : tuple of float
        ``(low, high)`` of the y axis (relief % or NRS).
    y_ticks : tuple of AxisTick
    y_title : str
    nrs_ticks : tuple of AxisTick
        Right axis of a relief chart: at the relief height of each NRS 0–10 in range,
        labelled with the NRS (every other one unless the baseline is ≤ 5).
    nrs_title : str
    segments : tuple of tuple of (x, y)
        The computed relief (or NRS) as lines between consecutive recorded points; a
        missing point ends a segment. Lines only: a lone point is in `points` only.
    points : tuple of (x, y)
        Every recorded point (filled markers).
    patient_points : tuple of (x, y)
        The patient's own relief estimate (open squares); relief charts only.
    missing_min : tuple of int
        Diary times without an NRS, marked on the time axis.
    threshold_pct : float or None
        The profile's threshold (relief charts only), with `threshold_label`.
    threshold_label : str
    shaded_run_min : tuple of int or None
        ``(onset, duration)`` of the run at or above the threshold that starts at onset.
    """

    quantity: Literal["relief", "nrs"] | None
    message: str = ""
    time_max_min: int = 60
    time_ticks: tuple[AxisTick, ...] = ()
    time_title: str = "time after block (min, square-root scale)"
    y_limits: tuple[float, float] = (0.0, 10.0)
    y_ticks: tuple[AxisTick, ...] = ()
    y_title: str = ""
    nrs_ticks: tuple[AxisTick, ...] = ()
    nrs_title: str = "NRS"
    segments: tuple[tuple[Point, ...], ...] = ()
    points: tuple[Point, ...] = ()
    patient_points: tuple[Point, ...] = ()
    missing_min: tuple[int, ...] = ()
    threshold_pct: float | None = None
    threshold_label: str = ""
    shaded_run_min: tuple[int, int] | None = None

    def time_axis(self, minutes: float) -> float:
        """Position of ``minutes`` on the square-root time axis: 0 at the block, 1 at
        `time_max_min` (negative times sit at 0)."""
        return math.sqrt(max(minutes, 0) / self.time_max_min)

    def time_labels(self, min_gap: float) -> tuple[AxisTick, ...]:
        """`time_ticks` with the labels of ticks closer than ``min_gap`` (in `time_axis`
        units) to the previous labelled one left empty, so early labels do not overlap."""
        ticks: list[AxisTick] = []
        last = -math.inf
        for tick in self.time_ticks:
            x = self.time_axis(tick.value)
            if x - last < min_gap:
                ticks.append(AxisTick(tick.value))
                continue
            last = x
            ticks.append(tick)
        return tuple(ticks)


def _time_label(minutes: int) -> str:
    if minutes >= 1440 and minutes % 1440 == 0:
        return f"{minutes // 1440} d"
    if minutes >= 120 and minutes % 60 == 0:
        return f"{minutes // 60} h"
    return f"{minutes}"


def _time_axis(curve: Sequence[DiaryPoint]) -> tuple[int, tuple[AxisTick, ...]]:
    """End of the time axis and its ticks: the first candidate tick holding every point."""
    last = max(max(p.minutes for p in curve), 60)
    t_max = next((t for t in TIME_TICKS_MIN if t >= last), last)
    return t_max, tuple(AxisTick(t, _time_label(t)) for t in TIME_TICKS_MIN if t <= t_max)


def _relief_axis(curve: Sequence[DiaryPoint]) -> tuple[tuple[float, float], tuple[AxisTick, ...]]:
    """Relief from 100 % down to the lowest value, in steps of 25 % (−25 … −100 %)."""
    finite = [v for p in curve for v in (p.relief_pct, p.patient_relief_pct) if v is not None]
    low = min(-25.0, math.floor(min(finite) / 25.0) * 25.0) if finite else -25.0
    low = max(low, -100.0)
    return (low, 100.0), tuple(AxisTick(v, f"{v}") for v in range(int(low), 101, 25))


def _nrs_ticks(baseline: int, limits: tuple[float, float]) -> tuple[AxisTick, ...]:
    """The relief height of each NRS 0–10 inside ``limits``, labelled with the NRS."""
    ticks: list[AxisTick] = []
    for n in range(0, 11):
        relief = 100.0 * (baseline - n) / baseline
        if limits[0] - 1e-9 <= relief <= limits[1] + 1e-9:
            labelled = n % 2 == 0 or baseline <= 5
            ticks.append(AxisTick(relief, f"{n}" if labelled else ""))
    return tuple(ticks)


def _segments(points: Sequence[tuple[int, float | None]]) -> tuple[tuple[Point, ...], ...]:
    """Lines between consecutive recorded points; a missing point ends a line."""
    lines: list[tuple[Point, ...]] = []
    run: list[Point] = []
    for minutes, value in (*points, (0, None)):
        if value is None:
            if len(run) >= 2:
                lines.append(tuple(run))
            run = []
            continue
        run.append((minutes, value))
    return tuple(lines)


def diary_chart_spec(block: DiaryBlock, threshold_pct: float) -> DiaryChartSpec:
    """The diary chart of one block.

    Parameters
    ----------
    block : DiaryBlock
        The block: its diary curve (sorted by time), baseline NRS, and the onset and
        duration (minutes) of its run at the threshold.
    threshold_pct : float
        The profile's relief threshold (%).

    Returns
    -------
    DiaryChartSpec
        A relief chart; an NRS chart when relief is undefined (baseline NRS 0 or none
        recorded); or an empty one saying `NO_DIARY` when the block has no diary points.
    """
    curve = block.curve
    if not curve:
        return DiaryChartSpec(quantity=None, message=NO_DIARY)
    t_max, time_ticks = _time_axis(curve)
    baseline = block.baseline_nrs
    if not baseline or all(p.relief_pct is None for p in curve):
        values = [(p.minutes, None if p.nrs is None else float(p.nrs)) for p in curve]
        return DiaryChartSpec(
            quantity="nrs",
            time_max_min=t_max,
            time_ticks=time_ticks,
            y_limits=(0.0, 10.0),
            y_ticks=tuple(AxisTick(v, f"{v}") for v in (0, 2, 4, 6, 8, 10)),
            y_title="NRS",
            segments=_segments(values),
            points=tuple((m, v) for m, v in values if v is not None),
            missing_min=tuple(m for m, v in values if v is None),
        )
    limits, y_ticks = _relief_axis(curve)
    relief = [(p.minutes, p.relief_pct) for p in curve]
    onset, duration = block.onset_min, block.duration_min
    return DiaryChartSpec(
        quantity="relief",
        time_max_min=t_max,
        time_ticks=time_ticks,
        y_limits=limits,
        y_ticks=y_ticks,
        y_title="relief %",
        nrs_ticks=_nrs_ticks(baseline, limits),
        segments=_segments(relief),
        points=tuple((m, v) for m, v in relief if v is not None),
        patient_points=tuple(
            (p.minutes, p.patient_relief_pct) for p in curve if p.patient_relief_pct is not None
        ),
        missing_min=tuple(m for m, v in relief if v is None),
        threshold_pct=threshold_pct,
        threshold_label=f"threshold {threshold_pct:g} %",
        shaded_run_min=None if onset is None or duration is None else (onset, duration),
    )
