"""Data interchange formats with stable codes: SDMX-ML 2.1 structure (sdmx1), SDMX-CSV 2.0 data
rows, and DHIS2 data value sets (JSON and CSV, code id scheme).

SDMX identifiers may not contain "." or "=", so agency codes map "." → "_" (T01.SCT → T01_SCT;
our codes never contain "_") and breakdown keys map "GIOI_TINH=NU" → "GIOI_TINH-NU", ";" → "--";
the total is "_T". Period keys are already SDMX reporting periods (2026-M10, 2026-Q4, 2026).
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from decimal import Decimal

AGENCY_ID = "VN_BAOCAO"
TOTAL = "_T"


def sdmx_area(code: str) -> str:
    return code.replace(".", "_")


def sdmx_breakdown(key: str) -> str:
    return key.replace(";", "--").replace("=", "-") if key else TOTAL


def flow_id(regime: str) -> str:
    return "DF_" + regime.replace(".", "_")


def dsd_id(regime: str) -> str:
    return "DSD_" + regime.replace(".", "_")


def structure_xml(*, regime: str, regime_name: str, version: int, indicators: list[tuple[str, str]],
                  areas: list[tuple[str, str]], breakdowns: list[tuple[str, str]]) -> bytes:
    """An SDMX-ML 2.1 structure message: code lists (areas, indicators, breakdowns), one data
    structure definition per regime version, and its dataflow."""
    import sdmx
    from sdmx.message import StructureMessage
    from sdmx.model import common
    from sdmx.model import v21 as m

    agency = common.Agency(id=AGENCY_ID, name={"vi": "Hệ thống báo cáo baocao", "en": "baocao reporting system"})
    ver = f"{version}.0"

    def codelist(cl_id: str, name: str, items: list[tuple[str, str]]) -> m.Codelist:
        cl = m.Codelist(id=cl_id, name={"vi": name}, maintainer=agency, version=ver, is_final=True)
        for code, label in items:
            cl.append(m.Code(id=code, name={"vi": label}))
        return cl

    cl_area = codelist("CL_AREA", "Cơ quan, đơn vị báo cáo", [(sdmx_area(c), n) for c, n in areas])
    cl_ind = codelist(f"CL_INDICATOR_{regime.replace('.', '_')}", f"Chỉ tiêu — {regime_name}", indicators)
    cl_brk = codelist("CL_BREAKDOWN", "Phân tổ", [(TOTAL, "Tổng số")] + [(sdmx_breakdown(k), n) for k, n in breakdowns if k])
    dsd = m.DataStructureDefinition(id=dsd_id(regime), name={"vi": regime_name}, maintainer=agency, version=ver, is_final=True)
    for i, (dim_id, cl) in enumerate((("REF_AREA", cl_area), ("INDICATOR", cl_ind), ("BREAKDOWN", cl_brk))):
        dsd.dimensions.append(m.Dimension(id=dim_id, order=i + 1, local_representation=common.Representation(enumerated=cl)))
    dsd.dimensions.append(m.TimeDimension(id="TIME_PERIOD", order=4))
    dsd.measures.append(m.PrimaryMeasure(id="OBS_VALUE"))
    flow = m.DataflowDefinition(id=flow_id(regime), name={"vi": regime_name}, maintainer=agency, version=ver, is_final=True,
                                structure=dsd)
    msg = StructureMessage()
    for cl in (cl_area, cl_ind, cl_brk):
        msg.add(cl)
    msg.add(dsd)
    msg.add(flow)
    return sdmx.to_xml(msg, pretty_print=True)


def sdmx_csv(regime: str, version: int, rows: Iterable[tuple[str, str, str, str, Decimal | str]]) -> Iterator[str]:
    """SDMX-CSV 2.0, streamed: rows of (agency, indicator, breakdown key, period, value)."""
    header = ["STRUCTURE", "STRUCTURE_ID", "ACTION", "REF_AREA", "INDICATOR", "BREAKDOWN", "TIME_PERIOD", "OBS_VALUE"]
    structure = f"{AGENCY_ID}:{flow_id(regime)}({version}.0)"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    yield _drain(out)
    # codes, keys and numbers never contain a comma or a quote: rows are written directly
    prefix = f"dataflow,{structure},I,"
    lines: list[str] = []
    for agency, indicator, key, period, value in rows:
        lines.append(f"{prefix}{agency.replace('.', '_')},{indicator},{sdmx_breakdown(key)},{period},{_text(value)}\n")
        if len(lines) >= 10000:
            yield "".join(lines)
            lines = []
    yield "".join(lines)


def _text(value) -> str:
    return value if isinstance(value, str) else format(value, "f")


def _drain(buf: io.StringIO) -> str:
    text = buf.getvalue()
    buf.seek(0)
    buf.truncate()
    return text


def dhis2_period(key: str) -> str:
    """baocao period key → DHIS2 ISO period: 2026-M10 → 202610, 2026-Q4 → 2026Q4, 2026-S2 → 2026S2, 2026 → 2026."""
    if "-M" in key:
        year, month = key.split("-M")
        return f"{year}{int(month):02d}"
    if "-Q" in key or "-S" in key:
        return key.replace("-", "")
    if "-W" in key:
        return key.replace("-", "")
    return key


DHIS2_COLUMNS = ["dataelement", "period", "orgunit", "categoryoptioncombo", "attributeoptioncombo", "value", "storedby",
                 "lastupdated", "comment", "followup"]


def dhis2_values(rows: Iterable[tuple[str, str, str, str, Decimal]]) -> list[dict]:
    return [{"dataElement": indicator, "period": dhis2_period(period), "orgUnit": agency,
             "categoryOptionCombo": key.replace(";", ",") if key else "default", "value": _text(value)}
            for agency, indicator, key, period, value in rows]


def dhis2_json(rows) -> bytes:
    """A DHIS2 data value set using the CODE id scheme (import with idScheme=CODE)."""
    body = {"dataElementIdScheme": "CODE", "orgUnitIdScheme": "CODE", "categoryOptionComboIdScheme": "CODE",
            "dataValues": dhis2_values(rows)}
    return json.dumps(body, ensure_ascii=False, indent=1).encode("utf-8")


def dhis2_csv(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(DHIS2_COLUMNS)
    for v in dhis2_values(rows):
        writer.writerow([v["dataElement"], v["period"], v["orgUnit"], v["categoryOptionCombo"], "", v["value"], "baocao", "", "", "false"])
    return out.getvalue().encode("utf-8")


# ------------------------------------------------------------------------------------ reading
class InterchangeError(ValueError):
    pass


def agency_from_sdmx(area: str) -> str:
    return area.replace("_", ".")


def breakdown_from_sdmx(code: str) -> str:
    if code in (TOTAL, ""):
        return ""
    return ";".join(part.replace("-", "=", 1) for part in code.split("--"))


def period_from_dhis2(p: str) -> str:
    p = p.strip()
    if len(p) == 6 and p.isdigit():
        return f"{p[:4]}-M{p[4:]}"
    for mark in ("Q", "S", "W"):
        if mark in p:
            year, n = p.split(mark, 1)
            if mark == "W" and not n.isdigit():
                return p  # refused as an unknown period by the caller, with the line named
            return f"{year}-{mark}{n}" if mark != "W" else f"{year}-W{int(n):02d}"
    return p


def read_sdmx_csv(text: str) -> tuple[str, list[tuple[int, str, str, str, str, str]]]:
    """(regime code, [(line, agency, indicator, breakdown key, period, value)]) from SDMX-CSV 2.0."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise InterchangeError("Tệp SDMX-CSV rỗng") from None
    need = ["STRUCTURE", "STRUCTURE_ID", "REF_AREA", "INDICATOR", "BREAKDOWN", "TIME_PERIOD", "OBS_VALUE"]
    missing = [c for c in need if c not in header]
    if missing:
        raise InterchangeError("Thiếu cột SDMX-CSV: " + ", ".join(missing))
    idx = {c: header.index(c) for c in need + (["ACTION"] if "ACTION" in header else [])}
    regimes, rows = set(), []
    for line, row in enumerate(reader, 2):
        if not row:
            continue
        sid = row[idx["STRUCTURE_ID"]]
        if not sid.startswith(f"{AGENCY_ID}:DF_") or "(" not in sid:
            raise InterchangeError(f"Dòng {line}: STRUCTURE_ID “{sid}” không phải dataflow của baocao ({AGENCY_ID}:DF_…)")
        regimes.add(sid[len(f"{AGENCY_ID}:DF_"):sid.index("(")])
        if "ACTION" in idx and row[idx["ACTION"]] not in ("I", "R", "A", ""):
            raise InterchangeError(f"Dòng {line}: chỉ nhận ACTION I, R hoặc A")
        rows.append((line, agency_from_sdmx(row[idx["REF_AREA"]]), row[idx["INDICATOR"]], breakdown_from_sdmx(row[idx["BREAKDOWN"]]),
                     row[idx["TIME_PERIOD"]], row[idx["OBS_VALUE"]]))
    if len(regimes) > 1:
        raise InterchangeError("Một tệp chỉ chứa số liệu của một chế độ báo cáo")
    if not regimes:
        raise InterchangeError("Tệp không có dòng số liệu nào")
    return regimes.pop(), rows


def read_dhis2(body: bytes, content_type: str) -> list[tuple[int, str, str, str, str, str]]:
    """[(position, orgUnit, dataElement, breakdown key, period, value)] from a data value set."""
    rows = []
    if "json" in content_type:
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InterchangeError(f"JSON không hợp lệ: {str(exc)[:200]}") from None
        except RecursionError:
            raise InterchangeError("JSON lồng quá sâu") from None
        values = data.get("dataValues") if isinstance(data, dict) else None
        if not isinstance(values, list):
            raise InterchangeError("Thiếu danh sách “dataValues”")
        for i, v in enumerate(values):
            if not isinstance(v, dict):
                raise InterchangeError(f"dataValues[{i}] phải là một đối tượng")
            combo = str(v.get("categoryOptionCombo") or "default")
            rows.append((i, str(v.get("orgUnit", "")), str(v.get("dataElement", "")), "" if combo == "default" else combo.replace(",", ";"),
                         period_from_dhis2(str(v.get("period", ""))), str(v.get("value", ""))))
        return rows
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InterchangeError(f"Tệp CSV phải mã hóa UTF-8 (byte {exc.start} không đọc được) — "
                               "lưu lại tệp với bảng mã UTF-8 rồi gửi lại") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("dataelement", "period", "orgunit", "value") if c not in (reader.fieldnames or [])]
    if missing:
        raise InterchangeError("Thiếu cột DHIS2: " + ", ".join(missing))
    for line, r in enumerate(reader, 2):
        combo = r.get("categoryoptioncombo") or "default"
        rows.append((line, r["orgunit"], r["dataelement"], "" if combo == "default" else combo.replace(",", ";"),
                     period_from_dhis2(r["period"]), r["value"]))
    return rows
