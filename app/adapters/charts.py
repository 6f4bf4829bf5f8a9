"""Charts as SVG with real text (matplotlib, Agg): readable Vietnamese labels on the web and, later,
searchable in the PDF. Numbers on the axes in Vietnamese format."""
from __future__ import annotations

import io
from decimal import Decimal

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from app.domain.numbers import format_vn  # noqa: E402

matplotlib.rcParams.update({
    "svg.fonttype": "none",  # text stays text
    "font.family": ["Liberation Serif", "DejaVu Serif", "serif"],
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "baocao",  # stable ids: the same data gives the same SVG
    "text.parse_math": False,  # names are text: "$…$" in an indicator name is not TeX (it broke the PDF)
})
_AXIS = FuncFormatter(lambda v, _pos: format_vn(Decimal(str(round(v, 2)))))


def _svg(fig) -> str:
    out = io.StringIO()
    fig.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = out.getvalue()
    return text[text.index("<svg"):]


def trend_svg(labels: list[str], values: list[Decimal | None], title: str, unit: str,
              last_year: list[Decimal | None] | None = None) -> str:
    """The figure over the periods; with `last_year`, the same periods a year earlier as a second,
    dashed line (seasonal figures are read against their own season)."""
    fig, ax = plt.subplots(figsize=(7.5, 3.0))
    xs = [i for i, v in enumerate(values) if v is not None]
    ys = [float(values[i]) for i in xs]
    ax.plot(xs, ys, marker="o", color="#0d6efd", label="Kỳ này")
    if last_year is not None:
        lx = [i for i, v in enumerate(last_year) if v is not None]
        if lx:
            ax.plot(lx, [float(last_year[i]) for i in lx], marker="s", markersize=3, linestyle="--", color="#6c757d",
                    label="Cùng kỳ năm trước")
            ax.legend(loc="best", fontsize=8, frameon=False)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.yaxis.set_major_formatter(_AXIS)
    ax.set_title(title, loc="left")
    ax.set_ylabel(unit)
    ax.grid(axis="y", alpha=0.3)
    return _svg(fig)


def bar_svg(labels: list[str], values: list[Decimal | None], title: str, unit: str) -> str:
    pairs = sorted(((lbl, float(v)) for lbl, v in zip(labels, values, strict=True) if v is not None), key=lambda p: -p[1])
    fig, ax = plt.subplots(figsize=(7.5, max(2.5, 0.22 * len(pairs) + 0.8)))
    ax.barh([p[0] for p in pairs][::-1], [p[1] for p in pairs][::-1], color="#198754")
    ax.xaxis.set_major_formatter(_AXIS)
    ax.set_title(title, loc="left")
    ax.set_xlabel(unit)
    ax.grid(axis="x", alpha=0.3)
    return _svg(fig)


def sparkline_svg(values: list[Decimal | None], *, label: str, width: int = 140, height: int = 32,
                  second: list[Decimal | None] | None = None) -> str:
    """A word-sized line (KPIs, small multiples): no axes, the last point marked, gaps left as gaps;
    `second` (the same periods a year earlier) dashed and grey. `label` is the accessible name.
    Drawn directly — a few dozen on a page, where a matplotlib figure each would take seconds."""
    from markupsafe import escape

    series = [values] + ([second] if second else [])
    nums = [float(v) for s in series for v in s if v is not None]
    pad = 3
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="sparkline" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>']
    if nums:
        lo, hi = min(nums), max(nums)
        span = (hi - lo) or 1.0
        step = (width - 2 * pad) / max(1, len(values) - 1)

        def xy(i, v):
            return pad + i * step, height - pad - (float(v) - lo) / span * (height - 2 * pad)

        for s, style in ((second, 'stroke="#6c757d" stroke-dasharray="2 2"'), (values, 'stroke="#0d6efd"')):
            if not s:
                continue
            run: list[str] = []
            for i, v in enumerate(s + [None]):
                if v is None:
                    if len(run) > 1:
                        out.append(f'<polyline fill="none" stroke-width="1.5" {style} points="{" ".join(run)}"/>')
                    run = []
                    continue
                x, y = xy(i, v)
                run.append(f"{x:.1f},{y:.1f}")
        last = max((i for i, v in enumerate(values) if v is not None), default=None)
        if last is not None:
            x, y = xy(last, values[last])
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="#0d6efd"/>')
    out.append("</svg>")
    return "".join(out)
