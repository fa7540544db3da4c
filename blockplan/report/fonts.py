"""The fonts of the report: DejaVu Sans, found on this machine and embedded in every PDF.

PDF/A requires every font to be embedded, and patient names are not always Latin, so the
report uses DejaVu Sans (Latin, Greek, Cyrillic and more) for all text, including the
first font a reportlab canvas selects. blockplan ships no font files: they are looked up
at run time in ``$BLOCKPLAN_FONT_DIR``, the usual system folders (on Debian and Ubuntu the
package ``fonts-dejavu-core``), and last in matplotlib's bundled fonts (``mpl-data/fonts/ttf``,
found without importing matplotlib), so an installed wheel needs no system font package.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from blockplan.errors import ReportError

__all__ = ["BOLD", "FONT_DIR_ENV", "REGULAR", "FontSet", "find_font", "register_fonts"]

FONT_DIR_ENV = "BLOCKPLAN_FONT_DIR"
"""Environment variable naming an extra folder searched first for the report fonts."""

_SEARCH_DIRS: tuple[str, ...] = (
    "/usr/share/fonts/truetype/dejavu",  # Debian, Ubuntu
    "/usr/share/fonts/dejavu",  # Fedora, Arch
    "/usr/share/fonts/TTF",
    "/usr/share/fonts/truetype",
    "/usr/local/share/fonts",
    "/opt/homebrew/share/fonts",
    "/Library/Fonts",
)

REGULAR = "BlockplanSans"
"""reportlab name of the regular face (DejaVu Sans) once `register_fonts` ran."""
BOLD = "BlockplanSans-Bold"
"""reportlab name of the bold face (DejaVu Sans Bold)."""

_REGULAR = "DejaVuSans.ttf"
_BOLD = "DejaVuSans-Bold.ttf"

_lock = threading.Lock()
_registered: FontSet | None = None


@dataclass(frozen=True, slots=True)
class FontSet:
    """Names under which the report fonts are registered with reportlab.

    Attributes
    ----------
    regular, bold
        reportlab font names (``<b>`` in a paragraph selects ``bold``).
    regular_path, bold_path
        The TrueType files that are embedded.
    """

    regular: str
    bold: str
    regular_path: Path
    bold_path: Path


def _search_dirs() -> list[Path]:
    dirs: list[Path] = []
    extra = os.environ.get(FONT_DIR_ENV)
    if extra:
        dirs.append(Path(extra))
    dirs.extend(Path(d) for d in _SEARCH_DIRS)
    dirs.append(platformdirs.user_data_path() / "fonts")  # $XDG_DATA_HOME/fonts
    dirs.append(Path.home() / ".fonts")
    dirs.extend(_bundled_font_dirs())
    return dirs


def _bundled_font_dirs() -> list[Path]:
    """matplotlib's bundled DejaVu fonts (``mpl-data/fonts/ttf``), located without importing
    matplotlib (a second of start-up); empty when matplotlib is not installed."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return []
    return [Path(p) / "mpl-data" / "fonts" / "ttf" for p in spec.submodule_search_locations]


def find_font(file_name: str) -> Path:
    """Path of a font file in ``$BLOCKPLAN_FONT_DIR`` or a system font folder.

    Parameters
    ----------
    file_name
        File name such as ``"DejaVuSans.ttf"``.

    Returns
    -------
    Path
        The first match.

    Raises
    ------
    ReportError
        When no searched folder holds the file; the message names the font, the folders
        searched and the Debian package that provides it.
    """
    searched = _search_dirs()
    for folder in searched:
        candidate = folder / file_name
        if candidate.is_file():
            return candidate
    # One level deeper (e.g. /usr/local/share/fonts/dejavu/DejaVuSans.ttf).
    for folder in searched:
        if folder.is_dir():
            for candidate in sorted(folder.glob(f"*/{file_name}")):
                if candidate.is_file():
                    return candidate
    raise ReportError(
        f"font {file_name} (DejaVu Sans) not found in {', '.join(str(d) for d in searched)}; "
        "the report embeds it so that every name renders: install the Debian package "
        f"fonts-dejavu-core (apt-get install fonts-dejavu-core), or matplotlib, or set "
        f"{FONT_DIR_ENV} to a folder that holds it"
    )


def register_fonts() -> FontSet:
    """Register DejaVu Sans (regular and bold) with reportlab, once per process.

    Returns
    -------
    FontSet
        The registered names and files.

    Raises
    ------
    ReportError
        When a font file is missing or cannot be read as TrueType.
    """
    global _registered
    with _lock:
        if _registered is not None:
            return _registered
        from reportlab.lib.fonts import addMapping
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFError, TTFont

        regular_path = find_font(_REGULAR)
        bold_path = find_font(_BOLD)
        names = (REGULAR, BOLD)
        try:
            pdfmetrics.registerFont(TTFont(names[0], str(regular_path)))
            pdfmetrics.registerFont(TTFont(names[1], str(bold_path)))
        except (TTFError, OSError) as err:
            raise ReportError(
                f"font file {regular_path} or {bold_path} cannot be read as TrueType ({err}); "
                "reinstall the Debian package fonts-dejavu-core"
            ) from err
        # No italic face in fonts-dejavu-core: italic maps to the upright faces.
        addMapping(names[0], 0, 0, names[0])
        addMapping(names[0], 1, 0, names[1])
        addMapping(names[0], 0, 1, names[0])
        addMapping(names[0], 1, 1, names[1])
        _registered = FontSet(names[0], names[1], regular_path, bold_path)
        return _registered
