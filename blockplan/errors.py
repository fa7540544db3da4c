"""Exceptions and warnings raised by blockplan.

Every message says what failed, where (file, series number or UID, field), what was
expected and what was found, and what to do next. Messages never contain
patient-identifying values (names, IDs, birth dates): refer to series by number or UID
and to files by path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from blockplan.case.identity import IdentityComparison

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_PACS_UNAVAILABLE",
    "ArchiveError",
    "ArchiveRefusedError",
    "BlockplanError",
    "BlockplanWarning",
    "CaseConflictError",
    "CaseError",
    "CaseFileError",
    "CaseNotFoundError",
    "DicomInputError",
    "DicomReadWarning",
    "GeometryError",
    "GeometryWarning",
    "MissingExtraError",
    "PacsError",
    "PacsUnavailableError",
    "PatientMismatchError",
    "PlanningError",
    "ProfileError",
    "ReportError",
    "SeriesRefusedError",
    "SettingsError",
]


class BlockplanError(Exception):
    """Base class of every error blockplan raises on purpose."""


class BlockplanWarning(UserWarning):
    """Base class of every warning blockplan emits."""


# --- input DICOM ---------------------------------------------------------------------
class DicomInputError(BlockplanError):
    """An input file, folder or DICOMDIR cannot be read as DICOM images."""


class SeriesRefusedError(DicomInputError):
    """A series was found but cannot be loaded as a volume without risking wrong geometry."""


class GeometryError(BlockplanError):
    """Positions, orientations or spacings are inconsistent or cannot be computed."""


class DicomReadWarning(BlockplanWarning):
    """A file or attribute deviates from the standard but could be read."""


class GeometryWarning(BlockplanWarning):
    """Geometry was corrected or resampled; the message says how."""


# --- case ----------------------------------------------------------------------------
class CaseError(BlockplanError):
    """A case cannot be built, stored or loaded."""


class CaseFileError(CaseError):
    """A case file is malformed, tampered with, or of an unknown schema version."""


class CaseConflictError(CaseError):
    """Another session saved the case since it was loaded; nothing was overwritten."""


class CaseNotFoundError(CaseError):
    """No case with the given id exists in the store."""


class PatientMismatchError(CaseError):
    """Images belong to another patient or study than the open case.

    The message names the study by StudyInstanceUID, the case by its id and the fields
    that differ — never a name or an id, so it may be logged. ``comparison`` holds both
    identities side by side (`blockplan.case.identity.IdentityComparison`) for a dialog
    that is shown to the clinician and never logged.
    """

    def __init__(self, message: str, comparison: IdentityComparison | None = None) -> None:
        super().__init__(message)
        self.comparison = comparison


# --- settings ------------------------------------------------------------------------
class SettingsError(BlockplanError):
    """The clinician settings are missing a value, invalid, or cannot be read or written."""


class MissingExtraError(BlockplanError):
    """A feature needs a package of an optional extra that is not installed (the message
    names the ``pip install 'blockplan[EXTRA]'`` that adds it)."""


# --- clinical rules, planning, output ------------------------------------------------
class ProfileError(BlockplanError):
    """An adjudication profile file is missing or invalid."""


class PlanningError(BlockplanError):
    """A planning computation (levels, scar, trajectory) cannot be done with the given data."""


class ReportError(BlockplanError):
    """The report cannot be built or written."""


class ArchiveError(BlockplanError):
    """A DICOM object cannot be built, written or validated."""


class ArchiveRefusedError(ArchiveError):
    """An archive or export was refused to protect what the folder already holds (another
    archive or export, part of one, or another folder): nothing failed and nothing was
    written. ``verb`` is what was not done ("archived" or "exported")."""

    def __init__(self, message: str, verb: str = "archived") -> None:
        super().__init__(message)
        self.verb = verb


class PacsError(ArchiveError):
    """A PACS refused or could not be reached; the objects stay in the outbox."""


class PacsUnavailableError(PacsError):
    """The PACS could not be reached, or refused or did not confirm storage for now.

    Retrying later may succeed (the CLI exits with status 3, `EXIT_PACS_UNAVAILABLE`, so
    a scheduler can retry); the objects stay in the outbox.
    """


EXIT_BAD_INPUT = 2
"""CLI exit status of a `BlockplanError` other than `PacsUnavailableError`."""

EXIT_PACS_UNAVAILABLE = 3
"""CLI exit status of a `PacsUnavailableError`: retry later (`blockplan archive --retry`)."""
