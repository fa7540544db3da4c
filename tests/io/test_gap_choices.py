"""A missing slice: refuse, resample (marked as interpolated) or split at the gap, from
the Python API and the ``blockplan series`` CLI (issue 16, point 4)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from blockplan.cli import main
from blockplan.errors import GeometryWarning, SeriesRefusedError
from blockplan.io import discover, load_series
from blockplan.io.gaps import load_options, split_at_gaps, with_choices
from tests.io._dicom_factory import SeriesSpec, phantom, write_series
from tests.io.conftest import assert_geometry


def _gapped(tmp_path: Path) -> SeriesSpec:
    spec = SeriesSpec(phantom((7, 12, 10)))
    write_series(tmp_path, spec, indices=[0, 1, 2, 4, 5, 6])  # slice 3 missing
    return spec


def test_refusal_names_the_choices_a_physician_has(tmp_path: Path) -> None:
    _gapped(tmp_path)
    s = discover(tmp_path).series[0]
    assert s.status == "refused"
    with pytest.raises(
        SeriesRefusedError, match=r"marked as interpolated\) or split at the gap — Study browser"
    ):
        load_series(s)


def test_split_at_the_gap_gives_two_exact_regular_parts(tmp_path: Path) -> None:
    spec = _gapped(tmp_path)
    parts = split_at_gaps(discover(tmp_path).series[0])
    assert [p.n_images for p in parts] == [3, 3]
    assert [p.status for p in parts] == ["warnings", "warnings"]
    assert parts[0].reasons[0] == "part 1 of 2 (split at a gap)"
    assert parts[0].key.endswith("|part=1") and parts[1].key.endswith("|part=2")
    first, second = (load_series(p) for p in parts)
    np.testing.assert_array_equal(first.array, spec.volume[:3] - 1024)
    np.testing.assert_array_equal(second.array, spec.volume[4:] - 1024)
    assert_geometry(second, spec, file_order=[4, 5, 6])
    assert not first.is_interpolated and not second.is_interpolated


def test_resample_choice_assesses_and_loads_marked_as_interpolated(tmp_path: Path) -> None:
    _gapped(tmp_path)
    (s,) = with_choices(discover(tmp_path).series, gaps="resample")
    assert s.status == "warnings" and s.shape == (7, 12, 10)
    assert any("resampled 6 slices to 7" in r for r in s.reasons)
    with pytest.warns(GeometryWarning, match="resampled 6 slices to 7"):
        vol = load_series(s, **load_options("resample"))
    assert vol.is_interpolated and vol.shape == (7, 12, 10)


def test_series_cli_lists_the_parts_or_the_resampled_grid(tmp_path: Path) -> None:
    _gapped(tmp_path)
    runner = CliRunner()
    split = json.loads(
        runner.invoke(main, ["series", str(tmp_path), "--json", "--gaps", "split"]).output
    )
    assert [(s["n_images"], s["status"]) for s in split["series"]] == [(3, "warnings")] * 2
    resampled = runner.invoke(main, ["series", str(tmp_path), "--gaps", "resample"])
    assert resampled.exit_code == 0, resampled.output
    assert "7 slices × 12 rows × 10 columns" in resampled.output
    assert "resampled to regular spacing 2.50 mm" in resampled.output
    refused = runner.invoke(main, ["series", str(tmp_path)])
    assert "[REFUSED]" in refused.output


def test_cli_offers_the_same_gap_and_tilt_choices_as_the_core() -> None:
    import typing

    from blockplan._cli_series import series
    from blockplan.io.gaps import GAP_CHOICES, GapChoice
    from blockplan.io.geometry import TiltMode

    offered = {p.name: tuple(p.type.choices) for p in series.params if p.name in ("gaps", "tilt")}
    assert offered["gaps"] == GAP_CHOICES == typing.get_args(GapChoice)
    assert offered["tilt"] == typing.get_args(TiltMode)
