"""The test PKI: certomancer builds the certificates of tests/pki/certomancer.yml from keys the
fixture generates (nothing secret is committed)."""
from __future__ import annotations

import shutil
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

HERE = Path(__file__).resolve().parent
LABELS = ["root", "interm", "tsa", "hanoi", "leader", "revoked", "expired", "other-agency", "foreign-root", "foreign"]
PASSWORD = b"mat-khau-kho-khoa"


def build(workdir: Path):
    """The PKI architecture (certomancer) with freshly generated 2048-bit RSA keys."""
    from certomancer.registry import CertomancerConfig

    shutil.copy(HERE / "certomancer.yml", workdir / "certomancer.yml")
    (workdir / "keys").mkdir(exist_ok=True)
    for label in LABELS:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (workdir / "keys" / f"{label}.pem").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return CertomancerConfig.from_file(str(workdir / "certomancer.yml"), key_search_dir=str(workdir)).get_pki_arch("vn")


def pkcs12(arch, label: str) -> bytes:
    from certomancer.registry import CertLabel

    chain = [CertLabel("interm")] if label not in ("foreign",) else [CertLabel("foreign-root")]
    return arch.package_pkcs12(CertLabel(label), certs_to_embed=chain, password=PASSWORD)


def cert_der(arch, label: str) -> bytes:
    from certomancer.registry import CertLabel

    return arch.get_cert(CertLabel(label)).dump()


def crl_der(arch) -> bytes:
    from certomancer.registry import ServiceLabel

    return arch.service_registry.get_crl(ServiceLabel("interm")).dump()
