"""Messages a physician can act on (issue 16, point 5)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from blockplan.case.model import LevelMarker, PatientPoint
from blockplan.cli import main
from blockplan.errors import SeriesRefusedError
from blockplan.io import discover, load_series
from blockplan.planning.stacks import stack_listing
from tests.io._dicom_factory import SeriesSpec, phantom, uid, write_series


def test_mosaic_refusal_gives_advice_that_leads_somewhere(tmp_path: Path) -> None:
    spec = SeriesSpec(phantom((2, 16, 16)), image_type=("ORIGINAL", "PRIMARY", "MOSAIC"))
    write_series(tmp_path, spec)
    s = discover(tmp_path).series[0]
    assert "dcm2niix" not in s.reasons[0]  # its NIfTI output cannot be opened here
    with pytest.raises(SeriesRefusedError, match=r"exported from the scanner or PACS as single"):
        load_series(s)


def test_images_without_position_are_not_all_called_secondary_captures(tmp_path: Path) -> None:
    def no_position(ds, _k) -> None:  # type: ignore[no-untyped-def]
        del ds.ImagePositionPatient

    write_series(tmp_path, SeriesSpec(phantom((2, 8, 8))), edit=no_position)
    reason = discover(tmp_path).series[0].reasons[0]
    assert "a vendor's grid of several slices in one image" in reason
    assert "(not cross-sectional, e.g. a secondary capture" not in reason


def test_images_that_coincide_get_one_message_naming_count_positions_and_files(
    tmp_path: Path,
) -> None:
    # every slice its own AcquisitionNumber (sequential CT), two positions scanned twice:
    # one refused series with one message, not seven one-image "series"
    positions = [(-100.0, -120.0, z) for z in (0.0, 2.5, 5.0, 5.0, 7.5, 7.5, 10.0)]
    spec = SeriesSpec(phantom((7, 8, 8)), positions=positions, acquisition_number=[*range(7)])
    write_series(tmp_path, spec)
    (s,) = discover(tmp_path).series
    expected = (
        "2 slice position(s) occur more than once (4 images at 5.0–7.5 mm along the slice "
        "normal; files IM0002.dcm … IM0005.dcm)"
    )
    assert s.status == "refused" and s.n_images == 7
    assert s.reasons == [s.reasons[0]] and s.reasons[0].startswith(expected)
    with pytest.raises(SeriesRefusedError, match=re.escape(expected)):
        load_series(s)


def test_disc_angled_stacks_of_one_series_are_listed_with_angle_and_place(
    tmp_path: Path,
) -> None:
    series_uid, study, frame_ref = uid(), uid(), uid()
    for n, (deg, z0) in enumerate(((8.0, 0.0), (-12.0, 40.0))):
        t = math.radians(deg)
        spec = SeriesSpec(
            phantom((3, 8, 8), seed=n),
            series_uid=series_uid,
            study_uid=study,
            for_uid=frame_ref,
            col_dir=(0.0, math.cos(t), math.sin(t)),
            origin=(-100.0, -120.0, z0),
        )
        spec.slice_step = tuple(spec.normal * 3.0)
        write_series(tmp_path, spec, prefix=f"S{n}")
    found = discover(tmp_path)
    # the centre of the images, not of their first voxels (on a 512-row tilted stack those
    # differ by more than a level)
    assert sorted(s.stack for s in found.series) == [
        "stack 1 of 2: 8.0° from axial, centre z 3.4 mm",
        "stack 2 of 2: 12.0° from axial, centre z 42.4 mm",
    ]
    out = CliRunner().invoke(main, ["series", str(tmp_path)]).output
    assert "stack        stack 2 of 2: 12.0° from axial" in out
    assert "centre z 42.4 mm; the disc it crosses is named once levels are marked" in out

    # with the case's level markers each stack names the disc it crosses
    def at(level: str, z: float, frame: str = frame_ref) -> LevelMarker:
        return LevelMarker(
            level=level, position=PatientPoint(lps=(-97.5, -117.0, z), frame_of_reference_uid=frame)
        )

    low, high = sorted(found.series, key=lambda s: s.stack)
    levels = [at("L3", 60.0), at("L4", 20.0), at("L5", -20.0)]
    assert stack_listing(low, levels).endswith("centre z 3.4 mm, crosses the L4-L5 disc")
    assert stack_listing(high, levels).endswith("centre z 42.4 mm, crosses the L3-L4 disc")
    assert stack_listing(high, levels[1:]).endswith("beyond the marked levels: mark the next level")
    elsewhere = [at(m.level, m.position.lps[2], uid()) for m in levels]  # another frame
    assert stack_listing(low, elsewhere).endswith("named once levels are marked")
