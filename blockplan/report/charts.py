"""Pain-diary charts: relief over time for one block, with the profile's threshold.

Relief (%) is plotted against time after the block on a square-root time axis (so the
first hour and the next day both stay readable). The right axis gives the same heights as
NRS (relief = 100 × (baseline − NRS) / baseline), so the chart reads either way. The run
at or above the threshold that starts at onset is shaded; the patient's own relief
estimate, where recorded, is drawn as open squares. Missing diary points are marked on
the time axis and break the line (they are never interpolated). When the baseline NRS is
0, relief is undefined and NRS is plotted instead.
"""

from __future__ import annotations

import math

from reportlab.graphics.shapes import Drawing, Group, Line, Path, PolyLine, Rect, String
from reportlab.lib.colors import Color, HexColor, white

from blockplan.report.findings import BlockFinding

__all__ = ["diary_chart"]

_INK = HexColor("#222222")
_GRID = HexColor("#DDDDDD")
_LINE = HexColor("#0072B2")
_PATIENT = HexColor("#6B6B6B")
_THRESHOLD = HexColor("#D55E00")
_RUN = HexColor("#FBE3CF")
_TICKS_MIN = (0, 15, 30, 60, 120, 240, 480, 1440, 2880, 4320, 10080)


def _tick_label(minutes: int) -> str:
    if minutes >= 1440 and minutes % 1440 == 0:
        return f"{minutes // 1440} d"
    if minutes >= 120 and minutes % 60 == 0:
        return f"{minutes // 60} h"
    return f"{minutes}"


def diary_chart(
    block: BlockFinding,
    *,
    width: float,
    height: float,
    font: str,
) -> Drawing:
    """Draw the diary chart of one block.

    Parameters
    ----------
    block
        The block's finding: curve, baseline, threshold, onset and duration.
    width, height
        Size of the drawing in points.
    font
        Registered reportlab font name.

    Returns
    -------
    Drawing
        The chart; an empty frame with "no diary recorded" when the block has no curve.
    """
    d = Drawing(width, height)
    d.initialFontName = font  # reportlab's default (Helvetica) is not embedded
    left, right, bottom, top = 30.0, 24.0, 22.0, 8.0
    pw, ph = width - left - right, height - bottom - top
    d.add(Rect(left, bottom, pw, ph, fillColor=white, strokeColor=_INK, strokeWidth=0.6))
    points = block.curve
    if not points:
        d.add(
            String(
                left + pw / 2,
                bottom + ph / 2,
                "no diary recorded",
                fontName=font,
                fontSize=8,
                fillColor=_PATIENT,
                textAnchor="middle",
            )
        )
        return d

    baseline = block.baseline_nrs
    use_relief = baseline not in (None, 0) and any(p.relief_pct is not None for p in points)
    t_max = max(max(p.minutes for p in points), 60)
    t_max = next((t for t in _TICKS_MIN if t >= t_max), t_max)

    def x_of(minutes: float) -> float:
        return left + pw * math.sqrt(max(minutes, 0) / t_max)

    if use_relief:
        values = [p.relief_pct for p in points]
        patient = [p.patient_relief_pct for p in points]
        finite = [v for v in values + patient if v is not None]
        y_lo = min(-25.0, math.floor(min(finite) / 25.0) * 25.0) if finite else -25.0
        y_lo = max(y_lo, -100.0)
        y_hi = 100.0
        y_ticks = [v for v in range(int(y_lo), 101, 25)]
        y_title = "relief %"
    else:
        values = [None if p.nrs is None else float(p.nrs) for p in points]
        patient = [None for _ in points]
        y_lo, y_hi = 0.0, 10.0
        y_ticks = [0, 2, 4, 6, 8, 10]
        y_title = "NRS"

    def y_of(value: float) -> float:
        return bottom + ph * (value - y_lo) / (y_hi - y_lo)

    # Grid and axes: one path per stroke style keeps the drawing light.
    grid: list[tuple[float, float, float, float]] = []
    ticks: list[tuple[float, float, float, float]] = []
    for tick in y_ticks:
        y = y_of(tick)
        grid.append((left, y, left + pw, y))
        d.add(
            String(
                left - 3,
                y - 2.5,
                f"{tick}",
                fontName=font,
                fontSize=6.5,
                fillColor=_INK,
                textAnchor="end",
            )
        )
    last_label_x = -1e9
    for t in _TICKS_MIN:
        if t > t_max:
            break
        x = x_of(t)
        ticks.append((x, bottom, x, bottom - 2.5))
        if x - last_label_x < 13:
            continue  # labels of early ticks would overlap
        last_label_x = x
        d.add(
            String(
                x,
                bottom - 10,
                _tick_label(t),
                fontName=font,
                fontSize=6.5,
                fillColor=_INK,
                textAnchor="middle",
            )
        )
    d.add(
        String(
            left + pw / 2,
            1.5,
            "time after block (min, square-root scale)",
            fontName=font,
            fontSize=6.5,
            fillColor=_PATIENT,
            textAnchor="middle",
        )
    )
    title = String(
        9,
        bottom + ph / 2,
        y_title,
        fontName=font,
        fontSize=6.5,
        fillColor=_PATIENT,
        textAnchor="middle",
    )
    d.add(_rotated(title, 9, bottom + ph / 2))

    if use_relief and baseline:
        # Right axis: the NRS that each relief height means.
        for n in range(0, 11):
            relief = 100.0 * (baseline - n) / baseline
            if y_lo - 1e-9 <= relief <= y_hi + 1e-9:
                y = y_of(relief)
                ticks.append((left + pw, y, left + pw + 2.5, y))
                if n % 2 == 0 or baseline <= 5:
                    d.add(
                        String(
                            left + pw + 4,
                            y - 2.5,
                            f"{n}",
                            fontName=font,
                            fontSize=6.5,
                            fillColor=_INK,
                        )
                    )
        d.add(
            _rotated(
                String(
                    0,
                    0,
                    "NRS",
                    fontName=font,
                    fontSize=6.5,
                    fillColor=_PATIENT,
                    textAnchor="middle",
                ),
                width - 4,
                bottom + ph / 2,
            )
        )

        # The run at or above the threshold that starts at onset.
        if block.onset_min is not None and block.duration_min is not None:
            x0, x1 = x_of(block.onset_min), x_of(block.duration_min)
            d.add(Rect(x0, bottom, max(x1 - x0, 1.5), ph, fillColor=_RUN, strokeColor=None))
        ty = y_of(block.threshold_pct)
        th = Line(left, ty, left + pw, ty, strokeColor=_THRESHOLD, strokeWidth=0.9)
        th.strokeDashArray = [3, 2]
        d.add(th)
        d.add(
            String(
                left + 3,
                ty + 2,
                f"threshold {block.threshold_pct:g} %",
                fontName=font,
                fontSize=6.5,
                fillColor=_THRESHOLD,
            )
        )

    d.add(_segments(grid, _GRID, 0.4))
    d.add(_segments(ticks, _INK, 0.5))
    if block.verdict == "not diagnostic":
        d.add(
            String(
                left + pw - 3,
                bottom + ph - 9,
                "not diagnostic (see flags)",
                fontName=font,
                fontSize=6.5,
                fillColor=_THRESHOLD,
                textAnchor="end",
            )
        )

    # Patient's own estimate: open squares.
    own = [(x_of(p.minutes), y_of(v)) for p, v in zip(points, patient) if v is not None]
    if own:
        d.add(_markers(own, 2.0, fill=white, stroke=_PATIENT))

    # Computed relief (or NRS): segments between consecutive recorded points only.
    run: list[float] = []
    for p, v in zip(points, values):
        if v is None:
            if len(run) >= 4:
                d.add(PolyLine(run, strokeColor=_LINE, strokeWidth=1.2))
            run = []
            d.add(
                String(
                    x_of(p.minutes),
                    bottom + 2,
                    "×",
                    fontName=font,
                    fontSize=7,
                    fillColor=_THRESHOLD,
                    textAnchor="middle",
                )
            )
            continue
        run.extend([x_of(p.minutes), y_of(v)])
    if len(run) >= 4:
        d.add(PolyLine(run, strokeColor=_LINE, strokeWidth=1.2))
    recorded = [(x_of(p.minutes), y_of(v)) for p, v in zip(points, values) if v is not None]
    if recorded:
        d.add(_markers(recorded, 1.8, fill=_LINE, stroke=white))
    return d


def _segments(
    segments: list[tuple[float, float, float, float]], colour: Color, width: float
) -> Path:
    """One path of straight segments (drawn as a single stroke)."""
    path = Path(strokeColor=colour, strokeWidth=width, fillColor=None)
    for x0, y0, x1, y1 in segments:
        path.moveTo(x0, y0)
        path.lineTo(x1, y1)
    return path


def _markers(points: list[tuple[float, float]], r: float, *, fill: Color, stroke: Color) -> Path:
    """Square markers of half-size ``r`` at ``points``, as one path."""
    path = Path(strokeColor=stroke, strokeWidth=0.5, fillColor=fill)
    for x, y in points:
        path.moveTo(x - r, y - r)
        path.lineTo(x + r, y - r)
        path.lineTo(x + r, y + r)
        path.lineTo(x - r, y + r)
        path.closePath()
    return path


def _rotated(s: String, x: float, y: float) -> Group:
    """``s`` turned 90° anticlockwise, centred on the vertical line through ``x``."""
    s.x, s.y = 0, 0
    g = Group(s)
    g.transform = (0, 1, -1, 0, x + 2.5, y)
    return g
