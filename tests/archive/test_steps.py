"""The decision steps of building the Encapsulated PDF, the SR and the SEG, one rule each."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from pydicom.dataset import Dataset

from blockplan.archive import encapdoc
from blockplan.archive.coding import PRIVATE_SCHEME, coding_scheme_identification
from blockplan.archive.encapdoc import _check_pdf, _set_document, _source_instances
from blockplan.archive.seg import (
    _exact_on_source,
    _place_masks,
    _region_masks,
    _share_one_orthogonal_grid,
)
from blockplan.archive.sr import (
    TrajectoryMeasurements,
    _finish,
    _scar_segment_numbers,
    _trajectory_measurements,
)
from blockplan.case.model import Case, MaskGrid, ScarRegion, Trajectory
from blockplan.errors import ArchiveError
from tests.archive._factory import Study

# --- Encapsulated PDF -----------------------------------------------------------------


def test_check_pdf_refuses_what_is_not_a_pdf() -> None:
    _check_pdf(b"%PDF-1.7\n%%EOF")
    with pytest.raises(ArchiveError, match=r"not a PDF \(starts with b'<html>"):
        _check_pdf(b"<html></html>")


def test_check_pdf_refuses_a_pdf_too_long_for_one_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encapdoc, "_MAX_PDF_BYTES", 16)
    _check_pdf(b"%PDF-" + b"x" * 10)  # 15 bytes: room for the padding byte
    with pytest.raises(ArchiveError, match=r"the report is 16 bytes; DICOM allows at most 15"):
        _check_pdf(b"%PDF-" + b"x" * 11)


@pytest.mark.parametrize("pdf", [b"%PDF-1.7 odd", b"%PDF-1.7 even"])
def test_document_padded_to_even_length_with_its_true_length(pdf: bytes) -> None:
    ds = Dataset()
    _set_document(ds, pdf)
    assert ds.EncapsulatedDocumentLength == len(pdf)
    assert len(ds.EncapsulatedDocument) % 2 == 0
    assert ds.EncapsulatedDocument[: len(pdf)] == pdf
    assert ds.EncapsulatedDocument[len(pdf) :] in (b"", b"\0")


def test_source_instances_name_each_image(study: Study) -> None:
    refs = _source_instances(study.headers[:2])
    assert [r.ReferencedSOPInstanceUID for r in refs] == [
        h.SOPInstanceUID for h in study.headers[:2]
    ]
    assert {r.ReferencedSOPClassUID for r in refs} == {study.headers[0].SOPClassUID}


# --- SR ---------------------------------------------------------------------------------


def _traj(case: Case) -> Trajectory:
    return case.trajectories[0]


def test_trajectory_metrics_by_target_id_first_then_own_id(case: Case) -> None:
    traj = _traj(case)
    by_target = TrajectoryMeasurements(path_length_mm=50.0)
    by_id = TrajectoryMeasurements(path_length_mm=60.0)
    assert _trajectory_measurements({traj.target_id: by_target, traj.id: by_id}, traj) == by_target
    assert _trajectory_measurements({traj.id: by_id}, traj) == by_id
    assert _trajectory_measurements({}, traj) == TrajectoryMeasurements()


def _seg_with(*tracking: str) -> Dataset:
    seg = Dataset()
    items = []
    for n, t in enumerate(tracking, start=1):
        item = Dataset()
        item.SegmentNumber = n
        item.TrackingID = t
        items.append(item)
    seg.SegmentSequence = items
    return seg


def test_scar_segment_numbers_from_tracking_ids_unless_given() -> None:
    seg = _seg_with("scar:a", "bone", "scar:b")
    assert _scar_segment_numbers(seg, None) == {"a": 1, "b": 3}
    assert _scar_segment_numbers(seg, {"b": 2}) == {"b": 2}  # given numbers win, all of them


def test_finish_declares_the_private_coding_scheme_once() -> None:
    sr = Dataset()
    _finish(sr, dt.datetime(2026, 3, 20, 10, 30, 5))
    assert (str(sr.ContentDate), str(sr.ContentTime)) == ("20260320", "103005")
    assert [s.CodingSchemeDesignator for s in sr.CodingSchemeIdentificationSequence] == [
        PRIVATE_SCHEME
    ]
    sr.CodingSchemeIdentificationSequence = [coding_scheme_identification()]
    _finish(sr, dt.datetime(2026, 3, 20, 10, 30, 5))
    designators = [s.CodingSchemeDesignator for s in sr.CodingSchemeIdentificationSequence]
    assert designators == [PRIVATE_SCHEME]


# --- SEG --------------------------------------------------------------------------------


def _volume_grid(study: Study, affine: np.ndarray | None = None, **kw: str) -> MaskGrid:
    vol = study.volume
    fields = {
        "shape": vol.shape,
        "affine": tuple(
            tuple(float(x) for x in row) for row in (vol.affine if affine is None else affine)
        ),
        "frame_of_reference_uid": vol.frame_of_reference_uid,
        "series_instance_uid": vol.series_instance_uid,
    }
    fields.update(kw)
    return MaskGrid(**fields)


def _box(grid: MaskGrid, rid: str = "s") -> ScarRegion:
    mask = np.zeros(grid.shape, dtype=bool)
    mask[2:5, 3:9, 4:10] = True
    return ScarRegion.from_mask(mask, grid, id=rid, label=rid, method="manual")


def test_region_masks_refuse_another_frame_of_reference(study: Study) -> None:
    region = _box(_volume_grid(study, frame_of_reference_uid="1.2.999"), "x")
    with pytest.raises(ArchiveError, match=r"scar region x: frame of reference 1\.2\.999 differs"):
        _region_masks([region], study.volume.frame_of_reference_uid)


def test_region_masks_refuse_an_empty_region(study: Study) -> None:
    grid = _volume_grid(study)
    empty = ScarRegion.from_mask(
        np.zeros(grid.shape, bool), grid, id="e", label="e", method="manual"
    )
    with pytest.raises(ArchiveError, match=r"scar region e is empty"):
        _region_masks([_box(grid), empty], study.volume.frame_of_reference_uid)


def _sheared(study: Study) -> MaskGrid:
    aff = np.array(study.volume.affine, dtype=float)
    aff[0, 2] += 0.6  # slices drift sideways: no exact index map, not orthogonal
    aff[:3, 3] += 0.3
    return _volume_grid(study, aff)


def test_exact_on_source_only_when_every_mask_maps_exactly(study: Study) -> None:
    exact, sheared = _box(_volume_grid(study)), _box(_sheared(study), "t")
    src = np.array(study.volume.affine, dtype=float)
    regions = [exact, sheared]
    masks = [r.mask() for r in regions]
    placed = _exact_on_source(masks[:1], regions[:1], src, study.volume.shape)
    assert placed is not None and (placed[0] == masks[0]).all()
    assert _exact_on_source(masks, regions, src, study.volume.shape) is None


def test_share_one_orthogonal_grid(study: Study) -> None:
    grid = _volume_grid(study)
    assert _share_one_orthogonal_grid([_box(grid, "a"), _box(grid, "b")])
    assert not _share_one_orthogonal_grid([_box(grid, "a"), _box(_sheared(study), "b")])
    assert not _share_one_orthogonal_grid([_box(_sheared(study), "b")])


def _place(study: Study, regions: list[ScarRegion], headers: list[Dataset]) -> str:
    masks = [r.mask() for r in regions]
    return _place_masks(masks, regions, headers, study.volume.frame_of_reference_uid)[0]


def test_placement_preference_source_grid_then_own_grid_then_resampled(study: Study) -> None:
    grid, sheared = _volume_grid(study), _sheared(study)
    irregular = study.headers[:5] + study.headers[6:]  # a slice missing: no source grid
    assert _place(study, [_box(grid)], study.headers) == "source-grid"
    assert _place(study, [_box(grid)], irregular) == "own-grid"
    assert _place(study, [_box(sheared)], study.headers) == "resampled"
    with pytest.raises(ArchiveError, match=r"irregular slice spacing and a sheared scar grid"):
        _place(study, [_box(sheared)], irregular)


def test_placed_array_one_segment_3d_several_4d(study: Study) -> None:
    grid = _volume_grid(study)
    masks = [_box(grid, "a").mask(), _box(grid, "b").mask()]
    for_uid = study.volume.frame_of_reference_uid
    _, one = _place_masks(masks[:1], [_box(grid, "a")], study.headers, for_uid)
    _, two = _place_masks(masks, [_box(grid, "a"), _box(grid, "b")], study.headers, for_uid)
    assert np.asarray(one).shape == study.volume.shape
    assert np.asarray(two).shape == (*study.volume.shape, 2)
