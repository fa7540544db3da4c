"""Synthetic sagittal MR variants for the MR level-proposal tests.

The CT phantom's anatomy (`tests.planning._level_phantom`), painted noise-free on a 1 mm
grid ±40 mm around the midline, each painted value mapped to a T1 or T2 signal (the
values are the phantom's tissue labels), a sacral canal added (CSF down to S2, fat in
S3), then sagittal slices averaged over their thickness, a posterior coil's shading and
Rician noise. Orientation variants flip or swap the stack's axes (feet first, slices
right to left, rows along y); ``"AX"`` makes an axial MR stack. Positions are LPS mm.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from blockplan.io.volume import ImageVolume
from tests.planning._level_phantom import (
    FRAME,
    Truth,
    Variant,
    _Canvas,
    _ellcyl,
    _frame,
    _scene,
)

SERIES_MR = "1.2.826.0.1.3680043.8.498.79"
PIXEL_MM = 1.5  # in-plane; 1 mm across the slices, averaged over their thickness

# painted value -> (T2, T1) signal; anything else is muscle
_SIGNAL = {
    -1000.0: (0.0, 0.0),  # air
    -90.0: (640.0, 820.0),  # fat
    40.0: (170.0, 330.0),  # muscle, viscera, vessels
    900.0: (30.0, 30.0),  # cortex
    220.0: (420.0, 620.0),  # marrow
    230.0: (420.0, 620.0),
    260.0: (420.0, 620.0),
    300.0: (420.0, 620.0),
    420.0: (420.0, 620.0),
    600.0: (420.0, 620.0),
    450.0: (380.0, 560.0),  # posterior elements
    10.0: (1000.0, 120.0),  # CSF
    85.0: (780.0, 280.0),  # disc
    86.0: (220.0, 260.0),  # degenerated disc
    -45.0: (640.0, 820.0),  # fat in the lower sacral canal (added here)
}


@dataclass(frozen=True)
class MRVariant:
    """What to build: the anatomy (a CT `Variant`), contrast, slices, noise, orientation."""

    anatomy: Variant = field(default_factory=lambda: Variant(top=("T11", 0.0)))
    contrast: str = "T2"  # T2 or T1
    slice_mm: float = 4.0
    slices: int = 17
    noise: float = 0.03  # Rician sigma / marrow signal
    orientation: str = "SAG"  # SAG, SAG-FF (rows feet→head), SAG-RL, SAG-T (rows along y), AX
    seed: int = 0


def _sacral_canal(c: _Canvas, pieces: list[tuple[np.ndarray, float, float, float, float]]) -> None:
    """CSF in the canal behind S1 and S2, fat behind S3 (the thecal sac ends at S2)."""
    for n, (centre, t, h, _w, d) in enumerate(pieces):
        ax = _frame(t)
        value = 10.0 if n < 2 else -45.0
        c.paint(centre + ax @ [0.0, d / 2 + 8.0, 0.0], ax, 40, _ellcyl(10, 6, h / 2 + 4), value)


def build_mr(v: MRVariant = MRVariant()) -> tuple[ImageVolume, Truth]:
    """The sagittal (or axial) MR of a variant and the truth of its anatomy."""
    c, truth, pieces = _scene(v.anatomy, (1.0, PIXEL_MM, PIXEL_MM), x_range=(-40.0, 40.0))
    _sacral_canal(c, pieces)
    col = 0 if v.contrast == "T2" else 1
    table = {k: s[col] for k, s in _SIGNAL.items()}
    signal = np.full(c.hu.shape, (170.0, 330.0)[col], dtype=np.float32)
    for value, s in table.items():
        signal[c.hu == value] = s
    ny = c.hu.shape[1]
    y = c.origin[1] + PIXEL_MM * np.arange(ny)  # the coil lies behind the patient (y ≈ +100 mm)
    signal *= (1.0 / (1.0 + (np.maximum(100.0 - y, 0.0) / 200.0) ** 2)).astype(np.float32)[
        None, :, None
    ]
    xs = c.origin[0] + np.arange(c.hu.shape[2])
    centres = (np.arange(v.slices) - (v.slices - 1) / 2) * v.slice_mm
    sag = np.stack(
        [signal[:, :, np.abs(xs - x) <= v.slice_mm * 0.45].mean(axis=2) for x in centres]
    )  # [slice (x), z, y]
    rng = np.random.default_rng(v.seed)
    sigma = v.noise * (420.0, 620.0)[col]
    n1, n2 = (rng.normal(0.0, sigma, sag.shape) for _ in range(2))
    sag = np.sqrt((sag + n1) ** 2 + n2**2).astype(np.float32)
    return _orient_mr(sag, c.origin, centres, v), truth


def _orient_mr(
    sag: np.ndarray, origin: np.ndarray, centres: np.ndarray, v: MRVariant
) -> ImageVolume:
    """``sag[x, z, y]`` (ascending) as a stack: rows head→feet, columns front→back."""
    arr = np.flip(sag, axis=1)  # rows superior → inferior
    aff = np.zeros((4, 4))
    aff[3, 3] = 1.0
    nz = sag.shape[1]
    aff[:3, 0] = (0.0, PIXEL_MM, 0.0)  # columns along +y
    aff[:3, 1] = (0.0, 0.0, -PIXEL_MM)  # rows along -z
    aff[:3, 2] = (v.slice_mm, 0.0, 0.0)  # slices along +x
    aff[:3, 3] = (centres[0], origin[1], origin[2] + PIXEL_MM * (nz - 1))
    if v.orientation in ("SAG-FF", "SAG-RL"):
        axis = 1 if v.orientation == "SAG-FF" else 0  # array axis: rows, or slices
        col = 1 if axis == 1 else 2
        n = arr.shape[axis]
        arr = np.flip(arr, axis=axis)
        aff[:3, 3] += aff[:3, col] * (n - 1)
        aff[:3, col] *= -1
    if v.orientation == "SAG-T":  # rows along y, columns along z
        arr = np.swapaxes(arr, 1, 2)
        aff = aff[:, [1, 0, 2, 3]]
    if v.orientation == "AX":  # the same voxels as an axial stack: slices along z
        arr = np.ascontiguousarray(np.transpose(arr, (1, 2, 0)))  # [z(desc), y, x]
        aff = aff[:, [2, 0, 1, 3]]
    return ImageVolume(
        array=np.ascontiguousarray(arr),
        affine=aff,
        frame_of_reference_uid=FRAME,
        modality="MR",
        series_instance_uid=SERIES_MR,
        series_number=3,
    )
