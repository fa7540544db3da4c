"""Optional packages: what each extra of the distribution adds, and one way to import them.

The core install stays lean and permissively licensed; heavier or GPL packages come with
extras (``pip install 'blockplan[EXTRA]'``):

``imaging``
    SimpleITK: resampling onto oblique or gantry-tilted grids (key images, SEG) and the
    scar region growing of the planning workspace.
``codecs``
    imagecodecs and python-gdcm: faster JPEG, JPEG-LS and JPEG 2000 decoding (the core
    decodes every common transfer syntax without them, more slowly).
``gpl``
    pylibjpeg-libjpeg (GPL-3): one more JPEG / JPEG-LS decoder; installing it puts the
    combined installation under the GPL.
``napari``
    napari, Qt and magicgui, with ``imaging``: the plugin.
``postgres``
    psycopg: a PostgreSQL case store.
``all``
    Everything above.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from blockplan.errors import MissingExtraError

__all__ = ["EXTRAS", "import_extra"]

EXTRAS: dict[str, str] = {
    "imaging": "SimpleITK: oblique and tilted resampling, scar region growing",
    "codecs": "imagecodecs, python-gdcm: faster JPEG, JPEG-LS and JPEG 2000 decoding",
    "gpl": "pylibjpeg-libjpeg (GPL-3): an extra JPEG / JPEG-LS decoder",
    "napari": "napari, Qt, magicgui and the imaging extra: the napari plugin",
    "postgres": "psycopg: a PostgreSQL case store",
    "all": "every extra above",
}
"""Each extra of the distribution and what it adds (the README shows the same list)."""


def import_extra(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` from the optional ``extra``, or say in one line how to get it.

    Raises
    ------
    MissingExtraError
        ``module`` is not installed; names ``purpose`` and the pip command.
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise MissingExtraError(
            f"{purpose} needs {module}, which is not installed; install it with: "
            f"pip install 'blockplan[{extra}]'"
        ) from err
