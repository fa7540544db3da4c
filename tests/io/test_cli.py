"""``blockplan series``: text and JSON listing from headers only."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from blockplan.cli import main
from blockplan.io import discover, load_series
from tests.io._dicom_factory import SeriesSpec, phantom, write_series


def test_series_json_lists_geometry_without_decoding(tmp_path: Path, unchanged) -> None:
    t = math.radians(12.0)
    tilted = SeriesSpec(
        phantom((4, 10, 8)), col_dir=(0.0, math.cos(t), math.sin(t)), slice_step=(0, 0, 2.0)
    )
    write_series(tmp_path / "a", tilted)
    write_series(
        tmp_path / "b",
        SeriesSpec(
            phantom((3, 6, 6)),
            series_number=8,
            study_uid=tilted.study_uid,
            image_type=("ORIGINAL", "MOSAIC"),
        ),
    )
    (tmp_path / "README").write_text("hello")
    unchanged(tmp_path)
    result = CliRunner().invoke(main, ["series", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["format"] == "blockplan.series" and doc["version"] == 1
    first, second = doc["series"]
    assert first["series_number"] == 3 and first["status"] == "warnings"
    assert first["shape"] == [4, 10, 8]
    assert first["geometry_note"] == "sheared (gantry tilt 12.0°)"
    assert first["transfer_syntaxes"][0]["uid"] == "1.2.840.10008.1.2.1"
    vol = load_series(discover(tmp_path / "a").series[0])
    np.testing.assert_allclose(np.array(first["affine"]), vol.affine, atol=1e-5)
    np.testing.assert_allclose(first["spacing_mm"], vol.spacing, atol=1e-5)
    assert second["status"] == "refused" and second["affine"] is None
    assert "MOSAIC" in second["reasons"][0]
    assert doc["skipped"] == [{"path": str(tmp_path / "README"), "reason": "not a DICOM file"}]
    assert "SYNTHETIC" not in result.output and "SYNTH-0001" not in result.output


def test_series_text(tmp_path: Path) -> None:
    write_series(tmp_path, SeriesSpec(phantom((3, 6, 5))))
    result = CliRunner().invoke(main, ["series", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Series 3  CT  synthetic phantom  [OK]" in result.output
    assert "3 slices × 6 rows × 5 columns" in result.output
    assert "(i, j, k, 1) → LPS mm" in result.output


def test_series_nothing_found_is_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    result = CliRunner().invoke(main, ["series", str(tmp_path)])
    assert result.exit_code == 2
    assert "no image series found" in result.output
    assert "Traceback" not in result.output
    result = CliRunner().invoke(main, ["series", str(tmp_path), "--json"])
    assert result.exit_code == 2
    assert json.loads(result.output)["series"] == []
