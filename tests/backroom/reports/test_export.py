"""Exports parse back: CSV with the csv module, XLSX with openpyxl, PDF with pypdf."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from openpyxl import load_workbook
from pypdf import PdfReader

from backroom.reports import export, service
from tests.backroom.reports import records as r
from tests.backroom.reports.test_totals import DAY, INSIDE, local
from tests.helpers import create_branch

EVIL = '=HYPERLINK("http://evil.example","click")'


async def _report(session, edition="weekly"):
    a = await create_branch(session, timezone="America/New_York", name="Main Street")
    b = await create_branch(session, timezone="Europe/Berlin", name="Berlin Store", currency="EUR")
    hats = await r.product(session, category="hats", price_minor=1250)
    for at in INSIDE:
        o = await r.order(session, branch=a, at=at, lines=[(hats, 2)], ship_name=EVIL)
        await r.payment(session, order=o, kind="failure", status="declined", at=at, message="Card declined")
    await r.order(session, branch=b, at=local(DAY, 10), lines=[(hats, 1)], currency="EUR")
    return await service.build_report(
        session, function="payments", edition=edition, day=DAY, branch_ids=[a.id, b.id]
    ), await service.build_report(
        session, function="orders", edition=edition, day=DAY, branch_ids=[a.id, b.id]
    )


async def test_csv_parses_back_and_neutralises_formulas(db):
    async with db.sessionmaker.begin() as session:
        payments, orders = await _report(session)
    out = export.render(orders, "csv")
    assert (
        out.media_type.startswith("text/csv") and out.filename == f"orders-weekly-{orders.period.label}.csv"
    )
    rows = list(csv.reader(io.StringIO(out.content.decode("utf-8-sig"))))
    value = [row for row in rows if row[:1] == ["Order value"]]
    assert {(row[2], row[3]) for row in value} == {("USD", "75.00"), ("EUR", "12.50")}
    placed = next(row for row in rows if row[:1] == ["Orders placed"])
    assert placed[3] == "4"
    text = export.render(payments, "csv").content.decode("utf-8-sig")
    cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
    described = [c for c in cells if "HYPERLINK" in c]
    assert described and all(not c.startswith("=") for c in described)
    assert (
        export.safe_text("=1+1") == "'=1+1"
        and export.safe_text("-2") == "'-2"
        and export.safe_text("ok") == "ok"
    )


async def test_xlsx_has_typed_cells_and_a_sheet_per_breakdown(db):
    async with db.sessionmaker.begin() as session:
        payments, orders = await _report(session)
    wb = load_workbook(io.BytesIO(export.render(orders, "xlsx").content))
    assert wb.sheetnames[0] == "Summary" and wb.sheetnames[-1] == "Exceptions"
    assert {"By day", "By branch", "By category"} <= set(wb.sheetnames)
    summary = wb["Summary"]
    money = {(row[2].value): row[3].value for row in summary.iter_rows() if row[0].value == "Order value"}
    assert money == {"USD": 75, "EUR": 12.5}
    assert all(isinstance(v, (int, float)) for v in money.values())
    by_day = wb["By day"]
    days = [row[0].value for row in by_day.iter_rows(min_row=2) if row[1].value == "Orders placed"]
    assert len(days) == 7
    pay = load_workbook(io.BytesIO(export.render(payments, "xlsx").content))
    rate = next(row for row in pay["Summary"].iter_rows() if row[0].value == "Failure rate")
    assert rate[3].value == 1.0 and rate[3].number_format == "0.0%"
    ex = pay["Exceptions"]
    descriptions = [row[6].value for row in ex.iter_rows(min_row=2)]
    assert len(descriptions) == 3 and all(d.startswith("Order #") for d in descriptions)
    # A customer name that looks like a formula stays text in every cell.
    assert all(c.data_type != "f" for row in ex.iter_rows() for c in row)


async def test_pdf_has_period_branches_chart_and_page_numbers(db):
    async with db.sessionmaker.begin() as session:
        _payments, orders = await _report(session, edition="monthly")
    out = export.render(orders, "pdf")
    assert out.media_type == "application/pdf" and out.content.startswith(b"%PDF-")
    pdf = PdfReader(io.BytesIO(out.content))
    text = "\n".join(page.extract_text() for page in pdf.pages)
    assert "2026-11" in text and "Main Street" in text and "Berlin Store" in text
    assert f"Page 1 of {len(pdf.pages)}" in text
    assert "75.00 USD" in text and "12.50 EUR" in text
    html = export.pdf_html(orders)
    assert html.count("<rect") == 30  # one bar per day of November
    assert (
        pdf.pages[0].mediabox.width == Decimal("595.2756") or round(float(pdf.pages[0].mediabox.width)) == 595
    )


def test_chart_of_nothing_is_empty():
    assert export.svg_bar_chart([]) == ""
    svg = export.svg_bar_chart([("a", 1.0), ("b", -2.0)])
    assert svg.count("<rect") == 2 and "<title>b: -2</title>" in svg
