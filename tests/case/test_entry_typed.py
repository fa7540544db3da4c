"""Diary values, ODI answers and dates typed by the physician (blockplan.case.entry)."""

from __future__ import annotations

import datetime as dt

import pytest

from blockplan.case.entry import (
    ODI_ITEM_COUNT,
    date_from_text,
    datetime_from_text,
    datetime_text,
    diary_with_point,
    nrs_from_text,
    odi_from_text,
    patient_relief_from_text,
    quick_diary_from_text,
)
from blockplan.case.model import DiaryEntry, OdiEntry, PainDiary

TIMES = (0, 15, 30, 60, 120, 180, 240, 300, 360, 480, 1440)
TZ = dt.timezone(dt.timedelta(hours=1))


@pytest.mark.parametrize(
    ("text", "value"), [("0", 0), (" 7 ", 7), ("10", 10), ("", None), ("-", None)]
)
def test_nrs_entries(text: str, value: int | None) -> None:
    assert nrs_from_text(text) == value


@pytest.mark.parametrize("text", ["11", "-1", "x", "3.5", "007"])
def test_nrs_outside_the_scale_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="NRS must be a whole number 0–10"):
        nrs_from_text(text)


def test_patient_relief_takes_the_model_range() -> None:
    assert patient_relief_from_text("60 %") == 60.0
    assert patient_relief_from_text("-20") == -20.0
    assert patient_relief_from_text("") is None
    for bad in ("160", "lots", "nan"):
        with pytest.raises(ValueError, match="patient's relief must be a number -100–100 %"):
            patient_relief_from_text(bad)


def test_diary_point_set_and_cleared() -> None:
    diary = PainDiary(baseline_nrs=8, entries=(DiaryEntry(minutes=30, nrs=2),))
    diary = diary_with_point(diary, 15, 1, 80.0)
    assert [(e.minutes, e.nrs, e.patient_relief_pct) for e in diary.entries] == [
        (15, 1, 80.0),
        (30, 2, None),
    ]
    diary = diary_with_point(diary, 30, None, None)  # an empty point is missing, not stored
    assert [e.minutes for e in diary.entries] == [15]


def test_quick_diary_with_baseline_and_a_missing_point() -> None:
    diary = quick_diary_from_text("8: 1 1 0 - 3 6 7 8 8 8 8", TIMES)
    assert diary.baseline_nrs == 8
    assert [(e.minutes, e.nrs) for e in diary.entries] == [
        (m, n)
        for m, n in zip(TIMES, (1, 1, 0, None, 3, 6, 7, 8, 8, 8, 8), strict=True)
        if n is not None
    ]


def test_quick_diary_keeps_what_it_does_not_name() -> None:
    current = PainDiary(
        baseline_nrs=6,
        baseline_provoked=True,
        movements_possible=True,
        entries=(
            DiaryEntry(minutes=15, nrs=5, patient_relief_pct=40.0),
            DiaryEntry(minutes=60, nrs=4),
        ),
    )
    diary = quick_diary_from_text(": 2 1", TIMES, current)  # no baseline typed: it stays
    assert (diary.baseline_nrs, diary.baseline_provoked, diary.movements_possible) == (
        6,
        True,
        True,
    )
    assert [(e.minutes, e.nrs, e.patient_relief_pct) for e in diary.entries] == [
        (0, 2, None),
        (15, 1, 40.0),
        (60, 4, None),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1 1 0", "no baseline NRS: type it before the colon"),
        (": 1 1 0", "no baseline NRS"),
        ("11: 1", r"baseline \(before the colon\): NRS must be a whole number 0–10"),
        ("8: 1 1 11", r"value 3 \(30 min\): NRS must be a whole number 0–10"),
        ("8: 1 a", r"value 2 \(15 min\)"),
        ("8: " + " 1" * 12, "12 values for 11 diary times"),
    ],
)
def test_quick_diary_refusals(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        quick_diary_from_text(text, TIMES)


def test_a_line_without_its_colon_is_refused_not_read_as_points() -> None:
    # the slip of the physician trial: "7 1 1" meant as baseline 7, read as points 7, 1, 1
    current = PainDiary(baseline_nrs=8, entries=(DiaryEntry(minutes=0, nrs=2),))
    with pytest.raises(ValueError, match="no colon") as refused:
        quick_diary_from_text("7 1 1", TIMES, current)
    assert "'8: 7 1 1'" in str(refused.value)
    assert "': 7 1 1' to keep the baseline 8" in str(refused.value)


def test_odi_typed_on_one_line() -> None:
    day = dt.date(2026, 4, 1)
    assert odi_from_text("3 2 1 - 4 2 3 1 2 0", day) == OdiEntry(
        recorded_on=day, items=(3, 2, 1, None, 4, 2, 3, 1, 2, 0)
    )
    assert odi_from_text("321-423120", day).items == (3, 2, 1, None, 4, 2, 3, 1, 2, 0)
    assert ODI_ITEM_COUNT == 10


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("3 2 1", "the ODI has 10 items; got 3"),
        ("3 2 1 x 4 2 3 1 2 0", "ODI item 4: expected an answer 0–5 or '-'"),
        ("3 2 1 7 4 2 3 1 2 0", "ODI item 4 must be 0–5 or empty; got 7"),
    ],
)
def test_odi_refusals(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        odi_from_text(text, dt.date(2026, 4, 1))


@pytest.mark.parametrize(
    "text",
    [
        "2026-04-07 09:00 +01:00",
        "2026-04-07T09:00+01:00",
        "2026-04-07 9:00 +0100",
        " 2026-04-07  09:00:00+01:00 ",
    ],
)
def test_datetime_typed_iso(text: str) -> None:
    value = datetime_from_text(text)
    assert value == dt.datetime(2026, 4, 7, 9, 0, tzinfo=TZ)
    assert datetime_text(value) == "2026-04-07 09:00 +01:00"


def test_datetime_round_trips_seconds_and_negative_offsets() -> None:
    value = dt.datetime(
        2026, 4, 7, 9, 0, 30, tzinfo=dt.timezone(-dt.timedelta(hours=5, minutes=30))
    )
    assert datetime_text(value) == "2026-04-07 09:00:30 -05:30"
    assert datetime_from_text(datetime_text(value)) == value


def test_datetime_without_zone_takes_this_computers_zone() -> None:
    value = datetime_from_text("2026-04-07 09:00")
    assert value.tzinfo is not None
    assert value.replace(tzinfo=None) == dt.datetime(2026, 4, 7, 9, 0)


@pytest.mark.parametrize(
    "text", ["", "yesterday", "2026-04-07", "2026-13-07 09:00", "07.04.2026 09:00"]
)
def test_datetime_refusals(text: str) -> None:
    with pytest.raises(
        ValueError, match="expected a date and time like '2026-04-07 09:00 \\+01:00'"
    ):
        datetime_from_text(text)


def test_dates() -> None:
    assert date_from_text(" 2026-04-07 ") == dt.date(2026, 4, 7)
    with pytest.raises(ValueError, match="expected a date like 2026-04-07; got '7/4'"):
        date_from_text("7/4")


def test_a_block_dated_in_the_future_is_refused_as_a_slip() -> None:
    from blockplan.case.entry import performed_at_from_text

    now = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)
    done = performed_at_from_text("2026-12-03 09:05 +00:00", now)  # clocks drift a little
    assert done == dt.datetime(2026, 12, 3, 9, 5, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="in the future") as refused:
        performed_at_from_text("2026-12-31 09:00 +00:00", now)
    assert "2026-12-31 09:00 +00:00" in str(refused.value)
    assert "now 2026-12-03 09:00 +00:00" in str(refused.value)
    with pytest.raises(ValueError, match="expected a date and time"):
        performed_at_from_text("31.12.2026", now)


def test_a_score_dated_in_the_future_is_refused_as_a_slip() -> None:
    from blockplan.case.entry import answered_on_from_text

    today = dt.date(2026, 12, 3)
    assert answered_on_from_text("2026-12-03", today) == today
    assert answered_on_from_text(" 2026-05-01 ", today) == dt.date(2026, 5, 1)
    with pytest.raises(ValueError, match="in the future") as refused:
        answered_on_from_text("2027-05-01", today)
    assert "2027-05-01 is in the future (today is 2026-12-03)" in str(refused.value)
    with pytest.raises(ValueError, match="expected a date like 2026-04-07"):
        answered_on_from_text("01.05.2027", today)
