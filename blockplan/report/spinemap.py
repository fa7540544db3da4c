"""The pain-source map: a schematic of the spine with every candidate source coloured.

A front view (patient's right on the viewer's left, as on the key images): vertebral
bodies with discs between them, facet joints beside each motion segment, nerve roots
leaving below each vertebra, the epidural space beside each body and the sacroiliac
joints beside the sacrum. Each tested source is a marker filled with its ledger status
colour and its status letter (so the map reads in grey too); a source no diagnostic block
has tested (a planned target, or a site reached only by a therapeutic block:
`~blockplan.outcomes.shown_status`) is an empty dashed marker. Drawn with reportlab
graphics: vector, fonts embedded.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from reportlab.graphics.shapes import Circle, Drawing, Ellipse, Line, Polygon, Rect, String
from reportlab.lib.colors import Color, HexColor, white

from blockplan.case.model import Target
from blockplan.case.vocab import Laterality, SpinalLevel, Structure, level_index
from blockplan.outcomes.adjudication import SourceKey, expand_sites
from blockplan.outcomes.evidence import (
    STATUS_COLOURS,
    STATUS_ORDER,
    STATUS_TEXT_COLOURS,
    UNTESTED_TEXT,
    Status,
    shown_status,
)
from blockplan.report.findings import ReportFindings

__all__ = ["legend_drawing", "pain_source_map", "status_colour"]


def status_colour(status: Status) -> Color:
    """The fill colour of a status (`~blockplan.outcomes.evidence.STATUS_COLOURS`)."""
    return HexColor(STATUS_COLOURS[status])


_BONE = HexColor("#EDE8DF")
_BONE_EDGE = HexColor("#8C8478")
_DISC = HexColor("#D9E2EC")
_INK = HexColor("#222222")
_MUTED = HexColor("#6B6B6B")
_ROOT = HexColor("#B08A3E")

_VH = 26.0  # vertebral body height (pt)
_DH = 12.0  # disc height
_VW = 58.0  # vertebral body width
_R = 7.0  # marker radius
_X_EPIDURAL = _VW / 2 + 7
_X_FACET = 52.0
_X_ROOT = 86.0
_X_SIJ = 66.0


@dataclass(frozen=True, slots=True)
class _Mark:
    site: SourceKey
    status: Status | None  # None: no diagnostic block yet (`shown_status`)


def _vertebrae_of(level: str) -> tuple[str, ...]:
    return tuple(level.split("-")) if "-" in level else (level,)


def _level_range(sites: Iterable[SourceKey], extra: Iterable[str]) -> list[str]:
    """The levels to draw: from the highest to the lowest level that a marker, a target or
    a block names — never one beyond them.

    A level nobody marked or named is not known from the images (the count may be off,
    e.g. with a transitional vertebra), so it is not drawn as if it were: the map once drew
    T11 above a top marker at T12. Levels between two named ones are drawn (the count
    between them is known). With nothing named at all, L3–S1 stand for an empty map.
    """
    idx: list[int] = []
    wanted = list(extra)
    for site in sites:
        if site.level:
            wanted.append(site.level)
        if site.structure is Structure.SACROILIAC_JOINT:
            wanted.append("S1")
    for level in wanted:
        idx.extend(level_index(v) for v in _vertebrae_of(level))
    lo, hi = (min(idx), max(idx)) if idx else (level_index("L3"), level_index("S1"))
    names = [v.value for v in list(SpinalLevel)[lo : hi + 1]]
    if "L6" in names and not any("L6" in w for w in wanted):
        names.remove("L6")
    return names


def _collect(
    findings: ReportFindings, targets: Sequence[Target]
) -> tuple[list[_Mark], list[tuple[tuple[SourceKey, ...], Status]]]:
    marks: dict[SourceKey, _Mark] = {}
    groups: list[tuple[tuple[SourceKey, ...], Status]] = []
    for source in findings.ranked_sources():
        status = shown_status(source)  # the tables and the Outcomes panel show the same
        if source.is_group:
            if status is not None:
                groups.append((source.sites, status))
            continue
        site = source.sites[0]
        if site not in marks:
            marks[site] = _Mark(site, status)
    for group, _ in groups:
        for site in group:
            marks.setdefault(site, _Mark(site, None))
    for t in targets:
        for site in expand_sites(t.structure, t.level, t.side):
            marks.setdefault(site, _Mark(site, None))
    return list(marks.values()), groups


def _sign(side: Laterality | None) -> int:
    # Viewer's left (x < 0) is the patient's right.
    return {Laterality.RIGHT: -1, Laterality.LEFT: 1}.get(side, 0) if side else 0


def _marker(d: Drawing, x: float, y: float, status: Status | None, font: str) -> None:
    if status is None:
        c = Circle(x, y, _R, fillColor=white, strokeColor=_INK, strokeWidth=0.8)
        c.strokeDashArray = [1.5, 1.5]
        d.add(c)
        return
    d.add(Circle(x, y, _R, fillColor=status_colour(status), strokeColor=_INK, strokeWidth=0.6))
    d.add(
        String(
            x,
            y - 2.6,
            status.letter,
            fontName=font,
            fontSize=7.5,
            fillColor=HexColor(STATUS_TEXT_COLOURS[status]),
            textAnchor="middle",
        )
    )


class _Layout:
    def __init__(self, levels: Sequence[str], height: float, top_pad: float, cx: float) -> None:
        self.cx = cx
        self.centre_y: dict[str, float] = {}
        self.disc_y: dict[str, float] = {}
        y = height - top_pad
        for n, level in enumerate(levels):
            self.centre_y[level] = y - _VH / 2
            y -= _VH
            if n < len(levels) - 1:
                self.disc_y[f"{level}-{levels[n + 1]}"] = y - _DH / 2
                y -= _DH

    def position(self, site: SourceKey) -> tuple[float, float] | None:
        """Marker centre of a site, None when it is outside the drawn levels."""
        sgn = _sign(site.side)
        cx = self.cx
        if site.structure is Structure.SACROILIAC_JOINT:
            y = self.centre_y.get("S1")
            return None if y is None else (cx + sgn * _X_SIJ, y)
        if site.level is None:
            return None
        first = _vertebrae_of(site.level)[0]
        if site.structure is Structure.DISC:
            y = self.disc_y.get(site.level)
            return None if y is None else (cx + sgn * 18, y)
        if site.structure is Structure.FACET_JOINT:
            y = self.disc_y.get(site.level, self.centre_y.get(first))
            return None if y is None or not sgn else (cx + sgn * _X_FACET, y)
        if site.structure is Structure.NERVE_ROOT:
            y = self.centre_y.get(first)
            return None if y is None or not sgn else (cx + sgn * _X_ROOT, y - _VH * 0.45)
        y = self.centre_y.get(first)  # epidural space
        if y is None:
            return None
        return (cx + sgn * _X_EPIDURAL, y) if sgn else (cx, y + _VH / 2)


def pain_source_map(
    findings: ReportFindings,
    targets: Sequence[Target] = (),
    *,
    font: str,
    bold_font: str,
    extra_levels: Iterable[str] = (),
) -> Drawing:
    """Draw the pain-source map.

    Parameters
    ----------
    findings
        Ledger view. A single-site source is a marker with its status colour and letter;
        a source of several sites (a bilateral block, several levels at once) is a bar
        in its status colour joining its sites' markers.
    targets
        Planned targets; sites no block has tested yet are dashed, empty markers.
    font, bold_font
        Registered reportlab font names (embedded TrueType).
    extra_levels
        Further levels to include in the drawn range (the level markers). The map draws
        from the highest to the lowest named level, none beyond (see `_level_range`).

    Returns
    -------
    Drawing
        About 230 pt wide; its height grows with the number of levels.
    """
    marks, groups = _collect(findings, targets)
    levels = _level_range([m.site for m in marks], extra_levels)
    n = len(levels)
    top_pad, bottom_pad = 22.0, 12.0
    height = top_pad + n * _VH + (n - 1) * _DH + bottom_pad
    width = 2 * (_X_ROOT + _R + 20)
    d = Drawing(width, height)
    d.initialFontName = font  # reportlab's default (Helvetica) is not embedded
    cx = width / 2
    lay = _Layout(levels, height, top_pad, cx)
    for letter, x in (("R", cx - _X_ROOT), ("L", cx + _X_ROOT)):
        d.add(_text(x, height - 12, letter, bold_font, 10, _INK, "middle"))
    _draw_spine(d, lay, levels, font, bold_font)
    _draw_anatomy(d, lay, marks, font)
    _draw_groups(d, lay, groups)
    for mark in marks:
        pos = lay.position(mark.site)
        if pos is not None:
            _marker(d, pos[0], pos[1], mark.status, bold_font)
    return d


def _text(
    x: float, y: float, text: str, font: str, size: float, colour: Color, anchor: str = "start"
) -> String:
    return String(x, y, text, fontName=font, fontSize=size, fillColor=colour, textAnchor=anchor)


def _draw_spine(d: Drawing, lay: _Layout, levels: Sequence[str], font: str, bold_font: str) -> None:
    """Vertebral bodies (the sacrum as a trapezoid) with their names, discs between them."""
    cx = lay.cx
    for level in levels:
        mid = lay.centre_y[level]
        top = mid + _VH / 2
        if level.startswith("S"):
            w = _VW / 2
            corners = [
                cx - w - 6,
                top,
                cx + w + 6,
                top,
                cx + w - 6,
                top - _VH,
                cx - w + 6,
                top - _VH,
            ]
            d.add(Polygon(corners, fillColor=_BONE, strokeColor=_BONE_EDGE, strokeWidth=0.8))
        else:
            d.add(
                Rect(
                    cx - _VW / 2,
                    top - _VH,
                    _VW,
                    _VH,
                    rx=4,
                    ry=4,
                    fillColor=_BONE,
                    strokeColor=_BONE_EDGE,
                    strokeWidth=0.8,
                )
            )
        d.add(_text(cx, mid - 3.2, level, bold_font, 9, _INK, "middle"))
    for seg, dy in lay.disc_y.items():
        d.add(
            Ellipse(
                cx,
                dy,
                _VW / 2 - 2,
                _DH / 2 - 1.5,
                fillColor=_DISC,
                strokeColor=_BONE_EDGE,
                strokeWidth=0.5,
            )
        )
        d.add(_text(2, dy - 2.5, seg, font, 6.5, _MUTED))


def _draw_anatomy(d: Drawing, lay: _Layout, marks: Sequence[_Mark], font: str) -> None:
    """Behind the markers: root courses, facet stubs and the SIJ captions."""
    cx = lay.cx
    for mark in marks:
        pos = lay.position(mark.site)
        if pos is None:
            continue
        x, y = pos
        sgn = 1 if x > cx else -1
        structure = mark.site.structure
        if structure is Structure.NERVE_ROOT:
            start = (cx + sgn * _VW / 2, y + _VH * 0.45 - 2)
            d.add(Line(*start, x - sgn * _R, y, strokeColor=_ROOT, strokeWidth=1.2))
        elif structure is Structure.FACET_JOINT:
            d.add(
                Line(
                    cx + sgn * _VW / 2, y, x - sgn * _R, y, strokeColor=_BONE_EDGE, strokeWidth=0.6
                )
            )
        elif structure is Structure.SACROILIAC_JOINT:
            d.add(_text(x, y - _R - 8, "SIJ", font, 6, _MUTED, "middle"))


def _draw_groups(
    d: Drawing, lay: _Layout, groups: Sequence[tuple[tuple[SourceKey, ...], Status]]
) -> None:
    """Sources of several sites: a bar in the status colour joining the sites."""
    for sites, status in groups:
        points = [p for p in (lay.position(s) for s in sites) if p is not None]
        if len(points) < 2:
            continue
        points.sort()
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            d.add(Line(x0, y0, x1, y1, strokeColor=_INK, strokeWidth=4.2, strokeLineCap=1))
            d.add(
                Line(
                    x0,
                    y0,
                    x1,
                    y1,
                    strokeColor=status_colour(status),
                    strokeWidth=3,
                    strokeLineCap=1,
                )
            )


def legend_drawing(
    *, font: str, bold_font: str, statuses: Sequence[Status] = STATUS_ORDER
) -> Drawing:
    """A one-column legend of the status markers (and the dashed "planned" marker)."""
    rows: list[tuple[Status | None, str]] = [(s, s.text) for s in statuses]
    rows.append((None, UNTESTED_TEXT))
    line_h = 16.0
    d = Drawing(130, line_h * len(rows) + 2)
    d.initialFontName = font  # reportlab's default (Helvetica) is not embedded
    y = d.height - line_h / 2 - 1
    for status, text in rows:
        _marker(d, _R + 1, y, status, bold_font)
        d.add(String(_R * 2 + 7, y - 3, text, fontName=font, fontSize=8, fillColor=_INK))
        y -= line_h
    return d
