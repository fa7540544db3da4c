"""`label_offsets`: target names beside their markers, never on top of each other."""

from __future__ import annotations

import numpy as np
import pytest

from blockplan.planning import LABEL_GAP_PX, NAME_GAP_PX, label_offsets, label_places

R = 7.5  # marker radius (px)
NAME = (120.0, 12.0)  # a name's width and height (px)


def _boxes(markers: np.ndarray, offsets: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    left_middle = markers + offsets
    w, h = sizes[0]
    return np.hstack([left_middle - np.array([0.0, h / 2]), left_middle + np.array([w, h / 2])])


def _apart(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1])


def test_a_lone_name_stands_right_of_its_marker_centred() -> None:
    offsets = label_offsets([[100.0, 50.0]], [NAME], marker_radius_px=R)
    assert offsets.tolist() == [[R + LABEL_GAP_PX, 0.0]]


def test_two_targets_on_one_row_keep_their_names_apart_and_off_the_other_marker() -> None:
    """The left and right L5 roots' targets on an axial slice: 60 px apart, the first
    name (120 px wide) would run over the second marker and name."""
    markers = np.array([[100.0, 200.0], [160.0, 200.0]])
    sizes = np.array([NAME, NAME])
    offsets = label_offsets(markers, sizes, marker_radius_px=R)
    boxes = _boxes(markers, offsets, sizes)
    assert _apart(boxes[0], boxes[1])
    for n, box in enumerate(boxes):  # no name over the other marker
        other = markers[1 - n]
        assert _apart(box, np.r_[other - R, other + R])
    assert offsets[0, 0] > 0 and offsets[1, 0] > 0  # both still right of their own markers
    assert offsets[0, 1] < 0  # the first moved up, off the second marker
    assert offsets[1].tolist() == [R + LABEL_GAP_PX, 0.0]  # the second keeps its place


def test_three_targets_at_one_spot_get_three_rows_in_target_order() -> None:
    markers = np.array([[300.0, 300.0], [302.0, 301.0], [299.0, 303.0]])
    sizes = np.array([NAME, NAME, NAME])
    offsets = label_offsets(markers, sizes, marker_radius_px=R)
    boxes = _boxes(markers, offsets, sizes)
    for i in range(3):
        for j in range(i + 1, 3):
            assert _apart(boxes[i], boxes[j]), (i, j)
    assert offsets[0].tolist() == [R + LABEL_GAP_PX, 0.0]  # T1 keeps the first place
    # the same input gives the same layout
    assert np.array_equal(offsets, label_offsets(markers, sizes, marker_radius_px=R))


def test_a_crowd_beyond_every_place_takes_the_least_overlap_and_sizes_must_match() -> None:
    markers = np.zeros((12, 2))
    sizes = np.tile(NAME, (12, 1))
    offsets = label_offsets(markers, sizes, marker_radius_px=R)
    assert offsets.shape == (12, 2) and np.isfinite(offsets).all()
    assert len({tuple(o) for o in offsets}) >= 10  # spread over the places, not piled up
    with pytest.raises(ValueError, match="one name size per marker"):
        label_offsets(markers, sizes[:3], marker_radius_px=R)


def test_a_name_leaves_a_place_a_path_runs_through_when_another_is_free() -> None:
    """A TFESI path leaves its target down and to the right: the name's first place (right
    of the marker) lies across it, so the name goes up one line, still right of its
    marker; without the path it keeps its first place."""
    marker = np.array([[100.0, 100.0]])
    path = np.array([[[100.0, 100.0], [160.0, 103.0]]])  # nearly level, through the place
    offsets = label_offsets(marker, [NAME], marker_radius_px=R, lines_px=path)
    assert offsets[0, 0] == R + LABEL_GAP_PX and offsets[0, 1] < 0
    assert offsets.tolist() != label_offsets(marker, [NAME], marker_radius_px=R).tolist()
    # a path that misses every place changes nothing
    far = np.array([[[0.0, 300.0], [300.0, 300.0]]])
    assert np.array_equal(
        label_offsets(marker, [NAME], marker_radius_px=R, lines_px=far),
        label_offsets(marker, [NAME], marker_radius_px=R),
    )


def test_names_apart_come_before_paths_apart() -> None:
    """Where every place beside a marker crosses a path, the name still keeps off the
    other name (a name over a name is unreadable; a thin line through a name is not)."""
    markers = np.array([[100.0, 100.0], [100.0, 100.0]])
    sizes = np.array([NAME, NAME])
    lines = np.array([[[0.0, y], [400.0, y]] for y in np.arange(0.0, 200.0, 4.0)])
    offsets = label_offsets(markers, sizes, marker_radius_px=R, lines_px=lines)
    boxes = _boxes(markers, offsets, sizes)
    assert _apart(boxes[0], boxes[1])


VIEW = (0.0, 0.0, 600.0, 400.0)  # the visible canvas (px): x0, y0, x1, y1


def test_a_name_that_would_run_off_the_right_edge_goes_left_of_its_marker() -> None:
    """Zoomed in, a marker 10 px from the right edge: every place right of it runs off the
    view (the first by 120.5 × 12 px), so the name takes the first place on its left,
    centred: 7.5 + 3 + 120 = 130.5 px left of the marker. Unbounded, it stays right."""
    marker = [[590.0, 100.0]]
    offsets = label_offsets(marker, [NAME], marker_radius_px=R, view_px=VIEW)
    assert offsets.tolist() == [[-130.5, 0.0]]
    assert label_offsets(marker, [NAME], marker_radius_px=R).tolist() == [[10.5, 0.0]]


def test_a_name_at_the_top_edge_goes_down_a_row() -> None:
    """A marker 5 px below the top edge: its first place (y −1…11) sticks out by a row of
    pixels, the places above it more, so the name goes one row down: a name height and the
    names' gap, 12 + 8 = 20 px, still right of its marker."""
    offsets = label_offsets([[100.0, 5.0]], [NAME], marker_radius_px=R, view_px=VIEW)
    assert offsets.tolist() == [[R + LABEL_GAP_PX, NAME[1] + NAME_GAP_PX]]


def test_a_marker_outside_the_view_gets_no_name_and_leaves_the_others_alone() -> None:
    markers = np.array([[100.0, 100.0], [-50.0, 100.0], [300.0, 450.0]])
    sizes = np.array([NAME, NAME, NAME])
    offsets = label_offsets(markers, sizes, marker_radius_px=R, view_px=VIEW)
    assert offsets[0].tolist() == [10.5, 0.0]
    assert np.isnan(offsets[1:]).all()  # left and below the view: no name
    with pytest.raises(ValueError, match="visible box must be"):
        label_offsets(markers, sizes, marker_radius_px=R, view_px=(10.0, 0.0, 5.0, 400.0))


def test_names_keep_the_names_gap_between_rows() -> None:
    """Two markers at one spot: the second name goes up one row, and its bottom edge stands
    exactly `NAME_GAP_PX` above the first name's top edge."""
    markers = np.array([[100.0, 200.0], [100.0, 200.0]])
    sizes = np.array([NAME, NAME])
    offsets = label_offsets(markers, sizes, marker_radius_px=R, view_px=VIEW)
    assert offsets.tolist() == [[10.5, 0.0], [10.5, -20.0]]
    boxes = _boxes(markers, offsets, sizes)
    assert boxes[0][1] - boxes[1][3] == NAME_GAP_PX


def test_a_name_closer_than_the_gap_to_another_moves_away() -> None:
    """A's name spans y 194…206; B's marker (y 217) is clear of it, but B's first place
    (y 211…223) would stand 5 px below A's name: closer than `NAME_GAP_PX` (8), so B goes
    a row down (up would overlap A's name): 12 + 8 = 20 px. With a 3 px gap, 5 px was
    enough and B kept its first place."""
    markers = np.array([[100.0, 200.0], [150.0, 217.0]])
    sizes = np.array([NAME, NAME])
    offsets = label_offsets(markers, sizes, marker_radius_px=R)
    assert offsets.tolist() == [[10.5, 0.0], [10.5, 20.0]]
    loose = label_offsets(markers, sizes, marker_radius_px=R, name_gap_px=3.0)
    assert loose.tolist() == [[10.5, 0.0], [10.5, 0.0]]


def test_a_name_kept_inside_still_keeps_off_the_other_names() -> None:
    """Near the right edge, a second marker's places on the right all run off the view and
    its first place on the left (x 459.5…579.5) overlaps the first marker's name (x
    410.5…530.5, y 386…398): it goes a row up on the left (y 366…378, exactly the names'
    gap above). Unbounded, it keeps its first place on the right."""
    markers = np.array([[400.0, 392.0], [590.0, 392.0]])
    sizes = np.array([NAME, NAME])
    offsets = label_offsets(markers, sizes, marker_radius_px=R, view_px=VIEW)
    assert offsets.tolist() == [[10.5, 0.0], [-130.5, -20.0]]
    for box in _boxes(markers, offsets, sizes):
        assert VIEW[0] <= box[0] and box[2] <= VIEW[2] and VIEW[1] <= box[1] and box[3] <= VIEW[3]
    assert label_offsets(markers, sizes, marker_radius_px=R).tolist() == [[10.5, 0.0]] * 2


TAG = (16.0, 12.0)  # a target's number alone ("T1")


def test_a_name_with_no_place_near_its_marker_is_drawn_short() -> None:
    """A narrow view (180 px) with the left L5 root's target (T1, x 120) right of a
    right-sided one (T5, x 40) on its row, as on a small canvas: T1's whole name runs off
    the view on its right (x 130.5…250.5) and off it on its left, across T5's dot; so T1
    is drawn short, "T1", in its first place (x 130.5…146.5). T5's whole name finds a free
    place a row up (its row has T1's dot and number in it: 12 px and the names' gap = 20),
    near enough to keep it whole. Without short forms (`label_offsets`) T1 keeps the least
    bad place for its whole name: across T5's dot."""
    markers = [[120.0, 200.0], [40.0, 200.0]]
    narrow = (0.0, 0.0, 180.0, 400.0)
    places = label_places(markers, [NAME, NAME], [TAG, TAG], marker_radius_px=R, view_px=narrow)
    assert places.offsets.tolist() == [[10.5, 0.0], [10.5, -20.0]]
    assert places.short.tolist() == [True, False]
    whole = label_offsets(markers, [NAME, NAME], marker_radius_px=R, view_px=narrow)
    assert whole[0].tolist() != [10.5, 0.0]
