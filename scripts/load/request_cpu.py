"""CPU time of each deadline-day request, one at a time, in this process (no server, no load):
what a clerk's morning costs the app server, to find what to trim before a load run.

    DATABASE_URL=… python scripts/load/request_cpu.py --work DIR [--clerks 15] [--first 0]
        [--profile "open form,submit"]        # cProfile of those steps, by own time

DIR is a work directory written by `scripts/load/prepare.py` (its clerks must not have submitted
yet: use --first to take fresh ones). Prints the median and maximum thread CPU per step; the
figures in docs/performance.md ("CPU per request") come from it.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True, type=Path)
    ap.add_argument("--clerks", type=int, default=15)
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--profile", default="")
    args = ap.parse_args()
    os.environ.setdefault("BAOCAO_ENV", "production")
    os.environ.setdefault("SESSION_COOKIE_SECURE", "false")
    os.environ.setdefault("BAOCAO_ACCESS_LOG", "false")
    os.environ.setdefault("BAOCAO_INSTANCE", str(args.work / "instance"))
    os.environ.setdefault("SECRET_KEY", "load-test-secret-0123456789abcdef")
    from app import create_app

    app = create_app()
    accounts = json.loads((args.work / "accounts.json").read_text())
    wanted = {s.strip() for s in args.profile.split(",") if s.strip()}
    profiles: dict[str, cProfile.Profile] = defaultdict(cProfile.Profile)
    cpu: dict[str, list[float]] = defaultdict(list)

    def step(name, fn, *args, **kwargs):
        started = time.thread_time()
        if name in wanted:
            profiles[name].enable()
        response = fn(*args, **kwargs)
        if name in wanted:
            profiles[name].disable()
        cpu[name].append((time.thread_time() - started) * 1000)
        return response

    def token(response) -> str:
        match = CSRF.search(response.text)
        return match.group(1) if match else ""

    def log_in(client, account):
        page = step("login page", client.get, "/login")
        r = step("login", client.post, "/login", data={"csrf_token": token(page), "username": account["username"],
                                                         "password": accounts["password"]})
        assert r.status_code == 302, f"login {r.status_code}"

    for account in accounts["reporters"][args.first:args.first + args.clerks]:
        client = app.test_client()
        log_in(client, account)
        url = f"/reports/BENCH-QG/{account['agency']}/{accounts['period']}"
        form = step("open form (250 cells)", client.get, url)
        fields = {f"v|TT_{i:03d}|": f"{random.randint(0, 99999)},{random.randint(0, 9)}" for i in range(1, 251)}
        for _ in (1, 2):
            r = step("save draft (250 cells)", client.post, url, data={"csrf_token": token(form), **fields})
            assert r.status_code == 302, f"save {r.status_code} (already submitted? use --first)"
        form = step("open form (250 cells)", client.get, url)
        sid = re.search(r"/submissions/(\d+)/submit", form.text).group(1)
        r = step("submit", client.post, f"/submissions/{sid}/submit", data={"csrf_token": token(form)})
        assert r.status_code == 302, f"submit {r.status_code}"
    client = app.test_client()
    log_in(client, accounts["analysts"][0])
    for _ in range(10):
        r = step("national view", client.get, f"/center/BENCH-QG/{accounts['period']}")
        assert r.status_code == 200

    print(f"{'request':24s} {'n':>4s} {'median':>8s} {'max':>8s}  (ms of CPU in this thread)")
    for name, values in cpu.items():
        values.sort()
        print(f"{name:24s} {len(values):4d} {values[len(values) // 2]:8.1f} {values[-1]:8.1f}")
    for name in wanted:
        print(f"===== {name}")
        pstats.Stats(profiles[name]).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
