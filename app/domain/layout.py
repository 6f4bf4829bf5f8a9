"""The grid a data form becomes: which cells a reporter types, which the system computes, and the
columns it fills from stored data (previous period, same period last year, year to date, % change).

A cell is keyed by (indicator, disaggregation key); the key is "" for the total and
"GIOI_TINH=NU" (categories sorted, joined by ";") for a breakdown. An indicator used by two forms of
a regime is one value.
"""
from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from .catalogue import Catalogue, Form, FormRow, IndicatorDef, RegimeDef
from .numbers import normalise

CellKey = tuple[str, str]
TOTAL = ""

SYSTEM_LABELS = {
    "previous": "Kỳ trước",
    "same_period_last_year": "Cùng kỳ năm trước",
    "cumulative": "Lũy kế từ đầu năm",
    "pct_previous": "So với kỳ trước (%)",
    "pct_same_period_last_year": "So với cùng kỳ năm trước (%)",
    "plan": "Kế hoạch năm",
    "pct_plan": "So với kế hoạch năm (%)",
}


def dkey(parts: Mapping[str, str]) -> str:
    return ";".join(f"{k}={parts[k]}" for k in sorted(parts))


def dparts(key: str) -> dict[str, str]:
    return dict(p.split("=", 1) for p in key.split(";")) if key else {}


@dataclass(frozen=True)
class Entry:
    """What a reporter gave for one cell."""

    value: Decimal | str | None
    estimate: bool = False  # ước thực hiện: the cut-off came before the period ended
    comment: str = ""


@dataclass(frozen=True)
class Column:
    key: str  # disaggregation key, "" for the total
    label: str


@dataclass(frozen=True)
class Cell:
    form: str
    indicator: IndicatorDef
    key: str
    kind: str  # input | children | options | ratio
    carried_from: str | None = None

    @property
    def computed(self) -> bool:
        return self.kind != "input"


@dataclass(frozen=True)
class Line:
    row: FormRow
    indicator: IndicatorDef
    depth: int
    cells: tuple[Cell, ...]

    @property
    def needs_of_which(self) -> bool:
        """An "of which" row is labelled "Trong đó:" — unless its name already says so (no "Trong đó: Trong đó:")."""
        return self.row.of_which and not self.indicator.name_vi.strip().lower().startswith("trong đó")

    @property
    def label(self) -> str:
        return ("Trong đó: " if self.needs_of_which else "") + self.indicator.name_vi


@dataclass
class FormGrid:
    form: Form
    columns: list[Column]
    system_columns: list[str]
    lines: list[Line] = field(default_factory=list)

    @property
    def label(self) -> str:
        code = self.form.code
        return f"Biểu {code[4:]}" if code.startswith("BIEU") and code[4:].isdigit() else code


class Layout:
    """Every cell of a regime version's forms, and how computed cells follow from typed ones."""

    def __init__(self, regime: RegimeDef, catalogue: Catalogue):
        self.regime = regime
        self.catalogue = catalogue
        self.forms: list[FormGrid] = []
        self.cells: dict[CellKey, Cell] = {}
        in_regime = set(regime.indicator_codes)
        for form in regime.forms:
            columns = [Column(TOTAL, "Tổng số")]
            options = [catalogue.disaggregations[c].options for c in form.disaggregations if c in catalogue.disaggregations]
            for combo in itertools.product(*options) if options else ():
                parts = dict(zip(form.disaggregations, (o.code for o in combo), strict=True))
                columns.append(Column(dkey(parts), " – ".join(o.name_vi for o in combo)))
            if len(columns) == 1:
                columns[0] = Column(TOTAL, "Thực hiện kỳ này")
            grid = FormGrid(form, columns, [c for c in form.columns if c != "current"])
            depth: dict[str, int] = {}
            for row in form.rows:
                ind = catalogue.indicators[row.indicator]
                depth[row.indicator] = depth.get(row.parent, -1) + 1 if row.parent else 0
                cells = []
                for col in columns:
                    kind = self._kind(form, row, ind, col.key, in_regime)
                    cell = self.cells.setdefault((ind.code, col.key), Cell(form.code, ind, col.key, kind, row.carried_from))
                    cells.append(cell)
                grid.lines.append(Line(row, ind, depth[row.indicator], tuple(cells)))
            self.forms.append(grid)
        self._children = {
            (form.code, r.indicator): [c.indicator for c in form.children(r.indicator)]
            for form in regime.forms for r in form.rows
        }

    @staticmethod
    def _kind(form: Form, row: FormRow, ind: IndicatorDef, key: str, in_regime: set[str]) -> str:
        if ind.value_type == "text":
            return "input"
        if form.children(row.indicator) and ind.aggregation == "sum":
            return "children"
        if key == TOTAL and form.disaggregations and ind.aggregation == "sum":
            return "options"
        if ind.aggregation == "ratio" and ind.numerator and ind.denominator and \
                set(ind.numerator) | set(ind.denominator) <= in_regime:
            return "ratio"
        return "input"

    @property
    def input_keys(self) -> list[CellKey]:
        return [k for k, c in self.cells.items() if not c.computed]

    def grid(self, form_code: str) -> FormGrid:
        return next(g for g in self.forms if g.form.code == form_code)

    def complete(self, typed: Mapping[CellKey, Decimal | str | None]) -> dict[CellKey, Decimal | str | None]:
        """Typed values plus every computed cell (sum of rows below, sum of breakdowns, ratios).
        A computed cell whose parts are all empty stays empty; a ratio over zero stays empty."""
        out: dict[CellKey, Decimal | str | None] = {k: v for k, v in typed.items() if k in self.cells and not self.cells[k].computed}
        memo: dict[CellKey, Decimal | None] = {}

        def value(key: CellKey, depth: int = 0) -> Decimal | None:
            if key in memo:
                return memo[key]
            cell = self.cells.get(key)
            result: Decimal | None
            if cell is None or depth > 50:
                result = None
            elif not cell.computed:
                v = out.get(key)
                result = v if isinstance(v, Decimal) else None
            elif cell.kind == "children":
                result = _sum(value((child, key[1]), depth + 1) for child in self._children[(cell.form, key[0])])
            elif cell.kind == "options":
                grid = self.grid(cell.form)
                result = _sum(value((key[0], c.key), depth + 1) for c in grid.columns if c.key != TOTAL)
            else:  # ratio
                num = _sum(value((c, key[1]), depth + 1) for c in cell.indicator.numerator)
                den = _sum(value((c, key[1]), depth + 1) for c in cell.indicator.denominator)
                result = normalise(num / den * Decimal(str(cell.indicator.scale))) if num is not None and den else None
            memo[key] = result
            return result

        for key, cell in self.cells.items():
            if cell.computed:
                out[key] = value(key)
        return out


def _sum(values) -> Decimal | None:
    present = [v for v in values if v is not None]
    return normalise(sum(present, Decimal(0))) if present else None


def pct(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    """a as a percentage of b (the way Vietnamese reports compare: 105,3 % means up 5,3 %)."""
    if a is None or b is None or b == 0:
        return None
    return normalise(a / b * 100)


def system_values(layout: Layout, current: Mapping[CellKey, Decimal | str | None], *,
                  previous: Mapping[CellKey, Decimal | str | None] | None,
                  last_year: Mapping[CellKey, Decimal | str | None] | None,
                  earlier_this_year: list[Mapping[CellKey, Decimal | str | None]]) -> dict[str, dict[str, Decimal | None]]:
    """The columns baocao fills, per indicator (totals only): {column: {indicator: value}}.
    Year to date adds this period to the earlier periods of the year, for summed indicators."""
    out: dict[str, dict[str, Decimal | None]] = {c: {} for c in SYSTEM_LABELS}
    for (code, key), cell in layout.cells.items():
        if key != TOTAL or cell.indicator.value_type == "text":
            continue
        cur = _num(current.get((code, key)))
        prev = _num((previous or {}).get((code, key)))
        ly = _num((last_year or {}).get((code, key)))
        out["previous"][code] = prev
        out["same_period_last_year"][code] = ly
        out["pct_previous"][code] = pct(cur, prev)
        out["pct_same_period_last_year"][code] = pct(cur, ly)
        if cell.indicator.aggregation == "sum":
            parts = [_num(p.get((code, key))) for p in earlier_this_year] + [cur]
            out["cumulative"][code] = _sum(parts)
        else:
            out["cumulative"][code] = None
        out["plan"][code] = None  # no annual plan is recorded yet (docs/decisions/0002-submission.md)
        out["pct_plan"][code] = None
    return out


def _num(v) -> Decimal | None:
    return v if isinstance(v, Decimal) else None
