#!/usr/bin/env bash
# Set up and run the whole test suite. SQLite by default; set TEST_DATABASE_URL to run it on
# PostgreSQL. Browser tests use the system Chromium (/usr/bin/chromium); they are skipped with a
# reason when it is missing unless BAOCAO_REQUIRE_BROWSER=1 (CI sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
set +e
.venv/bin/python -m pytest -q "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi
exit "$status"
