#!/usr/bin/env bash
# Create .venv if needed, install livecert (versions from constraints.txt), and
# verify the bundled sample clip (or the video given as the first argument).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --disable-pip-version-check -q -c constraints.txt -e . 2>&1 \
    | grep -v "^WARNING: Location" || true
exec .venv/bin/livecert verify "${1:-samples/astronaut_blink.mp4}" "${@:2}"
