"""The named steps of header reading, grouping, grid planning and loading, one rule each."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import RLELossless

from blockplan.errors import SeriesRefusedError
from blockplan.io import discover
from blockplan.io._headers import (
    FrameHeader,
    _classic_positions,
    _enhanced_frame,
    _image_type,
    _rescale_slope,
)
from blockplan.io.discovery import (
    _drop_duplicate_instances,
    _hard_groups,
    _part_keys,
    _repeat_parts,
)
from blockplan.io.geometry import (
    BlendPlan,
    _fit_slice_line,
    _plan_blend,
    _plan_tilt,
    _refuse_repeated_positions,
    _single_slice_grid,
)
from blockplan.io.loader import _blended_sop_uids, _read_readable, _skipped_messages
from tests.io._dicom_factory import SeriesSpec, phantom, write_series

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def _frame(**kw: Any) -> FrameHeader:
    """A header-only axial frame; keywords override any field."""
    fields: dict[str, Any] = dict(
        path="/data/IM0001.dcm",
        frame_index=0,
        n_frames_in_file=1,
        sop_instance_uid="1.2.3.1",
        series_instance_uid="1.2.3",
        study_instance_uid="1.2",
        frame_of_reference_uid="1.2.4",
        modality="CT",
        series_number=3,
        series_description="",
        instance_number=1,
        acquisition_number="1",
        echo_numbers="",
        image_type=("ORIGINAL", "PRIMARY", "AXIAL"),
        temporal_position="",
        rows=4,
        columns=4,
        samples_per_pixel=1,
        bits_allocated=16,
        bits_stored=16,
        pixel_representation=1,
        photometric_interpretation="MONOCHROME2",
        transfer_syntax_uid="1.2.840.10008.1.2.1",
        position=(0.0, 0.0, 0.0),
        orientation=AXIAL,
        pixel_spacing=(1.0, 1.0),
        slice_thickness=2.0,
        rescale_slope=1.0,
        rescale_intercept=0.0,
    )
    fields.update(kw)
    return FrameHeader(**fields)


def _item(**kw: Any) -> Dataset:
    ds = Dataset()
    for key, value in kw.items():
        setattr(ds, key, value)
    return ds


def _seq_item(keyword: str, **kw: Any) -> Dataset:
    """A functional-group item holding one ``keyword`` sequence item with ``kw``."""
    return _item(**{keyword: [_item(**kw)]})


# --- header reading -----------------------------------------------------------------------
def test_rescale_slope_dose_grid_scaling_takes_its_place() -> None:
    assert _rescale_slope(_item(RescaleSlope="2.5")) == 2.5
    assert _rescale_slope(_item(RescaleSlope="2.5", DoseGridScaling="0.001")) == 0.001
    assert _rescale_slope(_item()) == 1.0
    assert _rescale_slope(_item(RescaleSlope="0")) == 1.0  # a zero slope would erase the image


def test_image_type_upper_case_without_blank_values() -> None:
    assert _image_type("original\\PRIMARY\\ \\localizer") == ("ORIGINAL", "PRIMARY", "LOCALIZER")
    assert _image_type("") == ()


def test_classic_positions_single_frame_at_its_position() -> None:
    assert _classic_positions((1.0, 2.0, 3.0), AXIAL, (), 1) == [(1.0, 2.0, 3.0)]


def test_classic_positions_rt_dose_offsets_along_the_normal() -> None:
    pos = _classic_positions((1.0, 2.0, 3.0), AXIAL, (0.0, 2.5, 5.0), 3)
    assert pos == [(1.0, 2.0, 3.0), (1.0, 2.0, 5.5), (1.0, 2.0, 8.0)]


@pytest.mark.parametrize(
    ("base_pos", "base_ori", "offsets"),
    [
        ((1.0, 2.0, 3.0), AXIAL, ()),  # no GridFrameOffsetVector
        ((1.0, 2.0, 3.0), AXIAL, (0.0, 2.5)),  # one offset short
        (None, AXIAL, (0.0, 2.5, 5.0)),
        ((1.0, 2.0, 3.0), None, (0.0, 2.5, 5.0)),
    ],
)
def test_classic_positions_multi_frame_without_offsets_has_none(
    base_pos: Any, base_ori: Any, offsets: Any
) -> None:
    assert _classic_positions(base_pos, base_ori, offsets, 3) == [None, None, None]


def _base(**kw: Any) -> dict[str, Any]:
    fields: dict[str, Any] = dict(
        sop_instance_uid="1.2.3.1",
        acquisition_number="1",
        echo_numbers="1",
        image_type=("ORIGINAL", "PRIMARY"),
        temporal_position="",
        orientation=AXIAL,
        pixel_spacing=(1.0, 1.0),
        slice_thickness=2.0,
        rescale_slope=1.0,
        rescale_intercept=0.0,
        window_centers=(40.0,),
        window_widths=(400.0,),
        window_explanations=("SOFT",),
        lossy=False,
    )
    fields.update(kw)
    return fields


def _common() -> dict[str, Any]:
    """The file-level fields of `_frame` (what `_file_fields` gives every frame)."""
    per_frame = {*_base(), "frame_index", "position", "enhanced", "pixel_problem"}
    return {k: v for k, v in asdict(_frame()).items() if k not in per_frame}


def test_enhanced_frame_per_frame_groups_win_over_shared_then_file_values() -> None:
    shared = _item(
        PlanePositionSequence=[_item(ImagePositionPatient=[0, 0, 0])],
        PixelMeasuresSequence=[_item(PixelSpacing=[0.5, 0.5])],
        PixelValueTransformationSequence=[_item(RescaleSlope=2, RescaleIntercept=-1024)],
    )
    per = _seq_item("PlanePositionSequence", ImagePositionPatient=[0, 0, 7.5])
    f = _enhanced_frame(2, per, shared, _base(), _common())
    assert (f.frame_index, f.enhanced) == (2, True)
    assert f.position == (0.0, 0.0, 7.5)  # per-frame
    assert f.pixel_spacing == (0.5, 0.5) and f.slice_thickness == 2.0  # shared; file's
    assert (f.rescale_slope, f.rescale_intercept) == (2.0, -1024.0)
    assert f.orientation == AXIAL and f.window_explanations == ("SOFT",)  # file's own


def test_enhanced_frame_without_plane_position_has_no_position() -> None:
    f = _enhanced_frame(0, None, _item(), _base(), _common())
    assert f.position is None  # never the file's ImagePositionPatient


def test_enhanced_frame_type_echo_and_temporal_position_from_groups() -> None:
    per = _item(
        MRImageFrameTypeSequence=[_item(FrameType="DERIVED\\SECONDARY")],
        MREchoSequence=[_item(EffectiveEchoTime=96.0)],
        FrameContentSequence=[_item(TemporalPositionIndex=3)],
    )
    f = _enhanced_frame(0, per, None, _base(), _common())
    assert f.image_type == ("DERIVED", "SECONDARY")  # replaces ImageType
    assert (f.echo_numbers, f.temporal_position) == ("96.0", "3")


# --- grouping -------------------------------------------------------------------------
def test_duplicate_copies_of_an_instance_count_once() -> None:
    a = _frame(path="/a/IM1.dcm")
    copy = _frame(path="/b/IM1.dcm")  # same SOPInstanceUID and frame
    other_frame = _frame(frame_index=1)
    no_uid = [_frame(sop_instance_uid=""), _frame(sop_instance_uid="")]
    kept, dropped = _drop_duplicate_instances([a, copy, other_frame, *no_uid])
    assert kept == [a, other_frame, *no_uid] and dropped == 1


def test_hard_groups_split_by_study_frame_of_reference_size_and_localizer() -> None:
    frames = [
        _frame(),
        _frame(study_instance_uid="9.9"),
        _frame(frame_of_reference_uid="9.8"),
        _frame(rows=8),
        _frame(image_type=("ORIGINAL", "PRIMARY", "LOCALIZER")),
        _frame(sop_instance_uid="1.2.3.2", position=(0.0, 0.0, 2.0)),
    ]
    groups = list(_hard_groups(frames).values())
    assert [len(g) for g in groups] == [2, 1, 1, 1, 1]


def _stack(n: int, **kw: Any) -> list[FrameHeader]:
    return [
        _frame(sop_instance_uid=f"1.2.3.{k}", position=(0.0, 0.0, 2.0 * k), **kw) for k in range(n)
    ]


def test_repeat_parts_keep_a_stack_without_repeats_whole() -> None:
    frames = _stack(3)
    assert _repeat_parts({"size": "4x4"}, frames, []) == [({"size": "4x4"}, frames, [])]


def test_repeat_parts_split_repeated_positions_by_acquisition_number() -> None:
    first, second = _stack(3, acquisition_number="1"), _stack(3, acquisition_number="2")
    parts = _repeat_parts({"size": "4x4"}, first + second, ["note"])
    assert parts == [
        ({"size": "4x4", "acq": "1"}, first, ["note"]),
        ({"size": "4x4", "acq": "2"}, second, ["note"]),
    ]


def test_repeat_parts_folder_split_named_by_hash_not_path() -> None:
    a = [replace(f, path=f"/export/a/IM{k}.dcm") for k, f in enumerate(_stack(2))]
    b = [replace(f, path=f"/export/b/IM{k}.dcm") for k, f in enumerate(_stack(2))]
    parts = _repeat_parts({}, a + b, [])
    assert [len(p[1]) for p in parts] == [2, 2]
    assert all(set(p[0]) == {"folder"} and "export" not in p[0]["folder"] for p in parts)


def test_repeat_parts_mark_repeats_nothing_tells_apart() -> None:
    frames = _stack(2) + _stack(2)
    assert _repeat_parts({}, frames, ["note"]) == [({}, frames, ["note", "__repeats__"])]


def test_part_keys_name_only_the_attributes_that_differ() -> None:
    parts = [
        ({"size": "4x4", "orientation": "axial"}, [], []),
        ({"size": "4x4", "orientation": "sagittal"}, [], []),
    ]
    assert _part_keys("1.2.3", parts) == ["1.2.3|orientation=axial", "1.2.3|orientation=sagittal"]


def test_part_keys_number_stacks_that_look_alike() -> None:
    parts = [
        ({"orientation": "oblique"}, [], []),
        ({"orientation": "oblique"}, [], []),
        ({"orientation": "axial"}, [], []),
    ]
    assert _part_keys("1.2.3", parts) == [
        "1.2.3|orientation=oblique,stack=1",
        "1.2.3|orientation=oblique,stack=2",
        "1.2.3|orientation=axial",
    ]
    assert _part_keys("1.2.3", parts[:2]) == ["1.2.3|stack=1", "1.2.3|stack=2"]


# --- grid planning ----------------------------------------------------------------------
X, Y, Z = np.eye(3)


def test_single_slice_grid_steps_by_slice_thickness() -> None:
    grid = _single_slice_grid(_frame(slice_thickness=3.0), "Series 3", (0,), np.zeros(3), X, Y, Z)
    assert grid.shape == (1, 4, 4) and grid.spacing == (1.0, 1.0, 3.0)
    assert grid.note == "single slice; slice step from SliceThickness 3.00 mm"


@pytest.mark.parametrize("thickness", [None, 0.0])
def test_single_slice_grid_refused_without_slice_thickness(thickness: float | None) -> None:
    with pytest.raises(SeriesRefusedError, match=r"^Series 3: a single image without SliceThick"):
        _single_slice_grid(
            _frame(slice_thickness=thickness), "Series 3", (0,), np.zeros(3), X, Y, Z
        )


def test_repeated_positions_refused_below_the_duplicate_tolerance() -> None:
    _refuse_repeated_positions(np.array([2.0, 0.011, 2.0]), "Series 3")
    with pytest.raises(SeriesRefusedError, match=r"^Series 3: 2 slice position\(s\) occur more"):
        _refuse_repeated_positions(np.array([2.0, 0.005, 0.0, 2.0]), "Series 3")


def _line(d: list[float]) -> tuple[np.ndarray, np.ndarray]:
    p = np.array([[0.0, 0.0, z] for z in d])
    return p, np.diff(np.array(d))


def test_fit_slice_line_regular_within_two_percent_of_the_median() -> None:
    p, spacings = _line([0.0, 5.0, 10.09, 15.0])  # 5.09 is within max(0.05, 0.1) of 5.0
    step, _origin, regular = _fit_slice_line(p, spacings, 5.0)
    assert regular
    np.testing.assert_allclose(step, [0.0, 0.0, 5.0], atol=0.05)


def test_fit_slice_line_irregular_beyond_the_tolerance() -> None:
    p, spacings = _line([0.0, 5.0, 10.2, 15.2])  # 5.2: 0.2 mm off the median
    assert not _fit_slice_line(p, spacings, 5.0)[2]
    p, spacings = _line([0.0, 2.5, 5.0, 10.0, 12.5])  # a missing slice
    assert not _fit_slice_line(p, spacings, 2.5)[2]


def test_plan_blend_resamples_to_the_median_spacing() -> None:
    p, _ = _line([0.0, 2.5, 5.0, 10.0, 12.5])
    d = p[:, 2]
    blend, step, origin = _plan_blend("Series 3", p, d, 2.5)
    assert blend == BlendPlan(
        k0=(0, 1, 2, 2, 3, 3), w=(0.0, 0.0, 0.0, 0.5, 0.0, 1.0), spacing_mm=2.5
    )
    np.testing.assert_allclose(step, [0.0, 0.0, 2.5])
    np.testing.assert_allclose(origin, [0.0, 0.0, 0.0], atol=1e-12)


def test_plan_blend_refused_when_positions_leave_a_straight_line() -> None:
    p, _ = _line([0.0, 2.5, 5.0, 10.0, 12.5])
    p[2, 0] = 1.0  # one slice 1 mm to the side
    with pytest.raises(SeriesRefusedError, match=r"^Series 3: slice positions lie up to"):
        _plan_blend("Series 3", p, p[:, 2], 2.5)


def test_plan_tilt_small_drift_snaps_to_the_normal() -> None:
    step = np.array([0.01, 0.0, 2.0])  # 0.09 mm drift over 10 slices
    out = _plan_tilt(step, np.zeros(3), Z, X, Y, (10, 4, 4), "shear")
    np.testing.assert_array_equal(out.step, [0.0, 0.0, 2.0])
    assert (out.tilt_deg, out.plan, out.note, out.shape) == (0.0, None, "", (10, 4, 4))


def test_plan_tilt_shear_keeps_the_sheared_step() -> None:
    step = np.array([0.0, 0.5, 2.0])
    out = _plan_tilt(step, np.zeros(3), Z, X, Y, (10, 4, 4), "shear")
    np.testing.assert_array_equal(out.step, step)
    assert out.plan is None and out.note == "sheared (gantry tilt 14.0°)"


def test_plan_tilt_resample_widens_the_grid_to_cover_the_stack() -> None:
    step = np.array([0.0, 0.5, 2.0])
    out = _plan_tilt(step, np.zeros(3), Z, X, Y, (10, 4, 4), "resample")
    np.testing.assert_array_equal(out.step, [0.0, 0.0, 2.0])
    assert out.shape == (10, 9, 4)  # 9 × 0.5 mm drift: 5 more rows
    assert out.plan is not None and out.plan.shift == (0.0, 0.5)
    assert out.note.startswith("resampled to an orthogonal grid (gantry tilt 14.0°")


def test_plan_tilt_unknown_mode_refused_only_when_tilted() -> None:
    step = np.array([0.0, 0.5, 2.0])
    with pytest.raises(ValueError, match="tilt must be 'shear' or 'resample'"):
        _plan_tilt(step, np.zeros(3), Z, X, Y, (10, 4, 4), "rotate")  # type: ignore[arg-type]


# --- loading --------------------------------------------------------------------------
def test_skipped_messages_say_what_became_of_each_file() -> None:
    bad = {"/d/IM2.dcm": "file truncated", "/d/IM1.dcm": "pixel data too short"}
    grid = _single_slice_grid(_frame(), "Series 3", (0,), np.zeros(3), X, Y, Z)
    assert _skipped_messages("Series 3", bad, grid) == [
        "Series 3: skipped IM1.dcm (pixel data too short); the remaining slices form a "
        "complete stack.",
        "Series 3: skipped IM2.dcm (file truncated); the remaining slices form a complete stack.",
    ]
    blended = replace(grid, blend=BlendPlan(k0=(0,), w=(0.0,), spacing_mm=1.0))
    assert _skipped_messages("Series 3", bad, blended)[0].endswith(
        "its slice was interpolated from the neighbours (allow_gaps=True)."
    )


def test_blended_slices_take_the_uid_of_the_nearer_source_slice() -> None:
    blend = BlendPlan(k0=(0, 0, 1, 1), w=(0.0, 0.49, 0.5, 1.0), spacing_mm=1.0)
    assert _blended_sop_uids(("a", "b", "c"), blend) == ("a", "a", "c", "c")


def test_read_readable_drops_an_undecodable_end_slice_and_replans(tmp_path: Path) -> None:
    paths = write_series(tmp_path, SeriesSpec(phantom((5, 16, 16))), tsuid=RLELossless)
    data = bytearray(paths[4].read_bytes())
    # damage the RLE segments, keep the file length and the sequence delimiter (the
    # last 8 bytes; damaging those is now found by discovery already)
    data[-208:-8] = b"\xff" * 200
    paths[4].write_bytes(bytes(data))
    frames = list(discover(tmp_path).series[0].frames)
    bad: dict[str, str] = {}
    grid, ordered, stored = _read_readable(frames, "Series 3", bad, False, "shear")
    assert grid.shape == (4, 16, 16) and stored.shape == (4, 16, 16)
    assert [Path(f.path).name for f in ordered] == [p.name for p in paths[:4]]
    assert list(bad) == [str(paths[4])] and bad[str(paths[4])].startswith("cannot decode")
