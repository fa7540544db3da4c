"""Where a stored case opens: the place of its work, on the spine's midline.

A physician who reopens a case expects to see a planned target and its path, and the
sagittal plane on the midline, where the level markers (and so the level count) are.
"""

from __future__ import annotations

import numpy as np

from blockplan.case.model import Case

__all__ = ["opening_point"]


def opening_point(case: Case) -> tuple[float, float, float] | None:
    """The patient position (LPS mm) a reopened case opens at, or None without targets.

    Superior-inferior and anterior-posterior: those of the first planned target (the first
    row of the targets table), so the axial plane shows a target and its path — the
    targets' mean can fall between two levels and show none. Left-right: the median
    left-right position of the level markers (the spine's midline), so the sagittal plane
    shows every level marker; the target's own when no level is marked.
    """
    if not case.targets:
        return None
    x, y, z = case.targets[0].position.lps
    if case.levels:
        x = float(np.median([m.position.lps[0] for m in case.levels]))
    return (float(x), float(y), float(z))
