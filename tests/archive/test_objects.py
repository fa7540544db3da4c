"""Encapsulated PDF, SR and SEG: attributes, round trips, dciodvfy."""

from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import EncapsulatedPDFStorage

from blockplan.archive import (
    PatientStudyInfo,
    build_measurement_report,
    build_scar_seg,
    case_from_archive,
    encapsulate_pdf,
    extract_pdf,
    read_seg_scar,
    read_sr,
    validate_dataset,
)
from blockplan.archive._common import dataset_bytes
from blockplan.archive.bundle import ArchiveObjects
from blockplan.archive.coding import PRIVATE_SCHEME, level_code, level_from_code
from blockplan.archive.sr import _groups, _tracking_text
from blockplan.archive.validate import dciodvfy_path
from blockplan.case.model import Case, MaskGrid, ScarRegion
from blockplan.errors import ArchiveError
from blockplan.io.volume import interpolated_statement
from blockplan.planning import SafetyVerdict
from tests.archive._factory import Study, reoriented_grid

needs_dciodvfy = pytest.mark.skipif(dciodvfy_path() is None, reason="dicom3tools not installed")


def reread(ds: Dataset) -> Dataset:
    return pydicom.dcmread(io.BytesIO(dataset_bytes(ds)))


def lps_set(region: ScarRegion) -> set[tuple[float, ...]]:
    k, j, i = np.nonzero(region.mask())
    pts = region.grid.affine_array() @ np.stack([i, j, k, np.ones_like(i)])
    return {tuple(p) for p in np.round(pts[:3].T, 3)}


# --- Encapsulated PDF -------------------------------------------------------------------
@pytest.mark.parametrize("odd", [True, False])
def test_encapsulated_pdf_attributes(study: Study, odd: bool) -> None:
    pdf = b"%PDF-1.7\n% test\n%%EOF\n" + (b"x" if odd else b"")
    ds = reread(encapsulate_pdf(pdf, study.headers[0], "Block plan", source_images=study.headers))
    src = study.headers[0]
    assert ds.SOPClassUID == EncapsulatedPDFStorage == "1.2.840.10008.5.1.4.1.1.104.1"
    assert ds.Modality == "DOC" and ds.ConversionType == "WSD" and ds.BurnedInAnnotation == "YES"
    assert ds.MIMETypeOfEncapsulatedDocument == "application/pdf"
    assert ds.DocumentTitle == "Block plan"
    assert ds.ConceptNameCodeSequence[0].CodeValue == "11488-4"
    assert ds.StudyInstanceUID == src.StudyInstanceUID
    assert ds.SeriesInstanceUID != src.SeriesInstanceUID
    for keyword in (
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "PatientSex",
        "AccessionNumber",
        "StudyDate",
        "ReferringPhysicianName",
    ):
        assert str(ds[keyword].value) == str(src[keyword].value), keyword
    assert len(ds.EncapsulatedDocument) % 2 == 0
    assert ds.EncapsulatedDocumentLength == len(pdf)
    assert extract_pdf(ds) == pdf
    assert len(ds.SourceInstanceSequence) == len(study.headers)


def test_encapsulated_pdf_from_info_and_refusals(study: Study) -> None:
    info = PatientStudyInfo.from_dataset(study.headers[0])
    ds = encapsulate_pdf(b"%PDF-1.4\n%%EOF", info, "t")
    assert ds.StudyInstanceUID == study.headers[0].StudyInstanceUID
    with pytest.raises(ArchiveError, match="not a PDF"):
        encapsulate_pdf(b"<html>", info, "t")
    bad = Dataset()
    with pytest.raises(ArchiveError, match="no StudyInstanceUID"):
        PatientStudyInfo.from_dataset(bad)
    with pytest.raises(ArchiveError, match="not an Encapsulated PDF"):
        extract_pdf(study.headers[0])


# --- SR ------------------------------------------------------------------------------------
def test_sr_round_trip(objects: ArchiveObjects, case: Case) -> None:
    plan = read_sr(reread(objects.sr))
    assert [t.id for t in plan.targets] == [t.id for t in case.targets]
    for got, want in zip(plan.targets, case.targets):
        assert np.allclose(got.position.lps, want.position.lps, atol=0.01)
        assert got.position.frame_of_reference_uid == want.position.frame_of_reference_uid
        assert got.model_dump(exclude={"position", "notes"}) == want.model_dump(
            exclude={"position", "notes"}
        )
    for got_t, want_t in zip(plan.trajectories, case.trajectories):
        assert (got_t.id, got_t.target_id) == (want_t.id, want_t.target_id)
        assert np.allclose(got_t.entry.lps, want_t.entry.lps, atol=0.01)
    m = plan.measurements["r1"]
    assert m.needle_length_mm == 89.0 and m.oblique_side == "right" and m.oblique_deg == 23.25
    assert m.tilt_direction == "cranial" and m.landmark_clearance_mm == 3.25
    assert m.scar_distance_mm is None  # no scar near: not archived
    assert (m.clearance_kind, m.clearance_level, m.clearance_side) == ("nerve_root", "L5", "right")
    assert m.safe is True and m.verdict is SafetyVerdict.SAFE
    assert m.structures == ((3.25, "nerve_root", "L5", "right"), (9.0, "thecal_sac", "L5", None))
    assert m.bone_clearance_mm == 4.5
    words = m.words()
    assert words is not None
    assert words.c_arm == "23.2° right oblique, 7.5° cranial tilt"
    assert words.clearance == "3.2 mm from nerve root L5 right"
    assert words.verdict == "safe"
    assert words.safety == (
        "safe — clear of nerve root L5 right 3.2 mm, thecal sac L5 9.0 mm, bone 4.5 mm, "
        "no scar marked"
    )
    # the second path was checked against nothing: "not assessed", never "yes"
    other = plan.measurements["r2"]
    assert other.verdict is SafetyVerdict.NOT_ASSESSED and other.safe is False
    assert other.structures == () and other.bone_clearance_mm is None
    unassessed = other.words()
    assert unassessed is not None and unassessed.safety == (
        "not assessed — mark the roots and thecal sac; load the CT to check bone"
    )
    # targets are named in the SR as on the screen and in the report, labels kept apart
    names = [_tracking_text(g) for g in _groups(objects.sr.ContentSequence)]
    assert "target:t1 T1 · L5 right TFESI | L5 right root" in names
    assert "target:t2 T2 · L4-L5 left MBB" in names
    assert "trajectory:r1 target:t1 T1 · L5 right TFESI" in names
    region = case.scar_regions[0]
    assert plan.scar_volume_ml["scar1"] == pytest.approx(region.volume_ml)
    assert plan.scar_volume_ml_per_level["scar1"] == region.volume_ml_per_level


def test_sr_codes(objects: ArchiveObjects) -> None:
    sr = objects.sr
    assert sr.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.34"  # Comprehensive 3D SR
    assert sr.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    schemes = [s.CodingSchemeDesignator for s in sr.CodingSchemeIdentificationSequence]
    assert PRIVATE_SCHEME in schemes
    text = str(sr)
    assert "SCOORD3D" in text and "POINT" in text and "POLYLINE" in text
    assert "Referenced Segment" in text
    for level in ("L5", "L4-L5", "L5-S1", "S1", "C1-C2"):
        assert level_from_code(level_code(level)) == level
    assert level_code("L5").scheme_designator == "SCT"


@needs_dciodvfy
def test_sr_states_an_interpolated_planning_series(study: Study, case: Case) -> None:
    assert read_sr(build_measurement_report(case, study.headers)).statements == ()
    assert case.study is not None
    ref = case.study.series[0].model_copy(update={"interpolated": True})
    resampled = case.evolve(study=case.study.model_copy(update={"series": (ref,)}))
    sr = reread(build_measurement_report(resampled, study.headers))
    assert read_sr(sr).statements == (interpolated_statement("CT series 3"),)
    result = validate_dataset(sr)
    assert result.errors == (), result.errors
    assert all(PRIVATE_SCHEME in w for w in result.warnings), result.warnings


def test_sr_refusals(study: Study, case: Case) -> None:
    empty = case.evolve(targets=(), trajectories=(), scar_regions=(), procedures=())
    with pytest.raises(ArchiveError, match="no target, trajectory or scar"):
        build_measurement_report(empty, study.headers)
    with pytest.raises(ArchiveError, match="not an SR document"):
        read_sr(study.headers[0])


# --- SEG -----------------------------------------------------------------------------------
def test_seg_exact_on_source_grid(objects: ArchiveObjects, case: Case, study: Study) -> None:
    seg = reread(objects.seg)  # type: ignore[arg-type]
    assert objects.seg_placement == "source-grid"
    assert seg.SegmentSequence[0].SegmentAlgorithmType == "SEMIAUTOMATIC"
    assert seg.SegmentSequence[0].SegmentedPropertyTypeCodeSequence[0].CodeValue == "12402003"
    assert seg.FrameOfReferenceUID == study.volume.frame_of_reference_uid
    # every frame is derived from exactly one source image
    source_uids = {str(h.SOPInstanceUID) for h in study.headers}
    for frame in seg.PerFrameFunctionalGroupsSequence:
        ref = frame.DerivationImageSequence[0].SourceImageSequence[0]
        assert ref.ReferencedSOPInstanceUID in source_uids
    region = case.scar_regions[0]
    back = read_seg_scar(seg)
    assert back.id == region.id and back.method == "region_grow"
    assert back.voxel_count == region.voxel_count
    assert back.volume_ml == pytest.approx(region.volume_ml)
    assert lps_set(back) == lps_set(region)
    onto = read_seg_scar(seg, reference_grid=region.grid)
    assert onto.grid == region.grid and onto.rle == region.rle


def test_seg_own_grid_when_resampled(study: Study) -> None:
    vol = study.volume
    affine = vol.affine.copy()
    affine[:3, :3] *= 0.5  # a half-spacing grid: no voxel-to-voxel relation
    grid = MaskGrid(
        shape=(24, 40, 32),
        affine=tuple(map(tuple, affine)),
        frame_of_reference_uid=vol.frame_of_reference_uid,
        series_instance_uid=vol.series_instance_uid,
    )
    mask = np.zeros(grid.shape, dtype=bool)
    mask[5:9, 10:20, 6:12] = True
    region = ScarRegion.from_mask(mask, grid, id="fine")
    built = build_scar_seg([region], study.headers)
    assert built.placement == "own-grid"
    back = read_seg_scar(reread(built.dataset))
    assert back.volume_ml == pytest.approx(region.volume_ml)
    assert lps_set(back) == lps_set(region)


def test_seg_nearest_neighbour_for_a_sheared_mask_grid(study: Study) -> None:
    # a gantry-tilt-like grid (slices shifted along the rows) unrelated to the source grid
    vol = study.volume
    affine = vol.affine.copy()
    affine[:3, :3] *= 0.75
    affine[:3, 2] += 0.4 * vol.affine[:3, 1]
    grid = MaskGrid(
        shape=(14, 24, 20),
        affine=tuple(map(tuple, affine)),
        frame_of_reference_uid=vol.frame_of_reference_uid,
        series_instance_uid=vol.series_instance_uid,
    )
    mask = np.zeros(grid.shape, dtype=bool)
    mask[3:10, 6:16, 4:14] = True
    region = ScarRegion.from_mask(mask, grid, id="tilted")
    built = build_scar_seg([region], study.headers)
    assert built.placement == "resampled"
    back = read_seg_scar(reread(built.dataset))
    # by hand: a source voxel is scar when its centre's nearest mask voxel is set
    k, j, i = np.nonzero(np.ones(vol.shape, dtype=bool))
    lps = vol.affine @ np.stack([i, j, k, np.ones_like(i)])
    ijk = np.floor(np.linalg.solve(affine, lps)[:3] + 0.5).astype(int)
    inside = np.all((ijk >= 0) & (ijk < np.array(grid.shape[::-1])[:, None]), axis=0)
    want = np.zeros(len(i), dtype=bool)
    want[inside] = mask[ijk[2, inside], ijk[1, inside], ijk[0, inside]]
    want_lps = {tuple(p) for p in np.round(lps[:3, want].T, 3)}
    assert want_lps and lps_set(back) == want_lps


def test_seg_refusals(study: Study, case: Case) -> None:
    grid, _ = reoriented_grid(study.volume)
    empty = ScarRegion.from_mask(np.zeros(grid.shape, dtype=bool), grid)
    with pytest.raises(ArchiveError, match="is empty"):
        build_scar_seg([empty], study.headers)
    other = grid.model_copy(update={"frame_of_reference_uid": "1.2.3.4"})
    mask = np.ones(grid.shape, dtype=bool)
    with pytest.raises(ArchiveError, match="frame of reference"):
        build_scar_seg([ScarRegion.from_mask(mask, other)], study.headers)
    with pytest.raises(ArchiveError, match="not a readable Segmentation"):
        read_seg_scar(study.headers[0])


def test_case_from_archive_round_trip(objects: ArchiveObjects, case: Case) -> None:
    bare = case.evolve(targets=(), trajectories=(), procedures=())
    back = case_from_archive(reread(objects.sr), reread(objects.seg), bare)  # type: ignore[arg-type]
    for got, want in zip(back.targets, case.targets):
        assert got.id == want.id
        assert np.allclose(got.position.lps, want.position.lps, atol=0.01)
    assert [t.id for t in back.trajectories] == [t.id for t in case.trajectories]
    region, want = back.scar_regions[0], case.scar_regions[0]
    assert region.grid == want.grid and region.rle == want.rle
    assert region.volume_ml == pytest.approx(want.volume_ml)
    assert region.volume_ml_per_level == want.volume_ml_per_level


# --- dciodvfy ------------------------------------------------------------------------------
@needs_dciodvfy
@pytest.mark.parametrize("which", ["encapsulated_pdf", "sr", "seg"])
def test_dciodvfy_no_errors(objects: ArchiveObjects, which: str) -> None:
    ds = getattr(objects, which)
    result = validate_dataset(ds)
    assert result.iod in ("EncapsulatedPDF", "Comprehensive3DSR", "Segmentation")
    assert result.errors == (), result.errors
    # the only warning allowed: dciodvfy does not know our private coding scheme
    assert all(PRIVATE_SCHEME in w for w in result.warnings), result.warnings
