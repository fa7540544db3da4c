"""Synthetic lumbar CT variants for the level-proposal tests, rasterised fast with numpy.

A compact phantom (not the sample study's analytic one): tilted elliptic-cylinder bodies
and discs on a lordotic curve built up from the sacrum (as `blockplan.sample.anatomy`
does), a neural arch, spinous and transverse processes, ribs on chosen vertebrae, a fused
sacrum with alae, the iliac wings, soft tissue and noise. Variants: extra lumbar vertebra
(L6), sacralised L5, ribs on other vertebrae (11 or 13 pairs), pedicle screws and rods
with metal streaks, contrast-filled renal pelves, cropping, slice thickness and patient
orientation (feet first, prone, sagittal reformat). Positions are LPS mm; the truth is
every body and disc centre.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from blockplan.io.volume import ImageVolume

F64 = npt.NDArray[np.float64]
Inside = Callable[[F64, F64, F64], npt.NDArray[np.bool_]]

FRAME = "1.2.826.0.1.3680043.8.498.77"
SERIES = "1.2.826.0.1.3680043.8.498.78"

# name, height, width, depth, wedge (deg), transverse process length (mm)
_THORACIC = [("T10", 21, 34, 26, -4, 18), ("T11", 22, 36, 27, -3, 12), ("T12", 24, 40, 29, -2, 8)]
_LUMBAR = [
    ("L1", 25, 42, 31, -1, 16),
    ("L2", 26, 44, 32, 0, 22),
    ("L3", 27, 46, 33, 0, 27),
    ("L4", 27, 48, 34, 1, 24),
    ("L5", 26, 50, 35, 4, 18),
    ("L6", 26, 50, 35, 4, 18),
]
_DISC_HEIGHT = {"T": 6.0, "L": 9.0}
_DISC_WEDGE = 5.0


@dataclass(frozen=True)
class Variant:
    """What to build. ``top``/``bottom``: crop the scan at a named centre ± offset (mm)."""

    lumbar: int = 5
    rib_levels: tuple[str, ...] = ("T10", "T11", "T12")
    sacralised_l5: bool = False
    metal: bool = False
    contrast_kidneys: bool = False  # excreted contrast in both renal pelves, beside L1-L2
    aorta_hu: float = 40.0  # 300 for an arterial-phase contrast CT
    top: tuple[str, float] = ("T11", 0.0)
    bottom: tuple[str, float] = ("S1", -45.0)
    pixel_mm: float = 2.0
    slice_mm: float = 2.0
    orientation: str = "HFS"  # HFS, FFS, HFP, SAG
    seed: int = 0
    dark_discs: tuple[str, ...] = ()  # degenerated (desiccated) discs: dark on T2 MR


@dataclass
class Truth:
    """Body and disc centres (LPS) and each body's frame, width, depth and height."""

    centres: dict[str, F64] = field(default_factory=dict)
    frames: dict[str, tuple[F64, F64, tuple[float, float, float]]] = field(default_factory=dict)

    def inside_body(self, name: str, lps: F64, margin: float = 0.0) -> bool:
        origin, axes, (w, d, h) = self.frames[name]
        x, a, u = (np.asarray(lps) - origin) @ axes
        return bool((x / (w / 2)) ** 2 + (a / (d / 2)) ** 2 <= 1 and abs(u) <= h / 2 - margin)

    def along_spine_mm(self, name: str, lps: F64) -> float:
        origin, axes, _ = self.frames[name]
        return float(abs((np.asarray(lps) - origin) @ axes[:, 2]))


def _frame(theta_deg: float) -> F64:
    """Columns X (left), A (posterior), U (superior) of a body tilted by theta (anterior)."""
    t = math.radians(theta_deg)
    return np.array([[1.0, 0, 0], [0, math.cos(t), math.sin(t)], [0, -math.sin(t), math.cos(t)]]).T


def _up(theta_deg: float) -> F64:
    t = math.radians(theta_deg)
    return np.array([0.0, -math.sin(t), math.cos(t)])


def spine_layout(v: Variant) -> list[tuple[str, F64, float, tuple[float, ...]]]:
    """(name, centre, tilt, dims) from the sacrum up; dims = (H, W, D, wedge, tp) or a disc's H."""
    names = [*_THORACIC, *_LUMBAR[: v.lumbar]]
    if v.lumbar == 6:
        names[-1] = ("L6", *names[-1][1:])
    theta, centre = 35.0, np.zeros(3)
    out: list[tuple[str, F64, float, tuple[float, ...]]] = [("S1", centre, theta, (28, 48, 33))]
    p = centre + _up(theta) * 14.0
    lower = "S1"
    for name, h, w, d, wedge, tp in reversed(names):
        hd = _DISC_HEIGHT[name[0]] * (0.55 if v.sacralised_l5 and lower == "S1" else 1.0)
        td = theta - _DISC_WEDGE / 2
        out.append((f"{name}-{lower}", p + _up(td) * hd / 2, td, (hd,)))
        p, theta = p + _up(td) * hd, theta - _DISC_WEDGE
        tb = theta - wedge / 2
        out.append((name, p + _up(tb) * h / 2, tb, (h, w, d, wedge, tp)))
        p, theta, lower = p + _up(tb) * h, theta - wedge, name
    return out


class _Canvas:
    def __init__(self, origin: F64, spacing: tuple[float, float, float], shape: tuple[int, ...]):
        self.origin, self.spacing = origin, np.asarray(spacing)  # spacing x, y, z
        self.hu = np.full(shape, -1000.0, dtype=np.float32)  # [z, y, x]

    def paint(self, centre: F64, axes: F64, radius: float, inside: Inside, value: float) -> None:
        lo = np.floor((centre - radius - self.origin) / self.spacing).astype(int)
        hi = np.ceil((centre + radius - self.origin) / self.spacing).astype(int) + 1
        nz, ny, nx = self.hu.shape
        lo = np.maximum(lo, 0)
        hi = np.minimum(hi, [nx, ny, nz])
        if np.any(hi <= lo):
            return
        xs, ys, zs = (self.origin[i] + self.spacing[i] * np.arange(lo[i], hi[i]) for i in range(3))
        dx = (xs - centre[0])[None, None, :]
        dy = (ys - centre[1])[None, :, None]
        dz = (zs - centre[2])[:, None, None]
        loc = [dx * axes[0, n] + dy * axes[1, n] + dz * axes[2, n] for n in range(3)]
        mask = np.broadcast_to(inside(*loc), (len(zs), len(ys), len(xs)))
        view = self.hu[lo[2] : hi[2], lo[1] : hi[1], lo[0] : hi[0]]
        view[mask] = value


def _ellcyl(w: float, d: float, h: float) -> Inside:
    return lambda x, a, u: ((x / w) ** 2 + (a / d) ** 2 <= 1) & (np.abs(u) <= h)


def _box(x0: float, x1: float, a0: float, a1: float, u0: float, u1: float) -> Inside:
    return lambda x, a, u: (x >= x0) & (x <= x1) & (a >= a0) & (a <= a1) & (u >= u0) & (u <= u1)


def _tube(canvas: _Canvas, pts: F64, radius: float, value: float) -> None:
    for p0, p1 in itertools.pairwise(pts):
        seg = p1 - p0
        length = float(np.linalg.norm(seg))

        def inside(x: F64, a: F64, u: F64, p0: F64 = p0, seg: F64 = seg, n: float = length):
            t = np.clip((x * seg[0] + a * seg[1] + u * seg[2]) / (n * n), 0, 1)
            d2 = (x - t * seg[0]) ** 2 + (a - t * seg[1]) ** 2 + (u - t * seg[2]) ** 2
            return d2 <= radius * radius

        canvas.paint(p0, np.eye(3), length + radius, inside, value)


def _vertebra(
    c: _Canvas, v: Variant, name: str, o: F64, th: float, dims: tuple[float, ...]
) -> None:
    h, w, d, _wedge, tp = dims
    ax = _frame(th)
    rb = math.hypot(w / 2, h / 2) + 3
    c.paint(o, ax, rb, _ellcyl(w / 2, d / 2, h / 2), 900.0)
    c.paint(o, ax, rb, _ellcyl(w / 2 - 1.5, d / 2 - 1.5, h / 2 - 1.5), 220.0)
    ca, crx, cry = d / 2 + 9.0, 11.0, 8.0
    rr = math.hypot(crx + 8, h / 2 + 6) + 2
    c.paint(o + ax @ [0, ca, 0], ax, rr, _ellcyl(crx + 7, cry + 6, h / 2 - 1), 450.0)
    c.paint(o + ax @ [0, ca, 0], ax, rr, _ellcyl(crx, cry, h / 2 + 6), 10.0)
    rs = math.hypot(ca + cry + 32, h) + 2
    c.paint(o, ax, rs, _box(-3, 3, ca + cry + 4, ca + cry + 32, -h / 2, h * 0.3), 450.0)
    r = math.hypot(crx + tp + 12, ca + 4) + 10
    if tp and name[0] != "S":
        span = (crx + 4, crx + 4 + tp + 8)
        for s in (1, -1):
            x0, x1 = (span[0], span[1]) if s > 0 else (-span[1], -span[0])
            c.paint(o, ax, r, _box(x0, x1, ca - 4, ca + 4, 0, 9), 450.0)
    if name in v.rib_levels:
        for s in (1, -1):
            local = np.array([[s * 13, ca, 4], [s * 30, ca + 10, 2], [s * 52, ca + 12, -8],
                              [s * 95, d / 2 - 6, -36]])  # fmt: skip
            _tube(c, o + local @ ax.T, 4.5, 600.0)
    if name == "L5" and v.sacralised_l5:  # broad transverse processes fused with the alae
        for s in (1, -1):
            x0, x1 = (w / 2 - 2, w / 2 + 30) if s > 0 else (-w / 2 - 30, -w / 2 + 2)
            c.paint(
                o,
                ax,
                math.hypot(w / 2 + 30, d) + 12,
                _box(x0, x1, -d / 2 + 4, d / 2, -h / 2 - 12, 4),
                300.0,
            )


def _sacrum(c: _Canvas, o: F64, th: float, l5: F64) -> list[tuple[F64, float, float, float, float]]:
    prev_o, prev_t, h_prev = o, th, 28.0
    pieces = [(o, th, 28.0, 48.0, 33.0)]
    for h, w, d in ((24.0, 40.0, 27.0), (20.0, 32.0, 22.0)):
        t_new = prev_t + 12.0
        centre = prev_o - _up(prev_t) * h_prev / 2 - _up(t_new) * (h / 2 - 1.0)
        pieces.append((centre, t_new, h, w, d))
        prev_o, prev_t, h_prev = centre, t_new, h
    for centre, t, h, w, d in pieces:
        ax = _frame(t)
        c.paint(centre, ax, 60, _ellcyl(w / 2, d / 2, h / 2 + 1.0), 900.0)
        c.paint(centre, ax, 60, _ellcyl(w / 2 - 1.5, d / 2 - 1.5, h / 2 - 0.5), 230.0)
        c.paint(centre, ax, 60, _box(-4, 4, d / 2 + 4, d / 2 + 16, -h / 2, h / 2), 450.0)
    ax = _frame(th)
    for s in (1, -1):
        x0, x1 = (14.0, 54.0) if s > 0 else (-54.0, -14.0)
        c.paint(o, ax, 80, _box(x0, x1, -14, 18, -16, 9), 260.0)
    top = float(l5[2]) - 8.0 - float(o[2])
    for s in (1, -1):
        a0, a1 = np.array([s * 58.0, 60.0]), np.array([s * 105.0, -15.0])
        seg = a1 - a0

        def ilium(x: F64, a: F64, u: F64, a0: F64 = a0, seg: F64 = seg, top: float = top):
            qx, qa = x - a0[0], a - a0[1]
            t = np.clip((qx * seg[0] + qa * seg[1]) / (seg @ seg), 0, 1)
            d2 = (qx - t * seg[0]) ** 2 + (qa - t * seg[1]) ** 2
            return (d2 <= 6.5**2) & (u <= top) & (u >= top - 90)

        c.paint(o, np.eye(3), 130, ilium, 420.0)
    return pieces


def _metal(c: _Canvas, layout: dict[str, tuple[F64, float, tuple[float, ...]]]) -> None:
    heads = {}
    for name in ("L4", "L5"):
        o, th, (_h, _w, d, *_rest) = layout[name]
        ax = _frame(th)
        for s in (1, -1):
            entry = o + ax @ [s * 24.0, d / 2 + 30, 5.0]
            tip = o + ax @ [s * 6.0, -d / 4, 5.0]
            _tube(c, np.array([entry, tip]), 3.0, 3000.0)
            heads[(name, s)] = entry
    for s in (1, -1):
        _tube(c, np.array([heads[("L4", s)], heads[("L5", s)]]), 2.8, 3000.0)
    _streaks(c)


def _streaks(c: _Canvas) -> None:
    """Dark bands between metal cross-sections and radial streaks (beam hardening)."""
    nz, ny, nx = c.hu.shape
    yy, xx = np.mgrid[0:ny, 0:nx].astype(np.float64)
    for k in range(nz):
        metal = c.hu[k] > 2500
        if not metal.any():
            continue
        cols = np.nonzero(metal.any(axis=0))[0]
        left = metal[:, : nx // 2].nonzero()
        right = metal[:, nx // 2 :].nonzero()
        pts = [
            np.array([p[1].mean() + off, p[0].mean()])
            for p, off in ((left, 0), (right, nx // 2))
            if len(p[0])
        ]
        for p in pts:
            ang = np.arctan2(yy - p[1], xx - p[0])
            dist = np.hypot(yy - p[1], xx - p[0]) * c.spacing[0]
            c.hu[k] += (250.0 * np.cos(8 * ang) * np.exp(-dist / 60.0)).astype(np.float32)
        if len(pts) == 2 and len(cols):
            a, b = pts
            seg = b - a
            t = np.clip(((xx - a[0]) * seg[0] + (yy - a[1]) * seg[1]) / (seg @ seg), 0, 1)
            d = np.hypot(xx - a[0] - t * seg[0], yy - a[1] - t * seg[1]) * c.spacing[0]
            c.hu[k][d <= 3.0] -= 500.0


def build(v: Variant = Variant()) -> tuple[ImageVolume, Truth]:
    """The CT of a variant (HU, float32) and its truth."""
    c, truth, _pieces = _scene(v, (v.pixel_mm, v.pixel_mm, v.slice_mm))
    rng = np.random.default_rng(v.seed)
    c.hu += rng.normal(0.0, 15.0, c.hu.shape).astype(np.float32)
    return _orient(c, v.orientation), truth


def _scene(
    v: Variant, sp: tuple[float, float, float], x_range: tuple[float, float] = (-100.0, 100.0)
) -> tuple[_Canvas, Truth, list[tuple[F64, float, float, float, float]]]:
    """The painted canvas (noise-free), the truth and the sacral pieces."""
    layout = {n: (o, t, dims) for n, o, t, dims in spine_layout(v)}
    z_top = float(layout[v.top[0]][0][2]) + v.top[1]
    z_bot = float(layout[v.bottom[0]][0][2]) + v.bottom[1]
    origin = np.array([x_range[0], -110.0, z_bot])
    shape = (
        int((z_top - z_bot) // sp[2]) + 1,
        int(220 // sp[1]) + 1,
        int((x_range[1] - x_range[0]) // sp[0]) + 1,
    )
    c = _Canvas(origin, sp, shape)
    mid_y = float(np.mean([o[1] for o, _, _ in layout.values()])) + 10.0
    torso = (0.0, mid_y, 0.0)
    c.paint(
        np.array(torso), np.eye(3), 1e4, lambda x, a, u: (x / 150) ** 2 + (a / 105) ** 2 <= 1, -90.0
    )
    c.paint(
        np.array(torso), np.eye(3), 1e4, lambda x, a, u: (x / 135) ** 2 + (a / 90) ** 2 <= 1, 40.0
    )
    for name in ("T11", "T12", "L1", "L2", "L3", "L4"):  # aorta in front of the bodies, left
        o, th, dims = layout[name]
        if len(dims) > 1:
            centre = o + np.array([12.0, -dims[2] / 2 - 14.0, 0.0])
            tube = lambda x, a, u: (x / 11) ** 2 + (a / 11) ** 2 <= 1  # noqa: E731
            c.paint(centre, np.eye(3), 40.0, tube, v.aorta_hu)
    truth = Truth()
    for name, (o, th, dims) in layout.items():
        if "-" in name:
            w = 46.0
            value = 86.0 if name in v.dark_discs else 85.0
            c.paint(o, _frame(th), 60, _ellcyl(w / 2, 16.0, dims[0] / 2 + 0.5), value)
        elif name != "S1":
            _vertebra(c, v, name, o, th, dims)
        truth.centres[name] = np.asarray(o, dtype=np.float64)
    pieces = _sacrum(c, layout["S1"][0], layout["S1"][1], layout["L5"][0])
    for name, (o, th, dims) in layout.items():
        if "-" not in name:
            h, w, d = dims[:3]
            truth.frames[name] = (np.asarray(o), _frame(th), (float(w), float(d), float(h)))
    if v.metal:
        _metal(c, layout)
    if v.contrast_kidneys:
        o = layout["L1-L2"][0]
        for s in (1, -1):
            pelvis = o + np.array([s * 50.0, 5.0, 0.0])
            inside = lambda x, a, u: (x / 15) ** 2 + (a / 10) ** 2 + (u / 20) ** 2 <= 1  # noqa: E731
            c.paint(pelvis, np.eye(3), 25.0, inside, 600.0)
    return c, truth, pieces


def _orient(c: _Canvas, orientation: str) -> ImageVolume:
    """The canvas ([z, y, x], all ascending) as an acquisition in the given orientation."""
    arr = c.hu
    aff = np.eye(4)
    aff[:3, :3] = np.diag(c.spacing)
    aff[:3, 3] = c.origin
    flips = {"HFS": (0,), "FFS": (2,), "HFP": (0, 1, 2), "SAG": ()}[orientation]
    for axis in flips:  # array axis (0 = z/k, 1 = y/j, 2 = x/i)
        col = 2 - axis
        n = arr.shape[axis]
        arr = np.flip(arr, axis=axis)
        aff[:3, 3] += aff[:3, col] * (n - 1)
        aff[:3, col] *= -1
    if orientation == "SAG":  # slices along x, rows from head to feet, columns A→P
        arr = np.flip(arr, axis=0)
        aff[:3, 3] += aff[:3, 2] * (c.hu.shape[0] - 1)
        aff[:3, 2] *= -1
        arr = np.transpose(arr, (2, 0, 1))  # [x, z, y]
        aff = aff[:, [1, 2, 0, 3]]
    return ImageVolume(
        array=np.ascontiguousarray(arr),
        affine=aff,
        frame_of_reference_uid=FRAME,
        modality="CT",
        series_instance_uid=SERIES,
        series_number=2,
    )
