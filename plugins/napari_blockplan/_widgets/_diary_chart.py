"""Draw the core's diary chart (`blockplan.outcomes.chart.DiaryChartSpec`) with matplotlib.

An adapter only: what the chart shows — the square-root time axis, threshold, shaded
run, missing points, NRS instead of relief at baseline 0 — is decided by
`diary_chart_spec`, the same definition the PDF report draws. Every artist carries a
``gid`` naming the part of the spec it draws.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from blockplan.outcomes.chart import DIARY_CHART_COLOURS, DiaryChartSpec

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["LABEL_GAP", "draw_diary_chart"]

LABEL_GAP = 0.07
"""Smallest gap between time-axis labels, as a fraction of the axis (a small canvas)."""

_COLOUR = DIARY_CHART_COLOURS


def draw_diary_chart(ax: Axes, spec: DiaryChartSpec | None) -> None:
    """Draw ``spec`` on ``ax`` (time on ``spec.time_axis``: 0 at the block, 1 at the end).

    ``None`` (no block selected) leaves an empty frame; a spec without a diary shows its
    message.
    """
    if spec is None or spec.quantity is None:
        ax.set_xticks([])
        ax.set_yticks([])
        if spec is not None:
            ax.text(
                0.5,
                0.5,
                spec.message,
                ha="center",
                va="center",
                fontsize=7,
                color=_COLOUR["muted"],
                transform=ax.transAxes,
                gid="message",
            )
        return
    _axes(ax, spec)
    _run_and_threshold(ax, spec)
    _data(ax, spec)


def _run_and_threshold(ax: Axes, spec: DiaryChartSpec) -> None:
    """The shaded run from onset to duration, and the threshold line with its label."""
    tx = spec.time_axis
    if spec.shaded_run_min is not None:
        onset, duration = spec.shaded_run_min
        ax.axvspan(tx(onset), tx(duration), color=_COLOUR["run"], zorder=0, gid="run")
    if spec.threshold_pct is None:
        return
    colour = _COLOUR["threshold"]
    ax.axhline(
        spec.threshold_pct,
        color=colour,
        linestyle="--",
        linewidth=0.9,
        label=spec.threshold_label,
        gid="threshold",
    )
    ax.text(
        0.01,
        spec.threshold_pct,
        spec.threshold_label,
        fontsize=6,
        va="bottom",
        color=colour,
        transform=ax.get_yaxis_transform(),
        gid="threshold_label",
    )


def _data(ax: Axes, spec: DiaryChartSpec) -> None:
    """The lines broken at missing points, the recorded points, the patient's estimate
    (open squares) and the missing points (a dotted vertical line each)."""
    tx = spec.time_axis
    for segment in spec.segments:
        xs, ys = [tx(m) for m, _v in segment], [v for _m, v in segment]
        ax.plot(xs, ys, color=_COLOUR["line"], linewidth=1.2, gid="segment")
    if spec.patient_points:
        xs, ys = [tx(m) for m, _v in spec.patient_points], [v for _m, v in spec.patient_points]
        ax.plot(
            xs,
            ys,
            linestyle="none",
            marker="s",
            markersize=3.5,
            markerfacecolor="white",
            markeredgecolor=_COLOUR["patient"],
            gid="patient",
        )
    if spec.points:
        xs, ys = [tx(m) for m, _v in spec.points], [v for _m, v in spec.points]
        ax.plot(
            xs,
            ys,
            linestyle="none",
            marker="s",
            markersize=3,
            color=_COLOUR["line"],
            markeredgecolor="white",
            markeredgewidth=0.5,
            gid="points",
        )
    for minutes in spec.missing_min:
        # a dotted line across the whole height: no value here (a mark on the time axis
        # would sit at 0 % relief, which the right axis reads as NRS 10)
        ax.axvline(
            tx(minutes), color=_COLOUR["missing"], linestyle=":", linewidth=0.8, gid="missing"
        )


def _axes(ax: Axes, spec: DiaryChartSpec) -> None:
    """Limits, ticks, grid and titles; the NRS axis on the right of a relief chart."""
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(*spec.y_limits)
    times = spec.time_labels(LABEL_GAP)
    ax.set_xticks([spec.time_axis(t.value) for t in times], [t.label for t in times])
    ax.set_yticks([t.value for t in spec.y_ticks], [t.label for t in spec.y_ticks])
    ax.grid(axis="y", color=_COLOUR["grid"], linewidth=0.4)
    ax.set_axisbelow(True)
    ax.set_xlabel(spec.time_title, fontsize=7, color=_COLOUR["muted"])
    ax.set_ylabel(spec.y_title, fontsize=7, color=_COLOUR["muted"])
    ax.tick_params(labelsize=6)
    if spec.nrs_ticks:
        right = ax.twinx()
        right.set_ylim(*spec.y_limits)
        right.set_yticks([t.value for t in spec.nrs_ticks], [t.label for t in spec.nrs_ticks])
        right.set_ylabel(spec.nrs_title, fontsize=7, color=_COLOUR["muted"])
        right.tick_params(labelsize=6)
