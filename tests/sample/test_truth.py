"""The ground truth is consistent with the phantom, the mask and the written pixels."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest

from blockplan.sample.phantom import Phantom
from blockplan.sample.targets import FORBIDDEN_ON_PATH, path_points
from blockplan.sample.tissues import Tissue
from blockplan.sample.truth import load_scar_mask
from tests.sample._read import read_stack

LEVELS = ["T12", "L1", "L2", "L3", "L4", "L5", "S1"]
DISCS = ["T12-L1", "L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"]
ROOTS = ["L1", "L2", "L3", "L4", "L5", "S1"]


@pytest.fixture(scope="module")
def phantom() -> Phantom:
    return Phantom()


@pytest.fixture(scope="module")
def ct(committed: Path):  # type: ignore[no-untyped-def]
    return read_stack(committed / "S0002_CT")


def test_top_level_keys_and_uids(truth: dict[str, Any], committed: Path) -> None:
    assert truth["coordinate_system"] == "DICOM patient LPS, mm"
    assert "description" in truth and (committed / truth["schema"]).is_file()
    ds = pydicom.dcmread(next((committed / "S0002_CT").glob("*.dcm")), stop_before_pixels=True)
    assert truth["frame_of_reference_uid"] == ds.FrameOfReferenceUID
    assert truth["study_instance_uid"] == ds.StudyInstanceUID
    assert truth["patient"]["synthetic"] is True
    assert (truth["surgery"]["level"], truth["surgery"]["side"]) == ("L4-L5", "left")


def test_schema_documents_every_top_level_key(truth: dict[str, Any], committed: Path) -> None:
    schema = (committed / truth["schema"]).read_text(encoding="utf-8")
    for key in truth:
        assert f"`{key}" in schema, key


def test_series_affines_match_the_headers(truth: dict[str, Any], committed: Path) -> None:
    for s in truth["series"]:
        stack = read_stack(committed / s["folder"])
        np.testing.assert_allclose(np.array(s["affine"]), stack.affine, atol=1e-4)
        assert stack.array.shape == (s["images"], s["rows"], s["columns"])


def test_levels_in_anatomical_order_with_lordosis(truth: dict[str, Any]) -> None:
    assert list(truth["vertebrae"]) == LEVELS
    assert list(truth["discs"]) == DISCS
    z = [truth["vertebrae"][n]["center_lps"][2] for n in LEVELS]
    assert all(a > b for a, b in itertools.pairwise(z))
    for disc in DISCS:
        upper, lower = disc.split("-")
        zd = truth["discs"][disc]["center_lps"][2]
        assert (
            truth["vertebrae"][lower]["center_lps"][2]
            < zd
            < truth["vertebrae"][upper]["center_lps"][2]
        )
        gap = np.linalg.norm(
            np.subtract(
                truth["vertebrae"][upper]["center_lps"], truth["vertebrae"][lower]["center_lps"]
            )
        )
        assert 30 < gap < 40
    # lordosis: the mid-lumbar bodies lie anterior (smaller y) to T12 and S1
    y = {n: truth["vertebrae"][n]["center_lps"][1] for n in LEVELS}
    assert y["L3"] < y["T12"] - 5 and y["L3"] < y["S1"] - 15
    for n in ("L1", "L2", "L3", "L4", "L5"):
        v = truth["vertebrae"][n]
        assert 42 <= v["body_width_mm"] <= 50 and 30 <= v["body_depth_mm"] <= 35
        left, right = v["pedicle_centers_lps"]["left"], v["pedicle_centers_lps"]["right"]
        assert left[0] > 0 > right[0]


def test_points_lie_in_the_named_tissue(truth: dict[str, Any], phantom: Phantom) -> None:
    bodies = np.array([truth["vertebrae"][n]["center_lps"] for n in LEVELS])
    assert set(phantom.labels(bodies)) == {int(Tissue.CANCELLOUS_BONE)}
    discs = np.array([truth["discs"][n]["center_lps"] for n in DISCS])
    labels = phantom.labels(discs)
    assert set(labels) <= {int(Tissue.NUCLEUS), int(Tissue.NUCLEUS_DEGENERATE)}
    assert labels[DISCS.index("L4-L5")] == int(Tissue.NUCLEUS_DEGENERATE)
    sac = np.array(list(truth["thecal_sac_centerline"].values()))
    assert set(truth["thecal_sac_centerline"]) == set(LEVELS) | set(DISCS)
    assert np.all(phantom.sac_sdf(sac) < -2.0)


def test_nerve_roots_at_every_foramen(truth: dict[str, Any], phantom: Phantom) -> None:
    roots = {(r["root"], r["side"]): r for r in truth["nerve_roots"]}
    for name in ROOTS:
        for side in ("left", "right"):
            r = roots[(name, side)]
            p = np.array(r["foramen_lps"])
            assert phantom.labels(p[None])[0] == int(Tissue.NERVE_ROOT)
            assert (p[0] > 0) == (side == "left")
            path = np.array(r["path_lps"])
            assert path[-1][2] < path[0][2]  # runs inferiorly …
            assert abs(path[-1][0]) > abs(path[0][0]) + 15  # … and laterally
    assert roots[("L5", "left")]["foramen"] == "L5-S1"
    # roots are inside the bony canal/foramen, not inside bone
    for r in truth["nerve_roots"]:
        path = r["path_lps"]
        for a, b in itertools.pairwise(path):
            pts = path_points(a, b, 0.5)
            assert np.all(phantom.bone_sdf(pts) > r["radius_mm"] * 0.5), r["root"]


def test_scar_volume_equals_mask_voxels(truth: dict[str, Any], committed: Path, ct) -> None:  # type: ignore[no-untyped-def]
    scar = truth["scar"]
    mask, affine = load_scar_mask(committed / scar["mask_file"])
    assert int(mask.sum()) == scar["voxel_count"] > 0
    voxel_mm3 = abs(np.linalg.det(ct.affine[:3, :3]))
    assert scar["voxel_volume_mm3"] == pytest.approx(voxel_mm3, rel=1e-6)
    assert scar["volume_ml"] == pytest.approx(scar["voxel_count"] * voxel_mm3 / 1000, abs=1e-4)
    assert sum(scar["volume_ml_by_level"].values()) == pytest.approx(scar["volume_ml"], abs=1e-3)
    assert set(scar["volume_ml_by_level"]) <= {"L4", "L4-L5", "L5"}
    assert 0.5 < scar["volume_ml"] < 4.0
    # the mask affine is the CT affine shifted to the crop origin
    with np.load(committed / scar["mask_file"]) as data:
        k0, j0, i0 = (int(v) for v in data["offset_kji"])
        assert str(data["frame_of_reference_uid"]) == truth["frame_of_reference_uid"]
    shifted = ct.affine.copy()
    shifted[:3, 3] = ct.affine[:3, :3] @ [i0, j0, k0] + ct.affine[:3, 3]
    np.testing.assert_allclose(affine, shifted, atol=1e-4)


def test_scar_mask_is_scar_in_the_phantom_and_wraps_the_left_l5_root(
    truth: dict[str, Any], committed: Path, phantom: Phantom
) -> None:
    mask, affine = load_scar_mask(committed / truth["scar"]["mask_file"])
    kk, jj, ii = np.nonzero(mask)
    pts = np.stack([ii, jj, kk, np.ones_like(ii)], axis=1) @ affine.T
    assert set(phantom.labels(pts[:, :3])) == {int(Tissue.SCAR)}
    assert np.all(pts[:, 0] > 0)  # left
    root = next(r for r in truth["nerve_roots"] if (r["root"], r["side"]) == ("L5", "left"))
    centre = np.array(root["path_lps"][1])  # the root in the left lateral recess
    near = pts[np.linalg.norm(pts[:, :3] - centre, axis=1) < 7.0, :3] - centre
    # scar on every side of the root: anterior, posterior, medial and lateral
    assert (near[:, 1] < -1).any() and (near[:, 1] > 1).any()
    assert (near[:, 0] < -1).any() and (near[:, 0] > 1).any()


def test_targets_have_the_required_fields(truth: dict[str, Any]) -> None:
    targets = truth["targets"]
    assert len(targets) >= 3
    kinds = {(t["block_type"], t["level"], t["side"]) for t in targets}
    assert {("tfesi", "L5", "right"), ("tfesi", "L5", "left"), ("mbb", "L4-L5", "right")} <= kinds
    for t in targets:
        assert t["structure"] in {"nerve_root", "facet", "medial_branch", "disc", "sij"}
        assert t["block_type"] in {"tfesi", "mbb", "snrb"}
        assert t["approach"] and len(t["target_lps"]) == 3 and len(t["entry_lps"]) == 3
        assert (t["entry_lps"][0] > 0) == (t["side"] == "left")
        assert 30 < np.linalg.norm(np.subtract(t["entry_lps"], t["target_lps"])) < 120


@pytest.mark.parametrize("index", range(5))
def test_needle_path_avoids_bone_sac_roots_and_organs(
    truth: dict[str, Any],
    phantom: Phantom,
    ct,
    index: int,  # type: ignore[no-untyped-def]
) -> None:
    t = truth["targets"][index]
    entry, target = np.array(t["entry_lps"]), np.array(t["target_lps"])
    pts = path_points(entry, target, 0.25)
    labels = phantom.labels(pts)
    crossed = sorted({Tissue(int(v)).name for v in labels if int(v) in FORBIDDEN_ON_PATH})
    assert crossed == [], f"{t['name']}: path crosses {crossed}"
    assert np.all(phantom.bone_sdf(pts) > 0)
    assert np.all(phantom.sac_sdf(pts) > 0)
    assert labels[-1] in {int(Tissue.FAT), int(Tissue.MUSCLE), int(Tissue.POSTOP_FILL)}
    # the entry is on the skin: just outside is air, just inside is the body
    out = (entry - target) / np.linalg.norm(entry - target)
    assert phantom.labels(np.array([entry + out, entry - out]))[0] == int(Tissue.AIR)
    assert phantom.labels((entry - out)[None])[0] != int(Tissue.AIR)
    # and in the written CT: no bone along the shaft (last 3 mm excluded: partial volume)
    depth = np.linalg.norm(pts - entry, axis=1)
    hu = ct.sample(pts[(depth > 1.0) & (depth < depth[-1] - 3.0)])
    assert not np.isnan(hu).any(), "path leaves the CT field of view"
    assert hu.max() < 400, f"{t['name']}: {hu.max():.0f} HU on the path"
