"""Designing a regime on the web: the eleven elements Decree 09 requires (Art. 7), a skeleton to
start from, similar-indicator detection, and a rule checker on sample values."""
from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import DomainError
from .rules import RuleSyntaxError, parse_rule

# (element, where it lives in the document, what it means — shown beside each field)
ELEMENTS: list[tuple[str, str, str]] = [
    ("Tên báo cáo", "name_vi", "Tên ngắn gọn, nêu rõ nội dung và tính chất định kỳ của báo cáo."),
    ("Nội dung yêu cầu báo cáo", "content", "Những thông tin cần báo cáo; nêu rõ phần lời (đề cương) và/hoặc số liệu (biểu mẫu)."),
    ("Đối tượng thực hiện báo cáo", "tiers.reporters", "Các cơ quan, đơn vị phải báo cáo: theo cấp hành chính và/hoặc danh sách cụ thể."),
    ("Cơ quan nhận báo cáo", "tiers.receiver", "Với mỗi cấp báo cáo: cơ quan nhận (cấp trên trực tiếp, UBND tỉnh, một sở, hoặc mã cơ quan)."),
    ("Phương thức gửi, nhận báo cáo", "sending_methods", "Hệ thống thông tin báo cáo, hệ thống văn bản điều hành, thư điện tử, bưu chính…"),
    ("Thời hạn gửi báo cáo", "tiers.deadline", "Với mỗi cấp: ngày trong tháng, số ngày (làm việc) sau khi chốt số liệu, hoặc ngày cố định."),
    ("Tần suất thực hiện báo cáo", "frequency", "Hằng tuần, tháng, quý, 6 tháng, 9 tháng, năm; chuyên đề hoặc đột xuất."),
    ("Thời gian chốt số liệu báo cáo", "cutoff", "Điều 12 Nghị định 09: từ ngày 15 tháng trước đến ngày 14 tháng của kỳ báo cáo, hoặc theo lịch."),
    ("Mẫu đề cương báo cáo", "outline", "Các mục phần lời của báo cáo, với hướng dẫn viết từng mục."),
    ("Mẫu biểu số liệu báo cáo", "forms", "Các biểu số liệu: chỉ tiêu theo dòng, phân tổ theo cột, quy tắc kiểm tra."),
    ("Hướng dẫn quy trình thực hiện báo cáo", "process_guidance", "Ai lập, ai ký, gửi cho ai, khi nào; bắt buộc với báo cáo nhiều cấp."),
]


@dataclass(frozen=True)
class ElementStatus:
    name: str
    key: str
    help: str
    present: bool
    required: bool = True


def checklist(doc: Mapping[str, Any], forms: Mapping[str, Any]) -> list[ElementStatus]:
    """Which Decree-09 elements the draft has. Outline and forms are required according to the
    content kind; process guidance when there is more than one tier."""
    tiers = doc.get("tiers") or []
    kind = doc.get("content_kind", "both")
    out = []
    for name, key, help_ in ELEMENTS:
        required = True
        if key == "tiers.reporters":
            present = bool(tiers) and all((t.get("reporters") or {}).get("levels") or (t.get("reporters") or {}).get("agencies")
                                          for t in tiers)
        elif key == "tiers.receiver":
            present = bool(tiers) and all(t.get("receiver") for t in tiers)
        elif key == "tiers.deadline":
            present = bool(tiers) and all((t.get("deadline") or {}).get("rule") for t in tiers)
        elif key == "outline":
            required = kind in ("text", "both")
            present = bool(doc.get("outline"))
        elif key == "forms":
            required = kind in ("data", "both")
            present = bool(doc.get("forms")) and all((forms.get(c) or {}).get("rows") for c in doc.get("forms", []))
        elif key == "process_guidance":
            required = len(tiers) > 1
            present = bool(str(doc.get("process_guidance") or "").strip())
        elif key == "cutoff":
            present = bool((doc.get("cutoff") or {}).get("rule"))
        else:
            value = doc.get(key)
            present = bool(value.strip() if isinstance(value, str) else value)
        out.append(ElementStatus(name, key, help_, present, required))
    return out


def missing_elements(doc: Mapping[str, Any], forms: Mapping[str, Any]) -> list[str]:
    return [e.name for e in checklist(doc, forms) if e.required and not e.present]


def new_regime_document(*, code: str, name_vi: str, issuing_agency: str, frequency: str, valid_from: str) -> dict:
    """A skeleton: everything a designer must decide is left empty so the checklist shows it."""
    return {
        "code": code, "name_vi": name_vi, "type": "periodic" if frequency != "ad_hoc" else "ad_hoc",
        "frequency": frequency, "issuing_agency": issuing_agency, "legal_basis": "", "valid_from": valid_from,
        "content": "", "content_kind": "both", "sending_methods": ["system"], "cutoff": {"rule": "decree09"},
        "tiers": [], "outline": [], "forms": [], "process_guidance": "",
    }


def new_form_document(code: str, title: str) -> dict:
    return {"code": code, "title": title, "columns": ["current"], "rows": []}


# ------------------------------------------------------------------------- similar indicators
def fold(text: str) -> str:
    """Lower case without diacritics (đ → d), words only: for comparing names."""
    text = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    return " ".join(re.findall(r"[a-z0-9]+", text))


@dataclass(frozen=True)
class Similar:
    code: str
    name_vi: str
    score: float
    reason: str


def similar_indicators(code: str, name_vi: str, library: Iterable[tuple[str, str]], *, threshold: float = 0.72) -> list[Similar]:
    """Existing indicators with the same code, or a name close enough to be the same thing
    (Decree 09 Art. 5: do not collect what is already collected)."""
    target = fold(name_vi)
    words = set(target.split())
    out = []
    for other_code, other_name in library:
        if other_code == code:
            out.append(Similar(other_code, other_name, 1.0, "trùng mã"))
            continue
        folded = fold(other_name)
        ratio = difflib.SequenceMatcher(None, target, folded).ratio()
        other_words = set(folded.split())
        overlap = len(words & other_words) / len(words | other_words) if words | other_words else 0.0
        score = max(ratio, overlap)
        if score >= threshold:
            out.append(Similar(other_code, other_name, round(score, 2), "tên gần giống"))
    return sorted(out, key=lambda s: -s.score)[:10]


# ------------------------------------------------------------------------------ rule checker
@dataclass(frozen=True)
class RuleCheck:
    ok: bool  # the rule parses and names only known indicators
    message: str
    holds: bool | None = None


def check_rule(text: str, known: set[str], sample: Mapping[str, float]) -> RuleCheck:
    """Parse a rule, name unknown codes, and evaluate it on sample values."""
    try:
        rule = parse_rule(text)
    except (RuleSyntaxError, DomainError) as exc:
        return RuleCheck(False, str(exc))
    unknown = sorted(rule.codes - known)
    if unknown:
        return RuleCheck(False, "Mã chỉ tiêu không có trong biểu: " + ", ".join(unknown))
    missing = sorted(rule.codes - set(sample))
    if missing:
        return RuleCheck(True, "Quy tắc hợp lệ; nhập giá trị mẫu cho " + ", ".join(missing) + " để thử")
    holds = rule.holds(sample)
    shown = ", ".join(f"{c} = {sample[c]:g}" for c in sorted(rule.codes))
    verdict = {True: "thỏa", False: "KHÔNG thỏa", None: "không tính được (chia cho 0)"}[holds]
    return RuleCheck(True, f"Với {shown}: quy tắc {verdict}", holds)


def text_diff(before: str, after: str, a: str, b: str) -> list[str]:
    return list(difflib.unified_diff(before.splitlines(), after.splitlines(), a, b, lineterm=""))
