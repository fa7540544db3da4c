"""Sampling the phantom on a series' voxel grid and turning tissue labels into pixels.

A :class:`Grid` is a DICOM slice stack: ``shape = (slices, rows, columns)`` and a 4×4
``affine`` mapping ``(i, j, k, 1)`` (column, row, slice) to LPS millimetres, exactly like
:class:`blockplan.io.ImageVolume`. CT voxels are sampled at their centres; MR slices
average several samples across the slice thickness (partial volume).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from blockplan.sample.phantom import Phantom
from blockplan.sample.tissues import Tissue, lookup_table

__all__ = ["Grid", "gaussian_blur", "label_grid", "synthesize_ct", "synthesize_mr"]

U8 = npt.NDArray[np.uint8]
U16 = npt.NDArray[np.uint16]
F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Grid:
    """A stack of parallel slices in patient space.

    Parameters
    ----------
    shape
        ``(slices, rows, columns)``.
    row_direction, column_direction
        ImageOrientationPatient: unit LPS vectors along a row (increasing column index)
        and down a column (increasing row index).
    first_position
        ImagePositionPatient of slice 0 (centre of its first voxel), LPS mm.
    pixel_spacing
        ``(row spacing, column spacing)`` in mm, DICOM PixelSpacing order.
    slice_step
        Signed distance in mm from one slice to the next along the slice normal
        ``row_direction × column_direction``.
    slice_thickness
        Nominal slice thickness (mm).
    """

    shape: tuple[int, int, int]
    row_direction: tuple[float, float, float]
    column_direction: tuple[float, float, float]
    first_position: tuple[float, float, float]
    pixel_spacing: tuple[float, float]
    slice_step: float
    slice_thickness: float

    @property
    def normal(self) -> F64:
        """Unit slice normal (LPS)."""
        n = np.cross(self.row_direction, self.column_direction)
        return np.asarray(n / np.linalg.norm(n), dtype=np.float64)

    @property
    def affine(self) -> F64:
        """4×4 matrix mapping ``(i, j, k, 1)`` to LPS mm."""
        a = np.eye(4)
        a[:3, 0] = np.asarray(self.row_direction) * self.pixel_spacing[1]
        a[:3, 1] = np.asarray(self.column_direction) * self.pixel_spacing[0]
        a[:3, 2] = self.normal * self.slice_step
        a[:3, 3] = self.first_position
        return a

    def position(self, k: int) -> F64:
        """ImagePositionPatient of slice ``k`` (LPS mm)."""
        return np.asarray(self.first_position) + self.normal * self.slice_step * k

    def points(self, ks: slice, js: slice, is_: slice, offset_mm: float = 0.0) -> F32:
        """LPS centres of voxels ``[ks, js, is_]`` (C order), shifted along the normal."""
        kk, jj, ii = np.meshgrid(
            np.arange(self.shape[0])[ks],
            np.arange(self.shape[1])[js],
            np.arange(self.shape[2])[is_],
            indexing="ij",
        )
        ijk = np.stack([ii.ravel(), jj.ravel(), kk.ravel()], axis=1).astype(np.float64)
        a = self.affine
        pts = ijk @ a[:3, :3].T + a[:3, 3] + self.normal * offset_mm
        return pts.astype(np.float32)


def label_grid(
    phantom: Phantom,
    grid: Grid,
    offset_mm: float = 0.0,
    block: tuple[int, int, int] = (4, 32, 64),
) -> U8:
    """Tissue labels at the voxel centres of ``grid`` (``[k, j, i]``), in blocks.

    Small blocks let each block skip the shapes whose bounds it does not touch.
    """
    out = np.empty(grid.shape, dtype=np.uint8)
    starts = [range(0, n, b) for n, b in zip(grid.shape, block)]
    for k0 in starts[0]:
        ks = slice(k0, k0 + block[0])
        for j0 in starts[1]:
            js = slice(j0, j0 + block[1])
            for i0 in starts[2]:
                is_ = slice(i0, i0 + block[2])
                view = out[ks, js, is_]
                pts = grid.points(ks, js, is_, offset_mm)
                view[...] = phantom.labels(pts).reshape(view.shape)
    return out


def gaussian_blur(array: npt.NDArray[np.floating], sigma_px: tuple[float, ...]) -> F32:
    """Separable Gaussian blur (``sigma_px`` voxels per axis, edges repeated), float32.

    Plain numpy (shifted weighted sums) so the result is the same everywhere.
    """
    out = np.asarray(array, dtype=np.float32)
    for axis, sigma in enumerate(sigma_px):
        if sigma <= 0:
            continue
        radius = max(1, math.ceil(3.0 * sigma))
        weights = [math.exp(-0.5 * (x / sigma) ** 2) for x in range(-radius, radius + 1)]
        total = sum(weights)
        pad = [(0, 0)] * out.ndim
        pad[axis] = (radius, radius)
        padded = np.pad(out, pad, mode="edge")
        acc = np.zeros_like(out)
        for n, w in enumerate(weights):
            window = [slice(None)] * out.ndim
            window[axis] = slice(n, n + out.shape[axis])
            acc += np.float32(w / total) * padded[tuple(window)]
        out = acc
    return out


def _correlated_noise(
    rng: np.random.Generator, shape: tuple[int, ...], sigma_px: tuple[float, ...]
) -> F32:
    """Unit-variance Gaussian noise smoothed by a Gaussian of ``sigma_px`` voxels."""
    raw = rng.standard_normal(shape, dtype=np.float32)
    smooth = gaussian_blur(raw, sigma_px)
    return (smooth / max(float(smooth.std()), 1e-6)).astype(np.float32)


def synthesize_ct(labels: U8, grid: Grid, rng: np.random.Generator) -> U16:
    """CT pixel values (stored, ``HU + 1024``) from labels: PSF blur, bone texture, noise.

    The scanner's point spread is a Gaussian of 0.45 mm in-plane and 0.5 mm along z; noise
    is about 12 HU, slightly correlated like filtered back-projection noise.
    """
    from blockplan.sample.tissues import CT_HU

    hu = lookup_table(CT_HU)[labels]
    cancellous = labels == int(Tissue.CANCELLOUS_BONE)
    texture = _correlated_noise(rng, labels.shape, (0.9, 1.1, 1.1))
    hu += np.where(cancellous, texture * 45.0, 0.0).astype(np.float32)
    psf = (
        0.5 / grid.slice_step if grid.slice_step else 0.5,
        0.45 / grid.pixel_spacing[0],
        0.45 / grid.pixel_spacing[1],
    )
    hu = gaussian_blur(hu, tuple(abs(p) for p in psf))
    hu += _correlated_noise(rng, labels.shape, (0.0, 0.6, 0.6)) * 12.0
    stored = np.clip(np.rint(hu) + 1024.0, 0, 4095)
    return stored.astype(np.uint16)


def synthesize_mr(
    label_samples: list[U8],
    table: dict[Tissue, float],
    grid: Grid,
    rng: np.random.Generator,
    coil_center_lps: tuple[float, float, float],
    noise_sigma: float = 14.0,
) -> U16:
    """MR magnitude pixels: through-slice average of the samples, coil shading, Rician noise.

    ``coil_center_lps`` is a point on the posterior skin over the spine; the receive
    sensitivity falls smoothly with distance from it (a posterior spine array coil).
    """
    lut = lookup_table(table)
    signal = np.zeros(label_samples[0].shape, dtype=np.float32)
    for lab in label_samples:
        signal += lut[lab]
    signal /= len(label_samples)
    signal = gaussian_blur(signal, (0.0, 0.55, 0.55))
    # coil sensitivity: distance from the posterior coil, computed per voxel
    nk, nj, ni = label_samples[0].shape
    a = grid.affine
    kk, jj, ii = np.meshgrid(np.arange(nk), np.arange(nj), np.arange(ni), indexing="ij")
    y = a[1, 0] * ii + a[1, 1] * jj + a[1, 2] * kk + a[1, 3]
    z = a[2, 0] * ii + a[2, 1] * jj + a[2, 2] * kk + a[2, 3]
    dy = np.maximum(coil_center_lps[1] - y, 0.0)
    dz = np.abs(z - coil_center_lps[2])
    gain = 1.0 / (1.0 + (dy / 170.0) ** 2 + (dz / 260.0) ** 2)
    signal *= gain.astype(np.float32)
    n1 = rng.standard_normal(signal.shape, dtype=np.float32) * noise_sigma
    n2 = rng.standard_normal(signal.shape, dtype=np.float32) * noise_sigma
    mag = np.sqrt((signal + n1) ** 2 + n2**2)
    result: npt.NDArray[np.uint16] = np.clip(np.rint(mag), 0, 4095).astype(np.uint16)
    return result
