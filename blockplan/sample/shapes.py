"""Signed-distance shapes evaluated on arrays of points (the phantom's building blocks).

Every shape answers two questions:

* ``sdf(points)``: an approximate signed distance in millimetres for an ``(n, 3)`` array of
  DICOM patient coordinates (LPS, mm): negative inside, zero on the surface, positive
  outside. The approximations are exact on the surface and good within a few millimetres of
  it, which is all the phantom needs (surfaces, a cortical shell, partial volume).
* ``bounds``: an axis-aligned box ``(lo, hi)`` in LPS outside of which the shape's distance
  is known to be positive (used to skip shapes far from a block of voxels).

Shapes built in a :class:`Frame` (a rotated local coordinate system, e.g. one vertebra)
take local coordinates ``(X, A, U)``: ``X`` along patient left, ``A`` posterior and ``U``
superior along that vertebra's own axis.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = [
    "Box",
    "Capsule",
    "Ellipsoid",
    "EllipticCylinder",
    "Frame",
    "HalfSpace",
    "Intersection",
    "LaminaSlab",
    "LocalShape",
    "Part",
    "Polyline",
    "Shape",
    "Shell",
    "Subtraction",
    "Union",
    "VertebralBody",
    "ZEllipse",
    "overlaps",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
Vec3 = tuple[float, float, float]
Bounds = tuple[Vec3, Vec3]

_BIG = np.float32(1e6)


def make_bounds(lo: npt.ArrayLike, hi: npt.ArrayLike) -> Bounds:
    """Bounds as plain float tuples (fast to compare in Python)."""
    a = [float(v) for v in np.asarray(lo, dtype=np.float64).ravel()]
    b = [float(v) for v in np.asarray(hi, dtype=np.float64).ravel()]
    return (a[0], a[1], a[2]), (b[0], b[1], b[2])


def overlaps(a: Bounds, b: Bounds, margin: float = 0.0) -> bool:
    """True when two axis-aligned boxes ``(lo, hi)`` overlap (after growing ``a`` by margin)."""
    (alo, ahi), (blo, bhi) = a, b
    return (
        alo[0] - margin <= bhi[0]
        and alo[1] - margin <= bhi[1]
        and alo[2] - margin <= bhi[2]
        and blo[0] <= ahi[0] + margin
        and blo[1] <= ahi[1] + margin
        and blo[2] <= ahi[2] + margin
    )


def points_bounds(points: F32) -> Bounds:
    """Axis-aligned bounds of an ``(n, 3)`` point array."""
    return make_bounds(points.min(axis=0), points.max(axis=0))


def _ellipse_sdf(x: F32, y: F32, a: F32 | float, b: F32 | float) -> F32:
    """Approximate signed distance to the ellipse ``(x/a)² + (y/b)² = 1`` (mm)."""
    k0 = np.sqrt((x / a) ** 2 + (y / b) ** 2)
    k1 = np.sqrt((x / (np.multiply(a, a))) ** 2 + (y / (np.multiply(b, b))) ** 2)
    near = k0 * (k0 - 1.0) / np.maximum(k1, 1e-6)
    deep = (k0 - 1.0) * np.minimum(a, b)
    return np.where(k0 < 0.5, deep, near).astype(np.float32)


def smooth_min(a: F32, b: F32, k: float) -> F32:
    """Polynomial smooth minimum (blends surfaces closer than ``k`` mm; exact min beyond)."""
    if k <= 0:
        return np.minimum(a, b)
    h = np.maximum(k - np.abs(a - b), 0.0) / k
    result: npt.NDArray[np.float32] = (np.minimum(a, b) - h * h * (k * 0.25)).astype(np.float32)
    return result


# --- frames ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Frame:
    """A local orthonormal frame: origin and the unit vectors ``X``, ``A``, ``U`` in LPS.

    ``axes`` rows are the local axes expressed in LPS; a point's local coordinates are
    ``(p - origin) @ axes.T`` (a rigid transform, so distances are preserved).
    """

    origin: F64
    axes: F64

    @classmethod
    def sagittal_tilt(cls, origin: npt.ArrayLike, tilt_deg: float) -> Frame:
        """Frame whose ``U`` axis is tilted anteriorly by ``tilt_deg`` in the y–z plane.

        ``U = (0, -sin t, cos t)`` (superior, leaning anterior for positive ``t``),
        ``A = (0, cos t, sin t)`` (posterior) and ``X = (1, 0, 0)`` (patient left).
        """
        t = math.radians(tilt_deg)
        axes = np.array(
            [[1.0, 0.0, 0.0], [0.0, math.cos(t), math.sin(t)], [0.0, -math.sin(t), math.cos(t)]]
        )
        return cls(np.asarray(origin, dtype=np.float64), axes)

    def to_local(self, points: F32) -> F32:
        """LPS ``(n, 3)`` → local ``(X, A, U)``."""
        o = self.origin.astype(np.float32)
        return ((points - o) @ self.axes.T.astype(np.float32)).astype(np.float32)

    def to_lps(self, local: npt.ArrayLike) -> F64:
        """Local ``(X, A, U)`` (``(3,)`` or ``(n, 3)``) → LPS."""
        q = np.asarray(local, dtype=np.float64)
        return q @ self.axes + self.origin

    def direction_to_lps(self, v: npt.ArrayLike) -> F64:
        """A local direction vector expressed in LPS."""
        return np.asarray(v, dtype=np.float64) @ self.axes


class Shape:
    """Base class: a region of patient space described by a signed distance."""

    bounds: Bounds

    def sdf(self, points: F32, box: Bounds | None = None) -> F32:  # pragma: no cover
        """Signed distance (mm) at ``(n, 3)`` LPS points; ``box`` = their bounds if known."""
        raise NotImplementedError


class LocalShape:
    """A shape in a frame's local coordinates ``(X, A, U)``."""

    local_bounds: Bounds

    def sdf_local(self, q: F32) -> F32:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(eq=False)
class Part(Shape):
    """A :class:`LocalShape` placed in patient space by a :class:`Frame`."""

    frame: Frame
    shape: LocalShape
    bounds: Bounds = field(init=False)

    def __post_init__(self) -> None:
        lo, hi = self.shape.local_bounds
        corners = np.array(list(itertools.product(*zip(lo, hi))), dtype=np.float64)
        pts = self.frame.to_lps(corners)
        self.bounds = make_bounds(pts.min(axis=0), pts.max(axis=0))

    def sdf(self, points: F32, box: Bounds | None = None) -> F32:
        return self.shape.sdf_local(self.frame.to_local(points))


# --- local primitives ------------------------------------------------------------------
@dataclass(eq=False)
class HalfSpace(LocalShape):
    """``(q - point) · normal <= 0`` (normal need not be a unit vector; it is normalised)."""

    point: npt.ArrayLike
    normal: npt.ArrayLike
    extent: float = 200.0
    local_bounds: Bounds = field(init=False)

    def __post_init__(self) -> None:
        p = np.asarray(self.point, dtype=np.float64)
        self.local_bounds = make_bounds(p - self.extent, p + self.extent)

    def sdf_local(self, q: F32) -> F32:
        n = np.asarray(self.normal, dtype=np.float64)
        n = (n / np.linalg.norm(n)).astype(np.float32)
        return ((q - np.asarray(self.point, dtype=np.float32)) @ n).astype(np.float32)


@dataclass(eq=False)
class VertebralBody(LocalShape):
    """A vertebral body (or disc): an elliptic prism with a waist, cut by two endplates.

    The cross-section is an ellipse of half-width ``half_width`` (X) and half-depth
    ``half_depth`` (A) centred at ``A = 0``, flattened posteriorly at
    ``A = half_depth - posterior_flat``. It narrows by ``waist`` (fraction) at mid-height;
    the rim where wall and endplate meet is rounded with ``rim_radius``.
    The endplates are planes through ``(0, 0, ±half_height)`` tilted by ``±wedge_deg / 2``
    about X (a lordotic wedge: taller anteriorly for positive wedge).
    """

    half_width: float
    half_depth: float
    half_height: float
    wedge_deg: float = 0.0
    waist: float = 0.06
    posterior_flat: float = 2.5
    rim_radius: float = 2.0
    local_bounds: Bounds = field(init=False)

    def __post_init__(self) -> None:
        t = math.tan(math.radians(abs(self.wedge_deg) / 2))
        hh = self.half_height + self.half_depth * t + 1.0
        self.local_bounds = make_bounds(
            np.array([-self.half_width, -self.half_depth, -hh]),
            np.array([self.half_width, self.half_depth, hh]),
        )

    def _plane_normals(self) -> tuple[F32, F32]:
        w = math.radians(self.wedge_deg / 2)
        # superior plane normal leans posteriorly (A) for a lordotic wedge: taller anteriorly
        top = np.array([0.0, math.sin(w), math.cos(w)], dtype=np.float32)
        bottom = np.array([0.0, math.sin(w), -math.cos(w)], dtype=np.float32)
        return top, bottom

    def sdf_local(self, q: F32) -> F32:
        x, a, u = q[:, 0], q[:, 1], q[:, 2]
        r = np.float32(self.rim_radius)
        rel = np.clip(u / self.half_height, -1.0, 1.0)
        scale = 1.0 - self.waist * (1.0 - rel * rel)
        side = _ellipse_sdf(x, a, self.half_width * scale - r, self.half_depth * scale - r)
        side = np.maximum(side, a - (self.half_depth - self.posterior_flat - r))
        top, bottom = self._plane_normals()
        d_top = (q - np.array([0, 0, self.half_height], dtype=np.float32)) @ top
        d_bot = (q - np.array([0, 0, -self.half_height], dtype=np.float32)) @ bottom
        end = np.maximum(d_top, d_bot) + r
        # rounded rim where the side wall meets the endplates
        outside = np.sqrt(np.maximum(side, 0) ** 2 + np.maximum(end, 0) ** 2)
        inside = np.minimum(np.maximum(side, end), 0)
        result: npt.NDArray[np.float32] = (outside + inside - r).astype(np.float32)
        return result


@dataclass(eq=False)
class EllipticCylinder(LocalShape):
    """A finite elliptic cylinder along a horizontal axis (e.g. a pedicle).

    ``axis`` is a direction in the X–A plane; the cross-section has half-width ``semi_w``
    (in the X–A plane, across the axis) and half-height ``semi_h`` (along U).
    """

    center: npt.ArrayLike
    axis: npt.ArrayLike
    half_length: float
    semi_w: float
    semi_h: float
    local_bounds: Bounds = field(init=False)

    def __post_init__(self) -> None:
        c = np.asarray(self.center, dtype=np.float64)
        r = self.half_length + max(self.semi_w, self.semi_h)
        self.local_bounds = make_bounds(c - r, c + r)

    def sdf_local(self, q: F32) -> F32:
        ax = np.asarray(self.axis, dtype=np.float64)
        ax = ax / np.linalg.norm(ax)
        across = np.array([ax[1], -ax[0]])
        rel = q - np.asarray(self.center, dtype=np.float32)
        t = rel[:, 0] * np.float32(ax[0]) + rel[:, 1] * np.float32(ax[1])
        w = rel[:, 0] * np.float32(across[0]) + rel[:, 1] * np.float32(across[1])
        d = _ellipse_sdf(w, rel[:, 2], self.semi_w, self.semi_h)
        return np.maximum(d, np.abs(t) - self.half_length).astype(np.float32)


@dataclass(eq=False)
class Box(LocalShape):
    """A rounded box, rotated by ``angle_deg`` about U, optionally sheared.

    ``shear`` moves the box posteriorly (``+A``) by ``shear`` mm per mm below ``shear_ref``
    (the shingled slope of laminae and spinous processes).
    """

    center: npt.ArrayLike
    half: npt.ArrayLike
    angle_deg: float = 0.0
    radius: float = 1.0
    shear: float = 0.0
    shear_ref: float = 0.0
    local_bounds: Bounds = field(init=False)

    def __post_init__(self) -> None:
        c = np.asarray(self.center, dtype=np.float64)
        h = np.asarray(self.half, dtype=np.float64)
        r = float(np.hypot(h[0], h[1]))
        lo = c - np.array([r, r, h[2]])
        hi = c + np.array([r, r, h[2]])
        extra = self.shear * (h[2] + abs(c[2] - self.shear_ref))
        lo[1] -= extra
        hi[1] += extra
        self.local_bounds = make_bounds(lo, hi)

    def sdf_local(self, q: F32) -> F32:
        rel = q - np.asarray(self.center, dtype=np.float32)
        if self.shear:
            rel[:, 1] += np.float32(self.shear) * (q[:, 2] - np.float32(self.shear_ref))
        c, s = math.cos(math.radians(self.angle_deg)), math.sin(math.radians(self.angle_deg))
        bx = rel[:, 0] * np.float32(c) + rel[:, 1] * np.float32(s)
        by = -rel[:, 0] * np.float32(s) + rel[:, 1] * np.float32(c)
        h = np.asarray(self.half, dtype=np.float32) - np.float32(self.radius)
        dx = np.abs(bx) - h[0]
        dy = np.abs(by) - h[1]
        dz = np.abs(rel[:, 2]) - h[2]
        outside = np.sqrt(np.maximum(dx, 0) ** 2 + np.maximum(dy, 0) ** 2 + np.maximum(dz, 0) ** 2)
        inside = np.minimum(np.maximum(dx, np.maximum(dy, dz)), 0)
        result: npt.NDArray[np.float32] = (outside + inside - np.float32(self.radius)).astype(
            np.float32
        )
        return result


@dataclass(eq=False)
class LaminaSlab(LocalShape):
    """A thick 2-D segment in the X–A plane extruded along U (a lamina), with shear.

    The segment runs from ``p0`` to ``p1`` (``(X, A)`` pairs), ``thickness`` wide, between
    ``u_lo`` and ``u_hi``. ``shear`` moves it posteriorly by ``shear`` mm per mm below
    ``u_hi`` (laminae are shingled: their lower edge is more posterior).
    """

    p0: tuple[float, float]
    p1: tuple[float, float]
    thickness: float
    u_lo: float
    u_hi: float
    shear: float = 0.0
    local_bounds: Bounds = field(init=False)

    def __post_init__(self) -> None:
        r = self.thickness / 2
        xs = (self.p0[0], self.p1[0])
        as_ = (self.p0[1], self.p1[1])
        extra = self.shear * (self.u_hi - self.u_lo)
        self.local_bounds = make_bounds(
            np.array([min(xs) - r, min(as_) - r, self.u_lo]),
            np.array([max(xs) + r, max(as_) + r + extra, self.u_hi]),
        )

    def sdf_local(self, q: F32) -> F32:
        x = q[:, 0]
        a = q[:, 1] + np.float32(self.shear) * (q[:, 2] - np.float32(self.u_hi))
        p0 = np.asarray(self.p0, dtype=np.float32)
        d = np.asarray(self.p1, dtype=np.float32) - p0
        t = np.clip(((x - p0[0]) * d[0] + (a - p0[1]) * d[1]) / float(d @ d), 0.0, 1.0)
        dist = np.hypot(x - (p0[0] + t * d[0]), a - (p0[1] + t * d[1])) - self.thickness / 2
        u = q[:, 2]
        result: npt.NDArray[np.float32] = np.maximum(
            dist, np.maximum(self.u_lo - u, u - self.u_hi)
        ).astype(np.float32)
        return result


@dataclass(eq=False)
class Ellipsoid(LocalShape):
    """An axis-aligned ellipsoid in local coordinates."""

    center: npt.ArrayLike
    radii: npt.ArrayLike
    local_bounds: Bounds = field(init=False)

    def __post_init__(self) -> None:
        c = np.asarray(self.center, dtype=np.float64)
        r = np.asarray(self.radii, dtype=np.float64)
        self.local_bounds = make_bounds(c - r, c + r)

    def sdf_local(self, q: F32) -> F32:
        rel = q - np.asarray(self.center, dtype=np.float32)
        r = np.asarray(self.radii, dtype=np.float32)
        k0 = np.sqrt(((rel / r) ** 2).sum(axis=1))
        k1 = np.sqrt(((rel / (r * r)) ** 2).sum(axis=1))
        near = k0 * (k0 - 1.0) / np.maximum(k1, 1e-6)
        deep = (k0 - 1.0) * r.min()
        result: npt.NDArray[np.float32] = np.where(k0 < 0.5, deep, near).astype(np.float32)
        return result


# --- shapes in patient space -----------------------------------------------------------
@dataclass(eq=False)
class Capsule(Shape):
    """A tapered capsule from ``a`` (radius ``ra``) to ``b`` (radius ``rb``), LPS mm."""

    a: npt.ArrayLike
    b: npt.ArrayLike
    ra: float
    rb: float
    bounds: Bounds = field(init=False)

    def __post_init__(self) -> None:
        a = np.asarray(self.a, dtype=np.float64)
        b = np.asarray(self.b, dtype=np.float64)
        r = max(self.ra, self.rb)
        self.bounds = make_bounds(np.minimum(a, b) - r, np.maximum(a, b) + r)

    def sdf(self, points: F32, box: Bounds | None = None) -> F32:
        a = np.asarray(self.a, dtype=np.float32)
        d = np.asarray(self.b, dtype=np.float32) - a
        rel = points - a
        t = np.clip((rel @ d) / float(d @ d), 0.0, 1.0)
        closest = rel - t[:, None] * d
        dist = np.sqrt((closest * closest).sum(axis=1))
        result: npt.NDArray[np.float32] = (dist - (self.ra + t * (self.rb - self.ra))).astype(
            np.float32
        )
        return result


@dataclass(eq=False)
class Polyline(Shape):
    """A tube along LPS points with a radius per point (union of tapered capsules)."""

    points: npt.ArrayLike
    radii: Sequence[float]
    bounds: Bounds = field(init=False)
    _capsules: list[Capsule] = field(init=False)
    _union: Union = field(init=False)

    def __post_init__(self) -> None:
        pts = np.asarray(self.points, dtype=np.float64)
        self._capsules = [
            Capsule(pts[n], pts[n + 1], float(self.radii[n]), float(self.radii[n + 1]))
            for n in range(len(pts) - 1)
        ]
        self._union = Union(list(self._capsules))
        self.bounds = self._union.bounds

    def sdf(self, points: F32, box: Bounds | None = None) -> F32:
        return self._union.sdf(points, box)


@dataclass(eq=False)
class ZEllipse(Shape):
    """An axial elliptic cross-section whose centre and radii vary with z (LPS mm).

    Between ``z[0]`` and ``z[-1]`` a point is inside when
    ``((x - cx(z)) / rx(z))² + ((y - cy(z)) / ry(z))² <= 1`` with linear interpolation of
    the node values; outside that z range it is outside.
    """

    z: npt.ArrayLike
    cx: npt.ArrayLike
    cy: npt.ArrayLike
    rx: npt.ArrayLike
    ry: npt.ArrayLike
    bounds: Bounds = field(init=False)

    def __post_init__(self) -> None:
        order = np.argsort(np.asarray(self.z))
        self._z = np.asarray(self.z, dtype=np.float64)[order]
        self._cx = np.asarray(self.cx, dtype=np.float64)[order]
        self._cy = np.asarray(self.cy, dtype=np.float64)[order]
        self._rx = np.maximum(np.asarray(self.rx, dtype=np.float64)[order], 0.05)
        self._ry = np.maximum(np.asarray(self.ry, dtype=np.float64)[order], 0.05)
        lo = np.array([(self._cx - self._rx).min(), (self._cy - self._ry).min(), self._z[0]])
        hi = np.array([(self._cx + self._rx).max(), (self._cy + self._ry).max(), self._z[-1]])
        self.bounds = make_bounds(lo, hi)

    def sdf(self, points: F32, box: Bounds | None = None) -> F32:
        z = points[:, 2]
        zn = self._z
        idx = np.clip(np.searchsorted(zn, z) - 1, 0, max(len(zn) - 2, 0))
        if len(zn) > 1:
            w = np.clip((z - zn[idx]) / (zn[idx + 1] - zn[idx]), 0.0, 1.0).astype(np.float32)
            nxt = idx + 1
        else:
            w = np.zeros(len(z), dtype=np.float32)
            nxt = idx

        def lerp(v: F64) -> F32:
            v32 = v.astype(np.float32)
            return (v32[idx] + (v32[nxt] - v32[idx]) * w).astype(np.float32)

        cx, cy, rx, ry = lerp(self._cx), lerp(self._cy), lerp(self._rx), lerp(self._ry)
        d = _ellipse_sdf(points[:, 0] - cx, points[:, 1] - cy, rx, ry)
        dz = np.maximum(np.float32(self._z[0]) - z, z - np.float32(self._z[-1]))
        result: npt.NDArray[np.float32] = np.maximum(d, dz).astype(np.float32)
        return result


# --- combinators -----------------------------------------------------------------------
@dataclass(eq=False)
class Union(Shape):
    """Union of shapes; ``smooth`` mm blends nearby surfaces (a fillet), 0 for a hard union."""

    children: list[Shape]
    smooth: float = 0.0
    bounds: Bounds = field(init=False)

    def __post_init__(self) -> None:
        los = np.array([c.bounds[0] for c in self.children])
        his = np.array([c.bounds[1] for c in self.children])
        self.bounds = make_bounds(los.min(axis=0), his.max(axis=0))

    def sdf(self, points: F32, box: Bounds | None = None) -> F32:
        box = points_bounds(points) if box is None else box
        out = np.full(len(points), _BIG, dtype=np.float32)
        for child in self.children:
            if not overlaps(child.bounds, box, margin=self.smooth + 1.0):
                continue
            out = smooth_min(out, child.sdf(points, box), self.smooth)
        return out


@dataclass(eq=False)
class Intersection(Shape):
    """Intersection of shapes (max of their distances)."""

    children: list[Shape]
    bounds: Bounds = field(init=False)

    def __post_init__(self) -> None:
        los = np.array([c.bounds[0] for c in self.children])
        his = np.array([c.bounds[1] for c in self.children])
        self.bounds = make_bounds(los.max(axis=0), his.min(axis=0))

    def sdf(self, points: F32, box: Bounds | None = None) -> F32:
        out = self.children[0].sdf(points, box)
        for child in self.children[1:]:
            out = np.maximum(out, child.sdf(points, box))
        return out


@dataclass(eq=False)
class Subtraction(Shape):
    """``base`` minus the ``cut`` shapes (each cut optionally grown by ``gap`` mm)."""

    base: Shape
    cuts: list[Shape]
    gap: float = 0.0
    bounds: Bounds = field(init=False)

    def __post_init__(self) -> None:
        self.bounds = self.base.bounds

    def sdf(self, points: F32, box: Bounds | None = None) -> F32:
        box = points_bounds(points) if box is None else box
        out = self.base.sdf(points, box)
        for cut in self.cuts:
            if overlaps(cut.bounds, box, margin=self.gap + 1.0):
                out = np.maximum(out, np.float32(self.gap) - cut.sdf(points, box))
        return out


@dataclass(eq=False)
class Shell(Shape):
    """The outer ``thickness`` mm of another shape (e.g. skin over the body outline)."""

    inner: Shape
    thickness: float
    bounds: Bounds = field(init=False)

    def __post_init__(self) -> None:
        self.bounds = self.inner.bounds

    def sdf(self, points: F32, box: Bounds | None = None) -> F32:
        d = self.inner.sdf(points, box)
        result: npt.NDArray[np.float32] = np.maximum(d, -d - np.float32(self.thickness)).astype(
            np.float32
        )
        return result
