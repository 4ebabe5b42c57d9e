"""Render a 4x6 inch thermal-printer shipping label to PDF with WeasyPrint."""

from __future__ import annotations

from html import escape

from backroom.shipping import code128
from backroom.shipping.carrier import Address, Shipment

_CSS = """
@page { size: 4in 6in; margin: 0.12in; }
* { box-sizing: border-box; }
body { margin: 0; font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif;
       font-size: 9pt; color: #000; }
.label { border: 1.5pt solid #000; height: 5.76in; display: flex; flex-direction: column; }
.row { border-bottom: 1.5pt solid #000; padding: 6pt 8pt; }
.from { font-size: 8pt; line-height: 1.25; }
.caption { font-size: 6.5pt; font-weight: bold; letter-spacing: 0.5pt; text-transform: uppercase; }
.service { display: flex; justify-content: space-between; align-items: center; }
.service .name { font-size: 22pt; font-weight: bold; text-transform: uppercase; }
.service .days { font-size: 10pt; font-weight: bold; text-align: right; }
.to { font-size: 12pt; line-height: 1.3; flex: 1; }
.to .name { font-weight: bold; font-size: 13pt; }
.facts { display: flex; justify-content: space-between; font-size: 9pt; }
.barcode { text-align: center; padding: 8pt 10pt 4pt; border-bottom: 0; }
.barcode svg { width: 3.4in; height: 0.95in; }
.tracking { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 11pt;
            letter-spacing: 1pt; margin-top: 3pt; }
.provider { font-size: 7pt; text-align: center; padding: 3pt; border-top: 1.5pt solid #000; }
"""


def render_label_pdf(
    *,
    shipment: Shipment,
    tracking_number: str,
    service: str,
    estimated_days: int | None,
    provider: str,
    reference: str | None = None,
) -> bytes:
    """Return the PDF of one 4x6 inch label. Pure but CPU-bound (~0.5 s): run it in a thread."""
    from weasyprint import HTML  # imported late: WeasyPrint loads Pango and fonts at import

    days = f"{estimated_days} day{'s' if estimated_days != 1 else ''}" if estimated_days else ""
    kilos = shipment.weight_grams / 1000
    parcels = len(shipment.parcels)
    html = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Label {escape(tracking_number)}</title>
<style>{_CSS}</style></head>
<body><div class="label">
  <div class="row from"><div class="caption">From</div>{_address_lines(shipment.from_address)}</div>
  <div class="row service"><span class="name">{escape(service)}</span>
    <span class="days">{escape(days)}</span></div>
  <div class="row to"><div class="caption">Ship to</div>
    <div class="name">{escape(shipment.to_address.name)}</div>
    {_address_lines(shipment.to_address, with_name=False)}</div>
  <div class="row facts">
    <span>Weight: <b>{kilos:.2f} kg</b></span>
    <span>Parcels: <b>{parcels}</b></span>
    <span>{("Ref: <b>" + escape(reference) + "</b>") if reference else ""}</span>
  </div>
  <div class="row barcode">
    {code128.svg(tracking_number)}
    <div class="tracking">{escape(tracking_number)}</div>
  </div>
  <div class="provider">{escape(provider)}</div>
</div></body></html>"""
    return HTML(string=html).write_pdf()


def _address_lines(address: Address, *, with_name: bool = True) -> str:
    lines = [address.name] if with_name else []
    lines += [address.company, address.street1, address.street2]
    city = " ".join(x for x in (address.postal_code, address.city, address.state) if x)
    lines += [city, address.country]
    return "".join(f"<div>{escape(line)}</div>" for line in lines if line)
