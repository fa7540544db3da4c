"""The header read from the file's bytes (`blockplan.io._rawheader`) against pydicom.

pydicom is the parser of record: for every file, `read_file` (which takes the byte
reader where it applies) must give exactly what the pydicom path gives — every field of
every frame record, or the same skip reason — on the sample study, on hand-made
encodings the byte reader must either read right or hand to pydicom, and on a corpus of
fuzzed files (issue 16 point 7). `discover` must find the same series either way.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import ImplicitVRLittleEndian

from blockplan.io import _headers, discover
from blockplan.io._rawheader import KEYWORDS
from tests.io._dicom_factory import SeriesSpec, phantom, write_series
from tests.io._fuzz import make_bases, make_mutant

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_dicom"


def _both(path: Path) -> tuple[_headers.FileRead, _headers.FileRead, bool]:
    """(read_file, the pydicom path, whether the byte reader read it)."""
    size = os.stat(path).st_size
    fast = _headers._read_raw(str(path), size) is not None
    return _headers.read_file(str(path)), _headers._read_pydicom(str(path), size), fast


def test_keyword_table_is_pydicoms_dictionary() -> None:
    for keyword, (tag, vr) in KEYWORDS.items():
        assert tag_for_keyword(keyword) == tag, keyword
        assert dictionary_VR(tag) == vr, keyword


def test_every_sample_file_reads_as_pydicom_reads_it() -> None:
    files = sorted(p for p in SAMPLE.rglob("*") if p.is_file())
    n_fast = 0
    for path in files:
        ours, peer, fast = _both(path)
        assert ours == peer, path.relative_to(REPO)
        n_fast += fast
    images = sum(1 for p in files if _headers._read_pydicom(str(p), p.stat().st_size).frames)
    assert images >= 300 and n_fast == images  # every sample image took the byte reader


def _strip_pydicom_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_headers, "_read_raw", lambda path, size: None)


def _summary(root: Path) -> list[tuple[object, ...]]:
    found = discover(root)
    rows: list[tuple[object, ...]] = [
        (
            s.key,
            s.status,
            tuple(s.reasons),
            tuple(s.files),
            s.frames,
            None if s.grid is None else s.grid.affine.tobytes(),
            s.stack,
        )
        for s in found.series
    ]
    rows.extend((f.path, f.reason) for f in found.skipped)
    return rows


def test_discover_finds_the_same_series_without_the_byte_reader(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ours = _summary(SAMPLE)
    _strip_pydicom_path(monkeypatch)
    assert _summary(SAMPLE) == ours
    assert len(ours) >= 4


def _one_file(tmp_path: Path, change: object = None, tsuid: str | None = None) -> Path:
    kwargs = {} if tsuid is None else {"tsuid": tsuid}
    path = write_series(tmp_path / "s", SeriesSpec(phantom((1, 8, 8), seed=3)), **kwargs)[0]
    if change is not None:
        ds = pydicom.dcmread(path)
        change(ds)  # type: ignore[operator]
        ds.save_as(path, enforce_file_format=True)
    return path


def _nested(ds: Dataset) -> None:
    """Undefined-length sequences nested in undefined-length items (implicit VR)."""
    inner = Dataset()
    inner.ReferencedSOPInstanceUID = "1.2.3.4"
    item = Dataset()
    item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    item.ReferencedImageSequence = Sequence([inner])
    ds.ReferencedImageSequence = Sequence([item, item])
    ds.ReferencedImageSequence.is_undefined_length = True
    item.ReferencedImageSequence.is_undefined_length = True
    for i in (item, inner):
        i.is_undefined_length_sequence_item = True
    ds.add_new(0x00091010, "LO", "PRIVATE")


CHANGES = {
    "non-ASCII description": lambda ds: setattr(ds, "SeriesDescription", "Wirbelsäule"),
    "empty values": lambda ds: [
        setattr(ds, kw, None)
        for kw in ("SeriesNumber", "SliceThickness", "WindowCenter", "RescaleSlope", "ImageType")
    ],
    "multi-valued description": lambda ds: setattr(ds, "SeriesDescription", ["A ", "B"]),
    "dose grid scaling": lambda ds: setattr(ds, "DoseGridScaling", "0.5"),
    "nested sequences": _nested,
    "Rows as two values": lambda ds: ds.__setitem__(
        0x00280010, pydicom.DataElement(0x00280010, "US", [8, 8])
    ),
    "padded UIDs": lambda ds: setattr(ds, "SeriesInstanceUID", ds.SeriesInstanceUID + "\0"),
}


@pytest.mark.parametrize("tsuid", [None, ImplicitVRLittleEndian])
@pytest.mark.parametrize("name", sorted(CHANGES))
def test_unusual_headers_read_as_pydicom_reads_them(
    tmp_path: Path, name: str, tsuid: str | None
) -> None:
    path = _one_file(tmp_path, CHANGES[name], tsuid)
    ours, peer, fast = _both(path)
    assert ours == peer
    if name == "non-ASCII description":
        assert not fast  # pydicom decodes the character set
    if name in ("empty values", "nested sequences", "padded UIDs") and tsuid is None:
        assert fast and ours.frames  # read from the bytes, and right


def test_fuzzed_files_read_as_pydicom_reads_them(tmp_path: Path) -> None:
    bases = make_bases(tmp_path / "bases")
    n_fast = n_files = 0
    for index in range(160):
        mutant = make_mutant(bases, 7, index, tmp_path / "mutants")
        path = Path(mutant["folder"]) / mutant["file"]
        ours, peer, fast = _both(path)
        assert ours == peer, mutant
        n_fast += fast
        n_files += 1
        shutil.rmtree(mutant["folder"])
    assert n_files == 160 and n_fast >= 40  # the byte reader met damaged files too


def test_rows_beyond_the_first_read_are_read(tmp_path: Path) -> None:
    """A header longer than the first read (a large private element) is read whole."""

    def blob(ds: Dataset) -> None:
        ds.add_new(0x00091010, "OB", np.arange(40_000, dtype=np.uint8).tobytes())

    path = _one_file(tmp_path, blob)
    ours, peer, fast = _both(path)
    assert fast and ours == peer and ours.frames[0].rows == 8
