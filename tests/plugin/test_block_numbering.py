"""One name for a block: the Outcomes panel and the signed report say "block #N" alike (Xvfb).

`blockplan.outcomes.numbering.numbered_block` names a block everywhere; this test reads
the panel as the physician does (each block clicked in the block list, its verdict line,
the ledger's Why and Blocks cells) and the text of the report built from the same case,
and asserts that both state the same words for the same block.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from blockplan.case.store import CaseStore
from blockplan.demo import build_demo_case
from blockplan.outcomes import numbered_block, numbered_blocks
from blockplan.report import ReportOptions, build_report
from napari_blockplan._workspace import workspace_for
from tests.plugin._gui import Physician, activate

pytestmark = pytest.mark.gui

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"
WHEN = dt.datetime(2026, 5, 19, 12, 0, tzinfo=dt.UTC)


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_the_names_of_blocks_and_their_wording() -> None:
    assert numbered_block(1) == "block #1"
    assert numbered_block(12, capitalised=True) == "Block #12"
    assert numbered_block(None) == "this block"  # never "block #None"
    assert numbered_blocks([1, 3]) == "block #1, block #3"
    assert numbered_blocks([]) == "no block"


def test_panel_and_report_name_each_block_alike(make_napari_viewer: Any, tmp_path: Path) -> None:
    viewer = make_napari_viewer(show=True)
    viewer.open_sample("blockplan", "lumbar_postop")
    ws = workspace_for(viewer)
    ws.use_store(CaseStore(tmp_path / "cases.sqlite3"))
    _dock, outcomes = viewer.window.add_plugin_dock_widget("blockplan", "Outcomes")
    ws.start_case(build_demo_case(SAMPLE))
    activate(outcomes)
    doc = Physician(viewer)
    pdf = _flat(
        " ".join(
            page.extract_text()
            for page in PdfReader(
                io.BytesIO(
                    build_report(
                        ws.case, volumes=ws.volumes(), options=ReportOptions(created_at=WHEN)
                    )
                )
            ).pages
        )
    )
    blocks = ws.ledger.blocks
    assert len(blocks) >= 2
    lst = outcomes.block_list
    for row in range(lst.count()):
        doc.click(lst.viewport(), "a block", lst.visualItemRect(lst.item(row)).center())
        shown = outcomes.verdict.text().splitlines()[0]  # "Block #1: positive (under …)"
        name = shown.split(":")[0]
        block = next(b for b in blocks if numbered_block(b.number, capitalised=True) == name)
        assert block.short_verdict in shown
        assert lst.item(row).text().startswith(f"{name} — ")  # the list names it alike
        assert f"{name} " in pdf, name  # the report's block paragraph and result line

    # the ledger: each source's first reason and its blocks, on screen and in the PDF
    table = outcomes.ledger_table
    heads = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    compared = 0
    for row in range(table.rowCount()):
        cells = {h: table.item(row, c).text() for c, h in enumerate(heads)}
        if cells["Blocks"]:
            assert cells["Blocks"].startswith("block #"), cells["Blocks"]
            assert _flat(cells["Blocks"]) in pdf
        if "block #" in cells["Why"]:
            assert _flat(cells["Why"]) in pdf, cells["Why"]
            compared += 1
    assert compared, "some reason on screen names a block"
    assert "block 1 " not in pdf and "Block 1 " not in pdf  # no second numbering left
