"""Ground truth of the synthetic study: ``truth.json``, the scar mask and PROVENANCE.md.

All coordinates are DICOM patient coordinates (LPS, mm) in the study's frame of
reference; ``truth_schema.md`` (written alongside) explains every key.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from blockplan.sample.anatomy import CT_LEVELS
from blockplan.sample.phantom import SCARRED_ROOT, SURGERY_LEVEL, SURGERY_SIDE, Phantom
from blockplan.sample.tissues import CT_HU, MR_T1_POST_GD, MR_T1_POST_GD_FS, MR_T2, Tissue
from blockplan.sample.writer import PATIENT, PHANTOM_VERSION, SYNTHETIC_NOTE, make_uid

if TYPE_CHECKING:
    from blockplan.sample.targets import Target
    from blockplan.sample.writer import SeriesSpec, StudyUIDs

__all__ = ["SCAR_MASK_FILE", "TRUTH_FILE", "load_scar_mask", "write_provenance", "write_truth"]

TRUTH_FILE = "truth.json"
SCAR_MASK_FILE = "truth_scar_mask.npz"
SCHEMA_FILE = "truth_schema.md"
PROVENANCE_FILE = "PROVENANCE.md"
_TS_NAMES = {
    "1.2.840.10008.1.2.1": "Explicit VR Little Endian (uncompressed)",
    "1.2.840.10008.1.2.4.80": "JPEG-LS Lossless",
    "1.2.840.10008.1.2.5": "RLE Lossless",
}


def _pt(v: npt.ArrayLike) -> list[float]:
    return [round(float(x), 2) for x in np.asarray(v, dtype=np.float64).ravel()]


def _unit(v: npt.ArrayLike) -> list[float]:
    a = np.asarray(v, dtype=np.float64)
    return [round(float(x), 5) for x in a / np.linalg.norm(a)]


def _save_npz(path: Path, arrays: Mapping[str, npt.NDArray[Any]]) -> None:
    """``np.savez_compressed`` with fixed zip timestamps (byte-reproducible)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(2026, 3, 15, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue(), compresslevel=9)


def load_scar_mask(path: Path) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """The scar mask ``[k, j, i]`` (cropped) and its 4×4 affine ``(i, j, k, 1)`` → LPS mm."""
    with np.load(path, allow_pickle=False) as data:
        return data["mask"].astype(bool), data["affine"].astype(np.float64)


def _segment_of_points(phantom: Phantom, pts: npt.NDArray[np.float64]) -> list[str]:
    """Level (vertebra ``"L5"`` or disc ``"L4-L5"``) whose slab each point lies in."""
    names: list[str] = []
    scores: list[npt.NDArray[np.float64]] = []
    for name, f in phantom.vf.items():
        half = phantom.spec[name].body_height / 2
        names.append(name)
        scores.append(np.abs((pts - f.origin) @ f.axes[2]) / half)
    for name, f in phantom.df.items():
        half = phantom.discs[name].height / 2
        names.append(name)
        scores.append(np.abs((pts - f.origin) @ f.axes[2]) / half)
    best = np.argmin(np.stack(scores), axis=0)
    return [names[i] for i in best]


def _scar_truth(
    out_dir: Path,
    phantom: Phantom,
    ct: SeriesSpec,
    labels: npt.NDArray[np.uint8],
    series_uid: str,
    frame_uid: str,
) -> dict[str, Any]:
    mask = labels == int(Tissue.SCAR)
    kk, jj, ii = np.nonzero(mask)
    lo = np.array([kk.min(), jj.min(), ii.min()]) - 2
    hi = np.array([kk.max(), jj.max(), ii.max()]) + 3
    lo = np.maximum(lo, 0)
    hi = np.minimum(hi, mask.shape)
    crop = mask[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
    affine = ct.grid.affine.copy()
    affine[:3, 3] = (
        affine[:3, :3] @ np.array([lo[2], lo[1], lo[0]], dtype=np.float64) + affine[:3, 3]
    )
    _save_npz(
        out_dir / SCAR_MASK_FILE,
        {
            "mask": crop.astype(np.uint8),
            "affine": affine,
            "offset_kji": lo.astype(np.int64),
            "ct_shape_kji": np.asarray(mask.shape, dtype=np.int64),
            "series_instance_uid": np.asarray(series_uid),
            "frame_of_reference_uid": np.asarray(frame_uid),
        },
    )
    voxel_mm3 = float(abs(np.linalg.det(ct.grid.affine[:3, :3])))
    n = int(mask.sum())
    ijk = np.stack([ii, jj, kk, np.ones_like(ii)], axis=1).astype(np.float64)
    pts = (ijk @ ct.grid.affine.T)[:, :3]
    levels = _segment_of_points(phantom, pts)
    by_level: dict[str, float] = {}
    for name in sorted(set(levels), key=lambda x: [*phantom.vf, *phantom.df].index(x)):
        count = sum(1 for lv in levels if lv == name)
        by_level[name] = round(count * voxel_mm3 / 1000.0, 4)
    return {
        "mask_file": SCAR_MASK_FILE,
        "mask_grid": "CT series 2 voxel grid, cropped; npz keys: mask (uint8 [k, j, i]), "
        "affine (4x4, (i, j, k, 1) of the crop -> LPS mm), offset_kji (crop origin in the "
        "full CT grid), ct_shape_kji, series_instance_uid, frame_of_reference_uid",
        "level": SURGERY_LEVEL,
        "side": SURGERY_SIDE,
        "surrounds_root": {"root": SCARRED_ROOT, "side": SURGERY_SIDE},
        "voxel_count": n,
        "voxel_volume_mm3": round(voxel_mm3, 6),
        "volume_ml": round(n * voxel_mm3 / 1000.0, 4),
        "volume_ml_by_level": by_level,
        "centroid_lps": _pt(pts.mean(axis=0)),
        "enhancement": "homogeneous on T1 post-gadolinium (series 4; series 5 fat-suppressed)",
    }


def _target_truth(t: Target) -> dict[str, Any]:
    return {
        "name": t.name,
        "level": t.level,
        "side": t.side,
        "structure": t.structure,
        "block_type": t.block_type,
        "approach": t.approach,
        "nerve": t.nerve,
        "target_lps": _pt(t.target_lps),
        "entry_lps": _pt(t.entry_lps),
        "depth_mm": round(t.depth_mm, 1),
        "angle_from_sagittal_deg": t.angle_from_sagittal_deg,
        "craniocaudal_tilt_deg": t.craniocaudal_tilt_deg,
        "min_bone_clearance_mm": round(t.min_bone_clearance_mm, 1),
        "note": t.note,
    }


def write_truth(
    out_dir: Path,
    phantom: Phantom,
    seed: int,
    uids: StudyUIDs,
    specs: Sequence[SeriesSpec],
    files: Mapping[int, Sequence[Path]],
    ct_labels: npt.NDArray[np.uint8],
    targets: Sequence[Target],
) -> Path:
    """Write ``truth.json``, ``truth_scar_mask.npz`` and ``truth_schema.md``."""
    ct = specs[0]
    vertebrae = _vertebrae_truth(phantom)
    discs = _discs_truth(phantom)
    scar = _scar_truth(
        out_dir,
        phantom,
        ct,
        ct_labels,
        make_uid(seed, "series", ct.number),
        uids.frame_of_reference_uid,
    )
    truth = {
        **_study_truth(seed, uids),
        "series": [_series_truth(spec, seed, len(files[spec.number])) for spec in specs],
        "vertebrae": vertebrae,
        "discs": discs,
        "thecal_sac_centerline": _centerline_truth(phantom, [*vertebrae, *discs]),
        "nerve_roots": _roots_truth(phantom),
        "scar": scar,
        "targets": [_target_truth(t) for t in targets],
        "tissue_intensities": _intensities_truth(),
    }
    path = out_dir / TRUTH_FILE
    path.write_text(json.dumps(truth, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (out_dir / SCHEMA_FILE).write_text(SCHEMA_TEXT, encoding="utf-8")
    return path


def _intensities_truth() -> dict[str, dict[str, float]]:
    """The noise-free value of every tissue label per contrast (CT in HU)."""
    return {
        "CT_HU": {t.name: CT_HU[t] for t in Tissue},
        "MR_T2": {t.name: MR_T2[t] for t in Tissue},
        "MR_T1_POST_GD": {t.name: MR_T1_POST_GD[t] for t in Tissue},
        "MR_T1_POST_GD_FS": {t.name: MR_T1_POST_GD_FS[t] for t in Tissue},
    }


def _study_truth(seed: int, uids: StudyUIDs) -> dict[str, Any]:
    """The first keys of ``truth.json``: what it is, generator, UIDs, patient, surgery."""
    return {
        "description": (
            "Ground truth of the synthetic post-operative lumbar spine study written by "
            "blockplan.sample. SYNTHETIC PHANTOM - not patient data. Every key is explained "
            f"in {SCHEMA_FILE}."
        ),
        "schema": SCHEMA_FILE,
        "phantom_version": PHANTOM_VERSION,
        "seed": seed,
        "coordinate_system": "DICOM patient LPS, mm",
        "frame_of_reference_uid": uids.frame_of_reference_uid,
        "study_instance_uid": uids.study_instance_uid,
        "patient": {
            "name": PATIENT["PatientName"],
            "id": PATIENT["PatientID"],
            "synthetic": True,
            "note": SYNTHETIC_NOTE,
        },
        "surgery": {
            "procedure": "laminotomy (partial laminectomy) with medial facetectomy, "
            "flavectomy and discectomy",
            "level": SURGERY_LEVEL,
            "side": SURGERY_SIDE,
        },
    }


def _series_truth(spec: SeriesSpec, seed: int, n_images: int) -> dict[str, Any]:
    """One ``series[]`` entry: identity, image geometry, transfer syntax and affine."""
    g = spec.grid
    return {
        "series_number": spec.number,
        "series_description": spec.description,
        "modality": spec.modality,
        "series_instance_uid": make_uid(seed, "series", spec.number),
        "folder": spec.folder,
        "images": n_images,
        "rows": g.shape[1],
        "columns": g.shape[2],
        "pixel_spacing_mm": list(g.pixel_spacing),
        "slice_thickness_mm": g.slice_thickness,
        "slice_spacing_mm": abs(g.slice_step),
        "image_orientation_patient": [round(v, 6) for v in (*g.row_direction, *g.column_direction)],
        "transfer_syntax_uid": str(spec.transfer_syntax),
        "transfer_syntax": _TS_NAMES[str(spec.transfer_syntax)],
        "affine": [[round(float(v), 6) for v in row] for row in g.affine],
    }


def _vertebrae_truth(phantom: Phantom) -> dict[str, dict[str, Any]]:
    """``vertebrae.<level>`` for the CT levels: body centre, axis and size, pedicles."""
    vertebrae = {}
    for name in CT_LEVELS:
        v = phantom.spec[name]
        f = phantom.vf[name]
        entry: dict[str, Any] = {
            "center_lps": _pt(f.origin),
            "superior_axis": _unit(f.axes[2]),
            "body_width_mm": v.body_width,
            "body_depth_mm": v.body_depth,
            "body_height_mm": v.body_height,
        }
        if v.kind != "sacral":
            entry["pedicle_centers_lps"] = {
                side: _pt(
                    f.to_lps(
                        (
                            s * (v.interpedicular / 2 + v.pedicle_width / 2),
                            v.body_depth / 2 + 4.0,
                            v.pedicle_center_u,
                        )
                    )
                )
                for side, s in (("left", 1), ("right", -1))
            }
        vertebrae[name] = entry
    return vertebrae


def _discs_truth(phantom: Phantom) -> dict[str, dict[str, Any]]:
    """``discs.<upper-lower>`` below a CT level: centre, normal, height, degeneration."""
    discs = {}
    for name, d in phantom.discs.items():
        if d.upper not in CT_LEVELS:
            continue
        f = phantom.df[name]
        discs[name] = {
            "center_lps": _pt(f.origin),
            "normal": _unit(f.axes[2]),
            "height_mm": d.height,
            "degenerate": d.degenerate,
        }
    return discs


def _centerline_truth(phantom: Phantom, levels: Sequence[str]) -> dict[str, list[float]]:
    """Thecal sac centre at the height of each vertebral body or disc centre."""
    centerline = {}
    for name in levels:
        frame = phantom.vf[name] if name in phantom.vf else phantom.df[name]
        centerline[name] = _pt(phantom.canal_center(float(frame.origin[2]))[0])
    return centerline


def _roots_truth(phantom: Phantom) -> list[dict[str, Any]]:
    """``nerve_roots[]`` of the CT levels: foramen, its centre, largest radius, path."""
    return [
        {
            "root": r.name,
            "side": r.side,
            "foramen": r.foramen,
            "foramen_lps": _pt(r.foramen_lps),
            "radius_mm": round(max(r.radii_mm), 2),
            "path_lps": [_pt(p) for p in r.path_lps],
        }
        for r in phantom.roots
        if r.name in CT_LEVELS
    ]


def write_provenance(
    out_dir: Path, seed: int, specs: Sequence[SeriesSpec], files: Mapping[int, Sequence[Path]]
) -> Path:
    """Write ``PROVENANCE.md``: command, synthetic status, contents, sizes, licence."""
    head = [
        "#",
        "modality",
        "description",
        "folder",
        "images",
        "matrix",
        "pixel",
        "thickness / spacing",
        "transfer syntax",
        "size",
    ]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    total = 0
    for spec in specs:
        size = sum(p.stat().st_size for p in files[spec.number])
        total += size
        g = spec.grid
        rows.append(
            f"| {spec.number} | {spec.modality} | {spec.description} | `{spec.folder}/` | "
            f"{len(files[spec.number])} | {g.shape[2]}×{g.shape[1]} | "
            f"{g.pixel_spacing[0]:g} mm | {g.slice_thickness:g} / {abs(g.slice_step):g} mm | "
            f"{_TS_NAMES[str(spec.transfer_syntax)]} (`{spec.transfer_syntax}`) | "
            f"{size / 1e6:.2f} MB |"
        )
    text = PROVENANCE_TEMPLATE.format(
        seed=seed,
        version=PHANTOM_VERSION,
        rows="\n".join(rows),
        total=f"{total / 1e6:.2f}",
    )
    path = out_dir / PROVENANCE_FILE
    path.write_text(text, encoding="utf-8")
    return path


PROVENANCE_TEMPLATE = """\
# sample_dicom — provenance

**SYNTHETIC PHANTOM — not patient data.** Every file here was computed from analytic
shapes by `blockplan.sample`; no scanner, person or patient record was involved. The
DICOM tags say so too (PatientName `PHANTOM^LUMBAR`, PatientID `SYNTH-0001`,
PatientComments and ImageComments "SYNTHETIC PHANTOM — not patient data",
BurnedInAnnotation `NO`).

## How it was made

```
python -m blockplan.sample sample_dicom --seed {seed}
```

Phantom version {version}, seed {seed}. The same command writes byte-identical files
(`tests/sample` regenerates the study and compares it with this folder). The anatomy is
fixed; the seed only drives image noise, bone texture and UIDs.

## What it contains

One study, one patient (supine, head first), one frame of reference shared by all
series: a lumbar spine after a **left L4–L5 laminotomy and discectomy**, with the lower
left L4 lamina, the left L4–L5 ligamentum flavum and the medial facet edge removed
(defect filled with post-operative fat/fibrous tissue) and **epidural scar wrapping the
left L5 root** in the left lateral recess at and just below L4–L5 (enhancing
homogeneously after gadolinium: series 4 without, series 5 with fat suppression). The
L4–L5 disc is lower and desiccated.

{rows}

DICOM total: {total} MB. Valid CT Image / MR Image objects (checked with `dciodvfy`).

Ground truth (DICOM patient coordinates, LPS, mm):

- `truth.json` — vertebral body and disc centres (T12–S1), thecal sac centreline, nerve
  roots at every foramen (L1–S1 both sides), scar volume (total and per level),
  injection targets with verified safe skin entries, tissue intensities; keys explained in
  `truth_schema.md`.
- `truth_scar_mask.npz` — the scar voxels on the CT grid (cropped) with their affine.

## Licence

BSD-3-Clause, the same licence as blockplan.
"""

SCHEMA_TEXT = """\
# truth.json — schema

Coordinates are DICOM patient coordinates: **LPS, millimetres** (+x patient left,
+y posterior, +z superior) in the frame of reference `frame_of_reference_uid`, shared by
every series. Points are `[x, y, z]` rounded to 0.01 mm. Level names: vertebrae `"T12"`
… `"S1"`; discs `"upper-lower"` with a hyphen, e.g. `"L4-L5"`. Sides: `"left"` /
`"right"` (the patient's).

Keys:

- `description` — what this file is; `schema` — this file's name.
- `phantom_version`, `seed` — generator version and seed
  (`python -m blockplan.sample OUT_DIR --seed N`).
- `coordinate_system` — always `"DICOM patient LPS, mm"`.
- `frame_of_reference_uid`, `study_instance_uid` — UIDs shared by all series.
- `patient` — synthetic patient `name` and `id`, `synthetic: true`, `note`.
- `surgery` — the operation: `procedure`, `level` (`"L4-L5"`), `side` (`"left"`).
- `series[]` — per series: `series_number`, `series_description`, `modality`,
  `series_instance_uid`, `folder`, `images`, `rows`, `columns`, `pixel_spacing_mm`
  (row, column), `slice_thickness_mm`, `slice_spacing_mm`, `image_orientation_patient`,
  `transfer_syntax_uid`, `transfer_syntax`, `affine` (4×4, voxel `(i, j, k, 1)` → LPS,
  `k` in InstanceNumber order).
- `vertebrae.<level>` — `center_lps` (centre of the vertebral body), `superior_axis`
  (unit vector along the body's own cranial axis), `body_width_mm`, `body_depth_mm`,
  `body_height_mm`, `pedicle_centers_lps.left` / `.right` (not for S1).
- `discs.<upper-lower>` — `center_lps` (centre of the disc, inside the nucleus), `normal`
  (unit vector, cranial), `height_mm`, `degenerate`.
- `thecal_sac_centerline.<level>` — centre of the thecal sac at the height (z) of each
  vertebral body and disc centre.
- `nerve_roots[]` — `root` (e.g. `"L5"`), `side`, `foramen` (the foramen it leaves
  through: root L5 → `"L5-S1"`; S1 → the anterior S1 foramen, `"S1-S2"`), `foramen_lps`
  (root centre in the middle of its foramen, at the ganglion), `radius_mm` (largest
  radius), `path_lps` (centreline from the dural sleeve outwards).
- `scar` — epidural scar: `mask_file` (`truth_scar_mask.npz`, layout in `mask_grid`),
  `level`, `side`, `surrounds_root`, `voxel_count`, `voxel_volume_mm3`, `volume_ml`
  (= voxel_count × voxel volume / 1000), `volume_ml_by_level` (voxels assigned to the
  vertebra or disc slab they lie in), `centroid_lps`, `enhancement`.
- `targets[]` — planned injections: `name`, `level`, `side`, `structure` (`nerve_root`,
  `medial_branch`), `block_type` (`tfesi`, `mbb`, `snrb`), `approach`, `nerve`,
  `target_lps` (needle tip), `entry_lps` (skin entry; the straight segment entry → target
  crosses no bone, thecal sac, cord, nerve root, kidney, viscera or vessel of the
  phantom), `depth_mm`, `angle_from_sagittal_deg` (lateral angulation),
  `craniocaudal_tilt_deg` (positive: entry caudal to the target), `min_bone_clearance_mm`
  (distance from the shaft — the skin entry to 3 mm before the tip — to the nearest point
  the phantom labels bone, on a 0.25 mm lattice), `note`.
- `tissue_intensities` — the noise-free value of every tissue label: `CT_HU` (Hounsfield
  units), `MR_T2`, `MR_T1_POST_GD`, `MR_T1_POST_GD_FS` (scanner units).

`truth_scar_mask.npz` holds `mask` (uint8 `[k, j, i]`, 1 = scar), `affine` (4×4, `(i, j, k, 1)`
of the cropped grid → LPS mm), `offset_kji` (where the crop starts in the CT series' grid,
slice `k` in InstanceNumber order), `ct_shape_kji`, `series_instance_uid` (CT series 2) and
`frame_of_reference_uid`.
"""
