"""Whatever a case's free text holds, the report builds and prints all of it.

A case file saved before the planning screen limited labels, imported, or written by a
script can hold a pasted page in a target label, a 3 000-character "word", odd scripts or
markup characters. Each free-text field of the case (and each text of the report options)
that reaches the PDF gets such a text here; the report must build (PDF/A-2b, checked by
the suite's validator on every build) and hold the whole text, in order — split across
pages where it is long, never cut.
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from blockplan.case.model import Case, Note, Sedation, Steroid
from blockplan.io.volume import ImageVolume
from blockplan.report import ReportOptions, build_report, layout
from tests.report._factory import T0, make_case


# --- texts and how to find them in the PDF ------------------------------------------------
def _prose(chars: int) -> str:
    """Words that each occur once (w0x w1x …), ``chars`` characters in all."""
    words, n = [], 0
    while sum(len(w) + 1 for w in words) < chars:
        words.append(f"w{n}x")
        n += 1
    return " ".join(words)[:chars]


def _one_word(chars: int) -> str:
    """One "word" without a space (q0z q1z … run together), never periodic."""
    return "".join(f"q{n}z" for n in range(chars))[:chars]


def _lines(count: int) -> str:
    """``count`` short lines, each of its own words."""
    return "\n".join(" ".join(f"l{j}y{i}" for i in range(6)) for j in range(count))


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _pieces(needle: str, haystack: str, min_piece: int = 8) -> int | None:
    """In how many consecutive pieces ``needle`` occurs in ``haystack``, in order (None:
    it does not). A text split across pages is interrupted by the page's header and
    footer (and a table's repeated header row): one piece per page it spans."""
    pos = i = pieces = 0
    while i < len(needle):
        k = min(min_piece, len(needle) - i)
        j = haystack.find(needle[i : i + k], pos)
        if j < 0:
            return None
        while i + k < len(needle) and j + k < len(haystack) and haystack[j + k] == needle[i + k]:
            k += 1
        pos, i, pieces = j + k, i + k, pieces + 1
    return pieces


def _assert_whole_text(pdf: bytes, text: str) -> None:
    pages = PdfReader(io.BytesIO(pdf)).pages
    printed = _squash("".join(p.extract_text() or "" for p in pages))
    pieces = _pieces(_squash(text), printed)
    assert pieces is not None, "the text is not in the report (or not in order)"
    assert pieces <= len(pages), f"the text is in {pieces} pieces over {len(pages)} pages"


# --- the fields -------------------------------------------------------------------------
def _target(case: Case, **update: object) -> Case:
    first, *rest = case.targets
    return case.evolve(targets=(first.model_copy(update=update), *rest))


def _procedure(case: Case, **update: object) -> Case:
    first, *rest = case.procedures
    return case.evolve(procedures=(first.model_copy(update=update), *rest))


def _part(case: Case, part: str, **update: object) -> Case:
    return _procedure(case, **{part: getattr(case.procedures[0], part).model_copy(update=update)})


def _study(case: Case, **update: object) -> Case:
    assert case.study is not None
    return case.evolve(study=case.study.model_copy(update=update))


CASE_FIELDS: dict[str, Callable[[Case, str], Case]] = {
    "case indication": lambda c, s: c.evolve(indication=s),
    "diagnosis code": lambda c, s: c.evolve(diagnosis_codes=(s,)),
    "target label": lambda c, s: _target(c, label=s),
    "target notes": lambda c, s: _target(c, notes=s),
    "operator": lambda c, s: _procedure(c, operator=s),
    "block indication": lambda c, s: _procedure(c, indication=s),
    "index pain": lambda c, s: _procedure(c, index_pain=s),
    "complication notes": lambda c, s: _procedure(c, complication_notes=s),
    "interpretation": lambda c, s: _procedure(c, interpretation=s),
    "next step": lambda c, s: _procedure(c, next_step=s),
    "block notes": lambda c, s: _procedure(c, notes=s),
    "contrast agent": lambda c, s: _part(c, "contrast", agent=s),
    "steroid": lambda c, s: _procedure(c, steroid=Steroid(name=s, dose_mg=4)),
    "sedation drug": lambda c, s: _procedure(c, sedation=Sedation(drug=s, dose="2 mg")),
    "sedation dose": lambda c, s: _procedure(c, sedation=Sedation(drug="midazolam", dose=s)),
    "needle tip": lambda c, s: _part(c, "needle", tip=s),
    "needle type": lambda c, s: _part(c, "needle", type=s),
    "case note": lambda c, s: c.evolve(notes=(Note(at=T0, author="A. Example", text=s),)),
    "case note author": lambda c, s: c.evolve(notes=(Note(at=T0, author=s, text="seen"),)),
    "study description": lambda c, s: _study(c, description=s),
    "referring physician": lambda c, s: _study(c, referring_physician=s[:324]),
    "institution": lambda c, s: _study(c, institution=s[:324]),
    "scar label": lambda c, s: c.evolve(
        scar_regions=tuple(r.model_copy(update={"label": s}) for r in c.scar_regions)
    ),
}
"""Each free-text field of the case that the report prints, and how to fill it.

Not printed, so not here: the case title, a series' description."""

OPTION_FIELDS = ("author", "clinic_name", "clinic_address", "title", "report_id")
"""The texts of `ReportOptions` the report prints."""

TEXTS = {
    "pasted page": _prose(7_500),
    "long word": _one_word(3_000),
    "many lines": _lines(200),
}


@pytest.fixture(scope="module")
def case(ct: ImageVolume) -> Case:
    """Two targets, two blocks, a scar: every section that prints free text."""
    return make_case(2, 2, volume=ct)


@pytest.fixture(scope="module")
def quick(options: ReportOptions) -> ReportOptions:
    return dataclasses.replace(options, fluoro_previews=False)


def _limited(field: str, text: str) -> str:
    return text[:324] if field in ("referring physician", "institution") else text


@pytest.mark.parametrize(
    ("field", "kind"),
    [
        (field, kind)
        for field in CASE_FIELDS
        for kind in TEXTS
        # Lines wrap like words: five fields (a cell, a fact, a paragraph, a note, a row
        # across the table) suffice.
        if kind != "many lines"
        or field in ("target label", "target notes", "operator", "study description", "case note")
    ],
)
def test_long_case_text_is_printed_whole(
    case: Case, quick: ReportOptions, field: str, kind: str
) -> None:
    text = TEXTS[kind]
    pdf = build_report(CASE_FIELDS[field](case, text), options=quick)
    _assert_whole_text(pdf, _limited(field, text))


@pytest.mark.parametrize("kind", TEXTS)
@pytest.mark.parametrize("field", OPTION_FIELDS)
def test_long_option_text_is_printed_whole(
    case: Case, quick: ReportOptions, field: str, kind: str
) -> None:
    text = TEXTS[kind]
    pdf = build_report(case, options=dataclasses.replace(quick, **{field: text}))
    _assert_whole_text(pdf, text)


def test_long_text_in_a_later_row_of_a_table_already_split(
    ct: ImageVolume, quick: ReportOptions
) -> None:
    """The procedures table runs over a page before the long row: the rest of the table
    (made by reportlab from the first part) still splits that row inside itself."""
    case = make_case(2, 14, volume=ct)
    last, *_ = sorted(case.procedures, key=lambda p: p.performed_at, reverse=True)
    text = TEXTS["pasted page"]
    long = last.model_copy(update={"operator": text})
    case = case.evolve(procedures=tuple(long if p.id == last.id else p for p in case.procedures))
    _assert_whole_text(build_report(case, options=quick), text)


def test_ordinary_reports_lay_out_as_before(
    small_case: Case, ct: ImageVolume, mr: ImageVolume, options: ReportOptions
) -> None:
    """A row is split inside itself only where it cannot fit on any page: every page of
    an ordinary report holds what it held without splitting inside rows (a key image with
    its caption, a procedure's row whole)."""

    def pages(pdf: bytes) -> list[str]:
        return [p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages]

    now = pages(build_report(small_case, volumes=[ct, mr], options=options))
    with pytest.MonkeyPatch.context() as mp:
        init = layout._Table.__init__

        def never_in_row(self: layout._Table, *args: Any, **kwargs: Any) -> None:
            init(self, *args, **{**kwargs, "splitInRow": 0})

        mp.setattr(layout._Table, "__init__", never_in_row)
        before = pages(build_report(small_case, volumes=[ct, mr], options=options))
    assert now == before


def test_long_target_label_with_key_images(
    case: Case, ct: ImageVolume, mr: ImageVolume, options: ReportOptions
) -> None:
    """With images, C-arm previews and the sagittal overview, as a physician builds it."""
    text = TEXTS["pasted page"]
    pdf = build_report(CASE_FIELDS["target label"](case, text), volumes=[ct, mr], options=options)
    _assert_whole_text(pdf, text)


@pytest.mark.parametrize("field", ["target label", "operator", "case indication"])
def test_long_right_to_left_text_is_printed_whole(
    case: Case, quick: ReportOptions, field: str
) -> None:
    """A pasted page of Hebrew: built, every letter printed (its order is not compared)."""
    text = " ".join(f"שלום{n}" for n in range(1_500))
    pdf = build_report(CASE_FIELDS[field](case, text), options=quick)
    printed = "".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages)
    for letter in "שלום":
        assert printed.count(letter) >= text.count(letter)
    assert all(str(n) in printed for n in range(1_500))


_ODD = st.sampled_from(
    [
        *"abcxyzABC0123456789",
        " ",
        " ",
        "\n",
        "\t",
        *".,;:-–—/()[]<>&'\"%°·…",
        "\u0301",  # combining acute accent
        "\u0308",  # combining diaeresis
        *"éßøαβжш",
        *"痛한",  # CJK and Hangul (fallback fonts)
    ]
)
"""Characters of the generated texts. Right-to-left letters are left to
`test_long_right_to_left_text_is_printed_whole`: pypdf reads a line mixing them with
neutral characters in an order of its own, so their order cannot be compared."""


@settings(
    max_examples=20,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    text=st.lists(_ODD, min_size=1, max_size=4_000).map("".join),
    field=st.sampled_from(["target label", "operator", "study description", "case note"]),
)
def test_any_text_is_printed_whole(case: Case, quick: ReportOptions, text: str, field: str) -> None:
    pdf = build_report(CASE_FIELDS[field](case, text), options=quick)
    if text.strip():
        _assert_whole_text(pdf, text)


@pytest.mark.parametrize(
    "text",
    ["Synthetic Spine Clinic", _prose(7_500), "Clinic\nwith\tlines", _one_word(3_000), "痛" * 500],
)
def test_a_canvas_line_fits_its_width(text: str) -> None:
    """The running header's parts: one line, within the width, shortened only when wider
    (each repeats a text printed whole on the first page)."""
    from reportlab.pdfgen.canvas import Canvas

    from blockplan.report.fonts import register_fonts
    from blockplan.report.scripts import fit_text, register_script_fonts, text_width

    fonts = register_fonts()
    register_script_fonts()
    canvas = Canvas(io.BytesIO())
    line = fit_text(canvas, text, fonts.bold, 7.5, 200.0)
    assert text_width(canvas, line, fonts.bold, 7.5) <= 200.0
    assert "\n" not in line and "\t" not in line
    one_line = " ".join(text.split())
    if text_width(canvas, one_line, fonts.bold, 7.5) <= 200.0:
        assert line == one_line
    else:
        assert line.endswith("…") and one_line.startswith(line[:-1])


def test_long_clinic_name_leaves_the_patient_in_the_running_header(
    case: Case, quick: ReportOptions
) -> None:
    options = dataclasses.replace(quick, clinic_name=_prose(7_500))
    pdf = build_report(case, options=options)
    second = PdfReader(io.BytesIO(pdf)).pages[1].extract_text() or ""
    assert "…" in second
    assert "Testperson, Alexandra" in second  # the synthetic patient of the factory
