"""Payer profiles: shipped data, validation, sessions and regions."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from blockplan.errors import ProfileError
from blockplan.outcomes.payer import (
    evaluate_checklist,
    group_sessions,
    list_payer_profiles,
    load_payer_profile,
    spinal_region,
)
from blockplan.outcomes.payer.profile import CheckKind
from blockplan.outcomes.payer.sessions import months_before
from tests.outcomes._factory import block, case_of

SHIPPED = ("cms-lcd-l38773-facet", "cms-lcd-l39242-esi")
FACET_FILE = (
    Path(__file__).parents[2] / "blockplan/outcomes/payer_profiles/cms-lcd-l38773-facet.json"
)
REGIONS = {"cervical/thoracic": ("C", "T"), "lumbar/sacral": ("L", "S")}


def test_shipped_payer_profiles() -> None:
    assert list_payer_profiles() == SHIPPED
    for name in SHIPPED:
        profile = load_payer_profile(name)
        assert profile.name == name
        assert profile.label == f"{name} v1.0.0"
        assert profile.document.verify, "the LCD text itself was not read: marked (verify)"
        assert profile.document.label.endswith("(verify)")
        assert profile.regions == REGIONS
        for check in profile.checks:
            assert len(str(check.citation)) > 20


def test_facet_profile_figures() -> None:
    checks = {c.id: c for c in load_payer_profile("cms-lcd-l38773-facet").checks}
    rfa = checks["two-mbb-before-rfa"]
    assert rfa.kind is CheckKind.DIAGNOSTIC_BLOCKS
    assert (rfa.min_blocks, rfa.min_relief_pct, rfa.criteria_profile) == (2, 80, "strict-dual-80")
    assert checks["diagnostic-sessions-12-months"].max_sessions == 4  # type: ignore[union-attr]
    assert str(checks["diagnostic-sessions-12-months"].citation).endswith("(verify)")


def test_esi_profile_figures() -> None:
    checks = {c.id: c for c in load_payer_profile("cms-lcd-l39242-esi").checks}
    assert checks["sessions-12-months"].max_sessions == 4  # type: ignore[union-attr]
    limits = checks["levels-per-session"].limits  # type: ignore[union-attr]
    assert [(lim.block_types, lim.max_levels) for lim in limits] == [
        (("tfesi", "snrb"), 2),
        (("ilesi",), 1),
        (("caudal",), 1),
    ]
    assert all(str(c.citation).endswith("(verify)") for c in checks.values())


def _write(tmp_path: Path, change: dict[str, object]) -> Path:
    data = json.loads(FACET_FILE.read_text(encoding="utf-8"))
    data.update(change)
    path = tmp_path / "clinic.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_profile_loads_by_path(tmp_path: Path) -> None:
    path = _write(tmp_path, {"name": "clinic-facet", "version": "2.0"})
    assert load_payer_profile(path).label == "clinic-facet v2.0"
    assert load_payer_profile(str(path)).name == "clinic-facet"


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"citations": []}, "field 'citations'"),
        ({"checks": [{"kind": "pain_scores", "id": "x", "title": "Pain"}]}, "citation"),
        ({"regions": {"a": ["L"], "b": ["L", "S"]}}, "one region only"),
        ({"block_types": ["rfa"]}, "field 'block_types.0'"),
    ],
)
def test_invalid_profile_is_refused_with_the_field(
    tmp_path: Path, change: dict[str, object], match: str
) -> None:
    with pytest.raises(ProfileError, match=match):
        load_payer_profile(_write(tmp_path, change))


def test_unknown_and_unreadable_profiles(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="no shipped payer profile named 'nope'"):
        load_payer_profile("nope")
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(ProfileError, match="not valid JSON at line 1"):
        load_payer_profile(bad)


def test_criteria_profile_must_read_blocks_at_the_payer_figure(tmp_path: Path) -> None:
    data = json.loads(_write(tmp_path, {}).read_text(encoding="utf-8"))
    data["checks"][0]["min_relief_pct"] = 50
    path = tmp_path / "mismatch.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ProfileError, match=r"reads blocks at 80 %.*needs 50 %"):
        evaluate_checklist(case_of(block()), path)


def test_a_session_is_the_procedures_of_one_date() -> None:
    case = case_of(block(day=3), block(day=0, hour=1), block(day=0, hour=8))
    sessions = group_sessions(case)
    assert [(s.date, len(s.procedures)) for s in sessions] == [
        (dt.date(2026, 3, 2), 2),
        (dt.date(2026, 3, 5), 1),
    ]
    assert sessions[0].procedures[0].performed_at < sessions[0].procedures[1].performed_at


@pytest.mark.parametrize(
    ("level", "region"),
    [
        ("L5", "lumbar/sacral"),
        ("L5-S1", "lumbar/sacral"),
        ("T12-L1", "lumbar/sacral"),
        ("T11-T12", "cervical/thoracic"),
        ("C7-T1", "cervical/thoracic"),
        ("S1", "lumbar/sacral"),
        (None, None),
    ],
)
def test_spinal_region(level: str | None, region: str | None) -> None:
    assert spinal_region(level, REGIONS) == region


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2027, 3, 1), 12, dt.date(2026, 3, 1)),
        (dt.date(2026, 3, 31), 1, dt.date(2026, 2, 28)),
        (dt.date(2025, 2, 28), 12, dt.date(2024, 2, 28)),
        (dt.date(2024, 2, 29), 12, dt.date(2023, 2, 28)),
        (dt.date(2026, 1, 15), 2, dt.date(2025, 11, 15)),
    ],
)
def test_months_before(day: dt.date, months: int, expected: dt.date) -> None:
    assert months_before(day, months) == expected
