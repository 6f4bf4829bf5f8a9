"""Signing modes and levels beyond the server keystore (tests/integration/test_signing.py): PAdES
B-T with a real time-stamping authority and B-LT with the revocation information embedded; remote
signing over the Cloud Signature Consortium API (certomancer-csc-dummy, a real process); an
official's own certificate linked to their account (the leader signs the consolidated report);
the national report signed by the reporting center; expiry warnings 30 days ahead; the
administrator's certificates page."""
from __future__ import annotations

import io
import subprocess
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.adapters import signatures as sig
from app.extensions import db
from app.models import AgencyCertificate, MailMessage, Notification, SignedDocument
from app.services import chain, exports, signing
from app.services import decisions as decisions_svc
from app.services import pki as pki_svc
from app.services import reminders as reminders_svc
from app.services import sending as sending_svc
from app.services.errors import Invalid
from tests import pki
from tests.integration.test_chain import ON_TIME, _sct_submits_and_is_approved
from tests.integration.test_signing import _submit, user


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("pki-modes")


@pytest.fixture(scope="module")
def arch(workdir):
    return pki.build(workdir)


def _doc(version) -> SignedDocument:
    return db.session.scalar(select(SignedDocument).where(SignedDocument.version_id == version.id))


def test_with_a_crl_at_hand_the_report_is_b_lt_and_verifies_offline_from_what_it_carries(app, trusted, instance):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    pki_svc.add_keystore(agency_code="T01.SCT", data=pki.pkcs12(trusted, "hanoi"), password=pki.PASSWORD)
    result = _submit()
    doc = _doc(result.version)
    assert doc.level == "B-LT"
    dss = DocumentSecurityStore.read_dss(PdfFileReader(io.BytesIO(doc.pdf)))
    assert len(dss.crls) == 1  # the intermediate CA's CRL, embedded
    for path in (instance / "pki" / "crls").glob("*.crl"):
        path.unlink()  # the receiver has no CRL file: the document's own revocation information serves
    verdict = signing.verify_version(result.version)
    assert verdict.ok, verdict.message
    decisions_svc.approve(user=user("pheduyet.hn"), submission_id=result.submission.id)


def test_without_revocation_information_it_falls_back_to_b_b(app, trusted, instance):
    for path in (instance / "pki" / "crls").glob("*.crl"):
        path.unlink()
    pki_svc.add_keystore(agency_code="T01.SCT", data=pki.pkcs12(trusted, "hanoi"), password=pki.PASSWORD)
    result = _submit()
    assert _doc(result.version).level == "B-B" and signing.verify_version(result.version).ok


def test_a_time_stamping_authority_makes_it_b_t(app, trusted, instance):
    for path in (instance / "pki" / "crls").glob("*.crl"):
        path.unlink()
    pki_svc.add_keystore(agency_code="T01.SCT", data=pki.pkcs12(trusted, "hanoi"), password=pki.PASSWORD)
    with pki.Services(trusted) as services:
        app.config["PKI_TSA_URL"] = f"{services.url}/tsa/tsa"
        try:
            result = _submit()
        finally:
            app.config["PKI_TSA_URL"] = ""
    doc = _doc(result.version)
    assert doc.level == "B-T"
    checks = sig.verify_pdf(doc.pdf, trust_roots=pki_svc.trust_anchors(), crls=[])
    assert checks[0].timestamped and checks[0].ok


def test_a_remote_signing_service_signs_over_the_csc_api(app, trusted, workdir):
    with pki.RemoteSigning(workdir) as service:
        app.config["PKI_CSC_URL"] = service.url
        try:
            row = pki_svc.link_remote(agency_code="T01.SCT", credential="vn/hanoi")
            assert row.keystore == "csc:vn/hanoi" and "Tran Van Minh" in row.subject
            with pytest.raises(Invalid, match="không trả chứng thư"):
                pki_svc.link_remote(agency_code="T01.SCT", credential="vn/khong-co")
            result = _submit()
        finally:
            app.config["PKI_CSC_URL"] = ""
    doc = _doc(result.version)
    assert doc.mode == "remote"
    verdict = signing.verify_version(result.version)
    assert verdict.ok and "ký bởi Tran Van Minh" in verdict.message


def test_a_remote_service_that_is_down_is_a_clear_error_and_the_report_still_goes_sealed(app, trusted):
    app.config["PKI_CSC_URL"] = f"http://127.0.0.1:{pki.free_port()}"
    try:
        with pytest.raises(Invalid, match="Không kết nối được dịch vụ ký số từ xa"):
            pki_svc.link_remote(agency_code="T01.SCT", credential="vn/hanoi")
        cert = sig.CertInfo.of(sig.load_certificate(pki.cert_der(trusted, "hanoi")))
        db.session.add(AgencyCertificate(agency_id=user("canbo.sct").agency_id, fingerprint=cert.fingerprint, subject=cert.subject,
                                         serial=cert.serial, issuer=cert.issuer, not_before=cert.not_before,
                                         not_after=cert.not_after, keystore="csc:vn/hanoi"))
        db.session.commit()
        result = _submit()  # the service is down on deadline day: the report goes, sealed, not signed
    finally:
        app.config["PKI_CSC_URL"] = ""
    assert result.version.sealed and _doc(result.version) is None


def test_an_officials_own_certificate_signs_what_they_send_the_leader_signs_the_consolidated_report(app, trusted):
    pki_svc.add_keystore(agency_code="T01", data=pki.pkcs12(trusted, "hanoi"), password=pki.PASSWORD)  # the province's
    with pytest.raises(Invalid, match="không thuộc"):
        pki_svc.add_keystore(agency_code="T01", data=pki.pkcs12(trusted, "leader"), password=pki.PASSWORD, username="canbo.sct")
    pki_svc.add_keystore(agency_code="T01", data=pki.pkcs12(trusted, "leader"), password=pki.PASSWORD, username="pheduyet.hn")
    _sct_submits_and_is_approved()
    leader = user("pheduyet.hn")
    result, _ = chain.fill(user=leader, regime_code="BCT-BANLE", agency_code="T01", period_key="2026-M12")
    sent = sending_svc.submit(user=leader, submission_id=result.submission.id, now=ON_TIME)
    doc = _doc(sent.version)
    assert "Nguyen Van Chu Tich" in doc.signer_subject  # the leader's own certificate, not the province's
    verdict = signing.verify_version(sent.version)
    assert verdict.ok and "ký bởi Nguyen Van Chu Tich" in verdict.message
    text = subprocess.run(["pdftotext", "-", "-"], input=doc.pdf, capture_output=True).stdout.decode()
    assert "Trần Văn Minh" in text  # the signer block names the one who sent it


def test_the_national_report_is_signed_by_the_reporting_center_for_its_own_staff_only(app, trusted):
    from app.models import User

    pki_svc.add_keystore(agency_code="VPCP", data=pki.pkcs12(trusted, "leader"), password=pki.PASSWORD)
    pki_svc.link_certificate(agency_code="VPCP", data=pki.cert_der(trusted, "leader"))
    _sct_submits_and_is_approved()
    analyst = user("phantich.vpcp")
    data, _name, _cached = exports.pdf(user=analyst, regime="BCT-BANLE", period="2026-M12")
    from app.services.pki import agency_by_code

    verdict, checks = signing.verify_bytes(data, agency=agency_by_code("VPCP"))
    assert verdict.ok and len(checks) == 1 and "ký bởi Nguyen Van Chu Tich" in verdict.message
    again, _name, cached = exports.pdf(user=analyst, regime="BCT-BANLE", period="2026-M12")
    assert cached and signing.verify_bytes(again)[0].ok  # the unsigned render is cached, each copy signed anew
    admin = db.session.scalar(select(User).where(User.username == "quantri"))  # not of the Government Office
    unsigned, _name, _cached = exports.pdf(user=admin, regime="BCT-BANLE", period="2026-M12")
    assert "không có chữ ký số" in signing.verify_bytes(unsigned)[0].message


def test_holders_and_administrators_are_warned_30_days_before_a_certificate_expires(app, trusted, smtp):
    row = pki_svc.add_keystore(agency_code="T01.SCT", data=pki.pkcs12(trusted, "hanoi"), password=pki.PASSWORD,
                               username="canbo.sct")
    assert pki_svc.warn_expiring(now=row.not_after - timedelta(days=31)) == 0  # not yet
    now = row.not_after - timedelta(days=29)
    result = reminders_svc.send(now=now)
    assert result.certificates == 1
    told = {n.user.username: n for n in db.session.scalars(select(Notification).where(Notification.title.like("Chứng thư số%")))}
    assert set(told) == {"canbo.sct", "quantri"}
    assert "hết hạn sau 29 ngày" in told["canbo.sct"].title and told["quantri"].link.endswith("/admin/certificates")
    assert pki_svc.warn_expiring(now=now + timedelta(days=1)) == 0  # once per certificate
    reminders_svc.deliver(now=now)
    mails = db.session.scalars(select(MailMessage).where(MailMessage.subject.like("%Chứng thư số%"))).all()
    assert mails and all(m.status == "sent" for m in mails)
    assert any("Tran Van Minh" in m.get_body(("plain",)).get_content() for _to, m in smtp.messages)


def test_an_account_that_declines_mail_gets_the_notice_in_the_app_only(app, trusted):
    reporter = user("canbo.sct")
    reporter.mail_notices = False
    row = pki_svc.add_keystore(agency_code="T01.SCT", data=pki.pkcs12(trusted, "hanoi"), password=pki.PASSWORD, username="canbo.sct")
    pki_svc.warn_expiring(now=row.not_after - timedelta(days=10))
    assert db.session.scalar(select(Notification).where(Notification.user_id == reporter.id)) is not None
    assert db.session.scalar(select(MailMessage).where(MailMessage.user_id == reporter.id)) is None


def test_the_administrator_links_certificates_to_accounts_on_the_web(app, client, auth, trusted):
    auth.login("quantri")
    page = client.get("/admin/certificates")
    assert page.status_code == 200 and "Chứng thư số" in page.get_data(as_text=True)
    sent = client.post("/admin/certificates", data={"agency": "T01.SCT", "username": "canbo.sct", "password": pki.PASSWORD.decode(),
                                                   "file": (io.BytesIO(pki.pkcs12(trusted, "hanoi")), "hanoi.p12")},
                       content_type="multipart/form-data", follow_redirects=True)
    body = sent.get_data(as_text=True)
    assert "Tran Van Minh" in body and "canbo.sct" in body
    row = db.session.scalar(select(AgencyCertificate))
    assert row.user.username == "canbo.sct" and row.keystore
    wrong = client.post("/admin/certificates", data={"agency": "T01.SCT", "username": "pheduyet.hn",
                                                    "file": (io.BytesIO(pki.cert_der(trusted, "leader")), "leader.cer")},
                        content_type="multipart/form-data", follow_redirects=True)
    assert wrong.status_code == 422 and "không thuộc" in wrong.get_data(as_text=True)
    bad = client.post("/admin/certificates", data={"agency": "T01.SCT", "file": (io.BytesIO(b"not a certificate"), "x.cer")},
                      content_type="multipart/form-data", follow_redirects=True)
    assert "Tệp không phải chứng thư số" in bad.get_data(as_text=True)
    client.post(f"/admin/certificates/{row.id}/retire", follow_redirects=True)
    db.session.refresh(row)
    assert row.retired_at is not None
    auth.login("canbo.sct")
    assert client.get("/admin/certificates").status_code == 403


def test_revocation_is_checked_online_through_the_cas_ocsp_responder(app, tmp_path_factory, instance):
    """With PKI_ALLOW_FETCHING the verdict asks the CA's OCSP responder (from the certificate's AIA):
    a revoked certificate is caught with no CRL file installed; and B-LT embeds that OCSP answer."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    port = pki.free_port()
    online = pki.build(tmp_path_factory.mktemp("pki-online"), url=f"http://127.0.0.1:{port}")
    pki_svc.add_trust_anchor(pki.cert_der(online, "root"))  # no CRL file: revocation is asked online
    pki_svc.link_certificate(agency_code="T01.SCT", data=pki.cert_der(online, "revoked"))
    agency = pki_svc.agency_by_code("T01.SCT")
    revoked = sig.keystore_signer(pki.pkcs12(online, "revoked"), pki.PASSWORD)
    pdf = sig.sign_pdf(_blank_pdf(), revoked, name="x", reason="Gửi báo cáo", location="Hà Nội")
    assert signing.verify_bytes(pdf, agency=agency)[0].ok  # offline, soft-fail: nothing says it is revoked
    with pki.Services(online, port):
        app.config["PKI_ALLOW_FETCHING"] = True
        try:
            verdict = signing.verify_bytes(pdf, agency=agency)[0]
            assert not verdict.ok and "đã bị thu hồi" in verdict.message
            hanoi = sig.keystore_signer(pki.pkcs12(online, "hanoi"), pki.PASSWORD)
            lt = sig.sign_pdf(_blank_pdf(), hanoi, name="x", reason="Gửi báo cáo", location="Hà Nội", revocation=pki_svc.revocation())
        finally:
            app.config["PKI_ALLOW_FETCHING"] = False
    assert sig.level_of(lt) == "B-LT"
    dss = DocumentSecurityStore.read_dss(PdfFileReader(io.BytesIO(lt)))
    assert dss.ocsps  # the responder's answer travels with the document


def _blank_pdf() -> bytes:
    from weasyprint import HTML

    return HTML(string="<p>Báo cáo</p>").write_pdf()
