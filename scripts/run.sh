#!/usr/bin/env bash
# Set up and run baocao on its embedded default: SQLite in instance/, demo data loaded,
# serving http://127.0.0.1:5000. Demo accounts: see README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export FLASK_APP=wsgi.py
.venv/bin/flask db upgrade -d app/migrations
.venv/bin/flask seed demo
.venv/bin/flask pki demo  # a demonstration CA: the demo's reports are signed (docs/operations.md)
echo "baocao: http://127.0.0.1:${PORT:-5000}  (demo accounts in README.md)"
exec .venv/bin/gunicorn --workers 2 --bind "127.0.0.1:${PORT:-5000}" --access-logfile - wsgi:app
