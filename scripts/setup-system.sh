#!/usr/bin/env bash
# Debian packages the test suite needs beyond Python, installed only when missing:
#   - Mesa's EGL/OpenGL (software rendering) for the synthetic-scene renderer (moderngl on EGL).
# The browser (chromium) and the JS tooling are scripts/setup-browser.sh's.
set -euo pipefail
need=()
for pkg in libegl1 libegl-mesa0 libgl1-mesa-dri; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "missing system packages ${need[*]} and no apt-get: install them by hand" >&2
    exit 1
  fi
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
