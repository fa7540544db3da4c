"""A good napari neighbour: blockplan's reader claims DICOM only.

napari's own open path — File ▸ Open, drag and drop, ``napari PATH`` — lets napari choose
the reader: ``viewer.open(path, plugin=None)`` (the ``plugin`` argument of ``viewer.open``
defaults to napari's builtin reader). It raises MultipleReaderError, which the GUI shows as
the "choose a reader" dialog, whenever two plugins claim a path and no preference is saved.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from napari.errors import MultipleReaderError
from napari.plugins import _npe2
from napari.settings import get_settings
from PIL import Image
from pydicom.fileset import FileSet

from napari_blockplan._reader import get_reader
from tests.io._dicom_factory import SeriesSpec, write_series

pytestmark = pytest.mark.gui

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_dicom"


def _images(viewer: Any) -> list[Any]:
    return [lay for lay in viewer.layers if "blockplan_volume" in lay.metadata]


def _series(folder: Path, prefix: str = "IM") -> list[Path]:
    volume = np.arange(4 * 8 * 10, dtype=np.int16).reshape(4, 8, 10)
    return write_series(folder, SeriesSpec(volume=volume, series_number=7), prefix=prefix)


@pytest.mark.parametrize("suffix", [".npy", ".png", ".csv", ".tif"])
def test_other_files_are_left_to_napari(
    make_napari_viewer: Any, tmp_path: Path, suffix: str
) -> None:
    make_napari_viewer()  # napari discovers its plugins
    path = tmp_path / f"data{suffix}"
    path.write_bytes(b"\x93NUMPY not dicom")
    assert "blockplan" not in _npe2.get_readers(str(path))
    assert get_reader(str(path)) is None


def test_napari_opens_npy_and_png_itself_without_asking(make_napari_viewer: Any, tmp_path: Path):
    viewer = make_napari_viewer()
    np.save(tmp_path / "plane.npy", np.ones((5, 6), dtype=np.uint8))
    Image.fromarray(np.full((7, 9), 200, dtype=np.uint8)).save(tmp_path / "photo.png")
    for name, shape in (("plane.npy", (5, 6)), ("photo.png", (7, 9))):
        # raises MultipleReaderError (the dialog in the GUI) if blockplan claimed the file
        (layer,) = viewer.open(str(tmp_path / name), plugin=None)
        assert layer.data.shape == shape
    assert not _images(viewer)


def test_dicom_file_ids_and_ima_open_with_blockplan_without_asking(
    make_napari_viewer: Any, qtbot: Any, tmp_path: Path
) -> None:
    """Files named as DICOM media file IDs (IM000001) or *.ima: blockplan is the only
    reader napari finds, so napari's own open path loads the series."""
    viewer = make_napari_viewer(show=True)
    files = [p.rename(p.with_name(f"IM{n:06d}")) for n, p in enumerate(_series(tmp_path / "ids"))]
    assert list(_npe2.get_readers(str(files[0]))) == ["blockplan"]
    ima = tmp_path / "one.IMA"
    ima.write_bytes(files[0].read_bytes())
    assert list(_npe2.get_readers(str(ima))) == ["blockplan"]
    assert (
        viewer.open(str(files[0]), plugin=None) == []
    )  # the reader returns at once, a worker loads
    qtbot.waitUntil(lambda: len(_images(viewer)) == 1, timeout=30000)
    assert _images(viewer)[0].metadata["blockplan"]["modality"] == "CT"


def test_a_dicomdir_opens_with_blockplan_without_asking(
    make_napari_viewer: Any, qtbot: Any, tmp_path: Path
) -> None:
    viewer = make_napari_viewer(show=True)
    fs = FileSet()
    for path in _series(tmp_path / "src", prefix="s"):
        fs.add(str(path))
    fs.write(tmp_path / "media")
    dicomdir = tmp_path / "media" / "DICOMDIR"
    assert list(_npe2.get_readers(str(dicomdir))) == ["blockplan"]
    assert viewer.open(str(dicomdir), plugin=None) == []
    qtbot.waitUntil(lambda: len(_images(viewer)) == 1, timeout=30000)
    assert _images(viewer)[0].data.shape == (4, 8, 10)


def test_folders_without_dicom_are_declined(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    many = tmp_path / "many"
    many.mkdir()
    for n in range(200):  # more than the 64 files probed
        (many / f"{n}.txt").write_text("x")
    assert get_reader(str(many)) is None
    assert get_reader(str(tmp_path / "empty")) is None
    assert get_reader(str(tmp_path / "missing")) is None
    assert get_reader(str(_series(tmp_path / "dicom")[0].parent)) is not None


def test_the_sample_study_opens_with_naparis_remembered_choice(
    make_napari_viewer: Any, qtbot: Any
) -> None:
    """napari's builtin reader claims every folder (npe2 has no folder patterns yet), so a
    folder is the one case where napari asks once; the choice it remembers ("*/name/"
    in settings.plugins.extension2reader, as its dialog saves it) is then used by
    napari's open path."""
    viewer = make_napari_viewer(show=True)
    assert set(_npe2.get_readers(str(SAMPLE))) == {"blockplan", "napari"}
    with pytest.raises(MultipleReaderError):  # the first time, napari asks (its dialog)
        viewer.open(str(SAMPLE), plugin=None)
    settings = get_settings().plugins
    saved = dict(settings.extension2reader)
    settings.extension2reader = {**saved, f"*{os.sep}{SAMPLE.name}{os.sep}": "blockplan"}
    try:
        assert viewer.open(str(SAMPLE), plugin=None) == []
        qtbot.waitUntil(lambda: len(_images(viewer)) == 4, timeout=120000)
    finally:
        settings.extension2reader = saved
    modalities = sorted(lay.metadata["blockplan"]["modality"] for lay in _images(viewer))
    assert modalities == ["CT", "MR", "MR", "MR"]
