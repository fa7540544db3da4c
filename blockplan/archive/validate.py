"""Validate DICOM objects against their IOD with dciodvfy (David Clunie's dicom3tools).

``dciodvfy`` (Debian package ``dicom3tools``) prints one line per finding, starting
``Error -`` or ``Warning -``. Errors mean the object breaks its IOD; warnings include
expected ones such as the private coding scheme ``99BLOCKPLAN`` being unknown to it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

from pydicom.dataset import Dataset

from blockplan.archive._common import dataset_bytes
from blockplan.errors import ArchiveError

__all__ = ["Validation", "dciodvfy_path", "validate_dataset", "validate_file"]


@dataclass(frozen=True, slots=True)
class Validation:
    """Findings of dciodvfy for one object.

    Attributes
    ----------
    iod
        The IOD dciodvfy recognised (e.g. ``"Segmentation"``), or ``""``.
    errors, warnings
        The ``Error -`` and ``Warning -`` lines, without the prefix.
    """

    iod: str
    errors: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """No errors (warnings allowed)."""
        return not self.errors


def dciodvfy_path() -> str | None:
    """Where ``dciodvfy`` is, or None when dicom3tools is not installed."""
    return shutil.which("dciodvfy")


def validate_file(path: str | os.PathLike[str], *, timeout: float = 60.0) -> Validation:
    """Run dciodvfy on a DICOM file.

    Raises
    ------
    ArchiveError
        When dciodvfy is not installed (``apt-get install dicom3tools``) or fails to run.
    """
    exe = dciodvfy_path()
    if exe is None:
        raise ArchiveError(
            "dciodvfy is not installed; install dicom3tools (apt-get install dicom3tools) "
            "to validate DICOM objects"
        )
    try:
        proc = subprocess.run(
            [exe, os.fspath(path)], capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise ArchiveError(f"{os.fspath(path)}: dciodvfy did not run ({err})") from err
    errors: list[str] = []
    warnings: list[str] = []
    iod = ""
    for line in (proc.stdout + proc.stderr).splitlines():
        line = line.strip()
        if line.startswith("Error"):
            errors.append(line.partition("-")[2].strip() or line)
        elif line.startswith("Warning"):
            warnings.append(line.partition("-")[2].strip() or line)
        elif line.startswith("Abort"):
            errors.append(line)
        elif line and " " not in line and not iod:
            iod = line
    return Validation(iod=iod, errors=tuple(errors), warnings=tuple(warnings))


def validate_dataset(ds: Dataset) -> Validation:
    """Write ``ds`` to a temporary file (mode 0600) and run dciodvfy on it."""
    fd, name = tempfile.mkstemp(suffix=".dcm")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(dataset_bytes(ds))
        return validate_file(name)
    finally:
        os.unlink(name)
