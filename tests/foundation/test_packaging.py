"""The distribution: one wheel, two import packages, the napari manifest."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def test_wheel_holds_exactly_the_two_packages_and_the_manifest(tmp_path: Path) -> None:
    # build from a copy so the checkout gets no build/ or egg-info folders
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for name in ("blockplan", "plugins", "tests"):
        shutil.copytree(REPO / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
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
    _check_metadata(zipfile.ZipFile(wheel), names)


def _check_metadata(wheel: zipfile.ZipFile, names: list[str]) -> None:
    """Licence file, no stranger's project URL, classifiers and a lean, permissive core."""
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    meta = wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: BSD-3-Clause" in meta
    # no project URL until a public repository exists: github.com/blockplan/blockplan
    # is somebody else's project (README, "Installing without the checkout")
    urls = [line for line in meta.splitlines() if line.startswith("Project-URL:")]
    assert not [u for u in urls if "github.com/blockplan/" in u.lower()], urls
    assert "Classifier: Programming Language :: Python :: 3.11" in meta
    core = [line for line in meta.splitlines() if line.startswith("Requires-Dist:")]
    core = [line for line in core if "extra ==" not in line]
    for heavy_or_gpl in ("pylibjpeg-libjpeg", "simpleitk", "imagecodecs", "python-gdcm", "napari"):
        assert not any(heavy_or_gpl in line.lower() for line in core), heavy_or_gpl
    for extra in ("imaging", "codecs", "gpl", "napari", "postgres", "all"):
        assert f"Provides-Extra: {extra}" in meta
    assert 'Requires-Dist: pylibjpeg-libjpeg>=2.1; extra == "gpl"' in meta


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


def test_readme_images_have_absolute_urls() -> None:
    """PyPI and the napari hub show README.md without the repository's files."""
    import re

    text = (REPO / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", text)
    assert targets
    for target in targets:
        assert target.startswith("https://"), target
        assert (REPO / "docs" / target.rsplit("/", 1)[-1]).is_file(), target


def test_core_dependency_tree_has_no_gpl_licence() -> None:
    """Walk the installed core requirements (no extras) and read each licence."""
    import re
    from importlib import metadata

    from packaging.requirements import Requirement

    seen: set[str] = set()
    todo = ["blockplan"]
    gpl: list[str] = []
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        seen.add(key)
        dist = metadata.distribution(name)
        licence = _licence(dist.metadata)
        if re.search(r"(?<!L)GPL|GNU General Public", licence):
            gpl.append(f"{name}: {licence[:80]}")
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    assert "pydicom" in seen and "matplotlib" in seen
    assert not gpl, gpl


def _licence(meta: Any) -> str:
    """The SPDX expression, else the licence classifiers, else a short License field
    (some packages put their whole licence text there)."""
    if meta.get("License-Expression"):
        return str(meta["License-Expression"])
    classifiers = [c for c in meta.get_all("Classifier") or [] if c.startswith("License")]
    short = meta.get("License") or ""
    return " ".join(classifiers) + (" " + short if len(short) < 100 else "")


def _requirement_closure(roots: list[tuple[str, str]]) -> set[str]:
    """The distributions (normalised names) ``roots`` need: (name, extra) pairs, walked
    through the installed metadata with each requirement's markers evaluated."""
    import re
    from importlib import metadata

    from packaging.requirements import Requirement

    seen: set[tuple[str, str]] = set()
    todo = list(roots)
    while todo:
        name, extra = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if (key, extra) in seen:
            continue
        seen.add((key, extra))
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # e.g. a platform-specific requirement not installed here
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": extra}):
                todo.append((req.name, ""))
                todo += [(req.name, e) for e in req.extras]
    return {key for key, _ in seen}


def test_core_imports_only_its_declared_dependencies() -> None:
    """Every third-party module the core imports — at the top of a module or inside a
    function — comes from a core requirement or from the extra that adds it (never from
    what napari happens to install, e.g. scipy: a core-only install would fail there)."""
    import ast
    import re
    from importlib import metadata

    allowed = _requirement_closure(
        [("blockplan", e) for e in ("", "imaging", "codecs", "gpl", "postgres")]
    )
    assert "scipy" not in allowed and "napari" not in allowed
    owners = metadata.packages_distributions()
    wrong: list[str] = []
    for path in sorted((REPO / "blockplan").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in ("blockplan", "__future__"):
                    continue
                dists = {re.sub(r"[-_.]+", "-", d).lower() for d in owners.get(top, [])}
                if not dists & allowed:
                    where = path.relative_to(REPO).as_posix()
                    wrong.append(f"{where}:{node.lineno} imports {top} ({sorted(dists)})")
    assert not wrong, wrong
