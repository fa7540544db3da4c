#!/usr/bin/env bash
# CI, after `make test`: blockplan installed as a new user installs it.
#
# Builds the wheel from the tracked files, installs it with its napari extra and the lowest
# napari the project supports (pyproject: napari>=0.9.0,<0.10; `make test` runs the newest)
# into a fresh virtual environment, then — in a mount namespace where the system font and
# ICC folders are empty tmpfs mounts, with an empty home and cache — runs `blockplan demo`
# (which generates the sample study into the cache and writes the PDF/A report: fonts from
# matplotlib, sRGB profile from highdicom) and napari's plugin discovery (`npe2 list`).
# Then installs the wheel alone (no extras) into a second fresh virtual environment and runs
# `blockplan demo` there: the core must not lean on what an extra happens to install.
# Needs root for the mount namespace (or unprivileged user namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
py=${PYTHON:-python3}
lowest_napari=$(sed -n 's/.*"napari\[pyqt6\]>=\([0-9.]*\),.*/\1/p' pyproject.toml | head -1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start=$SECONDS
step() { echo "ci-wheel [$((SECONDS - start)) s]: $*"; }

step "building the wheel from the tracked files"
mkdir "$work/src"
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$work/src"
"$repo/.venv/bin/python" -m pip wheel --quiet --no-deps --no-build-isolation \
  -w "$work/dist" "$work/src"
wheel=$(ls "$work"/dist/blockplan-*.whl)

step "installing $(basename "$wheel")[napari] with napari $lowest_napari into a fresh venv"
"$py" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --upgrade pip
"$work/venv/bin/python" -m pip install --quiet "${wheel}[napari]" "napari[pyqt6]==${lowest_napari}"
if "$work/venv/bin/python" -c "import SimpleITK" 2>/dev/null; then :; else
  echo "ci-wheel: the napari extra did not bring SimpleITK (imaging)" >&2
  exit 1
fi
if "$work/venv/bin/python" -c "import libjpeg" 2>/dev/null; then
  echo "ci-wheel: the GPL decoder pylibjpeg-libjpeg came without the gpl extra" >&2
  exit 1
fi

hide=()
for dir in /usr/share/fonts /usr/local/share/fonts /usr/share/color /usr/share/ghostscript; do
  [ -d "$dir" ] && hide+=("$dir")
done
mkdir -p "$work/home"
unshare_args=(-m)
[ "$(id -u)" -eq 0 ] || unshare_args=(-r -m)

step "blockplan demo and npe2 list without ${hide[*]}"
# shellcheck disable=SC2016  # expanded by the inner shell
unshare "${unshare_args[@]}" env -i PATH="$work/venv/bin:/usr/bin:/bin" HOME="$work/home" \
  LANG=C.UTF-8 WORK="$work" HIDE="${hide[*]}" bash -euo pipefail -c '
  for dir in $HIDE; do mount -t tmpfs -o size=1m tmpfs "$dir"; done
  cd "$HOME"
  python - <<EOF
from blockplan.report.fonts import find_font
from blockplan.report.pdfa import bundled_icc_path, srgb_icc_profile
font = find_font("DejaVuSans.ttf")
assert "matplotlib" in font.parts, font
assert srgb_icc_profile() == bundled_icc_path().read_bytes()
print("report font:", font)
print("sRGB profile:", bundled_icc_path())
EOF
  blockplan demo -o "$HOME/demo"
  test -s "$HOME/demo/demo-report.pdf"
  npe2 list | tee "$WORK/npe2.txt"
  grep -q blockplan "$WORK/npe2.txt"
  python - <<EOF
# the reader with the lowest supported napari: DICOM only, "*" never
import numpy as np
from npe2 import PluginManager
from blockplan.sample.locate import sample_study_path
from napari_blockplan._reader import get_reader
pm = PluginManager.instance()
pm.discover()
def readers(path):
    return sorted({r.plugin_name for r in pm.iter_compatible_readers([str(path)])})
np.save("plane.npy", np.zeros((2, 2)))
assert readers("plane.npy") == ["napari"], readers("plane.npy")
assert readers("x/DICOMDIR") == ["blockplan"] and readers("x/IM000001") == ["blockplan"]
sample = sample_study_path()
assert readers(sample) == ["blockplan", "napari"], readers(sample)
assert get_reader(str(sample)) is not None and get_reader("plane.npy") is None
print("reader: DICOM only, with napari", __import__("napari").__version__)
EOF
'
step "the core alone: $(basename "$wheel") without extras into a second fresh venv"
# what a clinic's report server installs: no napari, hence none of what napari brings
# (scipy, scikit-image, pandas …); the demo builds the report with its C-arm previews
"$py" -m venv "$work/core"
"$work/core/bin/python" -m pip install --quiet --upgrade pip
"$work/core/bin/python" -m pip install --quiet "$wheel"
for absent in napari scipy skimage SimpleITK; do
  if "$work/core/bin/python" -c "import $absent" 2>/dev/null; then
    echo "ci-wheel: the core install brought $absent" >&2
    exit 1
  fi
done
mkdir -p "$work/core-home"
(cd "$work/core-home" && env -i PATH="$work/core/bin:/usr/bin:/bin" HOME="$work/core-home" \
  LANG=C.UTF-8 blockplan demo -o "$work/core-home/demo")
test -s "$work/core-home/demo/demo-report.pdf"
step "passed"
