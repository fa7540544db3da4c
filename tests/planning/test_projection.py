"""`path_on_plane`: which paths a plane shows, projected how (hand-computed geometry)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from blockplan.planning import IN_PLANE_MM, path_on_plane

AXIAL = (0.0, 0.0, 1.0)  # normal +z (superior)
SAGITTAL = (1.0, 0.0, 0.0)  # normal +x (patient left)
CORONAL = (0.0, 1.0, 0.0)  # normal +y (posterior)

# a TFESI-like path: entry 40 mm right, 50 mm posterior and 6 mm caudal of its target
TARGET = np.array([-25.0, 75.0, -158.0])
ENTRY = np.array([-65.0, 125.0, -164.0])


def test_a_tilted_path_on_its_targets_axial_plane_is_drawn_projected() -> None:
    shown = path_on_plane(ENTRY, TARGET, (0.0, 0.0, -158.0), AXIAL)
    assert shown is not None
    assert np.allclose(shown.entry_lps, [-65.0, 125.0, -158.0])  # the entry dropped 6 mm up
    assert np.allclose(shown.target_lps, TARGET)
    assert shown.entry_offset_mm == pytest.approx(-6.0)  # caudal: against the normal
    assert shown.target_offset_mm == pytest.approx(0.0)
    assert shown.entry_out_of_plane


def test_every_axial_plane_between_entry_and_target_shows_the_whole_projection() -> None:
    for z in (-158.5, -161.0, -163.9):
        shown = path_on_plane(ENTRY, TARGET, (10.0, -3.0, z), AXIAL)  # any point of the plane
        assert shown is not None, z
        assert np.allclose(shown.entry_lps, [-65.0, 125.0, z])
        assert np.allclose(shown.target_lps, [-25.0, 75.0, z])
        assert shown.entry_offset_mm == pytest.approx(-164.0 - z)
        assert shown.target_offset_mm == pytest.approx(-158.0 - z)


def test_a_plane_shows_a_path_that_comes_within_near_mm_and_no_farther() -> None:
    # 1.5 mm above the target (the path's top): within 2 mm, shown
    assert path_on_plane(ENTRY, TARGET, (0.0, 0.0, -156.5), AXIAL) is not None
    # 2.5 mm above the target and 2.5 mm below the entry: beyond the slab, not shown
    assert path_on_plane(ENTRY, TARGET, (0.0, 0.0, -155.5), AXIAL) is None
    assert path_on_plane(ENTRY, TARGET, (0.0, 0.0, -166.5), AXIAL) is None
    # a wider slab (e.g. half a 6 mm slice step) reaches it
    assert path_on_plane(ENTRY, TARGET, (0.0, 0.0, -155.5), AXIAL, near_mm=3.0) is not None
    assert IN_PLANE_MM == 2.0


def test_a_path_lying_in_the_plane_is_itself() -> None:
    entry, target = np.array([-42.5, 132.5, -115.3]), np.array([-27.5, 76.6, -115.3])
    shown = path_on_plane(entry, target, (0.0, 0.0, -115.3), AXIAL)
    assert shown is not None
    assert np.allclose(shown.entry_lps, entry) and np.allclose(shown.target_lps, target)
    assert shown.entry_offset_mm == pytest.approx(0.0) and not shown.entry_out_of_plane
    # 1 mm off the plane: still in it by the rule, drawn, no caption needed
    off = path_on_plane(entry, target, (0.0, 0.0, -114.3), AXIAL)
    assert off is not None and not off.entry_out_of_plane
    assert np.allclose(off.entry_lps, [-42.5, 132.5, -114.3])


def test_a_path_entirely_off_the_slab_is_not_shown() -> None:
    # an in-plane SNRB 8 mm below the TFESI target's axial plane
    entry, target = np.array([77.0, 126.5, -166.0]), np.array([33.0, 74.5, -166.0])
    assert path_on_plane(entry, target, (0.0, 0.0, -158.0), AXIAL) is None


def test_a_sagittal_plane_shows_the_path_it_cuts_projected_along_x() -> None:
    # the plane x = -45 mm lies between entry (x -65) and target (x -25)
    shown = path_on_plane(ENTRY, TARGET, (-45.0, 0.0, 0.0), SAGITTAL)
    assert shown is not None
    assert np.allclose(shown.entry_lps, [-45.0, 125.0, -164.0])
    assert np.allclose(shown.target_lps, [-45.0, 75.0, -158.0])
    assert shown.entry_offset_mm == pytest.approx(-20.0)  # towards the patient's right
    assert shown.target_offset_mm == pytest.approx(20.0)
    # the midline plane x = 0 is 25 mm from the path's nearest end: not shown
    assert path_on_plane(ENTRY, TARGET, (0.0, 0.0, 0.0), SAGITTAL) is None


def test_a_coronal_plane_shows_the_path_it_cuts_projected_along_y() -> None:
    shown = path_on_plane(ENTRY, TARGET, (0.0, 100.0, 0.0), CORONAL)
    assert shown is not None
    assert np.allclose(shown.entry_lps, [-65.0, 100.0, -164.0])
    assert np.allclose(shown.target_lps, [-25.0, 100.0, -158.0])
    assert shown.entry_offset_mm == pytest.approx(25.0)  # posterior of the plane
    assert shown.target_offset_mm == pytest.approx(-25.0)
    assert path_on_plane(ENTRY, TARGET, (0.0, 40.0, 0.0), CORONAL) is None  # in front of it


def test_an_oblique_plane_projects_orthogonally_and_the_normal_length_does_not_matter() -> None:
    normal = np.array([0.0, 3.0, 4.0])  # length 5: unit (0, 0.6, 0.8)
    shown = path_on_plane([0.0, 0.0, 10.0], [0.0, 0.0, 0.0], (0.0, 0.0, 0.0), normal)
    assert shown is not None
    assert shown.entry_offset_mm == pytest.approx(8.0)
    assert np.allclose(shown.entry_lps, [0.0, -4.8, 3.6])  # (0,0,10) - 8·(0,0.6,0.8)
    assert np.allclose(shown.target_lps, [0.0, 0.0, 0.0])


def test_a_zero_normal_is_refused() -> None:
    with pytest.raises(ValueError, match="normal"):
        path_on_plane(ENTRY, TARGET, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0))


# --- path_parts_on_plane: which part lies in the slice, which beyond, where it crosses ----
def test_a_path_through_a_mid_plane_is_cut_at_the_slabs_faces() -> None:
    """Axial plane at z = -161 (3 mm above the entry, 3 mm below the target): the entry's
    stretch lies caudal (side -1), the target's cranial (+1), the slab between."""
    from blockplan.planning import path_parts_on_plane

    cut = path_parts_on_plane(ENTRY, TARGET, (0.0, 0.0, -161.0), AXIAL)
    assert cut is not None
    assert [p.side for p in cut.parts] == [-1, 0, 1]
    # z runs -164 → -158 over the path; the slab -163 ≤ z ≤ -159 is fractions 1/6 … 5/6
    along = [ENTRY + f * (TARGET - ENTRY) for f in (0.0, 1 / 6, 5 / 6, 1.0)]
    flat = [np.array([p[0], p[1], -161.0]) for p in along]
    for part, (a, b) in zip(cut.parts, itertools.pairwise(flat), strict=True):
        assert np.allclose(part.start_lps, a) and np.allclose(part.end_lps, b)
    assert cut.crossing_lps is not None
    assert np.allclose(cut.crossing_lps, ENTRY + 0.5 * (TARGET - ENTRY))  # z = -161: half way
    assert cut.crossing_lps[2] == pytest.approx(-161.0)


def test_on_the_targets_plane_the_entry_side_is_caudal_and_the_crossing_is_the_target() -> None:
    from blockplan.planning import path_parts_on_plane

    cut = path_parts_on_plane(ENTRY, TARGET, TARGET, AXIAL)
    assert cut is not None
    assert [p.side for p in cut.parts] == [-1, 0]  # the entry 6 mm caudal; the target in
    assert np.allclose(cut.parts[0].end_lps, ENTRY + (4 / 6) * (TARGET - ENTRY) + [0, 0, 2.0])
    assert np.allclose(cut.parts[1].end_lps, TARGET)
    assert np.allclose(cut.crossing_lps, TARGET)
    # the same plane with its normal turned round: the entry's stretch is on the +1 side
    flipped = path_parts_on_plane(ENTRY, TARGET, TARGET, (0.0, 0.0, -1.0))
    assert flipped is not None and [p.side for p in flipped.parts] == [1, 0]


def test_a_path_that_only_grazes_the_slab_has_no_crossing() -> None:
    """Plane 1.5 mm above the target: the path comes within the slab but never reaches the
    plane itself."""
    from blockplan.planning import path_parts_on_plane

    cut = path_parts_on_plane(ENTRY, TARGET, (0.0, 0.0, -156.5), AXIAL)
    assert cut is not None
    assert [p.side for p in cut.parts] == [-1, 0]
    assert cut.crossing_lps is None
    assert path_parts_on_plane(ENTRY, TARGET, (0.0, 0.0, -155.0), AXIAL) is None


def test_a_path_in_the_plane_is_one_stretch_and_a_sagittal_plane_cuts_by_x() -> None:
    from blockplan.planning import path_parts_on_plane

    flat_entry = np.array([-65.0, 125.0, -158.0])
    cut = path_parts_on_plane(flat_entry, TARGET, TARGET, AXIAL)
    assert cut is not None and [p.side for p in cut.parts] == [0] and cut.crossing_lps is None
    # sagittal plane x = -45 (half way across): the entry's end lies right (-x, side -1)
    sag = path_parts_on_plane(ENTRY, TARGET, (-45.0, 0.0, 0.0), SAGITTAL)
    assert sag is not None and [p.side for p in sag.parts] == [-1, 0, 1]
    assert np.allclose(sag.crossing_lps, ENTRY + 0.5 * (TARGET - ENTRY))
    assert all(p.start_lps[0] == pytest.approx(-45.0) for p in sag.parts)  # projected
