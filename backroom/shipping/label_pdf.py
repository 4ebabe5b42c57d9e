"""Render a 4x6 inch thermal-printer shipping label to PDF with WeasyPrint.

Rendering costs ~100 ms of CPU and holds the GIL, so a worker renders in a process pool
(LabelRenderer, LABEL_PROCESSES), never in its event loop's interpreter. Each process parses the
stylesheet and loads the fonts once (`_compiled`), then only lays out the label's HTML.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import cache, partial
from html import escape

from backroom.shipping import code128
from backroom.shipping.carrier import Address, Shipment

_CSS = """
@page { size: 4in 6in; margin: 0.12in; }
* { box-sizing: border-box; }
body { margin: 0; font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif;
       font-size: 9pt; color: #000; }
.label { border: 1.5pt solid #000; height: 5.76in; position: relative; }
.row { border-bottom: 1.5pt solid #000; padding: 6pt 8pt; }
.from { font-size: 8pt; line-height: 1.25; }
.caption { font-size: 6.5pt; font-weight: bold; letter-spacing: 0.5pt; text-transform: uppercase; }
.service { line-height: 28pt; }
.service .name { font-size: 22pt; font-weight: bold; text-transform: uppercase; }
.service .days { font-size: 10pt; font-weight: bold; float: right; }
.to { font-size: 12pt; line-height: 1.3; height: 2.0in; }
.to .name { font-weight: bold; font-size: 13pt; }
.facts { font-size: 9pt; }
.facts span { display: inline-block; width: 32%; }
.facts span + span { text-align: center; }
.facts span + span + span { text-align: right; }
.barcode { text-align: center; padding: 8pt 10pt 4pt; border-bottom: 0; }
.barcode svg { width: 3.4in; height: 0.95in; }
.tracking { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 11pt;
            letter-spacing: 1pt; margin-top: 3pt; }
.provider { font-size: 7pt; text-align: center; padding: 3pt; border-top: 1.5pt solid #000;
            position: absolute; left: 0; right: 0; bottom: 0; }
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
    """Return the PDF of one 4x6 inch label. Pure but CPU-bound (~0.1 s): run it through a
    LabelRenderer, not on an event loop."""
    from weasyprint import HTML  # imported late: WeasyPrint loads Pango and fonts at import

    stylesheet, fonts = _compiled()

    days = f"{estimated_days} day{'s' if estimated_days != 1 else ''}" if estimated_days else ""
    kilos = shipment.weight_grams / 1000
    parcels = len(shipment.parcels)
    html = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Label {escape(tracking_number)}</title></head>
<body><div class="label">
  <div class="row from"><div class="caption">From</div>{_address_lines(shipment.from_address)}</div>
  <div class="row service"><span class="days">{escape(days)}</span>
    <span class="name">{escape(service)}</span></div>
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
    return HTML(string=html).write_pdf(stylesheets=[stylesheet], font_config=fonts)


@cache
def _compiled():
    """The parsed stylesheet and the font configuration it was parsed with: once per process."""
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    return CSS(string=_CSS, font_config=fonts), fonts


def _warm() -> None:
    """Process-pool initializer: import WeasyPrint and compile the stylesheet before the first label."""
    _compiled()


class LabelRenderer:
    """Renders labels off the event loop: in `processes` worker processes (spawned, so they
    share nothing with the Temporal worker's threads), or with 0 in a thread of this process
    (tests, and machines where a second process costs more than the GIL does). A pool that
    broke (a process killed) is replaced and the render fails retryably: labels are pure, so
    the activity's retry renders the same label."""

    def __init__(self, processes: int = 0) -> None:
        self.processes = processes
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_warm,
            )
        return self._pool

    async def render(self, **label) -> bytes:
        """The label's PDF (keyword arguments of render_label_pdf). Pure, so idempotent."""
        job = partial(render_label_pdf, **label)
        if self.processes <= 0:
            return await asyncio.to_thread(job)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor(), job)
        except BrokenProcessPool:
            self.close()
            raise

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _address_lines(address: Address, *, with_name: bool = True) -> str:
    lines = [address.name] if with_name else []
    lines += [address.company, address.street1, address.street2]
    city = " ".join(x for x in (address.postal_code, address.city, address.state) if x)
    lines += [city, address.country]
    return "".join(f"<div>{escape(line)}</div>" for line in lines if line)
