"""Fixtures: one migrated, seeded database per run (SQLite by default, PostgreSQL when
TEST_DATABASE_URL is set); every test runs inside a transaction that is rolled back."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask_migrate import upgrade
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import text

from app import create_app
from app.extensions import db, limiter
from app.services import agencies, catalogue
from app.services.seed import DEMO_PASSWORD, seed_demo

ROOT = Path(__file__).resolve().parent.parent


def _test_config(url: str, instance: Path) -> dict:
    return {"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "WTF_CSRF_ENABLED": False,
            "INSTANCE_DIR": str(instance), "SECRET_KEY": "test-secret-key-0123456789", "SERVER_NAME": None,
            "JOBS_INLINE": True, "MAIL_CONNECTIONS": 1, "PDF_PROCESSES": 1,
            "MAIL_JOBS": False}  # tests deliver when they choose; tests/integration/test_mail_jobs.py runs the jobs


def prepare_database(app) -> None:
    """Empty the database, migrate it to head, and load the real map, catalogue and demo users."""
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade(directory=str(ROOT / "app" / "migrations"))
        agencies.load_agencies()
        catalogue.load_catalogue(root=ROOT)
        seed_demo()


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    instance = tmp_path_factory.mktemp("instance")
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{instance / 'test.sqlite'}"
    app = create_app(_test_config(url, instance))
    prepare_database(app)
    return app


class _ConnectionSession(FlaskSession):
    """Flask-SQLAlchemy picks the engine itself; in tests every query must use the test's connection."""

    def get_bind(self, *args, **kwargs):
        return self.bind


@contextmanager
def bound_session(connection):
    """db.session bound to `connection` for the block: services' commits become savepoint releases."""
    original = db.session
    db.session = db._make_scoped_session(
        {"bind": connection, "join_transaction_mode": "create_savepoint", "class_": _ConnectionSession})
    try:
        yield
    finally:
        db.session.remove()
        db.session = original


@pytest.fixture(scope="module")
def module_connection(app):
    """A connection whose transaction lasts a module's tests, rolled back after them: data several
    tests read (fifteen months of history, say) is loaded into it once, by a module-scoped fixture
    using `bound_session`; each test then runs in a savepoint inside it (`_rollback`)."""
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        try:
            yield connection
        finally:
            outer.rollback()
            connection.close()


@pytest.fixture(autouse=True)
def _rollback(request):
    """Run each database test in a transaction rolled back afterwards (services' commits become
    savepoint releases) — a savepoint of the module's transaction when the module shares one."""
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    limiter.reset()  # login throttling counts per test
    with app.app_context():
        shared = "module_connection" in request.fixturenames
        connection = request.getfixturevalue("module_connection") if shared else db.engine.connect()
        outer = connection.begin_nested() if shared else connection.begin()
        try:
            with bound_session(connection):
                yield
        finally:
            outer.rollback()
            if not shared:
                connection.close()


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        yield


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, username: str = "canbo.sct", password: str = DEMO_PASSWORD):
        return self.client.post("/login", data={"username": username, "password": password})

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client):
    return Auth(client)


class MailBox:
    """A real SMTP server on localhost (aiosmtpd) that keeps what it receives; addresses in
    `refuse` are rejected at RCPT with 550, as a real server refuses an unknown mailbox."""

    def __init__(self):
        import email
        from email import policy

        self.messages = []
        self.refuse: set[str] = set()
        self._parse = lambda data: email.message_from_bytes(data, policy=policy.default)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), self._parse(envelope.content)))
        return "250 OK"

    def to(self, address: str):
        return [m for rcpt, m in self.messages if address in rcpt]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(app):
    from aiosmtpd.controller import Controller

    box = MailBox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    saved = {k: app.config[k] for k in ("MAIL_SERVER", "MAIL_PORT", "MAIL_USE_TLS", "MAIL_USERNAME")}
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False, MAIL_USERNAME=None)
    box.port = port
    yield box
    controller.stop()
    app.config.update(saved)
