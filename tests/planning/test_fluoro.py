"""C-arm previews on synthetic data: the projection matrix, the DRR against analytic line
integrals, the views of a target and their angles in words."""

from __future__ import annotations

import math
import re

import numpy as np
import numpy.typing as npt
import pytest

from blockplan.case.model import Case, Target, Trajectory
from blockplan.case.vocab import BlockType, Laterality, Structure
from blockplan.errors import PlanningError
from blockplan.fluoro.drr import DrrOptions, compute_drr, to_display
from blockplan.fluoro.geometry import CArmGeometry, DetectorSpec
from blockplan.fluoro.preview import PlanOverlay, direction_letter, draw_preview
from blockplan.fluoro.views import (
    ViewKind,
    bullseye_beam,
    endplate_beam,
    oblique_beam,
    progression_beam,
    target_views,
)
from blockplan.planning import wording
from blockplan.planning.trajectory import c_arm_angles
from tests.planning._factory import affine, point, straight_spine, volume

# -- the projection matrix ----------------------------------------------------------------


def test_projection_matrix_is_the_hand_computed_pinhole() -> None:
    # PA beam (+y) through the isocentre (10, 20, 30); source 600 mm before it, detector
    # 1000 mm from the source; 101 x 81 pixels of 0.5 mm: f = 2000 px, principal (50, 40).
    # Image right = beam x up = y x z = +x (patient left), down = -z.
    det = DetectorSpec(1000.0, 600.0, 101, 81, 0.5)
    g = CArmGeometry.from_beam((10.0, 20.0, 30.0), (0.0, 2.0, 0.0), det)
    k = np.array([[2000.0, 0, 50], [0, 2000.0, 40], [0, 0, 1]])
    rt = np.array([[1.0, 0, 0, -10], [0, 0, -1, 30], [0, 1, 0, 580]])
    np.testing.assert_allclose(g.projection_matrix, k @ rt)
    np.testing.assert_allclose(g.source_lps, [10.0, -580.0, 30.0])
    # 6 mm left and 12 mm up in the isocentre plane: 2000 * 6 / 600 = 20 px right,
    # 40 px up; the same offsets 300 mm deeper: 2000 * 6 / 900 = 13.33 px.
    np.testing.assert_allclose(g.project((16.0, 20.0, 42.0)), (70.0, 0.0))
    np.testing.assert_allclose(g.project((16.0, 320.0, 30.0)), (50 + 40 / 3, 40.0))
    assert g.magnification_at((0.0, 20.0, 0.0)) == pytest.approx(1000 / 600)
    assert np.isnan(g.project((10.0, -700.0, 30.0))).all()  # behind the source


def test_every_pixel_ray_projects_back_to_its_pixel() -> None:
    g = CArmGeometry.from_beam((5.0, 60.0, -150.0), (0.4, 0.9, -0.2), DetectorSpec())
    cols, rows = np.meshgrid([0.0, 100.0, 511.0], [0.0, 255.5, 400.0])
    d = g.ray_directions(cols, rows)
    pts = g.source_lps + 750.0 * d.reshape(-1, 3)
    np.testing.assert_allclose(g.project(pts), np.c_[cols.ravel(), rows.ravel()], atol=1e-9)
    np.testing.assert_allclose(g.project(g.isocentre_lps), g.principal_point, atol=1e-9)


def test_detector_spec_refuses_a_source_beyond_the_detector() -> None:
    with pytest.raises(PlanningError, match=r"source–isocentre 1200 mm must lie between 0"):
        DetectorSpec(source_detector_mm=1000.0, source_isocentre_mm=1200.0)
    with pytest.raises(PlanningError, match=r"pixel pitch 0 mm"):
        DetectorSpec(pixel_mm=0.0)


# -- the DRR --------------------------------------------------------------------------------


def _cube_volume(hu: int = 1000, pad: int = -1000) -> tuple[npt.NDArray[np.int16], object]:
    """64 mm of 1 mm voxels, centred on the origin; a 30 mm cube (faces at ±15 mm)."""
    arr = np.full((64, 64, 64), pad, np.int16)
    arr[17:47, 17:47, 17:47] = hu
    return arr, volume(arr, affine(origin=(-31.5, -31.5, -31.5)))


def _chords(g: CArmGeometry, half: float) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Exact chord (mm) of every pixel's ray through the cube |x|,|y|,|z| <= half, and which
    rays stay >= 1.5 mm inside it except within 2 mm of where they enter and leave (a ray
    grazing a face samples its interpolated edge all along: no analytic comparison)."""
    det = g.detector
    d = g.ray_directions(np.arange(det.columns)[None, :], np.arange(det.rows)[:, None])
    src = g.source_lps
    with np.errstate(divide="ignore", invalid="ignore"):
        t1, t2 = (-half - src) / d, (half - src) / d
    t_in = np.nanmax(np.minimum(t1, t2), axis=-1)
    t_out = np.nanmin(np.maximum(t1, t2), axis=-1)
    chord = np.clip(t_out - t_in, 0.0, None)
    ts = t_in[..., None] + 2.0 + (t_out - t_in - 4.0)[..., None] * np.linspace(0, 1, 41)
    pts = src + ts[..., None] * d[..., None, :]
    depth = (half - np.abs(pts).max(axis=-1)).min(axis=-1)
    return chord, (chord > 10.0) & (depth >= 1.5)


@pytest.mark.parametrize(
    "beam", [(0.0, 1.0, 0.0), (0.479, 0.878, 0.2), (0.3, 0.2, 1.0), (1.0, 0.1, 0.05)]
)
def test_drr_of_a_cube_is_the_analytic_line_integral(beam: tuple[float, float, float]) -> None:
    _, vol = _cube_volume()
    det = DetectorSpec(1000.0, 600.0, 128, 128, 0.6)
    g = CArmGeometry.from_beam((1.2, -0.7, 2.3), beam, det)
    li = compute_drr(vol, g)  # type: ignore[arg-type]
    chord, ok = _chords(g, 15.0)
    assert ok.sum() > 1000
    exact = 0.02 * 2.0 * chord  # mu = mu_water (1 + 1000/1000) along the chord
    np.testing.assert_allclose(li[ok], exact[ok], rtol=0.01)
    outside = _chords(g, 16.5)[0] == 0  # rays that miss the cube by a voxel cross air only
    assert outside.sum() > 1000 and (li[outside] < 1e-6).all()
    finer = compute_drr(vol, g, DrrOptions(oversample=2))  # type: ignore[arg-type]
    np.testing.assert_allclose(finer[ok], exact[ok], rtol=0.01)


def test_bone_enhanced_adds_the_bone_term_and_padding_counts_as_air() -> None:
    _, vol = _cube_volume(pad=-3024)
    g = CArmGeometry.from_beam((0.0, 0.0, 0.0), (0.0, 1.0, 0.0), DetectorSpec(1000, 600, 128, 128))
    chord, ok = _chords(g, 15.0)
    plain = compute_drr(vol, g)  # type: ignore[arg-type]
    bone = compute_drr(vol, g, DrrOptions(bone_enhanced=True))  # type: ignore[arg-type]
    # mu = mu_water (2 + 2.0 * (1000 - 150) / 1000)
    np.testing.assert_allclose(bone[ok], 0.02 * 3.7 * chord[ok], rtol=0.01)
    outside = _chords(g, 16.5)[0] == 0
    assert outside.any() and plain.min() >= 0.0 and (plain[outside] < 1e-6).all()


def test_every_second_voxel_keeps_the_geometry() -> None:
    _, vol = _cube_volume()
    g = CArmGeometry.from_beam(
        (1.2, -0.7, 2.3), (0.479, 0.878, 0.2), DetectorSpec(1000, 600, 128, 128)
    )
    chord, ok = _chords(g, 15.0)
    quick = compute_drr(vol, g, DrrOptions(voxel_step=2))  # type: ignore[arg-type]
    # every second voxel: faces move by up to one voxel; compare rays well inside the cube
    middle = ok & (_chords(g, 12.0)[1])
    np.testing.assert_allclose(quick[middle], 0.04 * chord[middle], rtol=0.02)
    with pytest.raises(PlanningError, match=r"voxel step 5; expected 1, 2, 3 or 4"):
        DrrOptions(voxel_step=5)


def test_a_ct_wider_than_the_field_is_summed_only_where_the_detector_sees(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A CT larger than the C-arm's field of view: the slices are summed over the
    detector's footprint only, and every pixel is the very value of the whole sum."""
    from blockplan.fluoro import drr

    arr = np.full((48, 200, 200), -1000, np.int16)
    arr[10:38, 60:140, 60:140] = 400
    arr[:, 95:105, 95:105] = 1200  # a dense column through the isocentre
    vol = volume(arr, affine(origin=(-99.5, -99.5, -23.5)))
    g = CArmGeometry.from_beam(
        (0.0, 0.0, 0.0), (0.3, 0.95, 0.1), DetectorSpec(1000.0, 600.0, 96, 80, 0.6)
    )
    cropped = compute_drr(vol, g)
    slab = drr._choose_slab(vol, g)
    acc_seen, _, _ = drr._sum_slices(vol, slab, DrrOptions(), g)
    monkeypatch.setattr(drr, "_detector_footprint", lambda *_: None)
    whole = compute_drr(vol, g)
    acc_all, _, _ = drr._sum_slices(vol, slab, DrrOptions(), g)
    assert np.array_equal(cropped, whole)
    assert cropped.max() > 1.0  # the column is seen
    assert acc_seen.size * 4 < acc_all.size  # a 35 mm field of a 200 mm CT


def test_a_coarse_ct_is_converted_to_attenuation_once_and_freed_with_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The report's thumbnails (every second voxel) share one conversion of the CT; the
    images are those of the slice-by-slice conversion, and the kept copy goes with the CT."""
    import gc

    from blockplan.fluoro import drr

    arr, vol = _cube_volume()
    g = CArmGeometry.from_beam((1.2, -0.7, 2.3), (0.479, 0.878, 0.2), DetectorSpec())
    lateral = CArmGeometry.from_beam((0.0, 0.0, 0.0), (1.0, 0.05, 0.0), DetectorSpec())
    quick = DrrOptions(voxel_step=2)
    calls: list[tuple[int, ...]] = []
    convert = drr._attenuation

    def counted(hu: npt.NDArray[np.int16], options: DrrOptions) -> npt.NDArray[np.float32]:
        calls.append(hu.shape)
        return convert(hu, options)

    monkeypatch.setattr(drr, "_attenuation", counted)
    kept = [compute_drr(vol, geo, quick) for geo in (g, lateral, g)]  # type: ignore[arg-type]
    assert calls == [(32, 32, 32)]  # the whole coarse CT, once
    monkeypatch.setattr(drr, "_KEPT_VOXELS", 0)  # slice by slice, as before
    sliced = [compute_drr(vol, geo, quick) for geo in (g, lateral)]  # type: ignore[arg-type]
    assert len(calls) > 30
    assert np.array_equal(kept[0], sliced[0]) and np.array_equal(kept[1], sliced[1])
    assert drr._kept
    del arr, vol
    gc.collect()
    assert not drr._kept


def test_display_shows_dense_as_dark_unless_asked() -> None:
    li = np.array([[0.0, 1.0], [2.0, 4.0]], dtype=np.float32)
    dark = to_display(li, window=(0.0, 4.0))
    assert dark.tolist() == [[255, 191], [128, 0]]
    assert to_display(li, window=(0.0, 4.0), dense_dark=False).tolist() == [[0, 64], [128, 255]]
    # by default the window spans the rays through the body (line integral above 0.5)
    body = np.array([[0.0, 0.1], [1.0, 3.0]], dtype=np.float32)
    shown = to_display(body)
    assert shown[0].tolist() == [255, 255] and shown[1, 0] > 250 and shown[1, 1] < 5


def test_drr_refuses_mr_and_a_source_inside_the_volume() -> None:
    arr, vol = _cube_volume()
    mr = volume(arr, affine(origin=(-31.5, -31.5, -31.5)), modality="MR")
    g = CArmGeometry.from_beam((0.0, 0.0, 0.0), (0.0, 1.0, 0.0), DetectorSpec())
    with pytest.raises(PlanningError, match=r"series .* is MR, expected CT"):
        compute_drr(mr, g)
    near = CArmGeometry.from_beam((0, 0, 0), (0, 1, 0), DetectorSpec(100.0, 20.0, 64, 64))
    with pytest.raises(PlanningError, match=r"source lies inside .* increase the source"):
        compute_drr(vol, near)  # type: ignore[arg-type]


# -- views ----------------------------------------------------------------------------------


def _case(block: BlockType = BlockType.TRANSFORAMINAL_EPIDURAL, side: str = "left") -> Case:
    target = Target(
        id="tg",
        level="L4",
        side=Laterality(side),
        structure=Structure.NERVE_ROOT,
        block_type=block,
        position=point(20.0, 10.0, 40.0),
    )
    sign = 1.0 if side == "left" else -1.0
    traj = Trajectory(target_id="tg", entry=point(20.0 + sign * 30.0, 80.0, 50.0))
    return Case(
        case_id="c-1",
        levels=tuple(straight_spine()),
        targets=(target,),
        trajectories=(traj,),
    )


def test_bullseye_and_progression_beams() -> None:
    e, t = np.array([50.0, 80.0, 10.0]), np.array([20.0, 10.0, 0.0])
    b = bullseye_beam(e, t)
    np.testing.assert_allclose(b, (e - t) / np.linalg.norm(e - t))
    p = progression_beam(e, t)
    assert abs(float(p @ b)) < 1e-12 and p[1] >= 0 and p[0] < 0  # contralateral oblique
    np.testing.assert_allclose(progression_beam((0, 80, 10), (0, 10, 0)), (1, 0, 0), atol=1e-12)


def test_views_state_their_angles_with_the_path_wording() -> None:
    case = _case()
    views = {v.kind: v for v in target_views(case, "tg")}
    assert list(views) == [
        ViewKind.BULLSEYE,
        ViewKind.PROGRESSION,
        ViewKind.AP,
        ViewKind.OBLIQUE,
        ViewKind.LATERAL,
    ]
    a = c_arm_angles((50.0, 80.0, 50.0), (20.0, 10.0, 40.0))
    words = wording.c_arm_text(a.oblique_deg, a.oblique_side, a.tilt_deg, a.tilt_direction)
    assert views[ViewKind.BULLSEYE].c_arm == words == "23.2° left oblique, 7.5° cranial tilt"
    assert views[ViewKind.BULLSEYE].title == f"bull's-eye: {words}"
    # a straight spine along z: the AP view is straight AP, the oblique turns 25° to the left
    assert views[ViewKind.AP].c_arm == "straight AP (0.0° oblique), no tilt"
    assert views[ViewKind.OBLIQUE].c_arm == "25.0° left oblique, no tilt"
    assert views[ViewKind.LATERAL].c_arm == "90.0° left oblique, no tilt"
    right = {v.kind: v for v in target_views(_case(side="right"), "tg")}
    assert right[ViewKind.OBLIQUE].c_arm == "25.0° right oblique, no tilt"
    assert right[ViewKind.LATERAL].c_arm == "90.0° right oblique, no tilt"


def test_endplate_beam_is_perpendicular_to_a_lordotic_spine() -> None:
    spine = np.array([0.0, -math.sin(math.radians(18)), math.cos(math.radians(18))])
    b = endplate_beam(spine)
    assert abs(float(b @ spine)) < 1e-12 and b[0] == 0 and b[1] > 0
    a = c_arm_angles(b, (0.0, 0.0, 0.0))
    assert a.tilt_deg == pytest.approx(18.0) and a.tilt_direction == "cranial"
    turned = oblique_beam(b, spine, Laterality.RIGHT, 30.0)
    assert turned[0] < 0 and abs(float(turned @ spine)) < 1e-12
    assert math.degrees(math.acos(float(turned @ b))) == pytest.approx(30.0)


def test_views_refuse_what_they_cannot_show() -> None:
    case = _case(block=BlockType.SELECTIVE_NERVE_ROOT)
    assert ViewKind.OBLIQUE not in {v.kind for v in target_views(case, "tg")}
    name = wording.target_names(case.targets)["tg"]  # "T1 · L5 left SNRB", not "tg"/"snrb"
    with pytest.raises(PlanningError, match=rf"oblique: {re.escape(name)} is not a facet"):
        target_views(case, "tg", kinds=[ViewKind.OBLIQUE])
    with pytest.raises(PlanningError, match=r"no target 'nope' in case c-1"):
        target_views(case, "nope")
    no_path = case.evolve(trajectories=())
    with pytest.raises(PlanningError, match=rf"bullseye: {re.escape(name)} has no planned path"):
        target_views(no_path, "tg", kinds=[ViewKind.BULLSEYE])
    flat = target_views(no_path.evolve(levels=()), "tg", kinds=[ViewKind.AP])[0]
    assert flat.c_arm == "straight AP (0.0° oblique), no tilt"
    assert flat.notes[0].startswith("the AP view is not tilted (endplates not squared): ")
    # its name says so too (it read "AP, endplates squared" above a note saying they are not)
    assert flat.title == "AP, endplates not squared: straight AP (0.0° oblique), no tilt"
    assert not flat.endplates_squared
    squared = target_views(no_path, "tg", kinds=[ViewKind.AP])[0]
    assert squared.endplates_squared and squared.title.startswith("AP, endplates squared: ")
    no_level = no_path.replace_item(
        "targets", no_path.target("tg").model_copy(update={"level": None})
    )
    unlevelled = target_views(no_level, "tg", kinds=[ViewKind.AP])[0]
    assert unlevelled.notes == (
        "the AP view is not tilted (endplates not squared): the target has no level",
    )
    assert not any("PA" in n for n in (*flat.notes, *unlevelled.notes))


# -- the drawn preview ----------------------------------------------------------------------


def _letter_box(rgb: npt.NDArray[np.uint8], edge: str) -> npt.NDArray[np.uint8]:
    """The part of a preview where an edge letter is drawn (a generous margin around it)."""
    h, w = rgb.shape[:2]
    if edge == "right":
        return rgb[h // 2 - 20 : h // 2 + 20, w - 30 :]
    return rgb[h - 30 :, w // 2 - 20 : w // 2 + 20]


def test_the_edge_letters_read_alike_on_air_and_on_bone() -> None:
    """The letters of the patient's directions (here L at the right edge, F at the bottom
    of an AP view) are drawn white in a black box: the same pixels whether the DRR there
    is air (white: dense is dark) or bone (black). A white letter with a thin outline, as
    before, was a smudge on air in the report's 41 mm thumbnails."""
    (view,) = target_views(
        _case(), "tg", DetectorSpec(1000.0, 600.0, 256, 256), kinds=(ViewKind.AP,)
    )
    far = PlanOverlay(target_px=(60.0, 60.0), entry_px=None, levels=(), roots=())
    drawn = {
        shade: draw_preview(np.full((256, 256), shade, np.uint8), far, view, "T1", labels=False)
        for shade in (255, 0)
    }
    for edge in ("right", "bottom"):
        on_air, on_bone = (_letter_box(drawn[s], edge) for s in (255, 0))
        rows, cols = np.nonzero(on_air.max(axis=2) < 30)  # the black box, seen on air
        box = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
        assert rows.size > 60 and (on_air[box].min(axis=2) > 128).sum() > 15, edge  # a letter
        assert np.array_equal(on_air[box], on_bone[box]), edge
    assert (
        direction_letter(view.geometry.right) == "L" and direction_letter(view.geometry.down) == "F"
    )


def test_the_plan_is_drawn_over_an_edge_letter() -> None:
    """A skin entry far from its target can lie at the middle of the right edge, where the
    letter is: the entry's green ring and the path stay whole over the letter's box."""
    (view,) = target_views(
        _case(), "tg", DetectorSpec(1000.0, 600.0, 256, 256), kinds=(ViewKind.AP,)
    )
    at_the_letter = PlanOverlay(
        target_px=(128.0, 128.0), entry_px=(246.0, 128.0), levels=(), roots=()
    )
    rgb = draw_preview(np.full((256, 256), 255, np.uint8), at_the_letter, view, "T1", labels=False)
    box = _letter_box(rgb, "right").astype(int)
    green = (box[..., 1] > 150) & (box[..., 0] < 100) & (box[..., 2] < 120)
    assert green.sum() > 10
    ring = rgb[128 - 8 : 128 + 9, 246 - 8 : 246 + 9].astype(int)
    ring_green = (ring[..., 1] > 150) & (ring[..., 0] < 100) & (ring[..., 2] < 120)
    assert ring_green[:, :8].any() and ring_green[:, 9:].any()  # both sides of the ring


def test_a_level_name_under_the_caption_is_left_out() -> None:
    """The labelled preview (the dock, ``blockplan fluoro``) writes the target and the view
    at its top left: a level whose name would fall there (a level near the top of the
    field) is left out rather than written over it; the others are written."""
    (view,) = target_views(
        _case(), "tg", DetectorSpec(1000.0, 600.0, 256, 256), kinds=(ViewKind.AP,)
    )
    gray = np.full((256, 256), 128, np.uint8)

    def drawn(levels: tuple[tuple[str, tuple[float, float]], ...]) -> npt.NDArray[np.uint8]:
        overlay = PlanOverlay(target_px=(200.0, 200.0), entry_px=None, levels=levels, roots=())
        return draw_preview(gray, overlay, view, "T1 · L4 left TFESI", labels=True)

    bare = drawn(())
    under = drawn((("L2-L3", (20.0, 10.0)),))
    assert np.array_equal(under, bare)  # nothing written over the caption
    apart = drawn((("L4", (120.0, 150.0)),))
    assert not np.array_equal(apart[140:165, 120:160], bare[140:165, 120:160])  # written


def test_the_caption_is_written_over_a_dimmed_band() -> None:
    """A root's ring (or the path) crossing the caption at the top left of the labelled
    preview (the dock, ``blockplan fluoro``) had run through its words: under the words the
    picture is dimmed, the ring still seen there but no longer at full strength."""
    (view,) = target_views(
        _case(), "tg", DetectorSpec(1000.0, 600.0, 256, 256), kinds=(ViewKind.AP,)
    )
    gray = np.full((256, 256), 255, np.uint8)  # air: white
    ring = PlanOverlay(
        target_px=(200.0, 200.0), entry_px=None, levels=(), roots=(("L3 left", (30.0, 8.0), 9.0),)
    )
    rgb = draw_preview(gray, ring, view, "T1 · L4 left TFESI", labels=True).astype(int)
    band = rgb[4:13, 2:60]  # the first caption line
    red, green, blue = band[..., 0], band[..., 1], band[..., 2]
    orange = (red > 200) & (green > 100) & (green < 180) & (blue < 60)
    dimmed = (red > 80) & (red < 120) & (blue < 30)
    assert not orange.any() and dimmed.any()
    assert (band.min(axis=2) > 200).sum() > 20  # the words, white
    assert (band.max(axis=2) < 110).mean() > 0.3  # on the dimmed band (air was white)
    below = rgb[40:60, 2:60]
    assert (below.min(axis=2) == 255).all()  # the picture under no words is untouched
