"""ODI scoring with missing items, bands, minimal important change; PGIC labels."""

from __future__ import annotations

import datetime as dt

import pytest

from blockplan.case.model import OdiEntry, PgicEntry
from blockplan.outcomes.scores import (
    MIC_ODI_POINTS,
    odi_band,
    odi_changes,
    pgic_label,
    score_odi,
    score_pgic,
)

D = dt.date(2026, 3, 1)


@pytest.mark.parametrize(
    ("items", "percent", "answered", "band"),
    [
        ([0] * 10, 0.0, 10, "minimal"),
        ([5] * 10, 100.0, 10, "bed-bound"),
        ([2] * 10, 40.0, 10, "moderate"),
        ([1] * 10, 20.0, 10, "minimal"),
        ([3] * 9 + [None], 60.0, 9, "severe"),  # 27 / 45
        ([4] * 8 + [None, None], 80.0, 8, "crippled"),  # 32 / 40
        ([2] * 8 + [3, None], 100 * 19 / 45, 9, "severe"),  # 42.2 %
    ],
)
def test_odi_score(items, percent: float, answered: int, band: str) -> None:
    score = score_odi(OdiEntry(recorded_on=D, items=tuple(items)))
    assert score.percent == pytest.approx(percent)
    assert (score.answered, score.band, score.reason) == (answered, band, None)
    assert score.recorded_on == D


def test_odi_refused_below_8_items() -> None:
    score = score_odi([1] * 7 + [None] * 3)
    assert score.percent is None and score.band is None and score.answered == 7
    assert score.reason is not None
    assert "only 7 of 10" in score.reason and "Fairbank & Pynsent 2000" in score.reason


@pytest.mark.parametrize(
    ("percent", "band"),
    [
        (0, "minimal"),
        (20, "minimal"),
        (20.5, "moderate"),
        (21, "moderate"),
        (40, "moderate"),
        (41, "severe"),
        (60, "severe"),
        (61, "crippled"),
        (80, "crippled"),
        (81, "bed-bound"),
        (100, "bed-bound"),
    ],
)
def test_odi_bands(percent: float, band: str) -> None:
    assert odi_band(percent) == band


@pytest.mark.parametrize("bad", [[1] * 9, [6] + [0] * 9, [-1] + [0] * 9])
def test_odi_bad_items(bad: list[int]) -> None:
    with pytest.raises(ValueError, match="ODI"):
        score_odi(bad)


def test_odi_band_out_of_range() -> None:
    with pytest.raises(ValueError, match="0–100"):
        odi_band(101)


def _odi(day: int, value: int, missing: int = 0) -> OdiEntry:
    # value = ODI % with all items answered: items sum to value / 2
    items: list[int | None] = []
    remaining = value // 2
    for _ in range(10):
        item = min(5, remaining)
        items.append(item)
        remaining -= item
    for n in range(missing):
        items[-1 - n] = None
    return OdiEntry(recorded_on=D + dt.timedelta(days=day), items=tuple(items))


@pytest.mark.parametrize(
    ("before", "after", "meaningful", "direction"),
    [
        (50, 40, True, "improved"),  # exactly the MIC
        (50, 42, False, "improved"),
        (40, 60, True, "worse"),
        (40, 40, False, "unchanged"),
    ],
)
def test_odi_change(before: int, after: int, meaningful: bool, direction: str) -> None:
    (change,) = odi_changes([_odi(30, after), _odi(0, before)])  # order does not matter
    assert change.change_points == pytest.approx(after - before)
    assert (change.meaningful, change.direction) == (meaningful, direction)
    assert change.from_date < change.to_date
    assert MIC_ODI_POINTS == 10


def test_odi_changes_skip_unscorable_and_add_first_to_last() -> None:
    changes = odi_changes([_odi(0, 60), _odi(10, 20, missing=3), _odi(20, 52), _odi(40, 30)])
    assert [(c.from_pct, c.to_pct) for c in changes] == [(60, 52), (52, 30), (60, 30)]
    assert [c.meaningful for c in changes] == [False, True, True]


@pytest.mark.parametrize(
    ("score", "label"),
    [
        (1, "very much improved"),
        (2, "much improved"),
        (3, "minimally improved"),
        (4, "no change"),
        (5, "minimally worse"),
        (6, "much worse"),
        (7, "very much worse"),
    ],
)
def test_pgic_labels(score: int, label: str) -> None:
    assert pgic_label(score) == label


@pytest.mark.parametrize("bad", [0, 8])
def test_pgic_out_of_range(bad: int) -> None:
    with pytest.raises(ValueError, match="PGIC is scored 1–7"):
        pgic_label(bad)


def test_score_pgic_sorted() -> None:
    entries = [
        PgicEntry(recorded_on=D + dt.timedelta(days=9), score=2),
        PgicEntry(recorded_on=D, score=4),
    ]
    assert [(p.score, p.label) for p in score_pgic(entries)] == [
        (4, "no change"),
        (2, "much improved"),
    ]


def test_odi_course_gives_each_entry_its_change_from_the_first_scorable() -> None:
    from blockplan.outcomes import odi_course

    entries = [
        OdiEntry(recorded_on=dt.date(2026, 3, 20), items=(2,) * 9 + (None,)),  # 40 %
        OdiEntry(recorded_on=dt.date(2026, 1, 5), items=(1,) + (None,) * 9),  # not scored
        OdiEntry(recorded_on=dt.date(2026, 2, 1), items=(3,) * 10),  # 60 %, first scorable
        OdiEntry(recorded_on=dt.date(2026, 2, 15), items=(3,) * 9 + (2,)),  # 58 %
    ]
    course = odi_course(entries)
    assert [c.recorded_on.isoformat() for c in course] == [
        "2026-01-05",
        "2026-02-01",
        "2026-02-15",
        "2026-03-20",
    ]
    assert course[0].score.percent is None and course[0].change_from_first is None
    assert course[1].score.percent == 60.0 and course[1].change_from_first is None
    small, big = course[2].change_from_first, course[3].change_from_first
    assert small is not None and big is not None
    assert (small.change_points, small.meaningful, small.direction) == (-2.0, False, "improved")
    assert (big.from_pct, big.to_pct, big.meaningful) == (60.0, 40.0, True)
    assert big.from_date == dt.date(2026, 2, 1)


def test_odi_change_prints_the_figure_it_compares_with_the_mic() -> None:
    # issue 15: −9.5 points printed as "−10 points … below the 10-point MIC"
    before = OdiEntry(recorded_on=D, items=(2, 2, 2, 3, 2, 2, 2, 4, None, None))  # 47.5 %
    after = OdiEntry(recorded_on=D + dt.timedelta(days=30), items=(2,) * 9 + (1,))  # 38 %
    (change,) = odi_changes([before, after])
    assert (change.change_points, change.meaningful) == (-9.5, False)
    assert change.text == "ODI 47.5 % → 38.0 % (-9.5 points, improved; below the 10-point MIC)"
    assert change.short_text == "-9.5 points, improved; below the 10-point MIC"


def test_every_reachable_odi_change_reads_as_it_is_judged() -> None:
    """Over every pair of scorable ODI sums (8–10 items answered), the printed change and
    the 10-point flag agree: flagged exactly when the printed figure is ≥ 10 in size."""
    from blockplan.outcomes.scores import odi_number

    percents = {100 * s / (5 * n) for n in (8, 9, 10) for s in range(5 * n + 1)}
    for p0 in percents:
        for p1 in percents:
            (change,) = odi_changes(
                [
                    _entry_with_percent(p0, D),
                    _entry_with_percent(p1, D + dt.timedelta(days=1)),
                ]
            )
            printed = float(odi_number(change.change_points, sign=True))
            assert change.meaningful is (abs(printed) >= 10), (p0, p1, change.text)
            assert f"{odi_number(change.change_points, sign=True)} points" in change.text


def _entry_with_percent(percent: float, when: dt.date) -> OdiEntry:
    for n in (10, 9, 8):
        total = percent * 5 * n / 100
        if abs(total - round(total)) < 1e-9:
            items: list[int | None] = []
            left = round(total)
            for _ in range(n):
                items.append(min(5, left))
                left -= items[-1]
            return OdiEntry(recorded_on=when, items=(*items, *[None] * (10 - n)))
    raise AssertionError(percent)


@pytest.mark.parametrize(
    ("value", "printed", "signed"),
    [
        (48.0, "48.0", "+48.0"),
        (28.888, "28.9", "+28.9"),
        (-9.5, "-9.5", "-9.5"),
        (0.0, "0.0", "0.0"),
        (-0.04, "0.0", "0.0"),  # never "-0.0"
        (100.0, "100.0", "+100.0"),
    ],
)
def test_every_odi_figure_prints_with_one_decimal(value: float, printed: str, signed: str) -> None:
    from blockplan.outcomes.scores import odi_number

    assert odi_number(value) == printed
    assert odi_number(value, sign=True) == signed
