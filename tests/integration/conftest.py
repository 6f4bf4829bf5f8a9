"""Fixtures shared by the signature tests: an instance folder of the test's own (PKI files are not
rolled back with the database) and the test PKI's root and CRL installed in it. Each module
builds its own PKI (`arch`)."""
from __future__ import annotations

import pytest

from app.services import pki as pki_svc
from tests import pki


@pytest.fixture
def instance(app, tmp_path):
    """A PKI folder of the test's own (files are not rolled back with the database)."""
    saved = app.config["INSTANCE_DIR"]
    app.config["INSTANCE_DIR"] = str(tmp_path)
    yield tmp_path
    app.config["INSTANCE_DIR"] = saved


@pytest.fixture
def trusted(app, arch, instance):
    pki_svc.add_trust_anchor(pki.cert_der(arch, "root"))
    pki_svc.add_crl(pki.crl_der(arch))
    return arch


@pytest.fixture
def database():
    """A fresh PostgreSQL database beside the suite's (for tests that run the app in other processes)."""
    import os
    import uuid

    import psycopg
    from sqlalchemy.engine import make_url

    url = os.environ.get("TEST_DATABASE_URL", "")
    name = f"baocao_proc_{uuid.uuid4().hex[:8]}"
    admin = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield make_url(url).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
