"""Tissue labels of the phantom and their intensities in each synthetic series.

CT values are Hounsfield units. MR values are arbitrary scanner units of a 12-bit
magnitude image (T2-weighted turbo spin echo; T1-weighted spin echo after gadolinium,
without and with fat suppression).
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import numpy.typing as npt

__all__ = ["CT_HU", "MR_T1_POST_GD", "MR_T1_POST_GD_FS", "MR_T2", "Tissue", "lookup_table"]


class Tissue(IntEnum):
    """Label of every voxel of the phantom (``uint8``)."""

    AIR = 0
    SKIN = 1
    FAT = 2
    MUSCLE = 3
    VISCERA = 4
    BLOOD = 5
    KIDNEY = 6
    CORTICAL_BONE = 7
    CANCELLOUS_BONE = 8
    ANNULUS = 9
    NUCLEUS = 10
    NUCLEUS_DEGENERATE = 11
    CSF = 12
    CORD = 13
    NERVE_ROOT = 14
    LIGAMENT = 15
    JOINT = 16
    SCAR = 17
    POSTOP_FILL = 18


#: CT attenuation, Hounsfield units.
CT_HU: dict[Tissue, float] = {
    Tissue.AIR: -1000.0,
    Tissue.SKIN: 30.0,
    Tissue.FAT: -100.0,
    Tissue.MUSCLE: 50.0,
    Tissue.VISCERA: 35.0,
    Tissue.BLOOD: 42.0,
    Tissue.KIDNEY: 32.0,
    Tissue.CORTICAL_BONE: 1250.0,
    Tissue.CANCELLOUS_BONE: 250.0,
    Tissue.ANNULUS: 90.0,
    Tissue.NUCLEUS: 75.0,
    Tissue.NUCLEUS_DEGENERATE: 82.0,
    Tissue.CSF: 10.0,
    Tissue.CORD: 35.0,
    Tissue.NERVE_ROOT: 40.0,
    Tissue.LIGAMENT: 70.0,
    Tissue.JOINT: 20.0,
    Tissue.SCAR: 62.0,
    Tissue.POSTOP_FILL: -45.0,
}

#: T2-weighted TSE: CSF and healthy nucleus bright, fat bright-ish, bone marrow intermediate.
MR_T2: dict[Tissue, float] = {
    Tissue.AIR: 0.0,
    Tissue.SKIN: 300.0,
    Tissue.FAT: 640.0,
    Tissue.MUSCLE: 170.0,
    Tissue.VISCERA: 380.0,
    Tissue.BLOOD: 40.0,
    Tissue.KIDNEY: 480.0,
    Tissue.CORTICAL_BONE: 25.0,
    Tissue.CANCELLOUS_BONE: 420.0,
    Tissue.ANNULUS: 110.0,
    Tissue.NUCLEUS: 820.0,
    Tissue.NUCLEUS_DEGENERATE: 250.0,
    Tissue.CSF: 1000.0,
    Tissue.CORD: 330.0,
    Tissue.NERVE_ROOT: 240.0,
    Tissue.LIGAMENT: 90.0,
    Tissue.JOINT: 700.0,
    Tissue.SCAR: 380.0,
    Tissue.POSTOP_FILL: 560.0,
}

#: T1-weighted SE after gadolinium, no fat suppression: fat bright, CSF dark, scar enhancing.
MR_T1_POST_GD: dict[Tissue, float] = {
    Tissue.AIR: 0.0,
    Tissue.SKIN: 480.0,
    Tissue.FAT: 820.0,
    Tissue.MUSCLE: 330.0,
    Tissue.VISCERA: 460.0,
    Tissue.BLOOD: 700.0,
    Tissue.KIDNEY: 760.0,
    Tissue.CORTICAL_BONE: 30.0,
    Tissue.CANCELLOUS_BONE: 620.0,
    Tissue.ANNULUS: 240.0,
    Tissue.NUCLEUS: 300.0,
    Tissue.NUCLEUS_DEGENERATE: 290.0,
    Tissue.CSF: 120.0,
    Tissue.CORD: 420.0,
    Tissue.NERVE_ROOT: 400.0,
    Tissue.LIGAMENT: 200.0,
    Tissue.JOINT: 260.0,
    Tissue.SCAR: 1000.0,
    Tissue.POSTOP_FILL: 600.0,
}


#: The same T1 after gadolinium with fat suppression: fat and fatty marrow dark, scar bright.
MR_T1_POST_GD_FS: dict[Tissue, float] = {
    Tissue.AIR: 0.0,
    Tissue.SKIN: 380.0,
    Tissue.FAT: 110.0,
    Tissue.MUSCLE: 300.0,
    Tissue.VISCERA: 420.0,
    Tissue.BLOOD: 650.0,
    Tissue.KIDNEY: 700.0,
    Tissue.CORTICAL_BONE: 25.0,
    Tissue.CANCELLOUS_BONE: 170.0,
    Tissue.ANNULUS: 220.0,
    Tissue.NUCLEUS: 260.0,
    Tissue.NUCLEUS_DEGENERATE: 250.0,
    Tissue.CSF: 100.0,
    Tissue.CORD: 380.0,
    Tissue.NERVE_ROOT: 380.0,
    Tissue.LIGAMENT: 180.0,
    Tissue.JOINT: 240.0,
    Tissue.SCAR: 950.0,
    Tissue.POSTOP_FILL: 260.0,
}


def lookup_table(values: dict[Tissue, float]) -> npt.NDArray[np.float32]:
    """A ``float32`` array indexed by label value (``table[labels]`` gives intensities)."""
    table = np.zeros(256, dtype=np.float32)
    for tissue, value in values.items():
        table[int(tissue)] = value
    return table
