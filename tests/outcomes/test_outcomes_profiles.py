"""Shipped profiles validate and cite sources; bad profile files fail with a clear error."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from blockplan.case.vocab import Agent, BlockType, Structure
from blockplan.errors import ProfileError
from blockplan.outcomes.diary import DEFAULT_DIARY_TIMES_MIN
from blockplan.outcomes.profiles import (
    Acting,
    ConfirmationRule,
    FlagCode,
    Profile,
    Severity,
    list_profiles,
    load_profile,
    profile_path,
)

SHIPPED = ("asra-2020-single", "comparative", "placebo-controlled", "sij", "strict-dual-80")


def test_the_five_profiles_ship() -> None:
    assert list_profiles() == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_profile_validates_and_cites(name: str) -> None:
    profile = load_profile(name)
    assert profile.name == name == profile_path(name).stem
    assert re.fullmatch(r"\d+\.\d+\.\d+", profile.version)
    assert profile.title and profile.summary
    assert profile.citations and all(len(c.text) > 20 for c in profile.citations)
    assert profile.label == f"{name} v{profile.version}"
    assert profile.min_sustained_min == 30
    assert profile.diary_times_min == DEFAULT_DIARY_TIMES_MIN
    # §4: validity flags invalidate; intravascular contrast without DSA is a warning only.
    for code in FlagCode:
        expected = (
            Severity.WARNING if code is FlagCode.INTRAVASCULAR_WITHOUT_DSA else Severity.INVALID
        )
        assert profile.severity(code) is expected
    # §2 caps.
    caps = profile.volume_caps
    assert (caps[BlockType.MEDIAL_BRANCH].max_ml, caps[BlockType.MEDIAL_BRANCH].per_branch) == (
        0.5,
        True,
    )
    assert caps[BlockType.FACET_INTRAARTICULAR].max_ml == 1.5
    assert not caps[BlockType.FACET_INTRAARTICULAR].limit_allowed
    assert caps[BlockType.SELECTIVE_NERVE_ROOT].max_ml == 0.75
    assert caps[BlockType.SACROILIAC_JOINT].max_ml == 2.0
    # Agent windows.
    assert profile.agents[Agent.LIDOCAINE].window_min == (30, 120)
    assert profile.agents[Agent.BUPIVACAINE].window_min == (120, 240)
    ropi = profile.agents[Agent.ROPIVACAINE]
    assert ropi.acting is Acting.LONG and ropi.citation is not None and ropi.citation.verify


def test_shipped_files_are_package_data() -> None:
    folder = Path(str(resources.files("blockplan.outcomes").joinpath("profiles")))
    assert sorted(p.stem for p in folder.glob("*.json")) == list(SHIPPED)
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert '"**/*.json"' in pyproject


@pytest.mark.parametrize(
    ("name", "threshold", "rule", "checks"),
    [
        (
            "asra-2020-single",
            50,
            ConfirmationRule.SINGLE,
            {"discordant_pair_makes_indeterminate": False},
        ),
        (
            "strict-dual-80",
            80,
            ConfirmationRule.DUAL,
            {"require_duration_consistent_with_agent": True, "sij_requires_movements": True},
        ),
        (
            "comparative",
            80,
            ConfirmationRule.COMPARATIVE,
            {"concordant_prolonged_counts_positive": False},
        ),
        ("placebo-controlled", 80, ConfirmationRule.PLACEBO_CONTROLLED, {}),
        (
            "sij",
            75,
            ConfirmationRule.DUAL,
            {"sij_requires_movements": True, "structures": (Structure.SACROILIAC_JOINT,)},
        ),
    ],
)
def test_profile_rules(
    name: str, threshold: float, rule: ConfirmationRule, checks: dict[str, Any]
) -> None:
    profile = load_profile(name)
    assert profile.threshold_pct == threshold
    assert profile.confirmation is rule
    for field, value in checks.items():
        assert getattr(profile, field) == value


def test_load_by_path(tmp_path: Path) -> None:
    data = json.loads(profile_path("asra-2020-single").read_text())
    data.update(name="site-local", version="2.1")
    path = tmp_path / "site.json"
    path.write_text(json.dumps(data))
    assert load_profile(path).label == "site-local v2.1"
    assert load_profile(str(path)).name == "site-local"


def _bad(tmp_path: Path, **changes: Any) -> Path:
    data = json.loads(profile_path("strict-dual-80").read_text())
    for key, value in changes.items():
        if value is ...:
            del data[key]
        else:
            data[key] = value
    path = tmp_path / "bad-profile.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"threshold_pct": 150}, r"field 'threshold_pct'"),
        ({"threshold_pct": ...}, r"field 'threshold_pct': Field required"),
        ({"citations": []}, r"field 'citations'"),
        ({"confirmation": "majority"}, r"field 'confirmation'"),
        ({"name": "Has Spaces"}, r"field 'name'"),
        ({"diary_times_min": [0, 30, 15]}, r"diary_times_min must be strictly increasing"),
        ({"flags": {"sedation": "invalid"}}, r"flags: severity missing for over_volume"),
        ({"flags": {"sedation": "maybe"}}, r"field 'flags\.sedation'"),
        (
            {"agents": {"lidocaine": {"window_min": [120, 30], "acting": "short"}}},
            r"field 'agents\.lidocaine'",
        ),
        ({"volume_caps": {"mbb": {"max_ml": -1}}}, r"field 'volume_caps\.mbb\.max_ml'"),
        ({"threshhold": 50}, r"field 'threshhold': Extra inputs are not permitted"),
    ],
)
def test_bad_profile_file_names_file_and_field(
    tmp_path: Path, changes: dict[str, Any], match: str
) -> None:
    path = _bad(tmp_path, **changes)
    with pytest.raises(ProfileError, match=match) as info:
        load_profile(path)
    assert str(path) in str(info.value)


def test_profile_not_json(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"name": "x",\n  oops}')
    with pytest.raises(ProfileError, match=r"broken\.json: not valid JSON at line 2"):
        load_profile(path)


def test_profile_file_missing(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=r"nowhere\.json: cannot be read"):
        load_profile(tmp_path / "nowhere.json")


def test_unknown_profile_name_lists_the_shipped_ones() -> None:
    with pytest.raises(ProfileError, match=r"no shipped profile named 'strict-dual-50'.*asra"):
        load_profile("strict-dual-50")


def test_profile_is_frozen() -> None:
    profile = load_profile("asra-2020-single")
    with pytest.raises(ValueError, match="frozen"):
        profile.threshold_pct = 10  # type: ignore[misc]
    assert isinstance(profile, Profile)
