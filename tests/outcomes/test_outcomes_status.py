"""The one status vocabulary: order, rank, words, letters and colours of `Status`."""

from __future__ import annotations

import re

import pytest

from blockplan.case.vocab import Laterality, Structure
from blockplan.outcomes import (
    STATUS_COLOURS,
    STATUS_ORDER,
    STATUS_TEXT_COLOURS,
    UNTESTED,
    SourceKey,
    Status,
)


def test_order_is_most_support_first_and_rank_agrees() -> None:
    # v1.1 adds needs review and pending (shared/DOMAIN.md §9) between the supported and
    # the open or unsupported sources
    assert STATUS_ORDER == (
        Status.CONFIRMED,
        Status.PROBABLE,
        Status.NEEDS_REVIEW,
        Status.PENDING,
        Status.INDETERMINATE,
        Status.EXCLUDED,
    )
    assert set(STATUS_ORDER) == set(Status)
    assert [s.rank for s in STATUS_ORDER] == [5, 4, 3, 2, 1, 0]
    assert sorted(Status, key=lambda s: -s.rank) == list(STATUS_ORDER)


@pytest.mark.parametrize(
    ("status", "meaning", "heading", "letter"),
    [
        (Status.CONFIRMED, "supported as a pain source", "Confirmed", "C"),
        (Status.PROBABLE, "probably a pain source, awaiting confirmation", "Probable", "P"),
        (
            Status.NEEDS_REVIEW,
            "a block needs the physician's review before it counts",
            "Needs review",
            "!",
        ),
        (
            Status.PENDING,
            "a block's record is incomplete (missing diary points), not scored yet",
            "Pending (record incomplete)",
            "?",
        ),
        (
            Status.INDETERMINATE,
            "open — the blocks so far do not decide",
            "Open (indeterminate)",
            "I",
        ),
        (
            Status.EXCLUDED,
            "not supported as a pain source",
            "Not supported as a pain source",
            "E",
        ),
    ],
)
def test_words_of_each_status(status: Status, meaning: str, heading: str, letter: str) -> None:
    assert (status.meaning, status.heading, status.letter) == (meaning, heading, letter)
    assert "ruled out" not in status.meaning + status.heading + status.describe("p v1")


def test_one_colour_table_covers_every_status_and_untested() -> None:
    keys = [*STATUS_ORDER, UNTESTED]
    assert set(STATUS_COLOURS) == set(keys) == set(STATUS_TEXT_COLOURS)
    for table in (STATUS_COLOURS, STATUS_TEXT_COLOURS):
        assert all(re.fullmatch(r"#[0-9A-F]{6}", table[k]) for k in keys)
    # every status and "untested" has a fill of its own
    assert len({STATUS_COLOURS[k] for k in keys}) == len(keys)
    assert STATUS_COLOURS["confirmed"] == STATUS_COLOURS[Status.CONFIRMED] == "#D55E00"
    with pytest.raises(TypeError):
        STATUS_COLOURS[Status.CONFIRMED] = "#000000"  # type: ignore[index]


@pytest.mark.parametrize(
    ("key", "label", "short"),
    [
        (
            SourceKey(structure=Structure.NERVE_ROOT, level="L5", side=Laterality.RIGHT),
            "L5, right, nerve root",
            "L5 right nerve root",
        ),
        (
            SourceKey(structure=Structure.SACROILIAC_JOINT, side=Laterality.LEFT),
            "–, left, sacroiliac joint",
            "left sacroiliac joint",
        ),
        (SourceKey(structure=Structure.DISC, level="L4-L5"), "L4-L5, –, disc", "L4-L5 disc"),
        (
            SourceKey(structure=Structure.EPIDURAL_SPACE, level="L4", side=Laterality.MIDLINE),
            "L4, midline, epidural space",
            "L4 epidural space",
        ),
    ],
)
def test_source_key_labels(key: SourceKey, label: str, short: str) -> None:
    assert (key.label, key.short_label) == (label, short)
