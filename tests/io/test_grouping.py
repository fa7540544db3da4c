"""Discovery traps: several volumes in one series, orientations, localizers, foreign files."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from blockplan.errors import DicomReadWarning, SeriesRefusedError
from blockplan.io import discover, load_path, load_series
from tests.io._dicom_factory import SeriesSpec, phantom, uid, write_series
from tests.io.conftest import assert_geometry


def test_repeated_positions_split_by_acquisition_number(tmp_path: Path, unchanged) -> None:
    uid_ = uid()
    a = SeriesSpec(phantom((4, 10, 10), seed=1), series_uid=uid_, acquisition_number=1)
    b = SeriesSpec(
        phantom((4, 10, 10), seed=2),
        series_uid=uid_,
        acquisition_number=2,
        study_uid=a.study_uid,
        for_uid=a.for_uid,
    )
    write_series(tmp_path, a, prefix="A")
    write_series(tmp_path, b, prefix="B")
    unchanged(tmp_path)
    found = discover(tmp_path)
    assert [s.key for s in found.series] == [f"{uid_}|acq=1", f"{uid_}|acq=2"]
    assert all(s.status == "ok" and s.n_images == 4 for s in found.series)
    assert "acq=2" in found.series[1].label
    v1, v2 = (load_series(s) for s in found.series)
    np.testing.assert_array_equal(v1.array, a.volume - 1024)
    np.testing.assert_array_equal(v2.array, b.volume - 1024)


def test_per_slice_acquisition_numbers_do_not_split(tmp_path: Path) -> None:
    # sequential CT: every slice its own AcquisitionNumber, positions unique -> one volume
    spec = SeriesSpec(phantom((5, 8, 8)), acquisition_number=[1, 2, 3, 4, 5])
    write_series(tmp_path, spec)
    found = discover(tmp_path)
    assert len(found.series) == 1 and found.series[0].n_images == 5


def test_repeated_positions_split_by_echo_and_image_type(tmp_path: Path) -> None:
    uid_ = uid()
    common = dict(series_uid=uid_, study_uid=uid(), for_uid=uid(), modality="MR", intercept=0.0)
    write_series(
        tmp_path / "e", SeriesSpec(phantom((3, 8, 8)), echo_number=1, **common), prefix="E1"
    )
    write_series(
        tmp_path / "e", SeriesSpec(phantom((3, 8, 8)), echo_number=2, **common), prefix="E2"
    )
    keys = [s.key for s in discover(tmp_path / "e").series]
    assert keys == [f"{uid_}|echo=1", f"{uid_}|echo=2"]
    uid2 = uid()
    common["series_uid"] = uid2
    write_series(tmp_path / "t", SeriesSpec(phantom((3, 8, 8)), **common), prefix="O")
    write_series(
        tmp_path / "t",
        SeriesSpec(phantom((3, 8, 8)), image_type=("DERIVED", "SECONDARY", "MPR"), **common),
        prefix="D",
    )
    found = discover(tmp_path / "t")
    assert len(found.series) == 2
    assert all("type=" in s.key for s in found.series)


def test_repeated_positions_without_distinguishing_tag_refused(tmp_path: Path) -> None:
    uid_ = uid()
    common = dict(series_uid=uid_, study_uid=uid(), for_uid=uid())
    write_series(tmp_path, SeriesSpec(phantom((3, 8, 8), seed=1), **common), prefix="A")
    write_series(tmp_path, SeriesSpec(phantom((3, 8, 8), seed=2), **common), prefix="B")
    found = discover(tmp_path)
    assert len(found.series) == 1
    s = found.series[0]
    assert s.status == "refused" and s.n_images == 6
    assert "occur more than once" in s.reasons[0]
    with pytest.raises(
        SeriesRefusedError, match=rf"UID {uid_}\): 3 slice position\(s\) occur more than once"
    ):
        load_series(s)


def test_uid_reused_across_unrelated_folders(tmp_path: Path) -> None:
    uid_ = uid()
    a = SeriesSpec(phantom((3, 8, 8), seed=1), series_uid=uid_)
    b = SeriesSpec(phantom((3, 8, 8), seed=2), series_uid=uid_)  # other study and FoR
    write_series(tmp_path / "patient_a", a)
    write_series(tmp_path / "patient_b", b)
    found = discover(tmp_path)
    assert len(found.series) == 2
    assert {s.frame_of_reference_uid for s in found.series} == {a.for_uid, b.for_uid}
    assert len({s.key for s in found.series}) == 2
    # same study and frame of reference but two export folders with the same positions
    c = SeriesSpec(phantom((3, 8, 8), seed=3), series_uid=uid())
    d = SeriesSpec(
        phantom((3, 8, 8), seed=4),
        series_uid=c.series_uid,
        study_uid=c.study_uid,
        for_uid=c.for_uid,
    )
    write_series(tmp_path / "x" / "one", c)
    write_series(tmp_path / "x" / "two", d)
    found = discover(tmp_path / "x")
    assert len(found.series) == 2 and all("folder=" in s.key for s in found.series)
    vols = [load_series(s) for s in found.series]
    got = sorted(int(v.array[0, 0, 0]) for v in vols)
    assert got == sorted(int(x.volume[0, 0, 0]) - 1024 for x in (c, d))


def test_two_orientations_and_localizer_split(tmp_path: Path) -> None:
    uid_ = uid()
    axial = SeriesSpec(phantom((6, 12, 12)), series_uid=uid_)
    sag = SeriesSpec(
        phantom((3, 12, 12)),
        series_uid=uid_,
        study_uid=axial.study_uid,
        for_uid=axial.for_uid,
        row_dir=(0.0, 1.0, 0.0),
        col_dir=(0.0, 0.0, -1.0),
    )
    sag.slice_step = tuple(sag.normal * 4.0)
    loc = SeriesSpec(
        phantom((1, 20, 16)),
        series_uid=uid_,
        study_uid=axial.study_uid,
        for_uid=axial.for_uid,
        row_dir=(1.0, 0.0, 0.0),
        col_dir=(0.0, 0.0, -1.0),
        image_type=("ORIGINAL", "PRIMARY", "LOCALIZER"),
    )
    write_series(tmp_path, axial, prefix="AX")
    write_series(tmp_path, sag, prefix="SAG")
    write_series(tmp_path, loc, prefix="LOC")
    found = discover(tmp_path)
    by_orientation = {s.orientation: s for s in found.series}
    assert set(by_orientation) == {"axial", "sagittal", "coronal"}
    assert by_orientation["axial"].n_images == 6 and by_orientation["axial"].status == "ok"
    assert "localizer=yes" in by_orientation["coronal"].key
    assert_geometry(load_series(by_orientation["axial"]), axial)
    assert_geometry(load_series(by_orientation["sagittal"]), sag)


def test_secondary_capture_without_geometry_split_and_refused(tmp_path: Path) -> None:
    spec = SeriesSpec(phantom((4, 12, 12)))
    write_series(tmp_path, spec)
    sc = SeriesSpec(
        phantom((1, 30, 40)),
        series_uid=spec.series_uid,
        study_uid=spec.study_uid,
        for_uid=spec.for_uid,
        image_type=("DERIVED", "SECONDARY"),
    )

    def strip(ds: pydicom.Dataset, k: int) -> None:
        del ds.ImagePositionPatient
        del ds.ImageOrientationPatient

    write_series(tmp_path, sc, prefix="SC", edit=strip)
    found = discover(tmp_path)
    assert len(found.series) == 2
    sc_info = next(s for s in found.series if s.rows == 30)
    assert sc_info.status == "refused" and "without ImagePositionPatient" in sc_info.reasons[0]
    with pytest.warns(DicomReadWarning, match="without ImagePositionPatient.*series skipped"):
        vols = load_path(tmp_path)
    assert len(vols) == 1 and vols[0].shape == (4, 12, 12)


def test_non_dicom_files_and_non_image_objects_skipped(tmp_path: Path, unchanged) -> None:
    spec = SeriesSpec(phantom((3, 8, 8)))
    write_series(tmp_path / "study" / "series1", spec)
    (tmp_path / "study" / "README").write_text("exported by a scanner\n")
    (tmp_path / "study" / "series1" / "dose.csv").write_text("a,b\n1,2\n")
    (tmp_path / "study" / "DIRFILE").write_bytes(bytes(range(256)) * 4)
    shutil.copy(get_testdata_file("test-SR.dcm"), tmp_path / "study" / "report.dcm")
    unchanged(tmp_path)
    found = discover(tmp_path)
    assert len(found.series) == 1 and found.series[0].status == "ok"
    reasons = {Path(s.path).name: s.reason for s in found.skipped}
    assert reasons["README"] == "not a DICOM file"
    assert reasons["dose.csv"] == "not a DICOM file"
    assert reasons["DIRFILE"] == "not a DICOM file"
    assert reasons["report.dcm"].startswith("non-image object (")


def test_dicomdir_file_and_folder(tmp_path: Path, unchanged) -> None:
    from pydicom.fileset import FileSet

    src = tmp_path / "src"
    spec = SeriesSpec(phantom((4, 8, 8)))
    paths = write_series(src, spec)
    fs = FileSet()
    for p in paths:
        fs.add(pydicom.dcmread(p))
    fs.write(tmp_path / "media")
    unchanged(tmp_path / "media")
    dicomdir = tmp_path / "media" / "DICOMDIR"
    found = discover(dicomdir)
    assert len(found.series) == 1 and found.series[0].n_images == 4
    vol = load_series(found.series[0])
    assert_geometry(vol, spec)
    np.testing.assert_array_equal(vol.array, spec.volume - 1024)
    found_dir = discover(tmp_path / "media")
    assert len(found_dir.series) == 1
    assert any(s.reason == "DICOMDIR (directory index)" for s in found_dir.skipped)


def test_nested_folders_one_series_split_across_folders(tmp_path: Path) -> None:
    spec = SeriesSpec(phantom((6, 8, 8)))
    write_series(tmp_path / "a" / "b" / "c", spec, indices=[0, 1, 2])
    write_series(tmp_path / "a" / "d", spec, indices=[3, 4, 5])
    other = SeriesSpec(phantom((2, 8, 8)), series_number=7)
    write_series(tmp_path / "x" / "y" / "z" / "w", other)
    found = discover(tmp_path)
    assert [(s.series_number, s.n_images) for s in found.series] in (
        [(3, 6), (7, 2)],
        [(7, 2), (3, 6)],
    )
    s = next(s for s in found.series if s.series_number == 3)
    assert s.key == spec.series_uid
    vol = load_series(s)
    np.testing.assert_array_equal(vol.array, spec.volume - 1024)


def test_mosaic_refused(tmp_path: Path) -> None:
    spec = SeriesSpec(
        phantom((2, 16, 16)), modality="MR", image_type=("ORIGINAL", "PRIMARY", "M", "ND", "MOSAIC")
    )
    write_series(tmp_path, spec)
    s = discover(tmp_path).series[0]
    assert s.status == "refused" and "MOSAIC" in s.reasons[0]
    with pytest.raises(
        SeriesRefusedError, match=rf"Series 3 \(UID {spec.series_uid}\): Siemens MOSAIC"
    ):
        load_series(s)


def test_duplicate_copies_of_an_instance_count_once(tmp_path: Path) -> None:
    spec = SeriesSpec(phantom((3, 8, 8)))
    paths = write_series(tmp_path, spec)
    shutil.copy(paths[1], tmp_path / "copy_of_IM0001.dcm")
    s = discover(tmp_path).series[0]
    assert s.n_images == 3 and s.status == "warnings"
    assert "duplicate copies" in s.reasons[0]
    assert load_series(s).shape == (3, 8, 8)


def test_series_sorted_by_study_and_number(tmp_path: Path) -> None:
    study = uid()
    for n in (12, 2, 5):
        write_series(
            tmp_path / f"s{n}", SeriesSpec(phantom((2, 4, 4)), study_uid=study, series_number=n)
        )
    assert [s.series_number for s in discover(tmp_path).series] == [2, 5, 12]


def test_two_angled_stacks_with_one_plane_name_get_distinct_keys(tmp_path: Path) -> None:
    import math

    uid_ = uid()
    study, frame_ref = uid(), uid()
    specs = []
    for n, angle in enumerate((0.1, 0.3)):  # both within 30° of coronal
        spec = SeriesSpec(
            phantom((3, 8, 8), seed=n),
            series_uid=uid_,
            study_uid=study,
            for_uid=frame_ref,
            row_dir=(math.cos(angle), math.sin(angle), 0.0),
            col_dir=(0.0, 0.0, -1.0),
        )
        spec.slice_step = tuple(spec.normal * 3.0)
        write_series(tmp_path, spec, prefix=f"S{n}")
        specs.append(spec)
    found = discover(tmp_path)
    keys = [s.key for s in found.series]
    assert len(found.series) == 2 and len(set(keys)) == 2
    assert all(s.orientation == "coronal" and s.status == "ok" for s in found.series)
    assert sorted(k.rsplit("|", 1)[1] for k in keys) == ["stack=1", "stack=2"]
    for s in found.series:
        assert_geometry(
            load_series(s), specs[0] if s.files[0].startswith(str(tmp_path / "S0")) else specs[1]
        )
