"""Digital signatures with a real test PKI (certomancer): a submitted report is signed as a PAdES PDF
with the agency's keystore; the receiver sees the verdict; a bad signature blocks approval; every
verdict — valid, tampered, incremental update, revoked, expired at signing time, untrusted root,
signer not of the reporting agency, two signatures — says what it is in Vietnamese."""
from __future__ import annotations

import io
import subprocess
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.adapters import signatures as sig
from app.extensions import db
from app.models import SignedDocument, User
from app.services import decisions as decisions_svc
from app.services import pki as pki_svc
from app.services import sending as sending_svc
from app.services import signing
from app.services import submissions as svc
from app.services.errors import Invalid
from tests import pki
from tests.helpers import retail_values

ON_TIME = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)


def user(name):
    return db.session.scalar(select(User).where(User.username == name))


@pytest.fixture(scope="module")
def arch(tmp_path_factory):
    return pki.build(tmp_path_factory.mktemp("pki"))


def _submit(values=None):
    reporter = user("canbo.sct")
    report = svc.open_report(user=reporter, regime_code="BCT-BANLE", agency_code="T01.SCT", period_key="2026-M12", for_write=True)
    saved = svc.save(user=reporter, report=report, raw={(k, ""): (str(v), False, "") for k, v in (values or retail_values()).items()},
                     outline={"I": "Sức mua tăng dịp cuối năm."}, revision=None, now=ON_TIME)
    return sending_svc.submit(user=reporter, submission_id=saved.submission.id, now=ON_TIME)


def _pdf() -> bytes:
    from weasyprint import HTML

    return HTML(string="<html><body><h1>BÁO CÁO</h1><p>Số liệu tháng 12/2026</p></body></html>").write_pdf()


def _signed(arch, label, pdf=None) -> bytes:
    signer = sig.keystore_signer(pki.pkcs12(arch, label), pki.PASSWORD)
    return sig.sign_pdf(pdf or _pdf(), signer, name=label, reason="Gửi báo cáo", location="Hà Nội")


def test_a_submitted_report_is_signed_and_the_receiver_sees_a_valid_verdict(app, client, auth, trusted):
    pki_svc.add_keystore(agency_code="T01.SCT", data=pki.pkcs12(trusted, "hanoi"), password=pki.PASSWORD)
    result = _submit()
    doc = db.session.scalar(select(SignedDocument).where(SignedDocument.version_id == result.version.id))
    assert doc is not None and doc.pdf.startswith(b"%PDF") and doc.mode == "server"
    text = subprocess.run(["pdftotext", "-", "-"], input=doc.pdf, capture_output=True).stdout.decode()
    assert "Sức mua tăng dịp cuối năm." in text and f"Số: {result.submission.id}/BC-SCT" in " ".join(text.split())
    verdict = signing.verify_version(result.version)
    assert verdict.ok and verdict.message.startswith("Chữ ký hợp lệ — ký bởi Tran Van Minh (UBND thanh pho Ha Noi), lúc ")
    assert "chứng thư số do CA chuyen dung thu nghiem cấp" in verdict.message
    auth.login("pheduyet.hn")
    page = client.get(f"/submissions/{result.submission.id}").get_data(as_text=True)
    assert "Chữ ký hợp lệ — ký bởi Tran Van Minh" in page and "signed.pdf" in page
    download = client.get(f"/submissions/{result.submission.id}/versions/{result.version.number}/signed.pdf")
    assert download.status_code == 200 and download.data == doc.pdf
    inbox = client.get("/inbox").get_data(as_text=True)
    assert "Chữ ký hợp lệ" in inbox
    decisions_svc.approve(user=user("pheduyet.hn"), submission_id=result.submission.id)


def test_tampering_with_the_stored_pdf_is_detected_and_blocks_approval(app, trusted):
    pki_svc.add_keystore(agency_code="T01.SCT", data=pki.pkcs12(trusted, "hanoi"), password=pki.PASSWORD)
    result = _submit()
    doc = db.session.scalar(select(SignedDocument).where(SignedDocument.version_id == result.version.id))
    data = bytearray(doc.pdf)
    at = data.find(b"/Length")  # a byte of the first (signed) revision
    data[at + 8:at + 9] = b"9" if data[at + 8:at + 9] != b"9" else b"8"
    doc.pdf = bytes(data)
    db.session.flush()
    verdict = signing.verify_version(result.version)
    assert not verdict.ok and "đã bị sửa sau khi ký" in verdict.message
    with pytest.raises(Invalid, match="Không duyệt được: Chữ ký không hợp lệ"):
        decisions_svc.approve(user=user("pheduyet.hn"), submission_id=result.submission.id)


def test_each_verdict_names_what_is_wrong(app, trusted):
    from app.services.agencies import get_agency

    agency = get_agency(code="T01.SCT")
    for label in ("hanoi", "leader", "revoked", "expired"):
        pki_svc.link_certificate(agency_code="T01.SCT", data=pki.cert_der(trusted, label))

    def verdict(data):
        return signing.verify_bytes(data, agency=agency)[0]

    assert verdict(_signed(trusted, "hanoi")).ok
    assert "đã bị thu hồi" in verdict(_signed(trusted, "revoked")).message
    assert "hết hạn vào thời điểm ký" in verdict(_signed(trusted, "expired")).message
    assert "không dẫn tới chứng thư gốc tin cậy" in verdict(_signed(trusted, "foreign")).message
    other = verdict(_signed(trusted, "other-agency"))
    assert not other.ok and "người ký không thuộc đơn vị báo cáo (Sở Công Thương thành phố Hà Nội)" in other.message

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(_signed(trusted, "hanoi")))
    writer.root["/Extra"] = generic.NameObject("/Added")  # an update appended after the signature
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    assert "thêm nội dung sau chữ ký" in verdict(out.getvalue()).message

    both = _signed(trusted, "leader", _signed(trusted, "hanoi"))  # the clerk, then the leader
    two = verdict(both)
    assert two.ok and "và 1 chữ ký khác hợp lệ" in two.message and len(two.signers) == 2
    assert "không có chữ ký số" in verdict(_pdf()).message
    assert not verdict(b"%PDF-1.7 not really").ok


def test_the_cli_installs_anchors_and_keystores_and_verifies_a_file(app, runner, arch, instance, tmp_path, monkeypatch):
    (tmp_path / "root.der").write_bytes(pki.cert_der(arch, "root"))
    (tmp_path / "leaf.der").write_bytes(pki.cert_der(arch, "hanoi"))
    (tmp_path / "k.p12").write_bytes(pki.pkcs12(arch, "hanoi"))
    (tmp_path / "ok.pdf").write_bytes(_signed(arch, "hanoi"))
    (tmp_path / "foreign.pdf").write_bytes(_signed(arch, "foreign"))
    refused = runner.invoke(args=["pki", "trust", "add", str(tmp_path / "leaf.der")])
    assert refused.exit_code != 0 and "không phải của tổ chức cung cấp dịch vụ chứng thực" in refused.output
    assert runner.invoke(args=["pki", "trust", "add", str(tmp_path / "root.der")]).exit_code == 0
    monkeypatch.setenv("BAOCAO_P12_PASSWORD", "sai")
    wrong = runner.invoke(args=["pki", "keystore", "add", str(tmp_path / "k.p12"), "--agency", "T01.SCT"])
    assert wrong.exit_code != 0 and "sai mật khẩu" in wrong.output
    monkeypatch.setenv("BAOCAO_P12_PASSWORD", pki.PASSWORD.decode())
    added = runner.invoke(args=["pki", "keystore", "add", str(tmp_path / "k.p12"), "--agency", "T01.SCT"])
    assert added.exit_code == 0 and "Tran Van Minh" in added.output
    ok = runner.invoke(args=["pki", "verify", str(tmp_path / "ok.pdf"), "--agency", "T01.SCT"])
    assert ok.exit_code == 0 and "Chữ ký hợp lệ" in ok.output
    bad = runner.invoke(args=["pki", "verify", str(tmp_path / "foreign.pdf")])
    assert bad.exit_code == 1 and "không dẫn tới chứng thư gốc tin cậy" in bad.output


def test_without_a_keystore_a_report_is_sealed_not_signed(app, instance):
    result = _submit()
    assert db.session.scalar(select(SignedDocument).where(SignedDocument.version_id == result.version.id)) is None
    assert signing.verify_version(result.version) is None
    decisions_svc.approve(user=user("pheduyet.hn"), submission_id=result.submission.id)


def test_the_demo_pki_signs_the_demo_reports(app, runner, instance):
    result = runner.invoke(args=["pki", "demo"])
    assert result.exit_code == 0 and "T01.SCT" in result.output
    assert "không có đơn vị mới" in runner.invoke(args=["pki", "demo"]).output  # idempotent
    submitted = _submit()
    verdict = signing.verify_version(submitted.version)
    assert verdict.ok and "CA trình diễn baocao" in verdict.message


def test_the_api_gives_the_verdict_and_the_signed_pdf_within_the_readers_scope(app, client, trusted):
    pki_svc.add_keystore(agency_code="T01.SCT", data=pki.pkcs12(trusted, "hanoi"), password=pki.PASSWORD)
    result = _submit()
    from app.services import users as user_svc

    token = user_svc.issue_token(user=user("pheduyet.hn"))
    url = f"/api/v1/signatures/{result.submission.id}/versions/{result.version.number}"
    got = client.get(url, headers={"Authorization": f"Bearer {token}"}).get_json()
    assert got["ok"] and got["message"].startswith("Chữ ký hợp lệ") and got["certificate_issuer"] == "CA chuyen dung thu nghiem"
    assert client.get(url + "/signed.pdf", headers={"Authorization": f"Bearer {token}"}).data.startswith(b"%PDF")
    other = user_svc.create_user(username="canbo.sct.khac", password="mot-cum-tu-du-dai-2026", full_name="Cán bộ tỉnh khác",
                                 role="reporter", agency_code="T79.SCT")
    foreign = user_svc.issue_token(user=other)
    assert client.get(url, headers={"Authorization": f"Bearer {foreign}"}).status_code == 403


def test_the_web_checks_an_outside_pdf_and_lists_who_signed_what(app, client, auth, trusted):
    pki_svc.add_keystore(agency_code="T01.SCT", data=pki.pkcs12(trusted, "hanoi"), password=pki.PASSWORD)
    _submit()
    auth.login("pheduyet.hn")
    listing = client.get("/pki/signatures").get_data(as_text=True)
    assert "Tran Van Minh" in listing and "CA chuyen dung thu nghiem" in listing and "Tháng 12/2026" in listing and "2026-M12" not in listing
    ok = client.post("/pki/verify", data={"file": (io.BytesIO(_signed(trusted, "hanoi")), "bao-cao.pdf"), "agency": "T01.SCT"},
                     content_type="multipart/form-data").get_data(as_text=True)
    assert "Chữ ký hợp lệ — ký bởi Tran Van Minh" in ok
    bad = client.post("/pki/verify", data={"file": (io.BytesIO(_signed(trusted, "foreign")), "la.pdf")},
                      content_type="multipart/form-data").get_data(as_text=True)
    assert "không dẫn tới chứng thư gốc tin cậy" in bad
    assert client.post("/pki/verify", data={}, content_type="multipart/form-data").status_code == 422
    auth.logout()
    from app.services import users as user_svc

    user_svc.create_user(username="canbo.sct.khac", password="mot-cum-tu-du-dai-2026", full_name="Cán bộ tỉnh khác",
                         role="reporter", agency_code="T79.SCT")
    auth.login("canbo.sct.khac", "mot-cum-tu-du-dai-2026")
    assert "Tran Van Minh" not in client.get("/pki/signatures").get_data(as_text=True)  # another province's reports


SOFTHSM = "/usr/lib/softhsm/libsofthsm2.so"


@pytest.fixture
def token(app, arch, tmp_path, monkeypatch):
    """A real SoftHSM2 token holding the Hà Nội official's key and certificate (signing mode 2)."""
    import os
    import shutil

    if not os.path.exists(SOFTHSM) or not shutil.which("softhsm2-util"):
        if os.environ.get("BAOCAO_REQUIRE_BROWSER") == "1":  # CI installs every system part the suite needs
            pytest.fail("softhsm2 is required (apt-get install softhsm2)")
        pytest.skip("softhsm2 not installed")
    (tmp_path / "tokens").mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tmp_path / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    run = lambda *a: subprocess.run(["softhsm2-util", *a], check=True, capture_output=True)  # noqa: E731
    run("--init-token", "--free", "--label", "baocao-test", "--so-pin", "12345678", "--pin", "87654321")
    key = tmp_path / "key.pem"
    key.write_bytes(pki_key(arch, "hanoi"))
    run("--import", str(key), "--token", "baocao-test", "--label", "hanoi", "--id", "01", "--pin", "87654321")
    import pkcs11
    from pkcs11 import Attribute, CertificateType, ObjectClass

    lib = pkcs11.lib(SOFTHSM)
    tok = lib.get_token(token_label="baocao-test")
    from asn1crypto import x509 as asn1_x509

    with tok.open(user_pin="87654321", rw=True) as session:  # the official's certificate and its CA's, as tokens ship
        for label, ident in (("hanoi", b"\x01"), ("interm", b"\x02")):
            cert = asn1_x509.Certificate.load(pki.cert_der(arch, label))
            session.create_object({Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                                   Attribute.TOKEN: True, Attribute.LABEL: label, Attribute.ID: ident,
                                   Attribute.SUBJECT: cert.subject.dump(), Attribute.ISSUER: cert.issuer.dump(),
                                   Attribute.SERIAL_NUMBER: cert["tbs_certificate"]["serial_number"].dump(),
                                   Attribute.VALUE: cert.dump()})
    saved = {k: app.config.get(k) for k in ("PKI_PKCS11_LIB", "PKI_PKCS11_TOKEN", "PKI_PKCS11_PIN")}
    app.config.update(PKI_PKCS11_LIB=SOFTHSM, PKI_PKCS11_TOKEN="baocao-test", PKI_PKCS11_PIN="87654321")
    yield
    app.config.update(saved)


def pki_key(arch, label: str) -> bytes:
    from certomancer.registry import KeyLabel
    from cryptography.hazmat.primitives import serialization

    key = arch.key_set.get_private_key(KeyLabel(label))
    return serialization.load_der_private_key(key.dump(), None).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def test_a_key_on_a_pkcs11_token_signs_the_report(app, runner, trusted, token):
    result = runner.invoke(args=["pki", "token", "link", "--agency", "T01.SCT", "--label", "hanoi"])
    assert result.exit_code == 0 and "Tran Van Minh" in result.output, result.output
    submitted = _submit()
    doc = db.session.scalar(select(SignedDocument).where(SignedDocument.version_id == submitted.version.id))
    assert doc is not None and doc.mode == "pkcs11"
    verdict = signing.verify_version(submitted.version)
    assert verdict.ok and "Tran Van Minh" in verdict.message
    wrong = runner.invoke(args=["pki", "token", "link", "--agency", "T01.SCT", "--label", "khong-co"])
    assert wrong.exit_code != 0 and "không có khóa và chứng thư nhãn" in wrong.output


def test_an_official_signs_with_their_own_tool_through_the_http_contract(app, client, trusted):
    """Mode 4: the server prepares, the official's tool (played here by the key of the test PKI)
    signs `data_to_sign`, the server embeds it; a wrong signature is refused with the reason."""
    import base64

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    from app.services import users as user_svc

    pki_svc.link_certificate(agency_code="T01.SCT", data=pki.cert_der(trusted, "hanoi"))
    result = _submit()
    assert db.session.scalar(select(SignedDocument).where(SignedDocument.version_id == result.version.id)) is None
    token = {"Authorization": "Bearer " + user_svc.issue_token(user=user("canbo.sct"))}
    base = f"/api/v1/signatures/{result.submission.id}/versions/{result.version.number}/external"
    body = {"certificate": base64.b64encode(pki.cert_der(trusted, "hanoi")).decode(),
            "chain": [base64.b64encode(pki.cert_der(trusted, "interm")).decode()]}

    def tool_signs(data_to_sign: str, label="hanoi") -> str:
        from cryptography.hazmat.primitives import serialization

        key = serialization.load_pem_private_key(pki_key(trusted, label), None)
        return base64.b64encode(key.sign(base64.b64decode(data_to_sign), padding.PKCS1v15(), hashes.SHA256())).decode()

    # a wrong key: refused, nothing stored
    prepared = client.post(base + "/prepare", json=body, headers=token).get_json()
    wrong = client.post(base + "/complete", json={"request": prepared["request"], "signature": tool_signs(prepared["data_to_sign"], "leader")},
                        headers=token)
    assert wrong.status_code == 422 and "Không nhận chữ ký" in wrong.get_json()["error"]["message"]
    # the right key
    prepared = client.post(base + "/prepare", json=body, headers=token).get_json()
    assert prepared["digest_algorithm"] == "sha256" and prepared["expires_in_minutes"] == 30
    done = client.post(base + "/complete", json={"request": prepared["request"], "signature": tool_signs(prepared["data_to_sign"])},
                       headers=token)
    assert done.status_code == 201, done.get_json()
    assert done.get_json()["ok"] and done.get_json()["mode"] == "external"
    assert signing.verify_version(result.version).ok
    again = client.post(base + "/prepare", json=body, headers=token)
    assert again.status_code == 422 and "đã được ký số" in again.get_json()["error"]["message"]
    # a certificate not linked to the agency is refused before anything is prepared
    other = client.post(f"/api/v1/signatures/{result.submission.id}/versions/{result.version.number}/external/prepare",
                        json={"certificate": base64.b64encode(pki.cert_der(trusted, "other-agency")).decode()}, headers=token)
    assert other.status_code == 422
