"""The diary chart's threshold label stays clear of the curve (wt-am's report trial).

The label "threshold 80 %" was always drawn above its line at the left; in the demo
report, blocks #1 and #3 (relieved 87–100 % from the start) drew their curve and points
through it. The label now goes to the first of four places the curve leaves free.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

from reportlab.graphics.shapes import Drawing, String
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth

from blockplan.demo import DEMO_PROFILE, build_demo_case
from blockplan.outcomes import build_ledger
from blockplan.outcomes.chart import DiaryChartSpec, diary_chart_spec
from blockplan.report.charts import diary_chart
from blockplan.report.findings import findings_from_ledger

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"
WIDTH, HEIGHT = 85 * mm, 46 * mm  # a chart's cell on the report's page
LEFT, RIGHT, BOTTOM, TOP = 30.0, 24.0, 22.0, 8.0  # the chart's margins (charts.py)


def _label(drawing: Drawing, text: str) -> String:
    return next(s for s in drawing.contents if isinstance(s, String) and s.text == text)


def _curve_points(spec: DiaryChartSpec) -> list[tuple[float, float]]:
    """The curve in drawing coordinates, sampled densely, with each point."""
    low, high = spec.y_limits
    w, h = WIDTH - LEFT - RIGHT, HEIGHT - BOTTOM - TOP

    def at(m: float, v: float) -> tuple[float, float]:
        return LEFT + w * spec.time_axis(m), BOTTOM + h * (v - low) / (high - low)

    out = [at(m, v) for m, v in spec.points]
    for segment in spec.segments:
        for (m0, v0), (m1, v1) in pairwise(segment):
            for k in range(101):
                out.append(at(m0 + (m1 - m0) * k / 100, v0 + (v1 - v0) * k / 100))
    return out


def test_the_threshold_label_is_never_crossed_by_the_curve() -> None:
    findings = findings_from_ledger(build_ledger(build_demo_case(SAMPLE), DEMO_PROFILE))
    relieved_early = 0
    for block in findings.blocks:
        spec = diary_chart_spec(block, block.threshold_pct)
        if spec.quantity != "relief" or spec.threshold_pct is None:
            continue
        drawing = diary_chart(block, width=WIDTH, height=HEIGHT, font="Helvetica")
        label = _label(drawing, spec.threshold_label)
        w = stringWidth(label.text, "Helvetica", label.fontSize)
        x0 = label.x - (w if label.textAnchor == "end" else 0)
        box = (x0 - 1, label.y - 1, x0 + w + 1, label.y + 0.75 * label.fontSize + 1)
        inside = [
            (x, y)
            for x, y in _curve_points(spec)
            if box[0] <= x <= box[2] and box[1] <= y <= box[3]
        ]
        assert not inside, (block.number, label.x, label.y, inside[:3])
        relieved_early += spec.points[0][1] >= spec.threshold_pct
    assert relieved_early >= 2  # blocks #1 and #3: the label had sat on their curve
