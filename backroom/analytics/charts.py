"""Inline SVG charts drawn server-side by our own code: no script, no CDN, the same markup in
pages and in WeasyPrint PDFs."""

from __future__ import annotations

from html import escape


def _n(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def sparkline(values: list[float | None], *, width: int = 120, height: int = 28, label: str = "") -> str:
    """A small trend line (gaps for missing values) with the last point marked."""
    pts = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(pts) < 2:
        return f'<svg class="spark" width="{width}" height="{height}" role="img" aria-label="{escape(label)}: no data"></svg>'
    lo, hi = min(v for _, v in pts), max(v for _, v in pts)
    span = (hi - lo) or 1.0
    step = (width - 4) / max(len(values) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return 2 + i * step, height - 2 - (v - lo) / span * (height - 4)

    path = " ".join(
        f"{'M' if n == 0 else 'L'}{_n(x)},{_n(y)}" for n, (x, y) in enumerate(xy(i, v) for i, v in pts)
    )
    lx, ly = xy(*pts[-1])
    return (
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}"><path d="{path}" fill="none" stroke="#2563eb" stroke-width="1.5"/>'
        f'<circle cx="{_n(lx)}" cy="{_n(ly)}" r="2" fill="#2563eb"/></svg>'
    )


def line_chart(
    labels: list[str],
    series: dict[str, list[float | None]],
    *,
    band: tuple[list[float | None], list[float | None]] | None = None,
    width: int = 680,
    height: int = 220,
) -> str:
    """A line chart of one or more series over the same labels, an optional shaded band
    (e.g. a prediction interval), y axis from zero, first/last labels on the x axis."""
    colours = ("#2563eb", "#f59e0b", "#16a34a", "#dc2626")
    values = [v for s in series.values() for v in s if v is not None]
    if band:
        values += [v for v in band[1] if v is not None]
    if not labels or not values:
        return f'<svg class="chart" width="{width}" height="{height}" role="img" aria-label="no data"></svg>'
    left, bottom, top = 48, 24, 10
    hi = max(values) or 1.0
    n = len(labels)
    step = (width - left - 10) / max(n - 1, 1)

    def x(i: int) -> float:
        return left + i * step

    def y(v: float) -> float:
        return top + (1 - v / hi) * (height - top - bottom)

    parts = [
        f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(", ".join(series))}">',
        f'<line x1="{left}" y1="{_n(y(0))}" x2="{width - 10}" y2="{_n(y(0))}" stroke="#999"/>',
        f'<text x="{left - 4}" y="{_n(y(hi))}" text-anchor="end" font-size="10">{_n(hi)}</text>',
        f'<text x="{left - 4}" y="{_n(y(0))}" text-anchor="end" font-size="10">0</text>',
        f'<text x="{left}" y="{height - 6}" font-size="10">{escape(labels[0])}</text>',
        f'<text x="{width - 10}" y="{height - 6}" font-size="10" text-anchor="end">{escape(labels[-1])}</text>',
    ]
    if band:
        lo_pts = [(i, v) for i, v in enumerate(band[0]) if v is not None]
        hi_pts = [(i, v) for i, v in enumerate(band[1]) if v is not None]
        if lo_pts and hi_pts:
            poly = [f"{_n(x(i))},{_n(y(v))}" for i, v in hi_pts] + [
                f"{_n(x(i))},{_n(y(v))}" for i, v in reversed(lo_pts)
            ]
            parts.append(f'<polygon points="{" ".join(poly)}" fill="#93c5fd" opacity="0.5"/>')
    for (name, vals), colour in zip(series.items(), colours, strict=False):
        pts = [f"{_n(x(i))},{_n(y(v))}" for i, v in enumerate(vals) if v is not None]
        if len(pts) == 1:
            cx, cy = pts[0].split(",")
            parts.append(
                f'<circle cx="{cx}" cy="{cy}" r="3" fill="{colour}"><title>{escape(name)}</title></circle>'
            )
        elif pts:
            parts.append(
                f'<polyline points="{" ".join(pts)}" fill="none" stroke="{colour}" stroke-width="1.5">'
                f"<title>{escape(name)}</title></polyline>"
            )
    parts.append("</svg>")
    return "".join(parts)


def heat_colour(count: int, top: int) -> str:
    """White to red by share of the busiest cell."""
    if count <= 0 or top <= 0:
        return "#ffffff"
    share = count / top
    g = int(235 - share * 180)
    return f"rgb(250,{g},{g})"
