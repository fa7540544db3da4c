#!/usr/bin/env bash
# The main job: napari with the sample study when a display exists, the headless demo otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  bash scripts/system-deps.sh gui
  echo "display found: opening napari with the synthetic sample study"
  exec .venv/bin/blockplan view sample_dicom
fi
bash scripts/system-deps.sh demo
echo "no display: running the headless demo (blockplan demo)"
exec .venv/bin/blockplan demo
