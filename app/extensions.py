"""Extension objects, created unbound and attached in create_app with init_app."""
import contextvars

from flask_babel import Babel
from flask_bootstrap import Bootstrap5
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
bootstrap = Bootstrap5()
# login throttling; storage from RATELIMIT_STORAGE_URI (memory:// on one server, redis:// behind a load balancer)
limiter = Limiter(key_func=get_remote_address)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    """SQLite: enforce foreign keys and let SQLAlchemy own transactions (real SAVEPOINTs)."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=5000")
        cur.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):
    """SQLite: a transaction that may write takes the write lock when it begins (BEGIN IMMEDIATE),
    so concurrent writers queue behind busy_timeout instead of failing with "database is locked"
    (a deferred transaction that read first cannot upgrade once another writer committed). Page
    views (GET) stay deferred and read concurrently under WAL."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _may_write() else "BEGIN")


# Work that only reads (a PDF render off the request) says so, and then takes no write lock.
reading_only: contextvars.ContextVar[bool] = contextvars.ContextVar("reading_only", default=False)


def reads_only(command):
    """A command (CLI) that only reads the database: on SQLite its transactions begin without the
    write lock. Outside a request they take it when they begin (writers must, `_may_write`), and a
    long export from the command line kept every clerk's save waiting meanwhile."""
    import functools

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        token = reading_only.set(True)
        try:
            return command(*args, **kwargs)
        finally:
            reading_only.reset(token)
    return wrapper


def _may_write() -> bool:
    """A page view (GET) that must write — it enqueues a background job — sets g.baocao_writes (for
    that request only): its next transaction takes the lock when it begins, like any POST's."""
    from flask import g, has_request_context, request

    if reading_only.get():
        return False
    if has_request_context() and g.get("baocao_writes"):
        return True
    return not has_request_context() or request.method not in ("GET", "HEAD", "OPTIONS")
