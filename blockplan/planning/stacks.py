"""Several differently angled stacks of one series (disc-angled spine axials), listed with
their angle and the disc each crosses.

`blockplan.io.discover` gives each such stack its angle and centre (`SeriesInfo.stack`,
`SeriesInfo.centre_lps`); the disc is named from the centre by the level rule
(`blockplan.planning.levels.nearest_disc`) once the case's levels are marked.
"""

from __future__ import annotations

from collections.abc import Sequence

from blockplan.case.model import LevelMarker
from blockplan.errors import PlanningError
from blockplan.io.discovery import SeriesInfo
from blockplan.planning.levels import SpineAxis, nearest_disc

__all__ = ["stack_listing"]


def stack_listing(series: SeriesInfo, markers: Sequence[LevelMarker] = ()) -> str:
    """How a stack is listed: ``series.stack`` and the disc it crosses.

    Parameters
    ----------
    series
        A discovered series; ``""`` unless it is one of several angled stacks.
    markers
        The case's level markers (any frame of reference; those of the stack's count).

    Returns
    -------
    str
        E.g. ``"stack 2 of 3: 12.3° from axial, centre z -84.0 mm, crosses the L4-L5
        disc"``; without two markers in the stack's frame of reference the listing says
        the disc is named once levels are marked; beyond the marked levels, so.
    """
    if not series.stack:
        return ""
    own = [m for m in markers if m.position.frame_of_reference_uid == series.frame_of_reference_uid]
    centre = series.centre_lps
    if len(own) < 2 or centre is None:
        return f"{series.stack}; the disc it crosses is named once levels are marked"
    try:
        disc = nearest_disc(centre, SpineAxis.from_markers(own))
    except PlanningError as err:
        return f"{series.stack}; disc not named ({err})"
    if disc is None:
        return f"{series.stack}; its centre lies beyond the marked levels: mark the next level"
    return f"{series.stack}, crosses the {disc} disc"
