"""Optional extras: a feature whose package is missing says which extra to install."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from blockplan.errors import MissingExtraError
from blockplan.extras import EXTRAS, import_extra

REPO = Path(__file__).resolve().parents[2]


def test_every_extra_of_the_distribution_is_described() -> None:
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert set(declared["optional-dependencies"]) - {"test"} == set(EXTRAS)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for extra in EXTRAS:
        assert f"`{extra}`" in readme, extra


def test_a_missing_extra_is_one_line_naming_the_pip_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from blockplan.io.resample import resample_image

    monkeypatch.setitem(sys.modules, "SimpleITK", None)  # as if not installed
    with pytest.raises(MissingExtraError, match=r"pip install 'blockplan\[imaging\]'"):
        import_extra("SimpleITK", "imaging", "growing the scar region")
    rotated = np.eye(4)
    rotated[:2, :2] = [[0.8, -0.6], [0.6, 0.8]]  # not axis-aligned: needs SimpleITK
    with pytest.raises(MissingExtraError, match=r"oblique or tilted grid.*blockplan\[imaging\]"):
        resample_image(np.ones((4, 5, 6), np.float32), rotated, (4, 5, 6), from_affine=np.eye(4))
