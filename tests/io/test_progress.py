"""Scanning and loading report progress and can be cancelled; one slice can be read alone.

A GUI runs `discover` and `load_series` in a worker thread: it shows ``progress(done,
total)`` and cancels by raising from the callback. `load_slice` shows a series at once.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import ExplicitVRLittleEndian, JPEGLSLossless, RLELossless

from blockplan.errors import SeriesRefusedError
from blockplan.io import discover, load_series, load_slice
from tests.io._dicom_factory import EncoderUnavailable, SeriesSpec, phantom, write_series


class _Cancel(Exception):
    """What a caller raises from its progress callback to stop the work."""


def _series(tmp_path: Path, tsuid: str = ExplicitVRLittleEndian, n: int = 12) -> SeriesSpec:
    spec = SeriesSpec(phantom((n, 40, 32)), windows=[(40.0, 400.0, "SOFT")])
    try:
        write_series(tmp_path / "s", spec, tsuid=tsuid)
    except EncoderUnavailable as err:
        pytest.skip(str(err))
    return spec


def test_discover_counts_every_file_and_stops_when_told(tmp_path: Path) -> None:
    _series(tmp_path, n=6)
    (tmp_path / "s" / "README").write_text("not DICOM")
    seen: list[tuple[int, int]] = []
    found = discover(tmp_path / "s", progress=lambda d, t: seen.append((d, t)))
    assert seen == [(d, 7) for d in range(1, 8)]  # six images and the README
    assert found.series[0].n_images == 6

    def stop_at_three(done: int, _total: int) -> None:
        if done == 3:
            raise _Cancel

    with pytest.raises(_Cancel):
        discover(tmp_path / "s", progress=stop_at_three)


@pytest.mark.parametrize(
    "tsuid", [ExplicitVRLittleEndian, RLELossless, JPEGLSLossless], ids=lambda u: u.keyword
)
def test_load_series_counts_every_image(tmp_path: Path, tsuid: pydicom.uid.UID) -> None:
    spec = _series(tmp_path, tsuid)
    info = discover(tmp_path / "s").series[0]
    seen: list[tuple[int, int]] = []
    vol = load_series(info, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(d, 12) for d in range(1, 13)]
    np.testing.assert_array_equal(vol.array, spec.volume.astype(np.int32) - 1024)


@pytest.mark.parametrize("tsuid", [ExplicitVRLittleEndian, RLELossless], ids=lambda u: u.keyword)
def test_load_series_stops_when_the_callback_raises(tmp_path: Path, tsuid: pydicom.uid.UID) -> None:
    _series(tmp_path, tsuid, n=40)
    info = discover(tmp_path / "s").series[0]
    calls: list[int] = []

    def stop_at_five(done: int, _total: int) -> None:
        calls.append(done)
        if done == 5:
            raise _Cancel

    with pytest.raises(_Cancel):
        load_series(info, progress=stop_at_five)
    assert calls == [1, 2, 3, 4, 5]  # nothing reported after the cancel


@pytest.mark.parametrize("tsuid", [RLELossless, JPEGLSLossless], ids=lambda u: u.keyword)
def test_decoding_threads_wait_with_a_progress_callback_that_waits(
    tmp_path: Path, tsuid: pydicom.uid.UID, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A GUI's callback waits while the GUI thread is busy (napari plugin: `give_way`): the
    decoding threads must not read on through the whole series meanwhile, holding the GIL
    the GUI thread needs — only the few frames handed to them ahead."""
    import threading

    from blockplan.io import _pixels

    _series(tmp_path, tsuid, n=40)
    info = discover(tmp_path / "s").series[0]
    decoded: list[int] = []
    decode = _pixels._decode_into

    def counted(*args: object) -> None:
        decode(*args)  # type: ignore[arg-type]
        decoded.append(1)

    monkeypatch.setattr(_pixels, "_decode_into", counted)
    during_the_wait: list[int] = []
    started = threading.Event()

    def waits_at_the_first(done: int, _total: int) -> None:
        if done == 1:
            started.set()
            threading.Event().wait(0.4)  # a busy GUI thread
            during_the_wait.append(len(decoded))

    vol = load_series(info, progress=waits_at_the_first)
    threads = min(4, os.cpu_count() or 1)
    assert started.is_set() and len(decoded) == 40 and vol.array.shape[0] == 40
    if threads > 1:  # frames decoded during the wait: those handed out ahead, not all 40
        assert during_the_wait[0] <= 1 + _pixels._AHEAD_PER_THREAD * threads < 40


@pytest.mark.parametrize("tsuid", [ExplicitVRLittleEndian, JPEGLSLossless], ids=lambda u: u.keyword)
def test_one_slice_read_alone_is_the_slice_of_the_whole(
    tmp_path: Path, tsuid: pydicom.uid.UID
) -> None:
    spec = _series(tmp_path, tsuid)
    # files written in reverse slice order: slice k is still the k-th along the normal
    spec.slice_step = (0.0, 0.0, -2.5)
    write_series(tmp_path / "r", spec, tsuid=tsuid)
    for folder in ("s", "r"):
        info = discover(tmp_path / folder).series[0]
        whole = load_series(info)
        for k in (0, 5, 11):
            one = load_slice(info, k)
            assert one.shape == (1, 40, 32) and one.array.dtype == np.float32
            np.testing.assert_array_equal(one.array[0], whole.array[k])
            corner = whole.index_to_lps([[3, 7, k]])
            np.testing.assert_allclose(one.index_to_lps([[3, 7, 0]]), corner)
            assert one.windows == whole.windows
            assert one.sop_instance_uids == (whole.sop_instance_uids[k],)
    with pytest.raises(IndexError, match=r"slice 12 outside 0\.\.11"):
        load_slice(info, 12)


def test_a_series_without_one_file_per_slice_is_refused_for_a_slice(tmp_path: Path) -> None:
    spec = SeriesSpec(phantom((5, 12, 10)))
    spec.positions = [(-100.0, -120.0, 50.0 + v) for v in (0.0, 2.5, 5.0, 9.0, 11.5)]
    write_series(tmp_path, spec)
    info = discover(tmp_path).series[0]
    with pytest.raises(SeriesRefusedError, match=r"Series 3 .*slice spacing varies"):
        load_slice(info, 0)
