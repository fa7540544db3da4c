"""Injection targets and safe straight needle paths, checked against the phantom itself.

A path is *safe* when every point between the skin entry and the target lies outside
bone (with a clearance), the thecal sac, the cord, the nerve roots, the kidneys, the
viscera and the great vessels. Entries are found by a deterministic search over needle
angles around the textbook approach, so they are reproducible and verified by
construction (the tests check them again, independently).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from blockplan.sample.phantom import SIDES, Phantom
from blockplan.sample.tissues import Tissue

__all__ = ["FORBIDDEN_ON_PATH", "EntryLimits", "Target", "path_points", "plan_targets"]

F64 = npt.NDArray[np.float64]

#: Tissues a needle path must never cross.
FORBIDDEN_ON_PATH: frozenset[int] = frozenset(
    int(t)
    for t in (
        Tissue.CORTICAL_BONE,
        Tissue.CANCELLOUS_BONE,
        Tissue.CSF,
        Tissue.CORD,
        Tissue.NERVE_ROOT,
        Tissue.VISCERA,
        Tissue.KIDNEY,
        Tissue.BLOOD,
    )
)
_STEP_MM = 0.25
SHAFT_END_MM = 3.0
"""The shaft whose bone clearance truth.json records ends this far before the tip (the
last millimetres reach the target, which may lie next to bone)."""


@dataclass(frozen=True, slots=True)
class Target:
    """One planned injection: where the needle tip goes and where it enters the skin."""

    name: str
    level: str
    side: str
    structure: str
    block_type: str
    approach: str
    nerve: str
    target_lps: F64
    entry_lps: F64
    angle_from_sagittal_deg: float
    craniocaudal_tilt_deg: float
    min_bone_clearance_mm: float
    note: str

    @property
    def depth_mm(self) -> float:
        """Straight skin-to-target distance (mm)."""
        return float(np.linalg.norm(self.entry_lps - self.target_lps))


def path_points(a: npt.ArrayLike, b: npt.ArrayLike, step_mm: float = _STEP_MM) -> F64:
    """Points from ``a`` to ``b`` (LPS) every ``step_mm`` (both ends included)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    n = max(2, math.ceil(float(np.linalg.norm(b - a)) / step_mm) + 1)
    t = np.linspace(0.0, 1.0, n)[:, None]
    result: npt.NDArray[np.float64] = a + t * (b - a)
    return result


def _direction(side: int, theta_deg: float, tilt_deg: float) -> F64:
    """Unit vector from target towards the skin: posterior, ``theta`` lateral, ``tilt`` caudal."""
    t, p = math.radians(theta_deg), math.radians(tilt_deg)
    return np.array([side * math.sin(t) * math.cos(p), math.cos(t) * math.cos(p), -math.sin(p)])


@dataclass(frozen=True, slots=True)
class EntryLimits:
    """Where an entry point may lie (inside the CT field of view, LPS mm)."""

    x_max: float
    z_min: float
    z_max: float


def _try_path(
    phantom: Phantom,
    target: F64,
    direction: F64,
    limits: EntryLimits,
    tip_zone_mm: float,
    bone_clearance_mm: float,
) -> tuple[F64, float] | None:
    """Entry point and the shaft's bone clearance (on the phantom's labels) of a safe path,
    or None."""
    pts = target + np.arange(0.0, 220.0, _STEP_MM)[:, None] * direction
    labels = phantom.labels(pts)
    outside = np.nonzero(labels == int(Tissue.AIR))[0]
    if len(outside) == 0:
        return None
    exit_i = int(outside[0])
    inside = pts[:exit_i]
    if any(int(v) in FORBIDDEN_ON_PATH for v in labels[:exit_i]):
        return None
    dist = np.arange(exit_i) * _STEP_MM
    shaft = dist > tip_zone_mm
    bone = phantom.bone_sdf(inside)
    if np.any(bone <= 0.25) or np.any(bone[shaft] < bone_clearance_mm):
        return None
    if np.any(phantom.root_distance(inside) < 1.0) or np.any(phantom.sac_sdf(inside) < 1.0):
        return None
    entry = (pts[exit_i - 1] + pts[exit_i]) / 2
    if abs(entry[0]) > limits.x_max or not limits.z_min <= entry[2] <= limits.z_max:
        return None
    return entry, phantom.bone_clearance(entry, target + SHAFT_END_MM * direction)


def _search(
    phantom: Phantom,
    target: F64,
    side: int,
    preferred: tuple[float, float],
    limits: EntryLimits,
    tip_zone_mm: float,
    bone_clearance_mm: float = 3.0,
) -> tuple[F64, float, float, float]:
    """Best safe path near the preferred (angle from sagittal, caudal tilt)."""
    options = []
    for theta in range(0, 76, 5):
        for tilt in range(-30, 31, 5):
            cost = abs(theta - preferred[0]) + abs(tilt - preferred[1])
            options.append((cost, theta, tilt))
    options.sort()
    for _cost, theta, tilt in options:
        found = _try_path(
            phantom,
            target,
            _direction(side, theta, tilt),
            limits,
            tip_zone_mm,
            bone_clearance_mm,
        )
        if found is not None:
            return found[0], float(theta), float(tilt), found[1]
    raise RuntimeError(f"no safe needle path to target at {np.round(target, 1)}")


def _free_point_near(phantom: Phantom, nominal: F64, bone_mm: float, root_mm: float) -> F64:
    """The point nearest to ``nominal`` (0.5 mm lattice) in soft tissue, clear of bone/roots."""
    r = np.arange(-4.0, 4.01, 0.5)
    grid = np.stack(np.meshgrid(r, r, r, indexing="ij"), axis=-1).reshape(-1, 3)
    grid = grid[np.argsort(np.linalg.norm(grid, axis=1), kind="stable")]
    pts = nominal + grid
    labels = phantom.labels(pts)
    ok = (
        np.isin(labels, [int(Tissue.FAT), int(Tissue.MUSCLE), int(Tissue.POSTOP_FILL)])
        & (phantom.bone_sdf(pts) >= bone_mm)
        & (phantom.root_distance(pts) >= root_mm)
        & (phantom.sac_sdf(pts) >= 2.0)
    )
    if not ok.any():
        raise RuntimeError(f"no free target point near {np.round(nominal, 1)}")
    return np.asarray(pts[int(np.argmax(ok))])


def _off_bone(phantom: Phantom, start: F64, direction: F64, gap_mm: float) -> F64:
    """March from a point inside bone along ``direction`` until ``gap_mm`` off the surface."""
    steps = np.arange(0.0, 40.0, 0.1)[:, None] * direction + start
    d = phantom.bone_sdf(steps)
    inside = np.nonzero(d <= 0)[0]
    first = int(inside[-1]) + 1 if len(inside) else 0
    beyond = np.nonzero(d[first:] >= gap_mm)[0]
    return np.asarray(steps[first + int(beyond[0])])


def plan_targets(phantom: Phantom, limits: EntryLimits) -> list[Target]:
    """TFESI at L5 both sides, right L4–L5 medial branch blocks, left L5 SNRB."""
    out = [_tfesi_target(phantom, limits, side) for side in ("right", "left")]
    # medial branch blocks for the right L4-L5 facet: L3 MB over L4, L4 MB over L5
    out += [
        _medial_branch_target(phantom, limits, nerve, host)
        for nerve, host in (("L3 medial branch", "L4"), ("L4 medial branch", "L5"))
    ]
    out.append(_snrb_target(phantom, limits))
    return out


def _tfesi_target(phantom: Phantom, limits: EntryLimits, side: str) -> Target:
    """L5 transforaminal epidural: the subpedicular safe triangle below the L5 pedicle.

    The tip is the free soft-tissue point nearest to just below and lateral to the pedicle
    (1.5 mm off bone, 2 mm off the root); the path is searched around 35° lateral, 10° caudal.
    """
    v = phantom.spec["L5"]
    f = phantom.vf["L5"]
    s = SIDES[side]
    nominal = f.to_lps(
        (
            s * (v.interpedicular / 2 + v.pedicle_width * 0.75),
            v.body_depth / 2 + 8.0,
            v.pedicle_center_u - v.pedicle_height / 2 - 3.0,
        )
    )
    target = _free_point_near(phantom, nominal, bone_mm=1.5, root_mm=2.0)
    entry, theta, tilt, clear = _search(
        phantom, target, s, (35.0, 10.0), limits, tip_zone_mm=10.0, bone_clearance_mm=2.0
    )
    return Target(
        name=f"L5 {side} transforaminal (subpedicular safe triangle)",
        level="L5",
        side=side,
        structure="nerve_root",
        block_type="tfesi",
        approach="subpedicular (safe triangle)",
        nerve="L5 spinal nerve",
        target_lps=target,
        entry_lps=entry,
        angle_from_sagittal_deg=theta,
        craniocaudal_tilt_deg=tilt,
        min_bone_clearance_mm=clear,
        note="tip just below the L5 pedicle, posterosuperolateral to the exiting L5 root "
        "in the L5-S1 foramen",
    )


def _medial_branch_target(phantom: Phantom, limits: EntryLimits, nerve: str, host: str) -> Target:
    """Right medial branch block: 1 mm off bone at the junction of the ``host`` vertebra's
    superior articular process and transverse process (path near 15° lateral, no tilt)."""
    hv = phantom.spec[host]
    hf = phantom.vf[host]
    s = SIDES["right"]
    junction = hf.to_lps(
        (
            s * (hv.interpedicular / 2 + hv.pedicle_width + 1.0),
            hv.body_depth / 2 + 11.0,
            hv.pedicle_center_u + hv.transverse_height / 2 - 1.5,
        )
    )
    approach = _direction(s, 15.0, 0.0)
    target = _off_bone(phantom, junction, approach, gap_mm=1.0)
    entry, theta, tilt, clear = _search(
        phantom, target, s, (15.0, 0.0), limits, tip_zone_mm=6.0, bone_clearance_mm=2.0
    )
    return Target(
        name=f"{nerve} (right), L4-L5 facet",
        level="L4-L5",
        side="right",
        structure="medial_branch",
        block_type="mbb",
        approach="posterior oblique",
        nerve=nerve,
        target_lps=target,
        entry_lps=entry,
        angle_from_sagittal_deg=theta,
        craniocaudal_tilt_deg=tilt,
        min_bone_clearance_mm=clear,
        note=f"tip 1 mm off bone at the junction of the {host} superior articular "
        f"process and transverse process",
    )


def _snrb_target(phantom: Phantom, limits: EntryLimits) -> Target:
    """Selective nerve root block of the scarred left L5 root, at the foraminal exit.

    The tip is the free point nearest to 2 mm behind the root's surface where it leaves
    the foramen (1 mm off the root); the path is searched around 40° lateral, 5° caudal.
    """
    root = phantom.root("L5", "left")
    p_in, p_out = root.path_lps[3], root.path_lps[4]
    along = (p_out - p_in) / np.linalg.norm(p_out - p_in)
    post = np.array([0.0, 1.0, 0.0]) - along * along[1]
    post /= np.linalg.norm(post)
    nominal = p_out + post * (root.radii_mm[4] + 2.0)
    target = _free_point_near(phantom, nominal, bone_mm=1.5, root_mm=1.0)
    entry, theta, tilt, clear = _search(
        phantom, target, 1, (40.0, 5.0), limits, tip_zone_mm=10.0, bone_clearance_mm=2.0
    )
    return Target(
        name="L5 left selective nerve root block",
        level="L5",
        side="left",
        structure="nerve_root",
        block_type="snrb",
        approach="extraforaminal",
        nerve="L5 spinal nerve",
        target_lps=target,
        entry_lps=entry,
        angle_from_sagittal_deg=theta,
        craniocaudal_tilt_deg=tilt,
        min_bone_clearance_mm=clear,
        note="tip against the posterior surface of the left L5 root as it leaves the L5-S1 "
        "foramen (the root wrapped by scar in the lateral recess)",
    )
