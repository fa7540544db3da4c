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
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from blockplan.io import _headers, _uids, discover
from blockplan.io._rawheader import KEYWORDS, METADATA, metadata
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


def test_metadata_table_is_pydicoms_dictionary() -> None:
    assert tuple(METADATA) == _headers.METADATA_KEYWORDS
    for keyword, (tag, vr) in METADATA.items():
        assert tag_for_keyword(keyword) == tag, keyword
        assert dictionary_VR(tag) == vr, keyword


def _same_metadata(path: Path) -> bool:
    """read_metadata gives what pydicom's converted values give (repr: NaN equals NaN)."""
    peer = _headers._metadata(pydicom.dcmread(path, stop_before_pixels=True, force=True))
    return repr(_headers.read_metadata(str(path))) == repr(peer)


def test_every_sample_file_reads_as_pydicom_reads_it() -> None:
    files = sorted(p for p in SAMPLE.rglob("*") if p.is_file())
    n_fast = 0
    for path in files:
        ours, peer, fast = _both(path)
        assert ours == peer, path.relative_to(REPO)
        n_fast += fast
        if ours.frames:
            assert _same_metadata(path)
            raw = _headers._read_raw(str(path), path.stat().st_size)
            assert raw is not None and metadata(raw) is not None  # read from the bytes
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
    assert _same_metadata(path)
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
        if ours.frames:
            assert _same_metadata(path), mutant
        n_files += 1
        shutil.rmtree(mutant["folder"])
    assert n_files == 160 and n_fast >= 40  # the byte reader met damaged files too


@pytest.mark.parametrize("blob", [40_000, 300_000, 5_000_000])
def test_headers_beyond_the_first_read_are_read(tmp_path: Path, blob: int) -> None:
    """A header longer than the first read (a large private element before Rows) is read
    in larger steps up to 4 MiB; a longer one goes to pydicom — the same values either way."""

    def add_blob(ds: Dataset) -> None:
        ds.add_new(0x00091010, "OB", np.arange(blob, dtype=np.uint8).tobytes())

    path = _one_file(tmp_path, add_blob)
    ours, peer, fast = _both(path)
    assert ours == peer and ours.frames[0].rows == 8
    assert fast == (blob < 4 * 1024 * 1024)


def test_transfer_syntax_names_are_pydicoms() -> None:
    for uid, name in _uids.NAMES.items():
        assert UID(uid).name == name
        assert _uids.name(uid) == name
    assert _uids.name("1.2.840.10008.1.2.4.100") == UID("1.2.840.10008.1.2.4.100").name
    assert {
        ImplicitVRLittleEndian,
        ExplicitVRLittleEndian,
        ExplicitVRBigEndian,
        DeflatedExplicitVRLittleEndian,
    } == _uids.NATIVE


def _loaded_after(code: str, *args: str) -> set[str]:
    """Modules loaded in a fresh interpreter after running ``code`` (argv: ``args``)."""
    tail = "\nprint(' '.join(sorted(sys.modules)), file=sys.stderr)\n"
    out = subprocess.run(
        [sys.executable, "-c", "import sys\n" + code + tail, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    return set(out.stderr.strip().splitlines()[-1].split())


NATIVE_SERIES = SAMPLE / "S0004_MR_T1_AX_GD"  # explicit VR little endian


def test_listing_and_loading_uncompressed_series_never_import_pydicom() -> None:
    """Importing pydicom probes its decoder plugins (GDCM's bindings among them): 0.2–0.6 s
    of every command. Headers and native pixels need none of it (issue 18 point 4)."""
    listing = _loaded_after(
        "from blockplan.cli import main\n"
        "try:\n"
        "    main.main(['series', sys.argv[1]], prog_name='blockplan')\n"
        "except SystemExit as end:\n"
        "    assert not end.code, end.code\n",
        str(NATIVE_SERIES),
    )
    assert "blockplan.io.discovery" in listing  # it did the work
    heavy = {"pydicom", "gdcm", "blockplan.io.loader", "blockplan.io._pixels"}
    assert not listing & heavy, sorted(listing & heavy)
    loading = _loaded_after(
        "from blockplan.io import discover, load_series\n"
        "volume = load_series(discover(sys.argv[1]).series[0])\n"
        "assert volume.array.shape[0] == 36 and volume.metadata['Manufacturer']\n",
        str(NATIVE_SERIES),
    )
    assert "blockplan.io.loader" in loading
    assert not loading & {"pydicom", "gdcm"}, sorted(loading & {"pydicom", "gdcm"})
