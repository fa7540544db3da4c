"""Automatic level proposal on CT (issue 19): the sample study and synthetic variants.

The rule under test: every proposed body centre lies inside the true body and within
5 mm of its centre along the spine, with the right label; where unsure, nothing is
proposed and a reason says why — never a wrong label.
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
from tests.planning._level_phantom import Truth, Variant, build

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"
ALL = ("T12", "L1", "L2", "L3", "L4", "L5", "S1")
DISCS = ("T12-L1", "L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1")


@cache
def _run(variant: Variant) -> tuple[LevelProposal, Truth]:
    volume, truth = build(variant)
    return propose_levels(volume), truth


def _labels(p: LevelProposal) -> tuple[str, ...]:
    return tuple(lv.label for lv in p.levels)


def _assert_right_places(p: LevelProposal, truth: Truth) -> None:
    """Bodies inside the true body and ≤ 5 mm along the spine; discs ≤ 10 mm from theirs
    (a disc is 9 mm tall and 32 mm deep: still inside it)."""
    for lv in p.levels:
        centre = np.asarray(lv.centre_lps)
        if lv.is_disc:
            assert np.linalg.norm(centre - truth.centres[lv.label]) <= 10.0, lv
        else:
            assert truth.inside_body(lv.label, centre), lv
            assert truth.along_spine_mm(lv.label, centre) <= 5.0, lv


# --- the sample study ------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample_ct() -> ImageVolume:
    from blockplan.io import discover, load_series

    if not (SAMPLE / "truth.json").is_file():
        pytest.skip("sample_dicom/ not generated")
    (info,) = [s for s in discover(SAMPLE).series if s.series_number == 2]
    return load_series(info)


def test_sample_study_every_level_from_t12_to_s1_at_its_true_centre(
    sample_ct: ImageVolume,
) -> None:
    truth = json.loads((SAMPLE / "truth.json").read_text(encoding="utf-8"))
    p = propose_levels(sample_ct)
    assert [lv.label for lv in p.levels if not lv.is_disc] == list(ALL)
    assert [lv.label for lv in p.levels if lv.is_disc] == list(DISCS)
    assert p.sacrum_count == p.rib_count == "T12" and not p.counts_disagree
    assert any("agree" in r for r in p.reasons)
    for lv in p.levels:
        part = truth["discs" if lv.is_disc else "vertebrae"][lv.label]
        axis = np.asarray(part["normal" if lv.is_disc else "superior_axis"])
        d = np.asarray(lv.centre_lps) - np.asarray(part["center_lps"])
        along = float(d @ axis)
        assert abs(along) <= (3.0 if lv.is_disc else 5.0), lv
        if not lv.is_disc:  # inside the body: within its height and its elliptic section
            radial = d - along * axis
            lateral, ap = radial[0], math.hypot(radial[1], radial[2])
            w, dp = part["body_width_mm"], part["body_depth_mm"]
            assert (lateral / (w / 2)) ** 2 + (ap / (dp / 2)) ** 2 <= 1.0, lv
            assert abs(along) <= part["body_height_mm"] / 2
        assert lv.confidence == pytest.approx(0.95)
        assert lv.reasons and "sacrum and the lowest ribs" in lv.reasons[0]
    assert p.series_number == 2 and p.frame_of_reference_uid == sample_ct.frame_of_reference_uid


# --- synthetic variants --------------------------------------------------------------
FULL = ALL + DISCS


@pytest.mark.parametrize(
    "variant",
    [
        Variant(),
        Variant(orientation="FFS"),
        Variant(orientation="HFP"),
        Variant(orientation="SAG"),
        Variant(slice_mm=3.0, seed=3),
        Variant(contrast_kidneys=True, seed=4),
    ],
    ids=[
        "supine-head-first",
        "feet-first",
        "prone",
        "sagittal-reformat",
        "3mm-slices",
        "contrast-in-the-renal-pelves",  # bright, lateral, small: not taken for ribs on L1-L2
    ],
)
def test_both_anchors_agree_and_every_level_is_proposed(variant: Variant) -> None:
    p, truth = _run(variant)
    assert sorted(_labels(p)) == sorted(FULL)
    assert p.sacrum_count == p.rib_count == "T12"
    assert {lv.confidence for lv in p.levels} == {0.95}
    _assert_right_places(p, truth)
    assert any(r.startswith("sacrum found below the disc at (") for r in p.reasons)
    assert any("5 free lumbar vertebrae" in r for r in p.reasons)


def test_scan_starting_at_l3_counts_from_the_sacrum_alone() -> None:
    p, truth = _run(Variant(top=("L3", 10.0)))
    assert _labels(p) == ("L4", "L4-L5", "L5", "L5-S1", "S1")
    assert p.rib_count is None and p.sacrum_count is None
    assert {lv.confidence for lv in p.levels} == {0.75}
    assert any("no ribs in view" in r for r in p.reasons)
    assert any("L3: not proposed" in w and "end of the scan" in w for w in p.withheld)
    _assert_right_places(p, truth)


def test_scan_ending_at_l4_counts_down_from_the_lowest_ribs() -> None:
    p, truth = _run(Variant(bottom=("L4", -5.0)))
    assert _labels(p) == ("T12", "T12-L1", "L1", "L1-L2", "L2", "L2-L3", "L3")
    assert {lv.confidence for lv in p.levels} == {0.65}
    assert any("scan seems to end above the sacrum" in r for r in p.reasons)
    assert any("counted as T12" in r for r in p.reasons)
    _assert_right_places(p, truth)


def test_pedicle_screws_and_rods_hide_a_disc_and_nothing_is_counted_through_it() -> None:
    p, truth = _run(Variant(metal=True))
    _assert_right_places(p, truth)  # never a wrong label
    assert {"T12", "L1", "L2", "L3", "S1"} <= set(_labels(p))
    assert "L4" not in _labels(p) and "L4-L5" not in _labels(p)
    assert any("metal (screws or rods)" in r for r in p.reasons)
    assert any("not proposed — metal (screws or rods) in it" in w for w in p.withheld)


@pytest.mark.parametrize(
    ("variant", "sacrum_says"),
    [
        (Variant(lumbar=6), "T11"),
        (Variant(rib_levels=("T10", "T11")), "T11"),
        (Variant(rib_levels=("T10", "T11", "T12", "L1")), "L1"),
    ],
    ids=["transitional-L6", "11-rib-pairs", "13-rib-pairs"],
)
def test_counts_that_disagree_label_nothing_and_state_both(
    variant: Variant, sacrum_says: str
) -> None:
    p, _truth = _run(variant)
    assert p.levels == ()
    assert p.counts_disagree
    assert (p.sacrum_count, p.rib_count) == (sacrum_says, "T12")
    text = " ".join(p.reasons)
    assert f"from the sacrum the lowest rib-bearing vertebra is {sacrum_says}" in text
    assert "from the ribs it is T12" in text and "transitional anatomy" in text


def test_a_scan_ending_in_the_ribs_does_not_take_its_lowest_ribs_for_t12() -> None:
    p, _truth = _run(Variant(top=("T10", 0.0), bottom=("T12", -4.0)))
    assert p.levels == () and p.rib_count is None
    assert any("the lowest ribs may lie beyond the scan and were not used" in r for r in p.reasons)


def test_sacralised_l5_is_never_named_wrongly() -> None:
    p, truth = _run(Variant(sacralised_l5=True))
    _assert_right_places(p, truth)
    # the thin L5-S1 disc between the fused wings is not seen at 2 mm: the sacrum count
    # is one short and the ribs catch it
    assert p.levels == () and (p.sacrum_count, p.rib_count) == ("L1", "T12")


# --- nothing to propose ----------------------------------------------------------------
def _volume(
    array: np.ndarray, affine: np.ndarray | None = None, modality: str = "CT"
) -> ImageVolume:
    return ImageVolume(
        array=array.astype(np.float32),
        affine=np.diag([2.0, 2.0, 2.0, 1.0]) if affine is None else affine,
        frame_of_reference_uid="1.2.3",
        modality=modality,
        series_instance_uid="1.2.3.4",
        series_number=7,
    )


def test_neither_ct_nor_mr_gives_an_empty_proposal_and_says_why() -> None:
    # issue 19 point 2: MR is proposed on too (tests/planning/test_level_proposal_mr.py)
    p = propose_levels(_volume(np.zeros((20, 20, 20)), modality="PT"))
    assert p.levels == ()
    assert p.reasons == (
        "series 7: modality PT, expected CT or MR — levels are proposed on CT (the anchors, "
        "the sacrum's alae and the lowest ribs, are measured on bone) or on a sagittal MR "
        "(from the sacrum alone); open one of those or mark the levels by hand",
    )


def test_oblique_series_is_refused_with_a_reason() -> None:
    t = math.radians(40.0)
    aff = np.eye(4)
    aff[:3, :3] = [[math.cos(t), 0, math.sin(t)], [0, 1, 0], [-math.sin(t), 0, math.cos(t)]]
    p = propose_levels(_volume(np.zeros((20, 20, 20)), aff))
    assert p.levels == () and "oblique" in p.reasons[0] and "series 7" in p.reasons[0]


def test_water_phantom_has_no_spine() -> None:
    rng = np.random.default_rng(1)
    p = propose_levels(_volume(rng.normal(0.0, 10.0, (60, 50, 50))))
    assert p.levels == ()
    assert "differ by only" in p.reasons[0] and "is this a CT of the spine?" in p.reasons[0]


def test_json_names_every_level_and_reason() -> None:
    p, _ = _run(Variant(top=("L3", 10.0)))
    data = p.to_json()
    assert data["format"] == "blockplan.levels" and data["version"] == 1
    assert [lv["label"] for lv in data["levels"]] == list(_labels(p))
    assert data["levels"][0]["reasons"] and len(data["levels"][0]["centre_lps"]) == 3
    assert data["withheld"] == list(p.withheld) and json.dumps(data)


def test_on_the_midline_every_centre_shares_the_median_x() -> None:
    p, truth = _run(Variant(orientation="HFP"))
    mid = p.on_midline()
    xs = sorted(lv.centre_lps[0] for lv in p.levels)
    assert {lv.centre_lps[0] for lv in mid.levels} == {xs[len(xs) // 2]}
    assert [lv.centre_lps[1:] for lv in mid.levels] == [lv.centre_lps[1:] for lv in p.levels]
    _assert_right_places(mid, truth)


@pytest.mark.parametrize(
    "variant",
    [Variant(lumbar=6, seed=10), Variant(metal=True, seed=12), Variant(seed=14)],
    ids=["L6-disc-split-by-noise", "metal-body-ends-moved", "sharp-lumbosacral-bend"],
)
def test_noise_seeds_that_once_gave_a_wrong_place_or_name(variant: Variant) -> None:
    """Regressions from a seed sweep: counts that do not meet are not joined, a body with
    metal in it is not proposed (nor counted through), a disc sits between its bodies."""
    p, truth = _run(variant)
    _assert_right_places(p, truth)
    if variant.lumbar == 6:
        assert p.levels == () and any("do not meet" in r for r in p.reasons)
    if variant.metal:
        assert any(w.startswith("L4: not proposed — metal") for w in p.withheld)


def test_without_the_imaging_extra_the_count_runs_from_the_sacrum_and_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "SimpleITK", None)  # as if not installed
    volume, truth = build(Variant(seed=7))
    p = propose_levels(volume)
    assert {"L1", "L5", "S1"} <= set(_labels(p))
    assert {lv.confidence for lv in p.levels} == {0.75}
    assert any(
        r.startswith("the lowest ribs were not searched:")
        and "pip install 'blockplan[imaging]'" in r
        for r in p.reasons
    )
    _assert_right_places(p, truth)


def test_row_percentile_is_numpys_nanpercentile_to_the_bit() -> None:
    """The profile's percentile (without numpy's row-by-row loop) gives numpy's values."""
    from blockplan.planning.level_proposal import _row_percentile

    rng = np.random.default_rng(7)
    for width in (1, 2, 3, 7, 19, 37):
        rows = np.round(rng.normal(300.0, 400.0, size=(50, width)), rng.integers(0, 3))
        rows[rng.random(rows.shape) < 0.4] = np.nan
        rows[:, 0] = np.where(np.isnan(rows[:, 0]), 5.0, rows[:, 0])  # one finite at least
        assert np.array_equal(_row_percentile(rows, 70), np.nanpercentile(rows, 70, axis=1))


def test_slice_candidates_rank_highest_first_ties_by_lower_index() -> None:
    from blockplan.planning.level_proposal import _highest

    inf = np.inf
    flat = np.array(
        [
            [-inf, 3.0, -inf, 5.0, 3.0, -inf],
            [-inf, -inf, 2.0, -inf, -inf, -inf],
        ],
        dtype=np.float32,
    )
    top, scores = _highest(flat, 3)
    assert top.tolist() == [[3, 1, 4], [2, 0, 0]]
    assert scores.tolist() == [[5.0, 3.0, 3.0], [2.0, -inf, -inf]]
