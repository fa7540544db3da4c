"""blockplan.io loads every sample series with geometry that matches truth.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from blockplan.io import ImageVolume
from blockplan.sample.phantom import Phantom
from blockplan.sample.tissues import Tissue
from blockplan.sample.truth import load_scar_mask
from tests.sample._read import read_stack


@pytest.fixture(scope="module")
def volumes(committed: Path) -> dict[int, ImageVolume]:
    from blockplan.io import discover, load_series

    found = discover(committed)
    by_number = {}
    for info in found.series:
        assert info.series_number not in by_number, "one volume per sample series expected"
        by_number[info.series_number] = load_series(info)
    assert sorted(by_number) == [2, 3, 4, 5]
    assert [by_number[n].modality for n in (2, 3, 4, 5)] == ["CT", "MR", "MR", "MR"]
    return by_number


def test_loader_loads_every_series_with_truth_geometry(
    volumes: dict[int, ImageVolume], truth: dict[str, Any], committed: Path
) -> None:
    for s in truth["series"]:
        vol = volumes[s["series_number"]]
        assert vol.shape == (s["images"], s["rows"], s["columns"])
        assert vol.frame_of_reference_uid == truth["frame_of_reference_uid"]
        # the same voxel centres as the headers, whatever slice order the loader chose
        ref = read_stack(committed / s["folder"])
        corners = np.array([[0, 0, 0], [s["columns"] - 1, s["rows"] - 1, s["images"] - 1]])
        ref_pts = corners @ ref.affine[:3, :3].T + ref.affine[:3, 3]
        got = vol.index_to_lps(
            [
                [0, 0, 0],
                [0, 0, s["images"] - 1],
                [s["columns"] - 1, s["rows"] - 1, 0],
                [s["columns"] - 1, s["rows"] - 1, s["images"] - 1],
            ]
        )
        for p in ref_pts:
            assert np.linalg.norm(got - p, axis=1).min() < 0.01, (s["series_number"], p)


def test_ct_values_at_truth_points(volumes: dict[int, ImageVolume], truth: dict[str, Any]) -> None:
    ct = volumes[2]
    bodies = np.array([v["center_lps"] for v in truth["vertebrae"].values()])
    hu = ct.sample_lps(bodies, order=1)
    assert np.all((hu > 150) & (hu < 400)), hu  # cancellous bone
    discs = np.array([d["center_lps"] for d in truth["discs"].values()])
    hu = ct.sample_lps(discs, order=1)
    assert np.all((hu > 20) & (hu < 140)), hu  # nucleus pulposus
    sac = np.array(list(truth["thecal_sac_centerline"].values()))
    assert np.median(ct.sample_lps(sac, order=1)) < 30  # CSF


def test_frames_of_reference_shared_and_l4_inside_every_volume(
    volumes: dict[int, ImageVolume], truth: dict[str, Any]
) -> None:
    assert len({v.frame_of_reference_uid for v in volumes.values()}) == 1
    l4 = truth["vertebrae"]["L4"]["center_lps"]
    disc = truth["discs"]["L4-L5"]["center_lps"]
    for vol in volumes.values():
        assert vol.contains_lps(l4) and vol.contains_lps(disc)


def test_t2_csf_and_nucleus_bright(volumes: dict[int, ImageVolume], truth: dict[str, Any]) -> None:
    t2 = volumes[3]
    sac = np.array([truth["thecal_sac_centerline"][n] for n in ("L2", "L3", "L4")])
    bodies = np.array([truth["vertebrae"][n]["center_lps"] for n in ("L2", "L3", "L4")])
    healthy = np.array([truth["discs"][n]["center_lps"] for n in ("L2-L3", "L3-L4")])
    degenerate = np.array([truth["discs"]["L4-L5"]["center_lps"]])
    csf, bone = t2.sample_lps(sac).mean(), t2.sample_lps(bodies).mean()
    assert csf > 1.5 * bone
    assert t2.sample_lps(healthy).min() > 1.3 * t2.sample_lps(degenerate).max()


def _scar_and_neighbours(
    vol: ImageVolume, truth: dict[str, Any], committed: Path
) -> dict[str, float]:
    """Mean intensity of the truth scar mask and of muscle, CSF and fat on its slice."""
    mask, affine = load_scar_mask(committed / truth["scar"]["mask_file"])
    kk, jj, ii = np.nonzero(mask)
    scar_pts = (np.stack([ii, jj, kk, np.ones_like(ii)], axis=1) @ affine.T)[:, :3]
    out = {"SCAR": float(np.nanmean(vol.sample_lps(scar_pts, order=1)))}
    # other tissues on the slice through the scar centroid, labelled by the phantom itself
    _nk, nj, ni = vol.shape
    k = round(vol.lps_to_index(truth["scar"]["centroid_lps"])[2])
    jj2, ii2 = np.meshgrid(np.arange(nj), np.arange(ni), indexing="ij")
    ijk = np.stack([ii2.ravel(), jj2.ravel(), np.full(ii2.size, k)], axis=1)
    labels = Phantom().labels(vol.index_to_lps(ijk))
    values = vol.array[k].ravel().astype(float)
    for tissue in (Tissue.MUSCLE, Tissue.CSF, Tissue.FAT):
        out[tissue.name] = float(values[labels == int(tissue)].mean())
    return out


def test_t1_scar_enhances_relative_to_muscle_and_csf(
    volumes: dict[int, ImageVolume], truth: dict[str, Any], committed: Path
) -> None:
    m = _scar_and_neighbours(volumes[4], truth, committed)
    assert m["SCAR"] > 1.5 * m["MUSCLE"] > 1.5 * m["CSF"]
    assert m["FAT"] > 1.5 * m["MUSCLE"]  # no fat suppression: fat bright


def test_fat_suppressed_t1_scar_stands_out(
    volumes: dict[int, ImageVolume], truth: dict[str, Any], committed: Path
) -> None:
    m = _scar_and_neighbours(volumes[5], truth, committed)
    assert m["SCAR"] > 2.0 * max(m["MUSCLE"], m["CSF"], m["FAT"])
    np.testing.assert_allclose(volumes[5].affine, volumes[4].affine)
