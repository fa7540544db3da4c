"""The named builders of the sample study: the placement rule of each kind of target and
the anatomical rules the phantom's torso and vertebrae follow."""

from __future__ import annotations

import numpy as np
import pytest

from blockplan.sample.phantom import Phantom
from blockplan.sample.shapes import Polyline
from blockplan.sample.targets import (
    EntryLimits,
    _medial_branch_target,
    _snrb_target,
    _tfesi_target,
)
from blockplan.sample.tissues import Tissue

SOFT = {int(Tissue.FAT), int(Tissue.MUSCLE), int(Tissue.POSTOP_FILL)}
WIDE = EntryLimits(x_max=85.0, z_min=-1e3, z_max=1e3)


@pytest.fixture(scope="module")
def phantom() -> Phantom:
    return Phantom()


def _local(phantom: Phantom, level: str, lps: np.ndarray) -> np.ndarray:
    """LPS point in the frame of vertebra ``level`` (x lateral, a anterior-posterior, u up)."""
    f = phantom.vf[level]
    return np.asarray((lps - f.origin) @ f.axes.T)


@pytest.mark.parametrize("side", ["left", "right"])
def test_tfesi_tip_in_the_safe_triangle_below_the_l5_pedicle(phantom: Phantom, side: str) -> None:
    t = _tfesi_target(phantom, WIDE, side)
    v = phantom.spec["L5"]
    x, _, u = _local(phantom, "L5", t.target_lps)
    assert u < v.pedicle_center_u - v.pedicle_height / 2  # below the pedicle
    assert abs(x) > v.interpedicular / 2 and np.sign(x) == (1 if side == "left" else -1)
    assert int(phantom.labels(t.target_lps[None])[0]) in SOFT
    assert float(phantom.bone_sdf(t.target_lps[None])[0]) >= 1.5
    assert float(phantom.root_distance(t.target_lps[None])[0]) >= 2.0
    assert (t.block_type, t.level, t.side) == ("tfesi", "L5", side)


@pytest.mark.parametrize(
    ("nerve", "host"), [("L3 medial branch", "L4"), ("L4 medial branch", "L5")]
)
def test_medial_branch_tip_one_mm_off_bone_on_the_right_of_its_host(
    phantom: Phantom, nerve: str, host: str
) -> None:
    t = _medial_branch_target(phantom, WIDE, nerve, host)
    assert float(phantom.bone_sdf(t.target_lps[None])[0]) == pytest.approx(1.0, abs=0.1)
    assert _local(phantom, host, t.target_lps)[0] < 0  # patient right
    assert (t.block_type, t.level, t.side, t.nerve) == ("mbb", "L4-L5", "right", nerve)
    assert host in t.note


def test_snrb_tip_just_behind_the_left_l5_root_leaving_its_foramen(phantom: Phantom) -> None:
    t = _snrb_target(phantom, WIDE)
    root = phantom.root("L5", "left")
    gap = float(phantom.root_distance(t.target_lps[None])[0])
    assert 1.0 <= gap <= 4.0
    assert t.target_lps[1] > root.path_lps[4][1]  # posterior to the root
    assert (t.block_type, t.side, t.approach) == ("snrb", "left", "extraforaminal")


def test_left_kidney_higher_than_the_right(phantom: Phantom) -> None:
    layers = phantom._kidneys()  # (perirenal fat, kidney) on the left, then on the right
    assert [t for t, _ in layers] == [Tissue.FAT, Tissue.KIDNEY, Tissue.FAT, Tissue.KIDNEY]
    left, right = layers[1][1], layers[3][1]
    assert left.bounds[0][0] > 0 > right.bounds[1][0]  # left is +x
    assert left.bounds[1][2] > right.bounds[1][2]


def test_aorta_left_to_l4_and_ivc_right_to_l5(phantom: Phantom) -> None:
    z, yf = phantom._z_body, phantom._y_front
    zp = np.concatenate([[z[0] - 80], z, [z[-1] + 80]])
    yfp = np.concatenate([[yf[0]], yf, [yf[-1]]])
    aorta, ivc = phantom._great_vessels(zp, yfp)
    assert aorta.bounds[0][0] > 0 > ivc.bounds[1][0]
    assert aorta.bounds[0][2] >= float(phantom.vf["L4"].origin[2])
    assert ivc.bounds[0][2] >= float(phantom.vf["L5"].origin[2])
    assert ivc.bounds[0][2] < aorta.bounds[0][2]


def test_ribs_only_on_t12_and_alae_only_on_the_sacrum(phantom: Phantom) -> None:
    def parts(level: str) -> list:  # type: ignore[type-arg]
        return phantom._vertebra_parts(phantom.spec[level])

    assert [isinstance(p, Polyline) for p in parts("T12")].count(True) == 2
    assert not any(isinstance(p, Polyline) for p in parts("L1") + parts("S1"))
    alae = phantom._sacral_alae(phantom.spec["S1"])
    assert [p.bounds for p in parts("S1")[-2:]] == [a.bounds for a in alae]
    spinous = phantom._spinous_process(phantom.spec["L3"])
    assert parts("L3")[-1].bounds == spinous.bounds  # nothing after it on a lumbar vertebra
