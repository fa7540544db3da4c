"""The planned needle paths of a case, measured once for the screen, the report and the SR.

`measure_paths` (or a long-lived `PathPlanner`, which remembers results by their inputs)
is the one place that decides *what* a path of a case is checked against:

* the **CT** it is checked for bone on — `planning_ct`: the first CT among the loaded
  volumes that lies in the targets' frame of reference;
* the **scar** — every scar region of the case, on its own grid;
* the **marked structures** — every landmark of the case, except the root a root block
  is aimed at (`spared_landmark_ids`: an SNRB or TFESI needle is meant to reach its root,
  so that root is not a hazard for its own path; for every other block type — a medial
  branch block beside the same root, say — it is, as are every other root, the thecal sac
  and arteries).

The planning widget, the report and the archive call it with the same case and CT, so they
state the same clearances and verdicts. How each check works is in
`blockplan.planning.trajectory`; how a result is worded is in `blockplan.planning.wording`.

Decision support, not a medical device.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from blockplan.case.model import Case, Landmark, ScarRegion, Target
from blockplan.case.vocab import BlockType
from blockplan.errors import BlockplanError
from blockplan.io.volume import ImageVolume
from blockplan.planning.trajectory import TrajectoryMetrics, evaluate_trajectory, needle_for_path

__all__ = [
    "ROOT_BLOCKS",
    "PathPlanner",
    "case_frame",
    "measure_paths",
    "own_root_label",
    "planned_needle_mm",
    "planning_ct",
    "spared_landmark_ids",
]


ROOT_BLOCKS: frozenset[BlockType] = frozenset(
    {BlockType.SELECTIVE_NERVE_ROOT, BlockType.TRANSFORAMINAL_EPIDURAL}
)
"""Block types whose needle is aimed at a nerve root: its own root is spared."""


def spared_landmark_ids(target: Target, landmarks: Iterable[Landmark]) -> tuple[str, ...]:
    """Ids of the marked structures a target's own needle is meant to reach.

    A root block (`ROOT_BLOCKS`: selective nerve root block, transforaminal epidural) is
    aimed at its root: the nerve-root landmark of the target's level and side is not a
    hazard for that path. For every other block type (a medial branch block, a facet
    injection, …) nothing is spared, and every landmark is a hazard.
    """
    if target.block_type not in ROOT_BLOCKS:
        return ()
    return tuple(
        lm.id
        for lm in landmarks
        if lm.kind == "nerve_root" and lm.level == target.level and lm.side == target.side
    )


def planned_needle_mm(case: Case, target_id: str) -> float | None:
    """The needle the plan suggests for a target (`needle_for_path` of its path's length,
    as the details pane and the report state it); None without a planned path or when no
    listed needle is long enough."""
    traj = case.trajectory_for(target_id)
    if traj is None:
        return None
    tip = np.asarray(case.target(target_id).position.lps, dtype=np.float64)
    length = float(np.linalg.norm(tip - np.asarray(traj.entry.lps, dtype=np.float64)))
    return needle_for_path(length)[0]


def own_root_label(target: Target) -> str | None:
    """The root a root block aims at, as a verdict names it (``"nerve root L5 left"``).

    None for every other block type, and for a root block without a level: its path is then
    checked against every marked root (`spared_landmark_ids`).
    """
    if target.block_type not in ROOT_BLOCKS or not target.level:
        return None
    return f"nerve root {target.level} {target.side.value}"


def planning_ct(
    volumes: Iterable[ImageVolume], frame_of_reference_uid: str | None
) -> ImageVolume | None:
    """The CT the paths are checked for bone on: the first CT in the given frame.

    Without a frame (nothing placed yet) the first CT.
    """
    for volume in volumes:
        if volume.modality.upper() != "CT":
            continue
        if (
            frame_of_reference_uid is None
            or volume.frame_of_reference_uid == frame_of_reference_uid
        ):
            return volume
    return None


def case_frame(case: Case) -> str | None:
    """The frame of reference the case's targets were placed in (None before any)."""
    return next((t.position.frame_of_reference_uid for t in case.targets), None)


@dataclass
class PathPlanner:
    """Measures every planned path of a case; remembers results by their inputs.

    An edit that does not touch a path (its entry, target, the scar, the landmarks or
    the CT) does not recompute it, and the scar masks are decoded once per scar edit. Keep
    one planner per open case (the planning widget does); `measure_paths` uses a fresh one.
    """

    _results: dict[Hashable, TrajectoryMetrics] = field(default_factory=dict)
    _masks: list[tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]] = field(
        default_factory=list
    )
    _masks_key: Hashable = None

    def measure(
        self, case: Case, ct: ImageVolume | None = None, *, skip_unmeasurable: bool = False
    ) -> dict[str, TrajectoryMetrics]:
        """Metrics of every trajectory of ``case``, by target id.

        Parameters
        ----------
        case
            The case: targets, trajectories, landmarks and scar regions.
        ct
            The CT for the bone check (`planning_ct`); None: bone is not checked (each
            path says so).
        skip_unmeasurable
            Leave out a path that cannot be measured instead of raising (for documents
            that must still be written; the path is then shown without metrics).

        Raises
        ------
        PlanningError
            When a path cannot be measured (entry on the target, frames differ) and
            ``skip_unmeasurable`` is False; the message names the problem.
        """
        scar_key = _scar_key(case.scar_regions)
        ct_key = None if ct is None else (ct.series_instance_uid, ct.shape, ct.affine.tobytes())
        results: dict[Hashable, TrajectoryMetrics] = {}
        out: dict[str, TrajectoryMetrics] = {}
        for traj in case.trajectories:
            target = case.target(traj.target_id)
            spared = spared_landmark_ids(target, case.landmarks)
            key = (traj.entry, target.position, spared, scar_key, case.landmarks, ct_key)
            metrics = self._results.get(key)
            if metrics is None:
                try:
                    metrics = evaluate_trajectory(
                        traj.entry,
                        target.position,
                        ct=ct,
                        scar_masks=self._scar_masks(case.scar_regions, scar_key),
                        landmarks=case.landmarks,
                        exclude_landmark_ids=spared,
                    )
                except BlockplanError:
                    if skip_unmeasurable:
                        continue
                    raise
            results[key] = metrics
            out[target.id] = metrics
        self._results = results  # keep only what the current case uses
        return out

    def _scar_masks(
        self, regions: Sequence[ScarRegion], key: Hashable
    ) -> list[tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]]:
        if self._masks_key != key:
            self._masks = [(r.mask(), r.grid.affine_array()) for r in regions]
            self._masks_key = key
        return self._masks


def _scar_key(regions: Sequence[ScarRegion]) -> Hashable:
    return tuple((r.id, hash(r.rle), r.grid) for r in regions)


def measure_paths(
    case: Case, volumes: Iterable[ImageVolume] = (), *, skip_unmeasurable: bool = False
) -> dict[str, TrajectoryMetrics]:
    """Metrics of every planned path of ``case`` by target id, bone checked on its CT.

    The CT is `planning_ct` of ``volumes`` in the targets' frame of reference. A path that
    cannot be measured raises `~blockplan.errors.PlanningError` (or is left out with
    ``skip_unmeasurable``).
    """
    ct = planning_ct(volumes, case_frame(case))
    return PathPlanner().measure(case, ct, skip_unmeasurable=skip_unmeasurable)
