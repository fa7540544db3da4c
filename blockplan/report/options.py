"""Settings of a report: clinic, author, date, identifiers and image sizes."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from blockplan.case.model import Case

if TYPE_CHECKING:
    from blockplan.settings import Settings

__all__ = ["ReportOptions", "derive_report_id"]


@dataclass(frozen=True, slots=True)
class ReportOptions:
    """How to build a report.

    Attributes
    ----------
    clinic_name
        Printed at the top of the first page and in the running header.
    clinic_address
        Lines under the clinic name (``"\\n"`` separates lines).
    clinic_logo
        Logo image (a path or the bytes of a PNG/JPEG file), drawn at most 45 × 18 mm.
    author
        Physician responsible for the report (header, signature block, PDF author).
    title
        Document title.
    created_at
        Date and time of the report (time-zone aware). Default: now (UTC). Fix it to
        get byte-identical PDFs from the same case.
    report_id
        Report identifier; default derived from the case id, profile and date
        (`derive_report_id`).
    profile
        Adjudication profile used when no ledger is given (default: the case's profile).
    page_size
        ``"A4"`` or ``"letter"``.
    key_image_pixels
        Width of an axial key image in pixels.
    max_key_images
        At most this many axial key images (one per target, in target order).
    include_sagittal
        Include the sagittal overview with level labels.
    fluoro_previews
        Beside each planned target's axial key image, its bull's-eye and progression C-arm
        previews (DRRs from the CT; `blockplan.fluoro`).
    fluoro_pixels
        Detector size of those previews in pixels (the field stays 307 mm).
    language
        Language tag of the text (PDF ``/Lang``).
    payer_profiles
        Payer profiles (names or paths, e.g. ``"cms-lcd-l38773-facet"``) whose
        documentation checklist the report adds (decision support — not a coverage
        decision); empty: no checklist.
    """

    clinic_name: str = ""
    clinic_address: str = ""
    clinic_logo: Path | bytes | None = None
    author: str = ""
    title: str = "Diagnostic spine block report"
    created_at: dt.datetime | None = None
    report_id: str | None = None
    profile: str | None = None
    page_size: Literal["A4", "letter"] = "A4"
    key_image_pixels: int = 320
    max_key_images: int = 24
    include_sagittal: bool = True
    fluoro_previews: bool = True
    fluoro_pixels: int = 256
    language: str = "en"
    payer_profiles: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **overrides: Any) -> ReportOptions:
        """Options whose clinic and author come from the clinician settings.

        Parameters
        ----------
        settings
            `blockplan.settings.Settings`; default: the saved settings (`load_settings`).
        **overrides
            Any field of `ReportOptions`; an empty ``author``, ``clinic_name`` or
            ``clinic_address`` falls back to the settings.

        Notes
        -----
        The author is the configured clinician — never the operating-system login. With
        no clinician configured it stays empty (the signature block is then blank).
        """
        from blockplan.settings import load_settings

        current = settings if settings is not None else load_settings()
        defaults = {
            "author": current.clinician_name,
            "clinic_name": current.clinic_name,
            "clinic_address": current.clinic_address,
        }
        for key, value in defaults.items():
            if not overrides.get(key):
                overrides[key] = value
        return cls(**overrides)


def derive_report_id(case: Case, profile_label: str, created_at: dt.datetime) -> str:
    """A report id from the case id, profile and creation date: ``BPR-YYYYMMDD-XXXXXXXX``.

    The same case, profile and date give the same id; it holds no patient identifier.
    """
    digest = hashlib.sha256(
        f"{case.case_id}|{profile_label}|{created_at.isoformat()}".encode()
    ).hexdigest()
    return f"BPR-{created_at.strftime('%Y%m%d')}-{digest[:8].upper()}"
