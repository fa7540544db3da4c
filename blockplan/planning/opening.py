"""Where a stored case opens: the place of its work, on the spine's midline.

A physician who reopens a case expects the planes at the level of the planned targets, and
the sagittal plane on the midline, where the level markers (and so the level count) are.
"""

from __future__ import annotations

import numpy as np

from blockplan.case.model import Case

__all__ = ["opening_point"]


def opening_point(case: Case) -> tuple[float, float, float] | None:
    """The patient position (LPS mm) a reopened case opens at, or None without targets.

    Superior-inferior and anterior-posterior: the mean of the planned targets. Left-right:
    the median left-right position of the level markers (the spine's midline), so the
    sagittal plane through this point shows every level marker; the targets' mean when no
    level is marked (bilateral targets average to the midline, one-sided ones do not).
    """
    if not case.targets:
        return None
    centre = np.mean([t.position.lps for t in case.targets], axis=0)
    if case.levels:
        centre[0] = float(np.median([m.position.lps[0] for m in case.levels]))
    return (float(centre[0]), float(centre[1]), float(centre[2]))
