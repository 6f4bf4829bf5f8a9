"""The verdict on a signed report, in the words a receiver reads: every check a signature must pass
(integrity, nothing added after signing, the cryptography, a chain to an installed trust anchor,
not revoked, valid at signing time, the signer belongs to the reporting agency), each failure named.
Takes the checks the signature adapter produced (duck-typed): no PDF library here."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .deadlines import VN_TZ


@dataclass(frozen=True)
class Verdict:
    ok: bool
    message: str
    problems: list[str] = field(default_factory=list)
    signers: list[str] = field(default_factory=list)


def _when(dt) -> str:
    return dt.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y") if dt else "không rõ thời điểm"


def problems_of(check, agency_fingerprints: set[str] | None = None, agency_name: str = "") -> list[str]:
    out = []
    if not check.intact:
        out.append("tài liệu đã bị sửa sau khi ký: nội dung không còn khớp với chữ ký")
    elif not check.valid:
        out.append("chữ ký không đúng về mật mã")
    if check.intact and not check.whole_document:
        out.append("tài liệu có thêm nội dung sau chữ ký này (bản cập nhật bổ sung)")
    if check.revoked:
        out.append("chứng thư số của người ký đã bị thu hồi")
    if check.expired_at_signing:
        out.append("chứng thư số chưa có hiệu lực hoặc đã hết hạn vào thời điểm ký")
    elif not check.trusted and not check.revoked:
        out.append("chứng thư số không dẫn tới chứng thư gốc tin cậy nào đã cài đặt trên hệ thống")
    if agency_fingerprints is not None and check.signer and check.signer.fingerprint not in agency_fingerprints:
        out.append(f"người ký không thuộc đơn vị báo cáo{' (' + agency_name + ')' if agency_name else ''}: chứng thư số chưa được gắn với đơn vị")
    return out


def verdict(checks: Iterable, *, agency_fingerprints: set[str] | None = None, agency_name: str = "") -> Verdict:
    """"Chữ ký hợp lệ — ký bởi …, lúc …, chứng thư số do … cấp" or what is wrong, for every signature."""
    checks = list(checks)
    if not checks:
        return Verdict(False, "Tài liệu không có chữ ký số", ["tài liệu không có chữ ký số"])
    problems, signers = [], []
    for i, check in enumerate(checks):
        who = check.signer.common_name if check.signer else "không rõ người ký"
        signers.append(f"{who}, lúc {_when(check.signed_at)}")
        # the first signature (the report's) must be the agency's; later ones (a leader's) are checked for the rest
        mine = problems_of(check, agency_fingerprints if i == 0 else None, agency_name)
        last = i == len(checks) - 1
        if not last:  # an earlier signature is followed by later ones by design: only their own coverage counts
            mine = [p for p in mine if not p.startswith("tài liệu có thêm nội dung")]
        problems += [f"chữ ký của {who}: {p}" if len(checks) > 1 else p for p in mine]
    if problems:
        return Verdict(False, "Chữ ký không hợp lệ — " + "; ".join(problems), problems, signers)
    first = checks[0]
    signer = first.signer
    org = f" ({signer.organization})" if signer and signer.organization else ""
    more = f"; và {len(checks) - 1} chữ ký khác hợp lệ" if len(checks) > 1 else ""
    return Verdict(True, f"Chữ ký hợp lệ — ký bởi {signer.common_name}{org}, lúc {_when(first.signed_at)}, "
                         f"chứng thư số do {signer.issuer} cấp (số hiệu {signer.serial}){more}", [], signers)
