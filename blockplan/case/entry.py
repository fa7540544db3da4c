"""Turning what a physician types into case values: steroid and sedation entries.

A form field "dexamethasone 4 mg" becomes a `Steroid`; whether a steroid is
**particulate** is decided here, once: methylprednisolone acetate, triamcinolone
acetonide and betamethasone acetate suspensions are particulate; dexamethasone sodium
phosphate is not (Rathmell et al., Anesthesiology 2015;122:974–84, multisociety safeguards
for epidural steroid injections; FDA Drug Safety Communication, 2014). A soluble
betamethasone sodium phosphate alone is not particulate: type "betamethasone phosphate".

Decision support, not a medical device.
"""

from __future__ import annotations

import re

from blockplan.case.model import Sedation, Steroid

__all__ = ["PARTICULATE_STEROIDS", "is_particulate", "sedation_from_text", "steroid_from_text"]

PARTICULATE_STEROIDS: tuple[str, ...] = ("methylprednisolone", "triamcinolone", "betamethasone")
"""Steroid names whose depot preparations are particulate suspensions."""

_SOLUBLE_FORMS = ("phosphate", "succinate")
_NONE = {"", "none", "no", "-", "–"}


def is_particulate(name: str) -> bool:
    """True when the steroid named (e.g. ``"triamcinolone acetonide"``) is particulate."""
    words = name.lower()
    if any(form in words for form in _SOLUBLE_FORMS) and "acetate" not in words:
        return False
    return any(steroid in words for steroid in PARTICULATE_STEROIDS)


def _split_dose(text: str) -> tuple[str, str]:
    """``"triamcinolone acetonide 40 mg"`` → (``"triamcinolone acetonide"``, ``"40 mg"``)."""
    match = re.search(r"\s(\d[\d.,]*\s*\S*)\s*$", text)
    if match is None:
        return text.strip(), ""
    return text[: match.start()].strip(), match.group(1).strip()


def steroid_from_text(text: str) -> Steroid | None:
    """A steroid from ``"name dose"`` (``"dexamethasone 4 mg"``); None for empty/"none".

    Raises
    ------
    ValueError
        When the dose is not a number of mg (the message says what was found).
    """
    if text.strip().lower() in _NONE:
        return None
    name, dose = _split_dose(text)
    number = dose.lower().replace("mg", "").replace(",", ".").strip()
    try:
        dose_mg = float(number) if number else 0.0
    except ValueError as err:
        raise ValueError(
            f"steroid dose {dose!r}: expected a number of mg, e.g. 'dexamethasone 4 mg'"
        ) from err
    return Steroid(name=name, dose_mg=dose_mg, particulate=is_particulate(name))


def sedation_from_text(text: str) -> Sedation | None:
    """A sedation entry from ``"drug dose"`` (``"midazolam 2 mg IV"``); None for "none"."""
    if text.strip().lower() in _NONE:
        return None
    drug, _, dose = text.strip().partition(" ")
    return Sedation(drug=drug, dose=dose.strip())
