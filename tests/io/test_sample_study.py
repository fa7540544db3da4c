"""The shipped synthetic study (sample_dicom/) loads with the geometry its truth.json states."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from blockplan.io import discover, load_series

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"


@pytest.mark.skipif(not (SAMPLE / "truth.json").is_file(), reason="sample_dicom/ not present")
def test_sample_study_series_match_truth_affines() -> None:
    truth = json.loads((SAMPLE / "truth.json").read_text())
    found = discover(SAMPLE)
    assert all(s.status == "ok" for s in found.series)
    assert {Path(f.path).name for f in found.skipped} >= {"truth.json", "PROVENANCE.md"}
    for entry in truth["series"]:
        s = found.get(entry["series_instance_uid"])
        vol = load_series(s)
        assert vol.shape == (entry["images"], entry["rows"], entry["columns"])
        assert vol.frame_of_reference_uid == truth["frame_of_reference_uid"]
        want = np.array(entry["affine"], dtype=float)
        k_last = vol.shape[0] - 1
        # the truth may count slices the other way: compare the grid's corner points
        corners = [
            (i, j, k)
            for i in (0, vol.shape[2] - 1)
            for j in (0, vol.shape[1] - 1)
            for k in (0, k_last)
        ]
        got_pts = vol.index_to_lps(np.array(corners, dtype=float))
        want_pts = np.array([want @ np.array([*c, 1.0]) for c in corners])[:, :3]
        dist = np.linalg.norm(got_pts[:, None, :] - want_pts[None, :, :], axis=2).min(axis=1)
        assert dist.max() < 0.5, (entry["series_number"], dist.max())
