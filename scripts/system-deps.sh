#!/usr/bin/env bash
# Install the Debian packages blockplan's tests (and napari under Xvfb) need, when missing.
# `system-deps.sh gui` installs only what napari needs on a display, `system-deps.sh demo`
# only what the headless demo report needs (both used by `make run`).
# Runs apt-get update at most once. As non-root it only reports what is missing.
set -euo pipefail

gui=(
  # napari on a display or under a virtual X server (pytest-xvfb starts Xvfb itself)
  xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-xinerama0 libxcb-cursor0
  libxkbcommon-x11-0 libgl1 libegl1 libdbus-1-3 libfontconfig1
)
demo=(
  # the report: embedded fonts (CJK and Hangul names too) and the sRGB output intent
  fonts-dejavu-core fonts-droid-fallback fonts-nanum icc-profiles-free
)
packages=(
  "${gui[@]}"
  "${demo[@]}"
  # DICOM tools: dciodvfy validates what we write; dcmtk encodes test fixtures
  dicom3tools dcmtk
  # report checks: pdftoppm/pdffonts, PDF/A conversion, qpdf; report preview (pdftoppm)
  poppler-utils ghostscript qpdf
  # real servers the tests start on loopback
  postgresql orthanc orthanc-dicomweb
  # network namespace for Orthanc (unshare, ip)
  util-linux iproute2 openssl
)

case "${1:-}" in
  gui) packages=("${gui[@]}" "${demo[@]}" poppler-utils) ;;
  demo) packages=("${demo[@]}") ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "system packages missing (run 'make test' as root to install them): ${missing[*]}" >&2
  exit 0
fi

echo "installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "system packages: installed ${#missing[@]}"
