"""Two app servers behind nginx (Debian's package), on PostgreSQL: clerks keep saving their
reports through nginx while one server is SIGKILLed; requests go on through the other; the only
errors are the requests that were in flight on the killed one (each reported); the database holds
every save a clerk was told succeeded, each once. Skipped on SQLite or without nginx."""
from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

URL = os.environ.get("TEST_DATABASE_URL", "")
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
pytestmark = pytest.mark.skipif(not URL.startswith("postgresql") or not NGINX, reason="needs PostgreSQL and nginx")
ROOT = Path(__file__).resolve().parents[2]
CLERKS = ["T01.SCT", "T04.SCT", "T08.SCT", "T11.SCT", "T12.SCT", "T14.SCT"]
PERIOD = "2026-M11"


def port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def flask(env, *args, **kw):
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi.py", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300, **kw)


class Clerk(threading.Thread):
    def __init__(self, base: str, agency: str, until: float):
        super().__init__(daemon=True)
        self.base, self.agency, self.until = base, agency, until
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.acked: list[tuple[float, int]] = []  # (when, value) of every save the server confirmed
        self.errors: list[tuple[float, str]] = []
        self.tried: list[int] = []

    def call(self, path, data=None, headers=None):
        req = urllib.request.Request(self.base + path, data=urllib.parse.urlencode(data).encode() if data else None,
                                     headers=headers or {})
        with self.opener.open(req, timeout=30) as r:
            return r.status, r.read().decode("utf-8", "replace")

    def run(self):
        user = "clerk_" + self.agency.replace(".", "_").lower()
        _, page = self.call("/login")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        self.call("/login", {"csrf_token": token, "username": user, "password": "mat-khau-dai-2026"})
        value = 0
        path = f"/reports/BCT-BANLE/{self.agency}/{PERIOD}"
        while time.time() < self.until:
            value += 1
            try:
                _, page = self.call(path)
                token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
                revision = re.search(r'name="revision" value="(\d*)"', page).group(1)
                self.tried.append(value)
                status, body = self.call(path, {"csrf_token": token, "revision": revision, "v|BL_HH_01|": str(value)},
                                         {"X-Autosave": "1", "X-CSRFToken": token})
                if json.loads(body).get("saved"):
                    self.acked.append((time.time(), value))
            except (urllib.error.URLError, OSError, AttributeError, ValueError) as exc:
                self.errors.append((time.time(), f"{type(exc).__name__}: {str(exc)[:120]}"))
                time.sleep(0.2)


def test_one_app_server_killed_mid_run_the_other_carries_on_nothing_lost(database, tmp_path):
    import psycopg
    from sqlalchemy.engine import make_url

    env = {**os.environ, "DATABASE_URL": database, "BAOCAO_INSTANCE": str(tmp_path), "SECRET_KEY": "two-servers-secret-0123456789",
           "BAOCAO_ENV": "production", "SESSION_COOKIE_SECURE": "false", "BAOCAO_ACCESS_LOG": "false",
           "RATELIMIT_ENABLED": "false"}
    env.pop("TEST_DATABASE_URL", None)
    assert flask(env, "db", "upgrade", "-d", "app/migrations").returncode == 0
    seeded = flask(env, "seed", "demo", "--no-history")
    assert seeded.returncode == 0, seeded.stderr[-2000:]
    made = subprocess.run([sys.executable, "-c", (  # the six clerks' accounts in one process (a CLI call each took 15 s)
        "import sys; from wsgi import app; from app.services.users import create_user\n"
        "with app.app_context():\n"
        "    for a in sys.argv[1:]:\n"
        "        create_user(username='clerk_' + a.replace('.', '_').lower(), password='mat-khau-dai-2026',"
        " full_name='Cán bộ ' + a, role='reporter', agency_code=a)"), *CLERKS], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr[-1000:]
    servers, ports = [], [port(), port()]
    for p in ports:
        servers.append(subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "--workers", "2", "--threads", "2", "--bind",
                                         f"127.0.0.1:{p}", "--timeout", "60", "wsgi:app"], cwd=ROOT, env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
    front = port()
    (tmp_path / "nginx.conf").write_text(f"""
worker_processes 1; pid {tmp_path}/nginx.pid; error_log {tmp_path}/nginx-error.log;
events {{ worker_connections 256; }}
http {{
  access_log {tmp_path}/nginx-access.log;
  client_body_temp_path {tmp_path}/body; proxy_temp_path {tmp_path}/proxy; fastcgi_temp_path {tmp_path}/fcgi;
  uwsgi_temp_path {tmp_path}/uwsgi; scgi_temp_path {tmp_path}/scgi;
  upstream baocao {{ server 127.0.0.1:{ports[0]} max_fails=1 fail_timeout=30s; server 127.0.0.1:{ports[1]} max_fails=1 fail_timeout=30s; }}
  server {{
    listen 127.0.0.1:{front};
    location / {{ proxy_pass http://baocao; proxy_set_header Host $host; proxy_next_upstream error timeout http_502;
                 proxy_connect_timeout 2s; }}
  }}
}}
""", encoding="utf-8")
    nginx = subprocess.Popen([NGINX, "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"], stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{front}"
        for _ in range(150):
            try:
                if all(urllib.request.urlopen(f"http://127.0.0.1:{p}/healthz", timeout=2).status == 200 for p in ports):
                    break
            except OSError:
                time.sleep(0.2)
        start = time.time()
        clerks = [Clerk(base, agency, start + 24) for agency in CLERKS]
        for c in clerks:
            c.start()
        time.sleep(8)
        killed_at = time.time()
        os.killpg(servers[0].pid, signal.SIGKILL)  # the whole server: master and workers, mid-run
        for c in clerks:
            c.join(timeout=60)
        errors = [(c.agency, t, e) for c in clerks for t, e in c.errors]
        for e in errors:
            print("error:", e)
        assert len(errors) <= len(clerks)  # at most the request each clerk had in flight on the killed server
        assert all(t >= killed_at - 1 for _, t, _ in errors)
        for c in clerks:
            after = [v for t, v in c.acked if t > killed_at + 1]
            assert after, f"{c.agency}: no save went through after the kill"
        conn = psycopg.connect(make_url(database).set(drivername="postgresql").render_as_string(hide_password=False))
        for c in clerks:
            stored = conn.execute(
                "SELECT sv.number FROM submissions s JOIN agencies a ON a.id = s.agency_id "
                "JOIN submission_versions v ON v.submission_id = s.id AND v.number = (SELECT max(number) FROM submission_versions "
                "WHERE submission_id = s.id) JOIN submission_values sv ON sv.version_id = v.id AND sv.indicator = 'BL_HH_01' "
                "WHERE a.code = %s AND s.period_key = %s", (c.agency, PERIOD)).fetchone()
            last = c.acked[-1][1]
            # the last save the clerk was told of is there — or a later one whose answer was lost in flight
            assert stored is not None and last <= int(stored[0]) <= c.tried[-1], (c.agency, stored, last)
        conn.close()
        print("saves acknowledged:", {c.agency: len(c.acked) for c in clerks}, "errors:", len(errors))
    finally:
        nginx.terminate()
        for s in servers:
            try:
                os.killpg(s.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for s in servers + [nginx]:
            try:
                s.wait(timeout=15)
            except subprocess.TimeoutExpired:
                s.kill()
