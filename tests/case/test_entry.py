"""Steroid and sedation entries typed by the physician."""

from __future__ import annotations

import pytest

from blockplan.case.entry import is_particulate, sedation_from_text, steroid_from_text


@pytest.mark.parametrize(
    ("text", "name", "dose", "particulate"),
    [
        ("dexamethasone 4 mg", "dexamethasone", 4.0, False),
        ("triamcinolone acetonide 40 mg", "triamcinolone acetonide", 40.0, True),
        ("Methylprednisolone 80mg", "Methylprednisolone", 80.0, True),
        ("betamethasone 6 mg", "betamethasone", 6.0, True),
        ("betamethasone sodium phosphate 6 mg", "betamethasone sodium phosphate", 6.0, False),
        ("dexamethasone", "dexamethasone", 0.0, False),
    ],
)
def test_steroid_entries(text: str, name: str, dose: float, particulate: bool) -> None:
    steroid = steroid_from_text(text)
    assert steroid is not None
    assert (steroid.name, steroid.dose_mg, steroid.particulate) == (name, dose, particulate)
    assert is_particulate(name) is particulate


@pytest.mark.parametrize("text", ["", "none", " None ", "-"])
def test_no_steroid_and_no_sedation(text: str) -> None:
    assert steroid_from_text(text) is None
    assert sedation_from_text(text) is None


def test_a_dose_that_is_not_mg_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="expected a number of mg"):
        steroid_from_text("dexamethasone 4 ml")


def test_sedation_entry() -> None:
    sedation = sedation_from_text("midazolam 2 mg IV")
    assert sedation is not None and (sedation.drug, sedation.dose) == ("midazolam", "2 mg IV")


def test_form_limits_come_from_the_model() -> None:
    from blockplan.case.limits import NRS_LIMITS, TYPICAL_VOLUME_ML, field_limits
    from blockplan.case.model import Injection
    from blockplan.case.vocab import BlockType

    assert NRS_LIMITS == (0, 10)
    assert field_limits(Injection, "branches") == (1.0, 4.0)
    assert field_limits(Injection, "concentration_pct") == (0.0, 10.0)
    assert set(TYPICAL_VOLUME_ML) == set(BlockType)
    assert TYPICAL_VOLUME_ML[BlockType.MEDIAL_BRANCH] == 0.5  # at the ≤ 0.5 mL/branch cap
