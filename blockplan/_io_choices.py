"""The loader's choices for gaps and gantry tilt.

Outside `blockplan.io`, whose package imports pydicom: the command line builds its options
from here without loading the loader.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["GAP_CHOICES", "TILT_CHOICES", "GapChoice", "TiltMode"]

GapChoice = Literal["refuse", "resample", "split"]
"""A missing slice or irregular spacing: refuse the series, resample it, or split it."""
GAP_CHOICES: tuple[GapChoice, ...] = ("refuse", "resample", "split")

TiltMode = Literal["shear", "resample"]
"""Gantry tilt: keep the acquired voxels with a sheared affine, or resample orthogonally."""
TILT_CHOICES: tuple[TiltMode, ...] = ("shear", "resample")
