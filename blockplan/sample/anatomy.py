"""Dimensions and placement of the phantom's vertebrae and discs (a lordotic lumbar spine).

All lengths are millimetres. Positions are DICOM patient coordinates (LPS): ``+x`` patient
left, ``+y`` posterior, ``+z`` superior. Each vertebra and disc gets a :class:`Frame` whose
local axes are ``X`` (= patient left), ``A`` (posterior, perpendicular to the local spine
axis) and ``U`` (superior along the local spine axis). The spine is built upwards from the
sacrum: the S1 endplate is tilted by the sacral slope and each disc and body adds its own
lordotic wedge, which gives a smooth lordosis apex near L3–L4.

Figures are typical adult values (e.g. lumbar bodies 42–50 mm wide, 31–35 mm deep,
25–27 mm tall; lumbar discs 8–10 mm); the L4–L5 disc is lower and degenerate after the
discectomy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from blockplan.sample.shapes import Frame

__all__ = [
    "CT_LEVELS",
    "DISCS",
    "L3_CENTER_LPS",
    "SACRAL_SLOPE_DEG",
    "VERTEBRAE",
    "DiscSpec",
    "Placement",
    "VertebraSpec",
    "place_spine",
]


@dataclass(frozen=True, slots=True)
class VertebraSpec:
    """Dimensions of one vertebra (mm, degrees)."""

    name: str
    kind: str  # "thoracic" | "lumbar" | "sacral"
    body_width: float
    body_depth: float
    body_height: float
    wedge_deg: float  # lordotic wedge of the body (anterior taller when positive)
    interpedicular: float  # distance between the pedicles' medial walls
    pedicle_width: float
    pedicle_height: float
    pedicle_convergence_deg: float
    canal_depth: float  # anteroposterior depth of the bony canal at the midline
    spinous_length: float
    spinous_height: float
    transverse_length: float
    transverse_height: float
    shear: float  # posterior slope of laminae/spinous process per mm downwards

    @property
    def pedicle_center_u(self) -> float:
        """U of the pedicle axis (pedicles sit in the upper part of the body)."""
        return self.body_height / 2 - self.pedicle_height / 2 - 1.5


@dataclass(frozen=True, slots=True)
class DiscSpec:
    """An intervertebral disc and the facet joints at the same level (mm, degrees)."""

    upper: str
    lower: str
    height: float  # at the centre
    wedge_deg: float  # lordotic wedge (anterior taller when positive)
    facet_angle_deg: float  # facet joint plane measured from the sagittal plane
    degenerate: bool = False

    @property
    def name(self) -> str:
        """Level name, upper–lower with a hyphen, e.g. ``"L4-L5"``."""
        return f"{self.upper}-{self.lower}"


#: Superior to inferior. T10–T11 and S2–S3 complete the MR field of view only.
VERTEBRAE: tuple[VertebraSpec, ...] = (
    #   name  kind        W   D   H  wedge ipd  pw  ph conv cd  spL spH tpL tpH shear
    VertebraSpec("T10", "thoracic", 34, 26, 21, -4, 17, 6.0, 13, 0, 15, 34, 18, 20, 9, 0.55),
    VertebraSpec("T11", "thoracic", 36, 27, 22, -3, 18, 7.0, 14, 2, 15, 33, 19, 12, 9, 0.50),
    VertebraSpec("T12", "thoracic", 40, 29, 24, -2, 20, 7.5, 15, 5, 16, 31, 20, 8, 8, 0.35),
    VertebraSpec("L1", "lumbar", 42, 31, 25, -1, 22, 8.0, 15, 10, 16, 30, 22, 16, 9, 0.25),
    VertebraSpec("L2", "lumbar", 44, 32, 26, 0, 23, 9.0, 15, 12, 16, 30, 23, 22, 9, 0.20),
    VertebraSpec("L3", "lumbar", 46, 33, 27, 0, 24, 10.0, 15, 15, 16, 30, 23, 27, 10, 0.20),
    VertebraSpec("L4", "lumbar", 48, 34, 27, 1, 25, 12.0, 15, 18, 16, 28, 22, 24, 10, 0.20),
    VertebraSpec("L5", "lumbar", 50, 35, 26, 4, 27, 15.0, 15, 25, 16, 22, 20, 18, 12, 0.20),
    VertebraSpec("S1", "sacral", 48, 33, 28, 0, 28, 14.0, 14, 30, 14, 14, 16, 0, 0, 0.10),
    VertebraSpec("S2", "sacral", 40, 27, 24, 0, 24, 10.0, 12, 30, 11, 10, 14, 0, 0, 0.10),
    VertebraSpec("S3", "sacral", 32, 22, 20, 0, 20, 8.0, 10, 30, 9, 8, 12, 0, 0, 0.10),
)

#: Superior to inferior; S1–S2 and S2–S3 are fused (no disc).
DISCS: tuple[DiscSpec, ...] = (
    DiscSpec("T10", "T11", 5.5, -2, 75),
    DiscSpec("T11", "T12", 6.0, -1, 60),
    DiscSpec("T12", "L1", 7.0, 2, 20),
    DiscSpec("L1", "L2", 8.0, 4, 25),
    DiscSpec("L2", "L3", 9.0, 6, 32),
    DiscSpec("L3", "L4", 10.0, 7, 40),
    DiscSpec("L4", "L5", 8.0, 8, 45, degenerate=True),
    DiscSpec("L5", "S1", 10.0, 12, 50),
)

#: Levels the CT covers and the ground truth lists (vertebral bodies).
CT_LEVELS: tuple[str, ...] = ("T12", "L1", "L2", "L3", "L4", "L5", "S1")

#: Angle between the S1 superior endplate and the axial plane, supine (degrees).
SACRAL_SLOPE_DEG = 32.0
#: Where the L3 body centre lies in the scanner's patient coordinates (LPS mm).
L3_CENTER_LPS = (0.0, 40.0, -90.0)
#: Extra anterior tilt of each fused sacral segment below S1 (sacral kyphosis, degrees).
SACRAL_KYPHOSIS_DEG = 12.0


def _up(tilt_deg: float) -> npt.NDArray[np.float64]:
    """Unit superior axis tilted anteriorly by ``tilt_deg`` (LPS)."""
    t = math.radians(tilt_deg)
    return np.array([0.0, -math.sin(t), math.cos(t)])


@dataclass(frozen=True, slots=True)
class Placement:
    """Where every vertebra and disc sits: frames keyed by name (``"L4"``, ``"L4-L5"``)."""

    vertebra_frames: dict[str, Frame]
    disc_frames: dict[str, Frame]
    vertebrae: dict[str, VertebraSpec]
    discs: dict[str, DiscSpec]


def place_spine() -> Placement:
    """Chain the discs and bodies up from the sacrum and place them in LPS."""
    spec = {v.name: v for v in VERTEBRAE}
    centres: dict[str, tuple[npt.NDArray[np.float64], float]] = {}
    disc_centres: dict[str, tuple[npt.NDArray[np.float64], float]] = {}

    theta = SACRAL_SLOPE_DEG
    s1 = spec["S1"]
    c = np.zeros(3)
    centres["S1"] = (c, theta)
    p = c + _up(theta) * s1.body_height / 2
    for disc in reversed(DISCS):
        upper = spec[disc.upper]
        td = theta - disc.wedge_deg / 2
        disc_centres[disc.name] = (p + _up(td) * disc.height / 2, td)
        p = p + _up(td) * disc.height
        theta -= disc.wedge_deg
        tb = theta - upper.wedge_deg / 2
        centres[upper.name] = (p + _up(tb) * upper.body_height / 2, tb)
        p = p + _up(tb) * upper.body_height
        theta -= upper.wedge_deg

    # fused sacral segments below S1, each tilted further anteriorly (sacral kyphosis)
    prev, tilt = "S1", SACRAL_SLOPE_DEG
    for name in ("S2", "S3"):
        above = spec[prev]
        below = spec[name]
        t_new = tilt + SACRAL_KYPHOSIS_DEG
        bottom = centres[prev][0] - _up(tilt) * above.body_height / 2
        centres[name] = (bottom - _up(t_new) * (below.body_height / 2 - 1.0), t_new)
        prev, tilt = name, t_new

    shift = np.asarray(L3_CENTER_LPS) - centres["L3"][0]
    vframes = {n: Frame.sagittal_tilt(c + shift, t) for n, (c, t) in centres.items()}
    dframes = {n: Frame.sagittal_tilt(c + shift, t) for n, (c, t) in disc_centres.items()}
    return Placement(
        vertebra_frames={v.name: vframes[v.name] for v in VERTEBRAE},
        disc_frames={d.name: dframes[d.name] for d in DISCS},
        vertebrae=spec,
        discs={d.name: d for d in DISCS},
    )
