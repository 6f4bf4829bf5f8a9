#!/usr/bin/env bash
# Create .venv and install baocao (and, with --dev, what the tests need). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
if [ "${1:-}" = "--dev" ]; then
  .venv/bin/python -m pip install -q -r requirements-dev.txt 2>&1 | grep -v "is ignored" || true
else
  .venv/bin/python -m pip install -q -r requirements.txt 2>&1 | grep -v "is ignored" || true
fi
.venv/bin/python -c "import flask, sqlalchemy, holidays, vietnam_provinces" # fail loudly if the install did not work
