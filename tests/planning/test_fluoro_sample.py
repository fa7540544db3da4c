"""C-arm previews of the sample study's planned targets against its ground truth."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from click.testing import CliRunner
from scipy import ndimage

from blockplan.case.casefile import save_case_file
from blockplan.case.model import Case
from blockplan.cli import main
from blockplan.demo import build_demo_case
from blockplan.fluoro.drr import compute_drr
from blockplan.fluoro.views import FluoroView, ViewKind, target_views
from blockplan.io import ImageVolume
from blockplan.planning import describe_path, measure_paths

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"

pytestmark = pytest.mark.skipif(
    not (SAMPLE / "truth.json").is_file(), reason="sample_dicom/ has no truth.json"
)


@pytest.fixture(scope="module")
def truth() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SAMPLE / "truth.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def case() -> Case:
    return build_demo_case(SAMPLE)


@pytest.fixture(scope="module")
def ct() -> ImageVolume:
    from blockplan.io import discover, load_series

    info = next(s for s in discover(SAMPLE).series if s.modality == "CT")
    return load_series(info)


def test_bullseye_puts_entry_on_target_and_progression_shows_the_depth(case: Case) -> None:
    metrics = measure_paths(case)
    assert len(case.trajectories) == 5
    for traj in case.trajectories:
        views = {v.kind: v for v in target_views(case, traj.target_id)}
        target = case.target(traj.target_id).position.as_array()
        entry = traj.entry.as_array()
        eye = views[ViewKind.BULLSEYE].geometry
        assert np.linalg.norm(eye.project(entry) - eye.project(target)) < 1.0
        side = views[ViewKind.PROGRESSION].geometry
        shown = np.linalg.norm(side.project(entry) - side.project(target)) * 0.6  # mm
        expected = np.linalg.norm(entry - target) * side.detector.magnification
        assert shown == pytest.approx(expected, rel=0.01)
        # the bull's-eye angles are the path's, in the same words as the planning table
        assert views[ViewKind.BULLSEYE].c_arm == describe_path(metrics[traj.target_id]).c_arm


def test_truth_targets_angles(case: Case, truth: dict[str, Any]) -> None:
    (eye,) = target_views(case, case.targets[0].id, kinds=[ViewKind.BULLSEYE])
    first = truth["targets"][0]
    assert eye.angles.oblique_deg == pytest.approx(first["angle_from_sagittal_deg"], abs=0.1)
    assert eye.angles.tilt_deg == pytest.approx(first["craniocaudal_tilt_deg"], abs=0.1)
    assert eye.c_arm == "40.0° right oblique, 5.0° caudal tilt"


def test_ap_view_squares_the_endplates_of_the_target_level(
    case: Case, truth: dict[str, Any]
) -> None:
    for target in case.targets:
        (ap,) = target_views(case, target.id, kinds=[ViewKind.AP])
        assert target.level is not None
        if target.level in truth["vertebrae"]:
            normal = truth["vertebrae"][target.level]["superior_axis"]
        else:
            normal = truth["discs"][target.level]["normal"]
        off_deg = math.degrees(math.asin(abs(float(ap.geometry.beam @ np.array(normal)))))
        assert off_deg < 1.0, (target.level, off_deg)
        assert ap.angles.tilt_direction == "cranial" and ap.angles.oblique_deg == 0.0


def _bead(ct: ImageVolume, lps: npt.ArrayLike) -> tuple[ImageVolume, npt.NDArray[np.float64]]:
    """The CT with a dense 3-voxel bead at the voxel nearest ``lps``; and its centre."""
    ijk = np.rint(ct.lps_to_index(lps)).astype(int)
    arr = ct.array.copy()
    arr[ijk[2] - 1 : ijk[2] + 2, ijk[1] - 1 : ijk[1] + 2, ijk[0] - 1 : ijk[0] + 2] += 3000
    return ct.with_array(arr), ct.index_to_lps(ijk)


def _centroid(weights: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    w = np.clip(weights, 0.0, None).astype(np.float64)
    rows, cols = np.indices(w.shape)
    return np.array([(w * cols).sum() / w.sum(), (w * rows).sum() / w.sum()])


def _profile(li: npt.NDArray[np.float32], a: Any, b: Any, ts: Any) -> Any:
    """Mean line integral across a 20 px band along the line a → b, at parameters ts."""
    d = (b - a) / np.linalg.norm(b - a)
    perp = np.array([-d[1], d[0]])
    rows = []
    for off in np.linspace(-10, 10, 11):
        pts = a[None] + ts[:, None] * (b - a)[None] + off * perp
        rows.append(ndimage.map_coordinates(li, [pts[:, 1], pts[:, 0]], order=1))
    return np.mean(rows, axis=0)


def test_l5_body_projects_where_the_truth_says(
    case: Case, ct: ImageVolume, truth: dict[str, Any]
) -> None:
    l5 = np.array(truth["vertebrae"]["L5"]["center_lps"])
    above = np.array(truth["discs"]["L4-L5"]["center_lps"])
    below = np.array(truth["discs"]["L5-S1"]["center_lps"])
    with_bead, bead_lps = _bead(ct, l5)
    views: tuple[FluoroView, ...] = target_views(
        case, case.targets[0].id, kinds=[ViewKind.LATERAL, ViewKind.AP]
    )
    for view in views:
        g = view.geometry
        li = compute_drr(ct, g)
        # a bead at the L5 centre shows where the projection matrix puts it
        bead_px = _centroid(compute_drr(with_bead, g) - li)
        assert np.linalg.norm(bead_px - g.project(bead_lps)) < 0.5, view.kind
        if view.kind != ViewKind.LATERAL:
            continue
        # on the lateral, the L5 body lies between its discs, which are where truth says
        pu, p5, pl = g.project(np.array([above, l5, below]))
        ts = np.linspace(-0.4, 1.4, 721)
        prof = _profile(li, pu, pl, ts)
        found = [ts[np.argmin(np.where(abs(ts - t0) < 0.25, prof, np.inf))] for t0 in (0, 1)]
        to_mm = 0.6 / g.detector.magnification * np.linalg.norm(pl - pu)
        assert abs(found[0] - 0.0) * to_mm < 2.5 and abs(found[1] - 1.0) * to_mm < 2.5
        values = ndimage.map_coordinates(li, [[pu[1], p5[1], pl[1]], [pu[0], p5[0], pl[0]]])
        assert values[1] > values[0] and values[1] > values[2]  # bone denser than disc


def test_fluoro_cli_writes_the_png_and_the_json(tmp_path: Path, case: Case) -> None:
    from PIL import Image

    case_file = tmp_path / "case.json"
    save_case_file(case, case_file)
    out = tmp_path / "t3.png"
    args = ["fluoro", str(case_file), "--images", str(SAMPLE), "--target", "T3"]
    result = CliRunner().invoke(main, [*args, "--view", "oblique", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "T3 · L4-L5 right MBB — ipsilateral oblique: " in result.output
    with Image.open(out) as img:
        assert img.size == (512, 512) and img.mode == "RGB"
    record = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert record["view"] == "oblique" and record["c_arm_angles"]["oblique_side"] == "right"
    assert record["source_detector_mm"] == 1000.0 and record["source_isocentre_mm"] == 600.0
    p = np.array(record["projection_matrix"])
    target = case.targets[2]
    traj = case.trajectory_for(target.id)
    assert traj is not None
    for lps, px in ((target.position.lps, "target_px"), (traj.entry.lps, "entry_px")):
        h = p @ np.r_[lps, 1.0]
        np.testing.assert_allclose(h[:2] / h[2], record[px], atol=1e-6)
    bad = CliRunner().invoke(main, [*args[:-1], "T9", "-o", str(tmp_path / "x.png")])
    assert bad.exit_code == 2
    assert bad.output.strip().splitlines() == [
        "blockplan: error: fluoro: case demo-phantom-lumbar-0001 has no target 'T9'; "
        "expected an id or one of T1, T2, T3, T4, T5"
    ]
