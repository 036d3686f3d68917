#!/usr/bin/env bash
# Installs what the UI browser tests need, only when it is missing:
#   - Debian's chromium (driven by Playwright through executablePath; `playwright install` is never
#     run, so nothing downloads a browser build from a CDN),
#   - fonts-wqy-microhei (5 MB) so Chinese class names render in screenshots (fonts-noto-cjk is 91 MB),
#   - the Python `playwright` client (the dev extra) into the venv,
#   - the npm devDependencies (eslint, axe-core) from package-lock.json.
# Usage: scripts/setup-browser.sh [path/to/python]   (default: .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${1:-.venv/bin/python}"

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk" || need_apt+=(fonts-wqy-microhei)
if [ "${#need_apt[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

"$PY" -c "import playwright" 2>/dev/null || "$PY" -m pip install -q "playwright>=1.44"

if command -v npm >/dev/null 2>&1; then
  # npm ci wipes node_modules; skip it when the installed tree already matches the lock file.
  if [ ! node_modules/.package-lock.json -nt package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
  fi
else
  echo "npm not found: the eslint and axe-core checks will skip (fail under CI=true)" >&2
fi
echo "browser test setup: chromium $(chromium --version 2>/dev/null | awk '{print $2}'), playwright ok"
