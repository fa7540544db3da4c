"""Turning what a physician types into case values.

Steroid and sedation entries, pain-diary values (one NRS, a patient's relief %, a whole
diary typed on one line), ODI answers typed on one line, dates and times with their time
zone. Each function refuses what the case model would refuse, with a message that says
what was expected; ranges come from the model (`blockplan.case.limits`).

A form field "dexamethasone 4 mg" becomes a `Steroid`; whether a steroid is
**particulate** is decided here, once: methylprednisolone acetate, triamcinolone
acetonide and betamethasone acetate suspensions are particulate; dexamethasone sodium
phosphate is not (Rathmell et al., Anesthesiology 2015;122:974–84, multisociety safeguards
for epidural steroid injections; FDA Drug Safety Communication, 2014). A soluble
betamethasone sodium phosphate alone is not particulate: type "betamethasone phosphate".

Decision support, not a medical device.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence

from annotated_types import MaxLen
from pydantic import ValidationError

from blockplan.case.limits import NRS_LIMITS, field_limits
from blockplan.case.model import DiaryEntry, OdiEntry, PainDiary, Sedation, Steroid

__all__ = [
    "ODI_ITEM_COUNT",
    "PARTICULATE_STEROIDS",
    "answered_on_from_text",
    "date_from_text",
    "datetime_from_text",
    "datetime_text",
    "diary_with_point",
    "is_particulate",
    "nrs_from_text",
    "odi_from_text",
    "patient_relief_from_text",
    "performed_at_from_text",
    "quick_diary_from_text",
    "sedation_from_text",
    "steroid_from_text",
]

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


# --- pain diary -----------------------------------------------------------------------
_MISSING = {"", "-", "–"}


def nrs_from_text(text: str) -> int | None:
    """An NRS typed in a field: a whole number on the scale (0–10); None for empty or "-".

    Raises
    ------
    ValueError
        Saying the expected range and what was typed.
    """
    value = text.strip()
    if value in _MISSING:
        return None
    lo, hi = NRS_LIMITS
    if not re.fullmatch(r"\d{1,2}", value) or not lo <= int(value) <= hi:
        raise ValueError(f"NRS must be a whole number {lo}–{hi} (or empty); got {value!r}")
    return int(value)


def patient_relief_from_text(text: str) -> float | None:
    """The patient's own relief estimate typed in a field (``"60"``, ``"60 %"``); None if empty.

    Raises
    ------
    ValueError
        When it is not a number inside the range the case model accepts.
    """
    value = text.strip().removesuffix("%").strip().replace(",", ".")
    if value in _MISSING:
        return None
    lo, hi = field_limits(DiaryEntry, "patient_relief_pct")
    low, high = (-math.inf if lo is None else lo), (math.inf if hi is None else hi)
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not low <= number <= high:
        raise ValueError(f"patient's relief must be a number {low:g}–{high:g} %; got {value!r}")
    return number


def diary_with_point(
    diary: PainDiary, minutes: int, nrs: int | None, patient_relief_pct: float | None
) -> PainDiary:
    """``diary`` with its point at ``minutes`` set; a point with neither value is removed
    (the time becomes a missing point)."""
    entries = [e for e in diary.entries if e.minutes != minutes]
    if nrs is not None or patient_relief_pct is not None:
        entries.append(DiaryEntry(minutes=minutes, nrs=nrs, patient_relief_pct=patient_relief_pct))
    return PainDiary.model_validate({**diary.model_dump(), "entries": entries})


def quick_diary_from_text(
    text: str, times_min: Sequence[int], current: PainDiary | None = None
) -> PainDiary:
    """A whole diary typed on one line: ``"8: 1 1 0 1 3 6 7 8 8 8 8"``.

    The baseline NRS before the colon, then one NRS per diary time of ``times_min`` in
    order (``-`` for a missing point; fewer values than times leave the later times as
    they are). Nothing before the colon (``": 2 1"``) keeps the baseline of ``current``.
    The colon is required: ``"7 1 1"`` could be a baseline of 7 or a first point of 7,
    and a misread baseline changes the relief of every point, so such a line is refused.
    Everything else of ``current`` (the patient's relief, baseline provoked, movements)
    is kept.

    Raises
    ------
    ValueError
        Naming the value and its time, the expected range, the missing colon, or the
        missing baseline (a baseline is never assumed).
    """
    head, colon, tail = text.partition(":")
    baseline = current.baseline_nrs if current is not None else None
    if not colon and baseline is not None:
        raise ValueError(
            "no colon: type the baseline NRS, a colon, then one NRS per time, e.g. "
            f"'8: {head.strip()}', or ': {head.strip()}' to keep the baseline {baseline}"
        )
    try:
        baseline = nrs_from_text(head) if colon and head.strip() else baseline
    except ValueError as err:
        raise ValueError(f"baseline (before the colon): {err}") from err
    if baseline is None:
        raise ValueError(
            "no baseline NRS: type it before the colon, e.g. '8: 1 1 0 1 3' "
            "(the baseline is never assumed)"
        )
    values = tail.replace(",", " ").split()
    times = list(times_min)
    if len(values) > len(times):
        raise ValueError(
            f"{len(values)} values for {len(times)} diary times "
            f"({', '.join(str(t) for t in times)} min): one NRS per time, '-' when missing"
        )
    if current is None:
        diary = PainDiary(baseline_nrs=baseline)
    else:
        diary = PainDiary.model_validate({**current.model_dump(), "baseline_nrs": baseline})
    for n, (minutes, value) in enumerate(zip(times, values, strict=False), start=1):
        try:
            nrs = nrs_from_text(value)
        except ValueError as err:
            raise ValueError(f"value {n} ({minutes} min): {err}") from err
        old = next((e for e in diary.entries if e.minutes == minutes), None)
        diary = diary_with_point(diary, minutes, nrs, old.patient_relief_pct if old else None)
    return diary


# --- ODI ------------------------------------------------------------------------------
def _odi_item_count() -> int:
    metadata = OdiEntry.model_fields["items"].metadata
    return int(next(m.max_length for m in metadata if isinstance(m, MaxLen)))


ODI_ITEM_COUNT: int = _odi_item_count()
"""Items of the ODI questionnaire (the length `OdiEntry.items` accepts)."""


def odi_from_text(text: str, recorded_on: dt.date) -> OdiEntry:
    """ODI answers typed on one line: ``"3 2 1 - 4 2 3 1 2 0"`` (``-``: unanswered).

    Ten digits without spaces (``"321-423120"``) are read one per item.

    Raises
    ------
    ValueError
        Naming the item and the expected answers, or the count typed.
    """
    tokens = text.replace(",", " ").split()
    if len(tokens) == 1 and len(tokens[0]) == ODI_ITEM_COUNT:
        tokens = list(tokens[0])
    example = "e.g. '3 2 1 - 4 2 3 1 2 0'"
    if len(tokens) != ODI_ITEM_COUNT:
        raise ValueError(
            f"the ODI has {ODI_ITEM_COUNT} items; got {len(tokens)}: type one answer per "
            f"item ('-' when unanswered), {example}"
        )
    items: list[int | None] = []
    for n, token in enumerate(tokens, start=1):
        if token in _MISSING:
            items.append(None)
        elif token.isdigit():
            items.append(int(token))
        else:
            raise ValueError(f"ODI item {n}: expected an answer 0–5 or '-'; got {token!r}")
    try:
        return OdiEntry(recorded_on=recorded_on, items=tuple(items))
    except ValidationError as err:
        raise ValueError(_first_message(err)) from err


def _first_message(err: ValidationError) -> str:
    return str(err.errors(include_url=False)[0]["msg"]).removeprefix("Value error, ")


# --- dates and times ------------------------------------------------------------------
_OFFSET = re.compile(r"\s*(Z|[+-]\d{2}:?\d{2})$")


def datetime_from_text(text: str) -> dt.datetime:
    """A date and time typed as ISO 8601: ``"2026-04-07 09:00 +01:00"``.

    ``T`` or a space between date and time, seconds optional, the offset with or without
    a space before it. Without an offset the time is read in this computer's time zone
    (the zone is then shown with the value, so the physician sees what was stored).

    Raises
    ------
    ValueError
        When it is not a date and time (the message shows the expected form).
    """
    cleaned = _OFFSET.sub(r"\1", " ".join(text.split()))
    cleaned = re.sub(r"^(\S+)[ T](\d):", r"\1 0\2:", cleaned)  # 9:00 → 09:00
    form = "expected a date and time like '2026-04-07 09:00 +01:00'"
    if not re.match(r"^\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2}", cleaned):
        raise ValueError(f"{form}; got {text.strip()!r}")
    try:
        value = dt.datetime.fromisoformat(cleaned)
    except ValueError as err:
        raise ValueError(f"{form}; got {text.strip()!r}") from err
    if value.tzinfo is None:
        value = value.astimezone()
    offset = value.utcoffset()
    if offset is not None and offset.total_seconds() % 60:
        raise ValueError("the time-zone offset must be whole minutes (e.g. +01:00)")
    return value


FUTURE_TOLERANCE = dt.timedelta(minutes=10)
"""How far past this computer's clock a block's time may lie (clocks drift; typing does not)."""


def performed_at_from_text(text: str, now: dt.datetime | None = None) -> dt.datetime:
    """When a block was done, typed as `datetime_from_text` reads it; never in the future.

    A block is recorded after it is done: a time later than ``now`` (this computer's clock,
    plus `FUTURE_TOLERANCE`) is a typing slip — "2026-12-31" for "2026-12-01" — that would
    date the whole work-up wrongly in the report, so it is refused.

    Raises
    ------
    ValueError
        When it is not a date and time, or when it lies in the future (both times named).
    """
    value = datetime_from_text(text)
    now = now or dt.datetime.now(dt.UTC).astimezone()
    if value > now + FUTURE_TOLERANCE:
        raise ValueError(
            f"{datetime_text(value)} is in the future (now {datetime_text(now)}): a block is "
            "recorded after it is done — check the date"
        )
    return value


def datetime_text(value: dt.datetime) -> str:
    """``"2026-04-07 09:00 +01:00"``: how `datetime_from_text` reads it back (seconds when set)."""
    clock = "%H:%M:%S" if value.second else "%H:%M"
    text = value.strftime(f"%Y-%m-%d {clock}")
    offset = value.utcoffset()
    if offset is None:
        return text
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{text} {sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def date_from_text(text: str) -> dt.date:
    """A date typed as ISO 8601 (``"2026-04-07"``).

    Raises
    ------
    ValueError
        When it is not a date (the message shows the expected form).
    """
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError as err:
        raise ValueError(f"expected a date like 2026-04-07; got {text.strip()!r}") from err


def answered_on_from_text(text: str, today: dt.date | None = None) -> dt.date:
    """The day a patient answered a questionnaire (ODI, PGIC), typed as ISO 8601; never
    after ``today`` (this computer's local date).

    A score is recorded after the patient gives it, as a block after it is done
    (`performed_at_from_text`): "2027-05-01" for "2026-05-01" is a typing slip that would
    put the score after every block in the report's course of ODI and PGIC, so it is refused.

    Raises
    ------
    ValueError
        When it is not a date, or when it lies in the future (both dates named).
    """
    value = date_from_text(text)
    today = today or dt.date.today()
    if value > today:
        raise ValueError(
            f"{value.isoformat()} is in the future (today is {today.isoformat()}): a score is "
            "recorded after the patient gives it — check the date"
        )
    return value
