"""The report's axial key image draws a path as `path_on_plane` shows it on that plane."""

from __future__ import annotations

import numpy as np
import pytest

from blockplan.io.volume import ImageVolume
from blockplan.planning import IN_PLANE_MM, path_legend
from blockplan.report import keyimages as ki
from tests.report import _factory


def _entry_mark(img: ki.KeyImage) -> ki.PlaneMark:
    return next(m for m in img.marks if m.kind == "entry")


def test_an_entry_out_of_the_plane_is_drawn_projected_and_named(ct: ImageVolume) -> None:
    case = _factory.make_case(1, 0)
    target = case.targets[0]
    t = np.asarray(target.position.lps, dtype=float)
    in_plane = np.array([t[0] - 40.0, t[1] + 50.0, t[2]])
    caudal = in_plane - np.array([0.0, 0.0, 6.0])
    flat = ki.axial_key_image(ct, target, label="T1", entry=in_plane)
    tilted = ki.axial_key_image(ct, target, label="T1", entry=caudal)
    # the same line and entry mark: the caudal entry projected onto the target's plane,
    # cut where the path leaves the 2 mm slab (4 mm of its 6 mm descent: two thirds along),
    # the caudal stretch dashed (side -1), the rest solid, as the planning screen draws it
    (whole,) = flat.lines
    assert whole.side == 0
    caudal_part, inside = tilted.lines
    assert (caudal_part.side, inside.side) == (-1, 0)
    assert (caudal_part.col0, caudal_part.row0) == (whole.col0, whole.row0)
    assert (inside.col1, inside.row1) == pytest.approx((whole.col1, whole.row1))
    joint = np.array([whole.col0, whole.row0]) + 2 / 3 * np.array(
        [whole.col1 - whole.col0, whole.row1 - whole.row0]
    )
    assert (caudal_part.col1, caudal_part.row1) == pytest.approx(tuple(joint))
    assert (inside.col0, inside.row0) == (caudal_part.col1, caudal_part.row1)
    assert _entry_mark(tilted) == _entry_mark(flat)
    assert tilted.notes == (
        "entry 6 mm caudal to this plane (path projected)",
        path_legend((0.0, 0.0, 1.0)),
    )
    assert "dashed where caudal" in tilted.notes[1]
    assert flat.notes == ()
    # closer than IN_PLANE_MM counts as in the plane: no note
    near = in_plane + np.array([0.0, 0.0, IN_PLANE_MM - 0.5])
    assert ki.axial_key_image(ct, target, label="T1", entry=near).notes == ()
