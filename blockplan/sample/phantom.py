"""The synthetic post-operative lumbar spine as analytic shapes in patient space (LPS, mm).

:class:`Phantom` answers "which tissue is at these points?" for any array of DICOM patient
coordinates, so every series (CT, sagittal and axial MR) is sampled from the same anatomy
and shares one frame of reference. The patient had a LEFT L4–L5 laminotomy/discectomy:
the lower left L4 lamina, the left L4–L5 ligamentum flavum and the medial edge of the
facet are gone (filled with post-operative fat/fibrous tissue), and epidural scar wraps
the left L5 root in the left lateral recess at and just below L4–L5.

Conventions: ``+x`` patient left, ``+y`` posterior, ``+z`` superior; ``side`` is
``+1`` for left and ``-1`` for right.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from blockplan.sample.anatomy import Placement, VertebraSpec, place_spine
from blockplan.sample.shapes import (
    Box,
    Capsule,
    Ellipsoid,
    EllipticCylinder,
    Frame,
    Intersection,
    LaminaSlab,
    Part,
    Polyline,
    Shape,
    Shell,
    Subtraction,
    Union,
    VertebralBody,
    ZEllipse,
    overlaps,
    points_bounds,
)
from blockplan.sample.tissues import Tissue

__all__ = ["SIDES", "NerveRoot", "Phantom"]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

#: ``side`` name → sign of x (LPS: +x is patient left).
SIDES: dict[str, int] = {"left": 1, "right": -1}
#: Cortical shell thickness of every bone (mm).
CORTEX_MM = 1.2
SKIN_MM = 2.0
#: Operated level and side.
SURGERY_LEVEL = "L4-L5"
SURGERY_SIDE = "left"
SCARRED_ROOT = "L5"

# canal-to-skin depth (mm) per level: the back is thinner over the thorax and sacrum
_BACK_DEPTH = {
    "T10": 56,
    "T11": 58,
    "T12": 61,
    "L1": 64,
    "L2": 67,
    "L3": 70,
    "L4": 70,
    "L5": 64,
    "S1": 50,
    "S2": 40,
    "S3": 34,
}


# muscles per level: (|cx| mm from the midline, y relative to the canal centre, rx, ry)
_QUADRATUS_LUMBORUM = {
    "T12": (56.0, -6.0, 4.0, 3.0), "L1": (58.0, -7.0, 11.0, 8.0),
    "L3": (62.0, -8.0, 14.0, 10.0), "L4": (64.0, -6.0, 12.0, 9.0),
    "L5": (66.0, -2.0, 2.0, 2.0),
}  # fmt: skip
_ERECTOR_SPINAE = {  # with multifidus, either side of the spinous processes
    "T10": (25.0, 31.0, 21.0, 19.0), "T12": (28.0, 34.0, 24.0, 21.0),
    "L2": (30.0, 37.0, 26.0, 24.0), "L4": (30.0, 38.0, 26.0, 24.0),
    "L5": (28.0, 35.0, 24.0, 21.0), "S1": (22.0, 29.0, 20.0, 15.0),
    "S2": (15.0, 23.0, 12.0, 10.0), "S3": (10.0, 20.0, 6.0, 6.0),
}  # fmt: skip
#: psoas per level: (rx, ry, y relative to the body centre); lateral to the bodies
_PSOAS = {
    "T12": (1.0, 1.0, 2.0), "L1": (9.0, 8.0, 2.0), "L2": (12.0, 11.0, 2.0),
    "L3": (16.0, 14.0, 2.0), "L4": (19.0, 16.0, 0.0), "L5": (21.0, 18.0, -4.0),
    "S1": (20.0, 17.0, -14.0), "S2": (1.0, 1.0, -20.0),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class NerveRoot:
    """One spinal nerve root from its dural sleeve to beyond its foramen.

    ``path_lps`` is the centreline (``(n, 3)``, LPS mm) from the dural sleeve outwards and
    ``radii_mm`` its radius at each point; ``foramen_lps`` is the root's centre in the middle
    of its foramen (at the dorsal root ganglion; for S1 the anterior sacral foramen).
    """

    name: str
    side: str
    foramen: str
    path_lps: F64
    radii_mm: tuple[float, ...]
    foramen_lps: F64


@dataclass(eq=False)
class Phantom:
    """The anatomy: ordered tissue layers (later wins) and the bones on top of them."""

    placement: Placement = field(default_factory=place_spine)

    def __post_init__(self) -> None:
        self.vf = self.placement.vertebra_frames
        self.df = self.placement.disc_frames
        self.spec = self.placement.vertebrae
        self.discs = self.placement.discs
        self._build_curves()
        self.roots: list[NerveRoot] = self._build_roots()
        self.layers: list[tuple[Tissue, Shape]] = []
        self.bone_components: dict[str, list[Shape]] = {}
        self.scar_shape: Shape
        self._build()

    # -- evaluation ------------------------------------------------------------------
    def labels(self, points: npt.ArrayLike) -> npt.NDArray[np.uint8]:
        """Tissue label (:class:`~blockplan.sample.tissues.Tissue`) at ``(n, 3)`` LPS points."""
        pts = np.ascontiguousarray(np.asarray(points, dtype=np.float32).reshape(-1, 3))
        out = np.zeros(len(pts), dtype=np.uint8)
        box = points_bounds(pts)
        for tissue, shape in self.layers:
            if overlaps(shape.bounds, box, margin=0.5):
                out[shape.sdf(pts, box) <= 0] = int(tissue)
        if overlaps(self.bone.bounds, box, margin=0.5):
            d = self.bone.sdf(pts, box)
            out[d <= 0] = int(Tissue.CANCELLOUS_BONE)
            out[(d <= 0) & (d > -CORTEX_MM)] = int(Tissue.CORTICAL_BONE)
        return out

    def bone_sdf(self, points: npt.ArrayLike) -> F32:
        """Signed distance to the bone surface (mm; negative inside bone)."""
        pts = np.asarray(points, dtype=np.float32).reshape(-1, 3)
        return self.bone.sdf(pts)

    def bone_clearance(self, start: npt.ArrayLike, end: npt.ArrayLike) -> float:
        """Distance (mm) from the segment ``start``–``end`` to the nearest point labelled bone.

        Measured on the tissue labels (the shapes the images are rendered from), not on
        the approximate signed distance of :meth:`bone_sdf`, which can overestimate near
        blended and subtracted shapes: points on a 0.25 mm lattice around the segment,
        looked for within 4 mm, then 8 and 16 mm (16 when no bone is nearer).
        """
        a, b = np.asarray(start, dtype=np.float64), np.asarray(end, dtype=np.float64)
        length = float(np.linalg.norm(b - a))
        unit = (b - a) / length
        u = np.cross(unit, [1.0, 0.0, 0.0] if abs(unit[0]) < 0.9 else [0.0, 1.0, 0.0])
        u /= np.linalg.norm(u)
        w = np.cross(unit, u)
        for reach in (4.0, 8.0, 16.0):
            r = np.arange(-reach, reach + 0.125, 0.25)
            du, dw = (g.ravel() for g in np.meshgrid(r, r, indexing="ij"))
            keep = np.hypot(du, dw) <= reach
            disc = du[keep, None] * u + dw[keep, None] * w
            along = np.arange(-reach, length + reach + 0.125, 0.25)
            nearest = min(
                self._bone_distance(a, unit, length, along[i : i + 32], disc, reach)
                for i in range(0, len(along), 32)
            )
            if nearest <= reach:
                return nearest
        return 16.0

    def _bone_distance(
        self, a: F64, unit: F64, length: float, along: F64, disc: F64, reach: float
    ) -> float:
        """Nearest bone-labelled lattice point to the segment in one slab (inf if none)."""
        pts = (a + along[:, None, None] * unit + disc[None]).reshape(-1, 3)
        t = np.clip((pts - a) @ unit, 0.0, length)
        dist = np.linalg.norm(pts - (a + t[:, None] * unit), axis=1)
        near = dist <= reach
        if not near.any():
            return math.inf
        labels = self.labels(pts[near])
        bone = (labels == int(Tissue.CORTICAL_BONE)) | (labels == int(Tissue.CANCELLOUS_BONE))
        return float(dist[near][bone].min()) if bone.any() else math.inf

    def root_distance(self, points: npt.ArrayLike) -> F32:
        """Distance from the surface of the nearest extradural nerve root (mm)."""
        pts = np.asarray(points, dtype=np.float32).reshape(-1, 3)
        return self._all_roots.sdf(pts)

    def sac_sdf(self, points: npt.ArrayLike) -> F32:
        """Signed distance to the thecal sac (mm; negative inside)."""
        pts = np.asarray(points, dtype=np.float32).reshape(-1, 3)
        return self.sac.sdf(pts)

    # -- curves along the spine ---------------------------------------------------------
    def _build_curves(self) -> None:
        """Canal centre, body centre and back surface as functions of z (node tables)."""
        rows = []
        for name, frame in self.vf.items():
            v = self.spec[name]
            canal = frame.to_lps((0.0, v.body_depth / 2 + v.canal_depth / 2, 0.0))
            rows.append((frame.origin[2], frame.origin[1], canal[1], canal[2], v, name))
        rows.sort(key=lambda r: r[0])
        self._z_body = np.array([r[0] for r in rows])
        self._y_body = np.array([r[1] for r in rows])
        self._y_front = np.array([r[1] - r[4].body_depth / 2 for r in rows])
        canal_pts: list[tuple[float, float]] = [(float(r[3]), float(r[2])) for r in rows]
        for n, f in self.df.items():
            p = f.to_lps((0.0, self._disc_depth(n) / 2 + self._disc_canal(n) / 2, 0.0))
            canal_pts.append((float(p[2]), float(p[1])))
        canal_pts.sort()
        self._z_canal = np.array([c[0] for c in canal_pts])
        self._y_canal = np.array([c[1] for c in canal_pts])
        self._level_rows = rows

    def _disc_depth(self, disc: str) -> float:
        d = self.discs[disc]
        return (self.spec[d.upper].body_depth + self.spec[d.lower].body_depth) / 2

    def _disc_canal(self, disc: str) -> float:
        d = self.discs[disc]
        return (self.spec[d.upper].canal_depth + self.spec[d.lower].canal_depth) / 2

    def canal_center(self, z: npt.ArrayLike) -> F64:
        """Centre of the spinal canal (thecal sac centreline) at height z: ``(n, 3)`` LPS."""
        zz = np.atleast_1d(np.asarray(z, dtype=np.float64))
        y = np.interp(zz, self._z_canal, self._y_canal)
        return np.stack([np.zeros_like(zz), y, zz], axis=1)

    def _nodes(self, per_level: Mapping[str, tuple[float, ...]], pad: float = 0.0) -> list[F64]:
        """ZEllipse node table (z, cx, cy, rx, ry) from values given per vertebra.

        Values are ``(cx, dy, rx, ry)`` where ``dy`` is relative to the canal centre.
        """
        zs, cx, cy, rx, ry = [], [], [], [], []
        for z, _yb, _yc, _zc, _v, name in self._level_rows:
            if name not in per_level:
                continue
            vals = per_level[name]
            zs.append(z)
            cx.append(vals[0])
            cy.append(float(self.canal_center(z)[0, 1]) + vals[1])
            rx.append(vals[2])
            ry.append(vals[3])
        if pad:
            zs = [zs[0] - pad, *zs, zs[-1] + pad]
            for arr in (cx, cy, rx, ry):
                arr.insert(0, arr[0])
                arr.append(arr[-1])
        return [np.asarray(a, dtype=np.float64) for a in (zs, cx, cy, rx, ry)]

    # -- nerve roots --------------------------------------------------------------------
    def _build_roots(self) -> list[NerveRoot]:
        roots = []
        names = [v.name for v in self.spec.values()]
        for name in ("T11", "T12", "L1", "L2", "L3", "L4", "L5", "S1"):
            above = names[names.index(name) - 1]
            disc_above = f"{above}-{name}"
            below = names[names.index(name) + 1]
            foramen = f"{name}-{below}"
            for side, s in SIDES.items():
                pts, radii = self._root_path(name, disc_above, s)
                mid = pts[3] if self.spec[name].kind == "sacral" else (pts[3] + pts[4]) / 2
                roots.append(NerveRoot(name, side, foramen, pts, radii, mid))
        return roots

    def _root_path(self, name: str, disc_above: str, s: int) -> tuple[F64, tuple[float, ...]]:
        v = self.spec[name]
        f = self.vf[name]
        df = self.df[disc_above]
        ap = v.body_depth / 2
        up = v.pedicle_center_u
        half_ipd = v.interpedicular / 2
        bonus = 0.4 if name in ("L5", "S1") else 0.0
        p0 = df.to_lps((s * 6.0, self._disc_depth(disc_above) / 2 + 5.0, 1.0))
        if v.kind == "sacral":  # S1: down through the sacrum to the anterior S1 foramen
            # (the sacral foramen is carved out of the bone along this path)
            local = [
                (s * (half_ipd - 3.0), ap + 3.0, v.body_height / 2 - 4.0),
                (s * (half_ipd + 1.0), ap + 0.5, -3.0),
                (s * (half_ipd + 7.0), ap - 12.0, -v.body_height / 2 - 4.0),
                (s * (half_ipd + 12.0), -14.0, -v.body_height / 2 - 16.0),
            ]
            radii: tuple[float, ...] = (1.8, 2.4, 2.8, 3.4, 3.2)
        else:
            ph = v.pedicle_height
            pw = v.pedicle_width
            local = [
                (s * (half_ipd - 3.4), ap + 3.6, up + ph / 2 - 2.0),
                (s * (half_ipd - 3.0), ap + 4.0, up - ph / 2 - 1.0),
                (s * (half_ipd + pw * 0.45), ap + 2.5, up - ph / 2 - 3.4),
                (s * (half_ipd + pw + 4.0), ap - 1.0, up - ph / 2 - 7.5),
                (s * (half_ipd + pw + 16.0), ap - 12.0, up - ph / 2 - 20.0),
            ]
            radii = (1.8, 2.2, 2.3, 3.0, 3.3, 2.9)
        pts = np.vstack([p0, f.to_lps(np.asarray(local))])
        return pts, tuple(r + bonus for r in radii)

    def root(self, name: str, side: str) -> NerveRoot:
        """The extradural root ``name`` (e.g. ``"L5"``) on ``side`` (``"left"``/``"right"``)."""
        for r in self.roots:
            if r.name == name and r.side == side:
                return r
        raise KeyError(f"no nerve root {name} {side} in the phantom")

    # -- construction -------------------------------------------------------------------
    def _build(self) -> None:
        layers = self.layers
        t = Tissue
        body = self._body_outline()
        layers.append((t.FAT, body))
        layers.append((t.SKIN, Shell(body, SKIN_MM)))
        layers.extend(self._torso_contents())

        self._build_bones()
        layers.append((t.POSTOP_FILL, self._postop_tract()))
        # canal: epidural fat around the sac, then fat sleeves around the exiting roots
        layers.append((t.FAT, self._canal_zellipse(extra_x=1.0, extra_y=1.5)))
        for r in self.roots:
            layers.append((t.FAT, Polyline(r.path_lps[1:], [x + 2.5 for x in r.radii_mm[1:]])))
        for d in self.discs.values():
            layers.extend((t.LIGAMENT, shape) for shape in self._flavum(d.name))
        # where bone and ligament were removed (outside the canal): post-operative fill
        defect = Intersection([self._laminectomy_cut(), body])
        layers.append((t.POSTOP_FILL, Subtraction(defect, [self._canal_zellipse(0.0, 0.0)])))
        self.scar_shape = self._scar()
        layers.append((t.SCAR, self.scar_shape))
        for d in self.discs.values():
            annulus, nucleus = self._disc(d.name)
            layers.append((t.ANNULUS, annulus))
            layers.append((t.NUCLEUS_DEGENERATE if d.degenerate else t.NUCLEUS, nucleus))
        for d in self.discs.values():
            layers.extend((t.JOINT, shape) for shape in self._facet_joint_spaces(d.name))
        self.sac = self._sac()
        layers.append((t.CSF, self.sac))
        layers.append((t.CORD, self._cord()))
        layers.extend((t.NERVE_ROOT, shape) for shape in self._cauda_equina())
        root_tubes: list[Shape] = [Polyline(r.path_lps, list(r.radii_mm)) for r in self.roots]
        self._all_roots = Union(root_tubes)
        layers.extend((t.NERVE_ROOT, shape) for shape in root_tubes)

    # torso ---------------------------------------------------------------------------
    def _body_outline(self) -> Shape:
        rows = {}
        for name, depth in _BACK_DEPTH.items():
            wide = 175.0 if self.spec[name].kind == "sacral" else 160.0
            rows[name] = (0.0, depth - 118.0, wide, 118.0)
        return ZEllipse(*self._nodes(rows, pad=80.0))

    def _torso_contents(self) -> list[tuple[Tissue, Shape]]:
        """Viscera, kidneys, muscles and great vessels (axial cross-sections along z)."""
        z, yf = self._z_body, self._y_front
        zp = np.concatenate([[z[0] - 80], z, [z[-1] + 80]])
        yfp = np.concatenate([[yf[0]], yf, [yf[-1]]])
        out: list[tuple[Tissue, Shape]] = [(Tissue.VISCERA, self._viscera(zp, yfp))]
        out.extend(self._kidneys())
        for s in (1, -1):
            out.extend((Tissue.MUSCLE, shape) for shape in self._back_muscles(s))
        out.extend((Tissue.BLOOD, shape) for shape in self._great_vessels(zp, yfp))
        out.extend((Tissue.BLOOD, shape) for shape in self._iliac_vessels())
        return out

    def _viscera(self, zp: F64, yfp: F64) -> Shape:
        """The abdominal contents in front of the spine, inside the body wall."""
        inner = ZEllipse(
            *self._nodes(
                {k: (0.0, d - 118.0, 140.0, 100.0) for k, d in _BACK_DEPTH.items()}, pad=80.0
            )
        )
        n = len(zp)
        viscera = ZEllipse(zp, np.full(n, 0.0), yfp - 72.0, np.full(n, 125.0), np.full(n, 66.0))
        return Intersection([viscera, inner])

    def _kidneys(self) -> list[tuple[Tissue, Shape]]:
        """Kidneys in perirenal fat (left higher than right), partly inside the CT field."""
        out: list[tuple[Tissue, Shape]] = []
        for s, dz in ((1, 0.0), (-1, -18.0)):
            zc = float(self.vf["L1"].origin[2]) + dz
            yc = float(self.canal_center(zc)[0, 1]) - 14.0
            ident = Frame(np.array([s * 86.0, yc, zc]), np.eye(3))
            out.append((Tissue.FAT, Part(ident, Ellipsoid((0, 0, 0), (30, 34, 64)))))
            out.append((Tissue.KIDNEY, Part(ident, Ellipsoid((0, 0, 0), (21, 26, 54)))))
        return out

    def _back_muscles(self, s: int) -> list[Shape]:
        """Quadratus lumborum, erector spinae and psoas on side ``s``."""
        out: list[Shape] = []
        for table, pad in ((_QUADRATUS_LUMBORUM, 0.0), (_ERECTOR_SPINAE, 40.0)):
            rows = {k: (s * cx, dy, rx, ry) for k, (cx, dy, rx, ry) in table.items()}
            out.append(ZEllipse(*self._nodes(rows, pad=pad)))
        psoas = []
        for name, (rx, ry, dy) in _PSOAS.items():
            o = self.vf[name].origin
            cx = s * (self.spec[name].body_width / 2 + rx * 0.8 + 3.0)
            psoas.append((float(o[2]), cx, float(o[1]) + dy, rx, ry))
        out.append(ZEllipse(*(np.array(c) for c in zip(*psoas))))
        return out

    def _great_vessels(self, zp: F64, yfp: F64) -> list[Shape]:
        """Aorta (left of midline) down to its bifurcation at L4, IVC (right) down to L5."""
        out: list[Shape] = []
        vessels = (("L4", 14.0, 13.0, 10.5, 10.5), ("L5", -24.0, 15.0, 13.0, 9.0))
        for level, cx, depth, rx, ry in vessels:  # depth: in front of the vertebral bodies
            sel = zp >= float(self.vf[level].origin[2])
            n = len(zp[sel])
            out.append(
                ZEllipse(zp[sel], np.full(n, cx), yfp[sel] - depth, np.full(n, rx), np.full(n, ry))
            )
        return out

    def _iliac_vessels(self) -> list[Shape]:
        """Common iliac artery and vein on each side, from the bifurcations into the pelvis."""
        z, yf = self._z_body, self._y_front
        z_l4, z_l5, z_s1 = (float(self.vf[n].origin[2]) for n in ("L4", "L5", "S1"))
        yf_l4, yf_l5, yf_s1 = (float(np.interp(v, z, yf)) for v in (z_l4, z_l5, z_s1))
        out: list[Shape] = []
        for s in (1, -1):
            artery = Capsule(
                (s * 7.0 + 7.0, yf_l4 - 13.0, z_l4 + 4.0),
                (s * 42.0, yf_s1 - 12.0, z_s1 - 30.0),
                6.5,
                5.5,
            )
            vein = Capsule(
                (s * 10.0 - 14.0, yf_l5 - 14.0, z_l5 + 4.0),
                (s * 46.0, yf_s1 - 2.0, z_s1 - 34.0),
                8.0,
                7.0,
            )
            out.extend([artery, vein])
        return out

    # canal ---------------------------------------------------------------------------
    def _canal_zellipse(
        self, extra_x: float, extra_y: float, z_range: tuple[float, float] | None = None
    ) -> ZEllipse:
        rows = []
        for name, frame in list(self.vf.items()):
            v = self.spec[name]
            rows.append((float(frame.origin[2]), v.interpedicular / 2, v.canal_depth / 2))
        rows.sort()
        z = np.array([r[0] for r in rows])
        rx = np.array([r[1] for r in rows]) + extra_x
        ry = np.array([r[2] for r in rows]) + extra_y
        if z_range is not None:
            zz = np.linspace(z_range[0], z_range[1], 8)
            rx = np.interp(zz, z, rx)
            ry = np.interp(zz, z, ry)
            z = zz
        cy = self.canal_center(z)[:, 1]
        return ZEllipse(z, np.zeros(len(z)), cy, rx, ry)

    def _sac(self) -> Shape:
        nodes = {
            "T10": (0.0, 0.0, 8.0, 7.0),
            "T12": (0.0, 0.0, 8.5, 7.0),
            "L2": (0.0, 0.0, 8.5, 6.8),
            "L4": (0.0, 0.5, 8.5, 6.5),
            "L5": (0.0, 0.5, 8.0, 6.0),
            "S1": (0.0, 1.0, 5.5, 4.5),
            "S2": (0.0, 1.0, 0.5, 0.5),
        }
        z, cx, cy, rx, ry = self._nodes(nodes)
        z = np.concatenate([z[:-1], [z[-1] + 6.0]])
        return ZEllipse(
            np.concatenate([[z[0] - 80], z]),
            np.concatenate([[0], cx]),
            np.concatenate([[cy[0]], cy]),
            np.concatenate([[rx[0]], rx]),
            np.concatenate([[ry[0]], ry]),
        )

    def _cord(self) -> Shape:
        z_top = float(self.vf["T10"].origin[2]) + 90.0
        z_conus = float(self.df["L1-L2"].origin[2])
        z_taper = float(self.vf["L1"].origin[2]) + 12.0
        zs = np.array([z_conus, z_taper, z_top])
        c = self.canal_center(zs)
        return ZEllipse(
            zs, np.zeros(3), c[:, 1] - 0.5, np.array([0.3, 4.5, 4.8]), np.array([0.3, 3.8, 4.0])
        )

    def _cauda_equina(self) -> list[Shape]:
        z_conus = float(self.df["L1-L2"].origin[2])
        tip = self.canal_center(z_conus)[0]
        out: list[Shape] = []
        for r in self.roots:
            if r.name in ("T11", "T12", "L1"):
                continue
            s = SIDES[r.side]
            start = tip + np.array([s * 1.5, 0.5, 0.0])
            mid = self.canal_center(r.path_lps[0, 2] + 12.0)[0] + np.array([s * 4.0, 0.0, 0.0])
            out.append(Polyline([start, mid, r.path_lps[0]], [0.9, 1.0, 1.6]))
        z_s2 = float(self.vf["S2"].origin[2]) + 6.0
        for s in (1, -1):
            end = self.canal_center(z_s2)[0] + np.array([s * 1.0, 0.5, 0.0])
            out.append(Capsule(tip + np.array([s * 0.8, 1.5, 0]), end, 1.1, 0.8))
        return out

    # discs and joints ----------------------------------------------------------------
    def _disc(self, disc: str) -> tuple[Shape, Shape]:
        d = self.discs[disc]
        up, lo = self.spec[d.upper], self.spec[d.lower]
        f = self.df[disc]
        hw = (up.body_width + lo.body_width) / 4 + 1.0
        hd = (up.body_depth + lo.body_depth) / 4 + 1.0
        annulus = Part(
            f,
            VertebralBody(
                hw,
                hd,
                d.height / 2 + 0.6,
                d.wedge_deg,
                waist=0.0,
                posterior_flat=3.0,
                rim_radius=0.5,
            ),
        )
        nf = Frame(f.to_lps((0.0, 2.0, 0.0)), f.axes)
        nucleus = Part(
            nf,
            VertebralBody(
                hw * 0.5,
                hd * 0.45,
                max(d.height / 2 - 1.4, 1.0),
                d.wedge_deg,
                waist=0.0,
                posterior_flat=0.0,
                rim_radius=1.0,
            ),
        )
        return annulus, nucleus

    def _joint_geometry(self, disc: str, s: int) -> tuple[F64, F64, F64]:
        """Facet joint centre (disc-frame local), normal (SAP→IAP) and in-plane direction."""
        d = self.discs[disc]
        up, lo = self.spec[d.upper], self.spec[d.lower]
        xj = (up.interpedicular + lo.interpedicular) / 4 + 6.5
        aj = self._disc_depth(disc) / 2 + 16.0
        b = math.radians(d.facet_angle_deg)
        centre = np.array([s * xj, aj, 2.0])
        normal = np.array([-s * math.cos(b), math.sin(b), 0.0])
        along = np.array([s * math.sin(b), math.cos(b), 0.0])
        return centre, normal, along

    def _articular_processes(self, disc: str) -> tuple[list[Shape], list[Shape]]:
        """(superior articular processes of the lower vertebra, inferior of the upper)."""
        f = self.df[disc]
        saps: list[Shape] = []
        iaps: list[Shape] = []
        for s in (1, -1):
            c, n, _along = self._joint_geometry(disc, s)
            angle = math.degrees(math.atan2(n[1], n[0]))
            sap_c = c - n * (1.0 + 3.5)
            iap_c = c + n * (1.0 + 3.5)
            saps.append(Part(f, Box((sap_c[0], sap_c[1], -2.5), (3.5, 7.0, 11.5), angle, 1.5)))
            iaps.append(Part(f, Box((iap_c[0], iap_c[1], 3.5), (3.5, 7.0, 12.5), angle, 1.5)))
        return saps, iaps

    def _facet_joint_spaces(self, disc: str) -> list[Shape]:
        f = self.df[disc]
        out: list[Shape] = []
        for s in (1, -1):
            c, n, _ = self._joint_geometry(disc, s)
            angle = math.degrees(math.atan2(n[1], n[0]))
            out.append(Part(f, Box((c[0], c[1], 0.5), (1.9, 7.5, 10.5), angle, 0.8)))
        return out

    def _flavum(self, disc: str) -> list[Shape]:
        f = self.df[disc]
        mid_a = self._disc_depth(disc) / 2 + self._disc_canal(disc) + 1.0
        out: list[Shape] = []
        for s in (1, -1):
            c, _, _ = self._joint_geometry(disc, s)
            out.append(
                Part(f, LaminaSlab((c[0] - s * 5.0, c[1] - 3.5), (0.0, mid_a), 3.5, -7.0, 12.0))
            )
        return out

    # bones ---------------------------------------------------------------------------
    def _vertebra_parts(self, v: VertebraSpec) -> list[Shape]:
        """The bony parts of one vertebra: body, posterior elements, spinous process, ribs, alae."""
        f = self.vf[v.name]
        parts: list[Shape] = [
            Part(
                f, VertebralBody(v.body_width / 2, v.body_depth / 2, v.body_height / 2, v.wedge_deg)
            )
        ]
        for s in (1, -1):
            parts.extend(self._posterior_elements(v, s))
        parts.append(self._spinous_process(v))
        if v.name == "T12":
            parts.extend(self._ribs(v))
        if v.kind == "sacral":
            parts.extend(self._sacral_alae(v))
        return parts

    @staticmethod
    def _lamina_top(v: VertebraSpec) -> float:
        """Cranial edge of the laminae (u, vertebra frame)."""
        return v.pedicle_center_u + v.pedicle_height / 2 - 3.0

    @staticmethod
    def _lamina_mid_a(v: VertebraSpec) -> float:
        """Where the laminae meet on the midline (a, vertebra frame)."""
        return v.body_depth / 2 + v.canal_depth + 3.0

    def _posterior_elements(self, v: VertebraSpec, s: int) -> list[Shape]:
        """Pedicle, lamina and (where present) transverse process on side ``s``."""
        f = self.vf[v.name]
        ap = v.body_depth / 2
        up = v.pedicle_center_u
        hh = v.body_height / 2
        g = math.radians(v.pedicle_convergence_deg)
        ped_c = (s * (v.interpedicular / 2 + v.pedicle_width / 2), ap + 4.0, up)
        pedicle = EllipticCylinder(
            ped_c, (s * math.sin(g), math.cos(g)), 9.0, v.pedicle_width / 2, v.pedicle_height / 2
        )
        lam_lat = (s * (v.interpedicular / 2 + v.pedicle_width * 0.45), ap + 11.0)
        lamina = LaminaSlab(
            lam_lat, (0.0, self._lamina_mid_a(v)), 6.0, -hh - 6.0, self._lamina_top(v), v.shear
        )
        parts: list[Shape] = [Part(f, pedicle), Part(f, lamina)]
        if v.transverse_length > 0:
            tl = v.transverse_length
            tp_c = (s * (v.interpedicular / 2 + v.pedicle_width + tl / 2 - 3.0), ap + 9.0, up)
            parts.append(
                Part(f, Box(tp_c, (tl / 2 + 3.0, 4.0, v.transverse_height / 2), s * 8.0, 2.5))
            )
        return parts

    def _spinous_process(self, v: VertebraSpec) -> Shape:
        """The spinous process, behind the junction of the laminae."""
        lam_mid_a = self._lamina_mid_a(v)
        sp_c = (0.0, lam_mid_a + v.spinous_length / 2, v.pedicle_center_u - 6.0)
        half = (3.2, v.spinous_length / 2 + 2.0, v.spinous_height / 2)
        return Part(self.vf[v.name], Box(sp_c, half, 0.0, 2.0, v.shear, self._lamina_top(v)))

    def _ribs(self, v: VertebraSpec) -> list[Shape]:
        """The 12th ribs (on T12)."""
        f = self.vf[v.name]
        ap = v.body_depth / 2
        up = v.pedicle_center_u
        out: list[Shape] = []
        for s in (1, -1):
            pts = f.to_lps(
                np.array(
                    [
                        (s * 14.0, ap + 2.0, up + 1.0),
                        (s * 30.0, ap + 14.0, up - 2.0),
                        (s * 52.0, ap + 16.0, up - 12.0),
                        (s * 90.0, ap - 4.0, up - 40.0),
                    ]
                )
            )
            out.append(Polyline(pts, [4.5, 5.0, 4.5, 4.0]))
        return out

    def _sacral_alae(self, v: VertebraSpec) -> list[Shape]:
        """The alae / lateral masses either side of a sacral body."""
        f = self.vf[v.name]
        ap = v.body_depth / 2
        hh = v.body_height / 2
        w = v.body_width
        return [
            Part(
                f,
                Box(
                    (s * (w / 2 + w * 0.18), ap * 0.15, -hh * 0.2),
                    (w * 0.38, ap * 0.95, hh * 0.85),
                    -s * 12.0,
                    3.0,
                ),
            )
            for s in (1, -1)
        ]

    def _ilium(self, s: int) -> Shape:
        """Posterior iliac wing (untilted), from the PSIS to beyond the field of view.

        The crest top lies 8 mm below the L5 body centre, lateral to the L5 transverse
        process, as in many adults (a higher crest would block the L5–S1 foramen).
        """
        c = self.vf["S1"].origin
        crest = float(self.vf["L5"].origin[2]) - 8.0 - float(c[2])
        frame = Frame(np.asarray(c, dtype=np.float64), np.eye(3))
        return Part(frame, LaminaSlab((s * 42.0, 60.0), (s * 100.0, -15.0), 13.0, -45.0, crest))

    def _build_bones(self) -> None:
        comps = {v.name: self._vertebra_parts(v) for v in self.spec.values()}
        for disc in self.discs:
            saps, iaps = self._articular_processes(disc)
            comps[self.discs[disc].lower].extend(saps)
            comps[self.discs[disc].upper].extend(iaps)
        self.bone_components = comps
        sacrum = Union(comps["S1"] + comps["S2"] + comps["S3"], smooth=2.0)
        vertebrae: list[Shape] = [
            Union(p, smooth=2.0) for n, p in comps.items() if not n.startswith("S")
        ]
        vertebrae.append(sacrum)
        ilia: list[Shape] = [Subtraction(self._ilium(s), [sacrum], gap=2.5) for s in (1, -1)]
        carves: list[Shape] = [self._laminectomy_cut()]
        for r in self.roots:
            # the S1 root tunnels through the sacrum (its foramen); elsewhere a thin
            # periosteal gap keeps every root off the bone it passes
            extra = 1.5 if r.name == "S1" else 0.6
            carves.append(Polyline(r.path_lps[1:], [x + extra for x in r.radii_mm[1:]]))
        self.bone = Subtraction(Union(vertebrae + ilia), carves)

    # surgery -------------------------------------------------------------------------
    def _laminectomy_cut(self) -> Shape:
        """Left L4 laminotomy + L4–L5 flavectomy + medial facetectomy (L4 frame)."""
        v = self.spec["L4"]
        ap = v.body_depth / 2
        x0, x1 = 3.6, v.interpedicular / 2 + 2.0
        a0, a1 = ap + 5.0, ap + v.canal_depth + 17.0
        u0, u1 = -v.body_height / 2 - 12.0, v.pedicle_center_u - 2.0
        return Part(
            self.vf["L4"],
            Box(
                ((x0 + x1) / 2, (a0 + a1) / 2, (u0 + u1) / 2),
                ((x1 - x0) / 2, (a1 - a0) / 2, (u1 - u0) / 2),
                0.0,
                3.0,
            ),
        )

    def _postop_tract(self) -> Shape:
        """Fatty/fibrous track through the left multifidus (the surgical approach)."""
        v = self.spec["L4"]
        centre = (9.0, v.body_depth / 2 + v.canal_depth + 24.0, -v.body_height / 2 + 2.0)
        return Part(self.vf["L4"], Ellipsoid(centre, (3.5, 17.0, 11.0)))

    def _scar(self) -> Shape:
        """Epidural scar: wraps the left L5 root in the lateral recess at/below L4–L5."""
        s = SIDES[SURGERY_SIDE]
        root = self.root(SCARRED_ROOT, SURGERY_SIDE)
        f = self.df[SURGERY_LEVEL]
        dd = self._disc_depth(SURGERY_LEVEL) / 2
        cd = self._disc_canal(SURGERY_LEVEL)
        pieces: list[Shape] = [
            Polyline(root.path_lps[:4], [r + 3.2 for r in root.radii_mm[:4]]),
            Part(f, Ellipsoid((s * 9.0, dd + 4.5, -1.0), (6.0, 4.0, 9.0))),
            Part(f, Ellipsoid((s * 7.0, dd + cd - 2.5, 1.0), (6.5, 4.0, 9.0))),
        ]
        z_hi = float(f.origin[2]) + 7.0
        l5 = self.spec["L5"]
        z_lo = float(self.vf["L5"].to_lps((0.0, 0.0, l5.pedicle_center_u - 3.0))[2])
        limit = self._canal_zellipse(extra_x=4.0, extra_y=6.0, z_range=(z_lo, z_hi))
        # the scar is epidural on the operated side only
        left_half = ZEllipse(
            [z_lo, z_hi],
            [s * 15.0] * 2,
            [float(limit.bounds[0][1]) + 20] * 2,
            [14.5, 14.5],
            [40.0, 40.0],
        )
        return Intersection([Union(pieces), limit, left_half])
