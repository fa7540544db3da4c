"""Pain-diary charts: the core's diary chart of one block, drawn with reportlab.

What the chart shows is defined once, in `blockplan.outcomes.chart.diary_chart_spec`
(relief against time on a square-root axis, threshold line, shaded run from onset,
patient's own relief as open squares, missing points marked and breaking the line, NRS
when the baseline is 0); the Outcomes widget draws the same spec with matplotlib. This
module only lays it out: frame, grid, labels, and a "not diagnostic" note from the
block's verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from reportlab.graphics.shapes import Drawing, Group, Line, Path, PolyLine, Rect, String
from reportlab.lib.colors import Color, HexColor, white

from blockplan.outcomes.chart import DIARY_CHART_COLOURS, DiaryChartSpec, diary_chart_spec
from blockplan.report.findings import BlockFinding

__all__ = ["diary_chart"]

_INK = HexColor(DIARY_CHART_COLOURS["ink"])
_GRID = HexColor(DIARY_CHART_COLOURS["grid"])
_MUTED = HexColor(DIARY_CHART_COLOURS["muted"])
_LINE = HexColor(DIARY_CHART_COLOURS["line"])
_PATIENT = HexColor(DIARY_CHART_COLOURS["patient"])
_THRESHOLD = HexColor(DIARY_CHART_COLOURS["threshold"])
_MISSING = HexColor(DIARY_CHART_COLOURS["missing"])
_RUN = HexColor(DIARY_CHART_COLOURS["run"])
_LABEL_GAP_PT = 13.0  # closer time-axis labels would overlap
_FONT_PT = 6.5
_LABEL_CLEAR_PT = 1.5
"""Room kept between the threshold's label and the curve or a point (pt)."""


@dataclass(frozen=True, slots=True)
class _Frame:
    """The plot area of a chart (pt) and the spec's data mapped into it."""

    spec: DiaryChartSpec
    left: float
    bottom: float
    width: float
    height: float
    font: str

    def x(self, minutes: float) -> float:
        return self.left + self.width * self.spec.time_axis(minutes)

    def y(self, value: float) -> float:
        low, high = self.spec.y_limits
        return self.bottom + self.height * (value - low) / (high - low)

    def text(self, x: float, y: float, text: str, colour: Color, anchor: str = "start") -> String:
        return String(
            x, y, text, fontName=self.font, fontSize=_FONT_PT, fillColor=colour, textAnchor=anchor
        )

    def drawn_points(self) -> list[tuple[float, float]]:
        """Where the curve and the points are drawn (pt): each point, and the curve's
        segments sampled every ≈ 1 pt."""
        spec = self.spec
        out = [(self.x(m), self.y(v)) for m, v in (*spec.points, *spec.patient_points)]
        for segment in spec.segments:
            xy = [(self.x(m), self.y(v)) for m, v in segment]
            for (x0, y0), (x1, y1) in pairwise(xy):
                n = max(1, int(max(abs(x1 - x0), abs(y1 - y0))))
                out += [(x0 + (x1 - x0) * k / n, y0 + (y1 - y0) * k / n) for k in range(n + 1)]
        return out


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
    spec = diary_chart_spec(block, block.threshold_pct)
    f = _Frame(spec, left, bottom, width - left - right, height - bottom - top, font)
    d.add(Rect(left, bottom, f.width, f.height, fillColor=white, strokeColor=_INK, strokeWidth=0.6))
    if spec.quantity is None:
        message = f.text(
            left + f.width / 2, bottom + f.height / 2, spec.message, _PATIENT, "middle"
        )
        message.fontSize = 8
        d.add(message)
        return d
    grid, ticks = _axes(d, f)
    label = None
    if spec.quantity == "relief":
        ticks += _nrs_axis(d, f, width)
        label = _run_and_threshold(d, f)
    d.add(_segments(grid, _GRID, 0.4))
    d.add(_segments(ticks, _INK, 0.5))
    if label is not None:  # over the grid: a grid line had struck it through
        d.add(label)
    note = _CHART_NOTES.get(block.verdict)
    if note is not None:
        d.add(f.text(left + f.width - 3, bottom + f.height - 9, note, _THRESHOLD, "end"))
    _data(d, f)
    return d


Segment = tuple[float, float, float, float]

_CHART_NOTES = {
    "not diagnostic": "not diagnostic (see flags)",
    "pending": "pending: diary incomplete",
    "needs review": "needs review (see reasons)",
}
"""A note in the chart's corner for verdicts whose curve must not be read as a result."""


def _axes(d: Drawing, f: _Frame) -> tuple[list[Segment], list[Segment]]:
    """Y labels and time labels with their titles; the grid lines and tick marks."""
    spec = f.spec
    grid: list[Segment] = []
    ticks: list[Segment] = []
    for tick in spec.y_ticks:
        y = f.y(tick.value)
        grid.append((f.left, y, f.left + f.width, y))
        d.add(f.text(f.left - 3, y - 2.5, tick.label, _INK, "end"))
    for tick in spec.time_labels(_LABEL_GAP_PT / f.width):
        x = f.x(tick.value)
        ticks.append((x, f.bottom, x, f.bottom - 2.5))
        if tick.label:
            d.add(f.text(x, f.bottom - 10, tick.label, _INK, "middle"))
    d.add(f.text(f.left + f.width / 2, 1.5, spec.time_title, _PATIENT, "middle"))
    middle = f.bottom + f.height / 2
    d.add(_rotated(f.text(9, middle, spec.y_title, _PATIENT, "middle"), 9, middle))
    return grid, ticks


def _nrs_axis(d: Drawing, f: _Frame, width: float) -> list[Segment]:
    """Right axis of a relief chart: the NRS that each relief height means."""
    ticks: list[Segment] = []
    edge = f.left + f.width
    for tick in f.spec.nrs_ticks:
        y = f.y(tick.value)
        ticks.append((edge, y, edge + 2.5, y))
        if tick.label:
            d.add(f.text(edge + 4, y - 2.5, tick.label, _INK))
    title = f.text(0, 0, f.spec.nrs_title, _PATIENT, "middle")
    d.add(_rotated(title, width - 4, f.bottom + f.height / 2))
    return ticks


def _run_and_threshold(d: Drawing, f: _Frame) -> String | None:
    """The shaded run at or above the threshold from onset, and the threshold line; its
    label is returned, to be drawn over the grid."""
    spec = f.spec
    if spec.shaded_run_min is not None:
        x0, x1 = (f.x(t) for t in spec.shaded_run_min)
        d.add(Rect(x0, f.bottom, max(x1 - x0, 1.5), f.height, fillColor=_RUN, strokeColor=None))
    if spec.threshold_pct is None:
        return None
    ty = f.y(spec.threshold_pct)
    line = Line(f.left, ty, f.left + f.width, ty, strokeColor=_THRESHOLD, strokeWidth=0.9)
    line.strokeDashArray = [3, 2]
    d.add(line)
    return f.text(*_threshold_label_place(f, ty), spec.threshold_label, _THRESHOLD)


def _threshold_label_place(f: _Frame, ty: float) -> tuple[float, float]:
    """Where the threshold's label goes: above its line at the left, else at the right,
    else below it at the left or the right — the first place the curve and its points
    leave free.

    Always above at the left, it had been crossed by the curve of every block relieved
    early ("threshold 80 %" under the line from 87 % to 100 %, report page "Pain diaries").
    """
    from reportlab.pdfbase.pdfmetrics import stringWidth

    label = f.spec.threshold_label
    w, h = stringWidth(label, f.font, _FONT_PT), 0.75 * _FONT_PT  # digits' height
    drawn = f.drawn_points()
    left, right = f.left + 3, f.left + f.width - 3 - w
    places = [(left, ty + 2), (right, ty + 2), (left, ty - 2 - h), (right, ty - 2 - h)]
    m = _LABEL_CLEAR_PT + 2.0  # a point's marker reaches 2 pt around it
    for x, y in places:
        if y < f.bottom or y + h > f.bottom + f.height:
            continue
        if not any(x - m <= px <= x + w + m and y - m <= py <= y + h + m for px, py in drawn):
            return x, y
    return places[0]


def _data(d: Drawing, f: _Frame) -> None:
    """Patient's estimate (open squares), the lines broken at missing points (a dotted
    vertical line each), and the recorded points."""
    spec = f.spec
    own = [(f.x(m), f.y(v)) for m, v in spec.patient_points]
    if own:
        d.add(_markers(own, 2.0, fill=white, stroke=_PATIENT))
    # Lines and missing marks in time order (a line ends before the point that breaks it).
    shapes: list[tuple[float, PolyLine | Line]] = []
    for segment in spec.segments:
        coords = [c for m, v in segment for c in (f.x(m), f.y(v))]
        shapes.append((segment[-1][0], PolyLine(coords, strokeColor=_LINE, strokeWidth=1.2)))
    for minutes in spec.missing_min:
        # a dotted line across the whole height: no value here (a mark on the time axis
        # would sit at 0 % relief, which the right axis reads as NRS 10)
        x = f.x(minutes)
        gap = Line(x, f.bottom, x, f.bottom + f.height, strokeColor=_MISSING, strokeWidth=0.7)
        gap.strokeDashArray = [1, 2]
        shapes.append((minutes, gap))
    for _time, shape in sorted(shapes, key=lambda item: item[0]):
        d.add(shape)
    recorded = [(f.x(m), f.y(v)) for m, v in spec.points]
    if recorded:
        d.add(_markers(recorded, 1.8, fill=_LINE, stroke=white))


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
