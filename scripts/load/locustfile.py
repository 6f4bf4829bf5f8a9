"""The last morning before a monthly deadline (run by scripts/load/run.sh, in locust's own venv).

- 300 commune clerks: log in, open their 250-cell form, type for a while, save, type, save again,
  submit — once each, then stop.
- 20 analysts of the national reporting center: open the national view every few seconds, 25 times.
- 5 department clerks: upload a 20,000-cell workbook, twice.

Every request is bounded; what each client saw succeed is written to $LOAD_WORK/client-counts.json
so scripts/load/check.py can count rows in the database against it.
"""
from __future__ import annotations

import json
import os
import random
import re
from collections import Counter
from pathlib import Path

import gevent
from locust import HttpUser, between, events, task
from locust.exception import StopUser

WORK = Path(os.environ["LOAD_WORK"])
ACCOUNTS = json.loads((WORK / "accounts.json").read_text())
PERIOD = ACCOUNTS["period"]
PASSWORD = ACCOUNTS["password"]
THINK = float(os.environ.get("LOAD_THINK", "1.0"))  # scale of the pauses (1.0: a person typing)
COUNTS: Counter = Counter()
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
pools = {kind: list(ACCOUNTS[kind]) for kind in ("reporters", "analysts", "uploaders")}


def csrf(html: str) -> str:
    match = CSRF.search(html)
    return match.group(1) if match else ""


class Person(HttpUser):
    abstract = True
    kind = ""
    base = ""  # another server for this kind of user (LOAD_HEAVY_HOST: the upload pool), else --host

    def at(self, path: str) -> str:
        return self.base + path

    def on_start(self):
        if not pools[self.kind]:
            raise StopUser()
        self.account = pools[self.kind].pop()
        page = self.client.get(self.at("/login"), name="login page")
        with self.client.post(self.at("/login"), name="login", allow_redirects=False, catch_response=True,
                              data={"csrf_token": csrf(page.text), "username": self.account["username"], "password": PASSWORD}) as r:
            if r.status_code != 302:
                r.failure(f"login {r.status_code}")
                raise StopUser()
        COUNTS["logins"] += 1

    def pause(self, low: float, high: float) -> None:
        gevent.sleep(random.uniform(low, high) * THINK)


class Clerk(Person):
    fixed_count = len(ACCOUNTS["reporters"])
    kind = "reporters"
    wait_time = between(1, 2)

    @task
    def deadline_morning(self):
        url = f"/reports/BENCH-QG/{self.account['agency']}/{PERIOD}"
        form_page = self.client.get(url, name="open form (250 cells)")
        token = csrf(form_page.text)
        fields = {f"v|TT_{i:03d}|": f"{random.randint(0, 99999)},{random.randint(0, 9)}" for i in range(1, 251)}
        for _save in (1, 2):
            self.pause(15, 45)  # typing
            fields[f"v|TT_{random.randint(1, 250):03d}|"] = str(random.randint(1, 999))
            with self.client.post(url, name="save draft (250 cells)", data={"csrf_token": token, **fields},
                                  allow_redirects=False, catch_response=True) as r:
                if r.status_code != 302:
                    r.failure(f"save {r.status_code}: {r.text[:200]}")
                    raise StopUser()
            COUNTS["saves"] += 1
        page = self.client.get(url, name="open form (250 cells)")
        sid = re.search(r"/submissions/(\d+)/submit", page.text)
        self.pause(3, 10)
        with self.client.post(f"/submissions/{sid.group(1) if sid else 0}/submit", name="submit", allow_redirects=False,
                              data={"csrf_token": csrf(page.text)}, catch_response=True) as r:
            if r.status_code != 302 or not sid or "/submissions/" not in r.headers.get("Location", ""):
                r.failure(f"submit {r.status_code} → {r.headers.get('Location')}")
                raise StopUser()
        COUNTS["submits"] += 1
        raise StopUser()


class Analyst(Person):
    fixed_count = len(ACCOUNTS["analysts"])
    kind = "analysts"
    wait_time = between(3, 8)
    views = 0

    @task
    def national_view(self):
        with self.client.get(f"/center/BENCH-QG/{PERIOD}", name="national view", catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"view {r.status_code}")
        COUNTS["views"] += 1
        self.views += 1
        if self.views >= 25:
            raise StopUser()


class Uploader(Person):
    fixed_count = len(ACCOUNTS["uploaders"])
    kind = "uploaders"
    base = os.environ.get("LOAD_HEAVY_HOST", "")
    wait_time = between(1, 2)

    @task
    def upload_twice(self):
        url = f"/reports/BENCH-TINH/{self.account['agency']}/{PERIOD}"
        data = Path(self.account["file"]).read_bytes()
        for _ in (1, 2):
            self.pause(5, 30)
            token = csrf(self.client.get(self.at(url), name="open form (20,000 cells)").text)
            with self.client.post(self.at(url + "/upload"), name="upload workbook (20,000 cells)", data={"csrf_token": token},
                                  files={"file": ("bieu.xlsx", data)}, allow_redirects=False, catch_response=True) as r:
                if r.status_code != 302:
                    r.failure(f"upload {r.status_code}: {r.text[:200]}")
                    continue
            COUNTS["uploads"] += 1
        raise StopUser()


@events.quitting.add_listener
def _write_counts(environment, **_kw):
    (WORK / "client-counts.json").write_text(json.dumps(dict(COUNTS), indent=1))
