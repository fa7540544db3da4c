"""Where the synthetic sample study is on this machine.

A source checkout ships it in ``sample_dicom/``; an installed wheel does not, so the
study is generated once (deterministically, from the default seed) into the user's
cache folder, keyed by the phantom version so a changed phantom is regenerated.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

__all__ = ["sample_study_path"]


def _checkout_copy() -> Path | None:
    candidate = Path(__file__).resolve().parents[2] / "sample_dicom"
    return candidate if (candidate / "truth.json").is_file() else None


def sample_study_path(progress: Callable[[int, int, str], None] | None = None) -> Path:
    """Folder of the synthetic study (``$BLOCKPLAN_SAMPLE_DIR``, checkout, or cache).

    The cache is blockplan's user cache folder (platformdirs; on Linux
    ``$XDG_CACHE_HOME/blockplan``, ``~/.cache/blockplan`` by default). ``progress``
    follows the generation when it has to be generated (`generate_sample_study`).
    """
    override = os.environ.get("BLOCKPLAN_SAMPLE_DIR")
    if override:
        return Path(override)
    found = _checkout_copy()
    if found is not None:
        return found
    from blockplan._paths import user_cache_dir
    from blockplan.sample import DEFAULT_SEED, generate_sample_study
    from blockplan.sample.writer import PHANTOM_VERSION

    target = user_cache_dir() / f"sample_dicom-phantom{PHANTOM_VERSION}"
    if not (target / "truth.json").is_file():
        generate_sample_study(target, seed=DEFAULT_SEED, progress=progress)
    return target
