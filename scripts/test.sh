#!/usr/bin/env bash
# Create .venv if needed, install livecert with the extras its tests use (versions from constraints.txt)
# and the Debian packages they need, run the lint, format and type checks, then all tests.
# Real-data tests use LIVECERT_DATA (default ../shared/data); extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# test, ray, parquet: the suite itself, `livecert batch --ray`, Parquet manifests; ledger: `livecert ledger`;
# serve, serve-test: `livecert serve` and its browser tests (Playwright); mandarin: the Vosk model-folder loader.
.venv/bin/python -m pip install --disable-pip-version-check -q -c constraints.txt \
    -e ".[test,ray,parquet,ledger,serve,serve-test,mandarin]" 2>&1 | grep -v "^WARNING: Location" || true

# Debian packages, installed when missing (as root with apt-get); each test that needs one skips without it and
# fails under CI=true:
#   postgresql      server binaries for the throwaway PostgreSQL of tests/ledger_pg.py (ledger tests)
#   chromium        the real browser of tests/realdata/test_serve_browser_real.py
#   espeak-ng       Mandarin test voices for tests/unit/test_mandarin_vosk.py
#   fonts-noto-cjk  Chinese text in the demo overlay (tests/unit/test_draw.py)
missing=()
command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v chromium >/dev/null || missing+=(chromium)
command -v espeak-ng >/dev/null || missing+=(espeak-ng)
[ -e /usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc ] || missing+=(fonts-noto-cjk)
if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "== apt-get install ${missing[*]}"
    { apt-get install -y -qq "${missing[@]}" || { apt-get update -qq && apt-get install -y -qq "${missing[@]}"; }; } \
        >/dev/null 2>&1 || echo "note: could not install ${missing[*]}; the tests that need them will skip"
fi

echo "== ruff check, ruff format --check, mypy --strict"
.venv/bin/ruff check src tests benchmarks samples
.venv/bin/ruff format --check src tests benchmarks samples
.venv/bin/mypy
# One pytest worker per CPU (pytest-xdist); a test file's tests stay on one worker, so the real-data files'
# module fixtures are computed once. `scripts/test.sh -n 0` runs in one process.
echo "== pytest"
exec .venv/bin/python -m pytest -q -n auto --dist loadfile "$@"
