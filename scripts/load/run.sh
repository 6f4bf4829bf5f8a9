#!/usr/bin/env bash
# Deadline-day load test: gunicorn (production mode) + PostgreSQL + locust, all on 127.0.0.1.
#   bash scripts/load/run.sh                 # 300 clerks, 20 analysts, 5 uploaders, 4 minutes
#   LOAD_TIME=6m WORKERS=5 THREADS=4 bash scripts/load/run.sh
#   HEAVY_POOL=0 bash scripts/load/run.sh    # uploads on the interactive pool too (by default they go to a
#                                            # second, niced pool, as docs/operations.md has nginx route them)
# Needs the app's venv (bash scripts/setup.sh) and, without DATABASE_URL, root to start a
# throwaway PostgreSQL 15 cluster (as CI does). Results: the summary printed at the end, and
# locust's CSV files in $LOAD_WORK. Not part of CI (docs/performance.md has the figures).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
LOAD_TIME=${LOAD_TIME:-4m}
WORKERS=${WORKERS:-5}     # gunicorn's advice: 2 × cores + 1 (2 cores here)
THREADS=${THREADS:-4}
REPORTERS=${REPORTERS:-300}
export LOAD_WORK=${LOAD_WORK:-$(mktemp -d /tmp/baocao-load.XXXXXX)}
export SECRET_KEY=${SECRET_KEY:-load-test-secret-0123456789abcdef}

[ -x .venv/bin/python ] || bash scripts/setup.sh
if [ ! -x scripts/load/.venv/bin/locust ]; then
  python3 -m venv scripts/load/.venv
  scripts/load/.venv/bin/pip install -q -r scripts/load/requirements.txt
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
cleanup() {
  [ -n "${GUNICORN_PID:-}" ] && kill "$GUNICORN_PID" 2>/dev/null || true
  [ -n "${HEAVY_PID:-}" ] && kill "$HEAVY_PID" 2>/dev/null || true
  if [ -n "${PGDATA_TMP:-}" ]; then
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA_TMP" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$PGDATA_TMP"
  fi
}
trap cleanup EXIT

if [ -z "${DATABASE_URL:-}" ]; then
  PGBIN=/usr/lib/postgresql/15/bin
  PGPORT=$(free_port)
  PGDATA_TMP=$(mktemp -d /tmp/pgload.XXXXXX); chown postgres:postgres "$PGDATA_TMP"
  runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA_TMP" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
  # durable commits (fsync on) as in production; 200 connections for 5 workers × pool
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA_TMP" -l "$PGDATA_TMP/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGDATA_TMP -c max_connections=200 -c shared_buffers=512MB" start >/dev/null
  "$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -qAt -c 'CREATE DATABASE baocao_load'
  export DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$PGPORT/baocao_load"
fi

echo "== prepare ($REPORTERS clerks) in $LOAD_WORK"
.venv/bin/python scripts/load/prepare.py --work "$LOAD_WORK" --reporters "$REPORTERS" --uploaders "${UPLOADERS:-5}"

PORT=$(free_port)
echo "== gunicorn: $WORKERS workers × $THREADS threads on 127.0.0.1:$PORT"
BAOCAO_ENV=production SESSION_COOKIE_SECURE=false BAOCAO_INSTANCE="$LOAD_WORK/instance" BAOCAO_ACCESS_LOG=false \
  .venv/bin/gunicorn --workers "$WORKERS" --threads "$THREADS" --bind "127.0.0.1:$PORT" --timeout 120 \
  --access-logfile "$LOAD_WORK/access.log" wsgi:app > "$LOAD_WORK/gunicorn.log" 2>&1 &
GUNICORN_PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.3; done
if [ "${HEAVY_POOL:-1}" = 1 ]; then
  HEAVY_PORT=$(free_port)
  echo "== heavy pool (uploads): 2 workers × 2 threads on 127.0.0.1:$HEAVY_PORT, nice ${HEAVY_NICE:-10}"
  # lower CPU priority (systemd: Nice=10 in the pool's unit): an upload may wait, a save should not
  BAOCAO_ENV=production SESSION_COOKIE_SECURE=false BAOCAO_INSTANCE="$LOAD_WORK/instance" BAOCAO_ACCESS_LOG=false \
    nice -n "${HEAVY_NICE:-10}" .venv/bin/gunicorn --workers 2 --threads 2 --bind "127.0.0.1:$HEAVY_PORT" --timeout 120 \
    --access-logfile "$LOAD_WORK/access-heavy.log" wsgi:app > "$LOAD_WORK/gunicorn-heavy.log" 2>&1 &
  HEAVY_PID=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$HEAVY_PORT/healthz" >/dev/null && break; sleep 0.3; done
  export LOAD_HEAVY_HOST="http://127.0.0.1:$HEAVY_PORT"
fi

USERS=$(python3 -c "import json; a=json.load(open('$LOAD_WORK/accounts.json')); print(sum(len(a[k]) for k in ('reporters','analysts','uploaders')))")
echo "== locust: $USERS users for $LOAD_TIME"
# CPU seconds by process group before and after (the load generator shares the machine)
GROUPS_="gunicorn=$GUNICORN_PID${HEAVY_PID:+ heavy=$HEAVY_PID}"
[ -n "${PGDATA_TMP:-}" ] && GROUPS_="$GROUPS_ postgres=$(head -1 "$PGDATA_TMP/postmaster.pid")"
CPU_BEFORE=$(.venv/bin/python scripts/load/cpu.py $GROUPS_)
vmstat -n 5 > "$LOAD_WORK/vmstat.log" & VMSTAT_PID=$!
START=$(date +%s)
/usr/bin/time -f '{"locust": %U, "locust_sys": %S}' -o "$LOAD_WORK/locust-cpu.json" \
  scripts/load/.venv/bin/locust -f scripts/load/locustfile.py --headless --users "$USERS" --spawn-rate 5 \
  --run-time "$LOAD_TIME" --host "http://127.0.0.1:$PORT" --csv "$LOAD_WORK/locust" --only-summary \
  --stop-timeout 60 2> "$LOAD_WORK/locust.log" || true
ELAPSED=$(( $(date +%s) - START ))
kill "$VMSTAT_PID" 2>/dev/null || true
CPU_AFTER=$(.venv/bin/python scripts/load/cpu.py $GROUPS_)
.venv/bin/python - "$CPU_BEFORE" "$CPU_AFTER" "$LOAD_WORK/locust-cpu.json" "$ELAPSED" "$(nproc)" <<'PY' | tee "$LOAD_WORK/cpu.txt"
import json, sys
before, after, loc = json.loads(sys.argv[1]), json.loads(sys.argv[2]), json.loads(open(sys.argv[3]).read().splitlines()[-1])
used = {k: after[k] - before[k] for k in after}
used["locust"] = loc["locust"] + loc["locust_sys"]
wall, cores = int(sys.argv[4]), int(sys.argv[5])
print(f"== CPU seconds over {wall} s (capacity {cores * wall} on {cores} cores): "
      + ", ".join(f"{k} {v:.0f}" for k, v in used.items()) + f", total {sum(used.values()):.0f}")
PY

echo "== check"
.venv/bin/python scripts/load/check.py --work "$LOAD_WORK"
