"""napari reader: DICOM files, folders and DICOMDIRs through the blockplan loader.

`get_reader` decides cheaply (a header-only read of at most a few files) and returns
``None`` for anything it cannot read; it never raises.

Each image layer carries the patient and study identity read from one header of its
series (`with_identity`: ``metadata["blockplan_identity"]``), so the workspace can check
that images belong to the open case.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["get_reader", "read_study", "with_identity"]

_PROBE_LIMIT = 64  # files looked at when deciding about a folder


def _looks_like_dicom(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    if len(head) == 132 and head[128:132] == b"DICM":
        return True
    # files without the preamble: try a header-only parse
    try:
        import pydicom

        pydicom.dcmread(path, stop_before_pixels=True, force=False, specific_tags=["SOPClassUID"])
        return True
    except Exception:
        return False


def _has_dicom(path: Path) -> bool:
    if path.is_file():
        return _looks_like_dicom(path)
    if path.is_dir():
        for n, child in enumerate(p for p in path.rglob("*") if p.is_file()):
            if n >= _PROBE_LIMIT:
                break
            if _looks_like_dicom(child):
                return True
    return False


def get_reader(path: str | Sequence[str]) -> Callable[..., list[Any]] | None:
    """Return `read_study` when ``path`` holds DICOM, else ``None``."""
    paths = [path] if isinstance(path, str) else list(path)
    if not paths:
        return None
    try:
        if not all(_has_dicom(Path(p)) for p in paths):
            return None
    except Exception:
        return None
    return read_study


def with_identity(
    layer_data: tuple[Any, dict[str, Any], str], info: Any, source: str | Path | None = None
) -> tuple[Any, dict[str, Any], str]:
    """``layer_data`` with the identity of its series (`study_identity`) in the metadata,
    and the folder it was read from (``"blockplan_source"``: the archive reads its headers).

    One header read; a series whose identity cannot be read gets none (never raises).
    """
    from blockplan.errors import BlockplanError
    from blockplan.io import study_identity
    from napari_blockplan._workspace import IDENTITY_KEY

    data, kwargs, kind = layer_data
    if source is not None:
        kwargs["metadata"]["blockplan_source"] = str(source)
    with contextlib.suppress(BlockplanError, OSError, ValueError):
        kwargs["metadata"][IDENTITY_KEY] = study_identity(info)
    return data, kwargs, kind


def read_study(path: str | Sequence[str]) -> list[Any]:
    """Load every loadable series of the given paths as napari image layers.

    Series that cannot be loaded safely are skipped with a warning naming the series
    and the reason (napari shows it as a notification).
    """
    from blockplan.errors import BlockplanError
    from blockplan.io import discover, load_series
    from napari_blockplan._convert import image_layer_data

    paths = [path] if isinstance(path, str) else list(path)
    layers: list[Any] = []
    refused: list[str] = []
    for p in paths:
        found = discover(Path(p))
        for info in found.series:
            if info.status == "refused":
                refused.append(f"series {info.series_number}: {'; '.join(info.reasons)}")
                continue
            try:
                volume = load_series(info)
            except BlockplanError as err:
                refused.append(str(err))
                continue
            layers.append(with_identity(image_layer_data(volume), info, p))
    # show the first series; the others start hidden so they do not blend over it
    for _data, kwargs, _kind in layers[1:]:
        kwargs["visible"] = False
    for message in refused:
        warnings.warn(f"blockplan: not loaded — {message}", stacklevel=2)
    if not layers:
        raise BlockplanError(
            f"no loadable image series in {', '.join(map(str, paths))}"
            + (f" ({len(refused)} refused: {refused[0]})" if refused else "")
        )
    return layers
