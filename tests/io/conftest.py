"""Fixtures of the io tests: synthetic series written with pydicom into tmp_path."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from blockplan.io import ImageVolume
from tests.io._dicom_factory import SeriesSpec


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def unchanged(tmp_path: Path) -> Iterator[Callable[[Path], None]]:
    """Call with a folder after writing fixtures: its files' hashes are checked at teardown."""
    watched: dict[Path, dict[str, str]] = {}

    def watch(root: Path) -> None:
        watched[root] = _hashes(root)

    yield watch
    for root, before in watched.items():
        assert _hashes(root) == before, f"input files under {root} were modified"


def assert_geometry(
    vol: ImageVolume, spec: SeriesSpec, file_order: list[int] | None = None
) -> None:
    """Voxel (i, j, k) of the volume lies within 0.5 mm of where the headers put it."""
    order = file_order if file_order is not None else list(range(spec.volume.shape[0]))
    _, rows, cols = vol.shape
    for k_vol, k_file in enumerate(order):
        for i, j in (
            (0, 0),
            (cols - 1, 0),
            (0, rows - 1),
            (cols - 1, rows - 1),
            (cols // 2, rows // 3),
        ):
            got = vol.index_to_lps([i, j, k_vol])
            want = spec.truth_lps(i, j, k_file)
            assert np.linalg.norm(got - want) < 0.5, (i, j, k_vol, got, want)
