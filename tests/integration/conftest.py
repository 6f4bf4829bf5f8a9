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
