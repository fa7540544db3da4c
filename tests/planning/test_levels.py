"""Level proposal and level/side assignment against hand-computed geometry."""

from __future__ import annotations

import math

import numpy as np
import pytest

from blockplan.case.vocab import Laterality
from blockplan.errors import PlanningError
from blockplan.planning import SpineAxis, assign_level, propose_next_level
from tests.planning._factory import OTHER_FRAME, marker, point, straight_spine

# straight_spine(): L1 z=160, L2 120, L3 80, L4 40, L5 0, S1 -40 (40 mm per level, x=y=0).


# --- propose_next_level ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        ((), "T12"),
        (("T12",), "T12-L1"),
        (("L1",), "L1-L2"),
        (("L1", "L1-L2"), "L2"),
        (("L2", "L1", "L1-L2"), "L2-L3"),  # order of placement does not matter
        (("L4", "L5"), "L5-S1"),  # L5 → S1 without a transitional vertebra
        (("L5-S1",), "S1"),
        (("L5", "L6"), "L6-S1"),  # a marker says L6
        (("L5-L6",), "L6"),
    ],
)
def test_propose_next_level_alternates_vertebra_and_disc(
    levels: tuple[str, ...], expected: str
) -> None:
    markers = [marker(lv, 0, 0, 100 - 20 * n) for n, lv in enumerate(levels)]
    assert propose_next_level(markers) == expected


def test_propose_next_level_options() -> None:
    assert propose_next_level([], start="l1") == "L1"
    assert propose_next_level([marker("L5", 0, 0, 0)], transitional_l6=True) == "L5-L6"
    assert propose_next_level([marker("L4", 0, 0, 0)], include_discs=False) == "L5"
    assert propose_next_level([marker("L4-L5", 0, 0, 0)], include_discs=False) == "L5"
    assert propose_next_level([marker("L5", 0, 0, 0)], include_discs=False) == "S1"


def test_propose_next_level_refusals() -> None:
    with pytest.raises(PlanningError, match="most caudal level"):
        propose_next_level([marker("S5", 0, 0, 0)])
    with pytest.raises(PlanningError, match="start level"):
        propose_next_level([], start="X9")
    with pytest.raises(PlanningError, match="mix L6 with L5-S1"):
        propose_next_level([marker("L6", 0, 0, 0), marker("L5-S1", 0, 0, 20)])


# --- assign_level: the level rule -----------------------------------------------------------
@pytest.mark.parametrize(
    ("z", "expected"),
    [
        (40.0, "L4"),  # on the L4 body centre
        (31.0, "L4"),  # f = 9/40 = 0.225 < 0.25
        (30.0, "L4-L5"),  # f = 0.25: the boundary belongs to the segment
        (20.0, "L4-L5"),  # the (interpolated) disc centre
        (10.5, "L4-L5"),  # f = 0.7375
        (10.0, "L5"),  # f = 0.75
        (0.0, "L5"),
        (155.0, "L1"),
        (-45.0, "S1"),
    ],
)
def test_assign_level_on_a_straight_spine(z: float, expected: str) -> None:
    got = assign_level((0.0, 25.0, z), straight_spine())
    assert got.level == expected
    assert got.distance_mm == pytest.approx(25.0)
    assert got.axis_point_lps == pytest.approx((0.0, 0.0, z))


def test_marked_disc_moves_the_boundary() -> None:
    # disc marked at z=16 (not the midpoint 20): the L4 | L4-L5 boundary is halfway between
    # the L4 centre (40) and the disc centre (16), at z=28
    markers = [*straight_spine(), marker("L4-L5", 0, 0, 16)]
    assert assign_level((0, 0, 28.5), markers).level == "L4"
    assert assign_level((0, 0, 28.0), markers).level == "L4-L5"
    # level coordinate: L4 is the 24th vertebra of the chain (C1 = 0 … L4 = 22)
    assert assign_level((0, 0, 28.0), markers).level_coordinate == pytest.approx(22.25)
    # and the L4-L5 | L5 boundary halfway between 16 and 0, at z=8
    assert assign_level((0, 0, 8.1), markers).level == "L4-L5"
    assert assign_level((0, 0, 7.9), markers).level == "L5"


def test_segment_zone_is_configurable() -> None:
    # zone 0.25: the segment owns f in [0.375, 0.625), i.e. z in (15, 25]
    assert assign_level((0, 0, 26.0), straight_spine(), segment_zone=0.25).level == "L4"
    assert assign_level((0, 0, 25.0), straight_spine(), segment_zone=0.25).level == "L4-L5"
    assert assign_level((0, 0, 15.5), straight_spine(), segment_zone=0.25).level == "L4-L5"
    assert assign_level((0, 0, 15.0), straight_spine(), segment_zone=0.25).level == "L5"


def test_beyond_the_end_markers_gives_no_level() -> None:
    markers = straight_spine(("L4", "L5"), top_z=40.0)
    # cranially the L4 zone reaches 0.25 level = 10 mm above its centre
    assert assign_level((0, 0, 49.0), markers).level == "L4"
    above = assign_level((0, 0, 55.0), markers)
    assert above.level is None
    assert above.outside == "cranial"
    assert "highest marker L4" in above.reason
    below = assign_level((0, 0, -15.0), markers)
    assert (below.level, below.outside) == (None, "caudal")
    assert "lowest marker L5" in below.reason
    assert assign_level((0, 0, -9.0), markers).level == "L5"


def test_a_disc_marker_at_the_end_has_its_own_zone() -> None:
    markers = [marker("L3-L4", 0, 0, 60), marker("L4", 0, 0, 40), marker("L4-L5", 0, 0, 20)]
    # 20 mm per half level: the L3-L4 zone extends 0.25 level (20 mm... per level 40) = 10 mm up
    assert assign_level((0, 0, 69.0), markers).level == "L3-L4"
    assert assign_level((0, 0, 71.0), markers).outside == "cranial"
    assert assign_level((0, 0, 11.0), markers).level == "L4-L5"
    assert assign_level((0, 0, 9.0), markers).outside == "caudal"


def test_gaps_between_markers_are_interpolated() -> None:
    markers = [marker("L1", 0, 0, 120), marker("L3", 0, 0, 40), marker("L4", 0, 0, 0)]
    # L1 → L3 is 80 mm for 2 levels: L2 at z=80, L1-L2 at 100
    assert assign_level((0, 0, 80), markers, max_spacing_ratio=None).level == "L2"
    assert assign_level((0, 0, 100), markers, max_spacing_ratio=None).level == "L1-L2"


def test_projection_is_perpendicular_to_a_tilted_axis() -> None:
    # lordotic step in the sagittal plane: L4 (0,0,40) → L5 (0,30,0), |step| = 50 mm.
    # A point 40 mm posterior to the L4 centre projects at t = (40·30)/50² = 0.48 → L4-L5,
    # although it lies in the axial plane of the L4 centre.
    markers = [marker("L4", 0, 0, 40), marker("L5", 0, 30, 0)]
    got = assign_level((0, 40, 40), markers)
    assert got.level_coordinate == pytest.approx(22.48)
    assert got.level == "L4-L5"
    assert got.axis_point_lps == pytest.approx((0, 14.4, 20.8))
    assert got.distance_mm == pytest.approx(math.dist((0, 40, 40), (0, 14.4, 20.8)))
    assert got.side is Laterality.MIDLINE


# --- assign_level: the side -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("x", "side"),
    [
        (25.0, Laterality.LEFT),  # +x is the patient's left
        (-25.0, Laterality.RIGHT),
        (3.0, Laterality.MIDLINE),  # tolerance inclusive
        (-3.0, Laterality.MIDLINE),
        (3.01, Laterality.LEFT),
        (-3.01, Laterality.RIGHT),
        (0.0, Laterality.MIDLINE),
    ],
)
def test_side_from_the_mid_sagittal_plane(x: float, side: Laterality) -> None:
    got = assign_level((x, 30.0, 40.0), straight_spine())
    assert got.side is side
    assert got.lateral_mm == pytest.approx(x)


def test_midline_tolerance_is_configurable() -> None:
    got = assign_level((4.0, 30.0, 40.0), straight_spine(), midline_tolerance_mm=5.0)
    assert got.side is Laterality.MIDLINE
    with pytest.raises(PlanningError, match="midline_tolerance_mm"):
        assign_level((4.0, 30.0, 40.0), straight_spine(), midline_tolerance_mm=-1)


def test_side_follows_a_scoliotic_axis() -> None:
    # axis tilted in the coronal plane: L4 (0,0,40) → L5 (10,0,0); the plane contains the
    # axis and LPS y, normal (40, 0, 10)/√1700. Point (10, 0, 40): 10·40/√1700 = 9.70 mm left.
    markers = [marker("L4", 0, 0, 40), marker("L5", 10, 0, 0)]
    got = assign_level((10, 0, 40), markers)
    assert got.lateral_mm == pytest.approx(400 / math.sqrt(1700))
    assert got.side is Laterality.LEFT
    # a point on the tilted axis is midline even though its x is 5 mm
    on_axis = assign_level((5, 0, 20), markers)
    assert on_axis.lateral_mm == pytest.approx(0.0)
    assert on_axis.side is Laterality.MIDLINE
    assert on_axis.level == "L4-L5"


def test_patient_point_input_and_prebuilt_axis() -> None:
    axis = SpineAxis.from_markers(straight_spine())
    got = assign_level(point(-20.0, 30.0, 40.0), axis)
    assert (got.level, got.side) == ("L4", Laterality.RIGHT)
    assert axis.levels == ("L1", "L2", "L3", "L4", "L5", "S1")
    assert not got.is_segment
    assert assign_level((0, 0, 20), axis).is_segment


def test_vectorised_locate_matches_single_points() -> None:
    axis = SpineAxis.from_markers([*straight_spine(), marker("L4-L5", 2, 3, 18)])
    rng = np.random.default_rng(1)
    pts = rng.uniform([-40, -20, -60], [40, 60, 180], size=(500, 3))
    loc = axis.locate(pts)
    for n in range(0, 500, 37):
        single = axis.assign(pts[n])
        assert single.lateral_mm == pytest.approx(loc.lateral_mm[n])
        if loc.inside[n]:
            assert single.level == axis.level_name(int(loc.half_rank[n]))
        else:
            assert single.level is None


def test_transitional_l6() -> None:
    markers = [marker("L5", 0, 0, 40), marker("L6", 0, 0, 0), marker("S1", 0, 0, -40)]
    assert assign_level((0, 0, 20), markers).level == "L5-L6"
    assert assign_level((0, 0, -20), markers).level == "L6-S1"
    # without L6 the segment below L5 is L5-S1
    assert assign_level((0, 0, 20), straight_spine()[3:]).level == "L4-L5"
    assert assign_level((0, 0, -20), straight_spine()[3:]).level == "L5-S1"


# --- refusals -------------------------------------------------------------------------------
def test_refuses_fewer_than_two_markers() -> None:
    with pytest.raises(PlanningError, match=r"at least 2 level markers.*got 1"):
        assign_level((0, 0, 0), [marker("L4", 0, 0, 40)])
    with pytest.raises(PlanningError, match="got 0"):
        assign_level((0, 0, 0), [])


def test_refuses_mixed_frames() -> None:
    markers = [marker("L4", 0, 0, 40), marker("L5", 0, 0, 0, frame=OTHER_FRAME)]
    with pytest.raises(PlanningError, match="different frames of reference"):
        assign_level((0, 0, 0), markers)
    with pytest.raises(PlanningError, match=r"point: 1\.2\.826\.0\.1\.3680043\.8\.498\.2"):
        assign_level(point(0, 0, 0, OTHER_FRAME), straight_spine())


def test_refuses_inconsistent_markers() -> None:
    with pytest.raises(PlanningError, match="L4 marked more than once"):
        assign_level((0, 0, 0), [marker("L4", 0, 0, 40), marker("L4", 0, 0, 0)])
    with pytest.raises(PlanningError, match=r"L4 and L5 lie 0\.5 mm apart"):
        assign_level((0, 0, 0), [marker("L4", 0, 0, 40), marker("L5", 0, 0, 39.5)])
    with pytest.raises(PlanningError, match=r"L5 lies 40\.0 mm cranial to L4.*check the level"):
        assign_level((0, 0, 0), [marker("L4", 0, 0, 0), marker("L5", 0, 0, 40)])
    with pytest.raises(PlanningError, match="80° from the patient's cranio-caudal axis"):
        dz = 40 * math.cos(math.radians(80))
        dy = 40 * math.sin(math.radians(80))
        assign_level((0, 0, 0), [marker("L4", 0, 0, 40), marker("L5", 0, dy, 40 - dz)])
    with pytest.raises(PlanningError, match="segment_zone"):
        assign_level((0, 0, 0), straight_spine(), segment_zone=1.0)
    with pytest.raises(PlanningError, match="expected one LPS point"):
        assign_level((0, 0), straight_spine())
    with pytest.raises(PlanningError, match="finite"):
        assign_level((0, 0, float("nan")), straight_spine())


def test_refuses_a_skipped_level() -> None:
    # the physician clicked L3, L4, then the S1 body but labelled it L5: the last gap is 80 mm
    markers = [marker("L3", 0, 0, 80), marker("L4", 0, 0, 40), marker("L5", 0, 0, -40)]
    with pytest.raises(
        PlanningError, match=r"L4 and L5 are 80\.0 mm per level.*L3 and L4 40\.0 mm"
    ):
        assign_level((0, 0, 0), markers)
    # the check can be switched off
    assert assign_level((0, 0, 0), markers, max_spacing_ratio=None).level == "L4-L5"


def test_spacing_check_ignores_disc_markers_and_tolerates_normal_variation() -> None:
    # T12-L1 step 32 mm, lumbar 40 mm (ratio 1.25), a disc marker 6 mm off its midpoint
    markers = [
        marker("T12", 0, 0, 152),
        marker("L1", 0, 0, 120),
        marker("L2", 0, 0, 80),
        marker("L2-L3", 0, 0, 54),
        marker("L3", 0, 0, 40),
    ]
    assert assign_level((0, 0, 80), markers).level == "L2"


@pytest.mark.parametrize(
    ("where", "structure", "expected"),
    [
        ("L5-S1", "nerve_root", "L5"),  # lumbar roots exit below their own pedicle
        ("L4-L5", "nerve_root", "L4"),
        ("T12-L1", "nerve_root", "T12"),
        ("C4-C5", "nerve_root", "C5"),  # cervical roots exit above theirs
        ("C7-T1", "nerve_root", "C7-T1"),  # C8: no vertebra of that name
        ("L5", "nerve_root", "L5"),
        ("L4-L5", "facet_joint", "L4-L5"),
        ("L4", "facet_joint", "L4"),
        ("L4-L5", "disc", "L4-L5"),
        ("L5-S1", "sacroiliac_joint", None),
        (None, "nerve_root", None),
    ],
)
def test_level_for_structure(where: str | None, structure: str, expected: str | None) -> None:
    from blockplan.planning import level_for_structure

    assert level_for_structure(where, structure) == expected
