"""PAdES signatures on PDF reports, with pyHanko: sign (baseline B-B, B-T when a time-stamping
authority is configured) with a visible signature in the signer block, and validate every signature
of a PDF against the trust anchors the operator installed and the revocation information available
(CRL files; OCSP/CRL fetching when allowed). No Flask here: callers pass bytes and settings."""
from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from datetime import datetime

from asn1crypto import crl as asn1_crl
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers, timestamps
from pyhanko.sign.general import SigningError
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator import ValidationContext

FIELD = "ChuKySo"


def _outside_event_loop(fn, *args, **kwargs):
    """pyHanko's synchronous API runs its own asyncio loop; where this thread already runs one (an
    async server, a browser-driving test session) it refuses, so the call runs in a worker thread."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn(*args, **kwargs)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args, **kwargs).result()
SIGNER_BOX = (330, 40, 565, 120)  # on the last page, where the Decree-30 signer block ends


class SignatureError(Exception):
    """A keystore or a PDF that cannot be used (wrong password, not a PKCS#12, not a PDF)."""


def _der(data: bytes) -> bytes:
    return pem.unarmor(data)[2] if pem.detect(data) else data


def load_certificate(data: bytes) -> asn1_x509.Certificate:
    try:
        return asn1_x509.Certificate.load(_der(data))
    except Exception as exc:  # noqa: BLE001 — asn1crypto raises several types for bad input
        raise SignatureError(f"Tệp không phải chứng thư số X.509 (PEM hoặc DER): {str(exc)[:120]}") from None


def load_crl(data: bytes) -> asn1_crl.CertificateList:
    try:
        crl = asn1_crl.CertificateList.load(_der(data))
        _ = crl.native  # parse it all now: a broken file fails here, not during a verification
        return crl
    except Exception as exc:  # noqa: BLE001
        raise SignatureError(f"Tệp không phải danh sách thu hồi (CRL): {str(exc)[:120]}") from None


@dataclass(frozen=True)
class CertInfo:
    subject: str
    common_name: str
    organization: str
    serial: str
    issuer: str
    not_before: datetime
    not_after: datetime
    fingerprint: str  # SHA-256 of the DER certificate, hex

    @classmethod
    def of(cls, cert: asn1_x509.Certificate) -> CertInfo:
        subject = cert.subject.native
        return cls(cert.subject.human_friendly, subject.get("common_name", ""), subject.get("organization_name", ""),
                   format(cert.serial_number, "x"), cert.issuer.native.get("common_name", cert.issuer.human_friendly),
                   cert.not_valid_before, cert.not_valid_after, hashlib.sha256(cert.dump()).hexdigest())


def keystore_signer(p12: bytes, passphrase: bytes) -> signers.SimpleSigner:
    try:
        signer = signers.SimpleSigner.load_pkcs12_data(p12, other_certs=[], passphrase=passphrase)
    except Exception as exc:  # noqa: BLE001
        raise SignatureError(f"Không mở được kho khóa PKCS#12: {str(exc)[:120]}") from None
    if signer is None or signer.signing_cert is None:
        raise SignatureError("Không mở được kho khóa PKCS#12 (sai mật khẩu hoặc tệp hỏng)")
    return signer


def _new_field(pdf: bytes) -> tuple[str, tuple[int, int, int, int]]:
    """The name and place of the next signature field: the first in the signer block of the last
    page, each further one (the leader after the clerk) in a box of its own beside it."""
    try:
        existing = len(PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures)
    except Exception as exc:  # noqa: BLE001 — malformed PDF
        raise SignatureError(f"Không đọc được tệp PDF: {str(exc)[:200]}") from None
    if not existing:
        return FIELD, SIGNER_BOX
    return f"{FIELD}{existing + 1}", (40, 40 + 85 * (existing - 1), 275, 120 + 85 * (existing - 1))


def _pdf_signer(pdf: bytes, signer: signers.Signer, *, name: str, reason: str, location: str, timestamp_url: str | None,
                validation: ValidationContext | None) -> signers.PdfSigner:
    name_of_field, box = _new_field(pdf)
    meta = signers.PdfSignatureMetadata(field_name=name_of_field, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
                                        reason=reason, location=location, name=name,
                                        embed_validation_info=validation is not None, validation_context=validation)
    stamp = TextStampStyle(stamp_text="Ký số bởi: %(signer)s\nThời gian: %(ts)s")
    return signers.PdfSigner(meta, signer=signer, stamp_style=stamp,
                             timestamper=timestamps.HTTPTimeStamper(timestamp_url) if timestamp_url else None,
                             new_field_spec=fields.SigFieldSpec(name_of_field, on_page=-1, box=box))


@dataclass(frozen=True)
class Revocation:
    """What a signer needs to embed validation information (PAdES B-LT): the trust anchors, the
    revocation lists at hand, and whether the CA's OCSP/CRL services may be fetched."""

    trust_roots: list
    crls: list
    allow_fetching: bool = False

    def context(self) -> ValidationContext:
        # hard-fail: B-LT only with the revocation information actually embedded; else B-T or B-B
        return ValidationContext(trust_roots=self.trust_roots, crls=self.crls, allow_fetching=self.allow_fetching,
                                 revocation_mode="hard-fail")


async def _sign_async(pdf: bytes, signer: signers.Signer, *, revocation: Revocation | None, **kwargs) -> bytes:
    """Sign with the revocation information embedded (B-LT) when it can be; otherwise without it."""
    attempts = [revocation.context(), None] if revocation is not None and revocation.trust_roots else [None]
    last: Exception | None = None
    for validation in attempts:
        out = io.BytesIO()
        try:
            await _pdf_signer(pdf, signer, validation=validation, **kwargs).async_sign_pdf(
                IncrementalPdfFileWriter(io.BytesIO(pdf)), output=out)
            return out.getvalue()
        except SigningError as exc:
            last = exc
        except Exception as exc:  # noqa: BLE001 — certvalidator's errors when the path or revocation cannot be established
            if validation is None:
                raise
            last = exc
    raise SignatureError(f"Không ký được: {str(last)[:200]}") from None


def sign_pdf(pdf: bytes, signer: signers.Signer, *, name: str, reason: str, location: str,
             timestamp_url: str | None = None, revocation: Revocation | None = None) -> bytes:
    """The PDF with one more PAdES signature, visible in the signer block of the last page (a second
    signer — the leader after the clerk — signs in a field of its own beside it): baseline B-B,
    B-T with a time-stamping authority, B-LT when the revocation information can be embedded."""
    import asyncio

    return _outside_event_loop(asyncio.run, _sign_async(pdf, signer, revocation=revocation, name=name, reason=reason,
                                                        location=location, timestamp_url=timestamp_url))


def level_of(pdf: bytes) -> str:
    """The PAdES baseline level of the PDF's last signature: B-LT (validation information in the
    document security store), B-T (a signature timestamp), else B-B."""
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    dss = reader.root.get("/DSS")
    dss = dss.get_object() if dss is not None else None
    if dss is not None and (dss.get("/CRLs") or dss.get("/OCSPs")):
        return "B-LT"
    sigs = reader.embedded_signatures
    unsigned = sigs[-1].signer_info["unsigned_attrs"].native if sigs else None
    if unsigned and any(a["type"] == "signature_time_stamp_token" for a in unsigned):
        return "B-T"
    return "B-B"


# --------------------------------------------------------------------- remote signing (CSC API)
@dataclass(frozen=True)
class RemoteService:
    """A remote signing service speaking the Cloud Signature Consortium API (v1): its base URL (the
    part before /csc/v1/…), the OAuth bearer token of this server's account with it, and the PIN
    that activates signing when the service asks for one."""

    url: str
    token: str = ""
    pin: str = ""
    timeout: int = 30


def _csc_session_info(service: RemoteService, credential: str):
    from pyhanko.sign.signers.csc_signer import CSCServiceSessionInfo

    return CSCServiceSessionInfo(service.url.rstrip("/"), credential, oauth_token=service.token or None)


def _authorizer(session, service: RemoteService):
    from pyhanko.sign.signers.csc_signer import CSCAuthorizationManager

    class Authorize(CSCAuthorizationManager):
        """credentials/authorize for the hashes about to be signed (hash pinning, SCAL 2)."""

        async def authorize_signature(self, hash_b64s):
            import aiohttp

            request = self.format_csc_auth_request(pin=service.pin or None, hash_b64s=hash_b64s)
            try:
                async with session.post(self.csc_session_info.endpoint_url("credentials/authorize"), json=request,
                                        headers=self.auth_headers, raise_for_status=True,
                                        timeout=aiohttp.ClientTimeout(total=service.timeout)) as response:
                    return self.parse_csc_auth_response(await response.json())
            except aiohttp.ClientError as exc:
                raise SigningError(f"Dịch vụ ký số từ xa từ chối cấp phép ký: {exc}") from exc

    return Authorize


async def _remote_certificates(session, service: RemoteService, credential: str):
    from pyhanko.sign.signers.csc_signer import fetch_certs_in_csc_credential

    try:
        return await fetch_certs_in_csc_credential(session, _csc_session_info(service, credential), timeout=service.timeout)
    except (SigningError, ValueError, KeyError) as exc:
        import aiohttp

        if isinstance(exc.__cause__, aiohttp.ClientConnectionError):
            raise SignatureError(f"Không kết nối được dịch vụ ký số từ xa ({service.url}): {str(exc.__cause__)[:160]}") from None
        raise SignatureError(f"Dịch vụ ký số từ xa không trả chứng thư của “{credential}”: {str(exc)[:160]}") from None


def remote_certificate(service: RemoteService, credential: str) -> asn1_x509.Certificate:
    """The signing certificate of a credential of the remote service (credentials/info)."""
    import asyncio

    import aiohttp

    async def run():
        async with aiohttp.ClientSession() as session:
            return (await _remote_certificates(session, service, credential)).signing_cert

    try:
        return _outside_event_loop(asyncio.run, run())
    except aiohttp.ClientError as exc:
        raise SignatureError(f"Không kết nối được dịch vụ ký số từ xa: {str(exc)[:160]}") from None


def sign_pdf_remote(pdf: bytes, service: RemoteService, credential: str, *, name: str, reason: str, location: str,
                    timestamp_url: str | None = None, revocation: Revocation | None = None) -> bytes:
    """sign_pdf with the key of a credential held by a remote signing service (CSC API)."""
    import asyncio

    import aiohttp
    from pyhanko.sign.signers.csc_signer import CSCSigner

    async def run() -> bytes:
        async with aiohttp.ClientSession() as session:
            info = await _remote_certificates(session, service, credential)
            manager = _authorizer(session, service)(_csc_session_info(service, credential), info)
            signer = CSCSigner(session, manager, sign_timeout=service.timeout)
            return await _sign_async(pdf, signer, revocation=revocation, name=name, reason=reason, location=location,
                                     timestamp_url=timestamp_url)

    try:
        return _outside_event_loop(asyncio.run, run())
    except aiohttp.ClientError as exc:
        raise SignatureError(f"Không kết nối được dịch vụ ký số từ xa: {str(exc)[:160]}") from None


@dataclass
class SignatureCheck:
    """One signature of a PDF, as validated."""

    signer: CertInfo | None
    signed_at: datetime | None
    intact: bool  # the signed bytes are those the signer signed
    valid: bool  # the cryptographic signature checks out
    trusted: bool  # a path to an installed trust anchor, valid at signing time
    revoked: bool
    expired_at_signing: bool
    whole_document: bool  # nothing was added after this signature
    timestamped: bool
    details: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.intact and self.valid and self.trusted and not self.revoked and not self.expired_at_signing and self.whole_document


def verify_pdf(data: bytes, *, trust_roots: list[asn1_x509.Certificate], crls: list[asn1_crl.CertificateList],
               allow_fetching: bool = False) -> list[SignatureCheck]:
    """Every signature of the PDF, in document order. A PDF pyHanko cannot read raises SignatureError."""
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = reader.embedded_signatures
    except Exception as exc:  # noqa: BLE001 — malformed PDF
        raise SignatureError(f"Không đọc được tệp PDF: {str(exc)[:200]}") from None
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    settings = {"trust_roots": trust_roots, "crls": crls, "allow_fetching": allow_fetching, "revocation_mode": "soft-fail"}
    try:  # a B-LT document carries the revocation information of its signers: usable offline
        dss = DocumentSecurityStore.read_dss(reader)
    except Exception:  # noqa: BLE001 — no (or an unreadable) document security store
        dss = None
    out = []
    for sig in signatures:
        context = dss.as_validation_context(settings) if dss is not None else ValidationContext(**settings)
        try:
            status = _outside_event_loop(validate_pdf_signature, sig, context)
        except Exception as exc:  # noqa: BLE001 — a signature so broken it cannot be evaluated
            out.append(SignatureCheck(None, None, False, False, False, False, False, False, False, [str(exc)[:300]]))
            continue
        cert = status.signing_cert
        info = CertInfo.of(cert) if cert is not None else None
        signed_at = status.timestamp_validity.timestamp if status.timestamp_validity else status.signer_reported_dt
        expired = bool(info and signed_at and not (info.not_before <= signed_at <= info.not_after))
        out.append(SignatureCheck(
            info, signed_at, bool(status.intact), bool(status.valid), bool(status.trusted), bool(status.revoked), expired,
            _untouched_after(status), status.timestamp_validity is not None,
            [line for line in status.pretty_print_details().splitlines() if line.strip()][:60]))
    return out


def _untouched_after(status) -> bool:
    """Nothing was added after the signature but validation information (the DSS of a B-LT
    document, a document timestamp): pyHanko's difference analysis of the later revisions."""
    from pyhanko.sign.diff_analysis import ModificationLevel

    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return True
    return (status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
            and status.modification_level in (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES))


# ------------------------------------------------------------------------- external (interrupted) signing
@dataclass(frozen=True)
class Prepared:
    """A PDF prepared for a signature made elsewhere (an official's own signing tool and USB token):
    the document with its signature field and reserved space, and the bytes the tool must sign."""

    pdf: bytes
    document_digest: bytes
    region_start: int
    region_end: int
    signed_attrs: bytes  # DER of the CMS signed attributes: the tool signs these (SHA-256, RSA PKCS#1 v1.5 or ECDSA)


def _registry(chain: list[bytes]):
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    return SimpleCertificateStore.from_certs([load_certificate(c) for c in chain])


def prepare_external(pdf: bytes, certificate: bytes, chain: list[bytes], *, name: str, reason: str, location: str) -> Prepared:
    import asyncio

    cert = load_certificate(certificate)

    async def run() -> Prepared:
        field_name, box = _new_field(pdf)
        placeholder = signers.ExternalSigner(signing_cert=cert, cert_registry=_registry(chain), signature_value=bytes(512))
        meta = signers.PdfSignatureMetadata(field_name=field_name, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
                                            reason=reason, location=location, name=name)
        pdf_signer = signers.PdfSigner(meta, signer=placeholder, stamp_style=TextStampStyle(stamp_text="Ký số bởi: %(signer)s\nThời gian: %(ts)s"),
                                       new_field_spec=fields.SigFieldSpec(field_name, on_page=-1, box=box))
        prep, _tbs, output = await pdf_signer.async_digest_doc_for_signing(IncrementalPdfFileWriter(io.BytesIO(pdf)))
        attrs = await placeholder.signed_attrs(prep.document_digest, "sha256", use_pades=True)
        output.seek(0)
        return Prepared(output.read(), prep.document_digest, prep.reserved_region_start, prep.reserved_region_end, attrs.dump())

    return _outside_event_loop(asyncio.run, run())


def complete_external(prepared: Prepared, certificate: bytes, chain: list[bytes], signature_value: bytes) -> bytes:
    """The prepared PDF with the signature the tool returned embedded as a PAdES CMS."""
    import asyncio

    from asn1crypto import cms
    from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
    from pyhanko.sign.signers.pdf_signer import PdfTBSDocument

    cert = load_certificate(certificate)

    async def run() -> bytes:
        signer = signers.ExternalSigner(signing_cert=cert, cert_registry=_registry(chain), signature_value=signature_value)
        content = await signer.async_sign_prescribed_attributes("sha256", signed_attrs=cms.CMSAttributes.load(prepared.signed_attrs))
        output = io.BytesIO(prepared.pdf)
        await PdfTBSDocument.async_finish_signing(
            output, PreparedByteRangeDigest(prepared.document_digest, prepared.region_start, prepared.region_end), content)
        return output.getvalue()

    try:
        return _outside_event_loop(asyncio.run, run())
    except Exception as exc:  # noqa: BLE001 — a signature value that does not fit
        raise SignatureError(f"Không gắn được chữ ký vào tài liệu: {str(exc)[:200]}") from None
