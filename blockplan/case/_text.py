"""Folding of names and titles for comparison and search (no identity leaves this module)."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["fold_person_name", "fold_text", "format_person_name", "search_words", "sex_text"]

_SPACES = re.compile(r"\s+")


def fold_text(text: str) -> str:
    """Text as compared and searched: accents removed, case folded, DICOM ``^`` as space.

    ``"MÜLLER^Hans-Jürgen^^Dr."`` → ``"muller hans-jurgen dr."``. Letters without a
    decomposition (``ø``) keep their case-folded form (``ß`` → ``ss``).
    """
    decomposed = unicodedata.normalize("NFKD", text.replace("^", " "))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", plain.casefold()).strip()


def fold_person_name(dicom_pn: str) -> str:
    """A DICOM person name folded like `fold_text`, from its first non-empty group.

    Of ``alphabetic=ideographic=phonetic`` the alphabetic group counts when present, so
    ``"Yamada^Tarou=山田^太郎"`` and ``"YAMADA^TAROU"`` fold alike.
    """
    groups = [g for g in dicom_pn.split("=") if g.strip(" ^")]
    return fold_text(groups[0]) if groups else ""


def search_words(text: str) -> list[str]:
    """The folded words of a search text (each must match; order does not matter)."""
    return [w for w in fold_text(text).split(" ") if w]


def format_person_name(dicom_pn: str) -> str:
    """DICOM person name ``Family^Given^Middle^Prefix^Suffix`` as ``Family, Given Middle``."""
    if "^" not in dicom_pn:
        return dicom_pn.strip()
    parts = [p.strip() for p in dicom_pn.split("=")[0].split("^")]
    parts += [""] * (5 - len(parts))
    family, given, middle, prefix, suffix = parts[:5]
    first = " ".join(p for p in (prefix, given, middle) if p)
    name = ", ".join(p for p in (family, first) if p)
    return f"{name}, {suffix}" if suffix else name


def sex_text(code: str | None) -> str:
    """A DICOM PatientSex code in words: ``"female"``, ``"male"``, ``"other"``; ``""`` when
    not recorded, the code itself when it is none of the three."""
    if not code:
        return ""
    return {"F": "female", "M": "male", "O": "other"}.get(code.strip().upper(), code)
