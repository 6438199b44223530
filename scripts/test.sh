#!/usr/bin/env bash
# Create .venv if needed, install livecert with its test extras, run the tests.
# Real-data tests use LIVECERT_DATA (default ../shared/data); extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --disable-pip-version-check -q -e ".[test]" 2>&1 | grep -v "^WARNING: Location" || true
exec .venv/bin/python -m pytest -q "$@"
