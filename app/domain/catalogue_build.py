"""The whole catalogue: built from its documents and cross-checked (indicators a form or a ratio
refers to, receivers), and a regime version as a self-contained snapshot with its hash."""
from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

from .catalogue import (
    Catalogue,
    IndicatorDef,
    RegimeDef,
    Source,
)
from .catalogue_parse import line_of, parse_disaggregations, parse_indicators, parse_regime
from .errors import DomainError, Problem


# ---------------------------------------------------------------------------------- whole
def build_catalogue(disaggregation_sources: list[Source], indicator_sources: list[Source],
                    regime_sources: list[tuple[Source, dict[str, Source]]]) -> tuple[Catalogue, list[Problem]]:
    """Read and cross-check every file; the catalogue is usable only when problems is empty."""
    problems: list[Problem] = []
    cat = Catalogue()
    for source in disaggregation_sources:
        for d in parse_disaggregations(source, problems):
            if d.code in cat.disaggregations:
                problems.append(Problem(f"mã phân tổ “{d.code}” bị trùng", source.path))
            cat.disaggregations[d.code] = d
    seen_at: dict[str, str] = {}
    parsed = []
    for source in indicator_sources:
        for ind, node in parse_indicators(source, problems):
            if ind.code in cat.indicators:
                problems.append(Problem(f"mã chỉ tiêu “{ind.code}” bị trùng (đã định nghĩa ở {seen_at[ind.code]})", source.path, line_of(node, "code")))
                continue
            seen_at[ind.code] = f"{source.path}:{line_of(node, 'code')}"
            cat.indicators[ind.code] = ind
            cat.indicator_sources[ind.code] = to_plain(node)
            parsed.append((ind, node, source))
    for ind, node, source in parsed:
        _check_indicator_refs(ind, node, source, cat, problems)
    for source, forms in regime_sources:
        regime = parse_regime(source, forms, cat, problems)
        if regime is None:
            continue
        if regime.code in cat.regimes:
            problems.append(Problem(f"mã chế độ báo cáo “{regime.code}” bị trùng", source.path, line_of(source.data, "code")))
            continue
        cat.regimes[regime.code] = regime
        cat.snapshots[regime.code] = regime_snapshot(source, forms, regime, cat)
    return cat, problems


def _check_indicator_refs(ind: IndicatorDef, node: Any, source: Source, cat: Catalogue, problems: list[Problem]) -> None:
    """Disaggregations and ratio parts must be defined (checked once every file is read)."""
    for d in ind.disaggregations:
        if d not in cat.disaggregations:
            problems.append(Problem(f"chỉ tiêu {ind.code}: phân tổ “{d}” chưa được định nghĩa", source.path, line_of(node, "disaggregations")))
    for key, parts in (("numerator", ind.numerator), ("denominator", ind.denominator)):
        for part in parts:
            if part not in cat.indicators:
                problems.append(Problem(f"chỉ tiêu {ind.code}: thành phần tỷ lệ “{part}” chưa được định nghĩa", source.path, line_of(node, key)))


def regime_snapshot(source: Source, forms: dict[str, Source], regime: RegimeDef, cat: Catalogue) -> dict:
    """The plain, self-contained definition stored with a regime version: the regime, its forms,
    and the indicators and disaggregations it uses as they were when the version was made."""
    used = regime.indicator_codes
    parts = {p for c in used for p in cat.indicators[c].numerator + cat.indicators[c].denominator}
    used += sorted(parts - set(used))
    disaggs = sorted({d for c in used for d in cat.indicators[c].disaggregations} | {d for f in regime.forms for d in f.disaggregations})
    from .documents import disaggregation_document, form_document, indicator_document, regime_document

    # canonical documents, not the text as written: a file and a web edit saying the same thing
    # make the same snapshot and hash (docs/decisions/0003-designer.md)
    return {
        "regime": regime_document(regime),
        "forms": {f.code: form_document(f) for f in regime.forms},
        "indicators": [indicator_document(cat.indicators[c]) for c in used],
        "disaggregations": [disaggregation_document(cat.disaggregations[d]) for d in disaggs],
    }


def regime_from_snapshot(snapshot: dict) -> tuple[RegimeDef, Catalogue]:
    """Rebuild a regime version (and the indicators it used) from its stored snapshot."""
    forms = {code: Source(f"forms/{code}", data) for code, data in snapshot["forms"].items()}
    cat, problems = build_catalogue(
        [Source("snapshot", {"disaggregations": snapshot["disaggregations"]})],
        [Source("snapshot", {"indicators": snapshot["indicators"]})],
        [(Source("snapshot", snapshot["regime"]), forms)],
    )
    if problems:
        raise DomainError("Bản lưu của phiên bản chế độ báo cáo bị hỏng: " + "; ".join(map(str, problems)))
    regime = next(iter(cat.regimes.values()))
    return regime, cat


def snapshot_hash(snapshot: dict) -> str:
    return hashlib.sha256(canonical_json(snapshot).encode()).hexdigest()


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def to_plain(node: Any) -> Any:
    """Line-aware YAML nodes → plain JSON-able data (dates as ISO strings)."""
    if isinstance(node, dict):
        return {str(k): to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [to_plain(v) for v in node]
    if isinstance(node, date):
        return node.isoformat()
    return node
