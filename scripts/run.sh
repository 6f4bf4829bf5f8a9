#!/usr/bin/env bash
# Set up and run baocao on its embedded default: SQLite in instance/, demo data loaded,
# serving http://127.0.0.1:5000, with everything a user meets: the web, the scheduler (reminders,
# mail delivery) and a local mail sink that receives the demo's mail over SMTP (read it on
# Quản trị → Hộp thư trình diễn). Ctrl-C stops all three. Demo accounts: see README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export FLASK_APP=wsgi.py
.venv/bin/flask db upgrade -d app/migrations
.venv/bin/flask seed demo
.venv/bin/flask pki demo  # a demonstration CA: the demo's reports are signed (docs/operations.md)
export MAIL_SERVER=127.0.0.1 MAIL_PORT="${MAIL_PORT:-2525}" MAIL_USE_TLS=0 MAIL_SINK_DIR="$PWD/instance/mail-sink"
export BAOCAO_BASE_URL="${BAOCAO_BASE_URL:-http://127.0.0.1:${PORT:-5000}}"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null' EXIT INT TERM
.venv/bin/flask mail sink --port "$MAIL_PORT" & pids+=($!)
.venv/bin/flask scheduler run --run-now & pids+=($!)
echo "baocao: http://127.0.0.1:${PORT:-5000}  (demo accounts in README.md; mail: smtp://127.0.0.1:$MAIL_PORT)"
.venv/bin/gunicorn --workers 2 --bind "127.0.0.1:${PORT:-5000}" --access-logfile - wsgi:app & pids+=($!)
wait -n "${pids[@]}"
