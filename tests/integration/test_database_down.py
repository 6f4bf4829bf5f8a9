"""The database goes away for a moment (a failover, a network cut, a restart): people get a clear
"try again" page or JSON, never a traceback, and the app recovers by itself when it is back.

The app reaches PostgreSQL through a TCP proxy that the test cuts and restores, so both new
connections and the ones already in the pool fail, as in a real outage. PostgreSQL only: SQLite
is a file inside the app's own process, with no server to lose.
"""
from __future__ import annotations

import os
import socket
import threading

import pytest

from app import create_app
from app.services.seed import DEMO_PASSWORD
from tests.conftest import _test_config, prepare_database
from tests.helpers import own_database

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL (TEST_DATABASE_URL)")


class Proxy:
    """127.0.0.1:<port> → the database server; `cut()` closes everything, `restore()` listens again."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            server = socket.create_connection(self.target)
            with self.lock:
                self.pairs.append((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        self.up = False
        with self.lock:
            for pair in self.pairs:
                for s in pair:
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                        s.close()
                    except OSError:
                        pass
            self.pairs.clear()

    def restore(self):
        self.up = True


def test_database_outage_gives_a_try_again_page_and_the_app_recovers(tmp_path):
    direct = own_database(tmp_path, "baocao_outage")
    prepare_database(create_app(_test_config(direct, tmp_path)))
    host_port = direct.split("@", 1)[1].split("/", 1)[0]
    proxy = Proxy(host_port.split(":")[0], int(host_port.split(":")[1]))
    via_proxy = direct.replace(host_port, f"127.0.0.1:{proxy.port}")
    app = create_app({**_test_config(via_proxy, tmp_path), "SQLALCHEMY_ENGINE_OPTIONS": {
        "pool_pre_ping": True, "connect_args": {"connect_timeout": 2}}})
    client = app.test_client()
    assert client.post("/login", data={"username": "canbo.sct", "password": DEMO_PASSWORD}).status_code == 302
    assert client.get("/reports").status_code == 200
    token_client = app.test_client()

    proxy.cut()
    page = client.get("/reports")
    body = page.get_data(as_text=True)
    assert page.status_code == 503 and page.headers["Retry-After"] == "10"
    assert "Vui lòng thử lại" in body and "Traceback" not in body and "psycopg" not in body
    api = token_client.get("/api/v1/regimes", headers={"Authorization": "Bearer bc_whatever"})
    assert api.status_code == 503 and api.get_json()["error"]["code"] == "unavailable"
    assert client.get("/healthz").status_code == 503
    login = app.test_client().post("/login", data={"username": "canbo.sct", "password": DEMO_PASSWORD})
    assert login.status_code == 503 and "Vui lòng thử lại" in login.get_data(as_text=True)

    proxy.restore()  # back: the next requests work without restarting anything
    assert client.get("/reports").status_code == 200
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok"}
