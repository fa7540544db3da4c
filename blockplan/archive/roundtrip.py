"""Rebuild a case's plan from its archived SR and SEG."""

from __future__ import annotations

from pydicom.dataset import Dataset

from blockplan.archive.seg import read_seg_scars
from blockplan.archive.sr import read_sr
from blockplan.case.model import Case

__all__ = ["case_from_archive"]


def case_from_archive(sr: Dataset, seg: Dataset | None, base_case: Case) -> Case:
    """``base_case`` with targets, trajectories and scar regions taken from the archive.

    Everything else (patient, procedures, diaries, notes) comes from ``base_case``. Scar
    masks are carried back onto the grid of the base case's region with the same id when
    the grids are exactly related; per-level volumes come from the SR.

    Raises
    ------
    ArchiveError
        When the SR or SEG cannot be read (see `read_sr`, `read_seg_scars`).
    """
    plan = read_sr(sr)
    regions = []
    if seg is not None:
        grids = {r.id: r.grid for r in base_case.scar_regions}
        first = read_seg_scars(seg)
        for region in first:
            grid = grids.get(region.id)
            if grid is not None:
                from blockplan.archive.seg import map_mask_exact

                moved = map_mask_exact(
                    region.mask(), region.grid.affine_array(), grid.affine_array(), grid.shape
                )
                if moved is not None:
                    region = type(region).from_mask(
                        moved, grid, id=region.id, label=region.label, method=region.method
                    )
            levels = plan.scar_volume_ml_per_level.get(region.id, {})
            regions.append(region.model_copy(update={"volume_ml_per_level": dict(levels)}))
    return base_case.evolve(
        targets=tuple(plan.targets),
        trajectories=tuple(plan.trajectories),
        scar_regions=tuple(regions) if seg is not None else base_case.scar_regions,
    )
