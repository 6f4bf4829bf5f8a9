#!/usr/bin/env bash
# Create .venv and install baocao (and, with --dev, what the tests need). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# PyICU (Vietnamese order and search) builds against the system's ICU: install its headers when missing
if ! pkg-config --exists icu-i18n 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libicu-dev pkg-config g++ >/dev/null
  else
    echo "baocao needs ICU's headers to build PyICU: sudo apt-get install libicu-dev pkg-config g++" >&2
  fi
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
if [ "${1:-}" = "--dev" ]; then
  .venv/bin/python -m pip install -q -r requirements-dev.txt 2>&1 | grep -v "is ignored" || true
else
  .venv/bin/python -m pip install -q -r requirements.txt 2>&1 | grep -v "is ignored" || true
fi
.venv/bin/python -c "import flask, sqlalchemy, holidays, vietnam_provinces, icu" # fail loudly if the install did not work
