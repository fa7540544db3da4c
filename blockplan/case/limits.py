"""Limits and typical values of what a procedure record holds, for forms and checks.

Forms take their ranges from the case model itself (`field_limits` reads the model's
validation bounds), so a field can never accept what the model refuses, and the typical
diagnostic injectate volume per block type (`TYPICAL_VOLUME_ML`) from one table here.

Typical volumes follow the diagnostic volumes of shared/DOMAIN.md §2 (ASRA multisociety
consensus, Cohen et al., RAPM 2020;45:424, Table 11): medial branch 0.5 mL per branch,
facet intra-articular 1.0 mL (< 1.5), selective nerve root 0.5 mL (0.3–0.75),
transforaminal 2.0 mL (1.5–4), sacroiliac joint 1.5 mL (≤ 2). Interlaminar, caudal and
discography volumes are common practice values (verify locally). They are form defaults
only: the physician enters what was injected, and the profile's caps judge it.
"""

from __future__ import annotations

import typing
from typing import Any

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel

from blockplan.case.model import Nrs
from blockplan.case.vocab import BlockType

__all__ = ["NRS_LIMITS", "TYPICAL_VOLUME_ML", "field_limits"]

TYPICAL_VOLUME_ML: dict[BlockType, float] = {
    BlockType.MEDIAL_BRANCH: 0.5,
    BlockType.FACET_INTRAARTICULAR: 1.0,
    BlockType.SELECTIVE_NERVE_ROOT: 0.5,
    BlockType.TRANSFORAMINAL_EPIDURAL: 2.0,
    BlockType.INTERLAMINAR_EPIDURAL: 5.0,
    BlockType.CAUDAL_EPIDURAL: 10.0,
    BlockType.SACROILIAC_JOINT: 1.5,
    BlockType.DISCOGRAPHY: 1.5,
}
"""Typical injectate volume (mL, per target; per branch for medial branch blocks)."""


def _bounds(metadata: list[Any]) -> tuple[float | None, float | None]:
    lo = hi = None
    for item in metadata:
        if isinstance(item, Ge | Gt):
            lo = float(item.ge if isinstance(item, Ge) else item.gt)  # type: ignore[arg-type]
        if isinstance(item, Le | Lt):
            hi = float(item.le if isinstance(item, Le) else item.lt)  # type: ignore[arg-type]
    return lo, hi


def field_limits(model: type[BaseModel], name: str) -> tuple[float | None, float | None]:
    """The lower and upper bound the model accepts for a numeric field (None: unbounded)."""
    return _bounds(list(model.model_fields[name].metadata))


def _nrs_limits() -> tuple[int, int]:
    (info,) = typing.get_args(Nrs)[1:]
    lo, hi = _bounds(list(info.metadata))
    return int(lo or 0), int(hi or 0)


NRS_LIMITS: tuple[int, int] = _nrs_limits()
"""Pain on the numeric rating scale (`blockplan.case.model.Nrs`): (0, 10)."""
