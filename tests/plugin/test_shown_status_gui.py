"""The Outcomes panel, the viewer's target colours and the report show one status per
source (`blockplan.outcomes.shown_status`), read with real clicks (Xvfb)."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pypdf import PdfReader

from blockplan.case import BlockType
from blockplan.outcomes import UNTESTED, UNTESTED_TEXT, shown_status_key, shown_status_text
from blockplan.report import build_report
from napari_blockplan._layers import STATUS_COLOURS, layer_for
from tests.plugin._gui import Physician

pytestmark = pytest.mark.gui

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_panel_viewer_and_report_show_the_same_status(outcomes: Any) -> None:
    viewer, widget, ws = outcomes
    doc = Physician(viewer)

    pdf = PdfReader(io.BytesIO(build_report(ws.case)))
    report = _flat(" ".join(page.extract_text() for page in pdf.pages))
    detail = report.split("Sources in detail", 1)[1]
    table = widget.ledger_table
    sources = {s.label: s for s in ws.ledger.sources}
    assert table.rowCount() == len(sources) >= 3
    seen = []
    for row in range(table.rowCount()):
        cell = table.item(row, 0)
        table.scrollToItem(cell)
        doc.click(table.viewport(), f"ledger row {row}", table.visualItemRect(cell).center())
        label, shown = cell.text(), table.item(row, 1).text()
        source = sources[label]
        assert shown == shown_status_text(source)  # the panel's Status column …
        assert f"{label} {shown} " in detail  # … is the report's
        details = widget.ledger_details.text().splitlines()
        assert details[0] == f"{label}: {source.status_text}"  # the row clicked, in words
        colour = table.item(row, 1).background().color().name().upper()
        assert colour == STATUS_COLOURS[shown_status_key(source)].upper()
        seen.append(shown)
    assert UNTESTED_TEXT in seen and "indeterminate" not in seen
    assert details[0].startswith(f"{label}: ") and doc.actions == table.rowCount()

    # the viewer colours the TFESI target (reached only by a therapeutic block) as untested
    targets = layer_for(viewer, "targets")
    colours = dict(zip(targets.features["id"], targets.face_color, strict=True))
    tfesi = next(
        t
        for t in ws.case.targets
        if t.block_type is BlockType.TRANSFORAMINAL_EPIDURAL and t.side.value == "right"
    )
    from napari.utils.colormaps.standardize_color import transform_color

    assert np.allclose(colours[tfesi.id], transform_color(STATUS_COLOURS[UNTESTED])[0])
    untested_row = next(
        r for r in range(table.rowCount()) if table.item(r, 1).text() == UNTESTED_TEXT
    )
    assert "nerve root" in table.item(untested_row, 0).text()
