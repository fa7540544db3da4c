"""Level proposal on a sagittal MR (issue 19 point 2): the sample T2 and synthetic variants.

The rule under test, as on CT: every proposed body centre lies inside the true body and
within 5 mm of its centre along the spine, with the right label; where unsure, nothing is
proposed and a reason says why. On MR the count rests on the sacrum alone.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from blockplan.io.volume import ImageVolume
from blockplan.planning.level_proposal import LevelProposal, propose_levels
from blockplan.planning.level_proposal_mr import MR_CONFIDENCE, SACRUM_ALONE
from tests.planning._level_phantom import Truth, Variant
from tests.planning._level_phantom_mr import MRVariant, build_mr

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"
LUMBAR = ("T12", "T12-L1", "L1", "L1-L2", "L2", "L2-L3", "L3", "L3-L4", "L4", "L4-L5", "L5")
FULL = (*LUMBAR, "L5-S1", "S1")


@cache
def _run(variant: MRVariant) -> tuple[LevelProposal, Truth]:
    volume, truth = build_mr(variant)
    return propose_levels(volume), truth


def _labels(p: LevelProposal) -> tuple[str, ...]:
    return tuple(lv.label for lv in p.levels)


def _assert_right_places(p: LevelProposal, truth: Truth) -> None:
    for lv in p.levels:
        centre = np.asarray(lv.centre_lps)
        if lv.is_disc:
            assert np.linalg.norm(centre - truth.centres[lv.label]) <= 10.0, lv
        else:
            assert truth.inside_body(lv.label, centre), lv
            assert truth.along_spine_mm(lv.label, centre) <= 5.0, lv


def _anatomy(**changes: object) -> Variant:
    return Variant(**{"top": ("T11", 0.0), **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("variant", "csf"),
    [
        (MRVariant(anatomy=_anatomy(dark_discs=("L4-L5",))), "bright: T2-weighted"),
        (MRVariant(contrast="T1", orientation="SAG-FF", slice_mm=3.0, slices=21), "dark"),
        (MRVariant(contrast="T1", orientation="SAG-T", slice_mm=5.0, slices=13, seed=3), "dark"),
    ],
    ids=["T2-degenerated-L4-L5-disc", "T1-rows-feet-to-head-3mm", "T1-rows-along-y-5mm"],
)
def test_every_level_from_t12_to_s1_counted_from_the_sacrum(variant: MRVariant, csf: str) -> None:
    p, truth = _run(variant)
    assert _labels(p) == FULL
    _assert_right_places(p, truth)
    assert {lv.confidence for lv in p.levels} == {MR_CONFIDENCE}
    assert all("the count rests on the sacrum alone" in lv.reasons[0] for lv in p.levels)
    assert p.reasons[0].startswith("MR: the spinal canal followed on the sagittal slice")
    assert f"(CSF {csf}" in p.reasons[0]
    assert p.reasons[1].startswith("sacrum found below the disc at (")
    assert "S1 and S2 fused" in p.reasons[1] and SACRUM_ALONE in p.reasons
    assert "5 free lumbar vertebrae named above the sacrum" in p.reasons
    assert p.sacrum_count is None and p.rib_count is None
    assert p.withheld == ("T11: not proposed — the body is cut by the end of the scan",)


def test_study_cropped_to_start_at_l3_slices_right_to_left() -> None:
    p, truth = _run(MRVariant(anatomy=Variant(top=("L3", 10.0)), orientation="SAG-RL"))
    assert _labels(p) == ("L4", "L4-L5", "L5", "L5-S1", "S1")
    _assert_right_places(p, truth)
    assert any("L3: not proposed" in w and "end of the scan" in w for w in p.withheld)


def test_a_transitional_l6_cannot_be_told_on_mr_and_the_reasons_say_so() -> None:
    """Known limit: without the ribs the lowest free vertebra is counted as L5. The true
    L6 gets the name L5, and every reason says the count rests on the sacrum alone and
    that a transitional vertebra would shift every name (the CT's count, through the
    wrong-level guard, is what catches it)."""
    p, truth = _run(MRVariant(anatomy=_anatomy(lumbar=6)))
    bodies = [lv for lv in p.levels if not lv.is_disc]
    assert bodies[-1].label == "S1" and bodies[-2].label == "L5"
    assert truth.inside_body("L6", np.asarray(bodies[-2].centre_lps))
    assert any("transitional vertebra (L6, sacralised L5)" in r for r in p.reasons)
    assert {lv.confidence for lv in p.levels} == {MR_CONFIDENCE}


def test_a_sacralised_l5_whose_thin_disc_is_faint_is_never_named_wrongly() -> None:
    """At 5 mm slices the sacralised L5's thin L5-S1 disc does not reach a disc's contrast:
    counted through, every name would be one level off; the faint band says so instead."""
    anatomy = _anatomy(sacralised_l5=True, dark_discs=("L4-L5",), seed=17)
    p, _truth = _run(MRVariant(anatomy=anatomy, slice_mm=5.0, slices=13, noise=0.05, seed=17))
    assert p.levels == ()
    (why,) = [r for r in p.reasons if r.startswith("a faint disc-like band")]
    assert "mm below the top of the sacrum (the thin L5-S1 disc of a sacralised L5" in why
    below = float(why.split(" band ")[1].split(" mm")[0])
    assert 20.0 <= below <= 32.0  # one L5 body (26 mm) below the top of the fused block


def test_a_scan_ending_above_the_sacrum_proposes_nothing_and_says_why() -> None:
    p, _truth = _run(MRVariant(anatomy=Variant(bottom=("L4", -5.0))))
    assert p.levels == ()
    assert any(r.startswith("no sacrum found") for r in p.reasons)
    assert "the scan seems to end above the sacrum" in " ".join(p.reasons)


def test_a_series_too_noisy_proposes_nothing_and_says_why() -> None:
    p, _truth = _run(MRVariant(noise=1.2))
    assert p.levels == ()
    assert len(p.reasons) == 1 and p.reasons[0].startswith("series 3: ")
    assert "too noisy" in p.reasons[0]


# --- stacks that do not show the column ------------------------------------------------
def _mr(array: np.ndarray, normal: tuple[float, float, float]) -> ImageVolume:
    aff = np.eye(4)
    n = np.asarray(normal, dtype=np.float64)
    row = np.array([0.0, 1.0, 0.0]) if abs(n[1]) < 0.9 else np.array([1.0, 0.0, 0.0])
    row -= (row @ n) * n
    row /= np.linalg.norm(row)
    aff[:3, 0], aff[:3, 1], aff[:3, 2] = row, np.cross(n, row), 4.0 * n
    return ImageVolume(
        array=array.astype(np.float32),
        affine=aff,
        frame_of_reference_uid="1.2.3",
        modality="MR",
        series_instance_uid="1.2.3.4",
        series_number=8,
    )


@pytest.mark.parametrize(
    ("normal", "says"),
    [
        ((0.0, 0.0, 1.0), "an axial MR stack does not show the column; choose the sagittal"),
        ((0.0, 1.0, 0.0), "a coronal MR stack does not show the column's discs"),
        ((math.sqrt(0.5), 0.0, math.sqrt(0.5)), "an oblique MR stack (more than 25° from"),
    ],
    ids=["axial", "coronal", "oblique"],
)
def test_a_stack_that_is_not_sagittal_is_refused_with_a_reason(
    normal: tuple[float, float, float], says: str
) -> None:
    p = propose_levels(_mr(np.ones((10, 20, 20)), normal))
    assert p.levels == () and p.reasons[0].startswith(f"series 8: {says}")


def test_a_sagittal_stack_without_a_column_proposes_nothing_and_says_why() -> None:
    rng = np.random.default_rng(5)
    smooth = np.full((9, 120, 120), 300.0) + rng.normal(0.0, 3.0, (9, 120, 120))
    p = propose_levels(_mr(smooth, (1.0, 0.0, 0.0)))
    assert p.levels == () and len(p.reasons) == 1
    assert "canal" in p.reasons[0] or "column" in p.reasons[0]


# --- the sample study's sagittal T2 ------------------------------------------------------
def test_sample_sagittal_t2_levels_at_their_true_centres() -> None:
    from blockplan.io import discover, load_series

    if not (SAMPLE / "truth.json").is_file():
        pytest.skip("sample_dicom/ not generated")
    (info,) = [s for s in discover(SAMPLE).series if s.series_number == 3]
    p = propose_levels(load_series(info))
    truth = json.loads((SAMPLE / "truth.json").read_text(encoding="utf-8"))
    bodies = [lv.label for lv in p.levels if not lv.is_disc]
    assert bodies[-3:] == ["L4", "L5", "S1"] and len(bodies) >= 5  # L4-L5 disc degenerated
    assert "CSF bright: T2-weighted" in p.reasons[0]
    for lv in p.levels:
        part = truth["discs" if lv.is_disc else "vertebrae"][lv.label]
        axis = np.asarray(part["normal" if lv.is_disc else "superior_axis"])
        d = np.asarray(lv.centre_lps) - np.asarray(part["center_lps"])
        along = float(d @ axis)
        assert abs(along) <= 5.0, lv
        if not lv.is_disc:
            radial = d - along * axis
            lateral, ap = radial[0], math.hypot(radial[1], radial[2])
            w, dp = part["body_width_mm"], part["body_depth_mm"]
            assert (lateral / (w / 2)) ** 2 + (ap / (dp / 2)) ** 2 <= 1.0, lv
    assert p.series_number == 3


def test_the_same_anatomy_as_an_axial_mr_stack_is_refused() -> None:
    volume, _truth = build_mr(MRVariant(orientation="AX"))
    p = propose_levels(volume)
    assert p.levels == ()
    assert p.reasons == (
        "series 3: an axial MR stack does not show the column; choose the sagittal series",
    )
