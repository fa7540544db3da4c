"""``blockplan levels`` on the sample study: CT and sagittal MR proposals, JSON, error exits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from blockplan.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"

pytestmark = pytest.mark.skipif(
    not (SAMPLE / "truth.json").is_file(), reason="sample_dicom/ not generated"
)


def test_levels_picks_the_ct_and_prints_levels_with_reasons() -> None:
    result = CliRunner().invoke(main, ["levels", str(SAMPLE)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("Series 2: level proposal (decision support")
    labels = [ln.split()[0] for ln in lines[1:] if ln.startswith("  ") and "mm LPS" in ln]
    assert labels[0] == "T12" and labels[-1] == "S1" and "L4-L5" in labels and len(labels) == 13
    assert "  - the counts from the sacrum and from the lowest ribs agree" in lines
    assert any(ln.startswith("  - sacrum found below the disc at (") for ln in lines)
    assert "Not proposed:" in lines


def test_levels_json_for_one_series() -> None:
    result = CliRunner().invoke(main, ["levels", str(SAMPLE), "--series", "2", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["format"] == "blockplan.levels" and data["series_number"] == 2
    l4 = next(lv for lv in data["levels"] if lv["label"] == "L4")
    truth = json.loads((SAMPLE / "truth.json").read_text(encoding="utf-8"))
    centre = truth["vertebrae"]["L4"]["center_lps"]
    assert sum((a - b) ** 2 for a, b in zip(l4["centre_lps"], centre, strict=True)) ** 0.5 < 5
    assert l4["confidence"] == 0.95 and data["sacrum_count"] == data["rib_count"] == "T12"


def test_levels_on_the_sagittal_mr_series_counts_from_the_sacrum() -> None:
    # issue 19 point 2: the sagittal MR gets a proposal (it was empty, "expected CT")
    result = CliRunner().invoke(main, ["levels", str(SAMPLE), "--series", "3"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("Series 3: level proposal (decision support")
    labels = [ln.split()[0] for ln in lines[1:] if ln.startswith("  ") and "mm LPS" in ln]
    assert labels[-3:] == ["L5", "L5-S1", "S1"] and "L4" in labels
    assert "confidence 0.60" in lines[1] and "the count rests on the sacrum alone" in lines[1]
    assert any(ln.startswith("  - MR: the spinal canal followed on the sagittal") for ln in lines)


def test_levels_without_a_ct_takes_the_sagittal_mr(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(SAMPLE / "S0003_MR_T2_SAG", tmp_path / "mr")
    result = CliRunner().invoke(main, ["levels", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["series_number"] == 3
    s1 = next(lv for lv in data["levels"] if lv["label"] == "S1")
    truth = json.loads((SAMPLE / "truth.json").read_text(encoding="utf-8"))
    centre = truth["vertebrae"]["S1"]["center_lps"]
    assert sum((a - b) ** 2 for a, b in zip(s1["centre_lps"], centre, strict=True)) ** 0.5 < 5


def test_levels_without_a_ct_or_sagittal_mr_exits_0_and_says_why(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(SAMPLE / "S0004_MR_T1_AX_GD", tmp_path / "mr")
    result = CliRunner().invoke(main, ["levels", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["levels"] == []
    assert data["reasons"] == [
        "no loadable CT or sagittal MR series under the path (series found: 4): levels are "
        "proposed on CT or on a sagittal MR"
    ]


def test_levels_on_an_axial_mr_series_exits_0_and_says_choose_the_sagittal() -> None:
    result = CliRunner().invoke(main, ["levels", str(SAMPLE), "--series", "4"])
    assert result.exit_code == 0, result.output
    assert "  no level proposed" in result.output
    assert (
        "  - series 4: an axial MR stack does not show the column; choose the sagittal series"
        in result.output.splitlines()
    )


def test_levels_unknown_series_is_one_line_and_exit_2() -> None:
    result = CliRunner().invoke(main, ["levels", str(SAMPLE), "--series", "9"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"blockplan: error: {SAMPLE}: no series 9 (found: 2, 3, 4, 5): pick one of those "
        "with --series"
    ]


def test_levels_with_a_case_whose_markers_are_one_level_off_says_so(tmp_path: Path) -> None:
    from blockplan.case.casefile import save_case_file
    from blockplan.case.model import Case, LevelMarker, PatientPoint

    truth = json.loads((SAMPLE / "truth.json").read_text(encoding="utf-8"))
    frame = truth["frame_of_reference_uid"]
    bodies = ("L3", "L4", "L5")
    markers = tuple(
        LevelMarker(
            level=name,
            position=PatientPoint(
                lps=tuple(truth["vertebrae"][body]["center_lps"]), frame_of_reference_uid=frame
            ),
        )
        for name, body in zip(("L4", "L5", "S1"), bodies, strict=True)
    )
    case_file = save_case_file(Case(levels=markers), tmp_path / "off.blockplan.json")
    result = CliRunner().invoke(
        main, ["levels", str(SAMPLE), "--series", "2", "--case", str(case_file)]
    )
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith(
        "Level count: the markers and the automatic count disagree by one level — the level "
        "marked L4 is L3 by the automatic count"
    )
    assert "markers name these bodies L4–S1, the automatic count L3–L5" in last
    as_json = CliRunner().invoke(main, ["levels", str(SAMPLE), "--case", str(case_file), "--json"])
    check = json.loads(as_json.output)["check"]
    assert check["status"] == "disagree"
    assert [(p["marker"], p["proposed"], p["offset"]) for p in check["pairs"]] == [
        ("L4", "L3", -1),
        ("L5", "L4", -1),
        ("S1", "L5", -1),
    ]
