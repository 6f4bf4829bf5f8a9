"""The test PKI: certomancer builds the certificates of tests/pki/certomancer.yml from keys the
fixture generates (nothing secret is committed)."""
from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

HERE = Path(__file__).resolve().parent
LABELS = ["root", "interm", "tsa", "hanoi", "leader", "revoked", "expired", "other-agency", "foreign-root", "foreign"]
PASSWORD = b"mat-khau-kho-khoa"


def build(workdir: Path, url: str | None = None):
    """The PKI architecture (certomancer) with freshly generated 2048-bit RSA keys; `url` is where
    its services (OCSP, CRLs, TSA) will be served, as written into the certificates."""
    from certomancer.registry import CertomancerConfig

    text = (HERE / "certomancer.yml").read_text(encoding="utf-8")
    if url:
        text = text.replace('external-url-prefix: "http://pki.baocao.test"', f'external-url-prefix: "{url}"')
    (workdir / "certomancer.yml").write_text(text, encoding="utf-8")
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


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int, host: str = "127.0.0.1", seconds: float = 20) -> None:
    import socket
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {host}:{port}")


class Services:
    """The PKI's services over real HTTP (certomancer's Animator: the TSA, OCSP, CRLs) in a thread."""

    def __init__(self, arch, port: int | None = None):
        from certomancer.integrations.animator import Animator, AnimatorArchStore
        from werkzeug.serving import make_server

        self.port = port or free_port()
        self.server = make_server("127.0.0.1", self.port, Animator(AnimatorArchStore({arch.arch_label: arch}), with_web_ui=False))
        self.url = f"http://127.0.0.1:{self.port}/{arch.arch_label}"

    def __enter__(self):
        import threading

        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()


class RemoteSigning:
    """certomancer-csc-dummy serving the PKI's keys over the Cloud Signature Consortium API, as a
    real process on a free port (credential IDs: "vn/<label>")."""

    def __init__(self, workdir: Path):
        self.workdir, self.port = workdir, free_port()
        self.url = f"http://localhost:{self.port}"

    def __enter__(self):
        import subprocess
        import sys

        code = ("import sys; from csc_dummy.runner import run_from_file; "
                "run_from_file(sys.argv[1], port=int(sys.argv[2]), require_hash_pinning=True)")
        self.process = subprocess.Popen([sys.executable, "-c", code, str(self.workdir / "certomancer.yml"), str(self.port)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait(self.port, "localhost")
        except RuntimeError:
            self.process.kill()
            raise
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(10)
