"""The distribution: one wheel, two import packages, the napari manifest."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_wheel_holds_exactly_the_two_packages_and_the_manifest(tmp_path: Path) -> None:
    # build from a copy so the checkout gets no build/ or egg-info folders
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for name in ("blockplan", "plugins", "tests"):
        shutil.copytree(REPO / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    out = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "-w",
            str(out),
            str(src),
        ],
        check=True,
    )
    (wheel,) = out.glob("blockplan-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"blockplan", "napari_blockplan"}
    assert "napari_blockplan/napari.yaml" in names
    assert "blockplan/py.typed" in names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[napari.manifest]" in text
    assert "blockplan = napari_blockplan:napari.yaml" in text
    assert "blockplan = blockplan.cli:main" in text
    # every package of the source tree made it in
    for init in (REPO / "blockplan").rglob("__init__.py"):
        assert init.relative_to(REPO).as_posix() in names, init


def test_core_never_imports_gui_modules() -> None:
    code = (
        "import importlib, pkgutil, sys, blockplan\n"
        "for m in pkgutil.walk_packages(blockplan.__path__, 'blockplan.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in "
        "{'napari', 'qtpy', 'PyQt5', 'PyQt6', 'PySide2', 'PySide6', 'magicgui', 'vispy'})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert out.stdout.strip() == "", f"core imported GUI modules: {out.stdout.strip()}"


def test_plugin_manifest_validates_with_imports() -> None:
    npe2 = Path(sys.executable).with_name("npe2")
    out = subprocess.run(
        [str(npe2), "validate", "blockplan", "--imports"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "valid" in (out.stdout + out.stderr).lower()
