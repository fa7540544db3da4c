"""The Ledger tab's Why and Blocks columns, read as the physician reads them (Xvfb).

A source reached only by a therapeutic block (the demo's right L5 transforaminal epidural,
block #4) once showed only the first reason in Why and nothing in Blocks, although a block
had reached it. `blockplan.outcomes.why_and_blocks` words both; the panel and the report's
ranked table state its text.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from pypdf import PdfReader

from blockplan.outcomes import why_and_blocks
from blockplan.report import build_report
from napari_blockplan._widgets.outcomes import LEDGER_COLUMNS, TABS
from tests.plugin._gui import Physician

pytestmark = pytest.mark.gui

THERAPEUTIC_ONLY = "L5, right, nerve root"
"""The demo's source reached only by block #4, a therapeutic transforaminal epidural."""


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _ledger_row(widget: Any, doc: Physician, label: str) -> dict[str, str]:
    """Open the Ledger tab, click the row of ``label`` and read its cells by heading."""
    bar = widget.tabs.tabBar()
    doc.click(bar, "the Ledger tab", bar.tabRect(TABS.index("Ledger")).center())
    table = widget.ledger_table
    heads = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert tuple(heads) == LEDGER_COLUMNS
    row = next(r for r in range(table.rowCount()) if table.item(r, 0).text() == label)
    cell = table.item(row, 0)
    table.scrollToItem(cell)
    doc.click(table.viewport(), f"the {label} row", table.visualItemRect(cell).center())
    return {h: table.item(row, c).text() for c, h in enumerate(heads)}


def test_a_source_reached_only_by_a_therapeutic_block(outcomes: Any) -> None:
    viewer, widget, _ws = outcomes
    doc = Physician(viewer)
    cells = _ledger_row(widget, doc, THERAPEUTIC_ONLY)

    assert cells["Status"] == "no diagnostic block yet"
    # every reason, in the ledger's order, not only the first
    assert cells["Why"] == (
        "no valid diagnostic block tested this source; block #4 (transforaminal epidural "
        "injection) reached it but is not a diagnostic block under this profile"
    )
    # the block that reached it, marked as therapeutic (it does not count)
    assert cells["Blocks"] == "block #4 (therapeutic)"
    # the line under the table says the same of the row clicked
    details = widget.ledger_details.text().splitlines()
    assert details[0].startswith(f"{THERAPEUTIC_ONLY}: ")
    assert f"Why: {cells['Why']}" in details
    assert doc.actions == 2


def test_diagnostic_blocks_keep_every_reason_and_block(outcomes: Any) -> None:
    viewer, widget, ws = outcomes
    cells = _ledger_row(widget, Physician(viewer), "L5, left, nerve root")
    source = next(s for s in ws.ledger.sources if s.label == "L5, left, nerve root")
    assert len(source.reasons) == 3
    assert cells["Why"] == "; ".join(source.reasons)
    assert cells["Blocks"] == "block #1, block #3"  # diagnostic blocks, unmarked


def test_the_report_states_the_panel_s_why_and_blocks(outcomes: Any) -> None:
    viewer, widget, ws = outcomes
    cells = _ledger_row(widget, Physician(viewer), THERAPEUTIC_ONLY)
    source = next(s for s in ws.ledger.sources if s.label == THERAPEUTIC_ONLY)
    words = why_and_blocks(source)
    assert (cells["Why"], cells["Blocks"]) == (words.why, words.blocks)  # one rule

    pdf = PdfReader(io.BytesIO(build_report(ws.case)))
    text = _flat(" ".join(page.extract_text() for page in pdf.pages))
    findings = text.split("Pain-source findings", 1)[1].split("Sources in detail", 1)[0]
    # the ranked table's row of this source: its label, the shown status, Why, then Blocks
    row = f"{THERAPEUTIC_ONLY} {cells['Status']} {_flat(cells['Why'])} {cells['Blocks']} "
    assert row in findings
