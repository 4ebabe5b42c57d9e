"""Render a report as CSV, XLSX or PDF. Pure functions of the ReportRead: the live export and the
stored snapshot files are byte-for-byte the same renderer. `render(..., "pdf")` runs WeasyPrint,
which blocks for tens of milliseconds: call it through `asyncio.to_thread` from async code."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Literal

from jinja2 import Environment, FileSystemLoader, select_autoescape

from backroom.money import exponent
from backroom.reports.catalog import Unit
from backroom.reports.schemas import Figure, ReportRead
from backroom.spreadsheet import safe_text

Format = Literal["csv", "xlsx", "pdf"]
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


@dataclass(frozen=True)
class Rendered:
    content: bytes
    media_type: str
    filename: str


def filename(report: ReportRead, fmt: str) -> str:
    return f"{report.function}-{report.edition}-{report.period.label}.{fmt}"


def render(report: ReportRead, fmt: Format) -> Rendered:
    """The report as a file in `fmt` (csv | xlsx | pdf). Deterministic for a given report."""
    if fmt not in MEDIA_TYPES:
        from backroom.errors import InvalidInput

        raise InvalidInput(f"{fmt!r} is not an export format; choose csv, xlsx or pdf.", field="format")
    content = {"csv": _csv, "xlsx": _xlsx, "pdf": _pdf}[fmt](report)
    return Rendered(content, MEDIA_TYPES[fmt], filename(report, fmt))


# --- Rows every format shares -----------------------------------------------------------------


def major(amount_minor: int, currency: str) -> Decimal:
    """Minor units as an exact decimal amount in major units (1250 USD -> 12.50)."""
    return Decimal(amount_minor).scaleb(-exponent(currency))


def figure_cells(unit: Unit, fig: Figure) -> list[tuple[str, Decimal | float | int | None]]:
    """(currency, number) pairs for one figure: one per currency for money, else one with ""."""
    if unit is Unit.MONEY:
        return [(a.currency, major(a.amount_minor, a.currency)) for a in fig.money] or [("", None)]
    return [("", fig.value if fig.available else None)]


def header_rows(report: ReportRead) -> list[tuple[str, str]]:
    p = report.period
    rows = [
        ("Report", f"{report.function_label} — {report.edition}"),
        ("Period", f"{p.label} ({p.start_local:%d %b %Y} to {p.end_local:%d %b %Y}, end exclusive)"),
        ("Previous period", report.previous_period.label),
        ("Branches", ", ".join(report.filters.branches) or "(none)"),
    ]
    f = report.filters
    if f.user:
        rows.append(("Staff member", f.user))
    if f.shift:
        rows.append(("Shift", f.shift))
    if f.own_shifts_only:
        rows.append(("Shifts", "Only your own shifts"))
    if f.category:
        rows.append(("Category", f.category))
    for rec in f.records.values():
        rows.append((rec.label, rec.name))
    for b in p.bounds:
        rows.append(
            (
                f"Covered in {b.branch}",
                f"{b.start_local:%Y-%m-%d %H:%M %Z} to {b.end_local:%Y-%m-%d %H:%M %Z} "
                f"({b.timezone}; UTC {b.start_utc:%Y-%m-%d %H:%M} to {b.end_utc:%Y-%m-%d %H:%M}; {b.hours:g} h)",
            )
        )
    rows.append(("Generated (UTC)", f"{report.generated_at:%Y-%m-%d %H:%M:%S}"))
    return rows


def _plain(value):
    """A number for CSV: money and decimals as exact text, ratios as fractions."""
    if value is None:
        return ""
    return value


# --- CSV --------------------------------------------------------------------------------------


def _csv(report: ReportRead) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)

    def row(*cells):
        w.writerow([safe_text(c) if isinstance(c, str) else _plain(c) for c in cells])

    for k, v in header_rows(report):
        row(k, v)
    row()
    row("Summary")
    row("Measure", "Unit", "Currency", "Current", "Previous", "Current (shown)", "Previous (shown)")
    for line in report.summary:
        cur = dict(figure_cells(line.unit, line.current))
        prev = dict(figure_cells(line.unit, line.previous))
        for currency in sorted(set(cur) | set(prev)):
            row(
                line.label,
                line.unit.value,
                currency,
                cur.get(currency),
                prev.get(currency),
                line.current.display,
                line.previous.display,
            )
    for bd in report.breakdowns:
        row()
        row(bd.label)
        row(bd.label.removeprefix("By ").capitalize(), "Measure", "Unit", "Currency", "Value", "Shown")
        for r in bd.rows:
            for m in bd.measures:
                fig = r.figures[m]
                for currency, value in figure_cells(bd.units[m], fig):
                    row(r.name, bd.labels[m], bd.units[m].value, currency, value, fig.display)
    row()
    row("Exceptions")
    row("Kind", "When (branch time)", "Branch", "Record", "Description", "Link")
    for e in report.exceptions:
        row(e.kind_label, e.at_local, e.branch, f"{e.record} {e.record_id}", e.description, e.link or "")
    return buf.getvalue().encode("utf-8-sig")  # the BOM makes spreadsheet programs read UTF-8


# --- XLSX -------------------------------------------------------------------------------------

_NUMBER_FORMATS = {Unit.COUNT: "#,##0", Unit.RATIO: "0.0%", Unit.DURATION: "[h]:mm:ss"}


def _typed(unit: Unit, currency: str, value):
    """The cell value and number format: money as a number in major units, a duration as a
    spreadsheet time (days), a ratio as a fraction shown in percent."""
    if value is None:
        return None, None
    if unit is Unit.MONEY:
        exp = exponent(currency)
        return value, "#,##0" + ("." + "0" * exp if exp else "")
    if unit is Unit.DURATION:
        return float(value) / 86400, _NUMBER_FORMATS[unit]
    return value, _NUMBER_FORMATS[unit]


def _sheet_title(text: str, used: set[str]) -> str:
    title = "".join(ch for ch in text if ch not in "[]:*?/\\")[:31] or "Sheet"
    base, n = title, 2
    while title in used:
        title = f"{base[:28]} {n}"
        n += 1
    used.add(title)
    return title


def _xlsx(report: ReportRead) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    bold = Font(bold=True)
    wb = Workbook()
    used: set[str] = set()
    ws = wb.active
    ws.title = _sheet_title("Summary", used)

    def put(sheet, values, formats=None, header=False):
        sheet.append([safe_text(v) if isinstance(v, str) else v for v in values])
        r = sheet.max_row
        for i, fmt in enumerate(formats or []):
            if fmt:
                sheet.cell(row=r, column=i + 1).number_format = fmt
        if header:
            for c in sheet[r]:
                c.font = bold

    for k, v in header_rows(report):
        put(ws, [k, v])
    put(ws, [])
    put(ws, ["Measure", "Unit", "Currency", "Current", "Previous"], header=True)
    for line in report.summary:
        cur = dict(figure_cells(line.unit, line.current))
        prev = dict(figure_cells(line.unit, line.previous))
        for currency in sorted(set(cur) | set(prev)):
            c, cf = _typed(line.unit, currency, cur.get(currency))
            p, pf = _typed(line.unit, currency, prev.get(currency))
            put(ws, [line.label, line.unit.value, currency or None, c, p], [None, None, None, cf, pf])
    ws.column_dimensions["A"].width = 34
    ws.column_dimensions["B"].width = 60
    for bd in report.breakdowns:
        sheet = wb.create_sheet(_sheet_title(bd.label, used))
        put(
            sheet,
            [bd.label.removeprefix("By ").capitalize(), "Measure", "Unit", "Currency", "Value"],
            header=True,
        )
        for r in bd.rows:
            for m in bd.measures:
                for currency, value in figure_cells(bd.units[m], r.figures[m]):
                    v, f = _typed(bd.units[m], currency, value)
                    put(
                        sheet,
                        [r.name, bd.labels[m], bd.units[m].value, currency or None, v],
                        [None] * 4 + [f],
                    )
        sheet.column_dimensions["A"].width = 30
        sheet.column_dimensions["B"].width = 30
    ex = wb.create_sheet(_sheet_title("Exceptions", used))
    put(
        ex,
        ["Kind", "When (UTC)", "When (branch time)", "Branch", "Record", "Id", "Description", "Link"],
        header=True,
    )
    for e in report.exceptions:
        put(
            ex,
            [
                e.kind_label,
                e.at.replace(tzinfo=None),
                e.at_local,
                e.branch,
                e.record,
                e.record_id,
                e.description,
                e.link,
            ],
            [None, "yyyy-mm-dd hh:mm:ss"],
        )
    ex.column_dimensions["G"].width = 80
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- PDF --------------------------------------------------------------------------------------

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)


def chart_series(report: ReportRead) -> tuple[str, str, list[tuple[str, float]]]:
    """(title, unit suffix, [(label, value)]) of the main measure over days, else branches."""
    main = report.main_measure
    for dim in ("day", "branch", "shift", "user"):
        bd = next((b for b in report.breakdowns if b.dimension == dim and main in b.measures), None)
        if bd is None:
            continue
        unit = bd.units[main]
        currency = ""
        if unit is Unit.MONEY:
            totals: dict[str, int] = {}
            for r in bd.rows:
                for a in r.figures[main].money:
                    totals[a.currency] = totals.get(a.currency, 0) + abs(a.amount_minor)
            currency = max(totals, key=totals.get) if totals else ""
        points = []
        for r in bd.rows:
            fig = r.figures[main]
            if unit is Unit.MONEY:
                amount = next((a for a in fig.money if a.currency == currency), None)
                v = float(major(amount.amount_minor, currency)) if amount else 0.0
            else:
                v = float(fig.value or 0)
            label = r.key[5:] if dim == "day" else r.name
            points.append((label, v))
        return f"{bd.labels[main]} {bd.label.lower()}", currency, points
    line = next(s for s in report.summary if s.measure == main)
    return line.label, "", []


def svg_bar_chart(points: list[tuple[str, float]], *, width: int = 680, height: int = 220) -> str:
    """A bar chart as inline SVG, drawn here (no chart library): bars, a zero line, the maximum
    on the axis, and at most ~16 category labels so they stay legible."""
    if not points:
        return ""
    left, bottom, top = 56, 36, 12
    plot_w, plot_h = width - left - 8, height - bottom - top
    hi = max(max(v for _, v in points), 0.0)
    lo = min(min(v for _, v in points), 0.0)
    span = (hi - lo) or 1.0
    step = plot_w / len(points)
    bar = max(step * 0.7, 1.0)

    def y(v: float) -> float:
        return top + (hi - v) / span * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, sans-serif" font-size="9">',
        f'<line x1="{left}" y1="{y(0):.1f}" x2="{width - 8}" y2="{y(0):.1f}" stroke="#555" stroke-width="0.8"/>',
        f'<text x="{left - 4}" y="{y(hi) + 3:.1f}" text-anchor="end">{_num(hi)}</text>',
        f'<text x="{left - 4}" y="{y(0) + 3:.1f}" text-anchor="end">0</text>',
    ]
    every = max(1, -(-len(points) // 16))
    for i, (label, v) in enumerate(points):
        x = left + i * step + (step - bar) / 2
        y0, y1 = sorted((y(0), y(v)))
        parts.append(
            f'<rect x="{x:.1f}" y="{y0:.1f}" width="{bar:.1f}" height="{max(y1 - y0, 0.5):.1f}" fill="#2f6f9f">'
            f"<title>{escape(label)}: {_num(v)}</title></rect>"
        )
        if i % every == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 12}" text-anchor="middle">{escape(label[:14])}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _num(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 or v == int(v) else f"{v:,.2f}"


def pdf_html(report: ReportRead) -> str:
    title, currency, points = chart_series(report)
    return _env.get_template("report_pdf.html").render(
        r=report,
        header=header_rows(report),
        chart_title=title + (f" ({currency})" if currency else ""),
        chart=svg_bar_chart(points),
    )


def _pdf(report: ReportRead) -> bytes:
    from weasyprint import HTML  # imported late: WeasyPrint loads Pango and fonts at import

    return HTML(string=pdf_html(report)).write_pdf()
