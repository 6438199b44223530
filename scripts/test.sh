#!/usr/bin/env bash
# Create .venv if needed, install livecert with its test, ray and parquet extras (versions from
# constraints.txt), run the lint, format and type checks, then all tests.
# Real-data tests use LIVECERT_DATA (default ../shared/data); extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install --disable-pip-version-check -q -c constraints.txt -e ".[test,ray,parquet]" 2>&1 \
    | grep -v "^WARNING: Location" || true
# The certification ledger (livecert ledger): its extra, and Debian's PostgreSQL server binaries for the
# throwaway server of tests/ledger_pg.py (the PostgreSQL half of the ledger tests skips without them, fails under CI=true).
.venv/bin/python -m pip install --disable-pip-version-check -q -c constraints.txt -e ".[ledger]" 2>&1 \
    | grep -v "^WARNING: Location" || true
if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
    && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    { apt-get install -y -qq postgresql || { apt-get update -qq && apt-get install -y -qq postgresql; }; } \
        >/dev/null 2>&1 || echo "note: postgresql could not be installed; the PostgreSQL ledger tests will skip"
fi
# Mandarin read-digits: the vosk extra (its model-folder loading is tested), and Debian's espeak-ng, whose Mandarin
# voice speaks the digits tests/unit/test_mandarin_vosk.py recognises (both skip without them, fail under CI=true).
.venv/bin/python -m pip install --disable-pip-version-check -q -c constraints.txt -e ".[mandarin]" 2>&1 \
    | grep -v "^WARNING: Location" || true
if ! command -v espeak-ng >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    { apt-get install -y -qq espeak-ng || { apt-get update -qq && apt-get install -y -qq espeak-ng; }; } \
        >/dev/null 2>&1 || echo "note: espeak-ng could not be installed; the Mandarin audio tests will skip"
fi
# Chinese text in the demo needs a CJK font; tests/unit/test_draw.py skips its Chinese check without one.
if [ ! -e /usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc ] && command -v apt-get >/dev/null \
    && [ "$(id -u)" = 0 ]; then
    { apt-get install -y -qq fonts-noto-cjk || { apt-get update -qq && apt-get install -y -qq fonts-noto-cjk; }; } \
        >/dev/null 2>&1 || echo "note: fonts-noto-cjk could not be installed; the Chinese overlay test will skip"
fi
echo "== ruff check, ruff format --check, mypy --strict"
.venv/bin/ruff check src tests benchmarks samples
.venv/bin/ruff format --check src tests benchmarks samples
.venv/bin/mypy
echo "== pytest"
exec .venv/bin/python -m pytest -q "$@"
